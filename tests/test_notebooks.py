"""The three notebooks run top to bottom on the real data (nbclient, a fresh kernel each)."""

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = [pytest.mark.data, pytest.mark.notebook, pytest.mark.slow]

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_three_notebooks_are_shipped_without_outputs():
    assert [p.name for p in NOTEBOOKS] == [
        "01_yuexiu_coverage.ipynb",
        "02_siting_plan.ipynb",
        "03_capacity_and_groups.ipynb",
    ]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [], f"{path.name}: outputs must be cleared in git"
                assert cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("SKILLCIRCLE_DATA", str(data_root))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors == []
    texts = "".join(
        o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    if path.stem.startswith("01"):
        assert "469,797 of 1,038,643 residents (45.2 %)" in texts
        # the network before and after the largest-piece step: 333 pieces, then one
        assert "before 之前 (every piece)" in texts
        assert "after 之后 (largest piece)" in texts
        assert "路网敏感性 Network sensitivity: 45.2 % on the main street network" in texts
    elif path.stem.startswith("03"):
        # working-age residents: 74.72 % of every resident, the same coverage share (45.2 %)
        assert "351,032 of 776,074 working-age residents (45.2 %)" in texts
        assert "18 of 21 stations are over-subscribed" in texts
        served = re.search(r"served with the plan [^:]*: ([\d,]+) of ([\d,]+) wanted", texts)
        assert served is not None
        today = re.search(r"served today [^:]*: ([\d,]+) trainings", texts)
        assert today is not None
        bound = re.search(r"upper bound [^:]*: ([\d,]+) \((\w+)\); gap ([\d.]+) %", texts)
        assert bound is not None

        def num(text: str) -> float:
            return float(text.replace(",", ""))

        # ten new sites of 950 add at most 9 500 trainings; the plan is below its bound
        assert num(today.group(1)) < num(served.group(1)) <= num(today.group(1)) + 9500
        assert num(served.group(1)) <= num(bound.group(1))
        recount = re.search(r"capacitated plan [^:]*: ([\d,]+) trainings a year served", texts)
        coverage = re.search(r"coverage plan [^:]*: ([\d,]+) trainings a year served", texts)
        assert recount is not None
        assert coverage is not None
        assert num(recount.group(1)) == num(served.group(1))
        # the plan made for trainings serves at least as many as the plan made for coverage
        assert num(coverage.group(1)) <= num(served.group(1))
    else:
        # the same plan walked at 3 km/h (A) and a plan re-made for 3 km/h (B), named apart
        def figure(pattern: str) -> float:
            found = re.search(pattern + r"[^:\n]*: ([\d.]+) %", texts)
            assert found is not None, pattern
            return float(found.group(1))

        today = figure(r"today at 3 km/h")
        same = figure(r"A\. the 4 km/h plan walked at 3 km/h")
        again = figure(r"B\. a plan re-made for 3 km/h")
        assert today == 26.3  # the demo's 3 km/h coverage (coverage_sensitivity.csv)
        assert today < same <= again
