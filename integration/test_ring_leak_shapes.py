"""Regression probes for issue 14: shapes that carry a ruled value without naming it.

One or more probes per family that scripts/mask-fuzz found leaking before the fix
(pieces under partial and hash, sizes and character codes, predicates, codebooks,
errors, server state, shadowed built-ins). Each runs directly (as hoop_gateway) and
through the gateway in both protocols (psycopg: extended; psql: simple), in a ring of
its own (a value parked in server state stays parked for the stage's life).

The direct run is the ground truth: it must return the value (or an error that prints
it), so a probe that carries nothing cannot pass. Through the gateway the value must
not come back in any form the direct run shows it in; an error keeps its SQLSTATE.
Failure messages name the probe, never the value.
"""

from __future__ import annotations

import hashlib
import re

import psycopg
import pytest

from helpers.agent_wire import agent_wire
from helpers.pgwire import Bind, Execute, Parse, Query, Sync

P = 7   # a patient of the seeded demo database
SSN_DIGITS = "replace(p.ssn, '-', '')"
LETTERS = "translate(p.ssn, '0123456789-', 'ABCDEFGHIJX')"

# (name, statements before, probe): the probe's first column carries the value.
ROWS = [
    ("piece under partial", [], f"select substr(p.ssn, 1, 5) from patients p where p.id = {P}"),
    ("piece of a piece under partial", [], f"select right(left(p.ssn, 6), 2) from patients p where p.id = {P}"),
    ("reversed under partial", [], f"select reverse(p.ssn) from patients p where p.id = {P}"),
    ("codebook: hash of one character", [], f"select upper(substr(p.last_name, 2, 1)) from patients p where p.id = {P}"),
    ("codebook: md5 of a piece", [], f"select md5(left(p.first_name, 1)) from patients p where p.id = {P}"),
    ("character code", [], f"select ascii(substr(p.last_name, 1, 1)) from patients p where p.id = {P}"),
    ("count over a series as large as a value", [],
     f"select (select count(*) from generate_series(1, substr({SSN_DIGITS}, 1, 4)::int)) from patients p where p.id = {P}"),
    ("sum of constants over a series", [],
     f"select (select sum(1) from generate_series(1, substr({SSN_DIGITS}, 2, 4)::int)) from patients p where p.id = {P}"),
    ("join on a value", [],
     f"select g from patients p join generate_series(0, 99999) g on g = substr({SSN_DIGITS}, 1, 5)::int where p.id = {P}"),
    ("correlated sub-select", [],
     f"select g from generate_series(0, 99999) g where exists (select 1 from patients p where p.id = {P} "
     f"and substr({SSN_DIGITS}, 3, 5)::int = g)"),
    ("order by and limit", [],
     f"select g from generate_series(0, 9999) g order by abs(g - (select substr({SSN_DIGITS}, 1, 4)::int "
     f"from patients p where p.id = {P})) limit 1"),
    ("rank in a derived table", [],
     f"select s.g from (select g, rank() over (order by abs(g - (select substr({SSN_DIGITS}, 5, 4)::int "
     f"from patients p where p.id = {P}))) r from generate_series(0, 9999) g) s where s.r = 1"),
    # The value as letters (no detector reads them): only lineage can mask these.
    ("on conflict do update returning", ["create temp table probe_t (id int primary key, note text)",
                                         "insert into probe_t values (1, 'x')"],
     f"insert into probe_t values (1, 'x') on conflict (id) do update set note = (select {LETTERS} "
     f"from patients p where p.id = {P}) returning note"),
    ("on conflict do update, then read", ["create temp table probe_u (id int primary key, note text)",
                                          "insert into probe_u values (1, 'x')",
                                          f"insert into probe_u values (1, 'x') on conflict (id) do update set note = "
                                          f"(select {LETTERS} from patients p where p.id = {P})"],
     "select note from probe_u"),
    ("named window's order", [],
     f"select string_agg(chr(c), '' order by i) from (select distinct i, first_value(g) over w as c "
     f"from generate_series(1, 11) i, generate_series(65, 90) g window w as (partition by i order by "
     f"abs(g - ascii(substr((select {LETTERS} from patients p where p.id = {P}), i, 1))))) s"),
    ("order of a derived table read by distinct on", [],
     f"select string_agg(chr(g), '' order by i) from (select distinct on (i) i, g from (select i, g "
     f"from generate_series(1, 11) i, generate_series(65, 90) g order by i, "
     f"abs(g - ascii(substr((select {LETTERS} from patients p where p.id = {P}), i, 1)))) x) y"),
    ("order by position and by name", [],
     f"select string_agg(chr(g), '' order by i) from (select distinct on (i) i, g from (select i, g, "
     f"abs(g - ascii(substr((select {LETTERS} from patients p where p.id = {P}), i, 1))) as k "
     f"from generate_series(1, 11) i, generate_series(65, 90) g order by 1, k) x) y"),
    ("setting parked then shown",
     [f"select count(set_config('application_name', encode(convert_to(p.last_name, 'UTF8'), 'hex'), false)) "
      f"from patients p where p.id = {P}"], "show application_name"),
    ("custom setting parked then read",
     [f"select set_config('probe.v', {SSN_DIGITS}, false) is null from patients p where p.id = {P}"],
     "select current_setting('probe.v')"),
    ("setting in pg_settings",
     [f"select count(set_config('work_mem', (substr({SSN_DIGITS}, 1, 5)::int + 64)::text, false)) from patients p where p.id = {P}"],
     "select setting from pg_settings where name = 'work_mem'"),
    ("sequence parked by setval, read by nextval",
     ["create temp sequence probe_sq", f"select setval('probe_sq', {SSN_DIGITS}::bigint, false) is null from patients p where p.id = {P}"],
     "select nextval('probe_sq')"),
    ("serial column's default, returned",
     ["create temp table probe_serial (id bigserial, v text)",
      f"select setval(pg_get_serial_sequence('probe_serial', 'id'), {SSN_DIGITS}::bigint, false) is null from patients p where p.id = {P}"],
     "insert into probe_serial (v) values ('x') returning id"),
    # A row a condition picks by a piece is a function of that piece in every column (hunt s41).
    ("lookup row picked by a piece", [],
     f"select x.v from patients p cross join generate_series(1, 11) i join (select repeat(chr(65 + g), 3) v, g::text k "
     f"from generate_series(0, 9) g) x on x.k = substr(p.ssn, i, 1) where p.id = {P} order by i"),
    ("a table's row picked by a piece", [],
     f"select t.typname::text from patients p cross join generate_series(1, 11) i "
     f"join pg_type t on t.oid = ascii(substr(p.ssn, i, 1)) - 32 where p.id = {P} order by i"),
    ("lookup row picked by a piece, USING", [],
     f"select x.v from (select i, substr(p.ssn, i, 1) k from patients p, generate_series(1, 11) i where p.id = {P}) p "
     f"join (select repeat(chr(65 + g), 3) v, g::text k from generate_series(0, 9) g) x using (k) order by p.i"),
    # A plain DISTINCT sorts by every item where it cannot hash (`bit`): the rows come in
    # the order of the piece (hunt s41).
    ("plain distinct's sort order", [],
     f"select lpad(s.i::text, 3, '0') from (select distinct substr(p.ssn, i, 1) d, i, B'1' b from patients p, "
     f"generate_series(1, 11) i where p.id = {P}) s"),
    # Hunt s41b and the review of s41: rows a piece orders or repeats, attribute notation,
    # a constant a comparison chose, OFFSET, a UNION's sort, RETURNING of a lookup row.
    ("order made by a lookup a piece picked", [],
     f"select p.id from patients p join (values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) g(g) on g = substr(p.ssn, 5, 1)::int where p.id between 1 and 30 order by g, p.id"),
    ("rows repeated as often as a piece says", [],
     f"select p.id from patients p join (values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) g(g) on g <= substr(p.ssn, 5, 1)::int where p.id = {P}"),
    ("attribute notation over a derived table", [],
     f"select s.to_json from (select id i, translate(ssn, '0123456789', 'abcdefghij') a from patients p where p.id = {P}) s"),
    ("attribute notation over a table", [], f"select p.quote_literal from patients p where p.id = {P}"),
    ("a constant a comparison chose", [], f"select greatest(p.ssn, '000') from patients p where p.id = {P}"),
    ("offset computed from a value", [],
     f"select g from generate_series(100, 109) g offset (select substr(p.ssn, 5, 1)::int from patients p where p.id = {P}) limit 1"),
    ("a union's sort by a piece", [],
     f"select x.id from (select substr(p.ssn, 5, 1) d, p.id, B'1' b from patients p where p.id between 1 and 30 "
     f"union select '0', -1, B'0') x"),
    ("returning of a lookup row a piece picked", [],
     f"update encounters e set note = e.note from patients p, (values (0, 'zero'), (1, 'one'), (2, 'two'), (3, 'three'), (4, 'four'), (5, 'five'), (6, 'six'), (7, 'seven'), (8, 'eight'), (9, 'nine')) d(k, v) where e.id = 1 and p.id = {P} "
     f"and d.k = substr(p.ssn, 5, 1)::int returning d.v"),
    ("advisory lock key",
     [f"select count(pg_advisory_lock(substr({SSN_DIGITS}, 1, 8)::bigint)) from patients p where p.id = {P}"],
     "select objid from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()"),
]

