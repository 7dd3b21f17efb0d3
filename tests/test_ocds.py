"""OCDS 1.1 to contract description: the mapping field by field (s16advisor/ocds.py), and OCDS packages through
`review` (a release package with lots and a notice without value, a record package with compiled releases)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from s16advisor.contract import contract_from_mapping
from s16advisor.ocds import OcdsOptions, kind_of, record_to_contract, release_to_contract, slim_record
from s16advisor.review import Review, Source, read_records

FIXTURES = Path(__file__).resolve().parent / "review"
RELEASES = FIXTURES / "release-package.json"
RECORDS = FIXTURES / "record-package.json"


def release(**tender: Any) -> dict[str, Any]:
    """A minimal OCDS 1.1 release (the required fields, a Welsh buyer, a tender with a value, CPV and period)."""
    t: dict[str, Any] = {
        "id": "T-1", "title": "Supported living",
        "items": [{"id": "1", "classification": {"scheme": "CPV", "id": "85311200"}}],
        "value": {"amount": 100000, "currency": "GBP"},
        "mainProcurementCategory": "services",
        "contractPeriod": {"durationInMonths": 24},
    }
    t.update(tender)
    return {"ocid": "ocds-test-1", "id": "R-1", "date": "2024-06-03T10:00:00+01:00", "tag": ["tender"],
            "initiationType": "tender", "buyer": {"id": "B", "name": "Cyngor"},
            "parties": [{"id": "B", "name": "Cyngor", "roles": ["buyer"], "address": {"region": "UKL"}}],
            "tender": {k: v for k, v in t.items() if v is not None}}


def mapped(rel: dict[str, Any], options: OcdsOptions | None = None) -> dict[str, Any]:
    m = release_to_contract(rel, options or OcdsOptions())
    assert m.error is None, m.error
    assert m.contract is not None
    contract_from_mapping(m.contract)  # always a valid contract description
    return m.contract


# ---------------------------------------------------------------------------------------------- field by field


def test_a_release_maps_field_by_field() -> None:
    c = mapped(release())
    assert c == {
        "id": "ocds-test-1", "title": "Supported living",
        "authority": {"type": "sub_central", "nation": "wales", "name": "Cyngor"},
        "procurement_start": "2024-06-03", "contract_type": "services",
        "value": {"amount": 100000.0, "vat": "exclusive", "vat_rate": 0.2},
        "duration_months": 24, "cpv": ["85311200"],
    }


@pytest.mark.parametrize(("category", "expected"), [("goods", "supplies"), ("works", "works"),
                                                    ("services", "services"), ("Goods", "supplies"),
                                                    (" WORKS ", "works")])
def test_main_procurement_category(category: str, expected: str) -> None:
    assert mapped(release(mainProcurementCategory=category))["contract_type"] == expected


@pytest.mark.parametrize(("cpv", "expected"), [("45000000", "works"), ("39100000", "supplies"),
                                               ("48000000", "supplies"), ("85311200", "services")])
def test_contract_type_from_the_cpv_division_when_no_category(cpv: str, expected: str) -> None:
    m = release_to_contract(release(mainProcurementCategory=None,
                                    items=[{"id": "1", "classification": {"scheme": "CPV", "id": cpv}}]))
    assert m.contract is not None and m.contract["contract_type"] == expected
    assert any("no tender.mainProcurementCategory" in n for n in m.notes)


@pytest.mark.parametrize(("period", "months"), [
    ({"durationInDays": 1095}, 36),  # three years
    ({"durationInDays": 1096}, 36),  # three years with a 29 February
    ({"durationInDays": 1098}, 36),  # (within 3 days of 36 months: 36)
    ({"durationInDays": 1099}, 37),
    ({"durationInDays": 1100}, 37),
    ({"durationInDays": 30}, 1),
    ({"startDate": "2024-04-01T00:00:00Z", "endDate": "2027-03-31T23:59:59Z"}, 36),
    ({"startDate": "2024-04-01T00:00:00Z", "endDate": "2027-04-01T00:00:00Z"}, 37),
    ({"startDate": "2024-04-01T00:00:00Z", "endDate": "2027-03-31T23:59:59Z",
      "maxExtentDate": "2029-03-31T23:59:59Z"}, 60),  # extensions included
    ({"durationInMonths": 48, "durationInDays": 10}, 48),
    ({"startDate": "2025-04-01", "endDate": "9999-12-31"}, 1200),  # a placeholder end: the longest allowed, noted
    ({"durationInMonths": 36.0}, 36),  # a whole number written as a float is still the duration, not "no period"
    ({"durationInMonths": 6.5}, 7),  # a part month counts as a month
    ({"durationInMonths": 1}, 1),
    ({"startDate": "2025-01-01T09:00:00Z", "endDate": "2025-01-01T09:00:00Z"}, 1),  # (a moment: a part month)
    ({"startDate": "2025-01-01T09:00:00Z", "endDate": "2025-01-01T09:30:00Z"}, 1),
    ({"startDate": "2025-01-31", "endDate": "2025-03-02"}, 1),  # (31 January + 1 month is 3 March)
    ({"startDate": "2025-01-31", "endDate": "2025-03-03"}, 2),
])
def test_contract_period_in_months(period: dict[str, Any], months: int) -> None:
    assert mapped(release(contractPeriod=period))["duration_months"] == months


def test_the_longest_lot_period_when_the_tender_has_none() -> None:
    lots = [{"id": "1", "value": {"amount": 40000}, "contractPeriod": {"durationInMonths": 12}},
            {"id": "2", "value": {"amount": 60000}, "contractPeriod": {"durationInMonths": 30}}]
    assert mapped(release(contractPeriod=None, lots=lots))["duration_months"] == 30
    # a lot without a period: the longest is not known, so the contract period is missing (not the others' longest)
    lots[1] = {"id": "2", "value": {"amount": 60000}}
    m = release_to_contract(release(contractPeriod=None, lots=lots))
    assert m.contract is None and [x.split(" (")[0] for x in m.missing] == ["contract period"]


def test_a_term_of_exactly_the_longest_allowed_is_kept_without_a_note_and_a_longer_one_is_capped_with_one() -> None:
    m = release_to_contract(release(contractPeriod={"durationInMonths": 1200}))
    assert m.contract is not None and m.contract["duration_months"] == 1200
    assert not any("months: duration_months is read as" in n for n in m.notes), m.notes
    m = release_to_contract(release(contractPeriod={"durationInMonths": 1201}))
    assert m.contract is not None and m.contract["duration_months"] == 1200
    assert ("the contract period is 1,201 months: duration_months is read as 1,200 (100 years), the longest a "
            "contract description may give") in m.notes


@pytest.mark.parametrize(("details", "route"), [
    ("Open procedure", "open"), ("Restricted procedure", "restricted"),
    ("Competitive procedure with negotiation", "competitive_procedure_with_negotiation"),
    ("Competitive dialogue", "competitive_dialogue"), ("Innovation partnership", "innovation_partnership"),
    ("Competitive flexible procedure", "competitive_flexible"), ("Below threshold - open competition",
                                                                 "below_threshold"),
    ("Light touch - open procedure", "light_touch"), ("open", "open"),
    ("Negotiated procedure without prior publication", None), ("Call off from a framework agreement", None),
    ("Direct award", None),
])
def test_procurement_method_details_to_the_declared_route(details: str, route: str | None) -> None:
    m = release_to_contract(release(procurementMethodDetails=details))
    assert m.contract is not None and m.contract.get("route") == route
    assert (route is None) == any("procurementMethodDetails" in n for n in m.notes)


@pytest.mark.parametrize(("codes", "reservation"), [
    (["shelteredWorkshop"], "supported_business"), (["publicService"], "public_service_mutual"),
    (["publicServiceMissionOrganization"], "public_service_mutual"), (["smeVcse"], None), ([], None),
])
def test_reserved_participation_to_the_reservation(codes: list[str], reservation: str | None) -> None:
    m = release_to_contract(release(otherRequirements={"reservedParticipation": codes}))
    assert m.contract is not None and m.contract.get("reservation") == reservation
    if codes == ["smeVcse"]:
        assert any("not a Section 16 reservation" in n for n in m.notes)



def test_one_reservation_spelt_twice_is_one_and_two_reservations_are_noted() -> None:
    m = release_to_contract(release(otherRequirements={"reservedParticipation": ["shelteredWorkshop",
                                                                                "SHELTERED_WORKSHOP"]}))
    assert m.contract is not None and m.contract["reservation"] == "supported_business"
    assert not any("names both" in n for n in m.notes), m.notes
    both = ["shelteredWorkshop", "publicService"]
    m = release_to_contract(release(otherRequirements={"reservedParticipation": both}))
    assert m.contract is not None and m.contract["reservation"] == "supported_business"
    assert ("tender.otherRequirements.reservedParticipation names both reservations: supported_business is "
            "described") in m.notes


def test_a_buyer_without_an_id_is_the_party_with_the_buyer_role_not_the_first_party_without_an_id() -> None:
    rel = release()
    rel["buyer"] = {"name": "Cyngor"}
    rel["parties"] = [{"name": "Supplier", "roles": ["supplier"], "address": {"region": "UKM75"}},
                      {"name": "Cyngor", "roles": ["buyer"], "address": {"region": "UKL"}}]
    m = release_to_contract(rel)
    assert m.contract is not None and m.contract["authority"]["nation"] == "wales", m.error


def test_a_category_that_is_not_one_is_named_in_the_note() -> None:
    m = release_to_contract(release(mainProcurementCategory="consultancy"))
    assert m.contract is not None and m.contract["contract_type"] == "services"
    assert any(n.startswith("tender.mainProcurementCategory 'consultancy' is not goods, works or services")
               for n in m.notes), m.notes


@pytest.mark.parametrize(("lot_codes", "reservation"), [
    ("shelteredWorkshop", "supported_business"),  # one code given as text, on every lot
    (["publicService"], "public_service_mutual"),
])
def test_the_lots_reserved_participation_as_a_list_or_one_code(lot_codes: Any, reservation: str) -> None:
    lots = [{"id": x, "value": {"amount": 50000}, "otherRequirements": {"reservedParticipation": lot_codes}}
            for x in "NS"]
    m = release_to_contract(release(lots=lots))
    assert m.contract is not None and m.contract.get("reservation") == reservation, m.notes
    assert all(len(n) > 40 for n in m.notes), m.notes  # no note per letter of the code


def test_reserved_participation_that_is_not_codes_is_a_note_not_a_crash() -> None:
    lots = [{"id": x, "value": {"amount": 50000}, "otherRequirements": {"reservedParticipation": [{"code": x}]}}
            for x in "NS"]
    m = release_to_contract(release(lots=lots))
    assert m.contract is not None and "reservation" not in m.contract
    same = [{"id": x, "value": {"amount": 50000}, "otherRequirements": {"reservedParticipation": [{"c": 1}]}}
            for x in "NS"]
    m = release_to_contract(release(lots=same))
    assert m.contract is not None and "reservation" not in m.contract
    assert any("is not a reservation s16advisor knows" in n for n in m.notes), m.notes


def test_a_value_that_is_text_is_named_as_not_a_number() -> None:
    m = release_to_contract(release(value={"amount": "1000000", "currency": "GBP"}))
    assert m.contract is None and m.error == "tender.value.amount '1000000' is not a number"
    lots = [{"id": "N", "value": {"amount": "50000"}}, {"id": "S", "value": {"amount": 50000}}]
    m = release_to_contract(release(lots=lots))
    assert m.contract is not None and "lots" not in m.contract
    assert any("lot N has a value.amount that is not a number ('50000')" in n for n in m.notes), m.notes


def test_a_tender_amount_written_as_text_falls_back_on_the_lots_values() -> None:
    lots = [{"id": "N", "value": {"amount": 40000}}, {"id": "S", "value": {"amount": 60000}}]
    m = release_to_contract(release(value={"amount": "100000", "currency": "GBP"}, lots=lots))
    assert m.contract is not None and m.contract["value"]["amount"] == 100000, m.error
    assert "tender.value.amount '100000' is not a number: the value is the sum of the lots' values" in m.notes


def test_a_lot_valued_in_another_currency_is_not_described() -> None:
    lots = [{"id": "N", "value": {"amount": 50000, "currency": "EUR"}},
            {"id": "S", "value": {"amount": 50000, "currency": "GBP"}}]
    m = release_to_contract(release(lots=lots))
    assert m.contract is not None and "lots" not in m.contract
    assert any(n.startswith("lot N is valued in EUR") for n in m.notes), m.notes


def test_a_notice_of_one_lot_is_one_contract_with_no_reasons_for_not_lotting() -> None:
    c = mapped(release(lots=[{"id": "1", "value": {"amount": 100000, "currency": "GBP"}}]))
    assert "lots" not in c and "reasons_for_not_lotting" not in c
    c = mapped(release(lots=[{"id": "1", "value": {"amount": 40000}}, {"id": "2"}]))
    assert "lots" not in c and c["reasons_for_not_lotting"] == (
        "Divided into 2 lots in the notice; lot values not stated or not adding up to the total.")


def test_lots_with_values_that_add_up_keep_their_cpv() -> None:
    c = mapped(release(
        value={"amount": 100000, "currency": "GBP"},
        items=[{"id": "1", "relatedLot": "N", "classification": {"scheme": "CPV", "id": "85311200"}},
               {"id": "2", "relatedLot": "S", "classification": {"scheme": "cpv", "id": "85312400-3"}}],
        lots=[{"id": "N", "value": {"amount": 40000, "currency": "GBP"}},
              {"id": "S", "value": {"amount": 60000, "currency": "GBP"}}]))
    assert c["lots"] == [{"id": "N", "value": 40000.0, "cpv": ["85311200"]},
                         {"id": "S", "value": 60000.0, "cpv": ["85312400-3"]}]
    assert c["cpv"] == ["85311200", "85312400-3"]


def test_lots_adding_up_to_the_value_within_a_pound_are_described() -> None:
    c = mapped(release(lots=[{"id": "N", "value": {"amount": 40000}}, {"id": "S", "value": {"amount": 59999}}]))
    assert c["lots"] == [{"id": "N", "value": 40000.0}, {"id": "S", "value": 59999.0}]
    m = release_to_contract(release(lots=[{"id": "N", "value": {"amount": 40000}},
                                          {"id": "S", "value": {"amount": 59998.99}}]))
    assert m.contract is not None and "lots" not in m.contract


def test_lots_that_do_not_add_up_are_not_described() -> None:
    m = release_to_contract(release(lots=[{"id": "N", "value": {"amount": 1}}, {"id": "S", "value": {"amount": 2}}]))
    assert m.contract is not None and "lots" not in m.contract
    assert m.contract["reasons_for_not_lotting"].startswith("Divided into 2 lots in the notice")
    assert any("do not add up" in n for n in m.notes)


@pytest.mark.parametrize("lot_id", [None, ""])
def test_a_lot_without_an_id_is_not_described_and_the_note_says_so_not_that_its_value_is_not_a_number(
        lot_id: str | None) -> None:
    """The note said 'lot 0 has a value.amount that is not a number (40000)'."""
    first = {"value": {"amount": 40000}} if lot_id is None else {"id": lot_id, "value": {"amount": 40000}}
    m = release_to_contract(release(lots=[first, {"id": "S", "value": {"amount": 60000}}]))
    assert m.contract is not None and "lots" not in m.contract
    assert m.contract["reasons_for_not_lotting"].startswith("Divided into 2 lots in the notice")
    assert "lot 0 has no id: the lots are not described, the contract is advised on its total value" in m.notes, \
        m.notes


@pytest.mark.parametrize(("lots", "note"), [
    ([{"id": "1", "value": {"amount": 50000}}, {"id": "1", "value": {"amount": 50000}}],
     "tender.lots[0] and tender.lots[1] have the same id '1'"),
    ([{"id": 1, "value": {"amount": 50000}}, {"id": "1 ", "value": {"amount": 50000}}],
     "tender.lots[0] and tender.lots[1] have the same id '1'"),
    ([{"id": "N", "value": {"amount": 50000}}, {"id": " ", "value": {"amount": 50000}}], "lot 1 has no id"),
    ([{"id": "N", "value": {"amount": 150000}}, {"id": "S", "value": {"amount": -50000}}],
     "lot S has a value.amount below zero (£-50,000)"),
])
def test_lots_a_contract_description_would_refuse_are_not_described_and_the_release_is_advised_on_its_total(
        lots: list[dict[str, Any]], note: str) -> None:
    """Lots with one id, a blank id or a value below zero were mapped as they were, and the contract description
    refused them: the release was an error result ('lots[1].id: duplicate lot id', 'lots[0].id: must not be blank',
    'lots[1].value: must be greater than or equal to 0'), naming a field the notice does not have, where lots that
    cannot be described are a note and the contract is advised on its total value."""
    c = mapped(release(lots=lots))
    assert "lots" not in c and c["value"]["amount"] == 100000
    assert c["reasons_for_not_lotting"].startswith("Divided into 2 lots in the notice")
    m = release_to_contract(release(lots=lots))
    assert f"{note}: the lots are not described, the contract is advised on its total value" in m.notes, m.notes
    [result] = list(Review([release(lots=lots)]))
    assert result.error is None, result.error


def test_no_tender_value_and_a_lot_without_one_leaves_the_value_missing() -> None:
    m = release_to_contract(release(value=None, lots=[{"id": "1", "value": {"amount": 40000}}, {"id": "2"}]))
    assert m.contract is None and [x.split(" (")[0] for x in m.missing] == ["value"]



def test_lots_summed_for_the_value_must_be_in_pounds_and_their_gross_is_summed_only_when_every_lot_gives_one() -> None:
    mixed = [{"id": "1", "value": {"amount": 50000, "currency": "EUR"}},
             {"id": "2", "value": {"amount": 50000, "currency": "GBP"}}]
    m = release_to_contract(release(value=None, lots=mixed))
    assert m.contract is None and m.error == ("the lots' values is in mixed: only pounds sterling (GBP) can be "
                                              "compared with UK thresholds")
    gross = [{"id": "1", "value": {"amount": 40000, "amountGross": 48000}},
             {"id": "2", "value": {"amount": 60000, "amountGross": 63000}}]
    m = release_to_contract(release(value=None, lots=gross))
    assert m.contract is not None and m.contract["value"] == {"amount": 100000.0, "vat": "exclusive", "vat_rate": 0.11}
    del gross[1]["value"]["amountGross"]  # (a part of the value's gross is not the gross of the value)
    m = release_to_contract(release(value=None, lots=gross))
    assert m.contract is not None and m.contract["value"] == {"amount": 100000.0, "vat": "exclusive", "vat_rate": 0.2}
    assert not any("amountGross" in n for n in m.notes), m.notes


def test_an_amount_gross_of_zero_or_beside_an_amount_that_is_not_a_number_is_not_the_value() -> None:
    m = release_to_contract(release(value={"amountGross": 0, "currency": "GBP"}))
    assert m.contract is None and [x.split(" (")[0] for x in m.missing] == ["value"]
    m = release_to_contract(release(value={"amount": "100000", "amountGross": 120000, "currency": "GBP"}))
    assert m.contract is None and m.error == "tender.value.amount '100000' is not a number"
    m = release_to_contract(release(value={"amount": 0.5, "amountGross": 0.6, "currency": "GBP"}))
    assert m.contract is None and m.error == ("tender.value.amount £0.50 is less than £1: a placeholder, not the "
                                              "estimated value")  # (not a VAT rate worked out of them either)


@pytest.mark.parametrize(("amount", "said"), [(0, "£0"), (0.01, "£0.01"), (0.99, "£0.99"), (-1200, "£-1,200")])
def test_a_tender_value_under_a_pound_is_a_placeholder_not_a_value_to_advise_on(amount: float, said: str) -> None:
    """Sell2Wales published a 24-month boiler contract at 0.01 (apa999/CFServer1 WelshData/WRel0) and Find a
    Tender '"amount": 000' (kingfisher-collect#1270): advised as below the threshold, with a false
    declared_route_unavailable. It is an error naming the value, unless the lots give one."""
    m = release_to_contract(release(value={"amount": amount, "currency": "GBP"}))
    assert m.contract is None and m.error == f"tender.value.amount {said} is less than £1: a placeholder, not the " \
                                             "estimated value"
    lots = [{"id": "N", "value": {"amount": 40000}}, {"id": "S", "value": {"amount": 60000}}]
    m = release_to_contract(release(value={"amount": amount, "currency": "GBP"}, lots=lots))
    assert m.contract is not None and m.contract["value"]["amount"] == 100000, m.error
    assert f"tender.value.amount {said} is less than £1: a placeholder, not the estimated value: the value is the " \
           "sum of the lots' values" in m.notes, m.notes
    m = release_to_contract(release(value={"amount": 1, "currency": "GBP"}))  # (a pound is a value)
    assert m.contract is not None and m.contract["value"]["amount"] == 1


def test_no_tender_value_is_the_sum_of_the_lots() -> None:
    c = mapped(release(value=None, lots=[{"id": "N", "value": {"amount": 40000}},
                                         {"id": "S", "value": {"amount": 60000}}]))
    assert c["value"]["amount"] == 100000 and len(c["lots"]) == 2


def test_vat_options_and_amount_gross() -> None:
    assert mapped(release(), OcdsOptions(vat="inclusive"))["value"] == {"amount": 100000.0, "vat": "inclusive",
                                                                        "vat_rate": 0.2}
    assert mapped(release(), OcdsOptions(vat_rate=0))["value"]["vat_rate"] == 0
    exempt = release(value={"amount": 100000, "amountGross": 100000, "currency": "GBP"})
    assert mapped(exempt)["value"]["vat_rate"] == 0  # the notice's own gross amount wins


@pytest.mark.parametrize(("address", "nation"), [
    ({"region": "UKL22"}, "wales"), ({"region": "TLL13"}, "wales"), ({"region": "UKI31"}, "england"),
    ({"region": "UKN06"}, "northern_ireland"), ({"countryName": "England"}, "england"),
    ({"countryName": "Wales"}, "wales"), ({"countryName": "United Kingdom"}, "wales"), ({}, "wales"),
    ({"region": "UKK41"}, "england"), ({"region": "TLC"}, "england"),
])
def test_buyer_nation_from_its_address(address: dict[str, Any], nation: str) -> None:
    rel = release()
    rel["parties"][0]["address"] = address
    assert mapped(rel)["authority"]["nation"] == nation
    assert mapped(rel, OcdsOptions(nation="england"))["authority"]["nation"] == (
        "england" if not address or address == {"countryName": "United Kingdom"} else nation)


def test_commencement_is_the_tenders_date() -> None:
    published = release(datePublished="2025-03-01T09:00:00Z")
    assert mapped(published)["procurement_start"] == "2025-03-01"
    award = release(tenderPeriod={"startDate": "2023-01-10T00:00:00Z"})
    award["tag"] = ["award"]
    assert mapped(award)["procurement_start"] == "2023-01-10"
    bare = release()
    bare["tag"] = ["award"]
    m = release_to_contract(bare)
    assert m.contract is not None and m.contract["procurement_start"] == "2024-06-03"
    assert any("release date" in n for n in m.notes)


def test_a_record_takes_the_date_of_its_first_tender_release() -> None:
    record = {"ocid": "ocds-test-1", "releases": [
        {"url": "u1", "date": "2024-01-05T00:00:00Z", "tag": ["planning"]},
        {"url": "u2", "date": "2025-02-24T09:00:00Z", "tag": ["tender"]},
        {"url": "u3", "date": "2025-02-26T09:00:00Z", "tag": ["tenderAmendment"]}],
        "compiledRelease": release() | {"tag": ["compiled"], "date": "2025-06-01T00:00:00Z"}}
    m = record_to_contract(slim_record(record))
    assert m.contract is not None and m.contract["procurement_start"] == "2025-02-24"
    # a tender notice published again later (listed first) does not move the commencement
    record["releases"].insert(0, {"url": "u4", "date": "2025-03-10T09:00:00Z", "tag": ["tender"]})
    m = record_to_contract(slim_record(record))
    assert m.contract is not None and m.contract["procurement_start"] == "2025-02-24"


@pytest.mark.parametrize(("tender", "missing"), [
    ({"value": None}, ["value"]),
    ({"items": None}, ["CPV code"]),
    ({"items": [{"id": "1", "classification": {"scheme": "UNSPSC", "id": "85311200"}}]}, ["CPV code"]),
    ({"contractPeriod": None}, ["contract period"]),
    ({"value": None, "items": None, "contractPeriod": None}, ["CPV code", "value", "contract period"]),
])
def test_too_thin_to_advise_names_what_is_missing(tender: dict[str, Any], missing: list[str]) -> None:
    m = release_to_contract(release(**tender))
    assert m.contract is None
    assert [x.split(" (")[0] for x in m.missing] == missing
    assert m.error is not None and m.error.startswith("too thin to advise on: no ")


def test_unusable_values_are_problems() -> None:
    for amount in (float("nan"), float("inf")):  # (Python's json reads NaN and Infinity)
        m = release_to_contract(release(value={"amount": amount, "currency": "GBP"}))
        assert m.contract is None and m.error == f"tender.value.amount {amount!r} is not a number"
    euros = release_to_contract(release(value={"amount": 5, "currency": "EUR"}))
    assert euros.contract is None and euros.error == ("tender.value is in EUR: only pounds sterling (GBP) can be "
                                                      "compared with UK thresholds")
    lower = release_to_contract(release(value={"amount": 5, "currency": "gbp"}))  # the code, in lower case
    assert lower.error is None and lower.contract is not None and lower.contract["value"]["amount"] == 5
    scottish = release()
    scottish["parties"][0]["address"] = {"region": "UKM75"}
    m = release_to_contract(scottish)
    assert m.contract is None and "Scotland" in (m.error or "")


def test_a_cpv_that_is_not_a_cpv_code_is_ignored_with_a_note() -> None:
    m = release_to_contract(release(items=[{"id": "1", "classification": {"scheme": "CPV", "id": "8531"}},
                                           {"id": "2", "classification": {"scheme": "CPV", "id": "85311200"}}]))
    assert m.contract is not None and m.contract["cpv"] == ["85311200"]
    assert any("'8531' is not a CPV code" in n for n in m.notes)
    spaced = mapped(release(items=[{"id": "1", "classification": {"scheme": "CPV", "id": " 8531 1200-4 "}}]))
    assert spaced["cpv"] == ["85311200-4"]  # (spaces inside the code, as some notices group its digits)
    twice = mapped(release(items=[{"id": "1", "classification": {"scheme": "CPV", "id": "85311200"}},
                                  {"id": "2", "classification": {"scheme": "CPV", "id": "85311200-4"},
                                   "additionalClassifications": [{"scheme": "CPV", "id": "85312400-3"}]}]))
    assert twice["cpv"] == ["85311200", "85312400-3"]  # (one code, with and without its check digit: once)


def test_an_integer_too_large_for_a_float_is_not_a_number_not_an_internal_error(tmp_path: Path) -> None:
    """JSON's integers have no limit: an amount or a duration of 1 and 400 zeros raised OverflowError (int too
    large to convert to float), and the review's result was 'internal error'."""
    huge = 10 ** 400
    m = release_to_contract(release(value={"amount": huge, "currency": "GBP"}))
    assert m.contract is None and m.error == "tender.value.amount (an integer of 401 digits) is not a number"
    m = release_to_contract(release(value={"amount": 100000, "amountGross": huge}))
    assert m.contract is not None and m.contract["value"]["amount"] == 100000
    lots = [{"id": "N", "value": {"amount": huge}}, {"id": "S", "value": {"amount": 50000}}]
    m = release_to_contract(release(lots=lots))
    assert m.contract is not None and "lots" not in m.contract
    assert any("lot N has a value.amount that is not a number ((an integer of 401 digits))" in n for n in m.notes)
    m = release_to_contract(release(contractPeriod={"durationInMonths": huge, "durationInDays": huge}))
    assert m.contract is None and [x.split(" (")[0] for x in m.missing] == ["contract period"]
    m = release_to_contract(release(contractPeriod={"durationInMonths": 24, "durationInDays": -huge}))
    assert m.contract is not None and m.contract["duration_months"] == 24
    path = tmp_path / "huge.jsonl"
    path.write_text(json.dumps(release(value={"amount": huge, "currency": "GBP"})) + "\n")
    [result] = list(Review(read_records([path])))
    assert result.error is not None and "internal error" not in result.error, result.error
    assert result.error.endswith("OCDS tender.value.amount (an integer of 401 digits) is not a number"), result.error


