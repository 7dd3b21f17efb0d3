"""The advisor: a contract description in, Advice v1 out.

``advise(contract)`` picks the regime in force on the commencement date, builds the facts, lets the engine
run the regime's compiled rules, and turns what fired into routes, a recommended plan, findings and a trace.
Everything legal is in the rulebook; this module only assembles.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from .advice import Advice, Blocker, Finding, RegimeRef, RouteAdvice, ThresholdRef, TraceEntry, Valuation
from .contract import ContractDescription, contract_from_document, locate
from .data import Data, load_data
from .engine import Engine, Evaluator, default_engine
from .errors import EngineError, InputError
from .facts import ContractFacts, build_facts, fact_catalogue, threshold_details
from .rulebook import (
    Compiler,
    Program,
    RegimeSpec,
    Rulebook,
    default_rulebook,
    load_rulebook,
    render_message,
)
from .yamlio import Document, load_document

# Which finding is about which input field (check uses it for line numbers).
FINDING_FIELDS = {
    "declared_route_unavailable": "route",
    "reservation_unavailable": "reservation",
    "near_threshold": "value.amount",
    "lots_not_considered": "lots",
    "prior_reserved_award": "prior_reserved_awards",
    "cpv_check_digit": "cpv",
    "community_benefits": "value.amount",
    "major_construction_contract": "value.amount",
    "health_services_regime": "cpv",
}


class Advisor:
    """A rulebook and its data compiled once, evaluated on as many contracts as needed."""

    def __init__(self, rulebook: Rulebook | None = None, data: Data | None = None, engine: Engine | None = None):
        self.rulebook = rulebook or default_rulebook()
        self.data = data or load_data()
        self.evaluator = Evaluator(engine or default_engine())
        self.programs: dict[str, Program] = {}
        for regime in self.rulebook.regimes:
            if regime.encoded:
                compiler = Compiler(
                    regime,
                    fact_catalogue(regime, self.data),
                    list(self.data.thresholds.regimes.get(regime.id, {})),
                    list(self.data.cpv_lists),
                )
                self.programs[regime.id] = compiler.compile(self.rulebook.rules[regime.id])

    def regime_for(self, day: dt.date) -> RegimeSpec:
        regime = self.rulebook.regime_for(day)
        if regime is None:
            first = min(r.in_force.from_ for r in self.rulebook.regimes)
            raise InputError([("procurement_start", f"{day.isoformat()} is before {first.isoformat()}, the earliest "
                               "date the rulebook covers (PCR 2015 came into force on 2015-02-26)")])
        if not regime.encoded:
            raise InputError([("procurement_start", f"{day.isoformat()} falls under the {regime.title}, whose rules "
                               "are not encoded yet")])
        return regime

    def advise(self, contract: ContractDescription, *, regime_id: str | None = None) -> Advice:
        """Advice under the regime in force on the commencement date, or under ``regime_id`` as if it applied.

        A contract advised under a regime that was not in force on its commencement date is evaluated on the
        nearest day that regime was in force (its first or last day), and the advice says so.
        """
        regime = self.regime_for(contract.procurement_start) if regime_id is None else self._regime(regime_id)
        day = contract.procurement_start
        span = regime.in_force
        on = span.from_ if day < span.from_ else span.to if span.to is not None and day > span.to else day
        program = self.programs[regime.id]
        cf = build_facts(contract, regime, self.data, on)
        evaluation = self.evaluator.evaluate(program, cf.facts)
        advice = _assemble(contract, regime, program, cf, evaluation.fired, evaluation.facts)
        if on != day:
            advice.regime.because = (
                f"procurement commenced on {day.isoformat()}, when the {regime.title} did not apply; compared as "
                f"if commenced on {on.isoformat()}, the {'first' if on == span.from_ else 'last'} day it applied"
            )
            advice.regime.applies = False
        return advice

    def compare(self, contract: ContractDescription) -> list[Advice]:
        """The same contract under every encoded regime, the one in force first."""
        applicable = self.regime_for(contract.procurement_start).id
        ids = [applicable] + [r for r in self.programs if r != applicable]
        return [self.advise(contract, regime_id=r) for r in ids]

    def _regime(self, regime_id: str) -> RegimeSpec:
        for r in self.rulebook.regimes:
            if r.id == regime_id and r.encoded:
                return r
        raise InputError([("", f"unknown or unencoded regime {regime_id!r}")])


# ---------------------------------------------------------------- assembling the Advice
#
# Every value an Advice is made of is already valid (the rulebook, the data and the contract are validated
# when they are loaded), and validating its hundred-odd models again was most of the time an advice took.
# So ``_FastMakers`` makes them as ``model_construct`` does (``__dict__`` in field order, the fields set, no
# extra, no private attributes), without validation. ``_makers`` checks once, on first use, that each fast
# maker gives exactly what the validating constructor gives (the same state, the same JSON), and falls back
# to ``_ValidatingMakers``, with a warning, if one does not: a model of advice.py changed without its maker
# here, or a pydantic that keeps a model's state differently.


def _slot_setter(name: str) -> Callable[[Any, Any], None]:
    """The setter of one attribute every model instance has (pydantic keeps them in slots of BaseModel)."""
    descriptor = vars(BaseModel).get(name)
    if descriptor is not None and hasattr(descriptor, "__set__"):
        return descriptor.__set__  # type: ignore[no-any-return]
    return lambda obj, value: object.__setattr__(obj, name, value)


_new = object.__new__
_set_dict = _slot_setter("__dict__")
_set_fields = _slot_setter("__pydantic_fields_set__")
_set_extra = _slot_setter("__pydantic_extra__")
_set_private = _slot_setter("__pydantic_private__")
_M = TypeVar("_M", bound=BaseModel)


def _build(cls: type[_M], values: dict[str, Any], fields_set: set[str]) -> _M:
    m = _new(cls)
    _set_dict(m, values)
    _set_fields(m, fields_set)
    _set_extra(m, None)
    _set_private(m, None)
    return m


class _FastMakers:
    """The Advice models made without validation (see above); the same keyword arguments as the models."""

    def __init__(self) -> None:
        self.applies = RegimeRef.model_fields["applies"].default
        self.schema = Advice.model_fields["schema_"].default

    @staticmethod
    def blocker(code: str, message: str, reference: str, rule: str) -> Blocker:
        return _build(Blocker, {"code": code, "message": message, "reference": reference, "rule": rule},
                      {"code", "message", "reference", "rule"})

    @staticmethod
    def finding(code: str, severity: str, message: str, reference: str, rule: str | None,
                field: str | None) -> Finding:
        return _build(Finding, {"code": code, "severity": severity, "message": message, "reference": reference,
                                "rule": rule, "field": field},
                      {"code", "severity", "message", "reference", "rule", "field"})

    @staticmethod
    def route(id: str, title: str, status: str, kind: str, because: list[str], blocked_by: list[Blocker],
              conditions: list[str], references: list[str]) -> RouteAdvice:
        return _build(RouteAdvice, {"id": id, "title": title, "status": status, "kind": kind, "because": because,
                                    "blocked_by": blocked_by, "conditions": conditions, "references": references},
                      {"id", "title", "status", "kind", "because", "blocked_by", "conditions", "references"})

    @staticmethod
    def threshold(name: str, title: str, regulation: str, amount: float, vat_basis: str, in_force_from: dt.date,
                  in_force_to: dt.date | None, reference: str, verify: str | None, value: float,
                  above: bool) -> ThresholdRef:
        return _build(ThresholdRef, {"name": name, "title": title, "regulation": regulation, "amount": amount,
                                     "vat_basis": vat_basis, "in_force_from": in_force_from,
                                     "in_force_to": in_force_to, "reference": reference, "verify": verify,
                                     "value": value, "above": above},
                      {"name", "title", "regulation", "amount", "vat_basis", "in_force_from", "in_force_to",
                       "reference", "verify", "value", "above"})

    @staticmethod
    def valuation(value: float, vat_basis: str, threshold: ThresholdRef | None, above_threshold: bool,
                  thresholds_in_force: list[ThresholdRef]) -> Valuation:
        return _build(Valuation, {"value": value, "vat_basis": vat_basis, "threshold": threshold,
                                  "above_threshold": above_threshold, "thresholds_in_force": thresholds_in_force},
                      {"value", "vat_basis", "threshold", "above_threshold", "thresholds_in_force"})

    def regime(self, id: str, title: str, because: str, reference: str) -> RegimeRef:
        return _build(RegimeRef, {"id": id, "title": title, "because": because, "reference": reference,
                                  "applies": self.applies},
                      {"id", "title", "because", "reference"})  # `applies` left at its default, unset

    def advice(self, contract_id: str, title: str, procurement_start: dt.date, regime: RegimeRef,
               valuation: Valuation, routes: list[RouteAdvice], recommended: list[str], findings: list[Finding],
               trace: list[TraceEntry]) -> Advice:
        return _build(Advice, {"schema_": self.schema, "contract_id": contract_id, "title": title,
                               "procurement_start": procurement_start, "regime": regime, "valuation": valuation,
                               "routes": routes, "recommended": recommended, "findings": findings, "trace": trace},
                      {"contract_id", "title", "procurement_start", "regime", "valuation", "routes", "recommended",
                       "findings", "trace"})  # `schema_` left at its default, unset


class _ValidatingMakers:
    """The same makers through the models' own (validating) constructors."""

    blocker = Blocker
    finding = Finding
    route = RouteAdvice
    threshold = ThresholdRef
    valuation = Valuation
    regime = RegimeRef
    advice = Advice


