"""`s16advisor check`: every format parsed back, every exit code, waivers, directories, globs and line numbers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s16advisor.cli import app

ROOT = Path(__file__).resolve().parent.parent

PASSING = """\
id: OK-1
title: Furniture for day centres
procurement_start: 2024-06-03
contract_type: supplies
value: {amount: 300000}
duration_months: 24
cpv: [39100000-3]
reservation: supported_business
route: open
reasons_for_not_lotting: One delivery contract.
"""

# line 6 is duration_months, line 9 reservation, line 10 route
FAILING = """\
id: BAD-1
title: Supported living reserved for too long
procurement_start: 2024-06-03
contract_type: services
value: {amount: 900000, vat: exclusive, vat_rate: 0}
duration_months: 48
cpv:
  - 85311200-4
reservation: public_service_mutual
route: competitive_flexible
reasons_for_not_lotting: One care package.
"""

WARNING_ONLY = """\
id: WARN-1
title: Advertising campaign
procurement_start: 2024-06-03
contract_type: services
value: {amount: 400000}
duration_months: 24
cpv: [79340000-9]
"""

UNREADABLE = """\
id: BROKEN-1
title: A draft with a typo
procurement_start: 2024-06-03
contract_type: services
value: {amount: 100000}
duration_month: 24
cpv: [79340000-9]
"""


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture
def drafts(tmp_path: Path) -> Path:
    d = tmp_path / "drafts"
    _write(d, "a-passing.yaml", PASSING)
    _write(d, "b-failing.yaml", FAILING)
    _write(d / "sub", "c-warning.yml", WARNING_ONLY)
    _write(d, "notes.txt", "not a draft")
    return d


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, ["check", *args], env=env or {"GITHUB_ACTIONS": ""})


def test_a_directory_is_walked_for_yaml_yml_and_json_and_a_failing_draft_exits_1(drafts):
    r = run(str(drafts), "--format", "json")
    assert r.exit_code == 1, r.output
    data = json.loads(r.stdout)
    paths = [Path(d["path"]).name for d in data["drafts"]]
    assert paths == ["a-passing.yaml", "b-failing.yaml", "c-warning.yml"]
    status = {Path(d["path"]).name: d["status"] for d in data["drafts"]}
    assert status == {"a-passing.yaml": "passed", "b-failing.yaml": "failed", "c-warning.yml": "passed"}
    assert data["summary"]["failed"] == 1 and data["summary"]["passed"] == 2


def test_every_draft_passing_exits_0_and_the_summary_goes_to_stderr(tmp_path):
    p = _write(tmp_path, "ok.yaml", PASSING)
    r = run(str(p), "--format", "text")
    assert r.exit_code == 0, r.output
    assert "1 draft, 1 passed, 0 failed" in r.stderr
    assert "passed" not in r.stdout


def test_warnings_fail_only_with_strict(tmp_path):
    p = _write(tmp_path, "warn.yaml", WARNING_ONLY)
    assert run(str(p), "--format", "text").exit_code == 0
    r = run(str(p), "--format", "text", "--strict")
    assert r.exit_code == 1
    assert "lots_not_considered" in r.stdout


def test_an_unreadable_draft_exits_3_after_the_others_are_checked(drafts):
    _write(drafts, "d-broken.yaml", UNREADABLE)
    r = run(str(drafts), "--format", "json")
    assert r.exit_code == 3
    data = json.loads(r.stdout)
    assert len(data["drafts"]) == 4
    broken = next(d for d in data["drafts"] if d["path"].endswith("d-broken.yaml"))
    assert broken["status"] == "error"
    assert ":6: duration_month: is not a field" in broken["error"]  # the typo, at its line
    assert "duration_months: is required" in broken["error"]  # and what it leaves missing
    assert broken["line"] == int(broken["error"].split(":")[1])  # the first problem's line
    assert any(d["status"] == "failed" for d in data["drafts"])
    assert "1 unreadable" in r.stderr


def test_a_commencement_date_no_regime_covers_is_named_at_its_line_as_advise_names_it(tmp_path):
    """Found after validation (the rulebook starts in 2015), the problem still has its line: in the text, the
    JSON's line (for SARIF and GitHub annotations) and the same words as advise."""
    text = PASSING.replace("procurement_start: ", "procurement_start: 2014-04-01 #", 1)
    p = _write(tmp_path, "early.yaml", text)
    line = next(i for i, x in enumerate(text.splitlines(), 1) if x.startswith("procurement_start"))
    r = run(str(p), "--format", "json")
    assert r.exit_code == 3
    [draft] = json.loads(r.stdout)["drafts"]
    assert draft["error"].startswith(f"{p}:{line}: procurement_start: 2014-04-01 is before 2015-02-26")
    assert draft["line"] == line
    advised = CliRunner().invoke(app, ["advise", str(p)])
    assert advised.exit_code == 3 and draft["error"] in advised.stderr


def test_a_usage_error_exits_2(drafts):
    assert run(str(drafts), "--format", "xml").exit_code == 2
    assert run(str(drafts / "*.nothing")).exit_code == 2
    assert CliRunner().invoke(app, ["check"]).exit_code == 2


def test_a_missing_file_is_unreadable_not_a_crash(tmp_path):
    r = run(str(tmp_path / "missing.yaml"), "--format", "text")
    assert r.exit_code == 3 and "no such file" in r.stdout


def test_a_folder_that_cannot_be_listed_is_an_unreadable_draft_not_skipped(drafts, monkeypatch):
    import os

    locked = str(drafts / "sub")
    real_scandir, real_listdir = os.scandir, os.listdir

    def scandir(path="."):
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "listdir", lambda path=".": scandir(path) and real_listdir(path))
    r = run(str(drafts), "--format", "json")
    assert r.exit_code == 3, r.output
    data = json.loads(r.stdout)
    assert [(Path(d["path"]).name, d["status"]) for d in data["drafts"]] == [
        ("a-passing.yaml", "passed"), ("b-failing.yaml", "failed"), ("sub", "error")]
    assert data["drafts"][2]["error"] == f"{locked}: cannot be read: permission denied"


def test_an_empty_folder_is_a_usage_error_like_a_pattern_matching_nothing(tmp_path):
    (tmp_path / "empty").mkdir()
    r = run(str(tmp_path / "empty"))
    assert r.exit_code == 2 and "no draft (*.yaml, *.yml, *.json) in this folder" in r.output


def test_hidden_files_and_folders_in_a_folder_are_not_drafts_unless_named(drafts, monkeypatch):
    from s16advisor.check import expand

    (drafts / ".github" / "workflows").mkdir(parents=True)
    (drafts / ".github" / "workflows" / "ci.yml").write_text("on: [push]\n")
    (drafts / ".pre-commit-config.yaml").write_text("repos: []\n")
    monkeypatch.chdir(drafts)
    assert list(expand(["."])) == ["a-passing.yaml", "b-failing.yaml", "sub/c-warning.yml"]
    assert list(expand([".", ".pre-commit-config.yaml"]))[-1] == ".pre-commit-config.yaml"
    assert run(".", "--format", "json").exit_code == 1  # (not 3: the workflow is not read as a draft)


