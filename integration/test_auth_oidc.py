"""hoop-auth against a real OIDC provider (docs/auth.md).

Issuers:
- MOCK: oidc-provider-mock (PyPI), run in this process on 127.0.0.1, RS256, tokens
  from its authorization-code flow (integration/helpers/oidc.py). Claims a user carries
  (`exp`, `nbf`, `iat`, `iss`, `aud`, groups, padding) go into the id token the mock
  itself signs, so expired, not-yet-valid, wrong-issuer and wrong-audience tokens
  carry a genuine signature. The module's ring gets an `auth` section pointing at it
  (hoop.json rewritten, `scripts/hoop restart`).
- DEV: the development issuer (`scripts/hoop token`) of a ring with the embedded
  default configuration (the session's `ring`): short-lived tokens and agents.

A refusal is checked end to end: the client gets a FATAL ErrorResponse with the
SQLSTATE of docs/auth.md and a message that names the reason and quotes no token;
the audit store holds hoop-auth's `error` frame with that reason and nothing of the
session went further (no session_open, no query); a marker INSERT sent by psql is not
in the table; and PostgreSQL never saw a connection with the attempt's
application_name (log_connections, checked behind a barrier connection that must
show up in the log).
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import time
import uuid

import psycopg
import pytest

from helpers.oidc import (CLINIC_ALLOW, MockIssuer, b64u, hmac_signed, hoop_auth_section, jws_parts,
                          public_pem, rs256, rsa_key, verifies_with, with_header, with_payload)
from helpers.pgwire import PGWire, Query, ServerClosed, message, startup_packet
from helpers.ring import PSQL, RingError, clean_env, conninfo, port_open, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MARKER_TABLE = "hoop_auth_markers"

# What the refusal message must mention, per reason of docs/auth.md.
REASON_WORDS = {
    "malformed": r"malformed|well-formed|not a (valid )?(jws|jwt|token)|too (large|long|big)|base64|format",
    "algorithm": r"algorithm|\balg\b",
    "unknown_key": r"\bkey\b|\bkid\b",
    "signature": r"signature",
    "issuer": r"issuer",
    "audience": r"audience",
    "expired": r"expired",
    "not_yet_valid": r"not (yet )?valid|\bnbf\b|before",
    "issued_in_future": r"future|issued",
    "missing_claim": r"claim|missing",
    "invalid_claim": r"claim",
    "user_mismatch": r"user",
    "not_allowed": r"not allowed|may not|allow|polic|permit",
    "token_expired": r"expired",
    "window_closed": r"window|session|closed|ended|time",
}


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def now() -> int:
    return int(time.time())


# --- the ring ---------------------------------------------------------------------------

def configure(ring, auth: dict, allow: list) -> None:
    """Rewrites the `auth` section and the clinic connection's `allow` rules of the
    ring's hoop.json, then `scripts/hoop restart` (the stages re-read it)."""
    path = ring.var / "hoop.json"
    config = json.loads(path.read_text())
    if config.get("auth") == auth and config["connections"]["clinic"].get("allow") == allow:
        return
    config["auth"] = auth
    config["connections"]["clinic"]["allow"] = allow
    path.write_text(json.dumps(config, indent=2) + "\n")
    ring.restart()


