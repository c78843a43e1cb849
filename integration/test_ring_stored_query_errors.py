"""Errors of statements that run a query stored earlier (hunt of 2026-12-06): MOVE runs
a cursor's query, COMMIT runs each WITH HOLD cursor's to its end, EXECUTE a prepared
statement's (inside EXPLAIN ANALYZE or CREATE TABLE AS too), REFRESH a materialized
view's, CREATE INDEX and ALTER TABLE ... USING compute over a table's rows. Their own
text reads nothing, but their errors print what the stored query made of ruled columns:
`relation "<ssn spelt in letters>" does not exist`, `date field value out of range:
<date of birth + 40 days>`, a json error's DETAIL holding a thousand patients' records.
Before the fix each of these came back as the server wrote it (the default rules allow
the MOVE and COMMIT forms). Now hoop-mask reads them as reading what the stored query
reads, and an error of a request it cannot trace loses its data whatever its class.

An error at an extended-protocol Sync (a WITH HOLD cursor declared outside a transaction
block fails at its implicit commit) ended the session and wrote the server's message,
with the value, into hoop-connect's log: it is now the Sync's error, masked, and the
log names only its severity.

Values are compared, never printed: a failure says how many were found.
"""

from __future__ import annotations

import datetime

import psycopg
import pytest

from conftest import default_rules_ring

ENCODED = "translate(ssn, '0123456789-', 'abcdefghijx')"    # reversible: each digit a letter
JOINED = "quote_ident(last_name || '_' || first_name || '_' || date_of_birth::text || '_' || ssn)"
DOB_PLUS_40 = ("make_date(extract(year from {d})::int, extract(month from {d})::int, "
               "extract(day from {d})::int + 40)")
BULK = ("select ('{\"a\": ' || string_agg(translate(last_name || '_' || first_name || '_' || "
        "date_of_birth::text || '_' || ssn, ' -.@+()', '_______'), '_' order by id) || '}')::json "
        "from patients where id between 1 and 1000")

ring = default_rules_ring("stored-errors")


def failures(conn, statements) -> tuple[str, list[str]]:
    """Runs the statements; the text of every error and notice, and the SQLSTATEs of the errors."""
    texts, codes = [], []
    conn.add_notice_handler(lambda d: texts.append(" ".join(str(x or "") for x in (d.message_primary, d.message_detail,
                                                                                     d.context))))
    for s in statements:
        try:
            conn.execute(s, prepare=False)
        except psycopg.Error as e:
            d = e.diag
            codes.append(d.sqlstate or "")
            texts.append(" ".join(str(x or "") for x in (d.message_primary, d.message_detail, d.message_hint, d.context,
                                                          d.internal_query)))
            if not conn.autocommit:
                conn.rollback()
    return "\n".join(texts), codes


def secrets(ring, patient: int = 1) -> list[str]:
    """What patient `patient`'s SSN, name and date of birth look like in the errors above."""
    with ring.connect("direct") as d:
        ssn, last, first, dob = d.execute("select ssn, last_name, first_name, date_of_birth from patients where id = %s",
                                          (patient,)).fetchone()
    encoded = ssn.translate(str.maketrans("0123456789-", "abcdefghijx"))
    plus40 = datetime.date.fromordinal(dob.toordinal() + 40)
    return [encoded, ssn, last.lower(), f"{last}_{first}", dob.isoformat(),
            f"{dob.year}-{dob.month:02d}-{dob.day + 40}", plus40.isoformat()]


def assert_masked(ring, statements, code, patient=1):
    with ring.connect("gateway") as gw:
        text, codes = failures(gw, statements)
    assert code in codes, f"the statements did not fail as they do on the server: {codes}"
    shown = sum(1 for s in secrets(ring, patient) if s in text)
    assert shown == 0, f"{shown} of the patient's values came back in the error text"


# --- cursors: MOVE, and the COMMIT that runs a WITH HOLD cursor --------------------------

@pytest.mark.parametrize("end", ["commit", "end", "commit and chain"])
def test_a_commit_that_runs_a_held_cursor_masks_its_error(ring, end):
    statements = ["begin", f"declare c cursor with hold for select {ENCODED}::regclass from patients where id = 1", end]
    assert_masked(ring, statements + ["rollback"] if "chain" in end else statements, "42P01")
    assert_masked(ring, ["begin", f"declare c cursor with hold for select {JOINED}::regclass from patients where id = 1",
                         end] + (["rollback"] if "chain" in end else []), "42P01")


def test_move_masks_its_cursors_error(ring):
    assert_masked(ring, ["begin", f"declare c cursor for select {ENCODED}::regclass from patients where id = 1",
                         "move forward all in c", "rollback"], "42P01")
    assert_masked(ring, ["begin", f"declare c cursor for select {DOB_PLUS_40.format(d='date_of_birth')} from patients "
                         "where id = 1", "move all in c", "rollback"], "22008")


