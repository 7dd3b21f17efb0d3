"""The rulebook: strict schemas for rules/*.yaml, and their compilation into an engine-neutral program.

A rule file is data only. Conditions are a small declarative language (no expressions, nothing that
can run code), so a rule file from an untrusted pull request is safe to load:

    {fact: NAME, eq|ne|lt|lte|gt|gte: VALUE}   {fact: NAME, in|not_in: [VALUES]}
    {fact: NAME, includes: VALUE}              (a set-valued fact such as objectives)
    {cpv: {all_in|any_in|none_in: LIST}}       (the contract's CPV codes against a list in data/cpv_codes.yaml)
    {threshold: NAME|applicable, is: below|just_below|at_or_above}
    {route: ROUTE, is: available|unavailable|recommended|not_recommended}
    {declared_route: available|unavailable}
    {all: [...]}  {any: [...]}  {not: ...}

Compilation expands the sugar into plain comparisons on named facts, checks every fact name and value
type against the fact catalogue, pushes negations down to the leaves, and orders the rules in stages
so that a rule runs only after every rule that can assert a fact it reads.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from bisect import bisect_left
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from json.encoder import encode_basestring as _json_str
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)

from .contract import FINDING_CODES, ROUTE_IDS, _strict_date
from .errors import RulebookError
from .resources import rules_dir
from .yamlio import URL_PATTERN, Document, load_trusted_yaml

Date = Annotated[dt.date, BeforeValidator(_strict_date)]
Scalar = bool | int | float | str
TEMPLATE_RX = re.compile(r"\{([a-z0-9_.]+)\}")
RULE_ID_RX = r"^[a-z0-9_]+(\.[a-z0-9_]+)+$"
SEVERITIES = ("error", "warning", "info")
BLOCKER_CODES = (
    "not_in_regime", "below_threshold", "at_or_above_threshold", "not_light_touch", "cpv_not_reservable",
    "duration_over_limit", "no_lots", "lot_over_small_lot_value", "small_lots_over_20_percent",
    "solution_available_on_market", "not_innovative",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)  # (true is not 1)


# ---------------------------------------------------------------- the condition language


class FactCond(_Strict):
    fact: str
    eq: Scalar | None = None
    ne: Scalar | None = None
    lt: int | float | str | None = None  # a str only for dates: 2025-02-24
    lte: int | float | str | None = None  # a str only for dates: 2025-02-24
    gt: int | float | str | None = None  # a str only for dates: 2025-02-24
    gte: int | float | str | None = None  # a str only for dates: 2025-02-24
    in_: list[Scalar] | None = Field(default=None, alias="in")
    not_in: list[Scalar] | None = None
    includes: str | None = None

    @model_validator(mode="after")
    def _one_operator(self) -> FactCond:
        names = ("eq", "ne", "lt", "lte", "gt", "gte", "in_", "not_in", "includes")
        ops = [k for k in names if getattr(self, k) is not None]
        if len(ops) != 1:
            raise ValueError(f"a fact condition needs exactly one operator, got {ops or 'none'}")
        return self


class CpvTest(_Strict):
    all_in: str | None = None
    any_in: str | None = None
    none_in: str | None = None

    @model_validator(mode="after")
    def _one(self) -> CpvTest:
        if sum(v is not None for v in (self.all_in, self.any_in, self.none_in)) != 1:
            raise ValueError("cpv needs exactly one of all_in, any_in, none_in")
        return self


class CpvCond(_Strict):
    cpv: CpvTest


class ThresholdCond(_Strict):
    threshold: str
    is_: Literal["below", "just_below", "at_or_above"] = Field(alias="is")


class RouteCond(_Strict):
    route: str
    is_: Literal["available", "unavailable", "recommended", "not_recommended"] = Field(alias="is")


class DeclaredRouteCond(_Strict):
    declared_route: Literal["available", "unavailable"]


class AllCond(_Strict):
    all: list[Condition] = Field(min_length=1)


class AnyCond(_Strict):
    any: list[Condition] = Field(min_length=1)


class NotCond(_Strict):
    not_: Condition = Field(alias="not")


_CONDITION_KEYS = ("fact", "cpv", "threshold", "route", "declared_route", "all", "any", "not")


def _condition_kind(value: Any) -> str | None:
    """Which kind of condition a mapping is, by its key, so a mistake is reported against that kind only."""
    if isinstance(value, dict):
        for key in _CONDITION_KEYS:
            if key in value:
                return key
    elif isinstance(value, BaseModel):
        return {FactCond: "fact", CpvCond: "cpv", ThresholdCond: "threshold", RouteCond: "route",
                DeclaredRouteCond: "declared_route", AllCond: "all", AnyCond: "any", NotCond: "not"}[type(value)]
    return None


Condition = Annotated[
    Union[  # noqa: UP007
        Annotated[FactCond, Tag("fact")],
        Annotated[CpvCond, Tag("cpv")],
        Annotated[ThresholdCond, Tag("threshold")],
        Annotated[RouteCond, Tag("route")],
        Annotated[DeclaredRouteCond, Tag("declared_route")],
        Annotated[AllCond, Tag("all")],
        Annotated[AnyCond, Tag("any")],
        Annotated[NotCond, Tag("not")],
    ],
    Discriminator(
        _condition_kind,
        custom_error_type="condition",
        custom_error_message=f"a condition is a mapping with one of the keys {', '.join(_CONDITION_KEYS)}",
    ),
]
for _m in (AllCond, AnyCond, NotCond):
    _m.model_rebuild()


# ---------------------------------------------------------------- rules


class InForceRange(_Strict):
    from_: Date = Field(alias="from")
    to: Date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> InForceRange:
        if self.to is not None and self.to < self.from_:
            raise ValueError("in_force.to is before in_force.from")
        return self

    def covers(self, day: dt.date) -> bool:
        return self.from_ <= day and (self.to is None or day <= self.to)


class Block(_Strict):
    route: str
    code: str
    message: str


class RouteNote(_Strict):
    route: str
    message: str


class Recommend(_Strict):
    route: str
    order: int = Field(ge=0)
    message: str


class Finding(_Strict):
    code: str
    severity: Literal["error", "warning", "info"]
    message: str


class Then(_Strict):
    assert_: dict[str, bool | str] = Field(default={}, alias="assert")
    block: list[Block] = []
    condition: list[RouteNote] = []
    recommend: list[Recommend] = []
    finding: list[Finding] = []

    @model_validator(mode="before")
    @classmethod
    def _lists(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: [v] if k in ("block", "condition", "recommend", "finding") and isinstance(v, dict) else v
                    for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _something(self) -> Then:
        if not (self.assert_ or self.block or self.condition or self.recommend or self.finding):
            raise ValueError("then: a rule must assert, block, recommend, add a condition or a finding")
        return self


class Rule(_Strict):
    id: str = Field(pattern=RULE_ID_RX)
    title: str = Field(min_length=1)
    decides: str = Field(min_length=1)
    why: str = Field(min_length=1)
    references: list[Annotated[str, Field(pattern=URL_PATTERN)]] = Field(min_length=1)
    in_force: InForceRange
    verify: str | None = None
    limits: str | None = None
    when: Condition
    then: Then


class RuleFile(_Strict):
    schema_: Literal["s16advisor/rules/1"] = Field(alias="schema")
    regime: str
    rules: list[Rule] = Field(min_length=1)


class RouteSpec(_Strict):
    id: str
    title: str
    kind: Literal["regime", "procedure", "reservation", "exemption"]
    reference: str = Field(pattern=URL_PATTERN)
    summary: str
    not_in_regime: str | None = None


class RegimeSpec(_Strict):
    id: str
    title: str
    reference: str = Field(pattern=URL_PATTERN)
    in_force: InForceRange
    because: str
    encoded: bool = True
    reservations: dict[str, str] = {}
    routes: list[RouteSpec] = []

    @model_validator(mode="after")
    def _every_route(self) -> RegimeSpec:
        if self.encoded and sorted(r.id for r in self.routes) != sorted(ROUTE_IDS):
            raise ValueError(f"regime {self.id} must list every route id of advice v1 exactly once")
        return self


class RegimesFile(_Strict):
    schema_: Literal["s16advisor/regimes/1"] = Field(alias="schema")
    regimes: list[RegimeSpec] = Field(min_length=1)


# ---------------------------------------------------------------- compiled form (engine-neutral)


@dataclass(frozen=True)
class Leaf:
    """One comparison on one fact: ``fact OP value`` with OP in eq ne lt lte gt gte."""

    fact: str
    op: str
    value: Scalar


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


Expr = Leaf | And | Or
_NEGATE = {"eq": "ne", "ne": "eq", "lt": "gte", "gte": "lt", "gt": "lte", "lte": "gt"}


@dataclass
class FactType:
    kind: Literal["bool", "number", "str", "date"]
    values: tuple[str, ...] | None = None  # the allowed values of a str fact, when they are known


@dataclass
class CompiledRule:
    rule: Rule
    index: int  # position in the rulebook
    source: str  # file:line
    expr: Expr
    reads: frozenset[str]
    writes: dict[str, Scalar]
    stage: int = 0


@dataclass
class Program:
    """A regime's rules, compiled: what an engine evaluates."""

    regime: RegimeSpec
    rules: list[CompiledRule]
    facts: dict[str, FactType]
    defaults: dict[str, Scalar]
    stages: int
    numeric_cuts: dict[str, list[float]] = field(default_factory=dict)

    def by_stage(self, stage: int) -> list[CompiledRule]:
        return [r for r in self.rules if r.stage == stage]