def test_kinds() -> None:
    assert kind_of({"releases": [], "uri": "x"}) == "release_package"
    assert kind_of({"records": []}) == "record_package"
    assert kind_of({"ocid": "o", "compiledRelease": {}}) == "record"
    assert kind_of({"ocid": "o", "releases": [{"url": "u"}]}) == "record"
    assert kind_of(release()) == "release"
    # a release is told by its tag or its tender, with or without a releases field (not a record without them)
    assert kind_of({"ocid": "o", "tag": ["award"], "awards": []}) == "release"
    assert kind_of({"ocid": "o", "releases": [{"url": "u"}], "tag": ["tender"]}) == "release"
    assert kind_of({"ocid": "o", "releases": [{"url": "u"}], "tender": {}}) == "release"
    assert kind_of({"id": "C-1"}) == "contract"
    assert kind_of([1]) == "unknown"


# ------------------------------------------------------------------------------------------- the fixtures


def _required(obj: dict[str, Any], fields: tuple[str, ...], where: str) -> None:
    for f in fields:
        assert f in obj, f"{where}: {f} is required by the OCDS 1.1 schema"


def test_the_fixtures_follow_the_ocds_1_1_package_and_release_schemas() -> None:
    releases = json.loads(RELEASES.read_text())
    _required(releases, ("uri", "publisher", "publishedDate", "releases", "version"), "release package")
    assert releases["version"] == "1.1"
    for i, rel in enumerate(releases["releases"]):
        _required(rel, ("ocid", "id", "date", "tag", "initiationType"), f"releases[{i}]")
        assert rel["initiationType"] == "tender"
        assert set(rel["tag"]) <= {"planning", "tender", "award", "contract", "implementation", "compiled"}
    records = json.loads(RECORDS.read_text())
    _required(records, ("uri", "publisher", "publishedDate", "records", "version"), "record package")
    for i, rec in enumerate(records["records"]):
        _required(rec, ("ocid", "releases"), f"records[{i}]")
        for r in rec["releases"]:
            _required(r, ("url", "date", "tag"), f"records[{i}] linked release")
        _required(rec["compiledRelease"], ("ocid", "id", "date", "tag", "initiationType"), f"records[{i}] compiled")


