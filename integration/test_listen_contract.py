"""hoop-listen's side of the frame contract, with this test as the rest of the ring.

hoop-listen is a door: it writes its clients' requests, delivers and ends its own
sessions' frames, and passes every other frame on (docs/frames.md, "Doors, upstreams
and kinds"). This drives it directly: a real wire client
on one side, frames written and read by the test on the other. It proves invariant 1
at the delivering end (nothing unstamped reaches a client), that broken frames end
only their own session, that the password leaves as the session's credential and
nowhere else, and that the end of the ring's input ends every session cleanly.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time

import pytest

from helpers.pgwire import PGWire, Query, ServerClosed, message, startup_packet, _cstr
from helpers.ring import free_port, hoop_bin, port_open

STAMPS = {"stamp:mask": True, "stamp:record": True}


class Listen:
    """hoop-listen with pipes for its stdin (responses) and stdout (requests)."""

    def __init__(self, tmp_path):
        self.port = free_port()
        config = tmp_path / "hoop.json"
        config.write_text(json.dumps({"listen": {"host": "127.0.0.1", "port": self.port}}))
        self.stderr = open(tmp_path / "listen.log", "wb")
        self.proc = subprocess.Popen([str(hoop_bin() / "hoop-listen"), "--config", str(config)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                     env=dict(os.environ, HOOP_RUN=str(tmp_path)))
        self.buf = b""
        deadline = time.monotonic() + 15
        while not port_open(self.port):
            assert self.proc.poll() is None, "hoop-listen exited at start"
            assert time.monotonic() < deadline, "hoop-listen did not listen"
            time.sleep(0.05)

    def raw_line(self, timeout=10.0) -> bytes:
        """The next line hoop-listen writes, as bytes, newline included."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            assert left > 0, "no line from hoop-listen"
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
                assert chunk, "hoop-listen closed its output"
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def frame(self, timeout=10.0):
        """The next frame hoop-listen writes."""
        return json.loads(self.raw_line(timeout))

    def frame_of(self, type_, timeout=10.0):
        while True:
            f = self.frame(timeout)
            if f["type"] == type_:
                return f

    def send(self, frame, raw: bytes | None = None):
        self.proc.stdin.write(raw if raw is not None else (json.dumps(frame) + "\n").encode())
        self.proc.stdin.flush()

    def open_session(self, password="s3cret-token-for-test"):
        """A client through startup; returns (client, session id, session_open frame)."""
        c = PGWire("127.0.0.1", self.port, timeout=10)
        c.send(startup_packet({"user": "agent", "database": "clinic"}))
        t, v = c.read()
        assert (t, v[0]) == ("R", 3), "expected AuthenticationCleartextPassword"
        c.send(message("p", _cstr(password)))
        opened = self.frame_of("session_open")
        sid = opened["session"]
        self.send({"type": "session_opened", "session": sid, "seq": 0,
                   "parameters": {"server_version": "15", "client_encoding": "UTF8"}, "status": "I", **STAMPS})
        msgs = c.read_until_ready(timeout=10)
        assert msgs[-1] == ("Z", "I")
        return c, sid, opened

    def answer_query(self, sid, seq, value, stamps=STAMPS, at_once=False):
        """A one-row answer, a frame a write, or (`at_once`) in one write, as the ring
        delivers a whole answer under load."""
        cols = [{"name": "v", "table_oid": 0, "column": 0, "type_oid": 25, "type_size": -1, "type_mod": -1, "format": 0}]
        lines = [json.dumps({"type": f.pop("type"), "session": sid, "seq": seq, **f, **stamps}) + "\n"
                 for f in ({"type": "columns", "fields": cols}, {"type": "rows", "rows": [[value]]},
                           {"type": "complete", "tag": "SELECT 1"}, {"type": "ready", "status": "I"})]
        for chunk in ["".join(lines)] if at_once else lines:
            self.send(None, raw=chunk.encode())

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self.stderr.close()


@pytest.fixture
def listen(tmp_path):
    hl = Listen(tmp_path)
    yield hl
    hl.close()


def test_a_stamped_answer_is_delivered_and_the_credential_travels_only_in_session_open(listen, tmp_path):
    c, sid, opened = listen.open_session(password="s3cret-token-for-test")
    assert opened["credential"] == "s3cret-token-for-test"
    assert list(opened)[:3] == ["type", "session", "seq"]
    c.send(Query("select 'x'"))
    q = listen.frame_of("query")
    assert (q["session"], q["sql"]) == (sid, "select 'x'")
    assert "credential" not in q
    listen.answer_query(sid, q["seq"], "hello")
    msgs = c.read_until_ready(timeout=10)
    assert [m[0] for m in msgs] == ["T", "D", "C", "Z"]
    assert msgs[1][1] == [b"hello"]
    c.send(Query("select 'y'"))
    credit = listen.frame(), listen.frame()
    assert [f["type"] for f in credit] == ["credit", "query"], "the answer's credit goes ahead of the next request"
    assert (credit[0]["session"], credit[0]["batches"]) == (sid, 1)
    c.close()
    assert "s3cret-token-for-test" not in (tmp_path / "listen.log").read_text()


