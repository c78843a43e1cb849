"""scripts/conformance against every stage binary, and against stages that break the
contract on purpose (so we know the checker can fail) or keep it (so we know it can pass).

The stage binaries come from $HOOP_BIN, else .build/release when it holds them, else
.build/debug, relative to this repository.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.ring import hoop_bin

ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE = ROOT / "scripts" / "conformance"
TIMEOUT = 300


BIN = hoop_bin()


def conformance(command, *options):
    proc = subprocess.run([sys.executable, str(CONFORMANCE), *options, command],
                          capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT)
    return proc.returncode, proc.stdout + proc.stderr


def stage(name):
    path = BIN / name
    if not path.exists():
        pytest.skip("%s is not built (HOOP_BIN=%s)" % (name, BIN))
    return str(path)


def failures(output):
    return "\n".join(line for line in output.splitlines() if line.startswith("FAIL"))


def stamps(output):
    """{stamp name: (request types stamped, response types stamped)} from the INFO lines."""
    found = {}
    for m in re.finditer(r"^INFO stamps: stamp:(\S+) on (\d+)/\d+ request types, (\d+)/\d+ response types",
                         output, re.M):
        found[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return found


def auth_config(tmp_path):
    """A configuration with an `auth` section whose issuer does not answer (a loopback
    port nobody listens on): every credential the checker sends is unverifiable."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "hoop.json"
    config.write_text(json.dumps({
        "connections": {"app": {"conninfo": "host=127.0.0.1 port=1 dbname=app user=nobody",
                                "password": {"env": "HOOP_CONFORMANCE_UNUSED"},
                                "allow": [{"groups": ["clinicians"], "kind": "person"}]}},
        "auth": {"issuer": "http://127.0.0.1:%d" % port, "audience": "hoop"},
    }))
    return config


def test_auth_conforms(tmp_path):
    """hoop-auth verifies session_open and refuses requests of sessions it has not
    opened (docs/auth.md), so the request-type checks give way to the gate checks."""
    binary = stage("hoop-auth")
    rc, out = conformance(binary, "--config", str(auth_config(tmp_path)), "--no-request-types", "--gate")
    assert rc == 0, "hoop-auth breaks the frame contract:\n%s" % failures(out)
    assert "PASS gate:" in out, out


def test_auth_without_auth_section_is_a_closed_gate(tmp_path):
    """docs/auth.md: without an `auth` section every session is refused
    (not_configured), and requests of sessions never opened still get their fatal
    error (no_session): nothing vanishes silently."""
    binary = stage("hoop-auth")
    config = tmp_path / "hoop.json"
    config.write_text(json.dumps({"connections": {}}))
    rc, out = conformance(binary, "--config", str(config), "--no-request-types", "--gate")
    assert rc == 0, "hoop-auth without an auth section:\n%s" % failures(out)


def test_approve_conforms(tmp_path):
    """hoop-approve judges only sessions hoop-auth verified (docs/approval.md): a
    session_open without an identity and the requests of sessions it never opened get
    fatal errors, so it is checked as a gate; its judging is tested through the ring
    (integration/test_ring_approve.py)."""
    config = tmp_path / "hoop.json"
    config.write_text(json.dumps({
        "connections": {"app": {"conninfo": "host=127.0.0.1 port=1 dbname=app user=nobody"}},
        "approval": {"store": {"sqlite": str(tmp_path / "approvals.sqlite")}},
    }))
    rc, out = conformance(stage("hoop-approve"), "--config", str(config), "--no-request-types", "--gate")
    assert rc == 0, "hoop-approve breaks the frame contract:\n%s" % failures(out)
    assert "PASS gate:" in out, out


def test_mask_conforms(tmp_path):
    # hoop-mask reads its policies from the configuration (none here: every connection
    # gets content detection) and may rewrite the responses it masks.
    config = tmp_path / "hoop.json"
    config.write_text(json.dumps({"connections": {}}))
    rc, out = conformance(stage("hoop-mask"), "--config", str(config),
                          "--transforms", "rows,error,notice,copy_out_data")
    assert rc == 0, "hoop-mask breaks the frame contract:\n%s" % failures(out)
    assert stamps(out)["mask"][1] >= 17, out


def test_record_conforms(tmp_path):
    # hoop-record strips a credential that reached it (a backstop for a ring without
    # hoop-auth), so it may rewrite session_open.
    command = "%s --store %s" % (stage("hoop-record"), tmp_path / "audit.sqlite")
    rc, out = conformance(command, "--transforms", "session_open", "--stamps-all", "record")
    assert rc == 0, "hoop-record breaks the frame contract:\n%s" % failures(out)



