"""Properties of the credit engine that must hold for every rule and every measurement."""

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engine import (
    CountMeasure,
    FlatRule,
    LinearRule,
    Objective,
    PerStepRule,
    PoolRule,
    RatioMeasure,
    ThresholdMeasure,
    Tier,
    TieredRule,
    active_fraction,
    apply_cap,
    at_risk_amount,
    evaluate,
    parse_rule,
    period_containing,
    project_breach,
    projected_credit_amount,
    prorate,
    quantize_money,
    union_length,
    uptime_attainment,
)

PROPERTY = settings(max_examples=200, deadline=None)

percents = st.decimals(min_value=0, max_value=100, places=2)
positive = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("20"), places=2)
fees = st.decimals(min_value=0, max_value=1_000_000, places=2)
currencies = st.sampled_from(["EUR", "USD", "JPY", "BHD"])
comparators = st.sampled_from(["gte", "lte"])


@st.composite
def tiered_rules(draw: st.DrawFn, comparator: str) -> TieredRule:
    bounds = draw(
        st.lists(
            st.decimals(min_value=0, max_value=100, places=1), min_size=1, max_size=4, unique=True
        )
    )
    shares = sorted(draw(st.lists(percents, min_size=len(bounds), max_size=len(bounds))))
    # Mildest breach first: the highest bound of an 'at least' objective, the lowest of an
    # 'at most' one, with percents that never decrease.
    bounds.sort(reverse=comparator == "gte")
    return TieredRule(tuple(Tier(b, p) for b, p in zip(bounds, shares, strict=True)))


@st.composite
def rules(draw: st.DrawFn, comparator: str):
    kind = draw(st.sampled_from(["none", "per_step", "tiered", "linear", "flat%", "flat", "pool"]))
    maximum = draw(st.none() | percents)
    if kind == "per_step":
        return PerStepRule(draw(positive), draw(percents), maximum)
    if kind == "tiered":
        return draw(tiered_rules(comparator))
    if kind == "linear":
        return LinearRule(draw(positive), maximum)
    if kind == "flat%":
        return FlatRule(percent=draw(percents))
    if kind == "flat":
        return FlatRule(amount=draw(fees))
    if kind == "pool":
        return PoolRule(draw(percents))
    return None


@st.composite
def ratio_cases(draw: st.DrawFn):
    """An objective on a percentage indicator and two attainments, the second worse."""
    comparator = draw(comparators)
    objective = Objective(
        "report-delivery",
        "Reports on time",
        "ratio",
        comparator,
        draw(st.decimals(min_value=0, max_value=100, places=3)),
        draw(rules(comparator)),
    )
    total = draw(st.integers(min_value=1, max_value=5000))
    first, second = sorted(draw(st.lists(st.integers(0, total), min_size=2, max_size=2)))
    # Fewer ok samples is worse for 'at least', more is worse for 'at most'.
    better, worse = (second, first) if comparator == "gte" else (first, second)
    return objective, RatioMeasure(better, total), RatioMeasure(worse, total)


@st.composite
def count_cases(draw: st.DrawFn):
    comparator = draw(comparators)
    objective = Objective(
        "failed-reports",
        "Failed reports",
        "count",
        comparator,
        draw(st.decimals(min_value=0, max_value=50, places=1)),
        draw(rules(comparator)),
    )
    values = sorted(
        draw(st.lists(st.decimals(min_value=0, max_value=60, places=1), min_size=2, max_size=2))
    )
    better, worse = (values[1], values[0]) if comparator == "gte" else (values[0], values[1])
    return objective, CountMeasure(better, 1), CountMeasure(worse, 1)


cases = ratio_cases() | count_cases()


def credit(objective, measure, fee, currency, at_risk=Decimal("500.00")):
    return evaluate(objective, measure, fee=fee, currency=currency, at_risk=at_risk)


# --------------------------------------------------------------------------- credits


@PROPERTY
@given(case=cases, fee=fees, currency=currencies)
def test_a_credit_is_never_negative_and_never_above_the_fee(case, fee, currency):
    objective, measure, _ = case

    line = credit(objective, measure, fee, currency)

    assert line.amount >= 0
    assert line.credit_percent >= 0
    if not isinstance(objective.rule, PoolRule):
        assert line.amount <= quantize_money(fee, currency)
        assert line.credit_percent <= 100


@PROPERTY
@given(case=cases, fee=fees, currency=currencies)
def test_a_credit_never_shrinks_when_attainment_gets_worse(case, fee, currency):
    objective, better, worse = case

    assert credit(objective, worse, fee, currency).amount >= (
        credit(objective, better, fee, currency).amount
    )


