"""Crash tests of the audit store (Sources/hoop-record/AuditStore.swift): SIGKILL
hoop-record, and separately every stage of the ring at once, while 8 concurrent
sessions run small queries, each result carrying a unique marker. The supervisor
brings the ring back and the clients reconnect. Afterwards `hoop-audit verify` passes
on the store (the chain and every signed checkpoint whole, a start checkpoint over the
head the killed recorder left), and every result that a client actually received is
in the store: the rows frame holding exactly the row the client got, and the complete
frame of that statement (hoop-record commits before it forwards anything)."""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time

import psycopg
import pytest

from helpers.audit import backup, checkpoints, verify
from helpers.ring import RingError

CLIENTS = 8
SQL = "select %s::text as marker, id, mrn from patients where id = %s"


class Load:
    """CLIENTS threads, each a loop of sessions, each session a loop of one-row
    queries with a unique marker; half use the extended protocol (psycopg's default),
    half the simple one (client-side binding)."""

    def __init__(self, ring, tag: str):
        self.ring = ring
        self.tag = tag
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.received: dict[str, list[str]] = {}   # marker -> the row the client received
        self.times: list[float] = []               # when each result arrived (monotonic)
        self.errors: list[str] = []
        self.wrong: list[str] = []
        self.threads = [threading.Thread(target=self.client, args=(i,), daemon=True, name=f"{tag}{i}")
                        for i in range(CLIENTS)]

    def start(self):
        for t in self.threads:
            t.start()

    def results(self, after: float = 0.0) -> int:
        with self.lock:
            return sum(1 for t in self.times if t > after)

    def wait_results(self, n: int, after: float = 0.0, timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.results(after) >= n:
                return True
            time.sleep(0.05)
        return False

    def finish(self, timeout: float = 30) -> list[str]:
        self.stop.set()
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        return [t.name for t in self.threads if t.is_alive()]

    def client(self, i: int):
        simple = i % 2 == 1
        n = 0
        s = 0
        while not self.stop.is_set():
            s += 1
            try:
                kw = {"cursor_factory": psycopg.ClientCursor} if simple else {}
                with psycopg.connect(self.ring.gateway_dsn(application_name=f"crash-{self.tag}-{i}-{s}"),
                                     autocommit=True, connect_timeout=5, **kw) as conn:
                    while not self.stop.is_set():
                        n += 1
                        marker = f"cr-{self.tag}-{i}-{n}"
                        pid = n % 20 + 1
                        row = conn.execute(SQL, (marker, pid)).fetchone()
                        got = [v if isinstance(v, str) else str(v) for v in row]
                        with self.lock:
                            if got[:2] != [marker, str(pid)]:
                                self.wrong.append(f"{marker}: received {got}")
                            self.received[marker] = got
                            self.times.append(time.monotonic())
            except psycopg.Error as e:
                with self.lock:
                    self.errors.append(f"client {i} session {s}: {type(e).__name__}: {str(e).strip()[:100]}")
                time.sleep(0.1)


def recorded(store) -> tuple[dict[str, tuple[str, int, int, list]], set[tuple[str, int]], list[str]]:
    """From a store: marker -> (session, seq, frame id, row) of the rows frame holding
    it; the (session, seq) of every complete frame, with the frame id; rows frames
    without stamp:mask."""
    import sqlite3
    db = sqlite3.connect(str(store))
    try:
        rows: dict[str, tuple[str, int, int, list]] = {}
        unmasked = []
        for fid, session, seq, frame in db.execute(
                "SELECT id, session, seq, CAST(frame AS TEXT) FROM frames WHERE type = 'rows' ORDER BY id"):
            f = json.loads(frame)
            if f.get("stamp:mask") is not True:
                unmasked.append(f"record {fid}")
            for r in f.get("rows", []):
                if r and isinstance(r[0], str) and r[0].startswith("cr-"):
                    rows[r[0]] = (session, seq, fid, r)
        completes = {(session, seq): fid for fid, session, seq in db.execute(
            "SELECT id, session, seq FROM frames WHERE type = 'complete'")}
    finally:
        db.close()
    return rows, completes, unmasked


def crash_under_load(ring, tag: str, kill, rounds: int = 3) -> None:
    """`rounds` times: let the load run, kill(pids) at a random moment, wait for the
    supervisor to bring the ring back and the clients to get results again."""
    before_cps = checkpoints(ring.audit_path)
    load = Load(ring, tag)
    load.start()
    log = []
    try:
        assert load.wait_results(4 * CLIENTS, timeout=20), f"no load before the kill: {load.errors[:5]}"
        for k in range(rounds):
            time.sleep(random.uniform(0.5, 1.5))      # well into the load, at no particular point
            pids = ring.stage_pids()
            n_before = load.results()
            killed = kill(pids)
            killed_at = time.monotonic()
            try:
                ring.wait_stages_alive(40, not_pids={s: pids[s] for s in killed})
                ring.wait_port(30)
            except RingError as e:
                pytest.fail(f"the supervisor did not bring the ring back after killing {killed} (round {k + 1}): {e}")
            recovered_at = time.monotonic()
            assert load.wait_results(4 * CLIENTS, after=recovered_at, timeout=25), \
                f"sessions did not work again after the restart (round {k + 1}): {load.errors[-5:]}"
            log.append(f"round {k + 1}: killed {killed} after {n_before} results, back in "
                       f"{recovered_at - killed_at:.1f} s")
    finally:
        hung = load.finish()
    assert not hung, f"client threads hung: {hung}"
    with load.lock:
        received = dict(load.received)
        errors = list(load.errors)
        wrong = list(load.wrong)
    print(f"\n{tag}: " + "; ".join(log) + f"; {len(received)} results received in all; {len(errors)} client "
          f"errors, e.g. {errors[:2]}")
    assert not wrong, f"clients received wrong results: {wrong[:5]}"
    assert errors, "no client noticed the ring restart"

    # The store verifies: on a copy, and in place.
    copy = backup(ring.audit_path, ring.var / f"verify-{tag}.sqlite")
    pub = ring.var / "audit-signing.pub"
    v = verify(copy, str(pub))
    assert v.rc == 0 and v.report["ok"], f"verify after the kill: {v}"
    assert verify(ring.audit_path, str(pub)).rc == 0
    cps = checkpoints(copy)
    new = cps[len(before_cps):]
    assert [c["id"] for c in cps[:len(before_cps)]] == [c["id"] for c in before_cps]
    assert sum(c["kind"] == "start" for c in new) >= rounds, f"not a start checkpoint after each kill: {new}"

    # Every result a client received is recorded: its row as received, and the
    # statement's complete frame after it.
    rows, completes, unmasked = recorded(copy)
    missing, no_complete, differs = [], [], []
    for marker, got in received.items():
        r = rows.get(marker)
        if r is None:
            missing.append(marker)
            continue
        session, seq, fid, row = r
        if [v if isinstance(v, str) else str(v) for v in row] != got:
            differs.append(f"{marker}: client {got}, store {row}")
        c = completes.get((session, seq))
        if c is None or c < fid:
            no_complete.append(f"{marker} (session {session} seq {seq})")
    assert not missing, f"{len(missing)} of {len(received)} received results have no rows frame: {missing[:5]}"
    assert not differs, f"stored rows differ from what clients received: {differs[:5]}"
    assert not no_complete, f"received results without their complete frame: {no_complete[:5]}"
    assert not unmasked, f"rows frames recorded without stamp:mask: {unmasked[:5]}"


def test_sigkill_hoop_record_under_load(ring_factory):
    ring = ring_factory("crash-rec")

    def kill(pids):
        os.kill(pids["record"], signal.SIGKILL)
        return ["record"]

    crash_under_load(ring, "r", kill)


def test_sigkill_the_whole_ring_under_load(ring_factory):
    ring = ring_factory("crash-all")

    def kill(pids):
        # All at once: stopped first, so that none sees a neighbour die and exits on
        # its own (EOF, EPIPE) before its SIGKILL.
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in pids.values():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pytest.fail(f"a stage was gone before the kill: {pids}")
        return list(pids)

    crash_under_load(ring, "a", kill)
