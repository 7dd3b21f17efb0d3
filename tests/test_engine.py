"""The engine behind its interface: durable-rules agrees with the reference engine, and its traps are handled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from s16advisor.advisor import Advisor
from s16advisor.contract import contract_from_mapping
from s16advisor.engine import Evaluator, PythonEngine
from s16advisor.engine.durable_engine import DurableEngine
from s16advisor.errors import EngineError

from .cases import load_cases

CASES = [c for c in load_cases() if "error" not in c.expect]


def _rulebook_changed(tmp_path: Path, file: str, old: str, new: str):  # type: ignore[no-untyped-def]
    """The bundled rulebook, copied, with ``old`` (which must be there) replaced by ``new`` once in ``file``."""
    import shutil

    from s16advisor.rulebook import load_rulebook

    folder = tmp_path / "rules"
    shutil.copytree(Path(__file__).resolve().parent.parent / "rules", folder)
    path = folder / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return load_rulebook(folder)


def _made_whole(monkeypatch) -> list:  # type: ignore[no-untyped-def]
    """The advices that Advisor.advise_json makes and has pydantic serialise (instead of writing their JSON)."""
    import s16advisor.advisor as advisor_module

    whole: list = []
    serialise = advisor_module.advice_json
    monkeypatch.setattr(advisor_module, "advice_json", lambda a, trace: whole.append(a) or serialise(a, trace=trace))
    return whole


@pytest.fixture(scope="module")
def reference():
    return Advisor(engine=PythonEngine())


def _json(advice):
    return advice.model_dump(mode="json")


def test_durable_rules_agrees_with_the_reference_engine_on_every_case(advisor, reference):
    for case in CASES:
        c = contract_from_mapping(case.contract)
        r = case.regime_as
        assert _json(advisor.advise(c, regime_id=r)) == _json(reference.advise(c, regime_id=r)), case.name


def test_durable_rules_asked_about_single_rules_answers_as_for_the_whole_stage(reference):
    from s16advisor.facts import build_facts

    engine = DurableEngine()
    for case in CASES[::3]:
        c = contract_from_mapping(case.contract)
        regime = reference.regime_for(c.procurement_start)
        program = reference.programs[regime.id]
        # The final state serves every stage: a rule reads only facts asserted by earlier stages.
        state = reference.evaluator.evaluate(program, build_facts(c, regime, reference.data).facts).facts
        for stage in range(program.stages):
            rules = [r.index for r in program.by_stage(stage)]
            whole = sorted(set(engine.fire(program, stage, state)))
            assert sorted(set(engine.fire(program, stage, state, rules))) == whole, (case.name, stage)
            assert sorted(set(engine.fire(program, stage, state, rules[::2]))) == \
                [i for i in whole if i in rules[::2]], (case.name, stage)


def test_an_engine_that_answers_whole_stages_only_still_works(reference):
    class WholeStages:  # the Engine interface before ``only``
        name = "whole-stages"

        def __init__(self):
            self.inner = PythonEngine()

        def fire(self, program, stage, facts):
            return self.inner.fire(program, stage, facts)

    whole = Advisor(engine=WholeStages())
    for case in CASES[::4]:
        c, r = contract_from_mapping(case.contract), case.regime_as
        assert _json(whole.advise(c, regime_id=r)) == _json(reference.advise(c, regime_id=r)), case.name


def test_the_memo_changes_nothing(reference):
    no_memo = Advisor(engine=DurableEngine())
    no_memo.evaluator = Evaluator(DurableEngine(), memo_size=0)
    for case in CASES:
        c = contract_from_mapping(case.contract)
        r = case.regime_as
        assert _json(no_memo.advise(c, regime_id=r)) == _json(reference.advise(c, regime_id=r)), case.name


def test_what_the_advisor_keeps_between_contracts_changes_nothing():
    # Route, finding and plan skeletons, the memo and the rendered details are kept or cached between
    # contracts: advising every case after all the others, in reverse order, gives what a fresh advisor gives.
    seasoned = Advisor(engine=DurableEngine())
    for case in CASES:
        seasoned.advise(contract_from_mapping(case.contract), regime_id=case.regime_as)
    for case in reversed(CASES):
        c, r = contract_from_mapping(case.contract), case.regime_as
        fresh = Advisor(engine=PythonEngine())
        assert _json(seasoned.advise(c, regime_id=r)) == _json(fresh.advise(c, regime_id=r)), case.name


def test_advice_is_made_by_the_fast_makers_and_equals_the_validated_models():
    import warnings

    from s16advisor.advice import Advice
    from s16advisor.advisor import _makers, _same

    _makers.cache_clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the fallback to validation warns
        _makers()
    seasoned = Advisor(engine=DurableEngine())
    for case in CASES:
        a = seasoned.advise(contract_from_mapping(case.contract), regime_id=case.regime_as)
        assert _same(a, Advice.model_validate(a.model_dump(exclude_unset=True))), case.name


def _varied_contracts(n: int, seed: int) -> list:
    """Every behaviour case's contract advised under its own regime, and ``n`` varied contracts, a third of them
    under the Procurement Act 2023."""
    import datetime as dt
    import random
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from bench_advise import contract_mapping

    contracts = [contract_from_mapping(case.contract) for case in CASES if case.regime_as is None]
    rnd = random.Random(seed)
    for i in range(n):
        m = contract_mapping(rnd, i)
        if i % 3 == 0:
            m["procurement_start"] = (dt.date(2025, 2, 24) + dt.timedelta(days=rnd.randint(0, 900))).isoformat()
        contracts.append(contract_from_mapping(m))
    return contracts


def test_the_outline_of_a_contract_is_what_its_advice_says(advisor):
    from s16advisor.advisor import Outline

    def outline_of(advice):  # type: ignore[no-untyped-def]
        v = advice.valuation
        th = v.threshold
        return Outline(
            advice.regime.id, v.value, v.vat_basis, th.name if th else None, th.amount if th else None,
            v.above_threshold, tuple(advice.recommended), {r.id: r.status for r in advice.routes},
            tuple((r.id, b.code) for r in advice.routes for b in r.blocked_by),
            tuple((f.code, f.severity) for f in advice.findings))

    for c in _varied_contracts(1500, 5):
        assert advisor.outline(c) == outline_of(advisor.advise(c)), c.id


def test_a_review_works_out_an_outline_s_cells_and_figures_by_its_statuses_and_by_its_findings(advisor):
    """A review keeps what a CSV row and the summary take of an outline's statuses (plan, statuses, blockers) per
    statuses object, and of its findings per findings object, which outlines of other findings, and of other
    statuses, share: each must give what the same outline gives uncached (a plain dict and a list)."""
    from s16advisor.review import _outline_cells, _stats

    kept = []  # (the outlines kept, so that the ids below are not reused)
    findings_by_statuses: dict[int, set] = {}
    statuses_by_findings: dict[int, set] = {}
    for c in _varied_contracts(1500, 8):
        o = advisor.outline(c)
        plain = o._replace(statuses=dict(o.statuses), findings=list(o.findings))
        assert _outline_cells(o, c) == _outline_cells(plain, c), c.id
        assert _stats(o, c, ()) == _stats(plain, c, ()), c.id
        kept.append(o)
        findings_by_statuses.setdefault(id(o.statuses), set()).add(o.findings)
        statuses_by_findings.setdefault(id(o.findings), set()).add(tuple(o.statuses.items()))
    # the cases the two caches must tell apart
    assert any(len(found) > 1 for found in findings_by_statuses.values())
    assert any(len(found) > 1 for found in statuses_by_findings.values())


def test_the_json_written_without_the_advice_is_the_advice_s_json(advisor, monkeypatch):
    import warnings

    from s16advisor.advisor import advice_json

    contracts = _varied_contracts(1500, 6)
    whole = _made_whole(monkeypatch)
    for c in contracts:
        for trace in (False, True):
            assert advisor.advise_json(c, trace=trace) == (advice_json(advisor.advise(c), trace=trace),
                                                           advisor.outline(c)), (c.id, trace)
    assert whole == []
    # Texts JSON escapes, and values pydantic writes otherwise than Python (1e-05, 1e+16) or cannot (a lone
    # surrogate): the advice is then made and serialised.
    odd = [{"id": 'a "quoted" \\ id\ttab', "title": "Café — ñ 😀 \x00\x1f\x7f \u2028"},
           {"value": {"amount": 0.00001, "vat": "net"}}, {"value": {"amount": 1e17, "vat": "inclusive"}},
           {"title": "lone \ud800 surrogate"},
           {"id": 5}, {"title": None}]  # a contract made without validation (model_copy) is written as pydantic does
    # pydantic warns of a number where a text belongs (id 5); pytest restores the filters after each test
    warnings.filterwarnings("ignore", "Pydantic serializer warnings")
    for change in odd:
        c = contracts[0].model_copy(update=change)
        if "value" in change:
            c = contracts[0].model_copy(update={"value": contracts[0].value.model_copy(update=change["value"])})
        try:
            expected = advice_json(advisor.advise(c), trace=False), advisor.outline(c)
        except ValueError as e:  # the lone surrogate: the same error as pydantic's own writing of that advice
            with pytest.raises(type(e), match="surrogates not allowed"):
                advisor.advise_json(c)
        else:
            assert advisor.advise_json(c) == expected, change


def test_a_float_is_written_as_pydantic_writes_it_or_not_at_all():
    import random

    import pydantic_core

    from s16advisor.advisor import _float_json, _NotPlain

    rnd = random.Random(9)
    values = [0.0, -0.0, 0.01, 1e-4, 1e-5, 1.5e-7, 1e15, 1e16, 1.2e17, 123456789.125, float("inf"), float("nan")]
    values += [rnd.uniform(0, 10 ** rnd.randint(-8, 20)) for _ in range(20000)]
    written = 0
    for v in values:
        try:
            text = _float_json(v)
        except _NotPlain:
            continue
        assert text == pydantic_core.to_json(v), v
        written += 1
    assert written > 10000  # money: from 1e-4 to 1e16


def test_an_advice_whose_json_cannot_be_kept_is_serialised_whole(advisor, monkeypatch):
    import s16advisor.advisor as advisor_module
    from s16advisor.advisor import advice_json

    contracts = _varied_contracts(200, 7)
    fresh = Advisor()
    monkeypatch.setattr(advisor_module, "_split_json", lambda data, count: None)  # as if a text held a marker
    whole = _made_whole(monkeypatch)
    for c in contracts:
        assert fresh.advise_json(c) == (advice_json(advisor.advise(c), trace=False), advisor.outline(c)), c.id
    assert len(whole) == len(contracts)


def test_two_contracts_in_a_row_never_see_each_others_facts():
    fresh = Advisor(engine=DurableEngine())
    fresh.evaluator = Evaluator(DurableEngine(), memo_size=0)  # every contract goes through durable-rules
    base = {"id": "ISO-1", "title": "Isolation case", "procurement_start": "2024-06-03", "contract_type": "services",
            "duration_months": 36, "reasons_for_not_lotting": "One care package."}  # (not a case: they may move)
    a = contract_from_mapping(base | {"cpv": ["85311200-4"], "value": {"amount": 900000},
                                      "reservation": "public_service_mutual"})
    b = contract_from_mapping(base | {"cpv": ["79340000-9"], "value": {"amount": 1000}, "route": "open"})
    first = _json(fresh.advise(a))
    other = _json(fresh.advise(b))
    again = _json(fresh.advise(a))
    assert first == again
    assert first["recommended"] != other["recommended"]
    assert "declared_route_unavailable" not in [f["code"] for f in again["findings"]]


def test_durable_rules_fires_rules_without_a_deprecated_call():
    """durable-rules timed its action leases with datetime.utcfromtimestamp, which Python 3.12 deprecates: a
    warning at every rule that fired, an error under -W error. Its clock is replaced by the same count."""
    import datetime as dt
    import warnings

    from durable import engine as durable

    fresh = Advisor(engine=DurableEngine())
    fresh.evaluator = Evaluator(DurableEngine(), memo_size=0)  # every contract goes through durable-rules
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        advice = fresh.advise(contract_from_mapping(CASES[0].contract))
        counted = durable._unix_now()
    assert advice.recommended
    assert abs(counted - (dt.datetime.now() - dt.datetime(1970, 1, 1)).total_seconds()) < 5  # (its own count)
    assert durable._unix_now.__module__ == "s16advisor.engine.durable_engine"


@pytest.mark.parametrize("memo_size", [0, 8192])
@pytest.mark.parametrize("engine", [DurableEngine, PythonEngine])
def test_two_rules_asserting_different_values_for_a_fact_are_an_error(tmp_path, engine, memo_size):
    broken = Advisor(_rulebook_changed(tmp_path, "pcr2015/scope.yaml", "when: {fact: contract_type, eq: works}",
                                       "when: {fact: contract_type, in: [services, supplies, works]}"),
                     engine=engine())
    broken.evaluator = Evaluator(engine(), memo_size=memo_size)
    base = CASES[0].contract | {"contract_type": "services", "procurement_start": "2024-06-01"}
    light_touch = base | {"cpv": ["85311200-4"]}  # the works rule and the light-touch rule: the same stage
    other = base | {"cpv": ["90910000-9"]}  # the works rule, then the sub-central rule: two stages
    for contract in (light_touch, other, light_touch):
        with pytest.raises(EngineError, match="assert different values for threshold"):
            broken.advise(contract_from_mapping(contract))
    # across two stages: the earlier stage's rule is named first
    with pytest.raises(EngineError, match=r"rules pcr2015\.scope\.works and pcr2015\.scope\.supplies_services_sub_"):
        broken.advise(contract_from_mapping(other))


def test_a_memo_too_small_for_the_contracts_changes_nothing():
    """Each stage forgets its least recently used answers, and each rule its oldest, past ``memo_size``: with
    room for two of each, varied contracts fire the rules they fire without a memo."""
    small, none = Advisor(engine=PythonEngine()), Advisor(engine=PythonEngine())
    small.evaluator = Evaluator(PythonEngine(), memo_size=2)
    none.evaluator = Evaluator(PythonEngine(), memo_size=0)
    for c in _varied_contracts(300, 9):
        got, expected = small._evaluate(c, None)[4], none._evaluate(c, None)[4]
        assert (got.fired, got.facts) == (expected.fired, expected.facts), c.id
    plans = small.evaluator._plans.values()
    assert small.evaluator.hits and all(len(st.memo) == 2 for plan in plans for st in plan.stages[:1])
    assert any(len(rule_memo) == 2 for plan in plans for st in plan.stages for rule_memo in st.rule_memos)


def test_amounts_nearer_0_than_python_writes_without_an_exponent_are_advised_by_durable_rules(reference):
    """durable-rules' parser takes no exponent: £0.00001 (Python writes 1e-05) could not be asserted."""
    durable = Advisor(engine=DurableEngine())
    durable.evaluator = Evaluator(DurableEngine(), memo_size=0)
    base = CASES[0].contract
    for amount in (1e-5, 5e-324, 9.99e-5, 1e-4, 1.5e-7, 0.0):
        for lots in (None, [{"id": "a", "value": amount, "small_lot": True}]):
            contract = contract_from_mapping(base | {"value": {"amount": amount}} | ({"lots": lots} if lots else {}))
            assert durable.advise(contract) == reference.advise(contract), amount


