"""Safe YAML/JSON reading with the line of every field, for input and for the bundled rulebook.

Everything goes through PyYAML's safe machinery with restrictions that matter for files from
untrusted sources (a pull request, a pipeline export):

* aliases and anchors are refused (no "billion laughs"; no contract description needs them);
* timestamps are not resolved, so dates stay strings and are validated by the models
  (``2025-02-30`` then gets a field-level message instead of a constructor crash);
* files over ``MAX_BYTES`` are refused before parsing, and so is nesting deeper than ``MAX_DEPTH``;
* a key repeated in a mapping is refused (the loaders would silently keep the last value).
"""

from __future__ import annotations

import bisect
import codecs
import contextlib
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError

MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64  # a contract description nests 4 deep; PyYAML's scanner slows down quadratically with flow depth

Path_ = tuple[str | int, ...]


# libyaml's parser when PyYAML has it (about ten times faster), the pure-Python one otherwise: same safe
# constructor, same resolver.
_SafeBase: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _NoDatesLoader(_SafeBase):  # type: ignore[misc,valid-type]
    """A safe loader without the timestamp resolver (dates stay strings), whose numbers are decimal: 1e6 and
    1.5e6 are numbers (YAML 1.1 reads them as text), and 03000000 (a CPV code), 0x1F and 12:30 are text (not
    YAML 1.1's octal, hex and base-60 numbers)."""


# YAML 1.1's dates and numbers (the numbers are put back, decimal), and its merge key (`<<: {route: open}` would
# set a field no key names: `<<` is a key like any other, and no field of a draft)
_DROPPED = ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
            "tag:yaml.org,2002:merge")
_NoDatesLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_NoDatesLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789"))
_NoDatesLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?
                  |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
                  |[-+]?\.(?:inf|Inf|INF)
                  |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


def scalar(text: str) -> Any:
    """What this loader reads a plain scalar as (``~`` None, ``7`` 7, ``1e6`` 1000000.0); the text if it is not
    one."""
    try:
        return yaml.load(text, Loader=_NoDatesLoader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError:
        return text


def _construct(node: yaml.Node) -> Any:
    """The Python value of a composed node (so the text is parsed once, not once more to load it)."""
    loader = _NoDatesLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


@dataclass
class Document:
    """A parsed document and the 1-based line of each field path in its source."""

    data: Any
    source: str
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), None)

    def where(self, path: Path_) -> str:
        line = self.line_of(path)
        return f"{self.source}:{line}" if line else self.source


def _record_lines(node: yaml.Node, path: Path_, out: dict[Path_, int], source: str) -> None:
    """Record the line of every key (mappings) and item (sequences) below ``node``; refuse duplicate keys
    (the loaders keep the last value, so a repeated field would silently replace the first)."""
    if path == ():
        out[()] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*path, key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value))
            line = key_node.start_mark.line + 1
            if child in out:
                dotted = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in child).replace(".[", "[")
                raise InputError([(f"{source}:{line}: {dotted}",
                                   f"duplicate key (already given on line {out[child]})")])
            out[child] = line
            _record_lines(value_node, child, out, source)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = (*path, i)
            out[child] = item.start_mark.line + 1
            _record_lines(item, child, out, source)


def _refuse_aliases_and_tags(text: str, source: str) -> None:
    """Anchors, aliases and tags (``!!binary``, ``!!set``, ``!!python/...``) are refused: a draft or a rule file
    is plain data, whose every value is written as it is read."""
    if "&" not in text and "*" not in text and "!" not in text:  # none can be written without one of them
        return
    for event in yaml.parse(text, Loader=_NoDatesLoader):
        problem = None
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            problem = "YAML anchors and aliases are not allowed"
        elif getattr(event, "tag", None) is not None:
            problem = f"YAML tags are not allowed ({event.tag}): write the value itself"
        if problem:
            raise InputError([(f"{source}:{event.start_mark.line + 1}", problem)])


def parse_text(text: str, source: str, *, json_only: bool = False) -> Document:
    """Parse YAML (or JSON, which is read as JSON first for exact errors) with field lines."""
    try:
        return _parse_text(text, source, json_only)
    except RecursionError:  # the JSON decoder, the YAML parser and _record_lines all recurse
        raise InputError([(source, "nested too deeply")]) from None
    except ValueError as e:  # (InputError is not one) Python refuses to read an integer of over 4,300 digits
        if "integer string conversion" not in str(e):
            raise
        raise InputError([(source, "a number of more than 4,300 digits")]) from None


