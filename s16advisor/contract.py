"""Contract description v1 (../shared/spec/contract-description.md): the input, as a strict model.

Field names are an interface. Unknown fields are errors, numbers must be numbers (not "100000", not
``true``), and dates must be real ``YYYY-MM-DD`` dates.
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import numbers
import operator
import re
from collections.abc import Mapping
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from .errors import InputError
from .yamlio import Document, escape_controls

# ASCII digits only (``\d`` would take "٢٠٢٤"), and ``\Z``: ``$`` would accept a trailing newline.
_DATE_RX = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_CPV_RX = re.compile(r"^([0-9]{8})(?:-([0-9]))?\Z")


def _strict_date(value: Any) -> dt.date:
    if isinstance(value, str) and _DATE_RX.match(value):  # (a JSON or YAML date, first: the common case)
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value} is not a date that exists") from None
    if isinstance(value, dt.datetime):  # (pandas' Timestamp is one: a date column read by pandas or from Excel)
        return _date_of(value)
    if isinstance(value, dt.date):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


def _field_date(value: Any) -> dt.date:
    """A contract description's date: as ``_strict_date``, naming a text that is not one (a spreadsheet's
    01/06/2026), which a CSV row's or JSON record's error would otherwise not show."""
    try:
        return _strict_date(value)
    except ValueError as e:
        if isinstance(value, str) and str(e).startswith("must be"):
            shown = value if len(value) <= 40 else value[:40] + "..."
            raise ValueError(f"{e}, not {shown!r}") from None
        if not isinstance(value, str | dt.date) and str(e).startswith("must be"):  # (a number, a list, datetime64)
            raise ValueError(f"{e}, not {_held(value)}") from None
        raise


def _date_of(value: dt.datetime) -> dt.date:
    """The date of a date and time at midnight without a time zone (pandas' Timestamp of a date column, Excel's
    dates); any other time of day, or a time zone, is refused: which date it means depends on where it is read."""
    if value != value:  # pandas' NaT, its missing value (a datetime that is not equal to itself)
        raise ValueError("is NaT (a missing value in a table?): it must be a date written YYYY-MM-DD")
    if value.tzinfo is None and value.time() == dt.time() and not getattr(value, "nanosecond", 0):
        return dt.date(value.year, value.month, value.day)
    raise ValueError(f"must be a date, not the date and time {value} (give its date: a time of day or a time zone "
                     "would have to be read as one)")


def _money(value: Any) -> float:
    if type(value) is float and value - value == 0.0:  # a finite float (inf - inf and NaN - NaN are NaN), as
        return value + 0.0  # below: a JSON number's, the common case, without the isinstance tests
    if type(value) is int and -_EXACT <= value <= _EXACT:  # (a bool's type is bool) float() of it is exact
        return float(value)
    # bool is an int in Python; a YAML `yes` must not become £1. Any real number type is a number: numpy's (a total
    # computed with numpy, a DataFrame row's cell) and Decimal (a database's money) too; numpy's bool is not one.
    if isinstance(value, bool) or not isinstance(value, int | float | numbers.Real | decimal.Decimal):
        raise ValueError("must be a number (not a string or a boolean)")
    try:
        number = float(value)  # an integer too large for a float raises OverflowError
    except (OverflowError, ValueError):  # (ValueError: Decimal's signalling NaN)
        raise ValueError("must be a finite number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("must be a finite number")
    return number + 0.0  # (-0.0 is 0.0: "£-0" otherwise)


_EXACT = 2 ** 53  # up to which every integer is a float exactly (a larger one is rounded, or overflows, below)


# £1,000 trillion: above any public contract by far, and where VAT added to an amount still is a finite number
# whose pennies are exact.
MAX_AMOUNT = 1e15


def _amount(value: Any) -> float:
    number = _money(value)
    if number > MAX_AMOUNT:
        raise ValueError(f"must be at most {MAX_AMOUNT:,.0f} (£1,000 trillion)")
    return number


def _true_false_unknown(value: Any) -> Any:
    value = _true_false(value)
    if value is True or value is False or value == "unknown":
        return value
    raise ValueError(f"must be true, false or unknown, not {value!r}")


IsoDate = Annotated[dt.date, BeforeValidator(_field_date)]


def _whole(value: Any) -> Any:
    """An integer of another type than int (numpy's: np.int64 from a DataFrame) as an int; anything else as it is,
    for StrictInt to judge (a bool, 36.0 and "36" are refused)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, int):
        return operator.index(value)
    return value