_Makers = _FastMakers | type[_ValidatingMakers]


def _same(a: Any, b: Any) -> bool:
    """Two models (or lists of models) with the same state, field order, fields set and JSON."""
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return (type(a) is type(b) and list(a.__dict__.items()) == list(b.__dict__.items())
            and a.__getstate__() == b.__getstate__() and a.model_dump_json() == b.model_dump_json())


@cache
def _makers() -> _Makers:
    fast, slow = _FastMakers(), _ValidatingMakers
    day = dt.date(2024, 1, 2)
    made: dict[str, tuple[Any, Any]] = {}

    def both(maker: str, /, **kw: Any) -> bool:
        a, b = getattr(fast, maker)(**kw), getattr(slow, maker)(**kw)
        made[maker] = (a, b)
        return _same(a, b)

    def pick(name: str, k: int) -> Any:
        return made[name][k]

    checks = [
        lambda: both("blocker", code="c", message="m", reference="https://r", rule="x.y"),
        lambda: both("finding", code="c", severity="info", message="m", reference="https://r", rule="x.y",
                     field=None),
        lambda: both("threshold", name="n", title="t", regulation="r", amount=1.5, vat_basis="net",
                     in_force_from=day, in_force_to=None, reference="https://r", verify="v", value=2.0, above=True),
        lambda: both("regime", id="i", title="t", because="b", reference="https://r"),
    ]
    for check in checks:
        if not check():
            return _fallback(list(made)[-1])
    routes = [m.route(id="i", title="t", status="unavailable", kind="procedure", because=["b"],
                      blocked_by=[pick("blocker", k)], conditions=[], references=["https://r"])
              for k, m in enumerate((fast, slow))]
    if not _same(*routes):
        return _fallback("route")
    valuations = [m.valuation(value=2.0, vat_basis="net", threshold=pick("threshold", k), above_threshold=True,
                              thresholds_in_force=[pick("threshold", k)]) for k, m in enumerate((fast, slow))]
    if not _same(*valuations):
        return _fallback("valuation")
    advices = [m.advice(contract_id="c", title="t", procurement_start=day, regime=pick("regime", k),
                        valuation=valuations[k], routes=[routes[k]], recommended=["i"], findings=[pick("finding", k)],
                        trace=[TraceEntry(rule="x.y", title="t", stage=0, fired=True, facts={"f": True}, source="s:1")])
                for k, m in enumerate((fast, slow))]
    if not _same(*advices):
        return _fallback("advice")
    return fast


