"""The credit engine: the pure arithmetic of service levels and service credits.

It takes plain values (periods, aggregated measurements, intervals, objectives, credit
rules and fees) and returns attainment, credits and the plain-language explanation of
every figure. It never touches the database, the clock or the network: settlement, the
API, the browser and the early warning all call the same functions, so they cannot
disagree, and every rule can be checked exhaustively with property tests.

Exactness. Attainment is a ``Fraction`` and is compared exactly (969 of 1,000 samples
against a target of 96.9 is met). Money is ``Decimal`` and is rounded in exactly one
place, :func:`quantize_money` (the currency's minor unit, ROUND_HALF_UP). ``float`` is
never used; a float that arrives in a rule is read through its shortest decimal text.

Instants. Intervals are ``(start, end)`` pairs of timezone-aware datetimes or integer
POSIX seconds; internally they become whole seconds since the epoch (sub-second parts
are truncated), so a DST change can never stretch or shrink a duration. An ``end`` of
``None`` means "still open" and runs to the end of the window being measured.
"""

from __future__ import annotations

import math
import re
from calendar import monthrange
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from fractions import Fraction
from functools import cache
from itertools import pairwise
from typing import ClassVar, Literal, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import get_currency_name, get_currency_precision, list_currencies

__all__ = [
    "COMPARATORS",
    "INDICATORS",
    "PERIOD_KINDS",
    "RULE_KINDS",
    "BreachWarning",
    "CapResult",
    "CountMeasure",
    "CreditRule",
    "FlatRule",
    "Interval",
    "LineResult",
    "LinearRule",
    "Measure",
    "Objective",
    "ObjectiveError",
    "ParameterError",
    "PerStepRule",
    "Period",
    "PoolRule",
    "RatioMeasure",
    "RuleError",
    "ThresholdMeasure",
    "Tier",
    "TieredRule",
    "UptimeMeasure",
    "active_fraction",
    "active_interval",
    "apply_cap",
    "at_risk_amount",
    "credit_percent_for",
    "describe_objective",
    "describe_rule",
    "evaluate",
    "format_attainment",
    "format_money",
    "is_currency",
    "minor_units",
    "next_period",
    "parse_rule",
    "period_containing",
    "periods_between",
    "previous_period",
    "project_breach",
    "prorate",
    "quantize_money",
    "threshold_met",
    "to_epoch_seconds",
    "union_length",
    "uptime_attainment",
    "validate_rule_for",
]

INDICATORS: tuple[str, ...] = ("uptime", "ratio", "threshold", "count")
COMPARATORS: tuple[str, ...] = ("gte", "lte")
PERIOD_KINDS: tuple[str, ...] = ("week", "month", "quarter")
RULE_KINDS: tuple[str, ...] = ("per_step", "tiered", "linear", "flat", "pool")

NO_DATA_EXPLANATION = "No data for this period: no credit."

_HUNDRED = Fraction(100)
_ZERO = Fraction(0)
# Wide enough that sums and prorated fees of any realistic contract are exact; a fee
# prorated by a fraction such as 16/31 is the only value that is ever cut here.
_EXACT = Context(
    prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)


# --------------------------------------------------------------------------- errors


class ParameterError(ValueError):
    """A parameter is invalid; ``field`` names it so an interface can show the message
    beside that field."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class RuleError(ParameterError):
    """A credit rule parameter is invalid (``field``: ``step``, ``tiers``, ``kind``, ...)."""


class ObjectiveError(ParameterError):
    """An objective parameter is invalid (``field``: ``target``, ``indicator``, ...)."""


# --------------------------------------------------------------------------- numbers

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# Bounds that keep every product and quotient of parameters well inside _EXACT and
# stop a rule such as step=1e-999999 from turning one evaluation into a huge integer.
_MAX_INTEGER_DIGITS = 15
_MAX_PLACES = 12


def _to_decimal(
    value: object, field: str, error: type[ParameterError] = RuleError, label: str | None = None
) -> Decimal:
    """Read a parameter as a finite ``Decimal``: str, int, Decimal or float (via its text)."""
    name = label or field
    if isinstance(value, bool):
        raise error(f"{name} must be a number, not {str(value).lower()}", field=field)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise error(f"{name} must be a finite number", field=field)
        # repr() is the shortest text that reads back as the same float, so 0.1 becomes
        # Decimal("0.1") rather than its binary approximation.
        number = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if not _NUMBER.fullmatch(text):
            raise error(f"{name} must be a number, not {value!r}", field=field)
        number = Decimal(text)
    elif value is None:
        raise error(f"{name} is required", field=field)
    else:
        raise error(f"{name} must be a number", field=field)
    if not number.is_finite():
        raise error(f"{name} must be a finite number", field=field)
    if number.is_zero():
        number = number.copy_abs()
    if number.adjusted() >= _MAX_INTEGER_DIGITS:
        raise error(f"{name} is too large", field=field)
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    if exponent < -_MAX_PLACES:
        # Trailing zeros are harmless ("1.0000000000000"); only real precision is refused.
        while exponent < -_MAX_PLACES and len(digits) > 1 and digits[-1] == 0:
            digits = digits[:-1]
            exponent += 1
        if exponent < -_MAX_PLACES:
            raise error(f"{name} has more than {_MAX_PLACES} decimal places", field=field)
        number = Decimal((sign, digits, exponent))
    return number


def _text(value: Decimal) -> str:
    """Canonical text of a parameter for JSON: never an exponent."""
    return format(value, "f")


def _optional_text(value: Decimal | None) -> str | None:
    return None if value is None else _text(value)


def _round_ratio(numerator: int, denominator: int, places: int) -> Decimal:
    """Round numerator/denominator (denominator > 0) to ``places`` decimals, ties away
    from zero, in integers only: this runs for every figure of every line."""
    scaled = abs(numerator) * 10**places
    units = (2 * scaled + denominator) // (2 * denominator)
    if numerator < 0 and units:
        units = -units
    return Decimal(f"{units}E-{places}") if places else Decimal(units)


def _round_half_up(value: Fraction, places: int) -> Decimal:
    """Round an exact value to ``places`` decimals, ties away from zero."""
    return _round_ratio(value.numerator, value.denominator, places)


def _fmt_decimal(value: Decimal) -> str:
    """A parameter for people: thousands separators, no exponent, no trailing zeros."""
    text = format(value, ",f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _fmt_fraction(value: Fraction, places: int = 3) -> str:
    """An exact value for people: exact when it has at most ``places`` decimals, else
    rounded half up to ``places``."""
    if (value * 10**places).denominator == 1:
        return _fmt_decimal(_round_half_up(value, places))
    return format(_round_half_up(value, places), ",f")


def _percent_decimal(value: Fraction) -> Decimal:
    """A credit percentage to store: exact up to 6 decimals, else rounded half up."""
    text = format(_round_half_up(value, 6), "f")
    return Decimal(text.rstrip("0").rstrip(".") if "." in text else text)


def format_attainment(attainment: Fraction | Decimal) -> str:
    """Attainment as shown on statements: 3 decimals, ROUND_HALF_UP (``"99.884"``)."""
    return format(_round_half_up(Fraction(attainment), 3), "f")


def stored_attainment(attainment: Fraction | None) -> Decimal | None:
    """Attainment as the database keeps it: 10 decimals, ROUND_HALF_UP, enough for
    :func:`format_attainment` to show the same 3 decimals as the exact value."""
    return None if attainment is None else _round_half_up(Fraction(attainment), 10)


def threshold_met(value: Decimal, threshold: Decimal, comparator: str) -> bool:
    """Whether one sample ``value`` meets ``threshold`` (``gte``: at least; ``lte``: at most)."""
    if comparator == "gte":
        return value >= threshold
    if comparator == "lte":
        return value <= threshold
    raise ValueError(f"unknown comparator {comparator!r}: use gte or lte")


# --------------------------------------------------------------------------- rules


def _check_percent(value: Decimal, field: str, label: str | None = None) -> None:
    if not 0 <= value <= 100:
        raise RuleError(f"{label or field} must be between 0 and 100", field=field)


@dataclass(frozen=True, slots=True)
class PerStepRule:
    """``percent`` of the fee for every started ``step`` of shortfall, at most
    ``max_percent``."""

    step: Decimal
    percent: Decimal
    max_percent: Decimal | None = None
    kind: ClassVar[str] = "per_step"

    def __post_init__(self) -> None:
        object.__setattr__(self, "step", _to_decimal(self.step, "step"))
        object.__setattr__(self, "percent", _to_decimal(self.percent, "percent"))
        if self.step <= 0:
            raise RuleError("step must be greater than 0", field="step")
        _check_percent(self.percent, "percent")
        if self.max_percent is not None:
            object.__setattr__(self, "max_percent", _to_decimal(self.max_percent, "max_percent"))
            _check_percent(self.max_percent, "max_percent")

    def to_json(self) -> dict[str, object]:
        """The rule in the API's shape, decimals as strings."""
        return {
            "kind": self.kind,
            "step": _text(self.step),
            "percent": _text(self.percent),
            "max_percent": _optional_text(self.max_percent),
        }