def test_an_idle_sessions_last_credit_waits_for_its_next_request_and_more_do_not(listen):
    """The credit of a request's last batch is kept for the next request (no timer, no
    frame of its own on the hot path); a second one, or a notification's, goes back by
    itself within milliseconds, so that an idle session's upstream is never left short."""
    c, sid, _ = listen.open_session()
    c.send(Query("select 'x'"))
    q = listen.frame_of("query")
    listen.answer_query(sid, q["seq"], "one", at_once=True)
    c.read_until_ready(timeout=10)
    r, _, _ = select.select([listen.proc.stdout], [], [], 0.3)
    assert not r and b"\n" not in listen.buf, "a credit went round by itself for an idle session's answer"
    listen.send({"type": "notification", "session": sid, "channel": "c", "payload": "p", "pid": 1, **STAMPS})
    t, _ = c.read()
    assert t == "A"
    credit = listen.frame_of("credit", timeout=5)
    assert (credit["session"], credit["batches"]) == (sid, 2), credit
    c.close()


@pytest.mark.parametrize("missing", ["stamp:mask", "stamp:record"])
def test_an_unstamped_answer_never_reaches_the_client(listen, missing):
    c, sid, _ = listen.open_session()
    other, other_sid, _ = listen.open_session()
    c.send(Query("select 'x'"))
    q = listen.frame_of("query")
    stamps = {k: v for k, v in STAMPS.items() if k != missing}
    listen.answer_query(sid, q["seq"], "UNMASKED-VALUE-123", stamps=stamps)
    msgs = c.read_until_closed(timeout=10)
    assert not any("UNMASKED-VALUE-123" in repr(m) for m in msgs)
    assert [m[0] for m in msgs] == ["E"]
    assert msgs[0][1]["S"] == "FATAL" and msgs[0][1]["C"] == "XX000"
    assert listen.frame_of("session_close")["session"] == sid
    # The other session goes on.
    other.send(Query("select 'y'"))
    q = listen.frame_of("query")
    assert q["session"] == other_sid
    listen.answer_query(other_sid, q["seq"], "fine")
    assert other.read_until_ready(timeout=10)[1] == ("D", [b"fine"])


@pytest.mark.parametrize("bad", [
    b'{"type":"rows","session":"SID","seq":1,"rows":[["half"]\n',            # truncated
    b'{"type":"rows","session":"SID","seq":1,"rows":[["a"]],"rows":[["b"]],"stamp:mask":true,"stamp:record":true}\n',  # duplicate key
    b'{"type":"rows","session":"SID","seq":1,"rows":[[{"x":1}]],"stamp:mask":true,"stamp:record":true}\n',  # wrong shape
    b'{"type":"rows","session":"SID","seq":1,"rows":[["\xff\xfe"]],"stamp:mask":true,"stamp:record":true}\n',  # not UTF-8
])
def test_a_broken_frame_ends_only_its_session(listen, bad):
    c, sid, _ = listen.open_session()
    other, other_sid, _ = listen.open_session()
    c.send(Query("select 1"))
    listen.frame_of("query")
    listen.send(None, raw=bad.replace(b"SID", sid.encode()))
    msgs = c.read_until_closed(timeout=10)
    assert len(msgs) == 1 and msgs[0][0] == "E" and msgs[0][1]["S"] == "FATAL"
    assert "half" not in repr(msgs) and "\\xff" not in repr(msgs)
    other.send(Query("select 2"))
    q = listen.frame_of("query")
    assert q["session"] == other_sid
    listen.answer_query(other_sid, q["seq"], "still")
    assert other.read_until_ready(timeout=10)[1] == ("D", [b"still"])


def test_end_of_the_rings_input_ends_every_session_cleanly(listen):
    clients = [listen.open_session()[0] for _ in range(3)]
    listen.proc.stdin.close()
    for c in clients:
        msgs = c.read_until_closed(timeout=10)
        assert [m[0] for m in msgs] == ["E"]
        assert msgs[0][1]["C"] == "57P01" and msgs[0][1]["S"] == "FATAL"
    assert listen.proc.wait(timeout=10) == 0


def test_a_session_that_never_opens_is_refused_with_the_upstream_error(listen):
    c = PGWire("127.0.0.1", listen.port, timeout=10)
    c.send(startup_packet({"user": "agent", "database": "nowhere"}))
    c.read()
    c.send(message("p", _cstr("pw")))
    sid = listen.frame_of("session_open")["session"]
    listen.send({"type": "error", "session": sid, "seq": 0, "severity": "FATAL", "code": "3D000",
                 "message": 'hoop: no connection named "nowhere" is configured', "fatal": True, **STAMPS})
    msgs = c.read_until_closed(timeout=10)
    assert [m[0] for m in msgs] == ["E"]
    assert msgs[0][1]["C"] == "3D000"
    with pytest.raises((ServerClosed, ConnectionResetError, BrokenPipeError, OSError)):
        c.send(Query("select 1"))
        c.read(timeout=2)


