"""Open Contracting Data Standard 1.1 to contract description v1: the mapping, as pure functions.

Find a Tender and Contracts Finder publish notices as OCDS releases (in release packages) and procurement
processes as records (in record packages, each with a compiled release). ``release_to_contract`` maps one
release, field by field, to a contract description mapping; every assumption it has to make is returned as a
note, and a release too thin to advise on (no value, no CPV code, no date, no contract period) is returned with
what is missing instead of a contract. The README ("Batch review") has the mapping table; keep them together.

Nothing here reads files or validates the contract description: ``review`` does both.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import numbers
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .contract import MAX_DURATION_MONTHS, AuthorityType, Nation
from .errors import check_choice
from .facts import money, uk_time

# mainProcurementCategory (OCDS procurementCategory codelist) -> contract_type
CATEGORIES = {"goods": "supplies", "works": "works", "services": "services"}

# tender.otherRequirements.reservedParticipation (OCDS otherRequirements extension codelist; older and eForms
# spellings too) -> reservation. ``smeVcse`` (Find a Tender, UK extension) reserves a below-threshold contract to
# SMEs and VCSEs: not a Section 16 reservation, so it maps to none, with a note.
RESERVATIONS = {
    "shelteredworkshop": "supported_business",
    "shelteredprogram": "supported_business",
    "shelteredprogramme": "supported_business",
    "publicservice": "public_service_mutual",
    "publicservicemissionorganization": "public_service_mutual",
    "publicservicemissionorganisation": "public_service_mutual",
}
NOT_SECTION_16 = {"smevcse"}

# tender.procurementMethodDetails -> route, first match wins (so "below threshold - open" is below_threshold and
# "competitive procedure with negotiation" is not "competitive dialogue"). Matched on the lower-cased words.
ROUTE_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"\bbelow[ -]threshold\b", "below_threshold"),
    (r"\bcompetitive flexible\b", "competitive_flexible"),
    (r"\bcompetitive (procedure )?with negotiation\b|\bcompetitive negotiated\b",
     "competitive_procedure_with_negotiation"),
    (r"\bcompetitive dialogue\b", "competitive_dialogue"),
    (r"\binnovation partnership\b", "innovation_partnership"),
    (r"\blight[ -]touch\b|\blight regime\b", "light_touch"),
    (r"\brestricted\b", "restricted"),
    (r"^open\b|\bopen procedure\b", "open"),
)
_ROUTE_RX = tuple((re.compile(p), route) for p, route in ROUTE_PATTERNS)

# NUTS 2016 and ITL 2021 first-level regions of the UK (the region of the buyer's address), and country names.
NATIONS_BY_REGION = {"UKL": "wales", "TLL": "wales", "UKN": "northern_ireland", "TLN": "northern_ireland",
                     "UKM": "scotland", "TLM": "scotland"}
NATIONS_BY_NAME = {"wales": "wales", "cymru": "wales", "england": "england", "northern ireland": "northern_ireland",
                   "scotland": "scotland"}

# The buyer's own classification (``parties[].details.classifications``): UK_CA_TYPE on Find a Tender's
# Procurement Act notices, TED_CA_TYPE on its PCR 2015 ones -> authority.type. A national agency (TED) is read
# as central government, the lower thresholds, with a note: PCR 2015 Schedule 1 lists which bodies are.
AUTHORITY_TYPES = {
    ("UK_CA_TYPE", "publicauthoritycentralgovernment"): "central_government",
    ("UK_CA_TYPE", "publicauthoritysubcentralgovernment"): "sub_central",
    ("TED_CA_TYPE", "ministry"): "central_government",
    ("TED_CA_TYPE", "nationalagency"): "central_government",
    ("TED_CA_TYPE", "regionalauthority"): "sub_central",
    ("TED_CA_TYPE", "regionalagency"): "sub_central",
    ("TED_CA_TYPE", "bodypublic"): "sub_central",
}
# Sell2Wales writes a TED_CA_TYPE as its label, not its code ("Regional or local authority", "Body governed by
# public law" in its releases of February 2025); Find a Tender writes the code, the label in the description.
TED_CA_TYPE_LABELS = {
    "ministryoranyothernationalorfederalauthority": "ministry",
    "ministryoranyothernationalorfederalauthorityincludingtheirregionalorlocalsubdivisions": "ministry",
    "nationalorfederalagencyoffice": "nationalagency",
    "regionalorlocalauthority": "regionalauthority",
    "regionalorlocalagencyoffice": "regionalagency",
    "bodygovernedbypubliclaw": "bodypublic",
}
NATIONAL_AGENCY_NOTE = ("a national agency (TED_CA_TYPE NATIONAL_AGENCY) is read as central government, whose "
                        "thresholds are lower; PCR 2015 Schedule 1 lists the central government authorities")

# tender.legalBasis (Find a Tender: the notice's legislation) -> the regime it names. The Act's go-live is the
# first day of the rulebook's pa2023 regime (a test checks they agree).
ACT_GO_LIVE = "2025-02-24"
LEGAL_BASES = {
    ("UKPGA", "2023/54"): "the Procurement Act 2023",
    ("CELEX", "32014L0024"): "the Public Contracts Regulations 2015 (Directive 2014/24/EU)",
}
# Regimes s16advisor does not encode: the Provider Selection Regime (England's health care services), and those of
# the PCR 2015 era (Find a Tender's PCR-era notices name the directive implemented: 32014L0025, utilities, is
# measured in its data beside 32014L0024): not advised under PCR 2015 or the Act.
UNENCODED_BASES = {
    ("UKSI", "2023/1348"): "the Health Care Services (Provider Selection Regime) Regulations 2023",
    ("CELEX", "32014L0025"): "the Utilities Contracts Regulations 2016 (Directive 2014/25/EU)",
    ("CELEX", "32014L0023"): "the Concession Contracts Regulations 2016 (Directive 2014/23/EU)",
    ("CELEX", "32009L0081"): "the Defence and Security Public Contracts Regulations 2011 (Directive 2009/81/EC)",
}

# tender.status of a procurement ended without award (lots' status too): it will not be let.
STOPPED = {"cancelled", "withdrawn", "unsuccessful"}

DAYS_PER_MONTH = 365.25 / 12
DAYS_TOLERANCE = 3  # a duration in days this close above a whole number of months is that number of months

_CPV_RX = re.compile(r"^([0-9]{8})(?:-([0-9]))?\Z")
_DATE_RX = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})")
_END_OF_DAY, _NEXT_DAY = dt.timedelta(days=1, microseconds=-1), dt.timedelta(days=1)
_END_OF_DAY_RX = re.compile(r"(?<=^[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ]24:00(?::00(?:[.,]0+)?)?(?=[Zz+-]|$)")


VAT_BASES: tuple[str, ...] = ("exclusive", "inclusive")  # what an OCDS notice's amount may be (--ocds-vat)


@dataclass(frozen=True)
class OcdsOptions:
    """The assumptions a user may change (``s16advisor review --ocds-...``)."""

    vat: Literal["exclusive", "inclusive"] = "exclusive"  # notices state values excluding VAT
    vat_rate: float = 0.2  # the rate used to gross a net value up, unless the notice gives amountGross
    authority_type: Literal["sub_central", "central_government"] = "sub_central"
    nation: Literal["wales", "england", "northern_ireland"] = "wales"  # when the buyer's address does not say

    def __post_init__(self) -> None:  # (a value the mapping does not know made every OCDS record an error)
        owner = "OcdsOptions"
        check_choice(owner, "vat", self.vat, VAT_BASES)
        rate = self.vat_rate
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real | decimal.Decimal):
            raise TypeError(f"{owner}: vat_rate must be a number, not {type(rate).__name__} {rate!r}")
        rate = float(rate)  # (a Decimal or numpy's number, as advise() takes them: a float, as the mapping writes)
        object.__setattr__(self, "vat_rate", rate)
        if not 0 <= rate <= 1:  # (NaN too)
            percent = f" ({rate:g}% is {rate / 100:g})" if 1 < rate <= 100 else ""
            raise ValueError(f"{owner}: vat_rate {rate:g} is not a rate between 0 and 1{percent}")
        check_choice(owner, "authority_type", self.authority_type, tuple(t.value for t in AuthorityType))
        check_choice(owner, "nation", self.nation, tuple(n.value for n in Nation))


@dataclass
class Mapped:
    """A release mapped: a contract description mapping, or what is missing; notes on the assumptions made."""

    contract: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # present but unusable (a currency, a Scottish buyer)

    @property
    def error(self) -> str | None:
        parts = []
        if self.missing:
            parts.append("too thin to advise on: no " + "; no ".join(self.missing))
        parts += self.problems
        return "; ".join(parts) if parts else None


Kind = Literal["release_package", "record_package", "record", "release", "contract", "unknown"]


def kind_of(obj: Any) -> Kind:
    """What a parsed JSON/YAML object is: an OCDS package, record or release, or (any other mapping) a contract
    description."""
    if not isinstance(obj, dict):
        return "unknown"
    if isinstance(obj.get("records"), list) and "ocid" not in obj:
        return "record_package"
    if isinstance(obj.get("releases"), list) and "ocid" not in obj:
        return "release_package"
    if "ocid" in obj:
        if "compiledRelease" in obj or ("releases" in obj and "tag" not in obj and "tender" not in obj):
            return "record"
        return "release"
    return "contract"


def package_items(obj: dict[str, Any]) -> tuple[str, list[Any]]:
    """The releases or records of a package, and the array's name."""
    name = "records" if kind_of(obj) == "record_package" else "releases"
    return name, obj[name]


