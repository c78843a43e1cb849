"""Bounded pieces of one statement add up (found by the approval hunt of 2026-12-06,
s43; each test failed before its fix). The default rules let a statement read or name
at most `max_bounded_limit` rows; pieces each within it were never added:

- data-modifying CTEs: twenty `dN as (delete ... where id in (select id ... limit 1000
  offset N*1000))` deleted every encounter in one allowed statement;
- sub-selects side by side in a select list (`array(...), array(...)`, in
  json_build_object, joined by `||`, in UNION branches without FROM): every encounter's
  (patient, diagnosis) pair in one row;
- window functions given a column (`lag`, `lead`, an aggregate over a frame of another
  row) read their whole partition, whatever LIMIT keeps: 1,000 rows carried every row.

An agent identity, raw PGWire (a held statement never blocks); writes are read on the
database directly, reads counted on what reached the client. Counts only, never a value.
Statements of one request, and Executes of one pipeline, are still judged one at a time,
as separate requests are (paging is allowed; docs/approval.md)."""
from __future__ import annotations

import pytest

from conftest import default_rules_ring
from helpers.agent_wire import agent_wire, direct_value, encounters_restored, simple
from helpers.pgwire import Query

bring = default_rules_ring("approve-sums")

ENCOUNTERS = 20000
PATIENTS = 5000
CAP = 1000


@pytest.fixture
def restore(bring):
    """Encounters as seeded after the test, whatever it let run."""
    with encounters_restored(bring, "sums_backup"):
        yield


def collect(bring, sql, on_row, timeout=60.0):
    """'held', 'error:CODE' or 'ran'; on_row(values) for every DataRow."""
    c = agent_wire(bring)
    try:
        c.send(Query(sql))
        state = "ran"
        while True:
            t, v = c.read(timeout)
            if t == "N" and "held for approval" in v.get("M", ""):
                return "held"
            if t == "E":
                state = "error:" + v.get("C", "")
            if t == "D":
                on_row(v)
            if t == "Z":
                return state
    finally:
        c.close()


def test_control_a_bounded_delete_of_a_thousand_runs(bring, restore):
    a = simple(bring, "delete from encounters where id in (select id from encounters order by id limit 1000)")
    assert a.ran, a
    assert direct_value(bring, "select count(*) from encounters") == ENCOUNTERS - CAP


def test_control_two_ranges_or_union_are_added_and_held(bring, restore):
    a = simple(bring, "delete from encounters where id in (select id from encounters order by id limit 1000) "
                    "or id in (select id from encounters order by id limit 1000 offset 1000)")
    assert a.held, a
    assert direct_value(bring, "select count(*) from encounters") == ENCOUNTERS


