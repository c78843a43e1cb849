"""Tamper tests on copies of a real audit store (Sources/hoop-record: AuditStore,
Verify). One ring of the module's own carries real sessions (psycopg's extended
protocol, psql's simple one, an error), is restarted twice (start checkpoints) and
kept busy for over ten seconds in between (an interval checkpoint). Each case then
tampers with its own copy of that store and runs `hoop-audit verify --json` with the
auditors' public key (var/audit-signing.pub): verify must exit 1 and its problems must
name the right kind and the right record or checkpoint. The untouched copy verifies,
and so does a copy pruned under a signed prune checkpoint."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from helpers.audit import (GENESIS, audit_bin, backup, chain_hash, checkpoint_message, checkpoints, key_id, record_bin,
                           rehash_from, verify)
from helpers.ring import clean_env


@dataclass
class Baseline:
    path: Path                 # a backup of the ring's store after the second restart
    pub: Path                  # the auditors' public key (var/audit-signing.pub)
    config: Path               # the ring's configuration (var/hoop.json)
    key_file: Path             # the signing key (var/secrets/audit-signing.key)
    gap: float                 # a moment (epoch s) with no record within a second of it
    heads_before_restart: list[int] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)


def store_head(ring) -> int:
    with ring.audit() as db:
        return db.execute("SELECT coalesce(max(id), 0) FROM frames").fetchone()[0]


def settle(ring, quiet: float = 0.6, timeout: float = 10) -> int:
    """Waits until no frame has been recorded for `quiet` seconds; the head then."""
    deadline = time.monotonic() + timeout
    last, since = store_head(ring), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        h = store_head(ring)
        if h != last:
            last, since = h, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


def sessions(ring, tag: str, count: int, queries: int, markers: list[str]) -> None:
    for s in range(count):
        with ring.connect("gateway", application_name=f"verify-{tag}-{s}") as conn:
            for q in range(queries):
                m = f"mk-{tag}-{s}-{q}"
                got = conn.execute("select %s::text as marker, id, mrn from patients where id = %s",
                                   (m, q % 20 + 1)).fetchall()
                assert got and got[0][0] == m
                markers.append(m)


@pytest.fixture(scope="module")
def baseline(module_ring, tmp_path_factory) -> Baseline:
    ring = module_ring
    b = Baseline(path=tmp_path_factory.mktemp("audit-verify") / "baseline.sqlite", pub=ring.var / "audit-signing.pub",
                 config=ring.var / "hoop.json", key_file=ring.var / "secrets" / "audit-signing.key", gap=0.0)
    assert b.pub.exists(), "the default configuration did not write var/audit-signing.pub"
    # Batch 1: extended protocol (psycopg), simple protocol (psql), an error.
    sessions(ring, "a", 3, 15, b.markers)
    r = ring.psql("gateway", input="select 'mk-psql-1' as marker;\nselect 1/0;\nselect count(*) from patients;\n")
    assert "mk-psql-1" in r.stdout and "division by zero" in r.stderr, r.stdout + r.stderr
    b.heads_before_restart.append(settle(ring))
    ring.restart()
    # A gap with no record in it: a prune's cut-off that falls between the two batches.
    time.sleep(1.2)
    b.gap = time.time()
    time.sleep(1.2)
    # Batch 2: frames for over ten seconds, so that an interval checkpoint is written.
    with ring.connect("gateway", application_name="verify-b-slow") as conn:
        t0 = time.monotonic()
        q = 0
        while time.monotonic() - t0 < 11.5:
            m = f"mk-b-slow-{q}"
            assert conn.execute("select %s::text as marker, id from patients where id = %s",
                                (m, q % 20 + 1)).fetchone()[0] == m
            b.markers.append(m)
            q += 1
            time.sleep(0.25)
    sessions(ring, "c", 2, 10, b.markers)
    b.heads_before_restart.append(settle(ring))
    ring.restart()
    settle(ring)
    backup(ring.audit_path, b.path)
    return b


@pytest.fixture
def copy(baseline, tmp_path) -> Path:
    return backup(baseline.path, tmp_path / "copy.sqlite")


def db_of(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(str(path), isolation_level=None)


def covered(path: Path) -> int:
    """The last record under a checkpoint."""
    return max(c["last_id"] for c in checkpoints(path))


def rows_record(path: Path, around: float = 0.5) -> tuple[int, bytes]:
    """A rows frame (a result a client received) in the middle of the signed part of
    the chain, not itself a checkpoint's last record."""
    cp_ids = {c["last_id"] for c in checkpoints(path)}
    with db_of(path) as db:
        ids = [r for (r,) in db.execute("SELECT id FROM frames WHERE type = 'rows' AND id <= ? ORDER BY id",
                                        (covered(path),)) if r not in cp_ids and r - 1 not in cp_ids]
        rid = ids[int(len(ids) * around)]
        return rid, bytes(db.execute("SELECT frame FROM frames WHERE id = ?", (rid,)).fetchone()[0])


