"""Hygiene: tests that fail when the rulebook, its data or the cases drift from each other or from the spec."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from s16advisor.contract import ROUTE_IDS
from s16advisor.errors import RulebookError
from s16advisor.rulebook import BLOCKER_CODES, FINDING_CODES, load_rulebook
from s16advisor.yamlio import load_trusted_yaml

from .cases import load_cases

ROOT = Path(__file__).resolve().parent.parent
CASES = load_cases()


@pytest.fixture(scope="module")
def fired_and_not(advisor):
    """For every rule id: did some case fire it, and did some case evaluate it without firing?"""
    from s16advisor.contract import contract_from_mapping

    fired: set[str] = set()
    not_fired: set[str] = set()
    for case in CASES:
        if "error" in case.expect:
            continue
        for entry in advisor.advise(contract_from_mapping(case.contract), regime_id=case.regime_as).trace:
            (fired if entry.fired else not_fired).add(entry.rule)
    return fired, not_fired


def _all_rules(advisor):
    return [(regime, rule) for regime, rules in advisor.rulebook.rules.items() for rule, _ in rules]


def test_every_rule_has_a_case_that_fires_it(advisor, fired_and_not):
    fired, _ = fired_and_not
    missing = [r.id for _, r in _all_rules(advisor) if r.id not in fired]
    assert not missing, f"rules no behaviour case fires: {missing}"


def test_every_rule_has_a_case_that_does_not_fire_it(advisor, fired_and_not):
    _, not_fired = fired_and_not
    missing = [r.id for _, r in _all_rules(advisor) if r.id not in not_fired]
    assert not missing, f"rules every behaviour case fires (no case on the other side): {missing}"


def test_every_rule_documents_itself(advisor):
    for _, r in _all_rules(advisor):
        assert r.references and all(ref.startswith("https://") for ref in r.references), r.id
        assert len(r.why.split()) >= 8, f"{r.id}: 'why' is too thin to explain a decision"
        assert r.title[0].isupper() and r.decides[0].isupper(), r.id


def test_every_rule_is_in_force_within_its_regime(advisor):
    spans = {r.id: r.in_force for r in advisor.rulebook.regimes}
    for regime, r in _all_rules(advisor):
        span = spans[regime]
        assert r.in_force.from_ >= span.from_, r.id
        if span.to is not None:
            assert r.in_force.to is not None and r.in_force.to <= span.to, r.id


def test_regimes_do_not_overlap_and_leave_no_gap(advisor):
    regimes = sorted(advisor.rulebook.regimes, key=lambda r: r.in_force.from_)
    for a, b in zip(regimes, regimes[1:], strict=False):
        assert a.in_force.to is not None
        assert (b.in_force.from_ - a.in_force.to).days == 1, (a.id, b.id)


def test_thresholds_are_sorted_referenced_and_dated_within_their_regime(advisor):
    data = advisor.data
    spans = {r.id: r.in_force for r in advisor.rulebook.regimes}
    for regime, table in data.thresholds.regimes.items():
        assert regime in spans, f"thresholds for unknown regime {regime}"
        for name, th in table.items():
            starts = [v.from_ for v in th.values]
            assert starts == sorted(set(starts)), f"{regime}.{name}: dates out of order or repeated"
            for v in th.values:
                assert v.reference.startswith("https://"), f"{regime}.{name} {v.from_}"
                assert spans[regime].covers(v.from_), f"{regime}.{name} {v.from_} outside the regime"
                # SI 2021/1221: net until 2021-12-31, inclusive of VAT from 2022-01-01
                assert v.vat == ("inclusive" if v.from_.year >= 2022 else "net") or name == "community_benefits"


def _spec_codes(shared: Path) -> tuple[set[str], set[str], set[str]]:
    text = (shared / "spec" / "advice.md").read_text(encoding="utf-8")
    routes = set(re.findall(r"^\| `([a-z_]+)` \| [^|]+\| [^|]+\| (?:regime|procedure|reservation|exemption) \|$", text,
                            re.M))
    blockers = set(re.findall(r"^\| `([a-z_0-9]+)` \| blocker \|", text, re.M))
    findings = set(re.findall(r"^\| `([a-z_0-9]+)` \| finding", text, re.M))
    return routes, blockers, findings


def test_route_ids_and_codes_match_the_spec(shared):
    routes, blockers, findings = _spec_codes(shared)
    assert routes == set(ROUTE_IDS)
    assert blockers == set(BLOCKER_CODES)
    assert findings == set(FINDING_CODES)


def test_every_case_name_is_a_sentence():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)), "two cases share a name"
    for n in names:
        assert n[0].isupper() and len(n.split()) >= 5 and "_" not in n.split()[0], n


def test_there_are_at_least_forty_behaviour_cases():
    assert len(CASES) >= 40


def _copy_rules(tmp_path: Path) -> Path:
    import shutil

    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", folder)
    return folder


def test_a_misspelt_key_in_a_rule_file_is_refused(tmp_path):
    folder = _copy_rules(tmp_path)
    path = folder / "pcr2015" / "lots.yaml"
    path.write_text(path.read_text().replace("    decides:", "    decide:", 1))
    with pytest.raises(RulebookError, match="decide"):
        load_rulebook(folder)


def test_a_python_expression_in_a_condition_is_refused(tmp_path):
    folder = _copy_rules(tmp_path)
    path = folder / "pcr2015" / "lots.yaml"
    text = path.read_text()
    path.write_text(text.replace("when: {fact: lots.count, eq: 0}", 'when: "__import__(\'os\').system(\'true\')"', 1))
    with pytest.raises(RulebookError):
        load_rulebook(folder)


def test_a_python_tag_in_a_rule_file_is_refused(tmp_path):
    from s16advisor.errors import InputError

    folder = _copy_rules(tmp_path)
    path = folder / "pcr2015" / "lots.yaml"
    path.write_text(path.read_text().replace("title: The small-lots exemption needs lots\n",
                                             "title: !!python/object/apply:os.system ['true']\n", 1))
    with pytest.raises((RulebookError, InputError)):
        load_rulebook(folder)


def test_an_unknown_fact_in_a_rule_is_refused(tmp_path):
    from s16advisor.advisor import Advisor
    from s16advisor.engine import PythonEngine

    folder = _copy_rules(tmp_path)
    path = folder / "pcr2015" / "lots.yaml"
    path.write_text(path.read_text().replace("{fact: lots.count, eq: 0}", "{fact: lots.cuont, eq: 0}", 1))
    with pytest.raises(RulebookError, match="lots.cuont"):
        Advisor(load_rulebook(folder), engine=PythonEngine())


def _with_probe_rule(tmp_path: Path, when: str, then: str = '{finding: {code: community_benefits, severity: info, '
                     'message: "probe"}}', title: str = "Probe rule",
                     reference: str = "https://www.legislation.gov.uk/uksi/2015/102") -> Path:
    folder = _copy_rules(tmp_path)
    path = folder / "pcr2015" / "findings.yaml"
    path.write_text(path.read_text() + f"""
  - id: pcr2015.findings.zz_probe
    title: {title}
    decides: Probe.
    why: A rule a pull request could add.
    references: [{reference}]
    in_force: {{from: 2015-02-26, to: 2025-02-23}}
    when: {when}
    then: {then}
