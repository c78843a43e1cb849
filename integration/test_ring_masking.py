"""hoop-mask in the ring, on the seeded clinic data (docs/masking.md): identifier
columns never come back in clear, error texts are masked too, and the audit trail
records what was masked as counts; derived values (casts, concatenation, views, COPY,
an Execute without a Describe) are masked by the rules of the columns they come from.
The leak suite over every seeded identifier is integration/test_ring_leaks.py."""

from __future__ import annotations

import datetime

import json
import uuid

import psycopg
import pytest

from helpers.ring import wait_for
from helpers.pgwire import Bind, Execute, Parse, PGWire, Sync, decode
from test_ring_extended import open_wire

IDENTIFIERS = "mrn, ssn, first_name, last_name, phone, email, street, zip, insurance_id, date_of_birth"


def test_identifier_columns_never_come_back_in_clear(ring):
    with ring.connect("direct") as d:
        clear = d.execute(f"select {IDENTIFIERS} from patients order by id limit 50").fetchall()
    app = "masking-" + uuid.uuid4().hex[:8]
    with ring.connect("gateway", application_name=app) as c:
        masked = c.execute(f"select {IDENTIFIERS} from patients order by id limit 50").fetchall()
    assert len(masked) == len(clear) == 50
    # Text identifiers: no value comes back as it is stored.
    seen = {str(v) for row in masked for v in row[:-1]}
    leaked = {str(v) for row in clear for v in row[:-1]} & seen
    assert not leaked, f"{len(leaked)} identifier values came back in clear"
    # Dates of birth stay valid dates: the year only (Safe Harbor keeps years, those of
    # people 90 or older as one: this year minus 90).
    oldest = datetime.date.today().year - 90
    assert all(m[-1].month == 1 and m[-1].day == 1 and m[-1].year == max(c[-1].year, oldest) for m, c in zip(masked, clear))
    # Keyed hash tokens are deterministic: the same MRN gives the same token.
    with ring.connect("gateway") as c:
        again = c.execute("select mrn from patients order by id limit 50").fetchall()
    assert [r[0] for r in again] == [r[0] for r in masked]
    [session] = wait_for(lambda: ring.session_ids_for_app(app))
    with ring.audit() as db:
        rows = db.execute("select cast(frame as text) from frames where session = ? and type = 'masked'", (session,)).fetchall()
    summary = json.loads(rows[0][0])
    counts = summary["counts"]
    assert counts.get("SSN", 0) >= 50 and counts.get("MRN", 0) >= 50, counts
    assert all(isinstance(n, int) for n in counts.values())
    # ... and by result column: what the filter did to each.
    assert summary["columns"]["ssn"] == {"SSN": 50} and summary["columns"]["mrn"] == {"MRN": 50}, summary["columns"]
    audit_text = "\n".join(r[0] for r in rows)
    assert not any(str(v) in audit_text for row in clear for v in row[:-1])


def test_error_texts_are_masked(ring):
    with ring.connect("gateway") as c, pytest.raises(psycopg.errors.RaiseException) as e:
        c.execute("do $$ begin raise exception 'lookup failed for 923-45-6789 (jane.doe@example.org)'; end $$")
    text = str(e.value)
    assert "923-45-6789" not in text and "jane.doe@example.org" not in text
    # RAISE writes whatever the code put in it: redacted whole.
    assert text.startswith("[REDACTED]")
    with ring.connect("gateway") as c, pytest.raises(psycopg.errors.UniqueViolation) as e:
        c.execute("insert into providers (id, name, npi, specialty) select 1, 'x', '1', 'y'")
    assert e.value.diag.message_detail == "Key (id)=([REDACTED]) already exists."
    with ring.connect("gateway") as c, pytest.raises(psycopg.errors.UndefinedTable) as e:
        c.execute("select * from no_such_table")
    assert 'relation "no_such_table" does not exist' in str(e.value), "object names stay readable"


def test_a_cast_date_of_birth_is_masked(ring):
    with ring.connect("direct") as d:
        clear = {r[0] for r in d.execute("select date_of_birth::text from patients order by id limit 20")}
    with ring.connect("gateway") as c:
        seen = {r[0] for r in c.execute("select date_of_birth::text from patients order by id limit 20")}
    assert not clear & seen


