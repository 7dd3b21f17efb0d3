"""``check``: the CI gate. Each draft is a contract description whose ``route`` and ``reservation`` are what it
declares; a draft fails when its advice has an error finding that no valid waiver covers (or, strictly, a warning).

A draft that cannot be read or validated is a result with its error, never an exception: the other drafts are
still checked and reported.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .advice import Advice
from .advisor import Advisor, default_advisor
from .contract import RESERVATION_ROUTES, ContractDescription, contract_from_document, locate
from .errors import InputError, S16Error
from .facts import uk_today
from .yamlio import Document, file_key, load_document, os_error_words

DRAFT_SUFFIXES = (".yaml", ".yml", ".json")

# The input field each blocker is about, so that a check points at the line to change.
BLOCKER_FIELDS = {
    "duration_over_limit": "duration_months",
    "cpv_not_reservable": "cpv",
    "not_light_touch": "cpv",
    "below_threshold": "value.amount",
    "at_or_above_threshold": "value.amount",
    "no_lots": "lots",
    "lot_over_small_lot_value": "lots",
    "small_lots_over_20_percent": "lots",
    "solution_available_on_market": "innovation.solution_available_on_market",
    "not_innovative": "innovation",
    "not_in_regime": "procurement_start",
}

Status = Literal["passed", "failed", "error"]


@dataclass
class Related:
    """A blocker behind a finding, at the line of the field it is about."""

    code: str
    message: str
    line: int | None
    field: str


@dataclass
class CheckFinding:
    code: str
    severity: Literal["error", "warning", "info"]
    message: str
    reference: str
    line: int | None
    field: str | None
    waived: bool = False
    waiver_reason: str | None = None
    related: list[Related] = field(default_factory=list)


@dataclass
class DraftResult:
    path: str
    status: Status
    findings: list[CheckFinding] = field(default_factory=list)
    advice: Advice | None = None
    error: str | None = None  # why the draft could not be read or validated (one line per problem)
    error_line: int | None = None

    @property
    def errors(self) -> list[CheckFinding]:
        return [f for f in self.findings if f.severity == "error" and not f.waived]

    @property
    def warnings(self) -> list[CheckFinding]:
        return [f for f in self.findings if f.severity == "warning" and not f.waived]

    @property
    def waived(self) -> list[CheckFinding]:
        return [f for f in self.findings if f.waived]


@dataclass
class CheckReport:
    results: list[DraftResult]
    strict: bool

    @property
    def counts(self) -> dict[str, int]:
        r = self.results
        return {
            "drafts": len(r),
            "passed": sum(x.status == "passed" for x in r),
            "failed": sum(x.status == "failed" for x in r),
            "unreadable": sum(x.status == "error" for x in r),
            "errors": sum(len(x.errors) for x in r),
            "warnings": sum(len(x.warnings) for x in r),
            "waived": sum(len(x.waived) for x in r),
        }

    def summary(self) -> str:
        c = self.counts
        parts = [f"{c['drafts']} draft{'s' if c['drafts'] != 1 else ''}", f"{c['passed']} passed",
                 f"{c['failed']} failed"]
        if c["unreadable"]:
            parts.append(f"{c['unreadable']} unreadable")
        parts += [f"{c['warnings']} warning{'s' if c['warnings'] != 1 else ''}", f"{c['waived']} waived"]
        return ", ".join(parts)

    @property
    def exit_code(self) -> int:
        if any(x.status == "error" for x in self.results):
            return 3
        if any(x.status == "failed" for x in self.results):
            return 1
        return 0


class NoDrafts(S16Error):
    """A path or pattern named no draft at all (a usage error)."""


def expand(paths: Iterable[str]) -> Iterator[str]:
    """Files as given, directories walked for *.yaml/*.yml/*.json (sorted; hidden files and folders skipped),
    globs expanded (sorted).

    A path that does not exist and matches nothing is still yielded, so that it is reported as unreadable; so is
    a folder that cannot be listed.
    """
    for path, _ in _expanded(paths):
        yield path


def _expanded(paths: Iterable[str]) -> Iterator[tuple[str, OSError | None]]:
    """``expand``'s paths, each with the error that kept it from being listed if it is a folder that could not
    be."""
    seen: set[str] = set()
    for p in paths:
        unreadable: list[OSError] = []  # folders that cannot be listed: each is reported as a draft not read
        if p == "-":
            candidates = ["-"]
        elif os.path.isdir(p):
            candidates = _walk(p, unreadable) + [str(e.filename) for e in unreadable]
            if not candidates:
                raise NoDrafts(f"{p}: no draft (*.yaml, *.yml, *.json) in this folder")
        elif not os.path.exists(p) and glob.has_magic(p):
            # as the shell would give them: each file the pattern matches (a link to nothing too, reported as
            # unreadable), and each folder walked as a folder named
            candidates = []
            for match in sorted(glob.glob(p, recursive=True)):
                if os.path.isdir(match):
                    candidates += _walk(match, unreadable)
                elif os.path.isfile(match) or (_draft_file(match) and Path(match).suffix in DRAFT_SUFFIXES):
                    candidates.append(match)  # (not a path '**' made round a link loop: lp/self/self/...)
            candidates += [str(e.filename) for e in unreadable]
            if not candidates:
                raise NoDrafts(f"{p}: no draft matches this pattern")
        else:
            candidates = [p]
        errors = {str(e.filename): e for e in unreadable}
        for c in candidates:
            key = file_key(c)  # (drafts/a.yaml and ./drafts/a.yaml are one draft)
            if key not in seen:
                seen.add(key)
                yield c, errors.get(c)


def _walk(top: str, unreadable: list[OSError]) -> list[str]:
    """The drafts in a folder and its subfolders (sorted), linked folders included, each folder once (a link back
    to a folder above is not a loop); the folders that cannot be listed are added to ``unreadable``."""
    found: list[str] = []
    walked: set[tuple[int, int]] = set()
    for folder, subfolders, files in os.walk(top, onerror=unreadable.append, followlinks=True):
        try:
            st = os.stat(folder)
        except OSError as e:
            unreadable.append(e)
            subfolders[:] = []
            continue
        if (st.st_dev, st.st_ino) in walked:
            subfolders[:] = []
            continue
        walked.add((st.st_dev, st.st_ino))
        # hidden folders and files (.github/, .pre-commit-config.yaml) are not drafts: name them to check
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        found += [str(Path(folder, f)) for f in files  # (as pathlib writes it: drafts/a.yaml, L/../a.yaml)
                  if Path(f).suffix in DRAFT_SUFFIXES and not f.startswith(".")
                  and _draft_file(os.path.join(folder, f))]
    return sorted(found)


def _draft_file(path: str) -> bool:
    """A file to check in a folder: a regular file, or a symbolic link to nothing (reported as unreadable)."""
    return os.path.isfile(path) or (os.path.islink(path) and not os.path.exists(path))


def _line(doc: Document, dotted: str | None) -> int | None:
    if not dotted:
        return doc.line_of(())
    path: tuple[str | int, ...] = tuple(dotted.split("."))
    return doc.line_of(path)


def _related(doc: Document, advice: Advice, route_id: str) -> list[Related]:
    out = []
    for b in advice.route(route_id).blocked_by:
        f = BLOCKER_FIELDS.get(b.code, "route")
        item = _item_named(doc, f, b.message)
        if item is not None:  # the CPV code or the lot the blocker names: its own line (a pull request's diff)
            out.append(Related(b.code, b.message, doc.line_of((f, item)), f"{f}[{item}]"))
        else:
            out.append(Related(b.code, b.message, _line(doc, f), f))
    return out


def _item_named(doc: Document, field: str, message: str) -> int | None:
    """The index of the first of the draft's CPV codes (``field`` cpv) or lots (lots: "Lot b (...") that a
    blocker's message names, if any."""
    items = doc.data.get(field) if isinstance(doc.data, dict) else None
    if field not in ("cpv", "lots") or not isinstance(items, list):
        return None
    for i, item in enumerate(items):
        if field == "cpv" and isinstance(item, str | int) and not isinstance(item, bool):
            code = str(item).strip()
            if code and re.search(rf"(?<![0-9-]){re.escape(code)}(?![0-9-])", message):
                return i
        elif field == "lots" and isinstance(item, dict) and isinstance(item.get("id"), str):
            if f"Lot {item['id']} (" in message:
                return i
    return None


def check_document(doc: Document, *, advisor: Advisor | None = None, today: dt.date | None = None,
                   strict: bool = False) -> DraftResult:
    advisor = advisor or default_advisor()
    today = today or uk_today()  # (a waiver expires on the UK's day, whatever the machine's time zone)
    try:
        contract = contract_from_document(doc)
    except S16Error as e:
        return _unreadable(doc.source, e)
    try:
        advice = advisor.advise(contract)
    except InputError as e:  # found after validation (a date no regime covers): at the field's line, as advise says
        return _unreadable(doc.source, locate(e, doc))
    except S16Error as e:
        return _unreadable(doc.source, e)
    findings: list[CheckFinding] = []
    for f in advice.findings:
        cf = CheckFinding(f.code, f.severity, f.message, f.reference, _line(doc, f.field), f.field)
        if f.code == "declared_route_unavailable" and contract.route:
            cf.related = _related(doc, advice, contract.route)
        elif f.code == "reservation_unavailable" and contract.reservation.value in RESERVATION_ROUTES:
            cf.related = _related(doc, advice, RESERVATION_ROUTES[contract.reservation.value])
        findings.append(cf)
    findings += _apply_waivers(doc, contract, findings, today)
    failing = [f for f in findings if not f.waived and (f.severity == "error" or (strict and f.severity == "warning"))]
    return DraftResult(doc.source, "failed" if failing else "passed", findings, advice)


def _apply_waivers(doc: Document, contract: ContractDescription, findings: list[CheckFinding],
                   today: dt.date) -> list[CheckFinding]:
    """Mark the findings a current waiver covers; return a ``waiver_expired`` finding for each expired one."""
    expired: list[CheckFinding] = []
    for i, w in enumerate(contract.waivers):
        if w.expires is not None and w.expires < today:
            expired.append(CheckFinding(
                "waiver_expired", "warning",
                f"The waiver of {w.code} expired on {w.expires.isoformat()} and no longer applies: renew it with a "
                "new expiry date or resolve the finding.",
                "README.md#waivers", doc.line_of(("waivers", i)), f"waivers[{i}]"))
            continue
        for f in findings:
            if f.code == w.code and not f.waived:
                f.waived, f.waiver_reason = True, w.reason
    return expired


def _unreadable(source: str, e: Exception) -> DraftResult:
    lines = e.lines() if hasattr(e, "lines") else str(e).splitlines()  # InputError keeps one line per problem
    first = lines[0] if lines else str(e)
    line = None
    rest = first[len(source) + 1:] if first.startswith(source + ":") else ""
    if rest.split(":", 1)[0].isdigit():
        line = int(rest.split(":", 1)[0])
    return DraftResult(source, "error", error="\n".join(lines), error_line=line)


def check_paths(paths: Iterable[str], *, strict: bool = False, today: dt.date | None = None,
                advisor: Advisor | None = None) -> CheckReport:
    """Check every draft the paths name (see ``expand``)."""
    advisor = advisor or default_advisor()  # (rules or data that do not load: one RulebookError, not one a draft)
    results = []
    for path, unlisted in _expanded(paths):
        if unlisted is not None:  # a folder that could not be listed
            results.append(DraftResult(path, "error", error=f"{path}: cannot be read: {os_error_words(unlisted)}"))
            continue
        try:
            doc = load_document(path)
        except S16Error as e:
            results.append(_unreadable(path if path != "-" else "<stdin>", e))
            continue
        try:
            results.append(check_document(doc, advisor=advisor, today=today, strict=strict))
        except Exception as e:  # a bug must not hide the other drafts' results: it is this draft's error
            results.append(DraftResult(doc.source, "error", error=f"{doc.source}: internal error: "
                                                                 f"{type(e).__name__}: {e}"))
    return CheckReport(results, strict)
