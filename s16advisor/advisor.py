"""The advisor: a contract description in, Advice v1 out.

``advise(contract)`` picks the regime in force on the commencement date, builds the facts, lets the engine
run the regime's compiled rules, and turns what fired into routes, a recommended plan, findings and a trace.
Everything legal is in the rulebook; this module only assembles.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping
from functools import cache
from json.encoder import encode_basestring as _json_str  # a str's JSON text, as pydantic writes it
from operator import itemgetter
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel

from .advice import Advice, Blocker, Finding, RegimeRef, RouteAdvice, ThresholdRef, TraceEntry, Valuation
from .contract import ContractDescription, contract_from_document, locate
from .data import Data, load_data
from .engine import Engine, Evaluation, Evaluator, default_engine
from .errors import EngineError, InputError
from .facts import (
    ContractFacts,
    build_facts,
    detail_names,
    fact_catalogue,
    stated_value,
    table_details,
    threshold_details,
)
from .rulebook import (
    Compiler,
    Program,
    RegimeSpec,
    RouteSpec,
    Rulebook,
    Template,
    default_rulebook,
    literal,
    load_rulebook,
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


class Outline(NamedTuple):
    """What a CSV row of a review and its summary need of an advice, which ``Advisor.outline`` and
    ``Advisor.advise_json`` give without making the Advice (a test checks it against the Advice)."""

    regime: str
    value: float  # the valuation's value, on its VAT basis
    vat_basis: str
    threshold: str | None
    threshold_amount: float | None
    above_threshold: bool
    recommended: tuple[str, ...]
    # route id -> status (read-only): one object for every advice whose rules touching routes fired alike, which
    # also have the same recommended and blockers (a review keeps what it works out of those by it)
    statuses: Mapping[str, str]
    blockers: tuple[tuple[str, str], ...]  # (route, code), routes in order
    # (code, severity): one object for every advice whose rules reporting findings fired alike (the same use)
    findings: tuple[tuple[str, str], ...]


# The regime under which each basis of a prior reserved award (input v1 ``prior_reserved_awards[].basis``) is made.
_AWARD_REGIME = {"reg77": ("pcr2015", "reg 77"), "s33": ("pa2023", "s.33")}


class Advisor:
    """A rulebook and its data compiled once, evaluated on as many contracts as needed."""

    def __init__(self, rulebook: Rulebook | None = None, data: Data | None = None, engine: Engine | None = None):
        self.rulebook = rulebook or default_rulebook()
        self.data = data or load_data()
        self.evaluator = Evaluator(engine or default_engine())
        self.programs: dict[str, Program] = {}
        self._statics: dict[str, _Static] = {}  # per regime: what assembling its advice needs, made when first needed
        for regime in self.rulebook.regimes:
            if regime.encoded:
                self.rulebook.check_placeholders(regime.id, detail_names(regime, self.data))
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

    def advise(self, contract: ContractDescription | Mapping[str, Any], *, regime_id: str | None = None) -> Advice:
        """Advice under the regime in force on the commencement date, or under ``regime_id`` as if it applied (a
        mapping of the fields is validated first: see ``advise``).

        A contract advised under a regime that was not in force on its commencement date is evaluated on the
        nearest day that regime was in force (its first or last day), and the advice says so.
        """
        contract = as_contract(contract, "advise")
        regime, on, program, cf, evaluation = self._evaluate(contract, regime_id)
        advice = _assemble(contract, self._static(program), cf, evaluation)
        day, span = contract.procurement_start, regime.in_force
        if on != day:
            advice.regime.because = (
                f"procurement commenced on {day.isoformat()}, when the {regime.title} did not apply; compared as "
                f"if commenced on {on.isoformat()}, the {'first' if on == span.from_ else 'last'} day it applied"
            )
            advice.regime.applies = False
        return advice

    def outline(self, contract: ContractDescription) -> Outline:
        """What a review's CSV row and summary need of ``self.advise(contract)``, without making the Advice (its
        messages and models)."""
        st, shape, _, headline = self._shaped(contract)
        return _outline(st, shape, headline)

    def advise_json(self, contract: ContractDescription, *, trace: bool = False) -> tuple[bytes, Outline]:
        """What ``advice_json(self.advise(contract), trace=trace)`` and ``self.outline(contract)`` give, without
        making the Advice: its parts' JSON (which pydantic wrote once) with the contract's own values put in (for
        JSON results of many contracts). A test checks they agree byte for byte."""
        st, shape, cf, headline = self._shaped(contract)
        outline = _outline(st, shape, headline)
        try:
            return _fill_json(st, shape, contract, cf, headline, trace), outline
        except (_NotPlain, UnicodeEncodeError, TypeError):
            pass  # a value pydantic writes otherwise: a lone surrogate, a contract made without validation
        return advice_json(self.advise(contract), trace=trace), outline

    def _shaped(self, contract: ContractDescription) -> tuple[_Static, _Shape, ContractFacts,
                                                              tuple[str, Any, float, str]]:
        """The contract evaluated under the regime in force: its regime's static data, its advice's shape, its
        facts and its headline (see _headline)."""
        _, _, program, cf, evaluation = self._evaluate(contract, None)
        st = self._static(program)
        return st, st.shape(_mask(evaluation)), cf, _headline(cf, evaluation)

    def _evaluate(self, contract: ContractDescription,
                  regime_id: str | None) -> tuple[RegimeSpec, dt.date, Program, ContractFacts, Evaluation]:
        regime = self.regime_for(contract.procurement_start) if regime_id is None else self._regime(regime_id)
        if contract.prior_reserved_awards:
            self._check_awards(contract)
        day = contract.procurement_start
        span = regime.in_force
        on = span.from_ if day < span.from_ else span.to if span.to is not None and day > span.to else day
        program = self.programs[regime.id]
        cf = build_facts(contract, regime, self.data, on)
        return regime, on, program, cf, self.evaluator.evaluate(program, cf.facts)

    def _check_awards(self, contract: ContractDescription) -> None:
        """A prior award dated before its basis existed (``s33`` before the Act's go-live: such a reservation was
        made under reg 77) is a slip that would bar or free the wrong supplier: refused, at its field."""
        problems = []
        for i, award in enumerate(contract.prior_reserved_awards):
            regime_id, name = _AWARD_REGIME[award.basis]
            regime = self.rulebook.regime(regime_id)
            if regime is None or award.awarded >= regime.in_force.from_:
                continue
            earlier = self.rulebook.regime_for(award.awarded)
            hint = next((f"; a reservation then was made under {n}: give basis: {b}"
                         for b, (r, n) in _AWARD_REGIME.items() if earlier is not None and r == earlier.id), "")
            problems.append((f"prior_reserved_awards[{i}].awarded",
                             f"{award.awarded.isoformat()} is before {regime.in_force.from_.isoformat()}, when the "
                             f"{regime.title} came into force, so no contract was awarded under {name} then{hint}"))
        if problems:
            raise InputError(problems)

    def _static(self, program: Program) -> _Static:
        st = self._statics.get(program.regime.id)
        if st is None:
            st = self._statics[program.regime.id] = _Static(program, _makers())
        return st

    def compare(self, contract: ContractDescription | Mapping[str, Any]) -> list[Advice]:
        """The same contract under every encoded regime, the one in force first."""
        contract = as_contract(contract, "compare")
        applicable = self.regime_for(contract.procurement_start).id
        ids = [applicable] + [r for r in self.programs if r != applicable]
        return [self.advise(contract, regime_id=r) for r in ids]

    def _regime(self, regime_id: str) -> RegimeSpec:
        regime = self.rulebook.regime(regime_id)
        if regime is None or not regime.encoded:
            raise InputError([("", f"unknown or unencoded regime {regime_id!r}")])
        return regime


# ---------------------------------------------------------------- assembling the Advice
#
# Every value an Advice is made of is already valid (the rulebook, the data and the contract are validated
# when they are loaded), and validating its few dozen models again was most of the time an advice took. So
# ``_Makers`` makes them as ``model_construct`` does (``__dict__`` in field order, the fields set, no extra,
# no private attributes), without validation, from a dict of every field given. On first use, ``_makers``
# checks that a whole sample advice made so equals the one the validating constructors make (the same state,
# fields set and JSON), and falls back to validation, with a warning, if it does not: a model of advice.py
# changed without the makers here, or a pydantic that keeps a model's state differently. A test checks every
# behaviour case's advice the same way.


def _slot_setter(name: str) -> Callable[[Any, Any], None]:
    """The setter of one attribute every model instance has (pydantic keeps them in slots of BaseModel)."""
    descriptor = vars(BaseModel).get(name)
    if descriptor is not None and hasattr(descriptor, "__set__"):
        return descriptor.__set__  # type: ignore[no-any-return]
    return lambda obj, value: object.__setattr__(obj, name, value)


_M = TypeVar("_M", bound=BaseModel)


def _fast_maker(cls: type[_M], unset: tuple[str, ...] = ()) -> Callable[[dict[str, Any]], _M]:
    """``make(values)``: an instance of ``cls`` whose fields are ``values`` (every field but ``unset``, in
    field order), without validation."""
    names = list(cls.model_fields)
    fields = frozenset(f for f in names if f not in unset)
    new = object.__new__
    set_dict, set_fields = _slot_setter("__dict__"), _slot_setter("__pydantic_fields_set__")
    set_extra, set_private = _slot_setter("__pydantic_extra__"), _slot_setter("__pydantic_private__")
    # Fields left at their defaults go where they stand in the model: before the given ones, or after.
    head = {f: cls.model_fields[f].default for f in names[:len(unset)] if f in unset}
    tail = {f: cls.model_fields[f].default for f in unset if f not in head}

    def make(values: dict[str, Any]) -> _M:
        m = new(cls)
        set_dict(m, {**head, **values, **tail} if unset else values)
        set_fields(m, set(fields))
        set_extra(m, None)
        set_private(m, None)
        return m

    return make


def _validating_maker(cls: type[_M], unset: tuple[str, ...] = ()) -> Callable[[dict[str, Any]], _M]:
    return lambda values: cls(**values)


class _Makers(NamedTuple):
    blocker: Callable[[dict[str, Any]], Blocker]
    finding: Callable[[dict[str, Any]], Finding]
    route: Callable[[dict[str, Any]], RouteAdvice]
    threshold: Callable[[dict[str, Any]], ThresholdRef]
    valuation: Callable[[dict[str, Any]], Valuation]
    regime: Callable[[dict[str, Any]], RegimeRef]
    advice: Callable[[dict[str, Any]], Advice]

    @classmethod
    def using(cls, maker: Callable[..., Any]) -> _Makers:
        return cls(maker(Blocker), maker(Finding), maker(RouteAdvice), maker(ThresholdRef), maker(Valuation),
                   maker(RegimeRef, ("applies",)), maker(Advice, ("schema_",)))

    # The models of an advice from its shape's parts, with the messages (or the contract's values) given: one
    # place for their fields, whether _assemble makes the Advice or advise_json its JSON (with markers).

    def blocker_of(self, b: tuple[Any, ...], message: str) -> Blocker:
        """Block ``b`` (code, template, reference, rule) saying ``message``."""
        return self.blocker({"code": b[0], "message": message, "reference": b[2], "rule": b[3]})

    def route_of(self, r: _Route, because: list[str], blocked_by: list[Any], conditions: Any) -> RouteAdvice:
        """Route skeleton ``r`` saying ``because`` (its summary if none)."""
        return self.route({"id": r.id, "title": r.title, "status": r.status, "kind": r.kind,
                           "because": because or [*r.summary], "blocked_by": blocked_by,
                           "conditions": conditions, "references": [*r.references]})

    def finding_of(self, f: tuple[Any, ...], message: str) -> Finding:
        """Finding ``f`` (code, severity, template, reference, rule, field) saying ``message``."""
        code, severity, _, ref, rule_id, field = f
        return self.finding({"code": code, "severity": severity, "message": message, "reference": ref,
                             "rule": rule_id, "field": field})

    def advice_of(self, regime: RegimeSpec, contract_id: Any, title: Any, start: Any, because: Any, value: Any,
                  basis: Any, threshold: Any, above: Any, in_force: Any, routes: Any, recommended: Any,
                  findings: Any, trace: Any) -> Advice:
        return self.advice({
            "contract_id": contract_id,
            "title": title,
            "procurement_start": start,
            "regime": self.regime({"id": regime.id, "title": regime.title, "because": because,
                                   "reference": regime.reference}),
            "valuation": self.valuation({"value": value, "vat_basis": basis, "threshold": threshold,
                                         "above_threshold": above, "thresholds_in_force": in_force}),
            "routes": routes,
            "recommended": recommended,
            "findings": findings,
            "trace": trace,
        })


def _same(a: Any, b: Any) -> bool:
    """Two models (or lists of models) with the same state, field order and fields set, all the way down."""
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if not isinstance(a, BaseModel):
        return type(a) is type(b) and a == b
    return (type(a) is type(b) and list(a.__dict__) == list(b.__dict__)
            and a.__pydantic_fields_set__ == b.__pydantic_fields_set__
            and a.__pydantic_extra__ == b.__pydantic_extra__ and a.__pydantic_private__ == b.__pydantic_private__
            and all(_same(x, y) for x, y in zip(a.__dict__.values(), b.__dict__.values(), strict=True)))


def _sample(make: _Makers) -> Advice:
    day = dt.date(2024, 1, 2)
    blocker = make.blocker({"code": "c", "message": "m", "reference": "https://r", "rule": "x.y"})
    th = make.threshold({"name": "n", "title": "t", "regulation": "r", "amount": 3, "vat_basis": "net",
                         "in_force_from": day, "in_force_to": None, "reference": "https://r", "verify": "v",
                         "value": 2.0, "above": True})
    return make.advice({
        "contract_id": "c", "title": "t", "procurement_start": day,
        "regime": make.regime({"id": "i", "title": "t", "because": "b", "reference": "https://r"}),
        "valuation": make.valuation({"value": 2.0, "vat_basis": "net", "threshold": th, "above_threshold": True,
                                     "thresholds_in_force": [th]}),
        "routes": [make.route({"id": "i", "title": "t", "status": "unavailable", "kind": "procedure",
                               "because": ["b"], "blocked_by": [blocker], "conditions": [],
                               "references": ["https://r"]})],
        "recommended": ["i"],
        "findings": [make.finding({"code": "c", "severity": "info", "message": "m", "reference": "https://r",
                                   "rule": "x.y", "field": None})],
        "trace": [TraceEntry(rule="x.y", title="t", stage=0, fired=True, facts={"f": True}, source="s:1")],
    })


@cache
def _makers() -> _Makers:
    fast, slow = _Makers.using(_fast_maker), _Makers.using(_validating_maker)
    a, b = _sample(fast), _sample(slow)
    if _same(a, b) and a.model_dump_json() == b.model_dump_json():
        return fast
    warnings.warn("s16advisor: the fast advice makers do not make what the models make (advice.py or pydantic "
                  "changed): advice is built with validation instead, which is slower", RuntimeWarning, stacklevel=2)
    return slow


class _Route(NamedTuple):
    """What one route says for one combination of the fired rules that touch it: everything but the filled
    messages."""

    id: str
    title: str
    status: str
    kind: str
    because: tuple[Template, ...]  # none: the route's summary, unless it is blocked
    summary: tuple[str, ...]
    blocked_by: tuple[Blocker | tuple[Any, ...], ...]  # a Blocker, or (code, template, reference, rule) to fill
    conditions: tuple[Template, ...]
    references: tuple[str, ...]
    dynamic: bool  # some message has placeholders
    json: list[Any]  # its JSON (bytes, or a _Json to fill), once asked (None: pydantic writes it whole)


class _Shape(NamedTuple):
    """What an advice says for one combination of fired rules, but the contract's own figures."""

    routes: list[_Route]
    findings: list[tuple[Any, ...]]  # (code, severity, template, reference, rule, field)
    recommended: list[str]
    mask: int  # the fired rules
    trace: list[TraceEntry]  # empty until asked (see _Static.trace_of): an outline needs none
    # the JSON of its routes and its plan, and of its findings: empty until asked (see _Static.json_of), kept by its
    # routes part and its findings part (shared)
    parts_json: tuple[list[Any], list[Any]]
    # route id -> status, read-only: one object shared by the shapes of one routes part (see _routes_part), which
    # have the same plan and blockers too
    statuses: Mapping[str, str]
    blockers: tuple[tuple[str, str], ...]  # (route, code)
    finding_codes: tuple[tuple[str, str], ...]  # (code, severity): one object shared by the shapes of one findings part


