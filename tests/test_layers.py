"""Imports run one way: inputs → network → access → siting → outputs → cli.

Every ``import`` and ``from … import`` in the package, module level and inside functions, is
read from the source (no import side effects) and checked against the stage order.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "skillcircle"
#: Rank of each stage; a module may import its own stage and lower ranks only.
RANKS = {
    "_errors": 0,
    "_validate": 0,
    "_escaping": 0,
    "_parallel": 0,  # thread blocks for the numba kernels, used by network and access
    "profiles": 0,
    "settings": 1,
    "inputs": 2,
    "network": 3,
    "access": 4,
    "study": 4,  # a study is read by the analysis (access)
    "siting": 5,
    "outputs": 6,
    "demo": 7,
    "cli": 8,
    "warmup": 8,  # compiles the kernels ahead, for the command line
    "__main__": 9,
    "__init__": 9,
}


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _type_only(tree: ast.Module) -> set[int]:
    """Ids of nodes under ``if TYPE_CHECKING:`` (annotations only, never imported at run time)."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            ids |= {id(n) for n in ast.walk(node)}
    return ids


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_only(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "skillcircle":  # from skillcircle import __version__, Settings
                names = [f"skillcircle.{a.name}" for a in node.names]
            found += [(node.lineno, n) for n in names if n.startswith("skillcircle")]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("skillcircle")]
    return found


def test_imports_run_one_way():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        own = _stage(".".join(rel.parts))
        for line, target in _imports(path):
            stage = _stage(target)
            if stage not in RANKS:  # a top-level attribute such as __version__
                continue
            if RANKS[stage] > RANKS[own]:
                wrong.append(f"{rel}:{line} ({own}) imports {target} ({stage})")
    assert wrong == []


def test_every_module_belongs_to_a_stage():
    stages = {
        _stage(".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts))
        for p in PACKAGE.rglob("*.py")
    }
    assert stages <= set(RANKS)
