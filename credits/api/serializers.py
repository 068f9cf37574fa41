"""Serializers of the credits API: statements exactly in the SPEC §5 shape, disputes,
notifications and the request to settle a period."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import lru_cache
from typing import Any

from rest_framework import serializers

import engine
from contracts.api.serializers import CreditRuleField, rule_json
from credits.models import Dispute, Notification, Statement, StatementAdjustment, StatementLine
from engine.text import plain_decimal, plain_money
from slaportal.api.fields import MoneyField, PlainDecimalField, ScopedPrimaryKeyRelatedField


@lru_cache(maxsize=1024)
def _rule_json_of(stored: str) -> Any:
    # A page of statements repeats the same few rules; parse each once.
    return rule_json(json.loads(stored))


class AttainmentField(serializers.DecimalField):
    """Attainment as statements show it: 3 decimals, rounded half up ("99.884")."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=24, decimal_places=3, read_only=True, **kwargs)

    def to_representation(self, value: Any) -> str | None:
        if value is None:
            return None
        return engine.format_attainment(Decimal(value))


class StatementLineSerializer(serializers.ModelSerializer):
    target = PlainDecimalField(max_digits=14, decimal_places=4, read_only=True)
    attainment = AttainmentField(allow_null=True, help_text="null when there was no data.")
    attainment_exact = PlainDecimalField(
        source="attainment", max_digits=24, decimal_places=10, read_only=True, allow_null=True
    )
    credit_percent = PlainDecimalField(max_digits=12, decimal_places=6, read_only=True)
    fee = MoneyField(currency="statement.currency", read_only=True)
    amount = MoneyField(currency="statement.currency", read_only=True)
    held = MoneyField(
        currency="statement.currency",
        read_only=True,
        help_text="The part of amount held for earn-back: shown, not payable; a later "
        "statement pays it (earn_back_paid) or says the provider earned it back "
        "(earned_back).",
    )
    credit_rule = CreditRuleField(read_only=True)
    measure = serializers.JSONField(read_only=True, help_text="The exact figures used.")

    class Meta:
        model = StatementLine
        fields = [
            "id",
            "contract_service",
            "service_level",
            "key",
            "name",
            "source_level",
            "indicator",
            "attainment",
            "attainment_exact",
            "target",
            "comparator",
            "met",
            "fee",
            "credit_percent",
            "amount",
            "held",
            "explanation",
            "credit_rule",
            "measure",
        ]
        read_only_fields = fields

    def to_representation(self, line: StatementLine) -> dict[str, Any]:
        # Many immutable lines per page: built in one go rather than field by field, which
        # was most of the statements list's time. The declared fields above still describe
        # the schema, and a test holds both to the same output.
        currency = line.statement.currency
        attainment = line.attainment
        rule = line.credit_rule
        return {
            "id": line.pk,
            "contract_service": line.contract_service_id,
            "service_level": line.service_level_id,
            "key": line.key,
            "name": line.name,
            "source_level": line.source_level,
            "indicator": line.indicator,
            "attainment": None if attainment is None else engine.format_attainment(attainment),
            "attainment_exact": None if attainment is None else plain_decimal(attainment),
            "target": plain_decimal(line.target),
            "comparator": line.comparator,
            "met": line.met,
            "fee": plain_money(line.fee, currency),
            "credit_percent": plain_decimal(line.credit_percent),
            "amount": plain_money(line.amount, currency),
            "held": plain_money(line.held, currency),
            "explanation": line.explanation,
            "credit_rule": None
            if rule is None
            else _rule_json_of(json.dumps(rule, sort_keys=True)),
            "measure": line.measure,
        }


class StatementAdjustmentSerializer(serializers.ModelSerializer):
    amount = MoneyField(currency="statement.currency", read_only=True)

    class Meta:
        model = StatementAdjustment
        fields = ["position", "kind", "amount", "explanation", "dispute", "claim"]
        read_only_fields = fields


class StatementSerializer(serializers.ModelSerializer):
    fees_total = MoneyField(currency="currency", read_only=True)
    at_risk_amount = MoneyField(currency="currency", read_only=True, allow_null=True)
    credit_total = MoneyField(currency="currency", read_only=True)
    cap_adjustment = MoneyField(currency="currency", read_only=True)
    lines = StatementLineSerializer(many=True, read_only=True)
    adjustments = StatementAdjustmentSerializer(
        many=True,
        read_only=True,
        help_text="The rows below the lines, in order (minimum credit; earn-back: held, "
        "paid, earned back; chronic failure, 0; agreed adjustments, corrections after a "
        "dispute, accepted claims): lines + cap_adjustment + these = credit_total.",
    )
    terms_change = serializers.IntegerField(
        source="terms_change_id",
        read_only=True,
        allow_null=True,
        help_text="The terms version used: the latest amendment or correction in force at "
        "the period's start (contracts/{id}/terms/); null for the terms as first agreed.",
    )

    class Meta:
        model = Statement
        fields = [
            "id",
            "contract",
            "period_start",
            "period_end",
            "revision",
            "status",
            "currency",
            "issued_at",
            "fees_total",
            "at_risk_amount",
            "credit_total",
            "cap_adjustment",
            "lines",
            "adjustments",
            "terms_change",
        ]
        read_only_fields = fields


