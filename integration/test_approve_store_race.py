"""The approval store under concurrent writers (docs/approval.md, "The approval store").

- Several approvers decide the same held request at once, each with the real
  `hoop approve` command (a process of its own) on the ring's SQLite store: exactly one
  decision is recorded and applied, every other command says why it lost, and the held
  session gets the winner's outcome.
- A writer holding the store (another approver's slow command) while the stage runs an
  approved request: the stage waited 500 ms, then dropped the hold it was settling, and
  the session waited on nothing for ever. Now the stage waits up to 5 s, and a write that
  still fails leaves the hold for its next look; other sessions' frames do not wait on it.
- A client leaving while the store is busy: its request's withdrawal is written later.

Only states, counts and return codes are asserted; no row is printed.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import threading
import time

import pytest

from conftest import default_rules_ring
from helpers.agent_wire import AGENT, admin_exec, simple
from helpers.pgwire import PGWire, Query
from helpers.ring import HOOP, REPO

ring = default_rules_ring("store-race")

ID = re.compile(r"\br-[a-z0-9]{10}\b")
APPROVERS = ["alice", "bob", "carol", "dave", "erin", "frank"]


def store_path(ring) -> str:
    p = ring.config().get("approval", {}).get("store", {}).get("sqlite")
    return str(ring.var / "approvals.sqlite") if not p else p if p.startswith("/") else str(ring.var / p)


def held(ring, sql: str) -> tuple[PGWire, str]:
    """An agent's session whose `sql` is held; the request's id."""
    c = PGWire("127.0.0.1", ring.listen_port, timeout=30)
    c.startup(AGENT, "clinic", ring.token(AGENT, "agents", agent=True), {"application_name": "store-race"})
    c.send(Query(sql))
    while True:
        t, v = c.read(30)
        if t == "N" and "held for approval" in v.get("M", ""):
            return c, ID.search(v["M"]).group(0)
        assert t not in ("E", "Z"), f"{sql!r} was not held"


def answer(c: PGWire, timeout: float) -> str:
    """The held statement's outcome: ran, denied, or nothing within `timeout`."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            t, v = c.read(max(0.1, deadline - time.monotonic()))
            if t == "C":
                return "ran"
            if t == "E":
                return "denied" if v.get("C") == "42501" else f"error {v.get('C')}"
    except Exception:
        return "no answer"


