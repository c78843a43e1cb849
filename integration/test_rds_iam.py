"""RDS and Aurora without a database password (docs/aws.md, "PostgreSQL on RDS without a
password"): a postgres connection with `aws_auth` signs in with an IAM database token
made by hoop-connect from an aws connection's keys.

- hoop's tokens are botocore's `generate_db_auth_token`, byte for byte, for many
  generated inputs (`hoop-connect rds-token`, a hidden subcommand, against botocore with
  its clock frozen at the same second).
- End to end: RDS cannot be reached from here, so the test stands up a stand-in that
  does what RDS does for IAM authentication: TLS with a certificate made here (the
  connection uses sslmode=verify-full for an RDS-shaped host name), a cleartext
  password request, and the password checked as an rds-db token for this host, port,
  user, region and the stand-in keys by recomputing it with botocore at the X-Amz-Date
  it carries (which must be recent). Accepted, the connection is relayed to the ring's
  own PostgreSQL over its private socket as a role without a password (`hoop_iam`,
  granted `rds_iam` as on RDS), so that real queries run through hoop; refused, it gets
  FATAL 28P01 as RDS answers.
- Configuration mistakes (password beside aws_auth, a password in the conninfo, TLS
  that is not required, an aws connection with role_arn) stop hoop-connect with an
  error that says which.

No token, key or secret is printed by these tests: the stand-in keeps only verdicts.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import random
import secrets
import select
import socket
import ssl
import string
import struct
import subprocess
import threading
import time
from pathlib import Path
from unittest import mock
from urllib.parse import parse_qsl

import psycopg
import pytest

from conftest import ring_fixture
from helpers.ring import OPEN_APPROVAL, conninfo, free_port, hoop_bin

botocore = pytest.importorskip("botocore")
import botocore.auth  # noqa: E402
import botocore.session  # noqa: E402

ring = ring_fixture("rds")

RDS_HOST = "clinic.cluster-c1hoop0test.eu-west-1.rds.amazonaws.com"
REGION = "eu-west-1"
IAM_USER = "hoop_iam"
CATALOG_IAM_USER = "hoop_catalog_iam"
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104


# --- botocore, with its clock frozen -------------------------------------------------

_clients: dict[tuple, object] = {}


def botocore_token(host: str, port: int, user: str, region: str, keys: dict, at: int) -> str:
    """botocore's generate_db_auth_token at the second `at`. botocore 1.43 reads the
    time through botocore.auth.get_current_datetime (naive UTC), patched here."""
    k = (keys["akid"], keys["secret"], keys.get("token"))
    if k not in _clients:
        _clients[k] = botocore.session.get_session().create_client(
            "rds", region_name="us-east-1", aws_access_key_id=k[0], aws_secret_access_key=k[1], aws_session_token=k[2])
    fixed = datetime.datetime.fromtimestamp(at, datetime.timezone.utc).replace(tzinfo=None)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=fixed):
        return _clients[k].generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user, Region=region)


def hoop_token(host: str, port: int, user: str, region: str, keys: dict, at: int) -> str:
    env = {"PATH": os.environ.get("PATH", ""), "AWS_ACCESS_KEY_ID": keys["akid"], "AWS_SECRET_ACCESS_KEY": keys["secret"]}
    if keys.get("token") is not None:
        env["AWS_SESSION_TOKEN"] = keys["token"]
    r = subprocess.run([str(hoop_bin() / "hoop-connect"), "rds-token", f"--host={host}", f"--port={port}",
                        f"--user={user}", f"--region={region}", f"--at={at}"],
                       env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"hoop-connect rds-token exited {r.returncode}: {r.stderr[-500:]}"
    return r.stdout.rstrip("\n")


# --- the differential test -----------------------------------------------------------

USER_PIECES = ["hoop_iam", "app", "Zoë", "ops+read", "a@b", "k=v", "with space", "中文", "emoji😀", "o'neil",
               "x/y", "p%20q", "~tilde", "dash-dot.", "UPPER", "semi;colon", "amp&", "q?#", "tab\tin"]
HOST_LABELS = ["clinic", "db", "Aurora-Prod", "cluster-ro-c9akciq32", "instance1", "x"]
DOMAINS = ["eu-west-1.rds.amazonaws.com", "us-east-1.rds.amazonaws.com", "rds.cn-north-1.amazonaws.com.cn",
           "example.org", "internal"]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1", "il-central-1"]
PORTS = [5432, 443, 80, 1, 65535, 3306, 6543]


def random_keys(rng: random.Random, temporary: bool) -> dict:
    alnum = string.ascii_uppercase + string.digits
    keys = {"akid": ("ASIA" if temporary else "AKIA") + "".join(rng.choice(alnum) for _ in range(16)),
            "secret": "".join(rng.choice(string.ascii_letters + string.digits + "+/") for _ in range(40))}
    if temporary:
        keys["token"] = base64.b64encode(rng.randbytes(rng.choice([60, 120, 300]))).decode()
    return keys


def generated_cases(n: int, seed: int = 20):
    rng = random.Random(seed)
    keysets = [random_keys(rng, temporary=i % 2 == 1) for i in range(8)]
    for i in range(n):
        host = ".".join(rng.sample(HOST_LABELS, rng.randint(1, 3))) + "." + rng.choice(DOMAINS)
        if i % 10 == 9:
            host = ".".join(str(rng.randint(1, 254)) for _ in range(4))
        port = rng.choice(PORTS) if i % 3 else rng.randint(1, 65535)
        user = "".join(rng.sample(USER_PIECES, rng.randint(1, 3)))
        yield host, port, user, rng.choice(REGIONS), keysets[i % len(keysets)], rng.randint(1_500_000_000, 2_000_000_000)


def test_hoops_tokens_are_botocores_byte_for_byte():
    cases = list(generated_cases(160))
    assert sum(1 for c in cases if c[4].get("token")) >= 60 and sum(1 for c in cases if c[1] == 443) >= 5
    for needs_encoding in ["+", "@", "=", " ", "ë", "中", "😀", "/", "%", "'"]:
        assert any(needs_encoding in c[2] for c in cases), needs_encoding
    assert any(c[0] != c[0].lower() for c in cases)
    mismatches = []
    for host, port, user, region, keys, at in cases:
        ours = hoop_token(host, port, user, region, keys, at)
        theirs = botocore_token(host, port, user, region, keys, at)
        if ours != theirs:
            # Only the inputs are reported, never a token.
            mismatches.append((host, port, user, region, "temporary" if keys.get("token") else "long-term", at))
    assert not mismatches, f"{len(mismatches)} of {len(cases)} tokens differ from botocore's, e.g. {mismatches[:5]}"


# --- an RDS stand-in --------------------------------------------------------------------

def _read_exactly(sock, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def _error_response(code: str, message: str) -> bytes:
    body = b"".join(k + v.encode() + b"\0" for k, v in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", code), (b"M", message))) + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


class RDSStandIn:
    """A PostgreSQL endpoint that authenticates as RDS does with IAM: TLS, then a
    cleartext password that must be an rds-db token for (host, port, user, region) signed
    by `keys`, dated within the last minute and valid for 900 s. It keeps a verdict per
    attempt (ok, why, the token's X-Amz-Date, user), never the token."""

    def __init__(self, cert: Path, key: Path, keys: dict, pg_socket: str, host: str = RDS_HOST, region: str = REGION):
        self.keys, self.pg_socket, self.host, self.region = keys, pg_socket, host, region
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(str(cert), str(key))
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(32)
        self.port = self.listener.getsockname()[1]
        self.attempts: list[dict] = []
        self.plaintext_passwords = 0
        self.lock = threading.Lock()
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.stopped = True
        self.listener.close()

    def verdicts(self) -> list[dict]:
        with self.lock:
            return list(self.attempts)

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, raw: socket.socket):
        try:
            with raw:
                raw.settimeout(30)
                sock = raw
                while True:
                    length, code = struct.unpack("!II", _read_exactly(sock, 8))
                    if code == GSSENC_REQUEST:
                        sock.sendall(b"N")
                        continue
                    if code == SSL_REQUEST and sock is raw:
                        sock.sendall(b"S")
                        sock = self.tls.wrap_socket(raw, server_side=True)
                        continue
                    startup = struct.pack("!II", length, code) + _read_exactly(sock, length - 8)
                    break
                parts = startup[8:].split(b"\0")
                params = dict(zip((p.decode() for p in parts[0:-2:2]), (p.decode() for p in parts[1:-2:2])))
                if sock is raw:
                    # RDS with rds.force_ssl, and what the token needs: never in clear.
                    self.plaintext_passwords += 1
                    sock.sendall(_error_response("28000", "no encryption"))
                    return
                sock.sendall(b"R" + struct.pack("!II", 8, 3))      # AuthenticationCleartextPassword
                kind = _read_exactly(sock, 1)
                (n,) = struct.unpack("!I", _read_exactly(sock, 4))
                password = _read_exactly(sock, n - 4).rstrip(b"\0").decode()
                ok, why, amz_date = self._check(password, params.get("user", ""))
                with self.lock:
                    self.attempts.append({"ok": ok and kind == b"p", "why": why, "date": amz_date,
                                          "user": params.get("user"), "app": params.get("application_name")})
                if not (ok and kind == b"p"):
                    sock.sendall(_error_response("28P01", f'PAM authentication failed for user "{params.get("user")}"'))
                    return
                self._relay(sock, startup)
        except (OSError, ValueError, ConnectionError, ssl.SSLError):
            return

    def _check(self, password: str, user: str) -> tuple[bool, str, str | None]:
        endpoint, sep, query = password.partition("/?")
        if not sep or endpoint != f"{self.host}:{self.port}":
            return False, "not a token for this endpoint", None
        q = dict(parse_qsl(query, keep_blank_values=True))
        amz_date = q.get("X-Amz-Date")
        try:
            at = datetime.datetime.strptime(amz_date or "", "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            return False, "no X-Amz-Date", None
        age = time.time() - at.timestamp()
        if not -5 <= age <= 60:
            return False, f"X-Amz-Date is {age:.0f} s old", amz_date
        if q.get("X-Amz-Expires") != "900":
            return False, "X-Amz-Expires is not 900", amz_date
        # The whole token, recomputed by botocore at the date it carries.
        expected = botocore_token(self.host, self.port, user, self.region, self.keys, int(at.timestamp()))
        if password != expected:
            return False, "signature mismatch", amz_date
        return True, "ok", amz_date

    def _relay(self, client, startup: bytes):
        """The client's own startup to the ring's PostgreSQL (trust on its private
        socket), then bytes both ways until either side closes."""
        with socket.socket(socket.AF_UNIX) as pg:
            pg.connect(self.pg_socket)
            pg.sendall(startup)
            client.settimeout(None)
            while True:
                if not (isinstance(client, ssl.SSLSocket) and client.pending()):
                    ready, _, _ = select.select([client, pg], [], [], 120)
                    if not ready:
                        return
                else:
                    ready = [client]
                if client in ready:
                    data = client.recv(65536)
                    if not data:
                        return
                    pg.sendall(data)
                if pg in ready:
                    data = pg.recv(65536)
                    if not data:
                        return
                    client.sendall(data)


# --- the ring's RDS connections ------------------------------------------------------

@pytest.fixture(scope="module")
def rds(ring, tmp_path_factory):
    """The stand-in, its certificate and keys, the role, and three connections:
    `clinic_rds` (right), `clinic_rds_region` (aws_auth.region wrong), `clinic_rds_keys`
    (an aws connection whose secret is wrong)."""
    work = tmp_path_factory.mktemp("rds")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={RDS_HOST}",
                    "-addext", f"subjectAltName=DNS:{RDS_HOST}", "-keyout", str(work / "rds.key"), "-out", str(work / "rds.crt")],
                   check=True, capture_output=True, timeout=60)
    rng = random.Random(290)   # the same keys every run
    keys = random_keys(rng, temporary=False)
    wrong = dict(keys, secret=random_keys(rng, temporary=False)["secret"])
    secrets_dir = ring.var / "secrets"
    for name, value in [("rds-iam.akid", keys["akid"]), ("rds-iam.secret", keys["secret"]), ("rds-wrong.secret", wrong["secret"]),
                        ("rds-rotated.secret", keys["secret"])]:
        (secrets_dir / name).write_text(value + "\n")
        os.chmod(secrets_dir / name, 0o600)
    with ring.admin() as admin:
        admin.execute(f"DROP ROLE IF EXISTS {IAM_USER}")
        admin.execute("DROP ROLE IF EXISTS rds_iam")
        admin.execute("CREATE ROLE rds_iam")                     # as RDS names it
        admin.execute(f"CREATE ROLE {IAM_USER} LOGIN IN ROLE rds_iam")   # no password
        admin.execute(f"GRANT CONNECT ON DATABASE clinic TO {IAM_USER}")
        admin.execute(f"GRANT SELECT ON patients, encounters TO {IAM_USER}")
        # hoop-approve's catalog role, also signed in with a token.
        admin.execute(f"DROP ROLE IF EXISTS {CATALOG_IAM_USER}")
        admin.execute(f"CREATE ROLE {CATALOG_IAM_USER} LOGIN IN ROLE rds_iam")
        admin.execute(f"GRANT CONNECT ON DATABASE clinic TO {CATALOG_IAM_USER}")
    standin = RDSStandIn(work / "rds.crt", work / "rds.key", keys,
                         pg_socket=f"{ring.pg_socket_dir}/.s.PGSQL.{ring.pg_port}")

    def change(cfg):
        clinic = cfg["connections"]["clinic"]
        aws_keys = {"kind": "aws", "region": REGION, "access_key_id_file": "secrets/rds-iam.akid",
                    "secret_access_key_file": "secrets/rds-iam.secret"}
        cfg["connections"]["rds-keys"] = aws_keys
        cfg["connections"]["rds-wrong-keys"] = dict(aws_keys, secret_access_key_file="secrets/rds-wrong.secret")
        cfg["connections"]["rds-rotated-keys"] = dict(aws_keys, secret_access_key_file="secrets/rds-rotated.secret")

        def pg(aws_auth):
            return {"conninfo": f"host={RDS_HOST} hostaddr=127.0.0.1 port={standin.port} dbname=clinic user={IAM_USER}",
                    "tls": {"sslmode": "verify-full", "sslrootcert": str(work / "rds.crt")},
                    "aws_auth": aws_auth, "allow": clinic["allow"], "approval": OPEN_APPROVAL,
                    "masking": clinic.get("masking", {})}
        cfg["connections"]["clinic_rds"] = pg({"connection": "rds-keys"})
        cfg["connections"]["clinic_rds"]["catalog"] = {
            "conninfo": f"host={RDS_HOST} hostaddr=127.0.0.1 port={standin.port} dbname=clinic user={CATALOG_IAM_USER} "
                        f"sslmode=verify-full sslrootcert={work / 'rds.crt'}",
            "aws_auth": {"connection": "rds-keys"}, "revalidate_seconds": 1}
        cfg["connections"]["clinic_rds_region"] = pg({"connection": "rds-keys", "region": "us-west-2"})
        cfg["connections"]["clinic_rds_keys"] = pg({"connection": "rds-wrong-keys"})
        cfg["connections"]["clinic_rds_rotated"] = pg({"connection": "rds-rotated-keys"})
    ring.reconfigure(change)
    yield {"standin": standin, "keys": keys, "wrong": wrong, "work": work}
    standin.close()


