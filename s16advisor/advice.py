"""Advice v1 (../shared/spec/advice.md): what the advisor answers, as models.

Field names, route ids and finding codes are an interface; fields may be added, none renamed.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

SCHEMA = "s16advisor/advice/1"
Severity = Literal["error", "warning", "info"]
Status = Literal["recommended", "available", "unavailable"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegimeRef(_Model):
    id: str
    title: str
    because: str
    reference: str
    applies: bool = True  # False when the contract is advised under another regime for comparison


class ThresholdRef(_Model):
    name: str
    title: str
    regulation: str
    amount: int  # whole pounds
    vat_basis: Literal["net", "inclusive"]
    in_force_from: dt.date
    in_force_to: dt.date | None = None
    reference: str
    verify: str | None = None
    value: float  # the contract value on this threshold's VAT basis
    above: bool  # value not less than amount


class Valuation(_Model):
    value: float
    vat_basis: Literal["net", "inclusive"]
    threshold: ThresholdRef | None
    above_threshold: bool
    thresholds_in_force: list[ThresholdRef] = []


class Blocker(_Model):
    """Frozen, like Finding and TraceEntry: the advisor shares one object between the routes and the advices
    it blocks with the same message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    message: str
    reference: str
    rule: str


class RouteAdvice(_Model):
    id: str
    title: str
    status: Status
    kind: Literal["regime", "procedure", "reservation", "exemption"]
    because: list[str] = []
    blocked_by: list[Blocker] = []
    conditions: list[str] = []
    references: list[str] = []


class Finding(_Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    severity: Severity
    message: str
    reference: str
    rule: str | None = None
    field: str | None = None  # the input field the finding is about (for line numbers)


class TraceEntry(_Model):
    """One rule of the trace. Frozen: the advisor shares one entry per rule and outcome between advices."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    title: str
    stage: int
    fired: bool
    facts: dict[str, bool | int | float | str] = {}
    source: str


class Advice(_Model):
    # "schema" in the JSON (advice.md; a BaseModel has a .schema): an advice's JSON validates back into the model
    schema_: Literal["s16advisor/advice/1"] = Field(SCHEMA, validation_alias=AliasChoices("schema", "schema_"))
    contract_id: str
    title: str
    procurement_start: dt.date
    regime: RegimeRef
    valuation: Valuation
    routes: list[RouteAdvice]
    recommended: list[str]
    findings: list[Finding]
    trace: list[TraceEntry]

    def route(self, route_id: str) -> RouteAdvice:
        """The route ``route_id`` (KeyError if the advice has none: every advice lists every route id)."""
        for r in self.routes:
            if r.id == route_id:
                return r
        raise KeyError(f"no route {route_id!r} (the route ids: {', '.join(r.id for r in self.routes)})")

    def has_errors(self) -> bool:
        return any(f.severity == "error" for f in self.findings)

    def to_json_dict(self) -> dict[str, object]:
        data = self.model_dump(mode="json")
        return {"schema": data.pop("schema_"), **data}