def slim_record(record: dict[str, Any]) -> dict[str, Any]:
    """What ``record_to_contract`` needs of a record (its compiled release, the dates and tags of its releases, or
    its last embedded release): versioned releases and embedded release bodies stay behind."""
    out: dict[str, Any] = {"ocid": record.get("ocid")}
    if "compiledRelease" in record:
        out["compiledRelease"] = record["compiledRelease"]
    releases = record.get("releases")
    if isinstance(releases, list):
        out["releases"] = [{"date": r.get("date"), "tag": r.get("tag")} for r in releases if isinstance(r, dict)]
        if "compiledRelease" not in record:
            embedded = [r for r in releases if isinstance(r, dict) and "tender" in r]
            if embedded:
                out["lastRelease"] = max(embedded, key=_latest)
    return out


def _latest(release: dict[str, Any]) -> dt.datetime:
    """A release's moment, to find the latest (its date as text compared moments written with different offsets
    wrongly; UK time, the hour repeated when the clocks go back): in UTC, a date or a time without an offset as
    written; a release without a readable date is the earliest."""
    when = _when(release.get("date"), utc=True)
    return dt.datetime.combine(when[0], when[1] or dt.time.min) if when else dt.datetime.min


def record_to_contract(record: dict[str, Any], options: OcdsOptions = OcdsOptions()) -> Mapped:
    """A record: its compiled release (or, without one, its latest embedded release), with the date of the
    first release tagged ``tender`` as the commencement date."""
    release = record.get("compiledRelease")
    notes = []
    if not isinstance(release, dict):
        release = record.get("lastRelease")
        if not isinstance(release, dict):
            return Mapped(None, missing=["compiledRelease (and no embedded release to use instead)"])
        notes.append("the record has no compiled release: its latest embedded release was used")
    tender_dates = sorted(
        d for k, r in enumerate(_list(record.get("releases"))) if isinstance(r, dict) and _tagged_tender(r.get("tag"))
        for d in [_given_date(r.get("date"), f"releases[{k}].date (a tender release)", notes)] if d
    )
    release = {"ocid": record.get("ocid"), **release}
    cancelled = any("tenderCancellation" in _tags(r.get("tag")) for r in _list(record.get("releases"))
                    if isinstance(r, dict))
    mapped = release_to_contract(release, options, tender_date=tender_dates[0] if tender_dates else None,
                                 cancelled=cancelled)
    mapped.notes[:0] = notes
    return mapped