def test_a_broken_link_in_a_folder_is_an_unreadable_draft_not_skipped(drafts):
    (drafts / "gone.yaml").symlink_to(drafts / "deleted.yaml")
    r = run(str(drafts), "--format", "json")
    assert r.exit_code == 3, r.output
    gone = [d for d in json.loads(r.stdout)["drafts"] if d["path"].endswith("gone.yaml")]
    assert gone[0]["status"] == "error"
    assert gone[0]["error"].endswith(f"a symbolic link to {drafts / 'deleted.yaml'}, which does not exist")


def test_a_linked_folder_in_a_folder_is_walked_and_a_link_back_up_is_no_loop(tmp_path, monkeypatch):
    from s16advisor.check import expand

    _write(tmp_path / "drafts", "ok.yaml", PASSING)
    _write(tmp_path / "shared", "bad.yaml", FAILING)
    (tmp_path / "drafts" / "team").symlink_to(tmp_path / "shared")
    (tmp_path / "shared" / "up").symlink_to(tmp_path / "drafts")  # a loop: drafts/team/up is drafts
    monkeypatch.chdir(tmp_path)
    assert list(expand(["drafts"])) == ["drafts/ok.yaml", "drafts/team/bad.yaml"]
    assert run("drafts", "--format", "json").exit_code == 1  # (the failing draft behind the link is checked)


def test_a_pattern_gives_what_the_shell_would_broken_links_and_folders_walked(drafts, monkeypatch):
    from s16advisor.check import expand

    monkeypatch.chdir(drafts.parent)
    (drafts / "moved.yaml").symlink_to(drafts / "gone.yaml")
    r = run("drafts/*.yaml", "--format", "json")
    assert r.exit_code == 3, r.output  # the link to nothing is unreadable, as when the folder is named
    assert [Path(d["path"]).name for d in json.loads(r.stdout)["drafts"]] == [
        "a-passing.yaml", "b-failing.yaml", "moved.yaml"]
    _write(drafts.parent / "svc", "x.yaml", PASSING)
    assert list(expand(["d*s", "s?c"])) == [
        "drafts/a-passing.yaml", "drafts/b-failing.yaml", "drafts/moved.yaml", "drafts/sub/c-warning.yml",
        "svc/x.yaml"]
    assert "no draft matches this pattern" in run("sub*", "--format", "json").output


def test_a_recursive_pattern_round_a_link_loop_finds_each_draft_once_and_no_made_up_path(tmp_path, monkeypatch):
    """'lp/**' followed lp/self -> . forty levels deep and reported lp/self/self/...: 'too many levels of symbolic
    links' as an unreadable draft (exit 3) where `check lp` passed."""
    _write(tmp_path / "lp", "ok.yaml", PASSING)
    (tmp_path / "lp" / "self").symlink_to(".")
    monkeypatch.chdir(tmp_path)
    r = run("lp/**", "--format", "json")
    assert r.exit_code == 0, r.output
    assert [d["path"] for d in json.loads(r.stdout)["drafts"]] == ["lp/ok.yaml"]


def test_a_draft_named_twice_is_checked_once(drafts, monkeypatch):
    monkeypatch.chdir(drafts.parent)
    r = run("drafts", "./drafts/b-failing.yaml", "drafts/../drafts/a-passing.yaml", "--format", "json")
    assert [Path(d["path"]).name for d in json.loads(r.stdout)["drafts"]] == [
        "a-passing.yaml", "b-failing.yaml", "c-warning.yml"]


def test_paths_found_in_a_folder_are_written_as_the_folder_was(drafts, monkeypatch):
    from s16advisor.check import expand

    monkeypatch.chdir(drafts)
    assert list(expand(["."])) == ["a-passing.yaml", "b-failing.yaml", "sub/c-warning.yml"]
    monkeypatch.chdir(drafts.parent)
    assert list(expand(["drafts/"])) == list(expand(["./drafts"])) == [
        "drafts/a-passing.yaml", "drafts/b-failing.yaml", "drafts/sub/c-warning.yml"]


def test_a_folder_named_through_a_link_and_dot_dot_is_walked_as_named(drafts, monkeypatch):
    from s16advisor.check import expand

    monkeypatch.chdir(drafts.parent)
    (drafts.parent / "L").symlink_to(drafts / "sub")
    assert list(expand(["L/.."])) == ["L/../a-passing.yaml", "L/../b-failing.yaml", "L/../sub/c-warning.yml"]
    assert list(expand(["drafts/../drafts"]))[0] == "drafts/../drafts/a-passing.yaml"
    r = run("L/..", "--format", "json")
    assert r.exit_code == 1 and [d["status"] for d in json.loads(r.stdout)["drafts"]] == ["passed", "failed", "passed"]


def test_a_draft_the_advisor_fails_on_is_an_error_and_the_others_are_still_checked(drafts, monkeypatch):
    from s16advisor import check

    real = check.check_document

    def flaky(doc, **kw):
        if doc.source.endswith("b-failing.yaml"):
            raise RuntimeError("boom")
        return real(doc, **kw)

    monkeypatch.setattr(check, "check_document", flaky)
    r = run(str(drafts), "--format", "json")
    assert r.exit_code == 3 and "Traceback" not in r.output
    data = json.loads(r.stdout)
    assert [d["status"] for d in data["drafts"]] == ["passed", "error", "passed"]
    assert data["drafts"][1]["error"].endswith("b-failing.yaml: internal error: RuntimeError: boom")


def test_what_a_draft_says_cannot_forge_report_lines_or_break_the_report_files(tmp_path):
    reason = "One campaign.\nfake.yaml:1: error declared_route_unavailable \x1b[2J"
    p = _write(tmp_path, "odd \x01 name: 100%.yaml", _with_waiver("lots_not_considered", reason, "2999-12-31"))
    text = run(str(p), "--format", "text").stdout
    assert len(text.splitlines()) == 1 and "\x1b" not in text and "\x01" not in text
    assert "(waived: One campaign.\\nfake.yaml:1: error declared_route_unavailable \\x1b[2J)" in text
    ET.fromstring(run(str(p), "--format", "junit").stdout.split("\n", 1)[1])  # well-formed XML 1.0
    sarif = json.loads(run(str(p), "--format", "sarif").stdout)
    uri = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.endswith("/odd%20%01%20name%3A%20100%25.yaml"), uri
    github = run(str(p), "--format", "github").stdout
    assert "\x1b" not in github and len(github.splitlines()) == 1