def dsn(ring, database: str) -> str:
    """The agent's side: the gateway, its OIDC token, nothing else."""
    return conninfo(host="127.0.0.1", port=ring.listen_port, dbname=database, user=ring.gateway_user,
                    password=ring.credential(), sslmode="disable", gssencmode="disable")


def test_a_query_runs_through_hoop_on_an_iam_token(ring, rds):
    before = len(rds["standin"].verdicts())
    try:
        with psycopg.connect(dsn(ring, "clinic_rds"), autocommit=True, connect_timeout=20) as conn:
            who = conn.execute("select current_user, count(*) from patients").fetchone()
            rows = conn.execute("select id from encounters order by id limit 5").fetchall()
    except psycopg.Error as e:
        pytest.fail(f"{e}; the stand-in's verdicts: {[(v['why'], v['app']) for v in rds['standin'].verdicts()[before:]]}")
    assert who[0] == IAM_USER and who[1] > 0, who
    assert len(rows) == 5
    mine = [v for v in rds["standin"].verdicts()[before:] if v["user"] != CATALOG_IAM_USER]
    assert mine and all(v["ok"] for v in mine), [(v["why"], v["app"]) for v in mine]
    assert {v["user"] for v in mine} == {IAM_USER}
    assert rds["standin"].plaintext_passwords == 0