# (name, probe): the error (or notice) the probe raises directly prints the value.
ERRORS = [
    ("number in a range error", f"select chr({SSN_DIGITS}::int) from patients p where p.id = {P}"),
    ("date out of range in WHERE",
     f"select p.id from patients p where p.id = {P} and make_date(2000, substr({SSN_DIGITS}, 1, 4)::int, 1) is null"),
    ("index in ORDER BY", f"select p.id from patients p where p.id = {P} order by get_byte('\\x00'::bytea, substr({SSN_DIGITS}, 2, 5)::int)"),
    ("XML detail", f"select xmlparse(document lower(p.last_name)) from patients p where p.id = {P}"),
    ("relation named from data", f"select lower(p.last_name)::regclass from patients p where p.id = {P}"),
    ("EXPLAIN ANALYZE", f"explain analyze select chr({SSN_DIGITS}::int) from patients p where p.id = {P}"),
]

# (name, probe, the value it prints): errors that print the value unquoted, as a name.
NAMED_ERRORS = [
    # Dynamic SQL made of a value: "function <value>() does not exist", "column p.<value> ...".
    ("function named from data in dynamic SQL",
     f"select query_to_xml('select ' || lower(p.first_name) || '_' || lower(p.last_name) || '()', true, false, '') "
     f"from patients p where p.id = {P}", "lower(p.first_name) || '_' || lower(p.last_name)"),
    ("column named from data in dynamic SQL",
     f"select query_to_xml('select p.' || lower(p.last_name) || ' from patients p', true, false, '') from patients p where p.id = {P}",
     "lower(p.last_name)"),
    ("text search query made of data",
     f"select ts_stat('select ' || translate(p.ssn, '0123456789-', 'abcdefghijx') || '()') from patients p where p.id = {P}",
     "translate(p.ssn, '0123456789-', 'abcdefghijx')"),
    ("ASSERT's message",
     f"do $$declare v text; begin select lower(p.last_name) into v from patients p where p.id = {P}; assert false, v; end$$",
     "lower(p.last_name)"),
]


def test_a_sequence_set_through_a_view_is_masked_in_every_session(shapes_ring):
    # First in the module: nothing of patients is parked yet. What a session parks in a
    # sequence counts for every session, resolved to the columns under a view it read:
    # the others never learnt the view (their read of the sequence gave the SSN's digits).
    with shapes_ring.connect("direct") as d:
        d.execute("create view public.shapes_card as select id, ssn from patients")
        d.execute("create sequence public.shapes_seq")
        value = d.execute(f"select {SSN_DIGITS} from patients p where p.id = {P}").fetchone()[0]
    park = f"select setval('public.shapes_seq', replace(ssn, '-', '')::bigint) is null from public.shapes_card where id = {P}"
    try:
        with shapes_ring.connect("gateway") as a:
            a.execute(park).fetchall()
            mine = str(a.execute("select last_value from public.shapes_seq").fetchone()[0])
        with shapes_ring.connect("gateway") as b:
            other = str(b.execute("select last_value from public.shapes_seq").fetchone()[0])
        leaked = value in mine or value in other
        assert not leaked, f"the sequence gave the value back, sha256 {h(value)}"
    finally:
        with shapes_ring.connect("direct") as d:
            d.execute("drop view public.shapes_card")
            d.execute("drop sequence public.shapes_seq")


