"""`s16advisor review`: every input format, order with several jobs, records in = results out (a property),
atomic output when a run is stopped, the CSV output read back, the summary figures, exit codes and the API."""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from s16advisor.cli import app
from s16advisor.ocds import OcdsOptions
from s16advisor.review import (
    CSV_INPUT_COLUMNS,
    CSV_OUTPUT_COLUMNS,
    ReadOptions,
    Review,
    ReviewOptions,
    Source,
    read_records,
    review_to_file,
)
from s16advisor.yamlio import load_document

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).resolve().parent / "review"
runner = CliRunner()


def contract(i: int = 0, **changes: Any) -> dict[str, Any]:
    """A valid contract description: below-threshold cleaning under PCR 2015 (recommended: below_threshold)."""
    c: dict[str, Any] = {
        "id": f"R-{i:04d}",
        "title": f"Office cleaning {i}",
        "procurement_start": "2024-05-01",
        "contract_type": "services",
        "value": {"amount": 50000 + i, "vat": "exclusive"},
        "duration_months": 24,
        "cpv": ["90910000-9"],
    }
    c.update(changes)
    return c


def example(name: str) -> dict[str, Any]:
    data = load_document(str(EXAMPLES / name)).data
    data.pop("waivers", None)
    return data


def results(paths: list[Path], **kw: Any) -> list[Any]:
    return list(Review(read_records([str(p) for p in paths], ReadOptions(**kw))))


def jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------------- JSON Lines


def test_jsonl_one_result_per_line_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf" + json.dumps(contract(1)).encode() + b"\n"  # a byte order mark on line 1
        b"\n"  # blank: skipped, not a record
        b"{not json\n"
        + json.dumps(contract(2, value={"amount": "lots"})).encode() + b"\n"
        b'"a string"\n'
        b'{"id": "R-bad-utf8", "title": "Caf\xe9"}\n'
        + json.dumps(contract(3)).encode()  # no final newline
    )
    out = results([path])
    assert [r.source.line for r in out] == [1, 3, 4, 5, 6, 7]
    assert [r.ok for r in out] == [True, False, False, False, False, True]
    assert out[0].advice["recommended"] == ["below_threshold"] and out[0].id == "R-0001"
    assert out[1].error.startswith(f"{path}:3: malformed JSON")
    assert out[2].id == "R-0002" and out[2].error == (f"{path}:4: value.amount: must be a number (not a string or a "
                                                      "boolean)")
    assert "got a string" in out[3].error
    assert out[4].error.startswith(f"{path}:6: not utf-8 text")
    assert out[5].id == "R-0003"
    # Blank lines are what bytes.strip() strips to nothing: ASCII whitespace, or a byte order mark alone (a file
    # joined by cat, empty but for its mark), last line or not; what else is made of such bytes is a record.
    path.write_bytes(b" \t\x0b\x0c\r\n" + json.dumps(contract(1)).encode() + b"\n\xef\xbb\xbf\n\xa0\n\x1c\n"
                     + b"\xef\xbb\xbf")
    reader = read_records([str(path)])
    assert [(r.source.line, r.kind) for r in reader] == [(2, "json"), (4, "json"), (5, "json")]
    assert reader.blank == 3


def test_a_json_null_is_an_optional_field_left_out_and_a_required_field_missing(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "p.jsonl", [contract(2), contract(2, id="N", reservation=None, objectives=None, route=None),
                                        contract(3, title=None)])
    out = results([path])
    assert [r.ok for r in out] == [True, True, False]
    assert out[1].advice["routes"] == out[0].advice["routes"]
    assert out[2].error == f"{path}:3: title: is empty (null): it must be text"


def test_jsonl_result_carries_advice_v1_without_trace_unless_asked(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "p.jsonl", [contract(1)])
    plain = results([path])[0].advice
    assert plain["schema"] == "s16advisor/advice/1" and "trace" not in plain
    traced = next(iter(Review(read_records([str(path)]), trace=True))).advice
    assert traced["trace"] and {k: v for k, v in traced.items() if k != "trace"} == plain
    # spec/advice.md: "batch JSONL output is one Advice per line (or an error record)": the Advice's own fields,
    # with the record's source and id (and OCDS notes) added
    for args in ([], ["--trace"]):
        out = tmp_path / "out.jsonl"
        assert cli(str(path), "-o", str(out), "--jobs", "1", *args).exit_code == 0
        line = json.loads(out.read_text())
        assert list(line)[:3] == ["source", "id", "schema"] and line["id"] == line["contract_id"] == "R-0001"
        assert {k: v for k, v in line.items() if k not in ("source", "id")} == (traced if args else plain)


def test_advice_json_is_to_json_dict(advisor: Any) -> None:
    from s16advisor.advisor import advice_json
    from s16advisor.contract import contract_from_mapping

    advice = advisor.advise(contract_from_mapping(example("supported-living.yaml")))
    full = advice.to_json_dict()
    assert json.loads(advice_json(advice)) == full
    assert json.loads(advice_json(advice, trace=False)) == {k: v for k, v in full.items() if k != "trace"}


def test_a_results_json_dict_is_its_line_of_the_json_lines_output(tmp_path: Path) -> None:
    """ReviewResult.to_json_dict (the Python API) is what review writes to JSON Lines: the advice's fields, or the
    error, and the OCDS mapping's notes."""
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(contract(1)) + "\n" + json.dumps(json.loads(
        (FIXTURES / "release-package.json").read_text())) + "\n{not json\n", encoding="utf-8")
    written = tmp_path / "out.jsonl"
    review_to_file([str(path)], str(written))
    lines = [json.loads(line) for line in written.read_text().splitlines()]
    dicts = [r.to_json_dict() for r in results([path])]
    assert dicts == lines
    assert dicts[0]["schema"] == "s16advisor/advice/1" and dicts[0]["recommended"] == ["below_threshold"]
    assert any(d.get("notes") for d in dicts) and "error" in dicts[-1]


# ---------------------------------------------------------------------------------------------------------- CSV

CSV_HEADER = ("id,title,authority.name,authority.type,authority.nation,procurement_start,contract_type,value.amount,"
              "value.vat,value.vat_rate,duration_months,cpv,lots,reservation,route,"
              "innovation.solution_available_on_market,innovation.research_and_development,prior_reserved_awards,"
              "reasons_for_not_lotting,objectives,waivers\n")