def test_hoop_approves_catalog_role_signs_in_with_a_token_too(ring, rds):
    """connections.NAME.catalog.aws_auth: hoop-approve reads the catalog through its own
    role, signed in with a token of its own; the facts are known (nothing in its log
    says the catalog could not be read)."""
    verdicts = [v for v in rds["standin"].verdicts() if v["user"] == CATALOG_IAM_USER]
    assert verdicts and all(v["ok"] for v in verdicts), [v["why"] for v in verdicts]
    assert "clinic_rds: the catalog could not be read" not in (ring.var / "log" / "approve.log").read_text()


def test_no_password_or_key_on_the_agents_side_or_in_the_configuration(ring, rds):
    keys = rds["keys"]
    agent = dsn(ring, "clinic_rds")
    # Booleans first: a failing assertion must not print the key it found.
    key_in_dsn = keys["secret"] in agent or keys["akid"] in agent
    assert not key_in_dsn, "an AWS key is in the agent's connection string"
    cfg_text = (ring.var / "hoop.json").read_text()
    cfg = json.loads(cfg_text)
    for name in ("clinic_rds", "clinic_rds_region", "clinic_rds_keys", "clinic_rds_rotated"):
        assert "password" not in cfg["connections"][name]
        assert "password" not in cfg["connections"][name]["conninfo"]
    assert "password" not in cfg["connections"]["clinic_rds"]["catalog"]
    key_in_config = keys["secret"] in cfg_text or keys["akid"] in cfg_text
    assert not key_in_config, "an AWS key is inline in the gateway's configuration"


