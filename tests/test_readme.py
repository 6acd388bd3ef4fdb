"""The README's Python example runs unchanged, offline, from the sample shipped in the package."""

import json
import re
from pathlib import Path

import pytest

import skillcircle

README = Path(__file__).resolve().parents[1] / "README.md"


def first_python_block(text: str) -> str:
    match = re.search(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    if match is None:
        raise AssertionError("README.md has no ```python block")
    return match.group(1)


def test_publish_is_a_function():
    from skillcircle import analyse, publish, suggest

    assert callable(publish)
    assert callable(analyse)
    assert callable(suggest)
    assert skillcircle.publish.__module__ == "skillcircle.outputs.publish"


def test_first_python_block_is_found():
    code = first_python_block(README.read_text(encoding="utf-8"))
    assert code.startswith("from skillcircle import")
    assert "get_path(" in code


@pytest.mark.slow
def test_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    code = first_python_block(README.read_text(encoding="utf-8"))
    monkeypatch.delenv("SKILLCIRCLE_DATA", raising=False)  # the example needs no data folder
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__readme__"}
    exec(compile(code, str(README), "exec"), namespace)
    a, plan, files = namespace["a"], namespace["plan"], namespace["files"]
    # the headline figures of the README, from the shipped sample
    assert round(a.summary["coverage_pct"], 1) == 45.2
    assert round(a.summary["population"]) == 1_038_643
    assert round(a.sensitivity["coverage_pct_3kmh"].iloc[0], 1) == 26.3
    assert plan.summary["added_sites"] == 10
    assert round(plan.summary["coverage_pct_after"], 1) == 75.8
    out = tmp_path / "out"
    for name in ("map.html", "report.html", "summary.json", "suggestions.csv"):
        assert (out / name).is_file(), name
    assert files["summary.json"].resolve() == (out / "summary.json").resolve()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["stations"] == 21
    printed = capsys.readouterr().out.split()
    assert printed[:2] == ["45.2318", "75.7763"]
