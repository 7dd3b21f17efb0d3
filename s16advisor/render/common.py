"""What every human-readable format says, in the same words."""

from __future__ import annotations

from ..advice import Advice, ThresholdRef

STATUS_WORDS = {"recommended": "recommended", "available": "available", "unavailable": "unavailable"}
MAIN_THRESHOLDS_EXCLUDE = ("small_lot_", "community_benefits")


def money(x: float) -> str:
    return f"£{x:,.0f}" if abs(x - round(x)) < 0.005 else f"£{x:,.2f}"


def basis(vat: str) -> str:
    return "inclusive of VAT" if vat == "inclusive" else "net of VAT"


def main_thresholds(advice: Advice) -> list[ThresholdRef]:
    return [t for t in advice.valuation.thresholds_in_force if not t.name.startswith(MAIN_THRESHOLDS_EXCLUDE)]


def valuation_line(advice: Advice) -> str:
    v = advice.valuation
    th = v.threshold
    if th is None:
        return f"Value {money(v.value)} {basis(v.vat_basis)}: no threshold applies."
    verdict = "at or above it" if v.above_threshold else "below it"
    return (f"Value {money(th.value)} {basis(th.vat_basis)} against the {th.title} threshold of {money(th.amount)} "
            f"({th.regulation}, in force from {th.in_force_from.isoformat()}): {verdict}.")


def next_steps(advice: Advice) -> list[str]:
    """Conditions of the recommended routes, then the findings that need action."""
    steps: list[str] = []
    for rid in advice.recommended:
        steps.extend(advice.route(rid).conditions)
    for f in advice.findings:
        if f.severity in ("error", "warning"):
            steps.append(f.message)
    return steps


def references(advice: Advice) -> list[str]:
    """The references of the recommended routes, then of the findings, each once."""
    refs: list[str] = []
    for rid in advice.recommended:
        refs.extend(x for x in advice.route(rid).references if x not in refs)
    for f in advice.findings:
        if f.reference not in refs:
            refs.append(f.reference)
    return refs
