"""Policy evaluation of every overlay against rendering them, as a ratio.

Target (issue: policies as Rego): evaluating the policies on all overlays takes at most 2x the time
kustomize takes to render them. Rendering is `gitops-tool`'s render service (the pinned kustomize);
evaluation is what `validate` adds per overlay: the input document (layout, embedded pod templates)
and one query of the compiled bundle. Compiling the bundle happens once per run and is shown apart.
Run: .venv/bin/python benchmarks/policy_bench.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _median_seconds(action: Callable[[], object], runs: int = 9) -> float:
    action()  # warm caches
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    from gitops_tool.adapters.policy import PolicyEngine
    from gitops_tool.adapters.project import list_overlays
    from gitops_tool.services.policy import check_overlay
    from gitops_tool.services.rendering import render_overlay

    overlays = list_overlays(ROOT)
    rendered = [render_overlay(str(path), root=ROOT) for path in overlays]
    parsed = [(r, r.objects()) for r in rendered]

    start = time.perf_counter()
    engine = PolicyEngine(ROOT / "policies")
    compile_s = time.perf_counter() - start

    def render_all() -> None:
        for path in overlays:
            render_overlay(str(path), root=ROOT)

    def evaluate_all() -> None:
        for r, objects in parsed:
            check_overlay(engine, r.path, r.label, objects)

    render_s = _median_seconds(render_all)
    policy_s = _median_seconds(evaluate_all)
    count = sum(len(objects) for _, objects in parsed)
    print(f"overlays            {len(overlays)} ({count} objects)")
    print(f"render (kustomize)  {render_s * 1000:7.1f} ms")
    print(f"policy evaluation   {policy_s * 1000:7.1f} ms  ratio {policy_s / render_s:.2f} (target <= 2.0)")
    print(f"bundle compile      {compile_s * 1000:7.1f} ms  (once per run)")
    with_compile = (policy_s + compile_s) / render_s
    print(f"evaluation + compile ratio {with_compile:.2f}")


if __name__ == "__main__":
    main()