SHAPES_KEPT = 4096  # shapes kept per regime (least recently used go first): 3,163 in the benchmark's first 10,000
_ROUTES = 16384  # route skeletons kept per regime: 83 in the benchmark's 100,000 contracts


class _Static:
    """What ``_assemble`` needs of a regime's program, worked out once, and its answers per combination of
    fired rules.

    Everything an advice says, except the contract's own figures in its messages and thresholds, depends only
    on which rules fired: that ``_Shape`` is kept per combination (a bit mask of rule indexes). A new
    combination is put together from its routes, each kept per the combination of the fired rules that touch
    it (block it, note a condition on it, recommend it, or lend it references), which recur far more often."""

    def __init__(self, program: Program, make: _Makers):
        self.regime = regime = program.regime
        self.make = make
        order = sorted(program.rules, key=lambda r: (r.stage, r.index))
        self.order = [cr.index for cr in order]  # evaluation order
        # Two entries per rule in evaluation order, fired ("1") and not ("0"), made once and shared by every
        # advice (TraceEntry is frozen).
        self.trace: list[dict[str, TraceEntry]] = [
            {"1": TraceEntry(rule=cr.rule.id, title=cr.rule.title, stage=cr.stage, fired=True,
                             facts=dict(cr.writes), source=cr.source),
             "0": TraceEntry(rule=cr.rule.id, title=cr.rule.title, stage=cr.stage, fired=False, facts={},
                             source=cr.source)}
            for cr in order]
        self.width = len(program.rules)  # rule indexes are 0 to width - 1
        # The digits of a mask's binary string (rule 0 first) in evaluation order, by one C call.
        self.digits: Callable[[str], tuple[str, ...]] = (
            itemgetter(*self.order) if len(self.order) > 1 else lambda s: tuple(s[i] for i in self.order))
        self.rules: list[tuple[Any, ...]] = []  # by rule index
        blocks: dict[tuple[str, ...], tuple[Any, ...]] = {}  # one tuple per block message: one Blocker per advice
        route_masks = {r.id: 0 for r in regime.routes}
        for cr in program.rules:
            rule, then = cr.rule, cr.rule.then
            ref = rule.references[0]
            self.rules.append((
                [(b.route, blocks.setdefault((b.code, b.message, ref, rule.id),
                                             (b.code, template(b.message), ref, rule.id))) for b in then.block],
                [(n.route, template(n.message)) for n in then.condition],
                [(rec.order, rec.route, template(rec.message)) for rec in then.recommend],
                [(f.code, f.severity, template(f.message), ref, rule.id, FINDING_FIELDS.get(f.code))
                 for f in then.finding],
                rule.references,
            ))
            for route in {x.route for x in (*then.block, *then.condition, *then.recommend)}:
                route_masks[route] |= 1 << cr.index
        self.routes = [(k, spec, route_masks[spec.id]) for k, spec in enumerate(regime.routes)]
        # Why the regime applies, its folded YAML lines made one line once (the details it quotes have no spaces).
        self.because = template(" ".join(regime.because.split()))
        # The rules that touch some route (they decide the routes part of a shape) and those that report findings.
        self.route_rules = 0
        for mask in route_masks.values():
            self.route_rules |= mask
        self.finding_rules = sum(1 << cr.index for cr in program.rules if cr.rule.then.finding)
        self._routes: dict[tuple[int, int], _Route] = {}
        self._route_parts: dict[int, tuple[Any, ...]] = {}  # per mask & route_rules
        self._finding_parts: dict[int, tuple[Any, ...]] = {}  # per mask & finding_rules
        self._shapes: OrderedDict[int, _Shape] = OrderedDict()
        self._json: dict[Any, bytes | _Json | None] = {}  # see _json_of

    # The JSON of an advice's parts (see advise_json): the frame (without routes, findings, trace), each route
    # skeleton, each finding and each trace entry.

    def frame_json(self, trace: bool) -> bytes | _Json:
        return self._json_of(("frame", trace), lambda hole, text: self.make.advice_of(
            self.regime, hole("id"), hole("title"), hole("start"), text(self.because), hole("value"), hole("basis"),
            hole("threshold"), hole("above"), hole("in_force"), hole("routes"), hole("recommended"),
            hole("findings"), hole("trace") if trace else []), trace)

    def route_json(self, r: _Route) -> bytes | _Json:
        if r.json:
            got = r.json[0]
        else:
            make = self.make
            got = _marked(lambda hole, text: make.route_of(
                r, [text(m) for m in r.because],
                [make.blocker_of(b, text(b[1])) if type(b) is tuple else b for b in r.blocked_by],
                # several conditions, one quoting the contract, are said once each when filled (as _assemble)
                hole("texts", r.conditions) if len(r.conditions) > 1 and r.dynamic
                else [text(m) for m in r.conditions]))
            r.json.append(got)
        if got is None:
            raise _NotPlain
        return got

    def finding_json(self, f: tuple[Any, ...]) -> bytes | _Json:
        return self._json_of(id(f), lambda hole, text: self.make.finding_of(f, text(f[2])))

    def trace_json(self, entry: TraceEntry) -> bytes | _Json:
        return self._json_of(id(entry), lambda hole, text: entry)

    def json_of(self, shape: _Shape) -> list[Any]:
        """The JSON of an advice of ``shape``'s routes and findings, each array as one part (bytes, or a _Json to
        fill: one call fills it), and of its plan, made the first time it is asked: by its routes part and its
        findings part, which many shapes share (1,675 routes parts and 10,784 shapes in 100,000 contracts)."""
        routes, findings = shape.parts_json
        if not routes:
            routes += (_array_json([self.route_json(r) for r in shape.routes]),
                       ("[" + ",".join(map(_json_str, shape.recommended)) + "]").encode())
        if not findings:
            findings.append(_array_json([self.finding_json(f) for f in shape.findings]))
        return [routes[0], findings[0], routes[1]]

    def _json_of(self, key: Any, build: Callable[..., BaseModel], trace: bool = True) -> bytes | _Json:
        """The JSON of what ``build`` makes, kept under ``key`` (a finding's or a trace entry's id: they live
        as long as this)."""
        got = self._json.get(key, _UNSEEN)
        if got is _UNSEEN:
            got = self._json[key] = _marked(build, trace)
        if got is None:
            raise _NotPlain
        return got  # type: ignore[no-any-return]

    def _fired(self, mask: int) -> list[int]:
        """The rules of ``mask``, in evaluation order."""
        return [i for i in self.order if mask >> i & 1]

    def shape(self, mask: int) -> _Shape:
        """The shape of an advice whose fired rules are ``mask``."""
        shapes = self._shapes
        got = shapes.get(mask)
        if got is not None:
            shapes.move_to_end(mask)
        else:  # put together from its routes part and its findings part, each kept per the rules deciding it
            routes, recommended, statuses, blockers, routes_json = self._routes_part(mask & self.route_rules)
            findings, finding_codes, findings_json = self._findings_part(mask & self.finding_rules)
            got = _Shape(routes, findings, recommended, mask, [], (routes_json, findings_json), statuses, blockers,
                         finding_codes)
            shapes[mask] = got
            if len(shapes) > SHAPES_KEPT:
                shapes.popitem(last=False)  # the least recently used
        return got

    def trace_of(self, shape: _Shape) -> list[TraceEntry]:
        """The trace of an advice of ``shape``: each rule's entry, fired or not, in evaluation order (made the
        first time it is asked, from the mask's binary digits, by C code)."""
        got = shape.trace
        if not got and self.trace:
            got += map(dict.__getitem__, self.trace, self.digits(format(shape.mask, "b").zfill(self.width)[::-1]))
        return got

    def _routes_part(self, mask: int) -> tuple[Any, ...]:
        """The routes, the plan, the statuses (route id -> status, read-only: shared by the shapes of this part)
        and the blockers' codes when the rules of ``mask`` (all touching routes) fired, and their JSON once
        asked (see json_of): 1,675 combinations in the benchmark's 100,000 contracts against 10,784 shapes."""
        got = self._route_parts.get(mask)
        if got is None:
            fired = self._fired(mask)
            plan = sorted((order, i, route) for i in fired for order, route, _ in self.rules[i][2])
            # A route two rules recommend (competitive_flexible for innovation and for s.32) is planned once, where
            # it first comes; its `because` keeps both messages.
            recommended = list(dict.fromkeys(route for _, _, route in plan))
            routes = [self._route(k, spec, mask & route_mask, spec.id in recommended)
                      for k, spec, route_mask in self.routes]
            got = (routes, recommended, MappingProxyType({r.id: r.status for r in routes}),
                   tuple((r.id, b.code if isinstance(b, Blocker) else b[0]) for r in routes for b in r.blocked_by), [])
            if len(self._route_parts) >= SHAPES_KEPT:
                self._route_parts.clear()
            self._route_parts[mask] = got
        return got

    def _findings_part(self, mask: int) -> tuple[Any, ...]:
        """The findings (to fill) and their (code, severity) when the rules of ``mask`` fired, and their JSON once
        asked (see json_of)."""
        got = self._finding_parts.get(mask)
        if got is None:
            findings = [f for i in self._fired(mask) for f in self.rules[i][3]]
            got = (findings, tuple((f[0], f[1]) for f in findings), [])
            if len(self._finding_parts) >= SHAPES_KEPT:
                self._finding_parts.clear()
            self._finding_parts[mask] = got
        return got

    def _route(self, k: int, spec: RouteSpec, key: int, recommended: bool) -> _Route:
        """Route ``k``'s skeleton; ``key`` is the fired rules that touch it, ``recommended`` whether it is planned
        (decided by those same rules)."""
        got = self._routes.get((k, key))
        if got is not None:
            return got
        fired = self._fired(key)
        regime = self.regime
        if spec.not_in_regime:
            blocked = [("not_in_regime", literal(spec.not_in_regime), regime.reference, f"{regime.id}.routes")]
        else:
            blocked = [b for i in fired for route, b in self.rules[i][0] if route == spec.id]
        if recommended and blocked:
            raise EngineError(f"rulebook error: route {spec.id} is both recommended and blocked")
        because = tuple(m for i in fired for _, route, m in self.rules[i][2] if route == spec.id)
        conditions = () if blocked else tuple(dict.fromkeys(  # the same text twice is said once
            m for i in fired for route, m in self.rules[i][1] if route == spec.id))
        references = [spec.reference]
        for i in fired:
            references += [r for r in self.rules[i][4] if r not in references]
        make = self.make
        got = _Route(
            id=spec.id, title=spec.title, kind=spec.kind,
            status="unavailable" if blocked else "recommended" if recommended else "available",
            because=because, summary=() if blocked or because else (spec.summary,),
            blocked_by=tuple(b if b[1].names else make.blocker_of(b, b[1].text) for b in blocked),
            conditions=conditions, references=tuple(references),
            dynamic=any(m.names for m in (*because, *conditions, *(b[1] for b in blocked))), json=[])
        if len(self._routes) >= _ROUTES:
            self._routes.clear()
        self._routes[k, key] = got
        return got


