"""The driver matrix: mainstream PostgreSQL drivers through the ring, each compared
with itself run straight against the same server.

One script of statements (SCRIPT, below) over a synthetic table of every common type
(bool, int2/4/8, float4/8, numeric, text, varchar, bytea, uuid, date, time,
timestamp, timestamptz, interval, json, jsonb, arrays of these, NULLs), literals, a
parameterised query, DML with RETURNING on a temporary table, an error and the
session going on after it. Each driver runs it directly, then through the gateway,
and the two outcomes (rows as the driver returns them, status tags, SQLSTATEs) must
be equal. The synthetic table has no masking rule and its values hold nothing content
detection flags, so it comes back unchanged; masked columns are checked against what
the policy says instead (MASKED: patients.ssn partial, first_name a hash token,
date_of_birth 1 January of its year).

Drivers: psql; pgbench (custom script, simple/extended/prepared; the built-in
select-only run is integration/test_ring_pgbench.py); psycopg 3 text and binary; asyncpg;
psycopg2; SQLAlchemy Core and ORM (psycopg driver); Alembic migrations, with the
test rings' open approval rules and with the embedded default rules (DDL held, then
granted by an approver).

psycopg binary and asyncpg ask for binary result columns, which hoop-listen writes from
the text the ring carries (integration/test_ring_binary.py). Every driver test takes an
`sslmode` from SSL_MODES.
"""

from __future__ import annotations

import asyncio
import datetime
import decimal
import json
import math
import re
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
# At module level: the ORM reads the models' annotations by name here.
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, selectinload

from conftest import default_rules_ring
from helpers.ring import PGBENCH, PSQL, clean_env, pgbench_processed, wait_for

# Every driver test runs in clear and over TLS to the gateway (the ring's embedded
# self-signed pair; certificate checks with verify-full are integration/test_ring_tls.py's).
SSL_MODES = ["disable", "require"]


@pytest.fixture(params=SSL_MODES)
def sslmode(request):
    return request.param


TYPES_DDL = """
create table drv_types (
    id int primary key, b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n numeric(16,4),
    t text, vc varchar(40), by bytea, u uuid, d date, tm time, ts timestamp, tz timestamptz,
    iv interval, j json, jb jsonb,
    a_b bool[], a_i2 int2[], a_i4 int4[], a_i8 int8[], a_f8 float8[], a_n numeric[], a_t text[],
    a_vc varchar[], a_by bytea[], a_u uuid[], a_d date[], a_tm time[], a_ts timestamp[],
    a_tz timestamptz[], a_iv interval[], a_j json[], a_jb jsonb[])
"""

TYPES_ROWS = r"""
insert into drv_types values
(1, true, 12, 345, 6789012345, 1.5, 2.25, 1234.5678,
 'plain words', 'short label', '\x00ff0a41', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
 '2024-02-29', '13:14:15.123456', '2024-02-29 10:11:12.345678', '2024-02-29 10:11:12.345678+02',
 '1 day 02:03:04.5', '{"k": [1, 2.5, "v", null, true], "nested": {"a": "b"}}',
 '{"k": [1, 2.5, "v", null, true], "nested": {"a": "b"}}',
 '{t,f}', '{1,2}', '{3,4,5}', '{6000000000,-7}', '{1.5,-0.25}', '{1.10,2.200}', '{alpha,"with space"}',
 '{short,label}', '{"\\x00","\\xff"}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', '{2024-01-01,2024-12-31}',
 '{00:00:01,23:59:59}', '{"2024-01-01 00:00:00"}', '{"2024-01-01 00:00:00+00"}', '{"1 hour","-2 days"}',
 array['{"x": 1}'::json], array['{"y": [2]}'::jsonb]),
(2, false, -32768, -2147483648, -9223372036854775808, 'NaN', '-Infinity', 'NaN',
 E'quote '' and " and \\ back\ttab\nnewline', '', '\x', '00000000-0000-0000-0000-000000000000',
 '0001-01-01', '00:00:00', '1999-12-31 23:59:59.999999', '1970-01-01 00:00:00+00',
 '-3 mons -4 days -00:00:01', '[]', '{}',
 '{}', '{}', '{}', '{}', '{NaN,Infinity}', '{NaN}', '{}',
 '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}'),
(3, null, 32767, 2147483647, 9223372036854775807, 'Infinity', 1e308, 0.0001,
 'ünïcödé é🐘 ☃ 中文', 'é🐘', '\xdeadbeef', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
 '9999-12-31', '23:59:59.999999', '2262-04-11 23:47:16', '2262-04-11 23:47:16+00',
 '178 years 7 mons', '"a string"', '"a string"',
 '{null,t}', '{null}', '{1,null,3}', '{null}', '{null,1.5}', '{null}', '{null,"",NULL,"null"}',
 '{null}', '{null,"\\x01"}', '{null}', '{null}', '{null}', '{null}', '{null}', '{null}', '{null}', '{null}'),
(4, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
 null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null)
"""