def test_more_contracts_than_durable_rules_has_session_slots():
    # durable-rules raises MemoryError past 1,024 live session ids: state must be deleted per contract.
    fresh = Advisor(engine=DurableEngine())
    fresh.evaluator = Evaluator(DurableEngine(), memo_size=0)
    base = CASES[0].contract
    for i in range(1500):
        fresh.advise(contract_from_mapping(base | {"id": f"C{i}", "value": {"amount": 1000 + i * 997}}))


def test_an_exception_in_a_rule_action_is_raised_not_swallowed(monkeypatch):
    engine = DurableEngine()

    def failing_action(index):
        def run(c):
            raise RuntimeError("boom")

        return run

    monkeypatch.setattr(engine, "_action", failing_action)
    broken = Advisor(engine=engine)
    broken.evaluator = Evaluator(engine, memo_size=0)
    with pytest.raises(EngineError):
        broken.advise(contract_from_mapping(CASES[0].contract))


def test_numbers_and_strings_are_not_confused():
    # durable-rules compares strings with numbers; facts are typed before they reach it.
    fresh = Advisor(engine=DurableEngine())
    fresh.evaluator = Evaluator(DurableEngine(), memo_size=0)
    c = contract_from_mapping(CASES[0].contract | {"duration_months": 9})  # "9" > "36" as strings
    advice = fresh.advise(c)
    assert not any(b.code == "duration_over_limit" for r in advice.routes for b in r.blocked_by)


