"""The effective-dated data: thresholds (data/thresholds.yaml) and CPV lists (data/cpv_codes.yaml)."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, model_validator

from .contract import _strict_date
from .cpv import CpvList, Entry
from .errors import RulebookError
from .resources import data_dir
from .rulebook import MAX_CONSTANT, validate_trusted
from .yamlio import URL_PATTERN, load_trusted_yaml

Date = Annotated[dt.date, BeforeValidator(_strict_date)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)  # (true is not 1)


class ThresholdValue(_Strict):
    from_: Date = Field(alias="from")
    # whole pounds, as the law states them (JSON writes 663540, not 663540.0); below the largest number a rule may
    # compare with, which facts are clamped to (a 400-digit amount was a traceback)
    amount: StrictInt = Field(ge=0, lt=int(MAX_CONSTANT))
    vat: Literal["net", "inclusive"]
    reference: str = Field(pattern=URL_PATTERN)
    verify: str | None = None


class Threshold(_Strict):
    title: str
    regulation: str
    values: list[ThresholdValue] = Field(min_length=1)

    @model_validator(mode="after")
    def _sorted(self) -> Threshold:
        starts = [v.from_ for v in self.values]
        if starts != sorted(starts) or len(set(starts)) != len(starts):
            raise ValueError("values must be in date order with no two starting on the same day")
        return self


class Period(_Strict):
    title: str
    months: int = Field(ge=1)
    reference: str = Field(pattern=URL_PATTERN)


class ThresholdsFile(_Strict):
    schema_: Literal["s16advisor/thresholds/1"] = Field(alias="schema")
    regimes: dict[str, dict[str, Threshold]]
    periods: dict[str, dict[str, Period]] = {}


class CpvGroup(_Strict):
    name: str
    entries: list[str] = Field(min_length=1)


class CpvListSpec(_Strict):
    title: str
    regime: str
    reference: str = Field(pattern=URL_PATTERN)
    note: str | None = None
    verify: str | None = None
    not_in_cpv2008: dict[str, str] = {}
    same_as: str | None = None  # the same codes as another list (an unverified list standing in for a law's own)
    groups: list[CpvGroup] = []

    @model_validator(mode="after")
    def _codes_or_same_as(self) -> CpvListSpec:
        if bool(self.groups) == bool(self.same_as):
            raise ValueError("a CPV list needs either groups or same_as, not both")
        return self


class CpvFile(_Strict):
    schema_: Literal["s16advisor/cpv-lists/1"] = Field(alias="schema")
    lists: dict[str, CpvListSpec]


class InForce(_Strict):
    """A threshold value as it applies on a date, with the end of its validity resolved."""

    name: str
    title: str
    regulation: str
    amount: int
    vat: Literal["net", "inclusive"]
    in_force_from: dt.date
    in_force_to: dt.date | None
    reference: str
    verify: str | None = None


class Data:
    """Thresholds and CPV lists, loaded and validated once."""

    def __init__(self, folder: Path):
        self.thresholds_doc = load_trusted_yaml(folder / "thresholds.yaml", within=folder)
        self.thresholds: ThresholdsFile = validate_trusted(ThresholdsFile, self.thresholds_doc)  # type: ignore[assignment]
        self.cpv_doc = load_trusted_yaml(folder / "cpv_codes.yaml", within=folder)
        self.cpv: CpvFile = validate_trusted(CpvFile, self.cpv_doc)  # type: ignore[assignment]
        self.cpv_lists: dict[str, CpvList] = {}
        for name, spec in self.cpv.lists.items():
            source = self.cpv.lists.get(spec.same_as) if spec.same_as else spec
            if source is None or source.same_as:
                raise RulebookError(f"{folder / 'cpv_codes.yaml'}: lists.{name}: same_as must name a list with groups")
            try:
                entries = [Entry.parse(text) for g in source.groups for text in g.entries]
            except ValueError as e:
                raise RulebookError(f"{folder / 'cpv_codes.yaml'}: lists.{name}: {e}") from None
            self.cpv_lists[name] = CpvList(name, entries)

    def thresholds_in_force(self, regime: str, on: dt.date, regime_end: dt.date | None) -> dict[str, InForce]:
        """Every threshold of ``regime`` with the value in force on ``on`` (none if not yet in force)."""
        out: dict[str, InForce] = {}
        for name, th in self.thresholds.regimes.get(regime, {}).items():
            current = None
            for i, v in enumerate(th.values):
                if v.from_ <= on:
                    nxt = th.values[i + 1].from_ - dt.timedelta(days=1) if i + 1 < len(th.values) else regime_end
                    current = InForce(
                        name=name, title=th.title, regulation=th.regulation, amount=v.amount, vat=v.vat,
                        in_force_from=v.from_, in_force_to=nxt, reference=v.reference, verify=v.verify,
                    )
            if current is not None:
                out[name] = current
        return out

    def period(self, regime: str, name: str) -> Period:
        return self.thresholds.periods[regime][name]

    def official_check_digit(self, code8: str) -> str | None:
        for lst in self.cpv_lists.values():
            digit = lst.official_digit(code8)
            if digit is not None:
                return digit
        return None


@cache
def load_data(folder: str | None = None) -> Data:
    return Data(Path(folder) if folder else data_dir())
