"""What attribution (each difference's live owner from managedFields, issue 19) adds to an audit.

The same synthetic 10,000-object snapshot as benchmarks/drift_bench.py (the rendered three-node-ha
overlay copied across namespaces, every object as the API server returns it, 1% drifted by
``kubectl set image`` / ``edit`` / ``label``), audited by the engine with and without attribution
(normalise, compare, JSON report). Target: attribution adds at most 10% (ratio <= 1.10). Two ratios
are printed: the two whole audits (interleaved, best of each), and the audit plus attribution's own
work timed alone, which a machine busy with other work disturbs far less. A second line measures a
snapshot with 10% of the objects drifted, for scale.

Run: .venv/bin/python benchmarks/drift_attribution_bench.py [--size N] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from drift_bench import _best, _drift, overlay, synthesise  # noqa: E402

from gitops_tool.core.drift.attribution import attribute_differences  # noqa: E402
from gitops_tool.core.drift.engine import DriftInput, compare, explain_object  # noqa: E402
from gitops_tool.core.drift.render import to_json  # noqa: E402
from gitops_tool.core.objects import ref_of  # noqa: E402


def audit(desired: list[dict[str, Any]], live: list[dict[str, Any]], attribute: bool) -> dict[str, Any]:
    return to_json(compare(DriftInput(desired, live, attribute=attribute)))


def attribution_alone(desired: list[dict[str, Any]], live: list[dict[str, Any]]) -> float:
    """The time attribution itself takes in an audit: only its work, timed on each differing object
    (robust to a busy machine, unlike the difference of two whole audits)."""
    inp = DriftInput(desired, live, attribute=False)
    live_by_ref = {ref_of(o): o for o in live}
    spent = 0.0
    for obj in desired:
        ref = ref_of(obj)
        explained = explain_object(obj, live_by_ref[ref], ref, inp, [])
        if explained is None:
            continue
        start = time.perf_counter()
        attribute_differences(explained.found, live_by_ref[ref], explained.projected)
        spent += time.perf_counter() - start
    return spent


def measure(
    base: list[dict[str, Any]], size: int, drift_every: int, runs: int
) -> tuple[float, float, int, float]:
    desired, live = synthesise(base, size)
    for index in range(50, size, drift_every):  # more drift than synthesise's 1%, when asked
        if drift_every < 100:
            _drift(live[index])
    # Parsed from JSON, as the CLI has them: no structure shared between objects.
    desired = json.loads(json.dumps(desired))
    live = json.loads(json.dumps(live))
    report = audit(desired, live, attribute=True)
    owned = sum(1 for r in report["resources"] for d in r["differences"] if d["live_owner"] is not None)
    # Interleaved, best of each: a machine busy with other work slows both sides alike.
    plain = attributed = float("inf")
    for _ in range(runs):
        plain = min(plain, _best(lambda: audit(desired, live, attribute=False), 1))
        attributed = min(attributed, _best(lambda: audit(desired, live, attribute=True), 1))
    return plain, attributed, owned, attribution_alone(desired, live)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    base = overlay()
    for label, every in (("1% drifted", 100), ("10% drifted", 10)):
        plain, attributed, owned, alone = measure(base, args.size, every, args.runs)
        print(
            f"{args.size:>6} objects, {label:>11}: audit {plain * 1000:8.1f} ms, with attribution "
            f"{attributed * 1000:8.1f} ms ({owned} differences attributed): ratio "
            f"{attributed / plain:5.3f}; attribution's own work {alone * 1000:7.1f} ms: ratio "
            f"{(plain + alone) / plain:5.3f} (target <= 1.10)"
        )


if __name__ == "__main__":
    main()
