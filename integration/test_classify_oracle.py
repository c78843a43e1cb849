"""The bounded run of the classifier's differential oracle (issue 15): scripts/classify-fuzz
with a fixed seed over every family, in a ring of its own with the embedded default
approval rules. Each statement runs directly against a throwaway copy of the demo
database and what PostgreSQL did (rows changed, DDL, rewrites, user functions, locks,
PHI rows returned) is compared with `hoop-approve classify`. About a minute (a ring
start and 360 statements); `scripts/classify-fuzz --seed N --count M` runs longer with
any seed.

- The report must be well formed, and the corpus real: every family's statements run
  directly (few errors) and most of them do something the oracle can measure, and
  every instrument of the oracle fires somewhere in the run (a generator or harness
  that drifted into statements that do nothing would otherwise pass).
- `ordinary` (what normal work does) must be allowed at once (>= 99 %) and never
  disagree.
- options, merge, nested_reads and locks (issue 15's families) and hidden (issue 16:
  user functions, operators, overloads, domains, triggers, rules, views, defaults,
  policies, cascades, EXPLAIN; judged with the catalog's facts) must not disagree.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SEED, COUNT = 15, 360
FAMILIES = {"options", "merge", "nested_reads", "locks", "hidden", "ordinary"}
CLOSED = ["options", "merge", "nested_reads", "locks"]


@pytest.fixture(scope="module")
def oracle_run(tmp_path_factory):
    report = tmp_path_factory.mktemp("classify-oracle") / "report.json"
    t0 = time.monotonic()
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "classify-fuzz"), "--seed", str(SEED),
                          "--count", str(COUNT), "--examples", "2", "--report", str(report)],
                         capture_output=True, text=True, timeout=1200)
    elapsed = time.monotonic() - t0
    if not report.exists():
        pytest.fail(f"classify-fuzz wrote no report (exit {run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}",
                    pytrace=False)
    return json.loads(report.read_text()), run, elapsed


def _summary(run) -> str:
    return run.stdout[-8000:]


def test_report_is_well_formed(oracle_run):
    rep, run, _elapsed = oracle_run
    assert run.returncode in (0, 1), f"exit {run.returncode}:\n{run.stderr[-3000:]}"
    assert rep["seed"] == SEED and rep["count"] == COUNT
    fams = rep["families"]
    assert set(fams) == FAMILIES
    # the ring judged by the embedded default rules
    for rule, got in rep["default_rules"].items():
        assert rule in got, f"{rule}: the probe was judged by {got}"
    kinds = set(rep["disagreement_kinds"])
    assert len(rep["cases"]) == COUNT
    for name, f in fams.items():
        assert f["statements"] >= COUNT // len(FAMILIES) - 1, f"{name}: {f['statements']} statements"
        assert sum(f["verdicts"].values()) == f["statements"]
        assert set(f["verdicts"]) <= {"allow", "review", "deny"}, f"{name}: verdicts {f['verdicts']}"
        assert set(f["by_kind"]) <= kinds
        assert f["disagreements"] == sum(1 for c in rep["cases"] if c["family"] == name and c["disagreements"])
        assert f["known"] == (name in rep["known_families"])
        for e in f["examples"]:
            assert e["kinds"] and set(e["kinds"]) <= kinds and e["sql"] and e["verdict"] and e["observed"]
    failing = [n for n, f in fams.items() if f["disagreements"] and not f["known"]]
    assert run.returncode == (1 if failing else 0), f"exit {run.returncode}, failing families {failing}"
    assert rep["known_families"] == [], "since issue 16 every family counts"


def test_every_family_has_real_cases(oracle_run):
    rep, run, _elapsed = oracle_run
    for name, f in rep["families"].items():
        n = f["statements"]
        assert f["harness_errors"] == 0, f"{name}: the harness failed on {f['harness_errors']} statements: {f['error_examples']}"
        assert f["unexpected_errors"] <= n // 20, f"{name}: {f['unexpected_errors']} statements fail directly: {f['error_examples']}"
        assert f["effect"] >= 0.6 * n, f"{name}: only {f['effect']} of {n} statements did something measurable"


def test_every_instrument_fires(oracle_run):
    """The oracle's instruments each see something in the bounded run."""
    rep, _run, _elapsed = oracle_run
    obs = [c["observed"] for c in rep["cases"] if not c["observed"]["error"]]
    seen = {
        "rows changed": any(o["changed"] for o in obs),
        "more than 1000 rows changed": any(sum(v) > 1000 for o in obs for v in o["changed"].values()),
        "DDL (event trigger)": any(o["ddl"] for o in obs),
        "rewrite (relfilenode)": any(o["rewrites"] for o in obs),
        "lock that blocks writers": any(o["locks"] for o in obs),
        "AccessExclusiveLock": any("AccessExclusiveLock" in m for o in obs for m in o["locks"].values()),
        "user function (track_functions)": any(o["functions"] for o in obs),
        "user function (its own log)": any(o["fn_log"] for o in obs),
        "statement outside a transaction block": any(not o["in_transaction"] for o in obs),
        "more than 1000 PHI rows returned": any(max([0, *o["phi_returned"].values()]) > 1000 for o in obs),
        "PHI copied into a write": any(max([0, *o["phi_written"].values()]) > 1000 for o in obs),
    }
    missing = [k for k, v in seen.items() if not v]
    assert not missing, f"never observed: {missing}"


def test_ordinary_work_is_allowed_at_once(oracle_run):
    rep, run, _elapsed = oracle_run
    o = rep["families"]["ordinary"]
    assert o["allowed_pct"] >= 99.0, f"ordinary work held: {o['verdicts']}\n{_summary(run)}"
    assert rep["ordinary_allowed_pct"] == o["allowed_pct"]
    assert o["disagreements"] == 0, f"ordinary: {o['by_kind']}\n{_summary(run)}"


@pytest.mark.parametrize("family", CLOSED)
def test_no_disagreement(oracle_run, family):
    rep, run, _elapsed = oracle_run
    f = rep["families"][family]
    shown = "\n".join(f"  [{e['count']}x] {e['shape']}: {', '.join(e['kinds'])}\n      {e['sql'][:200]}\n"
                      f"      classifier: {e['verdict'][:200]}\n      postgres:   {e['observed'][:200]}"
                      for e in f["examples"][:4])
    assert f["disagreements"] == 0, f"{family}: {f['disagreements']} disagreements {f['by_kind']}\n{shown}"


def test_bounded_run_is_bounded(oracle_run):
    _rep, _run, elapsed = oracle_run
    assert elapsed < 900, f"the bounded run took {elapsed:.0f} s"
