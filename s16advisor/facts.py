"""From a contract description to the facts the rules read, and the details their messages quote.

This is the only arithmetic between the input and the rulebook: converting the value to the VAT basis of
each threshold in force, comparing it with each threshold, testing the CPV codes against each list, and
summarising lots and prior reserved awards. Every legal decision is left to the rules.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Context, Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import Any
from weakref import WeakKeyDictionary

from .contract import ROUTE_IDS, ContractDescription, Objective
from .cpv import related
from .data import Data, InForce
from .rulebook import FactType, RegimeSpec, Scalar, date_number

# Sums and shares of lot values as written: amounts are at most 10^15 with pennies (17 digits), so their sums are
# exact, and a share more than 20% differs from 0.2 within 34 digits.
_EXACT = Context(prec=34)
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


def detail_names(regime: RegimeSpec, data: Data) -> frozenset[str]:
    """Every placeholder a message of ``regime`` may quote: the details ``build_facts`` fills (``EAGER_DETAILS``
    and the prior-award bars) and those ``Details`` works out when asked (the rulebook refuses any other)."""
    rd = _regime_data(data, regime)
    return frozenset((*EAGER_DETAILS, *(name for bar in rd.bars for name in bar[3:]), *rd.lazy))


def money(x: float) -> str:
    return f"£{x:,.0f}" if abs(x - round(x)) < 0.005 else f"£{x:,.2f}"


def in_basis(amount: float, given: str, vat_rate: float, basis: str) -> float:
    """``amount`` stated ``given`` ("inclusive"/"exclusive" of VAT) expressed on ``basis`` ("net"/"inclusive")."""
    if (given == "inclusive") == (basis == "inclusive"):
        return amount  # as given (£663,539.996 is below £663,540)
    value = amount / (1 + vat_rate) if given == "inclusive" else amount * (1 + vat_rate)
    return round(value, 2)  # converted, in pennies: a value equal to a threshold must compare equal, not 1e-10 below


def _lot_figures(lots: list[Any]) -> tuple[float, float, float]:
    """The lots' aggregate, the small lots' total and their share of the aggregate, exactly: the share is the
    float nearest the exact one (20% is 0.2, and any more is above it)."""
    values = [lot.value for lot in lots]
    if all(round(v, 2) == v for v in values) and sum(values) < 2 ** 44:  # pounds and pence: in whole pence,
        pence = [round(v * 100) for v in values]  # exact below 2**51 pence, and their quotient rounded once
        total = sum(pence)
        small = sum(p for p, lot in zip(pence, lots, strict=True) if lot.small_lot)
        return total / 100, small / 100, small / total if total > 0 else 0.0
    # Fractions of a penny: the values as written, summed and divided to 34 digits.
    exact = [Decimal(repr(v)) for v in values]
    total_d = small_d = Decimal(0)
    for d, lot in zip(exact, lots, strict=True):
        total_d = _EXACT.add(total_d, d)  # (a context of its own: the thread's may have been changed)
        if lot.small_lot:
            small_d = _EXACT.add(small_d, d)
    share = float(_EXACT.divide(small_d, total_d)) if total_d > 0 else 0.0
    return float(total_d), float(small_d), share


def percent(share: float) -> str:
    """A share as a percentage to one decimal place, or to as many as it takes not to read as a whole
    percentage it is not: a share just over 20% is "20.00005%", not "20.0%"."""
    p = share * 100
    text = f"{p:.1f}"
    if text.endswith(".0") and float(text) / 100 != share:
        for places in range(2, 16):
            shown = f"{p:.{places}f}".rstrip("0")
            if not shown.endswith("."):
                return shown + "%"
    return text + "%"


def versus(value: float, threshold: float) -> str:
    """Where a value stands against a threshold (equal is at or above)."""
    if value >= threshold:
        return "at_or_above"
    if value * 10 >= threshold * (NEAR_FRACTION * 10):
        return "just_below"
    return "below"


def uk_today(now: dt.datetime | None = None) -> dt.date:
    """Today in the UK, whose law's days these are, whatever the machine's time zone (see ``uk_time``)."""
    return uk_time(now or dt.datetime.now(dt.UTC)).date()


def uk_time(moment: dt.datetime) -> dt.datetime:
    """The UK's civil time (naive) at a moment, whatever the machine's time zone and without its tz database: GMT,
    or BST (UTC+1) from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October (Summer
    Time Order 2002). A naive ``moment`` is the machine's local time, as ``datetime.astimezone`` reads it;
    OverflowError for a moment whose UTC time falls outside years 1 to 9999."""
    now = moment.astimezone(dt.UTC)

    def changes(month: int) -> dt.datetime:
        last = dt.date(now.year, month, 31)
        sunday = last - dt.timedelta(days=(last.weekday() + 1) % 7)
        return dt.datetime.combine(sunday, dt.time(1), dt.UTC)

    summer = changes(3) <= now < changes(10)
    return (now + dt.timedelta(hours=1) if summer else now).replace(tzinfo=None)


# The thresholds revised every two years (the GPA's, in sterling): the others (light touch, Welsh figures) are not.
REVISED_THRESHOLDS = ("supplies_services_central", "supplies_services_sub_central", "works")


def newer_figures_note(day: dt.date, rows: Iterable[Any]) -> str | None:
    """On a day two years or more after the newest revised thresholds (``rows``: those in force, with ``name`` and
    ``in_force_from``) took effect: that newer ones may be in force (the data holds only the figures made so far)."""
    revised = [r.in_force_from for r in rows if r.name in REVISED_THRESHOLDS]
    if not revised or day < add_months(newest := max(revised), 24):
        return None
    return (f"The newest figures here took effect on {newest.isoformat()}, and thresholds are revised every two "
            f"years: newer ones may be in force on {day.isoformat()}.")


def add_months(day: dt.date, months: int) -> dt.date:
    """``months`` calendar months after ``day`` (the last day of a shorter month; the last date there is, past
    the year 9999)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    if year > dt.MAXYEAR:
        return dt.date.max
    for d in (day.day, 30, 29, 28):  # 29 Feb + 12 months -> 28 Feb
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover


@dataclass
class ContractFacts:
    facts: dict[str, Scalar]
    details: Details
    thresholds: Mapping[str, InForce]  # in force (read-only: shared by the contracts of one stretch of days)
    values: dict[str, float]  # the contract value on each threshold's VAT basis


_BASIS_WORDS = {"inclusive": "inclusive of VAT", "net": "net of VAT"}
NO_VAT_WORDS = "with no VAT charged"  # a value at a VAT rate of 0 (exempt care, zero-rated supplies): either basis


def basis_words(basis: str, rate: float | None = None) -> str:
    """How a value on ``basis`` is described: "inclusive of VAT", "net of VAT", or, at a rate of 0, that no VAT
    is charged (VAT-exempt social care is most of what Section 16 reserves: "inclusive of VAT" misled); with no
    rate (a threshold's amount, or a rate not known), its basis."""
    return NO_VAT_WORDS if rate == 0 else _BASIS_WORDS[basis]
# The details build_facts fills for every contract (besides the prior-award bars, prior.<basis>.barred and
# prior.<basis>.awarded): a test checks it against what build_facts fills.
EAGER_DETAILS = ("duration_months", "declared_route", "reservation", "contract_type", "authority_type", "lots.count")


class Details(dict[str, str]):
    """The placeholders a rule's message may quote ({value}, {cpv.light_touch.outside}, ...), filled the first
    time a message asks for one (an advice quotes a handful of the fifty-odd): ``details[name]`` works one out
    from what ``build_facts`` left here, or raises KeyError when the contract has no such detail (the
    placeholder then stays as written). ``applied`` is the threshold the rules chose, set before any message
    is filled: {threshold.*}, and {value} and {vat_basis} on its VAT basis."""

    __slots__ = ("lazy", "day", "commenced", "thresholds", "values", "value", "basis", "applied", "codes",
                 "infos", "lots")

    def __missing__(self, name: str) -> str:
        make = self.lazy.get(name)
        if make is None:
            raise KeyError(name)
        text = self[name] = make(self, name)
        return text


def _headline_details(d: Details, name: str) -> str:
    """{value} and {vat_basis} (on the chosen threshold's basis) and the {threshold.*} details, worked out together
    the first time a message quotes one (most advices quote several)."""
    d["value"], d["vat_basis"] = stated_value(d)
    if d.applied is not None:
        d.update(threshold_details(d.applied))
    if name not in d:  # a {threshold.*} when no threshold was chosen: the placeholder stays
        raise KeyError(name)
    return d[name]


def stated_value(d: Details) -> tuple[str, str]:
    """{value} and {vat_basis}: the value on the chosen threshold's VAT basis (else on the headline's), and it."""
    th = d.applied
    if th is None:
        return money(d.value), basis_words(d.basis, d.lots[4])
    return money(d.values[th.name]), basis_words(th.vat, d.lots[4])