def assert_fails(v, what: str):
    assert v.rc == 1, f"verify did not fail on {what}: {v}"
    assert v.report is not None and v.report["ok"] is False, f"verify's JSON on {what}: {v}"


# --- the untouched store ---------------------------------------------------------------

def test_untouched_copy_verifies(baseline, copy):
    cps = checkpoints(copy)
    kinds = [c["kind"] for c in cps]
    assert kinds.count("start") >= 4 and "interval" in kinds, f"checkpoints of the baseline: {kinds}"
    # every restart's start checkpoint signs the head the ring had when it stopped
    for head in baseline.heads_before_restart:
        assert any(c["kind"] == "start" and c["last_id"] == head for c in cps), (head, cps)
    with db_of(copy) as db:
        count, last = db.execute("SELECT count(*), max(id) FROM frames").fetchone()
        assert count == last >= 300, f"only {count} records (ids through {last})"
        # every marker the clients received is in a rows frame
        text = b"\n".join(bytes(f) for (f,) in db.execute("SELECT frame FROM frames WHERE type = 'rows'"))
    missing = [m for m in baseline.markers if f'"{m}"'.encode() not in text]
    assert not missing, f"markers clients received but not recorded: {missing[:5]}"

    v = verify(copy, str(baseline.pub))
    assert v.rc == 0, str(v)
    assert v.report["ok"] is True and v.report["problems"] == []
    assert v.report["records"] == count and v.report["last_record"] == last
    assert v.report["checkpoints"] == len(cps)
    assert v.report["unsigned_tail"] == last - covered(copy)
    t = verify(copy, str(baseline.pub), json_out=False)
    assert t.rc == 0 and t.text.startswith("OK"), str(t)
    # the key may also be given as 64 hex characters
    assert verify(copy, baseline.pub.read_text().strip()).rc == 0


