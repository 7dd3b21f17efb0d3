"""Batch review benchmark (a script, not a test): records/s and peak RSS of `s16advisor review`.

    .venv/bin/python benchmarks/bench_review.py                        # 100,000 and 1,000,000 records, --jobs 2
    .venv/bin/python benchmarks/bench_review.py --n 100000 --format jsonl csv --jobs 1 2

For each N it writes N generated contract descriptions as JSON Lines (the varied contracts of bench_advise.py,
a third of them commenced under the Procurement Act 2023, and ``--bad`` of them malformed), then runs the real
command, ``s16advisor review IN.jsonl -o OUT.<format> --jobs J``, in a fresh process, and reports its wall time,
records per second, CPU time (the main process and its workers) and peak RSS of the main process and of the
largest worker (``getrusage``). Inputs are generated once per N and seed (``--dir`` keeps them between runs);
outputs are deleted after each run (a million JSON Lines results take about 11 GB).

Targets on a 2-core machine: 100,000 JSON Lines records in at most 10 s with --jobs 2; peak RSS for 1,000,000
records at most 1.2 times the peak for 100,000.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_advise import contract_mapping, peak_rss_mib, require_project  # noqa: E402

PA2023_FIRST, PA2023_LAST = dt.date(2025, 2, 24), dt.date(2027, 12, 31)
GENERATOR = "g2"  # changed when generate() or contract_mapping() change what they write: --dir keeps inputs by it


def generate(path: Path, n: int, seed: int, bad: float) -> None:
    """``n`` JSON lines: varied contract descriptions, some commenced under the Act, some malformed."""
    rnd = random.Random(seed)
    span = (PA2023_LAST - PA2023_FIRST).days
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            m = contract_mapping(rnd, i)
            if rnd.random() < 1 / 3:
                m["procurement_start"] = (PA2023_FIRST + dt.timedelta(days=rnd.randint(0, span))).isoformat()
            line = json.dumps(m, separators=(",", ":"))
            if rnd.random() < bad:
                line = line[: len(line) // 2]  # cut in half: malformed JSON
            f.write(line + "\n")


def input_file(folder: Path, n: int, seed: int, bad: float) -> Path:
    path = folder / f"review-{n}-{seed}-{bad}-{GENERATOR}.jsonl"  # (a new generator: new inputs)
    if not path.exists():
        t0 = time.perf_counter()
        tmp = path.with_suffix(".partial")
        generate(tmp, n, seed, bad)
        tmp.replace(path)
        print(f"  generated {path.name} ({path.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - t0:.1f} s",
              flush=True)
    return path


def run_child(args: list[str]) -> dict[str, Any]:
    """In this process: the CLI, as `s16advisor review ...` runs it; then what it cost."""
    from s16advisor import cli

    sys.argv = ["s16advisor", "review", *args]
    t0 = time.perf_counter()
    code = 0
    try:
        cli.main()
    except SystemExit as e:
        code = int(e.code or 0)
    wall = time.perf_counter() - t0
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"exit": code, "wall": wall, "main_rss_mib": peak_rss_mib(),
            "worker_rss_mib": peak_rss_mib(resource.RUSAGE_CHILDREN),
            "main_cpu": me.ru_utime + me.ru_stime, "workers_cpu": kids.ru_utime + kids.ru_stime}


def run(path: Path, n: int, fmt: str, jobs: int, folder: Path) -> dict[str, Any]:
    out = folder / f"out.{fmt}"
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", str(path), "-o", str(out), "--jobs", str(jobs),
                           "--no-progress"], capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - t0
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise SystemExit(f"the review failed:\n{done.stdout}\n{done.stderr}") from None
    lines = None
    if fmt != "json":
        with open(out, "rb") as f:
            lines = sum(1 for _ in f) - (1 if fmt == "csv" else 0)
    size = out.stat().st_size
    out.unlink()
    summary = done.stderr.strip().splitlines()[0] if done.stderr.strip() else ""
    return {**result, "n": n, "format": fmt, "jobs": jobs, "process_wall": elapsed, "results": lines,
            "output_mb": size / 1e6, "summary": summary}


def main() -> None:
    if sys.argv[1:2] == ["--child"]:  # the command's own arguments follow, untouched
        print(json.dumps(run_child(sys.argv[2:])))
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000], help="record counts")
    p.add_argument("--jobs", type=int, nargs="+", default=[2], help="--jobs values to run")
    p.add_argument("--format", nargs="+", default=["csv"], choices=["csv", "jsonl", "json"],
                   help="output formats to run (default csv: a million JSON Lines results are about 11 GB)")
    p.add_argument("--seed", type=int, default=2014)
    p.add_argument("--bad", type=float, default=0.01, help="fraction of malformed lines (default 0.01)")
    p.add_argument("--dir", type=Path, help="keep the generated inputs in this folder (default: a temporary one)")
    args = p.parse_args()
    require_project()

    folder_ctx = tempfile.TemporaryDirectory(prefix="s16advisor-bench-") if args.dir is None else None
    folder = Path(folder_ctx.name) if folder_ctx else args.dir
    folder.mkdir(parents=True, exist_ok=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, seed {args.seed}, {args.bad:.0%} malformed")
    print(f"{'N':>10} {'format':>6} {'jobs':>4} {'wall s':>7} {'records/s':>10} {'CPU main s':>10} "
          f"{'CPU workers s':>13} {'RSS main MiB':>12} {'RSS worker MiB':>14} {'output MB':>10}  results")
    results = []
    try:
        for n in args.n:
            path = input_file(folder, n, args.seed, args.bad)
            for fmt in args.format:
                for jobs in args.jobs:
                    r = run(path, n, fmt, jobs, folder)
                    results.append(r)
                    ok = "" if r["results"] in (None, n) else f"  MISMATCH: {r['results']} results for {n} records"
                    print(f"{n:>10,} {fmt:>6} {jobs:>4} {r['wall']:>7.1f} {n / r['wall']:>10,.0f} "
                          f"{r['main_cpu']:>10.1f} {r['workers_cpu']:>13.1f} {r['main_rss_mib']:>12.1f} "
                          f"{r['worker_rss_mib']:>14.1f} {r['output_mb']:>10,.0f}  {r['results']}{ok}", flush=True)
    finally:
        if folder_ctx:
            folder_ctx.cleanup()
    for fmt in args.format:
        for jobs in args.jobs:
            runs = {r["n"]: r for r in results if r["format"] == fmt and r["jobs"] == jobs}
            if 100_000 in runs and jobs == 2:
                r = runs[100_000]
                verdict = "met" if r["wall"] <= 10 else "MISSED"
                print(f"target 100,000 records in <= 10 s (--jobs 2, {fmt}): {r['wall']:.1f} s, {verdict}")
            if 100_000 in runs and 1_000_000 in runs:
                a, b = runs[100_000], runs[1_000_000]
                for key, name in (("main_rss_mib", "main process"), ("worker_rss_mib", "largest worker")):
                    ratio = b[key] / a[key]
                    print(f"peak RSS 1,000,000 / 100,000 ({fmt}, --jobs {jobs}, {name}): {b[key]:.1f} / "
                          f"{a[key]:.1f} MiB = {ratio:.2f}x (target <= 1.2x: {'met' if ratio <= 1.2 else 'MISSED'})")


if __name__ == "__main__":
    main()
