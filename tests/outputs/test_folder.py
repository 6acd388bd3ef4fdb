"""The output folder: ownership by manifest, all-or-nothing commits, recovery after a kill."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from skillcircle._errors import InputError
from skillcircle.outputs import folder as fo
from skillcircle.outputs.folder import MANIFEST, RunFolder, clean_stale

NAMES = ("summary.json", "report.md", "map.html", "suggestions.csv")


def _run(target: Path, files: dict[str, str], **kw: object) -> None:
    run = RunFolder(target, names=NAMES, **kw)  # type: ignore[arg-type]
    run.check()
    staging = run.stage()
    for name, text in files.items():
        (staging / name).write_text(text, encoding="utf-8")
    run.commit()


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != MANIFEST
    }


def _leftovers(parent: Path) -> list[str]:
    """Hidden files or folders the tool may leave: staging, aside, journal, temporaries."""
    found = []
    for p in parent.rglob(".*"):
        if p.name == MANIFEST:
            continue
        found.append(str(p.relative_to(parent)))
    return sorted(found)


def test_first_run_writes_the_files_and_a_manifest(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _run(out, {"summary.json": "{}", "report.md": "# r"})
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "report.md", "summary.json"]
    assert fo._owned(out) == {"report.md", "summary.json"}
    assert _leftovers(tmp_path) == []


def test_a_rerun_removes_only_the_previous_runs_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _run(out, {"summary.json": "1", "suggestions.csv": "old plan"})
    (out / "notes.txt").write_text("the planner's own notes")
    (out / "candidates.geojson").write_text("the planner's candidates")
    _run(out, {"summary.json": "2", "report.md": "new"})
    assert (out / "summary.json").read_text() == "2"
    assert not (out / "suggestions.csv").exists()  # ours, from the previous run
    assert (out / "notes.txt").read_text() == "the planner's own notes"
    assert (out / "candidates.geojson").read_text() == "the planner's candidates"


def test_a_users_file_under_an_output_name_stops_the_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").write_text("my own report")
    with pytest.raises(InputError, match=r"report\.md.*was not written by skillcircle"):
        RunFolder(out, names=NAMES).check()
    assert (out / "report.md").read_text() == "my own report"
    assert sorted(p.name for p in out.iterdir()) == ["report.md"]
    _run(out, {"report.md": "ours"}, overwrite=True)
    assert (out / "report.md").read_text() == "ours"


def test_inputs_inside_the_output_folder_are_refused(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger" / "stations.geojson"
    ledger.parent.mkdir()
    ledger.write_text("{}")
    for out in (ledger.parent, ledger, tmp_path):
        with pytest.raises(InputError, match="is an input of this run"):
            RunFolder(out, names=NAMES, inputs=[ledger]).check()
    RunFolder(tmp_path / "elsewhere", names=NAMES, inputs=[ledger]).check()


def test_an_empty_path_a_file_or_a_folder_under_an_output_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="output folder is empty"):
        RunFolder("", names=NAMES)
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        RunFolder(tmp_path / "f" / "out", names=NAMES).check()
    (tmp_path / "out" / "report.md").mkdir(parents=True)
    with pytest.raises(InputError, match=r"report\.md.*is a folder"):
        RunFolder(tmp_path / "out", names=NAMES).check()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits")
def test_a_read_only_folder_is_refused_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o500)
    try:
        with pytest.raises(InputError, match="cannot be written"):
            RunFolder(out, names=NAMES).check()
    finally:
        out.chmod(0o700)


def test_a_full_disk_is_refused_before_any_work(tmp_path: Path, monkeypatch) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fo.tempfile, "NamedTemporaryFile", full)
    with pytest.raises(InputError, match="No space left on device"):
        RunFolder(tmp_path / "out", names=NAMES).check()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fail_at", range(1, 9))
def test_a_failure_at_any_step_of_a_commit_leaves_the_previous_run(
    tmp_path: Path, monkeypatch, fail_at: int
) -> None:
    out = tmp_path / "out"
    _run(out, {"summary.json": "old", "report.md": "old report", "suggestions.csv": "old"})
    (out / "mine.txt").write_text("user")
    before = _digest(out)
    calls = {"n": 0}
    real_replace = os.replace

    def flaky(src: object, dst: object) -> None:
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise OSError(5, "induced failure")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(fo.os, "replace", flaky)
    try:
        _run(out, {"summary.json": "new", "report.md": "new report", "map.html": "<p>"})
        committed = True
    except OSError:
        committed = False
    monkeypatch.setattr(fo.os, "replace", real_replace)
    clean_stale(out)  # what the next run does first
    if committed:  # the failure hit a step after the manifest (cleanup): the new run stands
        assert (out / "summary.json").read_text() == "new"
        assert not (out / "suggestions.csv").exists()
    else:
        assert _digest(out) == before
    assert (out / "mine.txt").read_text() == "user"
    assert _leftovers(tmp_path) == []


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from skillcircle.outputs.folder import RunFolder
    out = Path(sys.argv[1])
    names = [f"f{i}.txt" for i in range(40)]
    n = 0
    while True:
        n += 1
        run = RunFolder(out, names=names)
        run.check()
        staging = run.stage()
        keep = names[: 20 + n % 20]  # runs differ in their file sets too
        for name in keep:
            (staging / name).write_text(f"run {n}\\n" * 2000)
        run.commit()
        print(n, flush=True)
    """
)


