"""Small file helpers shared by every writer: atomic output, input hashes, data folder lookup.

Outputs are written to a temporary file beside the target and renamed into place, so a failed
run never leaves a half-written file; inputs are only ever read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from skillcircle._errors import DataFolderError, InputError

__all__ = [
    "DATA_ENV",
    "atomic_path",
    "check_output_dir",
    "data_dir",
    "output_dir",
    "sha256_file",
    "split_layer",
    "write_json",
    "write_text",
    "write_with",
]

#: Environment variable naming the real-data folder (``shared/data`` beside the repository).
DATA_ENV = "SKILLCIRCLE_DATA"


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    The folder of ``target`` is created if missing. The temporary path has the same suffix
    as ``target`` and does not exist yet, so writers that refuse to overwrite a file accept
    it. On any exception the temporary file is removed and ``target`` is left untouched.

    Parameters
    ----------
    target
        The file to write (replaced if it exists).

    Yields
    ------
    tmp
        The temporary path to write to.

    Raises
    ------
    InputError
        When ``target`` is a folder, or a parent of it exists as a file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "a.txt").read_text()
    'hello'
    """
    target = Path(target)
    if target.is_dir():
        raise InputError("is a folder, expected a file to write", path=target)
    output_dir(target.parent)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    # Some writers (GDAL drivers) refuse to overwrite an existing file: hand them a fresh name.
    tmp.unlink()
    tmp = tmp.with_name(tmp.name[: -len(".tmp")] + target.suffix)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def output_dir(path: str | os.PathLike[str]) -> Path:
    """Create the output folder ``path`` if needed and return it.

    Parameters
    ----------
    path
        The folder; missing parents are created too.

    Returns
    -------
    folder
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    InputError
        When ``path`` (or a parent) exists as a file.
    """
    folder = check_output_dir(path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def check_output_dir(path: str | os.PathLike[str]) -> Path:
    """Check, without creating anything, that ``path`` can be an output folder.

    Parameters
    ----------
    path
        The folder; it need not exist.

    Returns
    -------
    folder
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    InputError
        When ``path`` (or a parent) exists as a file.
    """
    folder = Path(path)
    for p in (folder, *folder.parents):
        if p.exists() and not p.is_dir():
            raise InputError("exists and is not a folder: cannot write outputs there", path=p)
    return folder


def write_text(target: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 text to a file atomically.

    Parameters
    ----------
    target
        The file to write (replaced if it exists; a missing folder is created).
    text
        The text.

    Returns
    -------
    path
        ``target`` as a :class:`~pathlib.Path`.

    Raises
    ------
    InputError
        When ``target`` is a folder, or a parent of it exists as a file.
    """
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_json(target: str | os.PathLike[str], obj: Any) -> Path:
    """Write an object as JSON atomically.

    The file is UTF-8, indented by two spaces, with non-ASCII text (Chinese names) kept
    readable and a final newline. NumPy numbers are written as plain JSON numbers; any other
    value JSON cannot encode (a path, a timestamp) is written as its ``str()``.

    Parameters
    ----------
    target
        The file to write (replaced if it exists; a missing folder is created).
    obj
        The object to encode.

    Returns
    -------
    path
        ``target`` as a :class:`~pathlib.Path`.

    Raises
    ------
    InputError
        When ``target`` is a folder, or a parent of it exists as a file.
    """
    return write_text(
        target, json.dumps(obj, ensure_ascii=False, indent=2, default=_json_default) + "\n"
    )


def write_with(target: str | os.PathLike[str], writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` and move the result onto ``target`` atomically.

    Parameters
    ----------
    target
        The file to write (replaced if it exists; a missing folder is created).
    writer
        Called once with a temporary path beside ``target`` (same suffix, not yet existing);
        it must create that file. If it raises, ``target`` is left untouched.

    Returns
    -------
    path
        ``target`` as a :class:`~pathlib.Path`.

    Raises
    ------
    InputError
        When ``target`` is a folder, or a parent of it exists as a file.
    """
    with atomic_path(target) as tmp:
        writer(tmp)
    return Path(target)


def _json_default(value: Any) -> Any:
    """NumPy scalars as plain numbers; anything else (paths, dates) as text."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return item()
    return str(value)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Compute the SHA-256 digest of a file's bytes.

    The file is read in 1 MiB blocks, so large rasters need little memory.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    digest
        The digest as 64 lowercase hexadecimal characters.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_dir(*, required: bool = True) -> Path | None:
    """Return the real-data folder named by ``$SKILLCIRCLE_DATA``.

    Parameters
    ----------
    required
        Whether a missing folder is an error; when ``False``, ``None`` is returned instead.

    Returns
    -------
    folder
        The folder as an absolute path, or ``None`` when ``required`` is ``False`` and the
        variable is not set or does not name a folder.

    Raises
    ------
    DataFolderError
        When ``required`` is ``True`` and the variable is not set or does not name a folder.
    """
    env = os.environ.get(DATA_ENV)
    if env and Path(env).is_dir():
        return Path(env).resolve()
    if not required:
        return None
    hint = f"{DATA_ENV}={env!r} is not a folder" if env else f"{DATA_ENV} is not set"
    raise DataFolderError(
        f"real data not found ({hint}): set {DATA_ENV} to the shared data folder "
        "(e.g. export SKILLCIRCLE_DATA=../shared/data) or run the demo with online=True",
        param="online",
    )


#: ``file.gpkg:layer`` / ``ledger.xlsx:Sheet2``: a file and the layer or sheet to read in it.
_PART_SOURCE = re.compile(r"^(?P<path>.+\.(?P<suffix>[A-Za-z]+)):(?P<part>[^:/\\]+)$")


def split_layer(
    source: str | os.PathLike[str], *, suffixes: tuple[str, ...] = (".gpkg",)
) -> tuple[str, str | None]:
    """Split ``roads.gpkg:layer`` (or ``ledger.xlsx:Sheet2``) into the file and the part name.

    The one reading of the ``path:name`` form, for network, boundary and ledger files. A
    source that is an existing file as written (even with a colon in its name), an online
    source (``place:…``), or one whose file does not end in one of ``suffixes`` has no part.

    Parameters
    ----------
    source
        A file source, maybe with a layer or sheet part.
    suffixes
        File endings (lower case) that can hold several layers or sheets.

    Returns
    -------
    tuple of (str, str or None)
        The source without the part, and the layer or sheet (``None`` when not given).

    Examples
    --------
    >>> split_layer("/data/roads.gpkg:main")
    ('/data/roads.gpkg', 'main')
    >>> split_layer("ledger.xlsx:Sheet2", suffixes=(".xlsx", ".xlsm", ".gpkg"))
    ('ledger.xlsx', 'Sheet2')
    >>> split_layer("roads.geojson:x")
    ('roads.geojson:x', None)
    """
    text = os.fspath(source)
    match = _PART_SOURCE.match(text)
    if (
        match is None
        or text.startswith("place:")
        or f".{match['suffix'].lower()}" not in suffixes
        or Path(text).exists()
    ):
        return text, None
    return match["path"], match["part"]