@dataclass(frozen=True, slots=True)
class Tier:
    """One tier of a tiered rule: ``percent`` of the fee once ``bound`` is crossed."""

    bound: Decimal
    percent: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "bound", _to_decimal(self.bound, "tiers", label="bound"))
        object.__setattr__(self, "percent", _to_decimal(self.percent, "tiers", label="percent"))
        if self.bound < 0:
            raise RuleError("bound must not be negative", field="tiers")
        _check_percent(self.percent, "tiers", "percent")


@dataclass(frozen=True, slots=True)
class TieredRule:
    """The largest ``percent`` among the tiers whose bound the attainment crosses."""

    tiers: tuple[Tier, ...]
    kind: ClassVar[str] = "tiered"

    def __post_init__(self) -> None:
        if isinstance(self.tiers, str | bytes | Mapping) or not isinstance(self.tiers, Iterable):
            raise RuleError("tiers must be a list of {bound, percent}", field="tiers")
        tiers = tuple(self.tiers)
        if not tiers:
            raise RuleError("at least one tier is required", field="tiers")
        if not all(isinstance(tier, Tier) for tier in tiers):
            raise RuleError("tiers must be a list of {bound, percent}", field="tiers")
        bounds: set[Decimal] = set()
        for tier in tiers:
            if tier.bound in bounds:
                raise RuleError(
                    f"two tiers have the bound {_fmt_decimal(tier.bound)}", field="tiers"
                )
            bounds.add(tier.bound)
        object.__setattr__(self, "tiers", tiers)

    def to_json(self) -> dict[str, object]:
        """The rule in the API's shape, decimals as strings."""
        return {
            "kind": self.kind,
            "tiers": [{"bound": _text(t.bound), "percent": _text(t.percent)} for t in self.tiers],
        }


@dataclass(frozen=True, slots=True)
class LinearRule:
    """``factor`` percent of the fee per point of shortfall, at most ``max_percent``."""

    factor: Decimal
    max_percent: Decimal | None = None
    kind: ClassVar[str] = "linear"

    def __post_init__(self) -> None:
        object.__setattr__(self, "factor", _to_decimal(self.factor, "factor"))
        if self.factor <= 0:
            raise RuleError("factor must be greater than 0", field="factor")
        if self.max_percent is not None:
            object.__setattr__(self, "max_percent", _to_decimal(self.max_percent, "max_percent"))
            _check_percent(self.max_percent, "max_percent")

    def to_json(self) -> dict[str, object]:
        """The rule in the API's shape, decimals as strings."""
        return {
            "kind": self.kind,
            "factor": _text(self.factor),
            "max_percent": _optional_text(self.max_percent),
        }


@dataclass(frozen=True, slots=True)
class FlatRule:
    """Once per breached period: ``percent`` of the fee, or a fixed ``amount`` (never
    more than the fee)."""

    percent: Decimal | None = None
    amount: Decimal | None = None
    kind: ClassVar[str] = "flat"

    def __post_init__(self) -> None:
        if self.percent is not None and self.amount is not None:
            raise RuleError("give either percent or amount, not both", field="amount")
        if self.percent is None and self.amount is None:
            raise RuleError("a flat rule needs a percent or an amount", field="percent")
        if self.percent is not None:
            object.__setattr__(self, "percent", _to_decimal(self.percent, "percent"))
            _check_percent(self.percent, "percent")
        if self.amount is not None:
            object.__setattr__(self, "amount", _to_decimal(self.amount, "amount"))
            if self.amount < 0:
                raise RuleError("amount must not be negative", field="amount")

    def to_json(self) -> dict[str, object]:
        """The rule in the API's shape, decimals as strings."""
        if self.amount is not None:
            return {"kind": self.kind, "amount": _text(self.amount)}
        assert self.percent is not None
        return {"kind": self.kind, "percent": _text(self.percent)}


@dataclass(frozen=True, slots=True)
class PoolRule:
    """``allocation_percent`` of the period's at-risk amount."""

    allocation_percent: Decimal
    kind: ClassVar[str] = "pool"

    def __post_init__(self) -> None:
        value = _to_decimal(self.allocation_percent, "allocation_percent")
        object.__setattr__(self, "allocation_percent", value)
        _check_percent(value, "allocation_percent")

    def to_json(self) -> dict[str, object]:
        """The rule in the API's shape, decimals as strings."""
        return {"kind": self.kind, "allocation_percent": _text(self.allocation_percent)}


CreditRule: TypeAlias = PerStepRule | TieredRule | LinearRule | FlatRule | PoolRule

