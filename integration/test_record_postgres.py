"""The audit trail in PostgreSQL (docs/audit.md): two gateways, each with its own
signing key and chain, record into one shared database; each chain verifies with its
gateway's public key, and a change to one gateway's records is found there and only
there. Real rings, real PostgreSQL, psql through each gateway."""

from __future__ import annotations

import json
import subprocess

import pytest

from helpers.ring import REPO  # noqa: F401  (the suite's path setup)


def use_shared_store(ring, host_ring, chain):
    """Points `ring`'s hoop-record at `host_ring`'s PostgreSQL database hoop_audit."""
    secret = ring.var / "secrets" / "audit-db.password"
    secret.write_text(host_ring.pg_password + "\n")
    secret.chmod(0o600)

    def change(cfg):
        cfg["audit"]["postgres"] = {
            "conninfo": f"host=127.0.0.1 port={host_ring.pg_port} dbname=hoop_audit user=hoop_gateway",
            "password": {"file": str(secret)},
        }
        cfg["audit"]["chain"] = chain
    ring.reconfigure(change)


def verify(ring, *extra):
    r = subprocess.run([str(ring.bin / "hoop-audit"), "verify", "--config", str(ring.var / "hoop.json"),
                        "--key", str(ring.var / "audit-signing.pub"), "--json", *extra],
                       capture_output=True, text=True, timeout=120)
    return r.returncode, json.loads(r.stdout) if r.stdout.strip() else {"stderr": r.stderr}


def test_two_gateways_share_one_postgresql_audit_trail(ring_factory):
    a = ring_factory("pg-a")
    b = ring_factory("pg-b")
    with a.admin() as adm:
        adm.execute("create database hoop_audit owner hoop_gateway")
    use_shared_store(a, a, "gateway-a")
    use_shared_store(b, a, "gateway-b")
    for ring, n in ((a, 3), (b, 4)):
        for i in range(1, n + 1):
            r = ring.psql("gateway", "-c", f"select id, mrn from patients where id = {i}")
            assert r.returncode == 0, r.stderr
    # Both chains are in the one database; the SQLite stores got nothing new.
    import psycopg
    with psycopg.connect(a.admin_dsn("hoop_audit"), autocommit=True) as db:
        counts = dict(db.execute("select chain, count(*) from hoop_audit_frames group by chain").fetchall())
        assert set(counts) == {"gateway-a", "gateway-b"} and counts["gateway-b"] > counts["gateway-a"] > 0, counts
        sessions_b = db.execute("select count(*) from hoop_audit_frames where chain = 'gateway-b' and type = 'session_open'").fetchone()[0]
        assert sessions_b >= 4
    for ring in (a, b):
        rc, report = verify(ring)
        assert rc == 0 and report["ok"], report
        assert report["records"] > 0
    # Each chain is signed by its own gateway: a's key does not verify b's checkpoints.
    rc, report = verify(a, "--chain", "gateway-b")
    assert rc == 1 and {p["kind"] for p in report["problems"]} == {"checkpoint_signature"}, report
    # A change to one of b's records is found in b's chain, at that record, and a's still verifies.
    with psycopg.connect(a.admin_dsn("hoop_audit"), autocommit=True) as db:
        db.execute("update hoop_audit_frames set seq = seq + 100 where chain = 'gateway-b' and id = 5")
    rc, report = verify(b)
    assert rc == 1 and report["problems"][0] == {"kind": "altered", "record": 5,
                                                 "detail": "record 5 does not match its hash: it was changed, or records were reordered"}
    rc, report = verify(a)
    assert rc == 0, report
    # A prune of a's chain (every record, under a signed checkpoint) still verifies.
    r = subprocess.run([str(a.bin / "hoop-audit"), "prune", "--older-than-days", "0", "--config", str(a.var / "hoop.json")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "retention age" in r.stderr, "a prune younger than audit.retention_days must be refused"
    cfg = json.loads((a.var / "hoop.json").read_text())
    cfg["audit"]["retention_days"] = 0
    (a.var / "hoop-prune.json").write_text(json.dumps(cfg))
    r = subprocess.run([str(a.bin / "hoop-audit"), "prune", "--older-than-days", "0", "--config", str(a.var / "hoop-prune.json")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "under a signed prune checkpoint" in r.stdout, r.stdout + r.stderr
    rc, report = verify(a)
    assert rc == 0, report
    with psycopg.connect(a.admin_dsn("hoop_audit"), autocommit=True) as db:
        assert db.execute("select count(*) from hoop_audit_checkpoints where chain = 'gateway-a' and kind = 'prune'").fetchone() == (1,)
