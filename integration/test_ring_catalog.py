"""Issue 16: hidden work that only the database's catalog shows, judged through the
catalog role, in both protocols, with the embedded default rules. Each object below is
made directly on the database (as the gateway's own role would have), and runs a
function that deletes rows of `catalog_victims`; a statement that would run it is held,
an approver denies it, and the upstream, looked at directly, still has every row.
Before each case, its premise is checked directly: the statement really deletes when
run without the gateway (on a copy of the rows, inside a rolled-back transaction)."""

from __future__ import annotations

import json
import subprocess
import time

import psycopg
import pytest

from helpers.ring import hoop_bin
from test_ring_approve import AGENT, Held, approve, denied_in_both_protocols

VICTIMS = 50

SETUP = f"""
create table catalog_victims (id int primary key);
insert into catalog_victims select generate_series(1, {VICTIMS});
create function public.wipe() returns int language plpgsql as $$
  begin delete from public.catalog_victims; return 1; end $$;
-- A built-in's name with other argument types: `upper(5)` is this one, and IMMUTABLE,
-- so that the planner calls it on a constant (EXPLAIN); IMMUTABLE is not checked in
-- what it calls.
create function public.upper(integer) returns text language plpgsql immutable as $$
  begin perform public.wipe(); return 'x'; end $$;
create function public.wipe_eq(int, int) returns boolean language plpgsql as $$
  begin delete from public.catalog_victims; return $1 = $2; end $$;
create operator public.=== (leftarg = int, rightarg = int, function = public.wipe_eq);
create function public.wipe_check(text) returns boolean language plpgsql as $$
  begin delete from public.catalog_victims; return true; end $$;
create domain public.wiping_text as text check (public.wipe_check(value));
create view public.wiping_view as select public.wipe() as n;
create table public.triggered (id int primary key, v text);
create function public.wipe_trg() returns trigger language plpgsql as $$
  begin delete from public.catalog_victims; return new; end $$;
create trigger wipe_trg before insert or update on public.triggered for each row execute function public.wipe_trg();
create table public.ruled (id int primary key, v text);
create rule wipe_rule as on insert to public.ruled do also delete from public.catalog_victims;
create table public.defaulted (id int primary key, v int default public.wipe());
"""

# (family, statement): each would delete every victim, and must be held.
CASES = [
    ("a built-in's name shadowed by an overload", "select upper(5)"),
    ("EXPLAIN: planning calls an immutable function", "explain select upper(5)"),
    ("an operator of the database's own, unqualified", "select 1 === 1"),
    ("a cast to a domain whose check deletes", "select 'x'::wiping_text"),
    ("a view that calls a deleting function", "select * from wiping_view"),
    ("a trigger on the table written", "insert into triggered values (1, 'x')"),
    ("a rule on the table written", "insert into ruled values (1, 'x')"),
    ("a default that calls a deleting function", "insert into defaulted (id) values (1)"),
]


@pytest.fixture(scope="module")
def cring(request):
    from conftest import _start, _stop
    r = _start("catalog", approval=None)
    failed_before = request.session.testsfailed
    with r.connect("direct") as d:
        d.execute(SETUP)
    time.sleep(3)       # the revalidation interval (1 s) and a read
    yield r
    _stop(r, keep=request.session.testsfailed > failed_before)


def victims(ring) -> int:
    with ring.connect("direct") as d:
        return d.execute("select count(*) from catalog_victims").fetchone()[0]


@pytest.mark.parametrize("family,sql", CASES, ids=[c[0] for c in CASES])
def test_hidden_work_the_catalog_shows_is_held(cring, family, sql):
    # The premise: run directly, the statement deletes the victims.
    with psycopg.connect(cring.direct_dsn()) as d:
        d.execute(sql)
        assert d.execute("select count(*) from catalog_victims").fetchone()[0] == 0, f"{family}: the premise does not hold"
        d.rollback()
    assert victims(cring) == VICTIMS
    denied_in_both_protocols(cring, sql, family)
    assert victims(cring) == VICTIMS, f"{family}: rows were deleted"


