"""hoop-approve through the ring with the embedded default rules (docs/approval.md):
guardrails deny at once; risky requests are held with a notice while other sessions
run; a second identity grants them (never the requester), denies them or lets them
time out; the extended protocol is judged at Execute; a cancel withdraws a hold; a
restart of the ring keeps a pending request; the audit store holds every hold,
decision and approver. psql, psycopg and a raw wire client against real PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time

import psycopg
import pytest

from conftest import default_rules_ring
from helpers.pgwire import Bind, Close, Execute, Parse, PGWire, Query, Sync
from helpers.ring import HOOP, PSQL, REPO, clean_env, wait_for

AGENT = "agent@example.org"
APPROVER = "bob@example.org"
ID = re.compile(r"\br-[a-z0-9]{10}\b")


# A ring with the embedded default configuration, approval rules included.
aring = default_rules_ring("approve")


@pytest.fixture
def adirect(aring):
    conn = aring.connect("direct")
    yield conn
    conn.close()


def approve(ring, *args, user=APPROVER, groups=("approvers",), agent=False, token=None):
    """`scripts/hoop approve ARGS` with `user`'s own token (an agent's: `agent`), or `token`."""
    env = ring.env()
    env["HOOP_TOKEN"] = token or ring.token(user, *groups, agent=agent)
    return subprocess.run([str(HOOP), "approve", *args], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def reissued(ring, token: str, **claims) -> str:
    """`token` with `claims` changed, signed again with the development issuer's own key
    (header and kid kept): a token that issuer could have given, e.g. with a claim as a
    list, as providers emit custom attributes."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from helpers.oidc import b64u, jws_parts
    header, payload, _ = jws_parts(token)
    payload.update(claims)
    unsigned = (b64u(json.dumps(header, separators=(",", ":")).encode()) + "."
                + b64u(json.dumps(payload, separators=(",", ":")).encode()))
    if header["alg"] == "EdDSA":
        key = load_pem_private_key((ring.var / "dev-issuer" / "ed25519.pem").read_bytes(), None)
        sig = key.sign(unsigned.encode())
    else:
        assert header["alg"] == "RS256", header
        key = load_pem_private_key((ring.var / "dev-issuer" / "rsa.pem").read_bytes(), None)
        sig = key.sign(unsigned.encode(), padding.PKCS1v15(), hashes.SHA256())
    return unsigned + "." + b64u(sig)


