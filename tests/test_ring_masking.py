"""hoop-mask in the ring, on the seeded clinic data (docs/masking.md): identifier
columns never come back in clear, error texts are masked too, and the audit trail
records what was masked as counts. (The full leak suite of issue 4 is still to come.)"""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from helpers.ring import wait_for

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
    # Dates of birth stay valid dates: the year only (Safe Harbor keeps years).
    assert all(m[-1].month == 1 and m[-1].day == 1 and m[-1].year == c[-1].year for m, c in zip(masked, clear))
    # Keyed hash tokens are deterministic: the same MRN gives the same token.
    with ring.connect("gateway") as c:
        again = c.execute("select mrn from patients order by id limit 50").fetchall()
    assert [r[0] for r in again] == [r[0] for r in masked]
    [session] = wait_for(lambda: ring.session_ids_for_app(app))
    with ring.audit() as db:
        rows = db.execute("select cast(frame as text) from frames where session = ? and type = 'masked'", (session,)).fetchall()
    counts = json.loads(rows[0][0])["counts"]
    assert counts.get("SSN", 0) >= 50 and counts.get("MRN", 0) >= 50, counts
    assert all(isinstance(n, int) for n in counts.values())
    audit_text = "\n".join(r[0] for r in rows)
    assert not any(str(v) in audit_text for row in clear for v in row[:-1])


def test_error_texts_are_masked(ring):
    with ring.connect("gateway") as c, pytest.raises(psycopg.errors.RaiseException) as e:
        c.execute("do $$ begin raise exception 'lookup failed for 923-45-6789 (jane.doe@example.org)'; end $$")
    text = str(e.value)
    assert "923-45-6789" not in text and "jane.doe@example.org" not in text
    assert "lookup failed for" in text


def test_a_cast_date_of_birth_is_masked(ring):
    with ring.connect("direct") as d:
        clear = {r[0] for r in d.execute("select date_of_birth::text from patients order by id limit 20")}
    with ring.connect("gateway") as c:
        seen = {r[0] for r in c.execute("select date_of_birth::text from patients order by id limit 20")}
    assert not clear & seen
