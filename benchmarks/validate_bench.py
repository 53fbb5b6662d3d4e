"""Schema validation speed: gitops-tool's cached validator vs kubernetes-validate per call.

kubernetes-validate re-reads its 1-2 MB definitions file on every call; the SchemaValidator loads
it once per Kubernetes version. Prints the speed-up on the rendered HA overlay repeated 40 objects+.
Run: .venv/bin/python benchmarks/validate_bench.py
"""

from __future__ import annotations

import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    import kubernetes_validate

    from gitops_tool.adapters.schema import SchemaValidator
    from gitops_tool.services.rendering import render_overlay

    objects = render_overlay("overlays/three-node-ha", root=ROOT).objects()
    while len(objects) < 40:
        objects = objects + objects
    start = time.perf_counter()
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, "1.37", strict=True)
        except Exception:  # noqa: S112 - only the time matters here
            continue
    baseline = time.perf_counter() - start
    start = time.perf_counter()
    SchemaValidator("1.37").validate(objects, "bench")
    ours = time.perf_counter() - start
    print(f"objects                       {len(objects)}")
    print(f"kubernetes-validate per call  {baseline * 1000:8.1f} ms")
    print(f"gitops-tool SchemaValidator   {ours * 1000:8.1f} ms  speed-up {baseline / ours:.1f}x")


if __name__ == "__main__":
    main()
