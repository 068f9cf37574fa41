"""Reads of the contracts app: the objectives that apply to a contract, and the
effective ones.

An objective applies to a contract at any level of the hierarchy (SPEC §3): the
provider's corporate objectives, its service objectives for the services the contract
includes, and the contract's own (contract-wide and per contract service). The effective
objective of a contract service for a key is the most specific one that applies:
contract_service > customer > service > corporate. A more specific objective with
``enabled = False`` removes the key. Two queries whatever the size of the contract.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from contracts.models import Contract, ContractService, ServiceLevel

LEVEL_RANK = {"contract_service": 0, "customer": 1, "service": 2, "corporate": 3}


@dataclass(slots=True)
class EffectiveServiceLevels:
    """The objectives in force for one contract service, with what they override."""

    contract_service: ContractService
    service_levels: list[ServiceLevel] = field(default_factory=list)
    # Per key, every candidate from most to least specific, for "inherited from" displays.
    candidates: dict[str, list[ServiceLevel]] = field(default_factory=dict)
    removed: list[ServiceLevel] = field(default_factory=list)


def _applying(
    *,
    provider_ids: Iterable[int],
    service_ids: Iterable[int] | QuerySet,
    contract_ids: Iterable[int],
) -> Q:
    """The objectives that apply to contracts of these providers, including these
    services (a service belongs to one provider), and to these contracts themselves."""
    return (
        Q(level=ServiceLevel.Level.CORPORATE, provider_id__in=provider_ids)
        | Q(level=ServiceLevel.Level.SERVICE, service_id__in=service_ids)
        | Q(contract_id__in=contract_ids)
    )


def objectives_applying_to(contract: Contract) -> QuerySet[ServiceLevel]:
    """Every objective that applies to the contract, at any level, in force or not.

    These are the objectives a responsibility of the contract may affect, in the browser
    and the API alike. Objectives not in force are included: settlement relieves an
    objective through every objective of its key that applies (``candidates``), so a
    link to one stays meaningful, and an edit must not drop it silently.
    """
    return ServiceLevel.objects.filter(
        _applying(
            provider_ids=[contract.provider_id],
            service_ids=ContractService.objects.filter(contract_id=contract.pk).values(
                "service_id"
            ),
            contract_ids=[contract.pk],
        )
    ).order_by("key", "level", "id")


def candidate_service_levels(
    *, contracts: Iterable[Contract], contract_services: Iterable[ContractService]
) -> list[ServiceLevel]:
    """Every objective that applies to these contracts, in one query."""
    contract_ids = {c.pk for c in contracts}
    provider_ids = {c.provider_id for c in contracts}
    service_ids = {cs.service_id for cs in contract_services}
    if not contract_ids:
        return []
    return list(
        ServiceLevel.objects.filter(
            _applying(provider_ids=provider_ids, service_ids=service_ids, contract_ids=contract_ids)
        ).order_by("key", "id")
    )


def resolve(
    contract_service: ContractService, contract: Contract, levels: Iterable[ServiceLevel]
) -> EffectiveServiceLevels:
    """Pick, per key, the most specific objective that applies to one contract service."""
    applicable: dict[str, list[ServiceLevel]] = {}
    for sl in levels:
        if sl.level == "corporate":
            applies = sl.provider_id == contract.provider_id
        elif sl.level == "service":
            applies = sl.service_id == contract_service.service_id
        elif sl.level == "customer":
            applies = sl.contract_id == contract.pk
        else:
            applies = sl.contract_id == contract.pk and sl.service_id == contract_service.service_id
        if applies:
            applicable.setdefault(sl.key, []).append(sl)
    result = EffectiveServiceLevels(contract_service=contract_service)
    for key in sorted(applicable):
        ranked = sorted(applicable[key], key=lambda sl: LEVEL_RANK[sl.level])
        result.candidates[key] = ranked
        winner = ranked[0]
        if winner.enabled:
            result.service_levels.append(winner)
        else:
            result.removed.append(winner)
    return result


def effective_service_levels(contract: Contract) -> list[EffectiveServiceLevels]:
    """Per contract service of the contract, its effective objectives (two queries)."""
    return effective_service_levels_of([contract])[contract.pk]


def effective_service_levels_of(
    contracts: Iterable[Contract],
) -> dict[int, list[EffectiveServiceLevels]]:
    """Per contract, its contract services' effective objectives; two queries for any
    number of contracts."""
    contracts = list(contracts)
    contract_services = list(
        ContractService.objects.filter(contract__in=contracts)
        .select_related("service")
        .order_by("contract_id", "service__code")
    )
    levels = candidate_service_levels(contracts=contracts, contract_services=contract_services)
    # Only the candidates that can apply to a contract service go to resolve(), so that a
    # batch of contracts costs in proportion to its size, not to its square.
    shared: dict[tuple[str, int], list[ServiceLevel]] = defaultdict(list)
    own: dict[int, list[ServiceLevel]] = defaultdict(list)
    for sl in levels:
        if sl.level == "corporate":
            shared[("corporate", sl.provider_id)].append(sl)
        elif sl.level == "service":
            shared[("service", sl.service_id)].append(sl)
        else:
            own[sl.contract_id].append(sl)
    by_contract: dict[int, list[EffectiveServiceLevels]] = {c.pk: [] for c in contracts}
    contracts_by_id = {c.pk: c for c in contracts}
    for cs in contract_services:
        contract = contracts_by_id[cs.contract_id]
        cs.contract = contract
        applicable = sorted(
            shared[("corporate", contract.provider_id)]
            + shared[("service", cs.service_id)]
            + own[contract.pk],
            key=lambda sl: (sl.key, sl.pk),
        )
        by_contract[contract.pk].append(resolve(cs, contract, applicable))
    return by_contract


def effective_service_level(contract_service: ContractService, key: str) -> ServiceLevel | None:
    contract = contract_service.contract
    levels = candidate_service_levels(contracts=[contract], contract_services=[contract_service])
    for sl in resolve(contract_service, contract, levels).service_levels:
        if sl.key == key:
            return sl
    return None
