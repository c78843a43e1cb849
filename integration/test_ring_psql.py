"""psql through the ring, compared with the same psql run straight against PostgreSQL.

Every test runs `psql -X -A -t -v ON_ERROR_STOP=0` twice, through the gateway and
directly (as hoop_gateway, the role the gateway connects as), and asserts the exit
status, standard output and standard error are identical (error texts after the redaction
hoop-mask documents, integration/helpers/redaction.py); a sanity check on the
direct output makes sure the comparison is not between two empty strings.
"""

from __future__ import annotations

import hashlib
import re

from helpers.redaction import redact


def same(ring, *args, input=None, expect_in_stdout=None, expect_in_stderr=None, dsn_kw=None):
    d = ring.psql("direct", *args, input=input, dsn_kw=dsn_kw)
    g = ring.psql("gateway", *args, input=input, dsn_kw=dsn_kw)
    if expect_in_stdout is not None:
        assert expect_in_stdout in d.stdout, f"test bug: direct output lacks {expect_in_stdout!r}: {d.stdout[:500]!r}"
    if expect_in_stderr is not None:
        assert expect_in_stderr in d.stderr, f"test bug: direct stderr lacks {expect_in_stderr!r}: {d.stderr[:500]!r}"
    # Compare big outputs by digest first so a failure message stays readable.
    if len(d.stdout) > 20000 or len(g.stdout) > 20000:
        assert (len(g.stdout), hashlib.md5(g.stdout.encode()).hexdigest()) == \
               (len(d.stdout), hashlib.md5(d.stdout.encode()).hexdigest()), \
            f"stdout differs; gateway stderr: {g.stderr[-2000:]}"
    else:
        assert g.stdout == d.stdout, f"stdout differs\n--- gateway stderr ---\n{g.stderr[-3000:]}"
    assert parser_line(g.stderr) == parser_line(redact_psql_stderr(d.stderr))
    assert g.returncode == d.returncode
    return g


def parser_line(text: str) -> str:
    """Known difference (README): a text the parser cannot read is refused by
    hoop-approve with the parser's own error, whose LOCATION line is libpg_query's
    copy of scan.l, not the server's."""
    return re.sub(r"\b(scan\.l|gram\.y):\d+", r"\1:N", text)


def redact_psql_stderr(text: str) -> str:
    """psql's error lines as hoop-mask leaves them (integration/helpers/redaction.py): the
    lines of a message raised by PL/pgSQL, values quoted by the server."""
    blocks, cur = [], []
    for line in text.splitlines(keepends=True):
        if line.startswith(("ERROR:", "WARNING:", "NOTICE:", "psql:")) and cur:
            blocks.append(cur); cur = []
        cur.append(line)
    if cur:
        blocks.append(cur)
    out = []
    for b in blocks:
        raised = any("at RAISE" in l for l in b)
        for line in b:
            head, sep, body = line.partition(":  ")
            label = head.split()[-1] if head else ""
            field = {"DETAIL": "detail", "HINT": "hint", "CONTEXT": "where"}.get(label, "message")
            if sep and label in ("ERROR", "WARNING", "NOTICE", "DETAIL", "HINT", "CONTEXT"):
                end = "\n" if body.endswith("\n") else ""
                text_ = body[:-1] if end else body
                code = ""
                if field == "message" and len(text_) > 7 and text_[5:7] == ": " and all(ch.isdigit() or "A" <= ch <= "Z" for ch in text_[:5]):
                    code, text_ = text_[:7], text_[7:]   # VERBOSITY verbose: "22P02: message"
                out.append(head + sep + code + redact(text_, raised, field) + end)
            else:
                out.append(line)
    return "".join(out)


def test_simple_queries(ring):
    same(ring, input="""
select 1 as one, 'two' as two, 3.50::numeric(5,2) as three, true, 1e100::float8, '2024-02-29'::date,
       interval '1 day 2 hours', '{1,2,3}'::int[], row(1, 'a b');
select count(*) from patients;
select id from patients order by id limit 5;
select count(*), min(department), max(diagnosis_code) from encounters;
select g, g * g from generate_series(1, 50) g;
""", expect_in_stdout="1|two|3.50|t|")


def test_many_statements_in_script_keep_order(ring):
    script = "".join(f"select {i}, repeat('r', {i % 17});\n" for i in range(300))
    same(ring, input=script, expect_in_stdout="299|")


def test_multi_statement_message(ring):
    g = same(ring, "-c", "select 1; select 2", expect_in_stdout="1\n2")
    assert g.stdout == "1\n2\n"


