"""The extended query protocol, message by message, with a raw wire client
(integration/helpers/pgwire.py): the same sequence goes to the gateway and directly to
PostgreSQL (over TCP with SCRAM, as hoop_gateway), and the answers must be the same
messages with the same contents. ParameterStatus messages are left out of the
comparison (asynchronous, and the gateway reports its own set), and so are the
source-location fields of errors (F, L, R); every other error field must match."""

from __future__ import annotations

import struct

import pytest

from helpers.pgwire import (Bind, Close, Describe, Execute, Flush, Parse, PGWire, Query, Sync,
                            startup_packet)


def open_wire(ring, via, app="hoop-wire-test"):
    if via == "gateway":
        c = PGWire("127.0.0.1", ring.listen_port, timeout=30)
        msgs = c.startup(ring.gateway_user, "clinic", ring.gateway_password, {"application_name": app})
    else:
        c = PGWire("127.0.0.1", ring.pg_port, timeout=30)
        msgs = c.startup("hoop_gateway", "clinic", ring.pg_password, {"application_name": app})
    return c, msgs


def exchange(ring, batches):
    """Sends each batch (a list of messages, ending with Sync or a Query) and reads up
    to ReadyForQuery, on the gateway and directly. Returns (gateway, direct), one list
    of messages per batch."""
    out = {}
    for via in ("gateway", "direct"):
        c, _ = open_wire(ring, via)
        try:
            res = []
            for batch in batches:
                c.send(*batch)
                res.append(c.read_until_ready(timeout=30))
            out[via] = res
        finally:
            c.close()
    return out["gateway"], out["direct"]


def without_source_location(batches):
    """Error/notice fields F, L, R name the server's C source (file, line, routine): an
    answer the gateway makes in place of the server's may come from another routine."""
    return [[(t, {k: x for k, x in v.items() if k not in "FLR"}) if t in ("E", "N") else (t, v) for t, v in b]
            for b in batches]


def assert_same(ring, batches, sanity=None):
    g, d = exchange(ring, batches)
    g, d = without_source_location(g), without_source_location(d)
    if sanity:
        assert sanity(d), f"test bug: direct answers unexpected: {d}"
    for i, (gb, db) in enumerate(zip(g, d)):
        assert [m[0] for m in gb] == [m[0] for m in db], f"batch {i}: message types differ"
        assert gb == db, f"batch {i}: message contents differ"
    return g


def types(batch):
    return "".join(m[0] for m in batch)


def test_startup_through_gateway(ring):
    c, msgs = open_wire(ring, "gateway", app="hoop-startup")
    d, dmsgs = open_wire(ring, "direct", app="hoop-startup")
    try:
        auth = [v for t, v in msgs if t == "R"]
        assert auth[0][0] == 3, f"gateway should ask for a cleartext password, asked {auth}"
        assert auth[-1][0] == 0
        assert msgs[-1] == ("Z", "I")
        assert c.backend_key is not None, "no BackendKeyData: clients cannot cancel"
        for name in ("server_version", "server_encoding", "client_encoding", "DateStyle", "IntervalStyle",
                     "TimeZone", "integer_datetimes", "standard_conforming_strings", "application_name"):
            assert c.parameters.get(name) == d.parameters.get(name), name
    finally:
        c.close()
        d.close()


def test_unnamed_statement_and_portal(ring):
    assert_same(ring, [[Parse("", "select $1::int + 1 as x, $2::text as t, null::int as n, $2::varchar(5) as v",
                              [0, 0]),
                        Bind("", "", ["41", "hé🐘"]), Describe("P", ""), Execute("", 0), Sync()]],
                sanity=lambda d: types(d[0]) == "12TDCZ")


