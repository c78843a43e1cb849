"""A bare table name is judged by the relation the session's search_path gives it
(docs/approval.md, "Reads bounded by a key"). hoop-approve took a bare name that
another schema also has for the worst of every schema's relation of that name: with a
keyless `archive.encounters` beside the keyed `public.encounters`, the keyed read
`select * from encounters where id = 1` was held though the role's default path
(`"$user", public`) reads public's. Now the path decides when it is sure; a path
naming the keyless schema, a path not known (set from a function's result), a temporary
table the session may have made, or a role default set by ALTER ROLE keep the worst.

Each statement goes through the ring as an agent (embedded default rules); the test
asserts only whether it was held. Nothing a row holds is printed.
"""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from conftest import default_rules_ring
from helpers.agent_wire import AGENT, admin_exec, read_answer, simple
from helpers.pgwire import PGWire, Query
from helpers.ring import HOOP, REPO

ring = default_rules_ring("search-path")

SCHEMA = "sp_archive"
KEYED_READ = "select * from encounters where id = 1"
ID = re.compile(r"\br-[a-z0-9]{10}\b")


@pytest.fixture(scope="module", autouse=True)
def archive(ring):
    """`sp_archive.encounters`: the gateway role's, 1,500 rows all of id 1, analyzed (no
    key, and the statistics say 1,500 rows for the value)."""
    admin_exec(ring, f"drop schema if exists {SCHEMA} cascade",
               f"create schema {SCHEMA} authorization hoop_gateway",
               "set role hoop_gateway",
               f"create table {SCHEMA}.encounters as select 1 as id, 'x' as note from generate_series(1, 1500)",
               "reset role")
    time.sleep(1.5)
    admin_exec(ring, f"analyze {SCHEMA}.encounters")
    time.sleep(3)   # one look of the catalog (1 s) and a read
    yield
    admin_exec(ring, f"drop schema {SCHEMA} cascade")


def outcome(a) -> str:
    return "held" if a.held else "denied" if a.denied else "ran" if a.ran else f"error {a.error}"