def test_copy_of_a_table_masks_each_field_by_its_column(ring):
    """COPY patients TO STDOUT: hoop-connect names the table's columns, hoop-mask masks
    each field by its rule and keeps dates valid dates; CSV quoting survives masking."""
    with ring.connect("direct") as d:
        clear = d.execute("select id, ssn, date_of_birth::text, state from patients order by id limit 5").fetchall()
    with ring.connect("gateway") as c:
        with c.cursor().copy("copy (select id, ssn, state from patients order by id limit 5) to stdout "
                             "with (format csv, header)") as cp:
            csv_lines = b"".join(bytes(b) for b in cp).decode().splitlines()
    assert csv_lines.pop(0) == "id,ssn,state", "the header names the columns"
    with ring.connect("gateway") as c:
        with c.cursor().copy("copy patients (id, ssn, date_of_birth, state) to stdout") as cp:
            text_lines = b"".join(bytes(b) for b in cp).decode().splitlines()
    by_id = {str(r[0]): r for r in clear}
    for line in csv_lines:
        id_, ssn, state = line.split(",")
        assert ssn == '"***-**-%s"' % by_id[id_][1][-4:], "CSV field not masked by its column rule"
        assert state == by_id[id_][3]
    seen = {line.split("\t")[0]: line.split("\t") for line in text_lines}
    for id_, row in by_id.items():
        if id_ not in seen:
            continue
        _, ssn, dob, state = seen[id_]
        assert ssn.endswith(row[1][-4:]) and ssn != row[1]
        # The column's type is known: a masked date of birth is still a date (1 January, same year).
        assert dob == row[2][:4] + "-01-01" and state == row[3]
    assert len(seen) == 5000


def test_views_and_derived_values_are_masked_by_their_sources(ring):
    with ring.connect("direct") as d:
        names = {f"{a} {b}" for a, b in d.execute("select first_name, last_name from patients")}
        d.execute("create or replace view masking_test_v as select first_name || ' ' || last_name as full_name, "
                  "ssn as s, id from patients")
        d.commit()
    with ring.connect("gateway") as c:
        rows = c.execute("select full_name, s, id from masking_test_v order by id limit 20").fetchall()
        built = c.execute("select concat_ws(' ', first_name, last_name), upper(ssn) from patients limit 20").fetchall()
    assert len(rows) == len(built) == 20
    assert not names & {r[0] for r in rows} and not names & {r[0] for r in built}
    # A value derived from hashed columns is redacted (never hashed: a codebook), an SSN
    # through a view keeps its partial rule.
    assert all(r[0] == "[REDACTED]" and r[1].startswith("***-**-") for r in rows)
    assert all(r[2] for r in rows), "the view's id column is not an identifier and passes"


def test_execute_without_describe_is_masked(ring):
    """A client may Execute a portal without describing it: the rows have no columns
    frame of their own, and are masked by what the statement reads."""
    with ring.connect("direct") as d:
        ssns = {r[0] for r in d.execute("select ssn from patients order by id limit 5")}
    c = PGWire("127.0.0.1", ring.listen_port, timeout=30)
    c.startup(ring.gateway_user, "clinic", ring.gateway_password)
    try:
        c.send(Parse("", "select ssn, 'x' || last_name from patients order by id limit 5"), Bind("", ""), Execute(""), Sync())
        msgs = c.read_until_ready(timeout=30)
    finally:
        c.close()
    rows = [m[1] for m in msgs if m[0] == "D"]
    assert len(rows) == 5
    values = {v.decode() for r in rows for v in r}
    assert not values & ssns
    assert not any(v.startswith("x") for v in values), "a concatenated last name came back in clear"


def test_arrays_are_masked_element_by_element(ring):
    """An array-typed value under a rule comes back as an array of its type, each
    element masked as a value of the element type: a hashed text[] gives the tokens its
    elements give alone, a partial rule keeps each element's last digits, a redacted
    date[] holds each date's year. (A bare token or marker in place of the array made
    psycopg raise DataError.)"""
    schema = "arrays_" + uuid.uuid4().hex[:8]
    with ring.connect("direct") as d:
        first, ssn, dob = d.execute("select first_name, ssn, date_of_birth from patients order by id limit 1").fetchone()
        d.execute(f"create schema {schema}")
        d.execute(f"create table {schema}.patients (id int primary key, first_name text[], ssn varchar[], date_of_birth date[])")
        d.execute(f"insert into {schema}.patients values (1, array[%s, null, 'Quenwick'], array[%s, '900-12-3456'], array[%s::date])",
                  (first, ssn, dob))
        d.commit()
    try:
        with ring.connect("gateway") as c:
            token = c.execute("select first_name from patients order by id limit 1").fetchone()[0]
            # Text and binary columns (hoop-listen writes the binary array from the masked text).
            for prepare, binary in ((False, False), (True, False), (False, True)):
                names, ssns, dobs = c.execute(f"select first_name, ssn, date_of_birth from {schema}.patients where id = 1",
                                              prepare=prepare, binary=binary).fetchone()
                assert names[0] == token and names[1] is None and names[2].startswith("tok_") and len(names) == 3
                assert ssns == ["***-**-" + ssn[-4:], "***-**-3456"]
                assert dobs == [dob.replace(month=1, day=1)]
            # A value built from a hashed column (redacted: derived values are never hashed)
            # is still an array.
            derived = c.execute("select array_agg(first_name order by id) from patients where id in (1, 2, 3)").fetchone()[0]
            assert derived == ["[REDACTED]"] * 3, "an array of names came back unmasked or not as an array"
    finally:
        with ring.connect("direct") as d:
            d.execute(f"drop schema {schema} cascade")
            d.commit()