def test_python_chain_matches_the_store(baseline, copy):
    """The tests' own chain arithmetic reproduces every stored hash and checks every
    signature with the auditors' key (else the attacker cases below would prove nothing)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    with db_of(copy) as db:
        prev = GENESIS
        for rid, at, session, seq, type_, frame, h in db.execute(
                "SELECT id, recorded_at, session, seq, type, frame, hash FROM frames ORDER BY id"):
            prev = chain_hash(prev, rid, at, session, seq, type_, bytes(frame))
            assert prev == bytes(h), f"record {rid}: the Python chain disagrees with the store"
    raw = bytes.fromhex(baseline.pub.read_text().strip())
    pub = Ed25519PublicKey.from_public_bytes(raw)
    previous = b""
    for c in checkpoints(copy):
        assert bytes(c["previous"]) == previous and c["key_id"] == key_id(raw)
        pub.verify(bytes(c["signature"]), checkpoint_message(c["at"], c["kind"], c["last_id"], bytes(c["head"]),
                                                             c["pruned_through"], previous, c["key_id"]))
        previous = bytes(c["signature"])


# --- records ------------------------------------------------------------------------------

def test_one_byte_of_a_record(baseline, copy):
    rid, frame = rows_record(copy)
    changed = bytearray(frame)
    i = frame.index(b'"mk-') + 2          # a letter of a marker a client received
    changed[i] = ord("X") if changed[i] != ord("X") else ord("Y")
    assert sum(a != b for a, b in zip(frame, changed)) == 1 and len(changed) == len(frame)
    with db_of(copy) as db:
        db.execute("UPDATE frames SET frame = ? WHERE id = ?", (bytes(changed), rid))
    v = verify(copy, str(baseline.pub))
    assert_fails(v, "one changed byte")
    assert [(p["kind"], p.get("record")) for p in v.problems] == [("altered", rid)], str(v)
    t = verify(copy, str(baseline.pub), json_out=False)
    assert t.rc == 1
    fails = [line for line in t.text.splitlines() if line.startswith("FAIL")]
    assert fails and f"record {rid} " in fails[0], t.text


@pytest.mark.parametrize("column,value", [("recorded_at", 1), ("session", "s0000000000ff-1"), ("seq", 999999),
                                          ("type", "notice")])
def test_a_column_other_than_the_frame(baseline, copy, column, value):
    rid, _ = rows_record(copy, 0.3)
    with db_of(copy) as db:
        old = db.execute(f"SELECT {column} FROM frames WHERE id = ?", (rid,)).fetchone()[0]
        db.execute(f"UPDATE frames SET {column} = ? WHERE id = ?", (old + value if column == "recorded_at" else value, rid))
    v = verify(copy, str(baseline.pub))
    assert_fails(v, f"a changed {column}")
    assert [(p["kind"], p.get("record")) for p in v.problems] == [("altered", rid)], str(v)


def test_a_record_deleted_in_the_middle(baseline, copy):
    rid, _ = rows_record(copy, 0.6)
    with db_of(copy) as db:
        db.execute("DELETE FROM frames WHERE id = ?", (rid,))
    v = verify(copy, str(baseline.pub))
    assert_fails(v, "a deleted record")
    assert [(p["kind"], p.get("record")) for p in v.problems] == [("missing", rid)], str(v)
    assert f"record {rid} is missing" in v.problems[0]["detail"]


def test_the_oldest_records_deleted_without_a_prune(baseline, copy):
    with db_of(copy) as db:
        db.execute("DELETE FROM frames WHERE id <= 5")
    v = verify(copy, str(baseline.pub))
    assert_fails(v, "the oldest records deleted")
    assert [(p["kind"], p.get("record")) for p in v.problems] == [("missing", 1)], str(v)
    assert "records 1 to 5" in v.problems[0]["detail"]


def test_two_records_swapped(baseline, copy):
    a, _ = rows_record(copy, 0.25)
    b, _ = rows_record(copy, 0.75)
    assert b > a + 1
    cols = "recorded_at, session, seq, type, frame, hash"
    with db_of(copy) as db:
        ra = db.execute(f"SELECT {cols} FROM frames WHERE id = ?", (a,)).fetchone()
        rb = db.execute(f"SELECT {cols} FROM frames WHERE id = ?", (b,)).fetchone()
        upd = "UPDATE frames SET recorded_at = ?, session = ?, seq = ?, type = ?, frame = ?, hash = ? WHERE id = ?"
        db.execute("BEGIN")
        db.execute(upd, (*rb, a))
        db.execute(upd, (*ra, b))
        db.execute("COMMIT")
    v = verify(copy, str(baseline.pub))
    assert_fails(v, "two swapped records")
    assert v.kinds() == {"altered"}, str(v)
    named = sorted(p["record"] for p in v.problems)
    assert named[0] == a and b in named, str(v)
    # each swapped record, and the one after it (chained to the wrong hash)
    assert set(named) <= {a, a + 1, b, b + 1}, str(v)


def test_the_tail_truncated(baseline, copy):
    n = 7
    cut = covered(copy) - n          # records after `cut` go, all of them under a checkpoint
    with db_of(copy) as db:
        db.execute("DELETE FROM frames WHERE id > ?", (cut,))
    v = verify(copy, str(baseline.pub))
    assert_fails(v, "a truncated tail")
    assert v.kinds() == {"truncated"}, str(v)
    want = {c["id"] for c in checkpoints(copy) if c["last_id"] > cut}
    assert {p["checkpoint"] for p in v.problems} == want, str(v)
    assert {p["record"] for p in v.problems} == {cut + 1}, str(v)
    assert v.report["last_record"] == cut


def test_an_edited_record_rehashed_without_the_key(baseline, copy):
    """The attacker edits a record and recomputes every later hash: the chain is whole
    again, but the signed checkpoints after it name another head."""
    rid, frame = rows_record(copy, 0.2)
    i = frame.index(b'"mk-') + 2
    changed = frame[:i] + b"Z" + frame[i + 1:]
    with db_of(copy) as db:
        db.execute("BEGIN")
        db.execute("UPDATE frames SET frame = ? WHERE id = ?", (changed, rid))
        assert rehash_from(db, rid) > 1
        db.execute("COMMIT")
    v = verify(copy, str(baseline.pub))
    assert_fails(v, "an edited, rehashed record")
    assert v.kinds() == {"checkpoint_head"}, str(v)
    cps = checkpoints(copy)
    want = {(c["id"], c["last_id"]) for c in cps if c["last_id"] >= rid}
    assert want, "no checkpoint covers the edited record"
    assert {(p["checkpoint"], p["record"]) for p in v.problems} == want, str(v)


def test_a_deleted_record_rehashed_without_the_key(baseline, copy):
    rid, _ = rows_record(copy, 0.4)
    with db_of(copy) as db:
        db.execute("BEGIN")
        db.execute("DELETE FROM frames WHERE id = ?", (rid,))
        rehash_from(db, rid + 1)
        db.execute("COMMIT")
    v = verify(copy, str(baseline.pub))
    assert_fails(v, "a deleted record, rehashed")
    assert ("missing", rid) in [(p["kind"], p.get("record")) for p in v.problems], str(v)
    heads = {p["checkpoint"] for p in v.problems if p["kind"] == "checkpoint_head"}
    assert heads == {c["id"] for c in checkpoints(copy) if c["last_id"] >= rid}, str(v)


# --- checkpoints --------------------------------------------------------------------------

def middle_checkpoint(path: Path) -> dict:
    cps = checkpoints(path)
    return cps[len(cps) // 2]


def test_a_checkpoint_signature_replaced(baseline, copy):
    cp = middle_checkpoint(copy)
    with db_of(copy) as db:
        db.execute("UPDATE checkpoints SET signature = ? WHERE id = ?", (os.urandom(64), cp["id"]))
    v = verify(copy, str(baseline.pub))
    assert_fails(v, "a replaced signature")
    got = [(p["kind"], p.get("checkpoint")) for p in v.problems]
    # the signature itself, and the next checkpoint, chained to the genuine signature
    assert got == [("checkpoint_signature", cp["id"]), ("checkpoint_chain", cp["id"] + 1)], str(v)
    assert v.problems[0]["record"] == cp["last_id"]


def test_a_checkpoint_head_changed(baseline, copy):
    cp = [c for c in checkpoints(copy) if c["last_id"] > 0][0]
    with db_of(copy) as db:
        db.execute("UPDATE checkpoints SET head = ? WHERE id = ?", (bytes(32), cp["id"]))
    v = verify(copy, str(baseline.pub))
    assert_fails(v, "a changed checkpoint head")
    got = {(p["kind"], p.get("checkpoint")) for p in v.problems}
    assert got == {("checkpoint_signature", cp["id"]), ("checkpoint_head", cp["id"])}, str(v)


def test_a_checkpoint_deleted(baseline, copy):
    cp = middle_checkpoint(copy)
    with db_of(copy) as db:
        db.execute("DELETE FROM checkpoints WHERE id = ?", (cp["id"],))
    v = verify(copy, str(baseline.pub))
    assert_fails(v, "a deleted checkpoint")
    assert [(p["kind"], p.get("checkpoint")) for p in v.problems] == [("checkpoint_chain", cp["id"] + 1)], str(v)


def test_verified_with_a_foreign_key(baseline, copy, tmp_path):
    r = subprocess.run([audit_bin(), "key", "--generate", str(tmp_path / "other.key")], capture_output=True,
                       text=True, env=clean_env(), timeout=60)
    assert r.returncode == 0 and len(r.stdout.strip()) == 64, r.stdout + r.stderr
    assert oct((tmp_path / "other.key").stat().st_mode & 0o777) == "0o600"
    (tmp_path / "other.pub").write_text(r.stdout)
    v = verify(copy, str(tmp_path / "other.pub"))
    assert_fails(v, "a foreign key")
    cps = checkpoints(copy)
    assert [(p["kind"], p.get("checkpoint")) for p in v.problems] == \
        [("checkpoint_signature", c["id"]) for c in cps], str(v)


def resign(copy: Path) -> bytes:
    """Every checkpoint re-signed, consistently chained, with a fresh key, over the heads
    the records have now; the key's public half."""
    attacker = Ed25519PrivateKey.generate()
    raw = attacker.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    kid = key_id(raw)
    with db_of(copy) as db:
        heads = {r: bytes(h) for r, h in db.execute("SELECT id, hash FROM frames")}
        db.execute("BEGIN")
        previous = b""
        for c in checkpoints(copy):
            head = heads.get(c["last_id"], bytes(c["head"]))
            msg = checkpoint_message(c["at"], c["kind"], c["last_id"], head, c["pruned_through"], previous, kid)
            sig = attacker.sign(msg)
            db.execute("UPDATE checkpoints SET head = ?, previous = ?, key_id = ?, signature = ? WHERE id = ?",
                       (head, previous, kid, sig, c["id"]))
            previous = sig
        db.execute("COMMIT")
    return raw