def _review(path: Path) -> list[Any]:
    return list(Review(read_records([str(path)])))


def test_a_release_package_with_lots_and_a_notice_without_value() -> None:
    living, day, planning, catering = _review(RELEASES)
    assert living.source == Source(str(RELEASES), path="releases[0]", ocid="ocds-h6vhtk-04f1a2")
    assert living.id == "ocds-h6vhtk-04f1a2"
    a = living.advice
    assert a["regime"]["id"] == "pa2023" and a["valuation"]["value"] == 2400000  # VAT-exempt: amountGross
    # Reserved, as in the notice: by a competitive flexible procedure that excludes other suppliers (s.33(2)).
    assert a["recommended"] == ["light_touch", "competitive_flexible", "reserved_public_service_mutual"]
    assert living.notes == ("VAT rate 0 from tender.value.amountGross",)

    a = day.advice
    assert a["regime"]["id"] == "pcr2015" and a["valuation"]["value"] == 1080000  # £900,000 + 20% VAT
    small_lots = next(r for r in a["routes"] if r["id"] == "small_lots")
    assert small_lots["blocked_by"][0]["message"].startswith("The contract has 2 lots but none is marked small_lot")
    assert not any(f["code"] == "lots_not_considered" for f in a["findings"])
    assert a["recommended"] == ["light_touch"]

    assert planning.advice is None and planning.id == "ocds-h6vhtk-05aa01"
    assert planning.error == (f"{RELEASES} releases[2] ocds-h6vhtk-05aa01: OCDS too thin to advise on: no tender "
                              "date (a planning release: its own date is not when the procurement commences, as a "
                              "prior information notice does not commence it; give the planned tender date as "
                              "tender.communication.futureNoticeDate or tender.tenderPeriod.startDate); no value "
                              "(tender.value.amount, or a value.amount on every lot)")

    a = catering.advice  # Contracts Finder: England, tender.datePublished, tender.classification
    assert a["procurement_start"] == "2025-01-23" and a["regime"]["id"] == "pcr2015"
    assert a["recommended"] == ["below_threshold"]
    assert [f["code"] for f in a["findings"]] == ["declared_route_unavailable"]  # a restricted procedure