class _Table:
    """One of the data's shared tables of thresholds in force (kept per stretch of days), as advices use it."""

    __slots__ = ("source", "rows", "json", "details")

    def __init__(self, in_force: Mapping[str, Any]):
        self.source = in_force
        # Per threshold: its name, amount and ThresholdRef fields but the contract's value.
        self.rows: list[tuple[str, float, dict[str, Any]]] = [(name, th.amount, {
            "name": th.name, "title": th.title, "regulation": th.regulation, "amount": th.amount,
            "vat_basis": th.vat, "in_force_from": th.in_force_from, "in_force_to": th.in_force_to,
            "reference": th.reference, "verify": th.verify}) for name, th in in_force.items()]
        # Per threshold: its name, amount and JSON before its value, between it and "above", and after.
        self.json: list[tuple[str, float, bytes, bytes, bytes]] | None = None
        self.details: dict[str | None, dict[str, bytes]] = {}  # see details_json

    def details_json(self, applied: Any) -> dict[str, bytes]:
        """The {thresholds.*} details of this table and the {threshold.*} ones of ``applied`` (one of its
        thresholds, or None), JSON-escaped (UTF-8, without quotes) by _Values key."""
        key = applied.name if applied is not None else None
        got = self.details.get(key)
        if got is None:
            texts = table_details(self.source)
            if applied is not None:
                texts.update(threshold_details(applied))
            got = self.details[key] = {
                _placeholder(name): _json_str(text)[1:-1].encode() for name, text in texts.items()}
        return got

    def json_rows(self, make: _Makers) -> list[tuple[str, float, bytes, bytes, bytes]]:
        if self.json is None:
            rows = []
            for name, amount, fields in self.rows:
                js = _marked(lambda hole, text, f=fields: make.threshold({**f, "value": hole("value"),
                                                                         "above": hole("above")}))
                if not isinstance(js, _Json) or [kind for kind, _ in js.holes] != ["value", "above"]:
                    raise _NotPlain  # (a marker among its texts, makers that validate): pydantic writes the advice
                rows.append((name, amount, *js.texts))
            self.json = rows
        return self.json