def test_a_thousand_records_in_one_error_detail_are_masked(ring):
    """Allowed by the default rules (a key range of 1,000 rows): the rows stay unread, and
    so does their json error."""
    with ring.connect("direct") as d:
        ssns = [r[0] for r in d.execute("select replace(ssn, '-', '_') from patients where id between 1 and 1000")]
    with ring.connect("gateway") as gw:
        text, codes = failures(gw, ["begin", f"declare c cursor for {BULK}", "move all in c", "rollback"])
    assert "22P02" in codes, codes
    shown = sum(1 for s in ssns if s in text)
    assert shown == 0, f"{shown} of 1000 patients' SSNs came back in one error"


# --- prepared statements, views, computations over a table (open approval) ---------------

@pytest.fixture
def open_ring(ring_factory):
    return ring_factory("stored-errors-open")


@pytest.mark.parametrize("statements", [
    [f"prepare p as select {ENCODED}::regclass from patients where id = 1", "explain analyze execute p"],
    [f"prepare p as select {ENCODED}::regclass from patients where id = 1", "create temp table tt as execute p"],
    ["begin", f"create materialized view mv as select {ENCODED}::regclass from patients where id = 1 with no data",
     "refresh materialized view mv", "rollback"],
    ["begin", "create temp table t4 as select ssn s from patients where id = 1",
     "alter table t4 alter column s type regclass using translate(s, '0123456789-', 'abcdefghijx')::regclass",
     "rollback"],
    ["begin", f"do $$declare c refcursor := 'c'; begin open c for select {ENCODED}::regclass from patients where id = 1; end$$",
     "fetch all from c", "rollback"],
], ids=["explain-analyze-execute", "create-table-as-execute", "refresh", "alter-using", "fetch-from-code"])
def test_statements_that_run_stored_queries_mask_their_errors(open_ring, statements):
    assert_masked(open_ring, statements, "42P01")


def test_an_index_over_a_copy_of_a_ruled_column_masks_its_error(open_ring):
    assert_masked(open_ring, ["begin", "create temp table t3 as select date_of_birth d from patients where id = 1",
                              f"create index on t3 ({DOB_PLUS_40.format(d='d')})", "rollback"], "22008")


# --- an error at Sync ---------------------------------------------------------------------

def test_an_error_at_sync_is_the_syncs_masked_error_and_the_session_goes_on(ring):
    """A WITH HOLD cursor declared outside a transaction block (the extended protocol)
    runs at the implicit commit of Sync and fails there."""
    values = secrets(ring, 3)
    with ring.connect("gateway") as gw:
        with pytest.raises(psycopg.Error) as e:
            gw.execute(f"declare c cursor with hold for select {JOINED}::regclass from patients where id = %s", (3,))
        assert e.value.diag.sqlstate == "42P01", e.value.diag.sqlstate
        text = " ".join(str(x or "") for x in (e.value.diag.message_primary, e.value.diag.message_detail))
        assert sum(1 for v in values if v in text) == 0, "a value came back in the Sync's error"
        assert gw.execute("select 1").fetchone() == (1,), "the session goes on"
    log = (ring.var / "log" / "connect.log").read_text(errors="replace")
    assert sum(1 for v in values if v in log) == 0, "a value is in hoop-connect's log"


# --- code the server runs for a write, at once or at COMMIT -------------------------------

def test_a_deferred_trigger_that_fails_at_commit_masks_its_error(open_ring):
    """A constraint trigger deferred to COMMIT casts what was inserted: COMMIT's own text
    reads nothing."""
    setup = ["begin", "create temp table dt (s text)",
             "create function pg_temp.dt_check() returns trigger language plpgsql as $$ begin perform new.s::regclass; "
             "return new; end $$",
             "create constraint trigger dt_check after insert on dt deferrable initially deferred for each row "
             "execute function pg_temp.dt_check()",
             f"insert into dt select {ENCODED} from patients where id = 1"]
    assert_masked(open_ring, setup + ["commit"], "42P01")
    assert_masked(open_ring, setup + ["set constraints all immediate", "rollback"], "42P01")


def test_a_check_over_a_written_rows_value_masks_its_error(open_ring):
    """An UPDATE re-checks a CHECK over the row it writes; the row holds a patient's SSN."""
    assert_masked(open_ring, ["begin", "create temp table t2 (s text, x int default 0, check (x = 0 or s::regclass is not null))",
                              f"insert into t2 (s) select {ENCODED} from patients where id = 1",
                              "update t2 set x = 1", "rollback"], "42P01")