def held_and_denied(ring, sql: str) -> str:
    """One statement held (extended protocol), denied; the request's id."""
    h = Held(ring, sql)
    try:
        rid = h.request_id()
        assert approve(ring, "deny", rid, "--reason", "not now").returncode == 0
        h.finish()
        return rid
    finally:
        h.close()


# Code reached without naming it (an outside review's families): each object logs into
# reached_log when its code runs. (setup, statement): the statement must be held, and,
# run directly, must really run the code.
REACHED_SETUP = """
create table reached_log (fn text);
create function public.reached(tag text) returns boolean language plpgsql as $$
  begin insert into public.reached_log values (tag); return true; end $$;
create function public.reached_int(i int) returns int language plpgsql immutable as $$
  begin perform public.reached('int'); return i; end $$;
create type public.comp as (a int);
create function public.comp_text(c public.comp) returns text language plpgsql as $$
  begin perform public.reached('comp_text'); return c.a::text; end $$;
create cast (public.comp as text) with function public.comp_text(public.comp) as implicit;
create table public.widgets (id int primary key, name text);
insert into public.widgets values (1, 'a');
create function public.widgets_text(w public.widgets) returns text language plpgsql as $$
  begin perform public.reached('widgets_text'); return w.name; end $$;
create cast (public.widgets as text) with function public.widgets_text(public.widgets) as implicit;
create function public.chk(v int) returns boolean language plpgsql as $$
  begin perform public.reached('chk'); return true; end $$;
create domain public.dpos as int check (public.chk(value));
create table public.vbase (id int primary key, x int);
insert into public.vbase values (1, 1), (2, 2);
create view public.vview as select id, x from public.vbase where public.reached('vview');
create table public.pt (id int primary key);
insert into public.pt values (1);
alter table public.pt enable row level security;
alter table public.pt force row level security;
create policy pt_p on public.pt using (exists (select 1 from public.vview v where v.id = pt.id));
create function public.deflog() returns int language plpgsql as $$ begin perform public.reached('deflog'); return 1; end $$;
create domain public.ddef as int default public.deflog();
create table public.ddt (id int primary key, v public.ddef);
create table public.pkt (id int, x int) partition by range (public.reached_int(x));
create table public.pkt_1 partition of public.pkt for values from (0) to (1000000);
create table public.stab (id int primary key, x int);
insert into public.stab select g, g from generate_series(1, 50) g;
create statistics stab_s on (public.reached_int(x)) from public.stab;
create table public.brintab (id int, x int);
create index brintab_b on public.brintab using brin ((public.reached_int(x))) with (pages_per_range = 1);
create type public.comp2 as (a int);
create function public.comp2_eq(a public.comp2, b public.comp2) returns boolean language plpgsql immutable as $$
  begin perform public.reached('comp2_eq'); return a.a = b.a; end $$;
create operator public.= (leftarg = public.comp2, rightarg = public.comp2, function = public.comp2_eq);
create table public.ka (k public.comp2);
create table public.kb (k public.comp2);
insert into public.ka values (row(1)); insert into public.kb values (row(1));
"""
REACHED = [
    ("a cast from a table's row type", "select length(w) from widgets w where id = 1"),
    ("a cast from a type of the database's own", "select upper(row(1)::comp)"),
    ("a column definition list of a checked domain", "select * from jsonb_to_record('{\"a\": 8}') as x(a dpos)"),
    ("XMLTABLE's column of a checked domain", "select * from xmltable('/r' passing xml '<r><a>10</a></r>' columns a dpos path 'a')"),
    ("writing through a view runs its definition", "update vview set x = 10 where id = 1"),
    ("a policy that reads a view", "select * from pt where id = 1"),
    ("a domain's default", "insert into ddt (id) values (1)"),
    ("a partition key expression", "insert into pkt values (1, 1)"),
    ("a statistics expression", "analyze stab"),
    ("VACUUM summarises BRIN ranges", "vacuum brintab"),
    ("JOIN USING picks the database's own =", "select count(*) from ka join kb using (k)"),
]