@pytest.mark.parametrize("name,probe,value_sql", NAMED_ERRORS, ids=[e[0] for e in NAMED_ERRORS])
def test_an_error_naming_a_value_unquoted_does_not_give_it(shapes_ring, name, probe, value_sql):
    with shapes_ring.connect("direct") as d:
        value = rows_of(d, [], f"select {value_sql} from patients p where p.id = {P}")[0][0]
        code, text = error_of(d, probe)
    assert code and value in text, f"{name}: the direct error does not print the value (not a probe)"
    with shapes_ring.connect("gateway") as g:
        gcode, gtext = error_of(g, probe)
    assert gcode == code, f"{name}: SQLSTATE {gcode} through the gateway, {code} directly"
    assert value not in gtext, f"{name}: the value came back: sha256 {h(value)}"


def h(v) -> str:
    return hashlib.sha256(str(v).encode()).hexdigest()[:10]


def rows_of(conn, pre: list[str], sql: str):
    for s in pre:
        conn.execute(s)
    return [tuple(str(v) for v in r) for r in conn.execute(sql).fetchall()]


def error_of(conn, sql: str) -> tuple[str, str]:
    try:
        conn.execute(sql).fetchall()
    except psycopg.Error as e:
        d = e.diag
        return e.sqlstate or "", " ".join(str(x) for x in (d.message_primary, d.message_detail, d.message_hint, d.context) if x)
    return "", ""


@pytest.fixture(scope="module")
def shapes_ring(module_ring):
    return module_ring


@pytest.mark.parametrize("name,pre,probe", ROWS, ids=[r[0] for r in ROWS])
def test_value_does_not_come_back(shapes_ring, name, pre, probe):
    with shapes_ring.connect("direct") as d:
        want = rows_of(d, pre, probe)
    assert want and want[0][0] not in ("", "None"), f"{name}: the direct run returned nothing (not a probe)"
    value = want[0][0]
    with shapes_ring.connect("gateway") as g:
        got = rows_of(g, pre, probe)
    assert len(got) == len(want), f"{name}: {len(got)} rows through the gateway, {len(want)} directly"
    assert not found(value, [c for r in got for c in r]), f"{name}: the value came back (extended) sha256 {h(value)}"
    # A piece, a size or a parked value is redacted: a hash token is a codebook's entry,
    # a partial form shows other characters of the value.
    shown = [r[0] for r in got if r[0] not in ("None", "")]
    assert shown and not any(c.startswith("tok_") or "*" in c for c in shown), f"{name}: not redacted ({len(shown)} values)"
    script = "".join(s + ";\n" for s in pre + [probe])
    out = shapes_ring.psql("gateway", input=script)
    assert not found(value, (out.stdout + out.stderr).splitlines()), f"{name}: the value came back (simple) sha256 {h(value)}"


def found(value: str, cells: list[str]) -> bool:
    """The value as a whole cell, or (3 characters or more) inside one, markers aside."""
    cells = [c.replace("[REDACTED]", " ") for c in cells]
    return any(c.strip() == value or (len(value) >= 3 and value in c) for c in cells)


@pytest.mark.parametrize("name,probe", ERRORS, ids=[e[0] for e in ERRORS])
def test_error_keeps_its_code_not_the_value(shapes_ring, name, probe):
    with shapes_ring.connect("direct") as d:
        code, text = error_of(d, probe)
    assert code, f"{name}: no error directly (not a probe)"
    with shapes_ring.connect("direct") as d:
        value = rows_of(d, [], probe.replace("chr(", "(").replace("xmlparse(document ", "(").replace("::regclass", "")
                        .replace("explain analyze ", "")) if "make_date" not in probe and "get_byte" not in probe else None
    with shapes_ring.connect("gateway") as g:
        gcode, gtext = error_of(g, probe)
    assert gcode == code, f"{name}: SQLSTATE {gcode} through the gateway, {code} directly"
    assert gtext, f"{name}: no message through the gateway"
    # Every run of 3+ digits and every word of 4+ letters the direct error has and the
    # statement does not: the data it printed. None may come back.
    import re
    printed = {w for w in re.findall(r"[0-9]{3,}|[A-Za-z]{4,}", text) if w.lower() not in probe.lower()}
    if value:
        printed |= {value[0][0]} if value[0][0] in text else set()
    assert printed, f"{name}: the direct error prints no data (not a probe)"
    leaked = [w for w in printed if w in gtext and w not in ("REDACTED",)]
    # The message's own words are in both: only what the statement's data made counts.
    with shapes_ring.connect("direct") as d:
        _, other = error_of(d, probe.replace(f"p.id = {P}", f"p.id = {P + 1}"))
    leaked = [w for w in leaked if w not in other]
    assert not leaked, f"{name}: {len(leaked)} data word(s) came back: sha256 {[h(w) for w in leaked]}"


def test_a_function_named_like_a_built_in_is_not_trusted(shapes_ring):
    """public.upper(int) wins over pg_catalog.upper(text) for an integer argument,
    whatever the search_path: hoop-connect's catalog facts name it, and the lineage
    treats the call as the database's own code."""
    with shapes_ring.connect("direct") as d:
        d.execute("create or replace function public.upper(int) returns bigint language sql stable as "
                  "$$ select replace(ssn, '-', '')::bigint from public.patients where id = $1 $$")
    try:
        with shapes_ring.connect("direct") as d:
            want = rows_of(d, [], f"select upper(p.id) from patients p where p.id = {P}")
        assert want[0][0].isdigit() and len(want[0][0]) >= 8
        with shapes_ring.connect("gateway") as g:   # a new session: fresh catalog facts
            got = rows_of(g, [], f"select upper(p.id) from patients p where p.id = {P}")
        assert want[0][0] not in str(got), f"shadowed upper: the value came back sha256 {h(want[0][0])}"
        out = shapes_ring.psql("gateway", "-c", f"select upper(p.id) + 0 from patients p where p.id = {P}")
        assert want[0][0] not in out.stdout
    finally:
        with shapes_ring.connect("direct") as d:
            d.execute("drop function if exists public.upper(int)")


