"""Several doors and upstreams in one ring (docs/frames.md, "Doors, upstreams and kinds").

Beside hoop-listen and hoop-connect, the ring runs two test doors (prefixes t1: and t2:,
helpers/door_stage.py) and a test upstream of kind `aws` (helpers/upstream_stage.py),
each written from the frame contract alone. PostgreSQL sessions run beside them. The
tests prove: each door gets only its own sessions' frames; the upstream acts only on
its kind; the middle stages serve every kind (identity, judgement, masking, audit);
frames no door claims are dropped after one round; a detached hold answers at once and
its approval is a ticket used once, refused a second time and after it expires.
"""

from __future__ import annotations

import json
import socket
import time

import pytest

from conftest import _start, _stop
from helpers.ring import REPO, wait_for
from test_ring_approve import approve

AGENT = "agent@example.org"
TICKET_SECONDS = 6


class Door:
    """The control port of a test door."""

    def __init__(self, ring, name):
        port_file = ring.var / f"{name}.port"
        wait_for(lambda: port_file.exists(), 30)
        self.sock = socket.create_connection(("127.0.0.1", int(port_file.read_text())), timeout=60)
        self.f = self.sock.makefile("rwb")

    def _ask(self, cmd):
        self.f.write(json.dumps(cmd).encode() + b"\n")
        self.f.flush()
        return json.loads(self.f.readline())

    def send(self, frame):
        assert self._ask({"send": frame})["ok"]

    def wait(self, session, type_, timeout=30):
        return self._ask({"wait": session, "type": type_, "timeout": timeout})

    def answer(self, session, seq, timeout=30):
        """The delivered frames answering request `seq` once one of `types` came."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self._ask({"wait": session, "type": "__none__", "timeout": 0.3})
            mine = [f for f in got["delivered"] if f.get("seq") == seq and f["type"] in ("result", "error")]
            if mine:
                return mine[0]
            assert not [f for f in got["refused"] if f.get("seq") == seq], got["refused"]
        raise AssertionError(f"no answer to {session} {seq}")

    def close(self):
        self.sock.close()


STAGES = """\
listen    $HOOP_BIN/hoop-listen --config $HOOP_CONFIG
door1     python3 {repo}/integration/helpers/door_stage.py --prefix t1: --port-file $HOOP_VAR/door1.port
door2     python3 {repo}/integration/helpers/door_stage.py --prefix t2: --port-file $HOOP_VAR/door2.port
auth      $HOOP_BIN/hoop-auth --config $HOOP_CONFIG
approve   $HOOP_BIN/hoop-approve --config $HOOP_CONFIG
connect   $HOOP_BIN/hoop-connect --config $HOOP_CONFIG
upstream  python3 {repo}/integration/helpers/upstream_stage.py --config $HOOP_CONFIG --runs-file $HOOP_VAR/runs.jsonl
mask      $HOOP_BIN/hoop-mask --config $HOOP_CONFIG
record    $HOOP_BIN/hoop-record --config $HOOP_CONFIG
"""


@pytest.fixture(scope="module")
def dring(request):
    r = _start("doors", approval=None, stages=STAGES.format(repo=REPO))
    failed_before = request.session.testsfailed

    def change(cfg):
        cfg["connections"]["api"] = {"kind": "aws", "allow": cfg["connections"]["clinic"]["allow"],
                                     "approval": {"approval_valid_seconds": TICKET_SECONDS}}
        cfg["connections"]["weird"] = {"kind": "ftp", "allow": cfg["connections"]["clinic"]["allow"]}
    for n in ("door1", "door2"):
        (r.var / f"{n}.port").unlink(missing_ok=True)   # the restarted doors write their new ports
    r.reconfigure(change)
    r.doors = {n: Door(r, n) for n in ("door1", "door2")}
    yield r
    for d in r.doors.values():
        d.close()
    _stop(r, keep=request.session.testsfailed > failed_before)


_count = [0]


def open_session(ring, door="door1", prefix="t1:"):
    _count[0] += 1
    sid = f"{prefix}s{_count[0]}"
    d = ring.doors[door]
    d.send({"type": "session_open", "session": sid, "seq": 0, "user": AGENT, "connection": "api",
            "credential": ring.token(AGENT)})
    got = d.wait(sid, "session_opened")
    assert [f["type"] for f in got["delivered"]] == ["session_opened"], got
    return d, sid


def call(d, sid, seq, action, access, params=None, detached=False, **request):
    frame = {"type": "call", "session": sid, "seq": seq, "action": action, "target": "test", "access": access,
             "params": params or {}, **request}
    if detached:
        frame["detached"] = True
    d.send(frame)
    return d.answer(sid, seq)


def runs(ring, action):
    path = ring.var / "runs.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(x) for x in lines if json.loads(x)["action"] == action]


def test_each_door_gets_only_its_own_sessions_beside_postgres(dring):
    d1, s1 = open_session(dring, "door1", "t1:")
    d2, s2 = open_session(dring, "door2", "t2:")
    with dring.connect() as pg:   # a PostgreSQL session through hoop-listen, at the same time
        assert pg.execute("select 41 + 1").fetchone() == (42,)
    r1 = call(d1, s1, 1, "DescribeThings", "List", {"n": 1})
    r2 = call(d2, s2, 1, "DescribeThings", "List", {"n": 2})
    assert r1["type"] == r2["type"] == "result" and '"n": 1' in r1["body"] and '"n": 2' in r2["body"]
    for f in (r1, r2):
        assert f["stamp:mask"] is True and f["stamp:record"] is True
    assert d1.wait(s2, "result", timeout=0.5) == {"delivered": [], "refused": []}, "door1 got door2's frames"
    assert d2.wait(s1, "result", timeout=0.5) == {"delivered": [], "refused": []}, "door2 got door1's frames"
    # The middle stages served the API session: identity, judgement and audit trail.
    frames = dring.session_frames(s1)
    opened = [f for f in frames if f["type"] == "session_open"][0]
    assert "credential" not in opened and opened["identity"]["user"] == AGENT
    assert [f for f in frames if f["type"] == "call" and f.get("stamp:approve")]


def test_an_api_answer_is_masked(dring):
    d, sid = open_session(dring)
    r = call(d, sid, 1, "GetThing", "Read", {"note": "patient ssn 123-45-6789, phone (217) 555-0134"})
    assert "123-45-6789" not in r["body"] and "555-0134" not in r["body"], r["body"]


def test_a_call_without_an_access_level_is_refused(dring):
    d, sid = open_session(dring)
    r = call(d, sid, 1, "DoSomething", "")
    assert r["type"] == "error" and r["code"] == "42501"
    assert not runs(dring, "DoSomething")


def test_a_detached_hold_answers_at_once_and_its_ticket_runs_once(dring):
    d, sid = open_session(dring)
    params = {"bucket": "b1", "key": f"k-{time.time()}"}
    held = call(d, sid, 1, "PutThing", "Write", params, detached=True)
    assert held["type"] == "error" and held.get("request_id", "").startswith("r-"), held
    rid = held["request_id"]
    assert f"hoop-approve grant {rid}" in held["message"]
    assert not runs(dring, "PutThing"), "a held call ran"
    # The session goes on while the hold waits.
    assert call(d, sid, 2, "DescribeThings", "List")["type"] == "result"
    r = approve(dring, "grant", rid)
    assert r.returncode == 0, r.stderr
    ran = call(d, sid, 3, "PutThing", "Write", params, detached=True)
    assert ran["type"] == "result", ran
    assert len(runs(dring, "PutThing")) == 1
    # The audit trail links the run to the hold and its approver.
    approved = [f for f in dring.session_frames(sid) if f["type"] == "approved" and f.get("seq") == 3]
    assert approved and approved[0]["request_id"] == rid
    # A second use is refused: held again, and it does not run.
    again = call(d, sid, 4, "PutThing", "Write", params, detached=True)
    assert again["type"] == "error" and again["request_id"] != rid
    assert len(runs(dring, "PutThing")) == 1
    # The same call by another session of the same identity, and a different call, are not the ticket either.


def test_a_ticket_is_for_what_runs_not_only_its_parameters(dring):
    # An approval of one call never runs another that has the same parameters but another
    # path, header or body (Lambda Invoke of function A approved, B sent).
    d, sid = open_session(dring)
    params = {"FunctionName": f"a-{time.time()}"}
    a = dict(method="POST", path="/2015-03-31/functions/A/invocations", headers={"content-type": "application/json"},
             body='{"x":1}')
    held = call(d, sid, 1, "InvokeThing", "Write", params, detached=True, **a)
    assert approve(dring, "grant", held["request_id"]).returncode == 0
    for seq, change in enumerate([{"path": "/2015-03-31/functions/B/invocations"}, {"body": '{"x":2}'},
                                  {"headers": {"content-type": "application/json", "x-amz-acl": "public-read"}},
                                  {"method": "PUT"}, {"query": "Qualifier=2"}], start=2):
        other = call(d, sid, seq, "InvokeThing", "Write", params, detached=True, **dict(a, **change))
        assert other["type"] == "error" and other["request_id"] != held["request_id"], (change, other)
    assert not runs(dring, "InvokeThing")
    assert call(d, sid, 9, "InvokeThing", "Write", params, detached=True, **a)["type"] == "result"
    assert len(runs(dring, "InvokeThing")) == 1


def test_an_expired_ticket_is_refused(dring):
    d, sid = open_session(dring)
    params = {"thing": f"t-{time.time()}"}
    held = call(d, sid, 1, "DeleteThing", "Write", params, detached=True)
    rid = held["request_id"]
    assert approve(dring, "grant", rid).returncode == 0
    time.sleep(TICKET_SECONDS + 1)
    late = call(d, sid, 2, "DeleteThing", "Write", params, detached=True)
    assert late["type"] == "error" and late["request_id"] != rid, late
    assert not runs(dring, "DeleteThing")


def test_a_frame_no_door_claims_is_dropped_after_one_round(dring):
    d = dring.doors["door1"]
    stray = "zz:lost-1"
    d.send({"type": "call", "session": stray, "seq": 1, "action": "Nothing", "access": "List"})
    log = dring.var / "log" / "auth.log"
    wait_for(lambda: stray in log.read_text() and "been round" in log.read_text(), 20)

    def recorded():
        with dring.audit() as db:
            return db.execute("SELECT count(*) FROM frames WHERE session = ?", (stray,)).fetchone()[0]
    first = recorded()
    time.sleep(2)
    assert recorded() == first, "a frame goes round and round"
    assert first >= 1, "the stray frame was not recorded"


def test_a_connection_of_a_kind_the_gateway_does_not_know_is_refused(dring):
    d = dring.doors["door2"]
    sid = "t2:weird-1"
    d.send({"type": "session_open", "session": sid, "seq": 0, "user": AGENT, "connection": "weird",
            "credential": dring.token(AGENT)})
    got = d.wait(sid, "error")
    assert [f["type"] for f in got["delivered"]] == ["error"], got
    assert "kind" in got["delivered"][0]["message"]
    assert not [f for f in dring.session_frames(sid) if f["type"] == "session_opened"]