def test_data_modifying_ctes_of_one_statement_add_up(bring, restore):
    ctes = ", ".join(f"d{k} as (delete from encounters where id in "
                     f"(select id from encounters order by id limit 1000 offset {k * 1000}) returning 1)"
                     for k in range(ENCOUNTERS // CAP))
    a = simple(bring, f"with {ctes} select 1")
    left = direct_value(bring, "select count(*) from encounters")
    assert a.held and left == ENCOUNTERS, (
        f"twenty data-modifying CTEs of {CAP} keys each, one statement: {a}; encounters {ENCOUNTERS} -> {left}")


def _pairs_from_arrays(pairs, k):
    def on_row(v):
        for i in range(k):
            p = v[2 * i].decode().strip("{}").split(",")
            d = v[2 * i + 1].decode().strip("{}").split(",")
            pairs.update(zip(p, d))
    return on_row


def test_subselects_side_by_side_in_a_select_list_add_up(bring):
    n = ENCOUNTERS // CAP
    cols = ", ".join(f"array(select patient_id from encounters order by id limit 1000 offset {k * 1000}), "
                     f"array(select diagnosis_code from encounters order by id limit 1000 offset {k * 1000})"
                     for k in range(n))
    pairs: set = set()
    state = collect(bring, f"select {cols}", _pairs_from_arrays(pairs, n))
    total = direct_value(bring, "select count(distinct (patient_id, diagnosis_code)) from encounters")
    assert state == "held" or len(pairs) <= CAP, (
        f"one FROM-less SELECT of twenty ARRAY(... LIMIT 1000 OFFSET k) sub-selects: {state}; "
        f"{len(pairs)} of {total} distinct (patient, diagnosis) pairs of the PHI table reached the client")


def test_window_functions_that_reach_other_rows_read_every_row(bring):
    n = ENCOUNTERS // CAP
    cols = ", ".join(f"lag(patient_id, {k * 1000}) over w, lag(diagnosis_code, {k * 1000}) over w" for k in range(n))
    sql = f"select {cols} from encounters window w as (order by id) order by id desc limit 1000"
    pairs: set = set()

    def on_row(v):
        for i in range(n):
            if v[2 * i] is not None:
                pairs.add((v[2 * i], v[2 * i + 1]))

    state = collect(bring, sql, on_row)
    total = direct_value(bring, "select count(distinct (patient_id, diagnosis_code)) from encounters")
    assert state == "held" or len(pairs) <= CAP, (
        f"a LIMIT 1000 read with lag(..., k*1000) over (order by id): {state}; "
        f"{len(pairs)} of {total} distinct (patient, diagnosis) pairs of the PHI table reached the client")


def test_lead_over_patients_reads_every_patient(bring):
    ids: set[bytes] = set()
    cols = ", ".join(f"lead(id, {k * 1000}) over w" for k in range(PATIENTS // CAP))
    sql = f"select {cols} from patients window w as (order by id) limit 1000"
    state = collect(bring, sql, lambda v: ids.update(x for x in v if x is not None))
    assert state == "held" or len(ids) <= CAP, (
        f"select lead(id, k*1000) over w ... from patients limit 1000: {state}; "
        f"{len(ids)} of {PATIENTS} patients reached the client")


@pytest.mark.parametrize("shape", ["json_build_object", "union_all_of_fromless", "concat"])
def test_sibling_subselects_in_other_shapes_add_up(bring, shape):
    k = PATIENTS // CAP
    arrs = [f"array(select id from patients order by id limit 1000 offset {i * 1000})" for i in range(k)]
    if shape == "json_build_object":
        sql = "select json_build_object(" + ", ".join(f"'{chr(97 + i)}', {a}" for i, a in enumerate(arrs)) + ")::text"
    elif shape == "union_all_of_fromless":
        sql = " union all ".join(f"select {a}::text" for a in arrs)
    else:
        sql = "select (" + " || ".join(arrs) + ")::text"
    ids: set[str] = set()

    def on_row(v):
        import re
        ids.update(re.findall(r"\d+", v[0].decode()))

    state = collect(bring, sql, on_row)
    assert state == "held" or len(ids) <= CAP, (
        f"{shape}: five ARRAY(... LIMIT 1000 OFFSET k) of patients: {state}; {len(ids)} of {PATIENTS} patients out")


def test_an_aggregate_over_a_frame_of_another_row_reads_every_row(bring):
    ids: set[bytes] = set()
    cols = ", ".join(f"max(id) over (order by id rows between {k * 1000} following and {k * 1000} following)"
                     for k in range(PATIENTS // CAP))
    state = collect(bring, f"select {cols} from patients limit 1000",
                    lambda v: ids.update(x for x in v if x is not None))
    assert state == "held" or len(ids) <= CAP, (
        f"max(id) over (rows between k following and k following) ... limit 1000: {state}; "
        f"{len(ids)} of {PATIENTS} patients out")


def test_control_one_page_of_an_array_and_a_window_of_a_few_rows_run(bring):
    """One sub-select's page and a window over rows a key pins are bounded."""
    n = []
    assert collect(bring, "select array(select id from patients order by id limit 1000)", n.append) == "ran"
    assert collect(bring, "select id, lag(id) over (order by id), row_number() over () from patients where id in (1, 2, 3)",
                   n.append) == "ran"


def test_a_page_of_arrays_a_row_under_a_limit_adds_up(bring):
    """`array(... offset g * 1000) from generate_series(0, 4) g limit 5`: five rows of a
    thousand patients each, every patient (the LIMIT bounded the rows, not the arrays)."""
    ids: set[str] = set()

    def on_row(v):
        import re
        ids.update(re.findall(r"\d+", v[0].decode()))

    state = collect(bring, "select array(select id from patients order by id limit 1000 offset g * 1000)::text "
                           "from generate_series(0, 4) g limit 5", on_row)
    assert state == "held" or len(ids) <= CAP, f"{state}; {len(ids)} of {PATIENTS} patients out"