def test_a_cast_the_database_defined_is_not_trusted(shapes_ring):
    """A cast WITH FUNCTION runs that function and names none: `x::a_type::text` over a
    type of the database's own looked like a cast of constants. hoop-connect's catalog
    facts name the types of the database's own casts; a cast to one is untraced code."""
    with shapes_ring.connect("direct") as d:
        d.execute("create type public.shapes_ref as (kind text, id int)")
        d.execute("create function public.shapes_ref_text(public.shapes_ref) returns text language sql stable as "
                  f"$$ select {LETTERS} from public.patients p where p.id = ($1).id $$")
        d.execute("create cast (public.shapes_ref as text) with function public.shapes_ref_text(public.shapes_ref)")
    try:
        probe = f"select row('patient', {P})::public.shapes_ref::text"
        with shapes_ring.connect("direct") as d:
            value = d.execute(f"select {LETTERS} from patients p where p.id = {P}").fetchone()[0]
            shown = d.execute(probe).fetchone()[0] == value
        assert shown, "not a probe"
        with shapes_ring.connect("gateway") as g:   # a new session: fresh catalog facts
            got = str(g.execute(probe).fetchone()[0])
            plain = g.execute("select 42::text, 'a'::varchar").fetchone()   # built-in casts stay traced
        leaked = value in got
        assert not leaked, f"the cast's function gave the value: sha256 {h(value)}"
        assert plain == ("42", "a")
    finally:
        with shapes_ring.connect("direct") as d:
            d.execute("drop type public.shapes_ref cascade")


def test_whole_values_keep_their_strategy(shapes_ring):
    """Not over-masking: a whole ruled value keeps its rule (partial shows the last
    four), a condition on a column with constants adds nothing, and a plain table
    column next to a PHI condition stays readable."""
    with shapes_ring.connect("gateway") as g:
        ssn = g.execute(f"select ssn from patients where id = {P} and ssn like '%-%'").fetchone()[0]
        assert ssn.startswith("***") and ssn[-4:].isdigit()
        ident = g.execute(f"select p.id from patients p where p.ssn like '%' and p.id = {P}").fetchone()[0]
        assert ident == P


def test_a_setting_parked_in_the_time_zone_is_not_reported(shapes_ring):
    # The server reports TimeZone to the client (ParameterStatus) after set_config: a
    # bracketed POSIX zone name holds letters and digits of a ruled value.
    probe = (f"select set_config('TimeZone', '<' || {SSN_DIGITS} || 'x>5', false) is null "
             f"from patients p where p.id = {P}")
    with shapes_ring.connect("direct") as d:
        d.execute(probe).fetchall()
        value = d.info.parameter_status("TimeZone")
    assert value and value.startswith("<"), "the direct run reported no such zone (not a probe)"
    with shapes_ring.connect("gateway") as g:
        g.execute(probe).fetchall()
        got = g.info.parameter_status("TimeZone") or ""
    leaked = value in got or value[1:-3] in got
    assert not leaked, f"the zone came back: sha256 {h(value)}"



ZONE = f"translate(substr({SSN_DIGITS}, 1, 6), '0123456789', 'abcdefghij')"
# (name, the statement that parks a ruled value in a setting, a probe that shows the
# setting without naming it, SQL for what the probe shows of the value; None: its whole
# output, which then must not come back as it is).
SETTING_ECHOES = [
    ("random() after setseed", f"select setseed(substr({SSN_DIGITS}, 1, 4)::int / 10000.0) from patients p where p.id = {P}",
     "select random()::text", None),
    ("a plan's cost", f"select set_config('cpu_tuple_cost', {SSN_DIGITS}, false) from patients p where p.id = {P}",
     "explain select 1", f"select {SSN_DIGITS} from patients p where p.id = {P}"),
    ("explain's settings", f"select set_config('from_collapse_limit', substr({SSN_DIGITS}, 1, 6), false) "
     f"from patients p where p.id = {P}", "explain (settings) select 1",
     f"select substr({SSN_DIGITS}, 1, 6)::int::text from patients p where p.id = {P}"),
    ("a time zone's name", f"select set_config('TimeZone', '<' || {ZONE} || '>5', false) from patients p where p.id = {P}",
     "select to_char(now(), 'TZ')", f"select upper({ZONE}) from patients p where p.id = {P}"),
    ("timeofday", f"select set_config('TimeZone', '<' || {ZONE} || '>5', false) from patients p where p.id = {P}",
     "select timeofday()", f"select upper({ZONE}) from patients p where p.id = {P}"),
]


@pytest.mark.parametrize("name,park,probe,needle", SETTING_ECHOES, ids=[e[0] for e in SETTING_ECHOES])
def test_a_ruled_value_parked_in_a_setting_does_not_come_back_through_what_shows_it(shapes_ring, name, park, probe, needle):
    # SHOW and current_setting were masked; the server shows a setting in more ways than
    # a lineage names (a plan's costs, a zone's name, the seeded random numbers): once the
    # session parked a ruled value in a setting, what it computes carries the value's rule.
    def shown(conn):
        conn.execute(park).fetchall()
        return " ".join(str(v) for r in conn.execute(probe).fetchall() for v in r)
    with shapes_ring.connect("direct") as d:
        value = d.execute(needle).fetchone()[0] if needle else shown(d)
        direct = shown(d) if needle else value
    shows = bool(value) and value in direct
    assert shows, f"{name}: the direct run does not show the value (not a probe)"
    with shapes_ring.connect("gateway") as g:
        got = shown(g)
    leaked = value in got
    assert not leaked, f"{name}: the value came back, sha256 {h(value)}"


def test_a_setting_set_by_a_views_code_or_an_update_of_pg_settings_is_parked(shapes_ring):
    # Neither statement names set_config: a view's column calls it whenever the view is
    # read (`select count(*)` from it), and pg_settings' rule calls it on UPDATE.
    with shapes_ring.connect("direct") as d:
        d.execute(f"create view public.shapes_setter as select set_config('shapes.v', {LETTERS}, false) as x "
                  f"from patients p where p.id = {P}")
        letters = d.execute(f"select {LETTERS} from patients p where p.id = {P}").fetchone()[0]
        digits = d.execute(f"select {SSN_DIGITS} from patients p where p.id = {P}").fetchone()[0]
    cases = [(["select count(*) from public.shapes_setter"], "select current_setting('shapes.v')", letters),
             ([f"update pg_settings set setting = (select {SSN_DIGITS} from patients p where p.id = {P}) "
               "where name = 'lock_timeout'"], "show lock_timeout", digits)]
    try:
        for stmts, read, value in cases:
            for via in ("direct", "gateway"):
                with shapes_ring.connect(via) as c:
                    for sql in stmts:
                        c.execute(sql)
                    got = " ".join(str(v) for r in c.execute(read).fetchall() for v in r)
                shown = value in got
                assert shown == (via == "direct"), f"{read} through {via}: the value {'not ' if via == 'direct' else ''}shown"
    finally:
        with shapes_ring.connect("direct") as d:
            d.execute("drop view public.shapes_setter")


