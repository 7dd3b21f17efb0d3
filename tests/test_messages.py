"""Rule messages: filled by plain lookup from the contract's details, which are worked out when first asked."""

from __future__ import annotations

import datetime as dt

import pytest

from s16advisor.facts import Details
from s16advisor.rulebook import template


def _details(**eager: str) -> Details:
    d = Details(eager)
    d.lazy = {}
    return d


def test_placeholders_are_filled_and_the_rest_of_the_text_is_kept_as_written():
    text = "A value of {value} is 90% of {threshold.amount} (not {{value}}, not %s, not %(x)s)."
    assert template(text).fill({"value": "£1", "threshold.amount": "£2"}) == \
        "A value of £1 is 90% of £2 (not {£1}, not %s, not %(x)s)."


def test_a_placeholder_with_no_detail_stays_as_written():
    assert template("{value} and {cpv.unknown.inside}").fill({"value": "£1"}) == "£1 and {cpv.unknown.inside}"
    assert template("{value}").fill(_details()) == "{value}"


def test_nothing_but_a_plain_lookup_happens():
    # str.format would read attributes and items: a rule file is untrusted.
    assert template("{value.__class__} {value[0]}").fill({"value": "x"}) == "{value.__class__} {value[0]}"


def test_a_detail_is_worked_out_the_first_time_a_message_asks_and_kept():
    calls = []

    def value(d: Details, name: str) -> str:
        calls.append(1)
        return "£5"

    d = _details(start="2024-01-01")
    d.lazy = {"value": value}
    t = template("{value} from {start}, again {value}")
    assert t.fill(d) == "£5 from 2024-01-01, again £5"
    assert t.fill(d) == "£5 from 2024-01-01, again £5"
    assert len(calls) == 1
    assert "value" in d


def test_threshold_details_of_a_contract_no_threshold_applies_to_stay_as_written():
    from s16advisor.advisor import default_advisor
    from s16advisor.contract import contract_from_mapping
    from s16advisor.facts import build_facts

    adv = default_advisor()
    c = contract_from_mapping({"id": "X", "title": "t",
                               "authority": {"name": "A", "type": "sub_central", "nation": "wales"},
                               "procurement_start": "2024-06-01", "contract_type": "services",
                               "value": {"amount": 1000, "vat": "exclusive"}, "duration_months": 12,
                               "cpv": ["90910000-9"]})
    regime = adv.regime_for(c.procurement_start)
    d = build_facts(c, regime, adv.data).details
    d.applied = None
    assert template("{value} {vat_basis} / {threshold.title} {threshold.amount}").fill(d) == \
        "£1,200 inclusive of VAT / {threshold.title} {threshold.amount}"


def test_a_share_reads_to_one_decimal_place_unless_that_would_round_it_to_a_whole_percentage_it_is_not():
    from fractions import Fraction

    from s16advisor.facts import percent

    for whole in range(101):  # each whole percentage, as build_facts works it out (the nearest float)
        assert percent(float(Fraction(whole, 100))) == f"{whole}.0%"
    assert percent(1 / 3) == "33.3%"
    assert percent(2_000_001 / 10_000_000) == "20.00001%"  # £1 over 20% of £10m: not "20.0%"
    assert percent(0.19999995) == "19.999995%"
    assert percent(0.2 + 1e-12) == "20.0000000001%"


def test_the_blocker_of_small_lots_just_over_20_percent_quotes_the_share_that_exceeds_it():
    from s16advisor.advisor import default_advisor
    from s16advisor.contract import contract_from_mapping

    c = contract_from_mapping({
        "id": "SL", "title": "Small lots", "procurement_start": "2024-06-01", "contract_type": "works",
        "value": {"amount": 10_000_000}, "duration_months": 24, "cpv": ["45000000-7"],
        "lots": [{"id": x, "value": 666_667, "small_lot": True} for x in "abc"] + [{"id": "main", "value": 7_999_999}],
    }, "<test>")
    [blocker] = default_advisor().advise(c).route("small_lots").blocked_by
    assert blocker.code == "small_lots_over_20_percent"
    assert "£2,000,001 inclusive of VAT, 20.00001% of the aggregate" in blocker.message