def test_a_bidirectional_override_in_a_draft_is_shown_not_obeyed(tmp_path):
    # Trojan Source: after U+202E a terminal or a web log shows the text reversed, so what a reviewer reads is not
    # what the draft says; U+2028 starts a line in some viewers. The rulebook refuses both in its own texts
    reason = "Approved by legal \u202e;devorppa TON\u202c\u2028fake.yaml:1: error x \u2066y\u2069"
    p = _write(tmp_path, "w.yaml", _with_waiver("lots_not_considered", reason, "2999-12-31"))
    for fmt in ("text", "github"):
        out = run(str(p), "--format", fmt).stdout
        assert not re.search("[\u202a-\u202e\u2066-\u2069\u2028\u2029]", out), (fmt, out)
        assert "legal \\u202e;devorppa TON\\u202c\\u2028fake.yaml:1: error x \\u2066y\\u2069" in out, (fmt, out)
    as_json = json.loads(run(str(p), "--format", "json").stdout)  # (JSON keeps the data as it was)
    assert as_json["drafts"][0]["findings"][0]["waiver_reason"] == reason


def test_globs_are_expanded(drafts):
    r = run(str(drafts / "*.yaml"), "--format", "json")
    names = [Path(d["path"]).name for d in json.loads(r.stdout)["drafts"]]
    assert names == ["a-passing.yaml", "b-failing.yaml"]
    r = run(str(drafts / "**" / "*.yml"), "--format", "json")
    assert [Path(d["path"]).name for d in json.loads(r.stdout)["drafts"]] == ["c-warning.yml"]


def test_text_lines_point_at_the_field_each_finding_is_about(tmp_path):
    p = _write(tmp_path, "bad.yaml", FAILING)
    r = run(str(p), "--format", "text")
    lines = r.stdout.splitlines()
    assert any(re.match(rf"{re.escape(str(p))}:10: error declared_route_unavailable ", x) for x in lines), lines
    assert any(re.match(rf"{re.escape(str(p))}:9: error reservation_unavailable ", x) for x in lines), lines
    assert any(re.match(rf"{re.escape(str(p))}:6:\s+duration_over_limit ", x) for x in lines), lines
    assert any(re.match(rf"{re.escape(str(p))}:\d+:\s+not_in_regime ", x) for x in lines), lines


def test_line_numbers_in_a_json_draft(tmp_path):
    import yaml

    data = yaml.safe_load(FAILING)
    text = json.dumps(data, indent=2, default=str)
    p = _write(tmp_path, "bad.json", text)
    route_line = next(i for i, line in enumerate(text.splitlines(), 1) if '"route"' in line)
    duration_line = next(i for i, line in enumerate(text.splitlines(), 1) if '"duration_months"' in line)
    out = json.loads(run(str(p), "--format", "json").stdout)
    findings = out["drafts"][0]["findings"]
    declared = next(f for f in findings if f["code"] == "declared_route_unavailable")
    assert declared["line"] == route_line
    reservation = next(f for f in findings if f["code"] == "reservation_unavailable")
    assert any(x["code"] == "duration_over_limit" and x["line"] == duration_line for x in reservation["related"])


def test_a_blocker_about_one_cpv_code_or_one_lot_points_at_its_line_not_the_lists(tmp_path):
    """A pull request that changes one code or one lot gets its annotation on that line (within its diff)."""
    text = """\
id: B-1
title: Reserved care with a stray code and a lot too big to be small
procurement_start: 2024-06-03
contract_type: services
value: {amount: 900000, vat: exclusive, vat_rate: 0}
duration_months: 24
cpv:
  - 85311200-4
  - 79000000-4
lots:
  - {id: a, value: 800000}
  - {id: b, value: 100000, small_lot: true}
reservation: public_service_mutual
route: small_lots
"""
    out = json.loads(run(str(_write(tmp_path, "b.yaml", text)), "--format", "json").stdout)
    related = {x["code"]: x for f in out["drafts"][0]["findings"] for x in f.get("related", [])}
    where = {code: (x["line"], x["field"]) for code, x in related.items()}
    assert where["cpv_not_reservable"] == (9, "cpv[1]") and where["lot_over_small_lot_value"] == (12, "lots[1]")


def _with_waiver(code: str, reason: str, expires: str | None) -> str:
    w = f"waivers:\n  - code: {code}\n    reason: {json.dumps(reason)}\n"
    if expires:
        w += f"    expires: {expires}\n"
    return WARNING_ONLY + w


def test_a_valid_waiver_is_counted_separately_and_does_not_fail(tmp_path):
    p = _write(tmp_path, "w.yaml", _with_waiver("lots_not_considered", "One campaign", "2999-12-31"))
    r = run(str(p), "--format", "json", "--strict")
    assert r.exit_code == 0, r.output
    f = json.loads(r.stdout)["drafts"][0]["findings"]
    assert any(x["code"] == "lots_not_considered" and x["waived"] for x in f)
    assert "1 waived" in r.stderr and "0 warnings" in r.stderr


@pytest.mark.parametrize(("code", "hint"), [("lots_not_considred", "did you mean lots_not_considered?"),
                                           ("no_such_code", "one of near_threshold, lots_not_considered")])
def test_a_waiver_of_a_code_that_is_not_a_finding_code_is_invalid_input(tmp_path, code, hint):
    p = _write(tmp_path, "w.yaml", _with_waiver(code, "One campaign", None))
    r = run(str(p), "--format", "text")
    assert r.exit_code == 3
    assert f"w.yaml:9: waivers[0].code: '{code}' is not a finding code ({hint}" in r.stdout


def test_a_waiver_of_waiver_expired_is_invalid_input_as_it_could_waive_nothing(tmp_path):
    p = _write(tmp_path, "w.yaml", _with_waiver("waiver_expired", "Renewal pending", None))
    r = run(str(p), "--format", "text")
    assert r.exit_code == 3
    assert "w.yaml:9: waivers[0].code: waiver_expired cannot be waived: renew the expired waiver" in r.stdout
    r = run(str(_write(tmp_path, "x.yaml", _with_waiver("no_such_code", "x", None))), "--format", "text")
    assert "waiver_expired" not in r.stdout  # (not offered as a code to waive)


def test_a_waiver_without_a_reason_is_invalid_input(tmp_path):
    p = _write(tmp_path, "w.yaml", _with_waiver("lots_not_considered", "  ", None))
    r = run(str(p), "--format", "text")
    assert r.exit_code == 3
    assert "waivers[0].reason" in r.stdout and ":10:" in r.stdout


def test_an_expired_waiver_stops_applying_and_is_reported(tmp_path):
    p = _write(tmp_path, "w.yaml", _with_waiver("lots_not_considered", "One campaign", "2020-01-01"))
    r = run(str(p), "--format", "json", "--strict")
    assert r.exit_code == 1
    f = json.loads(r.stdout)["drafts"][0]["findings"]
    assert any(x["code"] == "lots_not_considered" and not x["waived"] for x in f)
    expired = next(x for x in f if x["code"] == "waiver_expired")
    assert expired["severity"] == "warning" and expired["line"] == 9


