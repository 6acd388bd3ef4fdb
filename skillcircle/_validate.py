"""The one check for numeric options: a real, finite, positive number.

>>> positive(15, "minutes")
15.0
>>> positive(float("nan"), "minutes")
Traceback (most recent call last):
...
skillcircle._errors.InputError: minutes must be a positive number, got nan
"""

from __future__ import annotations

import math
import numbers

from skillcircle._errors import InputError, SettingsError

__all__ = ["positive"]


def positive(
    value: object,
    name: str,
    *,
    allow_zero: bool = False,
    allow_inf: bool = False,
    error: type[InputError] | type[SettingsError] = InputError,
) -> float:
    """Return ``value`` as a float if it is a positive number, else raise.

    Parameters
    ----------
    value
        The value to check. Python and NumPy integers and floats are accepted; ``bool``,
        strings and other objects are not.
    name
        The parameter name, used in the message ("minutes must be a positive number, got
        nan").
    allow_zero
        Accept 0 too ("a non-negative number").
    allow_inf
        Accept ``+inf`` too (e.g. a search radius meaning "no limit"). NaN and ``-inf`` are
        never accepted.
    error
        :class:`~skillcircle._errors.InputError` (default; it names the field) or
        :class:`~skillcircle._errors.SettingsError` (for :class:`~skillcircle.settings.Settings`).

    Returns
    -------
    float

    Raises
    ------
    InputError or SettingsError
        As chosen by ``error``, when the value is not acceptable.
    """
    what = "a non-negative number" if allow_zero else "a positive number"
    real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    number = float(value) if real else math.nan  # type: ignore[arg-type]
    ok = (
        not math.isnan(number)
        and (number >= 0 if allow_zero else number > 0)
        and (allow_inf or math.isfinite(number))
    )
    if ok:
        return number
    shown = value.item() if real and hasattr(value, "item") else value  # NumPy scalars
    message = f"{name} must be {what}, got {shown!r}"
    if error is SettingsError:
        raise SettingsError(f"setting {message}")
    raise InputError(message)
