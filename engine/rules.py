"""Credit rules: per step, tiered, linear, flat and pool.

A rule is read from its JSON shape (:func:`parse_rule`) and checked against its objective's
comparator (:func:`validate_rule_for`); every invalid parameter raises a
:class:`~engine.errors.RuleError` naming its field. What a rule awards is worked out in
:mod:`engine.evaluation`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import ClassVar, TypeAlias

from engine.errors import RuleError
from engine.l10n import gettext
from engine.numbers import to_decimal
from engine.text import canonical_decimal, format_decimal
from engine.vocabulary import COMPARATORS, RULE_KINDS


def _optional_json(value: Decimal | None) -> str | None:
    return None if value is None else canonical_decimal(value)


def _check_percent(value: Decimal, field: str, label: str | None = None) -> None:
    if not 0 <= value <= 100:
        raise RuleError(
            gettext("%(name)s must be between 0 and 100") % {"name": label or field}, field=field
        )


# Earn-back reaches at most this many periods ahead: two years of months.
MAX_EARN_BACK_PERIODS = 24


def _check_earn_back(rule: object) -> None:
    """``earn_back_periods`` (any rule): a whole number of periods, 1 to 24, or None."""
    value = rule.earn_back_periods  # type: ignore[attr-defined]
    if value is None:
        return
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleError(
            gettext("earn_back_periods must be a whole number of periods"),
            field="earn_back_periods",
        )
    if not 1 <= value <= MAX_EARN_BACK_PERIODS:
        raise RuleError(
            gettext("earn_back_periods must be between 1 and %(most)s")
            % {"most": format_decimal(MAX_EARN_BACK_PERIODS)},
            field="earn_back_periods",
        )
    object.__setattr__(rule, "earn_back_periods", value)


def _with_earn_back(rule: object, shape: dict[str, object]) -> dict[str, object]:
    """The rule's JSON with ``earn_back_periods`` where it is set (a rule without it keeps
    the shape, and the fingerprints, it always had)."""
    value = rule.earn_back_periods  # type: ignore[attr-defined]
    return shape if value is None else {**shape, "earn_back_periods": value}


class _Rule(ABC):
    """What every credit rule shares: its JSON shape, with ``earn_back_periods`` when set."""

    __slots__ = ()

    @abstractmethod
    def _shape(self) -> dict[str, object]:
        """The rule's own fields in the API's shape."""

    def to_json(self) -> dict[str, object]:
        """The rule in the API's shape, decimals as strings."""
        return _with_earn_back(self, self._shape())


@dataclass(frozen=True, slots=True)
class PerStepRule(_Rule):
    """``percent`` of the fee for every started ``step`` of shortfall, at most
    ``max_percent``."""

    step: Decimal
    percent: Decimal
    max_percent: Decimal | None = None
    # Periods the objective must then meet for the provider to earn the credit back
    # (SPEC §6); None: the credit is payable at once.
    earn_back_periods: int | None = None
    kind: ClassVar[str] = "per_step"

    def __post_init__(self) -> None:
        _check_earn_back(self)
        object.__setattr__(self, "step", to_decimal(self.step, "step"))
        object.__setattr__(self, "percent", to_decimal(self.percent, "percent"))
        if self.step <= 0:
            raise RuleError(gettext("step must be greater than 0"), field="step")
        _check_percent(self.percent, "percent")
        if self.max_percent is not None:
            object.__setattr__(self, "max_percent", to_decimal(self.max_percent, "max_percent"))
            _check_percent(self.max_percent, "max_percent")

    def _shape(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "step": canonical_decimal(self.step),
            "percent": canonical_decimal(self.percent),
            "max_percent": _optional_json(self.max_percent),
        }


@dataclass(frozen=True, slots=True)
class Tier:
    """One tier of a tiered rule: ``percent`` of the fee once ``bound`` is crossed."""

    bound: Decimal
    percent: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "bound", to_decimal(self.bound, "tiers", label="bound"))
        object.__setattr__(self, "percent", to_decimal(self.percent, "tiers", label="percent"))
        if self.bound < 0:
            raise RuleError(gettext("bound must not be negative"), field="tiers")
        _check_percent(self.percent, "tiers", "percent")


