"""The durable-rules engine: the only module that imports durable-rules.

Each regime's program becomes one durable ruleset, compiled once per process. A contract is evaluated
stage by stage: each stage asserts one fact (``t: "s16"`` plus the stage number, so every pattern has a
type tag and no rule can loop on an absent field) holding every fact known so far; durable fires every
rule of that stage whose pattern matches (facts, not ``post``, which would fire only the first).

Traps handled here (see DEVELOPERS.md):
* ``set_rulesets`` mutates its argument (pops ``run``): it gets a fresh definition built for the call.
* more than 1,024 live session ids raise MemoryError: one sid is used and its state deleted after
  every contract, so nothing outlives an evaluation and two contracts never see each other's facts.
* exceptions in actions are stored in the returned state, not raised: the state is checked.
* the stock Host starts timer threads that call the (not thread-safe) C library in the background:
  a Host without them is used. Parallelise with processes, never threads.
* strings compare with numbers: facts are typed when the rulebook compiles, values normalised first.
"""

from __future__ import annotations

from typing import Any

from durable import engine as durable

from ..errors import EngineError
from ..rulebook import And, Expr, Leaf, Program, Scalar

_OPS = {"ne": "$neq", "lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte"}
_SID = "contract"


class _QuietHost(durable.Host):
    def _run(self) -> None:  # no background dispatch threads
        pass


def _field(name: str) -> str:
    return name.replace(".", "__")


def _pattern(e: Expr) -> dict[str, Any]:
    if isinstance(e, Leaf):
        if e.op == "eq":
            return {_field(e.fact): e.value}
        return {_OPS[e.op]: {_field(e.fact): e.value}}
    parts = [_pattern(x) for x in e.items]
    if not parts:  # an empty conjunction is true: compare the type tag with itself
        return {"t": "s16"}
    return {("$and" if isinstance(e, And) else "$or"): parts}


class DurableEngine:
    name = "durable-rules"

    def __init__(self) -> None:
        self._host = _QuietHost()
        self._rulesets: dict[int, Any] = {}
        self._fired: list[int] = []
        self._count = 0

    def _ruleset(self, program: Program) -> Any:
        rs = self._rulesets.get(id(program))
        if rs is None:
            name = f"s16_{program.regime.id}_{len(self._rulesets)}"
            self._host.set_rulesets({name: self._definition(program)})  # a fresh dict: it gets mutated
            rs = self._host.get_ruleset(name)
            self._rulesets[id(program)] = rs
        return rs

    def _definition(self, program: Program) -> dict[str, Any]:
        definition: dict[str, Any] = {}
        for cr in program.rules:
            pattern = {"$and": [{"t": "s16"}, {"stage": cr.stage}, _pattern(cr.expr)]}
            definition[f"r{cr.index}"] = {"all": [{"m": pattern}], "run": self._action(cr.index)}
        return definition

    def _action(self, index: int) -> Any:
        def run(c: Any) -> None:
            self._fired.append(index)

        return run

    def fire(self, program: Program, stage: int, facts: dict[str, Scalar]) -> list[int]:
        rs = self._ruleset(program)
        fact: dict[str, Any] = {_field(k): v for k, v in facts.items()}
        fact.update({"sid": _SID, "t": "s16", "stage": stage, "id": f"{self._count}.{stage}"})
        self._count += 1
        self._fired = []
        outcome: dict[str, Any] = {}
        try:
            try:
                handle = rs.assert_fact(fact)
                rs.do_actions(handle, lambda error, state: outcome.update(error=error, state=state))
            except durable.MessageNotHandledException:
                return []  # no rule of this stage matched
            if outcome.get("error"):
                raise EngineError(f"durable-rules failed: {outcome['error']}")
            state = outcome.get("state") or {}
            if "exception" in state:
                raise EngineError(f"a rule action failed: {state['exception']}")
            return list(self._fired)
        finally:
            rs.delete_state(_SID)