def enable_log_connections(ring) -> None:
    with ring.admin() as a:
        a.execute("ALTER SYSTEM SET log_connections = on")
        a.execute("SELECT pg_reload_conf()")
        a.execute(f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (marker text PRIMARY KEY)")
        a.execute(f"GRANT INSERT, SELECT ON {MARKER_TABLE} TO hoop_gateway")
    time.sleep(0.5)


def postgres_log(ring) -> str:
    try:
        return (ring.var / "log" / "postgres.log").read_text(errors="replace")
    except FileNotFoundError:
        return ""


def markers_in_table(ring, marker: str) -> int:
    with ring.admin() as a:
        return a.execute(f"SELECT count(*) FROM {MARKER_TABLE} WHERE marker = %s", (marker,)).fetchone()[0]


def last_frame_id(ring) -> int:
    with ring.audit() as db:
        return db.execute("SELECT coalesce(max(id), 0) FROM frames").fetchone()[0]


def frames_since(ring, after: int) -> list[dict]:
    with ring.audit() as db:
        rows = db.execute("SELECT id, CAST(frame AS TEXT) AS f FROM frames WHERE id > ? ORDER BY id",
                          (after,)).fetchall()
    return [dict(json.loads(r["f"]), _id=r["id"]) for r in rows]


def token_pieces(token: str) -> list[str]:
    """The token, and each of its parts long enough to be unmistakable."""
    return [p for p in [token] + token.split(".") if len(p) >= 16]


def assert_token_nowhere(ring, token: str) -> None:
    pieces = token_pieces(token)
    with ring.audit() as db:
        for piece in pieces:
            n = db.execute("SELECT count(*) FROM frames WHERE instr(CAST(frame AS TEXT), ?) > 0",
                           (piece,)).fetchone()[0]
            assert n == 0, f"the token (or a part of it, {len(piece)} chars) is in {n} audit frame(s)"
    for log in (ring.var / "log").glob("*.log"):
        text = log.read_text(errors="replace")
        for piece in pieces:
            assert piece not in text, f"the token (or a part of it) is in {log}"


# --- clients ----------------------------------------------------------------------------

class Refused(Exception):
    pass


def wire_attempt(ring, user: str, password: str, app: str, timeout: float = 30):
    """StartupMessage, the password, then either ReadyForQuery (returns the open
    PGWire) or an ErrorResponse (returns (fields, closed_afterwards, messages_after))."""
    c = PGWire("127.0.0.1", ring.listen_port, timeout=timeout)
    c.send(startup_packet({"user": user, "database": "clinic", "application_name": app}))
    while True:
        t, v = c.read()
        if t == "R" and v[0] == 3:
            c.send(message("p", password.encode() + b"\0"))
        elif t == "R" and v[0] == 0:
            continue
        elif t == "R":
            raise AssertionError(f"the gateway asked for authentication method {v[0]}, not cleartext (3)")
        elif t == "E":
            after = []
            try:
                after = c.read_until_closed(5)
            except socket.timeout:
                pass
            closed = c.closed
            c.close(terminate=False)
            return v, closed, after
        elif t == "Z":
            return c


def psql_run(ring, user: str, password: str, app: str, sql: str):
    """psql with the token in PGPASSWORD (never on a command line), -w: never prompt."""
    env = clean_env()
    env["PGPASSWORD"] = password
    dsn = conninfo(host="127.0.0.1", port=ring.listen_port, dbname="clinic", user=user, sslmode="disable",
                   gssencmode="disable", application_name=app)
    return subprocess.run([PSQL, "-X", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql],
                          capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)




def log_barrier(ring, user: str, token: str) -> None:
    """A session that must reach PostgreSQL and show up in its log: once its line is
    there, any earlier connection would be too."""
    app = uid("hoop-barrier")
    c = wire_attempt(ring, user, token, app)
    assert isinstance(c, PGWire), f"the barrier session was refused: {c}"
    c.send(Query("select 1"))
    c.read_until_ready(15)
    c.close()
    assert wait_for(lambda: app in postgres_log(ring), 10), \
        "log_connections does not show a session that reached PostgreSQL: the log check would prove nothing"


def assert_refused(ring, user: str, token: str, reasons: set[str], code: str = "28000",
                   barrier: tuple[str, str] | None = None, psql: bool = True) -> str:
    """The refusal, end to end (see the module's docstring). Returns the reason."""
    before = last_frame_id(ring)
    app = uid("hoop-refused")
    out = wire_attempt(ring, user, token, app)
    if isinstance(out, PGWire):
        out.close()
        raise AssertionError(f"the gateway let the session in (expected {sorted(reasons)})")
    fields, closed, after = out
    words = "|".join(REASON_WORDS[r] for r in reasons)
    msg = fields.get("M", "")
    assert fields.get("S") == "FATAL" and fields.get("V", "FATAL") == "FATAL", fields
    assert fields.get("C") == code, f"SQLSTATE {fields.get('C')}, want {code}: {fields}"
    assert msg.startswith("hoop:"), fields
    assert re.search(words, msg, re.I), f"the message does not say why ({sorted(reasons)}): {msg!r}"
    for piece in token_pieces(token):
        assert piece not in json.dumps(fields), "the error quotes the token"
    assert closed and not after, f"the connection stayed open or went on after the FATAL error: {after}"

    ps_app = None
    if psql and token:
        ps_app = uid("hoop-refused-psql")
        r = psql_run(ring, user, token, ps_app, f"insert into {MARKER_TABLE} values ('{ps_app}')")
        assert r.returncode != 0, f"psql got in: {r.stdout}"
        assert "FATAL:  hoop:" in r.stderr and re.search(words, r.stderr, re.I), r.stderr
        assert markers_in_table(ring, ps_app) == 0, "the refused session's INSERT ran upstream"

    # The audit store: hoop-auth's decision, and nothing of the session beyond it.
    frames = frames_since(ring, before)
    denials = [f for f in frames if f.get("type") == "error" and f.get("stage") == "hoop-auth"]
    assert len(denials) == (2 if ps_app else 1), f"hoop-auth error frames since the attempt: {denials}"
    for d in denials:
        assert d.get("decision") == "denied" and d.get("fatal") is True and d.get("seq") == 0, d
        assert d.get("reason") in reasons, f"recorded reason {d.get('reason')!r}, want {sorted(reasons)}: {d}"
        assert d.get("code") == code, d
        session = d.get("session")
        mine = [f["type"] for f in frames if f.get("session") == session]
        assert not {"session_open", "session_opened", "query", "parse", "bind", "execute"} & set(mine), \
            f"session {session} went past hoop-auth: {mine}"
    assert len({d["reason"] for d in denials}) == 1, f"the same token got different reasons: {denials}"
    assert_token_nowhere(ring, token) if token else None

    # PostgreSQL never saw the attempt.
    if barrier:
        log_barrier(ring, *barrier)
        text = postgres_log(ring)
        assert app not in text and (ps_app is None or ps_app not in text), \
            "PostgreSQL saw a connection from the refused attempt"
    return denials[0]["reason"]


def assert_allowed(ring, user: str, token: str, app: str | None = None) -> str:
    app = app or uid("hoop-allowed")
    c = wire_attempt(ring, user, token, app)
    assert isinstance(c, PGWire), f"refused: {c[0] if isinstance(c, tuple) else c}"
    c.send(Query(f"select 'in', '{app}'"))
    msgs = c.read_until_ready(15)
    c.close()
    rows = [v for t, v in msgs if t == "D"]
    assert rows == [[b"in", app.encode()]], msgs
    return app


def identity_of(ring, app: str) -> tuple[dict, dict]:
    sessions = wait_for(lambda: ring.session_ids_for_app(app), 10)
    assert len(sessions) == 1, f"sessions with application_name {app}: {sessions}"
    open_ = ring.session_frames(sessions[0])[0]
    assert open_["type"] == "session_open", open_
    return open_, open_.get("identity") or {}


def keys_named(obj, names: set[str]) -> list[str]:
    found = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in names:
                found.append(k)
            found += keys_named(v, names)
    elif isinstance(obj, list):
        for v in obj:
            found += keys_named(v, names)
    return found


# --- fixtures -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mock():
    m = MockIssuer().start()
    yield m
    if m.running:
        m.stop()


@pytest.fixture(scope="module")
def base_ring(module_ring):
    enable_log_connections(module_ring)
    return module_ring


@pytest.fixture
def oring(base_ring, mock):
    """The module's ring, verifying against MOCK."""
    configure(base_ring, hoop_auth_section(mock), CLINIC_ALLOW)
    return base_ring


ABSENT = object()   # a claim Person leaves out of the token


class Person:
    """A user of MOCK: sub, email, and an id token with the claims asked for. As the
    provider is configured for hoop (docs/auth.md), its tokens say the email is verified
    and mark a person (`"hoop_kind": "person"`); a claim given as ABSENT is left out."""

    def __init__(self, mock: MockIssuer, groups=("clinicians",), **claims):
        self.sub = uid("sub")
        self.email = f"{self.sub}@example.org"
        base = {"email": [self.email] if claims.pop("email_list", False) else self.email,
                "email_verified": True, "hoop_kind": "person"}
        if groups is not None:
            base["groups"] = list(groups) if isinstance(groups, (list, tuple)) else groups
        base.update(claims)
        base = {k: v for k, v in base.items() if v is not ABSENT}
        self.token = mock.id_token(self.sub, base)
        self.header, self.claims, _ = jws_parts(self.token)


@pytest.fixture
def barrier(oring, mock):
    p = Person(mock)
    return (p.email, p.token)


# --- a valid token ------------------------------------------------------------------------

def test_mock_tokens_are_what_the_tests_think(mock):
    """The test material itself: genuine tokens verify with the issuer's JWKS (joserfc),
    carry its kid, issuer, our audience; forged ones do not verify."""
    p = Person(mock)
    jwks = mock.jwks()
    assert verifies_with(p.token, jwks)
    assert p.header["alg"] == "RS256" and p.header["kid"] == mock.jwk()["kid"]
    assert p.claims["iss"] == mock.issuer == mock.discovery()["issuer"]
    assert mock.client_id in p.claims["aud"] and p.claims["email"] == p.email
    assert not verifies_with(with_payload(p.token, groups=["admins"]), jwks)
    assert not verifies_with(rs256(p.header, p.claims, rsa_key()), jwks)
    expired = Person(mock, exp=now() - 3600)
    assert verifies_with(expired.token, jwks) and expired.claims["exp"] < now()


def test_valid_token_psql_and_psycopg(oring, mock):
    p = Person(mock)
    app_psql, app_pg = uid("hoop-ok-psql"), uid("hoop-ok-psycopg")
    r = psql_run(oring, p.email, p.token, app_psql,
                 f"select current_user, 40 + 2; insert into {MARKER_TABLE} values ('{app_psql}')")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "hoop_gateway|42", r.stdout
    with psycopg.connect(oring.gateway_dsn(user=p.email, password=p.token, application_name=app_pg),
                         autocommit=True, connect_timeout=15) as conn:
        assert conn.execute("select count(*) > 0 from patients").fetchone() == (True,)
        assert conn.execute("select %s::int * 2", (21,)).fetchone() == (42,)
        conn.execute(f"insert into {MARKER_TABLE} values (%s)", (app_pg,))
    # the positive controls of the refusal checks: markers written, log lines there
    assert markers_in_table(oring, app_psql) == 1 and markers_in_table(oring, app_pg) == 1
    assert wait_for(lambda: app_psql in postgres_log(oring) and app_pg in postgres_log(oring), 10), \
        "log_connections does not show the sessions"

    for app in (app_psql, app_pg):
        open_, identity = identity_of(oring, app)
        assert open_.get("decision") == "allowed", open_
        assert open_.get("stamp:auth") is True, open_
        assert identity.get("issuer") == mock.issuer, identity
        assert identity.get("subject") == p.sub, identity
        assert identity.get("user") == p.email and identity.get("email") == p.email, identity
        assert identity.get("groups") == ["clinicians"], identity
        assert identity.get("kind") == "person", identity
        assert identity.get("token_expires_at") == p.claims["exp"], identity
        ends = identity.get("session_ends_at")
        assert isinstance(ends, int) and ends <= p.claims["exp"], identity
        assert not keys_named(open_, {"credential", "password", "token", "id_token"}), open_
    assert_token_nowhere(oring, p.token)


def test_user_claim_sub(base_ring, mock):
    """user_claim "sub": the user name is the token's subject."""
    configure(base_ring, hoop_auth_section(mock, user_claim="sub"), CLINIC_ALLOW)
    p = Person(mock)
    app = assert_allowed(base_ring, p.sub, p.token)
    _, identity = identity_of(base_ring, app)
    assert identity.get("user") == p.sub and identity.get("subject") == p.sub, identity
    assert_refused(base_ring, p.email, p.token, {"user_mismatch"}, psql=False)


def test_token_without_kid(oring, mock):
    """oidc-provider-mock's own tokens name no key (no kid in the header; its JWKS has
    one key, with a kid). docs/auth.md does not say what happens then: accepted with
    the only key, or refused as an unknown key; either is fine, anything else is not.
    A kid-less token signed by another key is always refused."""
    mock.set_kid_in_header(False)
    try:
        p = Person(mock)
    finally:
        mock.set_kid_in_header(True)
    assert "kid" not in p.header and verifies_with(p.token, mock.jwks())
    app = uid("hoop-nokid")
    out = wire_attempt(oring, p.email, p.token, app)
    if isinstance(out, PGWire):
        out.close()
        _, identity = identity_of(oring, app)
        assert identity.get("subject") == p.sub, identity
    else:
        fields = out[0]
        assert fields.get("C") == "28000" and re.search(REASON_WORDS["unknown_key"], fields.get("M", ""), re.I), \
            f"a genuine kid-less token was refused, but not as an unknown key: {fields}"
    forged = rs256(p.header, p.claims, rsa_key())
    assert_refused(oring, p.email, forged, {"unknown_key", "signature"}, psql=False)


# --- hostile tokens --------------------------------------------------------------------------

def alg_none_of(token: str, alg: str = "none", keep_sig: bool = False) -> str:
    h, pl, sig = token.split(".")
    header = dict(jws_parts(token)[0], alg=alg)
    return b64u(json.dumps(header).encode()) + "." + pl + "." + (sig if keep_sig else "")


def _alg_none(mock, alg="none", keep_sig=False):
    p = Person(mock)
    return p.email, alg_none_of(p.token, alg, keep_sig)


def _hmac(mock, secret_of, alg="HS256"):
    p = Person(mock)
    return p.email, hmac_signed(p.token, secret_of(mock), alg)


def _jwks_body(mock):
    with mock.http() as c:
        return c.get("/jwks").content


def _other_key(mock, kid_of):
    p = Person(mock)
    return p.email, rs256(dict(p.header, kid=kid_of(mock)), p.claims, rsa_key())


def _claims(mock, **claims):
    p = Person(mock, **claims)
    return p.email, p.token


def _wrong_issuer_host(mock):
    """A genuine token the mock issued when asked as http://localhost:PORT."""
    sub = uid("sub")
    email = f"{sub}@example.org"
    token = mock.id_token(sub, {"email": email, "email_verified": True, "hoop_kind": "person",
                                 "groups": ["clinicians"]}, host="localhost")
    assert jws_parts(token)[1]["iss"] == f"http://localhost:{mock.port}"
    return email, token


def _wrong_audience(mock):
    """A genuine token for another client of the same provider."""
    other = mock.register_client()
    sub = uid("sub")
    email = f"{sub}@example.org"
    token = mock.id_token(sub, {"email": email, "email_verified": True, "hoop_kind": "person",
                                 "groups": ["clinicians"]}, client=other)
    return email, token


def _tampered(mock, **changes):
    p = Person(mock)
    return p.email, with_payload(p.token, **changes)


def _tampered_expired(mock):
    p = Person(mock, exp=now() - 3600)
    return p.email, with_payload(p.token, exp=now() + 3600)


def _truncated(mock, n):
    p = Person(mock)
    return p.email, p.token[:-n]


def _mismatch(mock, user_of):
    p = Person(mock)
    return user_of(p), p.token


# id: (issuer, builder(mock) -> (user, token), reasons)
HOSTILE = {
    # an empty third part: "three base64url parts" may call it malformed already
    "alg_none": ("MOCK payload", lambda m: _alg_none(m), {"algorithm", "malformed"}),
    "alg_NONE_upper": ("MOCK payload", lambda m: _alg_none(m, "NONE"), {"algorithm", "malformed"}),
    "alg_none_with_signature": ("MOCK", lambda m: _alg_none(m, keep_sig=True), {"algorithm"}),
    "hs256_public_key_pem": ("MOCK payload, forged MAC", lambda m: _hmac(m, lambda m: public_pem(m.jwk())),
                             {"algorithm"}),
    "hs256_public_key_pem_pkcs1": ("MOCK payload, forged MAC",
                                   lambda m: _hmac(m, lambda m: public_pem(m.jwk(), pkcs1=True)), {"algorithm"}),
    "hs256_public_key_jwk_json": ("MOCK payload, forged MAC",
                                  lambda m: _hmac(m, lambda m: json.dumps(m.jwk(), separators=(",", ":")).encode()),
                                  {"algorithm"}),
    "hs256_jwks_body": ("MOCK payload, forged MAC", lambda m: _hmac(m, _jwks_body), {"algorithm"}),
    "hs512_public_key_pem": ("MOCK payload, forged MAC",
                             lambda m: _hmac(m, lambda m: public_pem(m.jwk()), "HS512"), {"algorithm"}),
    "other_rsa_key_issuer_kid": ("forged (fresh RSA key)", lambda m: _other_key(m, lambda m: m.jwk()["kid"]),
                                 {"signature"}),
    "unknown_kid": ("forged (fresh RSA key)", lambda m: _other_key(m, lambda m: uid("kid")), {"unknown_key"}),
    "expired": ("MOCK", lambda m: _claims(m, exp=now() - 3600, iat=now() - 7200), {"expired"}),
    "expired_beyond_skew": ("MOCK", lambda m: _claims(m, exp=now() - 120, iat=now() - 600), {"expired"}),
    "not_yet_valid": ("MOCK", lambda m: _claims(m, nbf=now() + 3600), {"not_yet_valid"}),
    "issued_in_future": ("MOCK", lambda m: _claims(m, iat=now() + 3600), {"issued_in_future"}),
    "wrong_issuer_host": ("MOCK as http://localhost", _wrong_issuer_host, {"issuer"}),
    "wrong_issuer_claim": ("MOCK", lambda m: _claims(m, iss="https://login.example.org/realms/other"), {"issuer"}),
    "issuer_trailing_slash": ("MOCK", lambda m: _claims(m, iss=m.issuer + "/"), {"issuer"}),
    "wrong_audience_other_client": ("MOCK", _wrong_audience, {"audience"}),
    "wrong_audience_claim": ("MOCK", lambda m: _claims(m, aud="hoop"), {"audience"}),
    "payload_tampered_groups": ("MOCK, altered", lambda m: _tampered(m, groups=["clinicians", "admins"]),
                                {"signature"}),
    "payload_tampered_expiry": ("MOCK, altered", _tampered_expired, {"signature"}),
    "header_tampered": ("MOCK, altered", lambda m: (lambda p: (p.email, with_header(p.token, typ="at+jwt")))(
        Person(m)), {"signature"}),
    "truncated_signature": ("MOCK, cut", lambda m: _truncated(m, 12), {"signature", "malformed"}),
    "truncated_to_two_parts": ("MOCK, cut", lambda m: (lambda p: (p.email, p.token.rsplit(".", 1)[0]))(Person(m)),
                               {"malformed"}),
    "non_base64_parts": ("none", lambda m: ("x@example.org", "eyJ$$$.%%%^^^.***!!!"), {"malformed"}),
    "header_not_json": ("MOCK payload", lambda m: (lambda p: (p.email, b64u(b"not json") + "." + p.token.split(".", 1)[1]))(
        Person(m)), {"malformed"}),
    "not_a_token": ("none", lambda m: ("x@example.org", "hunter2"), {"malformed"}),
    "oversized_17k": ("MOCK", lambda m: _claims(m, pad="x" * 17000), {"malformed"}),
    "oversized_40k": ("MOCK", lambda m: _claims(m, pad="y" * 40000), {"malformed"}),
    "not_allowed_group": ("MOCK", lambda m: _claims(m, groups=["visitors"]), {"not_allowed"}),
    "no_groups_claim": ("MOCK", lambda m: (lambda p: (p.email, p.token))(Person(m, groups=None)), {"not_allowed"}),
    "person_under_agent_rule": ("MOCK", lambda m: _claims(m, groups=["agents"]), {"not_allowed"}),
    "agent_under_person_rule": ("MOCK", lambda m: _claims(m, groups=["clinicians"], hoop_kind="agent"),
                                {"not_allowed"}),
    "user_mismatch": ("MOCK", lambda m: _mismatch(m, lambda p: "someone-else@example.org"), {"user_mismatch"}),
    # Claims of another shape than docs/auth.md gives them: read as they are meant, or
    # refused; never read as absent (a person's rules for an agent, no limit on a time).
    "agent_kind_as_a_list_under_person_rule": ("MOCK", lambda m: _claims(m, groups=["clinicians"], hoop_kind=["agent"]),
                                               {"not_allowed"}),
    "kind_list_of_both_kinds": ("MOCK", lambda m: _claims(m, groups=["clinicians"], hoop_kind=["agent", "person"]),
                                {"invalid_claim"}),
    # No person value: an agent (docs/auth.md, "Agents and persons"), not let in as a person.
    "kind_empty_list": ("MOCK", lambda m: _claims(m, groups=["clinicians"], hoop_kind=[]), {"not_allowed"}),
    "kind_absent": ("MOCK", lambda m: _claims(m, groups=["clinicians"], hoop_kind=ABSENT), {"not_allowed"}),
    "kind_unknown_value": ("MOCK", lambda m: _claims(m, groups=["clinicians"], hoop_kind="human"), {"not_allowed"}),
    "kind_an_object": ("MOCK", lambda m: _claims(m, groups=["clinicians"], hoop_kind={"value": "agent"}),
                       {"invalid_claim"}),
    "kind_a_number": ("MOCK", lambda m: _claims(m, groups=["clinicians"], hoop_kind=1), {"invalid_claim"}),
    "groups_with_a_number": ("MOCK", lambda m: _claims(m, groups=["clinicians", 7]), {"invalid_claim"}),
    "groups_an_object": ("MOCK", lambda m: _claims(m, groups={"clinicians": True}), {"invalid_claim"}),
    "audience_list_with_a_number": ("MOCK", lambda m: _claims(m, aud=[m.client_id, 7]), {"invalid_claim"}),
    "email_a_list": ("MOCK", lambda m: (lambda p: (p.email, p.token))(Person(m, email_list=True)), {"invalid_claim"}),
    "exp_a_string": ("MOCK", lambda m: _claims(m, exp=str(now() + 3600)), {"invalid_claim"}),
    "nbf_a_string": ("MOCK", lambda m: _claims(m, nbf="soon"), {"invalid_claim"}),
    "iat_an_object": ("MOCK", lambda m: _claims(m, iat={"at": now()}), {"invalid_claim"}),
    "user_is_sub_not_email": ("MOCK", lambda m: _mismatch(m, lambda p: p.sub), {"user_mismatch"}),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_token_refused(oring, mock, barrier, case):
    issuer, build, reasons = HOSTILE[case]
    user, token = build(mock)
    assert_refused(oring, user, token, reasons, barrier=barrier)


def test_empty_password_refused(oring, barrier):
    assert_refused(oring, "x@example.org", "", {"malformed"}, barrier=barrier, psql=False)


def test_agent_identity_mock(oring, mock):
    """MOCK: hoop_kind=agent in group agents is allowed, as an agent."""
    p = Person(mock, groups=["agents"], hoop_kind="agent")
    app = assert_allowed(oring, p.email, p.token)
    _, identity = identity_of(oring, app)
    assert identity.get("kind") == "agent" and identity.get("groups") == ["agents"], identity


def test_kind_claim_as_a_list(oring, mock):
    """MOCK: providers emit custom attributes as lists (Keycloak's multivalued
    attributes, Entra ID's roles): `"hoop_kind": ["agent"]` is an agent, admitted under
    the agent rule only; `["person"]` (no agent value) is a person."""
    agent = Person(mock, groups=["agents"], hoop_kind=["agent"])
    _, identity = identity_of(oring, assert_allowed(oring, agent.email, agent.token))
    assert identity.get("kind") == "agent", identity
    person = Person(mock, groups=["clinicians"], hoop_kind=["person"])
    _, identity = identity_of(oring, assert_allowed(oring, person.email, person.token))
    assert identity.get("kind") == "person", identity


def test_absurd_times_are_refused_and_the_gateway_stays_up(oring, mock, barrier):
    """MOCK-signed tokens whose exp, nbf or iat is a number no date is (1e300 made
    hoop-auth trap converting it, and the supervisor restart the ring, cutting every
    session): each is refused (invalid_claim); no stage restarts; another user's open
    session goes on."""
    bystander = wire_attempt(oring, *barrier, uid("hoop-bystander"))
    assert isinstance(bystander, PGWire), bystander
    before = oring.stage_pids()
    try:
        for claims in ({"exp": 1e300}, {"exp": 1e19}, {"exp": now() + 3600.5, "nbf": 1e300}, {"iat": -1e300}):
            p = Person(mock, **claims)
            out = wire_attempt(oring, p.email, p.token, uid("hoop-absurd-time"))
            if isinstance(out, PGWire):
                out.close()
            refused = not isinstance(out, PGWire) and out[0].get("C") == "28000" \
                and re.search(REASON_WORDS["invalid_claim"], out[0].get("M", ""), re.I)
            assert refused, f"a token with {sorted(claims)} out of range was not refused as an invalid claim"
        assert oring.stage_pids() == before, "a stage restarted"
        bystander.send(Query("select 1"))
        assert any(t == "C" for t, _ in bystander.read_until_ready(15)), "the bystander's session was cut"
    finally:
        bystander.close()


def test_max_session_seconds_ends_the_session(base_ring, mock):
    """MOCK, a rule with max_session_seconds 3: the session ends with window_closed
    (57P05) although the token is good for an hour."""
    allow = [{"groups": ["shortshift"], "kind": "person", "max_session_seconds": 3}] + CLINIC_ALLOW
    configure(base_ring, hoop_auth_section(mock), allow)
    p = Person(mock, groups=["shortshift"])
    ended = run_until_ended(base_ring, p.email, p.token, limit=45)
    assert ended["fields"].get("C") == "57P05", ended
    assert re.search(REASON_WORDS["window_closed"], ended["fields"].get("M", ""), re.I), ended
    assert 2 <= ended["after"] <= 3 + 35, ended
    assert ended["reason"] == "window_closed", ended


# --- the issuer goes away ---------------------------------------------------------------------

def test_issuer_down_after_startup(base_ring, mock):
    """A provider of its own (MOCK2), stopped once hoop-auth has its keys: the cached
    keys keep verifying, also once they are older than jwks_max_age_seconds (2 s here:
    the refresh fails and they are kept); nothing that would fail with the issuer up
    gets through."""
    m2 = MockIssuer().start()
    try:
        configure(base_ring, hoop_auth_section(m2, jwks_max_age_seconds=2, jwks_min_refresh_seconds=1),
                  CLINIC_ALLOW)
        good = Person(m2)
        expired = Person(m2, exp=now() - 3600)
        tampered = with_payload(Person(m2).token, groups=["clinicians", "admins"])
        other_kid = rs256(dict(good.header, kid=uid("kid")), good.claims, rsa_key())
        same_kid = rs256(good.header, good.claims, rsa_key())
        none = alg_none_of(good.token)
        barrier = Person(m2)
        assert_allowed(base_ring, good.email, good.token)       # hoop-auth fetched the keys
    finally:
        m2.stop()
    assert not port_open(m2.port), "the mock still answers"
    assert_allowed(base_ring, good.email, good.token)
    time.sleep(2.5)                                   # the cached keys are now stale
    t0 = time.monotonic()
    assert_allowed(base_ring, good.email, good.token)
    assert time.monotonic() - t0 < 10, "a stale key with the issuer down held the session"
    t0 = time.monotonic()
    assert_refused(base_ring, good.email, other_kid, {"unknown_key"}, psql=False,
                   barrier=(barrier.email, barrier.token))
    assert time.monotonic() - t0 < 15, "an unknown kid with the issuer down took long to refuse"
    assert_refused(base_ring, good.email, same_kid, {"signature"}, psql=False)
    assert_refused(base_ring, good.email, tampered, {"signature"}, psql=False)
    assert_refused(base_ring, expired.email, expired.token, {"expired"}, psql=False)
    assert_refused(base_ring, good.email, none, {"algorithm", "malformed"}, psql=False)
    assert_allowed(base_ring, good.email, good.token)


def test_hanging_issuer_holds_only_its_session(base_ring):
    """MOCK3 replaced by a listener that accepts and never answers: the session whose
    unknown kid makes hoop-auth refetch the JWKS waits (and is refused in the end);
    other sessions are not held meanwhile ("Verification runs off the frame loop")."""
    m3 = MockIssuer().start()
    try:
        configure(base_ring, hoop_auth_section(m3, jwks_min_refresh_seconds=1), CLINIC_ALLOW)
        good = Person(m3)
        other_kid = rs256(dict(good.header, kid=uid("kid")), good.claims, rsa_key())
        assert_allowed(base_ring, good.email, good.token)
    finally:
        m3.stop()
    hole = socket.socket()
    hole.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    hole.bind(("127.0.0.1", m3.port))
    hole.listen(64)
    held, stop = [], threading.Event()

    def accept():
        hole.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = hole.accept()
                held.append(conn)
            except OSError:
                pass

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    time.sleep(1.5)                                  # past jwks_min_refresh_seconds
    result = {}

    def slow():
        t0 = time.monotonic()
        try:
            result["out"] = wire_attempt(base_ring, good.email, other_kid, uid("hoop-held"), timeout=120)
        except Exception as e:  # noqa: BLE001
            result["out"] = e
        result["seconds"] = time.monotonic() - t0

    t = threading.Thread(target=slow)
    try:
        t.start()
        assert wait_for(lambda: held, 10), "hoop-auth never asked the issuer again for the unknown kid"
        t0 = time.monotonic()
        assert_allowed(base_ring, good.email, good.token)
        assert time.monotonic() - t0 < 5, "a good session waited on the hanging issuer"
        assert "out" not in result or result.get("seconds", 0) > 1
        t.join(120)
        assert not t.is_alive(), "the session with the unknown kid was held for 2 minutes"
        out = result["out"]
        assert isinstance(out, tuple), f"the unknown kid got in, or the attempt failed: {out!r}"
        fields, closed, _ = out
        assert fields.get("C") == "28000" and closed, fields
        assert re.search(REASON_WORDS["unknown_key"] + "|issuer|unavailable", fields.get("M", ""), re.I), fields
    finally:
        stop.set()
        acceptor.join(5)
        for s in held:
            s.close()
        hole.close()


# --- the development issuer: expiry during a session, agents ---------------------------------------

def upstream_backends(ring, app: str) -> int:
    with ring.admin() as a:
        return a.execute("select count(*) from pg_stat_activity where application_name = %s",
                         (app,)).fetchone()[0]


def run_until_ended(ring, user: str, token: str, limit: float) -> dict:
    """Opens a session and runs a query every half second until the gateway ends it;
    returns the FATAL error's fields, the seconds after the start, the recorded reason.
    Checks the upstream backend goes too."""
    app = uid("hoop-ends")
    c = wire_attempt(ring, user, token, app)
    assert isinstance(c, PGWire), f"refused: {c}"
    started = time.time()
    c.send(Query(f"select 'first' /* {app} */"))
    first = c.read_until_ready(15)
    assert [v for t, v in first if t == "D"] == [[b"first"]], first
    upstream = upstream_backends(ring, app)
    assert upstream == 1, f"{upstream} upstream backends for the session"
    fields, ok_after = None, 0
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(0.5)
        try:
            c.send(Query("select 'again'"))
            msgs = c.read_until_ready(15)
        except (ServerClosed, ConnectionResetError, BrokenPipeError) as e:
            raise AssertionError(f"the connection closed without a FATAL error first ({e!r})")
        errors = [v for t, v in msgs if t == "E"]
        if errors:
            fields = errors[0]
            break
        assert [v for t, v in msgs if t == "D"] == [[b"again"]], msgs
        ok_after = time.time() - started
    assert fields is not None, f"the session was not ended within {limit}s"
    ended_after = time.time() - started
    assert fields.get("S") == "FATAL", fields
    try:
        rest = c.read_until_closed(5)
    except socket.timeout:
        rest = ["(still open after 5 s)"]
    assert c.closed and not rest, f"the connection stayed open after the FATAL error: {rest}"
    gone = wait_for(lambda: upstream_backends(ring, app) == 0, 10)
    assert gone, "the upstream backend outlived the session"
    sessions = ring.session_ids_for_app(app)
    frames = ring.session_frames(sessions[0])
    ends = [f for f in frames if f["type"] == "error" and f.get("stage") == "hoop-auth"]
    assert ends and ends[0].get("fatal") is True, [f["type"] for f in frames]
    after_end = frames[frames.index(ends[0]) + 1:]
    assert not [f for f in after_end if f["type"] in ("complete", "rows")], \
        f"something ran after the session was ended: {[f['type'] for f in after_end]}"
    assert_token_nowhere(ring, token)
    return {"fields": fields, "after": ended_after, "last_ok": ok_after, "reason": ends[0].get("reason"),
            "identity": frames[0].get("identity") or {}, "started": started}


@pytest.fixture
def dev_ring(ring):
    """The session's ring (embedded default configuration, the development issuer)."""
    enable_log_connections(ring)
    return ring


def test_token_expiring_during_session_ends_it(dev_ring):
    """DEV, --ttl 3: queries run until the token expires, then the next one gets a
    FATAL 57P05 and the connection closes; the upstream backend goes too."""
    ring = dev_ring
    user = uid("nurse") + "@example.org"
    token = ring.mint(user, "clinicians", ttl=3)
    exp = jws_parts(token)[1]["exp"]
    ended = run_until_ended(ring, user, token, limit=60)
    identity = ended["identity"]
    assert identity.get("token_expires_at") == exp, identity
    assert identity.get("session_ends_at") is not None and identity["session_ends_at"] <= exp + 30, identity
    assert ended["fields"].get("C") == "57P05", ended
    assert re.search(r"expired", ended["fields"].get("M", ""), re.I), ended
    assert ended["reason"] == "token_expired", ended
    end_time = ended["started"] + ended["after"]
    assert end_time >= exp - 1, f"the session ended {exp - end_time:.1f}s before the token expired"
    assert end_time <= identity["session_ends_at"] + 5, \
        f"the session outlived its session_ends_at by {end_time - identity['session_ends_at']:.1f}s"


def test_token_expiring_during_session_psycopg(dev_ring):
    """DEV, --ttl 3, with psycopg: the query after expiry raises, the connection is closed."""
    ring = dev_ring
    user = uid("nurse") + "@example.org"
    token = ring.mint(user, "clinicians", ttl=3)
    with psycopg.connect(ring.gateway_dsn(user=user, password=token, application_name=uid("hoop-exp-pg")),
                         autocommit=True, connect_timeout=15) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
        deadline = time.monotonic() + 60
        error = None
        while time.monotonic() < deadline and error is None:
            time.sleep(0.5)
            try:
                conn.execute("select 2").fetchone()
            except psycopg.Error as e:
                error = e
        assert error is not None, "the session outlived its token by a minute"
        assert (error.sqlstate == "57P05") or re.search(r"expired", str(error), re.I), repr(error)
        assert conn.closed or conn.broken, "the connection stayed usable after the FATAL error"


def test_dev_issuer_agents(dev_ring):
    """DEV: an agent (--agent) in group agents is allowed as an agent; an agent token in
    group clinicians meets the person rule and is refused (not_allowed), as is a
    person in a group no rule names."""
    ring = dev_ring
    agent = uid("ci-agent") + "@example.org"
    app = assert_allowed(ring, agent, ring.mint(agent, "agents", agent=True))
    _, identity = identity_of(ring, app)
    assert identity.get("kind") == "agent" and "agents" in identity.get("groups", []), identity
    assert identity.get("user") == agent, identity
    for alg in ("EdDSA", "RS256"):
        who = uid(alg.lower()) + "@example.org"
        token = ring.mint(who, "clinicians", alg=alg)
        assert jws_parts(token)[0]["alg"] == alg
        _, identity = identity_of(ring, assert_allowed(ring, who, token))
        assert identity.get("kind") == "person" and identity.get("user") == who, identity
    sneaky = uid("agent") + "@example.org"
    assert_refused(ring, sneaky, ring.mint(sneaky, "clinicians", agent=True), {"not_allowed"})
    visitor = uid("visitor") + "@example.org"
    assert_refused(ring, visitor, ring.mint(visitor, "visitors"), {"not_allowed"})
    person = uid("person") + "@example.org"
    assert_refused(ring, person, ring.mint(person, "agents"), {"not_allowed"})
    expired = uid("late") + "@example.org"
    # DEV with a negative ttl, where the issuer allows it; else skipped (the MOCK case covers it)
    try:
        late = ring.mint(expired, "clinicians", ttl=-3600)
    except RingError:
        late = None
    if late:
        assert_refused(ring, expired, late, {"expired"})
