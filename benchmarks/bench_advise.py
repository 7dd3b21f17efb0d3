"""Throughput, memory and cold-start benchmark for the advisor (a script, not a test).

    .venv/bin/python benchmarks/bench_advise.py                      # N = 10,000 and 100,000, durable engine
    .venv/bin/python benchmarks/bench_advise.py --n 10000 --engine python

For each N a fresh subprocess builds one Advisor, then advises N generated contract descriptions one after
the other and reports contracts per second (time spent in ``Advisor.advise`` only, generation excluded) and
its peak RSS (``resource.getrusage``). Contracts are generated lazily, so the peak RSS measures the advisor,
not a list of inputs; the generator is seeded, so every run (and every N: the first 10,000 of 100,000 are
the 10,000) advises the same contracts. Then the wall time of a cold ``s16advisor advise`` of the bundled
example is measured (median of fresh processes).

Targets on a 2-core machine: >= 5,000 contracts/s (durable engine), peak RSS at 100,000 no more than 20%
above that at 10,000, cold advise under 0.5 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def require_project() -> None:
    """The benchmarks run the installed project: with another interpreter, say so (not a child's traceback)."""
    try:
        import s16advisor  # noqa: F401
    except ImportError as e:
        sys.exit(f"{Path(sys.argv[0]).name}: cannot import s16advisor ({e}); run it with the project's "
                 f"interpreter, e.g. .venv/bin/python benchmarks/{Path(sys.argv[0]).name}")


EXAMPLE = ROOT / "examples" / "supported-living.yaml"

# Real CPV 2008 codes with their official check digits (checked against ../shared/reference/cpv2008.tsv).
CPV_CODES = (
    "85311200-4",  # welfare services for the handicapped
    "85312400-3",  # welfare services not delivered through residential institutions
    "85000000-9",  # health and social work services
    "85323000-9",  # community health services
    "80660000-8",  # training and simulation in military electronic systems
    "90910000-9",  # cleaning services
    "45000000-7",  # construction work
    "72000000-5",  # IT services: consulting, software development, Internet and support
    "33000000-0",  # medical equipments, pharmaceuticals and personal care products
    "79710000-4",  # security services
    "85311000-2",  # social work services with accommodation
    "85320000-8",  # social services
    "55523100-3",  # school-meal services
    "98133000-4",  # services furnished by social membership organisations
    "75231240-8",  # probation services
)
FIRST_DAY = dt.date(2015, 2, 26)
ACT_FIRST_DAY = dt.date(2025, 2, 24)
LAST_DAY = dt.date(2025, 2, 23)
ROUTES = (
    "below_threshold", "open", "restricted", "competitive_procedure_with_negotiation", "competitive_dialogue",
    "competitive_flexible", "innovation_partnership", "light_touch", "reserved_supported_business",
    "reserved_public_service_mutual", "small_lots",
)
OBJECTIVES = ("social_value_models", "supported_employment", "innovation", "sme_access")
# Thresholds (pounds) the values cluster around: the PCR 2015 figures of 2015-2025, net and inclusive.
THRESHOLDS = (
    62842, 65630, 66672, 70778, 80000, 106047, 111676, 118133, 122976, 138760, 139688, 164176, 172514,
    181302, 189330, 213477, 214904, 589148, 615278, 625050, 663540, 796232, 1000000, 4104394, 4322012,
    4551413, 4733252, 5336937, 5372609,
)


def _amount(rnd: random.Random) -> float:
    """£1k to £10m: half spread evenly on a log scale, half within 15% of a threshold (some exactly on it)."""
    if rnd.random() < 0.5:
        amount = 10 ** rnd.uniform(3, 7)
    else:
        t = rnd.choice(THRESHOLDS)
        amount = t if rnd.random() < 0.1 else t * rnd.uniform(0.85, 1.15)
        if rnd.random() < 0.2:  # the same threshold stated inclusive of VAT
            amount *= 1.2
    amount = min(max(amount, 1000.0), 10_000_000.0)
    return round(amount) if rnd.random() < 0.7 else round(amount, 2)


def _cpv(rnd: random.Random) -> str:
    code = rnd.choice(CPV_CODES)
    r = rnd.random()
    if r < 0.05:  # a wrong check digit (a finding)
        return f"{code[:8]}-{(int(code[9]) + 1) % 10}"
    if r < 0.10:  # no check digit
        return code[:8]
    return code


def _lots(rnd: random.Random, amount: float, cpv: list[str]) -> list[dict[str, Any]]:
    """2-6 lots whose values add up to the amount (to the penny), some of them small lots."""
    count = rnd.randint(2, 6)
    weights = [rnd.random() + 0.05 for _ in range(count)]
    total = sum(weights)
    values = [round(amount * w / total, 2) for w in weights]
    values[-1] = round(amount - sum(values[:-1]), 2)
    if values[-1] < 0:  # rounding can push the last lot a penny below zero
        values = [round(amount / count, 2)] * (count - 1)
        values.append(round(amount - sum(values), 2))
    lots = []
    for i, value in enumerate(values):
        lot: dict[str, Any] = {"id": f"L{i + 1}", "value": max(value, 0.0)}
        if rnd.random() < 0.3:
            lot["small_lot"] = True
        if rnd.random() < 0.3:
            lot["cpv"] = [rnd.choice(cpv)] if rnd.random() < 0.7 else [_cpv(rnd)]
        lots.append(lot)
    return lots


def contract_mapping(rnd: random.Random, i: int) -> dict[str, Any]:
    """One varied contract description (a mapping, as read from YAML)."""
    start = FIRST_DAY + dt.timedelta(days=rnd.randint(0, (LAST_DAY - FIRST_DAY).days))
    amount = _amount(rnd)
    cpv = list(dict.fromkeys(_cpv(rnd) for _ in range(rnd.choice((1, 1, 1, 2, 2, 3)))))
    vat = rnd.choice(("inclusive", "exclusive"))
    m: dict[str, Any] = {
        "id": f"BENCH-{i:07d}",
        "title": f"Generated contract {i}",
        "authority": {
            "name": "Bench County Council",
            "type": rnd.choice(("sub_central", "sub_central", "central_government")),
            "nation": rnd.choice(("wales", "wales", "wales", "england", "northern_ireland")),
        },
        "procurement_start": start.isoformat(),
        "contract_type": rnd.choice(("services", "services", "supplies", "works")),
        "value": {"amount": amount, "vat": vat, "vat_rate": rnd.choice((0.2, 0.2, 0.2, 0.0))},
        "duration_months": rnd.choice((6, 12, 24, 36, 37, 48, 60)),
        "cpv": cpv,
    }
    if rnd.random() < 0.35:
        m["lots"] = _lots(rnd, amount, cpv)
    elif rnd.random() < 0.3:
        m["reasons_for_not_lotting"] = rnd.choice(("One site, one team.", "   ", "Continuity of care."))
    if rnd.random() < 0.4:
        m["reservation"] = rnd.choice(("none", "supported_business", "public_service_mutual"))
    if rnd.random() < 0.5:
        m["route"] = rnd.choice(ROUTES)
    if rnd.random() < 0.5:
        m["objectives"] = rnd.sample(OBJECTIVES, rnd.randint(1, 3))
    if rnd.random() < 0.2:
        m["innovation"] = {
            "solution_available_on_market": rnd.choice((True, False, "unknown")),
            "research_and_development": rnd.random() < 0.5,
        }
    if rnd.random() < 0.25:
        awards = []
        for k in range(rnd.randint(1, 2)):
            awarded = start - dt.timedelta(days=rnd.randint(-30, 5 * 365))
            award_cpv = [rnd.choice(cpv) if rnd.random() < 0.7 else rnd.choice(CPV_CODES)]
            basis = rnd.choice(("reg77", "s33"))
            # No award under a basis before it existed (the advisor refuses one): s.33 from the Act's go-live,
            # reg 77 from PCR 2015's.
            if basis == "s33" and awarded < ACT_FIRST_DAY:
                basis = "reg77"
            awarded = max(awarded, FIRST_DAY)
            awards.append({"supplier": f"Co-operative {k}", "awarded": awarded.isoformat(), "cpv": award_cpv,
                           "basis": basis})
        m["prior_reserved_awards"] = awards
    return m


def contracts(n: int, seed: int = 2014) -> Iterator[Any]:
    """``n`` validated ContractDescriptions, made one at a time."""
    from s16advisor.contract import contract_from_mapping

    rnd = random.Random(seed)
    for i in range(n):
        yield contract_from_mapping(contract_mapping(rnd, i), f"<bench {i}>")


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """Peak RSS of this process (or, with RUSAGE_CHILDREN, of its largest waited-for child) in MiB."""
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    rss = resource.getrusage(who).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def run_child(n: int, engine_name: str, seed: int) -> dict[str, Any]:
    """In this process: one Advisor, n contracts, advice time only."""
    from s16advisor.advisor import Advisor
    from s16advisor.engine import PythonEngine, default_engine

    advisor = Advisor(engine=PythonEngine() if engine_name == "python" else default_engine())
    rss_ready = peak_rss_mib()
    advise = advisor.advise
    clock, cpu = time.perf_counter, time.thread_time
    spent = spent_cpu = 0.0
    recommended = 0
    for c in contracts(n, seed):
        t0, c0 = clock(), cpu()
        advice = advise(c)
        spent_cpu += cpu() - c0
        spent += clock() - t0
        recommended += len(advice.recommended)
    ev = advisor.evaluator
    return {
        "n": n, "engine": advisor.evaluator.engine.name, "seconds": spent, "per_second": n / spent,
        "cpu_seconds": spent_cpu, "per_cpu_second": n / spent_cpu,
        "peak_rss_mib": peak_rss_mib(), "rss_after_setup_mib": rss_ready, "recommended": recommended,
        "memo_hits": ev.hits, "memo_misses": ev.misses,
    }


def run_fresh(n: int, engine_name: str, seed: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(n), "--engine", engine_name, "--seed", str(seed)],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold_advise(runs: int) -> tuple[float, list[float]]:
    """Wall times of fresh ``s16advisor advise`` processes. As after ``pip install`` (which compiles the modules),
    the modules' byte code is cached: one untimed run first writes it, with PYTHONDONTWRITEBYTECODE taken out of
    the environment (with it set and no cache, every run would compile the package's modules again: about a sixth
    of the instructions of a cold advise)."""
    exe = Path(sys.executable).parent / "s16advisor"
    cmd = [str(exe), "advise", str(EXAMPLE), "--format", "json"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000], help="contract counts (one process each)")
    p.add_argument("--engine", choices=("durable", "python"), default="durable")
    p.add_argument("--seed", type=int, default=2014)
    p.add_argument("--cold-runs", type=int, default=5, help="cold `s16advisor advise` runs (0 to skip)")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    require_project()
    if args.child is not None:
        print(json.dumps(run_child(args.child, args.engine, args.seed)))
        return

    results = []
    print(f"engine: {args.engine}  (python {sys.version.split()[0]}, {os.cpu_count()} CPUs, seed {args.seed}, "
          f"load average {os.getloadavg()[0]:.2f} before)")
    print(f"{'N':>9}  {'contracts/s':>12}  {'advice s':>9}  {'peak RSS MiB':>12}  {'RSS after setup':>15}  "
          f"{'memo hit%':>9}  {'contracts/CPU-s':>15}")
    for n in args.n:
        r = run_fresh(n, args.engine, args.seed)
        results.append(r)
        hit = 100 * r["memo_hits"] / max(1, r["memo_hits"] + r["memo_misses"])
        print(f"{r['n']:>9,}  {r['per_second']:>12,.0f}  {r['seconds']:>9.2f}  {r['peak_rss_mib']:>12.1f}  "
              f"{r['rss_after_setup_mib']:>15.1f}  {hit:9.1f}  {r['per_cpu_second']:>15,.0f}", flush=True)
    if len(results) > 1:
        lo, hi = min(results, key=lambda r: r["n"]), max(results, key=lambda r: r["n"])
        growth = 100 * (hi["peak_rss_mib"] / lo["peak_rss_mib"] - 1)
        print(f"peak RSS growth {lo['n']:,} -> {hi['n']:,}: {growth:+.1f}% (target <= +20%)")
    slow = [r for r in results if r["per_second"] < 5000]
    if args.engine == "durable":
        print("throughput target (>= 5,000/s):", "met" if not slow else f"MISSED at N={[r['n'] for r in slow]}")
    if args.cold_runs:
        median, times = cold_advise(args.cold_runs)
        print(f"cold `s16advisor advise {EXAMPLE.relative_to(ROOT)} --format json`: median {median:.3f} s of "
              f"{args.cold_runs} ({', '.join(f'{t:.3f}' for t in times)}) (target < 0.5 s)")
    print(f"load average {os.getloadavg()[0]:.2f} after (contracts/s is wall-clock time in Advisor.advise; "
          "contracts/CPU-s counts this thread's CPU time only, so other load on the machine affects it less)")


if __name__ == "__main__":
    main()
