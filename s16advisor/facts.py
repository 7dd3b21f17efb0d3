"""From a contract description to the facts the rules read, and the details their messages quote.

This is the only arithmetic between the input and the rulebook: converting the value to the VAT basis of
each threshold in force, comparing it with each threshold, testing the CPV codes against each list, and
summarising lots and prior reserved awards. Every legal decision is left to the rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .contract import ROUTE_IDS, ContractDescription, Objective
from .cpv import related
from .data import Data, InForce
from .rulebook import FactType, RegimeSpec, Scalar, date_number

VS_VALUES = ("below", "just_below", "at_or_above", "not_in_force")
NEAR_FRACTION = 0.9  # "within 10% below a threshold" (advice v1, near_threshold)


def fact_catalogue(regime: RegimeSpec, data: Data) -> dict[str, FactType]:
    """Every fact a rule of ``regime`` may read, with its type (typos in rules fail at load)."""
    thresholds = list(data.thresholds.regimes.get(regime.id, {}))
    facts: dict[str, FactType] = {
        "start": FactType("date"),  # the date the rules are evaluated on (the commencement date, or the regime's
        "commenced": FactType("date"),  # nearest day when comparing regimes); the real commencement date
        "contract_type": FactType("str", ("services", "supplies", "works")),
        "authority_type": FactType("str", ("sub_central", "central_government")),
        "nation": FactType("str", ("wales", "england", "northern_ireland")),
        "reservation": FactType("str", ("none", "supported_business", "public_service_mutual")),
        "declared_route": FactType("str", ("none", *ROUTE_IDS)),
        "duration_months": FactType("number"),
        "value": FactType("number"),
        "threshold": FactType("str", ("none", *thresholds)),
        "lots.count": FactType("number"),
        "lots.small_count": FactType("number"),
        "lots.small_share": FactType("number"),
        "innovation.solution_available_on_market": FactType("str", ("true", "false", "unknown")),
        "innovation.research_and_development": FactType("bool"),
        "reasons_for_not_lotting": FactType("bool"),
        "cpv.check_digit_mismatch": FactType("bool"),
        "prior.reg77.within_bar": FactType("bool"),
        "prior.s33.within_bar": FactType("bool"),
    }
    for t in thresholds:
        facts[f"vs.{t}"] = FactType("str", VS_VALUES)
        facts[f"small_lot_vs.{t}"] = FactType("str", (*VS_VALUES, "none"))
    for name in data.cpv_lists:
        facts[f"cpv.{name}.all"] = FactType("bool")
        facts[f"cpv.{name}.any"] = FactType("bool")
    for o in Objective:
        facts[f"objectives.{o.value}"] = FactType("bool")
    for r in ROUTE_IDS:
        facts[f"blocked.{r}"] = FactType("bool")
        facts[f"recommended.{r}"] = FactType("bool")
    return facts


def money(x: float) -> str:
    return f"£{x:,.0f}" if abs(x - round(x)) < 0.005 else f"£{x:,.2f}"


def in_basis(amount: float, given: str, vat_rate: float, basis: str) -> float:
    """``amount`` stated ``given`` ("inclusive"/"exclusive" of VAT) expressed on ``basis`` ("net"/"inclusive")."""
    if given == "inclusive":
        net = amount / (1 + vat_rate)
        value = amount if basis == "inclusive" else net
    else:
        value = amount * (1 + vat_rate) if basis == "inclusive" else amount
    return round(value, 2)  # pennies: a value equal to a threshold must compare equal, not 1e-10 below


def versus(value: float, threshold: float) -> str:
    if value >= threshold:
        return "at_or_above"
    if value * 10 >= threshold * (NEAR_FRACTION * 10):
        return "just_below"
    return "below"


def add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):  # 29 Feb + 12 months -> 28 Feb
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover


@dataclass
class ContractFacts:
    facts: dict[str, Scalar]
    details: dict[str, str]
    thresholds: dict[str, InForce]
    values: dict[str, float]  # the contract value on each threshold's VAT basis


def build_facts(c: ContractDescription, regime: RegimeSpec, data: Data, on: dt.date | None = None) -> ContractFacts:
    """The facts of ``c`` under ``regime``, with the thresholds and rules in force ``on`` (default: commencement)."""
    day = on or c.procurement_start
    in_force = data.thresholds_in_force(regime.id, day, regime.in_force.to)
    given, rate = c.value.vat, c.value.vat_rate
    facts: dict[str, Scalar] = {
        "start": date_number(day),
        "commenced": date_number(c.procurement_start),
        "contract_type": c.contract_type.value,
        "authority_type": c.authority.type.value,
        "nation": c.authority.nation.value,
        "reservation": c.reservation.value,
        "declared_route": c.route or "none",
        "duration_months": float(c.duration_months),
        "innovation.solution_available_on_market": str(c.innovation.solution_available_on_market).lower(),
        "innovation.research_and_development": c.innovation.research_and_development,
        "reasons_for_not_lotting": bool(c.reasons_for_not_lotting and c.reasons_for_not_lotting.strip()),
    }
    details: dict[str, str] = {
        "start": c.procurement_start.isoformat(),
        "evaluated_on": day.isoformat(),
        "duration_months": str(c.duration_months),
        "declared_route": c.route or "none",
        "reservation": c.reservation.value,
        "contract_type": c.contract_type.value,
        "authority_type": c.authority.type.value.replace("_", "-"),
    }
    values: dict[str, float] = {}
    lots = c.lots or []
    small = [lot for lot in lots if lot.small_lot]
    largest_small = max(small, key=lambda lot: lot.value) if small else None
    for name in data.thresholds.regimes.get(regime.id, {}):
        th = in_force.get(name)
        if th is None:
            facts[f"vs.{name}"] = "not_in_force"
            facts[f"small_lot_vs.{name}"] = "not_in_force"
            continue
        v = in_basis(c.value.amount, given, rate, th.vat)
        values[name] = v
        facts[f"vs.{name}"] = versus(v, th.amount)
        facts[f"small_lot_vs.{name}"] = (
            versus(in_basis(largest_small.value, given, rate, th.vat), th.amount) if largest_small else "none"
        )
        details[f"thresholds.{name}"] = money(th.amount)
        details[f"values.{name}"] = money(v)
    # The headline value is on the basis of the regime's main thresholds (they share one basis per date).
    main_basis = next((t.vat for t in in_force.values()), "inclusive")
    facts["value"] = in_basis(c.value.amount, given, rate, main_basis)
    details["value"] = money(float(facts["value"]))
    details["vat_basis"] = "inclusive of VAT" if main_basis == "inclusive" else "net of VAT"

    # The contract's codes and its lots' codes: "exclusively for" (reg 77) reads the whole contract.
    given_codes = list(dict.fromkeys([*c.cpv, *(x for lot in lots for x in (lot.cpv or []))]))
    codes = [code[:8] for code in given_codes]
    for name, lst in data.cpv_lists.items():
        inside = [code in lst for code in codes]
        facts[f"cpv.{name}.all"] = all(inside)
        facts[f"cpv.{name}.any"] = any(inside)
        details[f"cpv.{name}.outside"] = ", ".join(code for code, ok in zip(given_codes, inside, strict=True) if not ok)
        details[f"cpv.{name}.inside"] = ", ".join(code for code, ok in zip(given_codes, inside, strict=True) if ok)
    mismatches = []
    for code in given_codes:
        if len(code) == 10:
            official = data.official_check_digit(code[:8])
            if official is not None and official != code[9]:
                mismatches.append(f"{code} (official check digit {official})")
    facts["cpv.check_digit_mismatch"] = bool(mismatches)
    details["cpv.check_digit"] = ", ".join(sorted(mismatches))

    total = sum(lot.value for lot in lots)
    small_total = sum(lot.value for lot in small)
    facts["lots.count"] = float(len(lots))
    facts["lots.small_count"] = float(len(small))
    facts["lots.small_share"] = round(small_total / total, 6) if total > 0 else 0.0
    details["lots.count"] = str(len(lots))
    details["lots.small_share"] = f"{float(facts['lots.small_share']) * 100:.1f}%"
    details["lots.small_total"] = money(small_total)
    details["lots.largest_small"] = f"{largest_small.id} ({money(largest_small.value)})" if largest_small else "none"

    for o in Objective:
        facts[f"objectives.{o.value}"] = o in c.objectives

    for basis in ("reg77", "s33"):
        period_name = f"{basis}_prior_award_bar"
        period = data.thresholds.periods.get(regime.id, {}).get(period_name)
        barred = []
        if period is not None:
            for award in c.prior_reserved_awards:
                if award.basis != basis:
                    continue
                if not any(related(a[:8], b) for a in award.cpv for b in codes):
                    continue
                until = add_months(award.awarded, period.months)
                if award.awarded <= c.procurement_start < until:
                    barred.append(f"{award.supplier} until {until.isoformat()}")
        facts[f"prior.{basis}.within_bar"] = bool(barred)
        details[f"prior.{basis}.barred"] = "; ".join(barred)
    return ContractFacts(facts, details, in_force, values)


def threshold_details(cf: ContractFacts, applicable: str) -> dict[str, Any]:
    """Placeholders about the threshold the rules chose: {threshold.amount}, {threshold.title}, ..."""
    th = cf.thresholds.get(applicable)
    if th is None:
        return {}
    return {
        "threshold.name": th.name,
        "threshold.title": th.title,
        "threshold.amount": money(th.amount),
        "threshold.from": th.in_force_from.isoformat(),
        "threshold.regulation": th.regulation,
        "value": money(cf.values[applicable]),
        "vat_basis": "inclusive of VAT" if th.vat == "inclusive" else "net of VAT",
    }