def test_two_connections_seconds_apart_each_get_a_fresh_token(ring, rds):
    standin = rds["standin"]
    dates = []
    for i in range(2):
        if i:
            time.sleep(3)
        before = len(standin.verdicts())
        with psycopg.connect(dsn(ring, "clinic_rds"), autocommit=True, connect_timeout=20) as conn:
            assert conn.execute("select count(*) from encounters").fetchone()[0] > 0
        session = [v for v in standin.verdicts()[before:] if v["app"] != "hoop catalog" and v["user"] == IAM_USER]
        assert session and all(v["ok"] for v in session), [v["why"] for v in session]
        dates.append(session[-1]["date"])
    # Each upstream connection signs its own token: the second is dated at its own time.
    assert dates[1] > dates[0], dates


@pytest.mark.parametrize("database,named", [("clinic_rds_region", "region us-west-2"), ("clinic_rds_keys", '"rds-wrong-keys"')])
def test_a_wrong_region_or_wrong_keys_fail_clearly_and_nothing_runs(ring, rds, database, named):
    standin = rds["standin"]
    before = len(standin.verdicts())
    with pytest.raises(psycopg.OperationalError) as e:
        with psycopg.connect(dsn(ring, database), autocommit=True, connect_timeout=20) as conn:
            conn.execute("select 1")
    message = str(e.value)
    assert "refused the IAM token" in message and database in message and named in message, message
    mine = [v for v in standin.verdicts()[before:] if v["user"] == IAM_USER]
    assert mine and not any(v["ok"] for v in mine), [v["why"] for v in mine]
    assert {v["why"] for v in mine} == {"signature mismatch"}
    # Nothing ran: no query of this session is in the audit trail.
    with ring.audit() as db:
        opens = [r[0] for r in db.execute("SELECT session FROM frames WHERE type = 'session_open' "
                                          "AND CAST(frame AS TEXT) LIKE ?", (f'%"{database}"%',))]
        assert opens
        ran = db.execute(f"SELECT count(*) FROM frames WHERE type IN ('query', 'rows', 'columns') "
                         f"AND session IN ({','.join('?' * len(opens))})", opens).fetchone()[0]
    assert ran == 0


