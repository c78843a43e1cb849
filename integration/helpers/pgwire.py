"""A tiny PostgreSQL wire-protocol (v3) client for the ring tests.

It speaks just enough of the protocol to drive the extended query protocol message by
message (Parse/Bind/Describe/Execute/Close/Sync/Flush) and to compare, message for
message, what the gateway answers with what PostgreSQL itself answers. It
authenticates with trust, cleartext, MD5 or SCRAM-SHA-256, so the same sequence can
be sent to the gateway (cleartext) and directly to PostgreSQL (SCRAM over TCP, or
trust over the private unix socket).

Messages are returned as (type, value) pairs, decoded:

    ('T', [ {name, table_oid, column, type_oid, type_size, type_mod, format}, ... ])
    ('D', [bytes | None, ...])          DataRow
    ('C', 'SELECT 3')                   CommandComplete
    ('E', {'C': '22012', 'M': ..., ...}) ErrorResponse (field code -> value)
    ('N', {...})                        NoticeResponse
    ('Z', 'I')                          ReadyForQuery
    ('t', [oid, ...])                   ParameterDescription
    ('S', (name, value))                ParameterStatus
    ('K', (pid, key))                   BackendKeyData
    ('R', (code, data))                 Authentication*
    ('1',None) ('2',None) ('3',None) ('n',None) ('s',None) ('I',None)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import select
import socket
import struct
import time

PROTOCOL_3 = 196608
SSL_REQUEST = 80877103
CANCEL_REQUEST = 80877102
GSSENC_REQUEST = 80877104


class WireError(Exception):
    pass


class ServerClosed(WireError):
    """The server closed the connection (EOF) before the expected message."""


def _cstr(s: str | bytes) -> bytes:
    if isinstance(s, str):
        s = s.encode()
    return s + b"\0"


def message(type_: bytes | str, payload: bytes = b"") -> bytes:
    """One frontend message: type byte, Int32 length (self-inclusive), payload."""
    if isinstance(type_, str):
        type_ = type_.encode()
    return type_ + struct.pack("!I", len(payload) + 4) + payload


def startup_packet(params: dict[str, str], protocol: int = PROTOCOL_3) -> bytes:
    body = struct.pack("!I", protocol)
    for k, v in params.items():
        body += _cstr(k) + _cstr(v)
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


# --- frontend message builders ------------------------------------------------------

def Query(sql: str) -> bytes:
    return message("Q", _cstr(sql))


def Parse(name: str, sql: str, param_types: list[int] = ()) -> bytes:
    p = _cstr(name) + _cstr(sql) + struct.pack("!H", len(param_types))
    for oid in param_types:
        p += struct.pack("!I", oid)
    return message("P", p)


def Bind(portal: str, statement: str, params: list = (), param_formats: list[int] = (),
         result_formats: list[int] = ()) -> bytes:
    p = _cstr(portal) + _cstr(statement)
    p += struct.pack("!H", len(param_formats)) + b"".join(struct.pack("!H", f) for f in param_formats)
    p += struct.pack("!H", len(params))
    for v in params:
        if v is None:
            p += struct.pack("!i", -1)
        else:
            b = v.encode() if isinstance(v, str) else bytes(v)
            p += struct.pack("!i", len(b)) + b
    p += struct.pack("!H", len(result_formats)) + b"".join(struct.pack("!H", f) for f in result_formats)
    return message("B", p)


def Describe(kind: str, name: str) -> bytes:
    return message("D", kind.encode() + _cstr(name))


def Execute(portal: str, max_rows: int = 0) -> bytes:
    return message("E", _cstr(portal) + struct.pack("!I", max_rows))


def Close(kind: str, name: str) -> bytes:
    return message("C", kind.encode() + _cstr(name))


def Sync() -> bytes:
    return message("S")


def Flush() -> bytes:
    return message("H")


def Terminate() -> bytes:
    return message("X")


# --- decoding -----------------------------------------------------------------------

def _fields(payload: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    i = 0
    while i < len(payload) and payload[i] != 0:
        code = chr(payload[i])
        end = payload.index(b"\0", i + 1)
        out[code] = payload[i + 1:end].decode("utf-8", "replace")
        i = end + 1
    return out


def decode(t: str, payload: bytes):
    if t == "T":
        (n,) = struct.unpack_from("!H", payload, 0)
        i = 2
        fields = []
        for _ in range(n):
            end = payload.index(b"\0", i)
            name = payload[i:end].decode()
            i = end + 1
            table_oid, column, type_oid, type_size, type_mod, fmt = struct.unpack_from("!IhIhih", payload, i)
            i += 18
            fields.append(dict(name=name, table_oid=table_oid, column=column, type_oid=type_oid,
                               type_size=type_size, type_mod=type_mod, format=fmt))
        return fields
    if t == "D":
        (n,) = struct.unpack_from("!H", payload, 0)
        i = 2
        vals = []
        for _ in range(n):
            (ln,) = struct.unpack_from("!i", payload, i)
            i += 4
            if ln < 0:
                vals.append(None)
            else:
                vals.append(payload[i:i + ln])
                i += ln
        return vals
    if t == "C":
        return payload.rstrip(b"\0").decode()
    if t in ("E", "N"):
        return _fields(payload)
    if t == "Z":
        return payload.decode()
    if t == "t":
        (n,) = struct.unpack_from("!H", payload, 0)
        return list(struct.unpack_from("!%dI" % n, payload, 2))
    if t == "S":
        parts = payload.split(b"\0")
        return (parts[0].decode(), parts[1].decode())
    if t == "K":
        return struct.unpack("!ii", payload[:8])
    if t == "R":
        (code,) = struct.unpack_from("!I", payload, 0)
        return (code, payload[4:])
    if t in ("1", "2", "3", "n", "s", "I"):
        return None
    return payload


class PGWire:
    """One connection. `host` may be a unix socket directory (then `port` names the
    socket file .s.PGSQL.<port>, as libpq does)."""

    def __init__(self, host: str, port: int, timeout: float = 30.0):
        self.timeout = timeout
        if host.startswith("/"):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(os.path.join(host, f".s.PGSQL.{port}"))
        else:
            self.sock = socket.create_connection((host, port), timeout=timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.parameters: dict[str, str] = {}
        self.backend_key: tuple[int, int] | None = None
        self.closed = False

    # raw I/O
    def send(self, *msgs: bytes) -> None:
        self.sock.sendall(b"".join(msgs))

    def _fill(self, deadline: float | None) -> None:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out waiting for the server")
            self.sock.settimeout(left)
        else:
            self.sock.settimeout(self.timeout)
        try:
            chunk = self.sock.recv(1 << 16)
        except ConnectionResetError:
            # Closed with a reset (a close with unread client bytes in its buffer): closed all the same.
            self.closed = True
            raise
        if not chunk:
            self.closed = True
            raise ServerClosed("server closed the connection")
        self.buf += chunk

    def read_raw(self, timeout: float | None = None) -> tuple[str, bytes]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while len(self.buf) < 5:
            self._fill(deadline)
        t = chr(self.buf[0])
        (ln,) = struct.unpack_from("!I", self.buf, 1)
        if ln < 4:
            raise WireError(f"bad message length {ln} for type {t!r}")
        while len(self.buf) < 1 + ln:
            self._fill(deadline)
        payload = bytes(self.buf[5:1 + ln])
        del self.buf[:1 + ln]
        return t, payload

    def read(self, timeout: float | None = None):
        t, payload = self.read_raw(timeout)
        v = decode(t, payload)
        if t == "S":
            self.parameters[v[0]] = v[1]
        return t, v

    def read_until_ready(self, timeout: float | None = None, keep_status: bool = False) -> list:
        """Messages up to and including ReadyForQuery. ParameterStatus messages are
        dropped unless keep_status (they are asynchronous and gateway-specific)."""
        out = []
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.001, deadline - time.monotonic())
            t, v = self.read(left)
            if t == "S" and not keep_status:
                continue
            out.append((t, v))
            if t == "Z":
                return out
            if t == "E" and v.get("S") in ("FATAL", "PANIC"):
                return out

    def read_until_closed(self, timeout: float = 5.0) -> list:
        """Every message until the server closes the connection (or the timeout)."""
        out = []
        deadline = time.monotonic() + timeout
        try:
            while True:
                out.append(self.read(max(0.001, deadline - time.monotonic())))
        except (ServerClosed, ConnectionResetError, BrokenPipeError):
            return out

    def expect_nothing(self, within: float) -> None:
        """Asserts the server sends nothing for `within` seconds."""
        try:
            m = self.read(within)
        except socket.timeout:
            return
        raise AssertionError(f"expected no message, got {m!r}")

    # startup
    def startup(self, user: str, database: str, password: str | None = None,
                params: dict[str, str] | None = None) -> list:
        """Sends StartupMessage, answers the authentication request, and returns the
        messages up to the first ReadyForQuery (ParameterStatus included)."""
        p = {"user": user, "database": database}
        p.update(params or {})
        self.send(startup_packet(p))
        msgs = []
        scram = None
        while True:
            t, v = self.read()
            msgs.append((t, v))
            if t == "E":
                raise WireError(f"startup failed: {v}")
            if t == "R":
                code, data = v
                if code == 0:
                    continue
                if code == 3:
                    self.send(message("p", _cstr(password or "")))
                elif code == 5:
                    salt = data[:4]
                    inner = hashlib.md5((password or "").encode() + user.encode()).hexdigest()
                    outer = "md5" + hashlib.md5(inner.encode() + salt).hexdigest()
                    self.send(message("p", _cstr(outer)))
                elif code == 10:
                    mechs = data.split(b"\0")
                    if b"SCRAM-SHA-256" not in mechs:
                        raise WireError(f"no supported SASL mechanism in {mechs}")
                    scram = _Scram(password or "")
                    first = scram.client_first()
                    self.send(message("p", _cstr("SCRAM-SHA-256") + struct.pack("!i", len(first)) + first))
                elif code == 11:
                    self.send(message("p", scram.client_final(data)))
                elif code == 12:
                    scram.verify(data)
                else:
                    raise WireError(f"unsupported authentication request {code}")
            elif t == "K":
                self.backend_key = v
            elif t == "Z":
                return msgs

    def close(self, terminate: bool = True) -> None:
        if terminate and not self.closed:
            try:
                self.send(Terminate())
            except OSError:
                pass
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True

    def abort(self) -> None:
        """Closes the socket abruptly, with a TCP reset where possible (no Terminate)."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close(terminate=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Scram:
    """SCRAM-SHA-256 client (RFC 5802 / 7677), no channel binding."""

    def __init__(self, password: str):
        self.password = password.encode()
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = f"n=,r={self.nonce}"

    def client_first(self) -> bytes:
        return ("n,," + self.first_bare).encode()

    def client_final(self, server_first: bytes) -> bytes:
        sf = server_first.decode()
        attrs = dict(kv.split("=", 1) for kv in sf.split(","))
        if not attrs["r"].startswith(self.nonce):
            raise WireError("SCRAM: server nonce does not extend ours")
        salt = base64.b64decode(attrs["s"])
        iters = int(attrs["i"])
        salted = hashlib.pbkdf2_hmac("sha256", self.password, salt, iters)
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        stored_key = hashlib.sha256(client_key).digest()
        final_wo_proof = f"c=biws,r={attrs['r']}"
        self.auth_message = f"{self.first_bare},{sf},{final_wo_proof}".encode()
        sig = hmac.new(stored_key, self.auth_message, "sha256").digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        self.server_key = hmac.new(salted, b"Server Key", "sha256").digest()
        return (final_wo_proof + ",p=" + base64.b64encode(proof).decode()).encode()

    def verify(self, server_final: bytes) -> None:
        attrs = dict(kv.split("=", 1) for kv in server_final.decode().split(","))
        expected = hmac.new(self.server_key, self.auth_message, "sha256").digest()
        if base64.b64decode(attrs.get("v", "")) != expected:
            raise WireError("SCRAM: server signature does not verify")


def cancel_request(host: str, port: int, pid: int, key: int) -> None:
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(struct.pack("!IIii", 16, CANCEL_REQUEST, pid, key))
        try:
            s.recv(1)
        except OSError:
            pass


def readable(sock: socket.socket, timeout: float) -> bool:
    r, _, _ = select.select([sock], [], [], timeout)
    return bool(r)
