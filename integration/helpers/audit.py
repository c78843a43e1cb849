"""The audit store's chain and checkpoints, from outside (Sources/hoop-record):
copies of a store, `hoop-audit verify`, and the chain's arithmetic re-implemented in
Python so that tests can play an attacker who has write access to the store but not
the signing key."""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import struct
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from helpers.ring import clean_env, hoop_bin

GENESIS = bytes(32)


def backup(src: Path | str, dst: Path | str) -> Path:
    """A consistent copy of a (possibly live, WAL) store through SQLite's backup API."""
    s = sqlite3.connect(str(src), timeout=30)
    d = sqlite3.connect(str(dst))
    try:
        s.backup(d)
    finally:
        d.close()
        s.close()
    return Path(dst)


def record_bin() -> str:
    return str(hoop_bin() / "hoop-record")


def audit_bin() -> str:
    """The auditors' tools (verify, prune, key, sessions, show, replay, export)."""
    return str(hoop_bin() / "hoop-audit")


@dataclass
class Verdict:
    rc: int
    report: dict | None
    text: str

    @property
    def problems(self) -> list[dict]:
        return (self.report or {}).get("problems", [])

    def kinds(self) -> set[str]:
        return {p["kind"] for p in self.problems}

    def __str__(self) -> str:
        return f"exit {self.rc}: {self.text.strip()[-2000:]}"


def verify(store: Path | str, key: str, json_out: bool = True, timeout: float = 120, anchors: tuple[str, ...] = ()) -> Verdict:
    """`hoop-audit verify --store STORE --key KEY [--anchor SIG]... [--json]` (KEY: a file or hex)."""
    cmd = [audit_bin(), "verify", "--store", str(store), "--key", str(key)]
    for a in anchors:
        cmd += ["--anchor", a]
    if json_out:
        cmd.append("--json")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=clean_env(),
                       stdin=subprocess.DEVNULL)
    report = None
    if json_out:
        for line in r.stdout.splitlines():
            if line.startswith("{"):
                report = json.loads(line)
    return Verdict(r.returncode, report, r.stdout + r.stderr)


def i64(v: int) -> bytes:
    return struct.pack(">q", v)


def chain_hash(previous: bytes, id: int, recorded_at: int, session: str | None, seq: int | None,
               type_: str, frame: bytes) -> bytes:
    """AuditChain.hash: SHA-256 over the previous hash and every column, length-prefixed."""
    h = hashlib.sha256()
    h.update(b"hoop-audit-v1")
    h.update(previous)

    def blob(b: bytes):
        h.update(i64(len(b)))
        h.update(b)

    h.update(i64(id))
    h.update(i64(recorded_at))
    h.update(i64(-1 if session is None else 0))
    blob((session or "").encode())
    h.update(i64(seq if seq is not None else -(2 ** 63)))
    blob(type_.encode())
    blob(frame)
    return h.digest()


def checkpoint_message(at: int, kind: str, last_id: int, head: bytes, pruned_through: int | None,
                       previous: bytes, key_id: str) -> bytes:
    """AuditChain.checkpointMessage: what a checkpoint's Ed25519 signature covers."""
    def blob(b: bytes) -> bytes:
        return i64(len(b)) + b
    return (b"hoop-checkpoint-v1" + i64(at) + blob(kind.encode()) + i64(last_id) + blob(head)
            + i64(pruned_through if pruned_through is not None else -1) + blob(previous) + blob(key_id.encode()))


def key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).digest()[:8].hex()


def rehash_from(db: sqlite3.Connection, first: int) -> int:
    """Recomputes the stored hash of every record from id `first` on, each from the one
    before (what an attacker without the signing key can do after editing a record).
    Returns how many records were rewritten."""
    prev = GENESIS
    if first > 1:
        row = db.execute("SELECT hash FROM frames WHERE id < ? ORDER BY id DESC LIMIT 1", (first,)).fetchone()
        prev = bytes(row[0]) if row else GENESIS
    n = 0
    for rid, at, session, seq, type_, frame in db.execute(
            "SELECT id, recorded_at, session, seq, type, frame FROM frames WHERE id >= ? ORDER BY id", (first,)).fetchall():
        prev = chain_hash(prev, rid, at, session, seq, type_, bytes(frame))
        db.execute("UPDATE frames SET hash = ? WHERE id = ?", (prev, rid))
        n += 1
    return n