def test_keys_are_read_for_each_token(ring, rds):
    """A key file that is gone fails that connection (its own words, nothing sent to the
    server); written again, with no restart, the next connection signs in with it."""
    standin, secret_file = rds["standin"], ring.var / "secrets" / "rds-rotated.secret"
    secret_file.unlink()
    before = len(standin.verdicts())
    with pytest.raises(psycopg.OperationalError) as e:
        with psycopg.connect(dsn(ring, "clinic_rds_rotated"), autocommit=True, connect_timeout=20) as conn:
            conn.execute("select 1")
    assert "its IAM token could not be made" in str(e.value), str(e.value)
    assert not [v for v in standin.verdicts()[before:] if v["app"] != "hoop catalog" and v["user"] == IAM_USER]
    assert "rds-rotated.secret" in (ring.var / "log" / "connect.log").read_text()
    secret_file.write_text(rds["keys"]["secret"] + "\n")
    os.chmod(secret_file, 0o600)
    with psycopg.connect(dsn(ring, "clinic_rds_rotated"), autocommit=True, connect_timeout=20) as conn:
        assert conn.execute("select current_user").fetchone()[0] == IAM_USER


def test_no_token_or_key_in_frames_or_logs(ring, rds):
    # After the tests above (module order): every connection, good and bad, has run.
    keys, wrong = rds["keys"], rds["wrong"]
    needles = [keys["secret"], keys["akid"], wrong["secret"], "X-Amz-Signature", "X-Amz-Credential", "rds-db/aws4_request"]
    with ring.audit() as db:
        frames = [r[0] for r in db.execute("SELECT CAST(frame AS TEXT) FROM frames")]
    assert frames
    found = [n[:12] for n in needles if any(n in f for f in frames)]
    assert not found, f"found in the audit trail: {found}"
    for log in (ring.var / "log").glob("*.log"):
        if log.name == "postgres.log":
            continue
        text = log.read_text(errors="replace")
        found = [n[:12] for n in needles if n in text]
        assert not found, f"found in {log.name}: {found}"


