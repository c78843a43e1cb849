"""How the auditor's tools find one session's records (hoop-audit show, replay, export
--session): through the store's stretch index, `(id >> 8, session)`, a stretch of 256
records at a time (Sources/HoopAudit/AuditStore.swift). Each test compares what the
tools print with a plain scan of the frames table, over stores of many interleaved
sessions that span many stretches and several of the tools' pages."""
from __future__ import annotations

import json
import subprocess

import pytest

from helpers.audit import Store, frames_for, record_bin
from helpers.ring import clean_env


def interleaved(sessions: list[str], queries: int, quiet: str | None = None) -> bytes:
    """Every session opened, then their queries round-robin, then every session closed:
    a session's records are spread over the whole store, as under load. A `quiet`
    session asks every tenth round only (a few records in each stretch)."""
    everyone = sessions + ([quiet] if quiet else [])
    per = {s: frames_for(s, "alice@example.org", "select 1", "v").splitlines() for s in everyone}
    out = [line for s in everyone for line in per[s][:2]]
    for q in range(1, queries + 1):
        for s in everyone:
            if s == quiet and q % 10:
                continue
            for line in per[s][2:7]:
                f = json.loads(line)
                f["seq"] = q
                if f["type"] == "query":
                    f["sql"] = f"select {q}"
                out.append(json.dumps(f, separators=(",", ":")).encode())
    out += [line for s in everyone for line in per[s][7:]]
    return b"".join(line + b"\n" for line in out)


def scanned_ids(store: Store, session: str) -> list[int]:
    """The session's record ids by a scan of the table (no index at all)."""
    db = store.db()
    try:
        return [r[0] for r in db.execute("SELECT id FROM frames NOT INDEXED WHERE session = ? ORDER BY id", (session,))]
    finally:
        db.close()


def exported_ids(store: Store, session: str) -> list[int]:
    r = store.tool("export", "--session", session)
    assert r.returncode == 0, r.stderr
    return [json.loads(line)["id"] for line in r.stdout.splitlines()]


def indexes(store: Store) -> set[str]:
    db = store.db()
    try:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    finally:
        db.close()


@pytest.fixture(scope="module")
def busy(tmp_path_factory) -> Store:
    """Five sessions of 720 queries each and a quiet one of 72, interleaved: 18,384
    records, 72 stretches, more than the 64 that the tools walk in one query; a busy
    session's 3,604 records are more than one page of the tools' 2,000, a quiet one's
    364 fewer than a walk of 64 stretches finds."""
    st = Store(tmp_path_factory.mktemp("busy"))
    st.record(interleaved([f"pg:busy-{i}" for i in range(5)], 720, quiet="pg:quiet"))
    return st


def test_export_finds_every_record_of_a_session_across_stretches_and_pages(busy):
    assert "frames_by_stretch" in indexes(busy)
    for s in ("pg:busy-0", "pg:busy-3", "pg:busy-4"):
        expected = scanned_ids(busy, s)
        assert len(expected) == 4 + 720 * 5
        assert exported_ids(busy, s) == expected
    expected = scanned_ids(busy, "pg:quiet")
    assert len(expected) == 4 + 72 * 5
    assert exported_ids(busy, "pg:quiet") == expected


def test_show_and_replay_find_the_first_and_last_request(busy):
    show = busy.tool("show", "pg:busy-2", "--json")
    assert show.returncode == 0, show.stderr
    sqls = [e.get("sql") for e in json.loads(show.stdout)["requests"]]
    assert sqls[0] == "select 1" and sqls[-1] == "select 720" and len(sqls) == 720
    replay = busy.tool("replay", "pg:busy-2", "--instant")
    assert replay.returncode == 0, replay.stderr
    assert "select 1\n" in replay.stdout and "select 720" in replay.stdout


def test_a_session_that_is_not_there_is_said_so(busy):
    r = busy.tool("show", "pg:busy-9")
    assert r.returncode != 0 and "pg:busy-9" in r.stderr
    assert exported_ids(busy, "pg:busy-9") == []