def diag_of(conn, sql: str, notices: list | None = None):
    try:
        conn.execute(sql).fetchall()
    except psycopg.Error as e:
        return e
    return None


def test_a_place_in_a_text_made_of_data_is_not_given(shapes_ring):
    # internal_position: a number the made text's length chose (the SSN's first digits).
    sql = (f"select query_to_xml(lpad(')', substr({SSN_DIGITS}, 1, 5)::int), true, false, '') "
           f"from patients p where p.id = {P}")
    with shapes_ring.connect("direct") as d:
        value = rows_of(d, [], f"select substr({SSN_DIGITS}, 1, 5)::int from patients p where p.id = {P}")[0][0]
        assert diag_of(d, sql).diag.internal_position == value, "not a probe"
    with shapes_ring.connect("gateway") as g:
        e = diag_of(g, sql)
    assert e is not None and e.sqlstate == "42601"
    assert e.diag.internal_position != value, f"internal_position is the value: sha256 {h(value)}"


RAISES = ["create function pg_temp.probe_notices(t text) returns int language plpgsql as $$begin "
          "for i in 0..(length(t) / 5) loop raise notice 'n' using errcode = rpad(substr(t, i * 5 + 1, 5), 5, 'X'); end loop; "
          "return 1; end$$",
          "create function pg_temp.probe_raise(t text) returns int language plpgsql as $$begin "
          "raise exception 'x' using errcode = substr(t, 1, 5), column = t, table = t, constraint = t, datatype = t, schema = t; "
          "end$$"]


def test_what_a_raise_is_given_does_not_come_back_in_any_field(shapes_ring):
    # The SQLSTATE RAISE is given (notices and errors) and its object-name fields.
    probe = f"select pg_temp.probe_raise(upper(p.last_name) || {LETTERS}) from patients p where p.id = {P}"
    seen = {}
    for via in ("direct", "gateway"):
        with shapes_ring.connect(via) as c:
            codes: list = []
            c.add_notice_handler(lambda n: codes.append(n.sqlstate or ""))
            for f in RAISES:
                c.execute(f)
            c.execute(probe.replace("probe_raise", "probe_notices")).fetchall()
            e = diag_of(c, probe)
            assert e is not None, "not a probe"
            d = e.diag
            seen[via] = ("".join(codes).upper(), e.sqlstate or "",
                         [d.column_name, d.table_name, d.constraint_name, d.datatype_name, d.schema_name])
    value = rows_of(shapes_ring.connect("direct"), [], f"select upper(p.last_name) || {LETTERS} from patients p where p.id = {P}")[0][0]
    probe_ok = seen["direct"][0].startswith(value[:10].upper()) and value in seen["direct"][2]
    assert probe_ok and seen["direct"][1].upper() == value[:5].upper(), "not a probe"
    codes, code, fields = seen["gateway"]
    assert value[:10].upper() not in codes, f"the notices' SQLSTATEs spell the value: sha256 {h(value)}"
    assert code.upper() != value[:5].upper() and code == "P0001"
    assert not any(f and (value in f or value[:5] in f) for f in fields), f"an object-name field carries the value: sha256 {h(value)}"


def test_explain_does_not_show_a_function_folded_to_its_value(shapes_ring):
    fn = ("create function pg_temp.probe_k() returns text immutable language sql as "
          f"$$ select translate(ssn, '0123456789-', 'ABCDEFGHIJX') from public.patients where id = {P} $$")
    plan = "explain (verbose, costs off) select pg_temp.probe_k()"
    with shapes_ring.connect("direct") as d:
        value = rows_of(d, [], f"select {LETTERS} from patients p where p.id = {P}")[0][0]
        assert any(value in r[0] for r in rows_of(d, [fn], plan)), "not a probe"
    with shapes_ring.connect("gateway") as g:
        rows = rows_of(g, [fn], plan)
    assert rows and not any(value in r[0] for r in rows), f"EXPLAIN printed the function's value: sha256 {h(value)}"


def test_a_definition_code_wrote_a_value_into_is_not_given_by_oid(shapes_ring):
    # Code (a DO block) writes a value into a function's body; its definition read back by
    # OID (no reg* cast names the catalog) is catalog state that took it. Last in the
    # module: the value stays parked for the stage's life.
    value = rows_of(shapes_ring.connect("direct"), [], f"select {LETTERS} from patients p where p.id = {P}")[0][0]
    try:
        with shapes_ring.connect("gateway") as a:
            a.execute(f"do $$declare v text; begin select {LETTERS} into v from patients p where p.id = {P}; "
                      "execute format('create function public.probe_def() returns text language sql as %L', "
                      "'select ' || quote_literal(v)); end$$")
        probe = ("select string_agg(pg_get_functiondef(f.oid), '') from pg_proc f where f.proname = 'probe_def'")
        with shapes_ring.connect("direct") as d:
            shown = value in (d.execute(probe).fetchone()[0] or "")
            assert shown, "not a probe"
        with shapes_ring.connect("gateway") as b:
            got = b.execute(probe).fetchone()[0] or ""
        leaked = value in got
        assert not leaked, f"pg_get_functiondef(oid) gave the value: sha256 {h(value)}"
    finally:
        with shapes_ring.connect("direct") as d:
            d.execute("drop function if exists public.probe_def()")


@pytest.mark.parametrize("form", ["union", "derived"])
def test_marker_rows_sorted_among_patients_calibrate_nothing(ring, form):
    """(Open approval: the default rules hold this read.) Constant rows sorted with the patients' by the SSN itself put each patient between
    two markers: its first three digits (the review's). A set operation's sort key, or a
    derived table's column, carries a piece of what it sorts by."""
    ids = "p.id between 1 and 100"
    markers = "select -g, lpad(g::text, 3, '0') from generate_series(0, 999) g"
    inner = f"(select p.id, p.ssn from patients p where {ids}) union all ({markers})"
    sql = (f"{inner} order by 2, 1" if form == "union"
           else f"select u.id from ({inner}) u(id, s) order by u.s, u.id")
    got = [r[0] for r in ring.connect("gateway").execute(sql).fetchall()]
    real = dict(ring.connect("direct").execute(f"select p.id, substr(p.ssn, 1, 3) from patients p where {ids}").fetchall())
    decoded, marker = 0, None
    for v in got:
        if isinstance(v, int) and v <= 0:
            marker = f"{-v:03d}"
        elif isinstance(v, int) and v in real:
            decoded += marker == real[v]
    assert decoded == 0, f"{decoded} of 100 SSN prefixes read from where the markers fell"