def test_a_record_package_with_compiled_releases() -> None:
    conwy, thin = _review(RECORDS)
    a = conwy.advice
    assert a["procurement_start"] == "2025-03-03"  # the release tagged tender, not the compiled (award) date
    assert a["regime"]["id"] == "pa2023" and a["valuation"]["value"] == 900000
    assert next(r for r in a["routes"] if r["id"] == "competitive_flexible")["status"] == "available"
    assert thin.error is not None and "no CPV code" in thin.error and "no value" in thin.error and \
        "no contract period" in thin.error


def test_ocds_in_json_lines_and_yaml(tmp_path: Path) -> None:
    package = json.loads(RELEASES.read_text())
    lines = tmp_path / "notices.jsonl"
    lines.write_text(json.dumps(package) + "\n" + json.dumps(package["releases"][1]) + "\n")
    out = _review(lines)
    assert [(r.source.line, r.source.path) for r in out] == [(1, f"releases[{i}]") for i in range(4)] + [(2, None)]
    assert out[4].advice == out[1].advice
    records = copy.deepcopy(json.loads(RECORDS.read_text()))
    import yaml

    as_yaml = tmp_path / "records.yaml"
    as_yaml.write_text(yaml.safe_dump(records, sort_keys=False))
    got = _review(as_yaml)
    assert [r.source.path for r in got] == ["records[0]", "records[1]"]
    assert got[0].advice == _review(RECORDS)[0].advice
    # each record of the package is located at its own line of the YAML file, and named by its ocid
    text = as_yaml.read_text().splitlines()
    starts = [k for k, line in enumerate(text, 1) if line.startswith("- ocid: ")]
    assert [r.source.line for r in got] == starts
    assert [r.source.ocid for r in got] == [r["ocid"] for r in records["records"]]
    # a file holding one release (not in a package) is named by its ocid too
    one = tmp_path / "one.json"
    one.write_text(json.dumps(package["releases"][1], indent=2))  # (a document: not one JSON line)
    single = _review(one)
    assert [(r.source.ocid, r.source.path) for r in single] == [(package["releases"][1]["ocid"], None)]
    assert str(single[0].source) == f"{one} {package['releases'][1]['ocid']}"


def test_a_release_without_an_ocid_in_a_release_package_is_still_a_release(tmp_path: Path) -> None:
    """Every item of a release package is a release: one that lacks its ocid is mapped as OCDS (its release id
    standing in, noted), not read as a contract description and refused field by field (``date: is not a
    field``)."""
    orphan = release()
    del orphan["ocid"]
    package = tmp_path / "notices.json"
    package.write_text(json.dumps({"uri": "u", "version": "1.1", "publishedDate": "2026-01-01T00:00:00Z",
                                   "publisher": {"name": "p"}, "releases": [orphan]}))
    (out,) = _review(package)
    assert out.error is None, out.error
    assert out.id == "R-1" and out.advice is not None and out.advice["contract_id"] == "R-1"
    assert "no ocid: the id is the release id R-1" in out.notes
    del orphan["id"]
    package.write_text(json.dumps({"uri": "u", "releases": [orphan]}))
    (out,) = _review(package)
    assert out.error is not None and "OCDS too thin to advise on: no ocid" in out.error


def test_an_ocds_package_given_to_the_python_api_is_its_releases() -> None:
    """``review([package])`` read a package handed over as a record as "an OCDS package inside a package"."""
    package = json.loads(RELEASES.read_text())
    got = list(Review([package]))
    assert [(r.source.index, r.source.path) for r in got] == [(0, f"releases[{i}]") for i in range(4)]
    assert [r.advice for r in got] == [r.advice for r in _review(RELEASES)]
    assert str(got[2].source) == "<records> [0] releases[2] ocds-h6vhtk-05aa01"


def test_the_summary_counts_the_buyers_whose_nation_was_assumed(tmp_path: Path) -> None:
    """Contracts Finder buyers often give no region: their nation is --ocds-nation's, and the summary says how many
    records rest on that (the Welsh part of the Section 16 line does)."""
    from s16advisor.render.review import summary_text
    from s16advisor.review import ReviewOptions, review_to_file

    said = release(value={"amount": 900000, "currency": "GBP"})
    unsaid = copy.deepcopy(said)
    unsaid["ocid"], unsaid["parties"][0]["address"] = "ocds-test-2", {"countryName": "United Kingdom"}
    path = tmp_path / "releases.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (said, unsaid, unsaid | {"ocid": "ocds-test-3"})) + "\n")
    s = review_to_file([str(path)], str(tmp_path / "out.jsonl"))
    assert (s.advised, s.nation_assumed) == (3, 2) and s.to_dict()["nation_assumed"] == 2
    assert "Nation assumed: 2 advised OCDS records name a buyer whose address does not say which nation" \
        in summary_text(s)
    s = review_to_file([str(path)], str(tmp_path / "out2.jsonl"), options=ReviewOptions(ocds=OcdsOptions(
        nation="england")))
    assert s.nation_assumed == 2 and s.reservable["either_wales"].count == 1  # only the buyer that says Wales
    said_only = tmp_path / "one.jsonl"
    said_only.write_text(json.dumps(said) + "\n")
    s = review_to_file([str(said_only)], str(tmp_path / "out3.jsonl"))
    assert s.nation_assumed == 0 and "Nation assumed" not in summary_text(s)


def test_releases_of_one_process_are_duplicates_and_the_summary_says_how_to_count_it_once(tmp_path: Path) -> None:
    from s16advisor.render.review import summary_text
    from s16advisor.review import review_to_file

    tender = release(value={"amount": 900000, "currency": "GBP"})
    amendment = copy.deepcopy(tender) | {"id": "R-2", "tag": ["tenderAmendment"]}
    path = tmp_path / "releases.jsonl"
    path.write_text(json.dumps(tender) + "\n" + json.dumps(amendment) + "\n")
    s = review_to_file([str(path)], str(tmp_path / "out.jsonl"))
    assert (s.advised, s.duplicates.ids, s.duplicates.records) == (2, 1, 1)
    text = summary_text(s)
    assert "The totals above count each of these records; several releases of one OCDS process" in text
    assert "review its compiled record to count it once" in text


def _paths(obj: Any, path: tuple[Any, ...] = ()) -> Any:
    yield path
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*path, i))


ODD_VALUES = [1.5, True, "x", {}, [], None, [1], {"a": 1}, ["x"], [None], -1, "2025-13-45"]


def test_any_field_of_a_release_or_record_holding_a_value_of_another_type_is_mapped_or_refused_never_raises() -> None:
    """Publishers' data is not always valid OCDS: each field of the fixtures' releases and records, in turn, given
    a value of each other kind (an array that is a number, an object that is text...)."""
    objs = [("release", r) for r in json.loads((FIXTURES / "release-package.json").read_text())["releases"]]
    objs += [("record", r) for r in json.loads((FIXTURES / "record-package.json").read_text())["records"]]
    tried = 0
    for kind, obj in objs:
        for path in [p for p in _paths(obj) if p]:
            for value in ODD_VALUES:
                changed = copy.deepcopy(obj)
                parent = changed
                for key in path[:-1]:
                    parent = parent[key]
                parent[path[-1]] = value
                got = record_to_contract(slim_record(changed)) if kind == "record" else release_to_contract(changed)
                assert got.contract is not None or got.error, (path, value)
                tried += 1
    assert tried > 3000


def test_array_fields_that_are_not_arrays_are_read_as_absent_and_what_is_then_missing_is_named() -> None:
    rel = {"ocid": "ocds-x-1", "date": "2025-06-01", "tender": {"items": 1.5, "lots": 7}, "parties": True}
    got = release_to_contract(rel)
    assert got.contract is None
    assert "no CPV code" in (got.error or "") and "no value" in (got.error or "")
    buyer = release(value={"amount": 100000, "currency": "GBP"})
    del buyer["buyer"]  # (the buyer is the party with the role)
    buyer["parties"] = [{"id": "b", "name": "Cyngor", "roles": True}, {"id": "c", "name": "Council", "roles": "buyer"}]
    assert mapped(buyer)["authority"]["name"] == "Council"  # (roles given as one code, as text)


@pytest.mark.parametrize(("period", "months"), [
    ({"startDate": "2026-07-01", "endDate": "2029-06-30", "maxExtentDate": "2033-06-30", "durationInDays": 1095}, 84),
    ({"durationInMonths": 36, "startDate": "2026-07-01", "maxExtentDate": "2031-06-30"}, 60),
    ({"durationInDays": 1095, "startDate": "2026-07-01", "endDate": "2029-06-30"}, 36),
    ({"startDate": "2024-02-29", "endDate": "2027-02-28"}, 36),  # (a term from 29 February ends on 28 February)
    ({"startDate": "2024-03-01", "endDate": "2027-02-28"}, 36),
    ({"startDate": "2028-02-29", "endDate": "2033-02-28"}, 60),
    ({"startDate": "2025-08-31", "endDate": "2026-02-28"}, 6),
    ({"startDate": "2025-01-31", "endDate": "2025-02-28"}, 1),
    ({"startDate": "2024-07-01", "endDate": "2027-07-01"}, 37),  # (a day more than 36 months)
    ({"startDate": "2025-01-15", "endDate": "2025-01-15"}, 1),
])
def test_the_term_is_the_longest_the_period_gives_extensions_included_counted_in_calendar_months(
        period: dict[str, Any], months: int) -> None:
    """OCDS's durationInDays is from startDate to endDate: a maxExtentDate (extensions included) beyond it is the
    term the reservation limits read (reg 77: 36 months, s.33: 60)."""
    assert mapped(release(contractPeriod=period))["duration_months"] == months


def test_the_commencement_is_the_tender_notice_not_an_amendment_nor_a_planning_notice() -> None:
    amended = release(tenderPeriod={"startDate": "2025-02-10T09:00:00Z"})
    amended.update(tag=["tenderAmendment"], date="2025-03-03T10:00:00Z")
    assert mapped(amended)["procurement_start"] == "2025-02-10"  # (the amendment's date: under the Act)
    record = {"ocid": "ocds-test-1", "releases": [{"date": "2025-03-03T10:00:00Z", "tag": ["tenderAmendment"]}],
              "compiledRelease": {k: v for k, v in amended.items() if k != "ocid"} | {"tag": ["compiled"]}}
    got = record_to_contract(slim_record(record))
    assert got.contract is not None and got.contract["procurement_start"] == "2025-02-10"
    planned = release(tenderPeriod={"startDate": "2025-06-02"})
    planned.update(tag=["planning"], date="2025-01-15T00:00:00Z")
    assert mapped(planned)["procurement_start"] == "2025-06-02"  # (the planned tender date)
    del planned["tender"]["tenderPeriod"]
    got = release_to_contract(planned)
    assert got.contract is None and "no tender date (a planning release" in (got.error or "")


# ------------------------------------------------------------------ as Find a Tender and Contracts Finder publish


def buyer_classified(scheme: str, code: str, region: str = "UKL18") -> dict[str, Any]:
    rel = release(value={"amount": 150000, "currency": "GBP"})
    rel["parties"][0].update(address={"region": region},
                             details={"classifications": [{"scheme": scheme, "id": code}]})
    return rel