def test_named_statement_describe_close(ring):
    assert_same(ring, [
        [Parse("s1", "select $1::int as a, $2::varchar(10) as b, $3 || 'x' as c", [23, 0, 25]),
         Describe("S", "s1"), Sync()],
        [Bind("p", "s1", ["1", "x", None]), Describe("P", "p"), Execute("p", 0), Sync()],
        [Bind("", "s1", ["2", "y", "z"]), Execute("", 0), Bind("", "s1", ["3", None, "w"]), Execute("", 0), Sync()],
        [Close("S", "s1"), Sync()],
        [Describe("S", "s1"), Sync()],                                      # 26000: it is gone
        [Parse("s1", "select 'again'"), Bind("", "s1"), Execute(""), Sync()],
        [Close("P", "nope"), Close("S", "nope"), Sync()],
        [Describe("S", "nope"), Sync()],
        [Describe("P", "nope"), Sync()],
        [Sync()],
    ], sanity=lambda d: types(d[0]) == "1tTZ" and d[4][0][1]["C"] == "26000")


def test_parameter_type_inference(ring):
    assert_same(ring, [[Parse("", "select $1 + 1, $2 = 'x', $3::numeric(10,2)"), Describe("S", ""), Sync()]],
                sanity=lambda d: d[0][1] == ("t", [23, 25, 1700]))


def test_execute_with_row_limits_and_portal_suspended(ring):
    q = "select g, repeat('y', g) from generate_series(1, 10) g"
    assert_same(ring, [
        [Parse("s2", q), Bind("p1", "s2"), Bind("p2", "s2"),
         Execute("p1", 3), Execute("p2", 4), Execute("p1", 3), Execute("p1", 0), Execute("p2", 0), Sync()],
    ], sanity=lambda d: types(d[0]) == "122DDDsDDDDsDDDsDDDDCDDDDDDCZ")


def test_row_limit_exactly_exhausts_portal(ring):
    assert_same(ring, [
        [Parse("", "select g from generate_series(1, 5) g"), Bind("", ""), Execute("", 5), Execute("", 5),
         Execute("", 1), Sync()],
    ], sanity=lambda d: types(d[0]) == "12DDDDDsCCZ")


def test_suspended_portal_across_syncs_in_transaction(ring):
    assert_same(ring, [
        [Query("begin")],
        [Parse("s3", "select g, md5(g::text) from generate_series(1, 25) g"), Bind("cur", "s3"),
         Describe("P", "cur"), Execute("cur", 10), Sync()],
        [Execute("cur", 10), Sync()],
        [Execute("cur", 10), Sync()],
        [Execute("cur", 10), Sync()],
        [Query("commit")],
        [Execute("cur", 10), Sync()],      # the portal ended with the transaction: 34000
    ], sanity=lambda d: d[1][-1] == ("Z", "T") and d[6][0][1]["C"] == "34000")


def test_describe_portal_without_rows(ring):
    assert_same(ring, [
        [Parse("", "do $$ begin end $$"), Bind("", ""), Describe("P", ""), Execute("", 0), Sync()],
        [Parse("ins", "insert into pg_temp.nothing select 1 where false"), Sync()],
        [Query("create temp table nothing(x int)")],
        [Parse("ins2", "insert into nothing values ($1)"), Describe("S", "ins2"), Bind("", "ins2", ["7"]),
         Describe("P", ""), Execute("", 0), Sync()],
    ], sanity=lambda d: types(d[0]) == "12nCZ")


def test_parse_error_skips_to_sync(ring):
    assert_same(ring, [
        [Parse("", "selec 1"), Bind("", ""), Describe("P", ""), Execute("", 0),
         Parse("ok", "select 1"), Sync()],
        [Describe("S", "ok"), Sync()],                 # "ok" was never parsed: 26000
        [Parse("", "select 'recovered'"), Bind("", ""), Execute("", 0), Sync()],
    ], sanity=lambda d: types(d[0]) == "EZ" and d[1][0][1]["C"] == "26000" and types(d[2]) == "12DCZ")


def test_execute_error_mid_stream(ring):
    assert_same(ring, [
        [Parse("", "select 10 / (3 - g) from generate_series(1, 5) g"), Bind("", ""), Execute("", 0),
         Parse("", "select 'skipped'"), Bind("", ""), Execute("", 0), Sync()],
        [Parse("", "select 'next batch'"), Bind("", ""), Execute("", 0), Sync()],
    ], sanity=lambda d: types(d[0]) == "12DDEZ")


@pytest.mark.xfail(strict=True, reason="known difference: libpq has no Bind of its own, so hoop-connect "
                   "sends Bind with Execute and a Bind error arrives after a BindComplete")
