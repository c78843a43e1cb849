"""What the default rules count, against arithmetic and values side by side (hunt s44).

Each statement here reads every patient (5,000), or writes every encounter (20,000), in
one request, and was allowed by the embedded default rules: counted in doubles
(`LIMIT 10^33 + 20000 - 10^33` is 0 in a double, 20,000 to the server), rows nobody
counted taken for none under a LATERAL page, a scalar sub-select or an aggregate taken
for no row of what it reads however many stand side by side, a BETWEEN the wrong way
round counted as fewer than no rows (and two statements that crashed hoop-approve).
Each test proves the effect on the database or in the rows that come back (counts of
distinct values, never a value); docs/approval.md, "What counts as bounded".
"""
from __future__ import annotations

import time

import pytest

from conftest import default_rules_ring
from helpers.agent_wire import direct_value, encounters_restored, simple

ring = default_rules_ring("approve-counts")

PATIENTS = 5000
ENCOUNTERS = 20000
CAP = 1000
BIG = 10 ** 33          # past a double's exact integers: BIG + 20000 == BIG as a double


def distinct_values(ring, sql, first_column=False):
    """The answer, and how many distinct non-null values came back (the first column's)."""
    seen: set[bytes] = set()
    a = simple(ring, sql, timeout=60, on_row=lambda v: seen.update(x for x in (v[:1] if first_column else v) if x is not None))
    return a, len(seen)


@pytest.fixture
def restore(ring):
    with encounters_restored(ring, "approve_counts_backup"):
        yield


@pytest.mark.parametrize("sql", [
    f"select id, ssn from patients limit {BIG + 20000} - {BIG}",
    f"select id, ssn from patients where id between 1 and {BIG + PATIENTS} - {BIG}",
    f"select x.id, x.ssn from generate_series(0, {BIG + PATIENTS - 1} - {BIG}) g, "
    f"lateral (select id, ssn from patients p order by p.id limit 1 offset g) x",
], ids=["limit", "between", "series"])
def test_numbers_past_a_doubles_exact_integers_are_no_bound(ring, sql):
    a, ids = distinct_values(ring, sql, first_column=True)
    assert a.held or ids <= CAP, f"{a}; {ids} of {PATIENTS} patients out"


def test_a_delete_under_a_limit_past_a_doubles_integers_is_held(ring, restore):
    a = simple(ring, f"delete from encounters where id in (select id from encounters order by id limit {BIG + ENCOUNTERS} - {BIG})")
    left = direct_value(ring, "select count(*) from encounters")
    assert a.held and left == ENCOUNTERS, f"{a}; encounters {ENCOUNTERS} -> {left}"


def test_an_update_of_a_series_past_a_doubles_integers_is_held(ring, restore):
    before = direct_value(ring, "select count(*) from encounters where diagnosis_code = 'Z00'")
    a = simple(ring, f"update encounters set diagnosis_code = 'Z00' where id in (select generate_series(1, {BIG + ENCOUNTERS} - {BIG}))")
    after = direct_value(ring, "select count(*) from encounters where diagnosis_code = 'Z00'")
    assert a.held and after == before, f"{a}; rows set: {before} -> {after}"


@pytest.mark.parametrize("source", [
    "regexp_split_to_table(repeat(',', 4999), ',') with ordinality t(s, n)",
    "unnest(array_fill(0, array[5000])) with ordinality t(v, n)",
    "generate_subscripts(array_fill(0, array[5000]), 1) t(n)",
])
def test_a_lateral_page_per_row_nobody_counted_is_no_bound(ring, source):
    a, ids = distinct_values(ring, f"select x.id, x.ssn from {source}, lateral (select id, ssn from patients p "
                                   f"order by p.id limit 1 offset t.n - 1) x", first_column=True)
    assert a.held or ids <= CAP, f"{a}; {ids} of {PATIENTS} patients out"


def test_a_scalar_sub_select_per_row_nobody_counted_is_no_bound(ring):
    a, ids = distinct_values(ring, "select (select p.id from patients p where p.id = t.n limit 1), "
                                   "(select p.ssn from patients p where p.id = t.n limit 1) "
                                   "from unnest(array_fill(0, array[5000])) with ordinality t(v, n)", first_column=True)
    assert a.held or ids <= CAP, f"{a}; {ids} of {PATIENTS} patients out"


def test_a_recursive_walk_with_a_page_per_step_is_no_bound(ring):
    a = simple(ring, "with recursive r(n, id, ssn) as (select 0, null::int, null::text union all "
                     "select n + 1, (select p.id from patients p where p.id = r.n + 1 limit 1), "
                     "(select p.ssn from patients p where p.id = r.n + 1 limit 1) from r where n < 5000) "
                     "select id, ssn from r", timeout=60)
    assert a.held or a.rows <= CAP + 1, a


@pytest.mark.parametrize("column", ["id", "ssn"])
def test_scalar_sub_selects_side_by_side_add_up(ring, column):
    cols = ", ".join(f"(select p.{column} from patients p where p.id = t.n + {k * CAP} limit 1)" for k in range(PATIENTS // CAP))
    a, values = distinct_values(ring, f"select {cols} from generate_series(1, {CAP}) t(n)")
    assert a.held or values <= CAP, f"{a}; {values} distinct values out"


@pytest.mark.parametrize("sql", [
    "select " + ", ".join(f"max(ssn) filter (where id = {k})" for k in range(1, 1601)) + " from patients",
    "select " + ", ".join(f"max(case when id = {k} then patient_id || ':' || diagnosis_code end)" for k in range(1, 1601))
    + " from encounters",
], ids=["filter", "case"])
def test_aggregates_side_by_side_each_count_as_a_row(ring, sql):
    values = []
    a = simple(ring, sql, timeout=60, on_row=lambda v: values.extend(x for x in v if x is not None))
    assert a.held or len(values) <= CAP, f"{a}; {len(values)} values out"


def test_a_between_the_wrong_way_round_takes_no_rows_off_the_others(ring):
    sql = ("select id, ssn from patients where id between 100000 and 1 union all "
           + " union all ".join(f"select id, ssn from patients where id between {k * CAP + 1} and {(k + 1) * CAP}"
                                for k in range(PATIENTS // CAP)))
    a, ids = distinct_values(ring, sql, first_column=True)
    assert a.held or ids <= CAP, f"{a}; {ids} of {PATIENTS} patients out"


def test_the_bounded_forms_still_run(ring):
    for sql in ["select id from patients limit 10 * 100", "select * from patients where id between 10 and 1",
                "select (select p.id from patients p where p.id = t.n limit 1) from generate_series(1, 1000) t(n)",
                "select count(*), max(admitted_at), min(admitted_at) from encounters"]:
        assert simple(ring, sql).ran, sql
    assert simple(ring, "select id from patients limit 20000").held


@pytest.mark.parametrize("sql", [
    "select 1 from patients where id between 1e30 and 1",
    "select 1 from patients where id between 1 and 5 union all select 1 from patients where id between 100000 and 1",
])
def test_a_statement_past_ints_range_is_judged_not_a_crash(ring, sql):
    before = ring.stage_pids()
    a = simple(ring, sql)
    time.sleep(1)
    assert ring.stage_pids() == before, f"{a}; a stage restarted (every session dropped)"
    assert a.held or a.ran, a