@PROPERTY
@given(case=cases, fee=fees, currency=currencies)
def test_a_met_objective_earns_nothing(case, fee, currency):
    objective, measure, _ = case

    line = credit(objective, measure, fee, currency)

    assert line.met == (line.shortfall <= 0)
    if line.met:
        assert line.amount == 0


@PROPERTY
@given(
    total=st.sampled_from([1, 2, 4, 5, 8, 10, 16, 25, 40, 125, 200, 1000, 1024, 3125]),
    data=st.data(),
    comparator=comparators,
)
def test_attainment_exactly_at_the_target_is_met_and_one_sample_worse_is_not(
    total, data, comparator
):
    ok = data.draw(st.integers(min_value=0, max_value=total))
    target = Decimal(100 * ok) / Decimal(total)  # exact: total only has factors 2 and 5
    objective = Objective(
        "k", "K", "ratio", comparator, target, parse_rule({"kind": "flat", "percent": "5"})
    )
    worse = ok - 1 if comparator == "gte" else ok + 1

    at_target = credit(objective, RatioMeasure(ok, total), Decimal("100.00"), "EUR")

    assert at_target.met is True
    assert at_target.amount == 0
    if 0 <= worse <= total:
        assert credit(objective, RatioMeasure(worse, total), Decimal("100.00"), "EUR").met is False


@PROPERTY
@given(
    amounts=st.lists(st.decimals(min_value=0, max_value=10_000, places=2), max_size=12),
    cap_percent=st.none() | percents,
    fees_total=fees,
)
def test_a_statement_total_never_exceeds_the_at_risk_amount(amounts, cap_percent, fees_total):
    at_risk = at_risk_amount(cap_percent, fees_total, "EUR")

    result = apply_cap(amounts, at_risk, "EUR")

    assert result.cap_adjustment <= 0
    assert result.credit_total >= 0
    assert result.credit_total == result.lines_total + result.cap_adjustment
    assert result.lines_total == sum(amounts, Decimal("0.00"))
    if at_risk is not None:
        assert result.credit_total <= at_risk
        assert result.credit_total == min(result.lines_total, at_risk)


@PROPERTY
@given(spec_rule=comparators.flatmap(rules))
def test_every_rule_reads_back_from_its_json(spec_rule):
    assert parse_rule(None if spec_rule is None else spec_rule.to_json()) == spec_rule


@PROPERTY
@given(
    value=st.decimals(min_value=-10_000, max_value=10_000, places=6),
    currency=currencies,
)
def test_money_rounds_half_up_to_the_minor_unit(value, currency):
    places = {"EUR": 2, "USD": 2, "JPY": 0, "BHD": 3}[currency]

    expected = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)

    assert quantize_money(value, currency) == expected
    assert quantize_money(Fraction(value), currency) == expected


# --------------------------------------------------------------------------- early warning

elapsed_shares = st.fractions(min_value=Fraction(1, 1000), max_value=1, max_denominator=1000)


def projected(objective, measure_so_far, elapsed, fee, currency, at_risk):
    """The projected credit of a period so far, or None when it raises no warning."""
    warning = project_breach(objective, measure_so_far, elapsed, min_samples=1)
    if warning is None:
        return None
    return projected_credit_amount(objective, warning, fee=fee, currency=currency, at_risk=at_risk)


@PROPERTY
@given(
    case=cases,
    elapsed=elapsed_shares,
    fee=fees,
    currency=currencies,
    at_risk=st.none() | fees,
)
def test_a_projected_credit_is_never_negative_and_never_above_the_fee_or_the_pool(
    case, elapsed, fee, currency, at_risk
):
    objective, _, worse = case

    amount = projected(objective, worse, elapsed, fee, currency, at_risk)
    assume(amount is not None)

    assert amount >= 0
    assert amount == quantize_money(amount, currency)
    if isinstance(objective.rule, PoolRule):
        assert amount <= (0 if at_risk is None else quantize_money(at_risk, currency))
    else:
        assert amount <= quantize_money(fee, currency)


@PROPERTY
@given(case=cases, elapsed=elapsed_shares, fee=fees, currency=currencies)
def test_a_projected_credit_never_shrinks_when_the_period_so_far_is_worse(
    case, elapsed, fee, currency
):
    objective, better, worse = case
    at_risk = Decimal("500.00")

    from_better = projected(objective, better, elapsed, fee, currency, at_risk)
    from_worse = projected(objective, worse, elapsed, fee, currency, at_risk)
    assume(from_better is not None)

    assert from_worse is not None
    assert from_worse >= from_better


# --------------------------------------------------------------------------- aggregates