_TABLES: dict[int, _Table] = {}  # by id(its source)


def _table(in_force: Mapping[str, Any]) -> _Table:
    got = _TABLES.get(id(in_force))
    if got is None or got.source is not in_force:
        if len(_TABLES) >= 1024:
            _TABLES.clear()
        got = _TABLES[id(in_force)] = _Table(in_force)
    return got


def _headline(cf: ContractFacts, evaluation: Evaluation) -> tuple[str, Any, float, str]:
    """The threshold the rules applied (its name, "none" if none), it, and the value the advice states with its
    VAT basis: on that threshold's basis, else the facts' headline value (on the basis of the regime's
    thresholds in force, as the messages' {value} and {vat_basis} say)."""
    applicable = str(evaluation.fact("threshold", "none"))
    th = cf.thresholds.get(applicable)
    if th is None:
        return applicable, None, float(cf.facts["value"]), cf.details.basis
    return applicable, th, cf.values[applicable], th.vat


def _mask(evaluation: Evaluation) -> int:
    """The fired rules as a bit mask of their indexes."""
    mask = 0
    for i in evaluation.fired:
        mask |= 1 << i
    return mask


def _outline(st: _Static, shape: _Shape, headline: tuple[str, Any, float, str]) -> Outline:
    _, th, value, basis = headline
    return Outline(
        st.regime.id, value, basis, th.name if th is not None else None, th.amount if th is not None else None,
        th is not None and value >= th.amount, tuple(shape.recommended), shape.statuses, shape.blockers,
        shape.finding_codes)