_RULE_CLASSES: dict[str, type[CreditRule]] = {
    cls.kind: cls for cls in (PerStepRule, TieredRule, LinearRule, FlatRule, PoolRule)
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "per_step": ("step", "percent"),
    "tiered": ("tiers",),
    "linear": ("factor",),
    "flat": (),
    "pool": ("allocation_percent",),
}
_OPTIONAL: dict[str, tuple[str, ...]] = {
    "per_step": ("max_percent",),
    "tiered": (),
    "linear": ("max_percent",),
    "flat": ("percent", "amount"),
    "pool": (),
}


def _parse_tiers(raw: object) -> tuple[Tier, ...]:
    if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Sequence):
        raise RuleError("tiers must be a list of {bound, percent}", field="tiers")
    tiers = []
    for position, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping):
            raise RuleError(f"tier {position} must be an object {{bound, percent}}", field="tiers")
        for key in item:
            if key not in ("bound", "percent"):
                raise RuleError(f"tier {position}: {key} is not a tier parameter", field="tiers")
        for key in ("bound", "percent"):
            if item.get(key) is None:
                raise RuleError(f"tier {position}: {key} is required", field="tiers")
        try:
            tiers.append(Tier(bound=item["bound"], percent=item["percent"]))
        except RuleError as error:
            raise RuleError(f"tier {position}: {error.message}", field="tiers") from None
    return tuple(tiers)


def parse_rule(spec: Mapping[str, object] | CreditRule | None) -> CreditRule | None:
    """Read a credit rule from its JSON shape (SPEC §5); ``None`` means no rule.

    Numbers may be strings, ints or Decimals (a float is read through its text); NaN,
    infinities, booleans, missing or unknown parameters raise :class:`RuleError` whose
    ``field`` names the parameter. An already parsed rule is returned unchanged.
    """
    if spec is None:
        return None
    if isinstance(spec, CreditRule):
        return spec
    if not isinstance(spec, Mapping):
        raise RuleError("a credit rule must be an object with a kind", field="kind")
    kind = spec.get("kind")
    if kind is None or kind == "":
        raise RuleError("kind is required", field="kind")
    if not isinstance(kind, str) or kind not in _RULE_CLASSES:
        raise RuleError(f"unknown kind {kind!r}: use one of {', '.join(RULE_KINDS)}", field="kind")
    known = _REQUIRED[kind] + _OPTIONAL[kind]
    for key in spec:
        if key != "kind" and key not in known:
            raise RuleError(f"{key} is not a parameter of a {kind} rule", field=str(key))
    for key in _REQUIRED[kind]:
        if spec.get(key) is None:
            raise RuleError(f"{key} is required for a {kind} rule", field=key)
    # A null optional parameter means "not set", as in {"max_percent": null}.
    params: dict[str, object] = {key: spec[key] for key in known if spec.get(key) is not None}
    if kind == "tiered":
        params["tiers"] = _parse_tiers(params["tiers"])
    return _RULE_CLASSES[kind](**params)  # type: ignore[arg-type]


def validate_rule_for(rule: CreditRule | None, comparator: str) -> None:
    """Check what depends on the objective's comparator: tiers must run from the mildest
    breach to the worst (``gte``: bounds strictly descending; ``lte``: strictly
    ascending) and a worse tier never credits less. Raises :class:`RuleError`."""
    if comparator not in COMPARATORS:
        raise RuleError(f"unknown comparator {comparator!r}: use gte or lte", field="comparator")
    if not isinstance(rule, TieredRule):
        return
    for position, (milder, worse) in enumerate(pairwise(rule.tiers), start=2):
        if comparator == "gte" and not worse.bound < milder.bound:
            raise RuleError(
                f"tier {position}: for an 'at least' objective each bound must be lower "
                "than the one before",
                field="tiers",
            )
        if comparator == "lte" and not worse.bound > milder.bound:
            raise RuleError(
                f"tier {position}: for an 'at most' objective each bound must be higher "
                "than the one before",
                field="tiers",
            )
        if worse.percent < milder.percent:
            raise RuleError(
                f"tier {position}: a worse tier cannot credit less than the one before",
                field="tiers",
            )


# --------------------------------------------------------------------------- money


def is_currency(code: object) -> bool:
    """Whether ``code`` is an ISO 4217 currency code that babel knows (``"EUR"``)."""
    return isinstance(code, str) and _is_currency(code)


# ISO 4217 also codes "no currency" and a code for tests; neither can price a contract.
_NOT_MONEY = frozenset({"Unknown Currency", "Testing Currency Code"})


@cache
def _is_currency(code: str) -> bool:
    return (
        len(code) == 3
        and code.isascii()
        and code.isalpha()
        and code.isupper()
        and code in list_currencies()
        and get_currency_name(code, locale="en") not in _NOT_MONEY
    )


@cache
def minor_units(currency: str) -> int:
    """Decimal places of the currency's minor unit: 2 for EUR and USD, 0 for JPY."""
    if not is_currency(currency):
        raise ValueError(f"{currency!r} is not an ISO 4217 currency code")
    return int(get_currency_precision(currency))


def quantize_money(amount: Decimal | Fraction | int, currency: str) -> Decimal:
    """Round an amount to the currency's minor unit, ROUND_HALF_UP: the one place where
    money is rounded. Exact values (``Fraction``) are rounded without an intermediate
    decimal, so a tie is recognised exactly."""
    places = minor_units(currency)
    if isinstance(amount, Decimal):
        if not amount.is_finite():
            raise ValueError("an amount must be a finite number")
        if amount.as_tuple().exponent == -places and not (amount.is_zero() and amount.is_signed()):
            return amount
        return _round_ratio(*amount.as_integer_ratio(), places)
    if isinstance(amount, Fraction):
        return _round_ratio(amount.numerator, amount.denominator, places)
    if isinstance(amount, int) and not isinstance(amount, bool):
        return _round_ratio(amount, 1, places)
    raise TypeError(f"an amount is a Decimal, Fraction or int, not {type(amount).__name__}")


def format_money(amount: Decimal | Fraction | int, currency: str) -> str:
    """Money for people: ``"2,000.00 EUR"``, ``"1,500 JPY"``."""
    return f"{quantize_money(amount, currency):,f} {currency}"


def at_risk_amount(
    cap_percent: Decimal | None, fees_total: Decimal, currency: str
) -> Decimal | None:
    """The at-risk amount of a period: ``cap_percent`` of its total fees, quantized;
    ``None`` when the contract has no cap."""
    if cap_percent is None:
        return None
    percent = _to_decimal(cap_percent, "credit_cap_percent", ParameterError)
    if percent < 0:
        raise ParameterError("credit_cap_percent must not be negative", field="credit_cap_percent")
    return quantize_money(Fraction(fees_total) * Fraction(percent) / _HUNDRED, currency)


