"""What the default rules judge that a statement's text alone does not show (hunts with
the embedded default rules, an agent of group agents, on raw PGWire so that a held
statement never blocks the test): each effect is read from the database directly.

- EXECUTE's arguments are expressions the server evaluates before the prepared body runs:
  `execute p(set_config('standard_conforming_strings', 'off', false))` changed the lexer
  (then a DELETE hid in a string literal), `execute q(pg_terminate_backend(pid))` ended
  another session; both were judged as the body alone.
- A name PREPAREd again (in the same text, or after a Parse or a Bind of `execute p`) was
  judged by what it held before: a DELETE of every row ran.
- A built-in that destroys a large object (lo_unlink) called once per row of a table, an
  array, a VALUES list or a series deleted every stored large object in one allowed statement.
- An array written as its type's name (`'{1,...,20000}'::_int4`) inside ARRAY[...] or unnest
  counted as one key: every encounter deleted, updated or rewritten, every patient read.
- A column named `id` counted as a key wherever it stood: a derived table's, a CTE's or a
  function's constant `id`, or a table's column renamed `id` by an alias's column list
  (`encounters x(a, b, c, d, id)` calls department `id`), bounded a read of every patient,
  a lock of every encounter, a DELETE of every encounter.
- A MERGE joined on a parent's key (`e.provider_id = v.x`) to three source rows deleted
  every encounter of three providers (all of them, from a LIMIT 1000 source).
- `count(lo_from_bytea(0, ssn ...)) from patients` copied every SSN into large objects,
  outside every masking rule, in one allowed statement: an export.
"""
from __future__ import annotations

import time

import psycopg
import pytest

from conftest import default_rules_ring
from helpers.agent_wire import admin_exec, agent_wire, direct_value, encounters_restored, read_answer, simple
from helpers.pgwire import Bind, Execute, Parse, Query, Sync

bring = default_rules_ring("approve-unseen")


@pytest.fixture
def restore(bring):
    """Encounters as seeded after the test, whatever it let run."""
    with encounters_restored(bring, "unseen_backup"):
        yield


def run(c, sql):
    c.send(Query(sql))
    return read_answer(c)


def rows_of(c, sql, timeout=60.0):
    """(held, an error's code or ran; every first column value) of a read through the gateway."""
    c.send(Query(sql))
    vals = []
    while True:
        t, v = c.read(timeout)
        if t == "N" and "held for approval" in v.get("M", ""):
            return "held", vals
        if t == "E":
            return "error:" + v.get("C", ""), vals
        if t == "D":
            vals.append(v[0].decode() if v[0] is not None else None)
        if t == "Z":
            return "ran", vals


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


# --- arrays spelled as their type ----------------------------------------------------------

ALL_ENC = "{" + ",".join(map(str, range(1, 20001))) + "}"
ALL_PAT = "{" + ",".join(map(str, range(1, 5001))) + "}"


def test_a_delete_of_every_row_is_held(bring, restore):
    a = simple(bring, "delete from encounters where id > 0")
    assert a.held and not a.ran, a
    assert direct_value(bring, "select count(*) from encounters") == 20000


@pytest.mark.parametrize("sql", [
    f"delete from encounters where id = any(array['{ALL_ENC}'::_int4])",
    f"delete from encounters where id = any(array[cast('{ALL_ENC}' as pg_catalog._int4)])",
    f"delete from encounters where id in (select unnest(array['{ALL_ENC}'::_int4]))",
    f"delete from encounters where id in (select x from unnest(array['{ALL_ENC}'::_int4]) x)",
], ids=["any-array", "any-array-cast", "in-unnest-select-list", "in-unnest-from"])
def test_an_array_spelled_as_its_type_counts_every_element(bring, restore, sql):
    """`_int4` is int4[] without brackets: `ANY(ARRAY['{1,...,20000}'::_int4])` and unnest of it
    were counted as one key and deleted every encounter."""
    before = direct_value(bring, "select count(*) from encounters")
    a = simple(bring, sql)
    after = direct_value(bring, "select count(*) from encounters")
    assert a.held or a.denied, f"allowed: {a}; encounters {before} -> {after}"
    assert after == before


def test_an_update_over_an_array_spelled_as_its_type_is_held(bring, restore):
    sql = f"update encounters set note = 'hunt40' where patient_id = any(array['{ALL_PAT}'::_int4])"
    a = simple(bring, sql)
    changed = direct_value(bring, "select count(*) from encounters where note = 'hunt40'")
    assert a.held or a.denied, f"allowed: {a}; rows updated: {changed}"
    assert changed == 0


