"""Cost of add-scheduler against its floor: the `gitops-tool validate` of the overlay it runs anyway.

add-scheduler = plan + write + render + validate + commit; everything but the validation (a render
and the schema and policy checks) is the tool's own overhead, reported as a ratio.
Run: .venv/bin/python benchmarks/scheduler_bench.py
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOL = str(Path(sys.executable).parent / "gitops-tool")
HA = "overlays/three-node-ha"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main(runs: int = 7) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        for name in ("base", "overlays", "policies", "argocd", "components"):
            if (ROOT / name).is_dir():
                shutil.copytree(ROOT / name, repo / name)
        _git(repo, "init", "-q", "-b", "main")
        _git(repo, "config", "user.name", "Bench")
        _git(repo, "config", "user.email", "bench@example.com")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", "initial")
        validate, add, remove = [], [], []
        for _ in range(runs):
            validate.append(_timed([TOOL, "validate", HA], repo))
            add.append(_timed([TOOL, "add-scheduler", "3", "--node", "node-4"], repo))
            remove.append(_timed([TOOL, "remove-scheduler", "3"], repo))
    floor = statistics.median(validate)
    for label, samples in (("add-scheduler 3", add), ("remove-scheduler 3", remove)):
        median = statistics.median(samples)
        ratio = median / floor
        print(f"{label:<20} {median * 1000:7.1f} ms  ratio {ratio:.2f} to validate ({floor * 1000:.1f} ms)")


if __name__ == "__main__":
    main()