def swift_list(name: str, file: str = "BuiltinFunctions") -> set[str]:
    """A generated list of Sources/HoopSQL/<file>.swift, as its words."""
    from pathlib import Path
    text = (Path(__file__).resolve().parent.parent / f"Sources/HoopSQL/{file}.swift").read_text()
    start = text.index(f"static let {name} = \"\"\"\n") + len(f"static let {name} = \"\"\"\n")
    return set(text[start:text.index('"""', start)].split())


def test_the_built_in_lists_are_the_servers(ring):
    """The built-ins, and those of them that return sets, are what this server's catalog
    lists (generated from pg_proc): a built-in missing from the set-returning list would make
    rows from what it is given unseen (the review's ts_parse, aclexplode)."""
    where = "pronamespace in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)"
    with ring.connect("direct") as d:
        names = {r[0] for r in d.execute(f"select distinct proname from pg_proc where {where}").fetchall()}
        sets = {r[0] for r in d.execute(f"select distinct proname from pg_proc where proretset and {where}").fetchall()}
    assert sets - swift_list("setReturningList") == set(), "set-returning built-ins the list lacks"
    assert sets <= names and names - swift_list("list") == set(), "built-ins the list lacks"
    with ring.connect("direct") as d:
        scalar = {r[0] for r in d.execute("select typname from pg_type where typnamespace = 'pg_catalog'::regnamespace "
                                          "and typcategory <> 'A' and typtype <> 'p' and typrelid = 0").fetchall()}
    assert swift_list("scalarList", "BuiltinTypes") == scalar, "the scalar types are not the server's"
    with ring.connect("direct") as d:
        whole = {r[0] for r in d.execute(
            "select distinct proname from pg_proc where pronamespace = 'pg_catalog'::regnamespace "
            "and (pronargs = 1 or provariadic <> 0) and proargtypes[0] in ('\"any\"'::regtype, 'anyelement'::regtype, "
            "'record'::regtype, 'anycompatible'::regtype, 'anynonarray'::regtype, 'anycompatiblenonarray'::regtype)").fetchall()}
    assert swift_list("wholeRowList") == whole, "the built-ins a whole row can be given are not the server's"


@pytest.mark.parametrize("call", [
    "(pg_options_to_table(array_fill('a=1'::text, array[substr(p.ssn, 5, 1)::int + 1]))).option_name",
    "(aclexplode(array_fill('hoop_gateway=r/hoop_gateway'::aclitem, array[substr(p.ssn, 5, 1)::int + 1]))).privilege_type",
    "(ts_parse('default', repeat('a ', substr(p.ssn, 5, 1)::int + 1))).tokid",
    "public.probe_rows(substr(p.ssn, 5, 1)::int + 1)",
])
def test_rows_any_select_list_set_function_makes_carry_its_arguments(ring, call):
    """(Open approval: the default rules hold a function of the database's own.) A set-returning
    built-in the hand-kept list lacked (the review's), or the database's own function (it may
    return a set), made each id come back as many times as a digit says."""
    ids = "p.id between 1 and 200"
    with ring.connect("direct") as d:
        d.execute("create or replace function public.probe_rows(n int) returns setof int language sql "
                  "as 'select generate_series(1, n)'")
        real = dict(d.execute(f"select p.id, substr(p.ssn, 5, 1)::int from patients p where {ids}").fetchall())
    try:
        with ring.connect("gateway") as gw:
            got = gw.execute(f"select p.id, {call} from patients p where {ids}").fetchall()
        counts: dict = {}
        for r in got:
            counts[r[0]] = counts.get(r[0], 0) + 1
        decoded = sum(1 for i, n in counts.items() if real.get(i) == n - 1)
        assert decoded == 0, f"{decoded} of 200 SSN digits read from how many rows each id made"
    finally:
        with ring.connect("direct") as d:
            d.execute("drop function if exists public.probe_rows(int)")


@pytest.mark.parametrize("write", ["update", "delete"])
def test_an_outer_joins_nulls_in_a_writes_returning_carry_its_condition(ring, write):
    """(Open approval; rolled back.) `UPDATE ... FROM` or `DELETE ... USING` with ten outer
    joins, each on a test of the last SSN digit, RETURNING their columns: NULL or 1 was the
    answer (the review's, as in a select)."""
    ids = "p.id between 1 and 100"
    joins = " ".join(f"left join (select 1 k) x{d} on substr(p.ssn, 11, 1) = '{d}'" for d in "0123456789")
    marks = ", ".join(f"x{d}.k" for d in "0123456789")
    verb = ("update encounters e set department = 'x' from" if write == "update" else "delete from encounters e using")
    sql = (f"{verb} patients p {joins} where e.patient_id = p.id and {ids} "
           f"and e.id = (select min(id) from encounters where patient_id = p.id) returning e.id, {marks}")
    real = dict(ring.connect("direct").execute(f"select e.id, substr(p.ssn, 11, 1) from patients p join encounters e "
                                               f"on e.patient_id = p.id where {ids}").fetchall())
    with ring.connect("gateway") as gw:
        got = gw.execute(sql).fetchall()
        gw.rollback()
    assert got, "the write returned nothing: not a probe"
    decoded = sum(1 for r in got if [d for d, v in zip("0123456789", r[1:]) if v is not None] == [real.get(r[0])])
    assert decoded == 0, f"{decoded} last SSN digits of {len(got)} patients read from a write's outer joins"


@pytest.mark.parametrize("form", ["with ties", "order by a series", "a named window"])
def test_rows_sort_keys_make_carry_what_they_sort_by(ring, form):
    """(Open approval.) `FETCH FIRST 1 ROWS WITH TIES` ordered by a distance to a digit, or an
    ORDER BY (or a named WINDOW) whose set-returning key makes as many rows as a digit says: a
    count of the rows was the digit (the reviews'), for every patient in one statement."""
    ids = "p.id between 1 and 200"
    if form == "with ties":
        inner = ("select 1 from generate_series(0, 9) g order by g <= substr(p.ssn, 5, 1)::int desc "
                 "fetch first 1 rows with ties")
    elif form == "a named window":
        inner = "select 1 from (values (1)) v window w as (order by generate_series(0, substr(p.ssn, 5, 1)::int))"
    else:
        inner = "select 1 order by generate_series(0, substr(p.ssn, 5, 1)::int)"
    got = ring.connect("gateway").execute(f"select p.id, (select count(*) from ({inner}) x) from patients p where {ids}").fetchall()
    real = dict(ring.connect("direct").execute(f"select p.id, substr(p.ssn, 5, 1)::int from patients p where {ids}").fetchall())
    assert len(got) == 200
    decoded = sum(1 for i, n in got if isinstance(n, int) and real.get(i) == n - 1)
    assert decoded == 0, f"{form}: {decoded} of 200 SSN digits read from a row count"


