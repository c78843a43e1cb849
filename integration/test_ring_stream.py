"""A result far bigger than any stage may hold streams through the ring: the rows
arrive complete and equal to PostgreSQL's own, while no stage's resident memory grows
by more than a bound that buffering the result would break.

The result of `select g, md5(g::text) from generate_series(1, 1000000) g` is about
41 MB as psql text and about 47 MB as JSON row frames; a stage that kept it whole
(as bytes, let alone as a JSON tree or as libpq rows) would grow by at least that.
With flow control each session has at most 8 batches (<= 256 KiB each) in flight, a
few MB per stage, so the bound below leaves room for allocator noise and still fails
any stage that buffers the result.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time

import pytest

from helpers.pgwire import Bind, Execute, Flush, Parse, PGWire, Query, Sync
from helpers.ring import PSQL, RssSampler, clean_env

GROWTH_BOUND_MB = 32      # per stage, peak VmRSS during the query minus VmRSS before it
ABSOLUTE_BOUND_MB = 200   # per stage, peak VmRSS
BIG = "select g, md5(g::text) from generate_series(1, 1000000) g"
PAGE_TIMEOUT_S = 60       # a page of 1000 rows; PostgreSQL answers in milliseconds


def psql_digest(ring, via, sql, timeout=600):
    """Runs psql, hashing its output as it streams; returns (rc, lines, md5, stderr)."""
    p = subprocess.Popen([PSQL, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", ring.dsn(via), "-c", sql],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(), stdin=subprocess.DEVNULL)
    h = hashlib.md5()
    lines = 0
    for chunk in iter(lambda: p.stdout.read(1 << 20), b""):
        h.update(chunk)
        lines += chunk.count(b"\n")
    err = p.stderr.read().decode(errors="replace")
    rc = p.wait(timeout)
    return rc, lines, h.hexdigest(), err


def check_memory(sampler, what):
    assert sampler.samples >= 5, f"too few memory samples ({sampler.samples})"
    assert not sampler.vanished, f"stage(s) {sorted(sampler.vanished)} died during {what}"
    report = {n: (sampler.first_kb[n] // 1024, sampler.peak_kb[n] // 1024) for n in sampler.pids}
    for name, (before, peak) in report.items():
        assert peak - before < GROWTH_BOUND_MB, \
            f"{name} grew from {before} MB to {peak} MB during {what} (bound {GROWTH_BOUND_MB} MB): " \
            f"it holds the result instead of streaming it; all stages (before, peak) MB: {report}"
        assert peak < ABSOLUTE_BOUND_MB, f"{name} peaked at {peak} MB (bound {ABSOLUTE_BOUND_MB} MB): {report}"


def test_pid_files_name_the_stage_processes(ring):
    pids = ring.stage_pids()
    for name, pid in pids.items():
        exe = os.readlink(f"/proc/{pid}/exe").removesuffix(" (deleted)")   # rebuilt while running
        assert exe.endswith(f"hoop-{name}"), f"$HOOP_RUN/{name}.pid holds pid {pid}, which runs {exe}, not hoop-{name}"


def test_million_rows_stream_with_bounded_memory(ring):
    direct = psql_digest(ring, "direct", BIG)
    assert direct[0] == 0 and direct[1] == 1000000, direct
    pids = ring.stage_pids()
    time.sleep(0.3)
    sampler = RssSampler(pids, interval=0.1)
    sampler.start()
    try:
        t0 = time.monotonic()
        through = psql_digest(ring, "gateway", BIG)
        elapsed = time.monotonic() - t0
    finally:
        sampler.stop()
    assert through[0] == 0, f"psql through the gateway failed: {through[3][-2000:]}"
    assert through[1:3] == direct[1:3], "row count or checksum differs from direct"
    check_memory(sampler, f"a 1,000,000-row SELECT ({elapsed:.1f}s)")


def read_page(conn):
    """Messages up to the end of one Execute: PortalSuspended, CommandComplete or an error."""
    out = []
    while True:
        t, v = conn.read(timeout=PAGE_TIMEOUT_S)
        if t == "S":
            continue
        out.append((t, v))
        if t in ("s", "C", "E"):
            return out


@pytest.mark.parametrize("mode", ["transaction", "flush"])
def test_row_limited_portal_over_big_result_has_bounded_memory(ring, mode):
    """A cursor-style fetch (Execute with max_rows) over the same big result: fetching
    the first pages must not make a stage hold the rest. `transaction`: JDBC's
    fetchSize (BEGIN, then Execute+Sync per page); `flush`: one implicit transaction,
    Execute+Flush per page, Sync at the end."""
    c = PGWire("127.0.0.1", ring.listen_port, timeout=PAGE_TIMEOUT_S)
    d = PGWire("127.0.0.1", ring.pg_port, timeout=PAGE_TIMEOUT_S)
    c.startup(ring.gateway_user, "clinic", ring.gateway_password)
    d.startup("hoop_gateway", "clinic", ring.pg_password)
    sampler = RssSampler(ring.stage_pids(), interval=0.1)
    sampler.start()
    try:
        pages = {}
        for name, conn in (("gateway", c), ("direct", d)):
            t0 = time.monotonic()
            try:
                if mode == "transaction":
                    conn.send(Query("begin"))
                    conn.read_until_ready()
                    conn.send(Parse("", BIG), Bind("big", ""), Execute("big", 1000), Sync())
                    got = [conn.read_until_ready(timeout=PAGE_TIMEOUT_S)]
                    for _ in range(3):
                        conn.send(Execute("big", 1000), Sync())
                        got.append(conn.read_until_ready(timeout=PAGE_TIMEOUT_S))
                else:
                    conn.send(Parse("", BIG), Bind("big", ""), Execute("big", 1000), Flush())
                    got = [read_page(conn)]
                    for _ in range(3):
                        conn.send(Execute("big", 1000), Flush())
                        got.append(read_page(conn))
                    conn.send(Sync())
                    got.append(conn.read_until_ready(timeout=PAGE_TIMEOUT_S))
            except TimeoutError:
                pytest.fail(f"{name}: a page of 1000 rows did not arrive within {PAGE_TIMEOUT_S}s "
                            f"(started {time.monotonic() - t0:.0f}s ago); stage (VmRSS before, peak) MB: "
                            + str({n: (sampler.first_kb[n] // 1024, sampler.peak_kb[n] // 1024) for n in sampler.pids}))
            pages[name] = got
        time.sleep(1.0)   # let a stage that drains the rest in the background show it
    finally:
        sampler.stop()
        c.close()
        d.close()
    expected_sizes = [1004, 1002, 1002, 1002] if mode == "transaction" else [1003, 1001, 1001, 1001, 1]
    assert [len(p) for p in pages["direct"]] == expected_sizes   # test sanity
    assert pages["gateway"] == pages["direct"]
    check_memory(sampler, f"4 pages of 1000 rows from a 1,000,000-row portal ({mode})")
