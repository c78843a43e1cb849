"""Tampering with the audit store by someone who can write it but has not the signing
key (the chain's arithmetic is public, so they can recompute hashes): each test builds a
small store with the real hoop-record (no ring needed), tampers with it, and checks that
`hoop-audit verify` names it (found by a hunt of the audit trail: every one passed verify
before)."""
from __future__ import annotations

import json
import subprocess

import pytest

from helpers.audit import Store, audit_bin, frames_for, record_bin
from helpers.ring import clean_env


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path)


def test_records_added_while_the_recorder_was_stopped_are_signed_by_its_start_checkpoint(store):
    """F1. After a clean stop (shutdown checkpoint), an attacker appends a whole session
    (correctly chained) attributed to another identity. Nothing legitimate ever writes a
    record after a shutdown checkpoint and before the next start checkpoint. verify
    accepts it as an 'unsigned tail'; when the ring starts again, hoop-record's start
    checkpoint signs whatever head it finds, and the forgery becomes signed evidence."""
    store.record(frames_for("pg:real-1", "alice@example.org", "select 'real'", "real-answer"))
    forged = store.append_forged(frames_for("pg:forged-1", "bob@example.org", "drop table patients", "forged"))
    store.record(b"")     # the ring restarts: start checkpoint + shutdown checkpoint
    v = store.verify()
    users = {s.get("user") for s in store.sessions()}
    assert "bob@example.org" in users          # the tools show the fabricated session
    assert v.rc == 1 and "after_shutdown" in [p["kind"] for p in v.report["problems"]], \
        f"verify accepts {len(forged)} records written while no recorder ran, now signed by the start checkpoint: {v}"


def test_tail_records_and_their_checkpoints_removed_are_found_by_an_anchor_kept_outside(store):
    """The latest run of the recorder (its records and its start and shutdown
    checkpoints) deleted: the store alone looks intact (nothing after what is left
    vouches for what went), so verify prints an anchor (the last checkpoint's signature)
    for the auditor to keep elsewhere, and `--anchor` names the loss."""
    store.record(frames_for("pg:real-1", "alice@example.org", "select 1", "a"))
    kept_after_run1 = store.verify().report["anchor"]
    store.record(frames_for("pg:real-2", "alice@example.org", "delete from patients", "b"))
    kept_after_run2 = store.verify().report["anchor"]
    assert store.verify(anchors=(kept_after_run1, kept_after_run2)).rc == 0
    db = store.db()
    first_cp_of_run2 = db.execute("SELECT min(id) FROM checkpoints WHERE kind='start' AND id > 1").fetchone()[0]
    cut = db.execute("SELECT last_id FROM checkpoints WHERE id = ?", (first_cp_of_run2 - 1,)).fetchone()[0]
    db.execute("DELETE FROM checkpoints WHERE id >= ?", (first_cp_of_run2,))
    n = db.execute("DELETE FROM frames WHERE id > ?", (cut,)).rowcount
    db.close()
    assert n > 0
    assert "pg:real-2" not in json.dumps(store.sessions())   # run 2's session is gone
    assert store.verify(anchors=(kept_after_run1,)).rc == 0, "the older anchor is still there"
    v = store.verify(anchors=(kept_after_run2,))
    assert v.rc == 1 and [p["kind"] for p in v.report["problems"]] == ["anchor_missing"], v


def test_records_below_a_prune_are_not_verified_but_shown(tmp_path):
    """F3. After a legitimate prune, records whose ids fall at or below the prune's
    pruned_through are skipped by verify ('kept by accident, outside the chain') without
    a problem, while sessions/show/replay/export read them like any other."""
    st = Store(tmp_path, retention_days=0)
    st.record(frames_for("pg:old-1", "alice@example.org", "select 1", "a"))
    r = subprocess.run([audit_bin(), "prune", "--older-than-days", "0", "--config", str(st.cfg), "--store", str(st.path)],
                       capture_output=True, text=True, env=clean_env(), timeout=60)
    assert r.returncode == 0 and "pruned" in r.stdout, r.stdout + r.stderr
    st.record(frames_for("pg:new-1", "alice@example.org", "select 2", "b"))
    assert st.verify().rc == 0
    # forged records in the pruned id range, with any hash at all
    st.append_forged(frames_for("pg:forged-1", "bob@example.org", "drop table patients", "x"),
                     ids=list(range(1, 10)), chain_from_head=False)
    shown = json.dumps(st.sessions())
    assert "pg:forged-1" in shown and "bob@example.org" in shown
    show = st.tool("show", "pg:forged-1")
    assert show.returncode == 0 and "drop table patients" in show.stdout
    v = st.verify()
    assert v.rc == 1 and {p["kind"] for p in v.report["problems"]} == {"pruned_range"}, \
        f"verify accepts 9 unchained records that the auditor's tools show: {v}"


