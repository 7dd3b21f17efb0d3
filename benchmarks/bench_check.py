"""Wall time of the CI gate on many drafts (a script, not a test).

    .venv/bin/python benchmarks/bench_check.py                 # 500 drafts, 3 fresh runs
    .venv/bin/python benchmarks/bench_check.py --n 2000 --runs 5

Writes N drafts (copies of the bundled examples/drafts/, each with its own id, so a third or a half fail) to a
temporary folder, then times fresh ``s16advisor check DIR --format json`` processes, as CI runs them, and prints
each run's wall time and their median. Target on a 2-core machine: 500 drafts in under 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_advise import ROOT, require_project  # noqa: E402

DRAFTS = sorted((ROOT / "examples" / "drafts").glob("*.yaml"))


def write_drafts(folder: Path, n: int) -> None:
    """``n`` drafts, the examples in turn, each id made unique (``id: X`` becomes ``id: X-<k>``)."""
    texts = [d.read_text(encoding="utf-8") for d in DRAFTS]
    for k in range(n):
        lines = texts[k % len(texts)].splitlines(keepends=True)
        at = next(i for i, line in enumerate(lines) if line.startswith("id: "))
        lines[at] = lines[at].rstrip("\n") + f"-{k}\n"
        (folder / f"d{k:05}.yaml").write_text("".join(lines), encoding="utf-8")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=500, help="drafts to check (default 500)")
    p.add_argument("--runs", type=int, default=3, help="fresh `s16advisor check` processes to time (default 3)")
    args = p.parse_args()
    require_project()
    exe = Path(sys.executable).parent / "s16advisor"
    with tempfile.TemporaryDirectory(prefix="s16advisor-bench-check-") as tmp:
        folder = Path(tmp)
        write_drafts(folder, args.n)
        cmd = [str(exe), "check", str(folder), "--format", "json"]
        print(f"{args.n:,} drafts ({', '.join(d.name for d in DRAFTS)} in turn), python {sys.version.split()[0]}, "
              f"load average {os.getloadavg()[0]:.2f} before")
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            times.append(time.perf_counter() - t0)
            if r.returncode not in (0, 1) or len(json.loads(r.stdout)["drafts"]) != args.n:
                sys.exit(f"check failed (exit {r.returncode}): {r.stderr.strip()[:500]}")
    print(f"`s16advisor check DIR --format json`: median {statistics.median(times):.2f} s of {args.runs} "
          f"({', '.join(f'{t:.2f}' for t in times)}) (target for 500 drafts: under 5 s)")
    print(f"load average {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