def release_to_contract(release: dict[str, Any], options: OcdsOptions = OcdsOptions(), *,
                        tender_date: str | None = None, cancelled: bool = False) -> Mapped:
    """One OCDS release (or compiled release) as a contract description mapping (see the module docstring)."""
    tender = _dict(release.get("tender"))
    notes: list[str] = []
    missing: list[str] = []
    problems: list[str] = []
    ocid = _text(release.get("ocid"))
    if not ocid:
        ocid = _text(release.get("id"))
        if ocid:
            notes.append(f"no ocid: the id is the release id {ocid}")
        else:
            missing.append("ocid")

    stopped = _stopped(release, tender, cancelled)
    if stopped:
        notes.append(stopped)

    title = _text(tender.get("title")) or _text(release.get("title"))
    if not title:
        description = _text(tender.get("description"))
        title = description[:100] if description else f"OCDS {ocid or 'release'}"
        notes.append("no tender.title: the title is made from " + ("tender.description" if description else "the ocid"))

    start = _commencement(release, tender, tender_date, notes)
    if start is None and _planning_only(release.get("tag")):
        missing.append("tender date (a planning release: its own date is not when the procurement commences, as a "
                       "prior information notice does not commence it; give the planned tender date as "
                       "tender.communication.futureNoticeDate or tender.tenderPeriod.startDate)")
    elif start is None:
        missing.append("date (tender.datePublished, a release tagged tender, tender.tenderPeriod.startDate or "
                       "the release date)")

    cpv, lot_cpv = _cpv_codes(release, tender, notes)
    if not cpv:
        missing.append("CPV code (tender.classification, tender.items[].classification or "
                       "additionalClassifications with scheme CPV)")

    category = _text(tender.get("mainProcurementCategory"))
    contract_type = CATEGORIES.get((category or "").strip().lower())
    if contract_type is None and cpv:
        contract_type = _type_from_cpv(cpv[0])
        said = f"tender.mainProcurementCategory {category!r} is not goods, works or services" if category else \
            "no tender.mainProcurementCategory"
        notes.append(f"{said}: contract_type {contract_type} from the main CPV code "
                     f"{cpv[0]} (division 45 works, below 45 and 48 supplies, others services)")

    lots_in = [lot for lot in _list(tender.get("lots")) if isinstance(lot, dict)]
    ended = [str(_lot_name(lot, k)) for k, lot in enumerate(lots_in) if _text(lot.get("status")).lower() in STOPPED]
    if ended:
        notes.append(f"lot{'s' if len(ended) > 1 else ''} {', '.join(ended)} cancelled, withdrawn or unsuccessful "
                     "since: still counted, as a procurement is valued when it commences")
    value = _value(tender, lots_in, options, notes, problems)
    if value is None and not problems:
        missing.append("value (tender.value.amount, or a value.amount on every lot)")

    months = _duration(tender.get("contractPeriod"), "tender.contractPeriod", notes)
    if months is None and lots_in:
        lot_months = [_duration(lot.get("contractPeriod"), f"lot {_lot_name(lot, k)}'s contractPeriod", notes)
                      for k, lot in enumerate(lots_in)]
        if lot_months and all(m is not None for m in lot_months):
            months = max(m for m in lot_months if m is not None)
            notes.append("duration_months is the longest of the lots' contract periods")
    if months is not None and months > MAX_DURATION_MONTHS:  # (an end of 9999-12-31 is a placeholder in notices)
        notes.append(f"the contract period is {months:,} months: duration_months is read as "
                     f"{MAX_DURATION_MONTHS:,} (100 years), the longest a contract description may give")
        months = MAX_DURATION_MONTHS
    if months is not None:
        _renewals(lots_in, months, notes)
    if months is None:
        missing.append("contract period (tender.contractPeriod: durationInMonths, durationInDays, or startDate with "
                       "endDate or maxExtentDate)")

    if start is not None and not _planning_only(release.get("tag")):  # (a planned date: no notice has a basis yet)
        _legal_basis(tender, start, problems)
    authority_type, given_by = _authority_type(release, options, notes)
    nation = _nation(release, authority_type, given_by, options, notes, problems)

    if missing or problems:
        return Mapped(None, notes, missing, problems)
    assert value is not None and start is not None and months is not None and contract_type is not None

    contract: dict[str, Any] = {
        "id": ocid,
        "title": title,
        "authority": {"type": authority_type, "nation": nation},
        "procurement_start": start,
        "contract_type": contract_type,
        "value": value,
        "duration_months": months,
        "cpv": cpv,
    }
    buyer = _buyer_name(release)
    if buyer:
        contract["authority"]["name"] = buyer

    lots = _lots(lots_in, value["amount"], lot_cpv, notes)
    if lots:
        contract["lots"] = lots
    elif len(lots_in) > 1:
        contract["reasons_for_not_lotting"] = (f"Divided into {len(lots_in)} lots in the notice; lot values not "
                                               "stated or not adding up to the total.")
    rationale = _text(_dict(tender.get("lotDetails")).get("noLotsDivisionRationale"))
    if rationale and "reasons_for_not_lotting" not in contract:
        contract["reasons_for_not_lotting"] = rationale

    reservation = _reservation(tender, lots_in, notes)
    if reservation:
        contract["reservation"] = reservation
    route = _route(tender, notes)
    if route:
        contract["route"] = route
    return Mapped(contract, notes)


