"""Binary result columns through the ring. hoop-connect reads text from the server and
hoop-listen writes binary for the columns a Bind asked for: every value must arrive as
the exact bytes the server sends in binary on a direct connection, masked values must
stay valid values of their type, and what cannot be sent in binary gets the error a
client can act on, with the session going on."""

from __future__ import annotations

import datetime
import decimal
import uuid

import psycopg
import pytest

from helpers.pg_values import SETTINGS, VALUES
from helpers.pgwire import Bind, Describe, Execute, Parse, Query, Sync
from test_ring_extended import assert_same, exchange, open_wire, types

BINARY = 1


def fetch_raw(conn, sql: str, fmt: int):
    res = conn.pgconn.exec_params(sql.encode(), [], result_format=fmt)
    assert res.status == psycopg.pq.ExecStatus.TUPLES_OK, res.error_message
    return [(res.ftype(c), res.fformat(c), res.get_value(0, c)) for c in range(res.nfields)]


@pytest.mark.parametrize("setting", [s for s, _ in SETTINGS])
def test_every_value_arrives_as_the_servers_binary(ring, setting):
    """psycopg's exec_params (Parse, Bind with binary results, Describe portal, Execute):
    type, format and bytes per value, through the ring and direct."""
    values = dict(SETTINGS)[setting] or VALUES
    with ring.connect("gateway") as gw, ring.connect("direct") as direct:
        for c in (gw, direct):
            c.execute(f"SET {setting}")
        checked = 0
        for expr in values:
            sql = f"select {expr}"
            assert fetch_raw(gw, sql, 0) == fetch_raw(direct, sql, 0), f"{setting}: {expr} in text"
            want = fetch_raw(direct, sql, BINARY)
            got = fetch_raw(gw, sql, BINARY)
            assert got == want, f"{setting}: {expr}"
            assert got[0][1] == BINARY
            checked += 1
        assert checked == len(values)


def test_many_columns_and_rows_mixed_formats(ring):
    """One Bind asks text for some columns and binary for others, over 5,000 rows in
    several batches: the raw wire answers match the server's message for message."""
    q = ("select g, g::text || 'x' as t, g * 1.5 as n, now()::date - g as d, "
         "case when g % 7 = 0 then null else array[g, g + 1] end as a, g % 2 = 0 as even "
         "from generate_series(1, 5000) g")
    g = assert_same(ring, [[Parse("", q), Bind("", "", result_formats=[1, 0, 1, 1, 1, 0]), Describe("P", ""),
                            Execute("", 0), Sync()]])
    assert types(g[0]).count("D") == 5000


def test_statement_described_first_then_bound_binary(ring):
    """asyncpg's way: Parse + Describe statement, later Bind (all binary) + Execute with
    no Describe of the portal; row-limited Execute resumes keep the formats."""
    assert_same(ring, [
        [Parse("s_bin", "select g, g::numeric / 3 as third, 'r' || g as label from generate_series(1, 10) g"),
         Describe("S", "s_bin"), Sync()],
        [Bind("p_bin", "s_bin", result_formats=[1]), Execute("p_bin", 4), Execute("p_bin", 4), Execute("p_bin", 0), Sync()],
        [Bind("", "s_bin", result_formats=[0, 1, 0]), Execute("", 0), Sync()],
    ], sanity=lambda d: types(d[1]) == "2DDDDsDDDDsDDCZ")


def test_masked_columns_stay_valid_values_of_their_type(ring):
    """patients' masked columns (hash tokens in text, a date redacted to its year) come
    back in binary and load as their types; they equal the masked text answers."""
    sql = ("select p.id, p.first_name, p.date_of_birth, p.ssn, p.mrn, e.admitted_at, e.note "
           "from patients p join encounters e on e.patient_id = p.id order by e.id limit 50")
    with ring.connect("gateway") as gw:
        text_rows = gw.execute(sql).fetchall()
        with gw.cursor(binary=True) as cur:
            binary_rows = cur.execute(sql).fetchall()
            assert all(d.type_code for d in cur.description)
            raw = gw.pgconn.exec_params(sql.encode(), [], result_format=1)
            assert all(raw.fformat(c) == 1 for c in range(raw.nfields))
    assert len(binary_rows) == 50
    assert binary_rows == text_rows
    for row in binary_rows:
        assert isinstance(row[2], datetime.date) and (row[2].month, row[2].day) == (1, 1), "date_of_birth is redacted to 1 January"
        assert row[1].startswith("tok_"), "first_name is a hash token"
    with ring.connect("direct") as direct:
        real = direct.execute(sql).fetchall()
    assert all(a[1] != b[1] for a, b in zip(binary_rows, real)), "no real first name came back"


