"""Bounds that hold against what an attacker who knows PostgreSQL writes (embedded
default rules, a PHI database, an agent): a write pinned by a sub-select that depends on
the row, a MERGE joined to its own key, an upsert from a set-returning VALUES row, a
read bounded by an enclosing query's column, row locks on every row, a search_path
let through by the classification cache, a write pinned by a column that is no key.

Each test sends one statement (or a short sequence) through the ring as an agent
identity and asserts that hoop-approve held it (then an approver denies it) or denied
it. While the defect exists the statement runs: the test fails, and its message says
what the database (looked at directly, as hoop_gateway or hoop_admin) shows it did.
Only counts and booleans are printed, never a value of a row.

Writes that do run are undone after each test from a copy the admin makes at start.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import threading
import time

import psycopg
import pytest

from conftest import default_rules_ring
from helpers.ring import hoop_bin, wait_for
from test_ring_approve import approve

AGENT = "agent@example.org"
ID = re.compile(r"\br-[a-z0-9]{10}\b")

ring = default_rules_ring("approve-bounds")


@contextlib.contextmanager
def encounters_copy(ring, schema: str, where: str = "true", owner: str | None = None):
    """A copy of encounters (the rows `where` picks) in `schema`, dropped after."""
    with ring.admin() as a:
        a.execute(f"create schema if not exists {schema}")
        a.execute(f"drop table if exists {schema}.encounters")
        a.execute(f"create table {schema}.encounters as select * from public.encounters where {where}")
        if owner:
            a.execute(f"alter schema {schema} owner to {owner}")
            a.execute(f"alter table {schema}.encounters owner to {owner}")
    try:
        yield
    finally:
        with ring.admin() as a:
            a.execute(f"drop schema {schema} cascade")


@pytest.fixture(scope="module", autouse=True)
def backup(ring):
    with encounters_copy(ring, "bounds_bak"):
        # Keyed like the original: a bare `encounters` another schema also has, without its
        # key, bounds no keyed read (docs/approval.md, "Reads bounded by a key").
        with ring.admin() as a:
            a.execute("alter table bounds_bak.encounters add primary key (id)")
        yield


def fingerprint(ring) -> tuple[int, str]:
    """Row count and a digest of encounters, read directly (never printed)."""
    with ring.connect("direct") as d:
        return d.execute("select count(*), md5(coalesce(string_agg(e::text, '|' order by id), '')) from encounters e").fetchone()


@pytest.fixture(autouse=True)
def restore(ring):
    yield
    with ring.admin() as a:
        same = a.execute("select (select count(*) from encounters) = (select count(*) from bounds_bak.encounters) and "
                         "not exists (select * from bounds_bak.encounters except select * from encounters)").fetchone()[0]
        if not same:
            with a.transaction():
                a.execute("delete from public.encounters")
                a.execute("insert into public.encounters select * from bounds_bak.encounters")


def agent_dsn(ring) -> str:
    return ring.gateway_dsn(user=AGENT, password=ring.token(AGENT, "agents", agent=True))


class Outcome:
    def __init__(self):
        self.held_id: str | None = None
        self.denied = False
        self.ran = False
        self.rows: int | None = None
        self.status: str | None = None
        self.error: str | None = None

    @property
    def stopped(self) -> bool:
        return self.held_id is not None or self.denied


def send(ring, sql: str, setup=(), autocommit=True, keep=False, wait=20.0, params=None):
    """Runs `sql` (with `params`) through the gateway as an agent, after `setup` (each must run). Returns
    (Outcome, connection or None): a hold is denied by an approver at once. With `keep`
    the connection stays open (its transaction too) for the caller to close."""
    conn = psycopg.connect(agent_dsn(ring), autocommit=autocommit, connect_timeout=15)
    notices: list[str] = []
    conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
    for s in setup:
        conn.execute(s)
    out = Outcome()
    done = threading.Event()

    def run():
        try:
            cur = conn.execute(sql, params)
            out.status = cur.statusmessage
            if cur.description is not None:
                out.rows = len(cur.fetchall())
            out.ran = True
        except psycopg.Error as e:
            out.error = f"{type(e).__name__}: {(e.diag.message_primary or '')[:120]}"
            if e.sqlstate == "42501" and "hoop: not allowed by policy" in (e.diag.message_primary or ""):
                out.denied = True
        finally:
            done.set()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and not done.is_set():
        m = next((m for n in notices if (m := ID.search(n))), None)
        if m:
            out.held_id = m.group(0)
            approve(ring, "deny", out.held_id, "--reason", "not now")
            done.wait(30)
            break
        time.sleep(0.05)
    if not keep:
        conn.close()
        return out, None
    return out, conn


def describe(out: Outcome) -> str:
    return f"ran={out.ran} status={out.status} rows={out.rows} error={out.error}"


def test_control_plain_unbounded_delete_is_held(ring):
    """The harness sees a hold: the plain form of what the findings disguise."""
    before = fingerprint(ring)
    out, _ = send(ring, "delete from encounters where id > 0")
    assert out.held_id is not None and not out.ran, describe(out)
    assert fingerprint(ring) == before


# --- writes pinned by a correlated or set-returning "bounded" sub-select ------------

@pytest.mark.parametrize("sql", [
    "delete from encounters where id in (select id)",
    "delete from encounters where id = any(select id)",
    "update encounters set note = 'probe' where id in (select id)",
    "delete from encounters where id in (select generate_series(1, 1000000))",
    "delete from encounters where id in (select generate_series(min(id), max(id)) from encounters)",
    "with d as (delete from encounters where id in (select id) returning 1) select count(*) from d",
], ids=["in-correlated", "any-correlated", "update-in-correlated", "in-srf-constant", "in-srf-over-aggregates",
        "cte-delete-in-correlated"])
def test_write_pinned_by_subselect_is_held(ring, sql):
    assert_held_and_unchanged(ring, sql, "an unbounded write")


def assert_held_and_unchanged(ring, sql, what, params=None):
    before = fingerprint(ring)
    out, _ = send(ring, sql, params=params)
    after = fingerprint(ring)
    assert out.stopped, (f"{what} ran without a hold: {describe(out)}; "
                         f"encounters directly: {before[0]} rows before, {after[0]} after, changed={before != after}")
    assert after == before


# --- MERGE whose join equates the target's key with itself -------------------------

@pytest.mark.parametrize("sql", [
    "merge into encounters e using (values (1)) v(x) on e.id = e.id when matched then delete",
    "merge into encounters e using (values (1)) v(x) on e.id = e.id when matched then update set note = 'probe'",
    "merge into encounters e using (select 1 as x limit 1) v on e.patient_id = e.patient_id when matched then delete",
], ids=["delete", "update", "limited-source"])
def test_merge_self_join_on_key_is_held(ring, sql):
    assert_held_and_unchanged(ring, sql, "MERGE over every row")


# --- INSERT ... VALUES (set-returning function) ... ON CONFLICT DO UPDATE ----------

def test_upsert_from_a_set_returning_values_row_is_held(ring):
    sql = ("insert into encounters (id, patient_id, admitted_at, department, diagnosis_code, note) "
           "values (generate_series(1, 30000), 1, now(), 'probe', 'probe', 'probe') "
           "on conflict (id) do update set note = excluded.note")
    out, _ = send(ring, sql)
    with ring.admin() as a:   # the admin reads the copy made at start
        total, rewritten = a.execute(
            "select count(*), count(*) filter (where e.note = 'probe') from bounds_bak.encounters b "
            "join public.encounters e using (id)").fetchone()
    assert out.stopped, (f"an upsert that rewrote existing rows ran without a hold: {describe(out)}; "
                         f"directly: {rewritten} of the {total} encounters that existed before were rewritten")
    assert rewritten == 0


# --- PHI read "bounded" by a column of an outer query ------------------------------

@pytest.mark.parametrize("sql", [
    "select x.* from (select 1 as zzz_id) v cross join lateral (select * from patients where zzz_id = 1) x",
    "select unnest(array(select ssn from patients where zzz_id = 1)) from (select 1 as zzz_id) v",
    "select unnest(array(select max(v.z)::text || p.ssn from patients p)) from (select 1 as z) v",
], ids=["lateral-outer-key", "array-outer-key", "array-outer-aggregate"])
def test_phi_read_bounded_by_an_outer_column_is_held(ring, sql):
    with ring.connect("direct") as d:
        total = d.execute("select count(*) from patients").fetchone()[0]
    out, _ = send(ring, sql)
    assert out.stopped, (f"an unbounded read of a PHI table ran without a hold: {describe(out)}; "
                         f"rows returned == every patient ({total}): {out.rows == total}")


# --- every row of a PHI table locked FOR UPDATE under an aggregate -----------------

def test_row_locks_on_every_row_are_held(ring):
    out, conn = send(ring, "select count(*) from (select id from encounters for update) s", autocommit=False, keep=True)
    try:
        blocked = None
        if out.ran:
            with ring.connect("direct") as d:
                d.execute("set lock_timeout = '500ms'")
                try:
                    d.execute("update encounters set note = note where id = (select max(id) from encounters)")
                    blocked = False
                except psycopg.errors.LockNotAvailable:
                    blocked = True
    finally:
        conn.rollback()
        conn.close()
    assert out.stopped, (f"row locks on every encounter were taken without a hold: {describe(out)}; "
                         f"a writer on another connection was blocked: {blocked}")


# --- search_path that shadows pg_catalog, let through by the shape cache ------------

def test_search_path_before_pg_catalog_is_held_after_a_harmless_one(ring):
    # Alone, it is held (the classifier sees the shadowing).
    alone, _ = send(ring, "set search_path = pg_toast, pg_catalog")
    assert alone.stopped, describe(alone)
    # Any session sets a harmless search_path of two names: the shape `set search_path =
    # $1, $2` is cached as allowed.
    ok, _ = send(ring, "set search_path = public, information_schema")
    assert ok.ran, describe(ok)
    out, conn = send(ring, "set search_path = information_schema, pg_catalog", keep=True)
    try:
        shown = conn.execute("show search_path").fetchone()[0] if out.ran else None
    finally:
        conn.close()
    assert out.stopped, (f"a search_path before pg_catalog was set without a hold: {describe(out)}; "
                         f"the session's search_path now puts information_schema first: "
                         f"{shown is not None and shown.startswith('information_schema')}")


def test_writes_pinned_by_what_does_not_depend_on_the_row_run(ring):
    """The bounded forms still run at once: a sub-select of constants, a keyed MERGE."""
    for sql in ["delete from encounters where id in (select k from (values (-1), (-2)) v(k))",
                "delete from encounters where id in (select id from encounters where id = -1)",
                "merge into encounters e using (values (-1)) v(x) on e.id = v.x when matched then delete"]:
        out, _ = send(ring, sql)
        assert out.ran and not out.stopped, (sql, describe(out))


def test_the_feeds_free_text_tables_are_phi_tables(ring):
    """feed_notes and legacy_feed hold free-text PHI (no column rule names them): the
    embedded default lists them as PHI tables, so an unbounded read of them is held."""
    for table in ("feed_notes", "legacy_feed"):
        out, _ = send(ring, f"select * from {table}")
        assert out.stopped and not out.ran, (table, describe(out))
        out, _ = send(ring, f"select count(*) from {table}")
        assert out.ran, (table, describe(out))


# --- writes pinned by a column that is no key ----------------------------------------

@pytest.mark.parametrize("sql", [
    "delete from encounters where department = 'Cardiology'",
    "update encounters set note = 'probe' where department in ('Cardiology', 'Oncology')",
    "delete from encounters where diagnosis_code = any('{E11.9,I10}') and note is not null",
], ids=["delete-by-department", "update-by-departments", "delete-by-codes"])
def test_write_pinned_by_a_column_that_is_no_key_is_held(ring, sql):
    """A value of a column that is no key may name every row (every Cardiology encounter)."""
    assert_held_and_unchanged(ring, sql, "a write pinned by a column that is no key")


def test_write_pinned_by_a_unique_column_runs(ring):
    """patients.mrn is UNIQUE in the catalog: one MRN names one row at most."""
    out, _ = send(ring, "update patients set city = city where mrn = 'no-such-mrn'")
    assert out.ran and not out.stopped, describe(out)


def test_only_a_unique_key_the_catalog_vouches_for_bounds_a_write(ring):
    """The catalog query behind it, against the real catalog: a unique index bounds a
    write that pins all its columns; a deferrable, partial or expression index, or one on
    a parent whose children share the name's rows, does not; nor does half a key."""
    with ring.admin() as a:
        a.execute("drop table if exists keys_probe, keys_kid, keys_parent, other_schema_probe.keys_probe cascade")
        a.execute("create table keys_probe (k int, code text, region text, part text, late text, kid text, expr text)")
        a.execute("create unique index on keys_probe (code)")
        a.execute("create unique index on keys_probe (region, part)")
        a.execute("alter table keys_probe add constraint keys_probe_late unique (late) deferrable")
        a.execute("create unique index on keys_probe (kid) where k > 0")
        a.execute("create unique index on keys_probe (lower(expr))")
        a.execute("create table keys_parent (code text unique)")
        a.execute("create table keys_kid () inherits (keys_parent)")
        a.execute("create schema if not exists other_schema_probe")
        a.execute("create table other_schema_probe.keys_probe (code text)")
    cases = {
        "delete from public.keys_probe where code = 'x'": False,
        "delete from public.keys_probe where region = 'n' and part = $1": False,
        "delete from public.keys_probe where region = 'n'": True,
        "delete from public.keys_probe where late = 'x'": True,
        "delete from public.keys_probe where kid = 'x'": True,
        "delete from public.keys_probe where expr = 'x'": True,
        "delete from public.keys_probe where code between 'a' and 'b'": True,
        "delete from keys_probe where code = 'x'": True,          # other_schema_probe.keys_probe has no key
        "delete from other_schema_probe.keys_probe where code = 'x'": True,
        "delete from keys_parent where code = 'x'": True,          # its child's rows are not under its index
        "delete from keys_kid where code = 'x'": True,
    }
    try:
        statements = list(cases)
        run = subprocess.run([str(hoop_bin() / "hoop-approve"), "classify", "--stdin", "--config", str(ring.var / "hoop.json")],
                             input="".join(json.dumps(s) + "\n" for s in statements), capture_output=True, text=True,
                             timeout=120)
        assert run.returncode == 0, run.stderr[-2000:]
        got = {s: json.loads(line)["statements"][0]["unbounded_write"] for s, line in zip(statements, run.stdout.splitlines())}
        assert got == cases
    finally:
        with ring.admin() as a:
            a.execute("drop table if exists keys_probe, keys_kid, keys_parent cascade")
            a.execute("drop schema if exists other_schema_probe cascade")