def checkpoints(store: Path | str) -> list[dict]:
    db = sqlite3.connect(str(store))
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM checkpoints ORDER BY id")]
    finally:
        db.close()


def frames_for(session: str, user: str, sql: str, value: str) -> bytes:
    ident = {"issuer": "http://127.0.0.1:1", "subject": user, "user": user, "email": user,
             "groups": ["clinicians"], "kind": "person", "token_expires_at": 2000000000, "session_ends_at": 2000000000}
    fs = [
        {"type": "session_open", "session": session, "seq": 0, "user": user, "database": "clinic", "connection": "clinic",
         "options": {}, "client": {"addr": "127.0.0.1", "port": 5}, "application_name": "t", "identity": ident,
         "decision": "allowed", "stamp:auth": True, "stamp:approve": True},
        {"type": "session_opened", "session": session, "seq": 0, "parameters": {}, "status": "I", "stamp:mask": True},
        {"type": "query", "session": session, "seq": 1, "sql": sql, "stamp:auth": True, "stamp:approve": True},
        {"type": "columns", "session": session, "seq": 1, "fields": [{"name": "v", "type_oid": 25}], "stamp:mask": True},
        {"type": "rows", "session": session, "seq": 1, "rows": [[value]], "stamp:mask": True},
        {"type": "complete", "session": session, "seq": 1, "tag": "SELECT 1", "stamp:mask": True},
        {"type": "ready", "session": session, "seq": 1, "status": "I", "stamp:mask": True},
        {"type": "session_close", "session": session, "reason": "terminate"},
        {"type": "session_closed", "session": session, "stamp:mask": True},
    ]
    return b"".join(json.dumps(f, separators=(",", ":")).encode() + b"\n" for f in fs)


class Store:
    def __init__(self, d: Path, retention_days: int | None = None):
        self.dir = d
        (d / "sk").write_text(secrets.token_hex(32) + "\n")
        cfg = {"audit": {"signing_key": {"file": str(d / "sk")}}}
        if retention_days is not None:
            cfg["audit"]["retention_days"] = retention_days
        (d / "cfg.json").write_text(json.dumps(cfg))
        self.cfg = d / "cfg.json"
        self.path = d / "audit.sqlite"
        r = subprocess.run([audit_bin(), "key", "--config", str(self.cfg)], capture_output=True, text=True,
                           env=clean_env(), timeout=60)
        assert r.returncode == 0, r.stderr
        self.pub = d / "pub"
        self.pub.write_text(r.stdout.strip())

    def record(self, data: bytes) -> None:
        """One run of the recorder (start checkpoint ... shutdown checkpoint)."""
        r = subprocess.run([record_bin(), "--store", str(self.path), "--config", str(self.cfg)], input=data,
                           capture_output=True, env=clean_env(), timeout=60)
        assert r.returncode == 0, r.stderr

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(str(self.path), isolation_level=None)

    def verify(self, anchors=()):
        return verify(self.path, str(self.pub), anchors=anchors)

    def tool(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([audit_bin(), *args, "--store", str(self.path), "--config", str(self.cfg)],
                              capture_output=True, text=True, env=clean_env(), timeout=60)

    def sessions(self) -> list[dict]:
        r = self.tool("sessions", "--json")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def append_forged(self, data: bytes, ids: list[int] | None = None, chain_from_head: bool = True) -> list[int]:
        """Appends frames as records, chained from the store's head (what an attacker
        without the key can compute: the chain's arithmetic is public)."""
        db = self.db()
        head = db.execute("SELECT id, hash FROM frames ORDER BY id DESC LIMIT 1").fetchone()
        last_id, prev = (head[0], bytes(head[1])) if head else (0, GENESIS)
        out = []
        for i, line in enumerate(data.splitlines()):
            f = json.loads(line)
            rid = ids[i] if ids else last_id + 1
            at = int(time.time() * 1e6)
            h = chain_hash(prev, rid, at, f.get("session"), f.get("seq"), f["type"], line) if chain_from_head else secrets.token_bytes(32)
            db.execute("INSERT INTO frames (id, recorded_at, session, seq, type, frame, hash) VALUES (?,?,?,?,?,?,?)",
                       (rid, at, f.get("session"), f.get("seq"), f["type"], line, h))
            prev, last_id = h, rid
            out.append(rid)
        db.close()
        return out