def test_a_read_over_an_array_spelled_as_its_type_is_held(bring):
    sql = f"select ssn from patients where id = any(array['{ALL_PAT}'::_int4])"
    a = simple(bring, sql)
    assert a.held or a.denied, f"allowed: {a.rows} PHI rows came back (review-phi-bulk-read)"


UPSERT = ("insert into encounters (id, patient_id, provider_id, admitted_at, department, diagnosis_code, note) "
          "values {rows} on conflict (id) do update set note = 'unseen'")


def held_and_nothing_rewritten(bring, sql):
    a = simple(bring, sql)
    changed = direct_value(bring, "select count(*) from encounters where note = 'unseen'")
    assert a.held or a.denied, f"allowed: {a}; rows rewritten: {changed}"
    assert changed == 0


def test_an_upsert_of_an_array_spelled_as_its_type_is_held(bring, restore):
    """`INSERT ... VALUES (unnest(...)) ON CONFLICT DO UPDATE`: the VALUES row's
    set-returning call is counted by arrayLength as one row."""
    held_and_nothing_rewritten(bring, UPSERT.format(rows=f"(unnest(array['{ALL_ENC}'::_int4]), 1, 1, now(), 'x', 'x', 'x')"))


def test_values_rows_each_within_the_cap_add_up(bring, restore):
    """Two VALUES rows, each an unnest of a thousand keys (each within the cap): the upsert
    rewrites two thousand rows, over the cap, so it is held."""
    keys = ["{" + ",".join(map(str, range(lo, lo + 1000))) + "}" for lo in (1, 1001)]
    held_and_nothing_rewritten(bring, UPSERT.format(rows=", ".join(f"(unnest('{k}'::int[]), 1, 1, now(), 'x', 'x', 'x')" for k in keys)))


# --- names PREPAREd again -------------------------------------------------------------------

def test_a_name_prepared_again_in_the_same_text_is_judged_as_it_runs(bring, restore):
    """(A review.) `deallocate p; prepare p as delete ...; execute p` in one Query, after a
    harmless `p`: the EXECUTE was judged by the old body, and every encounter deleted."""
    before = direct_value(bring, "select count(*) from encounters")
    c = agent_wire(bring)
    try:
        assert run(c, "prepare p as select 1").ran
        a = run(c, "deallocate p; prepare p as delete from encounters where id > 0; execute p")
    finally:
        c.close()
    after = direct_value(bring, "select count(*) from encounters")
    assert after == before, "a DELETE of every encounter ran without a hold"


def test_a_portal_over_execute_is_judged_by_what_the_name_holds_when_it_runs(bring, restore):
    """(A review.) A Parse of `execute p`, then p PREPAREd again as a DELETE, then Bind and
    Execute: judged at the Parse, the DELETE ran."""
    before = direct_value(bring, "select count(*) from encounters")
    c = agent_wire(bring)
    try:
        assert run(c, "prepare p as select 1").ran
        c.send(Parse("s1", "execute p"), Sync())
        read_answer(c)
        assert run(c, "deallocate p").ran
        a1 = run(c, "prepare p as delete from encounters where id > 0")
        c.send(Bind("", "s1"), Execute(""), Sync())
        a2 = read_answer(c)
    finally:
        c.close()
    after = direct_value(bring, "select count(*) from encounters")
    assert after == before, "a DELETE of every encounter ran without a hold"


@pytest.mark.parametrize("param_types,params", [([], []), ([23], ["1"])], ids=["bound", "declared parameter types"])
def test_a_bound_portal_over_execute_is_judged_again_after_the_name_changes(bring, restore, param_types, params):
    """Bound before the name changed, executed after: judged by what the name holds then;
    also when the Parse declares a parameter type (a reread: the judgement made again for
    the type lost the name it EXECUTEs)."""
    before = direct_value(bring, "select count(*) from encounters")
    c = agent_wire(bring)
    try:
        assert run(c, "prepare p as select 1").ran
        assert run(c, "begin").ran   # the portal lives as long as the transaction
        c.send(Parse("s1", "execute p", param_types), Bind("b1", "s1", params), Sync())
        read_answer(c)
        run(c, "deallocate p")
        run(c, "prepare p as delete from encounters where id > 0")
        c.send(Execute("b1"), Sync())
        if not read_answer(c).held:
            run(c, "commit")
    finally:
        c.close()
    assert direct_value(bring, "select count(*) from encounters") == before, "a DELETE of every encounter ran without a hold"