# --- key values counted, not shapes --------------------------------------------------------

THOUSANDS = ",".join(str(i) for i in range(1, 5001))


@pytest.mark.parametrize("sql", [
    "delete from encounters where id in (select a.a * 1000 + b.b from generate_series(0, 19) a, generate_series(0, 999) b)",
    "delete from encounters where id between 1 and 999 or id between 1000 and 1998 or id between 1999 and 2997",
    f"delete from encounters where id in (select unnest('{{{THOUSANDS}}}'::int[]))",
    f"delete from encounters where id = any(array['{{{THOUSANDS}}}'::int[]])",
    "delete from encounters where id in (select generate_series(1, 1000) union all select generate_series(1001, 2000))",
    "delete from encounters where id = 1::float8 or id in (select generate_series(2, 1001)) or id = 1002",
], ids=["cross-joined-series", "or-of-ranges", "unnested-literal", "array-in-array", "union-of-series", "or-summed"])
def test_a_write_naming_thousands_of_keys_is_held(ring, sql):
    """Each deleted thousands of rows at once: an OR's branches, a sub-select's FROM items
    and UNION branches, an unnested literal, an array inside ANY(ARRAY[...]) each passed
    the per-branch bound; their values are counted now."""
    assert_held_and_unchanged(ring, sql, "a write naming thousands of keys")