def test_two_conditions_that_read_the_same_once_filled_are_said_once(tmp_path, advisor):
    from s16advisor.advisor import advice_json

    said = '    then:\n      condition:\n        - {route: innovation_partnership, message: "Record'
    twice = "".join(f"        - {{route: innovation_partnership, message: 'Worth {{values.{name}}}.'}}\n"
                    for name in ("works", "light_touch"))
    twice = Advisor(_rulebook_changed(tmp_path, "pcr2015/procedures.yaml", said, "    then:\n      condition:\n"
                                      + twice.rstrip("\n") + said[len("    then:\n      condition:"):]))
    seen = 0
    for c in _varied_contracts(300, 8):
        advice = twice.advise(c)
        conditions = advice.route("innovation_partnership").conditions
        if advice.route("innovation_partnership").status != "unavailable" and advice.regime.id == "pcr2015" \
                and c.procurement_start.year >= 2022:  # both thresholds' values are inclusive of VAT
            seen += 1
            assert conditions[0].startswith("Worth £") and not conditions[1].startswith("Worth"), conditions
        assert twice.advise_json(c) == (advice_json(advice, trace=False), twice.outline(c)), c.id
    assert seen


def test_a_value_no_threshold_applies_to_is_stated_on_the_basis_of_the_regime_s_thresholds(tmp_path):
    from s16advisor.advisor import advice_json

    no_works_threshold = Advisor(_rulebook_changed(tmp_path, "pcr2015/scope.yaml", "assert: {threshold: works}",
                                                   "assert: {threshold: none}"))
    works = CASES[0].contract | {"contract_type": "works", "cpv": ["45000000-7"], "lots": [],
                                 "value": {"amount": 1_200_000, "vat": "inclusive", "vat_rate": 0.2}}
    works.pop("lots")
    for start, value, basis in (("2021-12-31", 1_000_000.0, "net"), ("2022-01-01", 1_200_000.0, "inclusive")):
        c = contract_from_mapping(works | {"procurement_start": start})
        advice = no_works_threshold.advise(c)
        assert advice.valuation.threshold is None
        assert (advice.valuation.value, advice.valuation.vat_basis) == (value, basis), start
        assert no_works_threshold.outline(c).vat_basis == basis
        assert no_works_threshold.advise_json(c)[0] == advice_json(advice, trace=False)


