"""The local half of `gitops-tool dags push` (scan, compile every .py, deterministic pack) against
GNU `tar czf` of the same folder, the floor of any packing. Also the archive size ratio.

Run: .venv/bin/python benchmarks/dags_pack_bench.py
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from gitops_tool.adapters.dags_source import scan_folder
from gitops_tool.core.dags.bundle import file_digests, pack
from gitops_tool.core.dags.checks import compile_problems

DAG = """
from datetime import datetime, timedelta

DEFAULT_ARGS = {{"owner": "data", "retries": 2, "retry_delay": timedelta(minutes=5)}}


def extract_{n}(**context):
    rows = [dict(id=i, value=i * {n}) for i in range(100)]
    return sum(r["value"] for r in rows)


def transform_{n}(rows):
    return [{{**r, "double": r["value"] * 2}} for r in rows if r["id"] % 3]


SCHEDULE = "@daily"
START = datetime(2026, 1, 1)
"""


def _tree(root: Path, files: int) -> None:
    for n in range(files):
        folder = root / f"team_{n % 12}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"dag_{n}.py").write_text(DAG.format(n=n) * 3)


def _median(action: object, runs: int = 9) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "dags"
        _tree(root, 400)
        archive = Path(tmp) / "floor.tar.gz"

        def ours() -> bytes:
            entries = scan_folder(root)
            assert not compile_problems(entries)
            file_digests(entries)
            return pack(entries)

        def floor() -> None:
            subprocess.run(["tar", "czf", str(archive), "-C", str(root), "."], check=True)

        entries = scan_folder(root)
        ours_s, floor_s = _median(ours), _median(floor)
        compile_s = _median(lambda: compile_problems(entries))
        size, floor_size = len(ours()), archive.stat().st_size
    print(f"tar czf (floor)                {floor_s * 1000:7.1f} ms  {floor_size / 1024:6.1f} KiB")
    print(f"scan+compile+digest+pack       {ours_s * 1000:7.1f} ms  {size / 1024:6.1f} KiB")
    print(f"  of which compile()           {compile_s * 1000:7.1f} ms")
    print(f"time ratio {ours_s / floor_s:.2f}   size ratio {size / floor_size:.2f}   (400 DAG files)")


if __name__ == "__main__":
    main()
