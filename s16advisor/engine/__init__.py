"""Evaluating a compiled rulebook on one contract's facts.

An engine answers one question: "which rules of this stage match these facts?" (``Engine.fire``). The
staged loop, the bookkeeping of asserted facts and the memo live here, so that any engine that can answer
that question can replace durable-rules (unmaintained since 2020). ``PythonEngine`` is the reference
meaning of the rule language; the tests check that durable-rules agrees with it on every case.
"""

from __future__ import annotations

import inspect
import sys
from collections import OrderedDict
from collections.abc import Callable
from itertools import compress
from operator import itemgetter
from typing import NamedTuple, NoReturn, Protocol

from ..errors import EngineError
from ..rulebook import Program, Scalar, cell, evaluate_expr


class Engine(Protocol):
    name: str

    def fire(self, program: Program, stage: int, facts: dict[str, Scalar],
             only: list[int] | None = None) -> list[int]:
        """The indexes of the rules of ``stage`` whose conditions hold on ``facts`` (every one, not the first);
        with ``only``, of those rules of the stage only."""
        ...


class PythonEngine:
    """The reference engine: evaluates the compiled conditions directly."""

    name = "python"

    def fire(self, program: Program, stage: int, facts: dict[str, Scalar],
             only: list[int] | None = None) -> list[int]:
        rules = program.by_stage(stage) if only is None else [program.rules[i] for i in only]
        return [r.index for r in rules if evaluate_expr(r.expr, facts)]


class Evaluation:
    """What fired (rule indexes, in evaluation order: stage, then rulebook order), and the facts: the input
    facts plus every fact asserted (``facts``, merged when asked; ``fact(name)`` looks one up)."""

    __slots__ = ("fired", "_given", "_asserted", "_defaults", "_facts")

    def __init__(self, fired: list[int], given: dict[str, Scalar], asserted: dict[str, Scalar],
                 defaults: dict[str, Scalar]):
        self.fired = fired
        self._given, self._asserted, self._defaults = given, asserted, defaults
        self._facts: dict[str, Scalar] | None = None

    @property
    def facts(self) -> dict[str, Scalar]:
        if self._facts is None:
            self._facts = {**self._defaults, **self._given, **self._asserted}
        return self._facts

    def fact(self, name: str, default: Scalar | None = None) -> Scalar | None:
        for source in (self._asserted, self._given, self._defaults):
            if name in source:
                return source[name]
        return default


class _Plan:
    """What the memo needs of one program, worked out once: the facts each stage and each rule reads, what
    each rule asserts, and per stage its memos."""

    def __init__(self, program: Program):
        self.program = program  # held, so that id(program) in the evaluator's plans cannot be reused
        self.cuts = list(program.numeric_cuts.items())
        self.stages: list[_Stage] = []
        self.answers: dict[tuple[int, ...], _Answer] = {}
        earlier: set[str] = set()  # facts some rule of an earlier stage may assert
        for stage in range(program.stages):
            rules = program.by_stage(stage)
            reads = sorted({f for r in rules for f in r.reads})
            may_write = {name for r in rules for name in r.writes}
            self.stages.append(_Stage(
                _getter(reads), tuple(r.index for r in rules), tuple(_getter(sorted(r.reads)) for r in rules),
                OrderedDict(), tuple({} for _ in rules), sorted(may_write & earlier)))
            earlier |= may_write

    def reduce(self, name: str, v: Scalar) -> Scalar:
        """A number (or date) as the memo keys see it: its ``cell`` among the constants it is compared with."""
        cuts = self.program.numeric_cuts.get(name)
        return v if cuts is None else cell(cuts, v)

    def answer(self, stage: int, fired: list[int]) -> _Answer:
        """A stage's answer: the rules fired and what they assert together (as set, and as the memo keys see
        it), and which rule first asserted each fact. One object per combination of rules fired (few), shared by
        every memo entry that gives it."""
        key = (stage, *fired)
        got = self.answers.get(key)
        if got is None:
            if len(self.answers) >= _ANSWERS:
                self.answers.clear()  # only sharing is lost
            got = self.answers[key] = self._answer(fired)
        return got

    def _answer(self, fired: list[int]) -> _Answer:
        writes: dict[str, Scalar] = {}
        by: dict[str, int] = {}  # the last rule asserting each fact
        first: dict[str, int] = {}  # the first
        for i in fired:
            for name, value in self.program.rules[i].writes.items():
                if name in by and writes[name] != value:
                    Evaluator._conflict(self.program, by[name], i, name)
                writes[name] = value
                by[name] = i
                first.setdefault(name, i)
        return _Answer(fired, writes, {name: self.reduce(name, v) for name, v in writes.items()}, first)


class _Stage(NamedTuple):
    key: Callable[[dict[str, Scalar]], object]  # the facts the stage's rules read
    rules: tuple[int, ...]  # the stage's rules
    reads: tuple[Callable[[dict[str, Scalar]], object], ...]  # the facts each rule reads
    memo: OrderedDict[object, _Answer]  # the stage's answer on its facts
    rule_memos: tuple[dict[object, bool], ...]  # each rule's answer on its own facts
    overlap: list[str]  # facts this stage and an earlier one may both assert (checked for conflicts)


class _Answer(NamedTuple):
    fired: list[int]
    writes: dict[str, Scalar]
    seen: dict[str, Scalar]
    first: dict[str, int]  # the first rule asserting each fact (a conflict with an earlier stage names it)


_ANSWERS = 4096  # stage answers kept for sharing, per program


