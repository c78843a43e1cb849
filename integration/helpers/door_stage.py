#!/usr/bin/env python3
"""A door written from docs/frames.md alone ("Doors, upstreams and kinds"), for the tests:
proof that a stage in another language can be a door beside hoop-listen.

It owns the sessions whose id begins with --prefix. Frames of its own sessions end
here: responses are delivered (kept for the test) only when stamped by every stage in
--require, else refused; anything else of its own is dropped. Every other frame is
passed on, byte for byte. The test drives it through a TCP control port on loopback
(its number written to --port-file), one JSON line a command:

  {"send": FRAME}                       writes FRAME (header keys first) into the ring
  {"wait": SESSION, "type": T, "timeout": S}
                                        waits for a delivered frame of type T for SESSION;
                                        answers {"delivered": [...], "refused": [...]}
"""
import argparse
import json
import os
import socket
import sys
import threading

from frame_pipe import batches, may_name, write_all


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--require", default="mask,record")
    args = ap.parse_args()
    required = [s for s in args.require.split(",") if s]
    out_lock = threading.Lock()
    cond = threading.Condition()
    delivered: dict[str, list] = {}
    refused: dict[str, list] = {}

    def write(data: bytes) -> None:
        with out_lock:
            write_all(1, data)

    own = ('"' + args.prefix).encode()

    def reader() -> None:
        for lines in batches():
            passed = []
            for line in lines:
                if not may_name(line, [own]):
                    passed.append(line)           # cannot be ours: bytes as they came
                    continue
                try:
                    frame = json.loads(line)
                except ValueError:
                    passed.append(line)           # not ours to judge: the next stage reads it
                    continue
                sid = frame.get("session") if isinstance(frame, dict) else None
                if not isinstance(sid, str) or not sid.startswith(args.prefix):
                    passed.append(line)           # another door's, or ring-level
                    continue
                if frame.get("type") in REQUESTS:
                    continue                      # our own request come round: its round ends here
                with cond:
                    ok = all(frame.get("stamp:" + s) is True for s in required)
                    (delivered if ok else refused).setdefault(sid, []).append(frame)
                    cond.notify_all()
            if passed:
                write(b"".join(passed))
        os._exit(0)                               # end of input: the ring is going down

    def serve(conn: socket.socket) -> None:
        f = conn.makefile("rwb")
        for line in f:
            cmd = json.loads(line)
            if "send" in cmd:
                write(json.dumps(cmd["send"], separators=(",", ":")).encode() + b"\n")
                answer = {"ok": True}
            else:
                sid, want = cmd["wait"], cmd["type"]
                with cond:
                    cond.wait_for(lambda: any(x.get("type") == want for x in delivered.get(sid, []) + refused.get(sid, [])),
                                  timeout=cmd.get("timeout", 30))
                    answer = {"delivered": delivered.get(sid, []), "refused": refused.get(sid, [])}
            f.write(json.dumps(answer).encode() + b"\n")
            f.flush()

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as pf:
        pf.write(str(server.getsockname()[1]))
    os.replace(tmp, args.port_file)
    threading.Thread(target=reader, daemon=True).start()
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


REQUESTS = {"session_open", "session_close", "query", "parse", "bind", "describe", "execute", "close", "sync",
            "flush", "cancel", "copy_data", "copy_done", "copy_fail", "call", "credit"}

if __name__ == "__main__":
    main()