def test_error_in_the_middle_of_a_multi_statement_message(ring):
    # One Query message; the statement after the error must not run. nextval is not
    # undone by the rollback, so the sequence tells whether the third statement ran.
    g = same(ring,
             "-c", "create temp sequence hoop_mid",
             "-c", "select nextval('hoop_mid'); select 1/0; select nextval('hoop_mid')",
             "-c", "select last_value from hoop_mid",
             "-c", "select 'after'",
             expect_in_stderr="division by zero", expect_in_stdout="after")
    assert g.stdout.splitlines()[-2:] == ["1", "after"], g.stdout


def test_transactions(ring):
    same(ring, input=r"""
begin;
select 1;
select 1/0;
\echo error: :LAST_ERROR_SQLSTATE :LAST_ERROR_MESSAGE
select 2;
\echo error: :LAST_ERROR_SQLSTATE :LAST_ERROR_MESSAGE
rollback;
select 3;
begin;
create temp table tx(x int);
insert into tx values (1);
commit;
select * from tx;
begin;
insert into tx values (2);
rollback;
select count(*) from tx;
begin;
insert into tx values (3);
savepoint a;
insert into tx values (4);
select 1/0;
rollback to savepoint a;
insert into tx values (5);
commit;
select array_agg(x order by x) from tx;
commit;
\echo :LAST_ERROR_MESSAGE
""", expect_in_stdout="error: 25P02")


def test_nulls(ring):
    same(ring, "-P", "null=<null>", "-c",
         "select null::int, '', null::text, array[null, 1], row(null, 'a'), null::jsonb, "
         "coalesce(null, 'x'), nullif(1, 1) from generate_series(1, 3)",
         expect_in_stdout="<null>||<null>|{NULL,1}")


def test_unicode(ring):
    same(ring, input=r"""
\pset tuples_only off
select 'héllo wörld' as "ünïcödé 🐘", '日本語テキスト' as jp, '🐘🚀👩‍⚕️' as emoji,
       length('👩‍⚕️') as len, octet_length('🐘') as octets, upper('straße'), 'Ωμέγα' ~ 'μ' as rx;
select E'line1\nline2' as nl, E'tab\there' as tab, 'quote"and\back\\slash' as q, E'\x01\x1f\x7f' as ctl,
       U&'\+01F418' as esc, chr(65533) as repl;
select string_agg(chr(c), '') from generate_series(913, 1000) c;
""", expect_in_stdout="🐘🚀👩‍⚕️")


def test_wide_row_200_columns(ring):
    cols = ", ".join(f"{'null' if i % 13 == 0 else i}::{'text' if i % 2 else 'int'} as c{i}" for i in range(200))
    same(ring, "-P", "null=<null>", "-c", "\\pset tuples_only off", "-c", f"select {cols} from generate_series(1, 20)",
         expect_in_stdout="c199")


def test_one_megabyte_values(ring):
    same(ring, "-c", "select length(v), md5(v), v from (select repeat('x', 1048576) v) s",
         "-c", "select length(v), octet_length(v), v from (select repeat('é🐘', 300000) v) s",
         expect_in_stdout="1048576|")


def test_empty_query(ring):
    same(ring, "-c", "", "-c", ";", "-c", "-- only a comment", "-c", "select 'still here'",
         expect_in_stdout="still here")


def test_error_fields_verbose(ring):
    same(ring, input=r"""
\set VERBOSITY verbose
\set SHOW_CONTEXT always
select 1/0;
select * fro patients;
select nme from patients;
create temp table u(id int primary key, v text not null check (length(v) < 5));
insert into u values (1, 'a');
insert into u values (1, 'b');
insert into u values (2, 'toolong');
insert into u values (3, null);
do $$ begin raise exception 'custom boom' using detail = 'some detail', hint = 'some hint', errcode = 'P0001'; end $$;
do $$ begin raise notice 'notice %', 42; end $$;
do $$ begin raise warning 'careful'; end $$;
select 'abc'::int;
select * from no_such_table;
select 'x' || 1/0 from generate_series(1, 3);
""", expect_in_stderr="HINT:")


def test_describe_meta_commands(ring):
    same(ring, "-c", "\\pset tuples_only off", "-c", "\\d patients", "-c", "\\dt", "-c", "\\df now",
         expect_in_stdout="patients")


def test_sslmode_prefer(ring):
    # libpq's default: an SSLRequest first; the embedded default has a certificate and
    # answers 'S' (docs/tls.md; test_ring_tls.py has the 'N' of a gateway without one).
    d = ring.psql("direct", "-c", "select 'tls?'", dsn_kw={})
    g = ring.psql("gateway", "-c", "select 'tls?'", dsn_kw={"sslmode": "prefer"})
    assert d.stdout == "tls?\n"
    assert (g.returncode, g.stdout, g.stderr) == (0, d.stdout, "")