def test_binary_parameters_and_results_together(ring):
    """psycopg binary cursor: binary parameters of every common type in, binary results
    out, round-tripped unchanged."""
    values = [True, 7, -2**40, 1.25, decimal.Decimal("-12.3400"), "tëxt", b"\x00\xffbytes",
              uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), datetime.date(2024, 3, 5),
              datetime.time(10, 11, 12, 5), datetime.datetime(2024, 3, 5, 10, 11, 12, 13),
              datetime.datetime(2024, 3, 5, 10, 11, 12, tzinfo=datetime.timezone.utc),
              datetime.timedelta(days=3, seconds=5, microseconds=7), [1, 2, None], ["a", "b c", None]]
    sql = "select " + ", ".join(["%b"] * len(values))
    with ring.connect("gateway") as gw, ring.connect("direct") as direct:
        got = gw.cursor(binary=True).execute(sql, values).fetchone()
        want = direct.cursor(binary=True).execute(sql, values).fetchone()
    assert got == want
    assert list(got) == values


def test_refusals_keep_the_session(ring):
    """What hoop cannot send in binary is refused with a clear error; the session goes
    on (the server skips to Sync, so do we)."""
    c, _ = open_wire(ring, "gateway", app="hoop-binary-refusals")
    try:
        # A type without a binary writer here (point): 0A000 naming the way out.
        c.send(Parse("", "select point(1, 2) as p, 1 as one"), Bind("", "", result_formats=[1]),
               Describe("P", ""), Execute("", 0), Sync())
        got = c.read_until_ready(timeout=30)
        assert types(got) == "12EZ", got
        err = dict(got[2][1])
        assert err["C"] == "0A000" and "binary" in err["M"]
        # ...but that column in text and the rest in binary is fine.
        c.send(Parse("", "select point(1, 2) as p, 1 as one"), Bind("", "", result_formats=[0, 1]),
               Describe("P", ""), Execute("", 0), Sync())
        got = c.read_until_ready(timeout=30)
        assert types(got) == "12TDCZ", got
        assert got[3][1] == [b"(1,2)", b"\x00\x00\x00\x01"]
        # Result format counts must match the columns (the server's 08P01 wording).
        c.send(Parse("", "select 1, 2, 3"), Bind("", "", result_formats=[1, 1]), Describe("P", ""), Execute("", 0), Sync())
        got = c.read_until_ready(timeout=30)
        assert types(got) == "12EZ" and dict(got[2][1])["C"] == "08P01", got
        assert dict(got[2][1])["M"] == "bind message has 2 result formats but query has 3 columns"
        # A format code that is neither text nor binary.
        c.send(Parse("", "select 1"), Bind("", "", result_formats=[2]), Execute("", 0), Sync())
        got = c.read_until_ready(timeout=30)
        assert types(got) == "1EZ" and dict(got[1][1])["C"] == "22023", got
        # Binary asked of a statement nobody described: the types come with the result
        # (hoop-connect announces them to hoop-listen), not from a guess.
        c.send(Parse("nd", "select 42, now()::date - now()::date as z"), Bind("", "nd", result_formats=[1]),
               Execute("", 0), Sync())
        got = c.read_until_ready(timeout=30)
        assert types(got) == "12DCZ" and got[2][1] == [b"\x00\x00\x00\x2a", b"\x00\x00\x00\x00"], got
        # The session still works, in text and in binary.
        c.send(Query("select 'still here'"))
        got = c.read_until_ready(timeout=30)
        assert [m for m in got if m[0] == "D"][0][1] == [b"still here"]
    finally:
        c.close()


def copy_out(conn, sql: str) -> bytes:
    out = bytearray()
    with conn.cursor().copy(sql) as cp:
        for chunk in cp:
            out += chunk
    return bytes(out)


def test_binary_copy_of_a_phi_table_is_masked_and_valid(ring):
    """COPY patients TO STDOUT (FORMAT binary): every field reads as its type, the
    masked ones equal the masked text COPY's, and no real name or SSN comes out."""
    from psycopg.types import TypeInfo  # noqa: F401  (psycopg's loaders by OID)
    types = ["int4", "text", "text", "text", "date", "text", "text", "text", "text", "text", "bpchar", "text", "text"]
    with ring.connect("gateway") as gw, ring.connect("direct") as direct:
        text_rows = [line.split("\t") for line in copy_out(gw, "COPY patients TO STDOUT").decode().splitlines()]
        rows = []
        with gw.cursor().copy("COPY patients TO STDOUT (FORMAT binary)") as cp:
            cp.set_types(types)
            rows = list(cp.rows())
        real = direct.execute("select first_name, ssn from patients").fetchall()
    assert len(rows) == len(text_rows) > 100
    for row, text in zip(rows, text_rows):
        assert [("\\N" if v is None else v.isoformat() if isinstance(v, datetime.date) else str(v)) for v in row] == text
        assert isinstance(row[4], datetime.date) and (row[4].month, row[4].day) == (1, 1)
    real_names = {r[0] for r in real}
    real_ssns = {r[1] for r in real}
    assert not any(r[2] in real_names for r in rows), "a real first name in binary COPY"
    assert not any(r[5] in real_ssns for r in rows), "a real SSN in binary COPY"