def threshold_details(th: InForce) -> dict[str, str]:
    """The {threshold.*} details when the rules chose ``th``: the same for every contract they chose it for."""
    return {"threshold.name": th.name, "threshold.title": th.title, "threshold.regulation": th.regulation,
            "threshold.amount": _amount(th.amount), "threshold.from": th.in_force_from.isoformat()}


def table_details(in_force: Mapping[str, InForce]) -> dict[str, str]:
    """The {thresholds.NAME} details of the thresholds ``in_force`` (those not in force have none)."""
    return {f"thresholds.{name}": _amount(th.amount) for name, th in in_force.items()}


def _lots_details(d: Details, name: str) -> str:
    """The three lot details, worked out together the first time a message quotes one. Money is on the VAT basis
    of the thresholds in force (the small-lot values share it), with its words: a lot stated net is compared
    with a small-lot value inclusive of VAT from 2022, and quoted as compared."""
    largest, small_total, share, given, rate = d.lots
    words = basis_words(d.basis, rate)
    d["lots.small_share"] = percent(share)
    d["lots.small_total"] = f"{money(in_basis(small_total, given, rate, d.basis))} {words}"
    d["lots.largest_small"] = \
        f"{largest.id} ({money(in_basis(largest.value, given, rate, d.basis))} {words})" if largest else "none"
    return d[name]


@lru_cache(maxsize=4096)
def _amount(x: float) -> str:
    """A threshold's amount as money (a few dozen amounts, quoted by most advices)."""
    return money(x)


def _lazy_details(thresholds: list[str], cpv_lists: list[str]) -> dict[str, Callable[[Details, str], str]]:
    """How each detail that is not filled eagerly is worked out."""
    table: dict[str, Callable[[Details, str], str]] = {
        "start": lambda d, _: d.commenced.isoformat(),
        "evaluated_on": lambda d, _: d.day.isoformat(),
        "value": _headline_details,
        "vat_basis": _headline_details,
        "threshold.name": _headline_details,
        "threshold.title": _headline_details,
        "threshold.amount": _headline_details,
        "threshold.from": _headline_details,
        "threshold.regulation": _headline_details,
        "cpv.check_digit": lambda d, _: ", ".join(sorted(info[1] for info in d.infos if info[1] is not None)),
        "lots.small_share": _lots_details,
        "lots.small_total": _lots_details,
        "lots.largest_small": _lots_details,
    }
    for name in thresholds:
        table[f"thresholds.{name}"] = lambda d, _, n=name: _amount(d.thresholds[n].amount)  # (table_details)
        table[f"values.{name}"] = lambda d, _, n=name: money(d.values[n])
        # how {values.NAME} is stated: "inclusive of VAT", "net of VAT" or "with no VAT charged"
        table[f"vat.{name}"] = lambda d, _, n=name: basis_words(d.thresholds[n].vat, d.lots[4])
    for k, name in enumerate(cpv_lists):  # ("none": a supplies contract's codes may all be in a list of services)
        table[f"cpv.{name}.outside"] = lambda d, _, k=k: ", ".join(
            code for code, info in zip(d.codes, d.infos, strict=True) if not info[0][k]) or "none"
        table[f"cpv.{name}.inside"] = lambda d, _, k=k: ", ".join(
            code for code, info in zip(d.codes, d.infos, strict=True) if info[0][k]) or "none"
    return table


CodeInfo = tuple[tuple[bool, ...], str | None]  # a code: in each CPV list?, its check-digit mismatch