def test_its_sessions_carry_its_prefix_and_other_doors_frames_pass_byte_for_byte(listen):
    # docs/frames.md, "Doors, upstreams and kinds": a door owns the sessions whose id
    # begins with its prefix (hoop-listen: "pg:"), delivers and ends their frames, and
    # passes every other frame on untouched, in order.
    c, sid, opened = listen.open_session()
    assert sid.startswith("pg:") and opened["connection"] == "clinic"
    foreign = [
        b'{"type":"result","session":"aws:x1","seq":3,"status":200,"body":"not for pg","stamp:mask":true}\n',
        b'{"type":"call", "session":"t9:y2","seq":1,"action":"List","z":[1, 2]}\n',   # spacing kept
        b'{"type":"error","code":"XX000","message":"a ring-level error","stamp:record":true}\n',
        b'{"seq":4,"type":"rows","session":"aws:x1","rows":[["a"]]}\n',            # keys in another order
    ]
    for line in foreign:
        listen.send(None, raw=line)
    got = [listen.raw_line() for _ in foreign]
    assert got == foreign
    # Its own request coming round, and a credit of its own, end here; the client sees nothing.
    listen.send({"type": "query", "session": sid, "seq": 1, "sql": "select 1", "stamp:record": True})
    listen.send({"type": "credit", "session": sid, "batches": 1, "stamp:record": True})
    marker = b'{"type":"notice","session":"t9:z3","seq":1,"message":"after"}\n'
    listen.send(None, raw=marker)
    assert listen.raw_line() == marker, "hoop-listen passed on a frame of its own session"
    c.expect_nothing(0.3)


def test_copy_in_is_read_a_window_of_frames_ahead_of_the_upstream(listen):
    # docs/frames.md, "Flow control": during COPY FROM STDIN hoop-listen has at most 8
    # copy_data frames on their way until copy_credit frames say the upstream took them;
    # a client faster than the server is held in TCP, not queued in the ring.
    import threading
    c, sid, _ = listen.open_session()
    c.send(Query("copy t from stdin"))
    q = listen.frame_of("query")
    listen.send({"type": "copy_in_response", "session": sid, "seq": q["seq"], "format": 0,
                 "column_formats": [0], **STAMPS})
    assert c.read(timeout=10)[0] == "G"
    chunk = b"x" * (64 << 10) + b"\n"
    total = 160   # 10 MiB: more than the socket buffers hold
    writer = threading.Thread(target=lambda: c.send(*[message("d", chunk) for _ in range(total)], message("c")), daemon=True)
    writer.start()

    def frames_until_quiet(quiet=0.3):
        got = []
        while True:
            try:
                f = listen.frame(timeout=quiet)
            except AssertionError:
                return got
            got.append(f)

    received, rounds = 0, 0
    while True:
        got = frames_until_quiet()
        data = [f for f in got if f["type"] == "copy_data"]
        assert len(data) <= 8, f"{len(data)} copy_data frames without a credit for them"
        received += sum(len(f["data"]) for f in data)
        if any(f["type"] == "copy_done" for f in got):
            break
        assert data, "hoop-listen stopped reading with no copy_data frame on its way"
        rounds += 1
        for f in data:
            listen.send({"type": "copy_credit", "session": sid, "seq": f["seq"], "frames": 1, "stamp:record": True})
    writer.join(10)
    assert received == total * len(chunk)
    assert rounds > 1, "the whole upload came without waiting for a credit"


def test_a_session_ended_while_its_client_sends_delivers_the_error_and_an_orderly_end(listen):
    """The ring ends a session (a revoked grant, a fatal upstream error) while queries the
    client sent are still unread in hoop-listen's socket. A full close then is a reset,
    and a client that writes before it reads (libpq) may meet the reset before the error
    (a revoke test lost its 57P05 in CI that way): the client must read the error, then
    an end of stream, and what it still sends is taken and dropped."""
    import threading

    c, sid, _ = listen.open_session()
    # 2.8 MB of queries: more than hoop-listen reads while the ring (this test) does not
    # take its frames, so the rest waits in the socket.
    burst = Query("select 1") * 200000
    sender = threading.Thread(target=lambda: _send_quietly(c, burst), daemon=True)
    sender.start()
    first = listen.frame_of("query")
    time.sleep(0.5)
    listen.send({"type": "error", "session": sid, "seq": first["seq"], "severity": "FATAL",
                 "code": "57P05", "message": "hoop: access revoked", "fatal": True, **STAMPS})
    got, end = [], None
    try:
        while True:
            got.append(c.read(timeout=10))
    except ServerClosed:
        end = "eof"
    except ConnectionResetError:
        end = "reset"
    sender.join(10)
    assert got and got[-1][0] == "E" and got[-1][1]["C"] == "57P05", got
    assert end == "eof", f"the session ended with a {end}, not an orderly close"
    assert not sender.is_alive(), "the client's writes were not taken after the error"


def _send_quietly(c, data):
    try:
        c.send(data)
    except OSError:
        pass