# --- writing built-ins over a table's rows ------------------------------------------------

N = 40


@pytest.fixture
def documents(bring):
    """N large objects owned by hoop_gateway (the application's stored documents)."""
    with bring.connect("direct") as d:
        d.execute("select lo_unlink(oid) from pg_largeobject_metadata")
        for _ in range(N):
            d.execute("select lo_from_bytea(0, 'scanned referral letter')")
    assert direct_value(bring, "select count(*) from pg_largeobject_metadata") == N
    yield


@pytest.mark.parametrize("sql", [
    "select count(lo_unlink(oid)) from pg_largeobject_metadata",
    "select lo_unlink(oid) from pg_largeobject_metadata",
], ids=["count-wrapped", "plain"])
def test_a_writing_built_in_over_a_tables_rows_is_an_unbounded_write(bring, documents, sql):
    """(A hunt.) lo_unlink once per row of pg_largeobject_metadata: every stored document
    deleted by one SELECT, allowed at once."""
    a = simple(bring, sql)
    left = direct_value(bring, "select count(*) from pg_largeobject_metadata")
    assert a.held or a.denied, f"allowed: {a}; large objects {N} -> {left}"
    assert left == N


def test_every_large_object_truncated_by_one_select_is_held(bring, documents):
    a = simple(bring, "select count(lo_truncate(lo_open(oid, 131072), 0)) from pg_largeobject_metadata")
    emptied = direct_value(bring, "select count(*) from pg_largeobject_metadata m where length(lo_get(m.oid)) = 0")
    assert a.held or a.denied, f"allowed: {a}; {emptied} of {N} large objects emptied"
    assert emptied == 0


def test_one_large_object_named_by_its_oid_is_a_bounded_write(bring, documents):
    """The control: a writing built-in over no table (one object, by its OID) is not unbounded."""
    oid = direct_value(bring, "select min(oid) from pg_largeobject_metadata")
    a = simple(bring, f"select lo_unlink({oid})")
    assert a.ran, a
    assert direct_value(bring, "select count(*) from pg_largeobject_metadata") == N - 1


def _oids(bring):
    with bring.connect("direct") as d:
        return [r[0] for r in d.execute("select oid from pg_largeobject_metadata order by oid").fetchall()]


@pytest.mark.parametrize("shape", ["unnest of a constant array", "a VALUES list", "a series", "update returning"])
def test_a_large_object_destroyer_over_any_rows_is_an_unbounded_write(bring, documents, shape):
    """(A review.) Over the rows of a constant array, a VALUES list, a series, or in a write's
    RETURNING: every stored large object deleted by one allowed statement."""
    oids = _oids(bring)
    if shape == "unnest of a constant array":
        sql = "select count(lo_unlink(x)) from unnest('{" + ",".join(map(str, oids)) + "}'::oid[]) x"
    elif shape == "a VALUES list":
        sql = "select count(lo_unlink(column1)) from (values " + ",".join(f"({o}::oid)" for o in oids) + ") v"
    elif shape == "a series":
        sql = (f"select count(lo_unlink(g::oid)) from generate_series({min(oids)}, {max(oids)}) g "
               "where g::oid in (select oid from pg_largeobject_metadata)")
    else:
        sql = ("update encounters set note = note where id = 1 "
               "returning (select count(lo_unlink(oid)) from pg_largeobject_metadata)")
    a = simple(bring, sql)
    left = direct_value(bring, "select count(*) from pg_largeobject_metadata")
    assert a.held or a.denied, f"allowed: {a}; large objects {N} -> {left}"
    assert left == N