@dataclass(frozen=True, slots=True)
class TieredRule(_Rule):
    """The largest ``percent`` among the tiers whose bound the attainment crosses."""

    tiers: tuple[Tier, ...]
    # Periods the objective must then meet for the provider to earn the credit back
    # (SPEC §6); None: the credit is payable at once.
    earn_back_periods: int | None = None
    kind: ClassVar[str] = "tiered"

    def __post_init__(self) -> None:
        _check_earn_back(self)
        if isinstance(self.tiers, str | bytes | Mapping) or not isinstance(self.tiers, Iterable):
            raise RuleError(gettext("tiers must be a list of {bound, percent}"), field="tiers")
        tiers = tuple(self.tiers)
        if not tiers:
            raise RuleError(gettext("at least one tier is required"), field="tiers")
        if not all(isinstance(tier, Tier) for tier in tiers):
            raise RuleError(gettext("tiers must be a list of {bound, percent}"), field="tiers")
        bounds: set[Decimal] = set()
        for tier in tiers:
            if tier.bound in bounds:
                raise RuleError(
                    gettext("two tiers have the bound %(bound)s")
                    % {"bound": format_decimal(tier.bound)},
                    field="tiers",
                )
            bounds.add(tier.bound)
        object.__setattr__(self, "tiers", tiers)

    def _shape(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "tiers": [
                {"bound": canonical_decimal(t.bound), "percent": canonical_decimal(t.percent)}
                for t in self.tiers
            ],
        }


@dataclass(frozen=True, slots=True)
class LinearRule(_Rule):
    """``factor`` percent of the fee per point of shortfall, at most ``max_percent``."""

    factor: Decimal
    max_percent: Decimal | None = None
    # Periods the objective must then meet for the provider to earn the credit back
    # (SPEC §6); None: the credit is payable at once.
    earn_back_periods: int | None = None
    kind: ClassVar[str] = "linear"

    def __post_init__(self) -> None:
        _check_earn_back(self)
        object.__setattr__(self, "factor", to_decimal(self.factor, "factor"))
        if self.factor <= 0:
            raise RuleError(gettext("factor must be greater than 0"), field="factor")
        if self.max_percent is not None:
            object.__setattr__(self, "max_percent", to_decimal(self.max_percent, "max_percent"))
            _check_percent(self.max_percent, "max_percent")

    def _shape(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "factor": canonical_decimal(self.factor),
            "max_percent": _optional_json(self.max_percent),
        }


@dataclass(frozen=True, slots=True)
class FlatRule(_Rule):
    """Once per breached period: ``percent`` of the fee, or a fixed ``amount`` (never
    more than the fee)."""

    percent: Decimal | None = None
    amount: Decimal | None = None
    # Periods the objective must then meet for the provider to earn the credit back
    # (SPEC §6); None: the credit is payable at once.
    earn_back_periods: int | None = None
    kind: ClassVar[str] = "flat"

    def __post_init__(self) -> None:
        _check_earn_back(self)
        if self.percent is not None and self.amount is not None:
            raise RuleError(gettext("give either percent or amount, not both"), field="amount")
        if self.percent is None and self.amount is None:
            raise RuleError(gettext("a flat rule needs a percent or an amount"), field="percent")
        if self.percent is not None:
            object.__setattr__(self, "percent", to_decimal(self.percent, "percent"))
            _check_percent(self.percent, "percent")
        if self.amount is not None:
            object.__setattr__(self, "amount", to_decimal(self.amount, "amount"))
            if self.amount < 0:
                raise RuleError(gettext("amount must not be negative"), field="amount")

    def _shape(self) -> dict[str, object]:
        if self.amount is not None:
            return {"kind": self.kind, "amount": canonical_decimal(self.amount)}
        assert self.percent is not None
        return {"kind": self.kind, "percent": canonical_decimal(self.percent)}


