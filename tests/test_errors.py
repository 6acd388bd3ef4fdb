import pytest

from skillcircle import (
    CacheError,
    DataFolderError,
    InfeasibleError,
    InputError,
    InputFileNotFoundError,
    NetworkError,
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