def test_the_trace_is_every_rule_in_evaluation_order_fired_as_evaluated(advisor):
    # The trace is kept per combination of fired rules and made from the mask's binary digits: it must say of each
    # rule, in evaluation order, what the evaluation said.
    for c in _varied_contracts(300, 8):
        _, _, program, _, evaluation = advisor._evaluate(c, None)
        order = sorted(program.rules, key=lambda r: (r.stage, r.index))
        fired = set(evaluation.fired)
        expected = [(r.rule.id, r.index in fired) for r in order]
        for trace in (advisor.advise(c).trace, advisor.advise(c).trace):  # made, then kept
            assert [(e.rule, e.fired) for e in trace] == expected, c.id


def test_a_message_is_written_as_json_as_its_filled_text_would_be():
    from json.encoder import encode_basestring

    from s16advisor.advisor import _json_part, _NotPlain, _Values
    from s16advisor.rulebook import literal, template

    def as_json(t: Any, details: dict[str, str]) -> bytes:  # as an advice's JSON has it (see _json_part)
        if not t.names:
            assert t.json is not None
            return b"".join(t.json)
        part = _json_part([b"{", b"}"], (("text", t),))
        assert part is not None
        got = part.fill(_Values(details, {}))
        assert got[:1] + got[-1:] == b"{}"
        return got[1:-1]

    odd = ['a "quoted" \\ back', "tab\tnew\nline \x00\x1f\x7f", "£1,000 — Café 😀 \u2028", "100% {not.a.detail",
           "%s %(x)s", ""]
    details = {"value": odd[0], "supplier": odd[1], "lots.count": odd[2], "vat_basis": odd[3], "x": odd[4]}
    texts = [f"{a}{{value}}{b}{{supplier}}{{missing}}{c}{{lots.count}}{{vat_basis}}{{x}}"
             for a in odd for b in odd[::-1] for c in ("", "}", "{")]
    assert len(texts) == 108
    for text in texts:
        for t in (template(text), literal(text)):
            assert as_json(t, details) == encode_basestring(t.fill(details)).encode(), text
    assert as_json(template("{value}"), details) == b'"a \\"quoted\\" \\\\ back"'
    for surrogate in (template("lone \ud800 {value}"), literal("\udfff")):  # not UTF-8: pydantic writes the advice
        assert surrogate.json is None and _json_part([b"{", b"}"], (("text", surrogate),)) is None
    with pytest.raises(UnicodeEncodeError):  # (advise_json then has pydantic write the advice)
        as_json(template("{value}"), {"value": "lone \ud800"})

    # Several conditions on a route (a "texts" hole): a JSON array of their texts, each said once (the same text
    # from another message too), as the filled texts would be written.
    conditions = (*(template(t) for t in texts[::9]), template(texts[0]), template("{value}"), literal(odd[0]))
    part = _json_part([b"{", b"}"], (("texts", conditions),))
    assert part is not None
    said = list(dict.fromkeys(t.fill(details) for t in conditions))
    assert len(said) == len(conditions) - 2
    assert part.fill(_Values(details, {})) == ("{[" + ",".join(map(encode_basestring, said)) + "]}").encode()
    part = _json_part([b"[", b"]"], (("texts", (template("{value}"), literal("lone \ud800"))),))
    assert part is not None
    with pytest.raises(_NotPlain):  # (advise_json then has pydantic write the advice)
        part.fill(_Values(details, {}))


