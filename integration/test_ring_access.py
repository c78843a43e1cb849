"""Just-in-time access grants and the approvers' webhook (docs/approval.md), end to end:
a ring with its own PostgreSQL, real clients through the gateway, the approvers' CLI
(`scripts/hoop approve …` with the approver's token in HOOP_TOKEN), the audit store.

Synthetic data only (the demo database). The session that waits for an access grant
is opened with the suite's own wire client (helpers/pgwire.py), which shows the
messages as they come; test_libpq_clients_wait_for_access_grant runs psycopg and psql.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest

from helpers.pgwire import PGWire, Query, ServerClosed, message, startup_packet
from helpers.ring import Ring, wait_for

AGENT = "agent@example.org"
APPROVER = "bob@example.org"
REQUEST_ID = re.compile(r"\br-[a-z0-9]{10}\b")


def access_approval(**access) -> dict:
    """The embedded default approval section of the clinic connection, with
    just-in-time access required (ring_factory's dict replaces the whole section)."""
    a = {"require_grant": True, "max_grant_seconds": 60, "default_grant_seconds": 30, "wait_seconds": 20}
    a.update(access)
    return {"approvers": {"groups": ["approvers"]}, "key_columns": ["mrn"], "hold_timeout_seconds": 300,
            "access": a}


# --- the approvers' CLI -------------------------------------------------------------

def approve(ring: Ring, token: str, *args: str) -> subprocess.CompletedProcess:
    return ring.hoop("approve", *args, env={"HOOP_TOKEN": token}, timeout=60)


def approve_ok(ring: Ring, token: str, *args: str) -> subprocess.CompletedProcess:
    r = approve(ring, token, *args)
    assert r.returncode == 0, f"`hoop approve {' '.join(args)}` exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
    return r


def approve_json(ring: Ring, token: str, *args: str):
    r = approve_ok(ring, token, *args, "--json")
    try:
        return json.loads(r.stdout)
    except ValueError:
        pytest.fail(f"`hoop approve {' '.join(args)} --json` printed no JSON:\n{r.stdout}\n{r.stderr}")


def pending_access(ring: Ring, token: str, user: str = AGENT) -> list[dict]:
    return [r for r in approve_json(ring, token, "list")
            if r.get("kind") == "access" and r.get("requester", {}).get("user") == user
            and r.get("state") == "pending"]


# --- a session opening that waits for a grant ----------------------------------------

class WaitingOpen(threading.Thread):
    """Opens a session through the gateway with the wire client, in a thread: the
    startup handshake and everything the gateway answers up to ReadyForQuery or an
    error (the hold notice included)."""

    def __init__(self, ring: Ring, token: str, user: str = AGENT, timeout: float = 40):
        super().__init__(daemon=True)
        self.ring, self.token, self.user, self.timeout = ring, token, user, timeout
        self.msgs: list = []
        self.outcome: str | None = None      # ready | error | exception
        self.exc: BaseException | None = None
        self.wire: PGWire | None = None
        self.elapsed: float | None = None

    def run(self):
        t0 = time.monotonic()
        try:
            self.wire = w = PGWire("127.0.0.1", self.ring.listen_port, timeout=self.timeout)
            w.send(startup_packet({"user": self.user, "database": "clinic"}))
            while True:
                t, v = w.read(self.timeout)
                self.msgs.append((t, v))
                if t == "R" and v[0] == 3:
                    w.send(message("p", self.token.encode() + b"\0"))
                elif t == "Z":
                    self.outcome = "ready"
                    break
                elif t == "E":
                    self.outcome = "error"
                    break
        except BaseException as e:   # noqa: BLE001 (reported by the test)
            self.exc = e
            self.outcome = "exception"
        self.elapsed = time.monotonic() - t0

    def notices(self) -> list[dict]:
        return [v for t, v in self.msgs if t == "N"]

    def error(self) -> dict | None:
        return next((v for t, v in self.msgs if t == "E"), None)

    def held_id(self) -> str | None:
        for n in self.notices():
            m = REQUEST_ID.search(n.get("M", ""))
            if m:
                return m.group(0)
        return None

    def describe(self) -> str:
        return f"outcome={self.outcome} exc={self.exc!r} elapsed={self.elapsed} messages={self.msgs}"

    def query(self, sql: str, timeout: float = 10) -> list:
        """The answer to one simple query, up to ReadyForQuery, a fatal error or EOF."""
        w = self.wire
        try:
            w.send(Query(sql))
        except OSError:
            pass
        out = []
        try:
            while True:
                t, v = w.read(timeout)
                out.append((t, v))
                if t == "Z" or (t == "E" and v.get("S") == "FATAL"):
                    return out
        except (ServerClosed, ConnectionResetError, BrokenPipeError):
            return out


def start_waiting(ring: Ring, token: str, user: str = AGENT) -> tuple[WaitingOpen, str]:
    """A session opening that is held: returns the thread and the id of its access
    request, as an approver lists it. (The client reads its "held" notice only once
    the session opens: libpq takes nothing but authentication before AuthenticationOk.)"""
    approver = ring.token(APPROVER, "approvers")
    w = WaitingOpen(ring, token, user)
    w.start()
    listed = wait_for(lambda: pending_access(ring, approver, user) or w.outcome, 15)
    assert listed and w.outcome is None, f"the session did not wait for a grant: {w.describe()}"
    assert not w.notices(), f"a notice before AuthenticationOk: {w.describe()}"
    return w, listed[-1]["id"]


def ended_error(conn: psycopg.Connection) -> psycopg.Error | None:
    """The error the next query gets, None while the session still works."""
    try:
        conn.execute("select 1").fetchone()
        return None
    except psycopg.Error as e:
        return e


def sqlstate(e: BaseException | None) -> str | None:
    return getattr(e, "sqlstate", None) or getattr(getattr(e, "diag", None), "sqlstate", None)


def audit_frames(ring: Ring, *types: str) -> list[dict]:
    q = "SELECT type, CAST(frame AS TEXT) AS f FROM frames WHERE type IN (%s) ORDER BY id" % ",".join("?" * len(types))
    with ring.audit() as db:
        return [json.loads(r["f"]) for r in db.execute(q, types).fetchall()]


# --- just-in-time access ----------------------------------------------------------------

def test_access_grant_opens_sessions_until_the_window_ends(ring_factory):
    ring = ring_factory("access", approval=access_approval())
    bob = ring.mint(APPROVER, "approvers")
    agent = ring.mint(AGENT, "clinicians")

    # Without a grant the session opening waits; approvers see the access request.
    waiting, rid = start_waiting(ring, agent)
    listed = pending_access(ring, bob)
    assert [r["id"] for r in listed] == [rid], f"approve list --json as bob: {listed}"
    assert listed[0]["connection"] == "clinic" and listed[0]["requester"]["user"] == AGENT, listed[0]
    time.sleep(1)
    assert waiting.outcome is None, f"the session stopped waiting before a grant: {waiting.describe()}"

    # Nobody approves their own request (even an approver); nor does a non-approver.
    self_approver = ring.mint(AGENT, "clinicians", "approvers")
    r = approve(ring, self_approver, "grant", rid, "--duration", "6")
    assert r.returncode != 0 and "nobody approves their own request" in r.stdout + r.stderr, \
        f"self-approval exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
    carol = ring.mint("carol@example.org", "clinicians")
    r = approve(ring, carol, "grant", rid, "--duration", "6")
    assert r.returncode != 0 and "may not decide" in r.stdout + r.stderr, \
        f"a non-approver's grant exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
    assert [x["id"] for x in pending_access(ring, bob)] == [rid], "refused grants must leave the request pending"

    # bob grants 6 s: the waiting session opens and runs queries.
    t_before = time.monotonic()
    approve_ok(ring, bob, "grant", rid, "--duration", "6", "--reason", "on call tonight")
    t_after = time.monotonic()
    waiting.join(10)
    assert waiting.outcome == "ready", f"the held session did not open after the grant: {waiting.describe()}"
    assert time.monotonic() - t_after < 3, "the session opened late after the grant"
    answer = waiting.query("select 1")
    assert ("D", [b"1"]) in answer, f"select 1 on the granted session: {answer}"

    # A second session of the same identity opens at once, under the same grant.
    t0 = time.monotonic()
    second = ring.connect("gateway", password=agent)
    assert time.monotonic() - t0 < 3, "a second session under a live grant waited"
    assert second.execute("select 1").fetchone() == (1,)

    grants = approve_json(ring, bob, "grants")
    assert [g["id"] for g in grants] == [rid], f"approve grants --json: {grants}"
    assert grants[0]["requester"]["user"] == AGENT and grants[0]["state"] == "approved", grants[0]
    shown = approve_json(ring, bob, "show", rid)
    assert shown["valid_until"] - shown["decided_at"] in (5, 6, 7), f"a 6 s grant: {shown}"

    # Still working well inside the window.
    assert ended_error(second) is None
    # ~6 s after the grant both sessions are ended by the gateway.
    err = wait_for(lambda: ended_error(second), 12, interval=0.2)
    t_end = time.monotonic()
    assert err is not None, "the second session still works 12 s after a 6 s grant"
    assert t_end - t_before >= 5, f"the session ended {t_end - t_before:.1f} s after a 6 s grant"
    assert t_end - t_after <= 9, f"the session ended {t_end - t_after:.1f} s after a 6 s grant"
    assert "grant" in str(err) and "ended" in str(err) and rid in str(err), f"error: {err!r}"
    assert sqlstate(err) == "57P05", f"SQLSTATE {sqlstate(err)} ({err!r})"
    second.close()

    answer = waiting.query("select 1", timeout=5)
    fatal = [v for t, v in answer if t == "E"]
    assert fatal and fatal[0].get("C") == "57P05" and "has ended" in fatal[0].get("M", ""), \
        f"the first session after the window: {answer}"
    waiting.wire.close()

    assert approve_json(ring, bob, "grants") == [], "a grant past its window is still listed"

    # A new session after the window is held again, as a new request.
    again, rid2 = start_waiting(ring, agent)
    assert rid2 != rid, "a new access request was expected after the window"
    again.wire.abort()
    again.join(5)

    # The audit trail: hold (access), bob's decision with its reason, approved.
    def frames_ready():
        decisions = [f for f in audit_frames(ring, "decision") if f.get("request_id") == rid]
        return decisions or None
    assert wait_for(frames_ready, 5), "no decision frame for the grant in the audit store"
    holds = [f for f in audit_frames(ring, "hold") if f.get("request_id") == rid]
    assert holds and holds[0]["kind"] == "access" and holds[0]["connection"] == "clinic", holds
    decisions = [f for f in audit_frames(ring, "decision") if f.get("request_id") == rid]
    grant = [d for d in decisions if d.get("decision") == "grant"]
    assert len(grant) == 1, decisions
    assert grant[0]["approver"]["user"] == APPROVER and grant[0].get("reason") == "on call tonight", grant[0]
    assert grant[0].get("duration_seconds") == 6 and grant[0]["requester"]["user"] == AGENT, grant[0]
    approved = [f for f in audit_frames(ring, "approved") if f.get("request_id") == rid]
    assert len(approved) == 2, f"one approved frame per session opened under the grant: {approved}"
    assert all(a["kind"] == "access" and a["decisions"][0]["approver"]["user"] == APPROVER for a in approved), approved
    ends = [f for f in audit_frames(ring, "error") if f.get("reason") == "window_closed"]
    assert len(ends) == 2 and all(e["code"] == "57P05" for e in ends), ends


def test_access_not_granted_in_time_is_refused_and_stays_pending(ring_factory):
    ring = ring_factory("access-wait", approval=access_approval(wait_seconds=3))
    bob = ring.mint(APPROVER, "approvers")
    agent = ring.mint(AGENT, "clinicians")

    waiting, rid = start_waiting(ring, agent)
    waiting.join(15)
    assert waiting.outcome == "error", f"the session did not get an error after wait_seconds: {waiting.describe()}"
    assert 2 <= waiting.elapsed <= 10, f"refused after {waiting.elapsed:.1f} s (wait_seconds 3)"
    err = waiting.error()
    assert err.get("S") == "FATAL" and err.get("C") == "28000", err
    assert rid in err.get("M", "") and "pending" in err.get("M", ""), err
    waiting.wire.close()

    time.sleep(0.5)
    listed = pending_access(ring, bob)
    assert [r["id"] for r in listed] == [rid], f"the request should stay pending: {listed}"

    # An approver grants it later: the identity's next session opens at once.
    approve_ok(ring, bob, "grant", rid, "--reason", "late but fine")
    t0 = time.monotonic()
    conn = ring.connect("gateway", password=agent)
    assert time.monotonic() - t0 < 3
    assert conn.execute("select count(*) > 0 from patients").fetchone() == (True,)
    shown = approve_json(ring, bob, "show", rid)
    assert shown["valid_until"] - shown["decided_at"] in (29, 30, 31), f"default_grant_seconds 30: {shown}"
    conn.close()


def test_revoke_ends_open_sessions(ring_factory):
    ring = ring_factory("access-revoke", approval=access_approval())
    bob = ring.mint(APPROVER, "approvers")
    agent = ring.mint(AGENT, "clinicians")

    waiting, rid = start_waiting(ring, agent)
    approve_ok(ring, bob, "grant", rid, "--duration", "50")
    waiting.join(10)
    assert waiting.outcome == "ready", waiting.describe()
    conn = ring.connect("gateway", password=agent)
    assert conn.execute("select 1").fetchone() == (1,)
    assert [g["id"] for g in approve_json(ring, bob, "grants")] == [rid]

    # bob revokes the grant: every session under it ends.
    t0 = time.monotonic()
    approve_ok(ring, bob, "grants", "--revoke", rid, "--reason", "done")
    err = wait_for(lambda: ended_error(conn), 5, interval=0.1)
    took = time.monotonic() - t0
    assert err is not None, "the session still works 5 s after the grant was revoked"
    assert took <= 3, f"the session ended {took:.1f} s after the revoke"
    assert "revoked" in str(err) and rid in str(err), repr(err)
    assert sqlstate(err) == "57P05", f"SQLSTATE {sqlstate(err)} ({err!r})"
    conn.close()
    answer = waiting.query("select 1", timeout=5)
    assert any(t == "E" and v.get("C") == "57P05" and "revoked" in v.get("M", "") for t, v in answer), answer
    waiting.wire.close()

    assert approve_json(ring, bob, "grants") == [], "a revoked grant is still listed"
    assert approve_json(ring, bob, "show", rid)["state"] == "revoked"
    # No session opens under the revoked grant: the next one is held again.
    again, rid2 = start_waiting(ring, agent)
    assert rid2 != rid
    again.wire.abort()
    again.join(5)

    revoked = wait_for(lambda: [f for f in audit_frames(ring, "decision")
                                if f.get("request_id") == rid and f.get("decision") == "revoke"], 5)
    assert revoked and revoked[0]["approver"]["user"] == APPROVER and revoked[0].get("reason") == "done", revoked
    ends = [f for f in audit_frames(ring, "error") if f.get("reason") == "grant_revoked"]
    assert len(ends) == 2 and all(e["code"] == "57P05" for e in ends), ends


def test_max_grant_seconds_caps_the_duration(ring_factory):
    ring = ring_factory("access-cap", approval=access_approval())
    bob = ring.mint(APPROVER, "approvers")
    agent = ring.mint(AGENT, "clinicians")

    waiting, rid = start_waiting(ring, agent)
    approve_ok(ring, bob, "grant", rid, "--duration", "600")
    waiting.join(10)
    assert waiting.outcome == "ready", waiting.describe()
    shown = approve_json(ring, bob, "show", rid)
    window = shown["valid_until"] - shown["decided_at"]
    assert 59 <= window <= 61, f"--duration 600 with max_grant_seconds 60 gave a {window} s window: {shown}"
    assert [d.get("duration_seconds") for d in shown["decisions"]] == [60], shown["decisions"]
    waiting.wire.close()


def test_libpq_clients_wait_for_access_grant(ring_factory):
    """psycopg and psql wait for the grant (a notice before AuthenticationOk would make
    libpq give up: hoop-listen keeps it for after), then the session opens."""
    ring = ring_factory("access-libpq", approval=access_approval())
    bob = ring.mint(APPROVER, "approvers")
    agent = ring.mint(AGENT, "clinicians")
    for client in ("psycopg", "psql"):
        result: dict = {}

        def run():
            try:
                if client == "psycopg":
                    with psycopg.connect(ring.gateway_dsn(password=agent), autocommit=True, connect_timeout=40) as c:
                        result["rows"] = c.execute("select 1").fetchall()
                else:
                    r = ring.psql("gateway", "-c", "select 1", dsn_kw={"password": agent}, timeout=60)
                    result["psql"] = (r.returncode, r.stdout, r.stderr)
            except Exception as e:   # noqa: BLE001
                result["error"] = e

        th = threading.Thread(target=run, daemon=True)
        th.start()
        listed = wait_for(lambda: pending_access(ring, bob), 15)
        assert listed, f"{client}: no access request listed"
        time.sleep(1)
        assert th.is_alive(), f"{client} stopped waiting before the grant: {result}"
        approve_ok(ring, bob, "grant", listed[0]["id"], "--duration", "20")
        th.join(15)
        if client == "psycopg":
            assert result.get("rows") == [(1,)], result
        else:
            rc, out, err = result.get("psql", (None, "", ""))
            assert rc == 0 and out.strip() == "1", result
            assert "held for approval as " + listed[0]["id"] in err, err   # the notice, once the session opened
        # The next client must wait again.
        approve_ok(ring, bob, "grants", "--revoke", listed[0]["id"], "--reason", "next client")


# --- webhook ----------------------------------------------------------------------------

class HookReceiver:
    """A loopback HTTP receiver that records every POST body; answers 500 to the
    first `fail_first` requests and 200 after."""

    def __init__(self, fail_first: int = 1):
        self.bodies: list[bytes] = []
        self.statuses: list[int] = []
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    outer.bodies.append(body)
                    code = 500 if len(outer.bodies) <= fail_first else 200
                    outer.statuses.append(code)
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def json_bodies(self) -> list[dict]:
        out = []
        for b in list(self.bodies):
            try:
                out.append(json.loads(b))
            except ValueError:
                out.append({"_unparsable": b.decode(errors="replace")})
        return out

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = HookReceiver()
    yield r
    r.close()


def phones(ring: Ring) -> list[tuple]:
    with ring.connect("direct") as d:
        return d.execute("select id, phone from patients order by id").fetchall()


def test_webhook_notifies_held_request_without_literals(ring_factory, receiver):
    ring = ring_factory("webhook", approval=None)
    ring.reconfigure(lambda cfg: cfg["approval"].update(webhook={"url": receiver.url, "retries": 5}))
    bob = ring.mint(APPROVER, "approvers")
    before = phones(ring)
    assert before and all(p != "555-0100" for _, p in before)

    notices: list = []
    outcome: dict = {}
    conn = ring.connect("gateway")
    # A Diagnostic is valid only inside the handler: keep its texts.
    conn.add_notice_handler(lambda d: notices.append((d.message_primary or "", d.message_hint or "")))

    def run():
        try:
            conn.execute("update patients set phone = '555-0100'")
            outcome["ok"] = True
        except psycopg.Error as e:
            outcome["error"] = e

    th = threading.Thread(target=run, daemon=True)
    th.start()
    try:
        assert wait_for(lambda: notices, 10), "no hold notice for an unbounded update"
        m = REQUEST_ID.search(notices[0][0])
        assert m and "held for approval" in notices[0][0], f"hold notice: {notices[0]!r}"
        rid = m.group(0)
        assert th.is_alive(), f"the held update did not wait: {outcome}"

        for_rid = lambda: [b for b in receiver.json_bodies() if b.get("id") == rid]   # noqa: E731
        assert wait_for(lambda: len(for_rid()) >= 2, 10), \
            f"expected a POST and a retry (first answered 500) within 10 s; got {receiver.bodies} ({receiver.statuses})"
        body = for_rid()[0]
        assert body["event"] == "approval_requested" and body["kind"] == "query", body
        assert body["connection"] == "clinic" and body["requester"]["user"] == ring.gateway_user, body
        assert "$1" in body["statement"] and "phone" in body["statement"], body
        assert rid in body["approve"], body
        assert all(b == for_rid()[0] for b in for_rid()), "a retry should send the same body"
        assert receiver.statuses[:2] == [500, 200], receiver.statuses
        time.sleep(2.5)
        assert len(for_rid()) == 2, f"delivered once answered 200, yet POSTed again: {receiver.statuses}"
        for raw in receiver.bodies:
            assert b"555-0100" not in raw, f"the literal reached the receiver: {raw!r}"

        listed = [r for r in approve_json(ring, bob, "list") if r["id"] == rid]
        assert listed and listed[0]["state"] == "pending" and listed[0]["kind"] == "query", listed
        assert "555-0100" not in json.dumps(listed), "approve list shows the literal"

        approve_ok(ring, bob, "deny", rid, "--reason", "test over")
        th.join(10)
        assert not th.is_alive(), "the client still waits after the deny"
    finally:
        if th.is_alive():
            conn.cancel()
            th.join(5)
    err = outcome.get("error")
    assert err is not None, f"the denied update succeeded: {outcome}"
    assert "test over" in str(err) and rid in str(err) and "denied" in str(err), repr(err)
    assert sqlstate(err) == "42501", f"SQLSTATE {sqlstate(err)}"
    assert conn.execute("select 1").fetchone() == (1,), "the session should survive a denied request"
    conn.close()
    assert phones(ring) == before, "a patient's phone changed after the request was denied"


def test_webhook_slack_format(ring_factory, receiver):
    ring = ring_factory("webhook-slack", approval=None)
    ring.reconfigure(lambda cfg: cfg["approval"].update(
        webhook={"url": receiver.url, "retries": 5, "format": "slack"}))
    bob = ring.mint(APPROVER, "approvers")
    before = phones(ring)
    result: dict = {}

    def run():
        result["psql"] = ring.psql("gateway", "-c", "update patients set phone = '555-0199'", timeout=60)

    th = threading.Thread(target=run, daemon=True)
    th.start()
    pending = wait_for(lambda: [r for r in approve_json(ring, bob, "list") if r.get("kind") == "query"], 10)
    assert pending, "the unbounded update was not held"
    rid = pending[0]["id"]
    delivered = wait_for(lambda: [b for b in receiver.json_bodies() if rid in b.get("text", "")], 10)
    assert delivered, f"no Slack body naming {rid}: {receiver.bodies}"
    body = delivered[0]
    assert set(body) == {"text"}, body
    assert "$1" in body["text"] and "clinic" in body["text"], body
    for raw in receiver.bodies:
        assert b"555-0199" not in raw, f"the literal reached the receiver: {raw!r}"

    approve_ok(ring, bob, "deny", rid, "--reason", "test over")
    th.join(15)
    r = result.get("psql")
    assert r is not None, "psql still waits after the deny"
    assert r.returncode != 0 and "test over" in r.stderr and rid in r.stderr, (r.returncode, r.stdout, r.stderr)
    assert "held for approval" in r.stderr, r.stderr
    assert phones(ring) == before