@pytest.mark.parametrize("case", ["invalid value", "parameter count", "unknown statement", "planning error"])
def test_bind_errors(ring, case):
    # PostgreSQL reports these at Bind: an ErrorResponse and no BindComplete.
    bad = {
        "invalid value": [Parse("", "select $1::int"), Bind("", "", ["abc"])],
        "parameter count": [Parse("", "select $1::int"), Bind("", "", ["1", "2"])],
        "unknown statement": [Bind("", "never_parsed")],
        "planning error": [Parse("", "select 1/0"), Bind("", "")],   # constant folding runs at Bind
    }[case]
    assert_same(ring, [
        bad + [Execute("", 0), Sync()],
        [Parse("", "select 'fine'"), Bind("", ""), Execute("", 0), Sync()],
    ], sanity=lambda d: types(d[0]).endswith("EZ") and "2" not in types(d[0]) and types(d[1]) == "12DCZ")


def test_flush_delivers_without_sync(ring):
    for via in ("gateway", "direct"):
        c, _ = open_wire(ring, via)
        try:
            c.send(Parse("f", "select 1"), Flush())
            assert c.read(timeout=10) == ("1", None), via
            c.send(Bind("", "f"), Execute("", 0), Flush())
            got = [c.read(timeout=10) for _ in range(3)]
            assert got == [("2", None), ("D", [b"1"]), ("C", "SELECT 1")], via
            c.expect_nothing(0.3)
            c.send(Sync())
            assert c.read_until_ready(timeout=10) == [("Z", "I")], via
        finally:
            c.close()


def test_empty_queries(ring):
    assert_same(ring, [
        [Query("")], [Query(";")], [Query("-- comment only")],
        [Parse("", ""), Bind("", ""), Describe("P", ""), Execute("", 0), Sync()],
    ], sanity=lambda d: types(d[0]) == "IZ" and types(d[3]) == "12nIZ")


def test_simple_protocol_multi_statement(ring):
    assert_same(ring, [
        [Query("select 1; select 2")],
        [Query("select 1 as a; select 1/0; select 3")],
        [Query("begin; select 1; commit")],
        [Query("begin")], [Query("select 1/0")], [Query("select 1")], [Query("rollback")],
        [Query("select 'end'")],
    ], sanity=lambda d: types(d[0]) == "TDCTDCZ" and types(d[1]) == "TDCEZ"
                        and d[3][-1] == ("Z", "T") and d[4][-1] == ("Z", "E") and d[6][-1] == ("Z", "I"))


def test_mixed_simple_and_extended_in_transaction(ring):
    assert_same(ring, [
        [Query("begin")],
        [Parse("", "select $1::int * 2"), Bind("", "", ["21"]), Execute("", 0), Sync()],
        [Parse("", "select 1/(g - 1) from generate_series(1, 1) g"), Bind("", ""), Execute("", 0), Sync()],
        [Parse("", "select 1"), Sync()],     # 25P02
        [Query("rollback")],
    ], sanity=lambda d: d[2][-1] == ("Z", "E") and d[3][0][1]["C"] == "25P02" and d[4][-1] == ("Z", "I"))


def test_binary_result_format(ring):
    assert_same(ring, [
        [Parse("", "select 1::int4 as i, 'abc'::text as t, 2::int8 as b"), Bind("", "", [], [], [1]),
         Describe("P", ""), Execute("", 0), Sync()],
        [Parse("", "select 1::int4 as i, 'abc'::text as t"), Bind("", "", [], [], [0, 1]),
         Describe("P", ""), Execute("", 0), Sync()],
    ], sanity=lambda d: d[0][3] == ("D", [b"\0\0\0\1", b"abc", b"\0\0\0\0\0\0\0\2"]))


def test_binary_parameter_format(ring):
    assert_same(ring, [
        [Parse("", "select $1::int4 + 1, $2::text, $3::bytea"),
         Bind("", "", [struct.pack("!i", 41), "text param", b"\x00\xff\n"], [1, 0, 1]),
         Execute("", 0), Sync()],
    ], sanity=lambda d: d[0][2] == ("D", [b"42", b"text param", b"\\x00ff0a"]))


