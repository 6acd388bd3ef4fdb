"""Command-line interface: ``skillcircle``.

Every command turns a :class:`~skillcircle.SkillcircleError` into one line on stderr and exit
code 2 (no traceback). Library code logs through :mod:`logging`; only this module prints.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
from rich.console import Console

from skillcircle import __version__
from skillcircle._errors import SkillcircleError

__all__ = ["app", "main"]

console = Console()
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

app = typer.Typer(
    name="skillcircle",
    help="15-minute walking coverage of service stations: reach, gaps, new sites.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stations_app = typer.Typer(help="Check and clean a station ledger.", no_args_is_help=True)
network_app = typer.Typer(help="Build and inspect walking networks.", no_args_is_help=True)
app.add_typer(stations_app, name="stations")
app.add_typer(network_app, name="network")


def fail(message: str) -> typer.Exit:
    """Print one line on stderr and return the exit-2 exception to raise."""
    err_console.print(f"error: {message}", markup=False)
    return typer.Exit(code=2)


def _version(value: bool) -> None:
    if value:
        console.print(f"skillcircle {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (0 ok, 2 user or usage error, 1 crash)."""
    try:
        app(args=argv, prog_name="skillcircle", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    except SkillcircleError as exc:
        err_console.print(f"error: {exc}", markup=False)
        return 2
    return 0


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
