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
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel

from .advice import Advice, Blocker, Finding, RegimeRef, RouteAdvice, ThresholdRef, TraceEntry, Valuation
from .contract import ContractDescription, contract_from_document, locate
from .data import Data, load_data
from .engine import Engine, Evaluator, default_engine
from .errors import EngineError, InputError
from .facts import ContractFacts, build_facts, fact_catalogue
from .rulebook import (
    Compiler,
    Program,
    RegimeSpec,
    RouteSpec,
    Rulebook,
    Template,
    default_rulebook,
    load_rulebook,
    render_message,
    template,
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


class _Route(NamedTuple):
    """What one route says for one combination of the rules fired that touch it: all but the filled messages."""

    id: str
    title: str
    status: str
    kind: str
    because: tuple[Template, ...]  # none: the route's summary, unless it is blocked
    summary: list[str]
    blocked_by: tuple[tuple[Any, ...], ...]  # (code, message, reference, rule, the Blocker when the message is static)
    conditions: tuple[Template, ...]
    references: tuple[str, ...]


_CACHED = 65536  # route, findings and plan skeletons kept per regime (a handful of combinations is typical)


class _Static:
    """What ``_assemble`` needs of a regime's program, worked out once, and its answers per combination of
    fired rules.

    Everything an advice says, except the contract's own figures in its messages and thresholds, depends only
    on which rules fired. Each route depends only on the fired rules that touch it (block it, note a
    condition on it, recommend it, or lend it references), so its skeleton is kept per that combination (a bit
    mask of rule indexes); likewise the findings (the fired rules with findings) and the plan (those that
    recommend). The advice then only fills in messages."""

    def __init__(self, regime: RegimeSpec, program: Program, make: _Makers):
        self.regime = regime
        self.program = program
        self.make = make
        order = sorted(program.rules, key=lambda r: (r.stage, r.index))
        self.order = [cr.index for cr in order]  # evaluation order
        # Two entries per rule, fired and not, made once and shared by every advice (TraceEntry is frozen).
        self.trace: list[tuple[int, TraceEntry, TraceEntry]] = [
            (1 << cr.index,
             TraceEntry(rule=cr.rule.id, title=cr.rule.title, stage=cr.stage, fired=True, facts=dict(cr.writes),
                        source=cr.source),
             TraceEntry(rule=cr.rule.id, title=cr.rule.title, stage=cr.stage, fired=False, facts={},
                        source=cr.source))
            for cr in order]
        self.rules: list[tuple[Any, ...]] = []  # by rule index
        route_masks = {r.id: 0 for r in regime.routes}
        self.finding_mask = self.plan_mask = 0
        for cr in program.rules:
            rule, then = cr.rule, cr.rule.then
            ref = rule.references[0]
            self.rules.append((
                [(b.route, (b.code, template(b.message), ref, rule.id)) for b in then.block],
                [(n.route, template(n.message)) for n in then.condition],
                [(rec.order, rec.route, template(rec.message)) for rec in then.recommend],
                [(f.code, f.severity, template(f.message), ref, rule.id, FINDING_FIELDS.get(f.code))
                 for f in then.finding],
                rule.references,
            ))
            for route in {x.route for x in (*then.block, *then.condition, *then.recommend)}:
                route_masks[route] |= 1 << cr.index
            if then.finding:
                self.finding_mask |= 1 << cr.index
            if then.recommend:
                self.plan_mask |= 1 << cr.index
        self.routes = [(k, spec, route_masks[spec.id]) for k, spec in enumerate(regime.routes)]
        self._routes: dict[tuple[int, int], _Route] = {}
        self._findings: dict[int, list[tuple[Any, ...]]] = {}
        self._plans: dict[int, list[str]] = {}

    def _fired(self, mask: int) -> list[int]:
        return [i for i in self.order if mask >> i & 1]

    def plan(self, mask: int) -> list[str]:
        """The recommended routes, in plan order, for the fired rules (as a bit mask)."""
        key = mask & self.plan_mask
        got = self._plans.get(key)
        if got is None:
            plan = sorted((order, i, route) for i in self._fired(key) for order, route, _ in self.rules[i][2])
            got = [route for _, _, route in plan]
            if len(self._plans) >= _CACHED:
                self._plans.clear()
            self._plans[key] = got
        return got

    def findings(self, mask: int) -> list[tuple[Any, ...]]:
        key = mask & self.finding_mask
        got = self._findings.get(key)
        if got is None:
            got = [f for i in self._fired(key) for f in self.rules[i][3]]
            if len(self._findings) >= _CACHED:
                self._findings.clear()
            self._findings[key] = got
        return got

    def route(self, k: int, spec: RouteSpec, key: int, recommended: bool) -> _Route:
        """Route ``k``'s skeleton; ``key`` is the fired rules that touch it, ``recommended`` whether it is planned
        (decided by those same rules)."""
        got = self._routes.get((k, key))
        if got is not None:
            return got
        fired = self._fired(key)
        regime = self.regime
        if spec.not_in_regime:
            blocked = [("not_in_regime", template(spec.not_in_regime), regime.reference, f"{regime.id}.routes")]
        else:
            blocked = [b for i in fired for route, b in self.rules[i][0] if route == spec.id]
        if recommended and blocked:
            raise EngineError(f"rulebook error: route {spec.id} is both recommended and blocked")
        because = tuple(m for i in fired for _, route, m in self.rules[i][2] if route == spec.id)
        conditions = tuple(m for i in fired for route, m in self.rules[i][1] if route == spec.id)
        references = [spec.reference]
        for i in fired:
            references += [r for r in self.rules[i][4] if r not in references]
        make = self.make
        got = _Route(
            id=spec.id, title=spec.title, kind=spec.kind,
            status="unavailable" if blocked else "recommended" if recommended else "available",
            because=because, summary=[] if blocked or because else [spec.summary],
            blocked_by=tuple((*b, None if b[1].names else make.blocker(code=b[0], message=b[1].text,
                                                                         reference=b[2], rule=b[3]))
                             for b in blocked),
            conditions=() if blocked else conditions, references=tuple(references))
        if len(self._routes) >= _CACHED:
            self._routes.clear()
        self._routes[k, key] = got
        return got


_STATIC: dict[int, _Static] = {}


def _static(regime: RegimeSpec, program: Program, make: _Makers) -> _Static:
    st = _STATIC.get(id(program))
    if st is None or st.program is not program or st.regime is not regime or st.make is not make:
        if len(_STATIC) >= 64:
            _STATIC.clear()
        st = _STATIC[id(program)] = _Static(regime, program, make)
    return st


def _assemble(
    c: ContractDescription, regime: RegimeSpec, program: Program, cf: ContractFacts,
    fired: list[int], facts: dict[str, object],
) -> Advice:
    make = _makers()
    st = _static(regime, program, make)
    applicable = str(facts.get("threshold", "none"))
    details = cf.details
    details.applied = cf.thresholds.get(applicable)
    rendered: dict[str, str] = {}

    def render(m: Template) -> str:
        if not m.names:
            return m.text
        text = rendered.get(m.text)
        if text is None:
            text = rendered[m.text] = m.fill(details)
        return text

    mask = 0
    for i in fired:
        mask |= 1 << i
    recommended = st.plan(mask)
    blockers: dict[tuple[Any, ...], Blocker] = {}  # one Blocker per rule and message in an advice (frozen)
    routes: list[RouteAdvice] = []
    for k, spec, route_mask in st.routes:
        r = st.route(k, spec, mask & route_mask, spec.id in recommended)
        blocked_by = []
        for b in r.blocked_by:
            blocker = b[4]
            if blocker is None:
                blocker = blockers.get(b)
                if blocker is None:
                    blocker = blockers[b] = make.blocker(code=b[0], message=render(b[1]), reference=b[2], rule=b[3])
            blocked_by.append(blocker)
        conditions = [render(m) for m in r.conditions]
        if len(conditions) > 1:
            conditions = list(dict.fromkeys(conditions))
        routes.append(make.route(
            id=r.id, title=r.title, status=r.status, kind=r.kind,
            because=[render(m) for m in r.because] or list(r.summary),
            blocked_by=blocked_by, conditions=conditions, references=list(r.references),
        ))
    findings = [make.finding(code=code, severity=severity, message=render(m), reference=ref, rule=rule_id,
                             field=field)
                for code, severity, m, ref, rule_id, field in st.findings(mask)]
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
        recommended=list(recommended),
        findings=findings,
        trace=[hit if mask & bit else idle for bit, hit, idle in st.trace],
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
