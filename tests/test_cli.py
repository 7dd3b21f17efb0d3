"""The command line: every command and option, the Advice v1 JSON shape (../shared/spec/advice.md), exit codes
(0 done, 2 usage error, 3 invalid input), clean stdout/stderr and colour control."""

from __future__ import annotations

import copy
import importlib.metadata
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

import s16advisor
from s16advisor.cli import app
from s16advisor.yamlio import load_trusted_yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "supported-living.yaml"
EXIT_OK, EXIT_USAGE, EXIT_INVALID = 0, 2, 3
ANSI = re.compile(r"\x1b\[")

runner = CliRunner()

# advice.md: the Advice v1 top-level keys, and the route ids with their kind.
ADVICE_KEYS = {"schema", "contract_id", "regime", "valuation", "routes", "recommended", "findings", "trace"}
ROUTE_KINDS = {
    "below_threshold": "regime",
    "open": "procedure",
    "restricted": "procedure",
    "competitive_procedure_with_negotiation": "procedure",
    "competitive_dialogue": "procedure",
    "competitive_flexible": "procedure",
    "innovation_partnership": "procedure",
    "light_touch": "procedure",
    "reserved_supported_business": "reservation",
    "reserved_public_service_mutual": "reservation",
    "small_lots": "exemption",
}
NOT_IN_PCR2015 = {"competitive_flexible"}


def rule_docs(regime: str) -> dict[str, dict[str, Any]]:
    """The rules of a regime, read straight from rules/<regime>/*.yaml (not through the rulebook code)."""
    rules: dict[str, dict[str, Any]] = {}
    for path in sorted((ROOT / "rules" / regime).glob("*.yaml")):
        for rule in load_trusted_yaml(path, within=ROOT / "rules").data["rules"]:
            assert rule["id"] not in rules, f"rule id {rule['id']} twice"
            rules[rule["id"]] = rule
    assert rules, f"no rules for {regime}"
    return rules


def all_rule_ids() -> set[str]:
    return {i for d in (ROOT / "rules").iterdir() if d.is_dir() for i in rule_docs(d.name)}


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=input, env=env)