@pytest.mark.parametrize("command", [["advise", "examples/supported-living.yaml"], ["check", "examples/drafts"],
                                     ["review", "examples/supported-living.yaml", "--jobs", "2"]])
def test_an_engine_that_cannot_be_loaded_is_one_line_and_exit_3_not_a_traceback(command):
    """On Python 3.13 durable-rules installs, then its C extension fails to load (PyEval_CallObject is gone)."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['durable'] = None\n"  # (importing it then raises ImportError)
            "from s16advisor.cli import main; sys.argv = ['s16advisor', *sys.argv[1:]]; main()")
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-c", code, *command], cwd=root, capture_output=True, text=True)
    assert r.returncode == 3, r.stderr
    assert r.stderr.startswith("error: durable-rules, the rules engine, cannot be loaded (")
    assert "runs on Python 3.11 and 3.12" in r.stderr and "Traceback" not in r.stderr and r.stdout == ""


def test_durable_field_names_hash_apart_from_each_other_and_from_durables_own_names():
    """durable-rules knows a field by its 32-bit FNV-1a hash alone: a threshold named bdtkddz gave the field
    vs__bdtkddz, which hashes as "t", the type tag every pattern checks, and turned its stage's rules off."""
    from s16advisor.engine.durable_engine import _RESERVED, _Fields, _fnv1a32

    # the hashes durable-rules' C source hard-codes (state.h, rete.c)
    assert (_fnv1a32("id"), _fnv1a32("sid"), _fnv1a32("$forward"), _fnv1a32("$and")) == \
        (926444256, 3593476751, 739185624, 3746487396)
    assert _fnv1a32("vs__bdtkddz") == _fnv1a32("t")  # the collision the old names allowed
    fields = _Fields()
    names = [fields[f"vs.threshold_{i}"] for i in range(20000)]
    assert fields["vs.threshold_7"] == names[7]  # one name per fact
    hashes = [_fnv1a32(n) for n in names]
    assert len(set(hashes)) == len(names)
    assert not set(hashes) & {_fnv1a32(n) for n in _RESERVED}


