"""The drift benchmark's synthetic cluster stays a valid input as the overlay changes.

It once broke unnoticed when the overlay gained a second namespace with a same-named Role; this
runs its generator and one measurement at a small size (no timing is asserted).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("drift_bench", ROOT / "benchmarks" / "drift_bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("drift_bench", module)
    spec.loader.exec_module(module)
    return module


def test_the_synthetic_cluster_has_unique_objects_and_the_drift_it_plants() -> None:
    bench = _bench()
    base = bench.overlay()
    assert {o["metadata"].get("namespace") for o in base} >= {"airflow", "airflow-infra"}
    desired, live = bench.synthesise(base, 400)
    identities = {(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in desired}
    assert len(identities) == len(desired) == len(live) == 400
    figures = bench.measure(base, 400, runs=1)  # asserts 1% of the objects reported modified
    assert figures["size"] == 400 and figures["live_bytes"] > 0
