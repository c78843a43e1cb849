"""A client that goes away must not leave work behind upstream: a query in flight is
cancelled and the upstream session closed; an open transaction is rolled back."""

from __future__ import annotations

import time
import uuid

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