def cell(cuts: list[float], value: Scalar) -> int:
    """Where a number (or date) falls among the sorted constants it is compared with: ``2i`` between
    constants, ``2i + 1`` equal to constant ``i``. Two values in the same cell make every comparison with
    those constants give the same answer, so a memo can key on the cell instead of the value."""
    i = bisect_left(cuts, value)  # type: ignore[arg-type]
    return 2 * i + 1 if i < len(cuts) and cuts[i] == value else 2 * i


def date_number(day: dt.date) -> int:
    """Dates become YYYYMMDD integers: engines compare numbers, and the order is the same."""
    return day.year * 10000 + day.month * 100 + day.day


class Compiler:
    def __init__(self, regime: RegimeSpec, facts: dict[str, FactType], thresholds: list[str], cpv_lists: list[str]):
        self.regime = regime
        self.facts = dict(facts)
        self.input_facts = frozenset(facts)  # the catalogue: the facts of the contract (before rules add theirs)
        self.thresholds = thresholds
        self.cpv_lists = cpv_lists
        self.route_ids = [r.id for r in regime.routes]

    def _fact(self, name: str, where: str) -> FactType:
        if name not in self.facts:
            raise RulebookError(f"{where}: unknown fact {name!r}")
        return self.facts[name]

    def _leaf(self, fact: str, op: str, value: Scalar, where: str) -> Leaf:
        ft = self._fact(fact, where)
        ok = {
            "bool": isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "str": isinstance(value, str),
            "date": isinstance(value, str) and bool(re.match(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z", value)),
        }[ft.kind]
        if not ok:
            raise RulebookError(f"{where}: fact {fact!r} is a {ft.kind}, cannot compare it with {value!r}")
        if ft.kind in ("bool", "str") and op not in ("eq", "ne"):
            raise RulebookError(f"{where}: fact {fact!r} is a {ft.kind}; use eq, ne, in or not_in")
        if ft.kind == "str" and ft.values is not None and value not in ft.values:
            raise RulebookError(f"{where}: {value!r} is not a possible value of {fact!r} ({', '.join(ft.values)})")
        if ft.kind == "date":
            try:
                value = date_number(_strict_date(str(value)))
            except ValueError as e:
                raise RulebookError(f"{where}: fact {fact!r}: {e}") from None
        elif ft.kind == "number":
            try:
                value = float(value)
            except OverflowError:  # (an integer of hundreds of digits)
                value = math.inf
            if not math.isfinite(value):
                raise RulebookError(f"{where}: fact {fact!r}: {value} is not a number to compare with")
            if abs(value) >= MAX_CONSTANT:
                raise RulebookError(f"{where}: fact {fact!r}: {value:g} is beyond the numbers compared "
                                    f"(below {MAX_CONSTANT:g})")
            if 0 < abs(value) <= MIN_CONSTANT:
                raise RulebookError(f"{where}: fact {fact!r}: {value:g} is nearer 0 than the numbers compared "
                                    f"(0, or more than {MIN_CONSTANT:g})")
        return Leaf(fact, op, value)

    def expr(self, c: Condition, where: str, negate: bool = False) -> Expr:
        if isinstance(c, AllCond | AnyCond):
            parts = tuple(self.expr(x, where, negate) for x in (c.all if isinstance(c, AllCond) else c.any))
            conj = isinstance(c, AllCond) != negate
            return And(parts) if conj else Or(parts)
        if isinstance(c, NotCond):
            return self.expr(c.not_, where, not negate)
        if isinstance(c, FactCond):
            for op in ("eq", "ne", "lt", "lte", "gt", "gte"):
                v = getattr(c, op)
                if v is not None:
                    return self._leaf(c.fact, _NEGATE[op] if negate else op, v, where)
            if c.includes is not None:
                return self._leaf(f"{c.fact}.{c.includes}", "eq", not negate, where)
            values = c.in_ if c.in_ is not None else c.not_in
            assert values is not None
            positive = (c.in_ is not None) != negate
            leaves = tuple(self._leaf(c.fact, "eq" if positive else "ne", v, where) for v in values)
            return Or(leaves) if positive else And(leaves)
        if isinstance(c, CpvCond):
            name = c.cpv.all_in or c.cpv.any_in or c.cpv.none_in
            if name not in self.cpv_lists:
                raise RulebookError(f"{where}: unknown CPV list {name!r}")
            if c.cpv.all_in:
                return self._leaf(f"cpv.{name}.all", "eq", not negate, where)
            want_any = bool(c.cpv.any_in) != negate
            return self._leaf(f"cpv.{name}.any", "eq", want_any, where)
        if isinstance(c, ThresholdCond):
            if c.threshold == "applicable":
                # "the value against the threshold the scope rules chose": one branch per threshold
                branches = []
                for t in self.thresholds:
                    branches.append(And((self._leaf("threshold", "eq", t, where),
                                         self._leaf(f"vs.{t}", "ne" if negate else "eq", c.is_, where))))
                if negate:
                    # not (any_t (threshold==t and vs.t==x)) == all_t (threshold!=t or vs.t!=x)
                    return And(tuple(Or((self._leaf("threshold", "ne", t, where),
                                         self._leaf(f"vs.{t}", "ne", c.is_, where))) for t in self.thresholds))
                return Or(tuple(branches))
            if c.threshold not in self.thresholds:
                raise RulebookError(f"{where}: unknown threshold {c.threshold!r}")
            return self._leaf(f"vs.{c.threshold}", "ne" if negate else "eq", c.is_, where)
        if isinstance(c, RouteCond):
            if c.route not in self.route_ids:
                raise RulebookError(f"{where}: unknown route {c.route!r}")
            fact = f"blocked.{c.route}" if c.is_ in ("available", "unavailable") else f"recommended.{c.route}"
            truth = c.is_ in ("unavailable", "recommended")
            return self._leaf(fact, "eq", truth != negate, where)
        if isinstance(c, DeclaredRouteCond):
            # "the route the draft declares is (un)available": one branch per route id
            want_blocked = c.declared_route == "unavailable"
            if negate:
                # not (any_r (declared_route==r and blocked.r==w)) == all_r (declared_route!=r or blocked.r!=w): true
                # too when the draft declares no route (flipping w instead would need a route declared)
                return And(tuple(Or((self._leaf("declared_route", "ne", r, where),
                                     self._leaf(f"blocked.{r}", "eq", not want_blocked, where)))
                                 for r in self.route_ids))
            return Or(tuple(And((self._leaf("declared_route", "eq", r, where),
                                 self._leaf(f"blocked.{r}", "eq", want_blocked, where)))
                            for r in self.route_ids))
        raise RulebookError(f"{where}: unsupported condition {c!r}")  # pragma: no cover

    def compile(self, rules: list[tuple[Rule, str]]) -> Program:
        writes_of: dict[str, list[int]] = {}
        compiled: list[CompiledRule] = []
        # First pass: what each rule writes, so that asserted facts are known before conditions are checked.
        for i, (rule, where) in enumerate(rules):
            writes: dict[str, Scalar] = {}
            for name, value in rule.then.assert_.items():
                if not ASSERTED_RX.match(name) or name in ENGINE_FIELDS or \
                        (name in self.input_facts and name not in ASSERTABLE_FACTS):
                    raise RulebookError(f"{where}: {rule.id} cannot assert {name!r}: a rule asserts a fact of its own "
                                        "(lower case letters, digits and single underscores), not a fact of the "
                                        "contract, a route's blocked./recommended. or the engine's "
                                        f"{', '.join(sorted(ENGINE_FIELDS))}")
                kind: Literal["bool", "str"] = "bool" if isinstance(value, bool) else "str"
                known = self.facts.get(name)
                if known is not None and known.kind != kind:
                    raise RulebookError(f"{where}: {rule.id} asserts {name!r} as a {kind}, elsewhere a {known.kind}")
                if known is None:
                    self.facts[name] = FactType(kind)
                elif known.values is not None and value not in known.values:
                    raise RulebookError(f"{where}: {rule.id} asserts {name}={value!r}, not one of {known.values}")
                writes[name] = value
            for b in rule.then.block:
                self._check_route(b.route, where)
                if b.code not in BLOCKER_CODES:
                    raise RulebookError(f"{where}: {rule.id}: unknown blocker code {b.code!r}")
                writes[f"blocked.{b.route}"] = True
            for r in rule.then.recommend:
                self._check_route(r.route, where)
                writes[f"recommended.{r.route}"] = True
            for n in rule.then.condition:
                self._check_route(n.route, where)
            for f in rule.then.finding:
                if f.code not in FINDING_CODES:
                    raise RulebookError(f"{where}: {rule.id}: unknown finding code {f.code!r}")
            for name in writes:
                writes_of.setdefault(name, []).append(i)
            compiled.append(CompiledRule(rule, i, where, And(()), frozenset(), writes))
        for cr in compiled:
            span = cr.rule.in_force
            in_force = [Leaf("start", "gte", date_number(span.from_))]
            if span.to is not None:
                in_force.append(Leaf("start", "lte", date_number(span.to)))
            cr.expr = And((*in_force, self.expr(cr.rule.when, f"{cr.source}: {cr.rule.id}")))
            cr.reads = frozenset(_reads(cr.expr))
        # Stages: a rule runs after every rule that writes a fact it reads.
        order = {cr.index: cr for cr in compiled}
        memo: dict[int, int] = {}

        def stage(i: int, path: tuple[int, ...]) -> int:
            if i in memo:
                return memo[i]
            if i in path:
                loop = path[path.index(i):]  # (the rules before it only lead into the cycle)
                cycle = " -> ".join(f"{order[j].rule.id} ({order[j].source})" for j in loop)
                raise RulebookError(f"{order[i].source}: rules depend on each other in a cycle: {cycle} -> "
                                    f"{order[i].rule.id}")
            cr = order[i]
            deps = [w for f in cr.reads for w in writes_of.get(f, [])]
            memo[i] = 1 + max((stage(w, (*path, i)) for w in deps), default=-1)
            return memo[i]

        try:
            for cr in compiled:
                cr.stage = stage(cr.index, ())
        except RecursionError:
            raise RulebookError(f"rules depend on each other in a chain too long to order ({len(compiled)} rules in "
                                f"{self.regime.id})") from None
        _check_size(compiled)
        defaults: dict[str, Scalar] = {}
        for name in writes_of:
            defaults[name] = False if self.facts[name].kind == "bool" else "none"
        for route in self.regime.routes:  # a route the regime does not have is blocked from the start
            defaults[f"blocked.{route.id}"] = route.not_in_regime is not None
            defaults.setdefault(f"recommended.{route.id}", False)
        cuts: dict[str, set[float]] = {}
        for cr in compiled:
            for leaf in leaves(cr.expr):
                if self.facts[leaf.fact].kind in ("number", "date"):  # (finite: see _leaf; NaN would unsort them)
                    cuts.setdefault(leaf.fact, set()).add(float(leaf.value))
        return Program(
            regime=self.regime, rules=compiled, facts=self.facts, defaults=defaults,
            stages=1 + max((cr.stage for cr in compiled), default=0),
            numeric_cuts={k: sorted(v) for k, v in cuts.items()},
        )

    def _check_route(self, route: str, where: str) -> None:
        if route not in self.route_ids:
            raise RulebookError(f"{where}: unknown route {route!r}")


# Sizes the engine is known to handle, with room to spare: durable-rules hangs, making a ruleset, on an `any` (or
# an `in` list) of more than 512 alternatives, and on a stage of about 500 rules.
MAX_ALTERNATIVES = 256
MAX_RULES_PER_STAGE = 256
MAX_LEAVES = 1024  # comparisons in one rule's condition (the largest has 25; an `in` of 256 and its dates, 258)
MAX_PLACEHOLDERS = 16  # in one message (the most any has is 5)


MAX_CONSTANT = 1e15  # numbers a rule compares with are below it (an engine may clamp facts to it)
MIN_CONSTANT = 1e-4  # and 0 or further from 0 than this (an engine may put a fact nearer 0 at it)
ASSERTED_RX = re.compile(r"^[a-z](?:[a-z0-9]|_(?!_))*\Z")  # (no dot, no "__": durable writes a.b as a__b)
ENGINE_FIELDS = frozenset({"t", "stage", "sid", "id"})  # what the engine's own fact holds beside the facts
ASSERTABLE_FACTS = frozenset({"threshold"})  # a fact of the catalogue a rule sets: which threshold applies


def _check_size(compiled: list[CompiledRule]) -> None:
    per_stage: dict[int, list[CompiledRule]] = {}
    for cr in compiled:
        per_stage.setdefault(cr.stage, []).append(cr)
        widest = _widest(cr.expr)
        if widest > MAX_ALTERNATIVES:
            raise RulebookError(f"{cr.source}: {cr.rule.id}: an `any` or `in` of {widest} alternatives (at most "
                                f"{MAX_ALTERNATIVES}): split the rule")
        count = len(leaves(cr.expr))
        if count > MAX_LEAVES:
            raise RulebookError(f"{cr.source}: {cr.rule.id}: a condition of {count:,} comparisons (at most "
                                f"{MAX_LEAVES:,}): split the rule")
    for rules in per_stage.values():
        if len(rules) > MAX_RULES_PER_STAGE:
            raise RulebookError(f"{rules[0].source}: {len(rules)} rules evaluated together (at most "
                                f"{MAX_RULES_PER_STAGE}), from {rules[0].rule.id} to {rules[-1].rule.id}")


def _widest(e: Expr) -> int:
    if isinstance(e, Leaf):
        return 1
    return max([len(e.items) if isinstance(e, Or) else 1, *(_widest(x) for x in e.items)])


def leaves(e: Expr) -> list[Leaf]:
    if isinstance(e, Leaf):
        return [e]
    return [leaf for x in e.items for leaf in leaves(x)]


def _reads(e: Expr) -> set[str]:
    return {leaf.fact for leaf in leaves(e)}


def evaluate_expr(e: Expr, facts: dict[str, Scalar]) -> bool:
    """The reference meaning of a compiled condition (used by the reference engine and the tests)."""
    if isinstance(e, And):
        return all(evaluate_expr(x, facts) for x in e.items)
    if isinstance(e, Or):
        return any(evaluate_expr(x, facts) for x in e.items)
    v = facts[e.fact]
    if e.op == "eq":
        return v == e.value
    if e.op == "ne":
        return v != e.value
    if e.op == "lt":
        return v < e.value  # type: ignore[operator]
    if e.op == "lte":
        return v <= e.value  # type: ignore[operator]
    if e.op == "gt":
        return v > e.value  # type: ignore[operator]
    return v >= e.value  # type: ignore[operator]


# ---------------------------------------------------------------- loading


def validate_trusted(model: type[BaseModel], doc: Document) -> Any:
    """A bundled rules or data document validated against its schema; problems as ``file:line: path: message``
    (a RulebookError: a broken rulebook is the project's bug, not the user's input)."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p[0].isupper()))
            lines.append(f"{doc.where(loc)}: {'.'.join(map(str, loc))}: {err['msg']}")
        raise RulebookError("\n".join(lines)) from None


# A placeholder as a message writes it, and where: (threshold.amount, "file:line", the message's path, the rule id
# or "regime ID"), checked against the details of its regime (which depend on the data: its thresholds and CPV
# lists) when an advisor compiles the rulebook.
Placeholder = tuple[str, str, tuple[str | int, ...], str]


@dataclass
class Rulebook:
    folder: Path
    regimes: list[RegimeSpec]
    rules: dict[str, list[tuple[Rule, str]]]  # regime id -> (rule, "file:line")
    placeholders: dict[str, list[Placeholder]] = field(default_factory=dict)  # regime id -> its messages' own

    def regime_for(self, day: dt.date) -> RegimeSpec | None:
        for r in self.regimes:
            if r.in_force.covers(day):
                return r
        return None

    def regime(self, regime_id: str) -> RegimeSpec | None:
        return next((r for r in self.regimes if r.id == regime_id), None)

    def all_rules(self) -> list[Rule]:
        return [r for rules in self.rules.values() for r, _ in rules]

    def check_placeholders(self, regime_id: str, details: Collection[str]) -> None:
        """Refuse a placeholder the messages of ``regime_id`` cannot have filled (``details``: every name a
        contract's details give under that regime, facts.detail_names): a misspelt one would be shown as written
        to every user whose contract fires its rule."""
        problems = []
        for name, where, at, owner in self.placeholders.get(regime_id, ()):
            if name not in details:
                import difflib  # (only when refusing: it is not otherwise imported to advise)

                close = difflib.get_close_matches(name, details, n=1, cutoff=0.75)
                root = name.split(".")[0]
                kin = sorted(n for n in details if n.split(".")[0] == root) or sorted(details)
                hint = (f"did you mean {{{close[0]}}}?" if close else
                        f"a {regime_id} message may quote {', '.join(f'{{{n}}}' for n in kin)}")
                problems.append(f"{where}: {'.'.join(map(str, at))}: {owner}: unknown placeholder {{{name}}}: {hint}")
        if problems:
            raise RulebookError("\n".join(problems))


def _rule_files(folder: Path) -> list[Path]:
    """rules/<regime>/<name>.yaml, hidden ones left out (an editor's, or a folder such as .git)."""
    return sorted(p for p in folder.glob("*/*.yaml") if not _hidden(p, folder))


def _hidden(path: Path, folder: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(folder).parts)


def _only_rule_files(folder: Path) -> None:
    """Every file under ``rules/`` is read: one that would not be (``new.yml``, ``extra.yaml``, a sub-folder's) is
    refused, so that a rule cannot be added where it silently does nothing."""
    read = {folder / "regimes.yaml", *_rule_files(folder)}
    for p in sorted(folder.rglob("*")):
        if _hidden(p, folder) or "__pycache__" in p.relative_to(folder).parts:
            continue
        if (p.parent == folder and p.is_dir()) or p in read:
            continue
        raise RulebookError(f"{p}: not a rule file, so its rules would not be read (rule files are "
                            f"{folder.name}/<regime>/<name>.yaml, and {folder.name}/regimes.yaml)")


def load_rulebook(folder: Path | None = None) -> Rulebook:
    folder = folder or rules_dir()
    _only_rule_files(folder)
    regimes_doc = load_trusted_yaml(folder / "regimes.yaml", within=folder)
    regimes: RegimesFile = validate_trusted(RegimesFile, regimes_doc)
    rules: dict[str, list[tuple[Rule, str]]] = {r.id: [] for r in regimes.regimes}
    placeholders: dict[str, list[Placeholder]] = {r.id: [] for r in regimes.regimes}
    for k, regime in enumerate(regimes.regimes):
        _placeholders(placeholders[regime.id], regime.because, regimes_doc, ("regimes", k, "because"),
                      f"regime {regime.id}")
    seen: dict[str, str] = {}
    for path in _rule_files(folder):
        doc = load_trusted_yaml(path, within=folder)
        shown = f"{folder.name}/{path.relative_to(folder).as_posix()}"  # (a trace names rules/...: the same anywhere)
        rf: RuleFile = validate_trusted(RuleFile, doc)
        if rf.regime not in rules:
            raise RulebookError(f"{path}: unknown regime {rf.regime!r}")
        for i, rule in enumerate(rf.rules):
            where = doc.where(("rules", i))
            if rule.id in seen:
                raise RulebookError(f"{where}: rule id {rule.id} is also used at {seen[rule.id]}")
            if not rule.id.startswith(rf.regime + "."):
                raise RulebookError(f"{where}: rule id {rule.id} must start with {rf.regime}.")
            seen[rule.id] = where
            t = rule.then
            for kind, items in (("block", t.block), ("condition", t.condition), ("recommend", t.recommend),
                                ("finding", t.finding)):
                for j, x in enumerate(items):
                    if "{" in x.message:  # (its path: a kind given as one mapping has no index)
                        one = not isinstance(doc.data["rules"][i]["then"][kind], list)
                        at = ("rules", i, "then", kind, "message") if one else ("rules", i, "then", kind, j, "message")
                        _placeholders(placeholders[rf.regime], x.message, doc, at, rule.id)
            rules[rf.regime].append((rule, f"{shown}:{doc.line_of(('rules', i))}"))
    return Rulebook(folder, regimes.regimes, rules, placeholders)


def _placeholders(out: list[Placeholder], text: str, doc: Document, at: tuple[str | int, ...], owner: str) -> None:
    """The placeholders of a message, with where it is (checked by Rulebook.check_placeholders)."""
    names = TEMPLATE_RX.findall(text)
    if len(names) > MAX_PLACEHOLDERS:  # (each may quote a long text: a message must stay a message)
        raise RulebookError(f"{doc.where(at)}: {'.'.join(map(str, at))}: {len(names)} placeholders (at most "
                            f"{MAX_PLACEHOLDERS} in one message)")
    for name in names:
        out.append((name, doc.where(at), at, owner))


class Template(NamedTuple):
    """A message split at its placeholders: ``pattern % (details[names[0]], details[names[1]], ...)``. Filled by
    plain lookup (never str.format: rule files are untrusted); a placeholder with no detail stays as written."""

    text: str
    names: tuple[str, ...]  # the placeholders, in order
    pattern: str  # the text between them joined by %s (each % of the text doubled)
    json: tuple[bytes, ...] | None  # the message as a JSON string (UTF-8), room between its texts for details
    # (each detail in turn, JSON-escaped without quotes, goes between: see advisor._json_part)

    def fill(self, details: Mapping[str, str]) -> str:
        if not self.names:
            return self.text
        try:
            return self.pattern % tuple(map(details.__getitem__, self.names))
        except KeyError:  # a detail this contract does not have: its placeholder stays
            return self.pattern % tuple(_detail(details, n) for n in self.names)


def _detail(details: Mapping[str, str], name: str) -> str:
    try:
        return details[name]
    except KeyError:
        return "{" + name + "}"


@lru_cache(maxsize=4096)
def template(text: str) -> Template:
    parts = TEMPLATE_RX.split(text)
    return Template(text, tuple(parts[1::2]), "%s".join(t.replace("%", "%%") for t in parts[0::2]),
                    _json_parts(parts))


def literal(text: str) -> Template:
    """A text said as it is (no placeholders filled)."""
    return Template(text, (), text.replace("%", "%%"), _json_parts([text]))


def _json_parts(parts: list[str]) -> tuple[bytes, ...] | None:
    """A message's texts (``parts[0::2]``) JSON-escaped and quoted as one string, as UTF-8, with a slot for each
    placeholder (``parts[1::2]``) between them; None if a text is not UTF-8 (a lone surrogate)."""
    out = [_json_str(t)[1:-1] for t in parts]
    out[0] = '"' + out[0]
    out[-1] += '"'
    try:
        return tuple(p.encode() for p in out)
    except UnicodeEncodeError:
        return None


@cache
def default_rulebook() -> Rulebook:
    return load_rulebook()
