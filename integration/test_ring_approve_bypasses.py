"""Issue 15's families through the ring with the embedded default rules, in both
protocols (psycopg: extended; psql: simple): each statement is held, an approver denies
it, and the upstream, looked at directly, shows that nothing happened (rows still
there, the table's file not rewritten, no value copied, no lock taken). The SQL is
synthetic; the checks read the database, not the messages."""

from __future__ import annotations

import subprocess

import psycopg
import pytest

from conftest import default_rules_ring
from helpers.ring import PSQL, clean_env
from test_ring_approve import AGENT, denied_in_both_protocols


bring = default_rules_ring("bypasses")


def state(ring) -> dict:
    """What the checks compare: row counts, a value, the table's file, exclusive locks."""
    with ring.connect("direct") as d:
        return {
            "encounters": d.execute("select count(*) from encounters").fetchone()[0],
            "provider_1": d.execute("select name, npi, specialty from providers where id = 1").fetchone(),
            "file": d.execute("select pg_relation_filenode('encounters')").fetchone()[0],
            "locks": d.execute("select count(*) from pg_locks l join pg_class c on c.oid = l.relation "
                               "where c.relname = 'encounters' and l.mode = 'AccessExclusiveLock'").fetchone()[0],
        }


# (family, statement): each must be held by the default rules.
CASES = [
    ("repeated option: the last ANALYZE runs", "explain (analyze false, analyze true) delete from encounters"),
    ("MERGE: a WHEN condition bounds nothing",
     "merge into encounters e using (select 1 as x) s on true when matched and e.id > 0 then delete"),
    ("MERGE: values from a query over PHI", "merge into providers v using (select string_agg(last_name, ',') as n from patients) s "
     "on v.id = 1 when matched then update set name = s.n"),
    ("UPDATE: values from a query over PHI",
     "update providers set name = (select string_agg(ssn, ',') from patients) where id = 1"),
    ("exclusive lock: VACUUM FULL", "vacuum (full) encounters"),
    ("exclusive lock: LOCK TABLE", "begin; lock table encounters; select pg_sleep(2); commit"),
    ("exclusive lock: CLUSTER", "cluster encounters using encounters_pkey"),
    ("a condition that names a column but holds for every row", "delete from encounters where id > 0"),
    ("a key IN the table itself", "update encounters set note = 'x' where id in (select id from encounters)"),
    # hunt s51: a masked column copied into another column of its own row, or shifted in
    # place, reads back unmasked (or past its mask) in the next session.
    ("UPDATE: a masked column copied within its row", "update providers set specialty = reverse(npi) where id = 1"),
    ("UPDATE: a counter on a masked column", "update providers set npi = npi || ' 0' where id = 1"),
    ("UPDATE in a CTE: a masked column copied within its row",
     "with u as (update providers set specialty = reverse(npi) where id = 1 returning 1) select count(*) from u"),
    ("RETURNING a sub-select over PHI",
     "update providers set name = name where id = 1 returning (select string_agg(ssn, ',') from patients)"),
]
READS = [
    ("a FROM-less sub-select", "select (select string_agg(ssn, ',') from patients)"),
    ("array(sub-select)", "select array(select last_name from patients)"),
    ("a sub-select beside a long series",
     "select (select max(ssn) from patients p where p.id = g) from generate_series(1, 5000) g"),
    ("a key list over the cap", "select * from patients where id = any('{" + ",".join(map(str, range(1, 2002))) + "}'::int[])"),
]


@pytest.mark.parametrize("family,sql", CASES + READS, ids=[c[0] for c in CASES + READS])
def test_held_in_both_protocols_and_nothing_happened(bring, family, sql):
    before = state(bring)
    out = denied_in_both_protocols(bring, sql, family, extended_sql=sql.split("; ")[1] if sql.startswith("begin;") else None)
    assert "tok_" not in out and "," not in out.strip(), f"{family}: rows came back (simple)"
    assert state(bring) == before, f"{family}: the upstream changed"