@pytest.mark.parametrize("sql", [
    # Django's sqlsequencereset
    "SELECT setval(pg_get_serial_sequence('\"hoop_r2_items\"','id'), coalesce(max(\"id\"), 1), max(\"id\") IS NOT null) FROM \"hoop_r2_items\"",
    # the common 'fix the sequence after a bulk load' line
    "select setval(pg_get_serial_sequence('hoop_r2_items', 'id'), (select max(id) from hoop_r2_items))",
    # one value of the sequence beside one keyed row
    "select nextval('hoop_r2_items_id_seq') from hoop_r2_items where id = 1",
    # controls: the same built-ins over no table
    "select setval(pg_get_serial_sequence('hoop_r2_items', 'id'), 3)",
    "select max(id) from hoop_r2_items",
], ids=["django sqlsequencereset", "setval from max(id)", "nextval beside one keyed row", "control setval", "control read"])
def test_a_sequence_reset_over_a_table_runs(bring, sql):
    """The control (a review): sequence writes are no destroyers; an ORM's reset runs."""
    with bring.connect("direct") as d:
        d.execute("create table if not exists hoop_r2_items (id serial primary key, x text)")
        d.execute("insert into hoop_r2_items (x) select 'a' from generate_series(1, 3) where not exists (select from hoop_r2_items)")
    a = simple(bring, sql)
    assert a.ran, f"held or denied: {a}"


# --- keys: a table's own column under its own name only ---------------------------------

DEPARTMENTS = "'Psychiatry','Gastroenterology','Oncology','Family Medicine','Neurology','Pulmonology'," \
              "'Internal Medicine','Pediatrics','Orthopedics','Obstetrics','Nephrology','Cardiology','Emergency'"

MADE_UP_KEYS = {
    "derived table's constant id": "select * from (select ssn, 1 as id from patients) s where s.id = 1",
    "CTE's constant id": "with s as (select ssn, 1 as id from patients) select * from s where id = 1",
    "function's column id": "select * from unnest(array(select ssn from patients), array(select 1 from patients)) "
                            "as u(ssn, id) where u.id = 1",
    "alias list renames state to id": "select * from patients p(x1,x2,x3,x4,x5,x6,x7,x8,x9,x10,id) where p.id in ({STATES})",
}


@pytest.mark.parametrize("sql", MADE_UP_KEYS.values(), ids=MADE_UP_KEYS.keys())
def test_a_made_up_or_renamed_key_does_not_bound_a_read(bring, sql):
    if "{STATES}" in sql:
        sql = sql.replace("{STATES}", direct_value(bring, "select string_agg(distinct quote_literal(state), ',') from patients"))
    a = simple(bring, sql, timeout=30)
    assert a.held or a.denied, f"allowed: {a.rows} patient rows in one statement (cap 1000); tags {a.tags}"


def test_a_read_by_the_tables_own_key_under_an_alias_runs(bring):
    a = simple(bring, "select p.id from patients as p where p.id in (1, 2)")
    assert a.ran and a.rows == 2, a.tags


@pytest.mark.parametrize("sql,rows", [
    (f"delete from encounters where id in (select x.a from encounters x(a, b, c, d, id) where x.id in ({DEPARTMENTS}))",
     "select count(*) from encounters"),
    ("update encounters set note = 'unseen-s41' where id in (select x.a from encounters x(a, id) where x.id in ("
     + ", ".join(map(str, range(1, 1001))) + "))", "select count(*) from encounters where note is distinct from 'unseen-s41'"),
], ids=["delete by departments called id", "update by patient ids called id"])
def test_a_write_through_an_alias_list_renaming_a_column_id_is_held(bring, restore, sql, rows):
    before = direct_value(bring, rows)
    a = simple(bring, sql)
    assert direct_value(bring, rows) == before and (a.held or a.denied), a.tags


def test_a_lock_of_every_row_through_a_constant_id_is_held(bring):
    c = agent_wire(bring)
    try:
        c.send(Query("begin"))
        assert read_answer(c).ran
        c.send(Query("select 1 from (select note, 1 as id from encounters) s where s.id = 1 for update"))
        a = read_answer(c)
        blocked = False
        if a.ran:
            with psycopg.connect(bring.direct_dsn(), autocommit=True) as d:
                d.execute("set lock_timeout = '1s'")
                try:
                    d.execute("update encounters set note = note where id = 19999")
                except psycopg.errors.LockNotAvailable:
                    blocked = True
    finally:
        c.close()
    assert a.held or a.denied, f"allowed: every encounter locked FOR UPDATE (another writer blocked: {blocked})"


MERGES_ON_A_PARENT_KEY = {
    "a LIMIT 1000 source": "merge into encounters e using (select id as x from providers limit 1000) v "
                           "on e.provider_id = v.x when matched then delete",
    "three VALUES rows": "merge into encounters e using (values (1), (2), (3)) v(x) on e.provider_id = v.x when matched then delete",
    "an update by patient": "merge into encounters e using (select generate_series(1, 5000) as x limit 1000) v "
                            "on e.patient_id = v.x when matched then update set note = 'unseen-s41'",
}