@pytest.mark.parametrize("sql", [
    "select first_name::int from patients order by id limit 1",
    "select (last_name || '-' || city)::date from patients order by id limit 1",
    "insert into patients (id, mrn, first_name, last_name, date_of_birth, ssn) "
    "select 900000, mrn, 'x', 'y', date_of_birth, ssn from patients order by id limit 1",
    "insert into encounters (id, patient_id, admitted_at, department, diagnosis_code, note) "
    "select 900000, 99999999, now(), 'x', 'y', first_name from patients order by id limit 1",
])
def test_values_quoted_in_errors_are_redacted(ring, sql):
    """A failed cast quotes the value, a violation prints the key or the row: row data,
    redacted whole whatever content detection makes of it."""
    with ring.connect("direct") as d:
        row = d.execute("select first_name, last_name, city, mrn from patients order by id limit 1").fetchone()
    with ring.connect("gateway") as c:
        with pytest.raises(psycopg.Error) as e:
            c.execute(sql)
    diag = e.value.diag
    text = " ".join(filter(None, [diag.message_primary, diag.message_detail, diag.message_hint, diag.context]))
    assert not any(v in text for v in row), "an identifier came back in an error text"
    assert "[REDACTED]" in text or "[" in text


def test_application_name_set_from_data_is_masked(ring):
    """set_config('application_name', ...) makes the server report the value to the
    client (ParameterStatus): the statement parked a ruled value in the session's
    settings, so what they report is masked whole (docs/masking.md, "Server state")."""
    with ring.connect("direct") as d:
        ssn = d.execute("select ssn from patients where id = 42").fetchone()[0]
    with ring.connect("gateway") as c:
        c.execute("select set_config('application_name', 'x ' || ssn, false) from patients where id = 42")
        reported = c.info.parameter_status("application_name")
    assert reported == "[REDACTED]"
    with ring.connect("gateway") as c:
        # Another session parked nothing: its own setting reads back.
        c.execute("select set_config('application_name', 'plain-app', false)")
        assert c.info.parameter_status("application_name") == "plain-app"
        assert c.execute("show application_name").fetchone()[0] == "plain-app"


def _mask_stage(ring, frames: list[dict]) -> list[dict]:
    """hoop-mask on its own, with the ring's configuration: frames in, frames out."""
    import subprocess
    from helpers.ring import hoop_bin
    lines = "".join(json.dumps(f) + "\n" for f in frames)
    r = subprocess.run([str(hoop_bin() / "hoop-mask"), "--config", str(ring.var / "hoop.json")],
                       input=lines, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines()]


def test_a_rows_frame_with_a_key_the_codec_does_not_know_never_passes(ring):
    # A stage swapped in ahead of hoop-mask could put anything beside the rows: the
    # clean read passes a frame as it came, so a key it has not read ends the session.
    sid = "s-rowskey-1"
    opened = {"type": "session_open", "session": sid, "seq": 0, "database": "clinic"}
    queries = [{"type": "query", "session": sid, "seq": n, "sql": "select 'x' as v"} for n in (1, 2)]
    plain = {"type": "rows", "session": sid, "seq": 1, "rows": [["x"]]}
    extra = {"type": "rows", "session": sid, "seq": 2, "rows": [["x"]], "note": "123-45-6789"}
    out = _mask_stage(ring, [opened, queries[0], plain, queries[1], extra])
    rows = [f for f in out if f["type"] == "rows"]
    assert len(rows) == 1 and rows[0]["rows"] == [["x"]] and rows[0].get("stamp:mask") is True
    assert "123-45-6789" not in json.dumps(out)
    errors = [f for f in out if f["type"] == "error"]
    assert errors and errors[0]["session"] == sid and errors[0]["seq"] == 2 and errors[0]["code"] == "XX000"