def _fallback(name: str) -> type[_ValidatingMakers]:
    warnings.warn(f"s16advisor: the fast {name} maker does not make what the model makes (advice.py or pydantic "
                  "changed): advice is built with validation instead, which is slower", RuntimeWarning, stacklevel=3)
    return _ValidatingMakers


class _Static:
    """What ``_assemble`` needs of a regime's program, worked out once: per rule, what it blocks, the
    conditions it notes, what it recommends and finds, and the routes it touches; the trace rows."""

    def __init__(self, regime: RegimeSpec, program: Program):
        self.regime = regime
        self.program = program
        self.route_ids = [r.id for r in regime.routes]
        self.first_refs = [(r.id, r.reference) for r in regime.routes]
        # Two entries per rule, fired and not, made once and shared by every advice (TraceEntry is frozen).
        self.trace: list[tuple[int, TraceEntry, TraceEntry]] = [
            (cr.index,
             TraceEntry(rule=cr.rule.id, title=cr.rule.title, stage=cr.stage, fired=True, facts=dict(cr.writes),
                        source=cr.source),
             TraceEntry(rule=cr.rule.id, title=cr.rule.title, stage=cr.stage, fired=False, facts={},
                        source=cr.source))
            for cr in sorted(program.rules, key=lambda r: (r.stage, r.index))]
        self.rules: list[tuple[Any, ...]] = []  # by rule index
        for cr in program.rules:
            rule, then = cr.rule, cr.rule.then
            ref = rule.references[0]
            touched = {x.route for x in (*then.block, *then.condition, *then.recommend)}
            self.rules.append((
                [(b.route, b.code, b.message, ref, rule.id) for b in then.block],
                [(n.route, n.message) for n in then.condition],
                [(rec.order, rec.route, rec.message) for rec in then.recommend],
                [(f.code, f.severity, f.message, ref, rule.id, FINDING_FIELDS.get(f.code))
                 for f in then.finding],
                [(route, rule.references) for route in touched],
            ))


