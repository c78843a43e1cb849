"""Send SQL through the gateway as an agent on a raw
PGWire connection (a held statement never blocks the test), and read the database
directly. Only counts and booleans are ever printed."""
from __future__ import annotations

import contextlib
import socket

from helpers.pgwire import PGWire, Query, ServerClosed

AGENT = "agent@example.org"


class Answer:
    def __init__(self):
        self.held = False
        self.denied = False
        self.error = None          # SQLSTATE of a server error
        self.tags: list[str] = []  # CommandComplete tags
        self.rows = 0              # DataRows received
        self.first_row = None      # values of the first DataRow (bytes), for counts only

    @property
    def ran(self) -> bool:
        return not self.held and not self.denied and bool(self.tags)

    def __repr__(self):
        return f"held={self.held} denied={self.denied} error={self.error} tags={self.tags} rows={self.rows}"


def agent_wire(ring, app="agent-wire") -> PGWire:
    c = PGWire("127.0.0.1", ring.listen_port, timeout=30)
    c.startup(AGENT, "clinic", ring.token(AGENT, "agents", agent=True), {"application_name": app})
    return c


def read_answer(c: PGWire, timeout: float = 20.0, until_ready: bool = True, on_row=None) -> Answer:
    """Reads up to ReadyForQuery; a hold notice ends the read at once (the caller closes
    the connection, which withdraws the request). `on_row(values)`: every DataRow's."""
    a = Answer()
    try:
        while True:
            t, v = c.read(timeout)
            if t == "N" and "held for approval" in v.get("M", ""):
                a.held = True
                return a
            if t == "E":
                if v.get("C") == "42501" and v.get("M", "").startswith("hoop:"):
                    a.denied = True
                else:
                    a.error = v.get("C")
            elif t == "C":
                a.tags.append(v)
            elif t == "D":
                a.rows += 1
                if a.first_row is None:
                    a.first_row = v
                if on_row:
                    on_row(v)
            elif t == "Z" and until_ready:
                return a
    except (socket.timeout, ServerClosed):
        return a


def simple(ring, sql: str, timeout: float = 20.0, on_row=None) -> Answer:
    c = agent_wire(ring)
    try:
        c.send(Query(sql))
        return read_answer(c, timeout, on_row=on_row)
    finally:
        c.close()


def direct_value(ring, sql: str):
    with ring.connect("direct") as d:
        return d.execute(sql).fetchone()[0]


def admin_exec(ring, *sql: str) -> None:
    with ring.admin() as a:
        for s in sql:
            a.execute(s)


@contextlib.contextmanager
def encounters_restored(ring, backup: str):
    """Encounters as seeded after the block, whatever it let run (a copy kept in schema
    `backup` of the ring's database)."""
    admin_exec(ring, f"create schema if not exists {backup}",
               f"create table if not exists {backup}.enc as table public.encounters")
    try:
        yield
    finally:
        admin_exec(ring, "begin", "delete from public.encounters",
                   f"insert into public.encounters select * from {backup}.enc", "commit")