@pytest.mark.parametrize(("scheme", "code", "expected"), [
    ("UK_CA_TYPE", "publicAuthorityCentralGovernment", "central_government"),
    ("UK_CA_TYPE", "publicAuthoritySubCentralGovernment", "sub_central"),
    ("TED_CA_TYPE", "MINISTRY", "central_government"),
    ("TED_CA_TYPE", "NATIONAL_AGENCY", "central_government"),
    ("TED_CA_TYPE", "REGIONAL_AUTHORITY", "sub_central"),
    ("TED_CA_TYPE", "BODY_PUBLIC", "sub_central"),
    ("UK_CA_TYPE", "publicUndertaking", None),  # not one of the two: the option
    ("ORG_TYPE", "publicAuthorityCentralGovernment", None),
])
def test_the_buyers_own_classification_gives_its_authority_type(scheme: str, code: str, expected: str | None) -> None:
    rel = buyer_classified(scheme, code)
    for option in ("sub_central", "central_government"):
        got = mapped(rel, OcdsOptions(authority_type=option))["authority"]["type"]  # type: ignore[arg-type]
        assert got == (expected or option)
    m = release_to_contract(rel)
    assert any("national agency" in n for n in m.notes) == (code == "NATIONAL_AGENCY")


def test_a_central_government_buyer_gets_the_central_threshold_and_no_false_error() -> None:
    """DVLA (Swansea) buying IT services for £150,000 under the Act: above the central government threshold
    (£139,688), so the open procedure it declared is lawful."""
    rel = buyer_classified("UK_CA_TYPE", "publicAuthorityCentralGovernment")
    rel["tender"].update(datePublished="2025-06-02T09:00:00Z", procurementMethodDetails="Open procedure",
                         items=[{"id": "1", "classification": {"scheme": "CPV", "id": "72000000"}}])
    (result,) = list(Review([rel]))
    assert result.error is None and result.advice is not None
    valuation = result.advice["valuation"]
    assert valuation["above_threshold"] is True and valuation["threshold"]["amount"] == 139688
    assert "central" in valuation["threshold"]["name"] and "sub_central" not in valuation["threshold"]["name"]
    assert result.advice["recommended"][0] == "open"
    assert "declared_route_unavailable" not in {f["code"] for f in result.advice["findings"]}


def test_the_tender_notice_among_the_documents_dates_the_commencement() -> None:
    """A PCR 2015 tender updated after go-live: the tender notice's publication date (a document of type
    tenderNotice), not the update's date, is the commencement, so PCR 2015 applies."""
    rel = release(documents=[{"id": "d2", "documentType": "tenderNotice", "datePublished": "2025-02-01T09:00:00Z"},
                             {"id": "d1", "documentType": "tenderNotice", "datePublished": "2025-01-20T09:00:00Z"},
                             {"id": "d0", "documentType": "biddingDocuments", "datePublished": "2024-12-01"}],
                  legalBasis={"scheme": "CELEX", "id": "32014L0024"})
    rel.update(tag=["tenderUpdate"], date="2025-03-10T11:00:00Z")
    assert mapped(rel)["procurement_start"] == "2025-01-20"


@pytest.mark.parametrize(("basis", "start", "clash"), [
    ({"scheme": "CELEX", "id": "32014L0024"}, "2025-03-10", True),
    ({"scheme": "CELEX", "id": "32014L0024"}, "2025-02-23", False),
    ({"scheme": "UKPGA", "id": "2023/54"}, "2025-02-23", True),
    ({"scheme": "UKPGA", "id": "2023/54"}, "2025-02-24", False),
    ({"scheme": "ukpga", "id": "2023/54"}, "2025-02-24", False),
    ({"scheme": "OTHER", "id": "x"}, "2025-03-10", False),
])
def test_a_legal_basis_that_is_not_the_regime_of_the_date_is_an_error(basis: dict[str, str], start: str,
                                                                       clash: bool) -> None:
    rel = release(legalBasis=basis)
    rel.update(tag=["award"], date=f"{start}T11:00:00Z")
    m = release_to_contract(rel)
    assert (m.contract is None) == clash
    if clash:
        assert "tender.legalBasis is " in (m.error or "") and "not when the procurement commenced" in (m.error or "")


def test_the_acts_go_live_in_the_ocds_mapping_is_the_rulebooks() -> None:
    from s16advisor.ocds import ACT_GO_LIVE
    from s16advisor.rulebook import load_rulebook
    regime = load_rulebook().regime("pa2023")
    assert regime is not None and regime.in_force.from_.isoformat() == ACT_GO_LIVE


def test_a_notice_under_the_provider_selection_regime_is_not_advised() -> None:
    m = release_to_contract(release(legalBasis={"scheme": "UKSI", "id": "2023/1348"}))
    assert m.contract is None and "Provider Selection Regime" in (m.error or "")
    assert m.error == ("tender.legalBasis is the Health Care Services (Provider Selection Regime) Regulations 2023 "
                       "(UKSI 2023/1348), which s16advisor does not encode")


def test_a_planning_notice_is_dated_by_its_planned_tender_notice() -> None:
    planned = release(communication={"futureNoticeDate": "2025-09-15T00:00:00+01:00"})
    planned.update(tag=["planning"], date="2025-05-01T00:00:00Z")
    m = release_to_contract(planned)
    assert m.contract is not None and m.contract["procurement_start"] == "2025-09-15"
    assert any("futureNoticeDate" in n for n in m.notes)


@pytest.mark.parametrize(("status", "tag", "stopped"), [
    ("cancelled", ["tender"], True), ("withdrawn", ["tender"], True), ("Cancelled", ["tender"], True),
    ("active", ["tenderCancellation"], True), ("active", ["tender"], False), ("complete", ["award"], False),
    ("unsuccessful", ["award"], True),
])
def test_a_cancelled_procurement_is_advised_with_a_note(status: str, tag: list[str], stopped: bool) -> None:
    rel = release(status=status)
    rel["tag"] = tag
    m = release_to_contract(rel)
    assert m.contract is not None and m.error is None
    said = [n for n in m.notes if n.startswith("the procurement ended without award")]
    assert bool(said) == stopped, m.notes


def test_a_cancelled_procurement_is_not_counted_among_those_that_could_be_reserved_nor_fails_the_run(
        tmp_path: Path) -> None:
    """A cancelled notice was an error row: exit 3 and 'could not be read' for a normal notice. It is advised, and
    left out of the Section 16 view (it will not be let); so is a record whose releases include a cancellation."""
    from s16advisor.review import review_to_file

    live = release(value={"amount": 900000, "currency": "GBP"})
    cancelled = copy.deepcopy(live) | {"ocid": "ocds-test-2"}
    cancelled["tender"]["status"] = "cancelled"
    record = {"ocid": "ocds-test-3", "releases": [{"date": "2024-06-03T10:00:00Z", "tag": ["tender"]},
                                                  {"date": "2024-07-01T10:00:00Z", "tag": ["tenderCancellation"]}],
              "compiledRelease": copy.deepcopy(live) | {"ocid": "ocds-test-3", "tag": ["compiled"]}}
    path = tmp_path / "notices.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (live, cancelled, record)) + "\n")
    s = review_to_file([str(path)], str(tmp_path / "out.jsonl"))
    assert (s.advised, s.errors) == (3, 0)
    assert s.reservable["either"].count == 1  # the live one only


def test_a_cancelled_lot_is_still_counted_with_a_note() -> None:
    rel = release(value=None, lots=[{"id": "1", "status": "cancelled", "value": {"amount": 150000}},
                                    {"id": "2", "status": "active", "value": {"amount": 120000}}])
    m = release_to_contract(rel)
    assert m.contract is not None and m.contract["value"]["amount"] == 270000
    assert any("lot 1 cancelled, withdrawn or unsuccessful since: still counted" in n for n in m.notes)


@pytest.mark.parametrize(("details", "nation", "error"), [
    ({"classifications": [{"scheme": "UK_CA_TYPE", "id": "publicAuthorityCentralGovernment"}]}, "england", False),
    ({}, None, True),
])
def test_a_buyer_in_scotland_is_advised_only_when_it_is_a_uk_government_body(details: dict[str, Any],
                                                                             nation: str | None, error: bool) -> None:
    rel = release()
    rel["parties"][0].update(address={"region": "UKM75"}, details=details)
    m = release_to_contract(rel)
    assert (m.contract is None) == error
    if nation:
        assert m.contract is not None and m.contract["authority"]["nation"] == nation
    else:
        assert "devolved Scottish authorities" in (m.error or "")


def test_the_delivery_address_gives_the_nation_when_the_buyers_does_not() -> None:
    rel = release(items=[{"id": "1", "classification": {"scheme": "CPV", "id": "85311200"},
                          "deliveryAddresses": [{"region": "England"}]}])
    rel["parties"][0]["address"] = {"countryName": "United Kingdom", "postalCode": "TR16 4HE"}
    m = release_to_contract(rel)
    assert m.contract is not None and m.contract["authority"]["nation"] == "england"
    assert any("deliveryAddresses" in n for n in m.notes)
    rel["tender"]["items"][0]["deliveryAddresses"].append({"region": "UKL"})  # two nations: the option
    m = release_to_contract(rel, OcdsOptions(nation="northern_ireland"))
    assert m.contract is not None and m.contract["authority"]["nation"] == "northern_ireland"
    rel["tender"]["items"][0]["deliveryAddresses"] = [{"region": "UKM75"}]  # Scotland: not a nation to advise as
    m = release_to_contract(rel)
    assert m.contract is not None and m.contract["authority"]["nation"] == "wales"
    assert "the buyer's address does not say which nation: wales assumed" in m.notes


