"""The advisor: a contract description in, Advice v1 out.

``advise(contract)`` picks the regime in force on the commencement date, builds the facts, lets the engine
run the regime's compiled rules, and turns what fired into routes, a recommended plan, findings and a trace.
Everything legal is in the rulebook; this module only assembles.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

from .advice import Advice, Blocker, Finding, RegimeRef, RouteAdvice, ThresholdRef, TraceEntry, Valuation
from .contract import ContractDescription, contract_from_document
from .data import Data, InForce, load_data
from .engine import Engine, Evaluator, default_engine
from .errors import EngineError, InputError
from .facts import ContractFacts, build_facts, fact_catalogue, threshold_details
from .rulebook import Compiler, Program, RegimeSpec, Rulebook, default_rulebook, load_rulebook, render_message
from .yamlio import load_document

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


def _threshold_ref(th: InForce, value: float) -> ThresholdRef:
    return ThresholdRef(
        name=th.name, title=th.title, regulation=th.regulation, amount=th.amount, vat_basis=th.vat,
        in_force_from=th.in_force_from, in_force_to=th.in_force_to, reference=th.reference, verify=th.verify,
        value=value, above=value >= th.amount,
    )


def _assemble(
    c: ContractDescription, regime: RegimeSpec, program: Program, cf: ContractFacts,
    fired: list[int], facts: dict[str, object],
) -> Advice:
    applicable = str(facts.get("threshold", "none"))
    details = {**cf.details, **threshold_details(cf, applicable)}

    def text(template: str) -> str:
        return render_message(template, details)

    fired_set = set(fired)
    blockers: dict[str, list[Blocker]] = {r.id: [] for r in regime.routes}
    conditions: dict[str, list[str]] = {r.id: [] for r in regime.routes}
    because: dict[str, list[str]] = {r.id: [] for r in regime.routes}
    refs: dict[str, list[str]] = {r.id: [r.reference] for r in regime.routes}
    plan: list[tuple[int, int, str]] = []
    findings: list[Finding] = []
    for i in fired:  # evaluation order
        cr = program.rules[i]
        rule, ref = cr.rule, cr.rule.references[0]
        for b in rule.then.block:
            blockers[b.route].append(Blocker(code=b.code, message=text(b.message), reference=ref, rule=rule.id))
        for n in rule.then.condition:
            msg = text(n.message)
            if msg not in conditions[n.route]:
                conditions[n.route].append(msg)
        for rec in rule.then.recommend:
            plan.append((rec.order, i, rec.route))
            because[rec.route].append(text(rec.message))
        for f in rule.then.finding:
            findings.append(Finding(code=f.code, severity=f.severity, message=text(f.message), reference=ref,
                                    rule=rule.id, field=FINDING_FIELDS.get(f.code)))
        touched = {x.route for x in (*rule.then.block, *rule.then.condition, *rule.then.recommend)}
        for route in touched:
            for r in rule.references:
                if r not in refs[route]:
                    refs[route].append(r)
    recommended = [route for _, _, route in sorted(plan)]
    routes: list[RouteAdvice] = []
    for spec in regime.routes:
        blocked = blockers[spec.id]
        if spec.not_in_regime:
            blocked = [Blocker(code="not_in_regime", message=spec.not_in_regime, reference=regime.reference,
                               rule=f"{regime.id}.routes")]
        if spec.id in recommended and blocked:
            raise EngineError(f"rulebook error: route {spec.id} is both recommended and blocked")
        status = "unavailable" if blocked else "recommended" if spec.id in recommended else "available"
        routes.append(RouteAdvice(
            id=spec.id, title=spec.title, status=status, kind=spec.kind,
            because=because[spec.id] or ([] if blocked else [spec.summary]),
            blocked_by=blocked, conditions=[] if blocked else conditions[spec.id], references=refs[spec.id],
        ))
    in_force = [_threshold_ref(th, cf.values[name]) for name, th in cf.thresholds.items()]
    main = next((t for t in in_force if t.name == applicable), None)
    trace = []
    for cr in sorted(program.rules, key=lambda r: (r.stage, r.index)):
        trace.append(TraceEntry(
            rule=cr.rule.id, title=cr.rule.title, stage=cr.stage, fired=cr.index in fired_set,
            facts=dict(cr.writes) if cr.index in fired_set else {}, source=cr.source,
        ))
    return Advice(
        contract_id=c.id,
        title=c.title,
        procurement_start=c.procurement_start,
        regime=RegimeRef(id=regime.id, title=regime.title, reference=regime.reference,
                         because=" ".join(text(regime.because).split())),
        valuation=Valuation(
            value=main.value if main else float(cf.facts["value"]),
            vat_basis=main.vat_basis if main else "inclusive",
            threshold=main,
            above_threshold=bool(main and main.above),
            thresholds_in_force=in_force,
        ),
        routes=routes,
        recommended=recommended,
        findings=findings,
        trace=trace,
    )


@cache
def default_advisor() -> Advisor:
    return Advisor()


def advise(contract: ContractDescription, *, regime_id: str | None = None) -> Advice:
    """Advice on one contract description, with the bundled rulebook and data."""
    return default_advisor().advise(contract, regime_id=regime_id)


def advise_file(path: str) -> Advice:
    """Read, validate and advise on one contract description file (``-`` for stdin)."""
    return advise(contract_from_document(load_document(path)))


def advisor_for(rules: Path | None = None, data: Path | None = None) -> Advisor:
    return Advisor(load_rulebook(rules) if rules else None, load_data(str(data)) if data else None)