def test_a_waived_error_does_not_fail_the_build(tmp_path):
    text = FAILING + ("waivers:\n  - {code: declared_route_unavailable, reason: Agreed with legal}\n"
                      "  - {code: reservation_unavailable, reason: Agreed with legal}\n")
    r = run(str(_write(tmp_path, "w.yaml", text)), "--format", "text")
    assert r.exit_code == 0, r.output
    assert "2 waived" in r.stderr


def test_junit_parses_with_the_expected_counts(drafts):
    _write(drafts, "d-broken.yaml", UNREADABLE)
    r = run(str(drafts), "--format", "junit")
    root = ET.fromstring(r.stdout)
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "1", "1")
    cases = suite.findall("testcase")
    assert len(cases) == 4
    failing = next(c for c in cases if c.get("name", "").endswith("b-failing.yaml"))
    failure = failing.find("failure")
    assert failure is not None and "declared_route_unavailable" in (failure.text or "")
    broken = next(c for c in cases if c.get("name", "").endswith("d-broken.yaml"))
    assert broken.find("error") is not None


def test_sarif_has_the_required_2_1_0_properties(drafts):
    r = run(str(drafts), "--format", "sarif")
    doc = json.loads(r.stdout)
    assert doc["version"] == "2.1.0" and "$schema" in doc
    run0 = doc["runs"][0]
    driver = run0["tool"]["driver"]
    assert driver["name"] == "s16advisor"
    rule_ids = [x["id"] for x in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["help"]["text"]
        assert rule["helpUri"].startswith("https://")  # (an absolute URI, or none)
    levels = set()
    for res in run0["results"]:
        assert res["ruleId"] == rule_ids[res["ruleIndex"]]
        assert res["message"]["text"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] and loc["region"]["startLine"] >= 1
        levels.add((res["ruleId"], res["level"]))
    assert ("declared_route_unavailable", "error") in levels
    assert ("lots_not_considered", "warning") in levels


def test_sarif_maps_info_to_note_and_waivers_to_suppressions(tmp_path):
    text = WARNING_ONLY.replace("amount: 400000", "amount: 1200000") + (
        "waivers:\n  - {code: lots_not_considered, reason: One campaign}\n")
    r = run(str(_write(tmp_path, "w.yaml", text)), "--format", "sarif")
    results = json.loads(r.stdout)["runs"][0]["results"]
    assert any(x["ruleId"] == "community_benefits" and x["level"] == "note" for x in results)
    waived = next(x for x in results if x["ruleId"] == "lots_not_considered")
    assert waived["suppressions"][0]["justification"] == "One campaign"


def test_sarif_uris_are_relative_below_the_working_directory_else_file_uris_and_help_uris_absolute(
        drafts, monkeypatch):
    _write(drafts, "d-broken.yaml", UNREADABLE)
    (drafts / "e-expired.yaml").write_text(PASSING + "waivers:\n  - {code: lots_not_considered, reason: x, "
                                           "expires: 2020-01-01}\n")
    monkeypatch.chdir(drafts.parent)
    doc = json.loads(run(str(drafts), str(drafts / "sub" / ".." / "a-passing.yaml"), "--format", "sarif").stdout)
    uris = {x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for x in doc["runs"][0]["results"]}
    assert "drafts/b-failing.yaml" in uris and "drafts/d-broken.yaml" in uris
    assert not any(u.startswith("/") for u in uris), uris
    rules = {x["id"]: x for x in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert "helpUri" not in rules["invalid_input"] and "helpUri" not in rules["waiver_expired"]
    assert "README.md#waivers" in rules["waiver_expired"]["help"]["text"]
    monkeypatch.chdir(drafts / "sub")
    doc = json.loads(run(str(drafts / "b-failing.yaml"), "--format", "sarif").stdout)
    assert {x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for x in doc["runs"][0]["results"]} \
        == {(drafts / "b-failing.yaml").as_uri()}


def test_a_sarif_rule_cites_the_legal_basis_its_results_cite_the_act_for_an_act_draft(tmp_path):
    act = _write(tmp_path, "act.yaml", WARNING_ONLY.replace("2024-06-03", "2026-06-01").replace("400000", "900000"))
    pcr = _write(tmp_path, "pcr.yaml", WARNING_ONLY.replace("400000", "900000"))

    def rule(*paths):
        doc = json.loads(run(*map(str, paths), "--format", "sarif").stdout)
        return next(x for x in doc["runs"][0]["tool"]["driver"]["rules"] if x["id"] == "lots_not_considered")

    s18, reg46 = "https://www.legislation.gov.uk/ukpga/2023/54/section/18", \
        "https://www.legislation.gov.uk/uksi/2015/102/regulation/46"
    assert rule(act)["helpUri"] == s18 and reg46 not in rule(act)["help"]["text"]
    assert rule(pcr)["helpUri"] == reg46
    both = rule(act, pcr)  # one rule for the code: its help names both, and no one URI is the basis
    assert s18 in both["help"]["text"] and reg46 in both["help"]["text"] and "helpUri" not in both


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "sarif", "github"])
def test_a_file_name_that_is_not_utf8_is_written_as_its_bytes_in_every_format(tmp_path, fmt):
    import os

    folder = os.fsencode(tmp_path / "drafts")
    os.mkdir(folder)
    for name, text in ((b"bad\xffname.yaml", FAILING), (b"unread\xfe.yaml", UNREADABLE)):
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            f.write(text)
    out = tmp_path / f"report.{fmt}"
    r = run(os.fsdecode(folder), "--format", fmt, "--output", str(out))
    assert r.exit_code == 3, r.output
    written = out.read_bytes().decode("utf-8")  # (UTF-8: no raw 0xff byte, no lone surrogate)
    if fmt == "sarif":
        assert "bad%FFname.yaml" in written and "unread%FE.yaml" in written
    elif fmt == "json":
        paths = [d["path"] for d in json.loads(written)["drafts"]]
        assert [p.rsplit("/", 1)[1] for p in paths] == ["bad\\xffname.yaml", "unread\\xfe.yaml"]
    else:
        assert "bad\\xffname.yaml" in written and "unread\\xfe.yaml" in written


GH_LINE = re.compile(r"^::(error|warning|notice) file=[^,:]+(,line=\d+)?(,title=[^:,]+)?::.+$")


def test_github_lines_match_the_workflow_command_syntax(drafts):
    _write(drafts, "d-broken.yaml", UNREADABLE)
    r = run(str(drafts), "--format", "github")
    lines = r.stdout.splitlines()
    assert lines
    for line in lines:
        assert GH_LINE.match(line), line
    assert any(line.startswith("::error ") and "b-failing.yaml,line=10," in line for line in lines)


