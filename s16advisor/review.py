"""Batch review: many contracts in (CSV, JSON Lines, YAML, OCDS), one result per record out, in input order.

Three layers, each usable alone:

* ``read_records(paths)`` reads files lazily into ``Record`` items: a record's source position (file and
  line, row, document or index) and what it holds (a JSON line still to parse, a CSV row, a parsed object, or
  the reason it could not be read). Nothing is held beyond the record being read: a 10 GB JSON Lines file is
  read line by line. Unreadable records are items too, never exceptions, so records in = results out.
* ``review(records)`` advises on each record and yields a ``ReviewResult`` per record, in order: the Advice v1
  JSON dict or the error. With ``jobs`` > 1 the records are advised by worker processes (the durable-rules
  library is not thread-safe: processes, never threads), each with its own Advisor, in chunks, with at most
  a few chunks in flight (ordered, bounded: memory stays flat however long the input is).
* ``review_to_file(paths, output, fmt)`` is what ``s16advisor review`` runs: the same pipeline, with workers
  sending back each chunk formatted (JSON Lines, JSON or CSV bytes) with its figures, written as they arrive to
  a temporary file beside the output, renamed over it only when every record is written. It returns a
  ``ReviewSummary``.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import json
import operator
import os
import re
import shutil
import stat
import sys
import weakref
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import islice
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from types import MappingProxyType
from typing import IO, Any, NamedTuple

from .advisor import SHAPES_KEPT, default_advisor
from .atomic import atomic_output, replaced_input
from .contract import ROUTE_IDS, ContractDescription, contract_from_document, locate, unplanned_reservations
from .errors import InputError, S16Error, check_choice, not_a_text_encoding
from .ocds import (
    LOTS_RESERVED_DIFFERENTLY,
    NATION_ASSUMED,
    PROCUREMENT_STOPPED,
    OcdsOptions,
    kind_of,
    package_items,
    record_to_contract,
    release_to_contract,
    slim_record,
)
from .yamlio import MAX_DEPTH, Document, block_list_starts, file_key, os_error_words, parse_text

OUTPUT_FORMATS: tuple[str, ...] = ("jsonl", "csv", "json")
Paths = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]  # one input path, or several
INPUT_FORMATS: tuple[str, ...] = ("auto", "csv", "jsonl", "yaml", "json")
INPUT_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".jsonlines": "jsonl", ".json": "json",
                  ".yaml": "yaml", ".yml": "yaml"}

MAX_LINE_BYTES = 10 * 1024 * 1024  # one JSON line, one YAML document
MAX_JSON_BYTES = 512 * 1024 * 1024  # a whole .json file (an OCDS package is one JSON document)
CHUNK_SIZE = 500  # records per task sent to a worker (each chunk costs the review process ~0.6 ms of CPU)
MAX_JOBS = 256  # worker processes a review starts at most (each a process with the rulebook compiled: tens of MiB)


# The CSV input: one column per field of the contract description v1, named by its path.
CSV_INPUT_COLUMNS: dict[str, str] = {
    "id": "text",
    "title": "text",
    "authority.name": "text",
    "authority.type": "text",
    "authority.nation": "text",
    "procurement_start": "text",
    "contract_type": "text",
    "value.amount": "number",
    "value.vat": "text",
    "value.vat_rate": "number",
    "duration_months": "integer",
    "cpv": "list",
    "lots": "lots",
    "reservation": "text",
    "route": "text",
    "innovation.solution_available_on_market": "bool_or_unknown",
    "innovation.research_and_development": "bool",
    "prior_reserved_awards": "json",
    "reasons_for_not_lotting": "text",
    "objectives": "list",
    "waivers": "json",
}
# The CSV output: the advice in columns (one per route: its status).
CSV_ADVICE_COLUMNS = ("procurement_start", "authority_type", "nation", "regime", "value", "vat_basis", "threshold",
                      "threshold_amount", "above_threshold", "recommended", *ROUTE_IDS, "blockers", "findings")
CSV_OUTPUT_COLUMNS = ("id", "source", *CSV_ADVICE_COLUMNS, "error", "notes")


# ------------------------------------------------------------------------------------------ records and results


class Source(NamedTuple):
    """Where a record came from: the file (``<stdin>`` for standard input, ``<records>`` for Python objects) and,
    as far as they apply, the 1-based line, the 1-based CSV row (the header is row 1), the 1-based YAML document,
    the 0-based index in a list, the OCDS array element (``releases[3]``) and the OCDS ocid."""

    file: str
    line: int | None = None
    row: int | None = None
    document: int | None = None
    index: int | None = None
    path: str | None = None
    ocid: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in zip(self._fields, self, strict=True) if v is not None}

    def __str__(self) -> str:
        s = self.file
        if self.row is not None:
            s += f":row {self.row}"
        elif self.line is not None:
            s += f":{self.line}"
        extra = []
        if self.document is not None:
            extra.append(f"document {self.document}")
        if self.index is not None:  # (with a path too: the package's place in a list, so that two are told apart)
            extra.append(f"[{self.index}]")
        if self.path is not None:
            extra.append(self.path)
        if self.ocid:
            extra.append(self.ocid)
        return f"{s} {' '.join(extra)}" if extra else s


class Record(NamedTuple):
    """One input record, not yet advised. ``kind`` says what ``payload`` is:

    ``json``: the bytes of a JSON line (parsed by the worker); ``obj``: a parsed mapping (a contract description
    or an OCDS release or record; ``extra`` holds the YAML line numbers); ``csv``: a row's cells (``extra`` the
    file's header); ``contract``: a ContractDescription; ``error``: why the record could not be read (``extra``
    ``_UNOPENED`` or ``_STOPPED`` when it stands for an input that failed, not for a record of it).
    """

    source: Source
    kind: str
    payload: Any
    extra: Any = None


@dataclass(slots=True)
class ReviewResult:
    """One record's result: its id (when it has one) and either its Advice v1 JSON dict or the error. ``notes``
    are the assumptions made reading it (the OCDS mapping's; a CSV row's missing last cells)."""

    source: Source
    id: str | None
    advice: dict[str, Any] | None = None
    error: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json_dict(self) -> dict[str, Any]:
        """The result as written to JSON Lines: an Advice v1 object (spec/advice.md: "batch JSONL output is one
        Advice per line, or an error record") with the record's ``source`` and ``id`` in front, or the error."""
        d: dict[str, Any] = {"source": self.source.to_dict(), "id": self.id}
        if self.error is None:
            d.update(self.advice or {})
        else:
            d["error"] = self.error
        if self.notes:
            d["notes"] = list(self.notes)
        return d


class Stats(NamedTuple):
    """What the summary needs of one advised record (computed where the advice is, sent back compactly)."""

    regime: str
    value: float
    recommended: tuple[str, ...]
    declared_route: str | None
    declared_route_unavailable: bool
    reservation: str | None
    reservation_unavailable: bool  # the advice has a reservation_unavailable finding (an error): it refuses it
    reservable_psm: bool  # reserved_public_service_mutual available (lawful), and no reservation planned
    reservable_sb: bool  # reserved_supported_business available, and no reservation planned
    wales: bool  # a Welsh authority's contract (the Section 16 duty is Welsh)
    error_findings: bool
    warning_findings: bool
    nation_assumed: bool  # an OCDS buyer whose address does not say which nation (--ocds-nation assumed)


# What a worker sends back per record: (id, error, output, stats, notes); output is the Advice as the run needs it.
Out = tuple[str | None, str | None, Any, Stats | None, tuple[str, ...]]


# ------------------------------------------------------------------------------------------------ the summary


@dataclass
class Total:
    count: int = 0
    value: float = 0.0

    def add(self, value: float) -> None:
        self.count += 1
        self.value += value


@dataclass
class Duplicates:
    """Ids used by more than one record: how many ids, how many records beyond the first of each, and the first
    ``examples`` with their sources."""

    ids: int = 0
    records: int = 0
    examples: list[tuple[str, list[str]]] = field(default_factory=list)
    unchecked: str | None = None  # why the ids could not be checked (their temporary files could not be written)


@dataclass
class ReviewSummary:
    """The figures of a review, as plain data (rendered by ``render.review``).

    Values are totals of each contract's value as compared with its threshold (``valuation.value``: inclusive
    of VAT from 2022, net before).
    """

    records: int = 0  # results: one per record read, and one per input that could not be opened or read on
    read: int = 0  # records read
    unopened: int = 0  # inputs that could not be opened (a missing file, a folder): an error result each, no record
    stopped: int = 0  # inputs whose reading stopped part-way (an I/O error): an error result each for the rest
    advised: int = 0
    errors: int = 0  # results that are errors: records not read, mapped or validated, and inputs that failed
    with_error_findings: int = 0
    with_warning_findings: int = 0
    blank: int = 0  # blank lines and empty documents skipped (not records)
    nation_assumed: int = 0  # advised OCDS records whose buyer's nation was assumed (--ocds-nation)
    by_regime: dict[str, int] = field(default_factory=dict)
    by_route: dict[str, Total] = field(default_factory=dict)  # per route of the recommended plans
    no_route: int = 0  # advised records with an empty plan
    declared_unavailable: dict[str, int] = field(default_factory=dict)  # declared route -> records
    # Declared reservation -> records whose advice refuses it (a reservation_unavailable finding): its route is
    # unavailable, or (under the Act) it is declared with the open procedure, where the route itself is available.
    reservation_unavailable: dict[str, int] = field(default_factory=dict)
    # Contracts that could be reserved but do not plan it: to each class, to either, and to either in Wales
    # (where the Section 16 duty applies).
    reservable: dict[str, Total] = field(default_factory=lambda: {
        "public_service_mutual": Total(), "supported_business": Total(), "either": Total(), "either_wales": Total()})
    duplicates: Duplicates = field(default_factory=Duplicates)
    warnings: list[str] = field(default_factory=list)  # about the inputs (unknown CSV columns ignored)

    def add(self, stats: Stats | None) -> None:
        """Count one record: advised (``stats``) or not (``None``)."""
        self.records += 1
        if stats is None:
            self.errors += 1
            return
        self.advised += 1
        regime, value = stats.regime, stats.value
        self.by_regime[regime] = self.by_regime.get(regime, 0) + 1
        if stats.recommended:
            for route in stats.recommended:
                total = self.by_route.get(route)
                if total is None:
                    total = self.by_route[route] = Total()
                total.add(value)
        else:
            self.no_route += 1
        if stats.declared_route_unavailable and stats.declared_route:
            r = stats.declared_route
            self.declared_unavailable[r] = self.declared_unavailable.get(r, 0) + 1
        if stats.reservation_unavailable and stats.reservation:
            r = stats.reservation
            self.reservation_unavailable[r] = self.reservation_unavailable.get(r, 0) + 1
        if stats.reservable_psm:
            self.reservable["public_service_mutual"].add(value)
        if stats.reservable_sb:
            self.reservable["supported_business"].add(value)
        if stats.reservable_psm or stats.reservable_sb:
            self.reservable["either"].add(value)
            if stats.wales:
                self.reservable["either_wales"].add(value)
        self.with_error_findings += stats.error_findings
        self.with_warning_findings += stats.warning_findings
        self.nation_assumed += stats.nation_assumed

    def merge(self, other: ReviewSummary) -> None:
        """Add the figures of another part of the same review (a worker's chunk)."""
        self.records += other.records
        self.advised += other.advised
        self.errors += other.errors
        self.with_error_findings += other.with_error_findings
        self.with_warning_findings += other.with_warning_findings
        self.no_route += other.no_route
        self.nation_assumed += other.nation_assumed
        for mine, theirs in ((self.by_regime, other.by_regime), (self.declared_unavailable, other.declared_unavailable),
                             (self.reservation_unavailable, other.reservation_unavailable)):
            for k, n in theirs.items():
                mine[k] = mine.get(k, 0) + n
        for totals, more in ((self.by_route, other.by_route), (self.reservable, other.reservable)):
            for k, t in more.items():
                mine_t = totals.setdefault(k, Total())
                mine_t.count += t.count
                mine_t.value += t.value

    def take_counts(self, reader: Reader) -> None:
        """What ``reader`` counted once it is read: records read, inputs that failed, blank lines, warnings."""
        self.read, self.unopened, self.stopped = reader.records, reader.unopened, reader.stopped
        self.blank = reader.blank
        self.warnings = list(reader.warnings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records, "read": self.read, "unopened": self.unopened, "stopped": self.stopped,
            "advised": self.advised, "errors": self.errors,
            "with_error_findings": self.with_error_findings, "with_warning_findings": self.with_warning_findings,
            "blank": self.blank, "nation_assumed": self.nation_assumed, "by_regime": dict(self.by_regime),
            "by_route": {k: {"count": v.count, "value": v.value} for k, v in self.by_route.items()},
            "no_route": self.no_route, "declared_unavailable": dict(self.declared_unavailable),
            "reservation_unavailable": dict(self.reservation_unavailable),
            "reservable": {k: {"count": v.count, "value": v.value} for k, v in self.reservable.items()},
            "duplicates": {"ids": self.duplicates.ids, "records": self.duplicates.records,
                           "examples": [{"id": i, "sources": s} for i, s in self.duplicates.examples],
                           "unchecked": self.duplicates.unchecked},
            "warnings": list(self.warnings),
        }

    def exit_code(self, fail_on: str = "none") -> int:
        """3 when a result is an error (a record not read, mapped or validated, or an input not opened or read to
        its end), 1 when ``fail_on`` is error (warning) and an advice has an error (or warning) finding, else 0."""
        if self.errors:
            return 3
        if fail_on == "error" and self.with_error_findings:
            return 1
        if fail_on == "warning" and (self.with_error_findings or self.with_warning_findings):
            return 1
        return 0


class _DuplicateIds:
    """Finds ids used more than once with memory that does not grow with the input: each record's (number, id,
    source) line goes to one of a few temporary bucket files by the id's CRC-32 (workers prepare the lines), and
    each bucket, small, is grouped at the end."""

    BUCKETS = 64

    def __init__(self, examples: int = 10):
        import tempfile

        # Found now, before records flow: the first gettempdir() of a process probes the folder with a file of
        # its own, which an interrupt at the wrong moment leaves behind.
        self.base = tempfile.gettempdir()
        self.dir: str | None = None
        self._remove: weakref.finalize[Any, Any] | None = None
        self.files: list[IO[str]] = []
        self.examples = examples
        self.unchecked: str | None = None  # set when the bucket files fail: the ids go unchecked, the run goes on

    class Lines(dict[int, list[str]]):
        """Lines of the buckets' files, for ``add`` once joined."""

        def note(self, n: int, id_json: str, label: str) -> None:
            """Record ``n`` (id ``id_json``, as JSON) as a line of its bucket's file."""
            bucket = zlib.crc32(id_json.encode()) % _DuplicateIds.BUCKETS
            self.setdefault(bucket, []).append(f"{n}\t{id_json}\t{json.dumps(label)}\n")

        def joined(self) -> dict[int, str]:
            return {b: "".join(lines) for b, lines in self.items()}

    def add(self, blocks: dict[int, str]) -> None:
        if self.unchecked is not None:
            return
        try:
            if not self.files:
                self.dir, self._remove = self._make_dir()
                for i in range(self.BUCKETS):
                    self.files.append(open(os.path.join(self.dir, str(i)), "w+", encoding="utf-8",  # noqa: SIM115
                                           errors="surrogatepass"))
            for bucket, text in blocks.items():
                self.files[bucket].write(text)
        except OSError as e:  # (a full or unusable temporary folder: not the output's failure)
            self._give_up(e)

    def _give_up(self, e: OSError) -> None:
        self.unchecked = f"cannot write temporary files in {self.base}: {os_error_words(e)}"
        with suppress(OSError):
            self.close()

    def _make_dir(self) -> tuple[str, weakref.finalize[Any, Any]]:
        return _private_dir(self, self.base, "s16advisor-ids-")

    def report(self) -> Duplicates:
        """Two passes per bucket (so that memory stays flat): the hashes of the ids seen, then the lines of the ids
        whose hash was seen twice. Unchecked (and why) if the bucket files could not be written or read back."""
        if self.unchecked is None:
            try:
                return self._report()
            except OSError as e:
                self._give_up(e)
        return Duplicates(unchecked=self.unchecked)

    def _report(self) -> Duplicates:
        out = Duplicates()
        best: list[tuple[int, str, list[str]]] = []  # the examples: the duplicated ids that came first
        for f in self.files:
            f.seek(0)
            seen: set[int] = set()
            twice: set[int] = set()
            for line in f:
                h = hash(line.split("\t", 2)[1])
                (twice if h in seen else seen).add(h)
            del seen
            if not twice:
                continue
            f.seek(0)
            local: dict[str, list[Any]] = {}  # id -> [first record number, up to 5 sources, records]
            for line in f:
                n, rid, src = line.rstrip("\n").split("\t", 2)
                if hash(rid) not in twice:
                    continue
                entry = local.get(rid)
                if entry is None:
                    local[rid] = [int(n), [src], 1]
                else:
                    entry[2] += 1
                    if len(entry[1]) < 5:
                        entry[1].append(src)
            for rid, (n, sources, count) in local.items():
                if count > 1:  # not an id whose hash merely collided with another's
                    out.ids += 1
                    out.records += count - 1
                    best.append((n, rid, sources))
            best = sorted(best)[: self.examples]
        out.examples = [(json.loads(rid), [json.loads(src) for src in sources]) for _, rid, sources in best]
        return out

    def close(self) -> None:
        try:
            for f in self.files:
                f.close()
        finally:
            self.files = []
            if self._remove is not None:
                self._remove()
                self._remove = None
            self.dir = None


_REMOVALS: list[weakref.finalize[Any, Any]] = []  # the private folders' removals not yet done (and a few done)


def remove_private_dirs() -> None:
    """Remove every private folder not yet removed (``os._exit`` runs no finalizer): a run that ends at once."""
    for remove in list(_REMOVALS):
        remove()  # (a removal already done does nothing)


def _private_dir(owner: object, base: str, prefix: str) -> tuple[str, weakref.finalize[Any, Any]]:
    """A new private folder in ``base``, and its removal: when called, or when ``owner`` goes, or at exit. The
    removal is arranged before the folder is made, so that an interrupt (Ctrl-C, SIGTERM) at any moment cannot
    leave it behind (with mkdtemp, one that came just after the folder was made did)."""
    while True:
        path = os.path.join(base, f"{prefix}{os.urandom(6).hex()}")
        remove = weakref.finalize(owner, shutil.rmtree, path, True)  # (no folder yet: nothing to remove)
        _REMOVALS[:] = [*(r for r in _REMOVALS if r.alive), remove]
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            remove.detach()
            continue
        return path, remove


# ------------------------------------------------------------------------------------------------ reading


@dataclass
class ReadOptions:
    input_format: str = "auto"  # auto: by the file's extension, or by its first line (standard input)
    encoding: str = "utf-8"
    ignore_unknown_columns: bool = False  # CSV: ignore (and warn about) columns that are not fields

    def __post_init__(self) -> None:  # (an unknown encoding raised LookupError at the first record)
        check_choice("ReadOptions", "input_format", self.input_format, INPUT_FORMATS)
        _check_encoding("ReadOptions", self.encoding)


def _check_encoding(owner: str, name: str) -> None:
    problem = not_a_text_encoding(name)
    if problem:
        raise ValueError(f"{owner}: encoding {problem}")


# What the reader takes a JSON line holding for an OCDS package ("releases" or "records": see Reader._jsonl), in one
# scan of the line (two scans for the two keys took 0.8 us a line: '"' is in JSON often, where they end)
_PACKAGE_KEY = re.compile(rb'"re(?:leases|cords)"').search
_UNOPENED, _STOPPED = "unopened", "stopped"  # an error Record's extra: an input that failed, not a record of it


class Reader:
    """The records of files (``-`` for standard input), lazily, in order; counts bytes read (for progress),
    blank lines skipped, and collects warnings about the inputs.

    An input that cannot be opened, or whose reading stops part-way, gives one error record more, which is not a
    record of the input: it is counted in ``unopened`` or ``stopped``, not in ``records`` (so that the results
    are ``records + unopened + stopped``)."""

    def __init__(self, paths: Paths, options: ReadOptions | None = None):
        self.given_warnings: list[str] = []  # about the paths given (the inputs' own: read with them)
        self.paths = self._once(_path_list(paths))
        self.options = options or ReadOptions()
        self.line_encoding = _line_encoding(self.options.encoding)  # what the lines are decoded as (_open)
        self.file_encoding = self.options.encoding  # the file being read: what it is in (its byte order mark's
        # encoding, or --encoding) ...
        self.encoding = self.line_encoding  # ... and what its lines are decoded as (_open)
        self.marked = False  # whether that is its byte order mark's, not --encoding's
        self.by_mark = False  # whether its byte order mark decided its encoding (as it does whatever --encoding says)
        self._count_from_0()
        self.bytes_total: int | None = None  # unknown when reading standard input
        if "-" not in self.paths:
            self.bytes_total = sum(os.path.getsize(p) for p in self.paths if os.path.isfile(p))

    def _once(self, paths: Iterable[str]) -> list[str]:
        """The paths, each file once (as ``check`` does): a file given again (``a.csv a.csv``, ``*.csv a.csv``,
        ``./a.csv``) would give each of its records twice, double the totals and report every id as a duplicate
        of itself. Each file given more than once is named in a warning."""
        names: dict[str, list[str]] = {}  # the file (file_key) -> how it was given
        for path in paths:
            names.setdefault(file_key(path), []).append(path)
        for given in names.values():
            if len(given) > 1:
                first = "<stdin> (-)" if given[0] == "-" else given[0]
                also = sorted(set(given[1:]) - {given[0]})
                spelt = f" (as {', '.join(also)})" if also else ""
                self.given_warnings.append(f"{first} given {len(given)} times{spelt}: read once")
        return [given[0] for given in names.values()]

    def _count_from_0(self) -> None:
        self.warnings = list(self.given_warnings)
        self.bytes_read = 0
        self.records = 0  # records read so far
        self.unopened = 0  # inputs that could not be opened
        self.stopped = 0  # inputs whose reading stopped part-way
        self.blank = 0

    def __iter__(self) -> Iterator[Record]:
        self._count_from_0()  # (read again: the files once more, counted once)
        for path in self.paths:
            before, warned = self.records + self.unopened + self.stopped, len(self.warnings)
            for record in self._file(path):
                if record.kind == "error" and record.extra is not None:  # the input itself (_UNOPENED, _STOPPED)
                    if record.extra == _UNOPENED:
                        self.unopened += 1
                    else:
                        self.stopped += 1
                else:
                    self.records += 1
                yield record
            if self.records + self.unopened + self.stopped == before and len(self.warnings) == warned:
                # (an empty file, blank lines, a CSV header alone: a wrong file named, an export that failed)
                self.warnings.append(f"{'<stdin>' if path == '-' else path}: no record in it: nothing to advise")

    def _file(self, path: str) -> Iterator[Record]:
        name = "<stdin>" if path == "-" else path
        try:
            stream, self.file_encoding, by_mark = _open(path, self.options.encoding)
        except OSError as e:
            yield Record(Source(name), "error", f"{name}: cannot be read: {os_error_words(e)}", _UNOPENED)
            return
        self.encoding = _line_encoding(self.file_encoding)
        # (read as its mark says, not as --encoding does; with UTF-8, the default, or utf-8-sig, nothing to say:
        # its lines are decoded as the workers do, a file in UTF-16 or UTF-32 read through UTF-8)
        self.marked = by_mark and codecs.lookup(self.options.encoding).name not in ("utf-8", "utf-8-sig")
        self.by_mark = by_mark
        if self.marked:  # a byte order mark says what the file is (as Excel and editors
            # take it), whatever --encoding says: read so, not garbled ("CafÃ©") or every record an error
            self.warnings.append(f"{name}: begins with a {self.file_encoding.upper()} byte order mark: read as "
                                 f"{self.file_encoding.upper()}, not {self.options.encoding}")
        with stream:
            fmt = self.options.input_format
            try:
                if fmt == "auto":
                    fmt = INPUT_SUFFIXES.get(os.path.splitext(path)[1].lower()) or _sniff(*_first_lines(stream, 2))
                if fmt == "json" and _sniff(_first_line(stream)) == "jsonl":
                    fmt = "jsonl"  # JSON Lines (or one JSON document on one line) in a .json file: streamed
                if fmt == "csv":
                    yield from self._csv(stream, name)
                elif fmt == "jsonl":
                    yield from self._jsonl(stream, name)
                elif fmt == "yaml":
                    yield from self._yaml(stream, name)
                else:
                    yield from self._json(stream, name)
            except OSError as e:  # an I/O error half-way: what was read stands, the rest is one error record
                yield Record(Source(name), "error", f"{name}: reading stopped: {os_error_words(e)}", _STOPPED)
            except UnicodeError as e:  # (a decoder that gives up on a whole stream)
                yield Record(Source(name), "error", f"{name}: reading stopped: not {self.file_encoding} text: {e}",
                             _STOPPED)

    def not_text(self, start: int, where: str = " of the line") -> str:
        """Bytes of the file being read that are not text in its encoding, from ``start``."""
        return _not_text(self.file_encoding, self.encoding, start, where, self.by_mark)

    # JSON Lines: one record per non-blank line; a line holding an OCDS package is expanded here.
    def _jsonl(self, stream: Any, name: str) -> Iterator[Record]:
        # (what is the same for every line of the file, looked up once: this loop is most of the reading's CPU)
        utf8, marked, mark = _is_utf8(self.encoding), self.marked, self.line_mark
        for lineno, line in _numbered_lines(stream, self):
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                self.bytes_read += _skip_line(stream)
                yield Record(Source(name, line=lineno), "error",
                             f"{name}:{lineno}: line longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB")
                continue
            if utf8 and line.startswith(codecs.BOM_UTF8):
                line = line[3:]  # a byte order mark on a later line: files joined by cat, each written with one
            if not line or line.isspace():  # (the whitespace bytes.strip() strips, without a copy of the line)
                self.blank += 1
                continue
            payload: bytes | str = line
            if marked:  # (the workers decode lines as --encoding says: this file's are decoded here)
                try:
                    payload = line.decode(self.encoding)
                except UnicodeDecodeError as e:
                    yield Record(Source(name, line=lineno), "error", f"{name}:{lineno}: {self.not_text(e.start)}")
                    continue
            if _PACKAGE_KEY(line):
                yield from self._maybe_package(payload, Source(name, line=lineno))
                continue
            yield Record(Source(name, lineno), "json", payload, mark)

    @property
    def line_mark(self) -> str | None:
        """A JSON line's ``extra``: _BY_MARK when the file's byte order mark decided the encoding its worker
        decodes it in (--encoding utf-8 or utf-8-sig: the mark's), so that a line not in it is not sent to
        --encoding, which cannot change it."""
        return _BY_MARK if self.by_mark else None

    def _maybe_package(self, line: bytes | str, source: Source) -> Iterator[Record]:
        try:
            obj, zeros = _loads(line if isinstance(line, str) else line.decode(self.encoding))
        except (UnicodeDecodeError, ValueError, RecursionError):
            yield Record(source, "json", line, self.line_mark)  # the worker reports what is wrong with it
            return
        if zeros:
            self.warnings.append(f"{source}: {_zeros_said(zeros)}")
        yield from _objects(obj, source, warn=self.warnings.append)

    def _csv(self, stream: Any, name: str) -> Iterator[Record]:
        encoding = self.encoding
        raw = io.BufferedReader(_Counting(stream, self))
        if _is_utf8(encoding):
            encoding = "utf-8-sig"  # a byte order mark (Excel writes one) is not part of the first column's name
        text = io.TextIOWrapper(raw, encoding=encoding, errors="surrogateescape", newline="")
        if csv.field_size_limit() < MAX_LINE_BYTES:
            csv.field_size_limit(MAX_LINE_BYTES)  # (the default is 128 KiB)
        # (lines read at most a cell's limit at a time: a line of 1 GB, or /dev/zero, was read whole first)
        reader = csv.reader(_bounded_lines(text, MAX_LINE_BYTES), strict=True)  # a malformed row is an error of
        # its own, and reading goes on
        offset = 0  # the lines read by the readers before this one (a line too long ends a reader: see below)
        header: tuple[str, ...] | None = None
        header_info: tuple[tuple[str, ...], frozenset[str], bool, str] | None = None
        header_problem: str | None = None
        row_no = 0
        last_line = 0
        try:
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except _LineTooLong:  # its row is an error, whatever the csv reader made of it so far (a quoted
                    # cell begun on an earlier line, say): a new reader starts on the next line
                    row_no += 1
                    first_line, last_line = last_line + 1, offset + reader.line_num + 1
                    offset = last_line
                    problem = f"a line longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB"
                    if header is None and header_problem is None:
                        header_problem = f"the header row (row {row_no}) is malformed CSV: {problem}"
                    yield Record(Source(name, line=first_line, row=row_no), "error",
                                 f"{name}:row {row_no}: malformed CSV: {problem}")
                    reader = csv.reader(_bounded_lines(text, MAX_LINE_BYTES), strict=True)
                    continue
                except csv.Error as e:
                    row_no += 1
                    line_num = offset + reader.line_num
                    first_line, stuck, last_line = last_line + 1, last_line == line_num, line_num
                    problem = _csv_problem(str(e), first_line, last_line)
                    if header is None and header_problem is None:
                        header_problem = f"the header row (row {row_no}) is malformed CSV: {problem}"
                    yield Record(Source(name, line=first_line, row=row_no), "error",
                                 f"{name}:row {row_no}: malformed CSV: {problem}"
                                 + ("; the rest of the file was not read" if stuck else ""))
                    if stuck:
                        break
                    continue
                row_no += 1
                first_line, last_line = last_line + 1, offset + reader.line_num
                source = Source(name, line=first_line, row=row_no)
                if not any(c.strip() for c in row):
                    self.blank += 1
                    continue
                if header is None and header_problem is None:
                    cells = tuple(c.strip() for c in row)
                    repeated = sorted({c for c in cells if c and cells.count(c) > 1})
                    if not any(c in CSV_INPUT_COLUMNS for c in cells):
                        header_problem = ("no header row: the first row must name the columns (id, title, "
                                          "procurement_start, ...; see the README)")
                    elif repeated:
                        header_problem = f"the header names {', '.join(repeated)} more than once"
                        continue
                    else:
                        header = cells
                        unknown = frozenset(c for c in cells if c and c not in CSV_INPUT_COLUMNS)
                        if unknown and self.options.ignore_unknown_columns:
                            self.warnings.append(f"{name}: unknown columns ignored: {', '.join(sorted(unknown))}")
                        elif unknown:
                            self.warnings.append(f"{name}: unknown columns (every row is an error): "
                                                 f"{', '.join(sorted(unknown))}")
                        # (what a cell that is not text says of the encoding: a file whose mark decided it is
                        # not read as --encoding says, so that option is no help, the default utf-8 given too)
                        said = f"{self.file_encoding}, as its byte order mark says" if self.by_mark else _ENCODING_HINT
                        header_info = (header, unknown, self.options.ignore_unknown_columns, said)
                        continue
                if header_problem is not None:
                    yield Record(source, "error", f"{source}: {header_problem}")
                    continue
                yield Record(source, "csv", row, header_info)
        finally:
            text.detach()

    def _yaml(self, stream: Any, name: str) -> Iterator[Record]:
        """A list of records, or a stream of documents (one record each, or a list of records each), split at
        the ``---`` lines so that a broken document is one error record and the next ones are still read."""
        document = 0
        for first_line, lines, problem in _yaml_documents(stream, self):
            if problem:
                document += 1
                yield Record(Source(name, line=first_line, document=document), "error",
                             f"{name}:{problem[0]}: {problem[1]}")
                continue
            document += 1  # (empty documents are counted, as YAML counts them)
            if not lines:
                self.blank += 1
                continue
            source = Source(name, line=first_line, document=document)
            try:
                doc = parse_text("".join(lines), "\0")
            except InputError as e:
                items = _block_list_items(lines)
                if items is None:
                    yield Record(source, "error", "; ".join(_shift(p, name, first_line - 1) for p in e.lines()))
                    continue
                # A list whose document YAML refuses (a key given twice in one item, a tag): each item parsed
                # alone, so that only the item at fault is an error and the others are advised.
                for i, (offset, chunk) in enumerate(items):
                    yield from self._yaml_item(name, document, i, first_line + offset, chunk)
                continue
            if doc.data is None:  # null, or only comments
                self.blank += 1
                continue
            lines_of = {path: line + first_line - 1 for path, line in doc.lines.items()}
            if isinstance(doc.data, list):
                per_item: dict[int, dict[tuple[Any, ...], int]] = {}
                for path, line in lines_of.items():
                    if path and isinstance(path[0], int):
                        per_item.setdefault(path[0], {})[path[1:]] = line
                for i, item in enumerate(doc.data):
                    lines = per_item.get(i, {})
                    yield from _objects(item, Source(name, line=lines.get((), first_line), document=document,
                                                     index=i), lines, self.warnings.append)
            else:
                yield from _objects(doc.data, source, lines_of, self.warnings.append)

    def _yaml_item(self, name: str, document: int, i: int, first_line: int, chunk: list[str]) -> Iterator[Record]:
        """Item ``i`` of a block list, its lines ``chunk`` (from ``- ``) parsed alone."""
        source = Source(name, line=first_line, document=document, index=i)
        try:
            doc = parse_text("".join(chunk), "\0")
        except InputError as e:  # (its paths are of a one-item list: [0] is item i)
            yield Record(source, "error", "; ".join(
                _shift(re.sub(r"^(\0:\d+: )\[0\]", lambda m: f"{m.group(1)}[{i}]", p), name, first_line - 1)
                for p in e.lines()))
            return
        if not isinstance(doc.data, list) or len(doc.data) != 1:  # (cannot be: the chunk is one "- " item)
            yield Record(source, "error", f"{source}: not one list item")
            return
        lines = {path[1:]: line + first_line - 1 for path, line in doc.lines.items() if path and path[0] == 0}
        yield from _objects(doc.data[0], source, lines, self.warnings.append)

    def _json(self, stream: Any, name: str) -> Iterator[Record]:
        """A whole JSON document: a contract description, a list of them, or OCDS (a package, a record, a
        release, or a list of releases). JSON Lines in a .json file are read as JSON Lines."""
        raw = stream.read(MAX_JSON_BYTES + 1)
        if len(raw) > MAX_JSON_BYTES:
            head = raw[:MAX_LINE_BYTES].decode(self.encoding, "replace")
            if _json_lines(head.rsplit("\n", 1)[0]):  # JSON Lines with a broken first line: read on as lines
                yield from self._jsonl(_Replay(raw, stream), name)
                return
            self.bytes_read += len(raw)
            yield Record(Source(name), "error", f"{name}: a JSON document larger than "
                         f"{MAX_JSON_BYTES // (1024 * 1024)} MiB: use JSON Lines (one record per line) instead")
            return
        codec = "utf-8-sig" if _is_utf8(self.encoding) else self.encoding
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError as e:
            if _json_lines_text(raw[:MAX_LINE_BYTES].decode(codec, "replace")):  # JSON Lines, a line of which is
                # not text (its head is enough to tell, and a 500 MB document is not parsed again): that line is an
                # error, and the others are read
                yield from self._jsonl(_Replay(raw, None), name)
                return
            self.bytes_read += len(raw)
            yield Record(Source(name), "error",
                         f"{name}: {self.not_text(e.start, '')}")
            return
        if not text.strip():
            self.bytes_read += len(raw)
            return
        try:
            obj, zeros = _loads(text)
        except RecursionError:
            self.bytes_read += len(raw)
            yield Record(Source(name), "error", f"{name}: nested too deeply")
            return
        except json.JSONDecodeError as e:
            extra = e.msg == "Extra data"
            # one document per line: the first a whole line, and more after it (documents over several lines,
            # one after another, are no more JSON Lines than JSON)
            if _json_lines_error(text, e):
                yield from self._jsonl(_Replay(raw, None), name)
                return
            self.bytes_read += len(raw)
            problem = ("a second JSON document begins here (a .json file holds one: a list, an OCDS package; or "
                       "JSON Lines, one record per line)") if extra else f"{e.msg} (column {e.colno})"
            yield Record(Source(name, line=e.lineno), "error", f"{name}:{e.lineno}: malformed JSON: {problem}")
            return
        except ValueError:  # Python refuses to read an integer of over 4,300 digits (as a JSON line's worker says)
            self.bytes_read += len(raw)
            yield Record(Source(name), "error", f"{name}: a number of more than 4,300 digits")
            return
        del text
        self.bytes_read += len(raw)
        del raw
        if zeros:
            self.warnings.append(f"{name}: {_zeros_said(zeros)}")
        if isinstance(obj, list):
            for i, item in enumerate(obj):
                yield from _objects(item, Source(name, index=i), warn=self.warnings.append)
        else:
            yield from _objects(obj, Source(name), warn=self.warnings.append)


def _path_list(paths: Paths) -> list[str]:
    """Input paths as text: one path (a str or a Path: not its characters), or several."""
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    return [os.fspath(p) for p in paths]


def read_records(paths: Paths, options: ReadOptions | None = None) -> Reader:
    """The records of files (see ``Reader``): a path (``-`` for standard input) or several; iterate it, or pass
    it to ``review``."""
    return Reader(paths, options)


# Fields of an OCDS release that no contract description has: an item of a release package with one of them but
# no ocid is a release that lacks its ocid (and is mapped as one), not a contract description.
_RELEASE_FIELDS = frozenset({"tag", "date", "initiationType", "tender", "planning", "awards", "contracts",
                             "parties", "buyer"})


def _objects(obj: Any, source: Source, lines: dict[tuple[Any, ...], int] | None = None,
             warn: Callable[[str], None] | None = None) -> Iterator[Record]:
    """A parsed object as records: an OCDS package's releases or records each, else the object itself. A package
    with none holds no record: ``warn`` is told (a line of the input gives no result, and the summary says why)."""
    kind = kind_of(obj)
    if kind in ("release_package", "record_package"):
        name, items = package_items(obj)
        if not items:
            if warn is not None:
                warn(f"{source}: an OCDS {kind.replace('_', ' ')} with no {name}: nothing to advise")
            return
        for i, item in enumerate(items):
            ocid = item.get("ocid") if isinstance(item, dict) and isinstance(item.get("ocid"), str) else None
            line = lines.get((name, i)) if lines else None
            src = Source(source.file, line=line or source.line, document=source.document, index=source.index,
                         path=f"{name}[{i}]", ocid=ocid)
            if name == "records" and isinstance(item, dict):
                item = slim_record(item)
            elif isinstance(item, dict) and "ocid" not in item and not _RELEASE_FIELDS.isdisjoint(item):
                item = {"ocid": None, **item}  # a release still, though it lacks its ocid
            yield Record(src, "obj", item)
        return
    if kind == "record":
        obj = slim_record(obj)
    ocid = obj.get("ocid") if isinstance(obj, dict) and isinstance(obj.get("ocid"), str) else None
    if ocid and source.ocid is None:
        source = Source(source.file, source.line, source.row, source.document, source.index, source.path, ocid)
    yield Record(source, "obj", obj, lines)


def _open(path: str, encoding: str = "utf-8") -> tuple[Any, str, bool]:
    """A file (or standard input) as bytes, the encoding it is in (``encoding``, or its byte order mark's: see
    ``_file_encoding``), and whether that is its mark's, not ``encoding``. Its bytes as they are, or in UTF-8
    when that encoding does not write JSON's, YAML's and CSV's punctuation and line ends as ASCII does (UTF-16,
    UTF-32: see ``_line_encoding``)."""
    if path == "-":
        stdin = sys.stdin
        if stdin is None:
            raise OSError("standard input is closed")
        stream = stdin.buffer
    elif os.path.isdir(path):
        raise IsADirectoryError(21, "is a directory, not a file")
    else:
        stream = open(path, "rb")  # noqa: SIM115
    if path == "-" or not stream.seekable():  # (standard input is not closed; a pipe cannot seek back)
        head = b""  # its first bytes, which a pipe may deliver one at a time: for the byte order mark
        while len(head) < 4 and (more := stream.read(4 - len(head))):
            head += more
        stream = _Replay(head, stream)
    encoding, by_mark = _file_encoding(stream, encoding)
    if _line_encoding(encoding) != encoding:
        return _Replay(b"", _Utf8(stream, encoding)), encoding, by_mark
    return stream, encoding, by_mark


_MARKS = {"utf-32": (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE), "utf-16": (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)}


def _file_encoding(stream: Any, encoding: str) -> tuple[str, bool]:
    """The encoding to read a file in, and whether its byte order mark (its first bytes, peeked) decided it, as
    Excel and editors take it: UTF-8 when it starts with its mark, whatever --encoding says (Excel's "CSV UTF-8"
    writes it); UTF-32 or UTF-16 when it starts with theirs, unless a UTF-16 or UTF-32 encoding was given
    (PowerShell and Excel's "Unicode text" write UTF-16); UTF-16 or UTF-32 given for a file without a mark is
    little-endian, as ``bytes.decode`` reads it (the stream decoder refuses it); else the encoding as given."""
    name = codecs.lookup(encoding).name
    head = stream.peek(4)[:4]
    if head.startswith(codecs.BOM_UTF8):  # (UTF-16 or UTF-32 given: no CSV, JSON or YAML in those begins with
        # these bytes, a Hangul syllable or no character; UTF-8 given: the mark decides still, --encoding cannot)
        return ("utf-8" if name != "utf-8-sig" else encoding), True
    if name in _MARKS or name.startswith(tuple(_MARKS)):  # (UTF-16 or UTF-32, in a byte order or not)
        return (name + "-le" if name in _MARKS and not head.startswith(_MARKS[name]) else encoding), False
    marked = next((marked for marked, marks in _MARKS.items() if head.startswith(marks)), None)
    return marked or encoding, marked is not None


def _not_text(encoding: str, decoded_as: str, start: int, where: str = " of the line", marked: bool = False) -> str:
    """Bytes that are not text in ``encoding``, and where they start when the text was decoded as it is (a file
    in UTF-16 is read through UTF-8, whose byte count would not be the file's); ``marked``: the encoding is the
    file's byte order mark's, not the one given."""
    hint = f"; {_ENCODING_HINT}" if codecs.lookup(encoding).name == "utf-8" and not marked else ""
    return f"not {encoding} text" + (" as its byte order mark says" if marked else "") + \
        (f" (byte {start + 1}{where}{hint})" if decoded_as == encoding else "")


_BY_MARK = "by its byte order mark"  # a JSON line's Record.extra (see Reader.line_mark)
_ENCODING_HINT = "a file in another encoding needs --encoding, e.g. cp1252 for Excel's CSV"


def _line_encoding(encoding: str) -> str:
    """The encoding the lines of a file in ``encoding`` are read in: ``encoding``, or UTF-8 for one that does not
    write ASCII's punctuation and line ends as ASCII (UTF-16 and UTF-32, whose files are read through ``_Utf8``)."""
    try:
        ascii_like = "\n{}[]\",:-#".encode(encoding) == b'\n{}[]",:-#'
    except (LookupError, UnicodeError):
        return encoding  # (refused where the options are checked)
    return encoding if ascii_like else "utf-8"


def _undecodable(e: UnicodeError) -> tuple[str, int]:
    """A codec error handler: bytes the encoding does not decode become bytes that are not UTF-8 either (as
    surrogateescape, which UTF-16 and UTF-32 refuse), so their line is an error record of its own."""
    assert isinstance(e, UnicodeDecodeError)
    return "\udcff" * (e.end - e.start), e.end  # (byte 0xff: never in UTF-8)


codecs.register_error("s16advisor.undecodable", _undecodable)


class _Utf8:
    """A binary stream in another encoding, read as UTF-8 (bytes it does not decode as bytes that are not UTF-8,
    so that their line, not the run, is in error)."""

    def __init__(self, stream: Any, encoding: str):
        self.stream = stream
        self.text = io.TextIOWrapper(stream, encoding=encoding,
                                     errors="s16advisor.undecodable", newline="\n")
        self.pending = b""

    def _utf8(self, text: str) -> bytes:
        return text.encode("utf-8", "surrogateescape")

    def readline(self, limit: int = -1) -> bytes:
        end = self.pending.find(b"\n")
        if end >= 0:
            line, self.pending = self.pending[:end + 1], self.pending[end + 1:]
        else:
            line, self.pending = self.pending + self._utf8(self.text.readline(limit)), b""
        if 0 <= limit < len(line):
            line, self.pending = line[:limit], line[limit:] + self.pending
        return line

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            data, self.pending = self.pending + self._utf8(self.text.read()), b""
            return data
        while len(self.pending) < n:
            more = self.text.read(max(1, (n - len(self.pending)) // 4))
            if not more:
                break
            self.pending += self._utf8(more)
        data, self.pending = self.pending[:n], self.pending[n:]
        return data

    def close(self) -> None:
        if self.stream is not getattr(sys.stdin, "buffer", None):
            self.text.close()


def _skip_line(stream: Any) -> int:
    n = 0
    while True:
        part = stream.readline(1024 * 1024)
        n += len(part)
        if not part or part.endswith(b"\n"):
            return n


class _Replay:
    """A binary stream with some bytes put back in front (what sniffing the format read of standard input)."""

    def __init__(self, head: bytes, rest: Any):
        self.head = io.BytesIO(head)
        self.rest = rest

    def readline(self, limit: int = -1) -> bytes:
        line = self.head.readline(limit)
        if self.rest is None or line.endswith(b"\n") or (limit >= 0 and len(line) >= limit):
            return line
        return line + self.rest.readline(-1 if limit < 0 else limit - len(line))

    def read(self, n: int = -1) -> bytes:
        data = self.head.read(n)
        if self.rest is None or (n >= 0 and len(data) >= n):
            return data
        return data + self.rest.read(-1 if n < 0 else n - len(data))

    def readable(self) -> bool:
        return True

    def peek(self, n: int = 0) -> bytes:
        """What is put back and not yet read (a file's first bytes, read before it was wrapped)."""
        return self.head.getvalue()[self.head.tell():]

    def writable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def read1(self, n: int = -1) -> bytes:
        return self.read(n if n >= 0 else 65536)

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    @property
    def closed(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def flush(self) -> None:
        pass

    def __enter__(self) -> _Replay:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.rest is not None and self.rest is not getattr(sys.stdin, "buffer", None):
            self.rest.close()


class _Counting(io.RawIOBase):
    """A raw stream over another that adds what is read to a reader's ``bytes_read`` (CSV progress)."""

    def __init__(self, stream: Any, reader: Reader):
        self.stream = stream
        self.reader = reader

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self.stream.read(len(b))
        n = len(data)
        b[:n] = data
        self.reader.bytes_read += n
        return n

    def close(self) -> None:  # the file is closed by its owner
        pass


def _first_line(stream: Any) -> bytes:
    """The first non-blank line of a stream (at most ``MAX_LINE_BYTES`` of it), which is then read again."""
    return _first_lines(stream, 1)[0]


def _first_lines(stream: Any, count: int) -> list[bytes]:
    """The first ``count`` non-blank lines of a stream (``b""`` past its end; at most ``MAX_LINE_BYTES`` read in
    all), which are then read again."""
    head = b""
    found: list[bytes] = []
    while len(found) < count:
        line = stream.readline(MAX_LINE_BYTES + 1) if len(head) <= MAX_LINE_BYTES else b""
        head += line
        if not line or line.removeprefix(b"\xef\xbb\xbf").strip():  # (a byte order mark alone is blank)
            found.append(line)
    if isinstance(stream, _Replay):
        stream.head = io.BytesIO(head + stream.head.read())
    else:
        stream.seek(0)
    return found


def _sniff(first: bytes, second: bytes = b"") -> str:
    """The format of a stream whose name does not say (standard input), by its first non-blank line: a first
    line that is a whole JSON value means JSON Lines (JSON Lines whose first line is broken are read as one
    JSON document first, which then falls back to them: see ``_json_lines``)."""
    first = first.removeprefix(b"\xef\xbb\xbf").strip()
    if first.startswith(b"{"):
        if _json_value(first):
            return "jsonl"
        # JSON's keys are quoted: `{id: A, ...}` is YAML's flow style, the first document of a YAML stream when
        # the next line starts the next document (else JSON Lines whose first line is broken)
        flow = not re.match(rb'^\{\s*("|\}|$)', first)
        return "yaml" if flow and (not second.strip() or second.startswith((b"---", b"..."))) else "json"
    if first.startswith(b"["):
        return "json"
    if first.startswith((b"---", b"%YAML", b"- ", b"#")) or re.match(rb"^[A-Za-z_][\w.-]*:(\s|$)", first):
        return "yaml"
    return "csv"


def _json_value(line: bytes) -> bool:
    """Whether a line is one whole JSON object (one too deeply nested to read counts)."""
    if not line.startswith(b"{"):
        return False
    try:
        json.loads(line)
    except ValueError:
        return False
    except RecursionError:
        return True
    return True


def _json_lines_text(text: str) -> bool:
    """Whether a text (a file's head) is JSON Lines, not one JSON document: it does not parse whole, and the
    reason says so."""
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        return _json_lines_error(text, e)
    except (RecursionError, ValueError):
        return False
    return False


def _json_lines_error(text: str, e: json.JSONDecodeError) -> bool:
    """Whether the error of parsing ``text`` as one document shows it is JSON Lines: a second value begins on a
    later line after a first one on a line of its own (documents written over several lines, one after another,
    are no more JSON Lines than JSON), or it is JSON Lines with broken lines."""
    if e.msg == "Extra data":
        return e.lineno > 1 and "\n" not in text[:e.pos].strip()
    return _json_lines(text)


def _json_lines(text: str) -> bool:
    """Whether a text that is not one JSON document is JSON Lines with broken lines: it starts with an object,
    and another line, not indented (as in a document written over several lines), is one whole object."""
    lines = text.lstrip("\ufeff \t\r\n").splitlines()
    if not lines or not lines[0].startswith("{"):
        return False
    return any(_json_value(line.rstrip().encode("utf-8", "surrogatepass")) for line in lines[1:]
               if line.startswith("{"))


_DOC_START = re.compile(r"^---(\s|$)")
_DOC_END = re.compile(r"^\.\.\.(\s|$)")


class _LineTooLong(Exception):
    """A CSV line longer than the limit (read a part at a time, and skipped)."""


def _bounded_lines(text: IO[str], limit: int) -> Iterator[str]:
    """The lines of ``text``; a line longer than ``limit`` is skipped, a part at a time, and ends the lines with
    ``_LineTooLong`` (its row is an error: cut short, a 10 MiB title and the route after it were read as the row,
    and a cut inside quotes took the next rows into its cell)."""
    readline = text.readline
    while line := readline(limit + 1):
        if len(line) > limit and line[-1] not in "\r\n":
            while (rest := readline(1024 * 1024)) and rest[-1] not in "\r\n":
                pass
            raise _LineTooLong
        yield line


def _csv_problem(error: str, first_line: int, last_line: int) -> str:
    """What the csv module's error means, in the user's words."""
    if error == "unexpected end of data":
        return (f"a quote opened in this row is never closed, so lines {first_line} to {last_line} (the end of "
                "the file) were read as one cell")
    if error.startswith("field larger than field limit"):
        return f"a cell larger than {MAX_LINE_BYTES // (1024 * 1024)} MiB"
    if error == "',' expected after '\"'":
        return "a quoted cell must end at its closing quote (',' expected after '\"')"
    return error


def _yaml_content(text: str) -> bool:
    """Whether a YAML chunk holds more than comments, directives, document markers and blank lines."""
    for line in text.splitlines():
        s = line.strip()
        if s and not s.startswith(("#", "%")) and not _DOC_START.match(s) and not _DOC_END.match(s):
            return True
        if _DOC_START.match(s) and s[3:].strip() and not s[3:].strip().startswith("#"):
            return True
    return False


def _numbered_lines(stream: Any, reader: Reader) -> Iterator[tuple[int, bytes]]:
    """Each line (1-based number, bytes, at most ``MAX_LINE_BYTES + 1`` of it), counted as read, without the
    UTF-8 byte order mark at the start of the stream."""
    lineno = 0
    while raw := stream.readline(MAX_LINE_BYTES + 1):
        lineno += 1
        reader.bytes_read += len(raw)
        if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        yield lineno, raw


def _yaml_documents(stream: Any, reader: Reader) -> Iterator[tuple[int, list[str], tuple[int, str] | None]]:
    """(first line, lines, problem) per YAML document (lines empty for an empty one); a problem is (line,
    message) for a document that is too large or not text in the expected encoding."""
    encoding = reader.encoding
    lines: list[str] = []
    size = 0
    first = 1
    problem: tuple[int, str] | None = None
    for lineno, raw in _numbered_lines(stream, reader):
        try:
            line = raw.decode(encoding)
        except UnicodeDecodeError as e:
            line = raw.decode(encoding, "replace")
            if problem is None:
                problem = (lineno, reader.not_text(e.start))
        starts = _DOC_START.match(line)
        if starts and lines and _yaml_content("".join(lines)):
            yield first, lines, problem
            lines, size, first, problem = [], 0, lineno, None
        elif starts and lines and any(_DOC_START.match(x) for x in lines):  # an empty document ends here
            yield first, (lines if problem else []), problem
            lines, size, first, problem = [], 0, lineno, None
        elif starts and lines:  # only comments or directives so far: they belong to this document
            pass
        elif not lines:
            first = lineno
        size += len(raw)
        if size > MAX_LINE_BYTES:
            if problem is None:
                problem = (first, f"a YAML document larger than {MAX_LINE_BYTES // (1024 * 1024)} MiB")
            lines = ["x"]  # keep it a document with content, without keeping its text
        else:
            lines.append(line)
        if _DOC_END.match(line):
            yield first, (lines if _yaml_content("".join(lines)) or problem else []), problem  # [] empty
            lines, size, first, problem = [], 0, lineno + 1, None
    if lines and (_yaml_content("".join(lines)) or problem):
        yield first, lines, problem


_ITEM_START = re.compile(r"-(?:[ \t]|\r?\n|$)")  # a top-level block list item ("- ..."; not "---")


def _block_list_items(lines: list[str]) -> list[tuple[int, list[str]]] | None:
    """A document that is a top-level block list of two items or more, cut into its items as YAML's parser sees
    them: (the index of the line of the item's ``- ``, its lines); None for any other document, or one whose list
    carries a tag, an anchor or a directive (which must not be lost with the document: see
    ``block_list_starts``). Where the parser stops on malformed YAML, the rest is cut at each line that begins
    with ``- ``, so that only the malformed item is an error (a quoted text going on at the first column with
    ``- `` is cut there too, past that point only: into items that are errors)."""
    found = block_list_starts("".join(lines))
    if found is None:
        return None
    items, broken = found

    def dash(k: int) -> int:  # an item's "- ": the last such line at or before where the item starts
        while k > 0 and not _ITEM_START.match(lines[k]):
            k -= 1
        return k

    if broken:  # the items the parser ended, then each "- " line from the one it stopped in
        tail = dash(items[-1]) if items else 0
        items = items[:-1] + [k for k in range(tail, len(lines)) if _ITEM_START.match(lines[k])]
    if len(items) < 2:
        return None
    starts: list[int] = []
    for k in map(dash, items):
        if not _ITEM_START.match(lines[k]) or (starts and k <= starts[-1]):
            return None
        starts.append(k)
    ends = [*starts[1:], len(lines)]
    return [(a, lines[a:b]) for a, b in zip(starts, ends, strict=True)]


def _shift(problem: str, name: str, offset: int) -> str:
    """A problem located in a YAML document parsed alone (source ``\\0``), located in its file."""
    m = re.match(r"^\0:(\d+)(.*)$", problem, re.S)
    if m:
        # (the lines a message names, of the document: the file's)
        rest = re.sub(r"(\(already given on line | begun at line )(\d+)\)",
                      lambda k: f"{k.group(1)}{int(k.group(2)) + offset})", m.group(2))
        return f"{name}:{int(m.group(1)) + offset}{rest}"
    return name + problem[1:] if problem.startswith("\0") else problem


# ------------------------------------------------------------------------------------------------ evaluation


@dataclass(frozen=True)
class _Config:
    mode: str  # dict (ReviewResult.advice), or the output format: jsonl, json (the advice's JSON), csv (its cells)
    trace: bool = False
    ocds: OcdsOptions = OcdsOptions()
    encoding: str = "utf-8"
    spill: str | None = None  # a folder where worker processes leave each formatted chunk (see _Chunk.spilled)


class _RecordError(Exception):
    pass


class _Repeated(dict[str, Any]):
    """A JSON object some of whose keys were given more than once (their last values kept, as json.loads does)."""

    repeated: list[str]


# A JSON string (left as it is), or the leading zeros of a number (JSON allows none: "000", "-007", "00.5")
_STRING_OR_ZEROS = re.compile(r'"(?:[^"\\]|\\.)*"|(?<![\w.+-])(-?)0+(?=\d)')


def _loads(text: str) -> tuple[Any, int]:
    """``json.loads(text)`` (objects by ``_object``), and how many numbers were written with leading zeros: Find
    a Tender's API has published '"amount": 000' (open-contracting/kingfisher-collect#1270), which is not JSON,
    and would lose every release of its package. Such numbers are read as numbers (000 is 0, 0150 is 150, never
    octal); any other malformed JSON raises as json.loads does."""
    try:
        return json.loads(text, object_pairs_hook=_object), 0
    except json.JSONDecodeError as e:
        if not ("0" <= text[e.pos - 1:e.pos] <= "9" and "0" <= text[e.pos:e.pos + 1] <= "9"):
            raise  # (at a leading zero, json stops after the first 0, before the next digit)
        fixed = 0

        def unzero(m: re.Match[str]) -> str:
            nonlocal fixed
            if m.group(0).startswith('"'):
                return m.group(0)
            fixed += 1
            return m.group(1)

        try:
            return json.loads(_STRING_OR_ZEROS.sub(unzero, text), object_pairs_hook=_object), fixed
        except json.JSONDecodeError:
            raise e from None  # (malformed otherwise too: said where it first was)


def _zeros_said(n: int) -> str:
    return (f"{n:,} number{'s' if n != 1 else ''} written with leading zeros (such as 000, which JSON does not "
            f"allow) read as {'numbers' if n != 1 else 'a number'}")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for json.loads: a dict, which says which keys were repeated if any were."""
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    marked = _Repeated(obj)
    seen: set[str] = set()
    marked.repeated = [k for k, _ in pairs if k in seen or seen.add(k)]  # type: ignore[func-returns-value]
    return marked


def _repeated_keys(obj: Any, path: str = "", depth: int = 0) -> list[str]:
    """The paths of the keys repeated in a contract description read by ``_object`` (no deeper than MAX_DEPTH: a
    contract description nests 4 deep, and validation says what is wrong with a deeper one, or one that holds
    itself)."""
    found = [path + key for key in dict.fromkeys(obj.repeated)] if type(obj) is _Repeated else []
    if depth >= MAX_DEPTH:
        return found
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        if isinstance(value, (dict, list)):
            found += _repeated_keys(value, f"{path}{key}." if isinstance(key, str) else f"{path[:-1]}[{key}].",
                                    depth + 1)
    return found


_NESTED: dict[type, tuple[str, ...]] = {}


def _given_keys(model: Any) -> int:
    """How many keys the JSON a model was validated from had, repeated ones once (its fields set, all the way
    down)."""
    cls = type(model)
    nested = _NESTED.get(cls)
    if nested is None:
        nested = _NESTED[cls] = tuple(name for name, f in cls.model_fields.items()
                                      if _models_in(f.annotation))
    given = model.__pydantic_fields_set__
    n = len(given)
    values = model.__dict__
    for name in nested:
        if name in given:
            v = values[name]
            if type(v) is list:
                n += sum(_given_keys(x) for x in v)
            elif v is not None:
                n += _given_keys(v)
    return n


def _models_in(annotation: Any) -> bool:
    from pydantic import BaseModel

    if isinstance(annotation, type):
        return issubclass(annotation, BaseModel)
    return any(_models_in(a) for a in getattr(annotation, "__args__", ()))


class _Worker:
    """Turns records into ``Out`` tuples; one per process, with that process's Advisor."""

    def __init__(self, config: _Config):
        self.config = config
        # A JSON line that is a valid contract description is parsed and validated in one pass by pydantic; any
        # other line (OCDS, malformed, invalid, another encoding) takes the general path, which says what is wrong.
        self.decode_as = _line_encoding(config.encoding)  # (a file in UTF-16 or UTF-32 is read as UTF-8)
        self.validate_json = ContractDescription.model_validate_json if _is_utf8(self.decode_as) else None
        self.advisor = default_advisor()
        self.advise_json = partial(self.advisor.advise_json, trace=config.trace)

    def call(self, tasks: list[Task], start: int) -> Any:
        """A chunk's results: per record ``Out`` (``dict`` mode), or the chunk formatted (the file modes)."""
        if self.config.mode == "dict":
            return [self.one(kind, str(source), payload, extra, source.file) for source, kind, payload, extra in tasks]
        rows = []
        for source, kind, payload, extra in tasks:
            label = str(source)
            rows.append((source, label, self.one(kind, label, payload, extra, source.file)))
        chunk = _format(self.config.mode, start, rows)
        return _spill(chunk, self.config.spill, start) if self.config.spill and chunk.data else chunk

    def one(self, kind: str, label: str, payload: Any, extra: Any, file: str = "\0") -> Out:
        """One record's result; ``file`` is the record's file, named by problems located at a line of it."""
        rid: str | None = None
        notes: tuple[str, ...] = ()
        lines = extra if kind == "obj" else None
        try:
            if kind == "error":
                return None, payload, None, None, ()
            if kind == "json" and self.validate_json is not None and isinstance(payload, bytes) \
                    and b'"ocid"' not in payload:  # (a str: a line the reader decoded, see Reader._jsonl)
                try:
                    contract = self.validate_json(payload)
                    # pydantic keeps the last of a repeated key: a line with no more colons than the keys the
                    # contract was given has none (colons in its texts send it to the general path, which says)
                    if payload.count(b":") == _given_keys(contract):
                        payload, kind = contract, "contract"
                except ValueError:  # (pydantic's ValidationError): the general path below says why
                    pass
            if kind == "contract":
                contract = payload
                rid = contract.id
            else:
                if kind == "json":
                    obj, zeros = self._json(payload, label, extra == _BY_MARK)
                    if zeros:
                        notes += (_zeros_said(zeros),)
                elif kind == "csv":
                    obj, problems, notes = _csv_mapping(payload, extra)
                    rid = obj.get("id") if isinstance(obj.get("id"), str) else None
                    if problems:
                        raise _RecordError(f"{label}: " + "; ".join(_csv_problems(obj, problems)))
                else:
                    obj = payload
                if isinstance(obj, dict) and isinstance(obj.get("id"), str):
                    rid = obj["id"]
                obj, rid, more = self._ocds(obj, rid, label, kind == "json")
                notes += more
                contract = self._validate(obj, label, file, lines, kind == "csv")
            if self.config.mode == "csv":  # a CSV row needs only the advice's outline: no Advice is made
                outline = self._advise(self.advisor.outline, contract, label, file, kind == "csv", lines)
                payload = _outline_cells(outline, contract)
            else:  # its JSON, written without making the Advice
                payload, outline = self._advise(self.advise_json, contract, label, file, kind == "csv", lines)
                if self.config.mode == "dict":
                    payload = json.loads(payload)
        except _NotesError as e:
            return e.rid, str(e), None, None, e.notes
        except _RecordError as e:
            return rid, str(e), None, None, notes
        except S16Error as e:
            return rid, f"{label}: {e}", None, None, notes
        except Exception as e:  # a bug must not lose the other records: it is this record's error
            return rid, f"{label}: internal error: {type(e).__name__}: {e}", None, None, notes
        return rid, None, payload, _stats(outline, contract, notes), notes

    def _json(self, raw: bytes | str, label: str, by_mark: bool = False) -> tuple[Any, int]:
        """A JSON line parsed, and how many of its numbers had leading zeros (see _loads)."""
        try:
            text = raw if isinstance(raw, str) else raw.decode(self.decode_as)
        except UnicodeDecodeError as e:
            said = _not_text(self.config.encoding, self.decode_as, e.start, marked=by_mark)
            raise _RecordError(f"{label}: {said}") from None
        try:
            return _loads(text.rstrip("\r\n"))  # (a line cut short ends there)
        except json.JSONDecodeError as e:
            raise _RecordError(f"{label}: malformed JSON: {e.msg} (column {e.colno})") from None
        except RecursionError:
            raise _RecordError(f"{label}: nested too deeply") from None
        except ValueError:  # Python refuses to read an integer of over 4,300 digits
            raise _RecordError(f"{label}: a number of more than 4,300 digits") from None

    def _ocds(self, obj: Any, rid: str | None, label: str,
              line: bool = False) -> tuple[Any, str | None, tuple[str, ...]]:
        """An object as a contract description's fields (mapped from OCDS if it is OCDS), its id and notes;
        ``line``: it is a whole JSON line."""
        kind = kind_of(obj)
        if kind == "contract":
            repeated = _repeated_keys(obj)
            if repeated:
                raise _RecordError(f"{label}: " + "; ".join(f"{key}: duplicate key (JSON would keep its last value; "
                                                            "give it once)" for key in repeated))
            return obj, rid, ()
        if kind == "unknown":
            raise _RecordError(f"{label}: a record must be a contract description or an OCDS release or record "
                               f"(a mapping of fields), got {_kind_name(obj)}")
        if kind in ("release_package", "record_package"):
            if line:  # the reader takes a line holding "releases" or "records" for a package and reads its items:
                # this one's key is written otherwise, with \u escapes (parsing every line that has one, to see,
                # would slow the reading of every file whose texts are escaped)
                key = "releases" if kind == "release_package" else "records"
                raise _RecordError(f'{label}: an OCDS {kind.replace("_", " ")} whose "{key}" key is written with '
                                   f'\\u escapes is not read: write the key as "{key}"')
            raise _RecordError(f"{label}: an OCDS package inside a package is not read")
        rid = obj.get("ocid") if isinstance(obj.get("ocid"), str) else rid
        mapped = record_to_contract(obj, self.config.ocds) if kind == "record" else \
            release_to_contract(obj, self.config.ocds)
        notes = tuple(mapped.notes)
        if mapped.contract is None:
            raise _NotesError(f"{label}: OCDS {mapped.error}", rid, notes)
        return mapped.contract, rid, notes

    def _validate(self, obj: Any, label: str, file: str, lines: dict[tuple[Any, ...], int] | None,
                  csv_row: bool) -> Any:
        doc = Document(obj, file if lines else "\0", lines or {})
        try:
            return contract_from_document(doc)
        except InputError as e:
            raise _RecordError(_problems(e, label, csv_row, bool(lines))) from None

    def _advise(self, advise: Any, contract: Any, label: str, file: str, csv_row: bool,
                lines: dict[tuple[Any, ...], int] | None) -> Any:
        try:
            return advise(contract)
        except InputError as e:  # a date no regime covers: name the field (and its line)
            if lines:
                located = locate(e, Document(None, file, lines))
                raise _RecordError(_problems(located, label, csv_row, True)) from None
            raise _RecordError(_problems(e, label, csv_row, False)) from None


class _NotesError(_RecordError):
    def __init__(self, message: str, rid: str | None, notes: tuple[str, ...]):
        super().__init__(message)
        self.rid, self.notes = rid, notes


def _is_utf8(encoding: str) -> bool:
    """Whether ``encoding`` names UTF-8, however spelt (utf8, UTF_8, ...)."""
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def _kind_name(obj: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean",
            type(None): "null"}.get(type(obj), type(obj).__name__)


def _problems(e: Any, label: str, csv_row: bool, located: bool) -> str:
    """An InputError's problems as one line at the record: ``label: field: message; field: message`` (for CSV
    naming the column; a YAML record's problems keep their own file:line)."""
    if located:
        return "; ".join(f"{loc}: {msg}" if loc else f"{label}: {msg}" for loc, msg in e.problems)
    return f"{label}: " + "; ".join(_problem_parts(e, csv_row))


def _problem_parts(e: Any, csv_row: bool) -> list[str]:
    parts = []
    for loc, msg in e.problems:
        field_path = loc[1:].lstrip(": ") if loc.startswith("\0") else loc
        if csv_row and field_path:
            column = _column_of(field_path)
            parts.append(f"column {column}" + (f" ({field_path})" if column != field_path else "") + f": {msg}")
        else:
            parts.append(f"{field_path}: {msg}" if field_path else msg)
    return parts


_COLUMN = re.compile(r"column ([^\s:(]+)")


def _at_fault(column: str, bad: set[str]) -> bool:
    """Whether a column's problem follows from a cell already at fault (``value`` missing when ``value.amount`` was
    not a number)."""
    return column in bad or any(b.startswith(column + ".") for b in bad)


def _csv_problems(obj: dict[str, Any], problems: list[str]) -> list[str]:
    """A CSV row's cell problems, and then what validating the rest of the row finds (the columns already at
    fault left out), so that one run names everything wrong with the row."""
    bad = {m.group(1) for p in problems if (m := _COLUMN.match(p))}
    try:
        contract_from_document(Document(obj, "\0", {}))
    except InputError as e:
        problems = problems + [p for p in _problem_parts(e, True)
                               if not ((m := _COLUMN.match(p)) and _at_fault(m.group(1), bad))]
    return problems


def _column_of(path: str) -> str:
    """The CSV column a field path comes from: ``value.amount`` -> value.amount, ``lots[1].value`` -> lots; an
    object given by columns of its fields, by those of its required fields: ``value`` -> value.amount."""
    best = ""
    for col in CSV_INPUT_COLUMNS:
        if (path == col or path.startswith((col + ".", col + "["))) and len(col) > len(best):
            best = col
    if not best:
        model = getattr(ContractDescription.model_fields.get(path), "annotation", None)
        fields = getattr(model, "model_fields", {})
        best = ", ".join(col for col in CSV_INPUT_COLUMNS if col.startswith(path + ".")
                         and (f := fields.get(col[len(path) + 1:])) is not None and f.is_required())
    return best or path


def _outline_cells(o: Any, contract: ContractDescription) -> list[str]:
    """An advice's cells of a CSV row, from its ``Outline`` (and the contract's date, authority type and nation,
    which an OCDS record's mapping may have assumed)."""
    return [
        contract.procurement_start.isoformat(), contract.authority.type._value_, contract.authority.nation._value_,
        o.regime, _num(o.value), o.vat_basis, o.threshold or "",
        "" if o.threshold_amount is None else _num(o.threshold_amount),
        "true" if o.above_threshold else "false", *_of_routes(o)[0], _of_findings(o)[0],
    ]


def _num(x: float) -> str:
    return str(int(x)) if x == int(x) else repr(x)


def _stats(o: Any, contract: Any, notes: tuple[str, ...]) -> Stats:
    """A record's figures for the summary, from its advice's ``Outline`` (and the notes made reading it)."""
    statuses = o.statuses
    declared = contract.route
    reservation = contract.reservation._value_  # (.value is a Python property)
    reservation = reservation if reservation != "none" else None
    _, psm, sb = _of_routes(o)
    _, refused, errors, warnings = _of_findings(o)
    if (psm or sb) and notes and any(note.startswith((LOTS_RESERVED_DIFFERENTLY, PROCUREMENT_STOPPED))
                                     for note in notes):
        psm = sb = False  # (some lots are reserved already, which no description can say; or it will not be let)
    return Stats(
        o.regime, o.value, o.recommended, declared,
        declared is not None and statuses.get(declared) == "unavailable", reservation,
        reservation is not None and refused, psm, sb,
        contract.authority.nation._value_ == "wales", errors, warnings,
        any(note.startswith(NATION_ASSUMED) for note in notes) if notes else False,
    )


# What a CSV row and the summary take of an ``Outline``, worked out once for all the outlines that share its
# ``statuses`` (those whose rules touching routes fired alike: a few thousand combinations), and once for all
# those that share its ``findings`` (a few hundred): far fewer than the combinations of both (the advisor's
# shapes, over 10,000 in 100,000 contracts, more than it keeps). Each entry holds the object its key is the id
# of, so that the id is not reused while it is kept.
_ROUTE_PARTS: dict[int, tuple[Any, tuple[Any, ...]]] = {}  # id(Outline.statuses) -> (it, what _of_routes gives)
_FINDING_PARTS: dict[int, tuple[Any, tuple[Any, ...]]] = {}  # id(Outline.findings) -> (it, what _of_findings gives)


def _of_routes(o: Any) -> tuple[Any, ...]:
    """The cells of an ``Outline``'s plan, its routes' statuses and its blockers; whether a reservation to a
    public service mutual, and to a supported business, is available but not planned."""
    got = _ROUTE_PARTS.get(id(o.statuses))
    if got is not None and got[0] is o.statuses:  # (the same object: kept here, its id is not reused)
        return got[1]
    statuses = o.statuses
    unplanned = unplanned_reservations(statuses)
    parts = ([";".join(o.recommended), *[statuses.get(r, "") for r in ROUTE_IDS],
              ";".join(f"{route}:{code}" for route, code in o.blockers)],
             "reserved_public_service_mutual" in unplanned, "reserved_supported_business" in unplanned)
    if not isinstance(statuses, MappingProxyType):  # (an outline made otherwise, whose statuses may change)
        return parts
    if len(_ROUTE_PARTS) >= SHAPES_KEPT:  # (as many as the advisor keeps)
        _ROUTE_PARTS.clear()
    _ROUTE_PARTS[id(statuses)] = (statuses, parts)
    return parts


def _of_findings(o: Any) -> tuple[Any, ...]:
    """The cell of an ``Outline``'s findings; whether a reservation was refused (reservation_unavailable);
    whether there is an error finding, a warning."""
    findings = o.findings
    got = _FINDING_PARTS.get(id(findings))
    if got is not None and got[0] is findings:
        return got[1]
    parts = (";".join(code for code, _ in findings),
             any(code == "reservation_unavailable" for code, _ in findings),
             any(severity == "error" for _, severity in findings),
             any(severity == "warning" for _, severity in findings))
    if type(findings) is not tuple:  # (an outline made otherwise, whose findings may change)
        return parts
    if len(_FINDING_PARTS) >= SHAPES_KEPT:
        _FINDING_PARTS.clear()
    _FINDING_PARTS[id(findings)] = (findings, parts)
    return parts


# CSV input cells -> a contract description mapping


def _csv_mapping(row: list[str], header_info: tuple[tuple[str, ...], frozenset[str], bool, str]
                 ) -> tuple[dict[str, Any], list[str], tuple[str, ...]]:
    """A CSV row as a contract description mapping, the problems of its cells (row and column named), and notes."""
    header, unknown, ignore_unknown, encoding_said = header_info
    problems: list[str] = []
    notes: tuple[str, ...] = ()
    if len(row) > len(header):
        extra = [c for c in row[len(header):] if c.strip()]
        if extra:
            problems.append(f"{len(row)} cells but the header names {len(header)} columns")
    elif len(row) < len(header) and any(c.strip() for c in row):  # (Excel leaves out a row's empty last cells;
        # a row cut short would lose a route or a reservation without a word: it is said in the result's notes)
        notes = (f"the row has {len(row)} cell{'s' if len(row) != 1 else ''} and the header {len(header)} columns: "
                 f"{', '.join(header[len(row):])} read as empty",)
    if unknown and not ignore_unknown:
        names = ", ".join(sorted(unknown))
        problems.append(f"column{'s' if len(unknown) > 1 else ''} {names}: not a column of the review CSV "
                        "(a field of the contract description v1; see the README, or --ignore-unknown-columns)")
    out: dict[str, Any] = {}
    for col, cell in zip(header, row, strict=False):
        if col in unknown or not cell.strip():
            continue
        if not col:
            problems.append("a value under a column with no name")
            continue
        try:
            cell.encode("utf-8")
        except UnicodeEncodeError:
            problems.append(f"column {col}: not valid text in the file's encoding ({encoding_said})")
            continue
        try:
            value = _cell(CSV_INPUT_COLUMNS[col], cell.strip())
        except ValueError as e:
            problems.append(f"column {col}: {e}")
            continue
        target = out
        *parents, leaf = col.split(".")
        for p in parents:
            target = target.setdefault(p, {})
        target[leaf] = value
    return out, problems, notes


_BOOLS = {"true": True, "yes": True, "y": True, "1": True, "false": False, "no": False, "n": False, "0": False}
_THOUSANDS = re.compile(r"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$")


def _number(cell: str) -> float | int:
    text = cell.removeprefix("£").strip()
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    if not text.isascii():  # (Python's int and float read ٥٤٠٠٠٠ and full-width digits: YAML does not)
        raise ValueError(f"{cell!r} is not a number (digits 0-9)")
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{cell!r} is not a number") from None


def _cell(kind: str, cell: str) -> Any:
    if kind == "text":
        return cell
    if kind == "number":
        return _number(cell)
    if kind == "integer":
        try:
            if not cell.isascii():
                raise ValueError
            return int(cell)
        except ValueError:
            raise ValueError(f"{cell!r} is not a whole number") from None
    if kind == "list":
        return [x.strip() for x in cell.split(";") if x.strip()]
    if kind in ("bool", "bool_or_unknown"):
        low = cell.lower()
        if kind == "bool_or_unknown" and low == "unknown":
            return "unknown"
        if low in _BOOLS:
            return _BOOLS[low]
        raise ValueError(f"{cell!r} is not true or false" + (" or unknown" if kind == "bool_or_unknown" else ""))
    if kind == "json":
        try:
            value = json.loads(cell, object_pairs_hook=_object)
        except ValueError as e:
            raise ValueError(f"not JSON: {e}") from None
        except RecursionError:
            raise ValueError("nested too deeply") from None
        repeated = _repeated_keys(value)
        if repeated:
            raise ValueError(f"key {', '.join(repeated)} given twice")
        return value
    if kind == "lots":
        if cell.startswith("["):
            return _cell("json", cell)
        lots = []
        for part in (p.strip() for p in cell.split(";")):
            if not part:
                continue
            m = re.match(r"^([^=]+)=([^:]+)(?::(small))?$", part)
            if not m:
                raise ValueError(f"{part!r} is not a lot written ID=AMOUNT or ID=AMOUNT:small")
            lot: dict[str, Any] = {"id": m.group(1).strip(), "value": _number(m.group(2).strip())}
            if m.group(3):
                lot["small_lot"] = True
            lots.append(lot)
        return lots
    raise AssertionError(kind)  # pragma: no cover


# ------------------------------------------------------------------------------------------------ the pipeline

Task = tuple[Source, str, Any, Any]  # a Record as sent to a worker


class _Chunk(NamedTuple):
    """A chunk of results as a worker sends them back for a file: formatted, with their figures and their
    duplicate-id lines, so that the parent only writes and adds up."""

    data: bytes  # JSON Lines, JSON array items (joined by ",\n") or CSV rows
    summary: ReviewSummary
    ids: dict[int, str]  # duplicate-id bucket -> lines
    count: int
    spilled: str | None = None  # or the file that holds ``data``, written by the worker (see _spill)


def _spill(chunk: _Chunk, folder: str, start: int) -> _Chunk:
    """A worker's chunk with its data left in a file of ``folder`` for the parent to copy into the output: a
    chunk of JSON results is megabytes, which a pipe between processes carries at a third of the cost of the
    whole review (pickled, sent, received, written again); a file is copied by the kernel. The data is sent
    as it is if the file cannot be written."""
    path = os.path.join(folder, str(start))
    try:
        with open(path, "wb") as f:
            f.write(chunk.data)
    except OSError:
        with suppress(OSError):
            os.unlink(path)
        return chunk
    return chunk._replace(data=b"", spilled=path)


@contextmanager
def _spilled(chunk: _Chunk) -> Iterator[str]:
    """The file a spilled chunk's data is in, removed once used (or not)."""
    assert chunk.spilled is not None
    try:
        yield chunk.spilled
    finally:
        os.unlink(chunk.spilled)


def _take(chunk: _Chunk) -> bytes:
    """A chunk's data, read back (and its file removed) if it was spilled."""
    if chunk.spilled is None:
        return chunk.data
    with _spilled(chunk) as path, open(path, "rb") as f:
        return f.read()


def _format(fmt: str, start: int, rows: list[tuple[Source, str, Out]]) -> _Chunk:
    summary = ReviewSummary()
    ids = _DuplicateIds.Lines()
    parts: list[bytes | memoryview] = []
    end = ",\n" if fmt == "json" else "\n"
    end_object = ("}" + end).encode()
    buffer = io.StringIO()
    as_csv = fmt == "csv"
    for k, (source, label, (rid, error, payload, stats, notes)) in enumerate(rows):
        summary.add(stats)
        id_json = "null" if rid is None else _json_text(rid)
        if rid is not None:
            ids.note(start + k, id_json, label)
        if as_csv:
            cells = [_safe_cell(rid or ""), _safe_cell(label), *(payload if error is None else _NO_ADVICE),
                     _safe_cell(error or ""), _safe_cell("; ".join(notes))]
            _csv_row(buffer, cells)
            continue
        # {"source":...,"id":..., the advice's fields (its JSON without its braces: not copied) or the error,
        # "notes" if any}, then the line's end (JSON Lines) or the separator from the next item (JSON)
        parts.append(f'{{"source":{_source_json(source)},"id":{id_json},'.encode())
        parts.append(memoryview(payload)[1:-1] if error is None else f'"error":{json.dumps(error)}'.encode())
        parts.append(f',"notes":{json.dumps(list(notes))}}}{end}'.encode() if notes else end_object)
    if as_csv:
        data = buffer.getvalue().encode("utf-8", "backslashreplace")
    else:
        if fmt == "json" and parts:
            parts[-1] = parts[-1][:-2]  # (the last item's ",\n")
        data = b"".join(parts)
    return _Chunk(data, summary, ids.joined(), len(rows))


def _csv_row(buffer: IO[str], cells: list[str]) -> None:
    """Write a row of text cells, the line ended by \\n. A cell holding a comma, a quote, a line feed or a carriage
    return is quoted (a csv writer whose lines end with \\n would leave a carriage return bare: every reader takes
    it for a line's end). A row none of whose cells needs quoting is its cells joined by commas: csv writes it by
    C code that calls a function for each character of every cell, a sixth of a CSV review's instructions."""
    line = ",".join(cells)
    plain = len(cells) > 1 and line.count(",") == len(cells) - 1  # (csv quotes a row of one empty cell)
    if plain and '"' not in line and "\n" not in line and "\r" not in line:
        buffer.write(line + "\n")
    else:  # (quoted as for lines ended by \r\n, which csv quotes both characters for)
        scratch = io.StringIO()
        csv.writer(scratch, lineterminator="\r\n").writerow(cells)
        buffer.write(scratch.getvalue()[:-2] + "\n")


def _join(fmt: str, chunks: list[_Chunk]) -> _Chunk:
    summary = ReviewSummary()
    ids: dict[int, str] = {}
    for c in chunks:
        summary.merge(c.summary)
        for b, text in c.ids.items():
            ids[b] = ids.get(b, "") + text
    data = (b",\n" if fmt == "json" else b"").join(d for d in map(_take, chunks) if d)
    return _Chunk(data, summary, ids, sum(c.count for c in chunks))


_WORKER: _Worker | None = None


def _init_worker(config: _Config, parent: int | None = None) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the run; workers are stopped
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):  # (forked while the parent held them: see _signals_held)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    _die_with_parent(parent)
    global _WORKER
    _WORKER = _Worker(config)
    gc.freeze()  # its Advisor, and what it inherited, live as long as the worker: see _Pool.__init__


def _die_with_parent(parent: int | None = None) -> None:
    """Linux: a worker gets SIGTERM when the review process (``parent``, its pid as the worker was started) dies,
    even by SIGKILL (otherwise it would wait for work forever). A worker whose parent died before this ran ends."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        if parent is None:
            parent = os.getppid()
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
        # The parent died before prctl: the pid is the one the pool was made in, not the worker's getppid() once
        # running, which is already init's (or a subreaper's) when the parent died as the worker started (killed
        # as it started 300 workers, 3 of them were left waiting for work, for ever).
        if os.getppid() != parent:
            os._exit(1)
    except (OSError, AttributeError):
        pass


def _run_chunk(tasks: list[Task], start: int) -> Any:
    assert _WORKER is not None
    return _WORKER.call(tasks, start)


def _chunks(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    it = iter(records)
    while True:
        chunk = list(islice(it, size))
        if not chunk:
            return
        yield chunk


def _tasks(chunk: list[Record]) -> list[Task]:
    return _Tasks(chunk)  # (a Record is a Task: its source, kind, payload and extra)


_NO_MORE = (None,) * 5  # a Source's fields after the line, of a JSON line: no row, document, index, path or ocid


class _Tasks(list[Task]):
    """A chunk's tasks, pickled (for a worker) as its JSON lines' bytes joined, their line numbers and where each
    ends, when every task is a JSON line of one file whose source is the file and the line (as a JSON Lines
    file's records are): a few objects, not a tuple, a Source and a bytes object per line, whose pickling was a
    tenth of the review process's CPU (in the pool's thread that feeds the workers). The worker gets the same
    tasks back as a list (see ``_unpacked``)."""

    def __reduce__(self) -> tuple[Any, ...]:
        packed = self._packed()
        return (list, ([tuple(task) for task in self],)) if packed is None else (_unpacked, packed)

    def _packed(self) -> tuple[str, Any, list[int], list[int], bytes] | None:
        if not self:
            return None
        file, extra = self[0][0].file, self[0][3]
        lines: list[int] = []
        ends: list[int] = []
        parts: list[bytes] = []
        end = 0
        for source, kind, payload, more in self:
            if kind != "json" or type(payload) is not bytes or more != extra or source.file != file \
                    or source.line is None or source[2:] != _NO_MORE:
                return None  # (a parsed object, an error, a line the reader decoded, another file's: as they are)
            lines.append(source.line)
            end += len(payload)
            ends.append(end)
            parts.append(payload)
        return file, extra, lines, ends, b"".join(parts)


def _unpacked(file: str, extra: Any, lines: list[int], ends: list[int], data: bytes) -> list[Task]:
    """The tasks of a chunk of JSON lines packed by ``_Tasks``, as they were."""
    tasks: list[Task] = []
    start = 0
    for line, end in zip(lines, ends, strict=True):
        tasks.append((Source(file, line), "json", data[start:end], extra))
        start = end
    return tasks


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


LOST = "not advised: the worker process advising it stopped unexpectedly"


def _lost(config: _Config, tasks: list[Task], start: int) -> Any:
    """A record that made its worker process die (a crash in a C library): its error, as the chunk result."""
    rows = [(t[0], str(t[0]), (None, f"{t[0]}: {LOST}", None, None, ())) for t in tasks]
    return [out for _, _, out in rows] if config.mode == "dict" else _format(config.mode, start, rows)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait (pending, then delivered) while worker processes are started or stopped: one that
    arrived inside concurrent.futures' own code there left the pool half made or half stopped (the run hung, or
    printed a traceback, or the signal was lost), and a second Ctrl-C while the workers were being stopped hung
    the process at exit."""
    import signal
    import threading

    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


class _Pool:
    """Worker processes advising chunks, results taken in submission order, a few chunks in flight.

    A worker that dies (a crash in the durable-rules C library, killed by the system) breaks the process pool: the
    chunks in flight are then advised again one record at a time in a fresh pool, so that only a record that kills
    its worker again becomes an error ("nothing lost"), and the review goes on with a new pool.
    """

    def __init__(self, config: _Config, jobs: int):
        import multiprocessing

        self.jobs = jobs
        self._remove: weakref.finalize[Any, Any] | None = None
        if config.mode != "dict":  # formatted chunks are left in files (see _spill), removed when the pool closes
            import tempfile

            try:
                spill, self._remove = _private_dir(self, tempfile.gettempdir(), "s16advisor-chunks-")
                config = replace(config, spill=spill)
            except OSError:  # (a full or unusable temporary folder: the chunks come back through the pipe)
                pass
        self.config = config
        linux = sys.platform.startswith("linux")
        self.context = multiprocessing.get_context("fork") if linux else multiprocessing.get_context()
        self.executor = self._new(jobs)
        _close_open_reviews_at_exit()
        # The objects this process holds as the workers are forked (at the first submit: modules, the compiled
        # rulebook) are moved out of the garbage collector's sight while the pool lives, in this process and in the
        # workers (which freeze their Advisor too): each full collection went through them all, 0.17 CPU-s of the
        # 0.37 a worker spent collecting for 50,000 records (0.07 frozen). Put back when the pool closes, unless the
        # caller had frozen objects itself (a server that forks: gc.freeze is for the whole process, and unfreeze
        # would undo theirs).
        self._unfreeze = gc.get_freeze_count() == 0
        if self._unfreeze:
            gc.freeze()

    def _new(self, jobs: int) -> Any:
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(jobs, mp_context=self.context, initializer=_init_worker,
                                   initargs=(self.config, os.getpid()))

    def submit(self, tasks: list[Task], start: int) -> tuple[Any, Any]:
        """The chunk's work: its pool and its future, for ``result``."""
        from concurrent.futures.process import BrokenProcessPool

        with _signals_held():  # (the first submit starts the workers)
            try:
                return self.executor, self.executor.submit(_run_chunk, tasks, start)
            except BrokenProcessPool:
                self.executor.shutdown(wait=False, cancel_futures=True)
                self.executor = self._new(self.jobs)
                return self.executor, self.executor.submit(_run_chunk, tasks, start)

    def result(self, work: tuple[Any, Any], tasks: list[Task], start: int) -> Any:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return _outcome(*work)
        except BrokenProcessPool:
            self._check_started(work[0])
            return self._one_by_one(tasks, start)

    def _check_started(self, executor: Any) -> None:
        """Raise a RuntimeError when the broken pool's workers did not start: a spawned worker (macOS and Windows;
        Linux forks) that ended with an error, exit status 1, as it started, as every one does when the script
        that calls review() imports, and so runs, the review again. Advised again one at a time, each record
        would be an error of its own, and not the record's fault."""
        if self.context.get_start_method() == "fork":  # (a forked worker imports nothing again)
            return
        processes = (getattr(executor, "_processes", None) or {}).values()
        if not any(p.exitcode == 1 for p in processes):  # (a crash, or a worker killed: a signal's negative status)
            return
        raise RuntimeError(
            f"review(jobs={self.jobs}): the worker processes could not start: each ended with an error as it started "
            f"(its traceback is above). With the '{self.context.get_start_method()}' start method (the default on "
            "macOS and Windows), each worker imports the main script again: a script must call review() with jobs "
            'over 1 under if __name__ == "__main__": (or give jobs=1)') from None

    def _one_by_one(self, tasks: list[Task], start: int) -> Any:
        from concurrent.futures.process import BrokenProcessPool

        parts = []
        alone = self._new(1)
        try:
            for k, task in enumerate(tasks):
                try:
                    with _signals_held():
                        future = alone.submit(_run_chunk, [task], start + k)
                    parts.append(_outcome(alone, future))
                except BrokenProcessPool:
                    self._check_started(alone)
                    parts.append(_lost(self.config, [task], start + k))
                    alone.shutdown(wait=False, cancel_futures=True)
                    alone = self._new(1)
        finally:
            with _signals_held():  # (stopped at once if interrupted: waiting on a record that never ends would hang)
                _stop(alone, finished=sys.exc_info()[0] is None)
        if self.config.mode == "dict":
            return [out for part in parts for out in part]
        return _join(self.config.mode, parts)

    def close(self, *, finished: bool) -> None:
        """Stop the workers: when the run finished, as they wait for work; when it was interrupted, at once (the
        chunks not started are cancelled and the workers, which ignore Ctrl-C, are terminated: what they were
        writing is in the chunks' folder, removed here), with a second Ctrl-C held until they are stopped."""
        try:
            with _signals_held():
                _stop(self.executor, finished=finished)
        finally:
            if self._unfreeze:
                self._unfreeze = False
                gc.unfreeze()
            if self._remove is not None:  # the chunks' files not yet copied (a run stopped)
                self._remove()


_ORPHAN_POLL = 0.5  # seconds between looks at whether a broken pool has left a future unsettled


def _outcome(executor: Any, future: Any) -> Any:
    """A future's result, or BrokenProcessPool for one its pool broke without settling. When a worker dies, the
    pool's thread fails the work it holds; but Python 3.11's pool does so without its lock, so work submitted at
    that moment can be missed and never settled (a review hung for ever waiting for such a chunk). Once the pool
    is broken and its thread has ended, a future not yet settled never will be. (Waited for with ``wait``, not
    ``result(timeout=)``: the TimeoutError that raises is the built-in one, which the work itself may raise.)"""
    from concurrent.futures import wait
    from concurrent.futures.process import BrokenProcessPool

    while not wait([future], timeout=_ORPHAN_POLL).done:
        manager = getattr(executor, "_executor_manager_thread", None)
        if getattr(executor, "_broken", False) and not (manager is not None and manager.is_alive()) \
                and not future.done():
            raise BrokenProcessPool("the process pool broke without settling this chunk")
    return future.result()


def _stop(executor: Any, *, finished: bool) -> None:
    """Stop a pool's workers: as they wait for work when its work is done, else at once (terminated)."""
    if finished:
        executor.shutdown(wait=True)
        return
    workers = list((getattr(executor, "_processes", None) or {}).values())
    # (taken before shutdown, which lets go of them)
    manager = getattr(executor, "_executor_manager_thread", None)
    tasks = getattr(executor, "_call_queue", None)
    results = getattr(executor, "_result_queue", None)
    if tasks is not None:  # its feeder thread may be blocked writing a chunk no worker will read: not joined
        tasks.cancel_join_thread()
    executor.shutdown(wait=False, cancel_futures=True)
    for w in workers:
        w.terminate()
    for w in workers:
        w.join(5)
    # A worker terminated while it sent a result leaves half a message in the results pipe, and the pool's thread
    # that reads it waits for the rest, for ever: Python joins that thread at exit (a library's caller hung there,
    # and its workers' pipes stayed open in a process that goes on). With the workers gone, this process holds the
    # pipe's last write end: closed, the read meets the end of the file, and the thread ends.
    if results is not None:
        with suppress(OSError):
            results._writer.close()
    if manager is not None:
        manager.join(5)
    # The thread that feeds the workers their chunks ends once it meets the end the pool's thread put in its queue
    # as it ended (a write it was blocked in fails once the pool has closed the pipe's read end): on a loaded
    # machine, not at once, and a review stopped in a notebook left it running.
    feeder = getattr(tasks, "_thread", None)
    if feeder is not None:
        feeder.join(5)


def _evaluate(records: Iterable[Record], config: _Config, jobs: int,
              chunk_size: int) -> Iterator[tuple[list[Record], Any]]:
    """Each chunk of records with its result (see ``_Worker.call``), in input order: in this process, or in
    ``jobs`` worker processes with at most ``2 * jobs`` chunks in flight (memory stays flat)."""
    chunks = _chunks(records, chunk_size)
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None) if jobs > 1 else None
    if second is None:  # one chunk (or one job): no processes to start
        worker = _Worker(config)
        start = 0
        for chunk in _prepend(first, chunks):  # (with jobs > 1, the only chunk)
            yield chunk, worker.call(_tasks(chunk), start)
            start += len(chunk)
        return

    pool = _Pool(config, jobs)
    finished = False
    try:
        pending: deque[tuple[list[Record], list[Task], int, tuple[Any, Any]]] = deque()
        start = 0
        for chunk in _prepend(first, _prepend(second, chunks)):
            tasks = _tasks(chunk)
            pending.append((chunk, tasks, start, pool.submit(tasks, start)))
            start += len(chunk)
            while len(pending) > 2 * jobs:
                done, tasks, first_n, work = pending.popleft()
                yield done, pool.result(work, tasks, first_n)
        while pending:
            done, tasks, first_n, work = pending.popleft()
            yield done, pool.result(work, tasks, first_n)
        finished = True
    finally:
        pool.close(finished=finished)


def _prepend(first: list[Record], rest: Iterator[list[Record]]) -> Iterator[list[Record]]:
    yield first
    yield from rest


def _as_records(records: Iterable[Any]) -> Iterator[Record]:
    """Python objects as records: Records as they are, mappings and ContractDescriptions by their index, an OCDS
    package's releases or records by its index and their path."""
    for i, r in enumerate(records):
        if isinstance(r, Record):
            yield r
        elif isinstance(r, Mapping):  # (an OCDS package: each of its releases or records, as in a file)
            yield from _objects(dict(r), Source("<records>", index=i))
        elif isinstance(r, ContractDescription):
            yield Record(Source("<records>", index=i), "contract", r)
        else:
            yield Record(Source("<records>", index=i), "error",
                         f"<records> [{i}]: expected a mapping (a contract description or an OCDS release) or a "
                         f"ContractDescription, got {_kind_name(r)}")


class Review:
    """Advise on records, lazily, in order: iterate it for ``ReviewResult`` values; ``summary`` holds the figures
    of the results yielded so far.

    ``records``: a ``Reader`` (``read_records(paths)``), or Python objects: contract description mappings, OCDS
    releases or records (mappings), ContractDescriptions. ``jobs``: worker processes (1: this process).
    ``trace``: keep each advice's rule trace (Advice v1 ``trace``; by default left out, it is most of the size).
    """

    def __init__(self, records: Iterable[Any], *, jobs: int = 1, trace: bool = False,
                 ocds: OcdsOptions | None = None, chunk_size: int = CHUNK_SIZE, encoding: str = "utf-8"):
        if isinstance(records, Mapping | ContractDescription):  # one record (an OCDS package: its releases)
            records = [records]
        elif isinstance(records, str | bytes | os.PathLike) or not isinstance(records, Iterable):
            path = " (to read a file: review(read_records(path)))" if isinstance(records, str | os.PathLike) else ""
            raise TypeError(f"review() takes an iterable of records (mappings, ContractDescriptions, OCDS packages) "
                            f"or read_records(paths), not {type(records).__name__}{path}")
        elif hasattr(records, "columns") and hasattr(records, "to_dict"):  # (iterated, its column names: not records)
            raise TypeError(f"review() takes an iterable of records, not a table ({type(records).__name__}): a "
                            f"DataFrame's rows are df.to_dict('records')")
        jobs, chunk_size = _positive("jobs", jobs), _positive("chunk_size", chunk_size)
        _check_encoding("review()", encoding)
        if jobs > MAX_JOBS:  # (every worker starts at once: jobs=300 sat for minutes)
            raise ValueError(f"review(): jobs={jobs} is more worker processes than a review starts (at most "
                             f"{MAX_JOBS}; this machine has {default_jobs()} cores)")
        if ocds is not None and not isinstance(ocds, OcdsOptions):
            raise TypeError(f"review(): ocds must be an s16advisor.ocds.OcdsOptions, not {type(ocds).__name__}")
        self.records = records
        if isinstance(records, Reader):
            encoding = records.options.encoding
        self.config = _Config("dict", trace, ocds or OcdsOptions(), encoding)
        self.jobs = jobs
        self.chunk_size = chunk_size
        self.summary = ReviewSummary()

    def __iter__(self) -> Iterator[ReviewResult]:
        results = self._results()
        _OPEN_REVIEWS.add(results)
        return results

    def _results(self) -> Iterator[ReviewResult]:
        self.summary = ReviewSummary()  # (iterated again: the figures of that pass)
        dups = _DuplicateIds()
        results = _evaluate(_as_records(self.records), self.config, self.jobs, self.chunk_size)
        n = 0
        try:
            for chunk, outs in results:
                lines = _DuplicateIds.Lines()
                for record, (rid, error, advice, stats, notes) in zip(chunk, outs, strict=True):
                    self.summary.add(stats)
                    if record.kind != "error" or record.extra not in (_UNOPENED, _STOPPED):  # (not an input failed)
                        self.summary.read += 1  # (so far, as the other figures: a loop stopped early has them)
                    if rid is not None:
                        lines.note(n, _json_text(rid), str(record.source))
                    n += 1
                    yield ReviewResult(record.source, rid, advice, error, notes)
                dups.add(lines.joined())
            self.summary.duplicates = dups.report()
            if isinstance(self.records, Reader):  # (its blank lines, warnings and failed inputs; read as counted)
                self.summary.take_counts(self.records)
        finally:
            try:
                results.close()
            finally:
                dups.close()


def _positive(name: str, value: Any) -> int:
    """``value`` as an int (a whole number of any integer type, such as numpy's), at least 1."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"review(): {name} must be a whole number, not {type(value).__name__} {value!r}") from None
    if number < 1:
        raise ValueError(f"review(): {name} must be at least 1, not {number}")
    return number


# Reviews being iterated: a program that ends with one not finished (kept in a variable, or in the traceback
# of an interrupt) has it closed before Python joins the process pools' threads, so that its workers are
# stopped at once, not left to finish the chunks in flight; closed later, as Python's modules were torn down,
# its cleanup failed ("Exception ignored in: <generator object ...>: ImportError: sys.meta_path is None").
_OPEN_REVIEWS: weakref.WeakSet[Iterator[ReviewResult]] = weakref.WeakSet()
_AT_EXIT: list[bool] = []


def _close_open_reviews_at_exit() -> None:
    """Arrange, once worker processes are used, for the reviews still open at exit to be closed first."""
    if _AT_EXIT:
        return
    _AT_EXIT.append(True)
    import threading

    # (run before the threads are joined, and before concurrent.futures' own hook, registered earlier: in reverse)
    register = getattr(threading, "_register_atexit", None)
    try:
        if register is None:
            raise RuntimeError
        register(_close_open_reviews)
    except RuntimeError:  # (no such hook, or the interpreter is already shutting down)
        import atexit

        atexit.register(_close_open_reviews)


def _close_open_reviews() -> None:
    for results in list(_OPEN_REVIEWS):
        with suppress(Exception):  # (ValueError: one being iterated by another thread)
            results.close()  # type: ignore[attr-defined]


def review(records: Iterable[Any], *, jobs: int = 1, trace: bool = False, ocds: OcdsOptions | None = None,
           chunk_size: int = CHUNK_SIZE) -> Iterator[ReviewResult]:
    """One ``ReviewResult`` per record, lazily and in input order (see ``Review``, which also keeps the summary)::

        from s16advisor import read_records, review

        for result in review(read_records(["pipeline.csv", "notices.json"]), jobs=2):
            print(result.source, result.id, result.error or result.advice["recommended"])

        rows = [r.to_json_dict() for r in review([{"id": "C-1", ...}, contract_description])]

    ``records``: ``read_records(paths)``, or Python objects (a list, a generator): contract description mappings,
    ``ContractDescription`` models, OCDS releases, records or packages; one mapping or model is one record. A
    record that cannot be read, mapped or validated is a result with ``error`` set, naming the field at fault (as
    ``"<records> [3]: value.amount: must be a number"``), never an exception: records in = results out.
    ``jobs``: worker processes (1, the default: this process). ``trace``: keep each advice's rule trace.
    ``ocds``: how OCDS values and buyers are read (``s16advisor.ocds.OcdsOptions``). ``chunk_size``: records per
    task sent to a worker.

    Raises ``TypeError`` (``ValueError``) at once for arguments of the wrong type (value), as a path in place of
    records. With ``jobs`` > 1, the workers are stopped, and the review's temporary folder removed, when the
    iteration ends, stops on an exception (Ctrl-C), or is closed (``.close()``, or the iterator dropped). On
    Linux the workers are forked; elsewhere (macOS, Windows: 'spawn') each imports the main script again, so a
    script must call ``review`` with ``jobs`` > 1 under ``if __name__ == "__main__":``, else its workers cannot
    start and the first results raise ``RuntimeError`` saying so.
    """
    return iter(Review(records, jobs=jobs, trace=trace, ocds=ocds, chunk_size=chunk_size))


# ------------------------------------------------------------------------------------------------ writing


def output_format(output: str | None, fmt: str | None) -> str:
    """The output format: as given, else from the output file's extension, else JSON Lines."""
    if fmt:
        if fmt not in OUTPUT_FORMATS:
            raise ValueError(f"{fmt!r} is not one of {', '.join(OUTPUT_FORMATS)}")
        return fmt
    suffix = os.path.splitext(output or "")[1].lower()
    return _OUTPUT_SUFFIXES.get(suffix, "jsonl")


def unnamed_output_format(output: str | None, fmt: str | None) -> str | None:
    """The extension of an output file that names no format (``.xlsx``, ``.txt``), written as JSON Lines when no
    format is given: what to warn of; else None."""
    suffix = os.path.splitext(output or "")[1]
    if fmt or not suffix or suffix.lower() in _OUTPUT_SUFFIXES:
        return None
    return suffix


# The extensions that name a format a review writes (as its inputs' extensions name theirs)
_OUTPUT_SUFFIXES = {suffix: fmt for suffix, fmt in INPUT_SUFFIXES.items() if fmt in OUTPUT_FORMATS}


# A text as json.dumps writes it (ASCII, \u escapes; a lone surrogate too), by its C function alone: json.dumps
# goes through an encoder's Python layers first, ten times the cost (a record's id, its file).
_json_text: Callable[[str], str] = encode_basestring_ascii


def _source_json(s: Source) -> str:
    """``Source.to_dict()`` as JSON text (the common shapes without ``json.dumps``)."""
    file, line, row, document, index, path, ocid = s
    if document is None and index is None and path is None and ocid is None:
        if row is not None and line is not None:
            return f'{{"file":{_json_text(file)},"line":{line},"row":{row}}}'
        if row is None and line is not None:
            return f'{{"file":{_json_text(file)},"line":{line}}}'
        if row is None:
            return f'{{"file":{_json_text(file)}}}'
    return json.dumps(s.to_dict(), separators=(",", ":"))


_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_NO_ADVICE = [""] * len(CSV_ADVICE_COLUMNS)


def _safe_cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula (OWASP CSV injection): a leading ' when it starts with
    = + - @ tab or carriage return."""
    return "'" + text if text.startswith(_FORMULA) else text


class _Writer:
    """Writes formatted chunks as they come (bytes), with the CSV header, or the JSON array's brackets."""

    def __init__(self, out: Any, fmt: str):
        self.out = out
        self.fmt = fmt
        self.n = 0
        self.fd = _regular_fd(out)  # (a file the kernel copies chunks into, and lets go of from the page cache)
        self.paged = _PageCache(out, self.fd)
        if fmt == "csv":
            buffer = io.StringIO()
            _csv_row(buffer, list(CSV_OUTPUT_COLUMNS))
            out.write(buffer.getvalue().encode())
        elif fmt == "json":
            out.write(b"[\n")

    def write(self, chunk: _Chunk) -> None:
        if not chunk.data and chunk.spilled is None:
            return
        if self.fmt == "json" and self.n:
            self.out.write(b",\n")
        if chunk.spilled is None:
            self.out.write(chunk.data)
        else:
            with _spilled(chunk) as path:
                _append_file(self.out, path, self.fd)
        self.n += chunk.count
        self.paged.written()

    def close(self) -> None:
        if self.fmt == "json":
            self.out.write(b"\n]\n" if self.n else b"]\n")


class _PageCache:
    """Lets the kernel drop an output file's pages once they are written to disk, as the run goes. A review's
    JSON results are over 10 KB a record: kept in the page cache, they take as much memory again, and a page
    the kernel must find anew costs far more than one it was just given back (three times the whole write, on
    a virtual machine whose host hands out the memory). Writing out the file as it grows is work the final
    fsync would do anyway. Does nothing but for a regular file, or where posix_fadvise is missing (macOS)."""

    BATCH = 8 * 1024 * 1024  # bytes written between calls

    def __init__(self, out: Any, fd: int):
        """``fd``: ``out``'s file descriptor if it is a regular file, else -1 (see _regular_fd)."""
        self.out = out
        self.fd = -1
        self.start = 0
        self.pending: deque[tuple[int, int]] = deque()  # ranges whose writing out was started
        if fd < 0 or not hasattr(os, "posix_fadvise"):
            return
        try:
            out.flush()
            self.fd, self.start = fd, os.lseek(fd, 0, os.SEEK_CUR)
        except OSError:
            pass

    def written(self) -> None:
        """Called after each write: starts writing out what was written since the last call (POSIX_FADV_DONTNEED
        starts it, and drops the pages already clean), then drops the range started two calls ago."""
        if self.fd < 0:
            return
        try:
            self.out.flush()
            end = os.lseek(self.fd, 0, os.SEEK_CUR)
            if end - self.start < self.BATCH:
                return
            os.posix_fadvise(self.fd, self.start, end - self.start, os.POSIX_FADV_DONTNEED)
            self.pending.append((self.start, end - self.start))
            self.start = end
            if len(self.pending) > 2:
                os.posix_fadvise(self.fd, *self.pending.popleft(), os.POSIX_FADV_DONTNEED)
        except OSError:
            self.fd = -1  # (only a hint to the kernel: the results are written all the same)


def _regular_fd(out: Any) -> int:
    """``out``'s file descriptor if it is a regular file (which the kernel can copy into), else -1."""
    try:
        fd = out.fileno()
        return fd if stat.S_ISREG(os.fstat(fd).st_mode) else -1
    except (AttributeError, OSError, ValueError):  # (io.UnsupportedOperation is an OSError)
        return -1


def _append_file(out: Any, path: str, fd: int | None = None) -> None:
    """Write the file ``path`` to ``out``: copied by the kernel (``copy_file_range``) when ``out`` is a regular
    file, else read and written. ``fd``: what ``_regular_fd(out)`` gives, if the caller knows it."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        done = 0
        copy = getattr(os, "copy_file_range", None)  # (Linux)
        if fd is None:
            fd = _regular_fd(out)
        if copy is not None and fd >= 0:
            out.flush()  # (then the buffered stream goes on writing at the file's new end)
            with suppress(OSError):  # not across these file systems, or an append-only file: written below
                while done < size:
                    n = copy(f.fileno(), fd, size - done)
                    if n <= 0:
                        break
                    done += n
        if done < size:
            f.seek(done)
            out.write(f.read())


class _BytesToText:
    """Bytes written to a text stream that has no binary buffer (a StringIO in a test)."""

    def __init__(self, out: IO[str]):
        self.out = out

    def write(self, data: bytes) -> None:
        self.out.write(data.decode("utf-8", "backslashreplace"))

    def flush(self) -> None:
        self.out.flush()


@dataclass
class ReviewOptions:
    """Everything ``review_to_file`` needs besides the paths and the output."""

    read: ReadOptions = field(default_factory=ReadOptions)
    ocds: OcdsOptions = field(default_factory=OcdsOptions)
    jobs: int = 1
    trace: bool = False
    chunk_size: int = CHUNK_SIZE


@contextmanager
def _destination(output: str | None, stdout: IO[str] | None) -> Iterator[IO[bytes]]:
    """Where the results go, as bytes: ``output`` written atomically, or standard output."""
    if output is not None:
        with atomic_output(output, "wb", prefix=".s16advisor-review-", buffering=1024 * 1024) as f:
            yield f
        return
    text_out = stdout or sys.stdout
    text_out.flush()
    out = getattr(text_out, "buffer", None) or _BytesToText(text_out)
    yield out
    out.flush()


def _identity(f: Any) -> tuple[int, int] | None:
    """The file an open stream or a path is (device, inode), or None."""
    try:
        st = os.fstat(f.fileno()) if hasattr(f, "fileno") else os.stat(f)
    except (OSError, ValueError, TypeError, io.UnsupportedOperation):
        return None
    return st.st_dev, st.st_ino


class InterruptedAfterWriting(KeyboardInterrupt):
    """Ctrl-C or SIGTERM once every result was written (the output file replaced): only the summary is lost."""


class OutputError(Exception):
    """The output file could not be written (a usage error: the folder does not exist, no permission, disk full)."""


def _rulebook_loads() -> None:
    """Raise the RulebookError of rules or data that do not load or compile, before any worker starts (a worker
    would fail on it in its initializer and take each record with it). The reference engine compiles them: no
    durable-rules state is made in the process the workers are forked from."""
    from .advisor import Advisor
    from .engine import PythonEngine

    Advisor(engine=PythonEngine())


def review_to_file(paths: Paths, output: str | None, fmt: str | None = None,
                   options: ReviewOptions | None = None, *,
                   progress: Callable[[int, Reader], None] | None = None,
                   stdout: IO[str] | None = None) -> ReviewSummary:
    """Review every record of ``paths`` and write one result per record to ``output`` (``None`` or ``-``:
    ``stdout``), in input order, in ``fmt`` (jsonl, csv, json; default from the extension). A file is written
    to a temporary file in its folder and renamed over ``output`` only once complete: a stopped run leaves
    ``output`` as it was. ``progress(records_done, reader)`` is called after each record."""
    options = options or ReviewOptions()
    fmt = output_format(output, fmt)
    paths = _path_list(paths)
    replaced = replaced_input(output, paths) if output not in (None, "-") else None
    if replaced is not None:
        what = "what standard input reads" if replaced == "-" else "one of the inputs"
        raise OutputError(f"{output} is {what}: the results would replace it (write them to another file)")
    _rulebook_loads()
    reader = Reader(paths, options.read)
    config = _Config(fmt, options.trace, options.ocds, options.read.encoding)
    summary = ReviewSummary()
    to_file = output not in (None, "-")
    dups = _DuplicateIds()
    done = written = False
    made: tuple[int, int] | None = None
    results = _evaluate(reader, config, options.jobs, options.chunk_size)
    try:
        try:
            with _destination(output if to_file else None, stdout) as out:
                made = _identity(out)
                writer = _Writer(out, fmt)
                n = 0
                for _, chunk in results:
                    writer.write(chunk)
                    summary.merge(chunk.summary)
                    if chunk.ids:
                        dups.add(chunk.ids)
                    n += chunk.count
                    if progress is not None:
                        progress(n, reader)
                writer.close()
                written = True
            done = True
        except OSError as e:
            if to_file:
                raise OutputError(f"cannot write {output}: {e.strerror or e}") from None
            raise
        finally:
            try:
                results.close()  # stops the worker processes if the run did not finish
                summary.duplicates = dups.report() if done else Duplicates()
            finally:
                dups.close()
    except KeyboardInterrupt:
        # while the workers were stopped or the duplicate ids found, or as the file was renamed over the output:
        # the output is complete, and a message that it was left as it was would be wrong
        if done or (written and (not to_file or (made is not None and _identity(output) == made))):
            raise InterruptedAfterWriting from None
        raise
    summary.take_counts(reader)
    return summary
