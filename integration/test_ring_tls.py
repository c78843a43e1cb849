"""TLS at both ends of the ring (docs/tls.md).

Front door: hoop-listen answers SSLRequest 'S' and upgrades when it has a certificate;
`listen.tls.require` decides who may start in clear (the password is a bearer token):
under `non_loopback` only clients on this host, under `all` nobody. The protocol's
edge cases: plaintext after the SSLRequest (CVE-2021-23214), a second SSLRequest,
garbage instead of a ClientHello, GSSENCRequest still 'N', SSLRequest without a
certificate 'N'.

Upstream: hoop-connect's libpq with `connections.NAME.tls` (sslmode, sslrootcert),
proved from the server's own pg_stat_ssl.

The certificates are a throwaway CA made here with openssl; a non-loopback client runs
in a network namespace of the test's own (integration/helpers/netns.py).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import socket
import ssl
import stat
import struct
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from helpers.netns import Peer
from helpers.pgwire import PGWire, message, startup_packet, _cstr, decode
from helpers.ring import PSQL, clean_env, conninfo, free_port, hoop_bin, port_open, wait_for

SSL_REQUEST = struct.pack("!II", 8, 80877103)
GSSENC_REQUEST = struct.pack("!II", 8, 80877104)
IDENTIFIERS = "mrn, ssn, first_name, last_name, email"


# --- fixtures -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def peer():
    p = Peer()
    yield p
    p.close()


def openssl(cwd: Path, *args: str) -> None:
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"openssl {' '.join(args)}: {r.stderr}"


@pytest.fixture(scope="module")
def pki(tmp_path_factory, peer):
    """A test CA, a second CA nobody trusts, and server certificates signed by the
    first: the gateway's (localhost, 127.0.0.1 and the peer's server address) and
    PostgreSQL's (127.0.0.1)."""
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "wrong-ca"):
        openssl(d, "req", "-x509", *ec, "-days", "2", "-subj", f"/CN=hoop test {ca}",
                "-keyout", f"{ca}.key", "-out", f"{ca}.crt")

    def leaf(name: str, san: str) -> None:
        openssl(d, "req", "-new", *ec, "-subj", f"/CN=hoop test {name}", "-keyout", f"{name}.key", "-out", f"{name}.csr")
        (d / f"{name}.ext").write_text(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n"
                                       "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n")
        openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt")
        os.chmod(d / f"{name}.key", 0o600)

    san = "DNS:localhost,IP:127.0.0.1" + (f",IP:{peer.server}" if peer.available else "")
    leaf("gateway", san)
    leaf("postgres", "DNS:localhost,IP:127.0.0.1")
    return d


def enable_server_ssl(ring, pki: Path) -> None:
    """PostgreSQL with ssl=on and its own certificate (ALTER SYSTEM + reload). The key
    is copied where the cluster's OS user can read it, owned by that user."""
    data = ring.var / "pg" / "data"
    owner = data.stat().st_uid
    dst = ring.var / "pgtls"
    dst.mkdir(mode=0o755, exist_ok=True)
    shutil.copy(pki / "postgres.crt", dst / "server.crt")
    shutil.copy(pki / "postgres.key", dst / "server.key")
    os.chmod(dst / "server.crt", 0o644)
    os.chmod(dst / "server.key", 0o600)
    os.chown(dst / "server.key", owner, -1)
    os.chown(dst / "server.crt", owner, -1)
    with ring.admin() as a:
        a.execute(f"alter system set ssl_cert_file = '{dst / 'server.crt'}'")
        a.execute(f"alter system set ssl_key_file = '{dst / 'server.key'}'")
        a.execute("alter system set ssl = on")
        a.execute("select pg_reload_conf()")

    def on():
        with ring.admin() as a:
            return a.execute("show ssl").fetchone()[0] == "on"
    assert wait_for(on, timeout=15), "PostgreSQL did not turn ssl on\n" + (ring.var / "log" / "postgres.log").read_text()[-2000:]