@pytest.mark.parametrize("failing", [1, 11])
def test_github_says_first_when_there_are_more_annotations_of_a_kind_than_a_step_shows(tmp_path, failing):
    for i in range(failing):
        _write(tmp_path / "drafts", f"bad-{i:02}.yaml", FAILING)
    _write(tmp_path / "drafts", "warn.yaml", WARNING_ONLY)
    r = run(str(tmp_path / "drafts"), "--format", "github")
    lines = r.stdout.splitlines()
    kinds = [line[2:].split(" ", 1)[0] for line in lines if line.startswith("::") and " file=" in line]
    counts = {k: kinds.count(k) for k in ("error", "warning", "notice")}
    assert counts["error"] >= failing and counts["warning"] >= 1
    first = lines[0]
    if max(counts.values()) <= 10:
        assert all(GH_LINE.match(line) for line in lines), r.stdout  # (each an annotation of a draft)
        return
    assert first.startswith("::notice title=s16advisor::This check made ") and " file=" not in first
    made = [f"{n} {k}{'s' if n != 1 else ''}" for k, n in counts.items() if n]
    said = ", ".join(made[:-1]) + " and " + made[-1]  # (errors, a warning and notices, at least)
    assert f"made {said}. GitHub shows the first 10 of each kind in a step" in first
    assert all(GH_LINE.match(line) for line in lines[1:])


def test_auto_is_github_under_github_actions_and_text_otherwise(tmp_path):
    p = str(_write(tmp_path, "bad.yaml", FAILING))
    assert run(p, env={"GITHUB_ACTIONS": "true"}).stdout.startswith("::")
    assert not run(p, env={"GITHUB_ACTIONS": ""}).stdout.startswith("::")


def test_output_writes_the_report_to_a_file_and_the_summary_to_stderr(drafts, tmp_path):
    out = tmp_path / "report.sarif"
    r = run(str(drafts), "--format", "sarif", "--output", str(out))
    assert r.exit_code == 1
    assert r.stdout == ""
    assert json.loads(out.read_text())["version"] == "2.1.0"
    assert "3 drafts" in r.stderr
    assert not list(tmp_path.glob(".s16advisor-*"))  # no temporary file left behind


def test_every_check_format_is_wired():
    from s16advisor.render.check_formats import REPORTERS, CheckFormat

    assert set(REPORTERS) | {CheckFormat.auto} == set(CheckFormat)