def store_with_index(tmp_path, sessions: list[str], queries: int, index_sql: str) -> Store:
    """A store of interleaved sessions whose stretch index is replaced by `index_sql`."""
    st = Store(tmp_path)
    st.record(interleaved(sessions, queries))
    db = st.db()
    db.execute("DROP INDEX frames_by_stretch")
    db.execute(index_sql)
    db.close()
    return st


def test_a_store_from_before_the_stretch_index_reads_the_same_and_gets_it_at_the_next_start(tmp_path):
    """A store made with the index by session first (before the stretch index): the
    tools read it through that index; hoop-record's next start replaces it."""
    st = store_with_index(tmp_path, ["pg:old-0", "pg:old-1", "pg:old-2"], 120,
                          "CREATE INDEX frames_by_session ON frames (session, id)")
    expected = scanned_ids(st, "pg:old-1")
    assert len(expected) == 4 + 120 * 5
    assert exported_ids(st, "pg:old-1") == expected
    st.record(frames_for("pg:new-0", "alice@example.org", "select 2", "w"))
    assert indexes(st) >= {"frames_by_stretch"} and "frames_by_session" not in indexes(st)
    assert exported_ids(st, "pg:old-1") == expected
    assert len(exported_ids(st, "pg:new-0")) == 9
    assert st.verify().rc == 0