@pytest.fixture(scope="module")
def tls_ring(module_ring, pki, peer):
    """The module's ring on 0.0.0.0 with the test CA's gateway certificate, and the
    clinic connection over verify-full TLS; clinic_badca trusts the wrong CA and
    clinic_plain does not encrypt (the contrast that shows pg_stat_ssl can say no)."""
    ring = module_ring
    enable_server_ssl(ring, pki)

    def change(cfg):
        cfg["listen"]["host"] = "0.0.0.0"
        cfg["listen"]["tls"] = {"cert": str(pki / "gateway.crt"), "key": str(pki / "gateway.key"),
                                "require": "non_loopback"}
        clinic = cfg["connections"]["clinic"]
        # Over TCP: the default reaches the demo database by its unix socket, where
        # libpq does not use TLS.
        clinic["conninfo"] = f"host=127.0.0.1 port={ring.pg_port} dbname=clinic user=hoop_gateway"
        clinic["tls"] = {"sslmode": "verify-full", "sslrootcert": str(pki / "ca.crt")}
        bad = copy.deepcopy(clinic)
        bad["tls"]["sslrootcert"] = str(pki / "wrong-ca.crt")
        plain = copy.deepcopy(clinic)
        plain["tls"] = {"sslmode": "disable"}
        cfg["connections"]["clinic_badca"] = bad
        cfg["connections"]["clinic_plain"] = plain
    ring.reconfigure(change)
    return ring


def tls_dsn(ring, pki: Path, sslmode: str, host: str = "localhost", dbname: str = "clinic",
            rootcert: str = "ca.crt", application_name: str | None = None) -> str:
    return conninfo(host=host, port=ring.listen_port, dbname=dbname, user=ring.gateway_user,
                    password=ring.credential(), sslmode=sslmode, sslrootcert=str(pki / rootcert),
                    gssencmode="disable", application_name=application_name)


