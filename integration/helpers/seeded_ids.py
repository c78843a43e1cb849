"""Seeding identifiers into a table no column rule covers (created as hoop_admin, columns
with innocent names: id, label, body), reading them back through the gateway with plain
selects, JSON aggregation and string functions, and counting those that come back in
clear. Reports carry counts, shapes (`ddd dd dddd`) and sha256 prefixes, never values."""
from __future__ import annotations

import hashlib
import re
import unicodedata

# Each read-back: (label, SQL with {t} for the table); every cell of every row is
# stringified and joined, so one identifier is checked against all of a row's text.
READS = (
    ("select *", "select id, label, body from {t} order by id"),
    ("json_agg", "select json_agg(x)::text from (select id, label, body from {t} order by id) x"),
    ("row_to_json", "select row_to_json(x)::text from {t} x order by id"),
    ("upper()", "select id, upper(label), upper(body) from {t} order by id"),
    ("concat_ws", "select id, concat_ws(' | ', label, body) from {t} order by id"),
)


def shape(v: str) -> str:
    def one(c):
        if c.isdigit():
            return "d"
        if c.isupper():
            return "A"
        if unicodedata.category(c)[0] in "LM":
            return "a"
        return c if ord(c) < 128 else "?"
    return "".join(one(c) for c in v)


def h(v: str) -> str:
    return hashlib.sha256(v.encode()).hexdigest()[:10]


def norm(s: str) -> str:
    """Letters and digits only, case-folded (NFC): `1EG4 TE5 MK73` == `1eg4-te5-mk73`."""
    return "".join(c for c in unicodedata.normalize("NFC", s).casefold() if c.isalnum())


def make_table(admin, name: str, rows: list[tuple[str, str]]) -> None:
    """(label, body) rows into a fresh table `name` readable by the gateway's role."""
    with admin.cursor() as c:
        c.execute(f"drop table if exists {name}")
        c.execute(f"create table {name} (id integer primary key, label text, body text)")
        c.executemany(f"insert into {name} values (%s, %s, %s)", [(i + 1, a, b) for i, (a, b) in enumerate(rows)])
        c.execute(f"grant select on {name} to hoop_gateway")


def read_rows(conn, sql: str) -> list[str]:
    with conn.cursor() as c:
        c.execute(sql)
        return [" \x1f ".join("" if v is None else str(v) for v in r) for r in c.fetchall()]


def count_leaks(texts: list[str], secrets: list[str], core=norm) -> list[str]:
    """The secrets whose normalised core appears in the normalised output."""
    blob = "\x00".join(core(t) for t in texts)
    return [s for s in secrets if core(s) and core(s) in blob]


def report(kind: str, leaked: dict[str, list[str]], total: int) -> str:
    lines = []
    for how, vals in leaked.items():
        if vals:
            shapes = sorted({shape(v) for v in vals})[:4]
            lines.append(f"  {kind} via {how}: {len(vals)}/{total} in clear; shapes {shapes}; "
                         f"sha256 {[h(v) for v in vals[:3]]}")
    return "\n".join(lines)


def probe(ring, admin, table: str, rows: list[tuple[str, str]], secrets: list[str], kind: str,
          reads=READS, core=norm) -> tuple[dict[str, list[str]], str]:
    """Seed, check the direct read really holds the secrets, read back through the
    gateway in every way; returns {read: leaked secrets} and a printable report."""
    make_table(admin, table, rows)
    direct = ring.connect("direct")
    try:
        seen = count_leaks(read_rows(direct, READS[0][1].format(t=table)), secrets, core)
        if len(seen) != len(secrets):
            import pytest
            pytest.fail(f"seeding failed: {len(seen)}/{len(secrets)} visible directly", pytrace=False)
    finally:
        direct.close()
    gw = ring.connect("gateway")
    leaked: dict[str, list[str]] = {}
    try:
        for label, sql in reads:
            leaked[label] = count_leaks(read_rows(gw, sql.format(t=table)), secrets, core)
    finally:
        gw.close()
    return leaked, report(kind, leaked, len(secrets))