def _true_false(value: Any) -> Any:
    """numpy's bool (a DataFrame's column of booleans) as a bool; anything else as it is, for StrictBool to judge."""
    kind = type(value)
    if kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_"):
        return bool(value)
    return value


WholeNumber = Annotated[StrictInt, BeforeValidator(_whole)]
TrueFalse = Annotated[StrictBool, BeforeValidator(_true_false)]


def _not_blank(v: str) -> str:
    if not v.strip():
        raise ValueError("must not be blank")
    return v


NotBlank = Annotated[str, Field(min_length=1), AfterValidator(_not_blank)]  # an id or a title: "" and "  " refused
Money = Annotated[float, BeforeValidator(_money)]
Amount = Annotated[float, BeforeValidator(_amount)]  # pounds


def _cpv(value: Any) -> str:
    if not isinstance(value, str):
        # YAML reads 85311200 as an integer; accept it, but only as exactly 8 digits.
        if isinstance(value, int) and not isinstance(value, bool) and 10_000_000 <= value <= 99_999_999:
            value = str(value)
        else:
            raise ValueError("must be a CPV code: 8 digits with an optional check digit, e.g. 85311200-4")
    value = value.strip()
    if not _CPV_RX.match(value):
        raise ValueError(f"{value!r} is not a CPV code (8 digits with an optional check digit, e.g. 85311200-4)")
    return value