class _RegimeData:
    """What ``build_facts`` needs of one regime's data, worked out once per ``Data`` (which is not changed
    once loaded): the threshold rows per stretch of days, the prior-award bars, and the CPV lists' answers
    per code."""

    def __init__(self, data: Data, regime: RegimeSpec):
        self.data = data
        self.regime_id = regime.id
        self.regime_end = regime.in_force.to
        thresholds = data.thresholds.regimes.get(regime.id, {})
        self.names = list(thresholds)
        # The thresholds in force change only on the `from` day of one of their values (each value stays in
        # force until the day before the next one's `from`, or the regime's end): days between two such
        # `from` days have the same thresholds in force.
        self.changes = sorted({v.from_ for th in thresholds.values() for v in th.values})
        self.by_epoch: dict[int, tuple[Mapping[str, InForce], list[tuple[Any, ...]], str]] = {}
        periods = data.thresholds.periods.get(regime.id, {})
        self.bars = [(basis, periods.get(f"{basis}_prior_award_bar"), f"prior.{basis}.within_bar",
                      f"prior.{basis}.barred", f"prior.{basis}.awarded") for basis in ("reg77", "s33")]
        self.lists = [(f"cpv.{name}.all", f"cpv.{name}.any") for name in data.cpv_lists]
        self.lazy = _lazy_details(self.names, list(data.cpv_lists))
        self.codes: dict[str, CodeInfo] = {}
        self.combos: dict[tuple[str, ...], tuple[dict[str, Scalar], list[CodeInfo]]] = {}
        self.interned: dict[tuple[Scalar, ...], dict[str, Scalar]] = {}
        self.objectives: dict[frozenset[Objective], dict[str, Scalar]] = {}

    def on(self, day: dt.date) -> tuple[Mapping[str, InForce], list[tuple[Any, ...]], str]:
        """The thresholds in force on ``day``, one row per threshold of the regime, and the main VAT basis."""
        epoch = bisect_right(self.changes, day)
        hit = self.by_epoch.get(epoch)
        if hit is None:
            in_force = self.data.thresholds_in_force(self.regime_id, day, self.regime_end)
            rows = [(name, in_force.get(name), f"vs.{name}", f"small_lot_vs.{name}") for name in self.names]
            rows = [(name, th, vs, small_vs, th and th.vat, th and th.amount) for name, th, vs, small_vs in rows]
            # The headline value is on the basis of the regime's main thresholds (they share one basis per date).
            main_basis = next((t.vat for t in in_force.values()), "inclusive")
            hit = self.by_epoch[epoch] = (MappingProxyType(in_force), rows, main_basis)  # shared: read-only
        return hit

    def code(self, code: str) -> CodeInfo:
        """A CPV code as given: whether it is in each CPV list, and its check-digit mismatch if it has one."""
        info = self.codes.get(code)
        if info is None:
            code8 = code[:8]
            inside = tuple(code8 in lst for lst in self.data.cpv_lists.values())
            mismatch = None
            if len(code) == 10:
                official = self.data.official_check_digit(code8)
                if official is not None and official != code[9]:
                    mismatch = f"{code} (official check digit {official})"
            if len(self.codes) >= _CODES_CACHED:
                self.codes.clear()
            info = self.codes[code] = (inside, mismatch)
        return info


    def codes_facts(self, codes: tuple[str, ...]) -> tuple[dict[str, Scalar], list[CodeInfo]]:
        """The CPV facts of a contract's codes (each list: all of them in it? any?; a check digit wrong?), and
        each code's answers, worked out once per combination of codes."""
        got = self.combos.get(codes)
        if got is None:
            infos = [self.code(code) for code in codes]
            facts: dict[str, Scalar] = {}
            for k, (all_name, any_name) in enumerate(self.lists):
                inside = [info[0][k] for info in infos]
                facts[all_name] = all(inside)
                facts[any_name] = any(inside)
            facts["cpv.check_digit_mismatch"] = any(info[1] is not None for info in infos)
            facts = self.interned.setdefault(tuple(facts.values()), facts)  # a few distinct answers: one each
            if len(self.combos) >= _COMBOS_CACHED:
                self.combos.clear()
            got = self.combos[codes] = (facts, infos)
        return got


_CODES_CACHED = 16384  # CPV codes as given, remembered per regime's data (CPV 2008 has 9,454)
_COMBOS_CACHED = 4096  # combinations of a contract's codes (and its lots' codes), cleared when full
_REGIME_DATA: WeakKeyDictionary[Data, dict[tuple[str, dt.date | None], _RegimeData]] = WeakKeyDictionary()
_OBJECTIVES = tuple((f"objectives.{o.value}", o) for o in Objective)


def _regime_data(data: Data, regime: RegimeSpec) -> _RegimeData:
    per_data = _REGIME_DATA.get(data)
    if per_data is None:
        per_data = _REGIME_DATA[data] = {}
    key = (regime.id, regime.in_force.to)
    rd = per_data.get(key)
    if rd is None:
        rd = per_data[key] = _RegimeData(data, regime)
    return rd


