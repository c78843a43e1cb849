"""A client that goes away must not leave work behind upstream: a query in flight is
cancelled and the upstream session closed; an open transaction is rolled back. And
the other way round: an upstream session that ends while its client is idle tells the
client at once."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest

from helpers.pgwire import PGWire, Query
from helpers.ring import wait_for


def gateway_wire(ring, app):
    c = PGWire("127.0.0.1", ring.listen_port, timeout=15)
    c.startup(ring.gateway_user, "clinic", ring.gateway_password, {"application_name": app})
    return c


def backends(admin, marker):
    """Upstream backends whose current or last query carries the marker."""
    return admin.execute("select pid, state, query from pg_stat_activity where query like %s and pid <> pg_backend_pid()",
                         ("%" + marker + "%",)).fetchall()


def test_disconnect_mid_query_cancels_upstream(ring, admin):
    marker = "hoop_mid_" + uuid.uuid4().hex
    c = gateway_wire(ring, marker)
    c.send(Query(f"select pg_sleep(30) /* {marker} */"))
    running = wait_for(lambda: [b for b in backends(admin, marker) if b[1] == "active"], 10)
    assert running, "the pg_sleep(30) never started upstream"
    c.abort()
    t0 = time.monotonic()
    gone = wait_for(lambda: not [b for b in backends(admin, marker) if b[1] == "active"], 5)
    assert gone, f"pg_sleep(30) still running upstream {time.monotonic() - t0:.1f}s after the client left: " \
                 f"{backends(admin, marker)}"
    closed = wait_for(lambda: not backends(admin, marker), 5)
    assert closed, f"the upstream session stayed open after the client left: {backends(admin, marker)}"
    # the gateway recorded the end of the session
    sessions = ring.session_ids_for_app(marker)
    assert len(sessions) == 1, sessions
    types = [f["type"] for f in ring.session_frames(sessions[0])]
    assert "session_close" in types, types
    assert wait_for(lambda: "session_closed" in [f["type"] for f in ring.session_frames(sessions[0])], 5)


def test_disconnect_with_fin_mid_query_cancels_upstream(ring, admin):
    # The polite variant: the socket is shut down (FIN), not reset, without Terminate.
    marker = "hoop_fin_" + uuid.uuid4().hex
    c = gateway_wire(ring, marker)
    c.send(Query(f"select pg_sleep(30) /* {marker} */"))
    assert wait_for(lambda: [b for b in backends(admin, marker) if b[1] == "active"], 10)
    c.close(terminate=False)
    assert wait_for(lambda: not backends(admin, marker), 5), backends(admin, marker)


def test_disconnect_inside_transaction_leaves_none_open(ring, admin, direct):
    marker = "hoop_tx_" + uuid.uuid4().hex
    lock_key = int(uuid.uuid4().int % (2**31))
    c = gateway_wire(ring, marker)
    c.send(Query(f"begin; select pg_advisory_xact_lock({lock_key}); create temp table t_{marker}(x int); "
                 f"select 'in tx' /* {marker} */"))
    msgs = c.read_until_ready(timeout=10)
    assert msgs[-1] == ("Z", "T"), msgs
    assert direct.execute("select pg_try_advisory_xact_lock(%s)", (lock_key,)).fetchone() == (False,)
    c.abort()
    assert wait_for(lambda: not backends(admin, marker), 5), \
        f"the upstream session is still there: {backends(admin, marker)}"
    assert wait_for(lambda: direct.execute("select pg_try_advisory_lock(%s)", (lock_key,)).fetchone()[0], 5), \
        "the transaction's lock is still held upstream"
    direct.execute("select pg_advisory_unlock(%s)", (lock_key,))
    assert admin.execute("select count(*) from pg_stat_activity where state like 'idle in transaction%%' "
                         "and query like %s", ("%" + marker + "%",)).fetchone() == (0,)


def test_terminate_closes_upstream(ring, admin):
    marker = "hoop_term_" + uuid.uuid4().hex
    c = gateway_wire(ring, marker)
    c.send(Query(f"select 1 /* {marker} */"))
    c.read_until_ready(timeout=10)
    assert backends(admin, marker)
    c.close(terminate=True)
    assert wait_for(lambda: not backends(admin, marker), 5), backends(admin, marker)


def test_many_abrupt_disconnects_leave_no_backends(ring, admin):
    marker = "hoop_many_" + uuid.uuid4().hex
    conns = []
    for i in range(20):
        c = gateway_wire(ring, marker)
        c.send(Query(f"select pg_sleep(20) /* {marker} */" if i % 2 else f"begin; select {i} /* {marker} */"))
        conns.append(c)
    assert wait_for(lambda: len(backends(admin, marker)) == 20, 10), backends(admin, marker)
    for c in conns:
        c.abort()
    assert wait_for(lambda: not backends(admin, marker), 8), backends(admin, marker)


def test_killed_driver_inside_a_transaction_commits_nothing(ring, admin, direct):
    """A psycopg process killed (SIGKILL) inside a transaction with a write pending:
    the upstream session goes, nothing of the transaction commits, no lock stays."""
    marker = "hoop_kill_" + uuid.uuid4().hex[:12]
    direct.execute(f"create table {marker} (x int)")
    try:
        script = ("import psycopg, sys, time\n"
                  "c = psycopg.connect(sys.argv[1], autocommit=False)\n"
                  f"c.execute('insert into {marker} values (1)')\n"
                  f"c.execute('lock table {marker} in exclusive mode')\n"
                  "print('in transaction', flush=True)\n"
                  "time.sleep(60)\n")
        p = subprocess.Popen([sys.executable, "-c", script, ring.gateway_dsn(application_name=marker)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert p.stdout.readline().strip() == "in transaction", p.stderr.read() if p.poll() is not None else ""
            assert admin.execute("select state from pg_stat_activity where application_name = %s",
                                 (marker,)).fetchall() == [("idle in transaction",)]
            p.kill()
            p.wait(5)
        finally:
            p.kill()
        assert wait_for(lambda: not admin.execute("select 1 from pg_stat_activity where application_name = %s",
                                                  (marker,)).fetchone(), 5), "the upstream session stayed"
        assert direct.execute(f"select count(*) from {marker}").fetchone() == (0,)
        with direct.transaction():
            direct.execute(f"lock table {marker} in exclusive mode nowait")   # no lock left behind
    finally:
        direct.execute(f"drop table {marker}")


@pytest.mark.parametrize("via", ["gateway", "direct"])
def test_upstream_terminated_while_idle_tells_the_client(ring, admin, via):
    """pg_terminate_backend on an idle session: the server's FATAL reaches the client at
    once, as it would directly, not at its next query."""
    marker = "hoop_term_idle_" + uuid.uuid4().hex[:12]
    if via == "gateway":
        c = gateway_wire(ring, marker)
    else:
        c = PGWire("127.0.0.1", ring.pg_port, timeout=15)
        c.startup("hoop_gateway", "clinic", ring.pg_password, {"application_name": marker})
    try:
        c.send(Query("select 1"))
        c.read_until_ready(timeout=10)
        [(pid,)] = admin.execute("select pid from pg_stat_activity where application_name = %s", (marker,)).fetchall()
        assert admin.execute("select pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        msgs = c.read_until_closed(timeout=5)
    finally:
        c.close(terminate=False)
    errors = [v for t, v in msgs if t == "E"]
    assert len(errors) == 1 and errors[0]["S"] == "FATAL" and errors[0]["C"] == "57P01", msgs
    assert errors[0]["M"] == "terminating connection due to administrator command"
    assert c.closed


def test_upstream_sessions_probe_a_server_that_goes_silent(ring_factory):
    # A server the network loses without a FIN or RST would hold a session and its
    # client for ever: hoop-connect's connection to it sends TCP keepalives (the kernel
    # shows their timer on the socket) and gives up on unacknowledged data. Over TCP: the
    # embedded default reaches the demo database by its unix socket, which no network loses.
    ring = ring_factory("keepalive")

    def tcp(cfg):
        cfg["connections"]["clinic"]["conninfo"] = f"host=127.0.0.1 port={ring.pg_port} dbname=clinic user=hoop_gateway"
    ring.reconfigure(tcp)
    with ring.admin() as admin, ring.connect("gateway", application_name="hoop-keepalive") as c:
        c.execute("select 1")
        port = admin.execute("select client_port from pg_stat_activity where application_name = 'hoop-keepalive'"
                             " and pid <> pg_backend_pid()").fetchone()[0]
        assert port > 0, "the session is not on TCP"
        out = subprocess.run(["ss", "-tno", "state", "established", f"( sport = :{port} )"],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        # libpq turns keepalives on by default, after two hours of silence (the kernel's
        # default): the first probe must come within a minute.
        import re
        timer = re.search(r"timer:\(keepalive,(?:(\d+)min)?(?:(\d+)(?:\.\d+)?sec)?(?:(\d+)ms)?", out.stdout)
        assert timer, out.stdout
        minutes, seconds = int(timer.group(1) or 0), int(timer.group(2) or 0)
        assert minutes * 60 + seconds <= 60, out.stdout