def test_output_onto_the_file_standard_input_reads_is_refused_and_the_draft_kept(tmp_path):
    draft = _write(tmp_path, "victim.yaml", FAILING)
    with draft.open("rb") as stdin:
        r = subprocess.run([sys.executable, "-m", "s16advisor", "check", "-", "-f", "json", "-o", str(draft)],
                           stdin=stdin, capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert "is the draft read from standard input: the report would replace it" in r.stderr
    assert draft.read_text() == FAILING
    with draft.open("rb") as stdin:  # (another file: written as before)
        r = subprocess.run([sys.executable, "-m", "s16advisor", "check", "-", "-f", "json", "-o",
                            str(tmp_path / "r.json")], stdin=stdin, capture_output=True, text=True)
    assert r.returncode == 1 and json.loads((tmp_path / "r.json").read_text())["drafts"]


def test_the_bundled_example_drafts_fail_as_the_readme_says():
    r = subprocess.run([sys.executable, "-m", "s16advisor", "check", "examples/drafts/", "--format", "text"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 1
    assert "2 drafts, 1 passed, 1 failed" in r.stderr
    assert "Traceback" not in r.stderr


def test_500_drafts_are_checked_in_one_run_each_reported_once(tmp_path):
    """The issue's 500 drafts in one invocation, every draft in the report, in order, with the right verdict. How
    long it takes is measured by benchmarks/bench_check.py, not here: a timed test fails on a busy machine (this
    one did, at 18.8 s against its 15 s, beside three other test runs)."""
    d = tmp_path / "many"
    for i in range(500):
        _write(d, f"d{i:03}.yaml", (FAILING if i % 3 == 0 else PASSING).replace("-1\n", f"-{i}\n", 1))
    r = subprocess.run([sys.executable, "-m", "s16advisor", "check", str(d), "--format", "json"],
                       capture_output=True, text=True)
    assert r.returncode == 1
    drafts = json.loads(r.stdout)["drafts"]
    assert [Path(x["path"]).name for x in drafts] == [f"d{i:03}.yaml" for i in range(500)]
    assert [i for i, x in enumerate(drafts) if x["status"] != "passed"] == list(range(0, 500, 3))
    assert {x["status"] for x in drafts} == {"passed", "failed"}


# --- What a CI run reads off the report: the counts, the summary line and the exit code (pinned one by one) ---

def _finding(code: str, severity: str, *, waived: bool = False, line: int | None = 3):
    from s16advisor.check import CheckFinding

    return CheckFinding(code, severity, f"{code} message", "https://example.org/ref", line, "route", waived=waived,
                        waiver_reason="Agreed" if waived else None)


def _report(*results, strict: bool = False):
    from s16advisor.check import CheckReport

    return CheckReport(list(results), strict)


def test_the_counts_and_the_summary_count_each_status_and_each_unwaived_finding_once():
    from s16advisor.check import DraftResult

    report = _report(
        DraftResult("a.yaml", "passed", [_finding("lots_not_considered", "warning"),
                                          _finding("near_threshold", "warning", waived=True),
                                          _finding("community_benefits", "info")]),
        DraftResult("b.yaml", "failed", [_finding("declared_route_unavailable", "error"),
                                          _finding("reservation_unavailable", "error", waived=True)]),
        DraftResult("c.yaml", "failed", [_finding("declared_route_unavailable", "error")]),
        DraftResult("d.yaml", "error", error="d.yaml:2: bad"))
    assert report.counts == {"drafts": 4, "passed": 1, "failed": 2, "unreadable": 1, "errors": 2, "warnings": 1,
                             "waived": 2}
    assert report.summary() == "4 drafts, 1 passed, 2 failed, 1 unreadable, 1 warning, 2 waived"
    assert report.exit_code == 3  # an unreadable draft outranks a failing one


def test_the_summary_says_one_draft_and_no_warnings_in_words_and_leaves_out_no_unreadable_drafts():
    from s16advisor.check import DraftResult

    one = _report(DraftResult("a.yaml", "passed", []))
    assert one.summary() == "1 draft, 1 passed, 0 failed, 0 warnings, 0 waived"
    assert _report().summary() == "0 drafts, 0 passed, 0 failed, 0 warnings, 0 waived"
    assert (one.exit_code, _report().exit_code) == (0, 0)
    failed = _report(DraftResult("a.yaml", "passed", []), DraftResult("b.yaml", "failed", []))
    assert failed.exit_code == 1


def _checked(path: Path, today: str, strict: bool = False):
    import datetime as dt

    from s16advisor.check import check_document
    from s16advisor.yamlio import load_document

    return check_document(load_document(str(path)), today=dt.date.fromisoformat(today), strict=strict)


def test_a_waiver_applies_through_its_expiry_day_and_expires_the_day_after(tmp_path):
    p = _write(tmp_path, "w.yaml", _with_waiver("lots_not_considered", "One campaign", "2026-12-31"))
    on_the_day = _checked(p, "2026-12-31", strict=True)
    assert on_the_day.status == "passed" and [f.code for f in on_the_day.waived] == ["lots_not_considered"]
    assert not any(f.code == "waiver_expired" for f in on_the_day.findings)
    day_after = _checked(p, "2027-01-01", strict=True)
    assert day_after.status == "failed" and not day_after.waived
    expired = next(f for f in day_after.findings if f.code == "waiver_expired")
    assert "lots_not_considered expired on 2026-12-31" in expired.message
    assert (expired.severity, expired.line, expired.field) == ("warning", 9, "waivers[0]")


def test_a_waiver_covers_its_own_code_only(tmp_path):
    text = FAILING + "waivers:\n  - {code: declared_route_unavailable, reason: Agreed with legal}\n"
    result = _checked(_write(tmp_path, "w.yaml", text), "2026-01-01")
    assert result.status == "failed"
    assert [f.code for f in result.waived] == ["declared_route_unavailable"]
    assert [f.code for f in result.errors] == ["reservation_unavailable"]
    assert result.waived[0].waiver_reason == "Agreed with legal"


def test_each_expired_waiver_is_reported_at_its_own_line(tmp_path):
    text = FAILING + ("waivers:\n"
                      "  - {code: declared_route_unavailable, reason: Agreed, expires: 2025-01-01}\n"  # line 13
                      "  - {code: near_threshold, reason: Fine, expires: 2099-01-01}\n"
                      "  - {code: reservation_unavailable, reason: Agreed, expires: 2025-06-30}\n")  # line 15
    result = _checked(_write(tmp_path, "w.yaml", text), "2026-01-01")
    expired = [(f.line, f.field) for f in result.findings if f.code == "waiver_expired"]
    assert expired == [(13, "waivers[0]"), (15, "waivers[2]")]
    assert result.status == "failed" and not result.waived


def test_junit_attributes_a_ci_server_reads(drafts):
    _write(drafts, "d-broken.yaml", UNREADABLE)
    _write(drafts, "e-waived.yaml", _with_waiver("lots_not_considered", "One campaign", None))
    root = ET.fromstring(run(str(drafts), "--format", "junit").stdout)
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "1", "1")
    suite = root.find("testsuite")
    assert suite is not None and suite.get("skipped") == "0"
    cases = {Path(c.get("name", "")).name: c for c in suite.findall("testcase")}
    for case in cases.values():
        assert case.get("classname") == "s16advisor.check" and case.get("file") == case.get("name")
    failure = cases["b-failing.yaml"].find("failure")
    assert failure is not None
    assert failure.get("type") == "reservation_unavailable"  # (the first failing finding's code)
    assert failure.get("message") == "2 finding(s): reservation_unavailable, declared_route_unavailable"
    assert f"{drafts / 'b-failing.yaml'}:10: error declared_route_unavailable " in (failure.text or "")
    error = cases["d-broken.yaml"].find("error")
    assert error is not None and error.get("type") == "invalid_input"
    message = error.get("message", "")
    assert "\n" not in message and message.endswith("d-broken.yaml:1: duration_months: is required")
    assert (error.text or "").startswith(message + "\n")  # the whole error, a problem a line: the typo too
    assert "d-broken.yaml:6: duration_month: is not a field" in (error.text or "")
    # a warning fails no build without --strict: it is the test case's output, not a failure; a waiver says so
    warning = cases["c-warning.yml"]
    assert warning.find("failure") is None
    assert "warning lots_not_considered " in (warning.findtext("system-out") or "")
    waived = cases["e-waived.yaml"]
    assert waived.find("failure") is None
    assert (waived.findtext("system-out") or "").endswith("(waived: One campaign)")


def test_junit_gives_the_blockers_behind_a_finding_and_the_waivers_reason_as_text_does(drafts):
    # a reservation_unavailable failure says "see the blockers of ...": a Jenkins or GitLab reader has only the
    # report, so the blockers (the duration_months: line) are in it, as in the text, GitHub and SARIF reports
    _write(drafts, "e-waived.yaml", _with_waiver("lots_not_considered", "One campaign", None))
    text = run(str(drafts), "--format", "text").stdout
    root = ET.fromstring(run(str(drafts), "--format", "junit").stdout)
    cases = {Path(c.get("name", "")).name: c for c in root.iter("testcase")}
    failure = cases["b-failing.yaml"].find("failure")
    assert failure is not None
    blocker = f"{drafts / 'b-failing.yaml'}:6:   duration_over_limit The maximum term is 48 months"
    assert blocker in text and blocker in (failure.text or "")
    waived = cases["e-waived.yaml"].findtext("system-out") or ""
    assert waived.endswith("(waived: One campaign)") and waived in text


def test_junit_with_strict_makes_a_warning_a_failure(drafts):
    root = ET.fromstring(run(str(drafts), "--format", "junit", "--strict").stdout)
    assert root.get("failures") == "2"
    case = next(c for c in root.iter("testcase") if c.get("name", "").endswith("c-warning.yml"))
    failure = case.find("failure")
    assert failure is not None and failure.get("type") == "lots_not_considered"
    assert "warning lots_not_considered" in (failure.text or "") and case.find("system-out") is None


def test_a_draft_on_standard_input_that_is_not_yaml_is_named_stdin_at_its_line():
    r = CliRunner().invoke(app, ["check", "-", "--format", "json"], input="a: [\n", env={"GITHUB_ACTIONS": ""})
    assert r.exit_code == 3
    draft = json.loads(r.stdout)["drafts"][0]
    assert (draft["path"], draft["status"], draft["line"]) == ("<stdin>", "error", 1)
    assert draft["error"].startswith("<stdin>:1: malformed YAML")


def test_a_route_not_in_the_regime_points_at_the_commencement_date_that_picks_the_regime(tmp_path):
    out = json.loads(run(str(_write(tmp_path, "bad.yaml", FAILING)), "--format", "json").stdout)
    declared = next(f for f in out["drafts"][0]["findings"] if f["code"] == "declared_route_unavailable")
    assert (declared["line"], declared["field"]) == (10, "route")
    assert [(x["code"], x["line"], x["field"]) for x in declared["related"]] == \
        [("not_in_regime", 3, "procurement_start")]


def test_a_json_draft_in_a_folder_is_checked(tmp_path):
    import yaml

    d = tmp_path / "drafts"
    _write(d, "a.json", json.dumps(yaml.safe_load(FAILING), default=str))
    _write(d, "b.yaml", PASSING)
    r = run(str(d), "--format", "json")
    assert r.exit_code == 1
    assert [(Path(x["path"]).name, x["status"]) for x in json.loads(r.stdout)["drafts"]] == \
        [("a.json", "failed"), ("b.yaml", "passed")]


def test_a_blocker_about_a_lot_points_at_that_lot_not_one_whose_id_starts_its_id(tmp_path):
    text = """\
id: L-1
title: Lots whose ids share a start
procurement_start: 2024-06-03
contract_type: services
value: {amount: 900000, vat: exclusive, vat_rate: 0}
duration_months: 24
cpv: [79340000-9]
lots:
  - {id: a, value: 50000, small_lot: true}
  - {id: ab, value: 850000, small_lot: true}
route: small_lots
"""
    out = json.loads(run(str(_write(tmp_path, "l.yaml", text)), "--format", "json").stdout)
    draft = out["drafts"][0]
    related = [x for f in draft["findings"] for x in f["related"] if x["code"] == "lot_over_small_lot_value"]
    assert related and all((x["line"], x["field"]) == (10, "lots[1]") for x in related), related
    assert draft["advice"]["schema"] == "s16advisor/advice/1" and draft["advice"]["contract_id"] == "L-1"


def test_each_line_of_a_draft_error_in_text_names_the_draft(tmp_path, monkeypatch):
    from s16advisor import check

    def broken(doc, **kw):
        raise RuntimeError("boom\nwhile reading the lots")

    monkeypatch.setattr(check, "check_document", broken)
    p = str(_write(tmp_path, "bad.yaml", FAILING))
    r = run(p, "--format", "text")
    assert r.exit_code == 3
    assert r.stdout.splitlines() == [f"{p}: internal error: RuntimeError: boom", f"{p}: while reading the lots"]
    github = run(p, "--format", "github").stdout
    assert github == f"::error file={p},title=invalid_input::{p}: internal error: RuntimeError: boom%0Awhile " \
                     "reading the lots\n"


def test_github_annotations_escape_properties_and_data_as_workflow_commands_read_them(tmp_path, monkeypatch):
    """GitHub's toolkit (escapeData, escapeProperty): % CR LF in a message; those and : , in a property too. A
    waived finding is a notice, an info finding a notice, each blocker behind an error a notice at its line."""
    text = (FAILING.replace("amount: 900000", "amount: 1200000").replace("reasons_for_not_lotting: One care package.\n",
                                                                          "")
            + 'waivers:\n  - {code: lots_not_considered, reason: "Agreed: 100%, see\\r\\nminutes"}\n')
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "a:b,c 100%.yaml", text)
    _write(tmp_path, "x,y.yaml", UNREADABLE)
    r = run("a:b,c 100%.yaml", "x,y.yaml", "--format", "github")
    assert r.exit_code == 3
    heads = [line.split("::", 2)[1] for line in r.stdout.splitlines()]
    f = "file=a%3Ab%2Cc 100%25.yaml"
    assert heads == [f"notice {f},line=5,title=community_benefits",
                     f"error {f},line=9,title=reservation_unavailable",
                     f"notice {f},line=6,title=duration_over_limit",
                     f"notice {f},line=1,title=lots_not_considered",
                     f"error {f},line=10,title=declared_route_unavailable",
                     f"notice {f},line=3,title=not_in_regime",
                     "error file=x%2Cy.yaml,line=1,title=invalid_input"]
    lines = r.stdout.splitlines()
    assert lines[3].endswith(" (waived: Agreed: 100%25, see%0D%0Aminutes)")
    assert lines[2].endswith("::The maximum term is 48 months; a reg 77 contract may last at most 36 months (3 years), "
                             "extensions included.")
    assert lines[6].startswith("::error file=x%2Cy.yaml,line=1,title=invalid_input::x,y.yaml:1: ")
    assert "%0Ax,y.yaml:6: duration_month: is not a field" in lines[6]


def test_auto_is_github_only_when_github_actions_is_true():
    from s16advisor.render.check_formats import CheckFormat, resolve

    for value, fmt in (("true", CheckFormat.github), ("false", CheckFormat.text), ("", CheckFormat.text)):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("GITHUB_ACTIONS", value)
            assert resolve(CheckFormat.auto) is fmt
            assert resolve(CheckFormat.junit) is CheckFormat.junit


def test_sarif_results_rules_and_locations_in_detail(tmp_path, monkeypatch):
    from s16advisor import __version__

    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "bad.yaml", FAILING.replace("  - 85311200-4\n", "  - 85311200-4\n  - 79000000-4\n"))
    _write(tmp_path, "again.yaml", FAILING)
    _write(tmp_path, "broken.yaml", UNREADABLE)
    _write(tmp_path, "waived.yaml", _with_waiver("lots_not_considered", "One campaign", None))
    doc = json.loads(run("./bad.yaml", "again.yaml", "broken.yaml", "missing.yaml", "waived.yaml", "--format",
                         "sarif").stdout)
    assert doc["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json" and doc["version"] == "2.1.0"
    run0 = doc["runs"][0]
    assert run0["columnKind"] == "unicodeCodePoints"
    driver = run0["tool"]["driver"]
    assert driver["version"] == driver["semanticVersion"] == __version__
    rules = {x["id"]: x for x in driver["rules"]}
    assert list(rules) == sorted(rules)
    declared = rules["declared_route_unavailable"]
    assert declared["name"] == "DeclaredRouteUnavailable"
    assert declared["fullDescription"] == declared["shortDescription"] == \
        {"text": "The draft's route is unavailable for this contract."}
    assert rules["invalid_input"]["help"]["text"] == \
        "The draft could not be read or validated as a contract description v1. See README.md#input."
    # two drafts citing one reference: the rule names it once, as its help URI
    assert declared["helpUri"] == "https://www.legislation.gov.uk/uksi/2015/102/regulation/26"
    assert declared["help"]["text"] == "The draft's route is unavailable for this contract. Legal basis: " \
        "https://www.legislation.gov.uk/uksi/2015/102/regulation/26"
    by = {(Path(x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]).name, x["ruleId"]): x
          for x in run0["results"]}
    broken = by[("broken.yaml", "invalid_input")]
    assert broken["level"] == "error" and broken["ruleIndex"] == list(rules).index("invalid_input")
    assert broken["message"]["text"].startswith("broken.yaml:1: duration_months: is required\n")
    assert broken["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": "broken.yaml"},
                                                          "region": {"startLine": 1}}
    missing = by[("missing.yaml", "invalid_input")]  # no line to point at: line 1 (GitHub places a result by its
    # region.startLine, which must be 1 or more; Microsoft's SARIF validator GH1003: "region.startLine is required")
    assert missing["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": "missing.yaml"},
                                                           "region": {"startLine": 1}}
    reservation = by[("bad.yaml", "reservation_unavailable")]
    assert reservation["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "bad.yaml"  # (not ./)
    assert reservation["message"]["text"].endswith(" (https://www.legislation.gov.uk/uksi/2015/102/regulation/77)")
    related = reservation["relatedLocations"]
    assert [x["id"] for x in related] == [0, 1]  # (distinct within the result)
    assert related[0]["message"]["text"].startswith("cpv_not_reservable: ")
    assert related[0]["physicalLocation"]["region"] == {"startLine": 9}
    assert related[1]["message"]["text"].startswith("duration_over_limit: The maximum term is 48 months")
    assert related[1]["physicalLocation"]["region"] == {"startLine": 6}
    assert "suppressions" not in reservation and "relatedLocations" not in by[("waived.yaml", "lots_not_considered")]
    assert by[("waived.yaml", "lots_not_considered")]["suppressions"] == \
        [{"kind": "inSource", "justification": "One campaign"}]


def test_sarif_has_no_invalid_input_rule_when_every_draft_was_read(tmp_path):
    doc = json.loads(run(str(_write(tmp_path, "bad.yaml", FAILING)), "--format", "sarif").stdout)
    assert "invalid_input" not in {x["id"] for x in doc["runs"][0]["tool"]["driver"]["rules"]}


def test_sarif_treats_a_folder_whose_name_starts_with_two_dots_below_the_working_directory_as_below_it(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = _write(tmp_path / "..drafts", "bad.yaml", FAILING)
    doc = json.loads(run(str(p), "--format", "sarif").stdout)
    assert {x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for x in doc["runs"][0]["results"]} \
        == {"..drafts/bad.yaml"}


def test_the_json_report_says_its_schema_whether_strict_and_each_waivers_reason(tmp_path):
    p = str(_write(tmp_path, "w.yaml", _with_waiver("lots_not_considered", "One campaign", None)))
    for args, strict in (((), False), (("--strict",), True)):
        out = json.loads(run(p, "--format", "json", *args).stdout)
        assert (out["schema"], out["strict"]) == ("s16advisor/check/1", strict)
    waived = next(f for f in out["drafts"][0]["findings"] if f["code"] == "lots_not_considered")
    assert (waived["waived"], waived["waiver_reason"], waived["severity"]) == (True, "One campaign", "warning")
    assert out["drafts"][0]["advice"]["findings"][0]["code"] == "lots_not_considered"


def test_junit_escapes_the_noncharacters_xml_cannot_hold(tmp_path):
    p = _write(tmp_path, "odd\ufffe\uffff.yaml", FAILING)
    root = ET.fromstring(run(str(p), "--format", "junit").stdout.split("\n", 1)[1])  # well-formed XML 1.0
    case = root.find("testsuite/testcase")
    assert case is not None and case.get("name", "").endswith("odd\\ufffe\\uffff.yaml")


class _CountedWrites:
    """A text stream that counts the writes it is given."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_a_json_report_is_written_at_once_not_token_by_token(drafts, fmt):
    """json.dump wrote each token on its own: 1.4 million writes for 500 drafts, each a system call with
    PYTHONUNBUFFERED set (6.6 s for the check against 2.6 s). The report is written whole, and is the same JSON."""
    from s16advisor.check import check_paths
    from s16advisor.render.check_formats import CheckFormat, render_check

    report = check_paths([str(drafts)])
    out = _CountedWrites()
    render_check(report, CheckFormat(fmt), out)
    assert len(out.parts) <= 2, len(out.parts)
    data = json.loads("".join(out.parts))
    assert data["drafts"] if fmt == "json" else data["runs"][0]["results"]


def test_the_advice_and_a_comparison_as_json_are_written_at_once():
    from s16advisor.advisor import advise_file, compare_file
    from s16advisor.render import AdviceFormat, render_advice
    from s16advisor.render.compare import render as render_comparison

    example = str(ROOT / "examples" / "supported-living.yaml")
    out = _CountedWrites()
    render_advice(advise_file(example), AdviceFormat.json, out)
    assert len(out.parts) <= 2 and json.loads("".join(out.parts))["routes"]
    compared = _CountedWrites()
    render_comparison(compare_file(example), "json", compared, False)
    assert len(compared.parts) <= 2 and json.loads("".join(compared.parts))


def test_junit_gives_every_suite_and_test_case_a_time_as_reporters_parse_it(drafts):
    # The Ant JUnit schema the CI reporters follow (windyroad/JUnit-Schema, JUnit.xsd) makes `time` (xs:decimal,
    # seconds) required on <testsuite> and on <testcase>; dorny/test-reporter (src/parsers/java-junit/
    # java-junit-parser.ts) reads each as parseFloat(time) * 1000, so without it every duration was NaN.
    _write(drafts, "d-broken.yaml", UNREADABLE)
    root = ET.fromstring(run(str(drafts), "--format", "junit").stdout)
    for element in (root, *root.iter("testsuite"), *root.iter("testcase")):
        time = element.get("time")
        assert time is not None and re.fullmatch(r"\d+(\.\d+)?", time), (element.tag, time)


def test_sarif_and_github_paths_are_relative_to_the_repository_root_not_the_working_directory(tmp_path, monkeypatch):
    # GitHub code scanning "interprets results that are reported with relative paths as relative to the root of the
    # repository analyzed" (github/docs, sarif-support-for-code-scanning.md, "Specifying the root for source
    # files"), and resolves no symlink ("Resolving symlinks before generating SARIF results"); the Actions runner
    # makes only an absolute file= relative to the workspace and keeps a relative one as it is (actions/runner,
    # ActionCommandManager.cs, IssueCommandExtension). Run from a subfolder (a monorepo's working-directory), the
    # reports named drafts/bad.yaml for procurement/drafts/bad.yaml: the alert and the annotation were on no file.
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    _write(repo / "procurement" / "drafts", "bad.yaml", FAILING)
    (repo / "linked").symlink_to(repo / "procurement" / "drafts")
    monkeypatch.chdir(repo / "procurement")
    for path in ("drafts/bad.yaml", "../procurement/drafts/bad.yaml", "../linked/bad.yaml"):
        doc = json.loads(run(path, "--format", "sarif").stdout)
        where = {json.dumps(x["locations"][0]["physicalLocation"]["artifactLocation"], sort_keys=True)
                 for x in doc["runs"][0]["results"]}
        assert where == {json.dumps({"uri": "procurement/drafts/bad.yaml", "uriBaseId": "%SRCROOT%"},
                                    sort_keys=True)}, (path, where)
        github = run(path, "--format", "github").stdout
        assert {line.split(",", 1)[0] for line in github.splitlines()} == \
            {f"::{kind} file=procurement/drafts/bad.yaml" for kind in ("error", "notice")}, (path, github)
    # the text and JSON reports name the draft as it was given
    assert json.loads(run("drafts/bad.yaml", "--format", "json").stdout)["drafts"][0]["path"] == "drafts/bad.yaml"