""")
    return folder


PROBE_WHEN = "{fact: nation, eq: wales}"


@pytest.mark.parametrize(("change", "words"), [
    ({"when": "{fact: duration_months, lt: true}"}, "lt"),  # (true was read as 1)
    ({"then": "{assert: {probe_fact: 1}}"}, "assert"),  # (1 was read as true)
    ({"then": "{assert: {blocked.light_touch: true}}"}, "cannot assert 'blocked.light_touch'"),
    ({"then": "{assert: {declared_route: open}}"}, "cannot assert 'declared_route'"),
    ({"then": "{assert: {stage: x}}"}, "cannot assert 'stage'"),
    ({"then": "{assert: {probe__fact: true}}"}, "cannot assert 'probe__fact'"),
    ({"then": '{assert: {"$or": true}}'}, r"cannot assert '\$or'"),
    ({"when": '{fact: start, gt: "2025-02-30"}'}, "2025-02-30 is not a date that exists"),
    ({"when": "{fact: duration_months, gt: 1" + "0" * 400 + "}"}, "not a number to compare with"),
    ({"when": "{fact: duration_months, gt: 1e15}"}, "beyond the numbers compared"),
    ({"when": "{fact: lots.small_share, gt: 0.0001}"}, "nearer 0 than the numbers compared"),
    ({"title": '"Probe \\e]52;c;ZXZpbA==\\a"'}, r"title: holds the control character U\+001B"),
    ({"title": '"Probe \\u202e reversed"'}, r"U\+202E"),
    ({"reference": '"https://www.legislation.gov.uk/x\\n::warning::forged"'}, "references"),
])
def test_a_rule_that_is_not_what_it_looks_like_is_refused_at_load(tmp_path, change, words):
    from s16advisor.advisor import Advisor

    folder = _with_probe_rule(tmp_path, **{"when": PROBE_WHEN, **change})
    with pytest.raises(RulebookError, match=words):
        Advisor(load_rulebook(folder))


def test_a_misspelt_placeholder_is_refused_at_load_with_its_file_line_and_the_name_meant(tmp_path):
    # It loaded, and every advice that fired the rule showed "threshold of {threshold.amout}" as written.
    from s16advisor.advisor import Advisor

    folder = _copy_rules(tmp_path)
    path = folder / "pcr2015" / "scope.yaml"
    text = path.read_text()
    at = text.index("{threshold.amount}")
    path.write_text(text[:at] + "{threshold.amout}" + text[at + len("{threshold.amount}"):])
    line = text.count("\n", 0, text.rindex("message:", 0, at)) + 1  # the line of its message
    with pytest.raises(RulebookError) as e:
        Advisor(load_rulebook(folder))
    assert re.fullmatch(rf"{re.escape(str(path))}:{line}: rules\.\d+\.then\.block\.message: pcr2015\.scope\.\w+: "
                        r"unknown placeholder \{threshold\.amout\}: did you mean \{threshold\.amount\}\?", str(e.value))


@pytest.mark.parametrize(("message", "words"), [
    # a threshold of the Act only: the PCR's details have no such value
    ("{thresholds.major_construction_contract}", r"unknown placeholder \{thresholds\.major_construction_contract\}"
     r": a pcr2015 message may quote \{thresholds\.community_benefits\}, .*\{thresholds\.works\}\Z"),
    ("{cpv.reg77.outside}",
     r"unknown placeholder \{cpv\.reg77\.outside\}: did you mean \{cpv\.reg77_reservable\.outside\}\?\Z"),
    ("{vat}", r"unknown placeholder \{vat\}: a pcr2015 message may quote \{vat\.community_benefits\}, .*"
              r"\{vat\.works\}\Z"),  # (those it could be)
    ("{nothing_like_any}", r"unknown placeholder \{nothing_like_any\}: a pcr2015 message may quote "
                           r"\{authority_type\}, .*\{vat_basis\}\Z"),
])
def test_a_placeholder_no_detail_fills_is_refused_at_load(tmp_path, message, words):
    from s16advisor.advisor import Advisor

    then = f'{{finding: [{{code: community_benefits, severity: info, message: "ok"}}, {{code: community_benefits, ' \
           f'severity: info, message: "probe {message}"}}]}}'
    with pytest.raises(RulebookError, match=r"findings\.yaml:\d+: rules\.\d+\.then\.finding\.1\.message: "
                       r"pcr2015\.findings\.zz_probe: " + words):
        Advisor(load_rulebook(_with_probe_rule(tmp_path, PROBE_WHEN, then)))


def test_any_detail_may_be_quoted_and_the_regimes_because_is_checked_too(tmp_path):
    from s16advisor.advisor import Advisor

    quoted = "{evaluated_on} {values.community_benefits} {lots.largest_small} {prior.s33.barred} {threshold.regulation}"
    then = f'{{finding: {{code: community_benefits, severity: info, message: "probe {quoted}"}}}}'
    Advisor(load_rulebook(_with_probe_rule(tmp_path, PROBE_WHEN, then)))
    folder = _copy_rules(tmp_path / "because")
    path = folder / "regimes.yaml"
    path.write_text(path.read_text().replace("procurement commenced on {start}", "procurement commenced on {begin}", 1))
    with pytest.raises(RulebookError, match=r"regimes\.yaml:\d+: regimes\.0\.because: regime pcr2015: unknown "
                       r"placeholder \{begin\}: a pcr2015 message may quote"):
        Advisor(load_rulebook(folder))


def test_the_details_a_message_may_quote_are_those_build_facts_gives(advisor):
    # facts.detail_names (what the rulebook lets a message quote) names the details build_facts fills itself
    # (EAGER_DETAILS) by hand: every detail of a contract is one of them or worked out when asked, and each of
    # them fills.
    from s16advisor.advisor import read_contract
    from s16advisor.facts import build_facts, detail_names

    for name in ("supported-living.yaml", "supported-living-2026.yaml"):
        contract, _ = read_contract(str(ROOT / "examples" / name))
        regime = advisor.regime_for(contract.procurement_start)
        d = build_facts(contract, regime, advisor.data).details
        names = detail_names(regime, advisor.data)
        assert set(d) | set(d.lazy) == names
        d.applied = next(iter(d.thresholds.values()))  # (a threshold the rules chose: {threshold.*} are filled)
        for n in names:
            try:
                assert isinstance(d[n], str), n
            except KeyError:  # only a threshold's figures when it is not in force on the day (it stays as written)
                assert n.split(".")[0] in ("thresholds", "values", "vat") and n.split(".", 1)[1] not in d.thresholds, n


def test_conditions_nested_deeper_than_durable_rules_compiles_are_an_engine_error_not_a_traceback(tmp_path):
    from s16advisor.advisor import Advisor, read_contract
    from s16advisor.errors import EngineError

    when = "{fact: nation, eq: wales}"
    for _ in range(12):  # (24 levels of all/any; 50 brackets: the YAML reader takes at most 64)
        when = f"{{all: [{{fact: nation, ne: england}}, {{any: [{{fact: reservation, eq: none}}, {when}]}}]}}"
    advisor = Advisor(load_rulebook(_with_probe_rule(tmp_path, when)))
    contract, _ = read_contract(str(ROOT / "examples" / "supported-living.yaml"))
    # the rule at fault is named, with its file and line (it was the first three of its stage's rules, the probe
    # among "and 18 more")
    with pytest.raises(EngineError, match=r"durable-rules cannot compile the rule pcr2015\.findings\.zz_probe "
                                          r"\(rules/pcr2015/findings\.yaml:\d+\): "):
        advisor.advise(contract)


def test_every_file_under_rules_is_read_or_refused(tmp_path):
    folder = _copy_rules(tmp_path)
    load_rulebook(folder)
    (folder / ".editor-swap.yaml").write_text("not: read\n")  # hidden: an editor's, or a folder such as .git
    (folder / "pa2023" / ".scope.yaml").write_text((folder / "pa2023" / "scope.yaml").read_text())
    (folder / ".git").mkdir()
    (folder / ".git" / "config.yaml").write_text("not: read\n")
    load_rulebook(folder)  # (the hidden copy of scope.yaml would repeat its rule ids)
    for extra in ("pa2023/new.yml", "extra.yaml", "pa2023/sub/deep.yaml"):
        path = folder / extra
        path.parent.mkdir(exist_ok=True)
        path.write_text("schema: s16advisor/rules/1\n")
        with pytest.raises(RulebookError, match="not a rule file, so its rules would not be read"):
            load_rulebook(folder)
        path.unlink()


def test_a_rule_file_that_is_a_link_is_refused(tmp_path):
    folder = _copy_rules(tmp_path)
    outside = tmp_path / "outside.yaml"
    (folder / "pcr2015" / "lots.yaml").rename(outside)
    (folder / "pcr2015" / "lots.yaml").symlink_to(outside)
    with pytest.raises(RulebookError, match="not a regular file"):
        load_rulebook(folder)


def test_a_data_file_with_a_threshold_of_true_or_a_control_character_is_refused(tmp_path):
    import shutil

    from s16advisor.data import load_data
    from s16advisor.resources import data_dir

    changes = (("amount: 111676", "amount: true", "amount"), ("amount: 111676", "amount: .inf", "amount"),
               ("title: Supplies and services, central government authorities (Schedule 1)",
                'title: "Supplies\\e[2J"', r"U\+001B"))
    for i, (old, new, words) in enumerate(changes):
        folder = tmp_path / f"data-{i}"
        shutil.copytree(data_dir(), folder)
        path = folder / "thresholds.yaml"
        assert old in path.read_text()
        path.write_text(path.read_text().replace(old, new, 1))
        with pytest.raises(RulebookError, match=words):
            load_data(str(folder))


def test_a_data_file_whose_threshold_values_are_out_of_date_order_or_start_on_one_day_is_refused(tmp_path):
    """The value in force on a day is the last one starting on or before it: values out of order, or two from one
    day, would put the wrong threshold in force, so the data is refused."""
    import shutil

    from s16advisor.data import load_data
    from s16advisor.resources import data_dir

    old = "{from: 2016-01-01, amount: 164176,"
    for i, new in enumerate(("{from: 2015-01-01, amount: 164176,", "{from: 2015-02-26, amount: 164176,")):
        folder = tmp_path / f"data-{i}"
        shutil.copytree(data_dir(), folder)
        path = folder / "thresholds.yaml"
        assert path.read_text().count(old) == 1
        path.write_text(path.read_text().replace(old, new))
        with pytest.raises(RulebookError, match="values must be in date order with no two starting on the same day"):
            load_data(str(folder))


@pytest.mark.parametrize("constant", [".nan", ".inf", "-.inf", "1e400"])
def test_a_constant_that_is_not_a_finite_number_is_refused(tmp_path, constant):
    # NaN among the constants a fact is compared with unsorted the memo's cuts: another rule's answers went wrong
    from s16advisor.advisor import Advisor

    folder = _with_probe_rule(tmp_path, f"{{fact: duration_months, in: [{constant}, 24]}}")
    with pytest.raises(RulebookError, match="finite number"):
        Advisor(load_rulebook(folder))
    folder = _with_probe_rule(tmp_path / "gt", f"{{not: {{fact: duration_months, gt: {constant}}}}}")
    with pytest.raises(RulebookError, match="finite number"):
        Advisor(load_rulebook(folder))


def test_rules_that_depend_on_each_other_in_a_cycle_are_refused_naming_each_rules_file_and_line(tmp_path):
    """The README promises every refusal at load names the file and line; a cycle named only the rule ids."""
    from s16advisor.advisor import Advisor

    folder = _copy_rules(tmp_path)
    path = folder / "pcr2015" / "findings.yaml"
    rule = """
  - id: pcr2015.findings.zz_{a}
    title: Probe
    decides: Probe.
    why: A rule a pull request could add to the rulebook.
    references: [https://www.legislation.gov.uk/uksi/2015/102]
    in_force: {{from: 2015-02-26, to: 2025-02-23}}
    when: {{fact: probe_{b}, eq: true}}
    then: {{assert: {{probe_{a}: true}}}}
"""
    path.write_text(path.read_text() + rule.format(a="a", b="b") + rule.format(a="b", b="a"))
    with pytest.raises(RulebookError, match=r"^rules/pcr2015/findings\.yaml:\d+: rules depend on each other in a "
                                            r"cycle: pcr2015\.findings\.zz_a \(rules/pcr2015/findings\.yaml:\d+\) -> "
                                            r"pcr2015\.findings\.zz_b \(rules/pcr2015/findings\.yaml:\d+\) -> "
                                            r"pcr2015\.findings\.zz_a$"):
        Advisor(load_rulebook(folder))


def test_an_in_list_too_wide_for_the_engine_is_refused_at_load_not_a_hang(tmp_path):
    from s16advisor.advisor import Advisor
    from s16advisor.rulebook import MAX_ALTERNATIVES

    values = ", ".join(str(1000 + i) for i in range(MAX_ALTERNATIVES))
    Advisor(load_rulebook(_with_probe_rule(tmp_path, f"{{fact: duration_months, in: [{values}]}}")))
    folder = _with_probe_rule(tmp_path / "wide", f"{{fact: duration_months, in: [{values}, 9999]}}")
    with pytest.raises(RulebookError, match=f"zz_probe: an `any` or `in` of {MAX_ALTERNATIVES + 1} alternatives"):
        Advisor(load_rulebook(folder))


def test_case_cpv_codes_are_real_cpv_2008_codes(shared):
    official = {}
    for line in (shared / "reference" / "cpv2008.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        code, digit, _ = line.split("\t", 2)
        official[code] = digit
    deliberate = {"85000000-1", "85323000-1", "75200000-1"}  # the check-digit cases
    for case in CASES:
        codes = list(case.contract.get("cpv", []))
        for lot in case.contract.get("lots") or []:
            codes += lot.get("cpv") or []
        for award in case.contract.get("prior_reserved_awards") or []:
            codes += award["cpv"]
        for code in codes:
            if code in deliberate:
                continue
            assert official.get(code[:8]) == code[9:], f"{case.name}: {code} is not a CPV 2008 code"


def test_a_trace_names_each_rule_where_it_is_written_the_same_on_every_machine():
    from s16advisor.advisor import advise_file
    from s16advisor.resources import rules_dir

    trace = advise_file(str(rules_dir().parent / "examples" / "supported-living.yaml")).trace
    assert trace
    for entry in trace:
        path, line = entry.source.rsplit(":", 1)
        assert path.startswith("rules/") and not path.startswith("/"), entry.source
        lines = (rules_dir().parent / path).read_text(encoding="utf-8").splitlines()
        assert f"id: {entry.rule}" in lines[int(line) - 1], entry.source


def test_the_regime_rule_fires_exactly_when_the_regime_applies(advisor):
    from s16advisor.contract import contract_from_mapping

    for case in CASES:
        if "error" in case.expect:
            continue
        a = advisor.advise(contract_from_mapping(case.contract), regime_id=case.regime_as)
        fired = {e.rule for e in a.trace if e.fired}
        assert (f"{a.regime.id}.scope.regime" in fired) is a.regime.applies, case.name


def test_a_rule_that_starts_or_ends_inside_its_regime_names_the_date_in_its_title_or_why(advisor):
    import datetime as dt

    spans = {r.id: r.in_force for r in advisor.rulebook.regimes}
    months = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")  # (not %B: the locale's)

    def words(d: dt.date) -> str:
        return f"{d.day} {months[d.month - 1]} {d.year}"

    for regime, r in _all_rules(advisor):
        text = " ".join(f"{r.title} {r.why}".split())
        if r.in_force.from_ != spans[regime].from_:
            assert words(r.in_force.from_) in text, f"{r.id} starts on {r.in_force.from_} without saying why"
        if r.in_force.to is not None and r.in_force.to != spans[regime].to:
            assert words(r.in_force.to + dt.timedelta(days=1)) in text, f"{r.id} ends on {r.in_force.to}"


def test_the_reg77_cpv_blocker_cites_reg_77_2(advisor):
    from s16advisor.contract import contract_from_mapping

    contract = {"id": "R77", "title": "Cleaning", "procurement_start": "2024-06-03", "contract_type": "services",
                "value": {"amount": 900000}, "duration_months": 24, "cpv": ["90000000-7"]}
    blockers = advisor.advise(contract_from_mapping(contract)).route("reserved_public_service_mutual").blocked_by
    (b,) = [b for b in blockers if b.code == "cpv_not_reservable"]
    assert "reg 77(2)" in b.message


def test_a_below_threshold_blocker_quotes_the_threshold_that_applies(advisor):
    # (the Act's light touch blocker said "the light touch threshold of £214,904", the sub-central figure)
    from s16advisor.contract import contract_from_mapping
    from s16advisor.facts import money

    checked = 0
    for case in CASES:
        if "error" in case.expect:
            continue
        a = advisor.advise(contract_from_mapping(case.contract), regime_id=case.regime_as)
        th = a.valuation.threshold
        for route in a.routes:
            for b in route.blocked_by:
                if b.code == "below_threshold" and th is not None:
                    checked += 1
                    assert f"the {th.title} threshold of {money(th.amount)}" in b.message, (case.name, b.message)
    assert checked > 50


def test_a_reservation_closed_at_any_value_says_so_to_the_findings(advisor):
    """The reservation findings word a reservation refused only for its value (below the threshold) apart from one
    refused at any value. They tell them apart by psm_closed_at_any_value, which every other blocker of the
    mutual reservation must assert; the supported-business reservation has no other blocker (its findings assume
    so: one added needs psm's pattern)."""
    for _, rule in _all_rules(advisor):
        for b in rule.then.block:
            if b.code in ("below_threshold", "not_in_regime"):
                continue
            if b.route == "reserved_public_service_mutual":
                assert rule.then.assert_.get("psm_closed_at_any_value") is True, (rule.id, b.code)
            assert b.route != "reserved_supported_business", (rule.id, b.code)


def test_what_the_advice_says_cites_no_project_file():
    """legal-facts.md is the project's own research notes, not a source a commissioner can check: a message, title or
    summary cites the law itself. Only the notes for maintainers (verify, why, limits) may point at it."""

    notes = {"verify", "why", "limits"}
    found = []

    def walk(x, key, where):
        if isinstance(x, dict):
            for k, v in x.items():
                if k not in notes:
                    walk(v, k, where)
        elif isinstance(x, list):
            for v in x:
                walk(v, key, where)
        elif isinstance(x, str) and "legal-facts" in x:
            found.append(f"{where}: {key}: {x[:80]}")

    files = sorted((ROOT / "rules").rglob("*.yaml")) + sorted((ROOT / "data").glob("*.yaml"))
    assert len(files) > 5
    for path in files:
        walk(load_trusted_yaml(path).data, None, path.relative_to(ROOT))
    assert not found, found


# ------------------------------------------------------------------ what a pull request's rules or data can cost


def test_a_message_or_condition_too_big_to_be_one_is_refused(tmp_path):
    """Sizes were capped per file only: a message quoting a long title 3,000 times took 1.7 GB and a traceback,
    and one rule of 400,000 comparisons took minutes and gigabytes."""
    many = "{value} " * 17
    folder = _with_probe_rule(tmp_path, PROBE_WHEN, then=f'{{finding: {{code: community_benefits, severity: info, '
                                                         f'message: "{many}"}}}}')
    with pytest.raises(RulebookError, match="17 placeholders"):
        load_rulebook(folder)
    from s16advisor.advisor import Advisor

    wide = "{all: [" + ", ".join(f"{{fact: duration_months, ne: {i}}}" for i in range(1030)) + "]}"
    with pytest.raises(RulebookError, match=r"a condition of 1,03\d comparisons \(at most 1,024\)"):
        Advisor(load_rulebook(_with_probe_rule(tmp_path / "wide", wide)))
    long = "x" * 4001
    with pytest.raises(RulebookError, match=r"a text of 4,001 characters \(at most 4,000\)"):
        load_rulebook(_with_probe_rule(tmp_path / "long", PROBE_WHEN, title=long))
    load_rulebook(_with_probe_rule(tmp_path / "ok", PROBE_WHEN, title="x" * 4000))  # (the limit itself is fine)


def test_a_threshold_amount_beyond_what_facts_are_clamped_to_is_refused_not_a_traceback(tmp_path):
    import shutil

    from s16advisor.data import load_data
    from s16advisor.resources import data_dir

    for amount, refused in (("9" * 400, True), ("1000000000000000", True), ("999999999999999", False)):
        folder = tmp_path / f"data-{len(amount)}"
        shutil.copytree(data_dir(), folder)
        path = folder / "thresholds.yaml"
        path.write_text(path.read_text().replace("amount: 111676", f"amount: {amount}", 1))
        if refused:
            with pytest.raises(RulebookError, match="amount"):
                load_data(str(folder))
        else:
            load_data(str(folder))


def test_a_linked_rules_or_data_folder_is_refused(tmp_path):
    """A linked folder read files from anywhere, and the errors quoted their keys."""
    import shutil

    from s16advisor.data import load_data
    from s16advisor.resources import data_dir

    folder = _copy_rules(tmp_path)
    outside = tmp_path / "outside-pcr2015"
    (folder / "pcr2015").rename(outside)
    (folder / "pcr2015").symlink_to(outside, target_is_directory=True)
    with pytest.raises(RulebookError, match="reached through a linked folder"):
        load_rulebook(folder)
    data = tmp_path / "data"
    shutil.copytree(data_dir(), tmp_path / "real-data")
    data.mkdir()
    (data / "inner").symlink_to(tmp_path / "real-data", target_is_directory=True)
    from s16advisor.yamlio import load_trusted_yaml
    with pytest.raises(RulebookError, match="reached through a linked folder"):
        load_trusted_yaml(data / "inner" / "thresholds.yaml", within=data)
    load_data(str(tmp_path / "real-data"))  # (the folder itself, named, is read)


def test_a_key_holding_control_characters_is_quoted_escaped(tmp_path):
    import shutil

    from s16advisor.data import load_data
    from s16advisor.resources import data_dir

    folder = tmp_path / "data"
    shutil.copytree(data_dir(), folder)
    path = folder / "thresholds.yaml"
    path.write_text(path.read_text().replace("    supplies_services_central:", '    "evil\\e]0;owned\\a":', 1))
    with pytest.raises(RulebookError) as raised:
        load_data(str(folder))
    message = str(raised.value)
    assert "\x1b" not in message and "\x07" not in message
    assert "evil\\x1b]0;owned\\x07" in message


def test_no_link_under_rules_data_examples_or_the_behaviour_cases():
    """The tests read these folders too (tests/cases with the same safe loader as the product)."""
    linked = [str(p.relative_to(ROOT)) for top in ("rules", "data", "examples", "tests/cases")
              for p in (ROOT / top).rglob("*") if p.is_symlink()]
    assert not linked


def test_the_pcr_below_threshold_rule_does_not_place_regs_6_and_20_inside_regs_26_to_84(advisor):
    # Part 2 of PCR 2015 is regs 3-84 (legislation.gov.uk contents: reg 3 "Subject-matter and scope of Part 2"); reg 6
    # (small lots) and reg 20 (reserved contracts) are in its Chapter 1, before the procedures of Chapter 2 (reg 26 on).
    # legal-facts §3: reg 20 "Sits in Part 2". The why said "Part 2 (regs 26-84, including regs 20 and 77 ...)".
    (rule,) = [r for r, _ in advisor.rulebook.rules["pcr2015"] if r.id == "pcr2015.scope.below_threshold"]
    assert "regs 26-84, including" not in rule.why
    assert "regs 3-84" in rule.why