def test_a_contract_with_a_lot_reserved_already_is_not_counted_as_one_that_could_be_reserved(tmp_path: Path) -> None:
    """One lot reserved to supported businesses, one not: no reservation of the whole contract can be described,
    but the summary must not claim the contract could be reserved and is not."""
    from s16advisor.review import review_to_file

    reserved = {"reservedParticipation": ["shelteredWorkshop"]}
    lots = [{"id": "1", "value": {"amount": 450000}, "otherRequirements": reserved},
            {"id": "2", "value": {"amount": 450000}}]
    mixed = release(value={"amount": 900000, "currency": "GBP"}, lots=lots)
    plain = copy.deepcopy(mixed) | {"ocid": "ocds-test-2"}
    for lot in plain["tender"]["lots"]:
        lot.pop("otherRequirements", None)
    path = tmp_path / "releases.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (mixed, plain)) + "\n")
    s = review_to_file([str(path)], str(tmp_path / "out.jsonl"))
    assert s.advised == 2 and s.reservable["either"].count == 1  # the plain one only
    notes = [json.loads(line).get("notes", []) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert any(n.startswith("the lots are reserved differently") for n in notes[0]) and not notes[1]


def test_only_a_procurement_act_classification_makes_a_buyer_in_scotland_a_uk_government_body() -> None:
    """TED_CA_TYPE MINISTRY is also the Scottish Government's (devolved), and --ocds-authority-type applies to
    every buyer: neither turns a Scottish buyer's error into advice for England."""
    for details, options in (({"classifications": [{"scheme": "TED_CA_TYPE", "id": "MINISTRY"}]}, OcdsOptions()),
                             ({}, OcdsOptions(authority_type="central_government"))):
        rel = release()
        rel["parties"][0].update(address={"region": "UKM75"}, details=details)
        m = release_to_contract(rel, options)
        assert m.contract is None and "devolved Scottish authorities" in (m.error or "")


def test_a_buyer_in_wales_that_classifies_itself_as_central_government_is_noted() -> None:
    rel = buyer_classified("TED_CA_TYPE", "MINISTRY", region="UKL22")
    m = release_to_contract(rel)
    assert m.contract is not None and m.contract["authority"]["type"] == "central_government"
    assert any("the Welsh Government, Welsh councils and NHS Wales bodies are sub-central" in n for n in m.notes)
    m = release_to_contract(buyer_classified("UK_CA_TYPE", "publicAuthoritySubCentralGovernment", region="UKL22"))
    assert not any("sub-central, whose" in n for n in m.notes)


def test_a_planned_procurement_is_advised_whatever_legal_basis_its_prior_notice_had() -> None:
    """A prior information notice under PCR 2015 for a tender planned after go-live: the procurement will
    commence under the Act (a PIN does not commence it), so it is advised, not an error."""
    planned = release(communication={"futureNoticeDate": "2025-03-15"},
                      legalBasis={"scheme": "CELEX", "id": "32014l0024"})
    planned.update(tag=["planning"], date="2024-11-01T00:00:00Z")
    m = release_to_contract(planned)
    assert m.contract is not None and m.contract["procurement_start"] == "2025-03-15", m.error
    award = copy.deepcopy(planned)
    award.update(tag=["award"], date="2025-04-01T00:00:00Z")  # (lower-case CELEX is still PCR 2015)
    del award["tender"]["communication"]
    assert "tender.legalBasis is the Public Contracts Regulations 2015" in (release_to_contract(award).error or "")


# ------------------------------------------------------------------------------------- dates in UK time


def _dated(where: str, when: str) -> dict[str, Any]:
    """A release whose commencement is ``when``, given in the field ``where`` (each a field the mapping reads)."""
    rel = release()
    tender = rel["tender"]
    if where == "tender.datePublished":
        tender["datePublished"] = when
    elif where == "tender.documents":
        tender["documents"] = [{"id": "1", "documentType": "tenderNotice", "datePublished": when}]
    elif where == "date":  # a tender release's own date
        rel["date"] = when
    elif where == "tender.tenderPeriod.startDate":
        rel.update(tag=["award"], date="2025-06-01T00:00:00+01:00")
        tender["tenderPeriod"] = {"startDate": when}
    elif where == "tender.communication.futureNoticeDate":
        rel.update(tag=["planning"], date="2024-06-01T00:00:00+01:00")
        tender["communication"] = {"futureNoticeDate": when}
    elif where == "award date":  # no tender date: the release's
        rel.update(tag=["award"], date=when)
    return rel


DATE_FIELDS = ("tender.datePublished", "tender.documents", "date", "tender.tenderPeriod.startDate",
               "tender.communication.futureNoticeDate", "award date", "record")


@pytest.mark.parametrize("where", DATE_FIELDS)
@pytest.mark.parametrize(("when", "day"), [
    ("2025-02-24T00:30:00+01:00", "2025-02-23"),  # 23:30 GMT: the day before the Act's go-live
    ("2025-02-23T23:30:00Z", "2025-02-23"),  # the same moment written in UTC
    ("2025-02-24T00:30:00Z", "2025-02-24"),
    ("2024-01-01T00:30:00+01:00", "2023-12-31"),  # before the thresholds of 1 January 2024
    ("2023-12-31T19:30:00-05:00", "2024-01-01"),  # 00:30 GMT on 1 January
    ("2025-06-30T23:30:00Z", "2025-07-01"),  # BST: 00:30 on 1 July
    ("2025-03-30T00:59:59Z", "2025-03-30"), ("2025-03-29T23:30:00Z", "2025-03-29"),  # GMT until 01:00 UTC
    ("2025-10-25T23:30:00Z", "2025-10-26"), ("2025-10-26T23:30:00Z", "2025-10-26"),  # BST until 01:00 UTC
    ("2025-06-30t23:30:00z", "2025-07-01"),  # (RFC 3339 allows a lower-case t and z)
    ("2025-02-24", "2025-02-24"), ("2025-02-24T00:30:00", "2025-02-24"),  # a date, a time without offset: as written
])
def test_a_time_with_an_offset_is_read_on_the_uk_calendar(where: str, when: str, day: str) -> None:
    """The law's days are the UK's: a notice published at 00:30 on 24 February 2025 in UTC+1 was published at
    23:30 on the 23rd in the UK, before the Act's go-live (and 00:30 on 1 January in UTC+1 is still 31 December,
    under the old thresholds), whichever field gives the date."""
    if where == "record":
        record = {"ocid": "ocds-test-1", "releases": [{"url": "u1", "date": when, "tag": ["tender"]}],
                  "compiledRelease": release() | {"tag": ["compiled"], "date": "2025-06-01T00:00:00Z"}}
        m = record_to_contract(slim_record(record))
    else:
        m = release_to_contract(_dated(where, when))
    assert m.contract is not None, m.error
    assert m.contract["procurement_start"] == day


def test_the_same_moment_with_and_without_an_offset_is_advised_alike_around_the_acts_go_live() -> None:
    """A PCR 2015 tender notice published at 23:30 GMT on 23 February 2025, written in UTC+1: commenced before
    the go-live, under PCR 2015 (not an error row saying its date is not its commencement)."""
    for when in ("2025-02-24T00:30:00+01:00", "2025-02-23T23:30:00Z"):
        rel = release(datePublished=when, legalBasis={"scheme": "CELEX", "id": "32014L0024"})
        [result] = list(Review([rel]))
        assert result.advice is not None and result.advice["regime"]["id"] == "pcr2015", (when, result.error)


def test_the_thresholds_of_1_january_are_chosen_by_the_uk_date() -> None:
    it = {"items": [{"id": "1", "classification": {"scheme": "CPV", "id": "72000000"}}]}
    amounts = {}
    for when in ("2024-01-01T00:30:00+01:00", "2023-12-31T23:30:00Z", "2024-01-01T00:30:00Z"):
        [result] = list(Review([release(datePublished=when, **it)]))
        amounts[when] = result.advice["valuation"]["threshold"]["in_force_from"]
    assert amounts == {"2024-01-01T00:30:00+01:00": "2022-01-01", "2023-12-31T23:30:00Z": "2022-01-01",
                       "2024-01-01T00:30:00Z": "2024-01-01"}


@pytest.mark.parametrize(("period", "months"), [
    # 00:00 BST on 1 April 2025 to 23:59:59 BST on 31 March 2028, written in UTC: three years
    ({"startDate": "2025-03-31T23:00:00Z", "endDate": "2028-03-31T22:59:59Z"}, 36),
    ({"startDate": "2025-04-01T00:00:00+01:00", "endDate": "2028-03-31T23:59:59+01:00"}, 36),
    # written in UTC with the times of a UK day: 01:00 BST on 1 April to 00:59:59 BST on 1 April, three years
    ({"startDate": "2024-04-01T00:00:00Z", "endDate": "2027-03-31T23:59:59Z"}, 36),
    ({"startDate": "2024-07-01T00:00:00+01:00", "endDate": "2026-12-31T23:59:59Z"}, 30),  # (BST to GMT)
    ({"startDate": "2024-07-01T00:00:00+01:00", "endDate": "2027-06-30"}, 36),  # (a date is its whole day)
    ({"startDate": "2024-07-01T00:00:00+01:00", "endDate": "2027-07-01T00:00:00+01:00"}, 37),
    ({"startDate": "2024-07-01T12:00:00+01:00", "endDate": "2027-07-01"}, 37),  # (its whole day: past noon)
    # written in UTC across a clock change: GMT to BST, and back (23:59:59 UTC is 00:59:59 BST the next day)
    ({"startDate": "2025-03-29T00:00:00Z", "endDate": "2028-03-28T23:59:59Z"}, 36),
    ({"startDate": "2025-12-01T00:00:00Z", "endDate": "2028-05-31T23:59:59Z"}, 30),
    ({"startDate": "2025-06-01T00:00:00+01:00", "endDate": "2028-11-30T23:59:59+00:00"}, 42),
    ({"startDate": "2025-12-01T00:00:00Z", "endDate": "2028-06-01T01:00:00+01:00"}, 31),  # (an hour into June)
])
def test_a_contract_period_in_uk_time_is_counted_from_its_moments(period: dict[str, Any], months: int) -> None:
    """A term's months from its start to its end in UK time: a period written in UTC is not a month longer
    (reg 77 allows 36 months: a 37th would be a false finding)."""
    assert mapped(release(contractPeriod=period))["duration_months"] == months


@pytest.mark.parametrize(("period", "months"), [
    # ISO 8601's 24:00 is the end of the day: a term to 24:00 on 31 March ends on 31 March, as one to 23:59:59 does
    ({"startDate": "2024-04-01T00:00:00Z", "endDate": "2027-03-31T24:00:00Z"}, 36),
    ({"startDate": "2024-04-01", "endDate": "2027-03-31T24:00Z"}, 36),
    ({"startDate": "2024-01-01T00:00:00+00:00", "endDate": "2026-12-31T24:00:00.000+00:00"}, 36),
    ({"startDate": "2024-01-01", "endDate": "2027-01-01T24:00:00Z"}, 37),
])
def test_a_contract_period_ending_at_24_00_ends_on_its_day(period: dict[str, Any], months: int) -> None:
    m = release_to_contract(release(contractPeriod=period))
    assert m.contract is not None and m.contract["duration_months"] == months
    assert not [n for n in m.notes if "contractPeriod" in n], m.notes


@pytest.mark.parametrize(("published", "regime_day"), [
    ("2025-02-23T24:00:00Z", "2025-02-24"),  # (the next midnight: the Act's go-live day, not PCR 2015's last)
    ("2025-02-23T24:00Z", "2025-02-24"),
    ("2025-02-23T23:59:59Z", "2025-02-23"),
])
def test_a_tender_notice_published_at_24_00_is_published_at_the_next_midnight(published: str, regime_day: str) -> None:
    """24:00 on 23 February 2025 is the same moment as 00:00 on the 24th, the Act's go-live: reading it as the 23rd
    (as the end of a term is read) put the procurement under PCR 2015."""
    m = release_to_contract(release(datePublished=published))
    assert m.contract is not None and m.contract["procurement_start"] == regime_day
    assert not [n for n in m.notes if "datePublished" in n], m.notes


def test_a_tender_notice_published_at_24_00_utc_in_summer_is_dated_the_next_uk_day() -> None:
    """24:00 UTC on 31 March 2025 is 01:00 BST on 1 April: the UK day the notice commenced the procurement."""
    m = release_to_contract(release(datePublished="2025-03-31T24:00:00Z"))
    assert m.contract is not None and m.contract["procurement_start"] == "2025-04-01"
    assert not [n for n in m.notes if "datePublished" in n], m.notes


@pytest.mark.parametrize(("period", "note"), [
    ({"startDate": "2024-04-01", "endDate": "31/03/2027"},
     "tender.contractPeriod.endDate '31/03/2027' is not a date: ignored"),
    ({"startDate": "2024-13-01", "endDate": "2027-03-31"},
     "tender.contractPeriod.startDate '2024-13-01' is not a date: ignored"),
    ({"startDate": "2024-04-01", "endDate": "2023-03-31"},
     "tender.contractPeriod.endDate '2023-03-31' is before its startDate '2024-04-01': ignored"),
])
def test_a_contract_period_that_cannot_be_read_says_why_the_duration_is_missing(period: dict[str, Any],
                                                                                note: str) -> None:
    """A term given only by dates, one of which cannot be read (or ends before it starts), was reported only as a
    missing contract period, with no word of the date at fault."""
    m = release_to_contract(release(contractPeriod=period))
    assert m.contract is None and any("contract period" in x for x in m.missing), m.missing
    assert note in m.notes, m.notes


def test_an_end_after_the_start_that_the_clocks_going_back_put_before_it_in_uk_time_is_not_before_it() -> None:
    """00:30 UTC on 26 October 2025 is 01:30 BST, and 01:10 UTC, 40 minutes later, is 01:10 GMT: earlier in UK
    time. The term was noted as an end before its start (and left missing): it is a part month, one month, as an
    end less than an hour past an anniversary is the clock change's. An end an hour or more before its start is."""
    m = release_to_contract(release(contractPeriod={"startDate": "2025-10-26T00:30:00Z",
                                                    "endDate": "2025-10-26T01:10:00Z"}))
    assert m.contract is not None and m.contract["duration_months"] == 1
    assert not [n for n in m.notes if "contractPeriod" in n], m.notes
    m = release_to_contract(release(contractPeriod={"startDate": "2025-10-26T01:30:00Z",
                                                    "endDate": "2025-10-26T01:29:59Z"}))
    assert m.contract is None
    assert m.notes == ["tender.contractPeriod.endDate '2025-10-26T01:29:59Z' is before its startDate "
                       "'2025-10-26T01:30:00Z': ignored"], m.notes


def test_a_maximum_extent_before_the_start_gives_way_to_the_end_date() -> None:
    m = release_to_contract(release(contractPeriod={"startDate": "2024-04-01", "maxExtentDate": "2021-03-31",
                                                    "endDate": "2027-03-31"}))
    assert m.contract is not None and m.contract["duration_months"] == 36
    assert m.notes == ["tender.contractPeriod.maxExtentDate '2021-03-31' is before its startDate '2024-04-01': "
                       "ignored"]


def test_a_lot_contract_period_that_cannot_be_read_is_named_by_its_lot() -> None:
    value = {"amount": 50000, "currency": "GBP"}
    lots = [{"id": "north", "value": value, "contractPeriod": {"durationInMonths": 24}},
            {"id": "south", "value": value, "contractPeriod": {"startDate": "2024-04-01", "endDate": "soon"}}]
    m = release_to_contract(release(contractPeriod=None, lots=lots))
    assert "lot south's contractPeriod.endDate 'soon' is not a date: ignored" in m.notes, m.notes


@pytest.mark.parametrize("lot_id", [None, ""])
def test_a_lot_contract_period_that_cannot_be_read_is_named_by_its_place_when_the_lot_has_no_id(lot_id: Any) -> None:
    """As the lots' own notes name such a lot (``lot 1 has no id``), not ``lot 's`` or ``lot None's``."""
    value = {"amount": 50000, "currency": "GBP"}
    lots = [{"id": "north", "value": value, "contractPeriod": {"durationInMonths": 24}},
            {"id": lot_id, "value": value, "contractPeriod": {"startDate": "2024-04-01", "endDate": "soon"}}]
    m = release_to_contract(release(contractPeriod=None, lots=lots))
    assert "lot 1's contractPeriod.endDate 'soon' is not a date: ignored" in m.notes, m.notes


def test_a_date_whose_time_cannot_be_read_is_read_as_written_with_a_note() -> None:
    """25:00 is no time: the date is read as written (not as a UK day, which a UTC time could move), and said so."""
    m = release_to_contract(release(datePublished="2025-03-31T25:00:00Z"))
    assert m.contract is not None and m.contract["procurement_start"] == "2025-03-31"
    assert ("tender.datePublished '2025-03-31T25:00:00Z' has a time that is not one: the date 2025-03-31 is read "
            "as written") in m.notes, m.notes


def test_a_record_names_a_tender_release_whose_date_cannot_be_read() -> None:
    """The first tender release dates a record's commencement: one whose date cannot be read is named, as the
    record is then dated by another."""
    first = release(title="First") | {"date": "3 June 2024"}
    second = release(title="Second") | {"date": "2024-07-01T10:00:00+01:00"}
    m = record_to_contract(slim_record({"ocid": "ocds-test-1", "releases": [first, second]}))
    assert m.contract is not None and m.contract["procurement_start"] == "2024-07-01"
    assert "releases[0].date (a tender release) '3 June 2024' is not a date: ignored" in m.notes, m.notes


@pytest.mark.parametrize("given", ["24/02/2025", "2025-02-30T09:00:00Z", 20250224, {"date": "2025-02-24"}])
def test_a_tender_notice_whose_date_is_not_a_date_is_noted_not_silently_ignored(given: Any) -> None:
    """Find a Tender's tender notice among the documents dates the commencement: one whose datePublished cannot be
    read is named in a note, as the mapping then dates the procurement by another field (here the release's)."""
    rel = release(documents=[{"id": "d0", "documentType": "biddingDocuments", "datePublished": "junk"},
                             {"id": "d1", "documentType": "tenderNotice", "datePublished": given}])
    m = release_to_contract(rel)
    assert m.contract is not None and m.contract["procurement_start"] == "2024-06-03"
    assert [n for n in m.notes if "not a date" in n] == [
        f"tender.documents[1].datePublished (a tenderNotice) {given!r} is not a date: ignored"]
    undated = release(documents=[{"id": "d1", "documentType": "tenderNotice"}])  # (no date given: nothing to say)
    assert not [n for n in release_to_contract(undated).notes if "not a date" in n]
    blank = release(datePublished="", documents=[{"id": "d1", "documentType": "tenderNotice", "datePublished": ""}])
    assert not [n for n in release_to_contract(blank).notes if "not a date" in n]  # (empty: not given either)


@pytest.mark.parametrize(("field", "where"), [
    ({"datePublished": "24 Feb 2025"}, "tender.datePublished"),
    ({"tenderPeriod": {"startDate": "2025-13-01"}}, "tender.tenderPeriod.startDate"),
])
def test_a_tender_date_that_is_not_a_date_is_noted(field: dict[str, Any], where: str) -> None:
    rel = release(**field)
    rel["tag"] = ["award"]  # (the release's own date comes last)
    m = release_to_contract(rel)
    assert m.contract is not None
    assert any(n.startswith(f"{where} ") and n.endswith("is not a date: ignored") for n in m.notes), m.notes


@pytest.mark.parametrize(("given", "options", "value", "note"), [
    # amountGross is the value including VAT: amount is then without it, whatever --ocds-vat assumed
    ({"amount": 100000, "amountGross": 120000}, OcdsOptions(vat="inclusive"),
     {"amount": 100000.0, "vat": "exclusive", "vat_rate": 0.2}, "is read as exclusive of VAT"),
    ({"amount": 100000, "amountGross": 100000}, OcdsOptions(vat="inclusive"),  # VAT-exempt: no VAT either way
     {"amount": 100000.0, "vat": "inclusive", "vat_rate": 0}, "VAT rate 0 from tender.value.amountGross"),
    ({"amount": 100000, "amountGross": 105000}, OcdsOptions(vat="inclusive"),
     {"amount": 100000.0, "vat": "exclusive", "vat_rate": 0.05}, "VAT rate 0.05"),
    ({"amount": 100000, "amountGross": 105000}, OcdsOptions(),
     {"amount": 100000.0, "vat": "exclusive", "vat_rate": 0.05}, "VAT rate 0.05"),
    # only the value including VAT (OCDS 1.2 puts it in amountGross, and no amount)
    ({"amountGross": 120000}, OcdsOptions(), {"amount": 120000.0, "vat": "inclusive", "vat_rate": 0.2},
     "no tender.value.amount: the value is tender.value.amountGross £120,000, including VAT at 0.2"),
    # not a gross of the amount (less, or more than twice): ignored, with a note
    ({"amount": 100000, "amountGross": 90000}, OcdsOptions(vat="inclusive"),
     {"amount": 100000.0, "vat": "inclusive", "vat_rate": 0.2}, "is not between tender.value.amount and twice it"),
    ({"amount": 100000, "amountGross": 250000}, OcdsOptions(),
     {"amount": 100000.0, "vat": "exclusive", "vat_rate": 0.2}, "is not between tender.value.amount and twice it"),
    ({"amount": 100000, "amountGross": 200000}, OcdsOptions(),  # (twice it: a rate of 100%, still a rate)
     {"amount": 100000.0, "vat": "exclusive", "vat_rate": 1.0}, "VAT rate 1 from tender.value.amountGross"),
    ({"amount": 100000, "amountGross": 112340}, OcdsOptions(),  # (the rate to four places)
     {"amount": 100000.0, "vat": "exclusive", "vat_rate": 0.1234}, "VAT rate 0.1234 from tender.value.amountGross"),
])
def test_amount_gross_is_the_value_including_vat_whatever_the_vat_option(given: dict[str, Any], options: OcdsOptions,
                                                                          value: dict[str, Any], note: str) -> None:
    m = release_to_contract(release(value={**given, "currency": "GBP"}), options)
    assert m.contract is not None, m.error
    assert m.contract["value"] == value
    assert any(note in n for n in m.notes), m.notes


def test_with_ocds_vat_inclusive_a_notice_stating_its_value_with_and_without_vat_is_advised_on_it() -> None:
    """£180,000 without VAT, £216,000 with it: under PCR 2015 from 2024 (sub-central services £214,904 including
    VAT) it is above the threshold; read as £180,000 including VAT (--ocds-vat inclusive, amountGross ignored), it
    was below."""
    rel = release(datePublished="2024-06-03", value={"amount": 180000, "amountGross": 216000, "currency": "GBP"},
                  items=[{"id": "1", "classification": {"scheme": "CPV", "id": "72000000"}}])
    [result] = list(Review([rel], ocds=OcdsOptions(vat="inclusive")))
    assert result.advice["valuation"]["threshold"]["above"] is True
    assert result.advice["valuation"]["threshold"]["value"] == pytest.approx(216000)


def test_a_record_without_a_compiled_release_uses_its_latest_release_by_the_moment_not_the_text() -> None:
    """00:30 UTC on 30 March 2025 is after 01:15 BST (00:15 UTC) that day, though its text sorts first."""
    earlier = release(title="Earlier") | {"date": "2025-03-30T01:15:00+01:00"}
    later = release(title="Later") | {"date": "2025-03-30T00:30:00Z"}
    undated = release(title="Undated") | {"date": "soon"}
    for releases in ([earlier, later, undated], [later, undated, earlier]):
        record = slim_record({"ocid": "ocds-test-1", "releases": releases})
        m = record_to_contract(record)
        assert m.contract is not None and m.contract["title"] == "Later"
        assert m.notes[0] == "the record has no compiled release: its latest embedded release was used"
    # When the clocks go back, 01:15 UTC is after 00:30 UTC, though both are between 01:00 and 02:00 in UK time
    fall = [release(title="Later") | {"date": "2025-10-26T01:15:00Z"}, release(title="Earlier") | {
        "date": "2025-10-26T00:30:00Z"}]
    for releases in (fall, fall[::-1]):
        m = record_to_contract(slim_record({"ocid": "ocds-test-1", "releases": releases}))
        assert m.contract is not None and m.contract["title"] == "Later"


def test_a_release_dated_by_its_day_alone_is_earlier_than_one_timed_on_that_day() -> None:
    """A date without a time is the start of its day: a release timed later that day is the latest."""
    dated = release(title="Dated") | {"date": "2025-05-01"}
    timed = release(title="Timed") | {"date": "2025-05-01T09:00:00Z"}
    for releases in ([dated, timed], [timed, dated]):
        m = record_to_contract(slim_record({"ocid": "ocds-test-1", "releases": releases}))
        assert m.contract is not None and m.contract["title"] == "Timed"


def test_a_release_without_a_title_takes_the_first_100_characters_of_its_description_or_its_ocid() -> None:
    described = release(title=None, description="  " + "x" * 99 + "yz  ")
    m = release_to_contract(described)
    assert m.contract is not None and m.contract["title"] == "x" * 99 + "y"
    assert "no tender.title: the title is made from tender.description" in m.notes
    titled = release(title=None)
    titled["title"] = "The release's own title"
    assert mapped(titled)["title"] == "The release's own title"
    bare = release_to_contract(release(title=None))
    assert bare.contract is not None and bare.contract["title"] == "OCDS ocds-test-1"
    assert "no tender.title: the title is made from the ocid" in bare.notes


def test_a_release_without_a_tag_is_not_a_planning_notice_and_a_planning_update_is_one() -> None:
    untagged = release()
    del untagged["tag"]
    m = release_to_contract(untagged)
    assert m.contract is not None and m.contract["procurement_start"] == "2024-06-03"
    assert any(n.startswith("no tender date: procurement_start is the release date") for n in m.notes), m.notes
    update = release(communication={"futureNoticeDate": "2025-09-01T09:00:00+01:00"})
    update["tag"] = ["planningUpdate"]
    m = release_to_contract(update)
    assert m.contract is not None and m.contract["procurement_start"] == "2025-09-01"
    assert any(n.startswith("a planning release: procurement_start is the planned date") for n in m.notes)


def test_a_cancelled_lot_without_an_id_is_named_by_its_place() -> None:
    """It was named 'lot ' (an empty id) or 'lot None', as the other lot notes no longer are."""
    rel = release(value=None, lots=[{"id": "", "status": "cancelled", "value": {"amount": 150000}},
                                    {"id": None, "status": "unsuccessful", "value": {"amount": 120000}}])
    notes = release_to_contract(rel).notes
    assert any(n.startswith("lots 0, 1 cancelled, withdrawn or unsuccessful since") for n in notes), notes


# ------------------------------------------------------------------------ real shapes from Sell2Wales and FTS


def sell2wales_release() -> dict[str, Any]:
    """A Sell2Wales tender release, in the shape its OCDS API published on 21 February 2025 (ocds-kuma6s-148149,
    Wrexham County Borough Council's environmental improvement works framework, as copied in the public repository
    apa999/CFServer1, CFServerTests/TestData/WelshData/WRel4.swift; long texts shortened): the buyer's TED_CA_TYPE
    classification is the type's label, not its code; the term is the lot's durationInDays, and its renewal is told
    in words only (the lots and renewal extensions: hasRenewal, renewal.description)."""
    return {
        "id": "ocds-kuma6s-148149-release-148149", "ocid": "ocds-kuma6s-148149", "date": "2025-02-21T00:00:00Z",
        "tag": ["tender"], "initiationType": "tender",
        "parties": [{
            "name": "Wrexham County Borough Council", "id": "org-9",
            "identifier": {"legalName": "Wrexham County Borough Council"},
            "address": {"streetAddress": "Lampbit Street", "locality": "Wrexham", "region": "UKL23",
                        "postalCode": "LL11 1AR"},
            "roles": ["buyer", "centralPurchasingBody"],
            "details": {"classifications": [{"id": "Regional or local authority", "scheme": "TED_CA_TYPE"},
                                            {"id": "01", "description": "General public services",
                                             "scheme": "COFOG"}]},
        }],
        "buyer": {"name": "Wrexham County Borough Council", "id": "org-9"},
        "tender": {
            "id": "ocds-kuma6s-148149-tender-148149-Proc 24-291",
            "title": "Environmental Improvement Municipal Engineering Works On Housing Land",
            "status": "active",
            "items": [{"id": "1", "additionalClassifications": [{"id": "45100000", "scheme": "CPV"},
                                                                {"id": "45220000", "scheme": "CPV"}],
                       "deliveryAddresses": [{"region": "UKL23"}], "relatedLot": "1"}],
            "value": {"amount": 6000000.0, "currency": "GBP"},
            "procurementMethod": "open", "procurementMethodDetails": "Open procedure",
            "mainProcurementCategory": "works",
            "tenderPeriod": {"endDate": "2025-03-31T17:00:00Z"},
            "documents": [{"id": "FEB497913", "documentType": "contractNotice", "format": "text/html",
                           "url": "https://www.sell2wales.gov.wales/search/show/search_view.aspx?ID=FEB497913"}],
            "lots": [{"id": "1", "status": "active", "hasOptions": False,
                      "contractPeriod": {"durationInDays": 720}, "hasRenewal": True,
                      "renewal": {"description": "Option to extend for a further two years in annual increments"}}],
            "techniques": {"hasFrameworkAgreement": True, "frameworkAgreement": {"maximumParticipants": 7.0}},
            "classification": {"id": "45000000", "scheme": "CPV"},
            "legalBasis": {"id": "32014L0024", "scheme": "CELEX"},
        },
        "language": "EN",
    }


@pytest.mark.parametrize(("label", "expected"), [
    ("Regional or local authority", "sub_central"),  # Sell2Wales: Wrexham, Swansea, Blaenau Gwent councils
    ("Body governed by public law", "sub_central"),  # Sell2Wales: Creating Enterprise C.I.C
    ("Regional or local agency/office", "sub_central"),
    ("Ministry or any other national or federal authority, including their regional or local subdivisions",
     "central_government"),
    ("National or federal agency/office", "central_government"),
])
def test_a_ted_authority_type_given_by_its_label_as_sell2wales_publishes_it_is_read(label: str, expected: str) -> None:
    """Sell2Wales writes the TED_CA_TYPE label as the id ("Regional or local authority"), where Find a Tender writes
    the code (REGIONAL_AUTHORITY, the label in its description: the FTS API documentation's sample release). The
    labels are TED's for the codes MINISTRY, NATIONAL_AGENCY, REGIONAL_AUTHORITY, REGIONAL_AGENCY, BODY_PUBLIC."""
    rel = sell2wales_release()
    rel["parties"][0]["details"]["classifications"][0]["id"] = label
    for option in ("sub_central", "central_government"):
        got = mapped(rel, OcdsOptions(authority_type=option))["authority"]["type"]  # type: ignore[arg-type]
        assert got == expected, (label, option)
    notes = release_to_contract(rel).notes
    assert any("national agency" in n for n in notes) == label.startswith("National")


def test_a_lot_renewal_told_only_in_words_is_noted_as_not_counted_in_the_term() -> None:
    """Sell2Wales and Find a Tender tell a lot's renewal as hasRenewal and renewal.description (the FTS API
    documentation's sample: durationInDays 30, hasRenewal, "Sample renewals description"): a 720-day framework with
    "a further two years" may last 48 months, which the mapping cannot read from the words; it says so rather than
    advising on 24 months silently (a reservation's limit counts extensions: reg 77's 36 months, s.33's 60)."""
    m = release_to_contract(sell2wales_release())
    assert m.contract is not None and m.contract["duration_months"] == 24
    (note,) = [n for n in m.notes if "renew" in n]
    assert note.startswith("lot 1 can be renewed") and "Option to extend for a further two years" in note
    assert "24" in note
    rel = sell2wales_release()
    rel["tender"]["lots"][0].update(hasRenewal=False, renewal=None)
    assert not [n for n in release_to_contract(rel).notes if "renew" in n]



@pytest.mark.parametrize(("celex", "named"), [
    ("32014L0025", "Utilities Contracts Regulations 2016"),
    ("32014L0023", "Concession Contracts Regulations 2016"),
    ("32009L0081", "Defence and Security Public Contracts Regulations 2011"),
])
def test_a_notice_under_a_pcr_2015_era_regime_s16advisor_does_not_encode_is_not_advised(celex: str, named: str) -> None:
    """Find a Tender's PCR-era notices give tender.legalBasis CELEX 32014L0024 (public contracts) or 32014L0025
    (utilities): a survey of its API in September 2026 measured both (a third-party research note found by the code
    search; the FTS API documentation's sample has 32014L0024). A utilities notice was advised under PCR 2015's
    public-contract thresholds; like the Provider Selection Regime, a regime s16advisor does not encode is an error."""
    rel = sell2wales_release()
    rel["tender"]["legalBasis"] = {"id": celex, "scheme": "CELEX"}
    m = release_to_contract(rel)
    assert m.contract is None and m.error is not None and named in m.error and celex in m.error


@pytest.mark.parametrize("package", [RELEASES, RECORDS])
def test_a_json_line_package_whose_key_is_escaped_is_an_error_naming_the_escape(tmp_path: Path, package: Path) -> None:
    """The reader knows a package line by its "releases" or "records" key as written: one written with \\u escapes
    reached a worker, which said it was "a package inside a package"."""
    obj = json.loads(package.read_text())
    key = "releases" if "releases" in obj else "records"
    for record in obj.get("records", []):  # (a line holding "releases" anywhere is read as a package)
        record.pop("releases", None)
    plain, escaped = tmp_path / "plain.jsonl", tmp_path / "escaped.jsonl"
    plain.write_text(json.dumps(obj) + "\n")
    escaped.write_text(json.dumps(obj).replace(f'"{key}"', '"\\u' + f'{ord(key[0]):04x}{key[1:]}"', 1) + "\n")
    assert json.loads(escaped.read_text()) == obj
    assert len(_review(plain)) == len(obj[key]) > 1
    (got,) = _review(escaped)
    kind = "release package" if key == "releases" else "record package"
    assert got.error == f'{escaped}:1: an OCDS {kind} whose "{key}" key is written with \\u escapes is not read: ' \
                        f'write the key as "{key}"'
    nested = tmp_path / "nested.json"  # a package among a package's releases is still said to be so
    nested.write_text(json.dumps({"uri": "u", "releases": [obj]}))
    (inner,) = _review(nested)
    assert inner.error is not None and inner.error.endswith("an OCDS package inside a package is not read")