@pytest.mark.parametrize("sql", MERGES_ON_A_PARENT_KEY.values(), ids=MERGES_ON_A_PARENT_KEY.keys())
def test_a_merge_joined_on_a_parent_key_is_held(bring, restore, sql):
    count = "select count(*) from encounters where note is distinct from 'unseen-s41'"
    before = direct_value(bring, count)
    a = simple(bring, sql)
    assert direct_value(bring, count) == before and (a.held or a.denied), a.tags


def test_a_merge_joined_on_one_parent_runs(bring, restore):
    one = direct_value(bring, "select count(*) from encounters where provider_id = 1")
    a = simple(bring, "merge into encounters e using (values (1)) v(x) on e.provider_id = v.x when matched then delete")
    assert a.ran and direct_value(bring, "select count(*) from encounters where provider_id = 1") == 0 < one, a.tags


@pytest.fixture
def no_large_objects(bring):
    admin_exec(bring, "select lo_unlink(oid) from pg_largeobject_metadata")
    yield
    admin_exec(bring, "select lo_unlink(oid) from pg_largeobject_metadata")


@pytest.mark.parametrize("aggregate", ["count", "max"])
def test_phi_copied_into_large_objects_is_held_as_an_export(bring, no_large_objects, aggregate):
    a = simple(bring, f"select {aggregate}(lo_from_bytea(0, convert_to(ssn || ',' || last_name, 'UTF8'))) from patients",
               timeout=60)
    stored = direct_value(bring, "select count(*) from pg_largeobject_metadata")
    assert stored == 0 and (a.held or a.denied), f"allowed ({a.tags}): {stored} large objects made"


def test_a_large_object_of_constant_bytes_runs(bring, no_large_objects):
    a = simple(bring, "select lo_from_bytea(0, 'synthetic bytes'::bytea)")
    assert a.ran and direct_value(bring, "select count(*) from pg_largeobject_metadata") == 1, a.tags


@pytest.mark.parametrize("sql", [
    "insert into patients (id, mrn, first_name, last_name, date_of_birth, ssn) select 900000 + o, 'MRN-s41-' || o, w, w, "
    "'2000-01-01', '000-00-0000' from unnest(array['Avery', 'Blake', 'Casey']) with ordinality u(w, o)",
    "update patients set first_name = 'Avery' where id = 7",
], ids=["insert of guessed names", "update of one name"])
def test_a_write_of_a_tokenized_column_is_held(bring, sql):
    # `hash` gives the same token to the same value in every row: names written through the
    # gateway and read back in a later session are a codebook of the patients' names.
    before = direct_value(bring, "select md5(string_agg(first_name || last_name, ',' order by id)) from patients")
    a = simple(bring, sql)
    after = direct_value(bring, "select md5(string_agg(first_name || last_name, ',' order by id)) from patients")
    assert after == before and a.held, a.tags


def test_a_write_of_other_columns_of_a_patient_runs(bring):
    phone = direct_value(bring, "select coalesce(phone, '') from patients where id = 7")
    try:
        a = simple(bring, "update patients set phone = '555-0100' where id = 7")
        assert a.ran, a.tags
    finally:
        admin_exec(bring, f"update patients set phone = nullif('{phone}', '') where id = 7")


@pytest.fixture
def written_through(bring):
    """A view over patients that renames a tokenized column, a view over it, a child
    table of patients (its rows are patients' rows), and a view over encounters."""
    admin_exec(bring, "create or replace view unseen_patients_v as select id, first_name as given, last_name from patients",
               "create or replace view unseen_patients_vv as select * from unseen_patients_v",
               "create table if not exists unseen_patients_child () inherits (patients)",
               "create or replace view unseen_enc_v as select id, note from encounters",
               "grant all on unseen_patients_v, unseen_patients_vv, unseen_patients_child, unseen_enc_v to hoop_gateway")
    time.sleep(3)   # the catalog's facts see them (revalidate_seconds 1)
    yield
    admin_exec(bring, "drop view if exists unseen_patients_vv", "drop view if exists unseen_patients_v",
               "drop table if exists unseen_patients_child", "drop view if exists unseen_enc_v")