def test_a_threshold_whose_old_field_name_hashed_as_the_type_tag_changes_no_advice(tmp_path, reference):
    import shutil

    from s16advisor.data import load_data

    folder = tmp_path / "data"
    shutil.copytree(Path(__file__).resolve().parent.parent / "data", folder)
    path = folder / "thresholds.yaml"
    text = path.read_text()
    extra = ("    bdtkddz:\n      title: A threshold no rule reads\n      regulation: none\n      values:\n"
             "        - from: 2015-02-26\n          amount: 100\n          vat: net\n"
             "          reference: https://www.legislation.gov.uk/uksi/2015/102\n")
    assert "  pcr2015:\n" in text
    path.write_text(text.replace("  pcr2015:\n", "  pcr2015:\n" + extra, 1))
    data = load_data(str(folder))
    durable, python = Advisor(data=data), Advisor(data=data, engine=PythonEngine())
    for case in CASES[:60]:
        c = contract_from_mapping(case.contract)
        assert _json(durable.advise(c, regime_id=case.regime_as)) == \
            _json(python.advise(c, regime_id=case.regime_as)), case.name


def test_a_negated_condition_holds_exactly_when_the_condition_does_not(advisor):
    """Every kind of condition, compiled under ``not`` (negations are pushed down to the comparisons), holds on
    exactly the facts the condition itself does not hold on; and comparisons meet their constant as they say."""
    import itertools

    from pydantic import TypeAdapter

    from s16advisor.facts import build_facts, fact_catalogue
    from s16advisor.rulebook import Compiler, Condition, evaluate_expr

    regime = advisor.rulebook.regime("pcr2015")
    data = advisor.data
    compiler = Compiler(regime, fact_catalogue(regime, data), list(data.thresholds.regimes["pcr2015"]),
                        list(data.cpv_lists))
    lt, lte, gt, gte = ({"fact": "duration_months", op: 36} for op in ("lt", "lte", "gt", "gte"))
    services = {"fact": "contract_type", "eq": "services"}
    conditions = [
        lt, lte, gt, gte, services, {"fact": "contract_type", "ne": "services"},
        {"fact": "contract_type", "in": ["services", "works"]},
        {"fact": "contract_type", "not_in": ["services", "works"]},
        {"fact": "objectives", "includes": "innovation"},
        {"cpv": {"all_in": "reg77_reservable"}}, {"cpv": {"any_in": "reg77_reservable"}},
        {"cpv": {"none_in": "reg77_reservable"}},
        {"threshold": "light_touch", "is": "at_or_above"}, {"threshold": "applicable", "is": "below"},
        {"route": "open", "is": "available"}, {"route": "open", "is": "unavailable"},
        {"route": "open", "is": "recommended"}, {"route": "open", "is": "not_recommended"},
        {"declared_route": "available"}, {"declared_route": "unavailable"},
        {"all": [lte, services]}, {"any": [gt, services]}, {"not": {"all": [gte, {"not": services}]}},
    ]
    c = contract_from_mapping({"id": "N", "title": "Negations", "procurement_start": "2024-06-03",
                               "contract_type": "services", "value": {"amount": 100000}, "duration_months": 36,
                               "cpv": ["85311200-4"]})
    program = advisor.programs["pcr2015"]
    base = {**program.defaults, **build_facts(c, regime, data).facts}
    variations = itertools.product(
        (35.0, 36.0, 37.0), ("services", "supplies"), (True, False), ("none", "light_touch", "works"),
        ("below", "at_or_above"), ((True, True), (False, True), (False, False)), (True, False), (True, False),
        ("none", "open", "restricted"))
    facts_list = []
    for months, kind, innovation, threshold, vs, (all_in, any_in), blocked, recommended, declared in variations:
        facts_list.append({**base, "duration_months": months, "contract_type": kind,
                           "objectives.innovation": innovation, "threshold": threshold,
                           "vs.light_touch": vs, "vs.works": vs,
                           "cpv.reg77_reservable.all": all_in, "cpv.reg77_reservable.any": any_in,
                           "blocked.open": blocked, "recommended.open": recommended, "declared_route": declared})
    adapter = TypeAdapter(Condition)
    for cond in conditions:
        positive = compiler.expr(adapter.validate_python(cond), "test")
        negative = compiler.expr(adapter.validate_python({"not": cond}), "test")
        for facts in facts_list:
            assert evaluate_expr(negative, facts) is (not evaluate_expr(positive, facts)), (cond, facts)
    for months, holds in ((35.0, (True, True, False, False)), (36.0, (False, True, False, True)),
                          (37.0, (False, False, True, True))):
        facts = {**base, "duration_months": months}
        got = tuple(evaluate_expr(compiler.expr(adapter.validate_python(x), "test"), facts) for x in (lt, lte, gt, gte))
        assert got == holds, months