@dataclass(frozen=True, slots=True)
class CapResult:
    """A statement's total after the cap: lines keep their amounts, and a separate
    ``cap_adjustment`` (zero or negative) brings the total down to the at-risk amount."""

    credit_total: Decimal
    cap_adjustment: Decimal
    explanation: str
    lines_total: Decimal


def apply_cap(amounts: Sequence[Decimal], at_risk: Decimal | None, currency: str) -> CapResult:
    """Total the (quantized) line amounts and cap the total at ``at_risk`` (no cap when
    ``None``)."""
    zero = quantize_money(0, currency)
    lines_total = zero
    for amount in amounts:
        if amount < 0:
            raise ValueError("a credit line amount cannot be negative")
        lines_total += quantize_money(amount, currency)
    if at_risk is None:
        return CapResult(
            lines_total,
            zero,
            f"No credit cap applies: the total is the sum of the lines, "
            f"{format_money(lines_total, currency)}.",
            lines_total,
        )
    cap = quantize_money(at_risk, currency)
    if cap < 0:
        raise ValueError("the at-risk amount cannot be negative")
    if lines_total <= cap:
        return CapResult(
            lines_total,
            zero,
            f"Credits of {format_money(lines_total, currency)} are within the at-risk amount "
            f"of {format_money(cap, currency)}: no cap adjustment.",
            lines_total,
        )
    adjustment = cap - lines_total
    return CapResult(
        cap,
        adjustment,
        f"Credits of {format_money(lines_total, currency)} exceed the at-risk amount of "
        f"{format_money(cap, currency)}: a cap adjustment of "
        f"{format_money(adjustment, currency)} brings the total to "
        f"{format_money(cap, currency)}.",
        lines_total,
    )


# --------------------------------------------------------------------------- periods


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown time zone {tz!r}") from None


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    # Where midnight falls in a DST gap, fold=0 takes the offset before the change, which
    # is the instant the day really begins; consecutive periods share this function, so
    # they tile time without a gap or an overlap either way.
    return datetime(day.year, day.month, day.day, tzinfo=zone)


@dataclass(frozen=True, slots=True)
class Period:
    """A settlement period: calendar days ``start``..``end`` (inclusive) in time zone ``tz``."""

    start: date
    end: date
    tz: str

    def __post_init__(self) -> None:
        if isinstance(self.start, datetime) or isinstance(self.end, datetime):
            raise TypeError("a period is made of dates, not datetimes")
        if self.end < self.start:
            raise ValueError("a period cannot end before it starts")
        _zone(self.tz)

    @property
    def start_at(self) -> datetime:
        """Local midnight at the start of ``start``."""
        return _local_midnight(self.start, _zone(self.tz))

    @property
    def end_at(self) -> datetime:
        """Local midnight after ``end`` (exclusive)."""
        return _local_midnight(self.end + timedelta(days=1), _zone(self.tz))

    @property
    def days(self) -> int:
        """Number of calendar days in the period."""
        return (self.end - self.start).days + 1

    @property
    def seconds(self) -> int:
        """Elapsed seconds from ``start_at`` to ``end_at``: one hour less for a period
        containing the spring DST change, one hour more for the autumn one."""
        return to_epoch_seconds(self.end_at) - to_epoch_seconds(self.start_at)


