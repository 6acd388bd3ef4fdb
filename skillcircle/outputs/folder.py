"""Output folders the tool owns: a manifest, a staging folder, and an all-or-nothing commit.

A run never writes straight into the planner's folder. It writes every file into a *staging*
folder beside the target (inside it when the target is a mount point, so that files still move
by rename) and, only when every file is complete, moves them into place:

1. Before any work, :meth:`RunFolder.check` refuses an unusable target (empty path, a file,
   not writable), an input that lies inside it, and any file under an output name that an
   earlier run of the tool did not write (a planner's own ``report.md`` is never replaced,
   unless ``overwrite=True``).
2. :meth:`RunFolder.stage` gives the staging folder; writers put their files there.
3. :meth:`RunFolder.commit` records the run in a manifest (``.skillcircle-manifest.json``)
   and swaps the files in: the previous run's files (and only those: the previous manifest
   lists them), and any file ``overwrite=True`` allows replacing, are moved aside, the new
   ones moved in, the manifest replaced, the old ones deleted. Ownership is checked again just
   before the swap. A journal file makes the swap recoverable: a run killed in the middle of it is
   rolled back (or forward, once the new manifest is in place) by the next run.

Everything the tool leaves behind after a crash (staging folders of dead processes, journals,
temporary files named ``.<name>.*.tmp``) is cleaned by the next run on the same folder; files
the tool did not write are never moved, replaced or deleted.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from skillcircle._errors import InputError

__all__ = ["MANIFEST", "RunFolder", "clean_stale"]

logger = logging.getLogger(__name__)

#: The manifest of the last complete run, inside the output folder.
MANIFEST = ".skillcircle-manifest.json"
#: The journal of a commit in progress, inside the output folder.
JOURNAL = ".skillcircle-commit.json"
_STAGING = ".skillcircle-staging-"
_ASIDE = ".skillcircle-previous-"
#: Bytes written to probe that the target's parent has room and accepts files.
_PROBE_BYTES = 64 * 1024


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _owned(target: Path) -> set[str]:
    """Names the last complete run wrote into ``target`` (empty when there is none)."""
    data = _read_json(target / MANIFEST)
    files = data.get("files") if data else None
    if not isinstance(files, list):
        return set()
    # output names are plain visible file names: a manifest naming the tool's own
    # bookkeeping (manifest, journal, staging, aside) or any hidden file is not trusted there
    return {
        f
        for f in files
        if isinstance(f, str) and f and "/" not in f and "\\" not in f and not f.startswith(".")
    }


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _recover(target: Path) -> None:
    """Finish or undo a commit that a killed run left half done.

    The commit moves the previous run's files aside, then the staged files in, then replaces
    the manifest. Once the new manifest is in place the run is complete (roll forward);
    before that, every staged file already moved in is removed and the previous files are
    moved back (roll back).
    """
    journal = _read_json(target / JOURNAL)
    if journal is None:
        # Written atomically, so absent or complete; an unreadable one was damaged by
        # something else. The previous run's files may still sit aside: put back every one
        # whose name is free, never deleting anything.
        logger.warning("unreadable commit journal in %s: restoring files set aside", target)
        for aside in target.glob(f"{_ASIDE}*"):
            if aside.is_dir():
                for item in aside.iterdir():
                    if not (target / item.name).exists():
                        os.replace(item, target / item.name)
                with contextlib.suppress(OSError):
                    aside.rmdir()  # only when emptied
        (target / JOURNAL).unlink(missing_ok=True)
        return
    aside = Path(str(journal.get("aside", "")))
    staging = Path(str(journal.get("staging", "")))
    new = [str(n) for n in journal.get("new", []) if "/" not in str(n)]
    old = {str(n) for n in journal.get("old", []) if "/" not in str(n)}
    manifest = _read_json(target / MANIFEST)
    if manifest is not None and manifest.get("run_id") == journal.get("run_id"):
        logger.info("completing an interrupted run in %s", target)
    else:
        logger.warning("rolling back an interrupted run in %s", target)
        aside_ok = aside.is_dir() and aside.name.startswith(_ASIDE)
        for name in new:
            # Every file that stood under a new name was moved aside before any new file
            # moved in. So the target's copy is this run's when the name was free before
            # (not in ``old``) or its old copy already sits aside; otherwise it is the old
            # file, not yet moved, and stays.
            ours = name not in old or (aside_ok and (aside / name).exists())
            still_staged = staging.is_dir() and (staging / name).exists()
            if ours and not still_staged:
                (target / name).unlink(missing_ok=True)  # moved in, never committed
        if aside_ok:
            for item in aside.iterdir():
                os.replace(item, target / item.name)
    if aside.name.startswith(_ASIDE):
        shutil.rmtree(aside, ignore_errors=True)
    if staging.name.startswith(f".{target.name}{_STAGING}"):
        shutil.rmtree(staging, ignore_errors=True)
    (target / JOURNAL).unlink(missing_ok=True)
    _fsync_dir(target)


def clean_stale(target: str | os.PathLike[str]) -> None:
    """Remove what killed runs left beside or inside ``target``; finish a half-done commit.

    Parameters
    ----------
    target
        An output folder (it need not exist).
    """
    target = Path(target)
    parent = target.parent
    if target.is_dir() and (target / JOURNAL).exists():
        _recover(target)
    prefix = f".{target.name}{_STAGING}"
    # staging folders sit beside the target, or inside it when it is a mount point
    for folder in (parent, target):
        if not folder.is_dir():
            continue
        for item in folder.iterdir():
            if item.name.startswith(f".{target.name}.probe-") and item.name.endswith(".tmp"):
                item.unlink(missing_ok=True)  # a probe of a run killed while checking
                continue
            if not item.name.startswith(prefix):
                continue
            pid = item.name[len(prefix) :].split("-", 1)[0]
            if not (pid.isdigit() and _pid_alive(int(pid))):
                shutil.rmtree(item, ignore_errors=True)
    if target.is_dir():
        owned = _owned(target)
        for item in target.iterdir():
            name = item.name
            if name.startswith(_ASIDE):
                pid = name[len(_ASIDE) :].split("-", 1)[0]
                if not (pid.isdigit() and _pid_alive(int(pid))):
                    shutil.rmtree(item, ignore_errors=True)
            elif (
                name.endswith(".tmp")  # temporaries of atomic writes: ".<name>.<random>.tmp"
                and item.is_file()
                and any(name.startswith(f".{n}.") for n in (*owned, MANIFEST, JOURNAL))
            ):
                item.unlink(missing_ok=True)


class RunFolder:
    """One run's output folder, written all or nothing.

    Parameters
    ----------
    target
        The output folder (created at commit if missing).
    names
        Every file name the run may write (the output contract).
    inputs
        Paths the run reads: none may equal or lie under ``target``.
    overwrite
        Allow replacing files under an output name that the tool did not write.
    keep_previous
        Keep the previous run's files that this run does not write (a map redrawn into an
        output folder keeps the rest of that folder's run); by default they are removed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> run = RunFolder(out, names=("a.txt",))
    >>> run.check()
    >>> _ = (run.stage() / "a.txt").write_text("new")
    >>> run.commit()
    >>> sorted(p.name for p in out.iterdir())
    ['.skillcircle-manifest.json', 'a.txt']
    """

    def __init__(
        self,
        target: str | os.PathLike[str],
        *,
        names: Iterable[str],
        inputs: Iterable[str | os.PathLike[str]] = (),
        overwrite: bool = False,
        keep_previous: bool = False,
    ) -> None:
        if str(target).strip() == "":
            raise InputError("the output folder is empty: name a folder to write to", field="out")
        self.target = Path(os.path.abspath(os.path.expanduser(target)))
        self.names = tuple(names)
        self.inputs = tuple(inputs)
        self.overwrite = overwrite
        self.keep_previous = keep_previous
        self._staging: Path | None = None

    # ------------------------------------------------------------------ checks
    def check(self) -> None:
        """Refuse an unusable output folder before any work (nothing is written).

        Raises
        ------
        InputError
            When the folder is a file or lies inside one, an input lies inside it (or is
            it), it cannot be written, or it holds a file under an output name that the
            tool did not write (and ``overwrite`` is off).
        """
        target = self.target
        real_target = Path(os.path.realpath(target))
        for item in self.inputs:
            src = Path(os.path.realpath(os.path.expanduser(item)))
            if src == real_target or real_target in src.parents:
                raise InputError(
                    f"is an input of this run and lies in the output folder {target}: "
                    "choose another output folder",
                    path=Path(item),
                )
        for p in (target, *target.parents):
            if p.exists() and not p.is_dir():
                raise InputError("exists and is not a folder: cannot write outputs there", path=p)
        clean_stale(target)
        if target.is_dir():
            owned = _owned(target)
            for name in self.names:
                p = target / name
                if p.is_dir():
                    raise InputError(
                        "is a folder where the run writes a file: rename or move it", path=p
                    )
                if p.exists() and name not in owned and not self.overwrite:
                    raise InputError(
                        "was not written by skillcircle; the run would replace it "
                        "(move it, choose another output folder, or allow it with overwrite)",
                        path=p,
                        param="overwrite",
                    )
        self._probe()

    def _probe(self) -> None:
        """Check that a staging folder can be made beside the target and holds a probe."""
        parent = self.target.parent
        existing = parent
        while not existing.exists():
            existing = existing.parent
        if not os.access(existing, os.W_OK | os.X_OK):
            raise InputError("cannot be written (permission denied)", path=existing)
        if self.target.is_dir() and not os.access(self.target, os.W_OK | os.X_OK):
            raise InputError("cannot be written (permission denied)", path=self.target)
        if not parent.exists():
            return
        try:
            with tempfile.NamedTemporaryFile(
                dir=self._staging_parent(), prefix=f".{self.target.name}.probe-", suffix=".tmp"
            ) as fh:
                fh.write(b"\0" * _PROBE_BYTES)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise InputError(f"cannot be written ({exc.strerror or exc})", path=parent) from exc

    # ------------------------------------------------------------------ staging
    def _staging_parent(self) -> Path:
        """Where the staging folder goes: beside the target, or inside it across a mount.

        Files move into place by rename, which works only within one file system: when the
        target is a mount point (or otherwise on another device than its parent) the staging
        folder is made inside it.
        """
        target, parent = self.target, self.target.parent
        if target.is_dir():
            try:
                if os.path.ismount(target) or target.stat().st_dev != parent.stat().st_dev:
                    return target
            except OSError:
                pass
        return parent

    def stage(self) -> Path:
        """Create (once) and return the staging folder (beside the target, or inside it)."""
        if self._staging is None:
            parent = self.target.parent
            parent.mkdir(parents=True, exist_ok=True)
            self._staging = Path(
                tempfile.mkdtemp(
                    prefix=f".{self.target.name}{_STAGING}{os.getpid()}-",
                    dir=self._staging_parent(),
                )
            )
        return self._staging

    def abort(self) -> None:
        """Remove the staging folder; the target is left as it was."""
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None

    def commit(self) -> None:
        """Swap the staged files into the target and record them in the manifest.

        Raises
        ------
        InputError
            When a staged file is not one of the run's output names.
        """
        try:
            self._commit()
        except BaseException:
            with contextlib.suppress(Exception):
                if (self.target / JOURNAL).exists():
                    _recover(self.target)
            self.abort()
            raise

    def _commit(self) -> None:
        staging = self.stage()
        target = self.target
        new = sorted(p.name for p in staging.iterdir())
        unknown = sorted(set(new) - set(self.names))
        if unknown:
            raise InputError(f"internal: files outside the output contract: {unknown}")
        target.mkdir(parents=True, exist_ok=True)
        owned_now = _owned(target)
        # ownership again, at the last moment: a file someone put under an output name
        # while the run worked is not replaced unless the run may overwrite
        foreign = sorted(n for n in new if (target / n).exists() and n not in owned_now)
        if foreign and not self.overwrite:
            raise InputError(
                "was not written by skillcircle; the run would replace it "
                "(move it, choose another output folder, or allow it with overwrite)",
                path=target / foreign[0],
                param="overwrite",
            )
        owned = sorted(n for n in owned_now if (target / n).exists())
        old = [n for n in owned if n in new] if self.keep_previous else owned
        # files being overwritten (allowed) move aside like the previous run's, so a failed
        # commit puts them back
        old = sorted({*old, *foreign})
        kept = [n for n in owned if n not in old]
        run_id = f"{os.getpid()}-{time.time_ns()}"
        aside = target / f"{_ASIDE}{os.getpid()}-{time.time_ns()}"
        journal = {
            "run_id": run_id,
            "staging": str(staging),
            "aside": str(aside),
            "old": old,
            "new": new,
        }
        _write_atomic(target / JOURNAL, json.dumps(journal))
        aside.mkdir()
        for name in old:
            os.replace(target / name, aside / name)
        for name in new:
            os.replace(staging / name, target / name)
        manifest = {
            "run_id": run_id,
            "files": sorted({*new, *kept}),
            "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        _write_atomic(target / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        _fsync_dir(target)
        shutil.rmtree(aside, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
        (target / JOURNAL).unlink(missing_ok=True)
        self._staging = None


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # like the other outputs, not mkstemp's 0600
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
