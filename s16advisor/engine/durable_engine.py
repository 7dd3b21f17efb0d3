"""The durable-rules engine: the only module that imports durable-rules.

Each stage of a regime's program becomes one durable ruleset, compiled once per process. A contract is
evaluated stage by stage: each stage asserts one fact (``t: "s16"`` plus the stage number, so every pattern
has a type tag and no rule can loop on an absent field) holding every fact the stage's rules read, as known
so far; durable fires every rule of that stage whose pattern matches (facts, not ``post``, which would fire
only the first).

Traps handled here (see DEVELOPERS.md):
* ``set_rulesets`` mutates its argument (pops ``run``): it gets a fresh definition built for the call.
* more than 1,024 live session ids raise MemoryError: one sid is used, and its state is deleted after every
  stage that matched, so no fact outlives an evaluation and two contracts never see each other's facts.
* ``delete_state`` frees pointers of the session state that only a rule action initialises: deleting a state
  that no action has run on (a sid whose first fact matched nothing) frees garbage and crashes the process
  later. A fact that matches nothing is not stored (the state stays empty), so the state is deleted only
  after a fact that matched (an action ran).
* exceptions in actions are stored in the returned state, not raised: the state is checked.
* the stock Host starts timer threads that call the (not thread-safe) C library in the background:
  a Host without them is used. Parallelise with processes, never threads.
* strings compare with numbers: facts are typed when the rulebook compiles, values normalised first.
* it knows a field by the 32-bit FNV-1a hash of its name alone: a fact named so as to hash as another field or
  as one of its own names ("t", "$and") would be that one. Facts get generated field names (f0, f1...) whose
  hashes are checked apart (``_Fields``).
* its JSON parser refuses numbers written with an exponent (``1e+30``, Python's form for floats from 1e16)
  and integers beyond 64 bits: numbers are clamped to +-1e15, far beyond every constant a rule compares with,
  which keeps every comparison's answer (the rulebook's constants are checked against the bound).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from durable import engine as durable

from ..errors import EngineError
from ..rulebook import MAX_CONSTANT, MIN_CONSTANT, And, CompiledRule, Expr, Leaf, Program, Scalar, leaves

_OPS = {"ne": "$neq", "lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte"}
_SID = "contract"


_EPOCH = dt.datetime(1970, 1, 1)


def _unix_now() -> float:
    """durable-rules' clock for its action leases, as it counts (the local time, in seconds from 1970), without
    ``datetime.utcfromtimestamp``, which Python 3.12 deprecates: durable called it twice at every rule that fired
    (120,000 DeprecationWarnings in a run of the suite under 3.12, and an error under ``-W error``)."""
    return (dt.datetime.now() - _EPOCH).total_seconds()


durable._unix_now = _unix_now


class _QuietHost(durable.Host):
    def _run(self) -> None:  # no background dispatch threads
        pass


_BOUND = MAX_CONSTANT  # facts are clamped to it: every rule constant is below it


def _number(value: Scalar) -> Scalar:
    """A number durable-rules can parse, on the same side of every rule constant as ``value``: its parser takes
    no exponent, which Python writes beyond 1e16 and nearer 0 than 1e-4 (an amount of £0.00001)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    number = float(min(max(value, -_BOUND), _BOUND))
    return math.copysign(MIN_CONSTANT, number) if 0 < abs(number) < MIN_CONSTANT else number


def _fnv1a32(name: str) -> int:
    """The hash durable-rules knows a field by (FNV-1a, 32 bits, over its bytes: ``fnv1Hash32`` in state.c)."""
    h = 0x811C9DC5
    for b in name.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


# The names durable-rules reads in facts and patterns: the fields of our own facts and its keywords. It compares
# names by hash alone, so a fact's field whose hash equals one of them (or another field's) would be that field
# (a threshold named so as to hash as "t" turned every rule of its stage off): fields get generated names whose
# hashes are checked (see _Fields).
_RESERVED = ("t", "stage", "sid", "id", "all", "any", "pri", "count", "cap", "dist", "name", "$lt", "$lte", "$gt",
             "$gte", "$eq", "$neq", "$mt", "$imt", "$iall", "$iany", "$ex", "$nex", "$or", "$and", "$m", "$add",
             "$sub", "$mul", "$div", "$l", "$r", "$forward", "$i", "$s", "$f")


class _Fields(dict[str, str]):
    """A durable field name per fact (``f0``, ``f1``...), each hashing apart from every other and every name
    durable-rules reserves."""

    def __init__(self) -> None:
        super().__init__()
        self._hashes = {_fnv1a32(n) for n in _RESERVED}
        self._next = 0

    def __missing__(self, fact: str) -> str:
        while True:
            name, self._next = f"f{self._next}", self._next + 1
            h = _fnv1a32(name)
            if h not in self._hashes:
                self._hashes.add(h)
                self[fact] = name
                return name


def _pattern(e: Expr, fields: _Fields) -> dict[str, Any]:
    if isinstance(e, Leaf):
        if e.op == "eq":
            return {fields[e.fact]: e.value}
        return {_OPS[e.op]: {fields[e.fact]: e.value}}
    parts = [_pattern(x, fields) for x in e.items]
    if not parts:  # an empty conjunction is true: compare the type tag with itself
        return {"t": "s16"}
    return {("$and" if isinstance(e, And) else "$or"): parts}