@pytest.fixture(scope="module")
def reached(cring):
    with cring.connect("direct") as d:
        d.execute(REACHED_SETUP)
        d.execute("insert into public.brintab select g, g from generate_series(1, 2000) g")
    time.sleep(3)
    return cring


def classify(ring, sql):
    r = subprocess.run([str(hoop_bin() / "hoop-approve"), "classify", "--config", str(ring.var / "hoop.json"), sql],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("family,sql", REACHED, ids=[c[0] for c in REACHED])
def test_code_reached_without_naming_it_is_held(reached, family, sql):
    # The premise: run directly, the code runs (counted in reached_log).
    with psycopg.connect(reached.direct_dsn(), autocommit=True) as d:
        before = d.execute("select count(*) from reached_log").fetchone()[0]
        d.execute(sql)
        assert d.execute("select count(*) from reached_log").fetchone()[0] > before, f"{family}: the premise does not hold"
    v = classify(reached, sql)
    assert v["verdict"] == "review", f"{family}: {v['verdict']} ({v['statements'][0]['hidden']})"
    assert v["statements"][0]["hidden"], v


def test_the_hold_says_what_the_catalog_showed(cring):
    rid = held_and_denied(cring, "insert into triggered values (2, 'y')")
    shown = json.loads(approve(cring, "show", rid, "--json").stdout)
    hidden = [h for s in shown["classification"]["statements"] for h in s["hidden"]]
    assert any("trigger wipe_trg runs public.wipe_trg" in h for h in hidden), hidden


def test_ddl_made_directly_is_seen_after_the_revalidation_window(cring):
    """A table without code is written at once; a trigger added directly on the database
    (not through the gateway) holds the next write within seconds; dropped, it does not."""
    with cring.connect("direct") as d:
        d.execute("create table public.later (id int primary key)")
    time.sleep(3)
    with psycopg.connect(cring.gateway_dsn(user=AGENT), autocommit=True) as c:
        c.execute("insert into later values (1)")
    with cring.connect("direct") as d:
        d.execute("create trigger later_trg before insert on public.later for each row execute function public.wipe_trg()")
    time.sleep(3)
    held_and_denied(cring, "insert into later values (2)")
    assert victims(cring) == VICTIMS
    with cring.connect("direct") as d:
        d.execute("drop trigger later_trg on public.later")
    time.sleep(3)
    with psycopg.connect(cring.gateway_dsn(user=AGENT), autocommit=True) as c:
        c.execute("insert into later values (3)")
    with cring.connect("direct") as d:
        assert d.execute("select count(*) from later").fetchone()[0] == 2


def test_the_catalog_role_reads_the_catalog_and_nothing_else(cring):
    """hoop_catalog logs in and reads pg_catalog; it cannot read a table, call a
    function of the database's own or write (its sessions are read-only)."""
    with open(cring.var / "secrets" / "clinic-catalog.password") as f:
        password = f.read().strip()
    dsn = psycopg.conninfo.make_conninfo(host="127.0.0.1", port=cring.pg_port, dbname="clinic", user="hoop_catalog",
                                         password=password, sslmode="disable")
    with psycopg.connect(dsn, autocommit=True) as c:
        assert c.execute("select count(*) from pg_class").fetchone()[0] > 0
        for sql in ["select * from patients limit 1", "select * from catalog_victims limit 1"]:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                c.execute(sql)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            c.execute("create temp table t (a int)")
        # A function of the database's own: PUBLIC may execute it, but what it does
        # needs privileges the role lacks, and the transaction is read-only.
        with pytest.raises(psycopg.Error):
            c.execute("select public.wipe()")
    assert victims(cring) == VICTIMS


def test_the_gateway_reaches_the_demo_database_by_its_socket_with_its_password(cring):
    """The embedded default's sessions and catalog checks use the demo database's unix
    socket (cheaper per statement than loopback TCP), and the gateway's roles still need
    their SCRAM password there: only other roles are trusted on the private socket."""
    with psycopg.connect(cring.gateway_dsn(user=AGENT), autocommit=True) as c:
        c.execute("select 1")
        with cring.admin() as a:
            by_role = dict(a.execute("select usename, bool_and(client_addr is null and client_port = -1) from pg_stat_activity "
                                     "where usename in ('hoop_gateway', 'hoop_catalog') and backend_type = 'client backend' "
                                     "group by usename").fetchall())
    assert by_role == {"hoop_gateway": True, "hoop_catalog": True}, by_role
    for role, secret in [("hoop_gateway", "clinic.password"), ("hoop_catalog", "clinic-catalog.password")]:
        socket_dsn = dict(host=cring.pg_socket_dir, port=cring.pg_port, dbname="clinic", user=role)
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(psycopg.conninfo.make_conninfo(**socket_dsn, password="")).close()
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(psycopg.conninfo.make_conninfo(**socket_dsn, password="not-the-password")).close()
        password = (cring.var / "secrets" / secret).read_text().strip()
        with psycopg.connect(psycopg.conninfo.make_conninfo(**socket_dsn, password=password)) as c:
            assert c.execute("select current_user").fetchone()[0] == role


def test_without_the_catalog_a_statement_that_needs_it_is_held(cring, tmp_path):
    """`hoop-approve classify` with a catalog role it cannot reach: a statement that
    names a table, a function, an operator or a type is held (review), one that names
    none is allowed."""
    cfg = json.loads((cring.var / "hoop.json").read_text())
    cfg["connections"]["clinic"]["catalog"]["conninfo"] = "host=127.0.0.1 port=1 dbname=clinic user=hoop_catalog"
    # Relative paths resolve from the configuration's folder.
    (cring.var / "unreachable.json").write_text(json.dumps(cfg))

    def verdict(sql):
        r = subprocess.run([str(hoop_bin() / "hoop-approve"), "classify", "--config", str(cring.var / "unreachable.json"), sql],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    for sql in ["select * from patients where id = 1", "select now()", "select 1 + 1", "select 'x'::wiping_text"]:
        v = verdict(sql)
        assert v["verdict"] == "review", (sql, v)
        assert any("catalog is needed" in h for s in v["statements"] for h in s["hidden"]), v
    assert verdict("select 1")["verdict"] == "allow"
    del cfg["connections"]["clinic"]["catalog"]
    (cring.var / "unreachable.json").write_text(json.dumps(cfg))
    assert verdict("select * from patients where id = 1")["verdict"] == "review"


def test_parameters_made_as_a_checked_domain_are_held(reached):
    """A parameter's declared type is a value made at Bind or EXECUTE: SQL PREPARE with a
    checked domain, and a protocol Parse that names the domain's OID, are held; the
    check did not run."""
    from helpers.pgwire import Bind, Execute, Parse, PGWire, Sync
    from test_ring_approve import ID
    with reached.connect("direct") as d:
        oid = d.execute("select 'public.dpos'::regtype::oid").fetchone()[0]
        before = d.execute("select count(*) from reached_log").fetchone()[0]
    held = Held(reached, "execute pp(5)", setup=["prepare pp(dpos) as select $1"])
    try:
        rid = held.request_id()
        assert approve(reached, "deny", rid, "--reason", "not now").returncode == 0
        held.finish()
    finally:
        held.close()
    c = PGWire("127.0.0.1", reached.listen_port, timeout=30)
    c.startup(AGENT, "clinic", reached.token(AGENT), {"application_name": "catalog-params"})
    try:
        c.send(Parse("", "select $1", [oid]), Bind("", "", ["6"]), Execute("", 0), Sync())
        msgs = []
        while not any(m[0] == "N" and "held for approval" in m[1].get("M", "") for m in msgs):
            msgs.append(c.read(timeout=15))
        rid = ID.search(msgs[-1][1]["M"]).group(0)
        assert approve(reached, "deny", rid, "--reason", "not now").returncode == 0
    finally:
        c.close()
    with reached.connect("direct") as d:
        assert d.execute("select count(*) from reached_log").fetchone()[0] == before