# ------------------------------------------------------------------------------------------------ the fields


def _dict(x: Any) -> dict[str, Any]:
    return x if isinstance(x, dict) else {}


def _list(x: Any) -> list[Any]:
    """An array field (tender.items, parties...): a value of another type is read as absent, as ``_dict`` reads an
    object field (what is then missing is named: no CPV code, no value)."""
    return x if isinstance(x, list) else []


def _text(x: Any) -> str:
    return x.strip() if isinstance(x, str) else ""


def _when(x: Any, utc: bool = False, end: bool = False) -> tuple[dt.date, dt.time | None] | None:
    """An OCDS date or date-time: its UK calendar date and, when it has a time, the UK time of day. A time with an
    offset (or Z) is a moment, read in UK time (``2025-02-24T00:30:00+01:00`` is 23:30 GMT on 2025-02-23), as the
    law's days are the UK's (``utc``: in UTC, to order moments); a date, or a time without an offset, is read as
    written. ISO 8601's 24:00 is the next midnight, a notice published then is published on the next day; but
    the end of a term (``end``) written so ends a microsecond before, on its day, as one written to 23:59:59 does."""
    if not isinstance(x, str):
        return None
    text = x.strip()
    m = _DATE_RX.match(text)
    if not m:
        return None
    try:
        day = dt.date.fromisoformat(m.group(1))
    except ValueError:
        return None
    end_of_day = _END_OF_DAY_RX.search(text)  # (24:00, which Python does not read)
    if end_of_day:
        text = text[:end_of_day.start()] + "T00:00:00" + text[end_of_day.end():]
    try:
        moment = dt.datetime.fromisoformat(text[:-1] + "Z" if text.endswith("z") else text)
        if end_of_day:
            moment += _END_OF_DAY if end else _NEXT_DAY
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None) if utc else uk_time(moment)
    except (ValueError, OverflowError):  # (a time Python does not read; a moment beyond the year 9999 in UTC)
        return day, None
    return moment.date(), (moment.time() if len(text) > 10 else None)


def _date(x: Any) -> str | None:
    """The UK calendar date of an OCDS date or date-time (see ``_when``), as ISO text."""
    when = _when(x)
    return when[0].isoformat() if when else None


def _tags(tag: Any) -> set[str]:
    return {t for t in (tag if isinstance(tag, list) else [tag]) if isinstance(t, str)}


def _tagged_tender(tag: Any) -> bool:
    """A tender notice: the procurement's commencement (an amendment or update of it comes later)."""
    return "tender" in _tags(tag)


def _planning_only(tag: Any) -> bool:
    """A planning notice (a prior information notice, a pipeline entry): no procurement commenced yet."""
    tags = _tags(tag)
    return bool(tags) and tags <= {"planning", "planningUpdate"}


def _stopped(release: Mapping[str, Any], tender: Mapping[str, Any], cancelled: bool) -> str | None:
    """The note on a procurement ended without award (cancelled, withdrawn, unsuccessful), if it is: advised as it
    was planned, but the review's summary does not count it among the contracts that could be reserved (it will
    not be let)."""
    status = _text(tender.get("status"))
    if status.lower() in STOPPED:
        said = f"tender.status {status!r}"
    elif cancelled or "tenderCancellation" in _tags(release.get("tag")):
        said = "a release tagged tenderCancellation"
    else:
        return None
    return (f"{PROCUREMENT_STOPPED} ({said}): advised as it was planned, and not counted in the summary's "
            "Section 16 view")


def _given_when(x: Any, where: str, notes: list[str], end: bool = False) -> tuple[dt.date, dt.time | None] | None:
    """``_when``, with a note when a date is given that is not one (the mapping falls back on another field), or
    with a time that is not one (its date is read as written, not as a UK day)."""
    when = _when(x, end=end)
    if when is None and x is not None and x != "":
        notes.append(f"{where} {x!r} is not a date: ignored")
    elif when is not None and when[1] is None and len(x.strip()) > 10:
        notes.append(f"{where} {x!r} has a time that is not one: the date {when[0].isoformat()} is read as written")
    return when


def _given_date(x: Any, where: str, notes: list[str]) -> str | None:
    """``_date``, with the notes of ``_given_when``."""
    when = _given_when(x, where, notes)
    return when[0].isoformat() if when else None


def _notice_published(tender: Mapping[str, Any], notes: list[str]) -> str | None:
    """The earliest date a tender notice among the tender's documents was published (Find a Tender lists its
    notices as documents of type tenderNotice)."""
    days = [d for k, doc in enumerate(_list(tender.get("documents")))
            if isinstance(doc, dict) and _text(doc.get("documentType")) == "tenderNotice"
            for d in [_given_date(doc.get("datePublished"), f"tender.documents[{k}].datePublished (a tenderNotice)",
                                  notes)] if d]
    return min(days) if days else None