def test_everything_resigned_with_another_key(baseline, copy):
    """The attacker re-signs every checkpoint, consistently chained, with a key of
    their own: the store is whole under that key, and fails under the auditors'."""
    raw = resign(copy)
    assert verify(copy, raw.hex()).rc == 0, "the forgery is not self-consistent (the test's arithmetic is off)"
    v = verify(copy, str(baseline.pub))
    assert_fails(v, "checkpoints re-signed with another key")
    assert [(p["kind"], p.get("checkpoint")) for p in v.problems] == \
        [("checkpoint_signature", c["id"]) for c in checkpoints(copy)], str(v)


def verify_default_key(store: Path, hoop_var: Path, *extra: str) -> subprocess.CompletedProcess:
    """`hoop-audit verify --store STORE` with no --key: it takes $HOOP_VAR/audit-signing.pub."""
    env = dict(clean_env(), HOOP_VAR=str(hoop_var))
    return subprocess.run([audit_bin(), "verify", "--store", str(store), *extra], capture_output=True, text=True,
                          timeout=120, env=env, stdin=subprocess.DEVNULL)


def test_the_key_beside_the_store_proves_nothing(baseline, copy):
    """Without --key verify takes $HOOP_VAR/audit-signing.pub, beside the store: whoever
    can rewrite the store can rewrite that file. A store whose query was rewritten and
    every checkpoint re-signed with the attacker's key, the key's public half written
    there, is intact under it: verify says so, but not OK (exit 2, NOT PROVEN, `ok`
    false), as it says of the untouched store; the auditors' --key fails it (exit 1)."""
    var = copy.parent
    (var / "audit-signing.pub").write_text(baseline.pub.read_text())
    for r in (verify_default_key(copy, var), verify_default_key(copy, var, "--json")):
        assert r.returncode == 2, f"the untouched store with the gateway's own key: exit {r.returncode}: {r.stdout[-300:]}"
    with db_of(copy) as db:
        marker = baseline.markers[0]
        rid, frame = db.execute("SELECT id, frame FROM frames WHERE instr(CAST(frame AS TEXT), ?) > 0 "
                                "ORDER BY id LIMIT 1", (marker,)).fetchone()
        db.execute("BEGIN")
        db.execute("UPDATE frames SET frame = ? WHERE id = ?", (bytes(frame).replace(marker.encode(), b"mk-forged"), rid))
        rehash_from(db, rid)
        db.execute("COMMIT")
    (var / "audit-signing.pub").write_text(resign(copy).hex() + "\n")
    text = verify_default_key(copy, var)
    assert text.returncode == 2, f"a forged store re-signed with the key beside it: exit {text.returncode}"
    lines = text.stdout.strip().splitlines()
    assert not any(line.startswith("OK") for line in lines), text.stdout[-500:]
    assert lines[-1].startswith("NOT PROVEN") and str(var / "audit-signing.pub") in lines[-1] and "--key" in lines[-1], \
        lines[-1]
    report = json.loads(verify_default_key(copy, var, "--json").stdout)
    assert (report["ok"], report["intact"], report["key_vouched"]) == (False, True, False), report
    assert report["key"] == str(var / "audit-signing.pub") and "--key" in report["warning"], report
    assert_fails(verify(copy, str(baseline.pub)), "the forgery, with the auditors' key")