def test_lexer_settings_keep_the_gateways_values(bring):
    """A session cannot change how the server reads SQL text (issue 16): at start-up
    (options) it is refused; a SET or set_config is denied, in both protocols, and the
    server's setting, read directly on that session, is still the gateway's."""
    env = clean_env()
    env["PGOPTIONS"] = "-c standard_conforming_strings=off"
    r = subprocess.run([PSQL, "-X", "-A", "-t", "-d", bring.gateway_dsn(user=AGENT), "-c", "select 1"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode != 0 and "standard_conforming_strings keeps the gateway's value" in r.stderr, r.stderr[-300:]
    for sql in ["set standard_conforming_strings = off", "select set_config('standard_conforming_strings', 'off', false)",
                "set names 'SJIS'", "set backslash_quote = on"]:
        with psycopg.connect(bring.gateway_dsn(user=AGENT), autocommit=True) as c:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                c.execute(sql)
            assert c.execute("show standard_conforming_strings").fetchone()[0] == "on"
            assert c.execute("show client_encoding").fetchone()[0] == "UTF8"
            assert c.execute("show backslash_quote").fetchone()[0] == "safe_encoding"
    # Simple protocol: the request with the SET is refused whole; nothing after it ran.
    before = state(bring)
    r = subprocess.run([PSQL, "-X", "-A", "-t", "-d", bring.gateway_dsn(user=AGENT), "-c",
                        "set standard_conforming_strings = off; delete from encounters where note = 'a\\' or true --'"],
                       capture_output=True, text=True, env=clean_env(), timeout=60)
    assert "standard_conforming_strings" in r.stderr, r.stderr[-300:]
    assert state(bring) == before


def test_a_server_default_that_changes_the_lexer_refuses_the_session(bring):
    """A role default of standard_conforming_strings = off, set directly on the database,
    is reported when the session opens: hoop-connect refuses the session."""
    with bring.admin() as a:
        a.execute("alter role hoop_gateway set standard_conforming_strings = off")
    try:
        r = subprocess.run([PSQL, "-X", "-A", "-t", "-d", bring.gateway_dsn(user=AGENT), "-c", "select 1"],
                           capture_output=True, text=True, env=clean_env(), timeout=60)
        assert r.returncode != 0 and "standard_conforming_strings off" in r.stderr, r.stderr[-300:]
    finally:
        with bring.admin() as a:
            a.execute("alter role hoop_gateway reset standard_conforming_strings")
    with psycopg.connect(bring.gateway_dsn(user=AGENT), autocommit=True) as c:
        assert c.execute("select 1").fetchone() == (1,)


def first_answer(c):
    """The first message past BindComplete: a hold's notice, a denial, or what ran."""
    while (m := c.read(timeout=15))[0] == "2":
        pass
    return m


@pytest.mark.parametrize("risky", ["create table unnamed_swap (x int)", "delete from encounters", "set role hoop_gateway"])
def test_the_unnamed_statement_a_skipped_parse_leaves_is_judged(bring, risky):
    # A Parse of the unnamed statement after an error in its pipeline is skipped by the
    # server: the old text stays and runs at the next Bind. hoop-approve judged the new
    # one ("select 1"); it now judges the name as both texts.
    from helpers.pgwire import Bind, Execute, Parse, PGWire, Sync
    before = state(bring)
    c = PGWire("127.0.0.1", bring.listen_port, timeout=30)
    try:
        c.startup(AGENT, "clinic", bring.token(AGENT), {"application_name": "unnamed-swap"})
        c.send(Parse("", risky), Sync())
        assert [m[0] for m in c.read_until_ready()] == ["1", "Z"]
        c.send(Parse("boom", "select 1/0"), Bind("", "boom"), Execute("", 0), Parse("", "select 1"), Sync())
        assert "E" in [m[0] for m in c.read_until_ready()]
        c.send(Bind("", ""), Execute("", 0), Sync())
        first = first_answer(c)
    finally:
        c.close()
    held = first[0] == "N" and "held for approval" in first[1].get("M", "")
    denied = first[0] == "E" and first[1].get("C") == "42501" and first[1].get("M", "").startswith("hoop:")
    assert held or denied, f"{risky!r} ran: {first}"
    with bring.connect("direct") as d:
        assert d.execute("select to_regclass('unnamed_swap') is null").fetchone()[0]
    assert state(bring) == before


def test_a_name_given_text_after_text_stays_bounded_and_held(bring):
    # Each Parse after an error may be skipped: the name is judged as every text it was
    # given, up to a bound past which it is hidden work (held), never allowed.
    from helpers.pgwire import Bind, Execute, Parse, PGWire, Sync
    c = PGWire("127.0.0.1", bring.listen_port, timeout=30)
    try:
        c.startup(AGENT, "clinic", bring.token(AGENT), {"application_name": "unnamed-many"})
        c.send(Parse("", "select 0"), Sync())
        c.read_until_ready()
        c.send(Parse("boom", "select 1/0"), Bind("", "boom"), Execute("", 0),
               *[Parse("", f"select 1 from scratch_{i} where id = 1") for i in range(1, 200)], Sync())
        assert "E" in [m[0] for m in c.read_until_ready()]
        c.send(Bind("", ""), Execute("", 0), Sync())
        first = first_answer(c)
    finally:
        c.close()
    assert first[0] == "N" and "held for approval" in first[1].get("M", ""), first


@pytest.mark.parametrize("case", ["unnamed closed, then parsed after the Bind", "unnamed Parse that failed",
                                  "named closed, then parsed after the Bind"])
def test_a_portal_bound_to_no_statement_runs_nothing_parsed_after_it(bring, case):
    # The server refuses a Bind to a statement it does not have (26000). hoop-connect binds
    # locally: a portal bound to nothing ran whatever a later Parse put under the name,
    # judged by hoop-approve as what its book held at the Bind.
    from helpers.pgwire import Bind, Close, Execute, Parse, PGWire, Sync
    risky = "delete from encounters"
    batches = {
        "unnamed closed, then parsed after the Bind": [
            [Parse("", "select 1"), Sync()],
            [Close("S", ""), Bind("", ""), Parse("", risky), Execute("", 0), Sync()]],
        "unnamed Parse that failed": [
            [Parse("", risky), Sync()],
            [Parse("", "select no_such_column"), Sync()],
            [Bind("", ""), Parse("", "select 1"), Execute("", 0), Sync()]],
        "named closed, then parsed after the Bind": [
            [Parse("s1", "select 1"), Sync()],
            [Close("S", "s1"), Bind("p", "s1"), Parse("s1", risky), Execute("p", 0), Sync()]],
    }[case]
    before = state(bring)
    c = PGWire("127.0.0.1", bring.listen_port, timeout=30)
    try:
        c.startup(AGENT, "clinic", bring.token(AGENT), {"application_name": "bound-to-nothing"})
        for b in batches[:-1]:
            c.send(*b)
            c.read_until_ready(timeout=30)
        c.send(*batches[-1])
        last = c.read_until_ready(timeout=30)
    finally:
        c.close()
    assert not any(m[0] == "C" and str(m[1]).startswith("DELETE") for m in last), f"{case}: the delete ran"
    assert [m[1]["C"] for m in last if m[0] == "E"] == ["26000"], f"{case}: {last}"
    assert state(bring) == before


@pytest.mark.parametrize("swap", ["deallocate x; prepare x as delete from encounters",
                                  "deallocate x; prepare x as select p.ssn, p.last_name from patients p"])
def test_a_portal_over_a_name_prepared_in_sql_runs_nothing_made_after_its_bind(bring, swap):
    # hoop-connect binds locally and runs a SQL-PREPAREd name by name at Execute: a
    # DEALLOCATE and PREPARE between the Bind and the Execute made the server run a text
    # hoop-approve never judged for this portal (a hunt: every encounter deleted, every
    # patient's values read unmasked, nothing held).
    from helpers.pgwire import Bind, Execute, PGWire, Query, Sync
    before = state(bring)
    c = PGWire("127.0.0.1", bring.listen_port, timeout=30)
    try:
        c.startup(AGENT, "clinic", bring.token(AGENT), {"application_name": "sql-prepared-swap"})
        for sql in ["begin", "prepare x as select 1 as v"]:
            c.send(Query(sql))
            c.read_until_ready(timeout=30)
        c.send(Bind("p", "x"), Sync())
        assert [m[0] for m in c.read_until_ready(timeout=30)] == ["2", "Z"]
        for sql in swap.split("; "):
            c.send(Query(sql))
            c.read_until_ready(timeout=30)
        c.send(Execute("p", 0), Sync())
        last = c.read_until_ready(timeout=30)
        c.send(Query("rollback"))
        c.read_until_ready(timeout=30)
        # Bound again after the swap, the portal is judged by what the name holds now.
        c.send(Query("prepare y as select 1 as v"))
        c.read_until_ready(timeout=30)
        c.send(Bind("q", "y"), Bind("r", "y"), Execute("q", 0), Execute("r", 0), Sync())
        again = c.read_until_ready(timeout=30)
    finally:
        c.close()
    assert not any(m[0] == "D" for m in last), "rows came back from a statement made after the Bind"
    assert [m[1]["C"] for m in last if m[0] == "E"] == ["0A000"], last
    assert [m for m in again if m[0] == "D"] == [("D", [b"1"])] * 2, f"two portals over one name, run in turn: {again}"
    assert state(bring) == before


@pytest.mark.parametrize("params", [{"SEARCH_PATH": "public, pg_catalog"}, {"Search_Path": "public, pg_catalog"},
                                    {"options": "-c\nsearch_path=public,pg_catalog"},
                                    {"options": "-c\x0bsearch_path=public,pg_catalog"},
                                    {"options": "--Search-Path=public,pg_catalog"}],
                         ids=["upper", "mixed", "options-newline", "options-vertical-tab", "options-dashes"])
def test_a_search_path_before_pg_catalog_is_refused_however_written_at_startup(bring, params):
    # The server takes a setting's name in any case and splits options on any white
    # space: hoop-approve read only `search_path` as typed and spaces and tabs, so a
    # function of the database's own named like a built-in ran as one, unjudged.
    from helpers.pgwire import PGWire
    c = PGWire("127.0.0.1", bring.listen_port, timeout=30)
    try:
        with pytest.raises(Exception, match="search_path that puts a schema before pg_catalog"):
            c.startup(AGENT, "clinic", bring.token(AGENT), params)
    finally:
        c.close()


@pytest.mark.parametrize("params", [{"search_path": "pg_catalog,x\r\n-csearch_path=public,pg_catalog"},
                                    {"options": "-c search_path=pg_catalog,x\\\r\n-csearch_path=public,pg_catalog"}],
                         ids=["parameter", "options"])
def test_a_line_break_in_a_startup_value_sets_nothing_else(bring, params):
    # hoop-connect escaped "\r\n" as one character, the server splits it as two bytes:
    # the escaped \r stayed in the value and the \n began a second `-c`, setting the
    # search_path hoop-approve refuses. Escaped byte by byte, the value is one value.
    from helpers.pgwire import PGWire, Query
    c = PGWire("127.0.0.1", bring.listen_port, timeout=30)
    try:
        c.startup(AGENT, "clinic", bring.token(AGENT), params)
        c.send(Query("select current_schemas(true)::text"))
        rows = [m[1] for m in c.read_until_ready(timeout=30) if m[0] == "D"]
    except Exception as e:   # refusing the session is as good
        rows = [("refused", str(e))]
    finally:
        c.close()
    first = rows[0][0] if rows else None
    assert first and not (first.decode() if isinstance(first, bytes) else first).startswith("{public"), rows


def test_a_named_portal_bound_again_after_its_transaction_is_judged_unseen(bring):
    # hoop-approve lets a portal go when its transaction ends. Had the transaction gone on
    # after all (a COMMIT the server skipped), the server would keep the old portal and
    # refuse a new Bind of the name, then run the old one: a Bind of a name it let go is
    # judged as unseen too (the review's), and a DELETE under it never runs unjudged.
    from helpers.pgwire import Bind, Execute, Parse, PGWire, Sync
    before = state(bring)
    c = PGWire("127.0.0.1", bring.listen_port, timeout=30)
    try:
        c.startup(AGENT, "clinic", bring.token(AGENT), {"application_name": "ended-portal"})
        c.send(Parse("s", "select 1"), Bind("kept", "s"), Execute("kept", 0), Sync())
        assert [m[0] for m in c.read_until_ready(timeout=30)] == ["1", "2", "D", "C", "Z"]
        c.send(Parse("d", "delete from encounters where id = 1"), Sync())
        assert [m[0] for m in c.read_until_ready(timeout=30)] == ["1", "Z"]
        c.send(Bind("kept", "d"), Execute("kept", 0), Sync())
        first = first_answer(c)
    finally:
        c.close()
    held = first[0] == "N" and "held for approval" in first[1].get("M", "")
    denied = first[0] == "E" and first[1].get("C") == "42501"
    assert held or denied, f"a portal bound again after its transaction ran: {first}"
    assert state(bring) == before