LITERALS = (
    "select true, false, null::bool, 1::int2, 2::int4, 3::int8, 1.25::float4, 2.5::float8, 1.5::numeric, "
    "'text'::text, 'vc'::varchar(4), '\\x0102'::bytea, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, "
    "'2024-01-02'::date, '03:04:05'::time, '2024-01-02 03:04:05'::timestamp, '2024-01-02 03:04:05+00'::timestamptz, "
    "'1 year 2 mons 3 days'::interval, '{\"a\": 1}'::json, '{\"b\": [1, 2]}'::jsonb, array[1, null, 3], "
    "array['x', null], array[[1, 2], [3, 4]], null::text, null::int[]")

AGGREGATES = (
    "select count(*), count(b), sum(i8), avg(i4)::numeric(20,4), max(t), string_agg(vc, ',' order by id), "
    "array_agg(i2 order by id), json_agg(jb order by id)::text, min(tz), max(d) from drv_types")

# One script for every driver: (sql with {} for each parameter, parameters or None).
# JSON parameters are strings cast in SQL, which every driver can send.
SCRIPT = [
    ("select * from drv_types order by id", None),
    (LITERALS, None),
    (AGGREGATES, None),
    ("select id, t, i8, a_i4 from drv_types where id = {} or t = {} order by id", (2, "plain words")),
    ("select {}::int8 + 1, {}::text || '!', {}::numeric * 2, {}::date + 1, not {}::bool, length({}::bytea), "
     "{}::jsonb -> 'k', {}::float8 / 2, {}::uuid",
     (2**40, "é🐘", decimal.Decimal("1.25"), datetime.date(2024, 2, 28), True, b"\x00\x01",
      '{"k": [1, "v"]}', 1.5, uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"))),
    ("select id from drv_types where d > {} and tz < {} order by id",
     (datetime.date(2000, 1, 1), datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc))),
    ("select {}::text is null, {}::int is null", (None, None)),
    ("create temp table drv_scratch (id int primary key, t text, n numeric, a int[], jb jsonb)", None),
    ("insert into drv_scratch values ({}, {}, {}, {}, {}::jsonb) returning *",
     (1, "one", decimal.Decimal("1.5"), [1, 2, None], '{"one": 1}')),
    ("insert into drv_scratch values ({}, {}, {}, {}, {}::jsonb) returning *",
     (2, "two", decimal.Decimal("-2.25"), [], '[2]')),
    ("update drv_scratch set t = t || '-updated' where id = {} returning id, t", (1,)),
    ("delete from drv_scratch where id = {} returning id", (2,)),
    ("select * from drv_scratch order by id", None),
    ("select 1/0", None),
    ("select 'after the error'", None),
    ("drop table drv_scratch", None),
]

MASKED = "select id, ssn, first_name, date_of_birth from patients where id <= 3 order by id"
TOKEN = re.compile(r"^tok_[0-9a-f]{16}$")


def placeholders(sql: str, style: str) -> str:
    """{} placeholders in a driver's parameter style."""
    n = sql.count("{}")
    if style == "format":
        return sql.replace("{}", "%s")
    if style == "numeric":
        return sql.format(*[f"${i + 1}" for i in range(n)])
    if style == "named":
        return sql.format(*[f":p{i}" for i in range(n)])
    raise ValueError(style)


def norm(v):
    """A value compared as the driver returned it, but NaN equal to itself and
    memoryview (psycopg2's bytea) as bytes."""
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    if isinstance(v, decimal.Decimal) and v.is_nan():
        return "NaN"
    if isinstance(v, memoryview):
        return bytes(v)
    if isinstance(v, (list, tuple)):
        return [norm(x) for x in v]
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    if hasattr(v, "items") and hasattr(v, "keys"):    # asyncpg Record
        return [norm(x) for x in v.values()]
    return v


def check_masked(via_gateway, direct, dob_type=datetime.date):
    """Rows of MASKED through the ring against what the masking policy makes of the
    direct ones: ssn partial (last 4), first_name a keyed hash token, date of birth
    1 January of its year."""
    assert len(direct) == 3 and len(via_gateway) == 3
    for g, d in zip(via_gateway, direct):
        gid, gssn, gname, gdob = g
        did, dssn, dname, ddob = d
        assert gid == did
        assert gssn == "***-**-" + dssn[-4:] and gssn != dssn
        assert TOKEN.match(gname) and gname != dname
        if dob_type is str:
            assert gdob == ddob[:4] + "-01-01"
        else:
            assert gdob == datetime.date(ddob.year, 1, 1)
    # the same name gives the same token (joins and GROUP BY still line up)
    names = {}
    for g, d in zip(via_gateway, direct):
        assert names.setdefault(d[2], g[2]) == g[2]


# hoop-mask masks a date that fills a column of a table no rule covers (a date of
# birth looks the same as an invoice date): the policy marks this table's dates and
# times safe, as a site would for its event-time columns, so the matrix compares the
# drivers and not the masking. integration/test_ring_legacy_feed.py and test_ring_masking.py
# prove the other side.
SAFE_DATES = [{"table": "drv_*", "column": c, "strategy": "keep"}
              for c in ("d", "tm", "ts", "tz", "iv", "a_d", "a_tm", "a_ts", "a_tz", "a_iv", "day", "made")]


@pytest.fixture(scope="module")
def types_table(ring):
    def keep_dates(add):
        def change(cfg):
            rules = cfg["connections"]["clinic"]["masking"]["columns"]
            rules[:] = [r for r in rules if r.get("table") != "drv_*"] + (SAFE_DATES if add else [])
        ring.reconfigure(change)
    keep_dates(True)
    with ring.connect("direct") as d:
        d.execute("drop table if exists drv_types")
        d.execute(TYPES_DDL)
        d.execute(TYPES_ROWS)
    yield "drv_types"
    with ring.connect("direct") as d:
        d.execute("drop table if exists drv_types")
    keep_dates(False)


def both(ring, fn):
    """fn(via) once directly, then through the gateway: (gateway, direct). Direct
    first, so that a broken test fails on its own and is not taken for the ring's."""
    d = fn("direct")
    g = fn("gateway")
    return g, d


def sanity(d):
    """The direct outcome is not empty and went through the whole script."""
    assert len(d) == len(SCRIPT)
    assert d[-3] == ("error", "22012") and d[-2][0] == "rows"
    assert len(d[0][1]) == 4


# --- psql ---------------------------------------------------------------------------

def test_psql(ring, types_table, sslmode):
    script = "\\pset null '<null>'\n" + "".join(sql + ";\n" for sql, params in SCRIPT if params is None) + MASKED + ";\n"

    def fn(via):
        kw = {"sslmode": sslmode} if via == "gateway" else {}
        return ring.psql(via, "-F", "|", input=script, dsn_kw=kw)
    g, d = both(ring, fn)
    assert "ERROR:  division by zero" in d.stderr and "after the error" in d.stdout
    dl, gl = d.stdout.splitlines(), g.stdout.splitlines()
    # The script's output up to MASKED is the server's own; MASKED's rows are masked.
    assert gl[:-3] == dl[:-3]
    assert g.stderr == d.stderr and g.returncode == d.returncode == 0
    rows = lambda lines: [tuple(l.split("|")) for l in lines[-3:]]
    check_masked([(int(a), b, c, e) for a, b, c, e in rows(gl)], [(int(a), b, c, e) for a, b, c, e in rows(dl)],
                 dob_type=str)


# --- pgbench ------------------------------------------------------------------------

PGBENCH_SCRIPT = """\\set id random(1, 4)
select id, b, i2, i4, i8, f4, f8, n, t, vc, by, u, d, tm, ts, tz, iv, j, jb, a_i4, a_t, a_jb from drv_types where id = :id;
select count(*), sum(i4) from drv_types where id <= :id;
select id, ssn from patients where id = :id;
"""


@pytest.mark.parametrize("mode", ["simple", "extended", "prepared"])
def test_pgbench_custom_script(ring, types_table, sslmode, mode, tmp_path):
    script = tmp_path / "drivers.sql"
    script.write_text(PGBENCH_SCRIPT)
    env = clean_env()
    env.update(PGHOST="127.0.0.1", PGPORT=str(ring.listen_port), PGDATABASE="clinic", PGUSER=ring.gateway_user,
               PGPASSWORD=ring.gateway_password, PGSSLMODE=sslmode, PGAPPNAME="hoop-drivers-pgbench")
    r = subprocess.run([PGBENCH, "-n", "-T", "3", "-c", "2", "-j", "1", "-M", mode, "-f", str(script)],
                       env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert pgbench_processed(r) > 10, r.stdout + r.stderr
    assert "error" not in r.stderr.lower(), r.stderr


# --- psycopg 3 ----------------------------------------------------------------------

def psycopg_script(conn, binary: bool):
    from psycopg.types.json import Jsonb  # noqa: F401  (JSON goes as text: see SCRIPT)
    out = []
    for sql, params in SCRIPT:
        cur = conn.cursor(binary=binary)
        try:
            cur.execute(placeholders(sql, "format") if params else sql, params)
            out.append(("rows", norm(cur.fetchall())) if cur.description else ("status", cur.statusmessage))
        except psycopg.Error as e:
            if e.sqlstate == "0A000":
                raise           # a refusal of the gateway's is the test's failure, not an outcome
            out.append(("error", e.sqlstate))
    return out


def psycopg_extras(conn, binary: bool):
    """A server-side cursor, executemany, a transaction rolled back."""
    out = []
    with conn.transaction():
        with conn.cursor(name="drv_named", binary=binary) as cur:
            cur.itersize = 2
            cur.execute("select id, t, a_t from drv_types order by id")
            out.append(norm(cur.fetchmany(3)))
            out.append(norm(cur.fetchall()))
    conn.execute("create temp table drv_many (id int, t text, d date)")
    with conn.cursor(binary=binary) as cur:
        cur.executemany("insert into drv_many values (%s, %s, %s) returning id * 10",
                        [(i, f"row {i}", datetime.date(2024, 1, i)) for i in range(1, 6)], returning=True)
        got = []
        while True:
            got.append(cur.fetchone())
            if not cur.nextset():
                break
        out.append(norm(got))
    try:
        with conn.transaction():
            conn.execute("insert into drv_many values (99, 'rolled back', null)")
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    out.append(norm(conn.cursor(binary=binary).execute("select count(*), max(id) from drv_many").fetchall()))
    conn.execute("drop table drv_many")
    return out


def run_psycopg(ring, sslmode, binary):
    def fn(via):
        kw = {"sslmode": sslmode} if via == "gateway" else {}
        with psycopg.connect(ring.dsn(via, **kw), autocommit=True, connect_timeout=15) as conn:
            return (psycopg_script(conn, binary), psycopg_extras(conn, binary),
                    conn.cursor(binary=binary).execute(MASKED).fetchall())
    g, d = both(ring, fn)
    sanity(d[0])
    assert d[1][0] and len(d[1][0]) + len(d[1][1]) == 4 and d[1][3] == [[5, 5]]
    assert g[:2] == d[:2]
    check_masked(g[2], d[2])


def test_psycopg_text(ring, types_table, sslmode):
    run_psycopg(ring, sslmode, binary=False)


def test_psycopg_binary(ring, types_table, sslmode):
    run_psycopg(ring, sslmode, binary=True)


# --- asyncpg ------------------------------------------------------------------------

async def asyncpg_connect(ring, via, sslmode):
    import asyncpg
    if via == "gateway":
        return await asyncpg.connect(host="127.0.0.1", port=ring.listen_port, user=ring.gateway_user,
                                     password=ring.gateway_password, database="clinic", ssl=sslmode)
    return await asyncpg.connect(host="127.0.0.1", port=ring.pg_port, user="hoop_gateway",
                                 password=ring.pg_password, database="clinic", ssl="disable")


async def asyncpg_session(ring, via, sslmode):
    import asyncpg
    conn = await asyncpg_connect(ring, via, sslmode)
    try:
        script = []
        for sql, params in SCRIPT:
            try:
                if params is None and not sql.lstrip().startswith(("select", "insert", "update", "delete")):
                    script.append(("status", await conn.execute(sql)))
                else:
                    rows = await conn.fetch(placeholders(sql, "numeric") if params else sql, *(params or ()))
                    script.append(("rows", norm([tuple(r) for r in rows])))
            except asyncpg.PostgresError as e:
                if e.sqlstate == "0A000":
                    raise
                script.append(("error", e.sqlstate))
        extras = []
        extras.append(norm(tuple(await conn.fetchrow("select * from drv_types where id = $1", 1))))
        extras.append(await conn.fetchval("select count(*) from drv_types where a_i4 is not null"))
        # executemany and a named prepared statement reused across transactions
        await conn.execute("create temp table drv_many (id int, t text, tz timestamptz, a int[])")
        await conn.executemany("insert into drv_many values ($1, $2, $3, $4)",
                               [(i, f"row {i}", datetime.datetime(2024, 1, i, tzinfo=datetime.timezone.utc), [i, None])
                                for i in range(1, 6)])
        stmt = await conn.prepare("select id, t, tz, a from drv_many where id <= $1 order by id")
        for limit in (2, 4):
            async with conn.transaction():
                extras.append(norm([tuple(r) for r in await stmt.fetch(limit)]))
        try:
            async with conn.transaction():
                await conn.execute("insert into drv_many values (99, 'rolled back', null, null)")
                extras.append(norm(await stmt.fetchrow(100)))
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        extras.append(norm([tuple(r) for r in await stmt.fetch(100)]))
        async with conn.transaction(isolation="serializable", readonly=True):
            extras.append(await conn.fetchval("select current_setting('transaction_isolation')"))
        # a cursor (asyncpg declares it, fetches in batches) inside a transaction
        async with conn.transaction():
            extras.append([r["id"] async for r in conn.cursor("select id from drv_types order by id", prefetch=2)])
        await conn.execute("drop table drv_many")
        masked = [tuple(r) for r in await conn.fetch(MASKED)]
        return script, extras, masked
    finally:
        await conn.close()


def test_asyncpg(ring, types_table, sslmode):
    g, d = both(ring, lambda via: asyncio.run(asyncpg_session(ring, via, sslmode)))
    sanity(d[0])
    assert d[1][-1] == [1, 2, 3, 4] and d[1][-2] == "serializable"
    assert g[:2] == d[:2]
    check_masked(g[2], d[2])


# --- psycopg2 -----------------------------------------------------------------------

def test_psycopg2(ring, types_table, sslmode):
    import psycopg2
    import psycopg2.extras

    def fn(via):
        kw = {"sslmode": sslmode} if via == "gateway" else {}
        conn = psycopg2.connect(ring.dsn(via, **kw))
        try:
            conn.autocommit = True
            script = []
            for sql, params in SCRIPT:
                cur = conn.cursor()
                try:
                    cur.execute(placeholders(sql, "format") if params else sql, params)
                    script.append(("rows", norm(cur.fetchall())) if cur.description else ("status", cur.statusmessage))
                except psycopg2.Error as e:
                    script.append(("error", e.pgcode))
            conn.autocommit = False
            extras = []
            cur = conn.cursor("drv_named")          # a server-side cursor (DECLARE, FETCH)
            cur.itersize = 2
            cur.execute("select id, t, jb from drv_types order by id")
            extras.append(norm(cur.fetchmany(3)) + norm(cur.fetchall()))
            cur.close()
            conn.commit()
            cur = conn.cursor()
            cur.execute("create temp table drv_many (id int, t text, n numeric) on commit preserve rows")
            psycopg2.extras.execute_values(cur, "insert into drv_many values %s",
                                           [(i, f"row {i}", decimal.Decimal(i) / 4) for i in range(1, 6)])
            cur.executemany("update drv_many set t = t || %s where id = %s", [("!", 1), ("?", 2)])
            conn.commit()
            cur.execute("insert into drv_many values (99, 'rolled back', 0)")
            conn.rollback()
            cur.execute("select * from drv_many order by id")
            extras.append(norm(cur.fetchall()))
            conn.commit()
            cur.execute(MASKED)
            masked = cur.fetchall()
            conn.commit()
            return script, extras, masked
        finally:
            conn.close()
    g, d = both(ring, fn)
    sanity(d[0])
    assert len(d[1][0]) == 4 and d[1][1][0] == [1, "row 1!", decimal.Decimal("0.25")] and len(d[1][1]) == 5
    assert g[:2] == d[:2]
    check_masked(g[2], d[2])


# --- SQLAlchemy ---------------------------------------------------------------------

def sa_url(ring, via, sslmode):
    from sqlalchemy import URL
    if via == "gateway":
        return URL.create("postgresql+psycopg", username=ring.gateway_user, password=ring.gateway_password,
                          host="127.0.0.1", port=ring.listen_port, database="clinic",
                          query={"sslmode": sslmode, "application_name": "hoop-drivers-sqlalchemy"})
    return URL.create("postgresql+psycopg", username="hoop_gateway", password=ring.pg_password, host="127.0.0.1",
                      port=ring.pg_port, database="clinic", query={"sslmode": "disable"})


def test_sqlalchemy_core(ring, types_table, sslmode):
    def fn(via):
        engine = sa.create_engine(sa_url(ring, via, sslmode), pool_size=1)
        name = f"drv_sa_core_{via}"
        md = sa.MetaData()
        t = sa.Table(name, md,
                     sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("label", sa.String(40), nullable=False),
                     sa.Column("amount", sa.Numeric(10, 2)),
                     sa.Column("ratio", sa.Float),
                     sa.Column("flag", sa.Boolean),
                     sa.Column("made", sa.DateTime(timezone=True)),
                     sa.Column("day", sa.Date),
                     sa.Column("span", sa.Interval),
                     sa.Column("ref", sa.Uuid),
                     sa.Column("blob", sa.LargeBinary),
                     sa.Column("tags", pg.ARRAY(sa.String)),
                     sa.Column("data", pg.JSONB))
        out = []
        try:
            with engine.begin() as c:
                md.drop_all(c)
                md.create_all(c)
                rows = [dict(id=i, label=f"label {i}", amount=decimal.Decimal(i) / 3, ratio=i / 8, flag=i % 2 == 0,
                             made=datetime.datetime(2024, 3, i, 12, tzinfo=datetime.timezone.utc),
                             day=datetime.date(2024, 3, i), span=datetime.timedelta(hours=i),
                             ref=uuid.UUID(int=i), blob=bytes([i, 0, 255]), tags=["a", f"t{i}", None],
                             data={"i": i, "list": [i, None]}) for i in range(1, 8)]
                out.append([tuple(r) for r in c.execute(sa.insert(t).returning(t.c.id, t.c.amount), rows)])
            with engine.connect() as c:
                q = sa.select(t).where(t.c.id.in_([2, 3, 5]), t.c.data["i"].as_integer() > 1).order_by(t.c.id)
                out.append(norm([tuple(r) for r in c.execute(q)]))
                out.append(tuple(c.execute(sa.select(sa.func.count(), sa.func.sum(t.c.amount))
                                           .where(sa.literal("t3") == sa.any_(t.c.tags))).one()))
                c.commit()
                out.append(c.execute(sa.update(t).where(t.c.id == 1).values(label="changed")
                                     .returning(t.c.label)).scalar_one())
                c.commit()
                c.execute(sa.delete(t).where(t.c.id > 5))
                c.rollback()
                out.append(c.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                # reflection: the catalog queries SQLAlchemy runs
                reflected = sa.Table("drv_types", sa.MetaData(), autoload_with=c)
                out.append([(col.name, str(col.type)) for col in reflected.columns])
                out.append(norm([tuple(r) for r in c.execute(sa.select(reflected).order_by(reflected.c.id))]))
                out.append(sorted(sa.inspect(c).get_table_names()).count(name))
                masked = [tuple(r) for r in c.execute(sa.text(MASKED))]
            with engine.begin() as c:
                md.drop_all(c)
        finally:
            engine.dispose()
        return out, masked
    g, d = both(ring, fn)
    assert len(d[0][0]) == 7 and d[0][3] == "changed" and d[0][4] == 7 and len(d[0][6]) == 4
    assert g[0] == d[0]
    check_masked(g[1], d[1])


def test_sqlalchemy_orm(ring, types_table, sslmode):
    def fn(via):
        class Base(DeclarativeBase):
            pass

        class Shelf(Base):
            __tablename__ = f"drv_orm_shelf_{via}"
            id: Mapped[int] = mapped_column(primary_key=True)
            label: Mapped[str] = mapped_column(sa.String(40))
            made: Mapped[datetime.datetime] = mapped_column(sa.DateTime(timezone=True))
            data: Mapped[dict] = mapped_column(pg.JSONB)
            items: Mapped[list["Item"]] = relationship(back_populates="shelf", cascade="all, delete-orphan",
                                                       order_by="Item.id")

        class Item(Base):
            __tablename__ = f"drv_orm_item_{via}"
            id: Mapped[int] = mapped_column(primary_key=True)
            shelf_id: Mapped[int] = mapped_column(sa.ForeignKey(f"drv_orm_shelf_{via}.id"))
            code: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
            weight: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(8, 3))
            tags: Mapped[list[str]] = mapped_column(pg.ARRAY(sa.String))
            shelf: Mapped[Shelf] = relationship(back_populates="items")

        engine = sa.create_engine(sa_url(ring, via, sslmode), pool_size=1)
        out = []
        try:
            Base.metadata.drop_all(engine)
            Base.metadata.create_all(engine)
            with Session(engine) as s:
                for i in range(1, 4):
                    s.add(Shelf(label=f"shelf {i}", made=datetime.datetime(2024, 5, i, tzinfo=datetime.timezone.utc),
                                data={"n": i},
                                items=[Item(code=uuid.UUID(int=i * 10 + k), weight=decimal.Decimal(k) / 8,
                                            tags=[f"k{k}"]) for k in range(i)]))
                s.commit()
                shelves = s.scalars(sa.select(Shelf).options(selectinload(Shelf.items)).order_by(Shelf.id)).all()
                out.append([(x.id, x.label, x.made, x.data, [(it.code, it.weight, it.tags) for it in x.items])
                            for x in shelves])
                shelves[0].label = "renamed"
                s.delete(shelves[2])
                s.commit()
                shelves[1].label = "not kept"
                s.rollback()
                out.append(s.execute(sa.select(Shelf.label, sa.func.count(Item.id)).outerjoin(Shelf.items)
                                     .group_by(Shelf.id).order_by(Shelf.id)).all())
                out.append(s.scalar(sa.select(sa.func.count()).select_from(Item)))
                masked = [tuple(r) for r in s.execute(sa.text(MASKED))]
            Base.metadata.drop_all(engine)
        finally:
            engine.dispose()
        out[1] = [tuple(r) for r in out[1]]
        return out, masked
    g, d = both(ring, fn)
    assert d[0][1] == [("renamed", 1), ("shelf 2", 2)] and d[0][2] == 3
    assert g[0] == d[0]
    check_masked(g[1], d[1])


# --- Alembic ------------------------------------------------------------------------

ENV_PY = """
from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None,
                  version_table=context.config.get_main_option("version_table"))
with context.begin_transaction():
    context.run_migrations()
"""

MIGRATION_1 = """
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.create_table("{table}", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("label", sa.Text, nullable=False))


def downgrade():
    op.drop_table("{table}")
"""

MIGRATION_2 = """
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade():
    op.add_column("{table}", sa.Column("amount", sa.Numeric(10, 2), nullable=True))
    op.execute("insert into {table} (id, label, amount) values (1, 'first', 1.50)")


def downgrade():
    op.drop_column("{table}", "amount")
"""


def alembic_project(tmp: Path, table: str) -> Path:
    (tmp / "versions").mkdir(parents=True)
    (tmp / "env.py").write_text(ENV_PY)
    (tmp / "versions" / "0001_create.py").write_text(MIGRATION_1.format(table=table))
    (tmp / "versions" / "0002_add_column.py").write_text(MIGRATION_2.format(table=table))
    return tmp


def alembic_run(url, project: Path, version_table: str, *steps):
    """alembic upgrade/downgrade steps on one connection: ('upgrade', 'head'), ..."""
    from alembic import command
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(project))
    cfg.set_main_option("version_table", version_table)
    engine = sa.create_engine(url, pool_size=1)
    try:
        for step, target in steps:
            with engine.begin() as conn:
                cfg.attributes["connection"] = conn
                getattr(command, step)(cfg, target)
    finally:
        engine.dispose()


def schema_of(ring, table, version_table):
    with ring.connect("direct") as d:
        cols = d.execute("select column_name, data_type from information_schema.columns where table_name = %s "
                         "order by ordinal_position", (table,)).fetchall()
        version = d.execute(f"select version_num from {version_table}").fetchall() \
            if d.execute("select to_regclass(%s)", (version_table,)).fetchone()[0] else None
        rows = d.execute(f"select * from {table}").fetchall() if cols else None
    return cols, version, rows


def test_alembic_migration(ring, sslmode, tmp_path):
    def fn(via):
        suffix = f"{via}_{uuid.uuid4().hex[:6]}"
        table, version_table = f"drv_alembic_{suffix}", f"drv_alembic_version_{suffix}"
        project = alembic_project(tmp_path / via, table)
        url = sa_url(ring, via, sslmode)
        seen = []
        try:
            alembic_run(url, project, version_table, ("upgrade", "0001"))
            seen.append(schema_of(ring, table, version_table))
            alembic_run(url, project, version_table, ("upgrade", "head"))
            seen.append(schema_of(ring, table, version_table))
            alembic_run(url, project, version_table, ("downgrade", "0001"))
            seen.append(schema_of(ring, table, version_table))
            alembic_run(url, project, version_table, ("downgrade", "base"))
            seen.append(schema_of(ring, table, version_table))
        finally:
            with ring.connect("direct") as d:
                d.execute(f"drop table if exists {table}")
                d.execute(f"drop table if exists {version_table}")
        return seen
    g, d = both(ring, fn)
    assert d[1] == ([("id", "integer"), ("label", "text"), ("amount", "numeric")], [("0002",)],
                    [(1, "first", decimal.Decimal("1.50"))])
    assert d[3] == ([], [], None)
    assert g == d


# --- Alembic under the default approval rules ----------------------------------------

APPROVER = "bob@example.org"


# A ring with the embedded default configuration: DDL is held for an approver.
drivers_approve_ring = default_rules_ring("drivers-approve")


def test_alembic_ddl_is_held_until_granted(drivers_approve_ring, sslmode, tmp_path):
    ring = drivers_approve_ring
    suffix = uuid.uuid4().hex[:6]
    table, version_table = f"drv_held_{suffix}", f"drv_held_version_{suffix}"
    project = alembic_project(tmp_path, table)
    approver = {"HOOP_TOKEN": ring.token(APPROVER, "approvers")}
    outcome = {}

    def migrate():
        try:
            alembic_run(sa_url(ring, "gateway", sslmode), project, version_table, ("upgrade", "head"))
            outcome["ok"] = True
        except Exception as e:     # the outcome under test
            outcome["error"] = e
    t = threading.Thread(target=migrate, daemon=True)
    t.start()
    granted = []
    try:
        deadline = time.monotonic() + 120
        while t.is_alive() and time.monotonic() < deadline:
            r = ring.hoop("approve", "list", "--json", env=approver)
            assert r.returncode == 0, r.stderr
            for req in json.loads(r.stdout):
                if req["id"] in granted or (req.get("requester") or {}).get("user") != ring.gateway_user:
                    continue
                if not granted:      # the first hold: nothing of the migration ran
                    with ring.connect("direct") as d:
                        assert d.execute("select to_regclass(%s), to_regclass(%s)",
                                         (table, version_table)).fetchone() == (None, None)
                ok = ring.hoop("approve", "grant", req["id"], "--reason", "reviewed migration", env=approver)
                assert ok.returncode == 0, ok.stderr
                granted.append(req["id"])
            t.join(0.5)
    finally:
        t.join(1)
    assert not t.is_alive(), f"the migration did not finish (granted {granted})"
    assert outcome.get("ok"), outcome.get("error")
    # create the version table, create the table, add the column: each held, each granted;
    # and the version's update: a write pinned by the version table's key, which the
    # catalog cannot show while the migration's transaction that made it is open
    assert len(granted) == 4, granted
    cols, version, rows = schema_of(ring, table, version_table)
    assert cols == [("id", "integer"), ("label", "text"), ("amount", "numeric")]
    assert version == [("0002",)] and rows == [(1, "first", decimal.Decimal("1.50"))]
    with ring.audit() as db:
        holds = [json.loads(r[0]) for r in db.execute("select cast(frame as text) from frames where type = 'hold'")]
    held = [h for h in holds if h.get("request_id") in granted]
    assert len(held) == 4
    with ring.connect("direct") as d:
        d.execute(f"drop table if exists {table}")
        d.execute(f"drop table if exists {version_table}")