def test_record_stamps_every_frame_it_records(tmp_path):
    """docs/frames.md, "One round": every frame hoop-record recorded carries stamp:record
    (appended; nothing else changes), so that the first stage after the doors can drop
    what has been round."""
    lines = [b'{"type":"query","session":"r1","seq":1,"sql":"select \\u00e9"}',
             b'{"type":"rows","session":"r1","seq":1,"rows":[["x"]],"stamp:mask":true}',
             b'{"type":"x.unknown","session":"zz:r2","seq":7,"k":[1, 2]}',
             b'{"type":"error","code":"XX000","message":"ring-level"}',
             b'{"type":"credit","session":"r1","batches":1}']
    proc = subprocess.run([stage("hoop-record"), "--store", str(tmp_path / "audit.sqlite")],
                          input=b"".join(x + b"\n" for x in lines), capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [x[:-1] + b',"stamp:record":true}' for x in lines]


def test_record_never_stores_a_credential(tmp_path):
    """A session_open that still carries its credential (no hoop-auth in front): the
    credential is neither stored nor passed on; the rest of the frame is."""
    import sqlite3
    store = tmp_path / "audit.sqlite"
    secret = "record-backstop-secret-81f2"
    lines = [json.dumps({"type": "session_open", "session": "b1", "seq": 0, "user": "u", "database": "d",
                         "credential": secret, "application_name": "x"}, separators=(",", ":")),
             '{"type":"query","session":"b1","seq":1,"sql":"select 1"}']
    proc = subprocess.run([stage("hoop-record"), "--store", str(store)], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [f["type"] for f in out] == ["session_open", "query"], out
    assert "credential" not in out[0] and out[0]["user"] == "u" and out[0]["application_name"] == "x", out[0]
    assert secret not in proc.stdout and secret not in proc.stderr
    with sqlite3.connect(str(store)) as db:
        stored = [r[0] for r in db.execute("SELECT CAST(frame AS TEXT) FROM frames ORDER BY id")]
    assert len(stored) == 2 and not any(secret in f for f in stored), stored


def test_connect_conforms(tmp_path):
    binary = stage("hoop-connect")
    config = tmp_path / "hoop.json"
    config.write_text(json.dumps({"connections": {}}))
    probe = subprocess.run([binary, "--config", str(config)], input=b"", capture_output=True, timeout=30)
    if b"todo" in probe.stdout:
        pytest.skip("hoop-connect is still a stub (prints \"todo\")")
    rc, out = conformance(binary, "--config", str(config), "--no-request-types")
    assert rc == 0, "hoop-connect breaks the frame contract:\n%s" % failures(out)


def test_connect_passes_sessions_of_another_kind(tmp_path):
    config = tmp_path / "hoop.json"
    config.write_text(json.dumps({"connections": {"api": {"kind": "aws"}}}))
    rc, out = conformance(stage("hoop-connect"), "--config", str(config), "--no-request-types",
                          "--upstream-passes", "api")
    assert rc == 0, "hoop-connect acts on another kind's session:\n%s" % failures(out)
    assert "PASS upstream:" in out, out


def test_listen_is_a_door(tmp_path):
    from helpers.ring import free_port
    config = tmp_path / "hoop.json"
    config.write_text(json.dumps({"listen": {"host": "127.0.0.1", "port": free_port()}}))
    rc, out = conformance(stage("hoop-listen"), "--config", str(config), "--door", "pg:",
                          "--env", "HOOP_RUN=%s" % tmp_path)
    assert rc == 0, "hoop-listen breaks the door contract:\n%s" % failures(out)
    assert "PASS door:" in out, out


def test_the_aws_door_is_a_door(tmp_path):
    from helpers.ring import free_port
    key = tmp_path / "gateway.key"
    key.write_bytes(os.urandom(32))
    config = tmp_path / "hoop.json"
    config.write_text(json.dumps({"aws_door": {"host": "127.0.0.1", "port": free_port(), "key_file": str(key),
                                               "operations_file": str(ROOT / "generated/aws-operations.json")}}))
    rc, out = conformance(stage("hoop-listen-aws"), "--config", str(config), "--door", "aws:")
    assert rc == 0, "hoop-listen-aws breaks the door contract:\n%s" % failures(out)
    assert "PASS door:" in out, out


def test_the_aws_door_without_its_section_passes_the_ring(tmp_path):
    config = tmp_path / "hoop.json"
    config.write_text(json.dumps({}))
    rc, out = conformance(stage("hoop-listen-aws"), "--config", str(config), "--door", "aws:")
    assert rc == 0, failures(out)


def test_connect_aws_passes_sessions_of_another_kind(tmp_path):
    config = tmp_path / "hoop.json"
    config.write_text(json.dumps({"connections": {"clinic": {"conninfo": "host=127.0.0.1"}}}))
    rc, out = conformance(stage("hoop-connect-aws"), "--config", str(config), "--no-request-types",
                          "--upstream-passes", "clinic")
    assert rc == 0, "hoop-connect-aws acts on another kind's session:\n%s" % failures(out)
    assert "PASS upstream:" in out, out


def test_the_test_door_is_a_door_and_cat_is_not(tmp_path):
    door = "%s %s --prefix t1: --port-file %s" % (sys.executable, ROOT / "integration/helpers/door_stage.py",
                                                  tmp_path / "port")
    rc, out = conformance(door, "--door", "t1:")
    assert rc == 0, failures(out)
    rc, out = conformance("cat", "--door", "t1:")
    assert rc != 0 and "FAIL door:" in out, out


# --- the checker itself ----------------------------------------------------------

def test_checker_fails_cat():
    """cat copies malformed lines through: every malformed-line check must fail."""
    rc, out = conformance("cat")
    assert rc != 0
    assert "PASS unknown types pass byte for byte" in out
    for case in ("truncated JSON", "invalid UTF-8 (0xFF)", "control character in a string",
                 "no type", "non-object [1]", "duplicate body key"):
        assert "FAIL malformed: %s: the bad line came out unchanged" % case in out, out
    assert "FAIL oversize: 200 KiB line" in out


REORDER = """python3 -c 'import sys, json
for line in sys.stdin:
    print(json.dumps(json.loads(line), sort_keys=True, separators=(",", ":")), flush=True)'"""


def test_checker_fails_key_reordering():
    rc, out = conformance(REORDER)
    assert rc != 0
    assert "FAIL unknown types pass byte for byte" in out, out
    assert "FAIL end of input" in out, out


STAMP_TWICE = """python3 -c 'import sys
for line in sys.stdin:
    sys.stdout.write(line.rstrip("\\n")[:-1] + ",\\"stamp:x\\":true,\\"stamp:y\\":true}\\n"); sys.stdout.flush()'"""


def test_checker_fails_two_stamps():
    rc, out = conformance(STAMP_TWICE)
    assert rc != 0
    assert "FAIL request/response types: unchanged or stamped" in out, out


def test_checker_fails_buffering_until_end_of_input():
    rc, out = conformance("python3 -c 'import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())'")
    assert rc != 0
    assert "FAIL streaming" in out, out


# A small stage that keeps the whole contract (pass-through, errors, limit), to show
# that every check can pass: the checker asks nothing the contract does not.
REFERENCE_STAGE = r'''
import json, os, re, sys
LIMIT = int(os.environ.get("HOOP_MAX_FRAME_BYTES") or 16777216)
inp, out = sys.stdin.buffer, sys.stdout.buffer
SESSION = re.compile(rb'"session":"([A-Za-z0-9_.:-]{1,64})"')
SEQ = re.compile(rb'"seq":([0-9]{1,18})')

def pairs(items):
    obj = {}
    for k, v in items:
        if k in obj:
            raise ValueError("duplicate key")
        obj[k] = v
    return obj

def constant(name):
    raise ValueError(name)

def error(prefix, code, message, dropped):
    frame = {"type": "error"}
    session, seq = SESSION.search(prefix[:4096]), SEQ.search(prefix[:4096])
    if session:
        frame["session"] = session.group(1).decode()
    if seq:
        frame["seq"] = int(seq.group(1))
    frame.update(stage="reference", code=code, message=message, fatal=True)
    if not session:
        frame["dropped_bytes"] = dropped
    out.write(json.dumps(frame, separators=(",", ":")).encode() + b"\n")

while True:
    line = inp.readline(LIMIT + 1)
    if not line:
        break
    if len(line) == LIMIT + 1 and not line.endswith(b"\n"):
        length, prefix = len(line), line[:4096]
        while True:
            chunk = inp.readline(65536)
            if not chunk or chunk.endswith(b"\n"):
                length += len(chunk.rstrip(b"\n"))
                break
            length += len(chunk)
        error(prefix, "54000", "frame too large", length)
    else:
        body = line[:-1] if line.endswith(b"\n") else line
        try:
            obj = json.loads(body.decode("utf-8"), object_pairs_hook=pairs, parse_constant=constant)
            ok = isinstance(obj, dict) and isinstance(obj.get("type"), str)
        except ValueError:
            ok = False
        if ok:
            out.write(body + b"\n")
        else:
            error(body, "08P01", "malformed frame", len(body))
    out.flush()
'''


def test_checker_passes_reference_stage(tmp_path):
    """(the reference stage below; the gate checks are not asked of it)"""
    script = tmp_path / "reference_stage.py"
    script.write_text(REFERENCE_STAGE)
    rc, out = conformance("%s %s" % (sys.executable, script))
    assert rc == 0, failures(out)
    assert "INFO stamps: none added" in out


# --- the gate checks (--gate) can fail, and can pass -------------------------------

GATE_FAIL = "FAIL gate: unverified sessions are answered with a fatal error, nothing passes"


def test_gate_check_fails_pass_through():
    rc, out = conformance("cat", "--no-request-types", "--gate")
    assert rc != 0
    assert GATE_FAIL + ": the unverifiable credential came out on stdout" in out, out


STAMP_REQUESTS = """python3 -c 'import sys, json
REQ = {"session_open", "query", "parse", "bind", "describe", "execute", "close", "sync", "flush", "cancel",
       "copy_data", "copy_done", "copy_fail"}
for line in sys.stdin:
    o = json.loads(line)
    if o.get("type") == "session_open":
        continue
    if o.get("type") in REQ:
        line = line.rstrip("\\n")[:-1] + ",\\"stamp:auth\\":true}\\n"
    sys.stdout.write(line); sys.stdout.flush()'"""


def test_gate_check_fails_stamping_unopened_sessions():
    """Drops the session_open but stamps the requests of sessions it never opened."""
    rc, out = conformance(STAMP_REQUESTS, "--no-request-types", "--gate")
    assert rc != 0
    assert re.search(re.escape(GATE_FAIL) + r": \w+ frame of unverified session gate\d came out", out), out


# A gate: answers every request of a session it has not opened, and an unverifiable
# session_open, with a fatal error (one per session), and passes the rest.
REFERENCE_GATE = r"""
import json, sys
REQ = {"session_open", "query", "parse", "bind", "describe", "execute", "close", "sync", "flush", "cancel",
       "copy_data", "copy_done", "copy_fail"}
refused = set()
for line in sys.stdin:
    try:
        o = json.loads(line)
    except ValueError:
        o = None
    if not isinstance(o, dict) or o.get("type") not in REQ:
        sys.stdout.write(line); sys.stdout.flush(); continue
    s = o.get("session")
    if s not in refused:
        refused.add(s)
        opening = o["type"] == "session_open"
        print(json.dumps({"type": "error", "session": s, "seq": o.get("seq"), "stage": "gate",
                          "code": "28000" if opening else "08P01", "message": MESSAGE,
                          "fatal": FATAL}, separators=(",", ":")), flush=True)
        if LOG:
            sys.stderr.write("refused %s\n" % o.get("credential")); sys.stderr.flush()
"""


def gate_script(tmp_path, message="hoop: refused", fatal=True, log=False):
    script = tmp_path / "gate.py"
    script.write_text("MESSAGE, FATAL, LOG = %r, %r, %r\n" % (message, fatal, log) + REFERENCE_GATE)
    return "%s %s" % (sys.executable, script)


def test_gate_check_passes_reference_gate(tmp_path):
    rc, out = conformance(gate_script(tmp_path), "--no-request-types", "--gate")
    gate_lines = [line for line in out.splitlines() if " gate:" in line]
    assert gate_lines and gate_lines[0].startswith("PASS gate:"), out
    # (the reference gate skips the malformed-line rules: only the gate check matters here)


def test_gate_check_fails_non_fatal_error(tmp_path):
    rc, out = conformance(gate_script(tmp_path, fatal=False), "--no-request-types", "--gate")
    assert rc != 0
    assert GATE_FAIL + ": session gate1: error frame without \"fatal\":true" in out, out


def test_gate_check_fails_credential_in_log(tmp_path):
    rc, out = conformance(gate_script(tmp_path, log=True), "--no-request-types", "--gate")
    assert rc != 0
    assert GATE_FAIL + ": the unverifiable credential was written to stderr (a log)" in out, out
