"""The README cannot drift from the program: commands, formats, exit codes, route ids and the CI command."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from s16advisor.cli import app
from s16advisor.contract import ROUTE_IDS
from s16advisor.render import AdviceFormat

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    import typer.main

    group = typer.main.get_command(app)
    return sorted(group.commands)  # type: ignore[attr-defined]


def test_every_command_is_in_the_readme():
    for name in _commands():
        assert f"s16advisor {name}" in README, name


def test_every_advice_format_is_in_the_readme():
    for fmt in AdviceFormat:
        assert fmt.value in README, fmt


def test_every_route_id_is_in_the_readme():
    for rid in ROUTE_IDS:
        assert f"`{rid}`" in README, rid


def test_every_exit_code_is_in_the_readme():
    table = README.split("### Exit codes", 1)[1]
    for code in ("0", "1", "2", "3"):
        assert re.search(rf"^\| {code} \|", table, re.M), code


def test_the_ci_script_runs_the_readme_test_command():
    quick = README.split("## Quick start", 1)[1].split("##", 1)[0]
    test_cmd = next(line for line in quick.splitlines() if "pytest" in line and not line.startswith("#"))
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for part in [p.strip() for p in test_cmd.split("&&")]:
        if part.startswith("python3 -m venv"):
            assert "python3 -m venv .venv" in ci
        elif "pip install" in part:
            assert '-e ".[test]"' in ci and "pip install" in ci
        else:
            assert part in ci, part


def test_the_readme_example_is_the_programs_real_output():
    from io import StringIO

    from s16advisor.advisor import advise_read
    from s16advisor.render import render_advice

    block = README.split("`s16advisor advise examples/supported-living.yaml`", 1)[1].split("```text\n", 1)[1]
    shown = block.split("```", 1)[0]
    out = StringIO()
    advice, contract = advise_read(str(ROOT / "examples" / "supported-living.yaml"))
    render_advice(advice, AdviceFormat.text, out, color=False, contract=contract)  # (as the command does)
    assert shown.strip() == out.getvalue().strip()


def test_the_readmes_review_transcript_is_what_the_command_prints(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    command = "s16advisor review tests/review/release-package.json tests/review/record-package.json -o notices.csv"
    shown = README.split(f"$ {command}\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(ROOT)
    args = command.split()[1:-1] + [str(tmp_path / "notices.csv"), "--no-progress", "--no-color"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 3  # (two notices too thin to advise on)
    assert result.stderr.strip() == shown.strip()


def test_the_readmes_regime_comparison_is_what_the_command_prints(monkeypatch):
    # It still showed the Act's plan as light_touch + reserved_public_service_mutual once a s.33 reservation planned
    # the competitive flexible procedure between them.
    from typer.testing import CliRunner

    command = "s16advisor advise examples/supported-living-2026.yaml --compare-regimes"
    shown = README.split(f"$ {command}\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, command.split()[1:], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert result.stdout.strip() == shown.strip()


def test_the_readmes_input_example_is_a_valid_contract_description():
    from s16advisor.contract import contract_from_document
    from s16advisor.yamlio import parse_text

    block = README.split("## Input: the contract description", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    contract = contract_from_document(parse_text(block, "README.md"))
    assert contract.lots is not None and sum(lot.value for lot in contract.lots) == contract.value.amount


def test_every_name_the_readmes_python_section_uses_is_exported():
    # It named review_to_file(paths, output) as what the command runs, but `from s16advisor import review_to_file`
    # failed (and `s16advisor.review` is the function, not the module, so s16advisor.review.review_to_file did too).
    import s16advisor

    python = README.split("### Python", 1)[1].split("\n### ", 1)[0]
    names = {n.strip(" ()") for line in re.findall(r"^from s16advisor import (.*?)(?:#|$)", python, re.M)
             for n in line.split(",")}
    names |= set(re.findall(r"`([a-z_]+)\(", python)) - {"result.to_json_dict", "read_records"}
    names |= set(re.findall(r"\(also ([A-Za-z, ]+)\)", python)[0].replace(" ", "").split(","))
    names |= set(re.findall(r"s16advisor\.([A-Za-z_]+)", python))
    assert {"review", "read_records", "review_to_file", "Review", "ReviewResult", "ReviewOptions"} <= names, names
    for name in names:
        assert name in s16advisor.__all__ and callable(getattr(s16advisor, name)), name


def test_the_readmes_adding_a_rule_step_names_what_the_hygiene_tests_require():
    # Followed literally, a rule whose `why` was one short sentence failed a hygiene test step 3 did not mention.
    hygiene = (ROOT / "tests" / "test_hygiene.py").read_text(encoding="utf-8")
    step = README.split("### Adding a rule", 1)[1].split("\n4. ", 1)[0]
    words = re.search(r"len\(r\.why\.split\(\)\) >= (\d+)", hygiene).group(1)
    assert f"`why`\n   has fewer than {words} words" in step or f"`why` has fewer than {words} words" in step
    sentence = re.search(r"len\(n\.split\(\)\) >= (\d+)", hygiene).group(1)
    assert f"at least {sentence} words" in step
    assert "r.title[0].isupper() and r.decides[0].isupper()" in hygiene and "start with a capital" in step
    assert 'ref.startswith("https://")' in hygiene and "`https://`" in step


def test_the_pre_commit_hook_checks_drafts_and_skips_hidden_files():
    import yaml

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))

    def checked(path: str) -> bool:  # as pre-commit selects files: `files` searched, `exclude` searched
        return bool(re.search(hook["files"], path)) and not re.search(hook["exclude"], path)

    assert [p for p in ("drafts/a.yaml", "b.yml", "c.json", "d.md", ".pre-commit-config.yaml",
                        ".github/workflows/ci.yml", "drafts/.hidden.yaml") if checked(p)] == [
        "drafts/a.yaml", "b.yml", "c.json"]


@pytest.mark.skipif(shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(),
                    reason="ruff is not installed")
def test_ruff_passes():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    result = subprocess.run([ruff, "check", "s16advisor", "tests", "benchmarks"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