def test_the_plan_is_in_the_order_its_rules_give_not_the_order_they_are_written_in(tmp_path):
    """A route's place in the recommended plan is its recommendation's ``order`` (ties: the rule written first),
    not where the rule is written: reg 77 given order 0 comes before light touch (order 1), written before it."""
    c = contract_from_mapping({"id": "P", "title": "Plan order", "procurement_start": "2024-06-03",
                               "contract_type": "services", "duration_months": 36,
                               "value": {"amount": 900000, "vat": "exclusive", "vat_rate": 0}, "cpv": ["85311200-4"],
                               "reservation": "public_service_mutual", "reasons_for_not_lotting": "One care package."})
    route = "        route: reserved_public_service_mutual\n        order: "
    assert Advisor().advise(c).recommended == ["light_touch", "reserved_public_service_mutual"]
    advisor = Advisor(_rulebook_changed(tmp_path, "pcr2015/recommend.yaml", route + "2", route + "0"))
    assert advisor.advise(c).recommended == ["reserved_public_service_mutual", "light_touch"]


def test_a_rule_runs_in_the_stage_after_the_last_rule_writing_a_fact_it_reads(advisor):
    """Stages as the trace numbers them: 0 for a rule reading only the contract's facts, else one after the latest
    stage of a rule that may assert a fact it reads."""
    for program in advisor.programs.values():
        for cr in program.rules:
            writers = [w.stage for w in program.rules if set(w.writes) & cr.reads]
            assert cr.stage == 1 + max(writers, default=-1), cr.rule.id
        assert program.by_stage(0) and program.stages == 1 + max(cr.stage for cr in program.rules)