def build_facts(c: ContractDescription, regime: RegimeSpec, data: Data, on: dt.date | None = None) -> ContractFacts:
    """The facts of ``c`` under ``regime``, with the thresholds and rules in force ``on`` (default: commencement)."""
    commenced = c.procurement_start
    day = on or commenced
    rd = _regime_data(data, regime)
    in_force, rows, main_basis = rd.on(day)
    value = c.value
    amount, given, rate = value.amount, value.vat, value.vat_rate
    lots = c.lots or []
    small_total, share = 0.0, 0.0
    if lots:  # the aggregate of all lots is compared with the thresholds (within £1 of value.amount)
        amount, small_total, share = _lot_figures(lots)
    contract_type = c.contract_type._value_  # (.value is a Python property)
    authority_type = c.authority.type._value_
    reservation = c.reservation._value_
    declared = c.route or "none"
    innovation = c.innovation
    facts: dict[str, Scalar] = {
        "start": date_number(day),
        "commenced": date_number(commenced),
        "contract_type": contract_type,
        "authority_type": authority_type,
        "nation": c.authority.nation._value_,
        "reservation": reservation,
        "declared_route": declared,
        "duration_months": float(c.duration_months),
        "innovation.solution_available_on_market": str(innovation.solution_available_on_market).lower(),
        "innovation.research_and_development": innovation.research_and_development,
        "reasons_for_not_lotting": bool(c.reasons_for_not_lotting and c.reasons_for_not_lotting.strip()),
    }
    details = Details(
        duration_months=str(c.duration_months),
        declared_route=declared,
        reservation=reservation,
        contract_type=contract_type,
        authority_type=authority_type.replace("_", "-"),
    )
    values: dict[str, float] = {}
    small = [lot for lot in lots if lot.small_lot]
    largest = max(small, key=lambda lot: lot.value) if small else None
    largest_small = largest.value if largest is not None else None
    on_basis: dict[str, float] = {}  # the value on each VAT basis
    for name, th, vs_name, small_vs_name, basis, limit in rows:
        if th is None:
            facts[vs_name] = "not_in_force"
            facts[small_vs_name] = "not_in_force"
            continue
        v = on_basis.get(basis)
        if v is None:
            v = on_basis[basis] = in_basis(amount, given, rate, basis)
        values[name] = v
        facts[vs_name] = versus(v, limit)
        facts[small_vs_name] = (
            "none" if largest_small is None else versus(in_basis(largest_small, given, rate, basis), limit)
        )
    headline = on_basis.get(main_basis)
    if headline is None:
        headline = in_basis(amount, given, rate, main_basis)
    facts["value"] = headline

    # The contract's codes and its lots' codes: "exclusively for" (reg 77) reads the whole contract.
    codes = [*c.cpv, *(x for lot in lots if lot.cpv for x in lot.cpv)] if lots else c.cpv
    given_codes = tuple(dict.fromkeys(codes)) if len(codes) > 1 else tuple(codes)
    cpv_facts, infos = rd.codes_facts(given_codes)
    facts.update(cpv_facts)

    facts["lots.count"] = float(len(lots))
    facts["lots.small_count"] = float(len(small))
    facts["lots.small_share"] = share
    details["lots.count"] = str(len(lots))

    objectives = frozenset(c.objectives)
    objective_facts = rd.objectives.get(objectives)
    if objective_facts is None:  # a handful of combinations
        objective_facts = rd.objectives[objectives] = {fact: o in objectives for fact, o in _OBJECTIVES}
    facts.update(objective_facts)

    awards = c.prior_reserved_awards
    codes8 = [code[:8] for code in given_codes] if awards else []
    for basis, period, fact, detail, awarded_detail in rd.bars:
        barred, awarded = [], []
        if period is not None:
            for award in awards:
                if award.basis != basis:
                    continue
                if not any(related(a[:8], b) for a in award.cpv for b in codes8):
                    continue
                until = add_months(award.awarded, period.months)
                if commenced < until:  # (an award made after commencement, before this one, bars too)
                    barred.append(f"{award.supplier} until {until.isoformat()}")
                    awarded.append(f"{award.supplier} (awarded {award.awarded.isoformat()})")
        facts[fact] = bool(barred)
        details[detail] = "; ".join(barred)
        details[awarded_detail] = "; ".join(awarded)  # the same awards, for a message that says they bar no one

    details.lazy = rd.lazy
    details.day, details.commenced = day, commenced
    details.thresholds, details.values = in_force, values
    details.value, details.basis, details.applied = headline, main_basis, None
    details.codes, details.infos = given_codes, infos
    details.lots = (largest, small_total, share, given, rate)
    return ContractFacts(facts, details, in_force, values)