def period_containing(day: date, kind: str, tz: str) -> Period:
    """The ``week`` (ISO, Monday to Sunday), ``month`` or ``quarter`` containing ``day``."""
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        return Period(start, start + timedelta(days=6), tz)
    if kind == "month":
        return Period(day.replace(day=1), day.replace(day=monthrange(day.year, day.month)[1]), tz)
    if kind == "quarter":
        first_month = 3 * ((day.month - 1) // 3) + 1
        last_month = first_month + 2
        return Period(
            date(day.year, first_month, 1),
            date(day.year, last_month, monthrange(day.year, last_month)[1]),
            tz,
        )
    raise ValueError(f"unknown period kind {kind!r}: use week, month or quarter")


def next_period(period: Period, kind: str) -> Period:
    """The period of ``kind`` that follows ``period``."""
    return period_containing(period.end + timedelta(days=1), kind, period.tz)


def previous_period(period: Period, kind: str) -> Period:
    """The period of ``kind`` that precedes ``period``."""
    return period_containing(period.start - timedelta(days=1), kind, period.tz)


def periods_between(first_day: date, last_day: date, kind: str, tz: str) -> Iterator[Period]:
    """Every period of ``kind`` that contains a day from ``first_day`` to ``last_day``."""
    if last_day < first_day:
        return
    period = period_containing(first_day, kind, tz)
    while period.start <= last_day:
        yield period
        period = next_period(period, kind)


def _active_days(period: Period, contract_start: date, contract_end: date | None) -> int:
    first = max(period.start, contract_start)
    last = period.end if contract_end is None else min(period.end, contract_end)
    return max(0, (last - first).days + 1)


def active_fraction(period: Period, contract_start: date, contract_end: date | None) -> Fraction:
    """Share of the period's days on which the contract is active (``contract_end``
    inclusive, ``None`` for open-ended)."""
    return Fraction(_active_days(period, contract_start, contract_end), period.days)


def active_interval(
    period: Period, contract_start: date, contract_end: date | None
) -> tuple[datetime, datetime] | None:
    """The part of the period, as instants, in which the contract is active; ``None``
    when it is not active on any day of the period."""
    if not _active_days(period, contract_start, contract_end):
        return None
    zone = _zone(period.tz)
    first = max(period.start, contract_start)
    last = period.end if contract_end is None else min(period.end, contract_end)
    return _local_midnight(first, zone), _local_midnight(last + timedelta(days=1), zone)


def prorate(fee: Decimal, fraction: Fraction) -> Decimal:
    """``fee`` times ``fraction``, kept exact (60 significant digits when it does not
    terminate); a fraction of 1 returns the fee unchanged. Quantize before storing."""
    fraction = Fraction(fraction)
    if fraction < 0:
        raise ValueError("a proration fraction cannot be negative")
    if fraction == 1:
        return fee
    scaled = _EXACT.multiply(fee, Decimal(fraction.numerator))
    return _EXACT.divide(scaled, Decimal(fraction.denominator))


# --------------------------------------------------------------------------- intervals

Instant: TypeAlias = datetime | int
Interval: TypeAlias = tuple[Instant, Instant | None]
_Span: TypeAlias = tuple[int, int]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def to_epoch_seconds(instant: Instant) -> int:
    """Whole seconds since the epoch of an aware datetime (or an int, unchanged)."""
    if isinstance(instant, datetime):
        if instant.utcoffset() is None:
            raise ValueError("intervals need timezone-aware datetimes")
        return (instant - _EPOCH) // _SECOND
    if isinstance(instant, int) and not isinstance(instant, bool):
        return instant
    raise TypeError(f"an instant is an aware datetime or epoch seconds, not {instant!r}")


def _spans(
    intervals: Iterable[Interval], low: int | None = None, high: int | None = None
) -> list[_Span]:
    """Intervals as sorted, disjoint, non-empty spans clipped to ``[low, high)``."""
    spans: list[_Span] = []
    for start, end in intervals:
        first = to_epoch_seconds(start)
        if end is None:
            if high is None:
                raise ValueError("an open interval needs a window to end in")
            last = high
        else:
            last = to_epoch_seconds(end)
            if last < first:
                raise ValueError("an interval cannot end before it starts")
        if low is not None:
            first = max(first, low)
        if high is not None:
            last = min(last, high)
        if first < last:
            spans.append((first, last))
    spans.sort()
    merged: list[_Span] = []
    for first, last in spans:
        if merged and first <= merged[-1][1]:
            if last > merged[-1][1]:
                merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return merged


def _subtract(spans: list[_Span], removed: list[_Span]) -> list[_Span]:
    result: list[_Span] = []
    skip = 0
    for first, last in spans:
        cursor = first
        while skip < len(removed) and removed[skip][1] <= cursor:
            skip += 1
        index = skip
        while index < len(removed) and removed[index][0] < last:
            cut_first, cut_last = removed[index]
            if cut_first > cursor:
                result.append((cursor, cut_first))
            cursor = max(cursor, cut_last)
            if cursor >= last:
                break
            index += 1
        if cursor < last:
            result.append((cursor, last))
    return result


def _intersect(left: list[_Span], right: list[_Span]) -> list[_Span]:
    result: list[_Span] = []
    i = j = 0
    while i < len(left) and j < len(right):
        first = max(left[i][0], right[j][0])
        last = min(left[i][1], right[j][1])
        if first < last:
            result.append((first, last))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return result


def _length(spans: list[_Span]) -> int:
    return sum(last - first for first, last in spans)


def union_length(intervals: Iterable[Interval]) -> int:
    """Seconds covered by the union of closed intervals: an overlapping or repeated
    second counts once."""
    return _length(_spans(intervals))


def uptime_attainment(
    period_start_at: Instant,
    period_end_at: Instant,
    active: Sequence[Interval] | None,
    maintenance: Sequence[Interval],
    incidents: Sequence[Interval],
    relief: Sequence[Interval] = (),
) -> UptimeMeasure:
    """Scheduled and downtime seconds of one contract service in ``[start, end)``.

    Scheduled: the window (the period, intersected with the ``active`` intervals of the
    contract unless ``None``) minus maintenance. Downtime: the union of the given
    incidents (pass only provider-caused ones) within the scheduled time, minus
    ``relief`` (lapses of customer responsibilities). No second is counted twice.
    """
    low, high = to_epoch_seconds(period_start_at), to_epoch_seconds(period_end_at)
    if high < low:
        raise ValueError("a period cannot end before it starts")
    window = [(low, high)] if active is None else _spans(active, low, high)
    scheduled = _subtract(window, _spans(maintenance, low, high))
    downtime = _intersect(_spans(incidents, low, high), scheduled)
    if relief:
        downtime = _subtract(downtime, _spans(relief, low, high))
    return UptimeMeasure(_length(scheduled), _length(downtime))


# --------------------------------------------------------------------------- measures


def _check_count(value: object, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a whole number, not negative")


@dataclass(frozen=True, slots=True)
class UptimeMeasure:
    """Scheduled and provider-caused downtime seconds of a period."""

    scheduled_seconds: int
    downtime_seconds: int

    def __post_init__(self) -> None:
        _check_count(self.scheduled_seconds, "scheduled_seconds")
        _check_count(self.downtime_seconds, "downtime_seconds")
        if self.downtime_seconds > self.scheduled_seconds:
            raise ValueError("downtime cannot exceed scheduled time")

    @property
    def attainment(self) -> Fraction | None:
        """100 * (scheduled - downtime) / scheduled; ``None`` with no scheduled time."""
        if not self.scheduled_seconds:
            return None
        up = self.scheduled_seconds - self.downtime_seconds
        return Fraction(100 * up, self.scheduled_seconds)

    def merge(self, other: UptimeMeasure) -> UptimeMeasure:
        """The measure of two disjoint stretches of time taken together."""
        if not isinstance(other, UptimeMeasure):
            raise TypeError("only uptime measures merge with an uptime measure")
        return UptimeMeasure(
            self.scheduled_seconds + other.scheduled_seconds,
            self.downtime_seconds + other.downtime_seconds,
        )


@dataclass(frozen=True, slots=True)
class RatioMeasure:
    """How many of ``total`` samples were ``ok``."""

    ok: int
    total: int

    def __post_init__(self) -> None:
        _check_count(self.ok, "ok")
        _check_count(self.total, "total")
        if self.ok > self.total:
            raise ValueError("ok cannot exceed total")

    @classmethod
    def from_samples(cls, oks: Iterable[bool]) -> RatioMeasure:
        """Aggregate individual ``ok`` flags."""
        ok = total = 0
        for flag in oks:
            total += 1
            ok += bool(flag)
        return cls(ok, total)

    @property
    def attainment(self) -> Fraction | None:
        """Percent of samples that were ok; ``None`` without samples."""
        return Fraction(100 * self.ok, self.total) if self.total else None

    def merge(self, other: RatioMeasure) -> RatioMeasure:
        """The measure of both sets of samples together."""
        if not isinstance(other, RatioMeasure):
            raise TypeError("only ratio measures merge with a ratio measure")
        return RatioMeasure(self.ok + other.ok, self.total + other.total)


@dataclass(frozen=True, slots=True)
class ThresholdMeasure:
    """How many of ``total`` samples met the objective's threshold."""

    meeting: int
    total: int

    def __post_init__(self) -> None:
        _check_count(self.meeting, "meeting")
        _check_count(self.total, "total")
        if self.meeting > self.total:
            raise ValueError("meeting cannot exceed total")

    @classmethod
    def from_values(
        cls, values: Iterable[Decimal], threshold: Decimal, comparator: str
    ) -> ThresholdMeasure:
        """Aggregate sample values against ``threshold``."""
        meeting = total = 0
        for value in values:
            total += 1
            meeting += threshold_met(value, threshold, comparator)
        return cls(meeting, total)

    @property
    def attainment(self) -> Fraction | None:
        """Percent of samples meeting the threshold; ``None`` without samples."""
        return Fraction(100 * self.meeting, self.total) if self.total else None

    def merge(self, other: ThresholdMeasure) -> ThresholdMeasure:
        """The measure of both sets of samples together."""
        if not isinstance(other, ThresholdMeasure):
            raise TypeError("only threshold measures merge with a threshold measure")
        return ThresholdMeasure(self.meeting + other.meeting, self.total + other.total)


@dataclass(frozen=True, slots=True)
class CountMeasure:
    """The sum of the sample values of a period and how many samples there were."""

    total: Decimal
    samples: int

    def __post_init__(self) -> None:
        if not isinstance(self.total, Decimal):
            object.__setattr__(self, "total", _to_decimal(self.total, "total", ParameterError))
        elif not self.total.is_finite():
            raise ValueError("total must be a finite number")
        _check_count(self.samples, "samples")

    @classmethod
    def from_values(cls, values: Iterable[Decimal | int | None]) -> CountMeasure:
        """Aggregate sample values; a sample without a value counts as 1."""
        total = Decimal(0)
        samples = 0
        for value in values:
            samples += 1
            total = _EXACT.add(total, Decimal(1) if value is None else Decimal(value))
        return cls(total, samples)

    @property
    def attainment(self) -> Fraction:
        """The sum itself: a period without samples counts 0, which is data."""
        return Fraction(self.total)

    def merge(self, other: CountMeasure) -> CountMeasure:
        """The measure of both sets of samples together."""
        if not isinstance(other, CountMeasure):
            raise TypeError("only count measures merge with a count measure")
        return CountMeasure(_EXACT.add(self.total, other.total), self.samples + other.samples)


Measure: TypeAlias = UptimeMeasure | RatioMeasure | ThresholdMeasure | CountMeasure

_MEASURE_FOR: dict[str, type] = {
    "uptime": UptimeMeasure,
    "ratio": RatioMeasure,
    "threshold": ThresholdMeasure,
    "count": CountMeasure,
}


# --------------------------------------------------------------------------- objectives


@dataclass(frozen=True, slots=True)
class Objective:
    """An effective service level of one contract service."""

    key: str
    name: str
    indicator: str
    comparator: str
    target: Decimal
    rule: CreditRule | None
    threshold: Decimal | None = None
    threshold_comparator: str | None = None

    def __post_init__(self) -> None:
        if self.indicator not in INDICATORS:
            raise ObjectiveError(
                f"unknown indicator {self.indicator!r}: use {', '.join(INDICATORS)}",
                field="indicator",
            )
        if self.comparator not in COMPARATORS:
            raise ObjectiveError(
                f"unknown comparator {self.comparator!r}: use gte or lte", field="comparator"
            )
        target = _to_decimal(self.target, "target", ObjectiveError)
        object.__setattr__(self, "target", target)
        if target < 0:
            raise ObjectiveError("target must not be negative", field="target")
        if self.indicator != "count" and target > 100:
            raise ObjectiveError("a percentage target must be at most 100", field="target")
        if self.indicator == "threshold":
            if self.threshold is None:
                raise ObjectiveError("a threshold objective needs a threshold", field="threshold")
            object.__setattr__(
                self, "threshold", _to_decimal(self.threshold, "threshold", ObjectiveError)
            )
            if self.threshold_comparator not in COMPARATORS:
                raise ObjectiveError(
                    "threshold_comparator must be gte or lte", field="threshold_comparator"
                )
        if self.rule is not None and not isinstance(self.rule, CreditRule):
            raise ObjectiveError("rule must be a parsed credit rule", field="credit_rule")
        validate_rule_for(self.rule, self.comparator)

    @property
    def label(self) -> str:
        """The name to use in sentences."""
        return self.name or self.key


@dataclass(frozen=True, slots=True)
class LineResult:
    """The outcome of one objective in one period.

    ``met`` and ``attainment`` are ``None`` when there is no data. ``credit_percent`` is
    the credit as a percentage of the line's fee (for a flat amount or a pool share, the
    share of the fee that amount is), exact to 6 decimals. ``amount`` is quantized.
    ``fee`` is the line's fee quantized to the currency, the base of the figures.
    """

    attainment: Fraction | None
    met: bool | None
    shortfall: Fraction | None
    credit_percent: Decimal
    amount: Decimal
    explanation: str
    fee: Decimal


def _shortfall(objective: Objective, attainment: Fraction) -> Fraction:
    target = Fraction(objective.target)
    return target - attainment if objective.comparator == "gte" else attainment - target


def _is_percentage(objective: Objective) -> bool:
    return objective.indicator != "count"


def _capped(raw: Fraction, max_percent: Decimal | None) -> tuple[Fraction, Fraction | None]:
    """The percent after the rule's own cap and the 100 % ceiling, and the cap that
    applied (``None`` when none did)."""
    ceiling = _HUNDRED if max_percent is None else min(Fraction(max_percent), _HUNDRED)
    if raw > ceiling:
        return ceiling, ceiling
    return max(raw, _ZERO), None


def _percent_credit(
    rule: PerStepRule | TieredRule | LinearRule | FlatRule,
    objective: Objective,
    attainment: Fraction,
    shortfall: Fraction,
) -> tuple[Fraction, str | None]:
    """Percent of the fee a breached objective earns, and how it was reached (``None``
    when no tier is crossed)."""
    unit = " %" if _is_percentage(objective) else ""
    if isinstance(rule, PerStepRule):
        steps = -(-shortfall // Fraction(rule.step))
        raw = Fraction(rule.percent) * steps
        percent, cap = _capped(raw, rule.max_percent)
        text = (
            f"{steps} started step{'s' if steps != 1 else ''} of {_fmt_decimal(rule.step)} "
            f"at {_fmt_decimal(rule.percent)} % each = {_fmt_fraction(raw)} %"
        )
        if cap is not None:
            text += f", capped at {_fmt_fraction(cap)} %"
        return percent, text
    if isinstance(rule, TieredRule):
        below = objective.comparator == "gte"
        crossed = [
            tier
            for tier in rule.tiers
            if (attainment < tier.bound if below else attainment > tier.bound)
        ]
        if not crossed:
            return _ZERO, None
        # Among equal percents name the worst bound crossed: it is what the customer sees.
        worst = max(crossed, key=lambda t: (t.percent, -t.bound if below else t.bound))
        percent = min(Fraction(worst.percent), _HUNDRED)
        side = "below" if below else "above"
        return percent, (
            f"{side} the {_fmt_decimal(worst.bound)}{unit} tier: {_fmt_fraction(percent)} %"
        )
    if isinstance(rule, LinearRule):
        raw = Fraction(rule.factor) * shortfall
        percent, cap = _capped(raw, rule.max_percent)
        text = (
            f"{_fmt_decimal(rule.factor)} % for each of the {_gap(objective, shortfall)} "
            f"= {_fmt_fraction(raw)} %"
        )
        if cap is not None:
            text += f", capped at {_fmt_fraction(cap)} %"
        return percent, text
    assert rule.percent is not None
    percent = Fraction(rule.percent)
    return percent, f"flat {_fmt_fraction(percent)} %"


def credit_percent_for(objective: Objective, attainment: Fraction) -> Fraction | None:
    """The percent of the fee the objective's rule awards at ``attainment`` (0 when met
    or without a rule); ``None`` for rules that award an amount (flat amount, pool)."""
    rule = objective.rule
    if isinstance(rule, PoolRule) or (isinstance(rule, FlatRule) and rule.amount is not None):
        return None
    shortfall = _shortfall(objective, attainment)
    if rule is None or shortfall <= 0:
        return _ZERO
    return _percent_credit(rule, objective, attainment, shortfall)[0]


def _fmt_duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    if not rest:
        return f"{minutes:,} min"
    if not minutes:
        return f"{rest} s"
    return f"{minutes:,} min {rest} s"


def _standing(objective: Objective, measure: Measure, attainment: Fraction) -> str:
    """Attainment against the target, with the figures it comes from."""
    bound = "at least" if objective.comparator == "gte" else "at most"
    target = _fmt_decimal(objective.target)
    if isinstance(measure, CountMeasure):
        return f"{_fmt_fraction(attainment)} against a target of {bound} {target}"
    text = f"{format_attainment(attainment)} % against a target of {bound} {target} %"
    if isinstance(measure, UptimeMeasure):
        return (
            f"{text} ({_fmt_duration(measure.downtime_seconds)} of downtime in "
            f"{_fmt_duration(measure.scheduled_seconds)} scheduled)"
        )
    if isinstance(measure, RatioMeasure):
        return f"{text} ({measure.ok:,} of {measure.total:,} samples ok)"
    assert objective.threshold is not None
    symbol = "≥" if objective.threshold_comparator == "gte" else "≤"
    return (
        f"{text} ({measure.meeting:,} of {measure.total:,} samples "
        f"{symbol} {_fmt_decimal(objective.threshold)})"
    )


def _figure(objective: Objective, attainment: Fraction) -> str:
    if _is_percentage(objective):
        return f"{format_attainment(attainment)} %"
    return _fmt_fraction(attainment)


def _gap(objective: Objective, shortfall: Fraction) -> str:
    side = "short" if objective.comparator == "gte" else "over"
    if not _is_percentage(objective):
        return f"{_fmt_fraction(shortfall)} {side}"
    return f"{_fmt_fraction(shortfall)} point{'' if shortfall == 1 else 's'} {side}"


def evaluate(
    objective: Objective,
    measure: Measure,
    *,
    fee: Decimal,
    currency: str,
    at_risk: Decimal | None,
    period_label: str = "",
) -> LineResult:
    """Attainment, credit and explanation of one objective for one period.

    ``fee`` is the contract service's (prorated) fee for the period; it is quantized to
    the currency first, because that is the fee the customer is invoiced and every
    figure of the explanation can then be recomputed by hand. ``at_risk`` is the
    period's at-risk amount, required by a pool rule (:class:`RuleError` otherwise).
    Percent credits are clamped to 0..100 % of the fee, a flat amount to the fee; a
    pool share is bounded by ``at_risk``. Credits are never negative.
    """
    expected = _MEASURE_FOR[objective.indicator]
    if not isinstance(measure, expected):
        raise TypeError(
            f"a {objective.indicator} objective needs a {expected.__name__}, "
            f"not {type(measure).__name__}"
        )
    fee_amount = quantize_money(fee, currency)
    if fee_amount < 0:
        raise ValueError("a fee cannot be negative")
    zero = quantize_money(0, currency)
    attainment = measure.attainment
    if attainment is None:
        return LineResult(None, None, None, Decimal(0), zero, NO_DATA_EXPLANATION, fee_amount)
    head = objective.label if not period_label else f"{objective.label} ({period_label})"
    standing = _standing(objective, measure, attainment)
    shortfall = _shortfall(objective, attainment)
    if shortfall <= 0:
        return LineResult(
            attainment,
            True,
            shortfall,
            Decimal(0),
            zero,
            f"{head}: {standing}: target met, no credit.",
            fee_amount,
        )
    fee_text = format_money(fee_amount, currency)
    rule = objective.rule
    percent = _ZERO
    amount = zero
    amount_based = isinstance(rule, PoolRule) or (
        isinstance(rule, FlatRule) and rule.amount is not None
    )
    if rule is None:
        credit = "no service credit applies"
    elif isinstance(rule, PoolRule):
        if at_risk is None:
            raise RuleError(
                "a pool rule needs an at-risk amount: set the contract's credit cap percent",
                field="allocation_percent",
            )
        pool = quantize_money(at_risk, currency)
        amount = quantize_money(Fraction(pool) * Fraction(rule.allocation_percent) / 100, currency)
        credit = (
            f"{_fmt_decimal(rule.allocation_percent)} % of the at-risk amount of "
            f"{format_money(pool, currency)} = {format_money(amount, currency)}"
        )
    elif isinstance(rule, FlatRule) and rule.amount is not None:
        flat = quantize_money(rule.amount, currency)
        amount = min(flat, fee_amount)
        credit = f"flat {format_money(flat, currency)}"
        if amount < flat:
            credit += f", limited to the fee of {fee_text}"
    else:
        percent, how = _percent_credit(rule, objective, attainment, shortfall)
        if how is None:
            credit = "no credit tier reached, no credit"
        else:
            amount = quantize_money(Fraction(fee_amount) * percent / _HUNDRED, currency)
            credit = f"{how} of {fee_text} = {format_money(amount, currency)}"
    if amount_based and fee_amount:
        # An amount-based credit reports the share of the fee it is, so every line of a
        # statement reads on one scale.
        percent = Fraction(amount) * _HUNDRED / Fraction(fee_amount)
    return LineResult(
        attainment,
        False,
        shortfall,
        _percent_decimal(percent),
        amount,
        f"{head}: {standing}, {_gap(objective, shortfall)}; {credit}.",
        fee_amount,
    )


# --------------------------------------------------------------------------- sentences


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[1].isupper():
        return text  # an acronym such as "SLA" keeps its case
    return text[:1].lower() + text[1:]


def _check_period_name(period_name: str) -> None:
    if period_name not in PERIOD_KINDS:
        raise ValueError(f"unknown period {period_name!r}: use week, month or quarter")


def _rule_clause(
    rule: CreditRule | None,
    *,
    comparator: str,
    period_name: str,
    percentage: bool,
    target: Decimal | None,
    currency: str | None,
) -> str:
    if rule is None:
        return "no service credit applies"
    below = comparator == "gte"
    word = "below" if below else "above"
    side = f"{word} it" if target is not None else f"{word} the target"
    unit = " %" if percentage else ""
    fee = f"that {period_name}'s fee"
    if isinstance(rule, PerStepRule):
        unit_name = "point" if rule.step == 1 else "points"
        step = _fmt_decimal(rule.step) + (f" {unit_name}" if percentage else "")
        text = (
            f"{side} the customer is credited {_fmt_decimal(rule.percent)} % of {fee} "
            f"for every started step of {step}"
        )
        if rule.max_percent is not None:
            text += f", at most {_fmt_decimal(rule.max_percent)} %"
        return text
    if isinstance(rule, TieredRule):
        tiers = sorted(rule.tiers, key=lambda t: -t.bound if below else t.bound)
        first, rest = tiers[0], tiers[1:]
        where = side if first.bound == target else f"{word} {_fmt_decimal(first.bound)}{unit}"
        text = f"{where} the customer is credited {_fmt_decimal(first.percent)} % of {fee}"
        for tier in rest:
            text += f", {_fmt_decimal(tier.percent)} % {word} {_fmt_decimal(tier.bound)}{unit}"
        return text
    if isinstance(rule, LinearRule):
        per = ("point " if percentage else "unit ") + ("short" if below else "over")
        text = f"{side} the customer is credited {_fmt_decimal(rule.factor)} % of {fee} per {per}"
        if rule.max_percent is not None:
            text += f", at most {_fmt_decimal(rule.max_percent)} %"
        return text
    if isinstance(rule, FlatRule):
        if rule.amount is not None:
            amount = format_money(rule.amount, currency) if currency else _fmt_decimal(rule.amount)
            return f"{side} the customer is credited a flat {amount}, at most {fee}"
        assert rule.percent is not None
        return f"{side} the customer is credited {_fmt_decimal(rule.percent)} % of {fee}"
    return (
        f"{side} the customer is credited {_fmt_decimal(rule.allocation_percent)} % of "
        f"that {period_name}'s at-risk amount"
    )


def describe_rule(
    rule: CreditRule | None, *, comparator: str, period_name: str, currency: str | None = None
) -> str:
    """The rule as one plain sentence, e.g. "Below the target the customer is credited
    1 % of that week's fee for every started step of 0.5 points." The wording is the
    one used everywhere in the product."""
    _check_period_name(period_name)
    if comparator not in COMPARATORS:
        raise ValueError(f"unknown comparator {comparator!r}: use gte or lte")
    clause = _rule_clause(
        rule,
        comparator=comparator,
        period_name=period_name,
        percentage=True,
        target=None,
        currency=currency,
    )
    return clause[:1].upper() + clause[1:] + "."


def describe_objective(
    objective: Objective, *, service_name: str, period_name: str, currency: str | None = None
) -> str:
    """The objective and its credit rule as one plain sentence, e.g. "Availability of
    Internet 1G is at least 99.9 % of each month; below it the customer is credited
    10 % of that month's fee, 30 % below 99 %, 100 % below 95 %." """
    _check_period_name(period_name)
    bound = "at least" if objective.comparator == "gte" else "at most"
    target = _fmt_decimal(objective.target)
    name = objective.label
    if objective.indicator == "uptime":
        text = f"{name} of {service_name} is {bound} {target} % of each {period_name}"
    elif objective.indicator == "ratio":
        text = f"{name} of {service_name} is {bound} {target} % of samples each {period_name}"
    elif objective.indicator == "threshold":
        assert objective.threshold is not None
        symbol = "≥" if objective.threshold_comparator == "gte" else "≤"
        text = (
            f"{bound.capitalize()} {target} % of {_lower_first(name)} samples of "
            f"{service_name} are {symbol} {_fmt_decimal(objective.threshold)} each "
            f"{period_name}"
        )
    else:
        text = f"{name} of {service_name} are {bound} {target} per {period_name}"
    clause = _rule_clause(
        objective.rule,
        comparator=objective.comparator,
        period_name=period_name,
        percentage=_is_percentage(objective),
        target=objective.target,
        currency=currency,
    )
    return f"{text}; {clause}."


# --------------------------------------------------------------------------- early warning


@dataclass(frozen=True, slots=True)
class BreachWarning:
    """An early warning for an open period.

    ``breached``: the target can no longer be met even if everything goes right from
    now on. ``at_risk``: at the current rate the period ends below target.
    ``projected_credit_percent`` is ``None`` for rules that award an amount.
    """

    state: Literal["breached", "at_risk"]
    attainment_so_far: Fraction
    projected_attainment: Fraction
    projected_credit_percent: Decimal | None
    explanation: str


def project_breach(
    objective: Objective,
    measure_so_far: Measure,
    elapsed_fraction: Fraction,
    *,
    min_samples: int = 10,
) -> BreachWarning | None:
    """Warn before a credit accrues: is the objective already lost, or burning its error
    budget fast enough to be lost by the end of the period?

    ``measure_so_far`` covers the period from its start to now; ``elapsed_fraction`` is
    the share of the period behind us (0 < f ≤ 1). Volumes (scheduled time, samples,
    counts) are projected linearly to the whole period. Ratio and threshold objectives
    are judged only from ``min_samples`` samples on. ``None`` means no warning.
    """
    elapsed = Fraction(elapsed_fraction)
    if not 0 < elapsed <= 1:
        raise ValueError("elapsed_fraction must be greater than 0 and at most 1")
    if not isinstance(measure_so_far, _MEASURE_FOR[objective.indicator]):
        raise TypeError(f"a {objective.indicator} objective needs its own measure")
    now = measure_so_far.attainment
    if now is None:
        return None
    gte = objective.comparator == "gte"
    best: Fraction | None
    if isinstance(measure_so_far, CountMeasure):
        projected = now / elapsed
        # More events can always arrive, so an 'at least' count is only lost at the end.
        best = now if (not gte or elapsed == 1) else None
    else:
        if isinstance(measure_so_far, UptimeMeasure):
            good = measure_so_far.scheduled_seconds - measure_so_far.downtime_seconds
            seen = measure_so_far.scheduled_seconds
        else:
            if measure_so_far.total < min_samples:
                return None
            good = (
                measure_so_far.ok
                if isinstance(measure_so_far, RatioMeasure)
                else measure_so_far.meeting
            )
            seen = measure_so_far.total
        expected = Fraction(seen) / elapsed
        remaining = expected - seen
        # The best case: everything still to come goes right (all good for 'at least').
        best = _HUNDRED * ((good + remaining) if gte else good) / expected
        projected = now
    target = Fraction(objective.target)

    def fails(value: Fraction) -> bool:
        return value < target if gte else value > target

    if best is not None and fails(best):
        state: Literal["breached", "at_risk"] = "breached"
    elif fails(projected):
        state = "at_risk"
    else:
        return None
    credit = credit_percent_for(objective, projected)
    credit_decimal = None if credit is None else _percent_decimal(credit)
    bound = "at least" if gte else "at most"
    target_text = _fmt_decimal(objective.target) + (" %" if _is_percentage(objective) else "")
    if state == "breached":
        text = (
            f"{objective.label}: already breached, {_figure(objective, now)} so far against "
            f"{bound} {target_text}; the period can no longer end on target"
        )
    else:
        text = (
            f"{objective.label}: at risk, at the current rate the period ends at "
            f"{_figure(objective, projected)} against {bound} {target_text}"
        )
    if credit_decimal is not None:
        text += f"; projected credit {_fmt_decimal(credit_decimal)} % of the fee"
    return BreachWarning(state, now, projected, credit_decimal, text + ".")