# --- configuration mistakes ------------------------------------------------------------

def _connect_config_error(tmp_path: Path, connection: dict, aws: dict | None = None) -> str:
    (tmp_path / "akid").write_text("AKIAEXAMPLEEXAMPLE00\n")
    (tmp_path / "secret").write_text("SECRETSECRETSECRETSECRET\n")
    aws_conn = {"kind": "aws", "region": REGION, "access_key_id_file": "akid", "secret_access_key_file": "secret"}
    aws_conn.update(aws or {})
    cfg = {"connections": {"keys": aws_conn, "db": connection}}
    path = tmp_path / "hoop.json"
    path.write_text(json.dumps(cfg))
    r = subprocess.run([str(hoop_bin() / "hoop-connect"), "--config", str(path)], input="", capture_output=True,
                       text=True, timeout=30)
    assert r.returncode != 0, f"hoop-connect accepted {connection}"
    secret_printed = "SECRETSECRET" in r.stderr + r.stdout
    assert not secret_printed, "hoop-connect printed the secret key"
    return r.stderr


GOOD = {"conninfo": f"host={RDS_HOST} port=5432 dbname=clinic user={IAM_USER} sslmode=verify-full",
        "aws_auth": {"connection": "keys"}}


@pytest.mark.parametrize("change,expected", [
    ({"password": {"env": "PGPASS"}}, "\"password\" and \"aws_auth\" are both given"),
    ({"conninfo": GOOD["conninfo"] + " password=hunter2"}, "conninfo holds a password"),
    ({"conninfo": GOOD["conninfo"].replace("sslmode=verify-full", "sslmode=prefer")}, "needs TLS"),
    ({"conninfo": GOOD["conninfo"].replace(" sslmode=verify-full", "")}, "needs TLS"),
    ({"tls": {"sslmode": "disable"}}, "needs TLS"),
    ({"conninfo": GOOD["conninfo"].replace(f"host={RDS_HOST}", "host=a,b")}, "one host"),
    ({"aws_auth": {"connection": "nothing"}}, "is not a connection of kind aws"),
    ({"aws_auth": {"connection": "keys", "region": "Mars"}}, "is not an AWS region"),
    ({"aws_auth": {"connection": "keys", "user": "someone_else"}}, "is not the conninfo's user"),
    ({"aws_auth": {"connection": "keys", "regoin": "us-east-2"}}, "aws_auth.regoin is not a setting"),
    ({"aws_auth": "keys"}, "aws_auth must be an object"),
    ({"conninfo": GOOD["conninfo"].replace(f" user={IAM_USER}", "")}, "needs the database user"),
])
def test_configuration_mistakes_are_refused_with_a_clear_error(tmp_path, change, expected):
    err = _connect_config_error(tmp_path, dict(GOOD, **change))
    assert expected in err and "connection db" in err, err
    assert "hunter2" not in err