def _commencement(release: Mapping[str, Any], tender: Mapping[str, Any], tender_date: str | None,
                  notes: list[str]) -> str | None:
    """The tender's date: when the procurement was commenced (the tender notice was published). A date given in
    a field it reads but not a date is noted, as the next field is read instead."""
    published = _given_date(tender.get("datePublished"), "tender.datePublished", notes) or \
        _notice_published(tender, notes)
    if published:
        return published
    if tender_date:
        return tender_date
    released = _given_date(release.get("date"), "the release date", notes)
    if _tagged_tender(release.get("tag")) and released:
        return released
    start = _given_date(_dict(tender.get("tenderPeriod")).get("startDate"), "tender.tenderPeriod.startDate", notes)
    if start:
        return start
    if _planning_only(release.get("tag")):  # (its date is the plan's, before the procurement commences)
        planned = _given_date(_dict(tender.get("communication")).get("futureNoticeDate"),
                              "tender.communication.futureNoticeDate", notes)
        if planned:
            notes.append(f"a planning release: procurement_start is the planned date of the tender notice {planned} "
                         "(tender.communication.futureNoticeDate)")
        return planned
    if released:
        notes.append(f"no tender date: procurement_start is the release date {released}, which may be later than "
                     "the tender notice")
    return released


def _cpv(code: Any) -> str | None:
    if isinstance(code, int) and not isinstance(code, bool):
        code = str(code)
    if not isinstance(code, str):
        return None
    code = code.strip().replace(" ", "")
    return code if _CPV_RX.match(code) else None


def _classifications(obj: Mapping[str, Any], where: str) -> Iterator[tuple[Any, str]]:
    c = obj.get("classification")
    if isinstance(c, dict):
        yield c, f"{where}.classification"
    for k, c in enumerate(_list(obj.get("additionalClassifications"))):
        if isinstance(c, dict):
            yield c, f"{where}.additionalClassifications[{k}]"


