"""Every objective and credit rule reads as one plain-language sentence, the same everywhere."""

from decimal import Decimal

import pytest

from contracts.models import ServiceLevel

CASES = [
    (
        "month",
        {"indicator": "uptime", "key": "availability", "name": "Availability", "target": "99.9"},
        {
            "kind": "tiered",
            "tiers": [
                {"bound": "99.9", "percent": "10"},
                {"bound": "99", "percent": "30"},
                {"bound": "95", "percent": "100"},
            ],
        },
        "Availability of Internet 1G is at least 99.9 % of each month; below it the customer "
        "is credited 10 % of that month's fee, 30 % below 99 %, 100 % below 95 %.",
    ),
    (
        "week",
        {
            "indicator": "ratio",
            "key": "report-delivery",
            "name": "Reports on time",
            "target": "99.5",
        },
        {"kind": "per_step", "step": "0.5", "percent": "1"},
        "Reports on time of Internet 1G is at least 99.5 % of samples each week; below it the "
        "customer is credited 1 % of that week's fee for every started step of 0.5 points.",
    ),
    (
        "week",
        {
            "indicator": "count",
            "key": "failed-reports",
            "name": "Failed reports",
            "target": "2",
            "comparator": "lte",
        },
        {"kind": "flat", "percent": "5"},
        "Failed reports of Internet 1G are at most 2 per week; above it the customer is "
        "credited 5 % of that week's fee.",
    ),
    (
        "week",
        {"indicator": "count", "key": "qualified-leads", "name": "Qualified leads", "target": "40"},
        {"kind": "linear", "factor": "0.5", "max_percent": "20"},
        "Qualified leads of Internet 1G are at least 40 per week; below it the customer is "
        "credited 0.5 % of that week's fee per unit short, at most 20 %.",
    ),
    (
        "quarter",
        {
            "indicator": "threshold",
            "key": "resolution-30min",
            "name": "Resolution time",
            "target": "95",
            "threshold": "30",
            "threshold_comparator": "lte",
        },
        {"kind": "pool", "allocation_percent": "20"},
        "At least 95 % of resolution time samples of Internet 1G are ≤ 30 each quarter; below "
        "it the customer is credited 20 % of that quarter's at-risk amount.",
    ),
    (
        "month",
        {"indicator": "ratio", "key": "support", "name": "Support answers", "target": "98"},
        {"kind": "flat", "amount": "250.00"},
        "Support answers of Internet 1G is at least 98 % of samples each month; below it the "
        "customer is credited a flat 250, at most that month's fee.",
    ),
    (
        "month",
        {"indicator": "ratio", "key": "support", "name": "Support answers", "target": "98"},
        None,
        "Support answers of Internet 1G is at least 98 % of samples each month; no service "
        "credit applies.",
    ),
]


@pytest.mark.parametrize(("period", "fields", "rule", "expected"), CASES)
def test_each_rule_kind_reads_as_one_sentence(period, fields, rule, expected):
    objective = ServiceLevel(
        level="corporate",
        comparator=fields.pop("comparator", "gte"),
        credit_rule=rule,
        **{k: Decimal(v) if k in {"target", "threshold"} else v for k, v in fields.items()},
    )
    assert objective.describe(service_name="Internet 1G", period_name=period) == expected
