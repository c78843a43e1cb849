"""Fail closed (DESIGN invariant 1) and nothing unrecorded (invariant 2) when a stage
dies: SIGKILL one stage while clients load the ring. Every result a client received
must be correct and must be in the audit store (it passed hoop-record); clients see
correct results or a clean error/disconnect, never a hang; the supervisor brings the
ring back and new sessions work.

One ring for the module (its own, not the session's); each case checks it is healthy
first and restarts it if not."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
import uuid

import psycopg
import pytest

from helpers.pgwire import PGWire, Query, ServerClosed, WireError
from helpers.ring import RingError, pid_alive, port_open, stage_names

ROWS = 1500


def expected_rows(client: str, k: int) -> list[list[str]]:
    return [[client, str(k), str(g), hashlib.md5(f"{client}-{k}-{g}".encode()).hexdigest()]
            for g in range(1, ROWS + 1)]


def query(client: str, k: int) -> str:
    return (f"select '{client}'::text, {k}, g, md5('{client}-{k}-' || g) "
            f"from generate_series(1, {ROWS}) g")


class Load:
    """Client threads that query in a loop and check every row they receive."""

    def __init__(self, ring, tag):
        self.ring = ring
        self.tag = tag
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.wrong: list[str] = []
        self.received: dict[str, dict[int, list[list[str]]]] = {}   # app -> query k -> rows received
        self.complete: dict[str, set[int]] = {}                      # app -> queries received completely
        self.clean_errors: list[str] = []
        self.ok_after: list[float] = []                              # times of complete results
        self.threads = [threading.Thread(target=self.psycopg_client, args=(f"{tag}p{i}",), daemon=True)
                        for i in range(2)]
        self.threads += [threading.Thread(target=self.wire_client, args=(f"{tag}w{i}",), daemon=True)
                         for i in range(2)]

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self, timeout=45) -> list[str]:
        self.stop.set()
        hung = []
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
            if t.is_alive():
                hung.append(t.name)
        return hung

    def _record(self, app, k, rows, complete):
        with self.lock:
            self.received.setdefault(app, {})[k] = rows
            if complete:
                self.complete.setdefault(app, set()).add(k)
                self.ok_after.append(time.monotonic())

    def psycopg_client(self, client):
        n = 0
        while not self.stop.is_set():
            n += 1
            app = f"{client}-{n}-{uuid.uuid4().hex[:8]}"
            try:
                with psycopg.connect(self.ring.gateway_dsn(application_name=app), autocommit=True,
                                     connect_timeout=5) as conn:
                    for k in range(1, 6):
                        if self.stop.is_set():
                            break
                        rows = [list(map(lambda v: v if isinstance(v, str) else str(v), r))
                                for r in conn.execute(query(client, k)).fetchall()]
                        if rows != expected_rows(client, k):
                            with self.lock:
                                self.wrong.append(f"{app} query {k}: wrong result ({len(rows)} rows)")
                        self._record(app, k, rows, True)
            except psycopg.Error as e:
                with self.lock:
                    self.clean_errors.append(f"{app}: {type(e).__name__}: {str(e).strip()[:120]}")
                time.sleep(0.2)

    def wire_client(self, client):
        n = 0
        while not self.stop.is_set():
            n += 1
            app = f"{client}-{n}-{uuid.uuid4().hex[:8]}"
            try:
                c = PGWire("127.0.0.1", self.ring.listen_port, timeout=20)
            except OSError as e:
                with self.lock:
                    self.clean_errors.append(f"{app}: connect: {e}")
                time.sleep(0.2)
                continue
            try:
                c.startup(self.ring.gateway_user, "clinic", self.ring.gateway_password, {"application_name": app})
                for k in range(1, 6):
                    if self.stop.is_set():
                        break
                    c.send(Query(query(client, k)))
                    exp = expected_rows(client, k)
                    rows = []
                    while True:
                        t, v = c.read(timeout=20)
                        if t == "D":
                            row = [x.decode() if x is not None else None for x in v]
                            if len(rows) >= len(exp) or row != exp[len(rows)]:
                                with self.lock:
                                    self.wrong.append(f"{app} query {k}: wrong row #{len(rows)}: {row}")
                            rows.append(row)
                            self._record(app, k, rows, False)
                        elif t == "E":
                            with self.lock:
                                self.clean_errors.append(f"{app}: ErrorResponse {v.get('C')} {v.get('M')}")
                            if v.get("S") in ("FATAL", "PANIC"):
                                raise ServerClosed("fatal")
                        elif t == "C":
                            if v != f"SELECT {ROWS}" or rows != exp:
                                with self.lock:
                                    self.wrong.append(f"{app} query {k}: complete {v!r} after {len(rows)} rows")
                            self._record(app, k, rows, True)
                        elif t == "Z":
                            break
            except (ServerClosed, ConnectionResetError, BrokenPipeError, WireError) as e:
                with self.lock:
                    self.clean_errors.append(f"{app}: disconnected ({e})")
                time.sleep(0.2)
            except TimeoutError as e:
                with self.lock:
                    self.wrong.append(f"{app}: no answer for 20 s ({e}): a hang, not a clean error")
            except OSError as e:
                with self.lock:
                    self.clean_errors.append(f"{app}: socket error ({e})")
                time.sleep(0.2)
            except Exception as e:  # noqa: BLE001
                with self.lock:
                    self.wrong.append(f"{app}: unexpected {e!r}")
            finally:
                c.close()


def audited_rows(ring, app) -> tuple[list[list[str]], bool]:
    """All rows of the app's session(s) in the audit store, and whether every rows
    frame carried stamp:mask."""
    rows, stamped = [], True
    for s in ring.session_ids_for_app(app):
        for f in ring.session_frames(s):
            if f["type"] == "rows":
                rows.extend(f["rows"])
                stamped = stamped and f.get("stamp:mask") is True
    return rows, stamped


def healthy(ring) -> bool:
    try:
        return port_open(ring.listen_port) and all(pid_alive(p) for p in ring.stage_pids().values())
    except RingError:
        return False


@pytest.mark.parametrize("stage", stage_names())
def test_kill_stage_during_load(module_ring, stage):
    ring = module_ring
    if not healthy(ring):
        ring.down()
        ring.up()
    before = ring.stage_pids()
    load = Load(ring, f"k{stage[:3]}")
    load.start()
    try:
        time.sleep(1.5)
        with load.lock:
            assert load.ok_after, f"no client got a result before the kill: {load.clean_errors[:5]}"
        os.kill(before[stage], signal.SIGKILL)
        killed_at = time.monotonic()
        try:
            # The supervisor's backoff doubles with each restart within a minute, up to 30 s:
            # one kill per stage in a row reaches it.
            after = ring.wait_stages_alive(60, not_pids={stage: before[stage]})
            ring.wait_port(30)
        except RingError as e:
            pytest.fail(f"the supervisor did not bring the ring back after hoop-{stage} was killed: {e}")
        recovered_at = time.monotonic()
        # let the clients run on the new ring
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with load.lock:
                if sum(1 for t in load.ok_after if t > recovered_at) >= 4:
                    break
            time.sleep(0.2)
    finally:
        hung = load.finish()
    with load.lock:
        errors_after_kill = list(load.clean_errors)
    print(f"\nkill {stage}: {sum(len(q) for q in load.received.values())} results checked over "
          f"{len(load.received)} sessions; {len(errors_after_kill)} clean errors, e.g. {errors_after_kill[:3]}")
    assert not hung, f"client threads hung after hoop-{stage} was killed: {hung}"
    # The ring restarted, so the sessions open at the kill were ended (57P01 or a disconnect).
    assert errors_after_kill, "no client noticed the ring restart"
    assert not load.wrong, f"clients received wrong results: {load.wrong[:5]}"
    assert sum(1 for t in load.ok_after if t > recovered_at) >= 4, \
        f"sessions did not work again after the restart; errors: {load.clean_errors[-5:]}"
    assert after[stage] != before[stage]
    assert all(pid_alive(p) for p in after.values())

    # every row a client received passed hoop-record (and hoop-mask before it)
    missing = []
    for app, queries in load.received.items():
        got_rows, stamped = audited_rows(ring, app)
        if not stamped:
            missing.append(f"{app}: a rows frame in the audit store lacks stamp:mask")
        for k, rows in queries.items():
            if not rows:
                continue
            audited = [r for r in got_rows if r[0] == rows[0][0] and r[1] == str(k)]
            if audited[:len(rows)] != rows:
                missing.append(f"{app} query {k}: client received {len(rows)} rows, "
                               f"the audit store holds {len(audited)} matching")
            elif k in load.complete.get(app, set()) and audited != rows:
                missing.append(f"{app} query {k}: audit holds {len(audited)} rows, client got {len(rows)}")
    assert not missing, f"results reached clients without being in the audit store: {missing[:5]}"

    with psycopg.connect(ring.gateway_dsn(), autocommit=True, connect_timeout=10) as conn:
        assert conn.execute("select 'after kill', %t::int", (1,)).fetchone() == ("after kill", 1)