def _assemble(c: ContractDescription, st: _Static, cf: ContractFacts, evaluation: Evaluation) -> Advice:
    make, regime = st.make, st.regime
    applicable, applied, value, basis = _headline(cf, evaluation)
    details = cf.details
    details.applied = applied
    rendered: dict[str, str] = {}

    def render(m: Template) -> str:
        if not m.names:
            return m.text
        text = rendered.get(m.text)
        if text is None:
            text = rendered[m.text] = m.fill(details)
        return text

    shape = st.shape(_mask(evaluation))
    route_of, blocker_of = make.route_of, make.blocker_of
    blockers: dict[int, Blocker] = {}  # one Blocker per rule and message in an advice (frozen), by skeleton id
    routes: list[RouteAdvice] = []
    for r in shape.routes:
        if not r.dynamic:
            routes.append(route_of(r, [m.text for m in r.because], [*r.blocked_by], [m.text for m in r.conditions]))
            continue
        blocked_by = []
        for b in r.blocked_by:
            if type(b) is tuple:  # (code, template, reference, rule), held by the shape while this advice is made
                blocker = blockers.get(id(b))
                if blocker is None:
                    blocker = blockers[id(b)] = blocker_of(b, render(b[1]))
                b = blocker
            blocked_by.append(b)
        conditions = [render(m) for m in r.conditions]
        if len(conditions) > 1:
            conditions = list(dict.fromkeys(conditions))
        routes.append(route_of(r, [render(m) for m in r.because], blocked_by, conditions))
    findings = [make.finding_of(f, render(f[2])) for f in shape.findings]
    new_threshold = make.threshold
    values = cf.values
    in_force = []
    main = None
    for name, amount, fields in _table(cf.thresholds).rows:
        v = values[name]
        row = fields.copy()  # (faster than {**fields, ...})
        row["value"], row["above"] = v, v >= amount
        ref = new_threshold(row)
        in_force.append(ref)
        if name == applicable:
            main = ref
    return make.advice_of(regime, c.id, c.title, c.procurement_start, st.because.fill(details), value, basis,
                          main, bool(main and main.above), in_force, routes, [*shape.recommended], findings,
                          [*st.trace_of(shape)])


