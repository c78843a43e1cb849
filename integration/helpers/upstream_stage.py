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
import sys


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
    out = sys.stdout.buffer

    def emit(frame: dict) -> None:
        out.write(json.dumps(frame, separators=(",", ":")).encode() + b"\n")

    for line in sys.stdin.buffer:
        if not line.endswith(b"\n"):
            line += b"\n"
        if not line.strip():
            continue
        try:
            f = json.loads(line)
        except ValueError:
            out.write(line)
            out.flush()
            continue
        sid, kind = f.get("session"), f.get("type")
        if kind == "session_open" and isinstance(sid, str):
            if f.get("connection", f.get("database")) in ours_kind:
                sessions.add(sid)
        if sid not in sessions:
            out.write(line)                          # not ours: untouched
            out.flush()
            continue
        seq = f.get("seq")
        if kind == "credit":
            continue
        stamped = all(f.get("stamp:" + s) is True for s in required)
        if kind in ("session_open", "call") and not stamped:
            out.write(line)
            emit({"type": "error", "session": sid, "seq": seq, "code": "XX000", "severity": "ERROR", "fatal": True,
                  "message": "test upstream: request did not pass the required stages"})
            sessions.discard(sid)
        elif kind == "session_open":
            out.write(line)
            emit({"type": "session_opened", "session": sid, "seq": 0, "parameters": {}, "status": "I"})
        elif kind == "call":
            out.write(line)
            with open(args.runs_file, "a") as runs:
                runs.write(json.dumps({"session": sid, "seq": seq, "action": f.get("action"),
                                       "params": f.get("params")}) + "\n")
            body = "ran %s %s" % (f.get("action"), json.dumps(f.get("params", {}), sort_keys=True))
            emit({"type": "result", "session": sid, "seq": seq, "status": 200, "body": body})
        elif kind == "deny":
            out.write(line)
            emit({"type": "error", "session": sid, "seq": seq, "code": f.get("code", "42501"), "severity": "ERROR",
                  "message": f.get("message", "denied"), "request_id": f.get("request_id")})
        elif kind == "session_close":
            out.write(line)
            emit({"type": "session_closed", "session": sid, "seq": seq})
            sessions.discard(sid)
        else:
            out.write(line)
        out.flush()


if __name__ == "__main__":
    main()
