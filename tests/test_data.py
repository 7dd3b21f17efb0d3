"""data/cpv_codes.yaml and data/thresholds.yaml against the CPV 2008 vocabulary and the law."""

from __future__ import annotations

import datetime as dt

import pytest

from s16advisor.cpv import CpvList, Entry, formula_check_digit
from s16advisor.data import load_data


@pytest.fixture(scope="module")
def vocabulary(shared) -> dict[str, str]:
    out = {}
    for line in (shared / "reference" / "cpv2008.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        code, digit, _ = line.split("\t", 2)
        out[code] = digit
    return out


@pytest.fixture(scope="module")
def data():
    return load_data()


def test_every_listed_code_and_range_end_is_a_cpv_2008_code_with_its_official_check_digit(data, vocabulary):
    problems = []
    for name, spec in data.cpv.lists.items():
        for group in spec.groups:
            for text in group.entries:
                e = Entry.parse(text)
                ends = [(e.low, e.low_digit)] + ([(e.high, e.high_digit)] if e.is_range else [])
                for code, digit in ends:
                    if f"{code}-{digit}" in spec.not_in_cpv2008:
                        continue
                    if code not in vocabulary:
                        problems.append(f"{name}: {code}-{digit} is not in CPV 2008")
                    elif vocabulary[code] != digit:
                        problems.append(f"{name}: {code}-{digit}: official check digit is {vocabulary[code]}")
    assert not problems, problems


def test_codes_said_not_to_be_in_cpv_2008_really_are_not(data, vocabulary):
    for spec in data.cpv.lists.values():
        for code in spec.not_in_cpv2008:
            assert code[:8] not in vocabulary, f"{code} is in CPV 2008: remove it from not_in_cpv2008"


def test_the_reg77_range_covers_the_98_codes_from_85000000_to_85323000(data, vocabulary):
    reg77 = data.cpv_lists["reg77_reservable"]
    in_range = [c for c in vocabulary if 85000000 <= int(c) <= 85323000]
    assert len(in_range) == 98
    assert all(c in reg77 for c in in_range)
    assert "80660000" not in reg77 and "90000000" not in reg77  # the CPV 2008 neighbours of the range ends


def test_the_reg77_list_is_the_regulation_list(data):
    # reg 77(2), as quoted in legal-facts §3
    expected = {"75121000-0", "75122000-7", "75123000-4", "79622000-0", "79624000-4", "79625000-1", "80110000-8",
                "80300000-7", "80420000-4", "80430000-7", "80511000-9", "80520000-5", "80590000-6",
                "85000000-9..85323000-9", "92500000-6", "92600000-7", "98133000-4", "98133110-8"}
    got = {t for g in data.cpv.lists["reg77_reservable"].groups for t in g.entries}
    assert got == expected


def test_every_reg77_code_is_a_light_touch_service(data, vocabulary):
    reg77, lt = data.cpv_lists["reg77_reservable"], data.cpv_lists["light_touch"]
    for code in vocabulary:
        if code in reg77:
            assert code in lt, code


def test_a_range_covers_codes_between_its_ends_and_nothing_outside():
    lst = CpvList("t", [Entry.parse("85000000-9..85323000-9"), Entry.parse("92500000-6")])
    assert "85000000" in lst and "85323000" in lst and "85143000" in lst
    assert "84999999" not in lst and "85323001" not in lst
    assert "92500000" in lst and "92510000" not in lst  # a single code is not a subtree


def test_a_range_inside_or_overlapping_another_does_not_shorten_it():
    """Schedule 3 repeats some ranges: merged, the outer range still covers every code to its own end."""
    lst = CpvList("t", [Entry.parse("85000000-9..85323000-9"), Entry.parse("85100000-0..85110000-3"),
                        Entry.parse("85300000-2..85400000-9")])
    assert "85200000" in lst and "85323000" in lst and "85399999" in lst and "85400000" in lst
    assert "85400001" not in lst and "84999999" not in lst


def test_an_entry_must_be_well_formed():
    for bad in ("8500000-9", "85000000", "85323000-9..85000000-9", "85000000-9..", "x"):
        with pytest.raises(ValueError):
            Entry.parse(bad)


def test_the_check_digit_formula_is_not_the_official_digit_for_every_code(vocabulary):
    # Why the advisor never rejects a code by formula (legal-facts §7): about 6% disagree.
    disagree = sum(formula_check_digit(c) != d for c, d in vocabulary.items())
    assert 0.03 < disagree / len(vocabulary) < 0.10


@pytest.mark.parametrize(
    "day, name, amount, vat",
    [
        ("2015-02-26", "supplies_services_sub_central", 172514, "net"),
        ("2019-12-31", "light_touch", 615278, "net"),
        ("2021-12-31", "works", 4733252, "net"),
        ("2022-01-01", "supplies_services_central", 138760, "inclusive"),
        ("2025-02-23", "small_lot_works", 884720, "inclusive"),
    ],
)
def test_the_threshold_in_force_on_a_date(data, day, name, amount, vat):
    th = data.thresholds_in_force("pcr2015", dt.date.fromisoformat(day), dt.date(2025, 2, 23))[name]
    assert (th.amount, th.vat) == (amount, vat)


def test_a_threshold_value_is_in_force_from_its_day_to_the_day_before_the_next_one_or_the_regime_s_end(data):
    end = dt.date(2025, 2, 23)
    th = data.thresholds_in_force("pcr2015", dt.date(2021, 6, 1), end)["supplies_services_sub_central"]
    assert (th.amount, th.in_force_from, th.in_force_to) == (189330, dt.date(2020, 1, 1), dt.date(2021, 12, 31))
    th = data.thresholds_in_force("pcr2015", dt.date(2021, 12, 31), end)["works"]  # its last day
    assert (th.amount, th.in_force_to) == (4733252, dt.date(2021, 12, 31))
    th = data.thresholds_in_force("pcr2015", dt.date(2022, 1, 1), end)["works"]  # the next one's first
    assert (th.amount, th.in_force_from) == (5336937, dt.date(2022, 1, 1))
    th = data.thresholds_in_force("pcr2015", dt.date(2024, 6, 3), end)["light_touch"]  # the last: to the regime's end
    assert (th.in_force_from, th.in_force_to) == (dt.date(2022, 1, 1), end)
    assert data.thresholds_in_force("pa2023", dt.date(2026, 6, 1), None)["works"].in_force_to is None
    assert data.thresholds_in_force("pcr2015", dt.date(2015, 2, 25), end) == {}  # before the first value


def test_threshold_amounts_are_whole_pounds_written_as_json_integers_as_the_spec_shows():
    import json
    from pathlib import Path

    from pydantic import ValidationError

    from s16advisor.advisor import advise_file
    from s16advisor.data import ThresholdValue

    example = Path(__file__).resolve().parent.parent / "examples" / "supported-living.yaml"
    valuation = json.loads(json.dumps(advise_file(str(example)).to_json_dict()))["valuation"]
    amounts = [valuation["threshold"]["amount"]] + [t["amount"] for t in valuation["thresholds_in_force"]]
    assert amounts and all(type(a) is int for a in amounts), amounts  # 663540, not 663540.0
    with pytest.raises(ValidationError, match="integer"):
        ThresholdValue.model_validate({"from": "2024-01-01", "amount": 663540.5, "vat": "inclusive",
                                       "reference": "https://www.legislation.gov.uk/x"})


def _legal_facts(shared) -> str:
    return (shared / "reference" / "legal-facts.md").read_text(encoding="utf-8")


def test_the_light_touch_list_is_schedule_3_as_legal_facts_quotes_it_category_by_category(data, shared):
    import re

    section = _legal_facts(shared).split("### Schedule 3", 1)[1].split("\n### ", 1)[0]
    expected = {}
    for number, codes in re.findall(r"^(\d+)\. [^\n]+?: ([0-9][^\n]*?|from [^\n]*?)\.$", section, re.M):
        expected[int(number)] = {c.strip().removeprefix("from ").replace(" to ", "..") for c in codes.split(";")}
    got = {int(g.name.split(".")[0]): set(g.entries) for g in data.cpv.lists["light_touch"].groups}
    assert len(expected) == 15
    assert got == expected


def test_every_threshold_legal_facts_marks_unverified_keeps_a_verify_note(data, shared):
    import re

    columns = ["supplies_services_central", "supplies_services_sub_central", "works", "light_touch",
               "small_lot_supplies_services", "small_lot_works"]
    table = data.thresholds.regimes["pcr2015"]
    checked = 0
    for day, cells in re.findall(r"^\| (\d{4}-\d{2}-\d{2}) \|(.+)\|$", _legal_facts(shared), re.M):
        for name, cell in zip(columns, cells.split("|")[:6], strict=True):
            if "[V]" in cell:
                checked += 1
                (value,) = [v for v in table[name].values if v.from_.isoformat() == day]
                assert value.verify, f"{name} from {day} is [V] in legal-facts §2 but has no verify note"
    assert checked >= 1


def test_the_2026_act_thresholds_cite_si_2025_1200(data):
    # legal-facts §2: "2026 figures: UK SI 2025/1200 (in force 1 Jan 2026)"
    for name, th in data.thresholds.regimes["pa2023"].items():
        for v in th.values:
            if v.from_ == dt.date(2026, 1, 1):
                assert v.reference == "https://www.legislation.gov.uk/uksi/2025/1200", name


def test_only_the_values_si_2023_1117_amended_cite_it(data):
    # SI 2023/1117 reg 2(2) amends PCR 2015 reg 5(1)(a) to (c) (works, central, sub-central) and nothing else:
    # the light-touch figure (reg 5(1)(d)) and the small-lot values (reg 6) stay as in force from 2022-01-01.
    citing = {name for name, th in data.thresholds.regimes["pcr2015"].items()
              for v in th.values if v.reference.endswith("/uksi/2023/1117")}
    assert citing == {"works", "supplies_services_central", "supplies_services_sub_central"}


def test_every_sub_central_value_says_that_welsh_bodies_being_sub_central_is_unverified(data, shared):
    # legal-facts §2: "Welsh Government bodies, Welsh local authorities and NHS Wales bodies are sub-central (not in
    # Schedule 1). [V]" - the threshold a Welsh council is judged against carries that note in every year, 2026 too.
    assert "are sub-central (not in Schedule 1). [V]" in _legal_facts(shared)
    for regime in ("pcr2015", "pa2023"):
        for v in data.thresholds.regimes[regime]["supplies_services_sub_central"].values:
            assert v.verify and "sub-central" in v.verify and "unverified" in v.verify, (regime, v.from_.isoformat())