def test_binary_copy_of_a_query_is_refused(ring):
    """COPY (query) TO STDOUT in binary: its fields carry no type, so they cannot be
    read for PHI; refused with a clear error, never passed."""
    with ring.connect("gateway") as gw:
        with pytest.raises(psycopg.Error, match="binary COPY of a query cannot be masked"):
            copy_out(gw, "COPY (select first_name, ssn from patients) TO STDOUT (FORMAT binary)")


def test_binary_copy_round_trip_of_a_million_rows(ring):
    """1,000,000 rows out in binary through the ring (byte for byte the server's), and
    back in through the ring in binary: the table's checksum is the same."""
    # Timestamps off the second: a timestamp at midnight to the second that fills a value
    # is a date cast to a timestamp, masked as a date (docs/masking.md); this test is
    # about binary fidelity, not masking.
    setup = ("create table if not exists bin_src2 as select g as id, md5(g::text) as label, "
             "timestamptz '2024-01-01 00:00:00.5+00' + g * interval '1 second' as at, g * 0.25 as amount "
             "from generate_series(1, 1000000) g")
    checksum = "select count(*), md5(string_agg(id || label || at::text || amount::text, ',' order by id)) from {}"
    with ring.connect("direct") as direct:
        direct.execute(setup)
        direct.execute("drop table if exists bin_dst")
        direct.execute("create table bin_dst (like bin_src2)")
        want = copy_out(direct, "COPY bin_src2 TO STDOUT (FORMAT binary)")
        source_sum = direct.execute(checksum.format("bin_src2")).fetchone()
    with ring.connect("gateway") as gw:
        got = copy_out(gw, "COPY bin_src2 TO STDOUT (FORMAT binary)")
        assert len(got) == len(want) and got == want, "binary COPY out differs from the server's"
        with gw.cursor().copy("COPY bin_dst FROM STDIN (FORMAT binary)") as cp:
            for i in range(0, len(got), 1 << 16):
                cp.write(got[i:i + (1 << 16)])
    with ring.connect("direct") as direct:
        assert direct.execute(checksum.format("bin_dst")).fetchone() == source_sum
        assert source_sum[0] == 1_000_000
        direct.execute("drop table bin_src2, bin_dst")


def test_pipelined_binds_of_one_portal_keep_their_own_formats(ring):
    """psycopg's executemany(returning=True): Bind, Describe portal, Execute of the
    unnamed portal again and again before one Sync; each Describe's answer arrives
    after later Binds were sent, and must still say the formats of its own Bind."""
    q = "select $1::int * 10 as x, $1::text as t"
    batch = [Parse("", q, [23])]
    for i, fmt in enumerate([[1], [0], [1, 0], [0, 1]]):
        batch += [Bind("", "", [str(i)], [], fmt), Describe("P", ""), Execute("", 0)]
    assert_same(ring, [batch + [Sync()]], sanity=lambda d: types(d[0]) == "1" + "2TDC" * 4 + "Z")


def test_binary_cursor_rows_are_refused_not_passed(ring):
    """DECLARE … BINARY CURSOR makes the server send binary rows in the simple
    protocol, which hoop-mask cannot read as text: refused with a clear error, the
    session goes on, and no value of the table comes out."""
    r = ring.psql("gateway", "-c", "BEGIN",
                  "-c", "DECLARE c BINARY CURSOR FOR SELECT id, date_of_birth, first_name, ssn FROM patients ORDER BY id LIMIT 2",
                  "-c", "FETCH ALL FROM c", "-c", "COMMIT", "-c", "select 'after' as w")
    assert "BINARY cursor cannot be masked" in r.stderr, r.stderr
    assert "after" in r.stdout, r.stdout
    with ring.connect("direct") as direct:
        names = [n for (n,) in direct.execute("select first_name from patients order by id limit 2").fetchall()]
    assert not any(n in r.stdout for n in names), "a real first name came out of a binary cursor"