def test_csv_columns_map_to_the_contract_description(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    awards = json.dumps([{"supplier": "Cartrefi", "awarded": "2024-05-01", "cpv": ["85311200-4"],
                          "basis": "reg77"}]).replace('"', '""')
    path.write_text(
        CSV_HEADER
        + 'PEM-1,Supported living,Pembrokeshire County Council,sub_central,wales,2024-09-02,services,"£1,450,000",'
          'inclusive,0.2,36,85311200-4,,public_service_mutual,light_touch,,,"' + awards + '",One scheme.,'
          'social_value_models,\n'
        + "MEALS-1,Meals,,,,2026-04-01,services,250000,exclusive,,24,55524000-9; 85312000-9,"
          "north=100000:small;south=150000,,open,unknown,no,,,sme_access;innovation,\n",
        encoding="utf-8")
    first, second = results([path])
    assert first.ok and second.ok, (first.error, second.error)
    assert first.source == Source(str(path), line=2, row=2)
    assert first.advice["recommended"] == ["light_touch", "reserved_public_service_mutual"]
    assert any(f["code"] == "prior_reserved_award" for f in first.advice["findings"])
    assert second.advice["regime"]["id"] == "pa2023"
    # the same contract as JSON: the CSV cells became exactly these fields
    same = contract(0, id="MEALS-1", title="Meals", procurement_start="2026-04-01",
                    value={"amount": 250000, "vat": "exclusive"}, cpv=["55524000-9", "85312000-9"],
                    lots=[{"id": "north", "value": 100000, "small_lot": True}, {"id": "south", "value": 150000}],
                    route="open", innovation={"solution_available_on_market": "unknown",
                                              "research_and_development": False},
                    objectives=["sme_access", "innovation"])
    assert results([jsonl(tmp_path / "same.jsonl", [same])])[0].advice == second.advice


def test_csv_errors_name_the_row_and_the_column(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(
        b"id,title,procurement_start,contract_type,value.amount,duration_months,cpv,innovation.research_and_development\n"
        b"A,Amount,2024-01-01,services,lots,12,85311200-4,\n"
        b",,,,,,,\n"  # a blank row: skipped
        b"B,Months,2024-01-01,services,1000,x,85311200-4,maybe\n"
        b"C,Missing,2024-01-01,services,1000,12,,\n"
        b"D,Caf\xe9,2024-01-01,services,1000,12,85311200-4,\n"
        b"E,Negative,2024-01-01,services,-5,12,85311200-4,\n")
    out = results([path])
    assert [r.source.row for r in out] == [2, 4, 5, 6, 7]
    assert not any(r.ok for r in out)
    assert out[0].error == f"{path}:row 2: column value.amount: 'lots' is not a number"
    assert out[1].error == (f"{path}:row 4: column duration_months: 'x' is not a whole number; column "
                            "innovation.research_and_development: 'maybe' is not true or false")
    assert out[2].error == f"{path}:row 5: column cpv: is required"
    assert out[3].error.startswith(f"{path}:row 6: column title: not valid text")
    assert out[4].error.startswith(f"{path}:row 7: column value.amount (value.amount): ") or \
        out[4].error.startswith(f"{path}:row 7: column value.amount: ")
    assert [r.id for r in out] == ["A", "B", "C", "D", "E"]


def test_a_csv_rows_bad_cells_and_what_validating_the_rest_finds_are_named_together(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("id,title,procurement_start,contract_type,value.amount,value.vat,duration_months,cpv\n"
                    "A,t,2024-06-03,services,100000,gross,x,85311200-4\n"
                    "B,t,2024-06-03,,lots,,12,85311200-4\n")
    out = results([path])
    # (not also "duration_months: is required")
    assert out[0].error == (f"{path}:row 2: column duration_months: 'x' is not a whole number; column value.vat: "
                            "must be 'inclusive' or 'exclusive', not 'gross'")
    assert out[1].error == (f"{path}:row 3: column value.amount: 'lots' is not a number; column contract_type: is "
                            "required")  # (not also "value: is required")


def test_a_date_that_is_not_written_yyyy_mm_dd_is_named_with_what_the_cell_holds(tmp_path: Path) -> None:
    """A forward plan from a spreadsheet writes 01/06/2026: the error shows the cell, as a bad amount's does."""
    path = tmp_path / "p.csv"
    path.write_text("id,title,procurement_start,contract_type,value.amount,duration_months,cpv\n"
                    "A,t,01/06/2026,services,1000,12,85311200-4\n")
    assert results([path])[0].error == (f"{path}:row 2: column procurement_start: must be a date written "
                                        "YYYY-MM-DD, not '01/06/2026'")


SHORT_HEADER = "id,title,procurement_start,contract_type,value.amount,duration_months,cpv\n"


def _csv_row(i: int, title: str = "t") -> str:
    return f"C-{i},{title},2024-05-01,services,50000,24,90910000-9\n"


def test_numbers_with_leading_zeros_as_find_a_tender_has_published_them_lose_no_release(tmp_path: Path) -> None:
    """Find a Tender's API published '"amountGross": 000, "amount": 000' (open-contracting/kingfisher-collect#1270,
    April 2026): not JSON, so the whole package was one 'malformed JSON' error and every release in it was lost.
    Such numbers are read as numbers, and the file or line is warned of; a string holding zeros is not changed."""
    text = (FIXTURES / "release-package.json").read_text()
    given = '"amount": 2400000, "amountGross": 2400000'
    assert text.count(given) == 1
    zeros = text.replace(given, '"amount": 02400000, "amountGross": 002400000').replace(
        '"title": "Supported living, Furzy Park"', '"title": "Supported living, Furzy Park 007: 000"')
    want = [(r.ok, r.id, r.advice and r.advice["valuation"]["value"], r.error and r.error.split(": ", 1)[1])
            for r in Review(read_records([str(FIXTURES / "release-package.json")]))]
    assert [ok for ok, *_ in want] == [True, True, False, True]
    (tmp_path / "p.json").write_text(zeros)
    (tmp_path / "p.jsonl").write_text(json.dumps(contract(1)) + "\n" + json.dumps(json.loads(
        text)).replace(given, '"amount": 000, "amountGross": 000') + "\n")
    reader = read_records([str(tmp_path / "p.json")])
    out = list(Review(reader))
    assert [(r.ok, r.id, r.advice and r.advice["valuation"]["value"], r.error and r.error.split(": ", 1)[1])
            for r in out] == want
    assert out[0].advice["title"] == "Supported living, Furzy Park 007: 000"
    assert reader.warnings == [f"{tmp_path / 'p.json'}: 2 numbers written with leading zeros (such as 000, which "
                               "JSON does not allow) read as numbers"]
    reader = read_records([str(tmp_path / "p.jsonl")])
    out = list(Review(reader, jobs=2, chunk_size=1))
    assert [(r.source.line, r.id) for r in out] == [(1, "R-0001")] + [(2, w[1]) for w in want]
    assert out[1].error.endswith(": OCDS tender.value.amount £0 is less than £1: a placeholder, not the estimated "
                                 "value"), out[1].error  # ('000': read as nought, which is no estimate)
    assert [r.ok for r in out[2:]] == [ok for _, ok, *_ in [(0, *w) for w in want[1:]]]
    assert reader.warnings == [f"{tmp_path / 'p.jsonl'}:2: 2 numbers written with leading zeros (such as 000, "
                               "which JSON does not allow) read as numbers"]


def test_a_json_line_with_a_number_with_leading_zeros_is_read_and_noted_and_other_malformed_json_is_an_error(
        tmp_path: Path) -> None:
    good = json.dumps(contract(1))
    amount = json.dumps(contract(1)["value"]["amount"])
    zeros = good.replace(f'"amount": {amount}', f'"amount": 00{amount}')
    assert zeros != good
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join([zeros, zeros.replace(f'00{amount}', f'00{amount}x')]) + "\n")
    for jobs in (1, 2):
        out = list(Review(read_records([str(path)]), jobs=jobs, chunk_size=1))
        assert out[0].ok and out[0].advice == next(iter(Review([json.loads(good)]))).advice, out[0].error
        assert out[0].notes == ("1 number written with leading zeros (such as 000, which JSON does not allow) read "
                                "as a number",)
        assert not out[1].ok and "malformed JSON" in out[1].error, out[1].error


def test_a_malformed_csv_row_is_one_error_and_the_rows_after_it_are_read(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    big = '"' + "x" * 200_000 + '"'  # over the csv module's default limit of a cell (128 KiB)
    path.write_text(SHORT_HEADER + _csv_row(1) + _csv_row(2, '"quoted"after') + _csv_row(3, big) + _csv_row(4))
    out = results([path])
    assert [(r.source.row, r.source.line, r.id, r.ok) for r in out] == [
        (2, 2, "C-1", True), (3, 3, None, False), (4, 4, "C-3", True), (5, 5, "C-4", True)]
    assert out[1].error == (f"{path}:row 3: malformed CSV: a quoted cell must end at its closing quote "
                            "(',' expected after '\"')")


def test_a_csv_row_with_fewer_cells_is_read_with_the_missing_columns_empty_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(SHORT_HEADER.rstrip("\n") + ",route\n" + _csv_row(1).rstrip("\n") + ",open\n" + _csv_row(2)
                    + _csv_row(3).rstrip("\n") + ",\n" + "C-4,t\n")
    out = results([path])
    assert [(r.source.row, r.id, r.ok) for r in out] == [(2, "C-1", True), (3, "C-2", True), (4, "C-3", True),
                                                         (5, "C-4", False)]
    assert [r.notes for r in out[:3]] == [(), ("the row has 7 cells and the header 8 columns: route read as empty",),
                                          ()]  # (Excel leaves a row's empty last cells out; a cut row is noted)
    assert out[3].notes == ("the row has 2 cells and the header 8 columns: procurement_start, contract_type, "
                            "value.amount, duration_months, cpv, route read as empty",)
    assert out[3].error.startswith(f"{path}:row 5: column procurement_start: is required")


def test_a_quote_never_closed_is_named_with_the_lines_it_swallowed(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(SHORT_HEADER + _csv_row(1) + _csv_row(2, '"never closed') + _csv_row(3) + _csv_row(4))
    out = results([path])
    assert [(r.source.row, r.ok) for r in out] == [(2, True), (3, False)]
    assert out[1].error == (f"{path}:row 3: malformed CSV: a quote opened in this row is never closed, so lines "
                            "3 to 5 (the end of the file) were read as one cell")


def test_a_malformed_csv_header_makes_every_row_an_error_that_says_so(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text('id,"title"x,procurement_start\n' + _csv_row(1) + _csv_row(2))
    out = results([path])
    assert [(r.source.row, r.ok) for r in out] == [(1, False), (2, False), (3, False)]
    assert all("the header row (row 1) is malformed CSV" in r.error for r in out[1:]), [r.error for r in out]


def test_csv_unknown_columns_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    row = ",".join(["U-1", "Typo", "2024-05-01", "services", "50000", "24", "90910000-9", "open"])
    path.write_text("id,title,procurement_start,contract_type,value.amount,duration_months,cpv,rute\n" + row + "\n")
    reader = read_records([str(path)])
    strict = list(Review(reader))
    assert strict[0].error == (f"{path}:row 2: column rute: not a column of the review CSV (a field of the contract "
                               "description v1; see the README, or --ignore-unknown-columns)")
    assert reader.warnings == [f"{path}: unknown columns (every row is an error): rute"]
    lenient = read_records([str(path)], ReadOptions(ignore_unknown_columns=True))
    assert [r.ok for r in Review(lenient)] == [True]
    assert lenient.warnings == [f"{path}: unknown columns ignored: rute"]


def test_csv_needs_a_header_row(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("U-1,Cleaning,2024-05-01\nU-2,Cleaning,2024-05-01\n")
    out = results([path])
    assert [r.source.row for r in out] == [1, 2]
    assert all("no header row" in r.error for r in out)



def test_a_csv_header_naming_a_column_twice_makes_every_row_an_error_but_is_not_a_record_itself(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("id,title,id\nU-1,Cleaning,U-2\nU-3,Cleaning,U-4\n")
    reader = read_records([str(path)])
    out = list(Review(reader))
    assert [(r.source.row, r.source.line) for r in out] == [(2, 2), (3, 3)]
    assert all(r.error == f"{path}:row {r.source.row}: the header names id more than once" for r in out)
    assert reader.records == 2


def test_every_csv_input_column_is_a_field_of_the_contract_description() -> None:
    from s16advisor.contract import ContractDescription

    for col in CSV_INPUT_COLUMNS:
        model: Any = ContractDescription
        for part in col.split("."):
            assert part in model.model_fields, col
            model = model.model_fields[part].annotation
    tops = {c.split(".")[0] for c in CSV_INPUT_COLUMNS}
    assert tops == set(ContractDescription.model_fields)


# --------------------------------------------------------------------------------------------------------- YAML

YAML_STREAM = """\
# a stream of drafts
id: Y-1
title: Day services
procurement_start: 2024-11-04
contract_type: services
value: {amount: 960000, vat: exclusive, vat_rate: 0}
duration_months: 48
cpv: [85312100-0]
---
id: Y-2
title: broken
value: [unclosed
---
- id: Y-3
  title: In a list
  procurement_start: 2026-01-05
  contract_type: supplies
  value: {amount: "12"}
  duration_months: 12
  cpv: [39100000-3]
- id: Y-4
  title: Second in the list
  procurement_start: 2026-01-05
  contract_type: supplies
  value: {amount: 12000}
  duration_months: 12
  cpv: [39100000-3]
--- # an empty document: skipped
...
---
id: Y-5
title: Too early
procurement_start: 2014-01-01
contract_type: works
value: {amount: 5}
duration_months: 1
cpv: [45000000-7]
"""


def test_yaml_stream_of_documents_and_lists(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(YAML_STREAM, encoding="utf-8")
    reader = read_records([str(path)])
    out = list(Review(reader))
    assert [(r.source.document, r.source.index, r.source.line) for r in out] == [
        (1, None, 1), (2, None, 9), (3, 0, 14), (3, 1, 21), (5, None, 30)]  # (document 4 is empty)
    assert [r.id for r in out] == ["Y-1", None, "Y-3", "Y-4", "Y-5"]
    assert out[0].ok and out[3].ok
    assert out[1].error.startswith(f"{path}:12: malformed YAML")  # the broken document (its last line), only
    assert out[2].error == f"{path}:18: value.amount: must be a number (not a string or a boolean)"
    assert out[4].error.startswith(f"{path}:33: procurement_start: 2014-01-01 is before 2015-02-26")
    assert reader.blank == 1


def test_a_yaml_stream_with_a_byte_order_mark_before_a_comment_numbers_its_documents_as_without_one(
        tmp_path: Path) -> None:
    text = "# pipeline export\n---\n" + yaml.safe_dump(contract(1)) + "---\n" + yaml.safe_dump(contract(2))
    second = [k for k, line in enumerate(text.splitlines(), 1) if line == "---"][1]
    for mark in (b"", codecs.BOM_UTF8):
        path = tmp_path / "s.yaml"
        path.write_bytes(mark + text.encode())
        reader = read_records([str(path)])
        out = list(Review(reader))
        assert [(r.id, r.ok, r.source.document, r.source.line) for r in out] == [
            ("R-0001", True, 1, 1), ("R-0002", True, 2, second)]
        assert reader.blank == 0


@pytest.mark.parametrize("between", ["---\n---\n", "---\n# only a comment\n---\n", "---\n...\n---\n",
                                     "---\n---\n---\n"])
def test_an_empty_yaml_document_is_skipped_and_the_next_one_read(tmp_path: Path, between: str) -> None:
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump(contract(1)) + between + yaml.safe_dump(contract(2)), encoding="utf-8")
    reader = read_records([str(path)])
    out = list(Review(reader))
    assert [(r.id, r.ok) for r in out] == [("R-0001", True), ("R-0002", True)], [r.error for r in out]
    assert out[1].source.line == len(yaml.safe_dump(contract(1)).splitlines()) + between.count("\n")
    assert reader.blank == between.count("---") - 1
    assert out[1].source.document == len(list(yaml.safe_load_all(path.read_text())))  # as YAML counts them


def test_a_key_given_twice_in_a_later_yaml_document_names_both_lines_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text("id: A\ntitle: t\n---\n\n# a comment\nid: B\ntitle: t\nid: C\n", encoding="utf-8")
    out = results([path])
    assert out[1].error == f"{path}:8: id: duplicate key (already given on line 6)"


def test_an_unclosed_bracket_in_a_later_yaml_document_names_the_files_lines_and_none_past_its_end(
        tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text("id: A\ntitle: t\n---\nid: B\ncpv: [1,\n  2\nx: 1\n---\n[", encoding="utf-8")
    out = results([path])
    assert [r.error for r in out[1:]] == [
        f"{path}:7: malformed YAML: did not find expected ',' or ']' (in the list [...] begun at line 5)",
        f"{path}:9: malformed YAML: did not find expected node content"]  # (the file's last line: no line feed)


def test_yaml_list_in_one_document(tmp_path: Path) -> None:
    path = tmp_path / "l.yml"
    path.write_text("- " + json.dumps(contract(1)) + "\n- " + json.dumps(contract(2)) + "\n")
    out = results([path])
    assert [(r.source.index, r.source.line, r.ok) for r in out] == [(0, 1, True), (1, 2, True)]


def _list_item(i: int, extra: str = "") -> str:
    """Contract ``i`` as an item of a YAML block list, with the line ``extra`` after its first."""
    lines = yaml.safe_dump(contract(i), sort_keys=False).splitlines()
    return "- " + "\n  ".join(lines[:1] + [extra] * bool(extra) + lines[1:]) + "\n"


def test_a_yaml_list_one_of_whose_items_yaml_refuses_is_one_error_row_and_the_other_items_are_advised(
        tmp_path: Path) -> None:
    """A key given twice in one item, or a tag, made the whole list one error row: records in were not results
    out, and the good items were never advised."""
    path = tmp_path / "l.yaml"
    path.write_text("# a pipeline\n" + _list_item(1) + _list_item(2, "id: again") + _list_item(3, "title: !!str tagged")
                    + _list_item(4))
    out = results([path])
    assert [(r.source.index, r.ok) for r in out] == [(0, True), (1, False), (2, False), (3, True)]
    assert out[1].source.line == 1 + 1 + len(_list_item(1).splitlines())
    assert re.match(rf"{re.escape(str(path))}:\d+: \[1\]\.id: duplicate key \(already given on line \d+\)$",
                    out[1].error), out[1].error
    assert "YAML tags are not allowed" in out[2].error
    assert [r.advice["contract_id"] for r in (out[0], out[3])] == [contract(1)["id"], contract(4)["id"]]
    broken = tmp_path / "broken.yaml"  # not a list: one error, as before
    broken.write_text(yaml.safe_dump(contract(1)) + "title: twice\n")
    assert [r.ok for r in results([broken])] == [False]
    tagged = tmp_path / "tagged.yaml"  # a tag on the list itself: the document is refused, not the tag lost
    tagged.write_text("--- !!seq\n" + _list_item(1) + _list_item(2, "id: again"))
    assert [(r.ok, "YAML tags are not allowed" in (r.error or "")) for r in results([tagged])] == [(False, True)]
    directed = tmp_path / "directed.yaml"  # so with a directive: refused whole, as before, not lost
    directed.write_text("%YAML 1.1\n---\n" + _list_item(1) + _list_item(2, "id: again"))
    assert [r.ok for r in results([directed])] == [False]
    # A quoted text going on at the first column with "- " is the item's, as YAML reads it (not an item of its
    # own); and the item is named [1] in a file whose name has a space.
    spaced = tmp_path / "my pipeline.yaml"
    quoted = _list_item(1).replace(f"title: {contract(1)['title']}", 'title: "Supported living\n- Furzy Park"')
    assert "\n- Furzy Park" in quoted
    spaced.write_text(quoted + _list_item(2, "id: again") + _list_item(3))
    out = results([spaced])
    assert [(r.source.index, r.ok) for r in out] == [(0, True), (1, False), (2, True)], [r.error for r in out]
    # an item parsed alone names the file's line of its field at fault
    located = tmp_path / "located.yaml"
    bad = _list_item(3).replace("amount: 50003", "amount: lots")
    text = "# a pipeline\n" + _list_item(1) + _list_item(2, "id: again") + bad
    located.write_text(text)
    line = text.splitlines().index("    amount: lots") + 1
    alone = results([located])
    assert [(r.source.index, r.ok) for r in alone] == [(0, True), (1, False), (2, False)]
    assert alone[2].error == f"{located}:{line}: value.amount: must be a number (not a string or a boolean)"
    assert out[0].advice["title"] == "Supported living - Furzy Park"
    assert f"{spaced}:" in out[1].error and ": [1].id: duplicate key" in out[1].error, out[1].error
    # Items sharing an anchor (defined twice, or used by another item): each is an error of its own.
    anchored = tmp_path / "anchored.yaml"
    anchored.write_text(_list_item(1).replace("title: ", "title: &t ", 1) + _list_item(2).replace(
        f"title: {contract(2)['title']}", "title: *t") + _list_item(3).replace("title: ", "title: &t ", 1)
        + _list_item(4))
    out = results([anchored])
    assert [(r.source.index, r.ok) for r in out] == [(0, False), (1, False), (2, False), (3, True)], \
        [r.error for r in out]
    assert all("YAML anchors and aliases are not allowed" in r.error for r in out[:3])


@pytest.mark.parametrize("bad", ["cpv: [85312100-0, 85311000-2", "title: \"Supported living", "title: a: b",
                                 "title: @home", "cpv: {85312100-0", "title: \"Caf\\x\""])
def test_a_yaml_list_one_of_whose_items_is_malformed_yaml_is_one_error_row_and_the_other_items_are_advised(
        tmp_path: Path, bad: str) -> None:
    """An unclosed bracket or quote, or any other malformed YAML, in one item made the whole list one error row:
    records in were not results out, and the good items were never advised."""
    path = tmp_path / "l.yaml"
    items = [_list_item(1), _list_item(2), _list_item(3, bad), _list_item(4), _list_item(5)]
    path.write_text("# a pipeline\n" + "".join(items))
    out = results([path])
    assert [(r.source.index, r.ok) for r in out] == [(0, True), (1, True), (2, False), (3, True), (4, True)], \
        [r.error for r in out]
    assert [r.source.line for r in out] == [2 + sum(len(x.splitlines()) for x in items[:k]) for k in range(5)]
    assert re.match(rf"{re.escape(str(path))}:(\d+): malformed YAML", out[2].error), out[2].error
    first, last = out[2].source.line, out[3].source.line - 1  # (an unclosed text may be found at its item's end)
    assert first <= int(out[2].error.split(":")[1]) <= last, out[2].error
    assert [r.advice["contract_id"] for r in out if r.ok] == [contract(i)["id"] for i in (1, 2, 4, 5)]


@pytest.mark.parametrize("newline", ["\r", "\u2028", "\x85"])
def test_a_yaml_list_with_line_breaks_other_than_newline_and_an_item_yaml_refuses_is_read_not_a_crash(
        tmp_path: Path, newline: str) -> None:
    """YAML breaks lines at a carriage return alone (an old Mac export), NEL and U+2028 too, the file's lines only
    at "\n": the items' lines YAML's parser gave were past the document's lines, and the review raised IndexError
    (no result written, the run ended with a traceback). The document is read as the file's lines have it:
    here one line, so one record, an error."""
    path = tmp_path / "cr.yaml"
    path.write_text(newline.join(["- a: 1", "  a: 2", "- b: 1", ""]), encoding="utf-8", newline="")
    reader = read_records([str(path)])
    out = list(Review(reader))
    assert [(r.source.line, r.ok) for r in out] == [(1, False)] and reader.records == 1
    assert "[0].a: duplicate key" in out[0].error, out[0].error
    # a "\r" alone in the last of items cut at "\n": two items on one line of the file cannot be cut apart, and
    # the list is one error, as a document YAML refuses is
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text(_list_item(1) + _list_item(2, "id: again") + "- id: y\r- id: z\n", newline="")
    out = results([mixed])
    assert [(r.source.line, r.ok) for r in out] == [(1, False)], [r.error for r in out]
    assert "[1].id: duplicate key" in out[0].error, out[0].error


def test_a_malformed_yaml_list_item_does_not_cut_the_items_before_it_at_a_quoted_text(tmp_path: Path) -> None:
    quoted = _list_item(1).replace(f"title: {contract(1)['title']}", 'title: "Supported living\n- Furzy Park"')
    path = tmp_path / "q.yaml"
    path.write_text(quoted + _list_item(2, "cpv: [unclosed") + _list_item(3))
    out = results([path])
    assert [(r.source.index, r.ok) for r in out] == [(0, True), (1, False), (2, True)], [r.error for r in out]
    assert out[0].advice["title"] == "Supported living - Furzy Park"


# --------------------------------------------------------------------------------------------------------- JSON


def test_a_json_document_with_a_number_of_more_than_4300_digits_is_one_error_not_a_crash(tmp_path: Path) -> None:
    """Python refuses to read an integer of over 4,300 digits (ValueError, not JSONDecodeError): in a .json
    document it escaped the reader, no result was written and the command ended with a traceback. It is one
    error, as it is on a JSON line."""
    path = tmp_path / "big.json"
    path.write_text("[" + "1" * 5000 + "]")
    reader = read_records([str(path)])
    out = list(Review(reader))
    assert [(r.source.to_dict(), r.error) for r in out] == [
        ({"file": str(path)}, f"{path}: a number of more than 4,300 digits")]
    assert reader.records == 1
    lines = jsonl(tmp_path / "big.jsonl", ["[" + "1" * 5000 + "]"])
    assert [r.error for r in results([lines])] == [f"{lines}:1: a number of more than 4,300 digits"]


def test_json_document_list_and_json_lines_in_a_json_file(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps(contract(1), indent=2))
    many = tmp_path / "many.json"
    many.write_text(json.dumps([contract(2), {"id": "X"}, contract(3)], indent=1))
    lines = jsonl(tmp_path / "lines.json", [contract(4), contract(5)])
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "id": "B",\n  "title": }\n')
    out = results([one, many, lines, broken])
    assert [(r.source.file.rsplit("/", 1)[1], r.source.index, r.source.line, r.ok) for r in out] == [
        ("one.json", None, None, True), ("many.json", 0, None, True), ("many.json", 1, None, False),
        ("many.json", 2, None, True), ("lines.json", None, 1, True), ("lines.json", None, 2, True),
        ("broken.json", None, 3, False)]
    assert out[-1].error == f"{broken}:3: malformed JSON: Expecting value (column 12)"
    # the first item of a list is index 0, written so (not left out as if it had no index)
    assert out[1].to_json_dict()["source"] == {"file": str(many), "index": 0}
    written = tmp_path / "out.jsonl"
    review_to_file([str(many)], str(written))
    assert [json.loads(line)["source"] for line in written.read_text().splitlines()] == [
        {"file": str(many), "index": i} for i in range(3)]


def test_json_documents_written_one_after_another_in_a_json_file_are_one_error_not_a_result_per_line(
        tmp_path: Path) -> None:
    """Two documents over several lines each (two packages concatenated), or one and a line after it, are neither
    one JSON document nor JSON Lines: one error at the line where the second begins."""
    two = tmp_path / "two.json"
    first = json.dumps(contract(1), indent=2)
    two.write_text(first + "\n" + json.dumps(contract(2), indent=2) + "\n")
    appended = tmp_path / "appended.json"
    appended.write_text(first + "\n" + json.dumps(contract(3)) + "\n")
    out = results([two, appended])
    second = first.count("\n") + 2
    assert [(r.source.file, r.source.line, r.ok) for r in out] == [(str(two), second, False),
                                                                   (str(appended), second, False)]
    assert out[0].error == (f"{two}:{second}: malformed JSON: a second JSON document begins here (a .json file holds "
                            "one: a list, an OCDS package; or JSON Lines, one record per line)")


def test_a_repeated_key_is_an_error_of_its_contract_in_every_json_input(tmp_path: Path) -> None:
    twice = json.dumps(contract(2)).replace('"duration_months": 24', '"duration_months": 24, "duration_months": 36')
    document = tmp_path / "list.json"
    document.write_text("[\n" + json.dumps(contract(1)) + ",\n" + twice + "\n]\n")
    lines = jsonl(tmp_path / "lines.jsonl", [contract(3), twice])
    out = results([document, lines])
    assert [(r.id, r.ok) for r in out] == [("R-0001", True), ("R-0002", False), ("R-0003", True), ("R-0002", False)]
    assert all(r.error.endswith("duration_months: duplicate key (JSON would keep its last value; give it once)")
               for r in out if not r.ok)
    result = cli(str(lines), "--jobs", "1", "--format", "csv")
    assert result.exit_code == 3 and "duration_months: duplicate key" in result.stdout
    table = tmp_path / "lots.csv"
    table.write_text(SHORT_HEADER.replace("\n", ",lots\n") + _csv_row(1).replace(
        "\n", ',"[{""id"": ""a"", ""value"": 50000, ""value"": 1}]"\n'))
    [row] = results([table])
    assert row.error == f"{table}:row 2: column lots: key [0].value given twice"


def test_json_lines_whose_first_line_is_broken_are_still_json_lines(tmp_path: Path) -> None:
    for name in ("broken-first.json", "broken-first.jsonl", "broken-first-stdin"):
        path = jsonl(tmp_path / name, ['{"id": "B", "title": }', '{"id": "C", "title": "cut', contract(1), contract(2)])
        out = results([path]) if name != "broken-first-stdin" else None
        if out is None:
            result = cli("-", "--jobs", "1", input=path.read_text())
            assert result.exit_code == 3, result.stderr
            out_lines = [json.loads(x) for x in result.stdout.splitlines()]
            assert [(o["source"]["line"], "error" in o) for o in out_lines] == [(1, True), (2, True), (3, False),
                                                                                (4, False)]
            continue
        assert [(r.source.line, r.ok) for r in out] == [(1, False), (2, False), (3, True), (4, True)], name


def test_a_json_line_cut_short_is_located_at_its_end_not_on_the_next_line(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "cut.jsonl", [contract(1), '{"id": "bad44", ', '{"id": "C", "title": "cut'])
    out = results([path])
    assert [r.error for r in out[1:]] == [
        f"{path}:2: malformed JSON: Expecting property name enclosed in double quotes (column 17)",
        f"{path}:3: malformed JSON: Unterminated string starting at (column 22)"]


def test_a_json_document_with_an_object_on_a_line_of_its_own_is_one_document(tmp_path: Path) -> None:
    for indent in ("  ", ""):
        path = tmp_path / f"package{len(indent)}.json"
        path.write_text('{"releases": [\n' + indent + json.dumps(contract(1)) + "\n]}\n")
        assert [(r.id, r.ok, r.source.path) for r in results([path])] == [("R-0001", True, "releases[0]")]
        result = cli("-", "--jobs", "1", input=path.read_text())
        assert result.exit_code == 0 and len(result.stdout.splitlines()) == 1, result.stdout[:300]


def test_json_nested_too_deeply_is_an_error_result_not_a_crash(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    document = tmp_path / "deep.json"
    document.write_text('{"releases": ' + deep + "}")
    lines = jsonl(tmp_path / "deep.jsonl", ['{"releases": ' + deep + "}", '{"a": ' + deep + "}", contract(1)])
    out = results([document, lines])
    assert [(r.source.line, r.ok) for r in out] == [(1, False), (1, False), (2, False), (3, True)]
    assert all(r.error.endswith("nested too deeply") for r in out[:3]), [r.error for r in out]
    result = cli(str(document), str(lines), "--jobs", "1")
    assert result.exit_code == 3 and "Traceback" not in result.stderr, result.stderr
    assert len(result.stdout.splitlines()) == 4


def test_missing_file_and_directory_are_error_results(tmp_path: Path) -> None:
    out = results([tmp_path / "nope.jsonl", tmp_path])
    assert [r.error for r in out] == [f"{tmp_path / 'nope.jsonl'}: cannot be read: no such file",
                                      f"{tmp_path}: cannot be read: is a directory, not a file"]


def test_an_input_that_cannot_be_opened_is_an_error_result_but_no_record_read(tmp_path: Path) -> None:
    # A missing file was "1 record read, 1 result written": results are records read and inputs that failed.
    good = jsonl(tmp_path / "in.jsonl", [contract(1), contract(2)])
    result = cli(str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "out.csv"))
    assert result.exit_code == 3
    assert result.stderr.startswith("0 records read; 1 input could not be opened; 1 result written: 0 advised, "
                                    "1 error (could not be read, mapped or validated)\n"), result.stderr
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 2  # the header and the error's row
    result = cli(str(good), str(tmp_path / "nope.jsonl"), str(tmp_path), "-o", str(tmp_path / "out.jsonl"))
    assert result.stderr.startswith("2 records read; 2 inputs could not be opened; 4 results written: 2 advised, "
                                    "2 errors"), result.stderr
    review = Review(read_records([str(tmp_path / "nope.jsonl"), str(good), str(tmp_path)]))
    out = list(review)
    s = review.summary
    assert [r.ok for r in out] == [False, True, True, False]
    assert (s.records, s.read, s.unopened, s.stopped, s.errors) == (4, 2, 2, 0, 2)
    assert (s.to_dict()["read"], s.to_dict()["unopened"]) == (2, 2)


@pytest.mark.parametrize("name", ["review.xlsx", "review.tsv", "review.txt"])
def test_an_output_whose_extension_names_no_format_is_warned_of(tmp_path: Path, name: str) -> None:
    # -o review.xlsx wrote JSON Lines into it without a word: Excel then refused the file
    good = jsonl(tmp_path / "in.jsonl", [contract(1)])
    result = cli(str(good), "-o", str(tmp_path / name))
    assert result.exit_code == 0, result.output
    assert f"warning: --output {tmp_path / name}: " in result.stderr, result.stderr
    assert "JSON Lines" in result.stderr and "--format" in result.stderr and ".csv" in result.stderr
    assert json.loads((tmp_path / name).read_text())["id"] == "R-0001"  # (written as documented: JSON Lines)
    for quiet in (["-o", str(tmp_path / "r.jsonl")], ["-o", str(tmp_path / "r.CSV")], ["-o", str(tmp_path / name),
                                                                                         "-f", "jsonl"], [],
                  ["-o", str(tmp_path / "r.ndjson")], ["-o", str(tmp_path / "r.jsonlines")]):
        assert "warning" not in cli(str(good), *quiet).stderr


def test_the_help_and_the_readme_say_an_input_that_cannot_be_opened_exits_3() -> None:
    # Both said exit 3 meant "a record could not be read" once such an input was no longer counted as a record.
    words = " ".join(cli("--help").stdout.split())
    assert "3 a record could not be read, or an input could not be opened or read to its end" in words, words
    readme = (ROOT / "README.md").read_text(encoding="utf-8").split("### Review exit codes", 1)[1].split("###", 1)[0]
    row = next(line for line in readme.splitlines() if line.startswith("| 3 |"))
    assert "an input could not be opened or read to its end" in row, row


def test_an_input_whose_reading_stops_part_way_gives_its_records_and_one_error_for_the_rest(
        tmp_path: Path, monkeypatch: Any) -> None:
    import errno

    from s16advisor.render.review import headline
    from s16advisor.review import Reader, Record

    def failing(self: Any, stream: Any, name: str) -> Any:
        yield Record(Source(name, line=1), "json", json.dumps(contract(1)).encode())
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(Reader, "_jsonl", failing)
    path = jsonl(tmp_path / "in.jsonl", [contract(1), contract(2)])
    for review in (Review(read_records([str(path)])), None):
        if review is None:
            s = review_to_file([str(path)], str(tmp_path / "out.jsonl"))
        else:
            out = list(review)
            assert [r.error for r in out] == [None, f"{path}: reading stopped: Input/output error"]
            s = review.summary
        assert (s.records, s.read, s.unopened, s.stopped, s.errors) == (2, 1, 0, 1, 1)
        assert headline(s) == "1 record read; 1 input stopped part-way; 2 results written: 1 advised, 1 error " \
                              "(could not be read, mapped or validated)"


def test_python_objects(advisor: Any) -> None:
    from s16advisor.contract import contract_from_mapping

    out = list(Review([contract(1), contract_from_mapping(contract(2)), 42]))
    assert [r.source for r in out] == [Source("<records>", index=i) for i in range(3)]
    assert [r.ok for r in out] == [True, True, False]
    assert "got a number" in out[2].error


# ------------------------------------------------------------------------------------------ order, jobs, counts


def test_order_is_kept_with_several_jobs(tmp_path: Path) -> None:
    lines: list[Any] = []
    for i in range(90):
        lines.append(contract(i) if i % 7 else "{broken")
        if i % 11 == 0:
            lines.append("")
    path = jsonl(tmp_path / "p.jsonl", lines)
    one = list(Review(read_records([str(path)]), jobs=1))
    three = list(Review(read_records([str(path)]), jobs=3, chunk_size=4))
    assert [r.to_json_dict() for r in three] == [r.to_json_dict() for r in one]
    assert [r.id for r in three if r.ok] == [f"R-{i:04d}" for i in range(90) if i % 7]
    assert len(three) == 90


def test_review_to_file_with_jobs_writes_every_result_in_order(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "p.jsonl", [contract(i) for i in range(60)])
    out = tmp_path / "out.jsonl"
    summary = review_to_file([str(path)], str(out), options=ReviewOptions(jobs=2, chunk_size=5))
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [g["id"] for g in got] == [f"R-{i:04d}" for i in range(60)]
    assert [g["source"] for g in got] == [{"file": str(path), "line": i + 1} for i in range(60)]
    assert summary.records == summary.advised == 60



@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_chunks_the_workers_leave_in_files_are_written_as_one_process_writes_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    import tempfile

    module = sys.modules["s16advisor.review"]  # (s16advisor.review is the function)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    path = jsonl(tmp_path / "p.jsonl", [contract(i) if i % 9 else "{broken" for i in range(60)])
    alone, out = tmp_path / f"alone.{fmt}", tmp_path / f"out.{fmt}"
    review_to_file([str(path)], str(alone), options=ReviewOptions(jobs=1))
    expected = alone.read_bytes()
    assert len(expected.splitlines()) == {"jsonl": 60, "json": 62, "csv": 61}[fmt]  # (a header, or [ and ])
    review_to_file([str(path)], str(out), options=ReviewOptions(jobs=2, chunk_size=7))
    assert out.read_bytes() == expected  # copied by the kernel into the output
    stream = io.StringIO()
    review_to_file([str(path)], None, fmt, ReviewOptions(jobs=2, chunk_size=7), stdout=stream)
    assert stream.getvalue().encode() == expected  # read and written to a stream
    assert not list(scratch.iterdir())  # the chunks' folder is removed
    spill = module._spill  # a folder the workers cannot write to: each chunk is sent back as it is
    monkeypatch.setattr(module, "_spill", lambda chunk, folder, start: spill(chunk, folder + "-gone", start))
    out.unlink()
    review_to_file([str(path)], str(out), options=ReviewOptions(jobs=2, chunk_size=7))
    assert out.read_bytes() == expected
    assert not list(scratch.iterdir())


def test_a_file_appended_to_an_output_after_buffered_writes_keeps_their_order(tmp_path: Path) -> None:
    module = sys.modules["s16advisor.review"]
    chunk = tmp_path / "chunk"
    chunk.write_bytes(b"B" * 300_000)
    with open(tmp_path / "out", "wb", buffering=1024 * 1024) as f:
        for _ in range(3):
            f.write(b"A" * 10)
            module._append_file(f, str(chunk))
            f.write(b"C")
    assert (tmp_path / "out").read_bytes() == (b"A" * 10 + b"B" * 300_000 + b"C") * 3
    with open(tmp_path / "appended", "ab") as f:  # (the kernel does not copy into a file opened to append)
        f.write(b"A")
        module._append_file(f, str(chunk))
    assert (tmp_path / "appended").read_bytes() == b"A" + b"B" * 300_000
    buffer = io.BytesIO(b"")
    module._append_file(buffer, str(chunk))
    assert buffer.getvalue() == b"B" * 300_000


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="posix_fadvise is not on this platform")
def test_an_output_file_is_let_go_of_from_the_page_cache_as_it_is_written_and_stays_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = sys.modules["s16advisor.review"]
    path = jsonl(tmp_path / "p.jsonl", [contract(i) for i in range(40)])
    whole = tmp_path / "whole.jsonl"
    review_to_file([str(path)], str(whole), options=ReviewOptions(jobs=1, chunk_size=3))
    calls: list[tuple[int, int, int]] = []
    fadvise = os.posix_fadvise

    def advise(fd: int, offset: int, length: int, advice: int) -> None:
        calls.append((offset, length, advice))
        fadvise(fd, offset, length, advice)

    monkeypatch.setattr(os, "posix_fadvise", advise)
    monkeypatch.setattr(module._PageCache, "BATCH", 5000)
    out = tmp_path / "out.jsonl"
    review_to_file([str(path)], str(out), options=ReviewOptions(jobs=1, chunk_size=3))
    assert out.read_bytes() == whole.read_bytes()
    assert {advice for _, _, advice in calls} == {os.POSIX_FADV_DONTNEED}
    started = list(dict.fromkeys((offset, length) for offset, length, _ in calls))
    assert len(started) > 3 and started[0][0] == 0  # ranges of at least BATCH bytes, one after another
    assert all(length >= 5000 for _, length in started)
    assert all(a + n == b for (a, n), (b, _) in zip(started, started[1:], strict=False))
    assert started[-1][0] + started[-1][1] <= out.stat().st_size
    dropped = [(offset, length) for offset, length, _ in calls]
    assert all(dropped.count(r) == 2 for r in started[:-2])  # each started, then dropped two batches later
    calls.clear()
    stream = io.StringIO()
    review_to_file([str(path)], None, "jsonl", ReviewOptions(jobs=1, chunk_size=3), stdout=stream)
    assert stream.getvalue().encode() == whole.read_bytes() and not calls  # (not a file)

    def refused(fd: int, offset: int, length: int, advice: int) -> None:
        calls.append((offset, length, advice))
        raise OSError(22, "Invalid argument")

    monkeypatch.setattr(os, "posix_fadvise", refused)
    out.unlink()
    review_to_file([str(path)], str(out), options=ReviewOptions(jobs=1, chunk_size=3))
    assert out.read_bytes() == whole.read_bytes() and len(calls) == 1  # a hint: not asked again, nothing lost


def test_a_carriage_return_in_an_id_or_a_file_name_is_quoted_in_the_csv_results(tmp_path: Path) -> None:
    path = tmp_path / "odd\rname.jsonl"
    path.write_text(json.dumps(contract(1, id="A\rB")) + "\n" + json.dumps(contract(2)) + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    review_to_file([str(path)], str(out))
    rows = list(csv.reader(out.open(newline="", encoding="utf-8")))
    assert len(rows) == 3
    assert [(r[0], r[1]) for r in rows[1:]] == [("A\rB", f"{path}:1"), (contract(2)["id"], f"{path}:2")]


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.lists(st.text(alphabet=st.sampled_from('ab ,"\r\n\t;:\'=é€'), max_size=6),
                              min_size=1, max_size=5), max_size=6))
def test_csv_rows_are_written_as_the_csv_module_writes_them_and_read_back_as_they_were(rows: list[list[str]]) -> None:
    """As csv writes lines ended by \\r\\n (it then quotes a cell with either character), each line ended by \\n;
    csv reads the cells back as they were: a bare carriage return would end the row there."""
    module = sys.modules["s16advisor.review"]
    ours = io.StringIO()
    expected = []
    for row in rows:
        module._csv_row(ours, row)
        theirs = io.StringIO()
        csv.writer(theirs, lineterminator="\r\n").writerow(row)
        expected.append(theirs.getvalue()[:-2] + "\n")
    assert ours.getvalue() == "".join(expected)
    assert list(csv.reader(io.StringIO(ours.getvalue(), newline=""))) == rows

BAD_RECORDS = {
    "malformed": lambda i: b"{not json",
    "invalid": lambda i: json.dumps(contract(i, value={"amount": -1})).encode(),
    "not_utf8": lambda i: b'{"id": "caf\xe9"}',
    "not_object": lambda i: b"[1, 2]",
    "thin_ocds": lambda i: json.dumps({"ocid": f"ocds-x-{i}", "id": "1", "date": "2025-01-01T00:00:00Z",
                                       "tag": ["tender"], "tender": {"title": "t"}}).encode(),
}
KINDS = st.sampled_from(["ok", "ok", "ok", "blank", "duplicate", *BAD_RECORDS])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=st.lists(KINDS, max_size=25), fmt=st.sampled_from(["jsonl", "csv"]))
def test_records_in_equal_results_out(tmp_path_factory: Any, kinds: list[str], fmt: str) -> None:
    """Whatever is in the file, every non-blank line (row) is exactly one result, at its line, in order; errors
    exactly where the records are bad; duplicates counted."""
    folder = tmp_path_factory.mktemp("prop")
    lines: list[bytes] = []
    expected: list[tuple[int, bool]] = []  # (line, ok)
    tracked: list[str] = []  # the ids the records have (a malformed JSON line has none)
    for i, kind in enumerate(kinds):
        if kind == "blank":
            lines.append(b"  " if fmt == "jsonl" else b",,")
            continue
        c = contract(i) if kind != "duplicate" or not tracked else contract(i, id=tracked[0])
        if fmt == "jsonl":
            line = json.dumps(c).encode() if kind in ("ok", "duplicate") else BAD_RECORDS[kind](i)
            rid = {"ok": c["id"], "duplicate": c["id"], "invalid": c["id"], "thin_ocds": f"ocds-x-{i}"}.get(kind)
        else:
            amount = {"malformed": "x", "invalid": "-1", "not_object": "1e999x", "thin_ocds": ""}.get(kind, "5")
            title = b"caf\xe9" if kind == "not_utf8" else c["title"].encode()
            line = b",".join([c["id"].encode(), title, b"2024-05-01", b"services", amount.encode(), b"24",
                              b"90910000-9"])
            rid = c["id"]
        if rid is not None:
            tracked.append(rid)
        lines.append(line)
        expected.append((len(lines) + (fmt == "csv"), kind in ("ok", "duplicate")))
    path = folder / f"in.{fmt}"
    header = b"id,title,procurement_start,contract_type,value.amount,duration_months,cpv\n" if fmt == "csv" else b""
    path.write_bytes(header + b"\n".join(lines) + (b"\n" if lines else b""))
    review = Review(read_records([str(path)]))
    out = list(review)
    assert len(out) == len(expected) == review.summary.records == review.summary.read
    assert [(r.source.line, r.ok) for r in out] == expected
    assert review.summary.errors == sum(not ok for _, ok in expected)
    assert [r.id for r in out if r.id is not None] == tracked
    assert review.summary.duplicates.records == len(tracked) - len(set(tracked))
    assert review.summary.blank == kinds.count("blank")


def test_csv_output_read_back_agrees_with_the_jsonl_output(tmp_path: Path) -> None:
    records = [example("supported-living.yaml"), example("supported-living-2026.yaml"),
               contract(1, id="=HYPERLINK(\"x\")"), "{broken", contract(2, route="open")]
    path = jsonl(tmp_path / "in.jsonl", records)
    review_to_file([str(path)], str(tmp_path / "out.jsonl"))
    review_to_file([str(path)], str(tmp_path / "out.csv"))
    as_json = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(CSV_OUTPUT_COLUMNS)
    assert len(rows) == len(as_json) == 5
    for row, res in zip(rows, as_json, strict=True):
        rid = row["id"][1:] if row["id"].startswith("'=") else row["id"]  # formulas are defused with a '
        assert rid == (res["id"] or "")
        assert row["source"] == str(Source(**res["source"]))
        if "error" in res:
            assert row["error"] == res["error"] and row["regime"] == "" and row["recommended"] == ""
            continue
        a = res  # the line is the Advice (with the record's source and id in front)
        assert row["error"] == "" and a["schema"] == "s16advisor/advice/1"
        assert row["procurement_start"] == a["procurement_start"]
        given = next(r for r in records if isinstance(r, dict) and r["id"] == rid)
        assert row["authority_type"] == given.get("authority", {}).get("type", "sub_central")
        assert row["nation"] == given.get("authority", {}).get("nation", "wales")
        assert row["regime"] == a["regime"]["id"]
        assert float(row["value"]) == a["valuation"]["value"]
        assert row["vat_basis"] == a["valuation"]["vat_basis"]
        assert row["threshold"] == a["valuation"]["threshold"]["name"]
        assert float(row["threshold_amount"]) == a["valuation"]["threshold"]["amount"]
        assert row["above_threshold"] == str(a["valuation"]["above_threshold"]).lower()
        assert row["recommended"].split(";") == a["recommended"]
        for route in a["routes"]:
            assert row[route["id"]] == route["status"]
        assert row["blockers"] == ";".join(f"{r['id']}:{b['code']}" for r in a["routes"] for b in r["blocked_by"])
        assert row["findings"] == ";".join(f["code"] for f in a["findings"])
    assert rows[2]["id"] == "'=HYPERLINK(\"x\")"



@pytest.mark.parametrize("rid", ["-2+3", "+2", "@SUM(A1)", "=1", "\tx"])
def test_a_csv_result_cell_that_a_spreadsheet_would_run_as_a_formula_is_defused(tmp_path: Path, rid: str) -> None:
    out = tmp_path / "out.csv"
    review_to_file([str(jsonl(tmp_path / "in.jsonl", [contract(1, id=rid)]))], str(out))
    with out.open(newline="", encoding="utf-8") as f:
        assert next(csv.DictReader(f))["id"] == "'" + rid


def test_a_csv_cell_of_spaces_is_an_empty_cell(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("id,title,procurement_start,contract_type,value.amount,value.vat_rate,duration_months,cpv,route\n"
                    "S-1,Cleaning,2024-05-01,services,50000,   ,24,90910000-9, \n", encoding="utf-8")
    out = results([path])
    assert out[0].ok, out[0].error
    assert out[0].advice["recommended"] == ["below_threshold"]


def test_duplicate_ids_found_across_chunks_are_shown_in_input_order(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "in.jsonl", [contract(i, id=rid) for i, rid in enumerate("PPQRRQ")])
    s = review_to_file([str(path)], str(tmp_path / "out.jsonl"), options=ReviewOptions(chunk_size=3))
    assert [rid for rid, _ in s.duplicates.examples] == ["P", "Q", "R"]
    assert s.duplicates.examples[2] == ("R", [f"{path}:4", f"{path}:5"])


def test_json_output_is_one_array(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "in.jsonl", [contract(1), "{x"])
    review_to_file([str(path)], str(tmp_path / "out.json"))
    data = json.loads((tmp_path / "out.json").read_text())
    assert [("schema" in d, "error" in d) for d in data] == [(True, False), (False, True)]
    review_to_file([str(tmp_path / "none.jsonl")], str(tmp_path / "empty.json"))
    assert len(json.loads((tmp_path / "empty.json").read_text())) == 1  # the missing file's error
    (tmp_path / "blank.jsonl").write_text("\n")
    review_to_file([str(tmp_path / "blank.jsonl")], str(tmp_path / "nothing.json"))
    assert (tmp_path / "nothing.json").read_text() == "[\n]\n"  # no result: an empty array, as written for one
    assert (tmp_path / "out.json").read_text().startswith("[\n{") and (tmp_path / "out.json").read_text().endswith(
        "}\n]\n")


def test_csv_result_values_are_written_as_whole_numbers_when_they_are(tmp_path: Path) -> None:
    part = contract(0, id="P", value={"amount": 1000.5, "vat": "inclusive"})
    path = jsonl(tmp_path / "in.jsonl", [contract(0), part])
    review_to_file([str(path)], str(tmp_path / "out.csv"))
    with (tmp_path / "out.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["value"], r["threshold_amount"]) for r in rows] == [("60000", "214904"), ("1000.5", "214904")]


# ------------------------------------------------------------------------------------------------- the summary


def test_summary_figures_on_a_known_input(tmp_path: Path) -> None:
    k6 = example("supported-living-2026.yaml") | {"id": "K6", "reservation": "none"}
    k6.pop("objectives")
    records = [
        example("supported-living.yaml"),  # pcr2015 £1,450,000: light_touch + reg 77 planned; reg 20 available
        example("supported-living-2026.yaml"),  # pa2023 £2,400,000: light_touch, competitive flexible + s.33 planned
        example("drafts/day-services-2024.yaml"),  # pcr2015 £960,000: reg 77 for 48 months: unavailable (error)
        example("drafts/meals-2026.yaml"),  # pa2023 £820,000 (VAT-inclusive): light_touch, competitive flexible + s.33
        contract(1, id="CLN-1", route="open", value={"amount": 90000, "vat": "exclusive"}),  # £108,000 with VAT
        k6,  # pa2023 £2,400,000 not reserved: both s.32 and s.33 available, neither planned
        "{not json",
        contract(2, id="CLN-1"),  # a duplicate id: £50,002 + VAT
    ]
    path = jsonl(tmp_path / "known.jsonl", records)
    s = review_to_file([str(path)], str(tmp_path / "out.jsonl"))
    assert (s.records, s.advised, s.errors) == (8, 7, 1)
    assert s.by_regime == {"pcr2015": 4, "pa2023": 3}
    routes = {k: (v.count, round(v.value, 2)) for k, v in s.by_route.items()}
    assert routes == {
        "light_touch": (5, 1450000 + 2400000 + 960000 + 820000 + 2400000),
        "reserved_public_service_mutual": (3, 1450000 + 2400000 + 820000),
        "competitive_flexible": (2, 2400000 + 820000),  # the two s.33 reservations under the Act (s.33(2))
        "below_threshold": (2, 108000 + 60002.4),
    }
    assert s.declared_unavailable == {"open": 1}
    assert s.reservation_unavailable == {"public_service_mutual": 1}
    reservable = {k: (v.count, round(v.value, 2)) for k, v in s.reservable.items()}
    assert reservable == {
        "public_service_mutual": (1, 2400000),  # K6 only: the others plan it, or cannot (day services, cleaning)
        # Not the three planned as reserved: day services (its reservation unavailable) and K6.
        "supported_business": (2, 960000 + 2400000),
        "either": (2, 960000 + 2400000),
        "either_wales": (2, 960000 + 2400000),  # every one a Welsh authority's: the line does not say so
    }
    assert (s.duplicates.ids, s.duplicates.records) == (1, 1)
    assert s.duplicates.examples == [("CLN-1", [f"{path}:5", f"{path}:8"])]
    assert s.with_error_findings == 2  # reservation_unavailable, declared_route_unavailable
    assert s.exit_code("none") == 3 and s.exit_code("error") == 3

    from s16advisor.render.review import summary_text

    text = summary_text(s)
    assert "8 records read, 8 results written: 7 advised, 1 error" in text
    assert "Section 16: 2 contracts worth £3.4m could be reserved but are not: 1 of them to a public service " \
           "mutual (£2.4m, reg 77 / s.33), 2 to a supported business (£3.4m, reg 20 / s.32); a contract that could " \
           "go either way is in both." in text
    assert "Declared routes that are unavailable: open 1" in text
    assert "Duplicate ids: 1 id used by more than one record (2 records): CLN-1" in text
    assert "The totals above count each of these records." in text  # (CLN-1's two values are both in below_threshold)
    assert "OCDS" not in text  # (the advice on an OCDS process's releases is for OCDS ids)


def test_section16_line_says_how_many_reservable_contracts_are_in_wales(tmp_path: Path) -> None:
    """The reservations are lawful across the UK, but the Section 16 duty is Welsh: with English and Northern
    Irish contracts among those that could be reserved, the line counts those in Wales apart."""
    from s16advisor.render.review import section16_line

    k6 = example("supported-living-2026.yaml") | {"reservation": "none"}  # £2.4m under the Act: s.32 and s.33 open
    k6.pop("objectives")
    welsh = k6 | {"id": "W"}
    english = k6 | {"id": "E", "authority": k6["authority"] | {"nation": "england"}}
    irish = k6 | {"id": "NI", "authority": k6["authority"] | {"nation": "northern_ireland"},
                  "value": {"amount": 1000000, "vat": "exclusive"}}
    s = review_to_file([str(jsonl(tmp_path / "uk.jsonl", [welsh, english, irish]))], str(tmp_path / "out.jsonl"))
    assert s.reservable["either"].count == 3
    assert (s.reservable["either_wales"].count, s.reservable["either_wales"].value) == (1, 2400000)
    assert s.to_dict()["reservable"]["either_wales"] == {"count": 1, "value": 2400000}
    assert section16_line(s).startswith(
        "Section 16: 3 contracts worth £6.0m could be reserved but are not (1 of them in Wales, where the Section 16 "
        "duty applies, worth £2.4m): 3 of them to a public service mutual")
    s = review_to_file([str(jsonl(tmp_path / "en.jsonl", [english]))], str(tmp_path / "out2.jsonl"))
    assert "(none of them in Wales, where the Section 16 duty applies)" in section16_line(s)


def test_reservations_refused_count_every_reservation_unavailable_finding(tmp_path: Path) -> None:
    """Under the Act a reservation declared with the open procedure is refused (reservation_unavailable) while its
    route is available: the summary counts it, so that the line matches the reservation_unavailable errors."""
    records = [
        example("supported-living-2026.yaml") | {"id": "PSM-OPEN", "route": "open"},  # s.33 available, open declared
        contract(1, id="SB-OPEN", procurement_start="2026-04-01", value={"amount": 400000, "vat": "exclusive"},
                 reservation="supported_business", route="open"),  # s.32 available, open declared
        example("drafts/day-services-2024.yaml"),  # pcr2015: reg 77 unavailable (48 months)
        contract(2, id="SB-PLAIN", procurement_start="2026-04-01", value={"amount": 400000, "vat": "exclusive"},
                 reservation="supported_business", route="competitive_flexible"),  # s.32 in a flexible procedure: fine
    ]
    path = jsonl(tmp_path / "refused.jsonl", records)
    out = tmp_path / "out.jsonl"
    s = review_to_file([str(path)], str(out))
    advice = [json.loads(line) for line in out.read_text().splitlines()]
    refused = [a for a in advice if any(f["code"] == "reservation_unavailable" for f in a["findings"])]
    assert [a["id"] for a in refused] == ["PSM-OPEN", "SB-OPEN", "CER-2024-031"]
    statuses = {a["id"]: {r["id"]: r["status"] for r in a["routes"]} for a in advice}
    assert statuses["PSM-OPEN"]["reserved_public_service_mutual"] != "unavailable"
    assert statuses["SB-OPEN"]["reserved_supported_business"] != "unavailable"
    assert s.reservation_unavailable == {"public_service_mutual": 2, "supported_business": 1}
    assert sum(s.reservation_unavailable.values()) == len(refused)
    assert s.to_dict()["reservation_unavailable"] == {"public_service_mutual": 2, "supported_business": 1}

    from s16advisor.render.review import summary_text

    assert "Declared reservations refused (reservation_unavailable): public_service_mutual 2, supported_business 1" \
        in summary_text(s)


def test_a_file_given_twice_is_read_once_and_the_summary_says_so(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "a.jsonl", [contract(1), contract(2)])
    other = jsonl(tmp_path / "b.jsonl", [contract(3)])
    again = os.path.join(str(tmp_path), ".", "a.jsonl")  # the same file, spelt otherwise
    out = tmp_path / "out.jsonl"
    s = review_to_file([str(path), str(other), str(path), again], str(out))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in lines] == ["R-0001", "R-0002", "R-0003"]
    assert (s.read, s.records, s.advised) == (3, 3, 3)  # records in = results out
    assert (s.duplicates.ids, s.duplicates.records) == (0, 0)  # no id is a duplicate of itself
    assert s.warnings == [f"{path} given 3 times (as {again}): read once"]
    assert [r.source.file for r in Review(read_records([str(path), str(path)]))] == [str(path)] * 2

    from s16advisor.render.review import summary_text

    text = summary_text(s)
    assert f"warning: {path} given 3 times (as {again}): read once" in text
    assert "Duplicate ids" not in text


def test_cli_reads_a_file_given_twice_once(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "a.jsonl", [contract(1)])
    out = tmp_path / "out.csv"
    result = cli(str(path), str(path), "-o", str(out), "--jobs", "1")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert len(out.read_text().splitlines()) == 2  # the header and one row
    assert "1 record read, 1 result written" in result.stderr
    assert f"warning: {path} given 2 times: read once" in result.stderr
    assert "Duplicate ids" not in result.stderr


# --------------------------------------------------------------------------------------------------------- CLI


def cli(*args: str, input: str | bytes | None = None) -> Any:
    return runner.invoke(app, ["review", *args], input=input)


def test_an_output_onto_the_file_standard_input_reads_is_refused_and_the_input_kept(tmp_path: Path) -> None:
    import subprocess

    path = jsonl(tmp_path / "in.jsonl", [contract(1), contract(2)])
    before = path.read_bytes()
    with path.open("rb") as stdin:
        r = subprocess.run([sys.executable, "-m", "s16advisor", "review", "-", "--output", str(path)],
                           stdin=stdin, capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert f"--output: {path} is what standard input reads: the results would replace it" in r.stderr
    assert path.read_bytes() == before


def test_a_run_with_standard_error_closed_still_writes_its_results_and_says_how_it_went(tmp_path: Path) -> None:
    import subprocess

    path = jsonl(tmp_path / "in.jsonl", [contract(1), contract(2)])
    out = tmp_path / "out.csv"
    r = subprocess.run([sys.executable, "-m", "s16advisor", "review", str(path), "-o", str(out)],
                       capture_output=False, stdout=subprocess.DEVNULL, preexec_fn=lambda: os.close(2))
    assert r.returncode == 0  # (it was 1: sys.stderr.isatty() on None)
    assert len(out.read_text().splitlines()) == 3


@pytest.mark.parametrize("jobs", ["257", "99999999999999999999"])
def test_more_jobs_than_a_review_starts_is_a_usage_error_not_a_fork_storm(tmp_path: Path, jobs: str) -> None:
    result = cli(str(jsonl(tmp_path / "in.jsonl", [contract(1)])), "--jobs", jobs, "-o", str(tmp_path / "o.csv"))
    assert result.exit_code == 2 and "at most 256" in result.stderr
    assert not (tmp_path / "o.csv").exists()


def test_a_csv_line_of_100_mb_is_one_error_row_read_a_part_at_a_time(tmp_path: Path) -> None:
    """A CSV line was read whole before the 10 MiB cell limit was checked: a 1 GB line of zero bytes (a file
    left by a crash) took 2 GB, /dev/zero all the memory there was."""
    import subprocess

    path = tmp_path / "long.csv"
    with path.open("wb") as f:
        f.write(b"id,title,procurement_start,contract_type,value.amount,duration_months,cpv\n")
        for _ in range(100):
            f.write(b"a" * (1024 * 1024))
        f.write(b"\nR-2,Cleaning,2024-06-03,services,50000,12,90910000-9\n")
    # (VmHWM: this process's peak; getrusage's ru_maxrss keeps the forking pytest's across the exec)
    code = ("import re, sys; from s16advisor.cli import main; sys.argv = ['s16advisor', *sys.argv[1:]]\n"
            "try:\n    main()\nexcept SystemExit as e:\n"
            "    hwm = re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()).group(1)\n"
            "    print(e.code, int(hwm) // 1024)")
    r = subprocess.run([sys.executable, "-c", code, "review", str(path), "-o", str(tmp_path / "out.csv"),
                        "--jobs", "1"], capture_output=True, text=True)
    exit_code, peak_mib = map(int, r.stdout.split())
    assert exit_code == 3, r.stderr
    rows = (tmp_path / "out.csv").read_text().splitlines()
    assert rows[1].endswith(f"{path}:row 2: malformed CSV: a line longer than 10 MiB,") and rows[2].startswith("R-2,")
    assert peak_mib < 180, peak_mib  # (about 90 MiB: the program; with the line read whole, 238)


@pytest.mark.parametrize("quote", ["", '"'])
def test_a_csv_line_over_10_mib_whose_cells_are_each_under_it_is_an_error_row_not_cut_short(
        tmp_path: Path, quote: str) -> None:
    """Cut at the limit, a 10 MiB title after other cells was no cell over the limit: the row was advised with its
    title cut short and its route lost ('route read as empty')."""
    path = tmp_path / "long.csv"
    title = quote + "t" * (10 * 1024 * 1024 + 10) + quote
    path.write_text("id,title,procurement_start,contract_type,value.amount,duration_months,cpv,route\n"
                    f"R-1,{title},2024-06-03,services,50000,12,90910000-9,open\n"
                    "R-2,Cleaning,2024-06-03,services,50000,12,90910000-9,below_threshold\n")
    out = results([path])
    assert [(r.source.row, r.ok) for r in out] == [(2, False), (3, True)], [(r.error or "")[:200] for r in out]
    assert out[0].error == f"{path}:row 2: malformed CSV: a line longer than 10 MiB"
    # A quoted cell begun on an earlier line, or a quote inside a cell that is not quoted: the rows after the
    # long line are still rows of their own, at their lines.
    row = "R-{},Cleaning,2024-06-03,services,50000,12,90910000-9\n"
    for start in ('R-2,"abc\ndef",', 'R-2,12" pipe,'):
        path.write_text("id,title,procurement_start,contract_type,value.amount,duration_months,cpv\n" + row.format(1)
                        + start + "x," * (5 * 1024 * 1024 + 100) + "\n" + row.format(3) + row.format(4))
        out = results([path])
        assert [(r.source.row, r.source.line, r.ok) for r in out] == \
            [(2, 2, True), (3, 3, False), (4, 3 + start.count("\n") + 1, True), (5, 4 + start.count("\n") + 1, True)]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_temporary_folder_that_cannot_be_written_leaves_the_ids_unchecked_not_the_run_failed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    """A full temporary folder (the duplicate ids' files) was reported as 'cannot write the output', exit 2, after
    the complete results had replaced the output."""
    import errno

    from s16advisor.render.review import duplicate_lines

    module = sys.modules["s16advisor.review"]  # (s16advisor.review is the function)

    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(module._DuplicateIds, "_make_dir", full)
    monkeypatch.setattr(module, "_private_dir", full)  # (the chunks' folder of the workers too)
    path = jsonl(tmp_path / "in.jsonl", [contract(i) for i in range(30)] + [contract(1)])
    out = tmp_path / "out.jsonl"
    summary = review_to_file([str(path)], str(out), options=ReviewOptions(jobs=jobs, chunk_size=5))
    assert len(out.read_text().splitlines()) == 31 and summary.exit_code() == 0
    assert summary.duplicates.unchecked and "No space left on device" in summary.duplicates.unchecked
    assert duplicate_lines(summary)[0].startswith("Duplicate ids: not checked (cannot write temporary files in ")


def test_an_output_that_is_one_of_the_inputs_is_refused_and_the_input_left_as_it_was(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "in.jsonl", [contract(1), contract(2)])
    before = path.read_bytes()
    (tmp_path / "link.jsonl").symlink_to(path)
    other = jsonl(tmp_path / "other.jsonl", [contract(3)])
    for output in (str(path), str(tmp_path / "link.jsonl"), str(tmp_path / "." / "in.jsonl")):
        result = cli(str(other), str(path), "--output", output)
        assert result.exit_code == 2, (result.exit_code, result.stderr)
        assert f"--output: {output} is one of the inputs: the results would replace it" in result.stderr
        assert path.read_bytes() == before
    assert cli(str(other), "--output", str(tmp_path / "out.jsonl")).exit_code == 0


def test_cli_writes_the_output_and_the_summary(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "in.jsonl", [contract(1), contract(2)])
    out = tmp_path / "out.csv"
    result = cli(str(path), "-o", str(out), "--jobs", "1")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("2 records read, 2 results written: 2 advised, 0 errors")
    assert "review:" not in result.stderr  # no progress off a terminal unless asked
    assert out.read_text().splitlines()[0] == ",".join(CSV_OUTPUT_COLUMNS)


def test_cli_to_standard_output_and_from_standard_input() -> None:
    result = cli("-", "--jobs", "1", input=json.dumps(contract(1)) + "\n" + json.dumps(contract(2)) + "\n")
    assert result.exit_code == 0, result.stderr
    got = [json.loads(x) for x in result.stdout.splitlines()]
    assert [g["source"] for g in got] == [{"file": "<stdin>", "line": 1}, {"file": "<stdin>", "line": 2}]
    csv_in = "id,title,procurement_start,contract_type,value.amount,duration_months,cpv\n" \
             "S-1,Cleaning,2024-05-01,services,5000,12,90910000-9\n"
    result = cli("-", "--format", "csv", input=csv_in)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("S-1,<stdin>:row 2,2024-05-01,sub_central,wales,pcr2015,")


def test_cli_exit_codes(tmp_path: Path) -> None:
    fine = jsonl(tmp_path / "fine.jsonl", [contract(1)])
    failing = jsonl(tmp_path / "failing.jsonl", [contract(1, route="open")])  # below threshold: open unavailable
    broken = jsonl(tmp_path / "broken.jsonl", [contract(1), "{"])
    assert cli(str(fine), "-o", str(tmp_path / "a.jsonl")).exit_code == 0
    assert cli(str(failing), "-o", str(tmp_path / "b.jsonl")).exit_code == 0
    assert cli(str(failing), "-o", str(tmp_path / "b.jsonl"), "--fail-on", "error").exit_code == 1
    result = cli(str(broken), "-o", str(tmp_path / "c.jsonl"), "--fail-on", "error")
    assert result.exit_code == 3
    assert len((tmp_path / "c.jsonl").read_text().splitlines()) == 2  # every result written first
    for bad in (["--format", "xml"], ["--jobs", "0"], ["--fail-on", "maybe"], ["--ocds-vat-rate", "3"],
                ["--input-format", "xls"], ["--encoding", "klingon"], ["-o", str(tmp_path / "no" / "x.jsonl")]):
        result = cli(str(fine), *bad)
        assert result.exit_code == 2, (bad, result.stderr)
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("name", "said"), [("klingon", "'klingon' is not an encoding Python knows"),
                                             ("rot13", "'rot13' is not a text encoding")])
def test_cli_an_encoding_that_cannot_read_text_is_a_usage_error_that_says_why(tmp_path: Path, name: str,
                                                                               said: str) -> None:
    result = cli(str(jsonl(tmp_path / "in.jsonl", [contract(1)])), "--encoding", name)
    assert result.exit_code == 2 and f"--encoding: {said}" in result.stderr, result.stderr


def test_cli_progress_lines_when_asked(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "in.jsonl", [contract(i) for i in range(3)])
    result = cli(str(path), "-o", str(tmp_path / "o.jsonl"), "--progress")
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert lines[0].startswith("review: 3 records, ") and lines[0].endswith("100% read")
    assert lines[1].startswith("3 records read, 3 results written")  # then the summary


def test_cli_ocds_options(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    result = cli(str(FIXTURES / "release-package.json"), "-o", str(out), "--ocds-vat-rate", "0", "--ocds-vat",
                 "exclusive", "--jobs", "2")
    assert result.exit_code == 3  # the notice without a value
    got = [json.loads(x) for x in out.read_text().splitlines()]
    catering = next(g for g in got if g["id"].startswith("ocds-b5fd17"))
    assert catering["valuation"]["value"] == 180000  # no VAT added at rate 0


# ----------------------------------------------------------------------------------------- stopping and the API


def _wait_for(cond: Any, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_a_stopped_run_leaves_the_output_as_it_was(tmp_path: Path, sig: int) -> None:
    path = jsonl(tmp_path / "in.jsonl", [contract(i) for i in range(20000)])
    out = tmp_path / "out.jsonl"
    out.write_text("the previous results\n")
    scratch = tmp_path / "tmp"  # the run's temporary files (duplicate-id buckets) go here, not in /tmp
    scratch.mkdir()
    # (a shell starts a background job with SIGINT ignored, and the child would inherit that: not this test's case)
    proc = subprocess.Popen([sys.executable, "-m", "s16advisor", "review", str(path), "-o", str(out), "--jobs", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
                            env={**os.environ, "TMPDIR": str(scratch)},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def writing() -> bool:
        assert proc.poll() is None, proc.communicate()
        return any(p.stat().st_size > 0 for p in tmp_path.glob(".s16advisor-review-*.tmp"))

    _wait_for(writing)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert out.read_text() == "the previous results\n"
    if sig == signal.SIGKILL:
        return  # nothing can clean up after SIGKILL: the temporary file is hidden and never looks complete
    assert proc.returncode == 130, err
    assert b"interrupted" in err and b"Traceback" not in err
    assert not list(tmp_path.glob(".s16advisor-review-*"))
    assert not list(scratch.iterdir())  # the duplicate-id buckets are removed too


@pytest.mark.parametrize(("first", "second", "gap"), [(signal.SIGINT, signal.SIGINT, 0.05),
                                                     (signal.SIGINT, signal.SIGTERM, 0.01)])
def test_a_second_signal_while_the_workers_are_stopped_does_not_hang_the_run(
        tmp_path: Path, first: int, second: int, gap: float) -> None:
    """Ctrl-C twice (a user in a hurry): the second one came while the pool shut down, which left the workers
    waiting for work and the process joining them at exit, for ever."""
    path = jsonl(tmp_path / "in.jsonl", [contract(i) for i in range(40000)])
    out = tmp_path / "out.csv"
    out.write_text("the previous results\n")
    proc = subprocess.Popen([sys.executable, "-m", "s16advisor", "review", str(path), "-o", str(out), "--jobs", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
                            env={**os.environ, "TMPDIR": str(tmp_path)},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    _wait_for(lambda: proc.poll() is None and any(p.stat().st_size > 0 for p in tmp_path.glob(".s16advisor-review-*")))
    proc.send_signal(first)
    time.sleep(gap)
    proc.send_signal(second)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the run hung after a second signal") from None
    # 130, or ended by the second signal itself once the first was handled (a shell says 130 or 143 alike)
    assert proc.returncode in (130, -second), (proc.returncode, err)
    assert b"Traceback" not in err and b"Exception ignored" not in err
    assert out.read_text() == "the previous results\n"


def test_a_run_interrupted_while_a_record_is_advised_alone_stops_at_once(tmp_path: Path) -> None:
    """After a worker died, its chunk's records are advised one at a time; Ctrl-C then waited, signals held, for
    the record in hand, and a record that never ends hung the run for good."""
    path = jsonl(tmp_path / "in.jsonl", [contract(i) for i in range(20)])
    script = tmp_path / "run.py"
    script.write_text(
        "import os, signal, sys, threading, time\n"
        "from s16advisor.review import ReviewOptions, review_to_file\n"
        "module = sys.modules['s16advisor.review']\n"
        "def call(self, tasks, start):\n"
        "    if len(tasks) > 1:\n"
        "        os._exit(1)  # the chunk's worker dies: its records are advised one at a time\n"
        "    time.sleep(3600)  # and the first of them never ends\n"
        "module._Worker.call = call\n"
        "threading.Timer(3, os.kill, (os.getpid(), signal.SIGINT)).start()\n"
        "try:\n"
        f"    review_to_file([{str(path)!r}], {str(tmp_path / 'out.jsonl')!r}, "
        "options=ReviewOptions(jobs=2, chunk_size=5))\n"
        "except KeyboardInterrupt:\n"
        "    print('stopped')\n", encoding="utf-8")
    start = time.monotonic()
    try:
        r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError("the run hung on a record advised alone") from None
    assert r.stdout.strip() == "stopped", r.stderr
    assert time.monotonic() - start < 30
    assert not (tmp_path / "out.jsonl").exists()


def test_review_interrupted_while_a_worker_sends_a_result_neither_hangs_nor_leaks(tmp_path: Path) -> None:
    """The library's ``review(records, jobs=2)`` interrupted while a worker wrote its result to the pipe: the
    worker, terminated, left half a message, and the pool's thread reading it waited for the rest for ever, so a
    script hung at exit (2 of 20 interrupted runs over 50,000 records) and a notebook kept the thread and the
    pipes. Half a message is written here on purpose, then the worker interrupts its parent."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    script = tmp_path / "half.py"
    script.write_text(
        "import multiprocessing, os, signal, struct, sys, threading, time\n"
        "import s16advisor\n"
        "module = sys.modules['s16advisor.review']\n"
        "call = module._Worker.call\n"
        "def half_then_wait(self, tasks, start):\n"
        "    if start == 0:\n"
        "        results = multiprocessing.current_process()._args[1]  # (the pool's results queue)\n"
        "        os.write(results._writer.fileno(), struct.pack('!i', 1 << 20) + b'half a result')\n"
        "        os.kill(os.getppid(), signal.SIGINT)\n"
        "        time.sleep(3600)\n"
        "    return call(self, tasks, start)\n"
        "module._Worker.call = half_then_wait\n"
        f"records = [{contract(0)!r} | {{'id': f'R-{{i}}'}} for i in range(40)]\n"
        "try:\n"
        "    for _ in s16advisor.review(records, jobs=2, chunk_size=5):\n"
        "        pass\n"
        "except KeyboardInterrupt:\n"
        "    print('stopped')\n"
        "module._Worker.call = call\n"
        "print('children', multiprocessing.active_children())\n"
        "print('threads', [t.name for t in threading.enumerate() if t is not threading.main_thread()])\n"
        "print('left', os.listdir(os.environ['TMPDIR']))\n"
        "again = list(s16advisor.review(records, jobs=2, chunk_size=5))\n"
        "print('again', len(again), [r.error for r in again if r.error])\n", encoding="utf-8")
    try:
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=90,
                              env={**os.environ, "TMPDIR": str(scratch)})
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"the script hung at exit: {e.stdout!r}") from None
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["stopped", "children []", "threads []", "left []", "again 40 []"], done.stderr
    assert not list(scratch.iterdir())


def test_review_interrupted_waits_for_the_thread_feeding_the_workers_to_end(tmp_path: Path) -> None:
    """The pool's feeder thread ends a moment after the pool is stopped (seconds on a loaded machine): a stopped
    review did not wait for it, and a script that looked at its threads just after found it (a flaky test)."""
    script = tmp_path / "slow.py"
    script.write_text(
        "import multiprocessing.queues, os, signal, sys, threading, time\n"
        "import s16advisor\n"
        "feed = multiprocessing.queues.Queue._feed\n"
        "def slow_feed(*args):  # as on a loaded machine: ends a second after its queue is closed\n"
        "    feed(*args)\n"
        "    time.sleep(1)\n"
        "multiprocessing.queues.Queue._feed = staticmethod(slow_feed)\n"
        "module = sys.modules['s16advisor.review']\n"
        "module._Worker.call = lambda self, tasks, start: time.sleep(3600)\n"
        f"records = [{contract(0)!r} | {{'id': f'R-{{i}}'}} for i in range(40)]\n"
        "threading.Timer(2, os.kill, (os.getpid(), signal.SIGINT)).start()\n"
        "try:\n"
        "    for _ in s16advisor.review(records, jobs=2, chunk_size=5):\n"
        "        pass\n"
        "except KeyboardInterrupt:\n"
        "    print('stopped')\n"
        "print('threads', [t.name for t in threading.enumerate() if t is not threading.main_thread()])\n",
        encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=90)
    assert done.stdout.splitlines() == ["stopped", "threads []"], done.stderr


def test_a_review_with_workers_left_open_at_exit_is_closed_quietly(tmp_path: Path) -> None:
    """A program that ends with ``review(records, jobs=2)`` not finished (kept in a variable) had it closed as
    Python tore its modules down: 'Exception ignored in: <generator object ...>' and an ImportError, after the
    workers were left to finish the chunks in flight."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    script = tmp_path / "open.py"
    script.write_text(
        "import s16advisor\n"
        f"records = [{contract(0)!r} | {{'id': f'R-{{i % 50}}'}} for i in range(400)]\n"
        "results = s16advisor.review(records, jobs=2, chunk_size=5)\n"
        "for _ in range(120):\n"
        "    next(results)\n"
        "print('left open')\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TMPDIR": str(scratch)})
    assert (done.returncode, done.stdout, done.stderr) == (0, "left open\n", "")
    assert not list(scratch.iterdir())


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # (a zombie no one reaps has ended)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_whose_review_process_died_as_they_started_end(tmp_path: Path) -> None:
    """A worker checked that its parent was alive by comparing getppid() before and after arming the parent-death
    signal; when the parent had already died, both were init's pid, and the worker waited for work for ever (3 of
    300 workers were left so when the review process was killed as it started them)."""
    pids = tmp_path / "workers"
    script = tmp_path / "orphans.py"
    script.write_text(
        "import os, sys, threading, time\n"
        "import s16advisor\n"
        "module = sys.modules['s16advisor.review']\n"
        "init, me = module._init_worker, os.getpid()\n"
        "def late(*args):\n"
        "    while os.getppid() == me:  # the review process dies as this worker starts\n"
        "        time.sleep(0.01)\n"
        "    init(*args)\n"
        "module._init_worker = late\n"
        "def die():\n"
        "    children = f'/proc/{me}/task/{me}/children'\n"
        "    while len(open(children).read().split()) < 2:\n"
        "        time.sleep(0.01)\n"
        f"    open({str(pids)!r}, 'w').write(open(children).read())\n"
        "    os._exit(0)\n"
        "threading.Thread(target=die, daemon=True).start()\n"
        f"next(s16advisor.review([{contract(0)!r}] * 20, jobs=2, chunk_size=5))\n", encoding="utf-8")
    subprocess.run([sys.executable, str(script)], timeout=120, check=True)
    workers = [int(p) for p in pids.read_text().split()]
    assert len(workers) == 2
    try:
        _wait_for(lambda: not any(_running(p) for p in workers), timeout=60)
    finally:
        for p in workers:
            if _running(p):
                os.kill(p, signal.SIGKILL)


def test_a_signal_as_the_workers_start_stops_the_run_cleanly(tmp_path: Path) -> None:
    """A signal inside concurrent.futures' start of the workers hung the run, printed a traceback, or was lost
    (the run went on): it is held until the workers are started."""
    path = jsonl(tmp_path / "in.jsonl", [contract(i) for i in range(3000)])
    out = tmp_path / "out.csv"
    for attempt in range(12):
        out.write_text("the previous results\n")
        proc = subprocess.Popen([sys.executable, "-m", "s16advisor", "review", str(path), "-o", str(out),
                                 "--jobs", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path,
                                env={**os.environ, "TMPDIR": str(tmp_path)},
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        _wait_for(lambda p=proc, c=children: p.poll() is not None or (c.exists() and c.read_text().split() != []),
                  timeout=60)
        time.sleep(0.001 * (attempt % 5))
        proc.send_signal(signal.SIGINT if attempt % 2 else signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError(f"attempt {attempt}: the run hung") from None
        assert proc.returncode == 130, (attempt, err)
        assert b"Traceback" not in err and b"Exception ignored" not in err, err
        assert out.read_text() == "the previous results\n"


@pytest.mark.parametrize("when", ["as the file is renamed", "as the duplicate ids are found"])
def test_a_run_stopped_once_every_result_is_written_does_not_say_the_output_was_left(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str) -> None:
    """Ctrl-C just after the complete results were renamed over the output (the workers being stopped, the
    duplicate ids read back) said 'out.jsonl was left as it was', though it had been replaced."""
    import s16advisor.atomic

    review_module = sys.modules["s16advisor.review"]  # (s16advisor.review is the function)
    if when == "as the file is renamed":
        replace = os.replace

        def replace_then_stop(a: str, b: str) -> None:
            replace(a, b)
            raise KeyboardInterrupt

        monkeypatch.setattr(s16advisor.atomic.os, "replace", replace_then_stop)
    else:
        def stop(self: Any) -> Any:
            raise KeyboardInterrupt

        monkeypatch.setattr(review_module._DuplicateIds, "report", stop)
    path = jsonl(tmp_path / "in.jsonl", [contract(1), contract(2)])
    out = tmp_path / "out.jsonl"
    out.write_text("the previous results\n")
    result = cli(str(path), "-o", str(out), "--jobs", "1")
    monkeypatch.undo()
    assert result.exit_code == 130
    assert len(out.read_text().splitlines()) == 2  # replaced: every result
    assert result.stderr.strip() == f"interrupted after every result was written to {out}: the summary was not made"
    assert not list(tmp_path.glob(".s16advisor-review-*"))


def test_a_review_abandoned_until_exit_leaves_no_temporary_files(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    script = tmp_path / "abandon.py"
    script.write_text(
        "from s16advisor.review import Review\n"
        "records = [{'id': f'C-{i % 40}', 'title': 't'} for i in range(400)]\n"  # duplicate ids, all invalid
        "it = iter(Review(records, chunk_size=50))\n"
        "for _ in range(120):\n"
        "    next(it)\n"
        "cycle = [it]\n"
        "cycle.append(cycle)  # finalised only as the interpreter shuts down\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "TMPDIR": str(scratch)})
    assert done.returncode == 0, done.stderr
    assert not list(scratch.iterdir()), done.stderr


def test_the_package_exposes_review_and_stays_cheap_to_import() -> None:
    code = ("import sys, s16advisor; from s16advisor.review import Review; "
            "assert callable(s16advisor.review) and s16advisor.review.__module__ == 's16advisor.review'; "
            "print(sorted(m for m in ('rich', 'typer', 'multiprocessing', 'durable') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_review_to_file_to_a_text_stream(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "in.jsonl", [contract(1)])
    buffer = io.StringIO()
    review_to_file([str(path)], None, "jsonl", stdout=buffer)
    assert json.loads(buffer.getvalue())["id"] == "R-0001"
    assert os.listdir(tmp_path) == ["in.jsonl"]  # no temporary file for standard output


def test_the_readme_example_is_the_programs_real_output(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Batch review: s16advisor review", 1)[1]
    block = section.split("```text\n", 1)[1].split("```", 1)[0]
    command, *shown = block.strip().splitlines()
    args = command.removeprefix("$ s16advisor review ").split()
    out = args.index("-o")
    args[out + 1] = str(tmp_path / args[out + 1])
    cwd = os.getcwd()
    try:
        os.chdir(ROOT)
        result = cli(*args)
    finally:
        os.chdir(cwd)
    assert result.exit_code == 3
    assert result.stderr.strip().splitlines() == shown


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the patched worker is inherited through fork")
def test_the_heap_frozen_for_the_workers_is_put_back_as_it_was(tmp_path: Path, monkeypatch: Any) -> None:
    """While worker processes advise, the objects held as they start are kept out of the garbage collector's
    sight (gc.freeze), in the workers too; once the review ends (or stops), they are put back, unless the caller
    had frozen objects itself, whose freeze is left as it was."""
    import gc

    module = sys.modules["s16advisor.review"]
    monkeypatch.setattr(module._Worker, "one",
                        lambda self, *args: (None, None, {"frozen": gc.get_freeze_count()}, None, ()))
    records = [contract(i) for i in range(9)]
    assert gc.get_freeze_count() == 0
    out = list(Review(records, jobs=2, chunk_size=3))
    assert len(out) == 9 and all(r.advice["frozen"] > 0 for r in out)  # (in the workers)
    assert gc.get_freeze_count() == 0
    stopped = iter(Review(records, jobs=2, chunk_size=3))
    next(stopped)
    assert gc.get_freeze_count() > 0  # (while the workers advise)
    stopped.close()
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        assert len(list(Review(records, jobs=2, chunk_size=3))) == 9
        assert gc.get_freeze_count() > 0  # (a frozen object that is freed leaves the count: not the same number)
    finally:
        gc.unfreeze()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the patched worker is inherited through fork")
def test_a_record_that_kills_its_worker_process_is_one_error_result(tmp_path: Path, monkeypatch: Any) -> None:
    module = sys.modules["s16advisor.review"]  # (s16advisor.review is the function)
    original = module._Worker.one

    def one(self: Any, kind: str, label: str, payload: Any, extra: Any, file: str) -> Any:
        if kind == "json" and b"KILLER" in payload:
            os._exit(7)  # as a crash in the durable-rules C library would
        return original(self, kind, label, payload, extra, file)

    monkeypatch.setattr(module._Worker, "one", one)
    records = [contract(i) for i in range(30)]
    records[17]["title"] = "KILLER"
    path = jsonl(tmp_path / "p.jsonl", records)
    out = list(Review(read_records([str(path)]), jobs=2, chunk_size=4))
    assert [r.source.line for r in out] == list(range(1, 31))
    assert [i for i, r in enumerate(out) if not r.ok] == [17]
    assert out[17].error == f"{path}:18: not advised: the worker process advising it stopped unexpectedly"
    summary = review_to_file([str(path)], str(tmp_path / "o.csv"), options=ReviewOptions(jobs=2, chunk_size=4))
    assert (summary.records, summary.errors) == (30, 1)
    # in JSON, the results of the chunk advised one record at a time are items of the array like the others
    summary = review_to_file([str(path)], str(tmp_path / "o.json"), options=ReviewOptions(jobs=2, chunk_size=4))
    items = json.loads((tmp_path / "o.json").read_text())
    assert [item["source"]["line"] for item in items] == list(range(1, 31))
    assert [i for i, item in enumerate(items) if "error" in item] == [17]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the patched worker is inherited through fork")
def test_a_chunk_its_broken_pool_never_settles_is_advised_again_not_waited_for(tmp_path: Path,
                                                                               monkeypatch: Any) -> None:
    """Python 3.11's process pool fails the work it holds when a worker dies without taking its lock, so a chunk
    submitted at that moment could be missed, never settled: the review waited for it for ever (seen once in the
    suite, in the test above). Here the chunk after the killing one is submitted as such a chunk is: to a pool that
    will never run it."""
    from concurrent.futures import Future, ProcessPoolExecutor

    module = sys.modules["s16advisor.review"]
    original_one, original_submit = module._Worker.one, ProcessPoolExecutor.submit

    def one(self: Any, kind: str, label: str, payload: Any, extra: Any, file: str) -> Any:
        if kind == "json" and b"KILLER" in payload:
            os._exit(7)
        return original_one(self, kind, label, payload, extra, file)

    missed: list[Future[Any]] = []

    def submit(self: Any, fn: Any, tasks: Any, *args: Any) -> Any:
        if not missed and any(b"MISSED" in t[2] for t in tasks if isinstance(t[2], bytes)):
            missed.append(Future())  # (submitted, as the pool broke: never run, never failed)
            return missed[0]
        return original_submit(self, fn, tasks, *args)

    monkeypatch.setattr(module._Worker, "one", one)
    monkeypatch.setattr(ProcessPoolExecutor, "submit", submit)
    records = [contract(i) for i in range(30)]
    records[17]["title"], records[21]["title"] = "KILLER", "MISSED"
    path = jsonl(tmp_path / "p.jsonl", records)
    got: list[Any] = []
    runner = threading.Thread(target=lambda: got.extend(Review(read_records([str(path)]), jobs=2, chunk_size=4)),
                              daemon=True)
    runner.start()
    runner.join(60)
    assert not runner.is_alive(), "the review waited for a chunk its broken pool never settles"
    assert missed and not missed[0].done()
    assert [r.source.line for r in got] == list(range(1, 31))
    assert [i for i, r in enumerate(got) if not r.ok] == [17]
    assert got[21].ok and got[21].advice is not None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the patched worker is inherited through fork")
def test_a_chunk_that_raises_timeout_error_is_not_taken_for_one_still_running(tmp_path: Path,
                                                                              monkeypatch: Any) -> None:
    """concurrent.futures' TimeoutError is the built-in one (Python 3.11): a chunk whose work raised it was taken
    for one not yet done, and ``_outcome`` asked for its result again and again, for ever, at full speed. It is
    raised, as any other exception of a chunk's work is."""
    module = sys.modules["s16advisor.review"]
    original_call = module._Worker.call

    def call(self: Any, tasks: Any, start: int) -> Any:
        if any(b"TIMEOUT" in t[2] for t in tasks if isinstance(t[2], bytes)):
            raise TimeoutError("the chunk's own")
        return original_call(self, tasks, start)

    monkeypatch.setattr(module._Worker, "call", call)
    records = [contract(i) for i in range(12)]
    records[5]["title"] = "TIMEOUT"
    path = jsonl(tmp_path / "p.jsonl", records)
    raised: list[BaseException] = []

    def run() -> None:
        try:
            list(Review(read_records([str(path)]), jobs=2, chunk_size=4))
        except TimeoutError as e:
            raised.append(e)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    runner.join(60)
    assert not runner.is_alive(), "the review took a chunk's own TimeoutError for a result not yet come"
    assert [str(e) for e in raised] == ["the chunk's own"]


def test_rich_progress_and_summary_on_a_terminal(tmp_path: Path) -> None:
    from s16advisor.render.review import ProgressDisplay, render_summary

    path = jsonl(tmp_path / "p.jsonl", [contract(i) for i in range(3)] + ["{"])
    reader = read_records([str(path)])
    buffer = io.StringIO()
    display = ProgressDisplay(buffer, enabled=True, rich=True, color=False)
    review = Review(reader)
    for n, _ in enumerate(review, 1):
        display.update(n, reader, force=True)
    display.finish()
    assert "4 records" in buffer.getvalue() and "/s" in buffer.getvalue()
    assert "ETA" in buffer.getvalue() and "elapsed" in buffer.getvalue()  # (two times side by side: each named)
    out = io.StringIO()
    render_summary(review.summary, out, color=False, rich=True)
    text = out.getvalue()
    assert text.startswith("4 records read, 4 results written: 3 advised, 1 error")
    assert "recommended below_threshold" in text and "could be reserved (either)" in text


def test_json_lines_validated_in_one_pass_give_what_the_general_path_gives() -> None:
    """A JSON line that is a valid contract description is parsed and validated by pydantic in one pass; every
    line, valid or not, must come out as the general path (json.loads, then validation) makes it."""
    module = sys.modules["s16advisor.review"]  # (s16advisor.review is the function)
    valid = [
        contract(1),
        contract(2, title="Caf\u00e9 \u00a3 \u2014 \"quoted\" \\ back\\slash / \u0000 nul", objectives=["innovation"]),
        contract(3, value={"amount": 1.5e6, "vat": "inclusive", "vat_rate": 0.0}, lots=[
            {"id": "A", "value": 1e6, "small_lot": True}, {"id": "B", "value": 5e5, "cpv": ["90910000"]}]),
        contract(4, prior_reserved_awards=[{"supplier": "Co-op", "awarded": "2023-01-02", "cpv": ["90910000-9"],
                                            "basis": "reg77"}], innovation={"solution_available_on_market": False},
                 reservation="public_service_mutual", route="open", procurement_start="2025-06-01"),
    ]
    lines = [json.dumps(c).encode() for c in valid] + [
        json.dumps(valid[0], ensure_ascii=False).encode(),
        b'{"id":"D-1","title":"t","procurement_start":"2024-01-02","contract_type":"services",'
        b'"value":{"amount":123456789012345.678901234567890},"duration_months":12,"cpv":["85311200-4"]}',
        json.dumps(contract(5)).replace('"amount": 50005', '"amount": 5.0005E4').encode(),
        json.dumps(contract(6)).encode() + b" \r",
        json.dumps(contract(16, title="Lot 2: day care 10:30-16:00 {\"a\": 1}")).encode(),  # colons in a text
        # invalid, one way or another: each must keep the general path's error
        b'{"id":"X","id":"D-1","title":"t","procurement_start":"2024-01-02","contract_type":"services",'
        b'"value":{"amount":5},"duration_months":12,"cpv":["85311200-4"]}',  # a repeated key
        json.dumps(contract(17)).replace('"vat": "exclusive"', '"vat" : "exclusive", "vat":"inclusive"').encode(),
        json.dumps(contract(7, title="")).encode(),
        json.dumps(contract(8, colour="red")).encode(),
        json.dumps(contract(9)).replace('"amount": 50009', '"amount": NaN').encode(),
        json.dumps(contract(10)).replace('"amount": 50010', '"amount": 1e400').encode(),
        json.dumps(contract(15)).replace('"amount": 50015', '"amount": 123456789012345678901234567890').encode(),
        json.dumps(contract(11)).replace('"Office', '"\\ud800Office').encode(),
        json.dumps(contract(12)).replace("Office cleaning", "Office\tcleaning").encode(),
        json.dumps(contract(13)).encode() + b" trailing",
        "\ufeff".encode() + json.dumps(contract(14)).encode(),
        b"[1, 2]", b"{", b"\xff\xfe",
        json.dumps({"ocid": "ocds-1", "id": "1", "date": "2024-01-01", "tag": ["tender"],
                    "initiationType": "tender"}).encode(),
    ]
    fast_calls = []
    for encoding in ("utf-8", "latin-1"):
        config = module._Config(mode="dict", encoding=encoding)
        fast, general = module._Worker(config), module._Worker(config)
        general.validate_json = None
        if fast.validate_json is not None:
            one_pass = fast.validate_json
            fast.validate_json = lambda raw, one_pass=one_pass: fast_calls.append(raw) or one_pass(raw)
        for i, raw in enumerate(lines):
            label = f"in.jsonl:{i + 1}"
            assert fast.one("json", label, raw, None) == general.one("json", label, raw, None), raw
    worker = module._Worker(module._Config(mode="dict"))
    ok = [raw for raw in lines if worker.one("json", "x", raw, None)[1] is None]
    assert len(ok) == len(valid) + 5  # the four valid contracts and the five valid lines written otherwise
    assert b'"ocid"' not in b"".join(fast_calls) and len(fast_calls) == len(lines) - 1  # utf-8 only; not OCDS
    assert worker.one("json", "x", lines[len(valid) + 5], None)[1] == \
        "x: id: duplicate key (JSON would keep its last value; give it once)"
    assert worker.one("json", "x", lines[len(valid) + 6], None)[1] == \
        "x: value.vat: duplicate key (JSON would keep its last value; give it once)"
    # The one pass is not lost to the check for repeated keys: a line without colons in its texts passes it.
    for raw in lines[:len(valid) + 4]:
        assert raw.count(b":") == module._given_keys(module.ContractDescription.model_validate_json(raw)), raw


def test_a_chunk_of_json_lines_reaches_its_worker_as_it_was_read(tmp_path: Path) -> None:
    """A chunk whose records are all JSON lines of one file is pickled for its worker packed (the lines' bytes
    joined, their numbers, where each ends): unpickled, its tasks are the records as read, line for line, byte for
    byte; a chunk with any other record in it (an OCDS package's release, an error, another file's line) is
    pickled as it is."""
    import pickle

    module = sys.modules["s16advisor.review"]
    a = tmp_path / "a.jsonl"
    a.write_bytes(b"\xef\xbb\xbf" + json.dumps(contract(1)).encode() + b"\r\n\n  \n{not json\n"
                  + "\ufeff".encode() + json.dumps(contract(2)).encode() + b"\n\xff\n"
                  + json.dumps(contract(3, title="Caf\u00e9 \\n")).encode())  # (no final newline)
    b = jsonl(tmp_path / "b.jsonl", [contract(4), json.loads((FIXTURES / "release-package.json").read_text())])
    c = jsonl(tmp_path / "c.jsonl", [contract(5)])
    records = list(read_records([str(a), str(b), str(c)]))  # (a's lines' extra: their encoding is their mark's)
    assert [(r.source.line, r.kind, r.extra is None) for r in records[:7]] == \
        [(1, "json", False), (4, "json", False), (5, "json", False), (6, "json", False), (7, "json", False),
         (1, "json", True), (2, "obj", True)]
    decoded = list(read_records([str(a)], ReadOptions(encoding="latin-1")))  # (decoded by the reader; an error)
    assert [type(r.payload) for r in decoded[2:4]] == [str, str] and decoded[3].kind == "error"

    def sent(chunk: list[Any]) -> tuple[Any, list[Any]]:
        tasks = module._tasks(chunk)
        return tasks.__reduce__()[0], pickle.loads(pickle.dumps(tasks))

    line = module.Record(Source("x.jsonl", 1), "json", b"{}\n")  # (and lines no reader makes: told apart still)
    made = [[line, line._replace(extra=module._BY_MARK)], [line, line._replace(source=Source("x.jsonl", 2, row=2))],
            [line, line._replace(source=Source("x.jsonl"))], [line, line._replace(payload=bytearray(b"{}"))]]
    for chunk, packed in ((records[:5], True), (records[2:4], True), (records[5:6], True), (records[:6], False),
                          (records[5:7], False), (records[-2:], False), (decoded[:2], False), (decoded[3:4], False),
                          ([line, line], True), *((pair, False) for pair in made)):
        how, tasks = sent(chunk)
        assert (how is module._unpacked) == packed, chunk
        assert type(tasks) is list and tasks == [tuple(r) for r in chunk]
        assert all(type(t) is tuple and type(t[0]) is Source and type(t[2]) is type(r.payload)
                   for t, r in zip(tasks, chunk, strict=True))
    assert module._tasks([])._packed() is None


def test_a_yaml_records_problems_name_its_file_even_when_its_folder_name_has_a_colon_and_digits(tmp_path: Path) -> None:
    folder = tmp_path / "drafts:7"
    folder.mkdir()
    bad = contract(1, value={"amount": -5, "vat": "exclusive"})
    (folder / "a.yaml").write_text(yaml.safe_dump(bad, sort_keys=False), encoding="utf-8")
    late = contract(2, procurement_start="2014-06-01")  # before any regime: found after validation
    (folder / "b.yaml").write_text(yaml.safe_dump(late, sort_keys=False), encoding="utf-8")
    a, b = (list(Review(read_records([str(folder / name)])))[0] for name in ("a.yaml", "b.yaml"))
    assert a.error == f"{folder / 'a.yaml'}:6: value.amount: must be greater than or equal to 0"
    assert b.error is not None and b.error.startswith(f"{folder / 'b.yaml'}:3: procurement_start: 2014-06-01 is before")


@pytest.mark.parametrize("encoding", ["utf-8", "UTF8", "utf_8", "U8"])
def test_every_spelling_of_utf8_reads_a_byte_order_mark_alike(tmp_path: Path, encoding: str) -> None:
    (tmp_path / "c.json").write_bytes("\ufeff".encode() + json.dumps([contract(1)]).encode())
    (tmp_path / "c.csv").write_bytes("\ufeffid,title\nR-1,t\n".encode())
    options = ReadOptions(encoding=encoding)
    out = list(Review(read_records([str(tmp_path / "c.json"), str(tmp_path / "c.csv")], options)))
    assert out[0].ok and out[0].id == "R-0001"
    assert out[1].id == "R-1"  # the first column is "id", not "\ufeffid"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_files_in_utf16_or_utf32_are_read_as_their_utf8_twins(tmp_path: Path, encoding: str) -> None:
    texts = {
        "c.jsonl": "".join(json.dumps(contract(i, title=f"Caf\u00e9 {i}")) + "\n" for i in range(3)) + "\n{broken\n",
        "c.csv": SHORT_HEADER + _csv_row(1, "Caf\u00e9") + _csv_row(2, '"a, b"'),
        "c.yaml": yaml.safe_dump(contract(1)) + "---\n---\n" + yaml.safe_dump(contract(2, title="\u2014")),
        "c.json": json.dumps([contract(1), contract(2)], indent=2),
    }
    for name, text in texts.items():
        (tmp_path / "utf8").mkdir(exist_ok=True)
        (tmp_path / "other").mkdir(exist_ok=True)
        (tmp_path / "utf8" / name).write_text(text, encoding="utf-8")
        (tmp_path / "other" / name).write_text(text, encoding=encoding)
    for name in texts:
        want = [(r.id, r.ok, r.source.line, r.source.index, r.error and r.error.split(": ", 1)[1])
                for r in results([tmp_path / "utf8" / name])]
        got = [(r.id, r.ok, r.source.line, r.source.index, r.error and r.error.split(": ", 1)[1])
               for r in results([tmp_path / "other" / name], encoding=encoding)]
        assert got == want, name
    result = cli("-", "--encoding", encoding, "--jobs", "1", input=texts["c.jsonl"].encode(encoding))
    assert result.exit_code == 3, result.stderr
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == ["R-0000", "R-0001", "R-0002", None]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_a_file_with_a_utf16_or_utf32_byte_order_mark_needs_no_encoding_option(tmp_path: Path, encoding: str) -> None:
    text = SHORT_HEADER + _csv_row(1, "Caf\u00e9") + _csv_row(2)
    (tmp_path / "a.csv").write_text(text, encoding="utf-8")
    (tmp_path / "b.csv").write_text(text, encoding=encoding)  # (Python writes the byte order mark)
    assert [(r.id, r.ok, r.advice) for r in results([tmp_path / "b.csv"])] == [
        (r.id, r.ok, r.advice) for r in results([tmp_path / "a.csv"])]
    assert results([tmp_path / "a.csv"])[0].ok
    result = cli("-", "--input-format", "csv", "--jobs", "1", input=text.encode(encoding))
    assert result.exit_code == 0 and [json.loads(x)["id"] for x in result.stdout.splitlines()] == ["C-1", "C-2"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_a_byte_order_mark_a_pipe_delivers_one_byte_at_a_time_is_still_seen(encoding: str) -> None:
    import threading

    data = (SHORT_HEADER + _csv_row(1) + _csv_row(2)).encode(encoding)
    proc = subprocess.Popen([sys.executable, "-m", "s16advisor", "review", "-", "--jobs", "1", "--format", "csv"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def trickle() -> None:
        assert proc.stdin is not None
        time.sleep(1.0)  # (the command is reading by then)
        for i in range(len(data)):
            proc.stdin.write(data[i:i + 1])
            proc.stdin.flush()
            if i < 4:
                time.sleep(0.3)  # (one byte, then the next: a peek sees fewer than the mark's bytes)
        proc.stdin.close()

    writer = threading.Thread(target=trickle)
    writer.start()
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.read(), proc.stderr.read()  # (the summary on stderr is a few lines: no deadlock)
    writer.join()
    assert proc.wait(timeout=60) == 0, err
    assert [line.split(b",")[0] for line in out.splitlines()[1:]] == [b"C-1", b"C-2"]


def test_text_that_is_not_utf8_says_which_option_reads_another_encoding(tmp_path: Path) -> None:
    path = tmp_path / "w.csv"
    path.write_bytes((SHORT_HEADER + _csv_row(1, "Caf\u00e9")).encode("cp1252"))
    (tmp_path / "w.jsonl").write_bytes((json.dumps(contract(1, title="Caf\u00e9"), ensure_ascii=False) + "\n")
                                       .encode("cp1252"))
    for out in (results([path]), results([tmp_path / "w.jsonl"])):
        assert "needs --encoding, e.g. cp1252" in out[0].error, out[0].error
    assert results([path], encoding="cp1252")[0].ok


@pytest.mark.parametrize("given", ["utf-8", "utf-8-sig", "UTF8"])
def test_a_utf16_or_utf32_file_with_its_mark_read_with_utf8_given_is_read_without_a_warning(tmp_path: Path,
                                                                                            given: str) -> None:
    """UTF-8 given (as the default, or as utf-8-sig, UTF-8 with or without its mark): a PowerShell export in
    UTF-16 is read as its mark says with nothing to say, as before a UTF-8 mark won over UTF-16 given too."""
    for encoding, mark in (("utf-16-le", codecs.BOM_UTF16_LE), ("utf-32-be", codecs.BOM_UTF32_BE)):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(mark + (SHORT_HEADER + _csv_row(1, "Caf\u00e9")).encode(encoding))
        reader = read_records([str(path)], ReadOptions(encoding=given))
        out = list(Review(reader))
        assert [(r.ok, r.advice and r.advice["title"]) for r in out] == [(True, "Caf\u00e9")], out[0].error
        assert reader.warnings == []


@pytest.mark.parametrize("given", ["utf-16", "utf-16-be", "utf-32"])
def test_a_utf8_byte_order_mark_wins_over_a_utf16_or_utf32_encoding_given(tmp_path: Path, given: str) -> None:
    """Given --encoding utf-16 (for the team's PowerShell exports), Excel's "CSV UTF-8" was decoded as UTF-16:
    its mark is no UTF-16 text, and every record was an error."""
    path = tmp_path / "x.csv"
    path.write_bytes(codecs.BOM_UTF8 + (SHORT_HEADER + _csv_row(1, "Caf\u00e9") + _csv_row(2)).encode())
    reader = read_records([str(path)], ReadOptions(encoding=given))
    out = list(Review(reader))
    assert [(r.ok, r.advice and r.advice["title"]) for r in out] == [(True, "Caf\u00e9"), (True, out[1].advice
                                                                                           and out[1].advice["title"])]
    assert out[1].ok, out[1].error
    assert reader.warnings == [f"{path}: begins with a UTF-8 byte order mark: read as UTF-8, not {given}"]


def test_a_csv_cell_that_is_not_text_in_a_marked_file_names_the_mark_not_the_option(tmp_path: Path) -> None:
    """A file's byte order mark decides its encoding whatever --encoding says, so a cell that is not UTF-8 in
    Excel's "CSV UTF-8" told the user to give --encoding, which changes nothing: it names the mark, as a JSON
    Lines record does."""
    path = tmp_path / "m.csv"
    text = (SHORT_HEADER + _csv_row(1, "Caf\u00e9") + _csv_row(2)).encode().replace("\u00e9".encode(), b"\xe9")
    path.write_bytes(codecs.BOM_UTF8 + text)
    bad, good = results([path], encoding="cp1252")
    assert good.ok and not bad.ok
    assert bad.error.endswith("column title: not valid text in the file's encoding (utf-8, as its byte order mark "
                              "says)"), bad.error
    assert "--encoding" not in bad.error


@pytest.mark.parametrize("given", ["utf-8", "UTF8"])
def test_a_csv_cell_that_is_not_text_in_excels_csv_utf8_read_as_utf8_names_the_mark_not_the_option(
        tmp_path: Path, given: str) -> None:
    """Excel's "CSV UTF-8" (its mark) read with the default --encoding: a cell that is not UTF-8 told the user to
    give --encoding, e.g. cp1252, after which the mark still decides and the cell is no better."""
    path = tmp_path / "m.csv"
    text = (SHORT_HEADER + _csv_row(1, "Caf\u00e9") + _csv_row(2)).encode().replace("\u00e9".encode(), b"\xe9")
    path.write_bytes(codecs.BOM_UTF8 + text)
    reader = read_records([str(path)], ReadOptions(encoding=given))
    bad, good = Review(reader)
    assert good.ok and not bad.ok and reader.warnings == []
    assert bad.error.endswith("column title: not valid text in the file's encoding (utf-8, as its byte order mark "
                              "says)"), bad.error


@pytest.mark.parametrize("given", ["utf-8", "cp1252"])
def test_a_csv_cell_that_is_not_text_in_a_utf16_marked_file_names_the_mark_whatever_is_given(tmp_path: Path,
                                                                                             given: str) -> None:
    """A PowerShell export (UTF-16, with its mark) read with the default --encoding utf-8: a cell that is not text
    told the user to give --encoding, e.g. cp1252, which changes nothing there (the mark decides)."""
    path = tmp_path / "m.csv"
    text = (SHORT_HEADER + _csv_row(1, "Caf\u00e9") + _csv_row(2)).encode("utf-16-le")
    text = text.replace("\u00e9".encode("utf-16-le"), b"\x00\xd8")  # (a lone surrogate: not UTF-16 text)
    path.write_bytes(codecs.BOM_UTF16_LE + text)
    bad, good = results([path], encoding=given)
    assert good.ok and not bad.ok
    assert bad.error.endswith("column title: not valid text in the file's encoding (utf-16, as its byte order mark "
                              "says)"), bad.error
    assert "--encoding" not in bad.error


def test_json_lines_files_joined_by_cat_each_with_a_byte_order_mark_are_read_line_by_line(tmp_path: Path) -> None:
    """A byte order mark on a later line (files joined, each written with one) made its record an error."""
    path = tmp_path / "joined.jsonl"
    one = json.dumps(contract(1)).encode() + b"\n"
    two = json.dumps(contract(2)).encode() + b"\n"
    path.write_bytes(codecs.BOM_UTF8 + one + codecs.BOM_UTF8 + b"\n" + codecs.BOM_UTF8 + two)
    out = results([path])
    assert [(r.source.line, r.ok) for r in out] == [(1, True), (3, True)], [r.error for r in out]


@pytest.mark.parametrize("first", ["bad", "null"])
def test_json_lines_in_a_json_file_with_a_line_that_is_not_text_lose_only_that_line(tmp_path: Path,
                                                                                  first: str) -> None:
    """The whole file was decoded before JSON Lines were looked for: one bad byte made one error of every line."""
    good = [json.dumps(contract(i)).encode() for i in (2, 3)]
    head = json.dumps(contract(1)).encode().replace(b"Office", b"Caf\xe9") if first == "bad" else b"null"
    lines = [head, *good] if first == "bad" else [head, good[0], json.dumps(contract(9)).encode()
                                                  .replace(b"Office", b"\xff"), good[1]]
    path = tmp_path / "lines.json"
    path.write_bytes(b"\n".join(lines) + b"\n")
    out = results([path])
    assert len(out) == len(lines), [r.error for r in out]
    assert [r.ok for r in out] == ([False, True, True] if first == "bad" else [False, True, False, True])
    assert all(r.source.line == k for k, r in enumerate(out, 1))
    one = tmp_path / "one.json"  # one document over several lines with a bad byte: one error, as before
    one.write_bytes(json.dumps(contract(1), indent=2).encode().replace(b"Office", b"Caf\xe9"))
    assert [r.ok for r in results([one])] == [False]


@pytest.mark.parametrize("name", ["x.jsonl", "x.yaml", "x.json", "x.csv"])
@pytest.mark.parametrize("mark", ["utf-8", "utf-16", "utf-32"])
def test_a_file_with_a_byte_order_mark_is_read_in_its_encoding_whatever_encoding_is_given(
        tmp_path: Path, name: str, mark: str) -> None:
    """Decoded as cp1252, a JSON Lines, JSON or YAML file in UTF-8 with its mark was garbled ('CafÃ©', and Welsh
    letters such as 'ŵ' worse), and one in UTF-16 an error; Excel's "CSV UTF-8" and editors write the mark."""
    path = tmp_path / name
    title = "Caf\u00e9 \u0175yr"
    text = json.dumps(contract(1, title=title), ensure_ascii=False) + "\n" if name in ("x.jsonl", "x.json") else \
        yaml.safe_dump([contract(1, title=title)], allow_unicode=True) if name == "x.yaml" else \
        SHORT_HEADER + _csv_row(1, title)
    if name == "x.jsonl":
        text += json.dumps(contract(2, title=title), ensure_ascii=False) + "\n"
    data = text.encode(mark)  # (Python writes the UTF-16 and UTF-32 marks)
    path.write_bytes(codecs.BOM_UTF8 + data if mark == "utf-8" else data)
    reader = read_records([str(path)], ReadOptions(encoding="cp1252"))
    out = list(Review(reader))
    assert [(r.ok, r.advice and r.advice["title"]) for r in out] == [(True, title)] * (2 if name == "x.jsonl" else 1), \
        [r.error for r in out]
    assert reader.warnings == [f"{path}: begins with a {mark.upper()} byte order mark: read as {mark.upper()}, "
                               "not cp1252"]
    reader = read_records([str(path)])  # (UTF-8, the default: the mark is dropped, and nothing said)
    assert [(r.ok, r.advice["title"]) for r in Review(reader)] == [(True, title)] * len(out)
    assert reader.warnings == []


def test_a_line_that_is_not_text_in_its_byte_order_marks_encoding_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    lines = [json.dumps(contract(i)).encode() for i in range(3)]
    path.write_bytes(codecs.BOM_UTF8 + b"\n".join([lines[0], lines[1].replace(b"Office", b"Caf\xe9"), lines[2]]))
    out = list(Review(read_records([str(path)], ReadOptions(encoding="cp1252"))))
    assert [r.ok for r in out] == [True, False, True]
    at = lines[1].index(b"Office") + 4
    assert out[1].error == f"{path}:2: not utf-8 text as its byte order mark says (byte {at} of the line)", \
        out[1].error


def test_a_line_that_is_not_utf8_in_a_file_with_a_utf8_byte_order_mark_does_not_send_the_user_to_encoding(
        tmp_path: Path) -> None:
    """With --encoding utf-8 (the default) the worker decoded the line and said "a file in another encoding needs
    --encoding": no use, the mark wins over --encoding. The CLI says the same as the library."""
    path = tmp_path / "x.jsonl"
    lines = [json.dumps(contract(i)).encode() for i in range(3)]
    path.write_bytes(codecs.BOM_UTF8 + b"\n".join([lines[0], lines[1].replace(b"Office", b"Caf\xe9"), lines[2]]))
    at = lines[1].index(b"Office") + 4
    want = f"{path}:2: not utf-8 text as its byte order mark says (byte {at} of the line)"
    for jobs in (1, 2):
        out = list(Review(read_records([str(path)]), jobs=jobs, chunk_size=1))
        assert [r.ok for r in out] == [True, False, True]
        assert out[1].error == want, (jobs, out[1].error)
    result = cli(str(path), "-o", str(tmp_path / "out.jsonl"))
    rows = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert result.exit_code == 3 and [r.get("error") for r in rows] == [None, want, None], result.output


def test_a_byte_order_mark_of_the_encoding_given_however_spelt_is_not_warned_of_and_a_bad_package_line_is_named(
        tmp_path: Path) -> None:
    """'--encoding UTF8' on a UTF-16 file warned "read as UTF-16, not UTF8"; and a JSON Lines line holding a
    package, not text in the mark's encoding, was decoded as --encoding by a worker ("a package in a package")."""
    path = tmp_path / "x.jsonl"
    path.write_bytes((json.dumps(contract(1)) + "\n").encode("utf-16"))
    for spelt in ("UTF8", "utf_8", "utf-8"):
        reader = read_records([str(path)], ReadOptions(encoding=spelt))
        assert [r.ok for r in Review(reader)] == [True] and reader.warnings == [], (spelt, reader.warnings)
    package = json.dumps({"uri": "x", "releases": [{"ocid": "ocds-1", "tender": {"title": "Office"}}]}).encode()
    bad = package.replace(b"Office", b"Caf\xe9")
    path.write_bytes(codecs.BOM_UTF8 + json.dumps(contract(1)).encode() + b"\n" + bad)
    out = list(Review(read_records([str(path)], ReadOptions(encoding="cp1252"))))
    assert [r.ok for r in out] == [True, False]
    assert out[1].error.startswith(f"{path}:2: not utf-8 text as its byte order mark says (byte "), out[1].error


def test_a_csv_file_that_begins_with_a_utf8_byte_order_mark_is_read_as_utf8_whatever_encoding_is_given(
        tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" begins with a byte order mark: given --encoding cp1252, its header's first column was
    "\u00ef\u00bb\u00bfid" and every row an error."""
    path = tmp_path / "x.csv"
    path.write_bytes(codecs.BOM_UTF8 + (SHORT_HEADER + _csv_row(1, "Caf\u00e9")).encode("utf-8"))
    reader = read_records([str(path)], ReadOptions(encoding="cp1252"))
    (result,) = list(Review(reader))
    assert result.ok, result.error
    assert result.advice["title"] == "Caf\u00e9"
    assert reader.warnings == [f"{path}: begins with a UTF-8 byte order mark: read as UTF-8, not cp1252"]
    reader = read_records([str(path)])  # (UTF-8, the default: the mark is dropped, and nothing said)
    assert [r.ok for r in Review(reader)] == [True] and reader.warnings == []


@pytest.mark.parametrize("name", ["c.jsonl", "c.csv", "c.yaml"])
def test_a_record_that_is_not_utf16_is_one_error_and_the_others_are_read(tmp_path: Path, name: str) -> None:
    def utf16(text: str) -> bytes:
        return text.encode("utf-16-le", "surrogatepass")

    if name == "c.jsonl":
        texts = [json.dumps(contract(i), ensure_ascii=False) + "\n" for i in range(3)]
    elif name == "c.csv":
        texts = [SHORT_HEADER] + [_csv_row(i) for i in range(3)]
    else:
        texts = [yaml.safe_dump(contract(i)) + "---\n" for i in range(3)]
    texts[-2] = texts[-2].replace("t", "\ud800", 1)  # a lone surrogate: not UTF-16
    path = tmp_path / name
    path.write_bytes(b"".join(utf16(t) for t in texts) + b"\x00")  # and an odd byte at the end
    out = results([path], encoding="utf-16-le")
    assert [r.ok for r in out] == [True, False, True, False], [r.error for r in out]  # the odd byte: a line too
    for bad in (out[1], out[3]):
        assert "not utf-16-le text" in bad.error or "not valid text in the file's encoding" in bad.error, bad.error


@pytest.mark.parametrize(("encoding", "written"), [("utf-16", "utf-16-le"), ("utf-32", "utf-32-le"),
                                                  ("utf-16", "utf-16")])
def test_utf16_or_utf32_without_a_byte_order_mark_is_little_endian_as_python_reads_it(
        tmp_path: Path, encoding: str, written: str) -> None:
    for name in ("c.json", "c.jsonl", "c.yaml"):
        path = tmp_path / name
        text = json.dumps(contract(1)) + "\n" if name != "c.yaml" else yaml.safe_dump(contract(1))
        path.write_bytes(text.encode(written))
        assert [(r.id, r.ok) for r in results([path], encoding=encoding)] == [("R-0001", True)], (name, written)


def test_a_utf32_code_unit_that_is_not_a_character_is_an_error_even_if_its_bytes_look_like_utf8(
        tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    line = json.dumps(contract(1)).encode("utf-32-le")
    bad = json.dumps(contract(2)).encode("utf-32-le").replace("t".encode("utf-32-le"), b"\x70\x10\x10\x10", 1)
    path.write_bytes(line + "\n".encode("utf-32-le") + bad + "\n".encode("utf-32-le"))
    out = results([path], encoding="utf-32-le")
    assert [r.ok for r in out] == [True, False] and out[1].error.endswith("not utf-32-le text"), out[1].error


def test_standard_input_whose_first_line_is_a_byte_order_mark_alone_is_sniffed_by_the_next_line() -> None:
    lines = b"\xef\xbb\xbf\n" + json.dumps(contract(1)).encode() + b"\n"
    result = cli("-", "--jobs", "1", "--format", "csv", input=lines)
    assert result.exit_code == 0, result.stdout
    assert result.stdout.splitlines()[1].startswith("R-0001,<stdin>:2,")


@pytest.mark.parametrize(("first", "fmt"), [
    (b'{"id": "A"}', "jsonl"), (b"{", "json"), (b'{"id": "A",', "json"), (b"{}", "jsonl"), (b"{ }x", "json"),
    (b"{id: A, title: t}", "yaml"), (b"{ id: A }", "yaml"), (b"[1,", "json"), (b"id: A", "yaml"), (b"id,title", "csv"),
])
def test_standard_inputs_format_is_sniffed_from_its_first_line(first: bytes, fmt: str) -> None:
    from s16advisor.review import _sniff

    assert _sniff(first + b"\n") == fmt


def test_json_lines_on_standard_input_whose_first_line_is_broken_yaml_like_are_still_read_line_by_line() -> None:
    lines = "{id: X, title: broken}\n" + json.dumps(contract(1)) + "\n" + json.dumps(contract(2)) + "\n"
    result = cli("-", "--jobs", "1", "--format", "csv", input=lines)
    assert result.exit_code == 3
    assert [line.split(",")[0] for line in result.stdout.splitlines()[1:]] == ["", "R-0001", "R-0002"]


def test_a_yaml_stream_on_standard_input_whose_first_document_is_in_flow_style_is_read_as_yaml() -> None:
    docs = [json.dumps(contract(1)).replace('"', ""), yaml.safe_dump(contract(2))]  # {id: R-0001, ...}
    result = cli("-", "--jobs", "1", "--format", "csv", input="\n---\n".join(docs))
    assert result.exit_code == 0, result.stdout
    assert [line.split(",")[0] for line in result.stdout.splitlines()[1:]] == ["R-0001", "R-0002"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_whose_format_is_sniffed_is_read(tmp_path: Path) -> None:
    import threading

    fifo = tmp_path / "in.json"  # .json: sniffed for JSON Lines, which reads its first line and puts it back
    os.mkfifo(fifo)
    text = json.dumps(contract(1)) + "\n" + json.dumps(contract(2)) + "\n"
    writer = threading.Thread(target=fifo.write_text, args=(text,), daemon=True)
    writer.start()
    out = results([fifo])
    writer.join(timeout=10)
    assert [(r.id, r.ok) for r in out] == [("R-0001", True), ("R-0002", True)], [r.error for r in out]


def test_json_lines_with_a_broken_first_line_larger_than_a_json_document_are_read_as_lines(
        tmp_path: Path, monkeypatch: Any) -> None:
    module = sys.modules["s16advisor.review"]
    monkeypatch.setattr(module, "MAX_JSON_BYTES", 2000)
    path = jsonl(tmp_path / "big.json", ['{"id": "broken",'] + [contract(i) for i in range(20)])
    assert path.stat().st_size > 2000
    out = results([path])
    assert len(out) == 21 and [r.ok for r in out] == [False] + [True] * 20


def test_a_record_with_no_route_available_is_counted_and_named_in_the_summary() -> None:
    from s16advisor.render.review import summary_text
    from s16advisor.review import ReviewSummary, Stats

    s = ReviewSummary()
    stats = Stats("pa2023", 1000.0, (), None, False, None, False, False, False, True, True, False, False)
    s.add(stats)
    s.add(stats._replace(recommended=("open",)))
    assert (s.records, s.advised, s.no_route) == (2, 2, 1)
    assert {k: (v.count, v.value) for k, v in s.by_route.items()} == {"open": (1, 1000.0)}
    whole = ReviewSummary()
    whole.merge(s)
    whole.merge(s)
    assert (whole.records, whole.advised, whole.no_route, whole.with_error_findings) == (4, 4, 2, 4)
    assert "  (no route available)          2" in summary_text(whole)


def test_ids_whose_hashes_collide_are_not_duplicates(monkeypatch: pytest.MonkeyPatch) -> None:
    """The duplicate ids are found by hash, then by the ids themselves: ids sharing a hash are not duplicates."""
    import builtins

    review_module = sys.modules["s16advisor.review"]  # (s16advisor.review is also the function)
    monkeypatch.setattr(review_module._DuplicateIds, "BUCKETS", 1)  # (every id in one bucket, two hashes)
    monkeypatch.setattr(review_module, "hash", lambda text: builtins.hash(text) % 2, raising=False)
    batch = Review([contract(1), contract(2), contract(3), contract(4, id="R-0001"), contract(5)])
    assert all(r.ok for r in batch)
    d = batch.summary.duplicates
    assert (d.ids, d.records) == (1, 1)
    assert d.examples == [("R-0001", ["<records> [0]", "<records> [3]"])]


def test_the_duplicate_ids_shown_are_the_first_ten_in_input_order_with_up_to_five_sources_each() -> None:
    from s16advisor.render.review import duplicate_lines

    records = [contract(i, id="X") for i in range(7)]
    records += [contract(100 + i, id=f"D-{k:02d}") for k in range(12) for i in range(2)]
    batch = Review(records)
    assert all(r.ok for r in batch)
    d = batch.summary.duplicates
    assert (d.ids, d.records) == (13, 6 + 12)
    assert [rid for rid, _ in d.examples] == ["X"] + [f"D-{k:02d}" for k in range(9)]
    assert d.examples[0][1] == [f"<records> [{i}]" for i in range(5)]
    assert d.examples[1][1] == ["<records> [7]", "<records> [8]"]
    line = duplicate_lines(batch.summary)[0]
    assert "X (<records> [0], <records> [1], <records> [2], <records> [3], <records> [4], ...)" in line
    assert "D-00 (<records> [7], <records> [8]); D-01" in line and "; and 3 more." in line
    assert "13 ids used by more than one record (31 records)" in line


def test_the_exit_code_fails_on_findings_as_asked() -> None:
    from s16advisor.review import ReviewSummary

    assert [ReviewSummary(with_error_findings=1).exit_code(f) for f in ("none", "error", "warning")] == [0, 1, 1]
    assert [ReviewSummary(with_warning_findings=1).exit_code(f) for f in ("none", "error", "warning")] == [0, 0, 1]
    assert ReviewSummary(errors=1, with_warning_findings=1).exit_code("warning") == 3


def test_the_summary_as_a_dict_is_json_and_carries_its_figures() -> None:
    batch = Review([contract(1), contract(2, reservation="supported_business"), {"id": "bad"}])
    results = list(batch)
    d = json.loads(json.dumps(batch.summary.to_dict()))
    assert (d["records"], d["advised"], d["errors"]) == (3, 2, 1) == (len(results), batch.summary.advised, 1)
    assert d["by_route"] == {k: {"count": v.count, "value": v.value} for k, v in batch.summary.by_route.items()}
    assert d["reservation_unavailable"] == dict(batch.summary.reservation_unavailable)


def test_json_nested_too_deeply_or_holding_itself_is_its_records_error_not_an_internal_one(tmp_path: Path) -> None:
    path = tmp_path / "deep.csv"
    path.write_text(SHORT_HEADER.replace("\n", ",prior_reserved_awards\n") + _csv_row(1).replace("\n", ",")
                    + "[" * 3000 + "\n" + _csv_row(2), encoding="utf-8")
    out = results([path])
    assert [(r.id, r.error) for r in out] == [
        ("C-1", f"{path}:row 2: column prior_reserved_awards: nested too deeply"), ("C-2", None)]
    deep: list[Any] = []
    inner = deep
    for _ in range(5000):
        inner.append([])
        inner = inner[0]
    itself = contract(2)
    itself["waivers"] = [itself]
    got = list(Review([contract(1, waivers=deep), itself]))
    assert [r.id for r in got] == ["R-0001", "R-0002"]
    assert got[0].error == "<records> [0]: waivers[0]: must be a mapping of fields, not list"
    assert "internal error" not in got[1].error and "waivers[0]" in got[1].error


def test_read_records_takes_one_path_or_paths_as_text_or_path_objects() -> None:
    """One path as text is a path, not its characters (each one a file that does not exist)."""
    package = ROOT / "tests" / "review" / "release-package.json"
    expected = [(r.id, r.ok) for r in Review(read_records([str(package)]))]
    assert len(expected) > 1
    for paths in (str(package), package, [package], (p for p in [package])):
        assert [(r.id, r.ok) for r in Review(read_records(paths))] == expected, paths


def test_a_csv_row_without_an_amount_names_the_value_amount_column_not_a_column_value(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text(SHORT_HEADER + _csv_row(1).replace(",50000,", ",,"))
    absent = tmp_path / "absent.csv"
    absent.write_text(SHORT_HEADER.replace("value.amount,", "") + _csv_row(2).replace(",50000,", ","))
    out = results([empty, absent])
    assert [r.error for r in out] == [f"{empty}:row 2: column value.amount (value): is required",
                                      f"{absent}:row 2: column value.amount (value): is required"]


def test_the_python_api_takes_one_record_refuses_what_is_no_records_and_counts_a_second_pass_once(
        tmp_path: Path) -> None:
    import s16advisor

    package = json.loads((ROOT / "tests" / "review" / "release-package.json").read_text())
    assert [r.ok for r in s16advisor.review(package)] == [r.ok for r in s16advisor.review([package])]
    for bad in (None, "pipeline.csv", 5):
        with pytest.raises(TypeError, match="review\\(\\) takes an iterable of records"):
            s16advisor.review(bad)
    path = jsonl(tmp_path / "in.jsonl", [contract(1), contract(2), "{broken"])
    for records in (read_records(path), [contract(1), contract(2), 7]):
        rv = Review(records)
        first = [(r.id, r.ok) for r in rv]
        figures = (rv.summary.read, rv.summary.advised, rv.summary.errors)
        assert [(r.id, r.ok) for r in rv] == first and figures == (3, 2, 1)
        assert (rv.summary.read, rv.summary.advised, rv.summary.errors) == figures


class _Table:
    """As a pandas DataFrame is to review(): iterated, its column names."""

    columns = ["id", "title"]

    def __iter__(self) -> Any:
        return iter(self.columns)

    def to_dict(self, orient: str = "dict") -> Any:
        return [contract(1)]


@pytest.mark.parametrize(("kw", "error", "message"), [
    ({"jobs": "2"}, TypeError, "review\\(\\): jobs must be a whole number, not str '2'"),  # (was: '>' not supported)
    ({"jobs": 2.5}, TypeError, "jobs must be a whole number, not float 2.5"),  # (was: a TypeError deep in the pool)
    ({"jobs": 0}, ValueError, "jobs must be at least 1, not 0"),  # (as --jobs 0; was: one job, silently)
    ({"chunk_size": 0}, ValueError, "chunk_size must be at least 1, not 0"),
    ({"jobs": 300}, ValueError, "jobs=300 is more worker processes than a review starts \\(at most 256;"),  # (as
    # --jobs 300; was: 300 workers started at once, minutes before the first result)
    ({"ocds": {"vat": "inclusive"}}, TypeError, "ocds must be an s16advisor.ocds.OcdsOptions, not dict"),
    ({"records": _Table()}, TypeError, "not a table \\(_Table\\): a DataFrame's rows are df.to_dict\\('records'\\)"),
    ({"records": Path("pipeline.csv")}, TypeError, "not PosixPath \\(to read a file: review\\(read_records\\(path"),
])
def test_the_python_api_names_an_argument_at_fault_at_once(kw: dict[str, Any], error: type, message: str) -> None:
    """Wrong arguments were taken silently (a dict of OCDS options failed each OCDS record with 'internal error:
    AttributeError', a DataFrame gave an error result per column name) or failed deep in the code."""
    import s16advisor

    records = kw.pop("records", [contract(1)])
    with pytest.raises(error, match=message):
        s16advisor.review(records, **kw)


@pytest.mark.parametrize(("make", "error", "message"), [
    (lambda: ReadOptions(encoding="nope"), ValueError,
     "ReadOptions: encoding 'nope' is not an encoding Python knows"),  # (was: LookupError at the first record)
    (lambda: ReadOptions(encoding="rot13"), ValueError,
     "ReadOptions: encoding 'rot13' is not a text encoding"),  # (was: every record an 'internal error')
    (lambda: ReadOptions(input_format="xml"), ValueError,
     "ReadOptions: input_format 'xml' is not one of auto, csv, jsonl, yaml, json"),  # (was: read by its extension)
    (lambda: Review([contract(1)], encoding="nope"), ValueError, "review\\(\\): encoding 'nope' is not an encoding"),
    (lambda: OcdsOptions(vat="gross"), ValueError,  # type: ignore[arg-type]
     "OcdsOptions: vat 'gross' is not one of exclusive, inclusive"),  # (was: every OCDS record an error)
    (lambda: OcdsOptions(vat_rate=20), ValueError,
     "OcdsOptions: vat_rate 20 is not a rate between 0 and 1 \\(20% is 0.2\\)"),  # (was: values grossed up 21 times)
    (lambda: OcdsOptions(vat_rate="0.2"), TypeError,  # type: ignore[arg-type]
     "OcdsOptions: vat_rate must be a number, not str '0.2'"),
    (lambda: OcdsOptions(authority_type="council"), ValueError,  # type: ignore[arg-type]
     "OcdsOptions: authority_type 'council' is not one of sub_central, central_government"),
    (lambda: OcdsOptions(nation="scotland"), ValueError,  # type: ignore[arg-type]
     "OcdsOptions: nation 'scotland' is not one of wales, england, northern_ireland"),
])
def test_the_python_api_options_name_a_value_at_fault_when_made(make: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        make()


def test_the_python_api_options_take_what_the_cli_takes() -> None:
    assert ReadOptions("csv", "UTF8").encoding == "UTF8"  # (spelt as the user likes: codecs knows it)
    assert OcdsOptions(vat_rate=0).vat_rate == 0 and OcdsOptions(vat_rate=1).vat_rate == 1
    assert OcdsOptions("inclusive", 0.05, "central_government", "england") == OcdsOptions(
        vat="inclusive", vat_rate=0.05, authority_type="central_government", nation="england")
    with pytest.raises(ValueError, match="vat_rate -0.01 is not a rate"):
        OcdsOptions(vat_rate=-0.01)
    with pytest.raises(TypeError, match="vat_rate must be a number, not bool True"):
        OcdsOptions(vat_rate=True)
    from decimal import Decimal
    from fractions import Fraction

    for number in (Decimal("0.05"), Fraction(1, 20)):  # (as advise() takes a Decimal: it was a TypeError)
        rate = OcdsOptions(vat_rate=number).vat_rate  # type: ignore[arg-type]
        assert rate == 0.05 and type(rate) is float, number
    with pytest.raises(ValueError, match="vat_rate nan is not a rate"):
        OcdsOptions(vat_rate=Decimal("NaN"))  # type: ignore[arg-type]


def test_a_nan_from_a_table_is_named_as_such() -> None:
    """pandas' df.to_dict('records') gives NaN for a blank cell: 'reservation: must be 'none', ...' did not say
    that the value given was NaN, nor what to do."""
    import s16advisor

    records = [contract(1, reservation=float("nan")), contract(2, value={"amount": float("nan")})]
    assert [r.error for r in s16advisor.review(records)] == [
        "<records> [0]: reservation: is NaN (a missing value in a table?): it must be 'none', "
        "'supported_business' or 'public_service_mutual'",
        "<records> [1]: value.amount: is NaN (a missing value in a table?): it must be a finite "
        "number"]


def test_the_advisor_takes_a_mapping_as_advise_does() -> None:
    import s16advisor

    mapping = contract(1)
    advisor = s16advisor.Advisor()
    assert advisor.advise(mapping) == s16advisor.advise(mapping)
    assert [a.regime.id for a in advisor.compare(mapping)] == ["pcr2015", "pa2023"]
    with pytest.raises(TypeError, match="takes a ContractDescription or a mapping of its fields, not NoneType"):
        advisor.advise(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("cell", ["٥٠٠٠٠", "５００００"])
def test_a_csv_number_written_in_other_digits_than_0_to_9_is_refused_as_yaml_refuses_it(tmp_path: Path,
                                                                                       cell: str) -> None:
    path = tmp_path / "p.csv"
    path.write_text(SHORT_HEADER + _csv_row(1).replace(",50000,", f",{cell},").replace(",24,", f",{cell[:2]},"),
                    encoding="utf-8")
    [row] = results([path])
    assert row.error == (f"{path}:row 2: column value.amount: {cell!r} is not a number (digits 0-9); "
                         f"column duration_months: {cell[:2]!r} is not a whole number")


def test_progress_asked_for_while_the_results_go_to_the_same_terminal_is_lines_not_a_bar(tmp_path: Path) -> None:
    """A bar redrawn on the screen the results are written to was glued to them ('...elapsed 0:00:01{"source":')."""
    import pty

    path = jsonl(tmp_path / "in.jsonl", [contract(i) for i in range(50)])
    exe = Path(sys.executable).parent / "s16advisor"
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([str(exe), "review", str(path), "--jobs", "1", "--progress"], stdin=subprocess.DEVNULL,
                                stdout=follower, stderr=follower, env={**os.environ, "COLUMNS": "120"})
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # (the terminal closed: the process ended)
                break
            if not chunk:
                break
            seen += chunk
        assert proc.wait(timeout=60) == 0
    finally:
        os.close(leader)
    screen = seen.decode("utf-8", "replace")
    assert screen.count('{"source":') == 50 and "review: 50 records" in screen
    results = screen[:screen.rindex('{"source":')]  # (the summary's table after them is drawn with ━ too)
    assert "━" not in results and not re.search(r"[^\n]\{\"source\":", screen)


@pytest.mark.parametrize("width", [40, 60])
def test_the_summary_table_keeps_every_figure_whole_on_a_narrow_terminal(monkeypatch: pytest.MonkeyPatch,
                                                                         width: int) -> None:
    from s16advisor.render.review import render_summary

    review = Review(read_records([str(ROOT / "tests" / "review" / "release-package.json"),
                                  str(ROOT / "tests" / "review" / "record-package.json")]))
    list(review)
    monkeypatch.setenv("COLUMNS", str(width))
    out = io.StringIO()
    render_summary(review.summary, out, color=False, rich=True)
    text = out.getvalue()
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= width
    for route, total in review.summary.by_route.items():
        assert f"£{total.value:,.0f}" in text, route


@pytest.mark.parametrize("width", [40, 60])
def test_the_progress_bar_keeps_the_share_records_rate_and_time_left_on_a_narrow_terminal(
        monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    from s16advisor.render.review import ProgressDisplay

    monkeypatch.setenv("COLUMNS", str(width))
    reader = read_records([str(ROOT / "tests" / "review" / "release-package.json")])
    buffer = io.StringIO()
    display = ProgressDisplay(buffer, enabled=True, rich=True, color=False)
    for n, _ in enumerate(Review(reader), 1):
        display.update(n * 12_345, reader, force=True)
    display.close()
    lines = [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line) for line in re.split(r"[\r\n]", buffer.getvalue())]
    last = [line for line in lines if line.strip()][-1]
    assert max(len(line) for line in lines) <= width
    assert re.search(r"100%\s+49,380\b.*\d/s ETA \d:\d\d:\d\d", last), last


def test_an_ocds_package_with_no_releases_gives_no_result_and_a_warning_that_says_so(tmp_path: Path) -> None:
    lines = jsonl(tmp_path / "p.jsonl", ['{"releases": []}', contract(1)])
    document = tmp_path / "p.json"
    document.write_text(json.dumps({"uri": "x", "records": []}), encoding="utf-8")
    table = tmp_path / "p.csv"
    table.write_text(SHORT_HEADER.replace("\n", ",colour\n") + _csv_row(2).replace("\n", ",red\n"))
    reader = read_records([lines, document, table], ReadOptions(ignore_unknown_columns=True))
    review = Review(reader)
    for _ in range(2):  # (a second pass warns once)
        assert [r.id for r in review] == ["R-0001", "C-2"]
        assert review.summary.warnings == [
            f"{lines}:1: an OCDS release package with no releases: nothing to advise",
            f"{document}:1: an OCDS record package with no records: nothing to advise",  # (one line: JSON Lines)
            f"{table}: unknown columns ignored: colour"]


def test_the_python_api_takes_a_whole_number_of_any_integer_type_for_jobs() -> None:
    """numpy's integers (np.int64(2), from a DataFrame's shape) were refused: 'must be a whole number'."""
    class Whole:  # (an integer type that is not int, as numpy's are)
        def __index__(self) -> int:
            return 1

    batch = Review(iter([contract(1)]), jobs=Whole(), chunk_size=Whole())
    assert (batch.jobs, batch.chunk_size) == (1, 1) and type(batch.jobs) is int
    assert [r.ok for r in batch] == [True]


def test_the_python_api_needs_no_submodule_import_for_a_batch_from_files(tmp_path: Path) -> None:
    """``s16advisor.review`` is the function, so ``import s16advisor.review as m`` gives it, not the module: what a
    batch from files needs (read_records, its options, the summary's Review) is exported beside it."""
    import s16advisor

    assert {"read_records", "ReadOptions", "Review", "ReviewResult", "OcdsOptions"} <= set(s16advisor.__all__)
    path = jsonl(tmp_path / "a.jsonl", [contract(1), contract(2)])
    batch = s16advisor.Review(s16advisor.read_records([str(path)], s16advisor.ReadOptions(encoding="utf-8")),
                              ocds=s16advisor.OcdsOptions())
    out = list(batch)
    assert all(isinstance(r, s16advisor.ReviewResult) and r.ok for r in out) and len(out) == 2
    assert batch.summary.records == 2


def test_a_review_stopped_early_has_the_figures_of_the_results_yielded_so_far(tmp_path: Path) -> None:
    """summary.read stayed 0 until the end, while records counted the results yielded (as the docstring says)."""
    path = jsonl(tmp_path / "in.jsonl", [contract(i) for i in range(5)])
    for records in ([contract(i) for i in range(5)], read_records([str(tmp_path / "missing.jsonl"), str(path)])):
        batch = Review(records, chunk_size=2)
        out = []
        for r in batch:
            out.append(r)
            if len(out) == 3:
                break
        failed = sum(r.error is not None and "cannot be read" in r.error for r in out)
        assert (batch.summary.records, batch.summary.read) == (3, 3 - failed), (records, batch.summary)
        list(batch)  # (again, to its end: every figure)
        assert (batch.summary.records, batch.summary.read) == (5 + failed, 5)


def test_an_input_that_holds_no_record_is_warned_of(tmp_path: Path) -> None:
    """An empty file (or one of blank lines, or a CSV header alone) was reviewed as '0 records read' with no word,
    and exit 0: a wrong file named, or an export that failed, went unseen."""
    files = {"empty.yaml": "", "blank.jsonl": "\n\n  \n", "header.csv": SHORT_HEADER, "docs.yaml": "---\n---\n",
             "list.json": "[]"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "one.jsonl").write_text(json.dumps(contract(1)) + "\n")
    paths = [str(tmp_path / n) for n in [*files, "one.jsonl"]]
    reader = read_records(paths)
    assert [r.ok for r in Review(reader)] == [True]
    assert reader.warnings == [f"{p}: no record in it: nothing to advise" for p in paths[:-1]]
    result = cli(str(tmp_path / "empty.yaml"), "-o", str(tmp_path / "out.csv"))
    assert result.exit_code == 0 and f"{tmp_path / 'empty.yaml'}: no record in it: nothing to advise" in \
        result.stderr, result.stderr
    reader = read_records([str(tmp_path / "pkg.json")])
    (tmp_path / "pkg.json").write_text(json.dumps({"uri": "x", "releases": []}))  # (said once: its own words)
    list(Review(reader))
    assert reader.warnings == [f"{tmp_path / 'pkg.json'}:1: an OCDS release package with no releases: nothing to "
                               "advise"]


def test_totals_in_a_sentence_are_shortened_from_ten_thousand_pounds() -> None:
    from s16advisor.render.review import short_money

    assert [short_money(x) for x in (9999, 10000, 999_499, 1_250_000, 3_400_000_000)] == [
        "£9,999", "£10k", "£999k", "£1.3m", "£3.4bn"]
    # halves go up, as money is rounded: £1,450,000 was '£1.4m' (1.45 is just under it in binary), £12,500 '£12k'
    assert [short_money(x) for x in (1_450_000, 12_500, 2_450_000_000, 1_449_999.99, -1_450_000)] == [
        "£1.5m", "£13k", "£2.5bn", "£1.4m", "£-1.5m"]


def test_the_summary_says_a_contract_is_counted_both_ways_and_more_ids_only_when_so() -> None:
    from s16advisor.render.review import duplicate_lines, section16_line
    from s16advisor.review import Duplicates, ReviewSummary, Total

    s = ReviewSummary()
    s.reservable = {"public_service_mutual": Total(1, 100.0), "supported_business": Total(1, 200.0),
                    "either": Total(2, 300.0), "either_wales": Total(2, 300.0)}
    assert section16_line(s).endswith("1 to a supported business (£200, reg 20 / s.32).")
    s.reservable["either"] = s.reservable["either_wales"] = Total(1, 200.0)
    assert section16_line(s).endswith("(£200, reg 20 / s.32); a contract that could go either way is in both.")
    s.duplicates = Duplicates(ids=1, records=1, examples=[("A", ["f:1", "f:2"])])
    assert duplicate_lines(s) == ["Duplicate ids: 1 id used by more than one record (2 records): A (f:1, f:2). The "
                                  "totals above count each of these records."]
    s.duplicates = Duplicates(ids=2, records=1, examples=[("A", ["f:1", "f:2"])])
    assert "A (f:1, f:2); and 1 more. The totals" in duplicate_lines(s)[0]


def test_jobs_in_a_script_without_a_main_guard_under_spawn_is_one_clear_error(tmp_path: Path) -> None:
    """With the 'spawn' start method (the default on macOS and Windows; Linux forks), each worker imports the
    script again, and a script that calls review(jobs=2) at its top level, without ``if __name__ == "__main__":``,
    fails in every worker as it starts. Each chunk's records were then advised one at a time, each in a new
    worker that failed too: every record became 'not advised: the worker process advising it stopped
    unexpectedly' (600 records took 3 minutes and printed 602 tracebacks). It is one RuntimeError that says what
    to do, at once."""
    script = tmp_path / "analysis.py"
    script.write_text(
        "import multiprocessing, sys\n"
        "import s16advisor\n"
        "sys.platform = 'darwin'  # (as on macOS: the pool takes the default start method, set to spawn)\n"
        "multiprocessing.set_start_method('spawn', force=True)\n"
        f"records = {[contract(i) for i in range(6)]!r}\n"
        "results = list(s16advisor.review(records, jobs=2, chunk_size=1))\n"
        "print(len(results), sum(r.ok for r in results))\n", encoding="utf-8")
    start = time.monotonic()
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 1 and r.stdout == "", (r.stdout, r.stderr[-2000:])
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: review(jobs=2): the worker processes could not start"), last
    assert 'under if __name__ == "__main__":' in last and "jobs=1" in last, last
    assert time.monotonic() - start < 60


@pytest.mark.parametrize("rid", ["PEM-2026-014", "Cyngor Gwynedd — Café ☕", 'a "quoted" \\ id\t\x00', "lone \ud800"])
def test_a_json_result_writes_its_id_and_file_as_json_dumps_would(tmp_path: Path, rid: str) -> None:
    folder = tmp_path / "ffolder é"
    folder.mkdir()
    path = folder / "in.jsonl"
    path.write_bytes((json.dumps(contract(1, id=rid)) + "\n").encode("utf-8", "surrogatepass"))
    out = tmp_path / "out.jsonl"
    review_to_file([str(path)], str(out))
    line = out.read_bytes().decode("utf-8").rstrip("\n")
    assert line.startswith('{"source":{"file":' + json.dumps(str(path)) + ',"line":1},"id":' + json.dumps(rid) + ",")
