import pytest

from skillcircle import (
    CacheError,
    DataFolderError,
    InfeasibleError,
    InputError,
    InputFileNotFoundError,
    NetworkError,
    SettingsError,
    SkillcircleError,
)


def test_input_error_names_file_row_and_field():
    err = InputError("not a number", path="ledger.csv", row=7, field="经度")
    assert str(err) == "ledger.csv, row 7, field '经度': not a number"
    assert (err.path, err.row, err.field, err.reason) == ("ledger.csv", 7, "经度", "not a number")
    assert str(InputError("empty file", path="a.csv")) == "a.csv: empty file"


@pytest.mark.parametrize(
    ("exc", "builtin"),
    [
        (InputError("x"), ValueError),
        (InputFileNotFoundError("a.csv"), FileNotFoundError),
        (DataFolderError("x"), FileNotFoundError),
        (NetworkError("x"), ValueError),
        (CacheError("x"), OSError),
        (InfeasibleError("x"), ValueError),
    ],
)
def test_errors_subclass_builtins(exc, builtin):
    assert isinstance(exc, builtin)
    assert isinstance(exc, SkillcircleError)


def test_file_not_found_message_is_one_line():
    assert (
        str(InputFileNotFoundError("x/a.csv", "station file")) == "x/a.csv: station file not found"
    )


def test_errors_name_api_parameters_without_repeating_them():
    err = InputError("add must be a positive number of sites, got 0", param="add")
    assert str(err) == "add must be a positive number of sites, got 0"
    assert err.params == ("add",)
    both = InputError("give either add or target_stations", param=("add", "target_stations"))
    assert both.params == ("add", "target_stations")
    assert InputError("x").params == ()
    assert SettingsError("setting crs: bad", param="crs").params == ("crs",)
    assert str(SettingsError("setting crs: bad")) == "setting crs: bad"
    assert DataFolderError("run the demo with online=True", param="online").params == ("online",)
    assert str(DataFolderError("no data")) == "no data"


def test_library_messages_never_name_command_line_flags():
    # the CLI turns parameter names into flags; the library speaks API terms only
    import re
    from pathlib import Path

    import skillcircle

    root = Path(skillcircle.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "cli.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#")[0]
            if re.search(r"""["'][^"']*(?<![\w`-])--[a-z]""", code) and "``" not in line:
                offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert offenders == []