def test_implicit_transaction_until_sync(ring):
    # Everything up to Sync is one implicit transaction: the error rolls back the insert.
    assert_same(ring, [
        [Query("create temp table imp(x int)")],
        [Parse("", "insert into imp values (1)"), Bind("", ""), Execute("", 0),
         Parse("", "select 1/(g - 1) from generate_series(1, 1) g"), Bind("", ""), Execute("", 0), Sync()],
        [Query("select count(*) from imp")],
    ], sanity=lambda d: d[2][1] == ("D", [b"0"]))


def test_unsupported_protocol_version_is_refused_cleanly(ring):
    c = PGWire("127.0.0.1", ring.listen_port, timeout=10)
    try:
        c.send(startup_packet({"user": "agent", "database": "clinic"}, protocol=(2 << 16)))
        msgs = c.read_until_closed(timeout=10)
        assert msgs and msgs[0][0] == "E", f"expected an ErrorResponse before close, got {msgs}"
    finally:
        c.close(terminate=False)


# The naming rules of StatementBook (Sources/HoopFrames/StatementBook.swift), which every
# stage follows, against the server's own behaviour.

def test_a_named_statement_needs_a_close_before_it_is_made_again(ring):
    assert_same(ring, [
        [Parse("dup", "select 'first' as v"), Sync()],
        [Parse("dup", "select 'second' as v"), Sync()],                      # 42P05: the first stays
        [Bind("", "dup"), Execute("", 0), Sync()],
        [Close("S", "dup"), Parse("dup", "select 'third' as v"), Bind("", "dup"), Execute("", 0), Sync()],
        [Parse("", "select 'a' as v"), Parse("", "select 'b' as v"), Bind("", ""), Execute("", 0), Sync()],
    ], sanity=lambda d: d[1][0][1]["C"] == "42P05" and d[2][1] == ("D", [b"first"])
               and d[3][3] == ("D", [b"third"]) and d[4][3] == ("D", [b"b"]))


def test_a_named_portal_needs_a_close_and_ends_with_its_transaction(ring):
    assert_same(ring, [
        [Query("begin")],
        [Parse("s", "select generate_series(1, 3) as n"), Bind("p", "s"), Sync()],
        [Bind("p", "s"), Sync()],                                              # 42P03: p is open
        [Query("rollback")],
        [Query("begin")],
        [Bind("p", "s"), Execute("p", 1), Sync()],
        [Execute("p", 1), Sync()],
        [Close("P", "p"), Bind("p", "s"), Execute("p", 0), Sync()],
        [Query("commit")],
        [Execute("p", 0), Sync()],                                             # 34000: gone at commit
    ], sanity=lambda d: d[2][0][1]["C"] == "42P03" and d[9][0][1]["C"] == "34000"
               and types(d[5]) == "2DsZ")


def test_bind_snapshots_its_statement(ring):
    assert_same(ring, [
        [Query("begin")],
        [Parse("", "select 'bound' as v"), Bind("kept", ""), Parse("", "select 'later' as v"),
         Execute("kept", 0), Sync()],
        [Query("commit")],
    ], sanity=lambda d: ("D", [b"bound"]) in d[1])


def test_sql_prepare_shares_the_statement_namespace(ring):
    assert_same(ring, [
        [Query("prepare shared as select 'prepared in sql' as v")],
        [Parse("shared", "select 'by parse' as v"), Sync()],                   # 42P05
        [Bind("", "shared"), Execute("", 0), Sync()],
        [Query("deallocate shared")],
        [Parse("shared", "select 'by parse' as v"), Bind("", "shared"), Execute("", 0), Sync()],
        [Query("execute shared")],
    ], sanity=lambda d: d[1][0][1]["C"] == "42P05" and ("D", [b"prepared in sql"]) in d[2]
               and ("D", [b"by parse"]) in d[5])


@pytest.mark.xfail(strict=True, reason="known difference: libpq 15 has no Close of its own, so hoop-connect "
                   "closes a statement with DEALLOCATE, only for names it saw parsed (DEALLOCATE of an "
                   "unknown name would fail the pipeline); a Close of a SQL-PREPAREd name does nothing")
