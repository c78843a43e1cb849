"""Fixtures for the end-to-end ring tests (integration/test_ring_*.py).

- `ring`: one gateway for the whole session (scripts/hoop up -d ... down), with its
  own HOOP_VAR, ports and PostgreSQL cluster.
- `module_ring`: a ring of the module's own (tests that kill stages).
- `ring_factory`: fresh rings made inside a test; each is brought down at its end.
- Rings run with OPEN_APPROVAL (helpers/ring.py): everything parseable is allowed, so
  that the protocol, masking and audit suites see the server's answers;
  test_ring_approve.py runs the embedded default rules.
- Through the gateway every test signs in as `ring.gateway_user` (an email) with a
  token minted by `scripts/hoop token USER clinicians` (cached per identity and ring;
  `ring.token()`, `ring.mint()`, `ring.credential()`); a ring whose default token
  cannot be minted fails its fixture.
- `gw` / `direct`: psycopg connections through the gateway / straight to PostgreSQL
  (as hoop_gateway, the role the gateway itself uses), `admin`: hoop_admin over the
  private unix socket.

When a test fails, the tail of every stage log of every ring that test used is
attached to the report (stage logs carry no PHI by design). HOOP_TEST_KEEP=1 keeps
each ring's HOOP_VAR (cluster, audit store, logs) after the run.
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from helpers.ring import OPEN_APPROVAL, OPEN_CALLS, Ring, RingError  # noqa: E402

_active_rings: list[Ring] = []


def _start(name: str, approval: dict | None = OPEN_APPROVAL, stages: str | None = None, aws: bool = False,
           aws_approval: dict | None = OPEN_CALLS) -> Ring:
    """A ring up and running; `approval` replaces the clinic connection's approval
    section (None: the embedded default rules); `stages`, a stage list of its own;
    `aws`, the embedded AWS stand-in started too, its connection's approval replaced by
    `aws_approval` (None: the default call rules)."""
    ring = Ring(name, aws=aws)
    if stages is not None:
        ring.stages = ring.var / "ring.conf"
        ring.stages.write_text(stages)
    _active_rings.append(ring)
    try:
        ring.up()
        changes = {}
        if approval is not None:
            changes["clinic"] = approval
        if aws and aws_approval is not None:
            changes["aws"] = aws_approval
        if changes:
            first = next(iter(changes))
            ring.set_approval(changes.pop(first), first, **changes)
    except RingError as e:
        _stop(ring, keep=True)
        pytest.fail(f"could not start the ring ({ring.var}):\n{e}", pytrace=False)
    try:
        ring.token()    # the default identity's token: the suite signs in only with tokens
    except RingError as e:
        _stop(ring, keep=True)
        pytest.fail(f"could not mint a token for the ring ({ring.var}):\n{e}", pytrace=False)
    return ring


def _stop(ring: Ring, keep: bool) -> None:
    ring.down()
    if ring in _active_rings:
        _active_rings.remove(ring)
    if ring.down_leftovers:
        sys.stderr.write(f"\n[hoop tests] after `scripts/hoop down` these were still running "
                         f"and were killed: {ring.down_leftovers}\n")
    # Each ring holds a PostgreSQL cluster and an audit store (100+ MB after the
    # streaming tests): kept only on request. Failures already carry the log tails.
    if os.environ.get("HOOP_TEST_KEEP"):
        sys.stderr.write(f"\n[hoop tests] ring state kept in {ring.var}"
                         f"{' (a test failed)' if keep else ''}\n")
    else:
        ring.remove()


@pytest.fixture(scope="session")
def ring(request):
    r = _start("main")
    failed_before = request.session.testsfailed
    yield r
    _stop(r, keep=request.session.testsfailed > failed_before)


def ring_fixture(name: str, **start):
    """A module fixture: a ring of the module's own (`start`: _start's options), kept on failure."""
    @pytest.fixture(scope="module")
    def fixture(request):
        r = _start(name, **start)
        failed_before = request.session.testsfailed
        yield r
        _stop(r, keep=request.session.testsfailed > failed_before)
    return fixture


def default_rules_ring(name: str):
    """A module fixture: a ring with the embedded default approval rules (no "rules" key)."""
    return ring_fixture(name, approval=None)


@pytest.fixture(scope="module")
def module_ring(request):
    """A ring of the test module's own, for tests that break it on purpose."""
    r = _start(request.module.__name__.rsplit(".", 1)[-1].replace("test_ring_", ""))
    failed_before = request.session.testsfailed
    yield r
    _stop(r, keep=request.session.testsfailed > failed_before)


@pytest.fixture
def ring_factory(request):
    made: list[Ring] = []

    def make(name: str = "own", approval: dict | None = OPEN_APPROVAL) -> Ring:
        r = _start(name, approval)
        made.append(r)
        return r

    yield make
    for r in made:
        _stop(r, keep=request.node.rep_call.failed if hasattr(request.node, "rep_call") else False)


@pytest.fixture
def gw(ring):
    conn = ring.connect("gateway")
    yield conn
    conn.close()


@pytest.fixture
def direct(ring):
    conn = ring.connect("direct")
    yield conn
    conn.close()


@pytest.fixture
def admin(ring):
    conn = ring.admin()
    yield conn
    conn.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
    if rep.failed and _active_rings:
        for r in list(_active_rings):
            rep.sections.append((f"hoop stage logs ({r.name}, {r.var})", r.log_tail()))