@pytest.mark.slow
def test_sigkill_at_random_moments_never_leaves_a_mixed_folder(tmp_path: Path) -> None:
    rng = random.Random(20261202)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    work = tmp_path / "work"
    work.mkdir()
    out = work / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for trial in range(24):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert proc.stdout is not None
        proc.stdout.readline()  # at least one complete run exists
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        clean_stale(out)
        # the folder is exactly one complete run: every file the manifest lists, all from
        # the same run, and nothing else
        owned = fo._owned(out)
        present = {p.name for p in out.iterdir()} - {MANIFEST}
        assert present == owned, f"trial {trial}"
        versions = {(out / name).read_text().splitlines()[0] for name in owned}
        assert len(versions) == 1, f"trial {trial}: {versions}"
        assert _leftovers(work) == [], f"trial {trial}"


def test_an_overwritten_users_file_comes_back_when_the_commit_fails(
    tmp_path: Path, monkeypatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").write_text("the planner's own notes")
    real_replace = os.replace
    calls = {"n": 0}

    def flaky(src: object, dst: object) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # after the user's file went aside and one new file moved in
            raise OSError(5, "induced failure")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(fo.os, "replace", flaky)
    with pytest.raises(OSError, match="induced"):
        _run(out, {"report.md": "new", "summary.json": "{}"}, overwrite=True)
    monkeypatch.setattr(fo.os, "replace", real_replace)
    clean_stale(out)
    assert (out / "report.md").read_text() == "the planner's own notes"
    assert not (out / "summary.json").exists()
    assert _leftovers(tmp_path) == []


def test_a_file_put_under_an_output_name_during_the_run_is_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = RunFolder(out, names=NAMES)
    run.check()
    (run.stage() / "report.md").write_text("new")
    out.mkdir()
    (out / "report.md").write_text("written meanwhile by someone else")
    with pytest.raises(InputError, match="not written by skillcircle"):
        run.commit()
    assert (out / "report.md").read_text() == "written meanwhile by someone else"
    assert sorted(p.name for p in out.iterdir()) == ["report.md"]
    assert _leftovers(tmp_path) == []


def test_a_manifest_never_makes_bookkeeping_or_hidden_files_owned(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    names = ["report.md", MANIFEST, ".skillcircle-commit.json", ".hidden", "../x", "a/b", ""]
    (out / MANIFEST).write_text(json.dumps({"files": names}))
    assert fo._owned(out) == {"report.md"}


def test_an_unreadable_journal_restores_the_files_set_aside(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _run(out, {"summary.json": "old", "report.md": "old report"})
    aside = out / f"{fo._ASIDE}999999999-1"  # a dead process's aside folder
    aside.mkdir()
    os.replace(out / "report.md", aside / "report.md")
    (out / fo.JOURNAL).write_text("{not json")
    clean_stale(out)
    assert (out / "report.md").read_text() == "old report"
    assert (out / "summary.json").read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_a_rollback_without_its_staging_folder_removes_the_new_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _run(out, {"summary.json": "old"})
    aside = out / f"{fo._ASIDE}999999999-1"
    aside.mkdir()
    os.replace(out / "summary.json", aside / "summary.json")
    (out / "summary.json").write_text("new")  # moved in, then the run died
    (out / "report.md").write_text("new report")
    journal = {
        "run_id": "dead",
        "staging": str(tmp_path / ".out.skillcircle-staging-999999999-gone"),
        "aside": str(aside),
        "old": ["summary.json"],
        "new": ["report.md", "summary.json"],
    }
    (out / fo.JOURNAL).write_text(json.dumps(journal))
    clean_stale(out)
    assert (out / "summary.json").read_text() == "old"
    assert not (out / "report.md").exists()
    assert _leftovers(tmp_path) == []


def test_a_target_on_another_file_system_stages_inside_it(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    real_ismount = os.path.ismount
    monkeypatch.setattr(fo.os.path, "ismount", lambda p: Path(p) == out or real_ismount(p))
    run = RunFolder(out, names=NAMES)
    run.check()
    staging = run.stage()
    assert staging.parent == out
    (staging / "report.md").write_text("new")
    run.commit()
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "report.md"]
    assert _leftovers(tmp_path) == []