def test_close_of_a_statement_prepared_in_sql(ring):
    assert_same(ring, [
        [Query("prepare in_sql as select 1")],
        [Close("S", "in_sql"), Sync()],
        [Query("execute in_sql")],                                             # 26000 at the server
    ], sanity=lambda d: d[2][0][1]["C"] == "26000")


def test_a_close_skipped_by_a_failed_pipeline_leaves_the_statement(ring):
    # The server skips everything after an error up to Sync, a Close included: the
    # statement stays, and a later Bind of it runs it.
    assert_same(ring, [
        [Parse("kept", "select 'still here' as v"), Sync()],
        [Parse("", "select 1/g from generate_series(0, 0) g"), Bind("", ""), Execute("", 0), Close("S", "kept"),
         Sync()],
        [Bind("", "kept"), Execute("", 0), Sync()],
        [Close("S", "kept"), Parse("kept", "select 'made again' as v"), Bind("", "kept"), Execute("", 0), Sync()],
    ], sanity=lambda d: d[1][-2][1]["C"] == "22012" and ("D", [b"still here"]) in d[2]
               and ("D", [b"made again"]) in d[3])


def test_a_close_in_an_aborted_transaction_closes(ring):
    # Close is a protocol message, not a command: it works in an aborted transaction,
    # and the statement is gone after the rollback.
    assert_same(ring, [
        [Parse("gone", "select 'closed' as v"), Sync()],
        [Query("begin")],
        [Query("select 1/0")],
        [Close("S", "gone"), Sync()],
        [Query("rollback")],
        [Describe("S", "gone"), Sync()],                                     # 26000
        [Parse("gone", "select 'parsed again' as v"), Bind("", "gone"), Execute("", 0), Sync()],
    ], sanity=lambda d: types(d[3]) == "3Z" and d[5][0][1]["C"] == "26000"
               and ("D", [b"parsed again"]) in d[6])


def test_a_close_in_a_failed_transaction_counts_after_a_rollback_in_the_same_pipeline(ring):
    for after in ([Parse("s1", "select 'new' as v"), Bind("", "s1"), Execute("", 0)],
                  [Bind("", "s1"), Execute("", 0)]):                          # 26000: closed
        assert_same(ring, [
            [Parse("s1", "select 'old' as v"), Sync()],
            [Query("begin")],
            [Query("select 1/0")],
            [Close("S", "s1"), Parse("", "rollback"), Bind("", ""), Execute("", 0), *after[:-2],
             Describe("S", "s1"), Sync()],
        ], sanity=lambda d: types(d[3])[:1] == "3")


def test_a_close_in_a_failed_transaction_counts_after_a_later_failed_pipeline(ring):
    assert_same(ring, [
        [Parse("gone", "select 'first' as v"), Sync()],
        [Query("begin")],
        [Query("select 1/0")],
        [Close("S", "gone"), Sync()],
        [Parse("gone", "select 'second' as v"), Sync()],                   # 25P02: still failed
        [Query("rollback")],
        [Parse("gone", "select 'third' as v"), Bind("", "gone"), Execute("", 0), Sync()],
    ], sanity=lambda d: d[4][0][1]["C"] == "25P02" and ("D", [b"third"]) in d[6])


def test_closes_in_a_failed_transaction_are_each_carried_out(ring):
    # One of them names a statement SQL DEALLOCATE already took: the others still go.
    assert_same(ring, [
        [Parse("a", "select 'a' as v"), Parse("b", "select 'b' as v"), Sync()],
        [Query("begin")],
        [Query("deallocate a")],
        [Query("select 1/0")],
        [Close("S", "a"), Close("S", "b"), Sync()],
        [Query("rollback")],
        [Parse("b", "select 'b again' as v"), Bind("", "b"), Execute("", 0), Sync()],
    ], sanity=lambda d: ("D", [b"b again"]) in d[6])



def test_a_portal_is_described_as_bound(ring):
    # Its columns are those of the statement as it was bound, not of one parsed since.
    assert_same(ring, [
        [Query("begin")],
        [Parse("", "select 'bound'::text as v, 1 as n"), Bind("kept", ""), Parse("", "select 2 as other"),
         Describe("P", "kept"), Execute("kept", 0), Sync()],
        [Query("commit")],
    ], sanity=lambda d: [m for m in d[1] if m[0] == "T"][0][1][0]["name"] == "v")


