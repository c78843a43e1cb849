"""Sessions are independent (DESIGN invariant 4): a slow upstream query and a client
that stops reading a big result must not hold up anybody else. A correctness check of
independence, not a benchmark: the bound is far above a short query's normal time and
far below the 5 s the slow session takes."""

from __future__ import annotations

import socket
import threading
import time


from helpers.pgwire import PGWire, Query
from helpers.ring import RssSampler

SHORT_BOUND_S = 2.0
STUCK_GROWTH_BOUND_MB = 64


def test_ten_concurrent_sessions(ring, admin):
    marker = f"hoop_indep_{time.time_ns()}"
    errors: list[str] = []

    sampler = RssSampler(ring.stage_pids(), interval=0.1)
    sampler.start()

    # 1. a slow query
    def sleeper():
        try:
            with ring.connect("gateway", application_name=marker + "_sleep") as c:
                c.execute(f"select pg_sleep(5) -- {marker}")
        except Exception as e:  # noqa: BLE001
            errors.append(f"sleeper: {e!r}")
    slow = threading.Thread(target=sleeper)
    slow.start()

    # 2. a client that asks for a big result and never reads it
    stuck = PGWire("127.0.0.1", ring.listen_port, timeout=30)
    stuck.startup(ring.gateway_user, "clinic", ring.gateway_password, {"application_name": marker + "_stuck"})
    stuck.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.send(Query(f"select g, md5(g::text), repeat('z', 200) from generate_series(1, 2000000) g -- {marker}"))

    # wait until both are running upstream, and give the stuck one time to fill its window
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        n = admin.execute("select count(*) from pg_stat_activity where query like %s and state = 'active'",
                          ("%-- " + marker,)).fetchone()[0]
        if n >= 2:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the slow and the stuck sessions did not both reach PostgreSQL within 15 s")
    time.sleep(1.0)

    # 3. eight short sessions, concurrently
    timings: dict[int, float] = {}

    def short(i):
        t0 = time.monotonic()
        try:
            with ring.connect("gateway", application_name=f"{marker}_short{i}") as c:
                for k in range(3):
                    got = c.execute("select %t::int * 2, md5(%t::text)", (i * 10 + k, i)).fetchone()
                    assert got[0] == (i * 10 + k) * 2, got
                rows = c.execute("select g from generate_series(1, 500) g").fetchall()
                assert len(rows) == 500
            timings[i] = time.monotonic() - t0
        except Exception as e:  # noqa: BLE001
            errors.append(f"short {i}: {e!r}")
    threads = [threading.Thread(target=short, args=(i,)) for i in range(8)]
    t_start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    try:
        assert not errors, errors
        assert len(timings) == 8, f"only {len(timings)} of 8 short sessions finished: {timings}"
        slowest = max(timings.values())
        assert slowest < SHORT_BOUND_S, \
            f"short sessions took up to {slowest:.2f}s (bound {SHORT_BOUND_S}s) while one session slept " \
            f"and one stopped reading: {dict(sorted((k, round(v, 2)) for k, v in timings.items()))}"
        assert time.monotonic() - t_start < 5, "short sessions waited for the slow one"
        slow.join(15)
        assert not slow.is_alive(), "the pg_sleep(5) session did not finish"
        assert not errors, errors
        # the stuck client can still read its result from where it stopped
        stuck.sock.settimeout(10)
        t, _ = stuck.read(timeout=10)
        assert t in ("T", "D"), t
        # the unread result (about 500 MB) stays upstream: no stage holds it
        sampler.stop()
        grown = {n: (sampler.peak_kb[n] - sampler.first_kb[n]) // 1024 for n in sampler.pids}
        assert max(grown.values()) < STUCK_GROWTH_BOUND_MB, \
            f"a stage buffered the unread result: VmRSS growth MB {grown} (bound {STUCK_GROWTH_BOUND_MB})"
    finally:
        sampler.stop()
        stuck.abort()
