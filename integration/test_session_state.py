"""Session state that drivers rely on, through the ring and compared with a direct
connection: SET, RESET and SET LOCAL; search_path; prepared statements that outlive
their transaction; ParameterStatus after SET (psycopg's view and the raw wire);
LISTEN/NOTIFY delivered to an idle listener and to one inside a query, with the
payload masked like any text; and cancel from psql (SIGINT), psycopg (`conn.cancel()`
on an extended-protocol query) and asyncpg (a timeout). psycopg's `cancel_safe()` is
integration/test_ring_psycopg.py::test_cancel_request; a client that leaves inside a
transaction is integration/test_ring_disconnect.py."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import struct
import subprocess
import threading
import time
import uuid

import psycopg
import pytest

from helpers.pgwire import Bind, Execute, Parse, PGWire, Query, Sync
from helpers.ring import BOTH, PSQL, RssSampler, clean_env, run_both, wait_for



def wire(ring, via, app="hoop-state"):
    """A raw protocol connection, through the gateway or straight to PostgreSQL."""
    if via == "gateway":
        c = PGWire("127.0.0.1", ring.listen_port, timeout=15)
        c.startup(ring.gateway_user, "clinic", ring.gateway_password, {"application_name": app})
    else:
        c = PGWire("127.0.0.1", ring.pg_port, timeout=15)
        c.startup("hoop_gateway", "clinic", ring.pg_password, {"application_name": app})
    return c


def notification(payload: bytes) -> tuple[int, str, str]:
    """A NotificationResponse body: (pid, channel, payload)."""
    (pid,) = struct.unpack_from("!i", payload, 0)
    channel, text, _ = payload[4:].split(b"\0", 2)
    return pid, channel.decode(), text.decode()


# --- SET, RESET, SET LOCAL, search_path ----------------------------------------------

def test_set_reset_and_set_local(ring):
    steps = [
        "show work_mem", "set work_mem = '7MB'", "show work_mem",
        "begin", "set local work_mem = '9MB'", "show work_mem", "commit", "show work_mem",
        "begin", "set work_mem = '11MB'", "rollback", "show work_mem",
        "set statement_timeout = '41s'", "reset work_mem", "show work_mem", "show statement_timeout",
        "reset all", "show statement_timeout",
        "begin", "set local statement_timeout = '1ms'", "savepoint a", "set local work_mem = '3MB'",
        "rollback to savepoint a", "show work_mem", "commit", "show statement_timeout",
    ]

    def fn(conn):
        out = []
        for sql in steps:
            cur = conn.execute(sql)
            out.append((sql, cur.statusmessage, cur.fetchall() if cur.description else None))
        return out
    g, d = run_both(ring, fn)
    assert ("show work_mem", "SHOW", [("9MB",)]) in d and d[7][2] == [("7MB",)]   # sanity
    assert g == d


def test_search_path(ring, admin):
    schema = "drv_sp_" + uuid.uuid4().hex[:8]
    admin.execute(f"create schema {schema} authorization hoop_gateway")
    admin.execute(f"create table {schema}.things (x text)")
    admin.execute(f"insert into {schema}.things values ('in the other schema')")
    admin.execute(f"alter table {schema}.things owner to hoop_gateway")
    steps = [
        "show search_path", "select to_regclass('things')::text",
        f"set search_path = {schema}, public", "show search_path", "select x from things",
        "select count(*) from patients",          # public is still on the path
        f"create temp table things (x text)", "insert into things values ('temp first')",
        "select x from things",                    # pg_temp comes first
        "set search_path to default", "select to_regclass('things')::text",
        "begin", f"set local search_path = {schema}", "select x from things", "commit",
        "show search_path",
    ]

    def fn(conn):
        out = []
        for sql in steps:
            cur = conn.execute(sql)
            out.append(cur.fetchall() if cur.description else cur.statusmessage)
        return out
    try:
        g, d = run_both(ring, fn)
    finally:
        admin.execute(f"drop schema {schema} cascade")
    assert d[4] == [("in the other schema",)] and d[8] == [("temp first",)]
    assert g == d


def test_masking_follows_search_path(ring):
    """A rule on patients.ssn holds whatever path the session finds the table by."""
    with ring.connect("gateway") as c:
        c.execute("set search_path = pg_catalog, public")
        (ssn,) = c.execute("select ssn from patients where id = 1").fetchone()
        (qualified,) = c.execute("select ssn from public.patients where id = 1").fetchone()
    with ring.connect("direct") as d:
        (raw,) = d.execute("select ssn from patients where id = 1").fetchone()
    assert ssn == qualified == "***-**-" + raw[-4:]


# --- prepared statements across transactions -------------------------------------

def test_prepared_statements_survive_transactions(ring):
    q = "select %t::int * 3, count(*) from providers where id <= %t::int"

    def fn(conn):
        conn.autocommit = False
        out = []
        for i, end in enumerate(["commit", "rollback", "commit", "error", "commit"]):
            out.append(conn.execute(q, (i, i), prepare=True).fetchall())
            if end == "error":
                with pytest.raises(psycopg.errors.DivisionByZero):
                    conn.execute("select 1/0")
                conn.rollback()
            else:
                getattr(conn, end)()
        out.append(conn.execute("select count(*) from pg_prepared_statements").fetchall())
        conn.rollback()
        return out
    g, d = run_both(ring, fn)
    assert d[4] == [(12, 4)]
    assert g == d


def test_sql_prepare_is_not_undone_by_rollback(ring):
    """PREPARE is outside transactions (the server keeps it after a ROLLBACK)."""
    steps = ["begin", "prepare by_sql(int) as select $1 + 1", "rollback", "execute by_sql(41)",
             "begin", "select 1/0", "rollback", "execute by_sql(1)",
             "begin", "deallocate by_sql", "rollback", "select count(*) from pg_prepared_statements"]

    def fn(conn):
        out = []
        for sql in steps:
            try:
                cur = conn.execute(sql)
                out.append(cur.fetchall() if cur.description else cur.statusmessage)
            except psycopg.Error as e:
                out.append(e.sqlstate)
        return out
    g, d = run_both(ring, fn)
    assert d[3] == [(42,)] and d[7] == [(2,)] and d[11] == [(0,)]
    assert g == d


def test_named_protocol_statement_survives_commit_and_rollback(ring):
    def fn(via):
        c = wire(ring, via)
        try:
            seen = []
            c.send(Query("begin"))
            c.read_until_ready()
            c.send(Parse("kept", "select $1::int + 1", [23]), Sync())
            seen.append([t for t, _ in c.read_until_ready()])
            for end in ("commit", "begin", "rollback"):
                c.send(Query(end))
                seen.append([t for t, _ in c.read_until_ready()])
                c.send(Bind("", "kept", [b"41"]), Execute("", 0), Sync())
                seen.append([(t, v) for t, v in c.read_until_ready() if t != "2"])
            return seen
        finally:
            c.close()
    g, d = fn("gateway"), fn("direct")
    assert ("D", [b"42"]) in d[2]
    assert g == d


# --- ParameterStatus ----------------------------------------------------------------

def test_parameter_status_messages_after_set(ring):
    """The 'S' messages a SET makes, in the order the server sends them, compared
    message by message on the wire."""
    steps = ["set application_name = 'drivers-tool'", "set timezone = 'America/Sao_Paulo'",
             "set datestyle = 'German'", "set intervalstyle = 'iso_8601'", "select 1",
             "begin", "set local timezone = 'Asia/Tokyo'", "commit",
             "begin", "set timezone = 'Europe/Lisbon'", "rollback",
             "reset timezone", "reset all"]

    def fn(via):
        c = wire(ring, via, app="hoop-param-wire")
        try:
            out = []
            for sql in steps:
                c.send(Query(sql))
                out.append([(t, v) for t, v in c.read_until_ready(keep_status=True) if t in ("S", "Z")])
            return out
        finally:
            c.close()
    g, d = fn("gateway"), fn("direct")
    assert d[0] == [("S", ("application_name", "drivers-tool")), ("Z", "I")]
    assert ("S", ("TimeZone", "Asia/Tokyo")) in d[6] and ("S", ("TimeZone", "America/Sao_Paulo")) in d[7]
    assert g == d


def test_psycopg_sees_parameter_changes(ring):
    names = ["application_name", "TimeZone", "DateStyle", "IntervalStyle"]

    def fn(conn):
        out = []
        for sql in ["set application_name = 'drivers-app'", "set timezone = 'Pacific/Auckland'",
                    "set datestyle = 'ISO, DMY'", "set intervalstyle = 'sql_standard'", "reset all"]:
            conn.execute(sql)
            out.append({n: conn.info.parameter_status(n) for n in names})
        return out
    g, d = run_both(ring, fn, application_name="drivers-start")
    assert d[0]["application_name"] == "drivers-app" and d[-1]["application_name"] == "drivers-start"
    assert g == d


# --- LISTEN / NOTIFY ------------------------------------------------------------------

def channel_name():
    return "drv_chan_" + uuid.uuid4().hex[:8]


@pytest.mark.parametrize("notifier_via", ["direct", "gateway"])
def test_idle_listener_gets_notifications(ring, notifier_via):
    chan = channel_name()
    with ring.connect("gateway") as listener, ring.connect(notifier_via) as notifier:
        listener.execute(f"listen {chan}")
        notifier_pid = notifier.execute("select pg_backend_pid()").fetchone()[0]
        got = []

        def listen():
            for n in listener.notifies(timeout=10, stop_after=3):
                got.append((n.channel, n.payload, n.pid))
        t = threading.Thread(target=listen)
        t.start()
        time.sleep(0.5)          # the listener is idle, waiting, when they arrive
        notifier.execute(f"notify {chan}, 'first payload'")
        notifier.execute("select pg_notify(%s, %s)", (chan, "second é🐘"))
        notifier.execute(f"notify {chan}")
        t.join(15)
    assert not t.is_alive()
    assert [g[:2] for g in got] == [(chan, "first payload"), (chan, "second é🐘"), (chan, "")]
    if notifier_via == "direct":
        # Another session's pid is the server's (the one a direct notifier sees as its own).
        assert {g[2] for g in got} == {notifier_pid}


def test_notification_on_the_wire_matches_direct(ring):
    """Raw NotificationResponse bytes while the listener sends nothing at all."""
    chan = channel_name()

    def fn(via):
        c = wire(ring, via)
        try:
            c.send(Query(f"listen {chan}"))
            assert [t for t, _ in c.read_until_ready()] == ["C", "Z"]
            with ring.connect("direct") as d:
                pid = d.execute("select pg_backend_pid()").fetchone()[0]
                d.execute(f"notify {chan}, 'wire payload'")
            t, payload = c.read_raw(timeout=10)
            assert t == "A", (t, payload)
            got_pid, channel, text = notification(payload)
            assert got_pid == pid
            c.expect_nothing(0.5)
            return channel, text
        finally:
            c.close()
    assert fn("gateway") == fn("direct") == (chan, "wire payload")


def test_own_notification_carries_the_sessions_pid(ring):
    chan = channel_name()

    def fn(conn):
        conn.execute(f"listen {chan}")
        conn.execute(f"notify {chan}, 'to myself'")
        [n] = list(conn.notifies(timeout=5, stop_after=1))
        return n.channel, n.payload, n.pid == conn.info.backend_pid
    g, d = run_both(ring, fn)
    assert d == (chan, "to myself", True)
    assert g == d


def test_notification_inside_a_query_and_a_transaction(ring):
    """Delivered at the end of the listener's query (or transaction), as the server does."""
    chan = channel_name()

    def fn(conn):
        got = []
        conn.add_notify_handler(lambda n: got.append((n.channel, n.payload)))
        conn.execute(f"listen {chan}")

        def notify_soon():
            time.sleep(0.5)
            with ring.connect("direct") as d:
                d.execute(f"notify {chan}, 'during the query'")
        t = threading.Thread(target=notify_soon)
        t.start()
        conn.execute("select pg_sleep(1.5)")
        t.join()
        after_query = list(got)
        conn.execute("begin")
        with ring.connect("direct") as d:
            d.execute(f"notify {chan}, 'during the transaction'")
        time.sleep(0.5)
        in_transaction = list(got)
        conn.execute("commit")
        time.sleep(0.5)
        conn.execute("select 1")
        return after_query, in_transaction, got
    g, d = run_both(ring, fn)
    assert d[0] == [(chan, "during the query")]
    assert d[2][-1] == (chan, "during the transaction")
    assert g == d