def test_an_emptied_request_and_an_edited_end_are_named_by_show_sessions_and_replay(tmp_path):
    """Records edited to an empty frame or to a number (not text at all): the request's
    record in one session, the session_close in another. `show` and `replay` name them
    (and replay does not claim the text was refused); `sessions` names the end it reads
    and does not list that session as a clean one."""
    st = Store(tmp_path)
    st.record(frames_for("pg:emptied", "alice@example.org", "select 7", "row-value")
              + frames_for("pg:ended", "alice@example.org", "select 8", "row-value"))
    db = st.db()
    query = db.execute("SELECT id FROM frames WHERE session = 'pg:emptied' AND type = 'query'").fetchone()[0]
    db.execute("UPDATE frames SET frame = X'' WHERE id = ?", (query,))
    close = db.execute("SELECT id FROM frames WHERE session = 'pg:ended' AND type = 'session_close'").fetchone()[0]
    db.execute("UPDATE frames SET frame = 0 WHERE id = ?", (close,))
    db.close()
    r = st.tool("show", "pg:emptied", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["session"]["unreadable"] == [query], r.stdout
    r = st.tool("replay", "pg:emptied", "--instant")
    assert r.returncode == 0, r.stderr
    assert f"-- (record {query} is not a frame hoop-audit can read: run hoop-audit verify)" in r.stdout, r.stdout
    assert "refused before it reached the server" not in r.stdout, r.stdout
    assert "a record of this session cannot be read" in r.stdout, r.stdout
    listed = {s["session"]: s for s in st.sessions()}
    assert listed["pg:ended"].get("unreadable") == [close], listed["pg:ended"]
    assert "unreadable" not in listed["pg:emptied"], "sessions reads no query frame: it cannot say"
    r = st.tool("sessions")
    assert r.returncode == 0, r.stderr
    line = next(l for l in r.stdout.splitlines() if "pg:ended" in l)
    assert "records unreadable (hoop-audit verify)" in line, r.stdout


def test_an_index_of_that_name_over_other_columns_is_not_walked_and_is_made_again(tmp_path):
    """An edited store: `frames_by_stretch` made over other columns. The tools do not
    walk it (their answers stay right), and hoop-record's next start makes it again as
    it should be, so the tools keep their speed."""
    st = store_with_index(tmp_path, ["pg:idx-0", "pg:idx-1"], 60, "CREATE INDEX frames_by_stretch ON frames ((id >> 8), type)")
    expected = scanned_ids(st, "pg:idx-1")
    assert len(expected) == 4 + 60 * 5
    assert exported_ids(st, "pg:idx-1") == expected
    st.record(frames_for("pg:idx-2", "alice@example.org", "select 2", "w"))
    db = st.db()
    made = db.execute("SELECT sql FROM sqlite_master WHERE name = 'frames_by_stretch'").fetchone()[0]
    db.close()
    assert made == "CREATE INDEX frames_by_stretch ON frames ((id >> 8), session)", made
    assert exported_ids(st, "pg:idx-1") == expected
    assert st.verify().rc == 0


def test_records_far_apart_are_found_with_a_seek_across_the_gap(tmp_path):
    """Records forged far beyond the rest (someone who can write the store), one at the
    last id there is: the walk crosses the gap with one seek by id, not stretch by
    stretch (2^54 of them), and the tools show every record of the session; verify
    names the forgery."""
    st = Store(tmp_path)
    st.record(interleaved(["pg:far-0", "pg:far-1"], 40))
    query = frames_for("pg:far-0", "alice@example.org", "select 'far'", "v").splitlines()[2]
    st.append_forged(query + b"\n" + query + b"\n", ids=[2**62, 2**63 - 1], chain_from_head=False)
    expected = scanned_ids(st, "pg:far-0")
    assert len(expected) == 4 + 40 * 5 + 2 and expected[-2:] == [2**62, 2**63 - 1]
    assert exported_ids(st, "pg:far-0") == expected
    assert exported_ids(st, "pg:far-1") == scanned_ids(st, "pg:far-1")
    assert st.tool("show", "pg:far-0").returncode == 0
    v = st.verify()
    assert v.rc == 1 and "id_out_of_range" in {p["kind"] for p in v.report["problems"]}, v
    # The recorder does not go on from an id no recorder writes: it stops with a clear error.
    r = subprocess.run([record_bin(), "--store", str(st.path), "--config", str(st.cfg)], input=b"",
                       capture_output=True, env=clean_env(), timeout=60)
    assert r.returncode != 0 and b"past any a recorder writes" in r.stderr, r.stderr


def test_a_prune_checkpoint_naming_the_last_id_there_is_is_named_not_a_crash(tmp_path):
    """A signed prune's range edited to end at the largest id (someone who can write the
    store): verify reports it, where the chain's next expected id overflowed."""
    st = Store(tmp_path, retention_days=0)
    st.record(frames_for("pg:old-1", "alice@example.org", "select 1", "a"))
    r = st.tool("prune", "--older-than-days", "0")
    assert r.returncode == 0 and "pruned" in r.stdout, r.stdout + r.stderr
    st.record(frames_for("pg:new-1", "alice@example.org", "select 2", "b"))
    db = st.db()
    db.execute("UPDATE checkpoints SET pruned_through = ? WHERE kind = 'prune'", (2**63 - 1,))
    db.close()
    v = st.verify()
    assert v.rc == 1 and "id_out_of_range" in {p["kind"] for p in v.report["problems"]}, v


def test_replay_and_show_say_where_a_record_cannot_be_read_and_do_not_skip_it(tmp_path):
    """A record whose frame is no longer JSON (an edited store): replay names it where
    it stands, in text and in JSON, and show among the session's facts, rather than
    present the session as if it were whole."""
    st = Store(tmp_path)
    st.record(frames_for("pg:edited", "alice@example.org", "select 1", "row-value"))
    db = st.db()
    rid = db.execute("SELECT id FROM frames WHERE session = 'pg:edited' AND type = 'rows'").fetchone()[0]
    db.execute("UPDATE frames SET frame = CAST('{\"type\":\"rows\",' AS BLOB) WHERE id = ?", (rid,))
    db.close()
    r = st.tool("replay", "pg:edited", "--instant")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    said = f"-- (record {rid} is not a frame hoop-audit can read: run hoop-audit verify)"
    assert said in lines, r.stdout
    assert lines.index("clinic=> select 1") < lines.index(said) < lines.index("SELECT 1"), r.stdout
    assert "row-value" not in lines and "v" in lines, r.stdout
    r = st.tool("replay", "pg:edited", "--instant", "--json")
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    assert [e["id"] for e in events if e["type"] == "unreadable"] == [rid], events
    r = st.tool("show", "pg:edited")
    assert r.returncode == 0, r.stderr
    assert f"unreadable  records {rid} are not frames: run hoop-audit verify" in r.stdout.splitlines(), r.stdout
    r = st.tool("show", "pg:edited", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["session"]["unreadable"] == [rid], r.stdout
    assert st.verify().rc != 0, "verify does not see the edit"