class DisputeSerializer(serializers.ModelSerializer):
    line = ScopedPrimaryKeyRelatedField(model=StatementLine, scope="visible")
    statement = serializers.IntegerField(source="line.statement_id", read_only=True)
    contract = serializers.IntegerField(source="line.statement.contract_id", read_only=True)
    opened_by = serializers.IntegerField(source="opened_by_id", read_only=True, allow_null=True)
    resolved_by = serializers.IntegerField(source="resolved_by_id", read_only=True, allow_null=True)
    adjustment_amount = MoneyField(
        currency="line.statement.currency", read_only=True, allow_null=True
    )
    revisions = serializers.SerializerMethodField(
        help_text="The statements (ids) whose rows cite this dispute: the revisions its "
        "remedy issued."
    )
    remedy = serializers.ChoiceField(
        choices=Dispute.Remedy.choices,
        allow_blank=True,
        read_only=True,
        help_text="How an accepted dispute was remedied; empty for any other.",
    )

    class Meta:
        model = Dispute
        fields = [
            "id",
            "line",
            "statement",
            "contract",
            "reason",
            "status",
            "resolution",
            "opened_by",
            "opened_at",
            "resolved_by",
            "resolved_at",
            "remedy",
            "adjustment_amount",
            "reopened_at",
            "revisions",
        ]
        read_only_fields = [
            "status",
            "resolution",
            "opened_at",
            "resolved_at",
            "remedy",
            "adjustment_amount",
            "reopened_at",
        ]
        extra_kwargs = {"reason": {"max_length": 10_000}}
        # open_dispute() says "already has an open dispute" in its own words.
        validators: list = []

    def get_revisions(self, dispute: Dispute) -> list[int]:
        return sorted({row.statement_id for row in dispute.adjustments.all()})


class DisputeResolutionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["accepted", "rejected"])
    resolution = serializers.CharField(
        max_length=10_000, help_text="What was decided and why; for a rejection, the reason."
    )
    remedy = serializers.ChoiceField(
        choices=["correction", "adjustment"],
        required=False,
        help_text="Accepting needs one: 'correction' (the data or terms were corrected; the "
        "period is settled again) or 'adjustment' (with adjustment_amount). Either way a "
        "new revision cites the dispute.",
    )
    adjustment_amount = PlainDecimalField(
        max_digits=16, decimal_places=3, required=False, allow_null=True, min_value=0
    )


class ReadField(serializers.BooleanField):
    """Whether the notification was read; writing it sets or clears ``read_at``."""

    def get_attribute(self, instance: Notification) -> bool:
        return instance.read_at is not None


class NotificationSerializer(serializers.ModelSerializer):
    read = ReadField(required=False)

    class Meta:
        model = Notification
        fields = [
            "id",
            "event",
            "title",
            "body",
            "link",
            "organization",
            "created_at",
            "read_at",
            "read",
        ]
        read_only_fields = [name for name in fields if name != "read"]


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=1000,
        help_text="The notifications to mark read; all unread ones when omitted.",
    )


class MarkedReadSerializer(serializers.Serializer):
    updated = serializers.IntegerField()


class SettleSerializer(serializers.Serializer):
    period_start = serializers.DateField(
        help_text="First day of the period to settle, e.g. 2026-10-01 for October."
    )


class LineSideSerializer(serializers.ModelSerializer):
    """A line's figures in one of the two revisions compared."""

    attainment = AttainmentField(allow_null=True, help_text="null when there was no data.")
    credit_percent = PlainDecimalField(max_digits=12, decimal_places=6, read_only=True)
    amount = MoneyField(currency="statement.currency", read_only=True)
    held = MoneyField(currency="statement.currency", read_only=True)

    class Meta:
        model = StatementLine
        fields = ["id", "attainment", "met", "credit_percent", "amount", "held"]
        read_only_fields = fields


class LineChangeSerializer(serializers.Serializer):
    contract_service = serializers.IntegerField(source="line.contract_service_id")
    key = serializers.CharField()
    name = serializers.CharField()
    service = serializers.CharField()
    change = serializers.ChoiceField(
        choices=["added", "removed", "changed", "unchanged"],
        help_text="added: only in this revision; removed: only in the previous one.",
    )
    before = LineSideSerializer(allow_null=True, help_text="null for an added line.")
    after = LineSideSerializer(allow_null=True, help_text="null for a removed line.")


class StatementTotalsSerializer(serializers.Serializer):
    """The statement list's totals in one currency (two currencies are never added)."""

    currency = serializers.CharField()
    statements = serializers.IntegerField(help_text="How many statements the filters keep.")
    breached = serializers.IntegerField(help_text="How many of them missed a target.")
    disputed = serializers.IntegerField(help_text="How many of them have an open dispute.")
    credit = MoneyField(
        currency="currency",
        help_text="The payable credit of the latest revisions among them (a superseded "
        "revision is replaced by the later one, not paid twice).",
    )


class StatementDiffSerializer(serializers.Serializer):
    """A revision against the previous revision of its period, line by line; lines are
    matched by contract service and objective key."""

    statement = serializers.IntegerField(source="statement.pk")
    revision = serializers.IntegerField(source="statement.revision")
    previous = serializers.IntegerField(
        source="previous.pk", allow_null=True, help_text="null for a first revision."
    )
    previous_revision = serializers.IntegerField(source="previous.revision", allow_null=True)
    currency = serializers.CharField(source="statement.currency")
    credit_total_before = MoneyField(
        source="previous.credit_total", currency="statement.currency", allow_null=True
    )
    credit_total_after = MoneyField(source="statement.credit_total", currency="statement.currency")
    sentences = serializers.ListField(
        child=serializers.CharField(), help_text="One sentence per change, for people."
    )
    lines = LineChangeSerializer(many=True)