@pytest.mark.parametrize("sql", [
    "delete from encounters where department in (select 'Cardiology')",
    "update encounters set note = 'probe' where department in (select unnest(array['Cardiology', 'Oncology']))",
    "delete from encounters where provider_id in (" + ",".join(str(i) for i in range(1, 201)) + ")",
    "merge into encounters e using (values (1)) v(x) on e.provider_id in (" + ",".join(str(i) for i in range(1, 201))
    + ") when matched then delete",
], ids=["subselect-of-a-column-that-is-no-key", "unnested-departments", "many-parents", "merge-on-many-parents"])
def test_a_write_pinned_through_a_column_that_is_no_unique_key_is_held(ring, sql):
    """A sub-select pins a key's values only, and several values of a `*_id` column may
    name every row (a review's finds: 1,572 and 20,000 rows)."""
    assert_held_and_unchanged(ring, sql, "a write pinned through a column that is no unique key")


def test_a_parameter_inside_array_is_no_pin(ring):
    """`id = any(array[%s])` bound to a list: PostgreSQL makes it two-dimensional, and ANY
    reads every element."""
    assert_held_and_unchanged(ring, "delete from encounters where id = any(array[%s])", "a parameter inside ARRAY[...]",
                              params=[list(range(1, 5001))])


# --- Counted across branches, rows and schemas (a hunt of the count rules) ------------------