@pytest.mark.parametrize("sql", [
    "update unseen_patients_v set given = 'Avery' where id = 7",
    "update unseen_patients_vv set given = 'Avery' where id = 7",
    "insert into unseen_patients_child (id, mrn, first_name, last_name, date_of_birth, ssn) "
    "values (900100, 'MRN-s42-1', 'Avery', 'Avery', '2000-01-01', '000-00-0000')",
], ids=["a view renaming the column", "a view of that view", "a child table"])
def test_a_tokenized_write_through_a_view_or_a_child_is_held(bring, written_through, sql):
    """A `hash` rule names patients' columns: a write through a view (whatever it calls
    the column) or into a child table lands in patients' rows just the same."""
    before = direct_value(bring, "select md5(string_agg(first_name || last_name, ',' order by id)) from patients")
    a = simple(bring, sql)
    after = direct_value(bring, "select md5(string_agg(first_name || last_name, ',' order by id)) from patients")
    assert after == before and a.held, a


def test_a_write_through_a_view_of_untokenized_columns_runs(bring, written_through, restore):
    a = simple(bring, "update unseen_enc_v set note = 'reviewed' where id = 1")
    assert a.ran, a
    assert direct_value(bring, "select note from encounters where id = 1") == "reviewed"


SSNS_IN_NOTE_ONE = ("select count(*) from patients p, encounters e "
                    "where e.id = 1 and position(p.ssn in e.note) > 0")


# --- Found by the hunt of 2026-12-06 (s42): each test failed before its fix ------------------

# A function of the database's own called in attribute notation

@pytest.fixture
def row_function(bring, restore):
    """A function of the database's own that takes an encounters row (the "computed
    column" pattern) and deletes it. Made by the DBA (hoop_admin), not by the agent."""
    admin_exec(bring, "create or replace function public.unseen_archive(e encounters) returns int "
                      "language sql as $$ delete from encounters where id = e.id returning 1 $$",
               "grant execute on function public.unseen_archive(encounters) to hoop_gateway")
    time.sleep(3)      # the catalog's facts see it (revalidate_seconds 1; test_ring_catalog waits 3 s)
    yield
    admin_exec(bring, "drop function if exists public.unseen_archive(encounters)")


def test_control_function_call_of_the_databases_own_is_held(bring, row_function):
    a = simple(bring, "select count(unseen_archive(x)) from encounters x")
    left = direct_value(bring, "select count(*) from encounters")
    assert (a.held or a.denied) and left == 20000, f"{a}; encounters 20000 -> {left}"


@pytest.mark.parametrize("sql", [
    "select count(x.unseen_archive) from encounters x",
    "select count((x).unseen_archive) from encounters x",
    "select count(encounters.unseen_archive) from encounters",
], ids=["alias-dot-fn", "parenthesised-row", "table-dot-fn"])
def test_attribute_notation_runs_a_function_of_the_databases_own(bring, row_function, sql):
    """`x.f` is f(x) when f takes x's row type: the classifier reads a column, the server
    calls the function (here one that deletes the row: every encounter went)."""
    before = direct_value(bring, "select count(*) from encounters")
    a = simple(bring, sql)
    after = direct_value(bring, "select count(*) from encounters")
    assert a.held or a.denied, f"allowed: {a}; encounters {before} -> {after}"
    assert after == before


# INSERT ... ON CONFLICT DO UPDATE SET col = (sub-select)

UPSERT = ("insert into encounters (id, patient_id, admitted_at, department, diagnosis_code, note) "
          "values (1, 1, now(), 'x', 'x', 'x') on conflict (id) do update set note = ")


def test_control_update_set_from_a_subselect_is_held_as_export(bring, restore):
    a = simple(bring, "update encounters set note = (select string_agg(ssn, ',') from patients) where id = 1")
    copied = direct_value(bring, SSNS_IN_NOTE_ONE)
    assert (a.held or a.denied) and copied == 0, f"{a}; SSNs copied into encounters.note: {copied}"


