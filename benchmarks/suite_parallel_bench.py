"""The test suite's wall time: serial (as `.ci/run` ran it before pytest-xdist) against `-n auto`
(as it runs it now), on the same machine, on the same selection of tests.

Target (issue: the tool's contract under faults): `.ci/run` is faster than before; the suite part
must take less wall time in parallel: serial / parallel > 1 (2 cores: up to about 1.8x).
Run: .venv/bin/python benchmarks/suite_parallel_bench.py [-m MARKEXPR]   (default: the fast tier,
`not slow and not real`; `-m ""` for the whole suite, which takes many minutes).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _wall(args: list[str]) -> tuple[float, str]:
    """Seconds one pytest run takes, and its summary line; the run must pass."""
    with tempfile.TemporaryDirectory(prefix="suite-bench-") as base:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", base, *args]
        start = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        took = time.perf_counter() - start
    summary = (result.stdout.strip().splitlines() or [""])[-1]
    if result.returncode != 0:
        raise SystemExit(f"pytest {' '.join(args)} failed: {summary}")
    return took, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", dest="marks", default="not slow and not real")
    marks = parser.parse_args().marks
    selection = ["-m", marks] if marks else []
    serial, serial_summary = _wall([*selection, "-p", "no:xdist"])
    parallel, parallel_summary = _wall([*selection, "-n", "auto"])
    print(f"selection: {marks or 'the whole suite'} on {os.cpu_count()} CPUs")
    print(f"serial:   {serial:7.1f} s  ({serial_summary})")
    print(f"parallel: {parallel:7.1f} s  ({parallel_summary})")
    print(f"serial / parallel: {serial / parallel:.2f}x (target > 1)")


if __name__ == "__main__":
    main()