# ---------------------------------------------------------------- the Advice as JSON
#
# ``Advisor.advise_json`` writes an advice's JSON without making it. pydantic serialises each part of an advice
# once (the frame per regime, each route skeleton, finding and trace entry, each threshold row) with markers
# ("\0<n>\0") where the contract's own values go, and the text between the markers is kept; each contract's JSON
# is those texts joined with its own values put in, each written as pydantic writes it. A test checks that this
# and serialising the Advice agree, byte for byte, on every behaviour case and on many varied contracts.


def advice_json(advice: Advice, *, trace: bool = True) -> bytes:
    """Advice v1 as JSON (UTF-8): what ``json.dumps(advice.to_json_dict())`` says, without the trace unless
    asked, serialised by pydantic (five times faster). A test checks they agree."""
    data = _to_json(advice, trace, warn=True)
    if data.startswith('{"schema":'):
        return data.encode()
    d = advice.to_json_dict()  # pragma: no cover - only if the model's first field changes
    if not trace:
        d.pop("trace", None)
    return json.dumps(d, ensure_ascii=False).encode()


_SCHEMA_KEY = '{"schema_":'


def _to_json(model: BaseModel, trace: bool = True, warn: bool = False) -> str:
    """A model's JSON as pydantic writes it (an Advice's first key as the spec names it). ``warn=False``: quietly
    for markers where a value of another type belongs."""
    data = model.__pydantic_serializer__.to_json(model, exclude=None if trace else {"trace"},
                                                 warnings=warn).decode()
    if data.startswith(_SCHEMA_KEY):
        return '{"schema":' + data[len(_SCHEMA_KEY):]
    return data


