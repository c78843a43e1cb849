"""What the default rules judge that a statement's text alone does not show (hunts with
the embedded default rules, an agent of group agents, on raw PGWire so that a held
statement never blocks the test): each effect is read from the database directly.

- EXECUTE's arguments are expressions the server evaluates before the prepared body runs:
  `execute p(set_config('standard_conforming_strings', 'off', false))` changed the lexer
  (then a DELETE hid in a string literal), `execute q(pg_terminate_backend(pid))` ended
  another session; both were judged as the body alone.
"""
from __future__ import annotations

import time

import psycopg
import pytest

from conftest import default_rules_ring
from helpers.agent_wire import admin_exec, agent_wire, direct_value, read_answer, simple
from helpers.pgwire import Query

bring = default_rules_ring("approve-unseen")


@pytest.fixture
def restore(bring):
    """Encounters as seeded after the test, whatever it let run."""
    admin_exec(bring, "create schema if not exists unseen_backup",
               "create table if not exists unseen_backup.enc as table public.encounters")
    yield
    admin_exec(bring, "begin", "delete from public.encounters",
               "insert into public.encounters select * from unseen_backup.enc", "commit")


def run(c, sql):
    c.send(Query(sql))
    return read_answer(c)


def test_a_lexer_change_written_plainly_is_denied(bring):
    a = simple(bring, "select set_config('standard_conforming_strings', 'off', false)")
    assert a.denied, a


def test_an_execute_argument_that_changes_the_lexer_is_judged(bring, restore):
    c = agent_wire(bring)
    try:
        assert run(c, "prepare p(text) as select $1").ran
        changed = run(c, "execute p(set_config('standard_conforming_strings', 'off', false))")
        # From here the server reads \' as an escaped quote; hoop-approve still does not.
        # hoop-approve parses one SELECT of two strings; the server runs a SELECT and a DELETE.
        smuggled = run(c, "select '\\', '; delete from encounters where id > 0; --'")
    finally:
        c.close()
    left = direct_value(bring, "select count(*) from encounters")
    assert left == 20000, (f"EXECUTE p(set_config('standard_conforming_strings', 'off')) allowed ({changed}); "
                           f"then a DELETE hidden in a string literal ran ({smuggled}); encounters 20000 -> {left}")
    assert changed.denied or changed.held, f"EXECUTE p(set_config(...)) allowed: {changed}"


def test_an_execute_argument_that_ends_another_session_is_judged(bring):
    victim = bring.connect("direct")       # another session of the gateway's role (any user's)
    pid = victim.execute("select pg_backend_pid()").fetchone()[0]
    c = agent_wire(bring)
    try:
        assert run(c, "prepare q(bool) as select $1").ran
        a = run(c, f"execute q(pg_terminate_backend({pid}))")
    finally:
        c.close()
    time.sleep(0.5)
    alive = direct_value(bring, f"select count(*) from pg_stat_activity where pid = {pid}")
    try:
        victim.close()
    except psycopg.Error:
        pass
    assert a.held or a.denied, f"allowed: {a}; victim backend alive: {bool(alive)}"
    assert alive == 1