def pending(ring, **match) -> list[dict]:
    r = approve(ring, "list", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    return [x for x in out if all(x.get(k) == v or (x.get("requester") or {}).get(k) == v for k, v in match.items())]


def show(ring, rid) -> dict:
    r = approve(ring, "show", rid, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


class Held:
    """A psycopg session whose statement runs in a thread; keeps its notices."""

    def __init__(self, ring, sql, user=AGENT, autocommit=True, setup=()):
        self.conn = psycopg.connect(ring.gateway_dsn(user=user), autocommit=autocommit, connect_timeout=15)
        self.notices: list[str] = []
        self.conn.add_notice_handler(lambda d: self.notices.append(f"{d.message_primary} | {d.message_hint}"))
        for s in setup:
            self.conn.execute(s)
        self.result = None
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._run, args=(sql,), daemon=True)
        self.thread.start()

    def _run(self, sql):
        try:
            cur = self.conn.execute(sql)
            self.result = cur.statusmessage
        except Exception as e:   # the error is the result under test
            self.error = e

    def request_id(self, timeout=15) -> str:
        found = wait_for(lambda: next((m for n in self.notices if (m := ID.search(n))), None), timeout)
        assert found, f"no 'held' notice within {timeout}s (notices {self.notices}, error {self.error})"
        return found.group(0)

    def finish(self, timeout=20):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the held statement did not finish"
        return self

    def close(self):
        self.conn.close()


def deny_new(ring, before: set[str]) -> str:
    """Denies the request held since `before` (the ids pending then); its id."""
    new = wait_for(lambda: [x for x in pending(ring) if x["id"] not in before], 15)
    assert new, "the statement was not held"
    rid = new[0]["id"]
    assert approve(ring, "deny", rid, "--reason", "not now").returncode == 0
    return rid


def denied_in_both_protocols(ring, sql: str, what: str, extended_sql: str | None = None) -> str:
    """`sql` held, then denied by an approver, in the extended protocol (psycopg; or
    `extended_sql`) and the simple one (psql): refused both times. psql's output."""
    h = Held(ring, extended_sql or sql)
    try:
        assert approve(ring, "deny", h.request_id(), "--reason", "not now").returncode == 0
        h.finish()
        assert isinstance(h.error, psycopg.Error) and h.result is None, f"{what}: not refused ({h.result})"
    finally:
        h.close()
    ids = {x["id"] for x in pending(ring)}
    p = subprocess.Popen([PSQL, "-X", "-A", "-t", "-d", ring.gateway_dsn(user=AGENT), "-c", sql],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
    try:
        rid = deny_new(ring, ids)
        out, err = p.communicate(timeout=30)
    finally:
        p.kill()
    assert f"request {rid} was denied" in err, f"{what}: {err[-300:]}"
    return out


def audit_frames(ring, types) -> list[dict]:
    with ring.audit() as db:
        rows = db.execute(f"SELECT CAST(frame AS TEXT) FROM frames WHERE type IN ({','.join('?' * len(types))}) ORDER BY id",
                          types).fetchall()
    return [json.loads(r[0]) for r in rows]


def test_guardrails_deny_at_once_and_fail_the_transaction(aring):
    for sql, words in [("alter system set fsync = off", "ALTER SYSTEM"),
                       ("set role postgres", "changing role"),
                       ("copy patients to program 'cat'", "PROGRAM"),
                       ("select 1; set session authorization postgres", "changing role")]:
        r = aring.psql("gateway", "-c", sql)
        assert "not allowed by policy" in r.stderr and words in r.stderr, (sql, r.stderr)
    with psycopg.connect(aring.gateway_dsn(user=AGENT), autocommit=False) as c:
        assert c.execute("select id from patients where id = 1").fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="not allowed by policy"):
            c.execute("alter system set work_mem = '1GB'")
        # As after any error in a transaction block: failed, and nothing commits around it.
        assert c.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            c.execute("select 1")
        c.rollback()
        assert c.execute("select 2").fetchone() == (2,)
    denies = [f for f in audit_frames(aring, ["deny"]) if f.get("rule") == "no-alter-system"]
    assert denies and all(f["reason"] == "policy" and f["code"] == "42501" for f in denies)


def test_same_shape_different_literals_are_judged_each(aring):
    """hoop-approve shares one classification between texts of the same shape (their
    literals replaced by $n) only when the literals changed nothing: a harmless text
    first must not let a risky one of the same shape through."""
    pairs = [
        ("select set_config('application_name', 'x', false)", "select set_config('role', 'postgres', false)"),
        ("select id from patients where id = 1", "select id from patients where id = 1 or 1 = 1 limit 100000"),
        ("select id from patients limit 5", "select id from patients limit 100000"),
        ("select pg_catalog.lower('a')", "select pg_catalog.pg_read_file('/etc/hostname')"),
    ]
    for harmless, risky in pairs:
        c = PGWire("127.0.0.1", aring.listen_port, timeout=30)
        c.startup(AGENT, "clinic", aring.token(AGENT), {"application_name": "approve-shapes"})
        try:
            for _ in range(3):
                c.send(Query(harmless))      # cached by its shape where that is safe
                assert [m[0] for m in c.read_until_ready()][-2:] == ["C", "Z"], harmless
            c.send(Query(risky))
            first = c.read(timeout=15)
            denied = first[0] == "E" and first[1]["C"] == "42501"
            held = first[0] == "N" and "held for approval" in first[1]["M"]
            assert denied or held, (risky, first)
        finally:
            c.close()   # a held request is withdrawn with its session


def test_held_ddl_waits_while_others_run_and_a_second_identity_grants_it(aring, adirect):
    h = Held(aring, "create table approve_ddl (id int primary key)")
    try:
        rid = h.request_id()
        assert "hoop-approve grant " + rid in " ".join(h.notices)
        # Other sessions are not held up.
        t0 = time.monotonic()
        with psycopg.connect(aring.gateway_dsn(user=AGENT), autocommit=True) as other:
            assert other.execute("select count(*) from providers where id = 1").fetchone() == (1,)
        assert time.monotonic() - t0 < 10
        assert h.thread.is_alive() and h.result is None, "the held statement ran without approval"
        assert adirect.execute("select to_regclass('approve_ddl')").fetchone() == (None,)
        listed = pending(aring, id=rid)
        assert listed and listed[0]["kind"] == "query" and listed[0]["requester"]["user"] == AGENT
        full = show(aring, rid)
        assert full["sql"] == "create table approve_ddl (id int primary key)" and full["state"] == "pending"
        assert full["classification"]["statements"][0]["kind"] == "ddl"
        # The requester, even in the approvers group, cannot approve it; nor can a non-approver.
        own = approve(aring, "grant", rid, user=AGENT, groups=("clinicians", "approvers"))
        assert own.returncode != 0 and "nobody approves their own request" in own.stderr
        other = approve(aring, "grant", rid, user="mallory@example.org", groups=("clinicians",))
        assert other.returncode != 0 and "may not decide" in other.stderr
        # Nor a machine's token in the approvers' group (a CI bot, another agent): only a
        # person releases held work; the request is not even listed to it.
        bot = approve(aring, "grant", rid, user="ci-bot@example.org", groups=("approvers",), agent=True)
        assert bot.returncode != 0 and "may not decide" in bot.stderr
        listed_to_bot = approve(aring, "list", "--json", user="ci-bot@example.org", groups=("approvers",), agent=True)
        assert listed_to_bot.returncode == 0 and rid not in listed_to_bot.stdout
        assert h.thread.is_alive()
        ok = approve(aring, "grant", rid, "--reason", "schema change reviewed")
        assert ok.returncode == 0 and "approved" in ok.stdout, ok.stderr
        h.finish()
        assert h.error is None and h.result == "CREATE TABLE"
        assert adirect.execute("select to_regclass('approve_ddl')::text").fetchone() == ("approve_ddl",)
    finally:
        h.close()
    session = [f for f in audit_frames(aring, ["hold"]) if f["request_id"] == rid][0]["session"]
    frames = aring.session_frames(session)
    kinds = [f["type"] for f in frames]
    assert kinds.index("hold") < kinds.index("approved") < kinds.index("complete")
    decision = wait_for(lambda: [f for f in audit_frames(aring, ["decision"]) if f["request_id"] == rid], 5)
    assert decision and decision[0]["approver"]["user"] == APPROVER and decision[0]["reason"] == "schema change reviewed"
    approved = [f for f in frames if f["type"] == "approved"][0]
    assert approved["decisions"][0]["approver"]["user"] == APPROVER


def test_psql_held_write_is_denied_with_the_reason(aring, adirect):
    before = adirect.execute("select count(*) from encounters").fetchone()[0]
    p = subprocess.Popen([PSQL, "-X", "-d", aring.gateway_dsn(user=AGENT), "-c", "delete from encounters"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
    try:
        held = wait_for(lambda: [x for x in pending(aring) if x.get("normalized") == "delete from encounters"], 15)
        assert held, "the unbounded delete was not held"
        rid = held[0]["id"]
        assert held[0]["reasons"] == ["writes whose WHERE clause does not pin them to a few rows"]
        r = approve(aring, "deny", rid, "--reason", "not during clinic hours")
        assert r.returncode == 0, r.stderr
        out, err = p.communicate(timeout=20)
    finally:
        p.kill()
    assert f"held for approval as {rid}" in err
    assert f"request {rid} was denied by an approver: not during clinic hours" in err
    assert adirect.execute("select count(*) from encounters").fetchone()[0] == before
    deny = [f for f in audit_frames(aring, ["deny"]) if f.get("request_id") == rid]
    assert deny and deny[0]["reason"] == "approver"
    assert deny[0]["sql"] == "delete from encounters", "a refused request's text belongs in the audit trail"


def test_multi_statement_request_is_held_whole(aring, adirect):
    h = Held(aring, "select 1; drop table providers")
    try:
        rid = h.request_id()
        assert h.result is None
        assert approve(aring, "deny", rid, "--reason", "no").returncode == 0
        h.finish()
        assert isinstance(h.error, psycopg.errors.InsufficientPrivilege)
    finally:
        h.close()
    assert adirect.execute("select to_regclass('providers')::text").fetchone() == ("providers",)


def test_extended_protocol_is_judged_at_execute(aring, adirect):
    c = PGWire("127.0.0.1", aring.listen_port, timeout=30)
    c.startup(AGENT, "clinic", aring.token(AGENT), {"application_name": "approve-wire"})
    try:
        # A Parse runs nothing: it passes at once.
        c.send(Parse("ddl", "create table approve_ext (x int)"), Sync())
        assert [m[0] for m in c.read_until_ready()] == ["1", "Z"]
        c.send(Bind("", "ddl"), Execute("", 0), Sync())
        first = c.read(timeout=15)
        assert first[0] == "N" and "held for approval" in first[1]["M"], first
        rid = ID.search(first[1]["M"]).group(0)
        c.expect_nothing(1.0)
        assert approve(aring, "grant", rid).returncode == 0
        assert [m[0] for m in c.read_until_ready(timeout=20)] == ["2", "C", "Z"]
        assert adirect.execute("select to_regclass('approve_ext')::text").fetchone() == ("approve_ext",)
        # A denied Execute skips the rest of the pipeline, as after any error.
        c.send(Parse("", "drop table approve_ext"), Bind("", ""), Execute("", 0),
               Parse("", "select 'skipped'"), Bind("", ""), Execute("", 0), Sync())
        rid = ID.search(c.read(timeout=15)[1]["M"]).group(0)
        assert approve(aring, "deny", rid, "--reason", "keep it").returncode == 0
        msgs = c.read_until_ready(timeout=20)
        assert [m[0] for m in msgs] == ["1", "2", "E", "Z"], msgs
        assert msgs[2][1]["C"] == "42501" and "keep it" in msgs[2][1]["M"]
    finally:
        c.close()


def test_a_statement_after_an_approved_one_in_its_pipeline_is_judged_as_itself(aring, adirect):
    # The unnamed statement parsed again later in the pipeline is the new text for the
    # pipeline's own Executes (if the Parse were skipped, so would they be).
    adirect.execute("create table if not exists approve_pipe (x int)")
    adirect.execute("insert into approve_pipe values (1), (2)")
    c = PGWire("127.0.0.1", aring.listen_port, timeout=30)
    c.startup(AGENT, "clinic", aring.token(AGENT), {"application_name": "approve-pipe"})
    try:
        c.send(Parse("", "delete from approve_pipe"), Bind("", ""), Execute("", 0),
               Parse("", "select 'after'"), Bind("", ""), Execute("", 0), Sync())
        first = c.read(timeout=15)
        assert first[0] == "N" and "held for approval" in first[1]["M"], first
        assert approve(aring, "grant", ID.search(first[1]["M"]).group(0)).returncode == 0
        msgs = c.read_until_ready(timeout=20)
        assert [m[0] for m in msgs] == ["1", "2", "C", "1", "2", "D", "C", "Z"], msgs
    finally:
        c.close()
        adirect.execute("drop table if exists approve_pipe")


def test_prepared_statement_is_judged_when_executed(aring):
    with psycopg.connect(aring.gateway_dsn(user=AGENT), autocommit=True) as c:
        c.execute("prepare wipe as delete from encounters")     # runs nothing
        c.execute("prepare one(int) as select id from patients where id = $1")
        assert c.execute("execute one(3)").fetchone() == (3,)
    h = Held(aring, "execute wipe", setup=["prepare wipe as delete from encounters"])
    try:
        rid = h.request_id()
        assert show(aring, rid)["reasons"] == ["writes whose WHERE clause does not pin them to a few rows"]
        approve(aring, "deny", rid, "--reason", "no")
        h.finish()
        assert isinstance(h.error, psycopg.errors.InsufficientPrivilege)
    finally:
        h.close()


def test_a_prepared_name_cannot_be_swapped_for_a_harmless_one(aring, adirect):
    """A second PREPARE (or Parse) of a name the server refuses must not make the
    stage judge the name by the harmless text; a protocol Bind of a SQL-prepared name
    is judged by what it was prepared as."""
    before = adirect.execute("select count(*) from encounters").fetchone()[0]
    c = PGWire("127.0.0.1", aring.listen_port, timeout=30)
    c.startup(AGENT, "clinic", aring.token(AGENT), {"application_name": "approve-swap"})
    try:
        c.send(Query("prepare swap as delete from encounters"))
        assert [m[0] for m in c.read_until_ready()] == ["C", "Z"]
        c.send(Query("prepare swap as select 1"))          # the server refuses: swap exists
        assert [m[0] for m in c.read_until_ready()] == ["E", "Z"]
        c.send(Bind("", "swap"), Execute("", 0), Sync())
        held = c.read(timeout=15)
        assert held[0] == "N" and "held for approval" in held[1]["M"], held
        assert approve(aring, "deny", ID.search(held[1]["M"]).group(0), "--reason", "no").returncode == 0
        assert [m[0] for m in c.read_until_ready(timeout=20)][-2:] == ["E", "Z"]
        c.send(Parse("named", "delete from encounters"), Sync())
        assert [m[0] for m in c.read_until_ready()] == ["1", "Z"]
        c.send(Parse("named", "select 1"), Sync())          # refused: "named" exists
        assert [m[0] for m in c.read_until_ready()] == ["E", "Z"]
        c.send(Query("execute named"))
        held = c.read(timeout=15)
        assert held[0] == "N" and "held for approval" in held[1]["M"], held
        rid = ID.search(held[1]["M"]).group(0)
        assert "named was prepared as: delete from encounters" in show(aring, rid)["sql"]
        assert approve(aring, "deny", rid, "--reason", "no").returncode == 0
        assert [m[0] for m in c.read_until_ready(timeout=20)] == ["E", "Z"]
        # One namespace on the server for Parse and SQL PREPARE (security review).
        c.send(Parse("shared", "select 1"), Close("S", "shared"), Sync())
        assert [m[0] for m in c.read_until_ready()] == ["1", "3", "Z"]
        c.send(Query("prepare shared as delete from encounters"))
        assert [m[0] for m in c.read_until_ready()] == ["C", "Z"]
        c.send(Bind("", "shared"), Execute("", 0), Sync())
        held = c.read(timeout=15)
        assert held[0] == "N" and "held for approval" in held[1]["M"], held
        assert approve(aring, "deny", ID.search(held[1]["M"]).group(0), "--reason", "no").returncode == 0
        assert [m[0] for m in c.read_until_ready(timeout=20)][-2:] == ["E", "Z"]
        c.send(Query("prepare other as select 1; deallocate other"))
        c.read_until_ready()
        c.send(Parse("other", "update patients set phone = null"), Sync())
        assert [m[0] for m in c.read_until_ready()] == ["1", "Z"]
        c.send(Query("execute other"))
        held = c.read(timeout=15)
        assert held[0] == "N" and "held for approval" in held[1]["M"], held
        assert approve(aring, "deny", ID.search(held[1]["M"]).group(0), "--reason", "no").returncode == 0
        assert [m[0] for m in c.read_until_ready(timeout=20)] == ["E", "Z"]
    finally:
        c.close()
    assert adirect.execute("select count(*) from encounters").fetchone()[0] == before
    assert adirect.execute("select count(*) from patients where phone is null").fetchone()[0] < 5000


def test_an_approval_is_for_the_bound_values(aring):
    """The approver sees the parameters bound to a held Execute; the same text with
    other values is another request."""
    c = PGWire("127.0.0.1", aring.listen_port, timeout=30)
    c.startup(AGENT, "clinic", aring.token(AGENT), {"application_name": "approve-params"})
    try:
        c.send(Parse("", "delete from encounters where department = $1 or $2"), Bind("", "", ["Nowhere", "true"]),
               Execute("", 0), Sync())
        held = c.read(timeout=15)
        assert held[0] == "N" and "held for approval" in held[1]["M"], held
        rid = ID.search(held[1]["M"]).group(0)
        assert '["Nowhere","true"]' in show(aring, rid)["sql"]
        assert approve(aring, "deny", rid, "--reason", "no").returncode == 0
        c.read_until_ready(timeout=20)
    finally:
        c.close()


def test_an_agent_whose_kind_claim_is_a_list_decides_nothing(aring):
    """A machine's token in the approvers' group whose kind claim is a list
    (`"hoop_kind": ["agent"]`, as providers emit custom attributes) is an agent: it
    neither lists nor decides the held request (it was read as a person, and granted it)."""
    h = Held(aring, "create table approve_kind_list (id int)")
    try:
        rid = h.request_id()
        bot = reissued(aring, aring.token("ci-bot@example.org", "approvers", agent=True), hoop_kind=["agent"])
        # The test's re-signing is sound: a re-signed token verifies (and the requester's own is refused as such).
        own = approve(aring, "grant", rid, token=reissued(aring, aring.token(AGENT, "clinicians", "approvers")))
        assert own.returncode != 0 and "nobody approves their own request" in own.stderr, own.stderr
        granted = approve(aring, "grant", rid, "--reason", "a machine", token=bot)
        assert granted.returncode != 0 and "may not decide" in granted.stderr, granted.stdout + granted.stderr
        listed = approve(aring, "list", "--json", token=bot)
        assert listed.returncode == 0 and rid not in listed.stdout
        assert h.thread.is_alive() and h.result is None, "the held statement ran"
        assert approve(aring, "deny", rid, "--reason", "not now").returncode == 0
        h.finish()
    finally:
        h.close()


def test_the_approver_sees_the_search_path_and_an_approval_is_tied_to_it(aring):
    """After `set search_path = approve_shadow, public` a bare name in a held statement
    may be approve_shadow's: `show` (text and --json) gives the session's search_path,
    and the same text from a session under another search_path is another request (it
    shared this one, and its approval)."""
    sql = "create table approve_search_path (id int)"
    shadow = Held(aring, sql, setup=("set search_path = approve_shadow, public",))
    plain = None
    try:
        rid = shadow.request_id()
        full = show(aring, rid)
        session = full["classification"].get("session") or {}
        assert (session.get("search_path") or [None])[0] == "approve_shadow, public", full["classification"]
        assert "approve_shadow" in full["sql"]
        text = approve(aring, "show", rid)
        assert text.returncode == 0 and re.search(r"^search_path\s+approve_shadow, public", text.stdout, re.M), text.stdout
        plain = Held(aring, sql)
        other = plain.request_id()
        assert other != rid, "the same text under the role's default search_path joined the held request"
        assert "session" not in show(aring, other)["classification"]
        for r in (rid, other):
            assert approve(aring, "deny", r, "--reason", "not now").returncode == 0
        shadow.finish()
        plain.finish()
        assert shadow.result is None and plain.result is None
    finally:
        shadow.close()
        if plain:
            plain.close()


def test_a_text_that_writes_the_search_path_line_itself_is_another_request(aring):
    """A session on the role's default search_path that sends, word for word, the text a
    session under another search_path was held with (its `-- search_path:` line
    included) must not join that request nor use its approval (review, s45): its own
    text gets the line of the role's default."""
    sql = "create table approve_search_path_line (id int)"
    shadow = Held(aring, sql, setup=("set search_path = approve_shadow, public",))
    forged = None
    try:
        rid = shadow.request_id()
        held_text = show(aring, rid)["sql"]
        assert "-- search_path" in held_text
        forged = Held(aring, held_text)
        other = forged.request_id()
        assert other != rid, "a forged search_path line joined the request held under another search_path"
        assert "the role's default" in show(aring, other)["sql"]
        for r in (rid, other):
            assert approve(aring, "deny", r, "--reason", "not now").returncode == 0
        shadow.finish()
        forged.finish()
    finally:
        shadow.close()
        if forged:
            forged.close()


def test_cancel_withdraws_a_held_request(aring):
    h = Held(aring, "truncate encounters")
    try:
        rid = h.request_id()
        h.conn.cancel()
        h.finish()
        assert isinstance(h.error, psycopg.errors.QueryCanceled), h.error
        assert not pending(aring, id=rid)
        assert show(aring, rid)["state"] == "canceled"
        # The session goes on.
        assert h.conn.execute("select 5").fetchone() == (5,)
    finally:
        h.close()


def test_a_client_that_leaves_withdraws_its_held_request(aring):
    """The client's connection ends while its statement is held: the request is withdrawn
    (a ring restart, below, keeps it pending instead)."""
    c = PGWire("127.0.0.1", aring.listen_port, timeout=30)
    c.startup(AGENT, "clinic", aring.token(AGENT), {"application_name": "approve-leaves"})
    try:
        c.send(Query("truncate encounters"))
        held = c.read(timeout=15)
        assert held[0] == "N" and "held for approval" in held[1]["M"], held
        rid = ID.search(held[1]["M"]).group(0)
    finally:
        c.close(terminate=False)   # the socket just closes
    assert wait_for(lambda: show(aring, rid)["state"] == "canceled", 15), show(aring, rid)
    assert not pending(aring, id=rid)


def test_restart_of_the_ring_keeps_a_pending_request(aring, adirect):
    sql = "create index approve_restart_idx on encounters (department)"
    h = Held(aring, sql)
    try:
        rid = h.request_id()
        r = aring.hoop("restart", timeout=120)
        assert r.returncode == 0, r.stderr
        h.finish(30)
        assert h.error is not None, "the client's session should end with the ring"
    finally:
        h.close()
    aring.wait_port(60)
    assert [x["id"] for x in pending(aring, id=rid)] == [rid], "the pending request was lost in the restart"
    assert approve(aring, "grant", rid, "--reason", "after the restart").returncode == 0
    # The same identity sends the same statement again: it runs once, without a new hold.
    with psycopg.connect(aring.gateway_dsn(user=AGENT), autocommit=True) as c:
        notices = []
        c.add_notice_handler(lambda d: notices.append(d.message_primary))
        c.execute(sql)
        assert not notices, notices
    assert adirect.execute("select to_regclass('approve_restart_idx')::text").fetchone() == ("approve_restart_idx",)
    assert show(aring, rid)["state"] == "used"


def test_rules_of_the_configuration_justification_two_approvals_and_timeout(aring, adirect):
    """Last in this module: it replaces the rules (and shortens the hold timeout)."""
    adirect.execute("create table if not exists approve_billing (id int primary key, amount int)")
    adirect.execute("insert into approve_billing values (1, 10) on conflict do nothing")

    def change(cfg):
        a = cfg["connections"]["clinic"]["approval"]
        a["hold_timeout_seconds"] = 8
        a["rules"] = [
            {"name": "billing", "action": "review", "match": {"tables": "approve_billing"},
             "approvals": 2, "require_justification": True, "message": "touches billing"},
            {"name": "rest", "action": "allow"},
        ]
    aring.reconfigure(change)
    # No justification: refused at once, saying how to give one.
    with psycopg.connect(aring.gateway_dsn(user=AGENT), autocommit=True) as c:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="hoop.justification"):
            c.execute("select * from approve_billing where id = 1")
    # With one: held, and two approvers are needed.
    h = Held(aring, "update approve_billing set amount = 20 where id = 1",
             setup=["set hoop.justification = 'ticket 4711: corrected invoice'"])
    try:
        rid = h.request_id()
        full = show(aring, rid)
        assert full["justification"] == "ticket 4711: corrected invoice" and full["approvals_required"] == 2
        r = approve(aring, "grant", rid)
        assert r.returncode == 0 and "1 of 2" in r.stdout
        time.sleep(1)
        assert h.thread.is_alive(), "ran with one approval of two"
        assert approve(aring, "grant", rid, user="carol@example.org").returncode == 0
        h.finish()
        assert h.error is None and h.result == "UPDATE 1"
    finally:
        h.close()
    assert adirect.execute("select amount from approve_billing where id = 1").fetchone() == (20,)
    # Nobody decides: the client gets an error when the hold times out.
    t0 = time.monotonic()
    h = Held(aring, "delete from approve_billing where id = 1", setup=["set hoop.justification = 'cleanup'"])
    try:
        rid = h.request_id()
        h.finish(30)
        assert isinstance(h.error, psycopg.errors.InsufficientPrivilege) and "not approved in time" in str(h.error)
        assert 5 <= time.monotonic() - t0 < 25
    finally:
        h.close()
    assert show(aring, rid)["state"] == "expired"
    assert adirect.execute("select count(*) from approve_billing").fetchone() == (1,)