def _parse_text(text: str, source: str, json_only: bool) -> Document:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise InputError([(source, f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB")])
    if _too_deep(text):
        raise InputError([(source, f"nested too deeply (more than {MAX_DEPTH} levels of brackets)")])
    stripped = text.lstrip()
    if json_only or stripped.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            if json_only:
                raise InputError([(f"{source}:{e.lineno}", f"malformed JSON: {e.msg}")]) from None
        else:
            doc = Document(data, source)
            try:  # JSON is (almost always) YAML: reuse the YAML node tree for line numbers and duplicate keys
                # (YAML refuses \ud800-\udfff escapes, which JSON writes an emoji with: each is read as the private
                # use escape \ue800-\uefff of the same length, so that the lines are the same, and two keys differ
                # as they did)
                masked = _SURROGATE_ESCAPE.sub(r"\1\\uE\2", text) if "\\u" in text else text
                node = yaml.compose(masked, Loader=_NoDatesLoader)
                if node is not None:
                    _record_lines(node, (), doc.lines, source)
                if masked is not text:  # the keys as JSON reads them, so that a key with an emoji has its line
                    doc.lines = {tuple(map(_unmasked, path)): line for path, line in doc.lines.items()}
            except yaml.YAMLError:
                pass
            return doc
    try:
        _refuse_aliases_and_tags(text, source)
        node = yaml.compose(text, Loader=_NoDatesLoader)
        data = _construct(node) if node is not None else None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        # (the end of a text whose last line has no line feed is marked on the line after it: it is on the last)
        where = f"{source}:{min(mark.line + 1, max(1, len(text.splitlines())))}" if mark else source
        problem = _one_line(e.problem or str(e))
        if e.problem_mark is not None and text[e.problem_mark.index:][:1] == "\t":
            # (a tab is invisible: "found character that cannot start any token" does not say it is one)
            problem = "found a tab where YAML allows only spaces: indent with spaces, not tabs"
        opened = e.context_mark if e.problem_mark and e.context else None
        if opened is not None and opened.line != e.problem_mark.line:  # say where the unclosed [, { or " began
            what = _one_line(e.context).removeprefix("while ")
            what = _CONTEXTS.get(what.split(" ", 1)[-1], what)
            problem += f" (in {what} begun at line {opened.line + 1})"
        raise InputError([(where, f"malformed YAML: {problem}")]) from None
    except yaml.reader.ReaderError as e:  # a character YAML does not allow (NUL, most control characters)
        line = text.count("\n", 0, e.position) + 1
        raise InputError([(f"{source}:{line}", f"malformed YAML: {str(e).splitlines()[0]}")]) from None
    except yaml.YAMLError as e:
        raise InputError([(source, f"malformed YAML: {_one_line(str(e))}")]) from None
    doc = Document(data, source)
    if node is not None:
        _record_lines(node, (), doc.lines, source)
    return doc


# A \uD800-\uDFFF escape (not one whose backslash is itself escaped: an odd number of backslashes before the u)
_SURROGATE_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u[dD]([89a-fA-F][0-9a-fA-F]{2})")


_OTHER_BREAK = re.compile("\r(?!\n)|[\x85\u2028\u2029]")  # a line break of YAML's other than "\n" and "\r\n"


def block_list_starts(text: str) -> tuple[list[int], bool] | None:
    """Where each item of ``text`` starts (0-based lines), when it is a top-level block list without a tag, an
    anchor or a directive of its own, as YAML's parser reads it (its events: keys given twice, tags, anchors and
    aliases are not looked at), and whether the parser stopped on malformed YAML (then the items from the last
    one found on are not known: that one, or one after it, is malformed); else None."""
    starts: list[int] = []
    depth = 0  # 1 inside the top-level list, more inside its items
    ended = False
    # YAML also breaks lines at a carriage return alone, NEL, U+2028 and U+2029, where the caller's lines (as
    # read from a file) are only broken after "\n": its line is the count of "\n" before the item
    newlines = [m.start() for m in re.finditer("\n", text)] if _OTHER_BREAK.search(text) else None
    try:
        for event in yaml.parse(text, Loader=_NoDatesLoader):
            if isinstance(event, yaml.DocumentStartEvent) and (event.version or event.tags):
                return None  # (%YAML, %TAG: the document's, not to be lost with it)
            if isinstance(event, yaml.StreamStartEvent | yaml.StreamEndEvent | yaml.DocumentStartEvent
                          | yaml.DocumentEndEvent):
                continue
            if depth == 0:
                if ended or not isinstance(event, yaml.SequenceStartEvent) or event.flow_style \
                        or event.tag is not None or event.anchor is not None:
                    return None
                depth = 1
                continue
            if depth == 1:
                if isinstance(event, yaml.SequenceEndEvent):
                    depth, ended = 0, True
                    continue
                mark = event.start_mark
                starts.append(mark.line if newlines is None else bisect.bisect_left(newlines, mark.index))
            if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                depth += 1
            elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return (starts, True) if depth > 0 else None
    except (RecursionError, ValueError):
        return None
    return (starts, False) if ended else None


def _unmasked(key: Any) -> Any:
    """A key read from JSON whose \\ud800-\\udfff escapes were read as \\ue800-\\uefff: as JSON reads it (a
    surrogate pair one character)."""
    if not isinstance(key, str) or not any("\ue800" <= ch <= "\uefff" for ch in key):
        return key
    text = "".join(chr(ord(ch) - 0x1000) if "\ue800" <= ch <= "\uefff" else ch for ch in key)
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _too_deep(text: str) -> bool:
    """Brackets nested more than ``MAX_DEPTH`` deep (counting those in strings and comments too), checked before
    parsing: "[[[[...", a few MiB of it, would keep PyYAML busy for hours."""
    depth = 0
    for ch in re.sub(r"[^\[\]{}]+", "", text):
        depth += 1 if ch in "[{" else -1
        if depth > MAX_DEPTH:
            return True
    return False


def _one_line(message: str) -> str:
    return " ".join(message.split())


def file_key(path: str) -> str:
    """What makes two named inputs one file: its real path (``drafts/a.yaml``, ``./drafts/a.yaml`` and a link to
    it are one), or ``-`` for standard input."""
    return path if path == "-" else os.path.realpath(path)


# What PyYAML's "while parsing a flow sequence" and the like are, in a user's words.
_CONTEXTS = {"a flow sequence": "the list [...]", "a flow mapping": "the mapping {...}",
             "a quoted scalar": "the quoted text", "a block mapping": "the mapping",
             "a block collection": "the list", "a block scalar": "the block of text"}


def os_error_words(e: OSError) -> str:
    """What went wrong opening or reading a file, in a few words."""
    if isinstance(e, FileNotFoundError):
        name = e.filename if isinstance(e.filename, str) else None
        if name and os.path.islink(name):
            with contextlib.suppress(OSError):
                return f"a symbolic link to {os.readlink(name)}, which does not exist"
        return "no such file"
    if isinstance(e, PermissionError):
        return "permission denied"
    if isinstance(e, IsADirectoryError):
        return "is a directory, not a file"
    return e.strerror or str(e)


def read_bytes(path: str) -> tuple[bytes, str]:
    """Read a file (or stdin for ``-``), refusing anything over the size limit before reading it all."""
    if path == "-":
        source = "<stdin>"
        if sys.stdin is None:
            raise InputError([(source, "standard input is closed")])
        raw = sys.stdin.buffer.read(MAX_BYTES + 1)
    else:
        p = Path(path)
        source = path
        try:
            if p.is_dir():
                raise InputError([(source, "is a directory, not a file")])
            if p.stat().st_size > MAX_BYTES:
                raise InputError([(source, f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB")])
            with p.open("rb") as f:  # bounded: a device or a pipe (/dev/zero, /dev/stdin) has no size
                raw = f.read(MAX_BYTES + 1)
        except (FileNotFoundError, PermissionError, IsADirectoryError) as e:
            raise InputError([(source, os_error_words(e))]) from None
        except OSError as e:  # a name too long, a symlink loop, an I/O error
            raise InputError([(source, f"cannot be read: {os_error_words(e)}")]) from None
    if len(raw) > MAX_BYTES:
        raise InputError([(source, f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB")])
    return raw, source


def load_document(path: str) -> Document:
    raw, source = read_bytes(path)
    # UTF-8 (with or without a byte order mark), or UTF-16 or UTF-32 with theirs (PowerShell's `>` writes UTF-16)
    encoding = "utf-32" if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) else \
        "utf-16" if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as e:
        if encoding != "utf-8-sig":
            raise InputError([(source, f"not {encoding.upper()} text (byte {e.start + 1})")]) from None
        # (the line, and the byte of it, that an editor shows: "byte 19" of a file is not to be found)
        start = e.start + (len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0)
        line = raw.count(b"\n", 0, start) + 1
        byte = start - (raw.rfind(b"\n", 0, start) + 1) + 1
        raise InputError([(f"{source}:{line}", f"not UTF-8 text (byte {byte} of the line); save it as UTF-8")]) \
            from None
    return parse_text(text, source, json_only=source.endswith(".json"))


# Characters a rule or data text must not hold: control characters but tab and line feed (an ESC sequence would
# reach the terminal through `explain`), line and paragraph separators, and the bidirectional overrides that make
# text read otherwise than it is written.
_UNSAFE_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
URL_PATTERN = r"^https://[^\s<>\"\x00-\x1f\x7f]+$"  # a reference: a web address and nothing else


MAX_TRUSTED_TEXT = 4000  # characters in one text of a rules or data file (the longest, a rule's why, has 834)


def load_trusted_yaml(path: Path, within: Path | None = None) -> Document:
    """Load a rules or data file the same safe way as input (no aliases, no dates), with lines: a regular file
    (not a link, a device or a pipe) of at most ``MAX_BYTES``, in UTF-8, whose texts hold no control characters
    and at most ``MAX_TRUSTED_TEXT`` characters; with ``within``, a file of that folder reached through no link
    (a linked folder could read a file from anywhere). These files may come from a pull request: each problem is
    a ``RulebookError`` naming the file (malformed YAML an ``InputError``, as a draft's is)."""
    from .errors import RulebookError

    try:
        if path.is_symlink() or not path.is_file():
            raise RulebookError(f"{path}: not a regular file (a rules or data file cannot be a link, a folder, a "
                                "device or a pipe)")
        if within is not None and _linked(path, within):
            raise RulebookError(f"{path}: reached through a linked folder (a rules or data folder cannot be a "
                                "link)")
        if path.stat().st_size > MAX_BYTES:
            raise RulebookError(f"{path}: larger than {MAX_BYTES // (1024 * 1024)} MiB")
        raw = path.read_bytes()
    except OSError as e:
        raise RulebookError(f"{path}: cannot be read: {os_error_words(e)}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise RulebookError(f"{path}: not UTF-8 text (byte {e.start + 1})") from None
    doc = parse_text(text, str(path))
    checked = "\\" in text or _UNSAFE_TEXT.search(text)  # (only then can a text hold one: only an escape writes one)
    for where, value in _texts(doc.data, ()):
        if not isinstance(value, str):
            continue
        if len(value) > MAX_TRUSTED_TEXT:
            raise RulebookError(f"{doc.where(where)}: {_key_path(where)}: a text of {len(value):,} characters (at "
                                f"most {MAX_TRUSTED_TEXT:,})")
        if checked and (unsafe := _UNSAFE_TEXT.search(value)):
            raise RulebookError(f"{doc.where(where)}: {_key_path(where)}: holds the control character "
                                f"U+{ord(unsafe.group()):04X}, which a text here must not")
    return doc


def _linked(path: Path, within: Path) -> bool:
    """Whether ``path`` is outside ``within`` or reached through a link (a folder between them that is one)."""
    try:
        relative = path.absolute().relative_to(within.absolute())
    except ValueError:
        return True
    folder = within
    for part in relative.parts[:-1]:
        folder = folder / part
        if folder.is_symlink():
            return True
    return False


def _key_path(where: Path_) -> str:
    """A place in a file (``rules.3.then``), its keys' control characters written as escapes."""
    return escape_controls(".".join(map(str, where)))


_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")  # (tab, line feed)


def escape_controls(text: str) -> str:
    """``text`` (a key quoted in an error) with its control characters, bidirectional overrides and lone
    surrogates written as escapes: an error is one line, and must not move the cursor or write a CI log's
    workflow commands (a key "x\\n::error ..." printed a second line of its own)."""
    return escaped(text, _CONTROLS)


def escaped(text: str, characters: re.Pattern[str]) -> str:
    """``text`` with each of ``characters`` written as its code (``\\x1b``, ``\\u202e``); a byte of a file name
    that is not UTF-8 (Python holds byte 0xff as the lone surrogate U+DCFF) as that byte (``\\xff``), so that the
    output is UTF-8 and names the file as ``ls`` does."""
    return characters.sub(_code, text)


def _code(m: re.Match[str]) -> str:
    n = ord(m.group())
    if 0xDC80 <= n <= 0xDCFF:
        return f"\\x{n - 0xDC00:02x}"
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def _texts(data: Any, path: Path_) -> Iterator[tuple[Path_, Any]]:
    """Every key and value below ``data``, with its path."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield (*path, k), k
            yield from _texts(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _texts(v, (*path, i))
    else:
        yield path, data