def test_months_added_past_the_year_9999_give_the_last_date_there_is():
    import datetime as dt

    from s16advisor.facts import add_months

    assert add_months(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)
    assert add_months(dt.date(9996, 12, 31), 36) == dt.date(9999, 12, 31)
    assert add_months(dt.date(9999, 6, 1), 36) == dt.date.max


def test_months_added_to_a_month_end_give_the_last_day_of_a_shorter_month_and_the_year_9999_itself():
    import datetime as dt

    from s16advisor.facts import add_months

    assert add_months(dt.date(2024, 3, 31), 1) == dt.date(2024, 4, 30)  # a 30-day month: its 30th, not the 29th
    assert add_months(dt.date(2021, 5, 31), 4) == dt.date(2021, 9, 30)
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2023, 1, 31), 1) == dt.date(2023, 2, 28)
    assert add_months(dt.date(2021, 6, 4), 36) == dt.date(2024, 6, 4)
    # a date in the year 9999 itself is a date, not the last one there is
    assert add_months(dt.date(9996, 7, 1), 36) == dt.date(9999, 7, 1)
    assert add_months(dt.date(9999, 1, 15), 11) == dt.date(9999, 12, 15)


def test_lot_figures_are_the_exact_sums_and_share_rounded_once():
    import random
    from decimal import Decimal
    from types import SimpleNamespace

    from s16advisor.facts import _lot_figures

    rnd = random.Random(16)
    for _ in range(5000):
        lots = [SimpleNamespace(value=rnd.choice([
            float(rnd.randint(0, 10 ** rnd.randint(1, 13))),  # whole pounds
            rnd.randint(0, 10 ** rnd.randint(1, 11)) / 100,  # pounds and pence
            rnd.randint(0, 10 ** 9) / 1000,  # fractions of a penny
        ]), small_lot=rnd.random() < 0.4) for _ in range(rnd.randint(2, 6))]
        exact = [Decimal(repr(lot.value)) for lot in lots]
        total, small = sum(exact), sum(e for e, lot in zip(exact, lots, strict=True) if lot.small_lot)
        assert _lot_figures(lots) == (float(total), float(small), float(small / total) if total else 0.0), lots


def test_lot_figures_stay_exact_for_aggregates_of_tens_of_trillions():
    from types import SimpleNamespace

    from s16advisor.facts import _lot_figures

    lots = [SimpleNamespace(value=v, small_lot=False) for v in (9810087379736.82, 39240349518947.27, 0.01)]
    assert _lot_figures(lots)[0] == 49050436898684.10  # not ...684.11 (a penny off when 100 * v is inexact)


@pytest.mark.parametrize(("utc", "uk"), [
    ("2026-03-29T00:59", "2026-03-29"),  # GMT until 01:00 UTC on the last Sunday of March
    ("2026-03-28T23:30", "2026-03-28"),
    ("2026-06-30T23:00", "2026-07-01"),  # BST: midnight in London is 23:00 UTC
    ("2026-06-30T22:59", "2026-06-30"),
    ("2026-10-24T23:30", "2026-10-25"),  # still BST on the night before the last Sunday of October
    ("2026-10-25T23:30", "2026-10-25"),  # GMT again from 01:00 UTC that Sunday
    ("2025-02-23T23:59", "2025-02-23"),  # the Act's go-live and each 1 January fall in GMT
    ("2025-12-31T23:59", "2025-12-31"),
])
def test_today_is_the_uk_day_whatever_the_machines_time_zone(utc, uk):
    from s16advisor.facts import uk_today

    now = dt.datetime.fromisoformat(utc).replace(tzinfo=dt.UTC)
    assert uk_today(now) == dt.date.fromisoformat(uk)
    assert uk_today(now.astimezone(dt.timezone(dt.timedelta(hours=-11)))) == dt.date.fromisoformat(uk)


def test_thresholds_default_to_the_uk_day_under_any_time_zone():
    import os
    import subprocess
    import sys

    from s16advisor.facts import uk_today

    for tz in ("Pacific/Pago_Pago", "Pacific/Kiritimati", "UTC"):
        r = subprocess.run([sys.executable, "-m", "s16advisor", "thresholds"], capture_output=True, text=True,
                           env={**os.environ, "TZ": tz})
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith(f"{uk_today().isoformat()}:"), (tz, r.stdout[:12])