# "NNNNNNNN" or "NNNNNNNN-D"; the first 8 characters are the code, the 10th the check digit given.
CpvCode = Annotated[str, BeforeValidator(_cpv)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuthorityType(str, Enum):
    sub_central = "sub_central"
    central_government = "central_government"


class Nation(str, Enum):
    wales = "wales"
    england = "england"
    northern_ireland = "northern_ireland"


class ContractType(str, Enum):
    services = "services"
    supplies = "supplies"
    works = "works"


class Reservation(str, Enum):
    none = "none"
    supported_business = "supported_business"
    public_service_mutual = "public_service_mutual"


# The route that reserves a contract for each reservation a draft may ask for (check shows a reservation_unavailable
# finding with that route's blockers).
RESERVATION_ROUTES = {"public_service_mutual": "reserved_public_service_mutual",
                      "supported_business": "reserved_supported_business"}


def reservation_planned(statuses: Mapping[str, str]) -> bool:
    """Whether the plan (route id -> status) reserves the contract."""
    return any(statuses.get(r) == "recommended" for r in RESERVATION_ROUTES.values())


def unplanned_reservations(statuses: Mapping[str, str]) -> list[str]:
    """The reservation routes lawful (available) for a contract whose plan reserves it to no one: the Section 16
    view of the advice (advise) and of the review's summary."""
    if reservation_planned(statuses):  # (planned as reserved: not one that could be)
        return []
    return [r for r in RESERVATION_ROUTES.values() if statuses.get(r) == "available"]


class Objective(str, Enum):
    social_value_models = "social_value_models"
    supported_employment = "supported_employment"
    innovation = "innovation"
    sme_access = "sme_access"


FINDING_CODES = (  # (advice.md)
    "near_threshold", "lots_not_considered", "prior_reserved_award", "cpv_check_digit",
    "declared_route_unavailable", "reservation_unavailable", "waiver_expired", "community_benefits",
    "major_construction_contract", "health_services_regime",
)
ROUTE_IDS = (
    "below_threshold",
    "open",
    "restricted",
    "competitive_procedure_with_negotiation",
    "competitive_dialogue",
    "competitive_flexible",
    "innovation_partnership",
    "light_touch",
    "reserved_supported_business",
    "reserved_public_service_mutual",
    "small_lots",
)
RouteId = Literal[
    "below_threshold",
    "open",
    "restricted",
    "competitive_procedure_with_negotiation",
    "competitive_dialogue",
    "competitive_flexible",
    "innovation_partnership",
    "light_touch",
    "reserved_supported_business",
    "reserved_public_service_mutual",
    "small_lots",
]


class Authority(_Strict):
    name: str | None = None
    type: AuthorityType = AuthorityType.sub_central
    nation: Nation = Nation.wales


class Value(_Strict):
    amount: Amount = Field(ge=0)
    vat: Literal["inclusive", "exclusive"] = "inclusive"
    vat_rate: Money = Field(default=0.2, ge=0, le=1)


class Lot(_Strict):
    id: NotBlank
    value: Amount = Field(ge=0)
    cpv: list[CpvCode] | None = Field(default=None, min_length=1)
    small_lot: TrueFalse = False


class Innovation(_Strict):
    solution_available_on_market: Annotated[StrictBool | Literal["unknown"], BeforeValidator(_true_false_unknown)] = \
        "unknown"
    research_and_development: TrueFalse = False


class PriorReservedAward(_Strict):
    supplier: str = Field(min_length=1)
    awarded: IsoDate
    cpv: list[CpvCode] = Field(min_length=1)
    basis: Literal["reg77", "s33"]


class Waiver(_Strict):
    code: str = Field(min_length=1)
    reason: str
    expires: IsoDate | None = None

    @field_validator("code")
    @classmethod
    def _a_finding_code(cls, v: str) -> str:
        if v == "waiver_expired":  # (made after the waivers are applied: a waiver of it would waive nothing)
            raise ValueError("waiver_expired cannot be waived: renew the expired waiver (a later expires) or "
                             "remove it")
        if v not in FINDING_CODES:  # a misspelt code would waive nothing, silently
            waivable = [c for c in FINDING_CODES if c != "waiver_expired"]
            close = _close(v, waivable, cutoff=0.6)
            hint = f"did you mean {close}?" if close else "one of " + ", ".join(waivable)
            raise ValueError(f"{v!r} is not a finding code ({hint})")
        return v

    @field_validator("reason")
    @classmethod
    def _reason_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a waiver needs a non-empty reason")
        return v


MAX_DURATION_MONTHS = 1200  # 100 years: a cap of s16advisor's (numbers stay small), not the specification's


class ContractDescription(_Strict):
    id: NotBlank
    title: NotBlank
    authority: Authority = Field(default_factory=Authority)
    procurement_start: IsoDate
    contract_type: ContractType
    value: Value
    duration_months: WholeNumber = Field(ge=1, le=MAX_DURATION_MONTHS)
    cpv: list[CpvCode] = Field(min_length=1)
    lots: list[Lot] | None = None
    reservation: Reservation = Reservation.none
    route: RouteId | None = None
    innovation: Innovation = Field(default_factory=Innovation)
    prior_reserved_awards: list[PriorReservedAward] = Field(default_factory=list)
    reasons_for_not_lotting: str | None = None
    objectives: list[Objective] = Field(default_factory=list)
    waivers: list[Waiver] = Field(default_factory=list)

    @field_validator("lots")
    @classmethod
    def _lots_consistent(cls, lots: list[Lot] | None, info: ValidationInfo) -> list[Lot] | None:
        # A field's check, not the model's: it is reported with every other field's problem (a model check runs
        # only when every field is valid). The value is checked first; when it is invalid, it says so.
        if lots is not None:
            seen: dict[str, int] = {}
            for i, lot in enumerate(lots):
                first = seen.setdefault(lot.id.strip(), i)  # ("a" and "a " are one lot to a reader)
                if first != i:
                    raise _at((i, "id"), f"duplicate lot id {lot.id!r}: lots[{first}].id is {lots[first].id!r}")
            value = info.data.get("value")
            total = sum(lot.value for lot in lots)
            if value is not None and abs(total - value.amount) > 1:
                raise ValueError(
                    f"lot values add up to {total:,.2f} but value.amount is {value.amount:,.2f} "
                    "(they must agree within £1)"
                )
        return lots


def _at(where: tuple[Any, ...], message: str) -> PydanticCustomError:
    """A field check's error about one part of the field (``(1, "id")`` in ``lots``: ``lots[1].id``), reported
    at that part's path and line."""
    return PydanticCustomError("value_error", "{message}", {"message": message, "at": where})


def _loc(doc: Document | None, path: tuple[Any, ...]) -> str:
    dotted = escape_controls(".".join(f"[{p}]" if isinstance(p, int) else str(p) if p != "" else "''" for p in path)
                             .replace(".[", "["))  # (an empty key as '')
    if doc is None:
        return dotted
    where = doc.where(path)
    return f"{where}: {dotted}" if dotted else where


# {amount: 1,000} is {amount: 1, 000: null} in YAML: a key that is a number (or 000) is most likely this.
_COMMA_HINT = "a number written with a comma, as in {amount: 1,000}? write 1000"


def _close(given: str, names: list[str], cutoff: float = 0.75) -> str | None:
    """The one of ``names`` that ``given`` most likely misspells ('duraton_months', 'light-touch', 'service')."""
    import difflib

    folded = {n.lower().replace("-", "_").replace(" ", "_"): n for n in names}
    key = given.lower().replace("-", "_").replace(" ", "_")
    if key in folded:
        return folded[key]
    close = difflib.get_close_matches(key, list(folded), n=1, cutoff=cutoff)
    return folded[close[0]] if close else None


def _sibling_fields(path: tuple[Any, ...]) -> list[str]:
    """The fields of the model at ``path`` in a contract description (``value`` for ``value.amout``)."""
    model = _model_at(path)
    return list(model.model_fields) if model is not None else []


def _model_at(path: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model of the mapping at ``path`` in a contract description (``Lot`` at ``("lots", 1)``), if any."""
    import types
    import typing

    model: Any = ContractDescription
    for part in path:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return []
        candidates = [field.annotation]
        model = None
        while candidates:  # through Optional[...] and list[...] to the model
            t = candidates.pop()
            if isinstance(t, type) and issubclass(t, BaseModel):
                model = t
                break
            if typing.get_origin(t) in (list, typing.Union, types.UnionType):
                candidates.extend(typing.get_args(t))
        if model is None:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _error_path(err: Any) -> tuple[Any, ...]:
    """The field path of a pydantic error (less its validators' names: function-after[...])."""
    return tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))


def _without_empty_optional_fields(data: Any, errors: list[Any]) -> Any:
    """``data`` less each optional field an error found written with no value (``reservation:``, ``~``): the
    field left out, so its default (``None`` if the data has none). Only a draft that fails validation pays."""
    out = None
    for err in errors:
        path = _error_path(err)
        if "input" not in err or err["input"] is not None or not path or not isinstance(path[-1], str):
            continue
        model = _model_at(path[:-1])
        field = model.model_fields.get(path[-1]) if model is not None else None
        if field is None or field.is_required():
            continue
        out = copy.deepcopy(data) if out is None else out
        parent = out
        try:
            for part in path[:-1]:
                parent = parent[part]
        except (KeyError, IndexError, TypeError):  # (a path through a union's member: not a field left empty)
            continue
        if isinstance(parent, dict) and parent.get(path[-1], 0) is None:
            del parent[path[-1]]
    return out


_EXPECTED = {"string_type": "text", "float_type": "a number", "int_type": "a whole number",
             "bool_type": "true or false", "model_type": "a mapping of fields", "list_type": "a list",
             "date_type": "a date written YYYY-MM-DD"}


def _expected(err: dict[str, Any]) -> str:
    """What a field must be, from its error ("a number", "'services', 'supplies' or 'works'")."""
    if err["type"] in _EXPECTED:
        return _EXPECTED[err["type"]]
    msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Input should be ").removeprefix("must be ")
    return re.split(r" \(|, not ", msg, maxsplit=1)[0] if msg else "a value"


def _friendly(err: dict[str, Any]) -> str:
    kind = err["type"]
    if kind == "missing":
        return "is required"
    if "input" in err and err["input"] is None and kind not in ("extra_forbidden", "invalid_key"):
        return f"is empty (null): it must be {_expected(err)}"  # (an optional field left empty is left out)
    got = err.get("input")
    if isinstance(got, float) and got != got and kind not in ("extra_forbidden", "invalid_key"):
        # (pandas' missing value: df.to_dict("records") gives NaN for each cell left blank)
        return f"is NaN (a missing value in a table?): it must be {_expected(err)}"
    if kind == "extra_forbidden":
        if str(err["loc"][-1]).isdigit():  # {amount: 1,000} is {amount: 1, 000: null}
            return f"is not a field: {_COMMA_HINT}"
        meant = _close(str(err["loc"][-1]), _sibling_fields(err["loc"][:-1]))
        return ("is not a field of the contract description v1 "
                + (f"(did you mean {meant}?)" if meant else "(check the spelling)"))
    if kind == "literal_error" or kind == "enum":
        got = err.get("input")
        said = err["msg"].replace("Input should be", "must be")
        if not isinstance(got, str):
            return said
        allowed = re.findall(r"'([^']*)'", err["msg"])
        meant = _close(got, allowed)
        return f"{said}, not {got!r}" + (f" (did you mean {meant!r}?)" if meant else "")
    if kind == "model_type":
        got = err.get("input")
        return f"must be a mapping of fields, not {'null' if got is None else type(got).__name__}"
    if kind == "too_short" and err.get("ctx", {}).get("min_length") == 1:
        return "must not be empty (at least one item)"
    if kind in ("int_type", "int_from_float"):
        got = err["input"]
        if isinstance(got, bool):  # (YAML 1.1 reads yes and true as booleans)
            return f"must be a whole number, not {str(got).lower()}"
        if got is None:  # (as the file wrote it: null, ~ or nothing)
            return "must be a whole number, not null"
        if isinstance(got, float) and got.is_integer():  # 36.0 is whole: what is refused is its decimal point
            return f"must be a whole number written without a decimal point, not {got!r} (write {int(got)})"
        if not isinstance(got, str):
            return f"must be a whole number, not {got!r}"
        hint = f" (a leading zero makes it text: write {int(got)})" if re.fullmatch(r"0\d+", got.strip()) else ""
        return f"must be a whole number, not the text {got!r}{hint}"
    if kind == "string_unicode":
        return _NOT_TEXT
    if kind in ("string_type", "list_type", "bool_type", "bool_parsing"):  # (pydantic: "a valid string")
        got = err.get("input")
        said = f"must be {_EXPECTED.get(kind, 'true or false')}, not {_held(got)}"
        if kind == "string_type" and isinstance(got, int | float) and not isinstance(got, bool):
            return said + f' (quote it: "{got}")'  # (an id of digits is a number to YAML)
        return said + (f" (write [{got}])" if kind == "list_type" and isinstance(got, str) else "")
    if kind == "less_than_equal" and err["loc"][-1] == "vat_rate":
        return _friendly_limit(err) + " (a rate: 0.2 for 20%)"
    if kind == "string_too_short" and err.get("ctx", {}).get("min_length") == 1:
        return "must not be empty"  # (pydantic's words: "String should have at least 1 character")
    return _friendly_limit(err)


def _friendly_limit(err: dict[str, Any]) -> str:
    msg: str = err["msg"]
    msg = msg.removeprefix("Value error, ")
    return msg.replace("Input should be", "must be")


def _held(got: Any) -> str:
    """What a file held, in a few words: ``true``, ``the number 36``, ``the text 'no'``, ``a list``."""
    if isinstance(got, bool):
        return str(got).lower()
    if isinstance(got, int | float):
        return f"the number {got!r}"
    if isinstance(got, str):
        return f"the text {got!r}"
    return {dict: "a mapping", list: "a list"}.get(type(got), type(got).__name__)


def contract_from_document(doc: Document) -> ContractDescription:
    """Validate a parsed document; every problem becomes ``file:line: field.path: message``."""
    if not isinstance(doc.data, dict):
        kind = "empty document" if doc.data is None else type(doc.data).__name__
        raise InputError([(doc.where(()), f"a contract description must be a mapping of fields, got {kind}")])
    try:
        return ContractDescription.model_validate(doc.data)
    except ValidationError as e:
        error = e
    data = _without_empty_optional_fields(doc.data, error.errors())
    if data is not None:  # (validated again without them: what is left is the draft's real problems)
        try:
            return ContractDescription.model_validate(data)
        except ValidationError as e:
            error = e
    problems: list[tuple[int, str, str]] = []  # (its line, 0 for none; where; what)
    for err in error.errors():
        path = _error_path(err) + tuple(err.get("ctx", {}).get("at", ()))  # (+ the part a check names)
        if err["type"] == "invalid_key":  # a key YAML read as null, a number or true: located by its text
            problems.append(_invalid_key(doc, path[:-1], err["input"]))
            continue
        if err["type"] == "string_unicode" and _is_key(doc.data, path, err.get("input")):
            shown = err["input"].encode("utf-8", "backslashreplace").decode()  # (\ud800 as its escape)
            problems.append((doc.line_of(path) or 0, _loc(doc, path), f"the key '{shown}' {_NOT_TEXT}"))
            continue
        problems.append((doc.line_of(path) or 0, _loc(doc, path), _friendly(err)))
    problems.sort(key=lambda p: p[0])  # in the file's order, as an editor shows it
    raise InputError([(where, what) for _, where, what in problems]) from None


_NOT_TEXT = ("is not valid text: it holds a lone surrogate (an escape from \\ud800 to \\udfff that is not half of a "
             "pair)")


def _is_key(data: Any, path: tuple[Any, ...], key: Any) -> bool:
    """Whether ``key`` is a key of the mapping at ``path`` (pydantic names a key's error at its mapping)."""
    for p in path:
        data = data[p] if isinstance(data, dict) and p in data or isinstance(data, list) and \
            isinstance(p, int) and p < len(data) else None
    return isinstance(data, dict) and isinstance(key, str) and key in data


def _invalid_key(doc: Document, parent: tuple[Any, ...], key: Any) -> tuple[int, str, str]:
    """The line of a key that is not text (the key under ``parent`` written as YAML reads ``key``; 0 for none),
    where it is, and what is wrong with it."""
    from .yamlio import scalar

    mapping: Any = doc.data
    for p in parent:
        mapping = mapping[p] if isinstance(mapping, (dict, list)) else None
    text_keys = {k for k in mapping if isinstance(k, str)} if isinstance(mapping, dict) else set()  # ("null")
    written = [p[-1] for p in doc.lines if len(p) == len(parent) + 1 and p[:-1] == parent
               and isinstance(p[-1], str) and p[-1] not in text_keys]
    same = [w for w in written if _same_key(scalar(w), key)]
    at = (*parent, same[0]) if same else parent
    where = doc.where(at)
    dotted = _loc(None, parent)
    kind = "null" if key is None else "a number" if isinstance(key, int | float) and not isinstance(key, bool) \
        else type(key).__name__
    shown = f"{same[0]!r} is read as {kind}" if same else f"{key!r} is not text"
    hint = f" ({_COMMA_HINT}; else quote it)" if isinstance(key, int) and not isinstance(key, bool) else " (quote it)"
    return doc.line_of(at) or 0, where + (f": {dotted}" if dotted else ""), f"a field name must be text: {shown}{hint}"


def _same_key(read: Any, key: Any) -> bool:
    """Whether a key read from its text is ``key`` (of the same type; NaN is itself here)."""
    return type(read) is type(key) and (read == key or (read != read and key != key))


def locate(error: InputError, doc: Document) -> InputError:
    """``error`` with file and line added to the problems that name a bare field path of the contract
    (found after validation, e.g. a ``procurement_start`` no regime covers); other problems are kept as they are."""
    problems = []
    for loc, msg in error.problems:
        path = tuple(int(p) if p.isdigit() else p for p in re.split(r"[.\[\]]+", loc) if p)
        problems.append((_loc(doc, path) if path and path[0] in ContractDescription.model_fields else loc, msg))
    return InputError(problems)


def contract_from_mapping(data: dict[str, Any], source: str = "<data>") -> ContractDescription:
    return contract_from_document(Document(data, source))