def test_an_index_edited_to_hide_a_record_is_named(store):
    """An index that disagrees with its table, the chain left intact: the tools look a
    session's records up by the index (show, replay, export --session), so a record it
    leaves out is hidden from them while the chain's scan still vouches for it."""
    store.record(frames_for("pg:idx-1", "alice@example.org", "drop table patients", "v"))
    assert store.verify().rc == 0
    assert "drop table patients" in store.tool("show", "pg:idx-1").stdout
    db = store.db()
    rid = db.execute("SELECT id FROM frames WHERE session = 'pg:idx-1' AND type = 'query'").fetchone()[0]
    as_made = db.execute("SELECT sql FROM sqlite_master WHERE name = 'frames_by_stretch'").fetchone()[0]
    db.execute("DROP INDEX frames_by_stretch")
    db.execute(f"{as_made} WHERE id <> {int(rid)}")
    db.execute("PRAGMA writable_schema=ON")
    db.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'frames_by_stretch'", (as_made,))
    db.execute("PRAGMA writable_schema=OFF")
    db.close()
    show = store.tool("show", "pg:idx-1")
    assert show.returncode == 0 and "drop table patients" not in show.stdout, "the edited index hides the record from show"
    v = store.verify()
    kinds = {p["kind"] for p in v.report["problems"]}
    assert v.rc == 1 and "store_structure" in kinds, f"verify passes a store whose index hides a record: {kinds}"


def test_a_record_column_changed_to_a_real_keeps_its_hash(store):
    """F4. The verifier reads columns through SQLiteDB.Value.int, which truncates a
    REAL: a record's seq changed from 1 to 1.5 (or recorded_at given a fraction) still
    matches its hash, though the stored record is no longer what was recorded."""
    store.record(frames_for("pg:real-1", "alice@example.org", "select 'x'", "v"))
    db = store.db()
    rid = db.execute("SELECT id FROM frames WHERE type='query'").fetchone()[0]
    db.execute("UPDATE frames SET seq = 1.5 WHERE id = ?", (rid,))
    assert db.execute("SELECT typeof(seq), seq FROM frames WHERE id = ?", (rid,)).fetchone() == ("real", 1.5)
    db.close()
    v = store.verify()
    assert v.rc == 1 and [(p["kind"], p["record"]) for p in v.report["problems"]] == [("altered", rid)], \
        f"verify accepts a changed column: {v}"


def test_verify_survives_a_huge_real_in_a_column(store):
    """F4b. seq set to 1e300: Int64(Double) traps; verify crashes instead of reporting."""
    store.record(frames_for("pg:real-1", "alice@example.org", "select 'x'", "v"))
    db = store.db()
    db.execute("UPDATE frames SET seq = 1e300 WHERE type = 'query'")
    db.close()
    v = store.verify()
    assert v.rc == 1 and v.report is not None, f"verify did not report (crashed?): rc={v.rc}"


def test_every_checkpoint_deleted_and_the_records_rewritten(store):
    """F5. With every checkpoint deleted, the chain is anchored to nothing: the attacker
    rewrites any record (here: the answer the client received and the identity), recomputes
    every hash from genesis, and verify says OK ('unsigned tail'). hoop-record writes a
    start checkpoint whenever it opens a store, so records without any checkpoint never
    occur legitimately."""
    from helpers.audit import rehash_from
    store.record(frames_for("pg:real-1", "alice@example.org", "select 'x'", "real-answer"))
    store.record(frames_for("pg:real-2", "alice@example.org", "select 'y'", "real-answer-2"))
    db = store.db()
    db.execute("BEGIN")
    db.execute("DELETE FROM checkpoints")
    for rid, f in db.execute("SELECT id, frame FROM frames").fetchall():
        b = bytes(f).replace(b"real-answer", b"other-value").replace(b"alice@example.org", b"carol@example.org")
        db.execute("UPDATE frames SET frame = ? WHERE id = ?", (b, rid))
    rehash_from(db, 1)
    db.execute("COMMIT")
    db.close()
    assert "carol@example.org" in json.dumps(store.sessions())
    v = store.verify()
    assert v.rc == 1 and [p["kind"] for p in v.report["problems"]] == ["unsigned"], \
        f"verify accepts a store with no checkpoint whose every record was rewritten: {v}"


def test_a_tail_a_killed_recorder_left_is_signed_at_restart_and_counted(store):
    """The control: a recorder killed before its next checkpoint leaves records no
    checkpoint covers; the next run's start checkpoint signs them, verify passes and
    says how many were first signed at a restart."""
    store.record(frames_for("pg:real-1", "alice@example.org", "select 1", "a"))
    p = subprocess.Popen([record_bin(), "--store", str(store.path), "--config", str(store.cfg)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=clean_env())
    data = frames_for("pg:real-2", "alice@example.org", "select 2", "b")
    p.stdin.write(data)
    p.stdin.flush()
    for _ in data.splitlines():   # each frame recorded (and committed) before it comes out
        assert p.stdout.readline()
    p.kill()
    p.wait(10)
    assert store.verify().report["unsigned_tail"] == len(data.splitlines())
    store.record(b"")
    v = store.verify()
    assert v.rc == 0 and v.report["signed_at_restart"] == len(data.splitlines()) and v.report["unsigned_tail"] == 0, v