def done(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == EXIT_OK, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.stderr == ""
    return result.stdout


def usage_error(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == EXIT_USAGE, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    return result.stderr


def example() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def below_threshold_supplies() -> dict[str, Any]:
    """Office supplies of a Welsh council, £100,000 + VAT in 2024: under the sub-central threshold (£214,904
    inclusive of VAT from 2024-01-01, SI 2023/1117), so Part 2 of PCR 2015 does not apply."""
    return {"id": "SUP-1", "title": "Stationery", "procurement_start": "2024-09-02", "contract_type": "supplies",
            "value": {"amount": 100000, "vat": "exclusive", "vat_rate": 0.2}, "duration_months": 24,
            "cpv": ["30192000-1"]}


def works_with_lots_2021() -> dict[str, Any]:
    """Works, £6m net of VAT with a small lot, commenced in 2021 when thresholds were net of VAT: the works
    threshold was £4,733,252 net (2020-2021), so the contract is above it."""
    return {"id": "WRK-1", "title": "School extension", "procurement_start": "2021-06-01", "contract_type": "works",
            "value": {"amount": 6000000, "vat": "exclusive", "vat_rate": 0.2}, "duration_months": 18,
            "cpv": ["45214200-2"],
            "lots": [{"id": "build", "value": 5500000}, {"id": "landscaping", "value": 500000, "small_lot": True}]}


def write(tmp_path: Path, data: dict[str, Any], name: str = "draft.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# --- advise: formats -------------------------------------------------------------------------------------------------

def check_advice_v1(advice: dict[str, Any]) -> None:
    """The invariants advice.md states for every Advice object."""
    assert ADVICE_KEYS <= advice.keys(), ADVICE_KEYS - advice.keys()
    assert advice["schema"] == "s16advisor/advice/1"
    assert advice["regime"]["id"] in {"pcr2015", "pa2023"}
    assert {"because", "reference"} <= advice["regime"].keys()
    assert {"value", "vat_basis", "threshold", "above_threshold"} <= advice["valuation"].keys()
    routes = advice["routes"]
    ids = [r["id"] for r in routes]
    assert sorted(ids) == sorted(ROUTE_KINDS), "every route id of the spec, each exactly once"
    by_id = {r["id"]: r for r in routes}
    for r in routes:
        assert {"id", "status", "kind", "because", "blocked_by", "conditions", "references"} <= r.keys(), r
        assert r["status"] in {"recommended", "available", "unavailable"}, r
        assert r["kind"] == ROUTE_KINDS[r["id"]], r
        if r["status"] == "unavailable":
            assert r["blocked_by"], f"{r['id']} is unavailable with no blocked_by"
            for b in r["blocked_by"]:
                assert {"code", "message", "reference"} <= b.keys() and b["code"] and b["message"], b
        else:
            assert not r["blocked_by"], f"{r['id']} is {r['status']} but blocked: {r['blocked_by']}"
    assert isinstance(advice["recommended"], list)
    assert len(advice["recommended"]) == len(set(advice["recommended"]))
    for rid in advice["recommended"]:
        assert by_id[rid]["status"] == "recommended", rid
    if not advice["recommended"]:
        assert all(r["status"] == "unavailable" for r in routes), "recommended is empty only when nothing is available"
    if advice["regime"]["id"] == "pcr2015":
        for rid in NOT_IN_PCR2015:
            assert by_id[rid]["status"] == "unavailable"
            assert [b["code"] for b in by_id[rid]["blocked_by"]] == ["not_in_regime"]
    for f in advice["findings"]:
        assert f["severity"] in {"error", "warning", "info"} and f["code"] and f["message"], f
    assert advice["trace"], "the trace lists every rule evaluated"
    for t in advice["trace"]:
        assert isinstance(t["rule"], str) and isinstance(t["fired"], bool) and isinstance(t["facts"], dict), t


@pytest.mark.parametrize("make", [example, below_threshold_supplies, works_with_lots_2021])
@pytest.mark.parametrize("option", ["--format", "-f"])
def test_advise_json_is_advice_v1(tmp_path: Path, make, option: str) -> None:  # type: ignore[no-untyped-def]
    data = make()
    advice = json.loads(done(run("advise", str(write(tmp_path, data)), option, "json")))
    check_advice_v1(advice)
    assert advice["contract_id"] == data["id"]


def test_advise_json_follows_the_law(tmp_path: Path) -> None:
    """A few answers fixed by the law and the spec, one per contract."""
    ex = json.loads(done(run("advise", str(EXAMPLE), "-f", "json")))
    assert ex["regime"]["id"] == "pcr2015"  # commenced 2024-09-02, before the Procurement Act 2023 go-live
    assert ex["valuation"]["threshold"]["name"] == "light_touch"  # welfare services: PCR Schedule 3
    assert ex["valuation"]["threshold"]["amount"] == 663540 and ex["valuation"]["above_threshold"] is True
    assert ex["recommended"][0] == "light_touch"

    sup = json.loads(done(run("advise", str(write(tmp_path, below_threshold_supplies())), "-f", "json")))
    assert sup["valuation"]["vat_basis"] == "inclusive"  # thresholds from 2022-01-01 include VAT
    assert sup["valuation"]["value"] == pytest.approx(120000)  # 100,000 + 20% VAT
    assert sup["valuation"]["above_threshold"] is False
    assert sup["recommended"] == ["below_threshold"]

    wrk = json.loads(done(run("advise", str(write(tmp_path, works_with_lots_2021(), "w.yaml")), "-f", "json")))
    assert wrk["valuation"]["vat_basis"] == "net"  # thresholds before 2022-01-01 are net of VAT
    assert wrk["valuation"]["value"] == pytest.approx(6000000)
    assert wrk["valuation"]["threshold"]["amount"] == 4733252 and wrk["valuation"]["above_threshold"] is True
    assert {r["id"]: r["status"] for r in wrk["routes"]}["below_threshold"] == "unavailable"


def test_advise_text(tmp_path: Path) -> None:
    out = done(run("advise", str(EXAMPLE), "--no-color"))
    data = example()
    assert f"{data['title']} ({data['id']})" in out.splitlines()[0]
    assert "Public Contracts Regulations 2015" in out
    for rid in ROUTE_KINDS:
        assert re.search(rf"^{rid}\s", out, re.M), f"route {rid} is not in the routes table"
    assert "Recommended plan" in out
    assert "Rule trace" not in out
    assert done(run("advise", str(EXAMPLE), "--format", "text", "--no-color")) == out  # text is the default


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_the_answer_comes_before_the_tables_it_rests_on(fmt: str) -> None:
    """An officer reads the regime, the valuation, the plan, what to do next and the findings first; the thresholds
    and routes tables (over a hundred lines on an 80-column terminal) follow. They came before the plan."""
    out = done(run("advise", str(ROOT / "examples" / "drafts" / "day-services-2024.yaml"), "--format", fmt,
                   "--no-color"))
    order = [out.index(heading) for heading in ("Regime", "Recommended plan", "What to do next", "Findings",
                                                "Thresholds in force on", "Routes", "References")]
    assert order == sorted(order), order


def test_a_step_two_routes_of_the_plan_share_is_said_once(tmp_path: Path) -> None:
    """Under the Act a light touch contract reserved to a mutual plans light_touch and competitive_flexible; the
    condition on lots marked small is on both, and "What to do next" says it once (text and Markdown)."""
    data = yaml.safe_load((ROOT / "examples" / "supported-living-2026.yaml").read_text(encoding="utf-8"))
    amount = data["value"]["amount"]
    data["lots"] = [{"id": "west", "value": 60000, "small_lot": True}, {"id": "east", "value": amount - 60000}]
    draft = tmp_path / "lots.yaml"
    draft.write_text(yaml.safe_dump(data), encoding="utf-8")
    advice = json.loads(done(run("advise", str(draft), "--format", "json")))
    assert advice["recommended"][:2] == ["light_touch", "competitive_flexible"], advice["recommended"]
    for fmt in ("text", "markdown"):
        out = " ".join(done(run("advise", str(draft), "--format", fmt, "--no-color")).split())
        assert out.count("no small-lots exemption was found in the Act") == 1, (fmt, out)


def test_a_finding_is_said_once_under_findings_not_again_as_a_step(tmp_path: Path) -> None:
    """The findings follow "What to do next" at once, with their severity: a warning's message is not repeated
    among the steps (the example's reg 77 bar was said three times in ten lines)."""
    advice = json.loads(done(run("advise", str(EXAMPLE), "--format", "json")))
    [bar] = [f["message"] for f in advice["findings"] if f["code"] == "prior_reserved_award"]
    for fmt in ("text", "markdown"):
        out = " ".join(done(run("advise", str(EXAMPLE), "--format", fmt, "--no-color")).split())
        assert out.count(bar) == 1, (fmt, out)


def test_advise_markdown() -> None:
    out = done(run("advise", str(EXAMPLE), "--format", "markdown"))
    data = example()
    assert out.startswith(f"# {data['title']} ({data['id']})\n")
    for rid in ROUTE_KINDS:
        assert f"| `{rid}` |" in out, rid
    assert "Rule trace" not in out
    assert not ANSI.search(out)


@pytest.mark.parametrize(("route", "said"), [("open", True), ("light_touch", False), ("below_threshold", False),
                                             (None, False)])
def test_a_declared_route_that_is_lawful_but_not_in_the_plan_is_acknowledged(tmp_path: Path, route: str | None,
                                                                              said: bool) -> None:
    """The example declares light_touch (in the plan: nothing to say); open is lawful but not planned (said);
    below_threshold is unavailable (its error finding says so, not this line)."""
    data = example()
    data.pop("route", None)
    if route:
        data["route"] = route
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(data, default=str))
    for fmt in ("text", "markdown"):
        out = " ".join(run("advise", str(draft), "--format", fmt, "--no-color").output.split())
        assert ("The draft declares open (Open procedure): lawful for this contract, but not in the recommended "
                "plan (light_touch, reserved_public_service_mutual): it may still be used" in out) == said, (fmt, out)
        assert ("The draft declares " + (route or "") + " (" in out) == said
    assert "but not in the recommended plan" not in done(run("advise", str(draft), "--format", "json"))


def test_a_declared_route_not_blocked_on_its_own_is_not_called_lawful_when_the_draft_has_an_error() -> None:
    """Under the Act, open with a reservation to a public service mutual: open is available, but the reservation
    cannot be combined with it (reservation_unavailable, an error): 'it may still be used' misled."""
    data = yaml.safe_load((ROOT / "examples" / "supported-living-2026.yaml").read_text(encoding="utf-8"))
    data["route"] = "open"
    result = run("advise", "-", "--format", "text", "--no-color", input=json.dumps(data, default=str))
    out = " ".join(result.output.split())
    assert "reservation_unavailable" in out, out
    assert "The draft declares open (Open procedure): not blocked on its own, but the draft as it stands is not " \
           "lawful: see the errors under Findings." in out
    assert "it may still be used" not in out


def test_a_line_break_in_a_title_or_a_supplier_does_not_break_the_markdown_out_of_its_heading_or_bullet(
        tmp_path: Path) -> None:
    data = example()
    data["title"] = "Supported living\n# not a heading"
    data["prior_reserved_awards"][0]["supplier"] = "Cartrefi\n- not a bullet"
    out = done(run("advise", str(write(tmp_path, data)), "--format", "markdown"))
    assert out.startswith(f"# Supported living # not a heading ({data['id']})\n")
    assert [line for line in out.splitlines() if line.startswith("# ")] == [out.splitlines()[0]]
    assert not any(line.startswith(("- not a bullet", "# not a heading")) for line in out.splitlines())
    assert "Cartrefi - not a bullet" in out


@pytest.mark.parametrize(("lot", "shown"), [("a|b", "Lot a\\|b ("), ("c\nd", "Lot c<br>d (")],
                         ids=["pipe", "line-break"])
def test_a_pipe_or_a_line_break_in_a_blocker_stays_in_its_markdown_table_cell(tmp_path: Path, lot: str,
                                                                            shown: str) -> None:
    data = {"id": "M-1", "title": "Lots", "procurement_start": "2024-06-03", "contract_type": "services",
            "value": {"amount": 900000, "vat": "exclusive", "vat_rate": 0}, "duration_months": 24,
            "cpv": ["79340000-9"], "route": "small_lots",
            "lots": [{"id": lot, "value": 450000, "small_lot": True}, {"id": "z", "value": 450000}]}
    out = done(run("advise", str(write(tmp_path, data)), "--format", "markdown"))
    row = next(line for line in out.splitlines() if line.startswith("| `small_lots` |"))
    assert shown in row
    assert len(re.split(r"(?<!\\)\|", row)) == 5  # | route | status | why |: three cells, however the lot is named
    assert re.search(r"^\| `\w+` \| \*\*recommended\*\* \|", out, re.M)  # (the plan's routes in bold)


def test_the_references_are_the_plans_then_the_findings_each_once() -> None:
    advice = json.loads(done(run("advise", str(EXAMPLE), "--format", "json")))
    routes = {r["id"]: r for r in advice["routes"]}
    expected = list(dict.fromkeys([*(x for rid in advice["recommended"] for x in routes[rid]["references"]),
                                   *(f["reference"] for f in advice["findings"])]))
    assert len(expected) < len([*(x for rid in advice["recommended"] for x in routes[rid]["references"]),
                                *(f["reference"] for f in advice["findings"])])  # (one is cited twice)
    markdown = done(run("advise", str(EXAMPLE), "--format", "markdown"))
    assert markdown.split("## References\n\n", 1)[1].splitlines() == [f"- <{x}>" for x in expected]
    text = done(run("advise", str(EXAMPLE), "--no-color"))
    assert [line.strip() for line in text.split("\nReferences\n", 1)[1].splitlines()] == expected


def test_a_reason_written_over_lines_with_windows_line_ends_is_one_report_line(tmp_path: Path) -> None:
    data = example()
    data["waivers"] = [{"code": "community_benefits", "reason": "Agreed\r\nby legal"}]
    out = run("check", str(write(tmp_path, data)), "--format", "text").stdout
    assert "(waived: Agreed\\nby legal)" in out and "\r" not in out and "\\x0d" not in out


def test_the_wide_thresholds_table_marks_the_threshold_that_applies_and_no_other() -> None:
    out = done(run("advise", str(EXAMPLE), "--no-color"))  # (not a terminal: 120 columns, the table)
    table = out.split("Thresholds in force on ", 1)[1].split("\nRoutes", 1)[0]
    marked = [line for line in table.splitlines() if line.rstrip().endswith(" applies")]
    assert len(marked) == 1 and marked[0].startswith("Social and other specific services (light-touch regime,")


def test_formats_agree(tmp_path: Path) -> None:
    """The three formats render the same advice: the recommended plan of the JSON appears in text and markdown."""
    path = str(write(tmp_path, works_with_lots_2021()))
    advice = json.loads(done(run("advise", path, "-f", "json")))
    text = done(run("advise", path, "--no-color"))
    markdown = done(run("advise", path, "-f", "markdown"))
    for i, rid in enumerate(advice["recommended"], 1):
        assert re.search(rf"^\s*{i}\. {rid}\b", text, re.M), rid
        assert rid in markdown
    for r in advice["routes"]:
        assert re.search(rf"^{r['id']}\s+│\s*{r['status']}", text, re.M), r["id"]
        assert re.search(rf"\| `{r['id']}` \| (\*\*)?{r['status']}", markdown), r["id"]


# --- advise --explain ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["text", "markdown"])
@pytest.mark.parametrize(("example", "regime"), [("supported-living.yaml", "pcr2015"),
                                                 ("supported-living-2026.yaml", "pa2023")])
def test_explain_shows_every_rule_of_the_regime(fmt: str, example: str, regime: str) -> None:
    ids = rule_docs(regime)  # (the Act's rule ids are the longest: none may be cut short)
    out = done(run("advise", str(ROOT / "examples" / example), "--explain", "--format", fmt, "--no-color"))
    assert "…" not in out
    assert "Rule trace" in out
    trace = out[out.index("Rule trace"):]
    missing = [i for i in ids if not re.search(rf"(^|[\s`]){re.escape(i)}([\s`]|$)", trace, re.M)]
    assert not missing, f"not in the trace: {missing}"


class _Terminal(io.StringIO):
    """Standard output as a terminal (rich sizes and styles for it)."""

    def isatty(self) -> bool:
        return True


def _traces_on_a_terminal(monkeypatch: pytest.MonkeyPatch, width: int) -> Iterator[tuple[Any, str]]:
    """Each example's advice, and the text of its --explain rule trace on a terminal ``width`` columns wide."""
    from s16advisor.advisor import advise_file
    from s16advisor.render.text import render

    monkeypatch.setenv("COLUMNS", str(width))
    for example in ("supported-living.yaml", "supported-living-2026.yaml"):
        advice = advise_file(str(ROOT / "examples" / example))
        out = _Terminal()
        render(advice, out, True, False)
        yield advice, out.getvalue()[out.getvalue().index("Rule trace"):]


@pytest.mark.parametrize("width", [120, 80, 50, 40])
def test_a_narrow_terminal_folds_what_does_not_fit_and_cuts_nothing(monkeypatch: pytest.MonkeyPatch,
                                                                      width: int) -> None:
    from rich.console import Console

    from s16advisor.advisor import advise_file
    from s16advisor.render.compare import render as compare
    from s16advisor.render.text import render

    print_cropped = Console.print  # rich cuts a line wider than the terminal: here it may not, so that one shows

    def print_whole(self: Console, *args: Any, **kw: Any) -> None:
        print_cropped(self, *args, **{**kw, "crop": False})

    monkeypatch.setattr(Console, "print", print_whole)
    monkeypatch.setenv("COLUMNS", str(width))
    advice = advise_file(str(ROOT / "examples" / "supported-living-2026.yaml"))
    out = _Terminal()
    render(advice, out, True, False)
    compare([advice, advice], "text", out, False)
    text = out.getvalue()
    # (but a web address, which is never cut: it is written whole, and the terminal wraps it)
    assert "…" not in text and max(len(line) for line in text.splitlines() if "://" not in line) <= width
    # every rule of the trace with its stage and whether it fired (a table too wide for the terminal dropped them)
    assert len(re.findall(r"\b(?:yes|no)\b", text.split("Rule trace", 1)[1])) >= len(advice.trace)
    if width >= 80:  # wide enough for every id whole
        assert all(re.search(rf"\b{r.id}\b", text) for r in advice.routes)
        assert all(t.rule in text for t in advice.trace)


@pytest.mark.parametrize("width", [30, 45])
def test_a_narrow_terminal_trace_says_of_each_rule_in_order_its_stage_and_whether_it_fired(
        monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    """Too narrow for the table, each rule is followed by 'stage N, fired: yes|no' (a yes said for a rule that did
    not fire was not caught: only the count of yes and no was)."""
    for advice, trace in _traces_on_a_terminal(monkeypatch, width):
        said = re.findall(r"^  stage (\d+), fired: (yes|no)$", trace, re.M)
        assert said == [(str(e.stage), "yes" if e.fired else "no") for e in advice.trace]
        assert {f for _, f in said} == {"yes", "no"}  # (both said: the test can tell them apart)


@pytest.mark.parametrize("width", [80, 100, 160])
def test_the_trace_shows_every_fact_whole_on_a_terminal(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    """At 80 columns the facts column beside the rule ids was 7 characters wide: 'blocked.small_lots=True' came out
    as 'blocke', 'd.smal', 'l_lots', '=True'. Where they do not fit beside the rule, they go under it."""
    for advice, trace in _traces_on_a_terminal(monkeypatch, width):
        assert max(len(line) for line in trace.splitlines()) <= width
        facts = [f"{k}={v}" for e in advice.trace for k, v in e.facts.items()]
        assert facts and all(f in trace for f in facts), [f for f in facts if f not in trace]


def test_json_trace_is_every_rule_of_the_regime() -> None:
    """advice.md: the trace holds every rule evaluated, fired or not; --explain does not change JSON."""
    advice = json.loads(done(run("advise", str(EXAMPLE), "-f", "json")))
    assert [t["rule"] for t in advice["trace"]] and {t["rule"] for t in advice["trace"]} == set(rule_docs("pcr2015"))
    assert len(advice["trace"]) == len(rule_docs("pcr2015"))
    assert json.loads(done(run("advise", str(EXAMPLE), "-f", "json", "--explain"))) == advice


def test_explain_trace_marks_what_fired() -> None:
    advice = json.loads(done(run("advise", str(EXAMPLE), "-f", "json")))
    out = done(run("advise", str(EXAMPLE), "--explain", "-f", "markdown"))
    for t in advice["trace"]:
        assert f"| `{t['rule']}` | {'yes' if t['fired'] else 'no'} |" in out, t["rule"]


def test_explain_in_text_marks_what_fired_and_what_did_not() -> None:
    advice = json.loads(done(run("advise", str(EXAMPLE), "-f", "json")))
    out = done(run("advise", str(EXAMPLE), "--explain", "--no-color"))
    for t in advice["trace"]:
        fired = "yes" if t["fired"] else "no"
        assert re.search(rf"^\s+{t['stage']} │ {re.escape(t['rule'])}\s+│ {fired}$", out, re.M), t["rule"]


def test_the_valuation_says_whether_the_value_is_at_or_above_the_threshold_or_below_it(tmp_path: Path) -> None:
    below = write(tmp_path, below_threshold_supplies())
    for fmt in ("text", "markdown"):
        assert ": at or above it." in " ".join(done(run("advise", str(EXAMPLE), "-f", fmt)).split())
        assert ": below it." in " ".join(done(run("advise", str(below), "-f", fmt)).split())


def test_the_markdown_routes_table_gives_an_unavailable_routes_blockers() -> None:
    out = done(run("advise", str(EXAMPLE), "-f", "markdown"))
    row = next(line for line in out.splitlines() if line.startswith("| `competitive_flexible` |"))
    assert row.startswith("| `competitive_flexible` | unavailable | `not_in_regime`: ")


@pytest.mark.parametrize("columns", ["120", "200", "60"])
def test_explain_in_text_keeps_every_fact_whole_for_grep(columns: str) -> None:
    """Piped, the facts column was 46 wide and folded recommended.reserved_public_service_mutual=True after 'Tru'."""
    advice = json.loads(done(run("advise", str(EXAMPLE), "-f", "json")))
    out = done(run("advise", str(EXAMPLE), "--explain", "--no-color", env={"COLUMNS": columns}))
    facts = [f"{k}={v}" for t in advice["trace"] for k, v in t["facts"].items()]
    assert facts and all(f in out for f in facts), [f for f in facts if f not in out]


# --- usage errors, help, version -------------------------------------------------------------------------------------

def test_format_bogus_is_a_usage_error() -> None:
    err = usage_error(run("advise", str(EXAMPLE), "--format", "bogus"))
    assert "bogus" in err and all(f in err for f in ("text", "json", "markdown"))


def test_advise_without_file_is_a_usage_error() -> None:
    assert "FILE" in usage_error(run("advise"))


def test_unknown_option_and_command_are_usage_errors() -> None:
    usage_error(run("advise", str(EXAMPLE), "--colour"))
    usage_error(run("advize", str(EXAMPLE)))


def test_no_arguments_prints_help() -> None:
    result = run()
    assert result.exit_code in (0, EXIT_USAGE)  # click >= 8.2 treats it as a usage error (2); before, 0
    out = result.stdout + result.stderr
    assert "Usage:" in out
    for command in ("advise", "explain", "rules", "thresholds"):
        assert re.search(rf"^\s+{command}\s", out, re.M), command


def test_version() -> None:
    out = done(run("--version"))
    assert out.strip() == f"s16advisor {s16advisor.__version__}"
    assert s16advisor.__version__ == importlib.metadata.version("s16advisor")


def _commands() -> list[str]:
    group = typer.main.get_command(app)
    return sorted(group.commands)  # type: ignore[attr-defined]


def test_the_documented_commands_are_registered() -> None:
    assert {"advise", "explain", "rules", "thresholds"} <= set(_commands())


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help(command: str) -> None:
    out = done(run(command, "--help"))
    assert out.startswith(f"Usage: s16advisor {command} "), out[:200]
    assert "--help" in out


USAGE = {"advise": "advise [OPTIONS] FILE", "check": "check [OPTIONS] PATH...", "review": "review [OPTIONS] INPUT...",
         "explain": "explain [OPTIONS] RULE", "rules": "rules [OPTIONS]", "thresholds": "thresholds [OPTIONS]"}


@pytest.mark.parametrize("command", _commands())
def test_help_names_arguments_and_values_in_words(command: str) -> None:
    # typer 0.2x showed "advise [OPTIONS] {FILE}", "FILE <str>", "{PATH...}...", "PATH... <list[str]>", "--regime <str>"
    out = done(run(command, "--help"))
    assert out.startswith(f"Usage: s16advisor {USAGE[command]}\n"), out[:200]
    listed = out[out.find("\nArguments:\n"):] if "\nArguments:\n" in out else out[out.find("\nOptions:\n"):]
    assert not re.search(r"[{}]|<[a-z][a-z\[\]|, ]*>", listed), listed
    for name in USAGE[command].split()[2:]:  # each argument, listed under its name as the usage line shows it
        assert re.search(rf"^  {re.escape(name)}  +[A-Z]", listed, re.M), listed
    assert not re.search(r"^  --?[a-z-]+(, --[a-z-]+)? [a-z<]", listed, re.M), listed  # an option's value: a WORD


def test_a_missing_argument_is_named_as_the_usage_line_names_it() -> None:
    err = usage_error(run("check"))
    assert err.startswith("Usage: s16advisor check [OPTIONS] PATH...\n") and "Missing argument 'PATH...'" in err


def test_top_level_help() -> None:
    out = done(run("--help"))
    assert "--version" in out
    for command in _commands():
        assert re.search(rf"^\s+{command}\s", out, re.M), command


def test_top_level_help_teaches_without_cutting_its_commands_short() -> None:
    """The command list showed 'Advise on one planned contract: the regime, the thresholds...': each command's
    summary is whole, on one line of an 80-column terminal, and the help shows what to run."""
    out = done(run("--help", env={"COLUMNS": "80"}))
    commands = out[out.index("\nCommands:\n"):]
    assert "..." not in commands
    assert all(len(line) <= 80 for line in out.splitlines())
    for command in _commands():
        assert re.search(rf"^  {command} +[A-Z]\S.*\.$", commands, re.M), commands
    assert re.search(r"^ +s16advisor advise draft\.yaml ", out, re.M), out


@pytest.mark.parametrize("command", _commands())
def test_every_commands_help_has_an_example(command: str) -> None:
    out = done(run(command, "--help"))
    assert re.search(r"^  Examples?:", out, re.M), out
    assert re.search(rf"^    s16advisor {command}\b", out, re.M), out


def test_python_m_help() -> None:
    result = subprocess.run([sys.executable, "-m", "s16advisor", "--help"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == EXIT_OK, result.stderr
    assert result.stdout.startswith("Usage: ")
    for command in _commands():
        assert command in result.stdout
    assert result.stderr == ""


# --- explain RULE_ID, rules ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rule_id", sorted(rule_docs("pcr2015")))
def test_explain_rule(rule_id: str) -> None:
    doc = rule_docs("pcr2015")[rule_id]
    out = done(run("explain", rule_id))
    assert out.startswith(f"{rule_id}: {doc['title']}\n")
    for ref in doc["references"]:
        assert re.search(rf"^\s+reference:\s+{re.escape(ref)}$", out, re.M), ref
    to = doc["in_force"].get("to")
    assert f"{doc['in_force']['from']} to {to or 'now'}" in out
    assert "rules/pcr2015/" in out  # where the rule comes from


def test_explain_shows_what_a_rule_decides_why_its_limits_and_what_is_not_verified() -> None:
    docs = {**rule_docs("pcr2015"), **rule_docs("pa2023")}
    for rule_id in [i for i, d in docs.items() if d.get("verify")][:3] + [i for i, d in docs.items()
                                                                        if d.get("limits")][:3]:
        out = " ".join(done(run("explain", rule_id)).split())  # (one line in a pipe: each field's words whole)
        for label in ("decides", "why", "limits", "verify"):
            if docs[rule_id].get(label):
                assert f"{label}: {' '.join(docs[rule_id][label].split())}" in out, (rule_id, label)
    assert any(d.get("verify") for d in docs.values()) and any(d.get("limits") for d in docs.values())


@pytest.mark.parametrize("rule_id", ["pcr2015.nope", "", "PCR2015.SCOPE.WORKZ"])
def test_explain_unknown_rule_is_a_usage_error(rule_id: str) -> None:
    err = usage_error(run("explain", rule_id))
    assert repr(rule_id) in err


def test_explain_suggests_close_rule_ids() -> None:
    err = usage_error(run("explain", "works"))
    assert "pcr2015.scope.works" in err
    err = usage_error(run("explain", "pa2023.reservations"))  # a regime and a file: its rules, not PCR's
    assert "did you mean pa2023.reservations." in err and "pcr2015" not in err
    err = usage_error(run("explain", "pa2023.reservatons.s33_duraton"))  # misspelt
    assert "did you mean pa2023.reservations.s33_duration" in err
    err = usage_error(run("explain", "pcr2015.scope.regime.x"))  # a rule id and more
    assert err.endswith("(did you mean pcr2015.scope.regime?)\n")
    # a rule id a letter short: that rule first (it came last of five, after rules that merely hold "regim")
    err = usage_error(run("explain", "pa2023.scope.regim"))
    assert "(did you mean pa2023.scope.regime, " in err, err
    err = usage_error(run("explain", "pa2023.findings.near_threshol"))  # (PCR 2015's came first)
    assert "(did you mean pa2023.findings.near_threshold, pcr2015.findings.near_threshold?)" in err, err


def test_explain_takes_an_id_as_pasted_and_names_the_rules_behind_a_code() -> None:
    assert done(run("explain", " PCR2015.Scope.Regime ")).startswith("pcr2015.scope.regime: ")
    err = usage_error(run("explain", "duration_over_limit"))  # a blocker code, as advise and check print it
    assert "duration_over_limit is a code: the rules that give it are pcr2015.reservations.reg77_duration, " \
           "pa2023.reservations.s33_duration" in err
    assert "the rules that give it are pcr2015.reservations.reg77_prior_award" in usage_error(
        run("explain", "pa2023.findings.prior_reserved_award"))
    assert "finding code that `check` gives" in usage_error(run("explain", "waiver_expired"))
    assert done(run("explain", "PA2023.FINDINGS.NEAR_THRESHOLD.")).startswith("pa2023.findings.near_threshold: ")
    assert "near_threshold is a code" in usage_error(run("explain", " Near_Threshold "))
    assert usage_error(run("explain", " ")).endswith("no rule ' ': give a rule id (see `s16advisor rules`)\n")


def test_a_bad_format_shows_the_commands_usage_line() -> None:
    assert usage_error(run("advise", str(EXAMPLE), "--format", "xml")).startswith(
        "Usage: s16advisor advise [OPTIONS] FILE\nError: --format: 'xml' is not one of text, json, markdown")
    assert usage_error(run("check", str(EXAMPLE), "--format", "xml")).startswith(
        "Usage: s16advisor check [OPTIONS] PATH...\n")


def test_rules_lists_every_rule() -> None:
    out = done(run("rules"))
    listed = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert len(listed) == len(set(listed))
    assert set(rule_docs("pcr2015")) <= set(listed)
    assert set(listed) <= all_rule_ids()


def test_rules_for_one_regime_with_dates() -> None:
    docs = rule_docs("pcr2015")
    out = done(run("rules", "--regime", "pcr2015"))
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert set(lines) == set(docs)
    for rule_id, doc in docs.items():
        to = doc["in_force"].get("to")
        assert f"{doc['in_force']['from']}..{to or 'now'}" in lines[rule_id], lines[rule_id]
        assert lines[rule_id].rstrip().endswith(doc["title"])


def test_rules_for_another_known_regime() -> None:
    listed = [line.split()[0] for line in done(run("rules", "--regime", "pa2023")).splitlines() if line.strip()]
    assert all(i.startswith("pa2023.") for i in listed) and set(listed) <= all_rule_ids()


def test_check_refuses_to_write_its_report_over_one_of_the_drafts(tmp_path: Path) -> None:
    draft = write(tmp_path, example())
    before = draft.read_bytes()
    err = usage_error(run("check", str(tmp_path), "--format", "json", "-o", str(draft)))
    assert f"--output: {draft} is one of the drafts" in err
    assert draft.read_bytes() == before


def test_check_output_naming_standard_output_writes_the_report_there_not_to_a_file(tmp_path: Path,
                                                                                  monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    draft = write(tmp_path, example())
    result = run("check", str(draft), "--format", "json", "-o", "-")
    assert result.exit_code == EXIT_OK, result.stderr
    assert json.loads(result.stdout)["summary"]["passed"] == 1 and "1 passed" in result.stderr
    assert not (tmp_path / "-").exists()


def test_check_output_that_cannot_be_written_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    report = tmp_path / "no-such-folder" / "report.sarif"
    err = usage_error(run("check", str(write(tmp_path, example())), "--format", "sarif", "-o", str(report)))
    assert err.startswith(f"error: --output: cannot write {report}: ")


def test_rules_for_an_unknown_regime_is_a_usage_error() -> None:
    """A typo must not look like a regime without rules."""
    err = usage_error(run("rules", "--regime", "pcr2006"))
    assert "pcr2006" in err and "pcr2015" in err
    assert "--regime: '' is not one of" in usage_error(run("rules", "--regime", ""))  # (not every rule)


# --- thresholds ------------------------------------------------------------------------------------------------------

def _thresholds(day: str) -> dict[str, str]:
    out = done(run("thresholds", "--on", day))
    head, *lines = out.splitlines()
    assert head.startswith(f"{day}: Public Contracts Regulations 2015")
    rows: dict[str, str] = {}
    name = ""
    for line in lines:  # a threshold's figures, then its title and reference indented under them
        if line.startswith("    "):
            rows[name] += "\n" + line
        else:
            name = line.split()[0]
            rows[name] = line
    return rows


# The reg 5 thresholds either side of SI 2021/1221, which made them inclusive of VAT from 2022-01-01.
NET_2020 = {"supplies_services_central": "122,976", "supplies_services_sub_central": "189,330",
            "works": "4,733,252", "light_touch": "663,540"}
INCLUSIVE_2022 = {"supplies_services_central": "138,760", "supplies_services_sub_central": "213,477",
                  "works": "5,336,937", "light_touch": "663,540"}


def test_thresholds_net_until_2021_12_31() -> None:
    rows = _thresholds("2021-12-31")
    for name, amount in NET_2020.items():
        assert f"£{amount}" in rows[name].replace(" ", ""), rows[name]
        assert "net of VAT" in rows[name] and "inclusive" not in rows[name], rows[name]
        assert "from 2020-01-01" in rows[name]


def test_thresholds_inclusive_from_2022_01_01() -> None:
    rows = _thresholds("2022-01-01")
    for name, amount in INCLUSIVE_2022.items():
        assert f"£{amount}" in rows[name].replace(" ", ""), rows[name]  # "£     138,760"
        assert "inclusive of VAT" in rows[name] and "net of VAT" not in rows[name], rows[name]
        assert "from 2022-01-01" in rows[name]
        assert "legislation.gov.uk/uksi/2021/1221" in rows[name]


def test_thresholds_show_the_titles_advise_uses_and_amounts_as_written() -> None:
    """thresholds named each threshold by its id only ('light_touch'), where advise names it by its title ('Social
    and other specific services (light-touch regime, Schedule 3)'), and wrote '£     663,540'."""
    from s16advisor.advisor import advise_file

    advice = advise_file(str(EXAMPLE))
    out = " ".join(done(run("thresholds", "--on", advice.procurement_start.isoformat())).split())
    for t in advice.valuation.thresholds_in_force:
        assert f"{t.name} £{t.amount:,.0f} " in out, t.name
        assert t.title in out, t.title


def test_thresholds_show_each_figures_verify_note_as_advise_json_carries_it() -> None:
    from s16advisor.advisor import advise_file

    advice = advise_file(str(ROOT / "examples" / "supported-living-2026.yaml"))
    out = " ".join(done(run("thresholds", "--on", advice.procurement_start.isoformat())).split())
    noted = [t for t in advice.valuation.thresholds_in_force if t.verify]
    assert noted  # (the 2026 figures are from guidance)
    for t in noted:
        assert f"verify: {' '.join(t.verify.split())}" in out, t.name


@pytest.mark.parametrize(("day", "words"), [("notadate", "must be a date written YYYY-MM-DD"),
                                           ("2022-02-30", "is not a date that exists"),
                                           ("01/01/2022", "must be a date written YYYY-MM-DD"),
                                           ("2022-1-1", "must be a date written YYYY-MM-DD"),
                                           ("", "must be a date written YYYY-MM-DD")])  # (not today's)
def test_thresholds_bad_date_is_a_usage_error(day: str, words: str) -> None:
    assert f"--on: '{day}'" in usage_error(run("thresholds", "--on", day))
    assert words in run("thresholds", "--on", day).stderr


def test_explain_with_compare_regimes_is_a_usage_error_not_ignored() -> None:
    message = usage_error(run("advise", str(EXAMPLE), "--compare-regimes", "--explain"))
    assert "--explain and --compare-regimes cannot be used together" in message


def test_thresholds_before_pcr_2015() -> None:
    result = run("thresholds", "--on", "2015-02-25")
    assert result.exit_code == 2 and result.stdout == ""  # an option value no regime covers: a usage error
    assert "2015-02-26" in result.stderr


# --- stdout / stderr, colour -----------------------------------------------------------------------------------------

def _cli(*args: str, env: dict[str, str] | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    full_env.update(env or {})
    if "stdout" not in kw:
        kw["capture_output"] = True
    return subprocess.run([sys.executable, "-m", "s16advisor", *args], text=True, timeout=120, env=full_env, **kw)


@pytest.mark.parametrize("output", [[], ["-o", "/dev/stdout"]], ids=["stdout", "-o /dev/stdout"])
def test_a_pipe_closed_early_leaves_the_exit_code_and_the_summary_as_they_would_be(output: list[str]) -> None:
    drafts = [str(EXAMPLE), str(ROOT / "examples" / "supported-living-2026.yaml")]
    for _ in range(5):  # (whether the reader has gone before the first write is a matter of timing)
        p = subprocess.Popen([sys.executable, "-m", "s16advisor", "check", *drafts, "--format", "json", *output],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert p.stdout is not None and p.stderr is not None
        p.stdout.readline()
        p.stdout.close()
        err = p.stderr.read().decode()
        assert p.wait(timeout=120) == EXIT_OK, err
        assert "2 drafts, 2 passed" in err and "Traceback" not in err and "Exception ignored" not in err


def test_review_to_dev_stdout_whose_reader_goes_early_ends_as_it_would_have(tmp_path: Path) -> None:
    records = tmp_path / "in.jsonl"
    line = json.dumps(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")) | {"waivers": []}, default=str)
    records.write_text("".join(line.replace('"PEM-2024-014"', f'"R-{i}"') + "\n" for i in range(400)))
    p = subprocess.Popen([sys.executable, "-m", "s16advisor", "review", str(records), "-o", "/dev/stdout",
                          "--jobs", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout is not None and p.stderr is not None
    p.stdout.read(10)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == EXIT_OK, err
    assert "400 records read, 400 results written" in err and "Broken pipe" not in err


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
def test_output_to_a_file_is_utf8_whatever_the_locale_says(tmp_path: Path, encoding: str) -> None:
    for fmt in ("text", "json", "markdown"):
        out = tmp_path / f"advice.{fmt}"
        with out.open("wb") as f:
            result = _cli("advise", str(EXAMPLE), "--format", fmt, env={"PYTHONIOENCODING": encoding}, stdout=f,
                          stderr=subprocess.PIPE)
        assert result.returncode == EXIT_OK, result.stderr
        text = out.read_bytes().decode("utf-8")
        assert "£1,450,000" in text
        if fmt == "json":
            json.loads(text)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_output_that_cannot_be_written_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    for args in (["advise", str(EXAMPLE), "--format", "json"], ["rules"], ["check", str(EXAMPLE), "-f", "sarif"]):
        with open("/dev/full", "w") as full:
            result = _cli(*args, stdout=full, stderr=subprocess.PIPE)
        assert result.returncode == EXIT_USAGE, result.stderr
        assert result.stderr.strip() == "error: cannot write the output: No space left on device", result.stderr
    closed = subprocess.run(f"'{sys.executable}' -m s16advisor advise '{EXAMPLE}' >&-", shell=True,
                            capture_output=False, stderr=subprocess.PIPE, text=True, timeout=120)
    assert closed.returncode == EXIT_USAGE and "standard output is closed" in closed.stderr, closed.stderr
    report = tmp_path / "report.txt"  # standard output closed but not used: nothing wrong
    closed = subprocess.run(f"'{sys.executable}' -m s16advisor check '{EXAMPLE}' -o '{report}' >&-", shell=True,
                            stderr=subprocess.PIPE, text=True, timeout=120)
    assert closed.returncode == EXIT_OK and "1 passed" in closed.stderr and report.read_text(), closed.stderr


@pytest.mark.parametrize(("title", "shown", "forbidden"), [
    ("Care \x1b]0;pwned\x07\x1b[2J\x9b1m", "Care \\x1b]0;pwned\\x07\\x1b[2J\\x9b1m", "[\x00-\x08\x0b-\x1f\x7f-\x9f]"),
    # U+202E reverses what follows it on a terminal that does bidi (and in a browser showing a CI log)
    ("Care \u202eevil\u202c \u2066x\u2069\u2028y", "Care \\u202eevil\\u202c \\u2066x\\u2069\\u2028y",
     "[\u202a-\u202e\u2066-\u2069\u2028\u2029]"),
], ids=["control characters", "bidirectional overrides"])
def test_control_characters_and_bidirectional_overrides_in_a_draft_are_shown_not_obeyed(
        tmp_path: Path, title: str, shown: str, forbidden: str) -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["title"] = title
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(data, default=str), encoding="utf-8")
    for args in (["--format", "text"], ["--format", "markdown"], ["--compare-regimes"], ["--explain"]):
        result = run("advise", str(path), "--no-color", *args)
        assert result.exit_code == EXIT_OK, result.output
        assert not re.search(forbidden, result.stdout), args
        assert shown in result.stdout, args
    as_json = json.loads(run("advise", str(path), "--format", "json").stdout)
    assert as_json["title"] == data["title"]  # JSON escapes them itself: the data stays as it was


def test_json_stdout_is_clean() -> None:
    result = _cli("advise", str(EXAMPLE), "--format", "json")
    assert result.returncode == EXIT_OK, result.stderr
    assert result.stderr == ""
    check_advice_v1(json.loads(result.stdout))  # the whole of stdout is one JSON document
    assert result.stdout.endswith("}\n")


def test_errors_go_to_stderr_only(tmp_path: Path) -> None:
    bad = copy.deepcopy(example())
    bad["value"]["amount"] = -1
    result = _cli("advise", str(write(tmp_path, bad)), "--format", "json")
    assert result.returncode == EXIT_INVALID
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and "value.amount" in result.stderr


def test_usage_errors_go_to_stderr_only() -> None:
    result = _cli("advise", str(EXAMPLE), "--format", "bogus")
    assert result.returncode == EXIT_USAGE and result.stdout == "" and "bogus" in result.stderr


def _on_a_terminal(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """Run the CLI with stdout and stderr on a pseudo-terminal, as a user at a terminal would."""
    import pty

    primary, secondary = pty.openpty()
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    full_env.update({"TERM": "xterm-256color", "COLUMNS": "120", **env})
    proc = subprocess.Popen([sys.executable, "-m", "s16advisor", *args], stdout=secondary, stderr=secondary,
                            env=full_env)
    os.close(secondary)
    out = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(primary)
    return proc.wait(timeout=120), out.decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
@pytest.mark.parametrize("explain", [False, True], ids=["plain", "explain"])
@pytest.mark.parametrize(("flags", "env", "coloured"), [
    ((), {}, True),  # so that the two cases below can fail
    (("--no-color",), {}, False),
    ((), {"NO_COLOR": "1"}, False),
], ids=["default", "--no-color", "NO_COLOR=1"])
def test_colour_on_a_terminal(flags: tuple[str, ...], env: dict[str, str], coloured: bool, explain: bool) -> None:
    """On a terminal the text is coloured unless --no-color or NO_COLOR asks for none: then there is no ANSI
    escape at all (not even bold or dim)."""
    code, out = _on_a_terminal("advise", str(EXAMPLE), *flags, *(["--explain"] if explain else []), env=env)
    assert code == EXIT_OK, out[-2000:]
    assert "Recommended plan" in out
    assert bool(ANSI.search(out)) is coloured


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
@pytest.mark.parametrize("args", [("explain", "pa2023.reservations.s33_duration"), ("rules",),
                                  ("thresholds", "--on", "2026-03-01")], ids=["explain", "rules", "thresholds"])
def test_plain_commands_fit_an_80_column_terminal(args: tuple[str, ...]) -> None:
    """explain, rules and thresholds printed lines of up to 193 characters, which the terminal broke mid-word at
    its edge under no indent; on a terminal their text is wrapped under its label (a web address is never cut)."""
    code, out = _on_a_terminal(*args, env={"COLUMNS": "80"})
    assert code == EXIT_OK, out[-2000:]
    long = [line for line in out.splitlines() if len(line) > 80 and "://" not in line]
    assert not long, long
    piped = done(run(*args))  # in a pipe, one line each, for grep
    assert " ".join(piped.split()) == " ".join(out.replace("\r", "").split())


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_the_routes_on_an_80_column_terminal_give_each_route_its_status_and_its_reasons_under_it() -> None:
    """Beside the longest route id and the status, an 80-column table left the reasons about 26 characters (over
    80 lines, 'innovation.solution_avai|lable_on_market' cut): each route's id and status on a line, its reasons
    under it."""
    code, out = _on_a_terminal("advise", str(EXAMPLE), "--no-color", env={"COLUMNS": "80"})
    assert code == EXIT_OK, out[-2000:]
    lines = [line.rstrip() for line in out.replace("\r", "").splitlines()]
    routes = lines[lines.index("Routes") + 1:lines.index("References")]
    advice = json.loads(done(run("advise", str(EXAMPLE), "--format", "json")))
    heads = [line.split() for line in routes if not line.startswith("    ")]
    assert heads == [[r["id"], r["status"]] for r in advice["routes"]]
    text = " ".join(" ".join(routes).split())
    for r in advice["routes"]:
        for b in r["blocked_by"]:
            assert f"{b['code']}: {' '.join(b['message'].split())}" in text
    # The thresholds too: each title on a line (wrapped under itself), its figures under it.
    from s16advisor.render.common import MAIN_THRESHOLDS_EXCLUDE

    start = next(i for i, x in enumerate(lines) if x.startswith("Thresholds in force on"))
    shown_text = " ".join(" ".join(lines[start + 1:lines.index("Routes")]).split())
    main = [t for t in advice["valuation"]["thresholds_in_force"] if not t["name"].startswith(MAIN_THRESHOLDS_EXCLUDE)]
    assert len(main) == 4
    for t in main:
        assert t["title"] in shown_text, t["title"]
    assert f"{advice['valuation']['threshold']['title']} applies" in shown_text
    assert all(len(x) <= 80 for x in lines), [x for x in lines if len(x) > 80]
    wide = done(run("advise", str(EXAMPLE), "--no-color"))  # (a pipe: 120 columns, the tables)
    assert "why / blocked by" in wide and "contract value" in wide


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_compare_regimes_on_an_80_column_terminal_keeps_every_id_and_code_whole() -> None:
    """The table needs about 114 columns; at 80 its cells split ids mid-word (reserved_supported_bus|iness,
    at_or_above_threshol|d). A narrow terminal gets each aspect with a line per regime instead."""
    code, out = _on_a_terminal("advise", str(ROOT / "examples" / "supported-living-2026.yaml"), "--compare-regimes",
                               "--no-color", env={"COLUMNS": "80"})
    assert code == EXIT_OK, out[-2000:]
    lines = [line.rstrip() for line in out.replace("\r", "").splitlines()]
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    words = set(" ".join(lines).replace("(", " ").replace(")", " ").split())
    for rid in ROUTE_KINDS:
        assert rid in words, rid
    assert "at_or_above_threshold" in words and "duration_over_limit" in words
    i = lines.index("restricted  differs")
    assert lines[i + 1].split() == ["pa2023", "unavailable", "(not_in_regime)"] and \
        lines[i + 2].split() == ["pcr2015", "available"]


@pytest.mark.parametrize("how", ["--no-color", "NO_COLOR=1", "piped"])
@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_no_colour_when_asked_or_piped(how: str, fmt: str) -> None:
    args = ["advise", str(EXAMPLE), "--format", fmt, "--explain"]
    env = {"NO_COLOR": "1"} if how == "NO_COLOR=1" else {}
    if how == "--no-color":
        args.append(how)
    result = _cli(*args, env=env)
    assert result.returncode == EXIT_OK, result.stderr
    assert result.stdout.strip()
    assert not ANSI.search(result.stdout + result.stderr)


def _with_rules(rules: Path, monkeypatch: pytest.MonkeyPatch, change: Any, command: list[str]) -> Any:
    """``command`` run on a copy of the rules at ``rules``, changed by ``change()``."""
    import shutil

    from s16advisor import advisor, rulebook

    shutil.copytree(ROOT / "rules", rules)
    change()
    monkeypatch.setattr(rulebook, "rules_dir", lambda: rules)
    rulebook.default_rulebook.cache_clear()
    advisor.default_advisor.cache_clear()
    monkeypatch.chdir(ROOT)
    try:
        return CliRunner().invoke(app, command)
    finally:
        rulebook.default_rulebook.cache_clear()
        advisor.default_advisor.cache_clear()


@pytest.mark.parametrize("command", [["advise", "examples/supported-living.yaml"], ["check", "examples/drafts"],
                                     ["review", "examples/supported-living.yaml", "--jobs", "1"],
                                     ["review", "examples/supported-living.yaml", "examples/drafts/", "--jobs", "2"]])
def test_rules_that_do_not_load_are_one_error_line_and_exit_3_for_every_command(tmp_path, monkeypatch, command):
    rules = tmp_path / "rules"
    stray = rules / "README.md"
    result = _with_rules(rules, monkeypatch, lambda: stray.write_text("a file that is not a rule file\n"), command)
    assert result.exit_code == 3, (result.output, result.exception)
    assert result.stderr.splitlines()[0] == (f"error: {rules / 'README.md'}: not a rule file, so its rules would not "
                                             "be read (rule files are rules/<regime>/<name>.yaml, and "
                                             "rules/regimes.yaml)")
    assert "Traceback" not in result.output


def test_the_advices_json_validates_back_into_the_advice_model_and_an_unknown_route_is_a_key_error() -> None:
    from s16advisor.advice import Advice
    from s16advisor.advisor import advise_file

    advice = advise_file(str(EXAMPLE))
    for text in (done(run("advise", str(EXAMPLE), "--format", "json")),
                 done(run("advise", str(EXAMPLE), "--format", "json", "--explain"))):
        again = Advice.model_validate_json(text)
        assert again.to_json_dict() == json.loads(text)
    assert Advice.model_validate(advice.to_json_dict()) == advice
    with pytest.raises(KeyError, match="no route 'reg77'"):
        advice.route("reg77")


@pytest.mark.parametrize("command", [["explain", "pcr2015.lots.small_lots_no_lots"], ["rules"],
                                     ["advise", "examples/supported-living.yaml"]])
def test_a_rule_quoting_an_unknown_placeholder_is_refused_by_explain_and_rules_as_by_advise(tmp_path, monkeypatch,
                                                                                             command):
    """A rule's author checks a new rule with explain: it refuses what advise would (it printed the rule)."""
    lots = tmp_path / "rules" / "pcr2015" / "lots.yaml"

    def misspell() -> None:
        text = lots.read_text(encoding="utf-8")
        assert "message: The contract is not divided into lots." in text
        lots.write_text(text.replace("message: The contract is not divided into lots.",
                                     "message: The contract is not divided into lots ({lots.cuont}).", 1))

    result = _with_rules(tmp_path / "rules", monkeypatch, misspell, command)
    assert result.exit_code == 3, (result.output, result.exception)
    assert "unknown placeholder {lots.cuont}: did you mean {lots.count}?" in result.stderr


def test_a_reservation_lawful_but_not_planned_is_named_for_the_officer_as_the_review_counts_it(tmp_path):
    """The Section 16 view of one advice: a reservation lawful for the contract but not in its plan (what the
    review's summary counts as "could be reserved"), and one closed by the term alone, in text and markdown."""
    care = {"id": "DOM-1", "title": "Domiciliary care", "procurement_start": "2026-04-01", "contract_type": "services",
            "value": {"amount": 3000000, "vat": "exclusive", "vat_rate": 0}, "duration_months": 60,
            "cpv": ["85312400-3"], "reasons_for_not_lotting": "One area."}
    text = done(run("advise", str(write(tmp_path, care)), "--no-color"))
    section = text.split("Reservations to consider\n", 1)[1].split("Findings", 1)[0]
    assert "Reserved for public service mutuals (s.33) is lawful for this contract but not in the plan: to plan it, " \
           "declare\n    reservation: public_service_mutual, or the objective social_value_models." in section
    assert "supported employment providers (s.32) is lawful" in section
    review = run("review", str(tmp_path / "draft.yaml"), "-o", str(tmp_path / "r.csv"))
    assert "Section 16: 1 contract worth £3.0m could be reserved but is not" in review.stderr
    markdown = done(run("advise", str(write(tmp_path, {**care, "duration_months": 84})), "-f", "markdown"))
    assert "## Reservations to consider\n\n- Reserved for public service mutuals (s.33) is closed by the term alone: " \
           "The maximum term is 84 months; a s.33 contract may last at most 60 months" in markdown
    planned = done(run("advise", str(write(tmp_path, {**care, "reservation": "public_service_mutual"})), "--no-color"))
    assert "Reservations to consider" not in planned  # (a contract planned as reserved is not one that could be)
    long = {**care, "duration_months": 84}
    planned = done(run("advise", str(write(tmp_path, {**long, "reservation": "supported_business"})), "--no-color"))
    assert "Reservations to consider" not in planned  # (nor is the term said to close the other reservation)
    both = done(run("advise", str(write(tmp_path, {**long, "cpv": ["85312400-3", "79340000-9"]})), "--no-color"))
    assert "closed by the term alone" not in both  # (the term and a code outside s.33's list close it)


def test_compared_values_say_their_vat_basis_net_before_2022_inclusive_under_the_act(tmp_path):
    """£170,000 net in 2019 is £204,000 with VAT under the Act: one contract, two figures, each with its basis."""
    draft = {**below_threshold_supplies(), "procurement_start": "2019-06-03", "contract_type": "services",
             "value": {"amount": 170000, "vat": "exclusive", "vat_rate": 0.2}, "cpv": ["79340000-9"]}
    out = json.loads(done(run("advise", str(write(tmp_path, draft)), "--compare-regimes", "-f", "json")))
    row = next(r for r in out["differences"] if r["aspect"] == "value and threshold")
    assert (row["pcr2015"], row["pa2023"]) == ("£170,000 net of VAT below supplies_services_sub_central £181,302",
                                               "£204,000 inclusive of VAT below supplies_services_sub_central £214,904")


def test_a_compared_vat_exempt_value_says_no_vat_is_charged_as_the_advice_does() -> None:
    text = " ".join(done(run("advise", str(EXAMPLE), "--compare-regimes", "--no-color")).split())
    assert text.count("£1,450,000 with no VAT charged at or above") == 2  # (each regime's column)
    assert "inclusive of VAT" not in text


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_the_thresholds_table_says_what_it_leaves_out_and_where_it_is(fmt: str) -> None:
    """The table headed 'Thresholds in force' left out the small-lot values and the Community Benefits figure
    without saying so, though `thresholds` and the JSON list them."""
    pcr = done(run("advise", str(EXAMPLE), "-f", fmt, "--no-color") if fmt == "text" else
               run("advise", str(EXAMPLE), "-f", fmt))
    assert "Not shown: the small-lot values and the Community Benefits policy figure (s16advisor thresholds --on " \
           "2024-09-02)." in " ".join(pcr.split())
    act = done(run("advise", str(ROOT / "examples" / "supported-living-2026.yaml"), "-f", fmt))
    assert "Not shown: the Community Benefits policy figure (s16advisor thresholds --on 2026-03-01)." in \
        " ".join(act.split())  # (the Act has no small-lot values)


def test_the_comparisons_json_says_the_day_each_regime_was_worked_out_for() -> None:
    """A regime that did not apply on the commencement date is compared on the nearest day it did: a script could
    read that only from the prose of regime.because."""
    act = json.loads(done(run("advise", str(ROOT / "examples" / "supported-living-2026.yaml"), "--compare-regimes",
                              "-f", "json")))
    assert act["evaluated_on"] == {"pa2023": "2026-03-01", "pcr2015": "2025-02-23"}
    pcr = json.loads(done(run("advise", str(EXAMPLE), "--compare-regimes", "-f", "json")))
    assert pcr["evaluated_on"] == {"pcr2015": "2024-09-02", "pa2023": "2025-02-24"}
    for a in act["advices"] + pcr["advices"]:  # (each advice's thresholds are those in force on that day)
        day = (act if a in act["advices"] else pcr)["evaluated_on"][a["regime"]["id"]]
        rows = a["valuation"]["thresholds_in_force"]
        assert rows and all(t["in_force_from"] <= day <= (t["in_force_to"] or "9999") for t in rows)


def test_a_comparison_lists_as_differences_only_the_aspects_that_differ_and_bolds_only_them() -> None:
    data = json.loads(done(run("advise", str(EXAMPLE), "--compare-regimes", "-f", "json")))
    ids = data["regimes"]
    differences = {d["aspect"]: d for d in data["differences"]}
    assert differences and all(d[ids[0]] != d[ids[1]] for d in differences.values())
    assert "light_touch" not in differences and "restricted" in differences  # (in both regimes; PCR 2015 only)
    markdown = done(run("advise", str(EXAMPLE), "--compare-regimes", "-f", "markdown"))
    rows = {line.split(" | ")[0][2:]: line for line in markdown.splitlines() if line.startswith("| ") and " | " in line}
    assert set(differences) < set(rows)
    for aspect, line in rows.items():
        assert ("**" in line) is (aspect in differences), line


def test_a_day_two_years_past_the_newest_revised_thresholds_says_newer_ones_may_be_in_force(tmp_path) -> None:
    """thresholds --on 2030-01-01 showed the 2026 figures as in force, with no word that they are revised every
    two years and that the data holds only those made so far; a draft planned for 2028 was advised on them too."""
    note = "The newest figures here took effect on 2026-01-01, and thresholds are revised every two years"
    assert note in " ".join(done(run("thresholds", "--on", "2028-01-01")).split())
    assert "revised every two years" not in done(run("thresholds", "--on", "2027-12-31"))
    draft = yaml.safe_load((ROOT / "examples" / "supported-living-2026.yaml").read_text(encoding="utf-8"))
    later = done(run("advise", str(write(tmp_path, {**draft, "procurement_start": "2028-06-01"})), "--no-color"))
    assert f"{note}: newer ones may be in force on 2028-06-01." in " ".join(later.split())
    assert "revised every two years" not in done(run("advise", str(ROOT / "examples" / "supported-living-2026.yaml")))


@pytest.mark.parametrize("command", [["s16advisor"], ["python", "-m", "s16advisor"]])
def test_ctrl_c_while_the_command_starts_is_one_line_and_exit_130_not_a_traceback(command: list[str]) -> None:
    """Ctrl-C in the 0.3-0.5 s the modules take to load printed pydantic's and typer's import traceback (15 of 16
    tries): the package, run as the command, stops quietly until cli.main takes over."""
    import signal
    import subprocess
    import sys
    import time

    exe = [str(Path(sys.executable).parent / "s16advisor")] if command == ["s16advisor"] else \
        [sys.executable, "-m", "s16advisor"]
    for delay in (0.15, 0.2, 0.25, 0.3, 0.35):
        proc = subprocess.Popen([*exe, "advise", str(EXAMPLE)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=60)[1].decode()
        assert "Traceback" not in err, (delay, err)
        # (0: it had finished; -SIGINT, with nothing said: the signal came before the interpreter had set up its own
        # handling, which a loaded machine can delay past 0.35 s: a shell shows 130 for it too; helpers saw -SIGINT
        # after "interrupted" twice on a loaded machine, not reproduced since: one line, and 130 in a shell, still)
        assert proc.returncode in (0, 130) or (proc.returncode == -signal.SIGINT and err in ("", "interrupted\n")), \
            (delay, proc.returncode, err)


def test_ctrl_c_as_the_finished_command_exits_changes_nothing_and_prints_no_traceback() -> None:
    """Ctrl-C 0.35 s after the start came as the command exited, in logging's exit handler: 'Exception ignored in
    atexit callback ... Traceback ... KeyboardInterrupt' after the whole advice. Here the Ctrl-C comes from an exit
    handler that runs last."""
    import subprocess
    import sys

    code = ("import atexit, os, signal, sys, time\n"
            f"sys.argv = ['s16advisor', 'advise', {str(EXAMPLE)!r}, '--format', 'json']\n"
            "atexit.register(lambda: (os.kill(os.getpid(), signal.SIGINT), time.sleep(0.2)))\n"
            "from s16advisor.cli import main\n"
            "main()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == "", (done.returncode, done.stderr)
    assert json.loads(done.stdout)["contract_id"]


def test_importing_the_package_leaves_ctrl_c_as_python_handles_it() -> None:
    import subprocess
    import sys

    code = "import signal, s16advisor; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "True"


def test_advise_given_several_drafts_says_which_commands_take_several() -> None:
    """'Got unexpected extra argument(s)' alone left the user to find check and review."""
    drafts = [str(ROOT / "examples" / n) for n in ("supported-living.yaml", "supported-living-2026.yaml")]
    result = CliRunner().invoke(app, ["advise", *drafts])
    assert result.exit_code == 2
    assert "Got unexpected extra argument" in result.stderr and "`s16advisor check FILE...` checks several drafts, " \
        "`s16advisor review FILE...` advises on many contracts" in result.stderr, result.stderr
    result = CliRunner().invoke(app, ["check", *drafts])  # (check takes several: no such words)
    assert result.exit_code != 2 and "advise takes one" not in result.stderr
