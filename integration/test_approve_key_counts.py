"""Reads bounded by a key filter (issue: key by name). hoop-approve took `key = const`
for few rows when the column's NAME was `id`, ended in `_id` or was in key_columns:
`where tenant_id = 1` on a table where every row has tenant 1 was let through as one
parent's rows. Now the catalog decides (docs/approval.md, "Reads bounded by a key"): a
unique key of the table, or the planner's statistics (the most rows one value had at
the last ANALYZE, plus every row modified since), each within max_bounded_limit.

Each statement goes through the ring as an agent (embedded default rules, a PHI
database); the test asserts whether hoop-approve held it. Only booleans and counts are
printed, never a row's value.
"""

from __future__ import annotations

import time

import pytest

from conftest import default_rules_ring
from helpers.agent_wire import admin_exec, simple

ring = default_rules_ring("key-counts")

SCHEMA = "keys"
# Each in a schema of its own (keys_visits, ...), named feed_notes: a PHI table of the
# default rules by its name, so that an unbounded read of it is held.
TABLES = ("visits", "raw_visits", "dup_ids", "fresh", "spread", "stale")


@pytest.fixture(scope="module", autouse=True)
def tables(ring):
    """Tables of the gateway's role (so the agent may read them), by schema: `visits`, 1,500 rows all
    of tenant 1, analyzed; `raw_visits`, the same never analyzed; `dup_ids`, an `id`
    column without a unique index, 750 rows each of two ids, analyzed; `fresh`, 2,000
    rows, a primary key, never analyzed; `spread` and `stale`, 2,000 rows of 500 tenants,
    analyzed."""
    admin_exec(ring, *(f"drop schema if exists {SCHEMA}_{t} cascade" for t in TABLES),
               *(f"create schema {SCHEMA}_{t} authorization hoop_gateway" for t in TABLES),
               "set role hoop_gateway",
               f"create table {SCHEMA}_visits.feed_notes as select e.*, 1 as tenant_id from public.encounters e where e.id <= 1500",
               f"create table {SCHEMA}_raw_visits.feed_notes as select e.*, 1 as tenant_id from public.encounters e where e.id <= 1500",
               f"alter table {SCHEMA}_raw_visits.feed_notes set (autovacuum_enabled = off)",
               f"create table {SCHEMA}_dup_ids.feed_notes as select g % 2 as id, 'x' as note from generate_series(1, 1500) g",
               f"create table {SCHEMA}_fresh.feed_notes (id int primary key, note text)",
               f"alter table {SCHEMA}_fresh.feed_notes set (autovacuum_enabled = off)",
               f"insert into {SCHEMA}_fresh.feed_notes select g, 'x' from generate_series(1, 2000) g",
               f"create table {SCHEMA}_spread.feed_notes as select g as seq, g % 500 as tenant_id from generate_series(1, 2000) g",
               f"create table {SCHEMA}_stale.feed_notes as select g as seq, g % 500 as tenant_id from generate_series(1, 2000) g",
               f"alter table {SCHEMA}_stale.feed_notes set (autovacuum_enabled = off)",
               "reset role")
    # ANALYZE in a session of its own: the writing session's counts, flushed at its exit,
    # would otherwise count as modified since (n_mod_since_analyze).
    time.sleep(1.5)
    admin_exec(ring, *(f"analyze {SCHEMA}_{t}.feed_notes" for t in ("visits", "dup_ids", "spread", "stale")))
    time.sleep(3)   # the catalog's facts: one look (1 s) and a read
    yield
    admin_exec(ring, *(f"drop schema {SCHEMA}_{t} cascade" for t in TABLES))


def outcome(ring, sql: str) -> str:
    a = simple(ring, sql, timeout=30)
    return "held" if a.held else "denied" if a.denied else "ran" if a.ran else f"error {a.error}"


@pytest.mark.parametrize("sql", [
    # Every row is tenant 1: the statistics say 1,500 rows for the value.
    f"select * from {SCHEMA}_visits.feed_notes where tenant_id = 1",
    f"select v.note from {SCHEMA}_visits.feed_notes v where v.tenant_id = 1",
    f"select * from public.providers p join {SCHEMA}_visits.feed_notes v on v.provider_id = p.id where v.tenant_id = 1",
    f"select array(select note from {SCHEMA}_visits.feed_notes where tenant_id = 1)",
    # No statistics gathered: nothing says how many rows a tenant has.
    f"select * from {SCHEMA}_raw_visits.feed_notes where tenant_id = 1",
    # A column named id that no unique index holds: 750 rows for one value.
    f"select * from {SCHEMA}_dup_ids.feed_notes where id = 1",
    f"select * from {SCHEMA}_dup_ids.feed_notes where id in (0, 1)",
])
def test_key_named_column_of_many_rows_is_held(ring, sql):
    assert outcome(ring, sql) == "held", "a read of more than max_bounded_limit rows by a key-named column ran"


def test_rows_modified_since_analyze_count(ring):
    """Stale statistics: 1,200 rows of one tenant added after ANALYZE (by another writer)
    are counted as that tenant's, whatever the last ANALYZE said (4 rows a tenant)."""
    assert outcome(ring, f"select * from {SCHEMA}_stale.feed_notes where tenant_id = 7") == "ran"
    admin_exec(ring, f"insert into {SCHEMA}_stale.feed_notes select 10000 + g, 7 from generate_series(1, 1200) g")
    time.sleep(3)   # the writer's statistics flushed at its exit; one look of the catalog
    assert outcome(ring, f"select * from {SCHEMA}_stale.feed_notes where tenant_id = 7") == "held", \
        "rows added since ANALYZE were not counted"


@pytest.mark.parametrize("sql", [
    # A primary key: one row per value, statistics or not.
    "select * from encounters where id = 5",
    "select * from patients where id in (1, 2, 3)",
    f"select * from {SCHEMA}_fresh.feed_notes where id = 17",
    # A foreign key whose values have few rows each (about 133 encounters a provider).
    "select * from encounters where provider_id = 7",
    "select * from encounters where patient_id = 5",
    "select e.*, p.name from encounters e join providers p on p.id = e.provider_id where e.id = 5",
    "select p.id, (select count(*) from encounters e where e.patient_id = p.id) from patients p where p.id = 5",
    f"select * from {SCHEMA}_spread.feed_notes where tenant_id = 3",
])
def test_key_of_few_rows_runs(ring, sql):
    assert outcome(ring, sql) == "ran"


@pytest.mark.parametrize("sql", [
    "select * from encounters",
    "select * from encounters where provider_id in (1, 2, 3)",
    "select * from encounters where department = 'x'",
])
def test_unbounded_reads_stay_held(ring, sql):
    assert outcome(ring, sql) == "held"
