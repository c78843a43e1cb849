"""pgbench through the gateway: correctness under concurrent load, not speed (speed is
scripts/bench's business)."""

from __future__ import annotations

import subprocess

import pytest

from helpers.ring import PGBENCH, clean_env, pgbench_processed


def pgbench(ring, *args, timeout=180):
    env = clean_env()
    env.update(PGHOST="127.0.0.1", PGPORT=str(ring.listen_port), PGDATABASE="clinic", PGUSER=ring.gateway_user,
               PGPASSWORD=ring.gateway_password, PGSSLMODE="disable", PGAPPNAME="hoop-pgbench")
    return subprocess.run([PGBENCH, *args], env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def initialised(ring):
    # The default initialisation: client-side generation streams COPY FROM STDIN.
    r = pgbench(ring, "-i", "-s", "1")
    assert r.returncode == 0, f"pgbench -i through the gateway failed:\n{r.stdout}\n{r.stderr}"
    with ring.connect("direct") as d:
        assert d.execute("select count(*) from pgbench_accounts").fetchone() == (100000,)
        assert d.execute("select count(*) from pgbench_branches").fetchone() == (1,)
    return True


@pytest.mark.parametrize("mode", ["simple", "extended", "prepared"])
def test_pgbench_select_only(ring, initialised, mode):
    r = pgbench(ring, "-S", "-T", "5", "-c", "4", "-j", "2", "-M", mode, "-n")
    assert pgbench_processed(r) > 0, r.stdout + r.stderr


def test_pgbench_tpcb_like(ring, initialised):
    # The default script: BEGIN, UPDATE x3, SELECT, INSERT, END, all with parameters.
    with ring.connect("direct") as d:
        before = d.execute("select sum(abalance), (select count(*) from pgbench_history) from pgbench_accounts").fetchone()
    r = pgbench(ring, "-T", "4", "-c", "4", "-j", "2", "-M", "extended", "-n")
    processed = pgbench_processed(r)
    with ring.connect("direct") as d:
        after = d.execute("select (select count(*) from pgbench_history), "
                          "(select sum(abalance) from pgbench_accounts) = (select sum(tbalance) from pgbench_tellers), "
                          "(select sum(bbalance) from pgbench_branches) = (select sum(delta) from pgbench_history)").fetchone()
    # every committed transaction inserted one history row; the balances agree
    assert after[0] - before[1] == processed
    assert after[1] is True and after[2] is True