_STATIC: dict[int, _Static] = {}


def _static(regime: RegimeSpec, program: Program) -> _Static:
    st = _STATIC.get(id(program))
    if st is None or st.program is not program or st.regime is not regime:
        if len(_STATIC) >= 64:
            _STATIC.clear()
        st = _STATIC[id(program)] = _Static(regime, program)
    return st


def _assemble(
    c: ContractDescription, regime: RegimeSpec, program: Program, cf: ContractFacts,
    fired: list[int], facts: dict[str, object],
) -> Advice:
    make = _makers()
    st = _static(regime, program)
    applicable = str(facts.get("threshold", "none"))
    details = {**cf.details, **threshold_details(cf, applicable)}

    blockers: dict[str, list[Blocker]] = {r: [] for r in st.route_ids}
    conditions: dict[str, list[str]] = {r: [] for r in st.route_ids}
    because: dict[str, list[str]] = {r: [] for r in st.route_ids}
    refs: dict[str, list[str]] = {r: [ref] for r, ref in st.first_refs}
    plan: list[tuple[int, int, str]] = []
    findings: list[Finding] = []
    rules = st.rules
    for i in fired:  # evaluation order
        blocks, notes, recs, finds, touched = rules[i]
        for route, code, message, ref, rule_id in blocks:
            blockers[route].append(make.blocker(code=code, message=render_message(message, details), reference=ref,
                                                rule=rule_id))
        for route, message in notes:
            msg = render_message(message, details)
            if msg not in conditions[route]:
                conditions[route].append(msg)
        for order, route, message in recs:
            plan.append((order, i, route))
            because[route].append(render_message(message, details))
        for code, severity, message, ref, rule_id, field in finds:
            findings.append(make.finding(code=code, severity=severity, message=render_message(message, details),
                                         reference=ref, rule=rule_id, field=field))
        for route, references in touched:
            route_refs = refs[route]
            for r in references:
                if r not in route_refs:
                    route_refs.append(r)
    recommended = [route for _, _, route in sorted(plan)]
    routes: list[RouteAdvice] = []
    for spec in regime.routes:
        blocked = blockers[spec.id]
        if spec.not_in_regime:
            blocked = [make.blocker(code="not_in_regime", message=spec.not_in_regime, reference=regime.reference,
                                    rule=f"{regime.id}.routes")]
        if spec.id in recommended and blocked:
            raise EngineError(f"rulebook error: route {spec.id} is both recommended and blocked")
        status = "unavailable" if blocked else "recommended" if spec.id in recommended else "available"
        routes.append(make.route(
            id=spec.id, title=spec.title, status=status, kind=spec.kind,
            because=because[spec.id] or ([] if blocked else [spec.summary]),
            blocked_by=blocked, conditions=[] if blocked else conditions[spec.id], references=refs[spec.id],
        ))
    in_force = []
    values = cf.values
    for name, th in cf.thresholds.items():
        value = values[name]
        in_force.append(make.threshold(
            name=th.name, title=th.title, regulation=th.regulation, amount=th.amount, vat_basis=th.vat,
            in_force_from=th.in_force_from, in_force_to=th.in_force_to, reference=th.reference, verify=th.verify,
            value=value, above=value >= th.amount,
        ))
    main = next((t for t in in_force if t.name == applicable), None)
    fired_set = set(fired)
    return make.advice(
        contract_id=c.id,
        title=c.title,
        procurement_start=c.procurement_start,
        regime=make.regime(id=regime.id, title=regime.title,
                           because=" ".join(render_message(regime.because, details).split()),
                           reference=regime.reference),
        valuation=make.valuation(
            value=main.value if main else float(cf.facts["value"]),
            vat_basis=main.vat_basis if main else "inclusive",
            threshold=main,
            above_threshold=bool(main and main.above),
            thresholds_in_force=in_force,
        ),
        routes=routes,
        recommended=recommended,
        findings=findings,
        trace=[hit if index in fired_set else idle for index, hit, idle in st.trace],
    )


@cache
def default_advisor() -> Advisor:
    return Advisor()


def advise(contract: ContractDescription, *, regime_id: str | None = None) -> Advice:
    """Advice on one contract description, with the bundled rulebook and data."""
    return default_advisor().advise(contract, regime_id=regime_id)


def read_contract(path: str) -> tuple[ContractDescription, Document]:
    """Read and validate one contract description file (``-`` for stdin)."""
    doc = load_document(path)
    return contract_from_document(doc), doc


def advise_file(path: str) -> Advice:
    """Read, validate and advise on one contract description file (``-`` for stdin)."""
    contract, doc = read_contract(path)
    try:
        return advise(contract)
    except InputError as e:  # found after validation (a date no regime covers): give it the field's line
        raise locate(e, doc) from None


def compare_file(path: str) -> list[Advice]:
    """One contract description under every regime, the one in force on its commencement date first."""
    contract, doc = read_contract(path)
    try:
        return default_advisor().compare(contract)
    except InputError as e:
        raise locate(e, doc) from None


def advisor_for(rules: Path | None = None, data: Path | None = None) -> Advisor:
    return Advisor(load_rulebook(rules) if rules else None, load_data(str(data)) if data else None)
