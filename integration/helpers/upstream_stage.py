#!/usr/bin/env python3
"""An upstream written from docs/frames.md alone ("Doors, upstreams and kinds"), for the
tests: it serves the sessions of connections of --kind in the configuration and passes
every other frame on, byte for byte.

For its own sessions, requests pass on towards the audit trail and are answered after
them: `session_open` with `session_opened`; a `call` stamped by every stage in
--require with a `result` (and a line in --runs-file: what ran); a `deny` with an
`error` in its place; `session_close` with `session_closed`. Credits of its sessions end
here. A request without the stamps is refused with an error: it never runs.
"""
import argparse
import json

from frame_pipe import batches, may_name, write_all


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--kind", default="aws")
    ap.add_argument("--runs-file", required=True)
    ap.add_argument("--require", default="auth,approve")
    args = ap.parse_args()
    with open(args.config) as f:
        connections = json.load(f).get("connections", {})
    ours_kind = {name for name, c in connections.items() if c.get("kind", "postgres") == args.kind}
    required = [s for s in args.require.split(",") if s]
    sessions: set[str] = set()
    out: list[bytes] = []

    def emit(frame: dict) -> None:
        out.append(json.dumps(frame, separators=(",", ":")).encode() + b"\n")

    for lines in batches():
        for line in lines:
            handle(line, sessions, ours_kind, required, out, emit, args.runs_file)
        if out:
            write_all(1, b"".join(out))
            out.clear()


def handle(line, sessions, ours_kind, required, out, emit, runs_file) -> None:
    # Only a session_open can start a session of ours; any other frame can be ours only
    # when its bytes name one of our sessions.
    if not may_name(line, [b'"session_open"'] + [('"' + s + '"').encode() for s in sessions]):
        out.append(line)
        return
    try:
        f = json.loads(line)
    except ValueError:
        out.append(line)
        return
    sid, kind = f.get("session"), f.get("type")
    if kind == "session_open" and isinstance(sid, str):
        if f.get("connection", f.get("database")) in ours_kind:
            sessions.add(sid)
    if sid not in sessions:
        out.append(line)                             # not ours: untouched
        return
    seq = f.get("seq")
    if kind == "credit":
        return
    out.append(line)                                 # our request goes on towards the record
    stamped = all(f.get("stamp:" + s) is True for s in required)
    if kind in ("session_open", "call") and not stamped:
        emit({"type": "error", "session": sid, "seq": seq, "code": "XX000", "severity": "ERROR", "fatal": True,
              "message": "test upstream: request did not pass the required stages"})
        sessions.discard(sid)
    elif kind == "session_open":
        emit({"type": "session_opened", "session": sid, "seq": 0, "parameters": {}, "status": "I"})
    elif kind == "call":
        with open(runs_file, "a") as runs:
            runs.write(json.dumps({"session": sid, "seq": seq, "action": f.get("action"),
                                   "params": f.get("params")}) + "\n")
        body = "ran %s %s" % (f.get("action"), json.dumps(f.get("params", {}), sort_keys=True))
        emit({"type": "result", "session": sid, "seq": seq, "status": 200, "body": body})
    elif kind == "deny":
        emit({"type": "error", "session": sid, "seq": seq, "code": f.get("code", "42501"), "severity": "ERROR",
              "message": f.get("message", "denied"), "request_id": f.get("request_id")})
    elif kind == "session_close":
        emit({"type": "session_closed", "session": sid, "seq": seq})
        sessions.discard(sid)


if __name__ == "__main__":
    main()
