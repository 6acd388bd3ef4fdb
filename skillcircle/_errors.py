"""Exceptions raised by skillcircle.

Every error a *user* can cause (a bad file, a bad column, a bad coordinate, an impossible request)
is one of the classes below. Each also subclasses the matching built-in exception, so code that
already catches ``ValueError`` or ``FileNotFoundError`` keeps working. The command-line interface
turns any :class:`SkillcircleError` into one line on stderr and exit code 2.
"""

from __future__ import annotations

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
    """Base class of every error skillcircle raises on purpose."""


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
        The column concerned, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike[str] | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = path
        self.row = row
        self.field = field
        self.reason = message
        super().__init__(_locate(message, path=path, row=row, field=field))


class InputFileNotFoundError(SkillcircleError, FileNotFoundError):
    """A file the user named does not exist."""

    def __init__(self, path: str | PathLike[str], what: str = "file") -> None:
        self.path = path
        super().__init__(f"{path}: {what} not found")

    def __str__(self) -> str:
        return str(self.args[0])


class DataFolderError(SkillcircleError, FileNotFoundError):
    """The real-data folder (``SKILLCIRCLE_DATA``) is missing or incomplete."""

    def __str__(self) -> str:
        return str(self.args[0])


class SettingsError(SkillcircleError, ValueError):
    """A setting is out of its allowed range."""


class NetworkError(SkillcircleError, ValueError):
    """A walking network cannot be built or used (empty, no edges, nothing in the study area)."""


class CacheError(SkillcircleError, OSError):
    """A cache file is unreadable, corrupted or stale (callers rebuild instead of trusting it)."""


class InfeasibleError(SkillcircleError, ValueError):
    """A siting request cannot be met (quotas, spacing or targets contradict each other)."""