SSN_LETTERS = "translate(ssn, '0123456789-', 'abcdefghijx')"   # the SSN as letters: no detector reads it


def letters(s: str) -> str:
    return s.translate(str.maketrans("0123456789-", "abcdefghijx"))


def real_ssns(direct, n=1000) -> dict[int, str]:
    return dict(direct.execute(f"select id, ssn from patients where id <= {n}").fetchall())


def test_what_an_execute_argument_reads_is_masked(ring, direct):
    """(A hunt.) `PREPARE q(text) AS SELECT $1` then `EXECUTE q(<expression>)`: the result's shape is
    the prepared statement's, where $1 carries nothing, so an argument that reads the
    patients (through a built-in that runs SQL given as text) comes back in clear:
    1,000 SSNs in one statement, no DDL."""
    real = real_ssns(direct)
    with ring.connect("gateway") as g:
        g.execute("prepare s40_q(text) as select $1")
        [(text,)] = g.execute(f"execute s40_q(query_to_xml('select id, {SSN_LETTERS.replace(chr(39), chr(39) * 2)} "
                              f"from patients where id <= 1000', false, false, '')::text)").fetchall()
        [(control,)] = g.execute(f"select query_to_xml('select id, {SSN_LETTERS.replace(chr(39), chr(39) * 2)} "
                                 f"from patients where id <= 1000', false, false, '')::text").fetchall()
    assert sum(1 for s in real.values() if letters(s) in control) == 0, "the same call in a SELECT is masked"
    got = sum(1 for s in real.values() if letters(s) in text)
    assert got == 0, f"{got} SSNs of {len(real)} patients came back through an EXECUTE argument"


def test_an_execute_argument_calling_the_databases_own_function_is_masked(ring, direct):
    """(A hunt.) The same through a function of the database's own, masked whole in a SELECT."""
    real = real_ssns(direct, 50)
    with ring.connect("gateway") as g:
        g.execute("create or replace function pg_temp.s40_f() returns text language sql as "
                  f"$$ select string_agg(id || ':' || {SSN_LETTERS}, ' ') from patients where id <= 50 $$")
        g.execute("prepare s40_q2(text) as select $1")
        [(text,)] = g.execute("execute s40_q2(pg_temp.s40_f())").fetchall()
        [(control,)] = g.execute("select pg_temp.s40_f()").fetchall()
    assert sum(1 for s in real.values() if letters(s) in control) == 0, "the function's own value is masked whole"
    got = sum(1 for s in real.values() if letters(s) in text)
    assert got == 0, f"{got} SSNs of {len(real)} patients came back through an EXECUTE argument"


def _notices(ring, sql):
    out = []
    with ring.connect("gateway") as g:
        g.add_notice_handler(lambda n: out.append((n.severity, n.context or "")))
        g.execute("set client_min_messages = debug5")
        g.execute(sql)
    return out