@pytest.mark.parametrize("value", [
    "(select string_agg(ssn, ',') from patients)",
    "(select string_agg(ssn, ',') from patients) returning note",
    "(select string_agg(ssn, ',') from patients where id between 1 and 1000)",
], ids=["every-patient", "every-patient-returned", "bounded-1000"])
def test_upsert_set_from_a_subselect_is_an_export(bring, restore, value):
    """The DO UPDATE SET list is an UPDATE's: copied from a table, an export (it was
    judged as neither: every patient's SSN copied, in clear, into encounters.note, a
    column no masking rule names; with RETURNING they also came back in one row)."""
    a = simple(bring, UPSERT + value)
    copied = direct_value(bring, SSNS_IN_NOTE_ONE)
    assert a.held or a.denied, f"allowed: {a}; SSNs copied into encounters.note: {copied}"
    assert copied == 0


# Values parked with set_config, read back into a written column

GATHER = ("select count(set_config('unseen.v', coalesce(current_setting('unseen.v', true), '') || ssn || ';', false)) "
          "from patients")


def test_one_update_gathers_every_ssn_through_a_setting(bring, restore):
    """An EXISTS in the WHERE runs a count() over every patient that appends each SSN to a
    custom setting; the SET then writes the setting: 5,000 SSNs copied by one UPDATE
    (a setting given read values is an export)."""
    a = simple(bring, "update encounters set note = current_setting('unseen.v', true) where id = 1 "
                      f"and exists ({GATHER})")
    copied = direct_value(bring, SSNS_IN_NOTE_ONE)
    assert a.held or a.denied, f"allowed: {a}; SSNs copied into encounters.note: {copied}"
    assert copied == 0


def test_a_count_that_parks_every_ssn_is_held(bring, restore):
    """count(set_config(..., ssn, ...)) reads every patient's SSN into server state (as
    count(lo_from_bytea(0, ssn)) does into large objects); the next statement writes it
    into a table. The first is an export; so is a notification's payload of read values."""
    c = agent_wire(bring)
    try:
        gather = run(c, GATHER)
        store = run(c, "update encounters set note = current_setting('unseen.v', true) where id = 1") \
            if gather.ran else None
    finally:
        c.close()
    copied = direct_value(bring, SSNS_IN_NOTE_ONE)
    assert gather.held or gather.denied, f"gather allowed: {gather}; then {store}; SSNs copied: {copied}"
    assert copied == 0
    notify = simple(bring, "select count(pg_notify('unseen', ssn)) from patients")
    assert notify.held or notify.denied, notify


def test_a_setting_of_a_constant_and_a_notification_without_read_values_run(bring):
    """The controls: set_config of a constant (what drivers and ORMs send) and a
    notification of a constant payload are not exports."""
    c = agent_wire(bring)
    try:
        assert run(c, "select set_config('application_name', 'unseen-app', false)").ran
        assert run(c, "select pg_notify('unseen', 'done')").ran
        assert run(c, "select count(*) from encounters e where e.id = 1 and e.note is not null").ran
    finally:
        c.close()


# Every patient's SSN, as the digits a bigint / oid carries (no leading zero lost: all are 9xx).
DIGITS = "replace(p.ssn, '-', '')::bigint"
SSN_DIGITS_IN_NOTE_ONE = ("select count(*) from patients p, encounters e where e.id = 1 and "
                    f"position(',' || {DIGITS}::text || ',' in ',' || coalesce(e.note, '') || ',') > 0")


# Advisory lock keys are a value store (the approval hunt of s42, round 2)

GATHER_LOCKS = f"select count(pg_advisory_lock({DIGITS})) from patients p"
FROM_LOCKS = ("update encounters set note = (select string_agg(l.objid::text, ',') from pg_lock_status() l "
              "where l.locktype = 'advisory') where id = 1")


def test_ssns_parked_in_advisory_lock_keys_then_written_into_a_table(bring, restore):
    """count(pg_advisory_lock(<ssn digits>)) parked every SSN in the lock table (count()
    made the read look bounded); an UPDATE then copied the keys out of pg_lock_status(): every
    SSN in clear in a column no masking rule names. A lock's key given read values is an export."""
    c = agent_wire(bring)
    try:
        gather = run(c, GATHER_LOCKS)
        store = run(c, FROM_LOCKS) if gather.ran else None
    finally:
        c.close()
    how, vals = "not run", []
    if store and store.ran:          # a later session reads the column back
        c = agent_wire(bring)
        try:
            how, vals = rows_of(c, "select note from encounters where id = 1")
        finally:
            c.close()
    copied = direct_value(bring, SSN_DIGITS_IN_NOTE_ONE)
    with bring.connect("direct") as d:
        real = {r[0].replace("-", "") for r in d.execute("select ssn from patients").fetchall()}
    back = sum(1 for v in (vals[0] or "").split(",") if v in real) if vals else 0
    assert (gather.held or gather.denied) and copied == 0, \
        (f"gather: {gather}; store: {store}; SSNs copied into encounters.note: {copied} of 5000; "
         f"read back through the gateway in clear ({how}): {back}")


