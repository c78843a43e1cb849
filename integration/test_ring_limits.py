"""Limits that keep one client from hurting the gateway or stepping past its role:
notices paced like rows, a bounded queue of waiting requests, startup settings
filtered before they reach the upstream connection, work in proportion to a request
of many statements, and portals that neither copy their statement nor grow unbounded."""

from __future__ import annotations

import os
import threading
import time

from helpers.pgwire import PGWire, Query, ServerClosed, message
from helpers.ring import RssSampler

# A stage holding what the test pushes would exceed this (notices: ~100 MB of them;
# requests: 80 MiB); a bounded one stays well under it.
GROWTH_BOUND_MB = 48


def growth_mb(sampler):
    return {n: (sampler.peak_kb[n] - sampler.first_kb[n]) // 1024 for n in sampler.pids}


def test_notices_to_a_client_that_does_not_read_are_paced(ring):
    c = PGWire("127.0.0.1", ring.listen_port, timeout=30)
    c.startup(ring.gateway_user, "clinic", ring.gateway_password)
    sampler = RssSampler(ring.stage_pids(), interval=0.1)
    sampler.start()
    try:
        # About 100 MB of notices; the client reads none of them for a while.
        c.send(Query("do $$ begin for i in 1..100000 loop raise notice '%', repeat('n', 1000); end loop; end $$"))
        time.sleep(6)
        grown = growth_mb(sampler)
        assert all(g < GROWTH_BOUND_MB for g in grown.values()), f"stage memory grew (MB): {grown}"
        # Then it reads: the command completes. (Code's notices are one a request to the
        # client: the rest are recorded withheld, paced through the ring by the same credits.)
        notices = 0
        while True:
            t, _ = c.read(timeout=120)
            if t == "N":
                notices += 1
            if t == "Z":
                break
        assert notices == 1
    finally:
        sampler.stop()
        c.close()


def test_requests_waiting_behind_a_slow_one_are_bounded(ring):
    c = PGWire("127.0.0.1", ring.listen_port, timeout=30)
    c.startup(ring.gateway_user, "clinic", ring.gateway_password)
    other = PGWire("127.0.0.1", ring.listen_port, timeout=30)
    other.startup(ring.gateway_user, "clinic", ring.gateway_password)
    sampler = RssSampler(ring.stage_pids(), interval=0.1)
    sampler.start()
    try:
        c.send(Query("select pg_sleep(20)"))
        big = Query("select '" + "x" * (1 << 20) + "'")
        ended = None
        for _ in range(80):          # 80 MiB of requests queued behind the sleep
            try:
                c.send(big)
            except (BrokenPipeError, ConnectionResetError):
                break
        msgs = c.read_until_closed(timeout=60)
        errors = [v for t, v in msgs if t == "E"]
        ended = errors[-1] if errors else None
        assert ended is not None and ended["S"] == "FATAL" and ended["C"] == "53400", msgs[-3:]
        grown = growth_mb(sampler)
        assert grown["connect"] < 64 + GROWTH_BOUND_MB, f"hoop-connect grew {grown['connect']} MB"
        # Another session was not disturbed.
        other.send(Query("select 'still here'"))
        assert ("D", [b"still here"]) in other.read_until_ready(timeout=10)
    finally:
        sampler.stop()
        c.abort()
        other.close()


def test_startup_settings_are_filtered(ring):
    """Display and timing settings pass; settings that change what the gateway's role
    may do (here: default_transaction_read_only, role) are dropped, whether given as
    startup parameters or inside `options`."""
    with ring.connect("gateway", options="-c statement_timeout=4321 -c default_transaction_read_only=on "
                                         "-c role=pg_read_all_data -c work_mem=77MB") as c:
        assert c.execute("show statement_timeout").fetchone() == ("4321ms",)
        assert c.execute("show default_transaction_read_only").fetchone() == ("off",)
        assert c.execute("select current_role").fetchone() == ("hoop_gateway",)
        assert c.execute("show work_mem").fetchone() != ("77MB",)


def copy_in_with_trigger(ring, name, trigger_body, rows, pad):
    """COPY FROM STDIN of `rows` rows (an id and `pad` bytes) into a table whose row
    trigger runs `trigger_body`, by a client that sends everything (from a thread: the
    door reads it only a window ahead of the server) and reads nothing for 6 s. Returns
    the stages' growth over those 6 s, then, read to the end: the notices, the last
    command tag, whether every row was sent."""
    table = name + str(int(time.time() * 1000))
    with ring.connect("direct") as d:
        d.execute(f"create table {table} (id int, pad text)")
        d.execute(f"create function {table}_f() returns trigger language plpgsql as $$ begin {trigger_body} return new; end $$")
        d.execute(f"create trigger {table}_t before insert on {table} for each row execute function {table}_f()")
        d.execute(f"grant insert on {table} to hoop_gateway")
    c = PGWire("127.0.0.1", ring.listen_port, timeout=60)
    c.startup(ring.gateway_user, "clinic", ring.gateway_password)
    sampler = RssSampler(ring.stage_pids(), interval=0.1)
    sampler.start()
    sent = threading.Event()

    def send_rows():
        try:
            c.send(Query(f"copy {table} from stdin"))
            for first in range(0, rows, 2000):
                c.send(message("d", "".join(f"{i}\t{'p' * pad}\n" for i in range(first, min(rows, first + 2000))).encode()))
            c.send(message("c"))
            sent.set()
        except OSError:
            pass

    try:
        threading.Thread(target=send_rows, daemon=True).start()
        time.sleep(6)
        grown = growth_mb(sampler)
        notices, tag = 0, None
        while True:
            t, v = c.read(timeout=120)
            if t == "N":
                notices += 1
            elif t == "C":
                tag = str(v)
            elif t == "E":
                raise AssertionError(f"error: {v}")
            elif t == "Z":
                break
        return grown, notices, tag, sent.is_set()
    finally:
        sampler.stop()
        c.close()
        with ring.connect("direct") as d:
            d.execute(f"drop table if exists {table}")
            d.execute(f"drop function if exists {table}_f()")


def test_notices_raised_during_copy_from_stdin_are_paced(ring):
    """A trigger raises a notice per row of a COPY FROM STDIN to a client that sends its
    rows but reads nothing for a while: the notices wait in the server (credits), not in
    a stage. The rows are more than the sockets hold, so hoop-connect's writes wait, and
    meanwhile it reads what the server sends (libpq's rule against deadlock): the notices
    libpq parsed then must go, paced by credits, before it takes the next CopyData."""
    rows = 200_000
    grown, notices, tag, sent = copy_in_with_trigger(ring, "copy_notices_", "raise notice '%', repeat('n', 1000);", rows, 200)
    assert all(g < GROWTH_BOUND_MB for g in grown.values()), f"stage memory grew (MB): {grown}"
    # (A trigger's notices are code's: one a request reaches the client, the rest go withheld.)
    assert sent and notices == 1
    assert tag and tag.startswith(f"COPY {rows}")


def test_copy_from_stdin_to_a_server_that_stops_reading_is_bounded(ring):
    """The server stops reading in the middle of a COPY FROM STDIN (a trigger sleeps 8 s
    once the first thousand rows are in) while the client has much more to send: the
    upload waits in the client and the sockets, not in a stage. hoop-connect runs libpq
    in non-blocking mode, where libpq takes data it cannot send into a buffer that grows:
    each CopyData is sent whole before its frame is credited."""
    rows = 400_000   # about 200 MB
    grown, _, tag, sent = copy_in_with_trigger(ring, "copy_stall_", "if new.id = 1000 then perform pg_sleep(8); end if;", rows, 500)
    assert all(g < GROWTH_BOUND_MB for g in grown.values()), f"stage memory grew (MB): {grown}"
    assert sent
    assert tag and tag.startswith(f"COPY {rows}")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def test_a_request_of_many_statements_costs_the_stages_in_proportion(ring):
    """Each result of one Query of many statements made hoop-connect scan and hash the
    whole request's text again, and hoop-mask union every statement's shape again: one
    request of 100,000 `select 1;` (900 kB) held both stages, and every session behind
    them, for minutes. Four times the statements now cost about four times their CPU,
    not sixteen times (the ratio of two runs, not a time)."""
    pids = ring.stage_pids()
    used = {}
    for n in (4000, 16000):
        before = sum(cpu_seconds(pids[s]) for s in ("connect", "mask"))
        c = PGWire("127.0.0.1", ring.listen_port, timeout=300)
        try:
            c.startup(ring.gateway_user, "clinic", ring.gateway_password)
            c.send(Query("select 1;" * n))
            answers = c.read_until_ready(timeout=300)
        finally:
            c.close()
        assert sum(1 for m in answers if m[0] == "D") == n
        used[n] = sum(cpu_seconds(pids[s]) for s in ("connect", "mask")) - before
    assert used[16000] < 8 * max(used[4000], 0.05), f"CPU seconds of hoop-connect and hoop-mask by statements: {used}"


def test_portals_bound_to_a_large_statement_do_not_copy_it(ring):
    """hoop-approve kept a copy of the statement's text for each portal bound to it: 300
    Binds of 40 bytes to a 4 MB statement grew it by 1.2 GB. And the portals a session
    may keep open in one transaction are bounded."""
    from helpers.pgwire import Bind, Parse, Sync
    pid = ring.stage_pids()["approve"]
    c = PGWire("127.0.0.1", ring.listen_port, timeout=120)
    try:
        c.startup(ring.gateway_user, "clinic", ring.gateway_password)
        c.send(Parse("big", "select $1::int /* " + "x" * (4 << 20) + " */"), Sync())
        assert c.read_until_ready(timeout=60)[-1][0] == "Z"
        sampler = RssSampler({"approve": pid}, interval=0.05)
        sampler.start()
        try:
            for k in range(6):
                c.send(*[Bind(f"p{k}_{i}", "big", ["1"]) for i in range(50)], Sync())
                assert c.read_until_ready(timeout=60)[-1][0] == "Z"
        finally:
            sampler.stop()
        grown = growth_mb(sampler)["approve"]
        assert grown < GROWTH_BOUND_MB, f"hoop-approve grew {grown} MB for 300 Binds"
        c.send(*[Bind(f"q{i}", "big", ["1"]) for i in range(4100)], Sync())
        ended = []
        try:
            while (m := c.read(timeout=120))[0] != "Z":
                if m[0] == "E":
                    ended.append(m[1])
        except ServerClosed:
            pass
    finally:
        c.close()
    assert ended and ended[0]["C"] == "54000" and "portals" in ended[0]["M"], ended


def test_portals_end_with_their_transaction(ring):
    """A portal of a new name in each transaction (JDBC names them C_1, C_2, ...): the
    server drops each at the end of its transaction, and so does hoop-approve, so a long
    session never reaches the bound (the review's: FATAL 54000 at the 4,097th)."""
    from helpers.pgwire import Bind, Execute, Parse, Sync
    c = PGWire("127.0.0.1", ring.listen_port, timeout=60)
    try:
        c.startup(ring.gateway_user, "clinic", ring.gateway_password)
        c.send(Parse("s", "select 1"), Sync())
        c.read_until_ready(timeout=30)
        for first in range(0, 5000, 250):
            c.send(*[m for i in range(first, first + 250) for m in (Bind(f"c_{i}", "s"), Execute(f"c_{i}", 0), Sync())])
            for _ in range(250):
                answers = c.read_until_ready(timeout=60)
                assert [m[0] for m in answers] == ["2", "D", "C", "Z"], answers
    finally:
        c.close()