def test_a_catalog_with_a_password_beside_aws_auth_is_refused(tmp_path):
    (tmp_path / "akid").write_text("AKIAEXAMPLEEXAMPLE00\n")
    (tmp_path / "secret").write_text("SECRETSECRETSECRETSECRET\n")
    catalog = {"conninfo": f"host={RDS_HOST} dbname=clinic user=cat sslmode=prefer", "aws_auth": {"connection": "keys"}}
    cfg = {"connections": {"keys": {"kind": "aws", "access_key_id_file": "akid", "secret_access_key_file": "secret"},
                           "db": {"conninfo": "host=x dbname=clinic", "catalog": catalog}},
           "approval": {"store": {"sqlite": "approvals.sqlite"}}}
    (tmp_path / "hoop.json").write_text(json.dumps(cfg))
    # hoop-approve keeps running on a configuration error, and refuses every session.
    r = subprocess.run([str(hoop_bin() / "hoop-approve"), "--config", str(tmp_path / "hoop.json")], input="",
                       capture_output=True, text=True, timeout=30)
    assert "connection db (catalog): aws_auth sends an IAM token" in r.stderr and "every session is refused" in r.stderr, r.stderr


def test_an_aws_connection_with_role_arn_is_refused(tmp_path):
    err = _connect_config_error(tmp_path, GOOD, aws={"role_arn": "arn:aws:iam::123456789012:role/db"})
    assert "role_arn" in err and "rds-db:connect" in err, err


def test_unreadable_keys_are_a_configuration_error(tmp_path):
    err = _connect_config_error(tmp_path, GOOD, aws={"secret_access_key_file": "missing"})
    assert "secret_access_key_file: cannot read" in err, err