@dataclass(frozen=True, slots=True)
class PoolRule(_Rule):
    """``allocation_percent`` of the period's at-risk amount."""

    allocation_percent: Decimal
    # Periods the objective must then meet for the provider to earn the credit back
    # (SPEC §6); None: the credit is payable at once.
    earn_back_periods: int | None = None
    kind: ClassVar[str] = "pool"

    def __post_init__(self) -> None:
        _check_earn_back(self)
        value = to_decimal(self.allocation_percent, "allocation_percent")
        object.__setattr__(self, "allocation_percent", value)
        _check_percent(value, "allocation_percent")

    def _shape(self) -> dict[str, object]:
        return {"kind": self.kind, "allocation_percent": canonical_decimal(self.allocation_percent)}


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
    "per_step": ("max_percent", "earn_back_periods"),
    "tiered": ("earn_back_periods",),
    "linear": ("max_percent", "earn_back_periods"),
    "flat": ("percent", "amount", "earn_back_periods"),
    "pool": ("earn_back_periods",),
}


def _parse_tiers(raw: object) -> tuple[Tier, ...]:
    if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Sequence):
        raise RuleError(gettext("tiers must be a list of {bound, percent}"), field="tiers")
    tiers = []
    for position, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping):
            raise RuleError(
                gettext("tier %(position)s must be an object {bound, percent}")
                % {"position": position},
                field="tiers",
            )
        for key in item:
            if key not in ("bound", "percent"):
                raise RuleError(
                    gettext("tier %(position)s: %(key)s is not a tier parameter")
                    % {"position": position, "key": key},
                    field="tiers",
                )
        for key in ("bound", "percent"):
            if item.get(key) is None:
                raise RuleError(
                    gettext("tier %(position)s: %(key)s is required")
                    % {"position": position, "key": key},
                    field="tiers",
                )
        try:
            tiers.append(Tier(bound=item["bound"], percent=item["percent"]))
        except RuleError as error:
            raise RuleError(
                gettext("tier %(position)s: %(message)s")
                % {"position": position, "message": error.message},
                field="tiers",
            ) from None
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
        raise RuleError(gettext("a credit rule must be an object with a kind"), field="kind")
    kind = spec.get("kind")
    if kind is None or kind == "":
        raise RuleError(gettext("kind is required"), field="kind")
    if not isinstance(kind, str) or kind not in _RULE_CLASSES:
        raise RuleError(
            gettext("unknown kind %(kind)s: use one of %(kinds)s")
            % {"kind": repr(kind), "kinds": ", ".join(RULE_KINDS)},
            field="kind",
        )
    known = _REQUIRED[kind] + _OPTIONAL[kind]
    for key in spec:
        if key != "kind" and key not in known:
            raise RuleError(
                gettext("%(key)s is not a parameter of a %(kind)s rule")
                % {"key": key, "kind": kind},
                field=str(key),
            )
    for key in _REQUIRED[kind]:
        if spec.get(key) is None:
            raise RuleError(
                gettext("%(key)s is required for a %(kind)s rule") % {"key": key, "kind": kind},
                field=key,
            )
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
        raise RuleError(
            gettext("unknown comparator %(comparator)s: use gte or lte")
            % {"comparator": repr(comparator)},
            field="comparator",
        )
    if not isinstance(rule, TieredRule):
        return
    for position, (milder, worse) in enumerate(pairwise(rule.tiers), start=2):
        if comparator == "gte" and not worse.bound < milder.bound:
            raise RuleError(
                gettext(
                    "tier %(position)s: for an 'at least' objective each bound must be lower "
                    "than the one before"
                )
                % {"position": position},
                field="tiers",
            )
        if comparator == "lte" and not worse.bound > milder.bound:
            raise RuleError(
                gettext(
                    "tier %(position)s: for an 'at most' objective each bound must be higher "
                    "than the one before"
                )
                % {"position": position},
                field="tiers",
            )
        if worse.percent < milder.percent:
            raise RuleError(
                gettext("tier %(position)s: a worse tier cannot credit less than the one before")
                % {"position": position},
                field="tiers",
            )