def decide(ring, who: str, verb: str, rid: str) -> subprocess.Popen:
    env = ring.env()
    env["HOOP_TOKEN"] = ring.token(f"{who}@example.org", "approvers")
    args = [str(HOOP), "approve", verb, rid, "--reason", f"race {who}"]
    return subprocess.Popen(args, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


def state(ring, rid: str) -> tuple[str, int]:
    with sqlite3.connect(store_path(ring), timeout=10) as db:
        s = db.execute("select state from requests where id = ?", (rid,)).fetchone()[0]
        n = db.execute("select count(*) from decisions where request_id = ?", (rid,)).fetchone()[0]
    return s, n


@pytest.fixture(autouse=True)
def cleanup(ring):
    yield
    admin_exec(ring, *(f"drop table if exists race_{i}" for i in range(5)))


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_deciders_one_wins(ring, round_):
    c, rid = held(ring, f"create table race_{round_} (id int)")
    try:
        # Tokens first (minting is slow); then every command at once, while another
        # writer holds the store for a moment so that they all wait on the same lock.
        for who in APPROVERS:
            ring.token(f"{who}@example.org", "approvers")
        db = sqlite3.connect(store_path(ring), timeout=10, isolation_level=None)
        db.execute("begin immediate")
        procs = [decide(ring, who, "grant" if i % 2 == 0 else "deny", rid) for i, who in enumerate(APPROVERS)]
        time.sleep(1.0)
        db.execute("commit")
        db.close()
        outs = [(p.wait(60), *p.communicate()) for p in procs]
        winners = [i for i, (rc, _, _) in enumerate(outs) if rc == 0]
        assert len(winners) == 1, f"{len(winners)} decisions reported as recorded"
        for i, (rc, out, err) in enumerate(outs):
            if rc != 0:
                assert "not pending" in err or "try again" in err, f"a losing command did not say why: {err[-300:]!r}"
        s, n = state(ring, rid)
        want = "approved" if winners[0] % 2 == 0 else "denied"
        assert n == 1, f"{n} decisions stored for one request"
        assert s in (want, "used"), f"request is {s}, the winner decided {want}"
        got = answer(c, 20)
        assert got == ("ran" if want == "approved" else "denied"), f"the session got {got!r} for {want}"
    finally:
        c.close()


def lock_when_approved(ring, rid, seconds):
    """A thread that, once the request is approved, holds the store's write lock for
    `seconds` (another approver's slow command); and the event it sets when it has it."""
    locked = threading.Event()

    def run():
        db = sqlite3.connect(store_path(ring), timeout=10, isolation_level=None)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if db.execute("select state from requests where id = ?", (rid,)).fetchone()[0] == "approved":
                db.execute("begin immediate")
                locked.set()
                time.sleep(seconds)
                db.execute("commit")
                break
            time.sleep(0.001)
        db.close()

    t = threading.Thread(target=run)
    t.start()
    return t, locked


@pytest.mark.parametrize("seconds", [1.5, 6.5])
def test_stage_waits_for_a_busy_store(ring, seconds):
    """The approval lands; another writer holds the store just as the stage would run the
    request (1.5 s: within the stage's wait; 6.5 s: past it, so the stage's write fails
    and is tried at its next look): the session still gets its answer."""
    c, rid = held(ring, f"create table race_{3 if seconds < 5 else 4} (id int)")
    try:
        ring.token("bob@example.org", "approvers")
        t, locked = lock_when_approved(ring, rid, seconds)
        p = decide(ring, "bob", "grant", rid)
        assert p.wait(60) == 0, p.communicate()[1][-300:]
        t.join(30)
        assert locked.is_set()
        assert answer(c, 20) == "ran", "the approved request was dropped while the store was busy"
        assert state(ring, rid)[0] == "used"
    finally:
        c.close()


def test_a_withdrawal_the_busy_store_refused_is_written_later(ring):
    """The client leaves while another writer holds the store past the stage's wait: the
    withdrawal's write fails. It was dropped (`try?`), leaving the request pending, so an
    approval given later would run it for the next identical request. Now it is logged
    and written at a later tick."""
    c, rid = held(ring, "create table race_withdrawn (id int)")
    db = sqlite3.connect(store_path(ring), timeout=10, isolation_level=None)
    db.execute("begin immediate")
    try:
        c.close()
        time.sleep(6.5)   # the stage's 5 s wait, and more
    finally:
        db.execute("commit")
        db.close()
    deadline = time.monotonic() + 10
    while state(ring, rid)[0] == "pending" and time.monotonic() < deadline:
        time.sleep(0.25)
    assert state(ring, rid)[0] == "canceled", "a withdrawn request stayed pending after the store was free again"


def test_other_sessions_go_on_while_the_store_is_busy(ring):
    """The clock runs an approved request while another writer holds the store for 4 s:
    its write waits, and so did every session's frames (the gate's lock was held across
    the wait). Now a statement of another session is answered meanwhile."""
    c, rid = held(ring, "create table race_busy (id int)")
    try:
        ring.token("bob@example.org", "approvers")
        ring.token(AGENT, "agents", agent=True)
        t, locked = lock_when_approved(ring, rid, 4)
        p = decide(ring, "bob", "grant", rid)
        assert p.wait(60) == 0, p.communicate()[1][-300:]
        assert locked.wait(10)
        time.sleep(0.7)   # the clock's next look is waiting on the store now
        started = time.monotonic()
        other = simple(ring, "select 1", timeout=20)
        took = time.monotonic() - started
        t.join(30)
        assert other.ran, f"the other session's statement got {other!r}"
        assert took < 2.0, f"another session waited {took:.1f} s on a busy approval store"
        assert answer(c, 20) == "ran", "the approved request was dropped while the store was busy"
        assert state(ring, rid)[0] == "used"
    finally:
        c.close()
        admin_exec(ring, "drop table if exists race_busy")