def test_notice_counts_and_severities_of_code_carry_no_values(ring, direct):
    """(A hunt.) A DO block raises, per SSN digit, as many INFO notices as the digit and one WARNING:
    the messages are redacted, but the sequence of severities gives every SSN of 200
    patients from one statement."""
    real = dict(direct.execute("select id, replace(ssn, '-', '') from patients where id <= 200").fetchall())
    ev = _notices(ring, "do $$ declare r record; c text; begin "
                        "for r in select ssn from patients where id <= 200 order by id loop "
                        "foreach c in array regexp_split_to_array(replace(r.ssn, '-', ''), '') loop "
                        "for i in 1..c::int loop raise info 'x'; end loop; raise warning 'y'; "
                        "end loop; end loop; end $$")
    digits, n = [], 0
    for severity, _ in ev:
        if severity == "INFO":
            n += 1
        elif severity == "WARNING":
            digits.append(str(n))
            n = 0
    got = sum(1 for k in range(len(digits) // 9) if real.get(k + 1) == "".join(digits[k * 9:(k + 1) * 9]))
    assert got == 0, f"{got} SSNs of {len(real)} patients read from the severities of {len(ev)} notices"


def test_the_line_a_notice_was_raised_at_carries_no_value(ring, direct):
    """(A hunt.) Ten RAISE statements on ten lines; the digit chooses which one runs: the notice's
    context (`... line N at RAISE`) gives the digit, whatever the message became."""
    real = dict(direct.execute("select id, replace(ssn, '-', '') from patients where id <= 100").fetchall())
    branches = "\n".join(f"when '{d}' then raise notice 'x';" for d in "0123456789")
    ev = _notices(ring, "do $$ declare r record; c text; begin\n"
                        "for r in select ssn from patients where id <= 100 order by id loop\n"
                        "foreach c in array regexp_split_to_array(replace(r.ssn, '-', ''), '') loop\n"
                        f"case c\n{branches}\nend case;\nend loop; end loop; end $$")
    lines = [int(m.group(1)) for _, ctx in ev if (m := re.search(r"line (\d+) at RAISE", ctx))]
    first = 5          # the line of `when '0'`
    digits = "".join(str(n - first) if 0 <= n - first <= 9 else "?" for n in lines)
    got = sum(1 for k in range(len(digits) // 9) if real.get(k + 1) == digits[k * 9:(k + 1) * 9])
    assert got == 0, f"{got} SSNs of {len(real)} patients read from the line numbers of {len(ev)} notices"


def test_code_raises_one_notice_a_request(ring):
    """What code raises is opaque here (a DO block may read anything): its first notice goes;
    the rest are recorded, withheld from the client, and the session goes on."""
    ev = []
    with ring.connect("gateway") as g:
        g.add_notice_handler(lambda n: ev.append(n.severity))
        g.execute("do $$ begin\nfor i in 1..5 loop raise info 'step %', i; end loop;\nraise warning 'done';\nend $$")
    assert ev == ["INFO"], ev
    with ring.connect("gateway") as g:
        assert g.execute("select 1").fetchone() == (1,)


def test_a_name_prepared_again_in_the_same_text_is_masked_as_it_runs(ring, direct):
    """`deallocate p; prepare p as select ssn ...; execute p` in one Query, after a harmless
    `p`: the rows are the new statement's, masked as its."""
    real = {s for (s,) in direct.execute("select ssn from patients where id <= 20").fetchall()}
    with ring.connect("gateway") as g:
        g.execute("prepare s40_p as select 'x'::text")
        cur = g.execute("deallocate s40_p; prepare s40_p as select ssn from patients where id <= 20; execute s40_p")
        while cur.nextset():
            pass
        got = {r[0] for r in cur.fetchall()}
    assert len(got) > 0 and not (got & real), f"{len(got & real)} SSNs came back in clear"


# --- notices whose count a value chooses (a review) ------------------------------------------

def _digits(ring, n, pos=5):
    with ring.connect("direct") as d:
        return dict(d.execute(f"select id, substr(ssn, {pos}, 1) from patients where id <= {n}").fetchall())


def _wire_events(ring, *msgs, timeout=60):
    c = agent_wire(ring)
    ev = []
    try:
        c.send(*msgs)
        while True:
            t, v = c.read(timeout)
            ev.append((t, v))
            if t == "Z":
                break
    finally:
        c.close()
    return ev


def test_a_server_notice_count_of_a_plain_select_is_a_number(ring):
    """(A review.) to_tsvector NOTICEs 'word is too long to be indexed' once per long word: a plain SELECT
    of one patient makes as many as the SSN's first three digits say (no code, no RAISE)."""
    real = _digits(ring, 20)
    with ring.connect("direct") as d:
        real = dict(d.execute("select id, substr(ssn, 1, 3)::int from patients where id <= 20").fetchall())
    hits = 0
    for k in range(1, 21):
        sql = ("select to_tsvector('simple', repeat(repeat('a', 2100) || ' ', substr(p.ssn, 1, 3)::int)) is not null "
               f"from patients p where p.id = {k}")
        ev = _wire_events(ring, Query(sql))
        n = sum(1 for t, _ in ev if t == "N")
        hits += n == real[k]
    assert hits < 5, f"{hits} of 20 patients' first three SSN digits read from a plain SELECT's notice count"


def test_a_to_tsquery_notice_says_a_bit_per_row(ring):
    """(A review.) to_tsquery of stop words only NOTICEs; a CASE on a value chooses it."""
    real = _digits(ring, 100)
    sql = ("select p.id, to_tsquery('english', case when substr(p.ssn, 5, 1)::int >= 5 then 'the' else 'cat' end) "
           "is not null from patients p where p.id between 1 and 100 order by p.id")
    ev = _wire_events(ring, Query(sql))
    bits, n = [], 0
    for t, v in ev:
        if t == "N":
            n += 1
        elif t == "D":
            bits.append(n > 0); n = 0
    hits = sum(1 for k, b in enumerate(bits) if (int(real.get(k + 1, "0")) >= 5) == b)
    assert hits < 80, f"{hits} of {len(bits)} bits (digit >= 5) read from notices"


def test_notices_code_makes_without_raise_carry_no_digits(ring):
    """(A review.) A DO block reads SSNs and runs DROP ... IF EXISTS (a server NOTICE, 'at SQL statement',
    not 'at RAISE'): as many table notices as a digit, then one view notice."""
    real = _digits(ring, 100)
    ev = _notices(ring, "do $$ declare r record; begin "
                        "for r in select substr(ssn, 5, 1) d from patients where id <= 100 order by id loop "
                        "for i in 1..r.d::int loop drop table if exists hoop_r2_nx; end loop; "
                        "drop view if exists hoop_r2_nv; end loop; end $$")
    ev = [e for e in ev if e[0] == "NOTICE"]
    kinds = set(m.split(" ")[0] for _, m, _ in ev)
    digits, n = [], 0
    for sev, m, _ in ev:
        if m.startswith("view"):
            digits.append(str(n)); n = 0
        else:
            n += 1
    hits = sum(1 for k, d in enumerate(digits) if real.get(k + 1) == d)
    assert len(ev) <= 1, f"{len(ev)} notices from one request's code; {hits} SSN digits decoded"


def test_a_trigger_raises_per_row(ring):
    """(A review; open approval.) A row trigger (the session's own function) reads an SSN and
    RAISEs at the line a digit chooses: the INSERT reads nothing ruled, yet code ran."""
    real = _digits(ring, 100)
    branches = "\n".join(f"when '{d}' then raise notice 'x';" for d in "0123456789")
    with ring.connect("gateway") as g:
        g.execute("create table if not exists hoop_r2_t (x int)")
        g.execute("create or replace function hoop_r2_f() returns trigger language plpgsql as $$\n"
                  "declare d text; begin\n"
                  "select substr(ssn, 5, 1) into d from patients where id = new.x;\n"
                  f"case d\n{branches}\nend case;\nreturn new; end $$")
        g.execute("drop trigger if exists hoop_r2_tr on hoop_r2_t")
        g.execute("create trigger hoop_r2_tr before insert on hoop_r2_t for each row execute function hoop_r2_f()")
        g.commit()
    ev = _notices(ring, "insert into hoop_r2_t select generate_series(1, 100)")
    lines = [int(m.group(1)) for _, ctx in ev if (m := re.search(r"line (\d+) at RAISE", ctx))]
    first = 5
    digits = [str(n - first) for n in lines]
    hits = sum(1 for k, d in enumerate(digits) if real.get(k + 1) == d)
    assert hits < 20, f"{hits} of {len(real)} SSN digits read from the lines of a trigger's notices"


def test_a_user_functions_notices_per_row_are_withheld_after_the_first(ring):
    """ the function's RAISE (a SELECT over a series, the function reads patients) is
    withheld after the first: the call is untraced."""
    branches = "\n".join(f"when '{d}' then raise notice 'x';" for d in "0123456789")
    with ring.connect("gateway") as g:
        g.execute("create or replace function hoop_r2_g(k int) returns int language plpgsql as $$\n"
                  "declare d text; begin\n"
                  "select substr(ssn, 5, 1) into d from patients where id = k;\n"
                  f"case d\n{branches}\nend case;\nreturn 1; end $$")
        g.commit()
    ev = _notices(ring, "select hoop_r2_g(g) from generate_series(1, 100) g")
    raised = [e for e in ev if e[0] in ("NOTICE", "INFO", "WARNING")]
    assert len(raised) <= 1
