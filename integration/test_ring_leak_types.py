"""Values taken out of free text into a type content detection does not read (found by
the masking hunt of 2026-12-06, s42). A text column no rule covers is guarded by content
detection alone (`encounters.note`, the legacy feed); a number, a timestamp or an array
of codes computed from it has left the text detection reads: 1,000 of 1,000 dates of
birth, MRNs and full names came back in clear from one statement. Such a value is masked
whole; computed from columns that hold no content (numbers, timestamps: hoop-connect's
`plain_columns`), it stays as it is.

Through a default-rules ring as an agent on raw PGWire; each answer is compared with the
database read directly, and only counts are printed."""
from __future__ import annotations

import datetime
import re

from conftest import default_rules_ring
from helpers.agent_wire import agent_wire
from helpers.pgwire import Query

tring = default_rules_ring("leak-types")

ENC = "e.id between 1 and 1000"


def rows_through(ring, sql: str) -> list[tuple]:
    """The rows of one statement through the gateway (values as text, None for NULL);
    fails when it is held or errs."""
    c = agent_wire(ring, "leak-types")
    rows, errors = [], []
    try:
        c.send(Query(sql))
        while True:
            t, v = c.read(60)
            assert not (t == "N" and "held for approval" in v.get("M", "")), "held: not a masking test"
            if t == "E":
                errors.append(v.get("C"))
            elif t == "D":
                rows.append(tuple(None if x is None else x.decode() for x in v))
            elif t == "Z":
                break
    finally:
        c.close()
    assert not errors, errors
    return rows


def direct(ring, sql: str):
    with ring.connect("direct") as d:
        return d.execute(sql).fetchall()


def codes_text(codes: str | None) -> str:
    return "".join(chr(int(x)) for x in (codes or "").strip("{}").split(",") if x.isdigit())


def test_numbers_timestamps_and_codes_made_from_free_text_are_masked(tring):
    rows = rows_through(tring, (
        "select e.id, e.patient_id, "
        "replace(substring(e.note from 'DOB (\\d{4}-\\d{2}-\\d{2})'), '-', '')::int, "
        "substring(e.note from 'DOB (\\d{4}-\\d{2}-\\d{2})')::date + time '12:34:56', "
        "substring(e.note from 'MRN-(\\d+)')::bigint, "
        "regexp_replace(substring(e.note from '\\d{3}-\\d{3}-\\d{4}'), '\\D', '', 'g')::bigint, "
        "array(select ascii(c) from regexp_split_to_table(substring(e.note from '^(.*?) \\(DOB'), '') c), "
        "convert_to(substring(e.note from 'DOB (\\d{4}-\\d{2}-\\d{2})'), 'UTF8') "
        f"from encounters e where {ENC}"))
    patients = {r[0]: r[1:] for r in direct(tring, "select id, first_name, last_name, date_of_birth, mrn, phone from patients")}
    dob = dob_ts = mrn = phone = name = as_bytes = 0
    for _, pid, d_int, d_ts, m, ph, codes, raw in rows:
        first, last, birth, real_mrn, real_phone = patients[int(pid)]
        dob += d_int == birth.strftime("%Y%m%d")
        dob_ts += bool(d_ts) and d_ts.startswith(birth.isoformat())
        mrn += m is not None and m == re.sub(r"\D", "", real_mrn).lstrip("0")
        phone += ph is not None and real_phone is not None and ph == re.sub(r"\D", "", real_phone)[-10:]
        name += codes_text(codes) == f"{first} {last}"
        as_bytes += raw is not None and birth.isoformat().encode().hex() in raw
    print(f"{len(rows)} encounters: {dob} dates of birth as int, {dob_ts} as timestamp, {mrn} MRNs, {phone} phones, "
          f"{name} names as codes, {as_bytes} dates of birth as bytes")
    assert len(rows) == 1000
    assert dob == dob_ts == mrn == phone == name == as_bytes == 0


def test_numbers_made_from_the_legacy_feed_and_json_members_are_masked(tring):
    rows = rows_through(tring, (
        "select id, regexp_replace(pid_phone, '\\D', '', 'g')::bigint, to_date(pid_dob, 'MM/DD/YYYY') + time '01:02:03', "
        "array(select ascii(c) from regexp_split_to_table(pid_name, '') c) from legacy_feed where id between 1 and 1000"))
    real = {r[0]: r[1:] for r in direct(tring, "select id, pid_phone, pid_dob, pid_name from legacy_feed")}
    phone = dob = name = 0
    for i, ph, d, codes in rows:
        rph, rdob, rname = real[int(i)]
        phone += ph is not None and ph == re.sub(r"\D", "", rph)
        dob += d is not None and datetime.datetime.strptime(rdob, "%m/%d/%Y").date().isoformat() == d[:10]
        name += codes_text(codes) == rname
    cards = rows_through(tring, (
        "select id, regexp_replace(note::jsonb ->> 'card', '\\D', '', 'g')::numeric from feed_notes "
        "where id between 1 and 1000 and note like '{%'"))
    notes = dict(direct(tring, "select id, note::jsonb ->> 'card' from feed_notes where note like '{%'"))
    card = sum(c is not None and notes[int(i)] is not None and c == re.sub(r"\D", "", notes[int(i)]) for i, c in cards)
    print(f"legacy_feed {len(rows)} rows: {phone} phones, {dob} dates of birth, {name} names; {len(cards)} JSON notes: {card} cards")
    assert rows and cards
    assert phone == dob == name == card == 0


def test_numbers_computed_from_plain_columns_stay(tring):
    """The controls: numbers computed from columns that hold no content (ids) and
    counts come back as the database gives them."""
    sql = ("select e.id, e.id * 2, e.patient_id + 0, e.provider_id - 1, (e.patient_id % 7) * 3 "
           f"from encounters e where {ENC} order by e.id")
    through = rows_through(tring, sql)
    want = [tuple(str(v) for v in r) for r in direct(tring, sql)]
    assert len(through) == 1000 and through == want
    sql = (f"select department, count(*), count(e.id), sum(e.provider_id), max(e.patient_id) from encounters e where {ENC} "
           "group by department order by department")
    assert rows_through(tring, sql) == [tuple(str(v) for v in r) for r in direct(tring, sql)]