class DurableEngine:
    """One durable ruleset per stage of a program: a stage's fact holds only the facts its rules read. Asked
    about a few rules of a stage only, it uses one ruleset per rule instead (made when first asked), so that
    the rules already known are not evaluated again (each matching rule runs a Python action)."""

    name = "durable-rules"

    def __init__(self) -> None:
        self._host = _QuietHost()
        self._fields = _Fields()
        self._rulesets: dict[int, tuple[Program, list[tuple[Any, list[tuple[str, str]]] | None]]] = {}
        self._singles: dict[tuple[int, int], tuple[Program, Any, list[tuple[str, str]]]] = {}
        self._fired: list[int] = []
        self._count = 0
        self._made = 0

    def _stages(self, program: Program) -> list[tuple[Any, list[tuple[str, str]]] | None]:
        """Per stage: its ruleset and the (fact, field) pairs its rules read (None: a stage without rules)."""
        known = self._rulesets.get(id(program))
        if known is not None and known[0] is program:
            return known[1]
        stages: list[tuple[Any, list[tuple[str, str]]] | None] = []
        for stage in range(program.stages):
            rules = program.by_stage(stage)
            if not rules:
                stages.append(None)
                continue
            stages.append(self._ruleset(program, rules))
        self._rulesets[id(program)] = (program, stages)
        return stages

    def _ruleset(self, program: Program, rules: list[CompiledRule]) -> tuple[Any, list[tuple[str, str]]]:
        """A new durable ruleset of ``rules``, and the (fact, field) pairs they read."""
        self._made += 1
        name = f"s16_{program.regime.id}_{self._made}"
        try:
            self._host.set_rulesets({name: self._definition(rules)})  # a fresh dict: it gets mutated
        except EngineError:
            raise
        except Exception as e:  # the C library refuses it (error 113: conditions nested too deeply, say)
            at_fault = [cr for cr in rules if len(rules) > 1 and not self._compiles(cr)] or rules
            ids = ", ".join(f"{cr.rule.id} ({cr.source})" for cr in at_fault[:3]) + \
                (f" and {len(at_fault) - 3} more" if len(at_fault) > 3 else "")
            raise EngineError(f"durable-rules cannot compile the rule{'s' if len(at_fault) > 1 else ''} {ids}: "
                              f"{e}") from None
        reads = sorted({f for r in rules for f in r.reads})
        return self._host.get_ruleset(name), [(f, self._fields[f]) for f in reads]

    def _compiles(self, rule: CompiledRule) -> bool:
        """Whether durable-rules compiles ``rule`` alone (to name the rule at fault when a stage's ruleset fails)."""
        self._made += 1
        try:
            self._host.set_rulesets({f"s16_probe_{self._made}": self._definition([rule])})
        except Exception:
            return False
        return True

    def _definition(self, rules: list[CompiledRule]) -> dict[str, Any]:
        for cr in rules:  # (the rulebook refuses such constants: see rulebook.MAX_CONSTANT)
            for leaf in leaves(cr.expr):
                if isinstance(leaf.value, int | float) and not isinstance(leaf.value, bool) \
                        and abs(leaf.value) >= _BOUND:
                    raise EngineError(f"{cr.rule.id}: the constant {leaf.value} is beyond what facts are clamped to")
        definition: dict[str, Any] = {}
        for cr in rules:
            pattern = {"$and": [{"t": "s16"}, {"stage": cr.stage}, _pattern(cr.expr, self._fields)]}
            definition[f"r{cr.index}"] = {"all": [{"m": pattern}], "run": self._action(cr.index)}
        return definition

    def _action(self, index: int) -> Any:
        def run(c: Any) -> None:
            self._fired.append(index)

        return run

    def fire(self, program: Program, stage: int, facts: dict[str, Scalar],
             only: list[int] | None = None) -> list[int]:
        if only is not None:  # a ruleset of its own per rule, made when first needed
            fired: list[int] = []
            for index in only:
                fired += self._run(*self._single(program, index), stage, facts)
            return fired
        compiled = self._stages(program)[stage]
        if compiled is None:
            return []
        return self._run(*compiled, stage, facts)

    def _single(self, program: Program, index: int) -> tuple[Any, list[tuple[str, str]]]:
        got = self._singles.get((id(program), index))
        if got is None or got[0] is not program:
            got = self._singles[id(program), index] = (program, *self._ruleset(program, [program.rules[index]]))
        return got[1], got[2]

    def _run(self, rs: Any, fields: list[tuple[str, str]], stage: int, facts: dict[str, Scalar]) -> list[int]:
        # Only the facts the ruleset's rules read: every field a pattern of the ruleset names is present.
        fact: dict[str, Any] = {field: _number(facts[name]) for name, field in fields}
        fact.update({"sid": _SID, "t": "s16", "stage": stage, "id": f"{self._count}.{stage}"})
        self._count += 1
        self._fired = []
        outcome: dict[str, Any] = {}
        try:
            handle = rs.assert_fact(fact)
        except durable.MessageNotHandledException:
            return []  # no rule of this stage matched: nothing was stored, and the state is not deleted (above)
        except Exception as e:  # the C library's own errors (a fact it cannot parse): nothing was stored
            raise EngineError(f"durable-rules could not evaluate stage {stage}: {e}") from None
        try:
            rs.do_actions(handle, lambda error, state: outcome.update(error=error, state=state))
            if outcome.get("error"):
                raise EngineError(f"durable-rules failed: {outcome['error']}")
            state = outcome.get("state") or {}
            if "exception" in state:
                raise EngineError(f"a rule action failed: {state['exception']}")
            return list(self._fired)
        finally:
            rs.delete_state(_SID)
