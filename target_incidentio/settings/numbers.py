"""Numeric settings: each declared with its range, checked at start and shown by `--about`.

A value outside the range, NaN or an infinity (from a config file or `TARGET_INCIDENTIO_*`)
fails naming the setting and the range (issue 28 item 4).
"""

from __future__ import annotations

import typing as t
from decimal import Decimal, InvalidOperation

from singer_sdk import typing as th
from typing_extensions import override

from target_incidentio.core.errors import SettingError
from target_incidentio.settings.setting_types import SettingType

if t.TYPE_CHECKING:
    from target_incidentio.settings.setting_types import SchemaType


class Bounded:
    """A numeric setting's range, declared with it: checked at start, shown by `--about`.

    Greater than zero unless `zero` allows it (or `at_least` sets another lower bound), never
    above `at_most`; never NaN or infinite.
    """

    integer: t.ClassVar[bool] = False

    def __init__(
        self, *, at_most: float, zero: bool = False, at_least: float | None = None
    ) -> None:
        self.zero = zero
        self.at_least = at_least
        self.at_most = at_most

    def range_text(self) -> str:
        """The range as the docs and every error say it."""
        if self.at_least is not None:
            low = f"from {self.at_least:g}"
        else:
            low = "from 0" if self.zero else ("from 1" if self.integer else "above 0")
        return f"{low} to {self.at_most:g}"

    def bounds(self) -> dict[str, float]:
        """The range as JSON schema keywords."""
        if self.at_least is not None:
            return {"minimum": self.at_least, "maximum": self.at_most}
        if self.zero or self.integer:
            return {"minimum": 0 if self.zero else 1, "maximum": self.at_most}
        return {"exclusive_minimum": 0, "maximum": self.at_most}

    def check(self, where: str, value: object) -> float:
        """`value` as a number in the range, or a `SettingError` naming both."""
        number = _number(where, value, integer=self.integer, range_text=self.range_text())
        # The bounds as written (0.01, not the float nearest it), as a config's JSON is read.
        low = Decimal(repr(self.at_least)) if self.at_least is not None else 0
        too_low = number < low or (number == 0 and not self.zero and self.at_least is None)
        if too_low or number > Decimal(repr(self.at_most)):
            kind = "a whole number" if self.integer else "a number"
            raise SettingError(
                where, f"must be {kind} {self.range_text()}, got {value!r}.", _RANGE_FIX
            )
        return float(number)


_RANGE_FIX = "set a value in the range (docs/settings.md lists each setting's range)."


class Number(Bounded, SettingType[float | None]):
    """A number in its declared range."""

    @override
    def schema(self) -> SchemaType:
        return th.NumberType(**self.bounds())  # type: ignore[arg-type]

    @override
    def parse(self, where: str, value: object) -> float | None:
        return None if value is None else self.check(where, value)

    @override
    def from_env(self, where: str, text: str) -> object:
        return _env_number(where, text)


class Integer(Bounded, SettingType[int | None]):
    """A whole number in its declared range."""

    integer = True

    @override
    def schema(self) -> SchemaType:
        return th.IntegerType(**self.bounds())  # type: ignore[arg-type]

    @override
    def parse(self, where: str, value: object) -> int | None:
        return None if value is None else int(self.check(where, value))

    @override
    def from_env(self, where: str, text: str) -> object:
        return _env_number(where, text)


def _number(setting: str, value: object, *, integer: bool, range_text: str) -> Decimal:
    # Config files are read with Decimal for JSON numbers; NaN and infinities are no numbers
    # here (Decimal's raise InvalidOperation when compared). Exact, so 1e999 is too large
    # rather than an OverflowError.
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise SettingError(setting, f"must be a number {range_text}, got {value!r}.")
    number = Decimal(value)
    if not number.is_finite():
        raise SettingError(setting, f"must be a finite number {range_text}, got {str(value)!r}.")
    if integer and number != number.to_integral_value():
        raise SettingError(setting, f"must be a whole number {range_text}, got {value!r}.")
    return number


def _env_number(where: str, text: str) -> object:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise SettingError(where, f"must be a number, got {text!r}.") from None
    if number.is_finite() and number == number.to_integral_value():
        return int(number)
    return number
