"""The bounded leak-fuzzer run of issue 14: scripts/mask-fuzz with a fixed seed, every
family, both protocols, in a ring of its own (values it parks in server state stay
parked for the stage's life). A few minutes; `scripts/mask-fuzz --seed N --count M`
runs longer with any seed.

It passes only when no probe leaks, and only when the probes are real ones: most of
each family's direct runs must show an identifier, a tainted value or an error (a
generator that drifted into probes that carry nothing would otherwise pass)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEED, COUNT = 14, 2400


def test_bounded_fuzz_run_finds_no_leak(tmp_path):
    report = tmp_path / "fuzz.json"
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "mask-fuzz"), "--seed", str(SEED), "--count", str(COUNT),
                          "--jobs", "3", "--examples", "2", "--report", str(report)],
                         capture_output=True, text=True, timeout=1500)
    # Its output names shapes and hashes, never values.
    summary = run.stdout[-6000:]
    assert report.exists(), f"mask-fuzz wrote no report (exit {run.returncode}):\n{run.stderr[-3000:]}"
    families = json.loads(report.read_text())["families"]
    assert set(families) == {"fragments", "sizes", "predicates", "codebooks", "errors", "server_state", "shadowed", "grammar"}
    for name, f in families.items():
        assert f["probes"] >= COUNT // len(families) - 1, f"{name}: {f['probes']} probes"
        assert f["direct_without_phi"] <= f["probes"] // 4, f"{name}: {f['direct_without_phi']} probes carry nothing directly"
        assert f["direct_errors_outside_error_family"] <= f["probes"] // 50, f"{name}: {f['direct_errors_outside_error_family']} probes fail directly"
    leaking = {name: f["leaking"] for name, f in families.items() if f["leaking"]}
    assert not leaking, f"leaks by family: {leaking}\n{summary}"
    assert run.returncode == 0, summary