def _cpv_codes(release: Mapping[str, Any], tender: Mapping[str, Any],
               notes: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """The CPV codes of the tender and its items, the first (main) one first, and those of each lot's items."""
    codes: list[str] = []
    by_lot: dict[str, list[str]] = {}
    found: list[tuple[Any, str, str | None]] = [(c, where, None) for c, where in _classifications(tender, "tender")]
    for i, item in enumerate(_list(tender.get("items"))):
        if isinstance(item, dict):
            lot = item.get("relatedLot")
            found += [(c, where, str(lot) if lot is not None else None)
                      for c, where in _classifications(item, f"tender.items[{i}]")]
    for c, where, lot in found:
        if str(c.get("scheme", "")).strip().upper() != "CPV":
            continue
        code = _cpv(c.get("id"))
        if code is None:
            notes.append(f"{where}.id {c.get('id')!r} is not a CPV code: ignored")
            continue
        if not any(x[:8] == code[:8] for x in codes):
            codes.append(code)
        if lot is not None and not any(x[:8] == code[:8] for x in by_lot.setdefault(lot, [])):
            by_lot[lot].append(code)
    return codes, by_lot


def _type_from_cpv(code: str) -> str:
    division = int(code[:2])
    return "works" if division == 45 else "supplies" if division < 45 or division == 48 else "services"


def _finite(x: Any) -> float | None:
    """A JSON number as a float, if it is one that is finite: not a boolean, NaN, an infinity, or an integer too
    large for a float (JSON's integers have no limit: ``1`` and 400 zeros is read as an int)."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    try:
        number = float(x)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _shown(x: Any) -> str:
    """A given value as a note shows it: its repr, but not the hundreds of digits of an integer too large for a
    float (Python will not write one of over 4,300)."""
    if isinstance(x, int) and not isinstance(x, bool) and _finite(x) is None:
        return f"(an integer of {len(str(abs(x))) if x.bit_length() < 10_000 else 'thousands of'} digits)"
    return repr(x)


def _amount(value: Any) -> tuple[float | None, str | None, float | None]:
    """(amount, currency, amountGross) of an OCDS Value."""
    v = _dict(value)
    return _finite(v.get("amount")), _text(v.get("currency")).upper() or None, _finite(v.get("amountGross"))


def _value(tender: Mapping[str, Any], lots: list[dict[str, Any]], options: OcdsOptions, notes: list[str],
           problems: list[str]) -> dict[str, Any] | None:
    amount, currency, gross = _amount(tender.get("value"))
    where = "tender.value"
    given = _dict(tender.get("value")).get("amount")
    unusable = f"tender.value.amount {_shown(given)} is not a number" if amount is None and given is not None \
        else None
    if amount is not None and amount < 1:  # (0.01 on Sell2Wales, 000 on Find a Tender: no estimate published)
        unusable = f"tender.value.amount {money(amount)} is less than £1: a placeholder, not the estimated value"
        amount = gross = None
    if amount is None and lots:
        lot_values = [_amount(lot.get("value")) for lot in lots]
        if all(a is not None for a, _, _ in lot_values):
            amount = sum(a for a, _, _ in lot_values if a is not None)
            currencies = {c for _, c, _ in lot_values if c}
            currency = currencies.pop() if len(currencies) == 1 else ("mixed" if currencies else None)
            grosses = [g for _, _, g in lot_values]
            gross = sum(g for g in grosses if g is not None) if all(g is not None for g in grosses) else None
            where = "the lots' values"
            notes.append(f"{unusable or 'no tender.value'}: the value is the sum of the lots' values")
    vat = options.vat
    if amount is None and gross is not None and gross > 0 and not unusable:
        amount, gross, vat = gross, None, "inclusive"  # (OCDS 1.2: a value known only including VAT)
        notes.append(f"no {where}.amount: the value is {where}.amountGross {money(amount)}, including VAT at "
                     f"{options.vat_rate:g}")
    if amount is None:
        if unusable:  # no lots' values to fall back on: the notice's value is unusable, not missing
            problems.append(unusable)
        return None
    if currency not in (None, "GBP"):
        problems.append(f"{where} is in {currency}: only pounds sterling (GBP) can be compared with UK thresholds")
        return None
    value: dict[str, Any] = {"amount": amount, "vat": vat, "vat_rate": options.vat_rate}
    if gross is not None and amount > 0 and amount <= gross <= 2 * amount:
        # amountGross is the value including VAT (OCDS 1.2; Find a Tender): amount is then the value without it,
        # whatever --ocds-vat assumed, and the two give the rate
        rate = round(gross / amount - 1, 4)
        if vat == "inclusive" and rate > 0:
            value["vat"] = "exclusive"
            notes.append(f"{where}.amountGross {money(gross)} is the value including VAT: {where}.amount is read as "
                         "exclusive of VAT (not inclusive, as --ocds-vat said)")
        if rate != options.vat_rate:
            value["vat_rate"] = rate
            notes.append(f"VAT rate {rate:g} from {where}.amountGross")
    elif gross is not None and gross != amount:
        notes.append(f"{where}.amountGross {money(gross)} is not between {where}.amount and twice it: ignored")
    return value


def _anniversary(day: dt.date, months: int) -> dt.date | None:
    """The day ``months`` calendar months after ``day``; past the end of a shorter month, into the next (29
    February 2024 + 36 months is 1 March 2027: a term from it ends on 28 February); None past the last date."""
    y, m = divmod(day.month - 1 + months, 12)
    try:
        return dt.date(day.year + y, m + 1, 1) + dt.timedelta(days=day.day - 1)
    except (ValueError, OverflowError):
        return None


def _months_between(start: tuple[dt.date, dt.time | None], end: tuple[dt.date, dt.time | None]) -> int | None:
    """The calendar months of a term from ``start`` to ``end`` (OCDS end dates are the last day; ``_when``'s UK
    dates and times), a part month counting as a month: the fewest whose anniversary comes after ``end``
    (2024-03-01 to 2027-02-28, and 2024-02-29 to 2027-02-28, are 36; 2025-01-31 to 2025-02-28 is 1). A time
    moves the anniversary with it, and an end less than an hour past an anniversary is a clock change's, not a part
    month (``_past``): 00:00 UTC on 1 April 2024 (01:00 BST) to 23:59:59 UTC on 31 March 2027 (00:59:59 BST on 1
    April) is 36 months, not 37, and so is 00:00 UTC on 29 March 2025 (GMT) to 23:59:59 UTC on 28 March 2028 (BST)."""
    a = dt.datetime.combine(start[0], start[1] or dt.time.min)
    b = dt.datetime.combine(end[0], end[1] or dt.time.max)  # (a date is its whole day)
    if b < a:
        return None
    months = max(1, (b.year - a.year) * 12 + (b.month - a.month) - 1)
    while (anniversary := _anniversary(a.date(), months)) is not None and \
            _past(dt.datetime.combine(anniversary, a.time()), b):
        months += 1
    return months


def _past(anniversary: dt.datetime, end: dt.datetime) -> bool:
    """Whether a term ending at ``end`` goes on past ``anniversary``: an end at it (midnight, as dates are often
    written) does, one less than an hour after it is a clock change's (a term written in UTC across GMT and BST)."""
    return end == anniversary or end >= anniversary + _CLOCK_CHANGE


_CLOCK_CHANGE = dt.timedelta(hours=1)  # (GMT to BST and back: what a term written in UTC moves by)


def _in_order(start: Any, end: Any) -> bool:
    """Whether ``end`` is not before ``start`` as moments, in UTC (UK time repeats an hour when the clocks go back:
    01:30 BST comes before 01:10 GMT)."""
    a, b = _when(start, utc=True), _when(end, utc=True, end=True)
    return a is not None and b is not None and _months_between(a, b) is not None


def _lot_name(lot: Mapping[str, Any], k: int) -> Any:
    """What notes call a lot: its id, or its place in tender.lots when it has none."""
    return lot.get("id") if _has_id(lot) else k


def _has_id(lot: Mapping[str, Any]) -> bool:
    """Whether a lot has an id: not none, and not blank text (which a contract description refuses)."""
    lot_id = lot.get("id")
    return lot_id is not None and not (isinstance(lot_id, str) and not lot_id.strip())


def _duration(period: Any, where: str, notes: list[str]) -> int | None:
    """The maximum term in months, extensions included: the longest of durationInMonths (UK extension),
    durationInDays and the months from startDate to maxExtentDate (which includes extensions) or endDate (OCDS
    says durationInDays is from startDate to endDate: without the extensions). A date given that is not one, or
    an end before the start, is noted (``where`` names the period): the term is then read from the other fields,
    or is missing."""
    p = _dict(period)
    found = []
    months = _finite(p.get("durationInMonths"))  # (an integer too large for a float is no more a term than NaN)
    if months is not None and months >= 1:
        found.append(math.ceil(months))  # (36.0, as some systems write a whole number; a part month is a month)
    days = _finite(p.get("durationInDays"))
    if days is not None and days > 0:
        found.append(max(1, math.ceil((days - DAYS_TOLERANCE) / DAYS_PER_MONTH)))
    start = _given_when(p.get("startDate"), f"{where}.startDate", notes)
    for name in ("maxExtentDate", "endDate"):  # (the first that ends after the start)
        end = _given_when(p.get(name), f"{where}.{name}", notes, end=True)
        if start and end:
            between = _months_between(start, end)
            if between is None and _in_order(p["startDate"], p[name]):
                between = 1  # (in order as moments, not in UK time: the clocks went back between them)
            if between is not None:
                found.append(between)
                break
            notes.append(f"{where}.{name} {p[name]!r} is before its startDate {p['startDate']!r}: ignored")
    return max(found) if found else None


def _renewals(lots: list[dict[str, Any]], months: int, notes: list[str]) -> None:
    """A note for each lot that can be renewed (the renewal extension's hasRenewal, its renewal.description): Find a
    Tender and Sell2Wales tell the renewal in words beside a contract period without it, so duration_months may
    be shorter than the maximum term including renewals, which the contract description asks for."""
    for k, lot in enumerate(lots):
        if lot.get("hasRenewal") is not True:
            continue
        words = _text(_dict(lot.get("renewal")).get("description"))
        said = f": {words[:120]!r}{'...' if len(words) > 120 else ''}" if words else ""
        notes.append(f"lot {_lot_name(lot, k)} can be renewed (hasRenewal{said}): duration_months {months:,} does "
                     "not count the renewal unless the contract period's maxExtentDate or durationInMonths does; "
                     "give the maximum term including renewals if it is longer")


def _lots(lots: list[dict[str, Any]], total: float, lot_cpv: dict[str, list[str]],
          notes: list[str]) -> list[dict[str, Any]] | None:
    """The lots, when there are at least two and their values are all stated and add up to the value (within £1,
    as the contract description requires)."""
    if len(lots) < 2:
        return None
    out = []
    seen: dict[str, Any] = {}  # a lot id (as the contract description compares them) -> the lot's place
    for k, lot in enumerate(lots):
        amount, currency, _ = _amount(lot.get("value"))
        lot_id = lot.get("id")
        name = _lot_name(lot, k)
        if amount is None or not _has_id(lot):
            given = _dict(lot.get("value")).get("amount")
            said = "has no id" if amount is not None else \
                f"has a value.amount that is not a number ({_shown(given)})" if given is not None else "has no value"
            notes.append(f"lot {name} {said}: the lots are not described, the contract is advised on its total value")
            return None
        if currency not in (None, "GBP"):
            notes.append(f"lot {name} is valued in {currency}: the lots are not described, the contract is advised "
                         "on its total value")
            return None
        if amount < 0:
            notes.append(f"lot {name} has a value.amount below zero ({money(amount)}): the lots are not described, "
                         "the contract is advised on its total value")
            return None
        key = str(lot_id).strip()  # (1 and "1", "a" and "a ": one id in a contract description)
        if key in seen:
            notes.append(f"tender.lots[{seen[key]}] and tender.lots[{k}] have the same id {key!r}: the lots are not "
                         "described, the contract is advised on its total value")
            return None
        seen[key] = k
        entry: dict[str, Any] = {"id": str(lot_id), "value": amount}
        if lot_cpv.get(str(lot_id)):
            entry["cpv"] = lot_cpv[str(lot_id)]
        out.append(entry)
    if abs(sum(x["value"] for x in out) - total) > 1:
        notes.append("the lots' values do not add up to tender.value: the lots are not described, the contract is "
                      "advised on tender.value")
        return None
    return out


def _codes(value: Any) -> tuple[str, ...]:
    """A codelist field as codes: a list of them, or one code given as text; anything else written as text."""
    if value is None or value == "" or value == []:
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(x if isinstance(x, str) else json.dumps(x, sort_keys=True, default=str) for x in items)


def _letters(code: Any) -> str:
    """A code as its letters, lower-cased: the spellings of one code alike (shelteredWorkshop, SHELTERED_WORKSHOP;
    NATIONAL_AGENCY, nationalAgency)."""
    return re.sub(r"[^a-z]", "", str(code).lower())


def _reservation(tender: Mapping[str, Any], lots: list[dict[str, Any]], notes: list[str]) -> str | None:
    codes = _dict(tender.get("otherRequirements")).get("reservedParticipation")
    where = "tender.otherRequirements.reservedParticipation"
    if not codes:
        per_lot = {_codes(_dict(lot.get("otherRequirements")).get("reservedParticipation")) for lot in lots}
        if len(per_lot) == 1 and lots:
            codes, where = list(per_lot.pop()), "the lots' otherRequirements.reservedParticipation"
        elif len(per_lot) > 1:
            notes.append(f"{LOTS_RESERVED_DIFFERENTLY}: no reservation is described, and the review's summary does "
                         "not count the contract among those that could be reserved but are not")
            return None
    if isinstance(codes, str):
        codes = [codes]
    if not isinstance(codes, list):
        return None
    found = []
    for code in codes:
        key = _letters(code)
        if key in RESERVATIONS:
            found.append(RESERVATIONS[key])
        elif key in NOT_SECTION_16:
            notes.append(f"{where} {code!r} (SMEs and VCSEs) is not a Section 16 reservation: reservation none")
        else:
            notes.append(f"{where} {code!r} is not a reservation s16advisor knows: ignored")
    found = list(dict.fromkeys(found))
    if len(found) > 1:
        notes.append(f"{where} names both reservations: {found[0]} is described")
    return found[0] if found else None


def _route(tender: Mapping[str, Any], notes: list[str]) -> str | None:
    details = _text(tender.get("procurementMethodDetails"))
    if not details:
        return None
    words = " ".join(re.sub(r"[^a-z]+", " ", details.lower()).split())  # "Light-touch" -> "light touch"
    for rx, route in _ROUTE_RX:
        if rx.search(words):
            return route
    notes.append(f"tender.procurementMethodDetails {details!r} is not a route s16advisor knows: no declared route")
    return None


def _legal_basis(tender: Mapping[str, Any], start: str, problems: list[str]) -> None:
    """A notice whose legal basis (``tender.legalBasis``) is not the regime of its date: the date is not the
    procurement's commencement (a later notice of a procurement commenced under PCR 2015), or the regime is one
    s16advisor does not encode (the Provider Selection Regime)."""
    basis = _dict(tender.get("legalBasis"))
    key = (_text(basis.get("scheme")).upper(), _text(basis.get("id")).upper())
    if key in UNENCODED_BASES:
        problems.append(f"tender.legalBasis is {UNENCODED_BASES[key]} ({key[0]} {key[1]}), which s16advisor does not "
                        "encode")
        return
    named = LEGAL_BASES.get(key)
    if named is None:
        return
    act = key[0] == "UKPGA"
    if act != (start >= ACT_GO_LIVE):
        problems.append(f"tender.legalBasis is {named} ({key[0]} {key[1]}), but procurement_start {start} falls "
                        f"{'before' if act else 'on or after'} {ACT_GO_LIVE}, the Act's go-live: that date is not "
                        "when the procurement commenced (give the tender notice's date as tender.datePublished)")


def _authority_type(release: Mapping[str, Any], options: OcdsOptions, notes: list[str]) -> tuple[str, str]:
    """The buyer's own classification (UK_CA_TYPE, TED_CA_TYPE), else ``--ocds-authority-type``; and which gave it
    (the scheme, or "option")."""
    for c in _list(_dict(_buyer(release).get("details")).get("classifications")):
        if not isinstance(c, dict):
            continue
        key = (_text(c.get("scheme")).upper(), _letters(c.get("id", "")))
        if key[0] == "TED_CA_TYPE":
            key = (key[0], TED_CA_TYPE_LABELS.get(key[1], key[1]))
        found = AUTHORITY_TYPES.get(key)
        if found is not None:
            if key[1] == "nationalagency":
                notes.append(NATIONAL_AGENCY_NOTE)
            return found, key[0]
    return options.authority_type, "option"


def _buyer(release: Mapping[str, Any]) -> dict[str, Any]:
    """The buyer's party (the one ``buyer.id`` names, or the first with the role buyer)."""
    buyer = _dict(release.get("buyer"))
    parties = [p for p in _list(release.get("parties")) if isinstance(p, dict)]
    for p in parties:
        if buyer.get("id") is not None and p.get("id") == buyer.get("id"):
            return p
    for p in parties:
        if "buyer" in _codes(p.get("roles")):
            return p
    return buyer


def _buyer_name(release: Mapping[str, Any]) -> str:
    return _text(_dict(release.get("buyer")).get("name")) or _text(_buyer(release).get("name"))


LOTS_RESERVED_DIFFERENTLY = "the lots are reserved differently"  # the note's start (the summary reads it)
PROCUREMENT_STOPPED = "the procurement ended without award"  # likewise
NATION_ASSUMED = "the buyer's address does not say which nation"  # the note's start (the review summary counts them)


def _address_nation(address: Mapping[str, Any]) -> str | None:
    """The nation an OCDS Address names: by its region (NUTS, ITL, or a nation's name), else its country name."""
    region = _text(address.get("region")).upper().replace(" ", "")
    nation = NATIONS_BY_REGION.get(region[:3]) if region[:2] in ("UK", "TL") else None
    if nation is None and region[:2] in ("UK", "TL") and len(region) >= 3 and region[2] in "CDEFGHIJK":
        nation = "england"
    for name in (region, address.get("countryName")):
        if nation is None and isinstance(name, str):
            nation = NATIONS_BY_NAME.get(" ".join(name.lower().split()))
    return nation


def _delivery_nation(release: Mapping[str, Any]) -> str | None:
    """The one nation the tender's items are delivered in (``items[].deliveryAddresses``), if they name one."""
    found = {_address_nation(a) for item in _list(_dict(release.get("tender")).get("items")) if isinstance(item, dict)
             for a in [*_list(item.get("deliveryAddresses")), item.get("deliveryAddress")] if isinstance(a, dict)}
    found.discard(None)
    return found.pop() if len(found) == 1 else None


def _nation(release: Mapping[str, Any], authority_type: str, given_by: str, options: OcdsOptions,
            notes: list[str], problems: list[str]) -> str:
    nation = _address_nation(_dict(_buyer(release).get("address")))
    if nation == "wales" and authority_type == "central_government" and given_by != "option":
        notes.append(f"the buyer, in Wales, classifies itself as central government ({given_by}): right for a UK "
                     "government body there (the DVLA, say), but the Welsh Government, Welsh councils and NHS "
                     "Wales bodies are sub-central, whose thresholds are higher")
    if nation == "scotland" and authority_type == "central_government" and given_by == "UK_CA_TYPE":
        # A UK government body in Scotland, as its Procurement Act notice classifies it (UK_CA_TYPE): the Act
        # applies to it, as to one in England. (TED_CA_TYPE MINISTRY is also the Scottish Government's.)
        notes.append("the buyer is a central government body in Scotland: advised as a UK-wide authority (nation "
                     "england: no rule for Wales or Northern Ireland applies)")
        return "england"
    if nation == "scotland":
        problems.append("the buyer is in Scotland, where the Procurement Act 2023 and PCR 2015 do not apply to "
                        "devolved Scottish authorities (a UK government body there: classify it as "
                        "UK_CA_TYPE publicAuthorityCentralGovernment)")
        return options.nation
    if nation is None:
        delivered = _delivery_nation(release)
        if delivered is not None and delivered != "scotland":
            notes.append(f"{NATION_ASSUMED}: {delivered}, where the items are delivered (deliveryAddresses)")
            return delivered
        notes.append(f"{NATION_ASSUMED}: {options.nation} assumed")
        return options.nation
    return nation
