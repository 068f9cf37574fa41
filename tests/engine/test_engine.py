"""The credit engine against the worked examples of SPEC §3 and its edge cases.

Pure functions only: no database, no clock. E4 (the hierarchy of objectives) belongs to
the contracts app and is tested there.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from engine import (
    NO_DATA_EXPLANATION,
    CountMeasure,
    FlatRule,
    LinearRule,
    Objective,
    ObjectiveError,
    PerStepRule,
    PoolRule,
    RatioMeasure,
    RuleError,
    ThresholdMeasure,
    Tier,
    TieredRule,
    UptimeMeasure,
    active_fraction,
    apply_cap,
    at_risk_amount,
    describe_objective,
    describe_rule,
    evaluate,
    format_attainment,
    format_money,
    is_currency,
    minor_units,
    parse_rule,
    period_containing,
    project_breach,
    projected_credit_amount,
    prorate,
    quantize_money,
    threshold_met,
    union_length,
    uptime_attainment,
    validate_rule_for,
)

BERLIN = ZoneInfo("Europe/Berlin")
MINUTE = timedelta(minutes=1)

E3_TIERS = {
    "kind": "tiered",
    "tiers": [
        {"bound": "99.99", "percent": "10"},
        {"bound": "99.0", "percent": "30"},
        {"bound": "95.0", "percent": "100"},
    ],
}


def reports_on_time(rule: dict | None = None, target: str = "99.5") -> Objective:
    spec = rule or {"kind": "per_step", "step": "0.5", "percent": "1", "max_percent": None}
    return Objective(
        "report-delivery", "Reports on time", "ratio", "gte", Decimal(target), parse_rule(spec)
    )


def failed_reports(rule: dict | None = None) -> Objective:
    return Objective(
        "failed-reports",
        "Failed reports",
        "count",
        "lte",
        Decimal("2"),
        parse_rule(rule or {"kind": "flat", "percent": "5"}),
    )


def availability(rule: dict | None = E3_TIERS, target: str = "99.99") -> Objective:
    return Objective(
        "availability", "Availability", "uptime", "gte", Decimal(target), parse_rule(rule)
    )


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 4, day, hour, minute, tzinfo=BERLIN)


# --------------------------------------------------------------------------- worked examples


def test_e1_987_of_1000_reports_on_time_earn_two_steps_of_one_percent():
    line = evaluate(
        reports_on_time(),
        RatioMeasure(ok=987, total=1000),
        fee=Decimal("2000.00"),
        currency="EUR",
        at_risk=None,
    )

    assert line.attainment == Fraction("98.7")
    assert line.shortfall == Fraction("0.8")
    assert line.met is False
    assert line.credit_percent == Decimal("2")
    assert line.amount == Decimal("40.00")
    assert "98.700 % against a target of at least 99.5 %" in line.explanation
    assert "0.8 points short" in line.explanation
    assert (
        "2 started steps of 0.5 at 1 % each = 2 % of 2,000.00 EUR = 40.00 EUR" in line.explanation
    )


def test_e2_three_failed_reports_in_a_week_earn_the_flat_five_percent():
    line = evaluate(
        failed_reports(),
        CountMeasure(total=Decimal(3), samples=3),
        fee=Decimal("2000.00"),
        currency="EUR",
        at_risk=None,
    )

    assert line.met is False
    assert line.amount == Decimal("100.00")
    assert line.credit_percent == Decimal("5")
    assert "3 against a target of at most 2, 1 over" in line.explanation
    assert "flat 5 % of 2,000.00 EUR = 100.00 EUR" in line.explanation


def test_e2_two_failed_reports_in_a_week_earn_nothing():
    line = evaluate(
        failed_reports(),
        CountMeasure(total=Decimal(2), samples=2),
        fee=Decimal("2000.00"),
        currency="EUR",
        at_risk=None,
    )

    assert line.met is True
    assert line.amount == Decimal("0.00")
    assert line.credit_percent == 0
    assert "target met, no credit" in line.explanation


def test_e3_fifty_provider_minutes_beside_maintenance_cross_the_first_tier():
    april = period_containing(date(2026, 4, 10), "month", "Europe/Berlin")
    assert april.seconds == 43_200 * 60
    maintenance = [(at(5, 2), at(5, 4))]  # 120 minutes
    incidents = [
        (at(12, 10), at(12, 10, 50), "provider"),
        (at(20, 8), at(20, 8) + 500 * MINUTE, "customer"),
    ]
    # Settlement passes only provider-caused incidents (SPEC §3, Exclusions).
    provider = [(start, end) for start, end, cause in incidents if cause == "provider"]

    measure = uptime_attainment(april.start_at, april.end_at, None, maintenance, provider, [])
    line = evaluate(availability(), measure, fee=Decimal("1000.00"), currency="USD", at_risk=None)

    assert measure == UptimeMeasure(scheduled_seconds=43_080 * 60, downtime_seconds=50 * 60)
    assert line.attainment == Fraction(100 * 43_030, 43_080)
    assert format_attainment(line.attainment) == "99.884"
    assert line.credit_percent == Decimal("10")
    assert line.amount == Decimal("100.00")
    assert "below the 99.99 % tier: 10 % of 1,000.00 USD = 100.00 USD" in line.explanation


def test_e3_downtime_inside_a_maintenance_window_is_not_counted():
    april = period_containing(date(2026, 4, 10), "month", "Europe/Berlin")
    maintenance = [(at(5, 2), at(5, 4))]
    incidents = [(at(5, 3, 30), at(5, 4, 20))]  # 30 of its 50 minutes are maintenance

    measure = uptime_attainment(april.start_at, april.end_at, None, maintenance, incidents, [])

    assert measure.downtime_seconds == 20 * 60


def test_e5_cap_of_ten_percent_brings_450_down_to_300():
    at_risk = at_risk_amount(Decimal("10"), Decimal("3000.00"), "EUR")

    result = apply_cap([Decimal("300.00"), Decimal("150.00")], at_risk, "EUR")

    assert at_risk == Decimal("300.00")
    assert result.lines_total == Decimal("450.00")
    assert result.cap_adjustment == Decimal("-150.00")
    assert result.credit_total == Decimal("300.00")
    assert "cap adjustment of -150.00 EUR" in result.explanation


def test_e6_provider_incident_inside_a_responsibility_lapse_is_excluded():
    april = period_containing(date(2026, 4, 10), "month", "Europe/Berlin")
    lapse = (at(14, 9), at(14, 18))
    incident = (at(14, 10), at(14, 10) + 200 * MINUTE)

    measure = uptime_attainment(april.start_at, april.end_at, None, [], [incident], [lapse])
    line = evaluate(availability(), measure, fee=Decimal("1000.00"), currency="USD", at_risk=None)

    assert measure.downtime_seconds == 0
    assert line.attainment == 100
    assert line.met is True
    assert line.amount == Decimal("0.00")


def test_e6_relief_covers_only_the_lapse_not_the_rest_of_the_incident():
    april = period_containing(date(2026, 4, 10), "month", "Europe/Berlin")
    lapse = (at(14, 9), at(14, 10, 30))
    incident = (at(14, 10), at(14, 11))

    measure = uptime_attainment(april.start_at, april.end_at, None, [], [incident], [lapse])

    assert measure.downtime_seconds == 30 * 60


def test_e7_contract_starting_on_the_16th_of_a_30_day_month_pays_half_the_fee():
    april = period_containing(date(2026, 4, 1), "month", "Europe/Berlin")

    fraction = active_fraction(april, date(2026, 4, 16), None)

    assert fraction == Fraction(1, 2)
    assert quantize_money(prorate(Decimal("3000.00"), fraction), "EUR") == Decimal("1500.00")


# --------------------------------------------------------------------------- exactness


def test_969_of_1000_samples_meet_a_target_of_96_9():
    line = evaluate(
        reports_on_time(target="96.9"),
        RatioMeasure(969, 1000),
        fee=Decimal("100.00"),
        currency="EUR",
        at_risk=None,
    )

    assert line.met is True
    assert line.shortfall == 0
    assert line.amount == Decimal("0.00")


def test_968_of_1000_samples_miss_a_target_of_96_9():
    line = evaluate(
        reports_on_time(target="96.9"),
        RatioMeasure(968, 1000),
        fee=Decimal("100.00"),
        currency="EUR",
        at_risk=None,
    )

    assert line.met is False
    assert line.shortfall == Fraction(1, 10)
    assert line.amount == Decimal("1.00")


def test_attainment_is_shown_with_three_decimals_rounded_half_up():
    assert format_attainment(Fraction("99.8845")) == "99.885"
    assert format_attainment(Fraction("99.8844999")) == "99.884"
    assert format_attainment(Fraction(100)) == "100.000"
    assert format_attainment(Fraction(200, 3)) == "66.667"


# --------------------------------------------------------------------------- money


def test_jpy_rounds_to_whole_yen():
    assert minor_units("JPY") == 0
    assert quantize_money(Decimal("1234.5"), "JPY") == Decimal("1235")
    assert quantize_money(Decimal("1234.49"), "JPY") == Decimal("1234")
    assert format_money(Decimal("1234567"), "JPY") == "1,234,567 JPY"


def test_eur_rounds_half_up_to_the_cent():
    assert minor_units("EUR") == 2
    assert quantize_money(Decimal("0.125"), "EUR") == Decimal("0.13")
    assert quantize_money(Decimal("0.124999"), "EUR") == Decimal("0.12")
    assert quantize_money(Decimal("-0.125"), "EUR") == Decimal("-0.13")
    assert quantize_money(Fraction(1, 8), "EUR") == Decimal("0.13")
    assert str(quantize_money(Decimal("3000"), "EUR")) == "3000.00"


def test_a_percent_credit_rounds_half_up_once_on_the_amount():
    # 1 % of 12.50 is 0.125: one rounding, half up.
    line = evaluate(
        reports_on_time(),
        RatioMeasure(99, 100),
        fee=Decimal("12.50"),
        currency="EUR",
        at_risk=None,
    )

    assert line.amount == Decimal("0.13")


def test_currency_codes_are_checked_against_iso_4217():
    assert is_currency("EUR")
    assert is_currency("JPY")
    assert not is_currency("eur")
    assert not is_currency("ZZZ")
    assert not is_currency("XXX")
    assert not is_currency("EURO")
    assert not is_currency(978)
    with pytest.raises(ValueError):
        minor_units("ZZZ")


# --------------------------------------------------------------------------- rule parameters


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"kind": "per_step", "step": "0", "percent": "1"}, "step"),
        ({"kind": "per_step", "step": "-0.5", "percent": "1"}, "step"),
        ({"kind": "per_step", "step": "NaN", "percent": "1"}, "step"),
        ({"kind": "per_step", "step": "0.5", "percent": "Infinity"}, "percent"),
        ({"kind": "per_step", "step": float("nan"), "percent": "1"}, "step"),
        ({"kind": "per_step", "step": True, "percent": "1"}, "step"),
        ({"kind": "per_step", "step": "half", "percent": "1"}, "step"),
        ({"kind": "per_step", "step": "0.5", "percent": "101"}, "percent"),
        ({"kind": "per_step", "step": "0.5", "percent": "-1"}, "percent"),
        ({"kind": "per_step", "step": "0.5"}, "percent"),
        ({"kind": "per_step", "step": "0.5", "percent": None}, "percent"),
        ({"kind": "per_step", "step": "0.5", "percent": "1", "max_percent": "150"}, "max_percent"),
        ({"kind": "per_step", "step": "0.5", "percent": "1", "cap": "5"}, "cap"),
        ({"kind": "per_step", "step": "1e-20", "percent": "1"}, "step"),
        ({"kind": "per_step", "step": "1e20", "percent": "1"}, "step"),
        ({"kind": "tiered", "tiers": []}, "tiers"),
        ({"kind": "tiered"}, "tiers"),
        ({"kind": "tiered", "tiers": "99.9:10"}, "tiers"),
        ({"kind": "tiered", "tiers": [{"bound": "99", "percent": "120"}]}, "tiers"),
        ({"kind": "tiered", "tiers": [{"bound": "99"}]}, "tiers"),
        ({"kind": "tiered", "tiers": [{"bound": "99", "percent": "5", "x": 1}]}, "tiers"),
        (
            {
                "kind": "tiered",
                "tiers": [{"bound": "99", "percent": "5"}, {"bound": "99.0", "percent": "10"}],
            },
            "tiers",
        ),
        ({"kind": "linear", "factor": "0"}, "factor"),
        ({"kind": "linear", "factor": "1", "max_percent": "-5"}, "max_percent"),
        ({"kind": "flat"}, "percent"),
        ({"kind": "flat", "percent": "5", "amount": "250.00"}, "amount"),
        ({"kind": "flat", "amount": "-250.00"}, "amount"),
        ({"kind": "pool", "allocation_percent": "101"}, "allocation_percent"),
        ({"kind": "pool"}, "allocation_percent"),
        ({"kind": "bonus", "percent": "5"}, "kind"),
        ({"percent": "5"}, "kind"),
        ({"kind": 3}, "kind"),
        ("per_step", "kind"),
    ],
)
def test_bad_rule_parameters_are_refused_with_the_field_named(spec, field):
    with pytest.raises(RuleError) as raised:
        parse_rule(spec)

    assert raised.value.field == field
    assert str(raised.value)


def test_no_rule_parses_to_none():
    assert parse_rule(None) is None


def test_rule_parameters_may_be_strings_ints_decimals_or_floats_read_as_text():
    rule = parse_rule({"kind": "per_step", "step": 0.1, "percent": 1, "max_percent": Decimal("5")})

    assert rule == PerStepRule(step=Decimal("0.1"), percent=Decimal("1"), max_percent=Decimal(5))


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "per_step", "step": "0.5", "percent": "1", "max_percent": None},
        {
            "kind": "tiered",
            "tiers": [{"bound": "99.99", "percent": "10"}, {"bound": "99.0", "percent": "30"}],
        },
        {"kind": "linear", "factor": "1", "max_percent": "25"},
        {"kind": "flat", "percent": "5"},
        {"kind": "flat", "amount": "250.00"},
        {"kind": "pool", "allocation_percent": "20"},
    ],
)
def test_rules_give_back_the_api_shape(spec):
    assert parse_rule(spec).to_json() == spec


def test_parsed_rules_are_the_engine_types():
    assert isinstance(parse_rule(E3_TIERS), TieredRule)
    assert parse_rule(E3_TIERS).tiers[0] == Tier(Decimal("99.99"), Decimal("10"))
    assert isinstance(parse_rule({"kind": "linear", "factor": "1"}), LinearRule)
    assert isinstance(parse_rule({"kind": "flat", "amount": "1"}), FlatRule)
    assert isinstance(parse_rule({"kind": "pool", "allocation_percent": "1"}), PoolRule)


def test_tiers_must_run_from_the_mildest_breach_to_the_worst_for_the_comparator():
    ascending = parse_rule(
        {
            "kind": "tiered",
            "tiers": [{"bound": "95", "percent": "10"}, {"bound": "99", "percent": "30"}],
        }
    )
    descending = parse_rule(
        {
            "kind": "tiered",
            "tiers": [{"bound": "99", "percent": "10"}, {"bound": "95", "percent": "30"}],
        }
    )

    validate_rule_for(descending, "gte")
    validate_rule_for(ascending, "lte")
    for rule, comparator in [(ascending, "gte"), (descending, "lte")]:
        with pytest.raises(RuleError) as raised:
            validate_rule_for(rule, comparator)
        assert raised.value.field == "tiers"


def test_a_worse_tier_cannot_credit_less():
    rule = parse_rule(
        {
            "kind": "tiered",
            "tiers": [{"bound": "99", "percent": "30"}, {"bound": "95", "percent": "10"}],
        }
    )

    with pytest.raises(RuleError) as raised:
        availability(rule.to_json())

    assert raised.value.field == "tiers"


def test_threshold_objective_needs_its_threshold():
    with pytest.raises(ObjectiveError) as raised:
        Objective("resolution", "Resolution", "threshold", "gte", Decimal("95"), None)

    assert raised.value.field == "threshold"


def test_percentage_target_above_100_is_refused():
    with pytest.raises(ObjectiveError) as raised:
        availability(target="100.5")

    assert raised.value.field == "target"


# --------------------------------------------------------------------------- rule kinds


def test_per_step_credit_stops_at_max_percent():
    objective = reports_on_time(
        {"kind": "per_step", "step": "0.5", "percent": "1", "max_percent": "2.5"}
    )

    line = evaluate(
        objective, RatioMeasure(90, 100), fee=Decimal("2000.00"), currency="EUR", at_risk=None
    )

    assert line.credit_percent == Decimal("2.5")
    assert line.amount == Decimal("50.00")
    assert "19 started steps of 0.5 at 1 % each = 19 %, capped at 2.5 %" in line.explanation


def test_a_percent_credit_is_never_more_than_the_fee():
    objective = reports_on_time({"kind": "per_step", "step": "0.1", "percent": "50"})

    line = evaluate(
        objective, RatioMeasure(90, 100), fee=Decimal("2000.00"), currency="EUR", at_risk=None
    )

    assert line.credit_percent == Decimal("100")
    assert line.amount == Decimal("2000.00")


def test_tiered_credit_takes_the_worst_tier_crossed():
    line = evaluate(
        availability(),
        UptimeMeasure(scheduled_seconds=100_000, downtime_seconds=2_000),  # 98 %
        fee=Decimal("1000.00"),
        currency="USD",
        at_risk=None,
    )

    assert line.credit_percent == Decimal("30")
    assert line.amount == Decimal("300.00")
    assert "below the 99 % tier: 30 %" in line.explanation


def test_attainment_exactly_on_a_tier_bound_does_not_cross_it():
    line = evaluate(
        availability(),
        UptimeMeasure(scheduled_seconds=100_000, downtime_seconds=1_000),  # exactly 99 %
        fee=Decimal("1000.00"),
        currency="USD",
        at_risk=None,
    )

    assert line.credit_percent == Decimal("10")


def test_a_breach_that_crosses_no_tier_earns_nothing():
    objective = availability(
        {"kind": "tiered", "tiers": [{"bound": "99.9", "percent": "10"}]}, target="99.99"
    )

    line = evaluate(
        objective,
        UptimeMeasure(scheduled_seconds=100_000, downtime_seconds=50),  # 99.95 %
        fee=Decimal("1000.00"),
        currency="USD",
        at_risk=None,
    )

    assert line.met is False
    assert line.amount == Decimal("0.00")
    assert "no credit tier reached" in line.explanation


def test_tiers_of_an_at_most_count_are_crossed_upwards():
    objective = failed_reports(
        {
            "kind": "tiered",
            "tiers": [{"bound": "2", "percent": "5"}, {"bound": "5", "percent": "15"}],
        }
    )

    def amount(errors: int) -> Decimal:
        measure = CountMeasure(Decimal(errors), errors)
        return evaluate(
            objective, measure, fee=Decimal("2000.00"), currency="EUR", at_risk=None
        ).amount

    assert amount(2) == Decimal("0.00")
    assert amount(5) == Decimal("100.00")
    assert amount(6) == Decimal("300.00")


def test_linear_credit_is_the_shortfall_in_points_uk_call_off_style():
    objective = reports_on_time({"kind": "linear", "factor": "1"}, target="98")

    line = evaluate(
        objective, RatioMeasure(75, 100), fee=Decimal("1000.00"), currency="GBP", at_risk=None
    )

    assert line.credit_percent == Decimal("23")
    assert line.amount == Decimal("230.00")


def test_linear_credit_stops_at_max_percent():
    objective = reports_on_time({"kind": "linear", "factor": "2", "max_percent": "25"}, target="98")

    line = evaluate(
        objective, RatioMeasure(75, 100), fee=Decimal("1000.00"), currency="GBP", at_risk=None
    )

    assert line.credit_percent == Decimal("25")
    assert "capped at 25 %" in line.explanation


def test_a_flat_amount_is_never_more_than_the_fee():
    objective = failed_reports({"kind": "flat", "amount": "250.00"})

    line = evaluate(
        objective, CountMeasure(Decimal(3), 3), fee=Decimal("200.00"), currency="EUR", at_risk=None
    )

    assert line.amount == Decimal("200.00")
    assert line.credit_percent == Decimal("100")
    assert "limited to the fee of 200.00 EUR" in line.explanation


def test_a_pool_rule_shares_out_the_at_risk_amount():
    objective = failed_reports({"kind": "pool", "allocation_percent": "20"})

    line = evaluate(
        objective,
        CountMeasure(Decimal(3), 3),
        fee=Decimal("1000.00"),
        currency="EUR",
        at_risk=Decimal("300.00"),
    )

    assert line.amount == Decimal("60.00")
    assert line.credit_percent == Decimal("6")
    assert "20 % of the at-risk amount of 300.00 EUR = 60.00 EUR" in line.explanation


def test_a_pool_rule_without_an_at_risk_amount_is_refused():
    objective = failed_reports({"kind": "pool", "allocation_percent": "20"})

    with pytest.raises(RuleError) as raised:
        evaluate(
            objective,
            CountMeasure(Decimal(3), 3),
            fee=Decimal("1000"),
            currency="EUR",
            at_risk=None,
        )

    assert raised.value.field == "allocation_percent"


def test_a_breach_without_a_rule_says_no_credit_applies():
    objective = Objective("report-delivery", "Reports on time", "ratio", "gte", Decimal(99), None)

    line = evaluate(
        objective, RatioMeasure(90, 100), fee=Decimal("10.00"), currency="EUR", at_risk=None
    )

    assert line.met is False
    assert line.amount == Decimal("0.00")
    assert "no service credit applies" in line.explanation


# --------------------------------------------------------------------------- no data


def test_a_ratio_period_without_samples_has_no_data_and_no_credit():
    line = evaluate(
        reports_on_time(), RatioMeasure(0, 0), fee=Decimal("2000.00"), currency="EUR", at_risk=None
    )

    assert line.attainment is None
    assert line.met is None
    assert line.amount == Decimal("0.00")
    assert line.explanation == NO_DATA_EXPLANATION == "No data for this period: no credit."


def test_a_threshold_period_without_samples_has_no_data():
    objective = Objective(
        "resolution-30min",
        "Resolution time",
        "threshold",
        "gte",
        Decimal("95"),
        parse_rule({"kind": "flat", "percent": "5"}),
        threshold=Decimal("30"),
        threshold_comparator="lte",
    )

    line = evaluate(
        objective, ThresholdMeasure(0, 0), fee=Decimal("10"), currency="EUR", at_risk=None
    )

    assert line.met is None


def test_a_count_period_without_samples_counts_zero():
    line = evaluate(
        failed_reports(),
        CountMeasure(Decimal(0), 0),
        fee=Decimal("10"),
        currency="EUR",
        at_risk=None,
    )

    assert line.attainment == 0
    assert line.met is True


def test_an_uptime_period_without_scheduled_time_has_no_data():
    line = evaluate(
        availability(), UptimeMeasure(0, 0), fee=Decimal("10"), currency="EUR", at_risk=None
    )

    assert line.met is None


def test_a_measure_of_another_indicator_is_refused():
    with pytest.raises(TypeError):
        evaluate(availability(), RatioMeasure(1, 1), fee=Decimal(1), currency="EUR", at_risk=None)


# --------------------------------------------------------------------------- threshold samples


def test_threshold_samples_are_compared_with_the_threshold_comparator():
    values = [Decimal(v) for v in ("12", "30", "30.5", "45")]

    assert ThresholdMeasure.from_values(values, Decimal(30), "lte") == ThresholdMeasure(2, 4)
    assert ThresholdMeasure.from_values(values, Decimal(30), "gte") == ThresholdMeasure(3, 4)
    assert threshold_met(Decimal("100"), Decimal("100"), "gte")
    with pytest.raises(ValueError):
        threshold_met(Decimal(1), Decimal(1), "eq")


def test_a_count_sample_without_a_value_counts_one():
    assert CountMeasure.from_values([None, Decimal("2.5"), None]) == CountMeasure(Decimal("4.5"), 3)


# --------------------------------------------------------------------------- intervals


def test_overlapping_and_repeated_incidents_count_each_second_once():
    incidents = [(0, 100), (50, 150), (0, 100), (200, 210)]

    assert union_length(incidents) == 160


def test_an_open_incident_runs_to_the_end_of_the_period():
    april = period_containing(date(2026, 4, 1), "month", "Europe/Berlin")

    measure = uptime_attainment(april.start_at, april.end_at, None, [], [(at(30, 23), None)], [])

    assert measure.downtime_seconds == 3600


def test_scheduled_time_counts_only_while_the_contract_is_active():
    april = period_containing(date(2026, 4, 1), "month", "Europe/Berlin")
    active = [(at(16, 0), april.end_at)]

    measure = uptime_attainment(
        april.start_at, april.end_at, active, [], [(at(1, 0), at(16, 1))], []
    )

    assert measure.scheduled_seconds == 15 * 86_400
    assert measure.downtime_seconds == 3600


def test_intervals_need_aware_datetimes_and_the_right_order():
    with pytest.raises(ValueError):
        union_length([(datetime(2026, 4, 1), datetime(2026, 4, 2))])
    with pytest.raises(ValueError):
        union_length([(datetime(2026, 4, 2, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))])


# --------------------------------------------------------------------------- sentences


def test_objective_sentence_for_tiered_availability():
    tiers = [
        {"bound": "99.9", "percent": "10"},
        {"bound": "99", "percent": "30"},
        {"bound": "95", "percent": "100"},
    ]
    objective = availability({"kind": "tiered", "tiers": tiers}, target="99.9")

    sentence = describe_objective(objective, service_name="Internet 1G", period_name="month")

    assert sentence == (
        "Availability of Internet 1G is at least 99.9 % of each month; below it the customer "
        "is credited 10 % of that month's fee, 30 % below 99 %, 100 % below 95 %."
    )


def test_objective_sentence_for_an_error_count():
    sentence = describe_objective(failed_reports(), service_name="Reporting", period_name="week")

    assert sentence == (
        "Failed reports of Reporting are at most 2 per week; above it the customer is "
        "credited 5 % of that week's fee."
    )


def test_objective_sentence_for_a_threshold():
    objective = Objective(
        "resolution-30min",
        "Resolution time",
        "threshold",
        "gte",
        Decimal("95"),
        None,
        threshold=Decimal("30"),
        threshold_comparator="lte",
    )

    sentence = describe_objective(objective, service_name="Helpdesk", period_name="week")

    assert sentence == (
        "At least 95 % of resolution time samples of Helpdesk are ≤ 30 each week; "
        "no service credit applies."
    )


@pytest.mark.parametrize(
    ("spec", "sentence"),
    [
        (None, "No service credit applies."),
        (
            {"kind": "per_step", "step": "0.5", "percent": "1", "max_percent": "10"},
            "Below the target the customer is credited 1 % of that week's fee for every "
            "started step of 0.5 points, at most 10 %.",
        ),
        (
            {"kind": "linear", "factor": "1", "max_percent": "25"},
            "Below the target the customer is credited 1 % of that week's fee per point short, "
            "at most 25 %.",
        ),
        (
            {"kind": "flat", "amount": "250.00"},
            "Below the target the customer is credited a flat 250.00 EUR, at most that week's fee.",
        ),
        (
            {"kind": "pool", "allocation_percent": "20"},
            "Below the target the customer is credited 20 % of that week's at-risk amount.",
        ),
        (
            E3_TIERS,
            "Below 99.99 % the customer is credited 10 % of that week's fee, 30 % below 99 %, "
            "100 % below 95 %.",
        ),
    ],
)
def test_rule_sentences(spec, sentence):
    rule = parse_rule(spec)

    assert describe_rule(rule, comparator="gte", period_name="week", currency="EUR") == sentence


# --------------------------------------------------------------------------- early warning


def test_downtime_beyond_the_whole_error_budget_is_already_breached():
    # Half a 30-day month gone; 99.9 % of 43,200 minutes allows 43.2 minutes.
    so_far = UptimeMeasure(scheduled_seconds=21_600 * 60, downtime_seconds=44 * 60)

    warning = project_breach(availability(target="99.9"), so_far, Fraction(1, 2))

    assert warning is not None
    assert warning.state == "breached"
    assert warning.projected_credit_percent == Decimal("10")


def test_downtime_burning_the_budget_too_fast_is_at_risk():
    so_far = UptimeMeasure(scheduled_seconds=21_600 * 60, downtime_seconds=30 * 60)

    warning = project_breach(availability(target="99.9"), so_far, Fraction(1, 2))

    assert warning is not None
    assert warning.state == "at_risk"
    assert warning.projected_attainment == so_far.attainment


def test_downtime_within_the_budget_raises_no_warning():
    so_far = UptimeMeasure(scheduled_seconds=21_600 * 60, downtime_seconds=20 * 60)

    assert project_breach(availability(target="99.9"), so_far, Fraction(1, 2)) is None


def test_an_at_most_count_already_over_target_is_breached():
    warning = project_breach(failed_reports(), CountMeasure(Decimal(3), 3), Fraction(1, 7))

    assert warning.state == "breached"
    assert warning.projected_credit_percent == Decimal("5")


def test_an_at_most_count_heading_over_target_is_at_risk():
    warning = project_breach(failed_reports(), CountMeasure(Decimal(2), 2), Fraction(3, 7))

    assert warning.state == "at_risk"
    assert warning.projected_attainment == Fraction(14, 3)


def test_an_at_least_count_is_never_lost_before_the_period_ends():
    leads = Objective("qualified-leads", "Qualified leads", "count", "gte", Decimal(50), None)

    early = project_breach(leads, CountMeasure(Decimal(5), 5), Fraction(1, 2))
    closed = project_breach(leads, CountMeasure(Decimal(49), 49), Fraction(1))

    assert early.state == "at_risk"
    assert closed.state == "breached"


def test_a_ratio_with_too_few_samples_raises_no_warning():
    assert project_breach(reports_on_time(), RatioMeasure(3, 5), Fraction(1, 2)) is None


def test_a_ratio_that_cannot_recover_is_breached():
    # 98 of 100 so far at half time: even 100 more on time ends at 99 % < 99.5 %.
    warning = project_breach(reports_on_time(), RatioMeasure(98, 100), Fraction(1, 2))

    assert warning.state == "breached"
    assert warning.projected_credit_percent == Decimal("3")


def test_a_warning_needs_part_of_the_period_behind_it():
    with pytest.raises(ValueError):
        project_breach(reports_on_time(), RatioMeasure(98, 100), Fraction(0))


def projected(objective, warning, fee, currency="EUR", at_risk=None):
    return projected_credit_amount(
        objective, warning, fee=Decimal(fee), currency=currency, at_risk=at_risk
    )


def test_a_projected_percent_is_that_share_of_the_fee():
    # 98 % is 1.5 points short of 99.5 %: three started steps of 1 %.
    objective = reports_on_time()
    warning = project_breach(objective, RatioMeasure(98, 100), Fraction(1, 2))

    assert warning.projected_credit_percent == Decimal("3")
    assert projected(objective, warning, "2000.00") == Decimal("60.00")
    assert projected(objective, warning, "1234.56") == Decimal("37.04")
    assert projected(objective, warning, "1234", currency="JPY") == Decimal("37")


def test_the_projected_amount_is_the_credit_if_the_period_ends_at_the_current_rate():
    objective = reports_on_time()
    warning = project_breach(objective, RatioMeasure(98, 100), Fraction(1, 2))

    line = evaluate(
        objective, RatioMeasure(196, 200), fee=Decimal("2000.00"), currency="EUR", at_risk=None
    )

    assert projected(objective, warning, "2000.00") == line.amount == Decimal("60.00")


def test_a_projected_flat_amount_is_at_most_the_fee():
    objective = failed_reports({"kind": "flat", "amount": "150"})
    warning = project_breach(objective, CountMeasure(Decimal(3), 3), Fraction(1, 7))

    assert warning.projected_credit_percent is None
    assert projected(objective, warning, "2000.00") == Decimal("150.00")
    assert projected(objective, warning, "100.00") == Decimal("100.00")


def test_a_projected_pool_share_is_taken_from_the_at_risk_amount():
    objective = failed_reports({"kind": "pool", "allocation_percent": "20"})
    warning = project_breach(objective, CountMeasure(Decimal(3), 3), Fraction(1, 7))

    assert projected(objective, warning, "2000.00", at_risk=Decimal("500.00")) == Decimal("100.00")
    assert projected(objective, warning, "2000.00", at_risk=None) == Decimal("0.00")


def test_an_objective_without_a_rule_projects_no_credit():
    leads = Objective("qualified-leads", "Qualified leads", "count", "gte", Decimal(50), None)
    warning = project_breach(leads, CountMeasure(Decimal(5), 5), Fraction(1, 2))

    assert warning.state == "at_risk"
    assert projected(leads, warning, "2000.00") == Decimal("0.00")
    assert projected(leads, warning, "2000", currency="JPY") == Decimal("0")


# --------------------------------------------------------------------------- cap


def test_credits_within_the_at_risk_amount_need_no_adjustment():
    result = apply_cap([Decimal("100.00"), Decimal("50.00")], Decimal("300.00"), "EUR")

    assert result.credit_total == Decimal("150.00")
    assert result.cap_adjustment == Decimal("0.00")


def test_without_a_cap_the_total_is_the_sum_of_the_lines():
    result = apply_cap([Decimal("100.00"), Decimal("5000.00")], None, "EUR")

    assert result.credit_total == Decimal("5100.00")
    assert result.cap_adjustment == Decimal("0.00")
    assert at_risk_amount(None, Decimal("3000.00"), "EUR") is None
