"""Evaluating a compiled rulebook on one contract's facts.

An engine answers one question: "which rules of this stage match these facts?" (``Engine.fire``). The
staged loop, the bookkeeping of asserted facts and the memo live here, so that any engine that can answer
that question can replace durable-rules (unmaintained since 2020). ``PythonEngine`` is the reference
meaning of the rule language; the tests check that durable-rules agrees with it on every case.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from ..errors import EngineError
from ..rulebook import Program, Scalar, evaluate_expr


class Engine(Protocol):
    name: str

    def fire(self, program: Program, stage: int, facts: dict[str, Scalar]) -> list[int]:
        """The indexes of the rules of ``stage`` whose conditions hold on ``facts`` (every one, not the first)."""
        ...


class PythonEngine:
    """The reference engine: evaluates the compiled conditions directly."""

    name = "python"

    def fire(self, program: Program, stage: int, facts: dict[str, Scalar]) -> list[int]:
        return [r.index for r in program.by_stage(stage) if evaluate_expr(r.expr, facts)]


@dataclass
class Evaluation:
    fired: list[int]  # rule indexes, in evaluation order (stage, then rulebook order)
    facts: dict[str, Scalar]  # the input facts plus every fact asserted


class Evaluator:
    """Runs a program stage by stage on an engine, with a bounded memo per stage.

    Stage ``k`` only reads the facts its rules read, so its answer is memoised on those facts (numbers
    reduced to where they fall among the constants they are compared with: see ``Program.memo_key``).
    The memo is an optimisation only: ``memo_size=0`` gives the same results, engine-evaluated every time.
    """

    def __init__(self, engine: Engine, memo_size: int = 8192):
        self.engine = engine
        self.memo_size = memo_size
        self._memo: OrderedDict[tuple[object, ...], list[int]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def evaluate(self, program: Program, facts: dict[str, Scalar]) -> Evaluation:
        state: dict[str, Scalar] = {**program.defaults, **facts}
        written_by: dict[str, int] = {}
        fired_all: list[int] = []
        for stage in range(program.stages):
            fired = self._fire(program, stage, state)
            for i in fired:
                rule = program.rules[i]
                for name, value in rule.writes.items():
                    if name in written_by and state[name] != value:
                        other = program.rules[written_by[name]].rule.id
                        raise EngineError(f"rules {other} and {rule.rule.id} assert different values for {name}")
                    state[name] = value
                    written_by[name] = i
            fired_all.extend(fired)
        return Evaluation(fired_all, state)

    def _fire(self, program: Program, stage: int, state: dict[str, Scalar]) -> list[int]:
        if not self.memo_size:
            return sorted(set(self.engine.fire(program, stage, state)))
        key = (id(program), stage, program.memo_key(state, stage))
        hit = self._memo.get(key)
        if hit is not None:
            self.hits += 1
            self._memo.move_to_end(key)
            return hit
        self.misses += 1
        fired = sorted(set(self.engine.fire(program, stage, state)))  # an `any` can match more than once
        self._memo[key] = fired
        if len(self._memo) > self.memo_size:
            self._memo.popitem(last=False)
        return fired


def default_engine() -> Engine:
    from .durable_engine import DurableEngine

    return DurableEngine()