GATHERING_READS = {
    # A reducing aggregate over a derived table or CTE that gathered every row into one value.
    "max-over-string_agg": "select max(x) from (select string_agg(patient_id || ':' || diagnosis_code, '|') x from encounters) s",
    "min-over-cte": "with s as (select string_agg(patient_id || ':' || diagnosis_code, '|') x from encounters) select min(x) from s",
    # An aggregate written in a FROM-less sub-select whose columns are the outer query's:
    # PostgreSQL makes it the outer query's, and it gathers every row.
    "outer-aggregate-beside-count": "select count(*), (select string_agg(patient_id || ':' || diagnosis_code, '|')) from encounters",
    "outer-aggregate-under-limit": "select (select string_agg(patient_id || ':' || diagnosis_code, '|')) from encounters limit 1",
    # A LIMITed sub-select run once per row of a short series: 20 x 1,000 rows.
    "limited-subselect-per-series-row": "select array_to_string(array(select patient_id || ':' || diagnosis_code from encounters "
                                        "order by id limit 1000 offset g * 1000), '|') from generate_series(0, 19) g",
    # UNION ALL of branches each under the cap, every row together.
    "union-of-ranges": " union all ".join(f"select id, patient_id, diagnosis_code from encounters where id between {k * 1000 + 1} "
                                          f"and {k * 1000 + 1000}" for k in range(20)),
    "union-of-parents": " union all ".join(f"select id, patient_id from encounters where provider_id = {k}" for k in range(1, 151)),
    "union-of-pages": " union all ".join(f"(select id, patient_id from encounters order by id limit 1000 offset {k * 1000})"
                                         for k in range(20)),
    "union-of-ctes": "with a as (select id, note from encounters where id between 1 and 1000), "
                     "b as (select id, note from encounters where id between 1001 and 2000) select * from a union all select * from b",
    # The per-row array wrapped in a scalar sub-select or COALESCE.
    "scalar-wrapped-array": "select (select array(select note from encounters order by id limit 1000 offset g * 1000)) "
                            "from generate_series(0, 19) g",
    "coalesce-wrapped-array": "select coalesce((select array(select note from encounters order by id limit 1000 offset g * 1000)), null) "
                              "from generate_series(0, 19) g",
    # FROM items each bounded, multiplied together.
    "lateral-page-per-series-row": "select x.note from generate_series(0, 19) g cross join lateral "
                                   "(select note from encounters order by id limit 1000 offset g * 1000) x",
    "self-join-of-two-ranges": "select a.note, b.note from encounters a, encounters b where a.id between 1 and 1000 "
                               "and b.id between 1001 and 2000 and b.id = a.id + 1000",
}