@pytest.mark.parametrize("ending", ["deallocate gone", "deallocate all", "discard all"])
def test_a_statement_ended_in_sql_is_closed_quietly_by_the_protocol(ring, ending):
    # Closing a name the server no longer has is no error.
    assert_same(ring, [
        [Parse("gone", "select 'first' as v"), Sync()],
        [Query(ending)],
        [Close("S", "gone"), Sync()],
        [Parse("gone", "select 'again' as v"), Bind("", "gone"), Execute("", 0), Sync()],
    ], sanity=lambda d: types(d[2]) == "3Z" and ("D", [b"again"]) in d[3])


SERIES = "select g from generate_series(1, 5) g"


@pytest.mark.parametrize("ending", ["commit", "rollback", "end", "abort"])
def test_a_portal_ends_at_a_commit_inside_its_pipeline(ring, ending):
    # Outside a transaction block the portal's rows come from a cursor of hoop-connect's
    # own, held past commits: after a COMMIT or ROLLBACK in the pipeline the server has no
    # such portal (34000), and the rest of the pipeline is skipped.
    assert_same(ring, [
        [Parse("s", SERIES), Bind("p", "s"), Execute("p", 1), Parse("e", ending), Bind("", "e"), Execute("", 0),
         Execute("p", 1), Parse("", "select 'skipped' as v"), Bind("", ""), Execute("", 0), Sync()],
        [Execute("p", 1), Sync()],
    ], sanity=lambda d: [m[1]["C"] for m in d[0] if m[0] == "E"] == ["34000"] and ("D", [b"skipped"]) not in d[0])


def test_a_portal_ends_at_a_commit_inside_its_pipeline_in_a_transaction_block(ring):
    assert_same(ring, [
        [Query("begin")],
        [Parse("s", SERIES), Bind("p", "s"), Execute("p", 1), Parse("c", "commit"), Bind("", "c"), Execute("", 0),
         Describe("P", "p"), Execute("p", 1), Sync()],
    ], sanity=lambda d: [m[1]["C"] for m in d[1] if m[0] == "E"] == ["34000"])


def test_a_portal_name_is_free_again_after_a_commit_inside_its_pipeline(ring):
    assert_same(ring, [
        [Parse("s", SERIES), Bind("p", "s"), Execute("p", 2), Parse("c", "commit"), Bind("", "c"), Execute("", 0),
         Bind("p", "s"), Execute("p", 0), Sync()],
        [Bind("p", "s"), Execute("p", 1), Sync()],
    ], sanity=lambda d: not any(m[0] == "E" for b in d for m in b) and types(d[0]).count("D") == 7)


def test_a_portal_outlives_a_rollback_to_a_savepoint_after_it(ring):
    assert_same(ring, [
        [Query("begin")],
        [Parse("s", SERIES), Bind("p", "s"), Execute("p", 1), Sync()],
        [Query("savepoint a")],
        [Parse("r", "rollback to savepoint a"), Bind("", "r"), Execute("", 0), Execute("p", 1), Sync()],
        [Execute("p", 1), Sync()],     # its tag is ROLLBACK: read as the end of the transaction, masked whole
        [Query("commit")],
    ], sanity=lambda d: ("D", [b"2"]) in d[3] and ("D", [b"3"]) in d[4])


def test_the_unnamed_statement_closed_is_gone(ring):
    # libpq 15 cannot close it upstream: hoop-connect answers its later use as the server does.
    assert_same(ring, [
        [Parse("", "select 'kept' as v"), Sync()],
        [Close("S", ""), Sync()],
        [Describe("S", ""), Sync()],
        [Parse("", "select 'new' as v"), Bind("", ""), Execute("", 0), Sync()],
    ], sanity=lambda d: d[2][0][1]["C"] == "26000" and ("D", [b"new"]) in d[3])
    g, d = exchange(ring, [[Parse("", "select 'kept' as v"), Close("S", ""), Bind("", ""), Execute("", 0), Sync()]])
    errors = lambda b: [m[1]["C"] for m in b[0] if m[0] == "E"]
    assert errors(d) == errors(g) == ["26000"]
    assert not any(m[0] == "D" for m in g[0]), "the closed statement ran"
