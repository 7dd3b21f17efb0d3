"""The behaviour cases in tests/cases/**/*.yaml: loading, merging onto each file's base, and checking.

A case file holds a ``base`` contract description (partial) and ``cases``, each with a ``name`` (a sentence
saying what the law does), a ``contract`` merged onto the base (mappings merge, lists replace, ``null``
removes a field) and an ``expect``:

    regime, threshold, threshold_amount, vat_basis, above_threshold, value   the regime and valuation
    threshold_regulation: text           the provision the threshold in force is set by (valuation.threshold.regulation)
    recommended: [ids]                   the recommended plan, in order
    status: {route: status}              route statuses
    blocked_by: {route: [codes]}         the exact set of blocker codes of a route
    blocker_contains: {route: text}      a blocker of the route has the text in its message
    findings: [codes]                    findings that must be present
    no_findings: [codes]                 findings that must be absent
    conditions_contain: {route: text}    a condition of the route contains the text
    not_conditions_contain: {route: text}
    finding_contains: {code: text}       the finding's message contains the text
    not_finding_contains: {code: text}   no finding with the code has the text in its message
    finding_severity: {code: severity}   every finding with the code (at least one) has the severity
    error: text                          the contract is refused (InputError) with a message containing text
    regime_applies: bool, because_contains: text   the regime block of the advice
    route_because_contains: {route: text}   a message of why the route is recommended or available has the text
    no_message_contains: [texts]         no message of the advice (regime, routes, blockers, conditions, findings)
                                         has any of the texts
    no_reference_contains: [texts]       no reference of a route, blocker or finding has any of the texts

A case may also say ``regime_as: ID`` to advise the contract under that regime for comparison.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s16advisor.yamlio import load_trusted_yaml

CASES_DIR = Path(__file__).parent / "cases"
DEFAULT_BASE: dict[str, Any] = {
    "id": "CASE",
    "title": "Behaviour case",
    "procurement_start": "2024-06-03",
    "contract_type": "services",
    "value": {"amount": 100000},
    "duration_months": 24,
    "cpv": ["79340000-9"],
}
EXPECT_KEYS = {
    "regime", "threshold", "threshold_amount", "threshold_regulation", "vat_basis", "above_threshold", "value",
    "recommended", "status", "blocked_by", "findings", "no_findings", "conditions_contain", "not_conditions_contain",
    "finding_contains", "not_finding_contains", "error", "regime_applies", "because_contains", "finding_severity",
    "route_because_contains", "no_message_contains", "no_reference_contains", "blocker_contains",
}


@dataclass
class Case:
    name: str
    file: str
    contract: dict[str, Any]
    expect: dict[str, Any]
    regime_as: str | None = None


def merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = merge(base.get(k), v)
        return out
    return copy.deepcopy(over)


def _dates_as_strings(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _dates_as_strings(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_dates_as_strings(v) for v in x]
    if hasattr(x, "isoformat"):
        return x.isoformat()
    return x


def load_cases() -> list[Case]:
    cases = []
    for path in sorted(CASES_DIR.rglob("*.yaml")):
        # (the product's loader for files a pull request may change: no aliases, no links, bounded sizes)
        doc = _dates_as_strings(load_trusted_yaml(path, within=CASES_DIR).data)
        base = merge(DEFAULT_BASE, doc.get("base") or {})
        for c in doc["cases"]:
            unknown = set(c["expect"]) - EXPECT_KEYS
            assert not unknown, f"{path.name}: {c['name']}: unknown expect keys {unknown}"
            cases.append(Case(c["name"], str(path.relative_to(CASES_DIR)), merge(base, c.get("contract") or {}),
                              c["expect"], c.get("regime_as")))
    return cases


def check(case: Case, advisor: Any) -> Any:
    """Advise on the case and assert every expectation; returns the Advice (None for an expected error)."""
    from s16advisor.contract import contract_from_mapping
    from s16advisor.errors import InputError

    e = case.expect
    if "error" in e:
        try:
            advisor.advise(contract_from_mapping(case.contract), regime_id=case.regime_as)
        except InputError as err:
            assert e["error"] in str(err), f"error {err} does not mention {e['error']!r}"
            return None
        raise AssertionError(f"expected the contract to be refused ({e['error']})")
    a = advisor.advise(contract_from_mapping(case.contract), regime_id=case.regime_as)
    v = a.valuation
    if "regime_applies" in e:
        assert a.regime.applies is e["regime_applies"]
    if "because_contains" in e:
        assert e["because_contains"] in a.regime.because, a.regime.because
    if "regime" in e:
        assert a.regime.id == e["regime"]
    if "threshold" in e:
        assert v.threshold is not None and v.threshold.name == e["threshold"], v.threshold
    if "threshold_amount" in e:
        assert v.threshold is not None and v.threshold.amount == e["threshold_amount"]
    if "threshold_regulation" in e:
        assert v.threshold is not None and v.threshold.regulation == e["threshold_regulation"], v.threshold
    if "vat_basis" in e:
        assert v.vat_basis == e["vat_basis"]
    if "above_threshold" in e:
        assert v.above_threshold is e["above_threshold"], f"value {v.value} vs {v.threshold}"
    if "value" in e:
        assert abs(v.value - e["value"]) < 0.005, v.value
    if "recommended" in e:
        assert a.recommended == e["recommended"], _routes(a)
    assert len(set(a.recommended)) == len(a.recommended), f"a route planned twice: {a.recommended}"  # (spec: a plan)
    for rid, status in (e.get("status") or {}).items():
        assert a.route(rid).status == status, f"{rid}: {a.route(rid).status} != {status}; {_routes(a)}"
    for rid, codes in (e.get("blocked_by") or {}).items():
        got = sorted({b.code for b in a.route(rid).blocked_by})
        assert got == sorted(codes), f"{rid} blocked by {got}, expected {sorted(codes)}"
    for rid, text in (e.get("blocker_contains") or {}).items():
        assert any(text in b.message for b in a.route(rid).blocked_by), [b.message for b in a.route(rid).blocked_by]
    codes = [f.code for f in a.findings]
    for code in e.get("findings") or []:
        assert code in codes, f"finding {code} missing; got {codes}"
    for code in e.get("no_findings") or []:
        assert code not in codes, f"finding {code} present; got {codes}"
    for rid, text in (e.get("conditions_contain") or {}).items():
        assert any(text in c for c in a.route(rid).conditions), a.route(rid).conditions
    for rid, text in (e.get("not_conditions_contain") or {}).items():
        assert not any(text in c for c in a.route(rid).conditions), a.route(rid).conditions
    for code, text in (e.get("finding_contains") or {}).items():
        assert any(f.code == code and text in f.message for f in a.findings), a.findings
    for code, text in (e.get("not_finding_contains") or {}).items():
        assert not any(f.code == code and text in f.message for f in a.findings), a.findings
    for code, severity in (e.get("finding_severity") or {}).items():
        got = [f.severity for f in a.findings if f.code == code]
        assert got and all(s == severity for s in got), f"{code}: severities {got}, expected {severity}"
    for rid, text in (e.get("route_because_contains") or {}).items():
        assert any(text in b for b in a.route(rid).because), a.route(rid).because
    for text in e.get("no_message_contains") or []:
        assert not any(text in m for m in _messages(a)), [m for m in _messages(a) if text in m]
    refs = [*(f.reference for f in a.findings)]
    for r in a.routes:
        refs += [*r.references, *(b.reference for b in r.blocked_by)]
    for text in e.get("no_reference_contains") or []:
        assert not any(text in ref for ref in refs), [ref for ref in refs if text in ref]
    unfilled = [m for m in _messages(a) if PLACEHOLDER.search(m)]
    assert not unfilled, f"placeholders left unfilled: {unfilled}"
    return a


PLACEHOLDER = re.compile(r"\{[a-z0-9_.]+\}")


def _messages(a: Any) -> list[str]:
    out = [a.regime.because, *(f.message for f in a.findings)]
    for r in a.routes:
        out += [*r.because, *r.conditions, *(b.message for b in r.blocked_by)]
    return out


def _routes(a: Any) -> str:
    return "; ".join(f"{r.id}={r.status}{[b.code for b in r.blocked_by] or ''}" for r in a.routes)
