"""Text from ledgers and OSM is data: inert in CSV/XLSX, escaped in Markdown, plain in a terminal.

Station names, addresses, types and 街道 names come from files the tool does not control. Each
writer passes them through one of these functions:

* :func:`neutralise_cell` / :func:`neutralise_frame` — spreadsheet formula injection (OWASP
  "CSV injection"): a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return gets a leading ``'`` so Excel and LibreOffice show it as text; numbers stay numbers.
* :func:`markdown_text` — HTML entities and Markdown table syntax escaped, so a name like
  ``<script>`` or ``a|b`` renders as written in any CommonMark viewer.
* :func:`plain_text` — control characters (ANSI escapes included) replaced, for the terminal;
  the CLI prints it without markup or emoji codes.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from typing import Any

import pandas as pd

__all__ = ["markdown_text", "neutralise_cell", "neutralise_frame", "plain_text"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}|#!~])")


def _is_number(text: str) -> bool:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        return False
    return math.isfinite(value)


def neutralise_cell(value: Any) -> Any:
    r"""Make a text cell inert in a spreadsheet; return anything else unchanged.

    Parameters
    ----------
    value
        A cell value.

    Returns
    -------
    value
        ``"'" + value`` for text starting with a formula character (unless the text is a
        plain number such as ``-12.5``), else ``value`` itself.

    Examples
    --------
    >>> neutralise_cell('=HYPERLINK("http://x","y")')
    '\'=HYPERLINK("http://x","y")'
    >>> neutralise_cell("-12.5"), neutralise_cell(-3), neutralise_cell("越秀区")
    ('-12.5', -3, '越秀区')
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        if value[0] in "+-" and _is_number(value):
            return value
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) are inert in a spreadsheet.

    Parameters
    ----------
    frame
        A table about to be written as CSV or XLSX.

    Returns
    -------
    frame
        The neutralised copy; numeric columns are untouched.
    """
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise_cell)
    out.columns = [neutralise_cell(c) for c in out.columns]
    return out


def markdown_text(value: Any) -> str:
    r"""Escape text for a Markdown document (table cells included).

    Parameters
    ----------
    value
        Any value; ``None`` and NaN give an empty string.

    Returns
    -------
    text
        HTML special characters as entities, Markdown syntax backslash-escaped, line breaks
        and control characters replaced by spaces.

    Examples
    --------
    >>> markdown_text("<script>alert(1)</script>")
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    >>> markdown_text("a|b *c*")
    'a\\|b \\*c\\*'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = plain_text(str(value), replacement=" ")
    return html.escape(_MD_SPECIAL.sub(r"\\\1", text), quote=True)  # entities keep their #


def plain_text(value: Any, *, replacement: str = "?") -> str:
    r"""Text with every control character replaced: safe to print on a terminal.

    Parameters
    ----------
    value
        Any value (converted with ``str``).
    replacement
        What stands in for each control character.

    Returns
    -------
    text
        The text; ANSI escape sequences lose their ESC character and so do nothing.

    Examples
    --------
    >>> plain_text("ok\x1b[31mred\x07")
    'ok?[31mred?'
    """
    text = str(value)
    return "".join(
        replacement if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text
    )