def _getter(names: list[str]) -> Callable[[dict[str, Scalar]], object]:
    if not names:
        return lambda facts: ()
    if len(names) == 1:
        return itemgetter(names[0])
    return itemgetter(*names)


class Evaluator:
    """Runs a program stage by stage on an engine, with a bounded memo.

    A rule only reads the facts its condition names, so its answer is memoised on those facts, with numbers
    reduced to where they fall among the constants they are compared with (``rulebook.cell``). Two
    levels: a stage's answer on the facts its rules read (one lookup answers the stage), then each rule's
    answer on its own facts (a stage whose combination of facts is new is still answered when every one of
    its rules has seen its own facts before). The engine is asked only when a rule has not: about those rules
    alone when they are at most a quarter of the stage, else about the whole stage. The memo is an
    optimisation only: ``memo_size=0`` gives the same results, engine-evaluated every time. Each stage keeps at
    most ``memo_size`` answers (least recently used go first), and each rule at most ``memo_size`` answers on its
    own facts (the oldest go first: a rule reads a few facts, whose combinations are few, and keeping them in
    order of use cost a step per rule of the stage each time).
    """

    def __init__(self, engine: Engine, memo_size: int = 4096):
        self.engine = engine
        self.memo_size = memo_size
        self._plans: dict[int, _Plan] = {}
        # An engine that can be asked about some rules of a stage only (``fire(..., only)``); else whole stages.
        self._partial = "only" in inspect.signature(engine.fire).parameters
        self.hits = 0  # stages answered by the memo
        self.misses = 0  # stages the engine was asked

    def evaluate(self, program: Program, facts: dict[str, Scalar]) -> Evaluation:
        plan = self._plan(program)
        memo = self.memo_size > 0
        reduced = {**program.defaults, **facts}  # the facts as the memo keys see them
        if memo:
            for name, cuts in plan.cuts:
                if name in reduced:
                    reduced[name] = cell(cuts, reduced[name])
        fired_all: list[int] = []
        asserted: dict[str, Scalar] = {}
        hits = 0
        for stage, st in enumerate(plan.stages):
            if memo:
                key = st.key(reduced)
                answer = st.memo.get(key)  # the stage seen on these facts before (most stages of most contracts)
                if answer is not None:
                    hits += 1
                    st.memo.move_to_end(key)
                else:
                    answer = self._fire_memo(plan, stage, st, key, reduced, facts, asserted)
            else:  # every stage engine-evaluated
                answer = plan.answer(stage, self._fire(program, stage, {**program.defaults, **facts, **asserted}))
            if answer.writes:
                for name in st.overlap:
                    if name in asserted and name in answer.writes and asserted[name] != answer.writes[name]:
                        # (the earlier rule: the last one fired so far that asserts it)
                        earlier = next(i for i in reversed(fired_all) if name in program.rules[i].writes)
                        self._conflict(program, earlier, answer.first[name], name)
                asserted.update(answer.writes)
                reduced.update(answer.seen)
            fired_all += answer.fired
        self.hits += hits
        return Evaluation(fired_all, facts, asserted, program.defaults)

    @staticmethod
    def _conflict(program: Program, first: int, second: int, name: str) -> NoReturn:
        a, b = program.rules[first].rule.id, program.rules[second].rule.id
        raise EngineError(f"rules {a} and {b} assert different values for {name}")

    def _plan(self, program: Program) -> _Plan:
        plan = self._plans.get(id(program))
        if plan is None or plan.program is not program:
            plan = self._plans[id(program)] = _Plan(program)
        return plan

    def _fire(self, program: Program, stage: int, state: dict[str, Scalar]) -> list[int]:
        return sorted(set(self.engine.fire(program, stage, state)))  # an `any` can match more than once

    def _fire_memo(self, plan: _Plan, stage: int, st: _Stage, key: object, reduced: dict[str, Scalar],
                   facts: dict[str, Scalar], asserted: dict[str, Scalar]) -> _Answer:
        """A stage the memo has not seen on its facts ``key``: answered by its rules' memo, else the engine."""
        memo, rules, rule_memos = st.memo, st.rules, st.rule_memos
        keys = [read(reduced) for read in st.reads]
        answers = list(map(dict.get, rule_memos, keys))  # (None: not seen on these facts)
        if None in answers:
            # The engine is asked about the rules not seen on their facts before: alone when they are few
            # (one ruleset each), else with the whole stage.
            self.misses += 1
            program = plan.program
            state = {**program.defaults, **facts, **asserted}
            unknown = [index for index, yes in zip(rules, answers, strict=True) if yes is None]
            if self._partial and len(unknown) * 4 <= len(rules):
                matched = set(self.engine.fire(program, stage, state, unknown))
                matched.update(compress(rules, answers))
                fired = sorted(matched)
            else:
                fired = self._fire(program, stage, state)
                matched = set(fired)
            for index, rule_memo, k in zip(rules, rule_memos, keys, strict=True):
                rule_memo[k] = index in matched
                if len(rule_memo) > self.memo_size:
                    del rule_memo[next(iter(rule_memo))]  # the oldest
        else:
            self.hits += 1
            fired = list(compress(rules, answers))
        answer = memo[key] = plan.answer(stage, fired)
        if len(memo) > self.memo_size:
            memo.popitem(last=False)
        return answer


def default_engine() -> Engine:
    try:
        from .durable_engine import DurableEngine
    except ImportError as e:  # (its C extension does not load on Python 3.13: PyEval_CallObject is gone)
        raise EngineError(f"durable-rules, the rules engine, cannot be loaded ({e}); s16advisor runs on Python "
                          f"3.11 and 3.12, this is {sys.version.split()[0]}") from None
    return DurableEngine()
