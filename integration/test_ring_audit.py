"""The audit trail a session leaves in $HOOP_VAR/audit.sqlite: its session_open
(with the verified identity and without the credential: the token the client signed
in with appears nowhere in the store nor in any log), its requests, and its results,
in order."""

from __future__ import annotations

import base64
import json
import uuid

import psycopg

from helpers.ring import stage_names, wait_for

REQUEST_TYPES = {"session_open", "query", "parse", "bind", "describe", "execute", "close", "sync", "flush", "cancel"}
RESPONSE_TYPES = {"session_opened", "columns", "rows", "complete", "empty", "suspended", "parse_complete",
                  "bind_complete", "close_complete", "no_data", "parameters", "parameter_status", "notice",
                  "error", "ready"}




def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_session_audit_trail(ring):
    app = "hoop-audit-" + uuid.uuid4().hex
    user = "auditor-" + uuid.uuid4().hex[:8] + "@example.org"
    password = ring.mint(user, "clinicians")     # a token of the development issuer
    simple_sql = "select 1 as a, 'x' as b, null::text as c"
    with psycopg.connect(ring.gateway_dsn(application_name=app, password=password, user=user),
                         autocommit=True, connect_timeout=15) as conn:
        r1 = conn.execute(simple_sql).fetchall()
        # a text parameter (psycopg sends str in text format; binary ones are tested elsewhere)
        r2 = conn.execute("select g, md5(g::text) from generate_series(1, 2500) g where g > %s::int", ("0",)).fetchall()
        try:
            conn.execute("select 1/0")
        except psycopg.errors.DivisionByZero:
            pass
        r3 = conn.execute("select 'after error'").fetchall()

    sessions = wait_for(lambda: ring.session_ids_for_app(app))
    assert len(sessions) == 1, f"expected one session_open with application_name {app}, found {sessions}"
    frames = wait_for(lambda: (lambda f: f if any(x["type"] == "session_closed" for x in f) else None)(
        ring.session_frames(sessions[0]))) or ring.session_frames(sessions[0])
    kinds = [f["type"] for f in frames]

    # session_open first, without the credential, after auth
    assert kinds[0] == "session_open", kinds[:5]
    open_ = frames[0]
    assert "credential" not in open_, "the credential reached the audit store"
    assert open_.get("seq") == 0
    assert open_.get("stamp:auth") is True and open_.get("stamp:approve") is True, open_
    identity = open_.get("identity")
    assert isinstance(identity, dict) and identity.get("user") == user, open_
    assert open_.get("database") == "clinic"
    # docs/auth.md "Decisions are frames": the verified identity, no credential
    claims = claims_of(password)
    assert open_.get("decision") == "allowed", open_
    assert identity.get("issuer") == claims["iss"], identity
    assert identity.get("subject") == claims["sub"], identity
    assert identity.get("email") == user, identity
    assert identity.get("groups") == ["clinicians"], identity
    assert identity.get("kind") == "person", identity
    assert identity.get("token_expires_at") == claims["exp"], identity
    assert isinstance(identity.get("session_ends_at"), int) and \
        identity["session_ends_at"] <= claims["exp"], identity
    assert not {"credential", "token", "password"} & set(identity), identity

    # The credential appears nowhere: not in any frame of any session, not in any
    # log; nor does a token's signature on its own (a partial leak).
    needles = [password, password.rsplit(".", 1)[1]]
    with ring.audit() as db:
        total = db.execute("SELECT count(*) FROM frames").fetchone()[0]
        for needle in needles:
            hits = db.execute("SELECT count(*) FROM frames WHERE instr(CAST(frame AS TEXT), ?) > 0",
                              (needle,)).fetchone()[0]
            assert hits == 0, f"the client's credential appears in {hits} audit frame(s)"
    assert total > 0
    for log in (ring.var / "log").glob("*.log"):
        text = log.read_text(errors="replace")
        for needle in needles:
            assert needle not in text, f"the client's credential appears in {log}"

    # the columns of the frames table match the frames they hold
    for f in frames:
        assert f["_column_type"] == f["type"] and f["_column_seq"] == f.get("seq"), f

    # requests, in order, each before whatever answers it
    requests = [f for f in frames if f["type"] in REQUEST_TYPES]
    seqs = [f["seq"] for f in requests]
    assert seqs == list(range(len(seqs))), f"request seqs are not 0, 1, 2, ...: {seqs}"
    first_seen = {}
    for i, f in enumerate(frames):
        if f["type"] in REQUEST_TYPES:
            first_seen.setdefault(f["seq"], i)
    for i, f in enumerate(frames):
        if f["type"] in RESPONSE_TYPES:
            assert f.get("seq") in first_seen and first_seen[f["seq"]] < i, \
                f"response {f['type']} seq {f.get('seq')} is recorded before its request"
            assert f.get("stamp:mask") is True, f"response {f['type']} recorded without stamp:mask"
    response_seqs = [f["seq"] for f in frames if f["type"] in RESPONSE_TYPES]
    assert response_seqs == sorted(response_seqs), "responses recorded out of order"

    queries = [f for f in requests if f["type"] == "query"]
    assert queries[0]["sql"] == simple_sql
    parses = [f for f in requests if f["type"] == "parse"]
    assert any("generate_series(1, 2500)" in p["sql"] for p in parses), [p["sql"] for p in parses]
    binds = [f for f in requests if f["type"] == "bind"]
    assert binds and binds[0].get("params") is not None

    # results: what the client received, in the order it received it
    def rows_of(seq_from, seq_to):
        out = []
        for f in frames:
            if f["type"] == "rows" and seq_from <= f["seq"] < seq_to:
                out.extend(f["rows"])
        return out
    q1 = queries[0]["seq"]
    q1_end = min(f["seq"] for f in requests if f["seq"] > q1)
    assert rows_of(q1, q1_end) == [["1", "x", None]]
    assert r1 == [(1, "x", None)]
    p2 = next(p["seq"] for p in parses if "2500" in p["sql"])
    p2_end = next(f["seq"] for f in requests if f["seq"] > p2 and f["type"] == "sync") + 1
    audited = rows_of(p2, p2_end)
    assert audited == [[str(g), m] for g, m in r2], "the audited rows differ from what the client received"
    assert len(audited) == 2500
    errors = [f for f in frames if f["type"] == "error"]
    assert [e.get("code") for e in errors] == ["22012"], errors
    assert rows_of(0, 10**9)[-1] == ["after error"] and r3 == [("after error",)]
    completes = [f["tag"] for f in frames if f["type"] == "complete"]
    assert completes == ["SELECT 1", "SELECT 2500", "SELECT 1"], completes
    assert kinds[-2:] == ["session_close", "session_closed"] or kinds[-1] == "session_closed", kinds[-4:]


def test_every_stage_logs_to_its_own_file(ring):
    logs = {p.stem for p in (ring.var / "log").glob("*.log")}
    missing = [s for s in stage_names() if s not in logs]
    assert not missing, f"no log file for stage(s) {missing} in {ring.var / 'log'} (have {sorted(logs)})"


def test_up_returned_when_accepting(ring):
    assert ring.accepting_when_up_returned, "`scripts/hoop up -d` returned before the gateway accepted connections"
    r = ring.hoop("status")
    assert r.returncode == 0, r.stdout + r.stderr