class _NotPlain(Exception):
    """A value that pydantic may write otherwise than ``advise_json`` would: that advice is made and serialised."""


class _Json(NamedTuple):
    """A part of an advice's JSON (UTF-8): the texts between the contract's own values, and which value goes
    where; filled by C code (see ``_Json.fill``)."""

    texts: tuple[bytes, ...]
    holes: tuple[tuple[str, Any], ...]  # between texts[i] and texts[i + 1]: (kind, a Template or templates)
    keys: Callable[[_Values], Any]  # the holes' values in order, from a _Values (a tuple when there are several)
    parts: list[bytes]  # the texts, with room between them for the values

    def fill(self, values: _Values) -> bytes:
        got = self.keys(values)
        if len(self.texts) == 2:
            return self.texts[0] + got + self.texts[1]
        parts = self.parts.copy()
        parts[1::2] = got
        return b"".join(parts)


def _json_part(texts: list[bytes], holes: tuple[tuple[str, Any], ...]) -> _Json | None:
    """The part of texts and holes between them; a message that quotes the contract ("text") is put in as its own
    texts with a hole for each detail it quotes, so that filling it is no call of its own. None if a message is
    not UTF-8 (a lone surrogate)."""
    spread: list[bytes] = [texts[0]]
    kept: list[tuple[str, Any]] = []
    for (kind, arg), after in zip(holes, texts[1:], strict=True):
        if kind == "text":
            if arg.json is None:
                return None
            spread[-1] += arg.json[0]
            for name, text in zip(arg.names, arg.json[2::2], strict=True):
                kept.append(("detail", _placeholder(name)))
                spread.append(text)
            spread[-1] += after
        else:
            kept.append((kind, arg))
            spread.append(after)
    return _filled_by(spread, tuple(kept))


def _filled_by(texts: list[bytes], holes: tuple[tuple[str, Any], ...]) -> _Json:
    """The _Json of texts and the holes between them (each message already spread into its details)."""
    keys = [arg if kind == "detail" else (kind, arg) if kind == "texts" else kind for kind, arg in holes]
    parts = [b""] * (2 * len(texts) - 1)
    parts[::2] = texts
    return _Json(tuple(texts), holes, itemgetter(*keys), parts)


def _array_json(parts: list[bytes | _Json]) -> bytes | _Json:
    """A JSON array of parts as one part: their texts and holes in turn, joined where they meet."""
    texts, holes = [b"["], []
    for k, js in enumerate(parts):
        if k:
            texts[-1] += b","
        if isinstance(js, bytes):
            texts[-1] += js
        else:
            texts[-1] += js.texts[0]
            texts += js.texts[1:]
            holes += js.holes
    texts[-1] += b"]"
    return _filled_by(texts, tuple(holes)) if holes else texts[0]


class _Values(dict[Any, bytes]):
    """The JSON (UTF-8) of an advice's own values, by hole key: its figures by name and the details most advices
    quote (given), and any other detail a message quotes by its placeholder ("{value}": see _placeholder),
    JSON-escaped without quotes, or several conditions by ("texts", templates), worked out from ``details`` the
    first time a part asks (a message said several times is filled once)."""

    __slots__ = ("details",)

    def __init__(self, details: Mapping[str, str], given: Mapping[Any, bytes]):
        super().__init__(given)
        self.details = details

    def __missing__(self, key: Any) -> bytes:
        if type(key) is str:  # a detail a message quotes (see _json_part)
            try:
                text = self.details[key[1:-1]]
            except KeyError:  # a detail this contract does not have: its placeholder stays, as Template.fill says
                text = key
            got = _json_str(text)[1:-1].encode()
        else:  # several conditions, each said once (as JSON strings: the same if and only if their texts are)
            got = b"[" + b",".join(dict.fromkeys(map(self._said, key[1]))) + b"]"
        self[key] = got
        return got

    def _said(self, m: Template) -> bytes:
        """Message ``m`` as a JSON string (UTF-8), with the details it quotes put in (see _json_part)."""
        if m.json is None:
            raise _NotPlain  # (a lone surrogate)
        parts = [*m.json]
        parts[1::2] = [self[_placeholder(name)] for name in m.names]
        return b"".join(parts)


def _marker(n: int) -> str:
    return f"\0{n}\0"


_MARKER_RX = re.compile(r'"\\u0000(\d+)\\u0000"')  # a marker as pydantic writes it (a JSON string)


def _split_json(data: str, count: int) -> tuple[list[str], list[int]] | None:
    """``data``'s texts around its ``count`` markers and their numbers in order; None unless each is there once."""
    parts = _MARKER_RX.split(data)
    order = [int(n) for n in parts[1::2]]
    if sorted(order) != list(range(count)):
        return None
    return parts[0::2], order


def _float_json(v: Any) -> bytes:
    """A float as pydantic writes it (UTF-8): as Python does between 1e-4 and 1e16 (money), otherwise not
    always."""
    text = repr(v)
    if type(v) is not float or "e" in text or "n" in text:
        raise _NotPlain
    return text.encode()


_UNSEEN = object()


