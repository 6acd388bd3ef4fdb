"""Exceptions raised by skillcircle.

Every error a *user* can cause (a bad file, a bad column, a bad coordinate, an impossible request)
is one of the classes below. Each also subclasses the matching built-in exception, so code that
already catches ``ValueError`` or ``FileNotFoundError`` keeps working. The command-line interface
turns any :class:`SkillcircleError` into one line on stderr and exit code 2.
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike

__all__ = [
    "CacheError",
    "DataFolderError",
    "InfeasibleError",
    "InputError",
    "InputFileNotFoundError",
    "NetworkError",
    "SettingsError",
    "SkillcircleError",
]


class SkillcircleError(Exception):
    """Base class of every error skillcircle raises on purpose.

    Attributes
    ----------
    params
        Names of the API parameters the message is about (e.g. ``("add",)``), in the words of
        the Python API; empty when the error is not about a parameter. A front end such as the
        command line maps them to its own names (``add`` → ``--add``).
    """

    params: tuple[str, ...] = ()


def _params(param: str | Iterable[str] | None) -> tuple[str, ...]:
    """Normalise ``param=`` (one name, several names or ``None``) to a tuple."""
    if param is None:
        return ()
    return (param,) if isinstance(param, str) else tuple(param)


def _locate(
    message: str,
    *,
    path: str | PathLike[str] | None,
    row: int | None,
    field: str | None,
) -> str:
    """Prefix a message with the file, row and field it is about."""
    where = []
    if path is not None:
        where.append(str(path))
    if row is not None:
        where.append(f"row {row}")
    if field is not None:
        where.append(f"field {field!r}")
    return f"{', '.join(where)}: {message}" if where else message


class InputError(SkillcircleError, ValueError):
    """A user-supplied file, column or value cannot be used.

    Parameters
    ----------
    message
        What is wrong and what was expected, in plain words.
    path
        The file concerned, if any.
    row
        The 1-based data row concerned (as a spreadsheet shows it, header excluded), if any.
    field
        The column (or study-file key) concerned, if any.
    param
        The API parameter(s) the message names, if any (see :attr:`SkillcircleError.params`);
        unlike ``field`` it is not repeated in front of the message.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike[str] | None = None,
        row: int | None = None,
        field: str | None = None,
        param: str | Iterable[str] | None = None,
    ) -> None:
        self.path = path
        self.row = row
        self.field = field
        self.reason = message
        self.params = _params(param)
        super().__init__(_locate(message, path=path, row=row, field=field))


class InputFileNotFoundError(SkillcircleError, FileNotFoundError):
    """A file the user named does not exist."""

    def __init__(self, path: str | PathLike[str], what: str = "file") -> None:
        self.path = path
        super().__init__(f"{path}: {what} not found")

    def __str__(self) -> str:
        return str(self.args[0])


class DataFolderError(SkillcircleError, FileNotFoundError):
    """The real-data folder (``SKILLCIRCLE_DATA``) is missing or incomplete.

    Parameters
    ----------
    message
        What is missing and how to get it.
    param
        The API parameter(s) the message names (e.g. ``online``), if any.
    """

    def __init__(self, message: str, *, param: str | Iterable[str] | None = None) -> None:
        self.params = _params(param)
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.args[0])


class SettingsError(SkillcircleError, ValueError):
    """A setting is out of its allowed range.

    Parameters
    ----------
    message
        What is wrong, naming the setting.
    param
        The setting(s) concerned (``Settings`` field names), if known.
    """

    def __init__(self, message: str, *, param: str | Iterable[str] | None = None) -> None:
        self.params = _params(param)
        super().__init__(message)


class NetworkError(SkillcircleError, ValueError):
    """A walking network cannot be built or used (empty, no edges, nothing in the study area)."""


class CacheError(SkillcircleError, OSError):
    """A cache file is unreadable, corrupted or stale (callers rebuild instead of trusting it)."""


class InfeasibleError(SkillcircleError, ValueError):
    """A siting request cannot be met (quotas, spacing or targets contradict each other).

    Parameters
    ----------
    message
        What cannot be met and why, naming the area or rule.
    param
        The API parameter(s) the message names, if any (see :attr:`SkillcircleError.params`).
    """

    def __init__(self, message: str, *, param: str | Iterable[str] | None = None) -> None:
        self.params = _params(param)
        super().__init__(message)