def psql(dsn: str, *args: str, command=lambda argv: argv) -> subprocess.CompletedProcess:
    return subprocess.run(command([PSQL, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", dsn, *args]),
                          capture_output=True, text=True, timeout=60, env=clean_env(), stdin=subprocess.DEVNULL)


def session_open(ring, app: str) -> dict | None:
    ids = ring.session_ids_for_app(app)
    if not ids:
        return None
    return next(f for f in ring.session_frames(ids[0]) if f["type"] == "session_open")


def recv_all(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Everything the server sends until it closes (or `timeout`)."""
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except (ConnectionResetError, ssl.SSLError, OSError):
            return out
        if not chunk:
            return out
        out += chunk
    raise AssertionError(f"the server did not close the connection within {timeout}s (got {out[:64]!r})")


def error_fields(data: bytes) -> dict:
    """The fields of the ErrorResponse at the start of `data`."""
    assert data[:1] == b"E", f"expected an ErrorResponse, got {data[:16]!r}"
    (ln,) = struct.unpack_from("!I", data, 1)
    return decode("E", data[5:1 + ln])


def client_context(pki: Path, rootcert: str = "ca.crt") -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki / rootcert))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def upgraded(ring, pki: Path) -> ssl.SSLSocket:
    """A raw connection after SSLRequest, 'S' and a verified handshake."""
    s = socket.create_connection(("127.0.0.1", ring.listen_port), timeout=10)
    s.sendall(SSL_REQUEST)
    assert s.recv(1) == b"S"
    return client_context(pki).wrap_socket(s, server_hostname="localhost")


# --- the front door: clients ---------------------------------------------------------

def test_the_embedded_default_makes_a_self_signed_pair(ring):
    """scripts/hoop up's default: var/tls/server.crt and its key (0600), in the
    configuration, and a client that trusts that certificate verifies the gateway."""
    crt, key = ring.var / "tls" / "server.crt", ring.var / "secrets" / "tls-server.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert ring.config()["listen"]["tls"] == {"cert": "tls/server.crt", "key": "secrets/tls-server.key",
                                              "require": "non_loopback"}
    with psycopg.connect(conninfo(host="localhost", port=ring.listen_port, dbname="clinic", user=ring.gateway_user,
                                  password=ring.credential(), sslmode="verify-full", sslrootcert=str(crt)),
                         autocommit=True, connect_timeout=15) as c:
        assert c.pgconn.ssl_in_use and c.execute("select 1").fetchone() == (1,)
    assert "hoop is listening" in ring.up_output and "sslrootcert=" in ring.up_output


def test_psycopg_require_and_verify_full_use_tls_and_masking_still_applies(tls_ring, pki):
    ring = tls_ring
    with ring.connect("direct") as d:
        clear = d.execute(f"select {IDENTIFIERS} from patients order by id limit 20").fetchall()
    for sslmode in ("require", "verify-full"):
        app = f"tls-{sslmode}-{uuid.uuid4().hex[:6]}"
        with psycopg.connect(tls_dsn(ring, pki, sslmode, application_name=app), autocommit=True,
                             connect_timeout=15) as c:
            assert c.pgconn.ssl_in_use, sslmode
            assert c.execute("select 40 + 2").fetchone() == (42,)
            masked = c.execute(f"select {IDENTIFIERS} from patients order by id limit 20").fetchall()
        assert len(masked) == len(clear) == 20
        leaked = {str(v) for r in clear for v in r} & {str(v) for r in masked for v in r}
        assert not leaked, f"{sslmode}: {len(leaked)} identifier values came back in clear"
        opened = wait_for(lambda: session_open(ring, app))
        assert opened and opened["client"].get("tls", "").startswith("TLSv1."), opened and opened["client"]
    # The contrast: a loopback client in clear is let in, and its session says so.
    with ring.connect("gateway") as c:
        assert not c.pgconn.ssl_in_use
        assert c.execute("select 1").fetchone() == (1,)


def test_psql_verify_full_conninfo(tls_ring, pki):
    r = psql(tls_dsn(tls_ring, pki, "verify-full"), "-c", "\\conninfo", "-c", "select ssn from patients order by id limit 1")
    assert r.returncode == 0, r.stderr
    assert "SSL connection (protocol: TLSv1." in r.stdout, r.stdout
    with tls_ring.connect("direct") as d:
        ssn = d.execute("select ssn from patients order by id limit 1").fetchone()[0]
    assert ssn not in r.stdout and r.stdout.strip().splitlines()[-1].endswith(ssn[-4:]), "partial:4 masking"


def test_verify_full_refuses_the_wrong_ca_and_the_wrong_name(tls_ring, pki):
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        psycopg.connect(tls_dsn(tls_ring, pki, "verify-full", rootcert="wrong-ca.crt"), connect_timeout=15)
    # 127.0.0.2 is loopback too, but not a name on the certificate.
    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        psycopg.connect(tls_dsn(tls_ring, pki, "verify-full", host="127.0.0.2"), connect_timeout=15)
    r = psql(tls_dsn(tls_ring, pki, "verify-full", rootcert="wrong-ca.crt"), "-c", "select 1")
    assert r.returncode != 0 and "certificate verify failed" in r.stderr, r.stderr


def test_non_loopback_plaintext_is_refused_before_the_password(tls_ring, pki, peer):
    if not peer.available:
        pytest.skip("this machine has no non-loopback address and no network namespace can be made")
    ring = tls_ring
    app = "tls-plain-remote-" + uuid.uuid4().hex[:6]
    r = psql(conninfo(host=peer.server, port=ring.listen_port, dbname="clinic", user=ring.gateway_user,
                      password=ring.credential(), sslmode="disable", gssencmode="disable", application_name=app),
             "-c", "select 1", command=peer.command)
    assert r.returncode != 0
    assert f'TLS is required for host "{peer.client}"' in r.stderr and "no encryption" in r.stderr, r.stderr
    # On the wire: the startup is answered with FATAL 28000, never with a password request.
    probe = ("import socket, struct, sys\n"
             f"s = socket.create_connection(({peer.server!r}, {ring.listen_port}), timeout=10)\n"
             f"s.sendall({startup_packet({'user': ring.gateway_user, 'database': 'clinic'})!r})\n"
             "out = b''\n"
             "while True:\n"
             "    c = s.recv(65536)\n"
             "    if not c: break\n"
             "    out += c\n"
             "sys.stdout.write(out.hex())\n")
    p = subprocess.run(peer.command(["python3", "-c", probe]), capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    fields = error_fields(bytes.fromhex(p.stdout))
    assert (fields["S"], fields["C"]) == ("FATAL", "28000"), fields
    assert b"R\x00\x00\x00\x08" not in bytes.fromhex(p.stdout)
    time.sleep(0.5)
    assert session_open(ring, app) is None, "a refused startup must not open a session"
    assert "startup without TLS refused" in (ring.var / "log" / "listen.log").read_text()


def test_non_loopback_tls_is_let_in(tls_ring, pki, peer):
    if not peer.available:
        pytest.skip("this machine has no non-loopback address and no network namespace can be made")
    ring = tls_ring
    app = "tls-remote-" + uuid.uuid4().hex[:6]
    r = psql(tls_dsn(ring, pki, "verify-full", host=peer.server, application_name=app),
             "-c", "\\conninfo", "-c", "select 'remote ' || 42", command=peer.command)
    assert r.returncode == 0, r.stderr
    assert "SSL connection (protocol: TLSv1." in r.stdout and "remote 42" in r.stdout, r.stdout
    opened = wait_for(lambda: session_open(ring, app))
    assert opened["client"]["addr"] == peer.client, (peer.how, opened["client"])
    assert opened["client"]["tls"].startswith("TLSv1.")


# --- the front door: the protocol's edge cases ---------------------------------------

def test_plaintext_after_ssl_request_is_refused(tls_ring, pki):
    ring = tls_ring
    app = "tls-injected-" + uuid.uuid4().hex[:6]
    startup = startup_packet({"user": ring.gateway_user, "database": "clinic", "application_name": app})
    # In the same packet as the SSLRequest: refused before any 'S'.
    with socket.create_connection(("127.0.0.1", ring.listen_port), timeout=10) as s:
        s.sendall(SSL_REQUEST + startup)
        data = recv_all(s)
    fields = error_fields(data)
    assert (fields["S"], fields["C"], fields["M"]) == ("FATAL", "08P01", "received unencrypted data after SSL request")
    # After the 'S': clear text where the ClientHello belongs ends the connection.
    with socket.create_connection(("127.0.0.1", ring.listen_port), timeout=10) as s:
        s.sendall(SSL_REQUEST)
        assert s.recv(1) == b"S"
        s.sendall(startup + message("p", _cstr(ring.credential())))
        data = recv_all(s)
    assert b"R\x00\x00\x00\x08" not in data and not data.startswith(b"E"), data[:32]
    time.sleep(0.5)
    assert session_open(ring, app) is None
    assert "TLS handshake failed" in (ring.var / "log" / "listen.log").read_text()


def test_garbage_instead_of_client_hello_ends_only_that_session(tls_ring, pki):
    ring = tls_ring
    with psycopg.connect(tls_dsn(ring, pki, "verify-full"), autocommit=True, connect_timeout=15) as other:
        assert other.execute("select 1").fetchone() == (1,)
        for garbage in (os.urandom(300), b"\x16\x03\x01\x00\x05hello", b"\x00" * 64):
            with socket.create_connection(("127.0.0.1", ring.listen_port), timeout=10) as s:
                s.sendall(SSL_REQUEST)
                assert s.recv(1) == b"S"
                s.sendall(garbage)
                if garbage.startswith(b"\x16"):
                    s.shutdown(socket.SHUT_WR)   # a cut-short record: the end of input decides
                recv_all(s)
        assert other.pgconn.ssl_in_use
        assert other.execute("select 2").fetchone() == (2,)
    with ring.connect("gateway") as c:
        assert c.execute("select 3").fetchone() == (3,)


def test_raw_tls_startup_second_ssl_request_and_gssenc(tls_ring, pki):
    ring = tls_ring
    # The positive control: a startup through TLS is asked for its password.
    with upgraded(ring, pki) as t:
        t.sendall(startup_packet({"user": ring.gateway_user, "database": "clinic"}))
        head = t.recv(9)
        assert head == b"R\x00\x00\x00\x08\x00\x00\x00\x03", head
    # A second SSLRequest, inside TLS: the server's answer to an unknown protocol.
    with upgraded(ring, pki) as t:
        t.sendall(SSL_REQUEST)
        fields = error_fields(recv_all(t))
        assert (fields["C"], fields["M"]) == ("0A000", "unsupported frontend protocol 1234.5679: server supports 3.0 to 3.0")
    # GSSENCRequest is still declined; an SSLRequest may follow it (in either order).
    with socket.create_connection(("127.0.0.1", ring.listen_port), timeout=10) as s:
        s.sendall(GSSENC_REQUEST)
        assert s.recv(1) == b"N"
        s.sendall(SSL_REQUEST)
        assert s.recv(1) == b"S"
        with client_context(pki).wrap_socket(s, server_hostname="localhost") as t:
            t.sendall(GSSENC_REQUEST)
            fields = error_fields(recv_all(t))
            assert fields["C"] == "0A000" and "1234.5680" in fields["M"], fields


# --- upstream ------------------------------------------------------------------------

def backend_ssl(ring, app: str):
    with ring.admin() as a:
        return a.execute("select s.ssl, s.version from pg_stat_ssl s join pg_stat_activity a using (pid) "
                         "where a.application_name = %s", (app,)).fetchall()


def test_upstream_connection_uses_tls(tls_ring):
    ring = tls_ring
    seen = {}
    for db in ("clinic", "clinic_plain"):
        app = f"tls-upstream-{db}-{uuid.uuid4().hex[:6]}"
        with psycopg.connect(ring.gateway_dsn(application_name=app).replace("dbname='clinic'", f"dbname='{db}'"),
                             autocommit=True, connect_timeout=15) as c:
            assert c.execute("select count(*) > 0 from patients").fetchone() == (True,)
            seen[db] = backend_ssl(ring, app)
    assert len(seen["clinic"]) == 1 and seen["clinic"][0][0] is True and seen["clinic"][0][1].startswith("TLSv1."), seen
    assert seen["clinic_plain"] == [(False, None)], seen


def test_upstream_wrong_ca_fails_the_session_and_runs_nothing(tls_ring):
    ring = tls_ring
    app = "tls-badca-" + uuid.uuid4().hex[:6]
    dsn = ring.gateway_dsn(application_name=app).replace("dbname='clinic'", "dbname='clinic_badca'")
    r = psql(dsn, "-c", "select 'must not run'")
    assert r.returncode != 0
    assert 'could not connect to the upstream database "clinic_badca": the server\'s TLS certificate is not signed by the configured CA' in r.stderr, r.stderr
    sid = wait_for(lambda: ring.session_ids_for_app(app))
    assert sid, "the refused session is in the audit trail"
    types = [f["type"] for f in ring.session_frames(sid[0])]
    assert "session_opened" not in types and "query" not in types and "complete" not in types, types
    assert backend_ssl(ring, app) == []
    assert "is not signed by the configured CA" in (ring.var / "log" / "connect.log").read_text()


# --- require: all (last: it restarts the ring) -----------------------------------------

def test_require_all_refuses_loopback_plaintext(tls_ring, pki):
    ring = tls_ring

    def mode(word):
        def change(cfg):
            cfg["listen"]["tls"]["require"] = word
        return change
    ring.reconfigure(mode("all"))
    try:
        with pytest.raises(psycopg.OperationalError, match='TLS is required for host "127.0.0.1".*no encryption'):
            ring.connect("gateway")
        with socket.create_connection(("127.0.0.1", ring.listen_port), timeout=10) as s:
            s.sendall(startup_packet({"user": ring.gateway_user, "database": "clinic"}))
            data = recv_all(s)
        assert error_fields(data)["C"] == "28000" and b"R\x00\x00\x00\x08" not in data
        with psycopg.connect(tls_dsn(ring, pki, "require"), autocommit=True, connect_timeout=15) as c:
            assert c.pgconn.ssl_in_use and c.execute("select 1").fetchone() == (1,)
    finally:
        ring.reconfigure(mode("non_loopback"))


# --- hoop-listen on its own: no certificate, a key others can read ---------------------

def listen_alone(tmp_path, listen: dict):
    port = free_port()
    cfg = tmp_path / "hoop.json"
    cfg.write_text(json.dumps({"listen": {"host": "127.0.0.1", "port": port, **listen}}))
    log = open(tmp_path / "listen.log", "wb")
    proc = subprocess.Popen([str(hoop_bin() / "hoop-listen"), "--config", str(cfg)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=log)
    return proc, port


def test_ssl_request_without_a_certificate_is_answered_n(tmp_path):
    proc, port = listen_alone(tmp_path, {})
    try:
        assert wait_for(lambda: port_open(port), timeout=15)
        w = PGWire("127.0.0.1", port, timeout=10)
        w.sock.sendall(SSL_REQUEST)
        assert w.sock.recv(1) == b"N"
        w.send(startup_packet({"user": "agent", "database": "clinic"}))   # and on in clear
        assert w.read() == ("R", (3, b""))
        w.close()
    finally:
        proc.kill()
        proc.wait()
    assert "no TLS certificate configured" in (tmp_path / "listen.log").read_text()


def test_a_key_file_others_can_read_stops_the_stage(tmp_path, pki):
    key = tmp_path / "open.key"
    shutil.copy(pki / "gateway.key", key)
    os.chmod(key, 0o644)
    proc, port = listen_alone(tmp_path, {"tls": {"cert": str(pki / "gateway.crt"), "key": str(key)}})
    try:
        assert proc.wait(timeout=15) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "has group or world access" in (tmp_path / "listen.log").read_text()
    assert not port_open(port)