def test_one_update_parks_and_writes_every_ssn_through_advisory_locks(bring, restore):
    """Both in one allowed UPDATE: the gather in an EXISTS of its WHERE, the copy in its SET."""
    sql = FROM_LOCKS + f" and exists ({GATHER_LOCKS})"
    c = agent_wire(bring)
    try:
        a = run(c, sql)
    finally:
        c.close()
    copied = direct_value(bring, SSN_DIGITS_IN_NOTE_ONE)
    assert (a.held or a.denied) and copied == 0, f"{a}; SSNs copied into encounters.note: {copied} of 5000"


# Large-object OIDs are a value store

@pytest.mark.parametrize("sql", [
    f"select count(lo_create({DIGITS}::oid)) from patients p",
    f"select count(lo_from_bytea({DIGITS}::oid, 'x')) from patients p",
], ids=["lo_create", "lo_from_bytea-oid"])
def test_ssns_parked_in_large_object_oids(bring, no_large_objects, sql):
    """A large object's OID is chosen by the caller: every SSN parked in the large-object
    catalog, outside every masking rule, for any reader of pg_largeobject_metadata (a direct
    reader, a replica, a dump). Any argument of a value store given read values is an export."""
    a = simple(bring, sql, timeout=60)
    stored = direct_value(bring, "select count(*) from pg_largeobject_metadata m join patients p "
                                 f"on m.oid = {DIGITS}::oid")
    assert (a.held or a.denied) and stored == 0, \
        f"{a}; large objects whose OID is a patient's SSN: {stored} of 5000"



# A bounded write of parents that a foreign key cascades to every child

PROVIDERS = "{" + ",".join(map(str, range(1, 151))) + "}"


@pytest.fixture
def cascading_fk(bring, restore):
    """The DBA's schema declares ON DELETE / ON UPDATE CASCADE from encounters to providers
    (an ordinary choice; no function, trigger or rule of the database's own)."""
    admin_exec(bring, "create table if not exists unseen_backup.prov as table public.providers",
               "alter table encounters drop constraint encounters_provider_id_fkey",
               "alter table encounters add constraint encounters_provider_id_fkey foreign key (provider_id) "
               "references providers(id) on delete cascade on update cascade")
    time.sleep(3)      # the catalog's facts see it (revalidate_seconds 1)
    yield
    admin_exec(bring, "begin", "delete from public.encounters", "delete from public.providers",
               "insert into public.providers select * from unseen_backup.prov",
               "insert into public.encounters select * from unseen_backup.enc",
               "alter table encounters drop constraint encounters_provider_id_fkey",
               "alter table encounters add constraint encounters_provider_id_fkey foreign key (provider_id) "
               "references providers(id)", "commit")


@pytest.mark.parametrize("sql,left", [
    (f"delete from providers where id = any('{PROVIDERS}'::int[])", "select count(*) from encounters"),
    (f"update providers set id = id + 100000 where id = any('{PROVIDERS}'::int[])",
     "select count(*) from encounters where provider_id < 100000"),
], ids=["delete-150-providers", "update-150-provider-keys"])
def test_a_keyed_write_of_parents_cascades_to_every_child(bring, cascading_fk, sql, left):
    """150 keys (under the cap of 1,000) pin the write of providers; the cascade deleted or
    rewrote all 20,000 encounters, rows the classifier did not count. A write a foreign key
    follows into other tables is unbounded (catalog facts: cascades)."""
    before = direct_value(bring, left)
    a = simple(bring, sql, timeout=120)
    after = direct_value(bring, left)
    assert (a.held or a.denied) and after == before, f"{a}; encounters {before} -> {after}"


def test_a_write_of_a_parents_column_no_foreign_key_follows_runs(bring, cascading_fk):
    specialty = direct_value(bring, "select specialty from providers where id = 1")
    try:
        a = simple(bring, "update providers set specialty = specialty where id = 1")
        assert a.ran, a
    finally:
        assert direct_value(bring, "select specialty from providers where id = 1") == specialty