@PROPERTY
@given(samples=st.lists(st.booleans(), max_size=200), data=st.data())
def test_merging_two_ratio_aggregates_gives_the_attainment_of_all_samples(samples, data):
    cut = data.draw(st.integers(0, len(samples)))

    merged = RatioMeasure.from_samples(samples[:cut]).merge(
        RatioMeasure.from_samples(samples[cut:])
    )

    assert merged == RatioMeasure.from_samples(samples)
    assert merged.attainment == RatioMeasure.from_samples(samples).attainment


@PROPERTY
@given(
    values=st.lists(st.decimals(min_value=0, max_value=120, places=1), max_size=200),
    threshold=st.decimals(min_value=0, max_value=120, places=1),
    comparator=comparators,
    data=st.data(),
)
def test_merging_two_threshold_aggregates_gives_the_attainment_of_all_samples(
    values, threshold, comparator, data
):
    cut = data.draw(st.integers(0, len(values)))

    def measure(part):
        return ThresholdMeasure.from_values(part, threshold, comparator)

    assert (
        measure(values[:cut]).merge(measure(values[cut:])).attainment == measure(values).attainment
    )


@PROPERTY
@given(
    values=st.lists(st.none() | st.decimals(min_value=0, max_value=1000, places=3), max_size=200),
    data=st.data(),
)
def test_merging_two_count_aggregates_gives_the_sum_of_all_samples(values, data):
    cut = data.draw(st.integers(0, len(values)))

    merged = CountMeasure.from_values(values[:cut]).merge(CountMeasure.from_values(values[cut:]))

    assert merged == CountMeasure.from_values(values)
    assert merged.attainment == CountMeasure.from_values(values).attainment


# --------------------------------------------------------------------------- intervals

WINDOW = 240
spans = st.lists(
    st.tuples(st.integers(0, WINDOW), st.integers(0, 60)).map(lambda s: (s[0], s[0] + s[1])),
    max_size=8,
)


def seconds_of(intervals, low=0, high=WINDOW):
    return {second for start, end in intervals for second in range(max(start, low), min(end, high))}


@PROPERTY
@given(incidents=spans)
def test_a_second_covered_by_several_incidents_counts_once(incidents):
    assert union_length(incidents) == len(seconds_of(incidents, -1, 10_000))
    assert union_length(incidents + incidents) == union_length(incidents)


@PROPERTY
@given(active=st.none() | spans, maintenance=spans, incidents=spans, relief=spans)
def test_uptime_matches_a_second_by_second_count(active, maintenance, incidents, relief):
    window = set(range(WINDOW)) if active is None else seconds_of(active)
    scheduled = window - seconds_of(maintenance)
    down = (seconds_of(incidents) & scheduled) - seconds_of(relief)

    measure = uptime_attainment(0, WINDOW, active, maintenance, incidents + incidents, relief)

    assert measure.scheduled_seconds == len(scheduled)
    assert measure.downtime_seconds == len(down)


@PROPERTY
@given(
    incidents=spans,
    maintenance=spans,
    cut=st.integers(0, WINDOW),
)
def test_merging_two_stretches_of_uptime_gives_the_whole(incidents, maintenance, cut):
    whole = uptime_attainment(0, WINDOW, None, maintenance, incidents)
    first = uptime_attainment(0, cut, None, maintenance, incidents)
    second = uptime_attainment(cut, WINDOW, None, maintenance, incidents)

    assert first.merge(second) == whole
    assert first.merge(second).attainment == whole.attainment


# --------------------------------------------------------------------------- proration


@PROPERTY
@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    kind=st.sampled_from(["week", "month", "quarter"]),
    fee=fees,
    before=st.integers(0, 400),
    after=st.none() | st.integers(0, 400),
)
def test_proration_over_a_whole_period_is_the_identity(day, kind, fee, before, after):
    period = period_containing(day, kind, "Europe/Berlin")
    contract_end = None if after is None else period.end + timedelta(days=after)

    fraction = active_fraction(period, period.start - timedelta(days=before), contract_end)

    assert fraction == 1
    assert prorate(fee, fraction) == fee


@PROPERTY
@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    kind=st.sampled_from(["week", "month", "quarter"]),
    fee=fees,
    offset=st.integers(0, 92),
)
def test_a_partial_period_never_costs_more_than_the_whole(day, kind, fee, offset):
    period = period_containing(day, kind, "UTC")

    fraction = active_fraction(period, period.start + timedelta(days=offset), None)

    assert 0 <= fraction <= 1
    assert 0 <= quantize_money(prorate(fee, fraction), "EUR") <= fee