class Session:
    """One agent connection; a statement held for approval is granted by an approver."""

    def __init__(self, ring):
        self.ring = ring
        self.c = PGWire("127.0.0.1", ring.listen_port, timeout=30)
        self.c.startup(AGENT, "clinic", ring.token(AGENT, "agents", agent=True), {"application_name": "search-path"})
        self.notices: list[str] = []

    def ask(self, sql: str) -> str:
        self.c.send(Query(sql))
        return outcome(read_answer(self.c, 30))

    def run(self, sql: str) -> None:
        """Runs `sql`, granting it if it is held (the session waits on it meanwhile)."""
        self.c.send(Query(sql))
        self.finish(sql)

    def finish(self, sql: str) -> None:
        """Reads the answer to `sql`, sent already, granting it if it is held."""
        while True:
            t, v = self.c.read(30)
            if t == "N" and "held for approval" in v.get("M", ""):
                self.grant(v["M"])
            elif t == "E":
                raise AssertionError(f"{sql!r} failed: {v.get('C')}")
            elif t == "Z":
                return

    def grant(self, notice: str) -> None:
        """An approver grants the request a hold notice names."""
        env = self.ring.env()
        env["HOOP_TOKEN"] = self.ring.token("bob@example.org", "approvers")
        rid = ID.search(notice).group(0)
        r = subprocess.run([str(HOOP), "approve", "grant", rid, "--reason", "test"], env=env, cwd=REPO,
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr[-500:]

    def close(self):
        self.c.close()


@pytest.fixture
def session(ring):
    s = Session(ring)
    yield s
    s.close()


def test_default_path_reads_the_keyed_table(ring):
    assert outcome(simple(ring, KEYED_READ, timeout=30)) == "ran", \
        "a keyed read of public.encounters was held for a keyless table of another schema"
    # The qualified names: as before.
    assert outcome(simple(ring, "select * from public.encounters where id = 1", timeout=30)) == "ran"
    assert outcome(simple(ring, f"select * from {SCHEMA}.encounters where id = 1", timeout=30)) == "held"


def test_a_path_naming_the_keyless_schema_holds(session):
    session.run(f"set search_path = {SCHEMA}, public")
    assert session.ask(KEYED_READ) == "held"


def test_a_path_set_in_the_same_text_holds(ring):
    assert outcome(simple(ring, f"set search_path = {SCHEMA}, public; {KEYED_READ}", timeout=30)) == "held"
    assert outcome(simple(ring, f"select set_config('search_path', '{SCHEMA}, public', false); {KEYED_READ}", timeout=30)) == "held"


def test_a_path_set_back_still_holds(session):
    """A SET that failed leaves the value before it: both are possible."""
    session.run(f"set search_path = {SCHEMA}, public")
    session.run("set search_path = public")
    assert session.ask(KEYED_READ) == "held"


def test_a_path_of_only_the_keyed_schema_runs(session):
    session.run("set search_path = public")
    assert session.ask(KEYED_READ) == "ran"


def test_an_unknown_path_holds(session):
    session.run("select set_config('search_path', current_setting('search_path'), false)")
    assert session.ask(KEYED_READ) == "held"


def test_a_temporary_table_of_the_session_holds(session):
    session.run("create temporary table encounters (id int primary key, note text)")
    assert session.ask(KEYED_READ) == "held"


def test_a_role_default_set_in_the_catalog_holds(ring):
    admin_exec(ring, f"alter role hoop_gateway set search_path = {SCHEMA}, public")
    try:
        time.sleep(3)   # read every look of the catalog
        assert outcome(simple(ring, KEYED_READ, timeout=30)) == "held", \
            "the role's own default search_path was not taken into account"
    finally:
        admin_exec(ring, "alter role hoop_gateway reset search_path")
    time.sleep(3)
    assert outcome(simple(ring, KEYED_READ, timeout=30)) == "ran"


def test_the_servers_own_default_path_counts(ring):
    """A default set for the whole server (ALTER SYSTEM, as postgresql.conf or an RDS
    parameter group would): the bare name means the keyless table there, so the read is
    held (the review: `"$user", public` was assumed)."""
    admin_exec(ring, f"alter system set search_path = '{SCHEMA}, public'", "select pg_reload_conf()")
    try:
        time.sleep(3)   # a reload, then a look of the catalog
        assert outcome(simple(ring, KEYED_READ, timeout=30)) == "held", \
            "the server's default search_path was not taken into account"
    finally:
        admin_exec(ring, "alter system reset search_path", "select pg_reload_conf()")
    time.sleep(3)
    assert outcome(simple(ring, KEYED_READ, timeout=30)) == "ran"


def test_statistics_of_a_function_no_superuser_owns_are_not_trusted(ring):
    """(A guard, in this module for its ring.) `hoop.column_statistics()` replaced by a
    copy a non-superuser owns (SECURITY DEFINER as that role, which could make it say
    anything): a read bounded only by statistics (`provider_id`, no unique key) is held."""
    read = "select * from public.encounters where provider_id = 7"
    assert outcome(simple(ring, read, timeout=30)) == "ran", "the trusted function's statistics bound it"
    with ring.admin() as a:
        a.autocommit = True
        definition = a.execute("select pg_get_functiondef('hoop.column_statistics()'::regprocedure)").fetchone()[0]
        a.execute("alter function hoop.column_statistics() rename to column_statistics_kept")
        try:
            a.execute(definition)
            a.execute("alter function hoop.column_statistics() owner to hoop_gateway")
            a.execute("grant execute on function hoop.column_statistics() to hoop_catalog")
            time.sleep(3)   # one look of the catalog
            assert outcome(simple(ring, read, timeout=30)) == "held", \
                "statistics from a function a non-superuser owns bounded a read"
        finally:
            a.execute("drop function if exists hoop.column_statistics()")
            a.execute("alter function hoop.column_statistics_kept() rename to column_statistics")
    time.sleep(3)
    assert outcome(simple(ring, read, timeout=30)) == "ran"


def test_a_word_that_only_contains_temp_keeps_the_path(session):
    """`temperature` makes no temporary table: the keyed read is still resolved by the path."""
    time.sleep(3)   # a look of the catalog after the DDL earlier tests let through
    session.run("select 1 as temperature, 'TEMPORARY' as label")
    assert session.ask(KEYED_READ) == "ran", "a text merely spelling temp turned name resolution off"


@pytest.mark.parametrize("make", [
    "create table pg_temp.encounters (id int primary key, note text)",
    'create table u&"pg\\005ftemp".encounters (id int primary key, note text)',
    "select 1 as id into temp encounters",
    "set search_path = pg_temp, public; create table encounters (id int primary key, note text)",
])
def test_a_temporary_table_made_any_way_holds(session, make):
    session.run(make)
    assert session.ask(KEYED_READ) == "held"


def test_ddl_let_through_counts_before_the_catalog_sees_it(ring, session):
    """A view made as the `$user` schema's `encounters` over the keyless table, and the
    keyed read sent right behind it: the read is judged as soon as the view is let
    through, before the server has run it, so the catalog cannot know it yet. The read
    must be held (every schema's `encounters`), not resolved by the old facts to public's."""
    admin_exec(ring, "drop schema if exists hoop_gateway cascade", "create schema hoop_gateway authorization hoop_gateway")
    try:
        time.sleep(3)   # one look of the catalog
        assert session.ask(KEYED_READ) == "ran", "an empty schema of the role's name changed the resolution"
        ddl = f"create view hoop_gateway.encounters as select * from {SCHEMA}.encounters"
        session.c.send(Query(ddl))
        session.c.send(Query(KEYED_READ))
        # The view is held (DDL) and granted; the read's hold notice may come before the
        # view's own answer.
        holds, ready, read = 0, 0, None
        while read is None:
            t, v = session.c.read(30)
            if t == "N" and "held for approval" in v.get("M", ""):
                holds += 1
                if holds == 1:
                    session.grant(v["M"])
                else:
                    read = "held"
            elif t == "E":
                raise AssertionError(f"an error {v.get('C')}")
            elif t == "Z":
                ready += 1
            elif t == "C" and ready == 1:
                read = "ran"
        assert read == "held", "a bare name was resolved by catalog facts older than a view let through before it"
    finally:
        session.close()
        admin_exec(ring, "drop schema if exists hoop_gateway cascade")
        time.sleep(3)