# --- prune ------------------------------------------------------------------------------

def prune(copy: Path, config: Path, days: float) -> subprocess.CompletedProcess:
    return subprocess.run([audit_bin(), "prune", "--older-than-days", repr(days), "--config", str(config),
                           "--store", str(copy)], capture_output=True, text=True, env=clean_env(), timeout=120)


@pytest.fixture
def short_retention(baseline, tmp_path) -> Path:
    cfg = json.loads(baseline.config.read_text())
    cfg["audit"]["retention_days"] = 0
    cfg["audit"]["signing_key"] = {"file": str(baseline.key_file)}
    path = tmp_path / "hoop-retention-0.json"
    path.write_text(json.dumps(cfg))
    return path


def test_prune_refused_younger_than_the_configured_retention(baseline, copy):
    before = checkpoints(copy)
    r = prune(copy, baseline.config, 0)
    assert r.returncode != 0 and "2190" in r.stderr, r.stdout + r.stderr
    assert checkpoints(copy) == before
    assert verify(copy, str(baseline.pub)).rc == 0


def test_prune_everything_then_resume(baseline, copy, short_retention):
    """`prune --older-than-days 0` removes every record under a signed prune checkpoint;
    the store verifies; a recorder started on it goes on from the prune's head."""
    with db_of(copy) as db:
        last = db.execute("SELECT max(id) FROM frames").fetchone()[0]
    r = prune(copy, short_retention, 0)
    assert r.returncode == 0 and f"pruned {last} records through record {last}," in r.stdout, r.stdout + r.stderr
    with db_of(copy) as db:
        assert db.execute("SELECT count(*) FROM frames").fetchone()[0] == 0
    p = checkpoints(copy)[-1]
    assert (p["kind"], p["last_id"], p["pruned_through"]) == ("prune", last, last)
    v = verify(copy, str(baseline.pub))
    assert v.rc == 0, str(v)
    assert (v.report["records"], v.report["last_record"], v.report["unsigned_tail"]) == (0, last, 0)
    # a rewritten prune checkpoint is caught
    tampered = backup(copy, copy.parent / "prune-rewritten.sqlite")
    with db_of(tampered) as db:
        db.execute("UPDATE checkpoints SET pruned_through = ? WHERE id = ?", (last - 10, p["id"]))
    v = verify(tampered, str(baseline.pub))
    assert_fails(v, "a rewritten prune checkpoint")
    assert ("checkpoint_signature", p["id"]) in [(q["kind"], q.get("checkpoint")) for q in v.problems], str(v)

    # a recorder started on the emptied store goes on from the prune's head
    frames = b"".join(b'{"type":"rows","session":"s00000000abcd-1","seq":%d,"rows":[["after prune %d"]]}\n' % (i, i)
                      for i in range(1, 6))
    r = subprocess.run([record_bin(), "--store", str(copy), "--config", str(short_retention)], input=frames,
                       capture_output=True, env=clean_env(), timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(b'"stamp:record":true') == 5
    with db_of(copy) as db:
        assert [i for (i,) in db.execute("SELECT id FROM frames ORDER BY id")] == list(range(last + 1, last + 6))
    cps = checkpoints(copy)
    assert [(c["kind"], c["last_id"]) for c in cps[-2:]] == [("start", last), ("shutdown", last + 5)]
    v = verify(copy, str(baseline.pub))
    assert v.rc == 0 and v.report["unsigned_tail"] == 0, str(v)


def test_prune_older_records(baseline, copy, short_retention):
    """A retention prune: the records older than the gap between the two batches go,
    the younger ones stay; the store verifies; tampering after it is still found."""
    with db_of(copy) as db:
        total = db.execute("SELECT count(*) FROM frames").fetchone()[0]
        expect = db.execute("SELECT max(id) FROM frames WHERE recorded_at < ?", (int(baseline.gap * 1e6),)).fetchone()[0]
    assert expect and expect > 10
    r = prune(copy, short_retention, (time.time() - baseline.gap) / 86400)
    assert r.returncode == 0 and f"through record {expect}," in r.stdout, r.stdout + r.stderr
    p = checkpoints(copy)[-1]
    assert (p["kind"], p["last_id"], p["pruned_through"]) == ("prune", expect, expect)
    with db_of(copy) as db:
        assert db.execute("SELECT min(id), count(*) FROM frames").fetchone() == (expect + 1, total - expect)
    tampered = backup(copy, copy.parent / "after-prune.sqlite")
    v = verify(copy, str(baseline.pub))
    assert v.rc == 0, str(v)
    assert v.report["records"] == total - expect
    # a record deleted after the prune is still found
    with db_of(tampered) as db:
        db.execute("DELETE FROM frames WHERE id = ?", (expect + 3,))
    v = verify(tampered, str(baseline.pub))
    assert_fails(v, "a record deleted after a prune")
    assert [(q["kind"], q.get("record")) for q in v.problems] == [("missing", expect + 3)], str(v)


def test_recorder_resumed_on_a_copy(baseline, copy):
    """hoop-record started on the store goes on from its head; at end of input it
    writes a shutdown checkpoint; the whole verifies."""
    with db_of(copy) as db:
        last = db.execute("SELECT max(id) FROM frames").fetchone()[0]
    frames = b'{"type":"notice","session":"s00000000abcd-2","seq":1,"message":"resumed"}\n'
    r = subprocess.run([record_bin(), "--store", str(copy), "--config", str(baseline.config)], input=frames,
                       capture_output=True, env=clean_env(), timeout=60)
    assert r.returncode == 0, r.stderr
    cps = checkpoints(copy)
    assert [(c["kind"], c["last_id"]) for c in cps[-2:]] == [("start", last), ("shutdown", last + 1)]
    assert verify(copy, str(baseline.pub)).rc == 0


def test_restart_leaves_a_shutdown_checkpoint(baseline):
    cps = checkpoints(baseline.path)
    for head in baseline.heads_before_restart:
        assert any(c["kind"] == "shutdown" and c["last_id"] == head for c in cps), \
            f"no shutdown checkpoint over record {head} (the head when the ring was restarted): " \
            f"{[(c['id'], c['kind'], c['last_id']) for c in cps]}"