def _marked(build: Callable[..., BaseModel], trace: bool = True) -> bytes | _Json | None:
    """The JSON (UTF-8) of the model ``build(hole, text)`` makes, with a marker for each of the contract's own
    values (``hole(kind)``, and ``text(template)`` for a message that quotes the contract); bytes if it has none.
    None if it cannot be made so: a marker among the rulebook's texts, makers that validate (markers are not
    valid), a text that is not UTF-8 (a lone surrogate)."""
    holes: list[tuple[str, Any]] = []

    def hole(kind: str, arg: Any = None) -> str:
        holes.append((kind, arg))
        return _marker(len(holes) - 1)

    def text(m: Template) -> str:
        return hole("text", m) if m.names else m.text

    try:
        parts = _split_json(_to_json(build(hole, text), trace), len(holes))
    except ValueError:  # pydantic's ValidationError
        return None
    if parts is None:
        return None
    texts, order = parts
    try:
        encoded = [t.encode() for t in texts]
    except UnicodeEncodeError:
        return None
    return encoded[0] if not holes else _json_part(encoded, tuple(holes[n] for n in order))


@cache
def _placeholder(name: str) -> str:
    """A detail's key among an advice's own values: its placeholder as written, one str object (interned) for every
    part, whose lookups then compare no more than that it is the same object."""
    return sys.intern("{" + name + "}")


_START, _VALUE, _VAT_BASIS = _placeholder("start"), _placeholder("value"), _placeholder("vat_basis")


def _fill_json(st: _Static, shape: _Shape, c: ContractDescription, cf: ContractFacts,
               headline: tuple[str, Any, float, str], trace: bool) -> bytes:
    """The advice's JSON (UTF-8): its parts' JSON with the contract's own values put in."""
    applicable, applied, value, basis = headline
    details = cf.details
    details.applied = applied
    table = _table(cf.thresholds)
    # The details nearly every advice quotes ({start} in the regime's `because`, the headline's, the chosen
    # threshold's and those in force), put in at once rather than each worked out when first asked: those of the
    # thresholds are kept per table, and the others are money, its words and a date, which JSON writes as they are.
    own = _Values(details, table.details_json(applied))
    start = c.procurement_start.isoformat()  # (details.commenced)
    stated, words = stated_value(details)
    own[_START], own[_VALUE], own[_VAT_BASIS] = start.encode(), stated.encode(), words.encode()
    routes, findings, recommended = st.json_of(shape)
    values = cf.values
    floats: dict[float, bytes] = {}  # (most thresholds in force share a VAT basis: the same value)
    rows, main, above = [], b"null", b"false"
    for name, amount, before, between, after in table.json_rows(st.make):
        v = values[name]
        up = b"true" if v >= amount else b"false"
        written = floats.get(v)
        if written is None:
            written = floats[v] = _float_json(v)
        row = b"".join((before, written, between, up, after))
        rows.append(row)
        if name == applicable:
            main, above = row, up
    own.update({
        "id": _json_str(c.id).encode(), "title": _json_str(c.title).encode(),
        "start": f'"{start}"'.encode(),
        "value": _float_json(value), "basis": _json_str(basis).encode(), "threshold": main, "above": above,
        "in_force": b"[" + b",".join(rows) + b"]", "recommended": recommended,
    })
    own["routes"], own["findings"] = _filled(routes, own), _filled(findings, own)
    if trace:
        own["trace"] = b"[" + b",".join([_filled(js, own) for js in map(st.trace_json, st.trace_of(shape))]) + b"]"
    return _filled(st.frame_json(trace), own)


def _filled(part: bytes | _Json, own: _Values) -> bytes:
    """A part's JSON with the advice's own values put in (one that has none is as it is)."""
    return part if isinstance(part, bytes) else part.fill(own)


@cache
def default_advisor() -> Advisor:
    return Advisor()


def as_contract(contract: ContractDescription | Mapping[str, Any], taker: str = "advise") -> ContractDescription:
    """A contract description: a model as it is, a mapping of its fields validated (an invalid one raises
    ``InputError`` naming each field at fault); anything else is a TypeError."""
    if isinstance(contract, ContractDescription):
        return contract
    if isinstance(contract, Mapping):
        return contract_from_document(Document(dict(contract), "<data>"))
    raise TypeError(f"{taker}() takes a ContractDescription or a mapping of its fields, not {type(contract).__name__}")


def advise(contract: ContractDescription | Mapping[str, Any], *, regime_id: str | None = None) -> Advice:
    """Advice on one contract description (a model, or a mapping of its fields, validated first: an invalid one
    raises ``InputError`` naming each field at fault), with the bundled rulebook and data."""
    return default_advisor().advise(contract, regime_id=regime_id)  # (which validates a mapping)


def read_contract(path: str) -> tuple[ContractDescription, Document]:
    """Read and validate one contract description file (``-`` for stdin)."""
    doc = load_document(path)
    return contract_from_document(doc), doc


def advise_file(path: str) -> Advice:
    """Read, validate and advise on one contract description file (``-`` for stdin)."""
    return advise_read(path)[0]


def advise_read(path: str) -> tuple[Advice, ContractDescription]:
    """``advise_file``, and the contract description it read."""
    return _read_and(path, advise)


def compare_file(path: str) -> list[Advice]:
    """One contract description under every regime, the one in force on its commencement date first."""
    return compare_read(path)[0]


def compare_read(path: str) -> tuple[list[Advice], ContractDescription]:
    """``compare_file``, and the contract description it read."""
    return _read_and(path, lambda contract: default_advisor().compare(contract))


_R = TypeVar("_R")


def _read_and(path: str, work: Callable[[ContractDescription], _R]) -> tuple[_R, ContractDescription]:
    """``work`` on the contract description read from ``path``, and the description."""
    contract, doc = read_contract(path)
    try:
        return work(contract), contract
    except InputError as e:  # found after validation (a date no regime covers): give it the field's line
        raise locate(e, doc) from None


def advisor_for(rules: Path | None = None, data: Path | None = None) -> Advisor:
    return Advisor(load_rulebook(rules) if rules else None, load_data(str(data)) if data else None)