# Naming tricks against hoop-mask's book of statements and portals (StatementBook): each
# makes a name mean one thing to the server and, unless the book follows the server's
# rules, another to hoop-mask. The value is an SSN turned into letters, which content
# detection cannot see: only the lineage masks it. Each sequence runs directly too, so
# that the test knows the value really comes back there.

HIDDEN = "translate(ssn, '0123456789', 'abcdefghij')"
SENSITIVE = f"select {HIDDEN} as t from patients order by id limit 3"


def _values(batches):
    return {v.decode() for batch in batches for t, row in batch if t == "D" for v in row if v is not None}


def _both(ring, steps):
    """Runs `steps` (lists of messages; each ends with Sync, Query or Flush) on the
    gateway and directly; returns the DataRow values of each."""
    from helpers.pgwire import Flush
    out = {}
    for via in ("gateway", "direct"):
        c, _ = open_wire(ring, via, app="hoop-names")
        try:
            got = []
            for batch in steps:
                c.send(*batch)
                if batch[-1] == Flush():
                    got.append([c.read(timeout=30)])   # the error of the flushed request
                else:
                    got.append(c.read_until_ready(timeout=30))
            out[via] = got
        finally:
            c.close()
    return out["gateway"], out["direct"]


def _secrets(ring):
    with ring.connect("direct") as d:
        return {r[0] for r in d.execute(SENSITIVE).fetchall()}


@pytest.mark.parametrize("case", ["prepare inside a parse", "prepare before an error in one query",
                                  "discard all", "close skipped after an error", "portal of a re-parsed statement"])
def test_naming_tricks_do_not_unmask(ring, case):
    from helpers.pgwire import Close, Describe, Flush, Query
    steps = {
        # PREPARE in a Parse's text runs at its Execute, if ever; its parse_complete says nothing of x.
        "prepare inside a parse": [
            [Query(f"prepare x1 as {SENSITIVE}")],
            [Parse("y1", "select * from no_such_table"), Sync()],
            [Parse("y1", "prepare x1 as select 'hello'::text"), Sync()],
            [Query("execute x1")]],
        # PREPARE is not transactional: it stays although a later statement of its Query fails.
        "prepare before an error in one query": [
            [Parse("", "prepare x2 as select 'hello'::text"), Sync()],
            [Query(f"prepare x2 as {SENSITIVE}; select 1/0")],
            [Query("execute x2")]],
        "discard all": [
            [Query("prepare x3 as select 'hello'::text")],
            [Query("discard all")],
            [Query(f"prepare x3 as {SENSITIVE}")],
            [Query("execute x3")]],
        # After an error the server skips up to Sync: the Close and the Parse never happen.
        "close skipped after an error": [
            [Parse("x4", SENSITIVE), Sync()],
            [Parse("", "selec"), Flush()],
            [Close("S", "x4"), Parse("x4", "select 'hello'::text"), Sync()],
            [Bind("", "x4"), Execute("", 0), Sync()]],
        # The portal runs what was bound, whatever the unnamed statement's Describe says later.
        "portal of a re-parsed statement": [
            [Query("begin")],
            [Parse("", f"select {HIDDEN} as t, 1 as one from patients order by id limit 3"), Bind("p5", ""),
             Parse("", "select 'x'::text as note, 1 as one"), Describe("S", ""), Describe("P", "p5"),
             Execute("p5", 0), Sync()],
            [Query("commit")]],
    }[case]
    secrets = _secrets(ring)
    gateway, direct = _both(ring, steps)
    assert secrets & _values(direct), f"test bug: the sequence does not return the value directly: {direct}"
    assert not secrets & _values(gateway), "a value traced to patients.ssn came back in clear"


def test_a_birth_year_that_says_ninety_or_older_is_one_year_for_all(ring, direct):
    """(A hunt.) Safe Harbor keeps a date's year but aggregates ages over 89: a masked date of
    birth keeps its year unless that year says its person may be 90 or older; then it is
    this year minus 90 for all of them (394 patients' birth years came back before)."""
    oldest = datetime.date.today().year - 90
    real = dict(direct.execute("select id, date_of_birth from patients").fetchall())
    with ring.connect("gateway") as g:
        got = dict(g.execute("select id, date_of_birth from patients").fetchall())
    old = [i for i, d in real.items() if d.year < oldest]
    assert old, "the demo database has patients aged 90 and over"
    given = sum(1 for i in old if got[i].year != oldest)
    assert given == 0, f"{given} of {len(old)} patients aged 90 and over came back with a year other than {oldest}"
    kept = sum(1 for i, d in real.items() if d.year >= oldest and got[i].year == d.year)
    assert kept == sum(1 for d in real.values() if d.year >= oldest), "younger patients keep their birth year"