@pytest.mark.parametrize("name", list(GATHERING_READS))
def test_reads_counted_across_branches_and_rows_are_held(ring, name):
    out, _ = send(ring, GATHERING_READS[name])
    assert out.stopped, f"a read of encounters that returns or gathers every row ran without a hold: {describe(out)}"


def test_bounded_unions_and_per_row_subselects_still_run(ring):
    """The counts add up only where they should: a few keys across branches, aggregates
    alone, a scalar sub-select per row of a few rows."""
    for sql in ["select id, patient_id from encounters where id = 1 union all select id, patient_id from encounters where id in (2, 3)",
                "select 'e', count(*) from encounters union all select 'p', count(*) from patients",
                "select e.id, (select p.name from providers p where p.id = 7) from encounters e where e.id in (1, 2, 3)",
                "select e.id, array(select p.id from providers p where p.id in (1, 2)) from encounters e where e.id in (1, 2, 3)",
                "with recursive r(n) as (select 1 union all select n + 1 from r where n < 5) select * from r",
                "select id from encounters where id between 1 and 10 order by id offset 2 for update"]:
        out, _ = send(ring, sql)
        assert out.ran and not out.stopped, f"a bounded read was held or failed ({sql[:60]}): {describe(out)}"


def test_parents_added_across_union_branches_are_held(ring):
    """One parent's rows (`provider_id = k`) count as the cap, not as one row: 150 of them in
    a sub-select's UNION ALL deleted every encounter; one still runs."""
    branches = " union all ".join(f"select e.id from encounters e where e.provider_id = {k}" for k in range(1, 151))
    assert_held_and_unchanged(ring, f"delete from encounters where id in ({branches})", "a delete of every encounter")
    assert_held_and_unchanged(ring, "delete from encounters where provider_id = 1 or provider_id = 2", "a delete of two providers' encounters")
    out, _ = send(ring, "delete from encounters where id in (select e.id from encounters e where e.provider_id = 1)")
    assert out.ran, f"one parent's rows, as `provider_id = 1` alone: {describe(out)}"