def test_many_notifications_arrive_in_order(ring):
    chan = channel_name()
    n = 3000
    with ring.connect("gateway") as listener:
        listener.execute(f"listen {chan}")
        with ring.connect("direct") as d:
            d.execute("select pg_notify(%s, g::text) from generate_series(1, %s) g", (chan, n))
        got = [x.payload for x in listener.notifies(timeout=30, stop_after=n)]
        # The session is still in step: a query answers after them.
        assert listener.execute("select 'after'").fetchone() == ("after",)
    assert got == [str(i) for i in range(1, n + 1)]


def test_listener_that_does_not_read_holds_nothing_in_the_ring(ring):
    """30 MB of notifications to a listener that reads none: flow control leaves them in
    the server (TCP holds its backend), no stage grows, others go on; then they all
    arrive, in order."""
    chan = channel_name()
    n, size = 30_000, 1000
    c = wire(ring, "gateway")
    try:
        c.send(Query(f"listen {chan}"))
        c.read_until_ready()
        sampler = RssSampler(ring.stage_pids(), interval=0.1)
        sampler.start()
        with ring.connect("direct") as d:
            d.execute("select pg_notify(%s, lpad(g::text, %s, 'x')) from generate_series(1, %s) g", (chan, size, n))
        time.sleep(3)       # time for anything unbounded to pile up
        with ring.connect("gateway") as other:
            assert other.execute("select count(*) from providers").fetchone() == (150,)
        got = []
        while len(got) < n:
            t, payload = c.read_raw(timeout=60)
            assert t == "A", (t, payload[:200])
            got.append(notification(payload)[2])
        sampler.stop()
    finally:
        c.close()
    assert got == [str(i).rjust(size, "x") for i in range(1, n + 1)]
    report = {k: (sampler.first_kb[k] // 1024, sampler.peak_kb[k] // 1024) for k in sampler.pids}
    for name, (before, peak) in report.items():
        assert peak - before < 16, f"{name} grew from {before} MB to {peak} MB: {report}"


def test_notification_payload_is_masked_and_recorded(ring):
    chan = channel_name()
    app = "drv-notify-" + uuid.uuid4().hex[:8]
    phi = "patient ssn 912-34-5678 called"
    with ring.connect("gateway", application_name=app) as listener:
        listener.execute(f"listen {chan}")
        with ring.connect("direct") as d:
            d.execute("select pg_notify(%s, %s)", (chan, phi))
        [n] = list(listener.notifies(timeout=10, stop_after=1))
    assert n.channel == chan
    assert "912-34-5678" not in n.payload and "[SSN]" in n.payload, n.payload
    [session] = ring.session_ids_for_app(app)
    frames = [f for f in ring.session_frames(session) if f["type"] == "notification"]
    assert len(frames) == 1
    f = frames[0]
    # Recorded as delivered: masked (hoop-record stores a frame before it stamps it).
    assert f["payload"] == n.payload and f.get("stamp:mask") is True
    masked = [x for x in ring.session_frames(session) if x["type"] == "masked" and x.get("frame") == "notification"]
    assert masked and masked[0]["counts"].get("SSN") == 1


# --- cancel ---------------------------------------------------------------------------

class InteractivePsql:
    """psql on a pseudo-terminal: interactive, so that SIGINT cancels the query and psql
    goes on (a psql reading a script exits after a cancel)."""

    def __init__(self, dsn):
        self.master, slave = os.openpty()
        env = clean_env()
        env.update(TERM="dumb", PAGER="cat")
        self.p = subprocess.Popen([PSQL, "-X", "-A", "-t", "-P", "pager=off", "-d", dsn], stdin=slave,
                                  stdout=slave, stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self.seen = ""

    def read_until(self, text, timeout=10):
        deadline = time.monotonic() + timeout
        while text not in self.seen and time.monotonic() < deadline:
            if select.select([self.master], [], [], 0.1)[0]:
                try:
                    self.seen += os.read(self.master, 4096).decode(errors="replace")
                except OSError:
                    break
        assert text in self.seen, f"psql did not print {text!r}: {self.seen!r}"
        i = self.seen.index(text) + len(text)
        out, self.seen = self.seen[:i], self.seen[i:]
        return out

    def type(self, line):
        os.write(self.master, line.encode() + b"\r")

    def close(self):
        self.p.kill()
        self.p.wait(5)
        os.close(self.master)


@pytest.mark.parametrize("via", BOTH)
def test_psql_sigint_cancels_and_psql_goes_on(ring, admin, via):
    psql = InteractivePsql(ring.dsn(via))
    try:
        psql.read_until("=> ")
        psql.type("select pg_sleep(30);")
        running = wait_for(lambda: admin.execute(
            "select 1 from pg_stat_activity where query like 'select pg_sleep(30)%' and state = 'active'").fetchone(), 10)
        assert running, "the sleep never started upstream"
        t0 = time.monotonic()
        psql.p.send_signal(signal.SIGINT)
        after = psql.read_until("=> ")
        elapsed = time.monotonic() - t0
        assert "ERROR:  canceling statement due to user request" in after, after
        assert elapsed < 5, f"the cancel took {elapsed:.1f}s"
        psql.type("select 'still ' || 'here';")
        psql.read_until("still here")
        assert psql.p.poll() is None
    finally:
        psql.close()


def test_psycopg_cancel_of_an_extended_query(ring):
    with ring.connect("gateway") as conn:
        timer = threading.Timer(0.7, conn.cancel)
        t0 = time.monotonic()
        timer.start()
        with pytest.raises(psycopg.errors.QueryCanceled) as e:
            conn.execute("select pg_sleep(%s), %s::text", (20, "x"))
        elapsed = time.monotonic() - t0
        timer.join()
        assert e.value.sqlstate == "57014"
        assert "canceling statement due to user request" in str(e.value)
        assert elapsed < 5, f"cancel took {elapsed:.1f}s"
        # Still in step, prepared statements included.
        assert conn.execute("select %s::int + 1", (1,)).fetchone() == (2,)


def test_psycopg_cancel_inside_a_transaction(ring):
    def fn(conn):
        conn.autocommit = False
        conn.execute("select 1")
        threading.Timer(0.7, conn.cancel_safe).start()
        try:
            conn.execute("select pg_sleep(20)")
            code = None
        except psycopg.errors.QueryCanceled as e:
            code = e.sqlstate
        status = psycopg.pq.TransactionStatus(conn.info.transaction_status).name
        conn.rollback()
        return code, status, conn.execute("select 'usable'").fetchone()
    g, d = run_both(ring, fn)
    assert d == ("57014", "INERROR", ("usable",))
    assert g == d


def asyncpg_connect(ring, via):
    import asyncpg
    if via == "gateway":
        return asyncpg.connect(host="127.0.0.1", port=ring.listen_port, user=ring.gateway_user,
                               password=ring.gateway_password, database="clinic", ssl=False)
    return asyncpg.connect(host="127.0.0.1", port=ring.pg_port, user="hoop_gateway",
                           password=ring.pg_password, database="clinic", ssl=False)


@pytest.mark.parametrize("via", BOTH)
def test_asyncpg_timeout_cancels(ring, via):
    import asyncpg

    async def run():
        conn = await asyncpg_connect(ring, via)
        try:
            t0 = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                # execute() without arguments: the simple protocol, text results.
                await conn.execute("select pg_sleep(20)", timeout=1)
            elapsed = time.monotonic() - t0
            assert await conn.execute("select 1") == "SELECT 1"
            return elapsed
        finally:
            await conn.close()
    elapsed = asyncio.run(run())
    assert elapsed < 5, f"asyncpg's timeout took {elapsed:.1f}s"
    with ring.admin() as a:
        assert wait_for(lambda: not a.execute("select 1 from pg_stat_activity where query = 'select pg_sleep(20)' "
                                              "and state = 'active'").fetchone(), 5)