@pytest.mark.parametrize("sql", [
    "select id from encounters order by id offset 100000 limit 1 for update",
    "select count(*) from (select id from encounters limit 1000 offset 19000 for update) s",
    "select * from (select * from encounters order by id offset 19000) s limit 1 for update",
])
def test_rows_an_offset_skips_under_for_update_are_locks_held(ring, sql):
    """LockRows runs below Limit: FOR UPDATE locks every row an OFFSET skips."""
    out, conn = send(ring, sql, autocommit=False, keep=True)
    try:
        assert out.stopped, f"row locks on (nearly) every encounter ran without a hold: {describe(out)}"
    finally:
        if conn is not None:
            conn.rollback()
            conn.close()


@pytest.fixture
def archive(ring):
    """A copy of encounters under the same name in another schema (an archive)."""
    with encounters_copy(ring, "archive", where="id = 1", owner="hoop_gateway"):
        yield


@pytest.mark.parametrize("sql", [
    "delete from public.encounters using archive.encounters where archive.encounters.id = 1",
    "update public.encounters set note = 'probe' from archive.encounters where archive.encounters.id = 1",
    "select public.encounters.patient_id from public.encounters, archive.encounters where archive.encounters.id = 1",
])
def test_a_key_of_another_schemas_table_of_the_same_name_pins_nothing(ring, archive, sql):
    """`archive.encounters.id = 1` pins the archive's row, not public.encounters' (every
    encounter was deleted, rewritten or read)."""
    if sql.startswith("select"):
        out, _ = send(ring, sql)
        assert out.stopped, f"a read of every encounter ran without a hold: {describe(out)}"
    else:
        assert_held_and_unchanged(ring, sql, "a write of every encounter")
    out, _ = send(ring, "delete from public.encounters using archive.encounters where public.encounters.id = 1 and archive.encounters.id = 1")
    assert out.ran, f"a write pinned by the target's own schema-qualified key: {describe(out)}"
