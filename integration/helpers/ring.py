"""A hoop ring under test: start/stop through scripts/hoop, connection strings for the
gateway and for PostgreSQL directly, stage pids and memory, the audit store, logs."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOOP = REPO / "scripts" / "hoop"
RING_CONF = REPO / "etc" / "ring.conf"
PSQL = shutil.which("psql") or "/usr/bin/psql"
PGBENCH = "/usr/lib/postgresql/15/bin/pgbench"


class RingError(Exception):
    pass


# The approval rules of the rings that test the protocol, masking and the audit trail
# (every suite but test_ring_approve.py): everything the parser can read is allowed,
# hidden work included, and text it cannot read is denied with the parser's error, so
# that those suites see the server's answers. test_ring_approve.py runs the embedded
# default rules, unchanged.
OPEN_APPROVAL = {
    "rules": [
        {"name": "test-suite-hidden", "action": "allow", "match": {"hidden": True}},
        {"name": "test-suite-rest", "action": "allow"},
    ],
    "unparsed": "deny",
}

# The AWS connection's counterpart: every call of an allowed identity runs, whatever its
# access level (a rule that names actions also lets calls of unknown level through), so
# that the door, masking and audit suites see the stand-in's answers;
# test_aws_policy.py runs the default call rules.
OPEN_CALLS = {
    "rules": [{"name": "test-suite-calls", "action": "allow", "match": {"actions": "*"}}],
    "approvers": {"groups": ["approvers"]},
}


# The identity the suite connects as (through the gateway) unless a test says otherwise,
# and the group that the embedded default configuration's clinic connection allows.
DEFAULT_USER = "agent@example.org"
DEFAULT_GROUP = "clinicians"
TOKEN_TTL = 3600


def looks_like_jws(s: str) -> bool:
    parts = s.split(".")
    return len(parts) == 3 and all(parts) and all(re.fullmatch(r"[A-Za-z0-9_-]+", p) for p in parts)


def hoop_bin() -> Path:
    if os.environ.get("HOOP_BIN"):
        return Path(os.environ["HOOP_BIN"])
    release = REPO / ".build" / "release"
    if (release / "hoop-listen").exists():
        return release
    return REPO / ".build" / "debug"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def stage_names(stage_list: Path | None = None) -> list[str]:
    """The stages of a stage list (default etc/ring.conf), in order."""
    names = []
    for line in (stage_list or RING_CONF).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.append(line.split()[0])
    return names


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def clean_env() -> dict[str, str]:
    """The environment minus anything that would steer libpq clients elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and not k.startswith("HOOP_")}
    env["PGCONNECT_TIMEOUT"] = "15"
    return env


def conninfo(**kw) -> str:
    def q(v):
        v = str(v)
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return " ".join(f"{k}={q(v)}" for k, v in kw.items() if v is not None)


class Ring:
    """One gateway: its own HOOP_VAR, ports, PostgreSQL cluster and stages."""

    def __init__(self, name: str = "ring", aws: bool = False):
        # Short path: the PostgreSQL unix socket lives below it (107-byte sun_path).
        self.var = Path(tempfile.mkdtemp(prefix=f"hoop-{name}-", dir="/tmp"))
        os.chmod(self.var, 0o755)   # the cluster runs as `postgres` when we are root
        self.name = name
        self.listen_port = free_port()
        self.pg_port = free_port()
        while self.pg_port == self.listen_port:
            self.pg_port = free_port()
        self.issuer_port = free_port()
        while self.issuer_port in (self.listen_port, self.pg_port):
            self.issuer_port = free_port()
        taken = {self.listen_port, self.pg_port, self.issuer_port}
        self.aws_port = free_port()
        while self.aws_port in taken:
            self.aws_port = free_port()
        taken.add(self.aws_port)
        self.moto_port = free_port()
        while self.moto_port in taken:
            self.moto_port = free_port()
        # The AWS stand-in (moto) starts only for the rings that use it: it takes seconds.
        self.aws = aws
        self.bin = hoop_bin()
        self.run = self.var / "run"
        self.started = False
        self.accepting_when_up_returned: bool | None = None
        self.up_output = ""
        self.down_output = ""
        self.down_leftovers: list[str] = []
        self.gateway_user = DEFAULT_USER
        self.stages: Path | None = None      # a stage list of the test's own (HOOP_STAGES)
        self._tokens: dict[tuple, str] = {}
        self._token_lock = threading.Lock()

    # --- lifecycle ------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        env = clean_env()
        env.update(HOOP_VAR=str(self.var), HOOP_LISTEN_PORT=str(self.listen_port),
                   HOOP_PG_PORT=str(self.pg_port), HOOP_ISSUER_PORT=str(self.issuer_port),
                   HOOP_SKIP_SETUP="1", HOOP_BIN=str(self.bin), HOOP_AWS_PORT=str(self.aws_port),
                   HOOP_MOTO_PORT=str(self.moto_port), HOOP_AWS_STANDIN="1" if self.aws else "0")
        if self.stages:
            env["HOOP_STAGES"] = str(self.stages)
        return env

    def hoop(self, *args: str, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """scripts/hoop with the ring's environment (plus `env`, e.g. HOOP_TOKEN)."""
        full = self.env()
        full.update(env or {})
        return subprocess.run([str(HOOP), *args], env=full, cwd=REPO, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def up(self, timeout: float = 300) -> None:
        if not HOOP.exists():
            raise RingError(f"{HOOP} does not exist (the supervisor has not landed)")
        if not (self.bin / "hoop-listen").exists():
            raise RingError(f"no hoop-listen in {self.bin} (build first, or set HOOP_BIN)")
        try:
            r = self.hoop("up", "-d", timeout=timeout)
        except subprocess.TimeoutExpired as e:
            self.started = True
            raise RingError(f"`scripts/hoop up -d` did not return within {timeout}s\n{e.stdout}\n{e.stderr}\n"
                            + self.log_tail())
        self.started = True
        self.up_output = r.stdout + r.stderr
        self.accepting_when_up_returned = port_open(self.listen_port)
        if r.returncode != 0:
            raise RingError(f"`scripts/hoop up -d` exited {r.returncode}:\n{self.up_output}\n{self.log_tail()}")
        self.wait_port(60)

    def config(self) -> dict:
        return json.loads((self.var / "hoop.json").read_text())

    def reconfigure(self, change) -> None:
        """Applies change(config) to the gateway's configuration and restarts the ring."""
        cfg = self.config()
        change(cfg)
        path = self.var / "hoop.json"
        path.write_text(json.dumps(cfg, indent=2) + "\n")
        self.restart()

    def restart(self) -> None:
        """`scripts/hoop restart`, until every stage is a new process and the port answers."""
        before = self.stage_pids()
        r = self.hoop("restart", timeout=120)
        if r.returncode != 0:
            raise RingError(f"`scripts/hoop restart` exited {r.returncode}:\n{r.stdout}{r.stderr}\n{self.log_tail()}")
        self.wait_stages_alive(60, not_pids=before)
        self.wait_port(60)

    def set_approval(self, approval: dict, connection: str = "clinic", **others: dict) -> None:
        """Replaces a connection's approval section (`others`: more connections' by name), one restart."""
        def change(cfg):
            cfg["connections"][connection]["approval"] = approval
            for name, a in others.items():
                cfg["connections"][name]["approval"] = a
        self.reconfigure(change)

    def down(self) -> None:
        if not self.started:
            return
        before = self.all_pids()
        try:
            r = self.hoop("down", timeout=120)
            self.down_output = r.stdout + r.stderr
        except subprocess.TimeoutExpired:
            self.down_output = "`scripts/hoop down` timed out"
        # Whatever the supervisor started and left behind is ours to end (by pid).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(pid_alive(p) for p in before.values()):
            time.sleep(0.1)
        for name, pid in before.items():
            if pid_alive(pid):
                self.down_leftovers.append(f"{name} (pid {pid})")
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        pg_status = subprocess.run([str(REPO / "scripts" / "demo-db"), "status"], env=self.env(),
                                   capture_output=True, text=True, timeout=60)
        if pg_status.returncode == 0:
            self.down_leftovers.append("postgres (still running after down)")
            subprocess.run([str(REPO / "scripts" / "demo-db"), "stop"], env=self.env(),
                           capture_output=True, text=True, timeout=60)
        self.started = False

    def remove(self) -> None:
        shutil.rmtree(self.var, ignore_errors=True)

    def wait_port(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if port_open(self.listen_port):
                return
            time.sleep(0.1)
        raise RingError(f"the gateway does not accept connections on {self.listen_port} after {timeout}s\n"
                        + self.log_tail())

    # --- processes ------------------------------------------------------------------
    def all_pids(self) -> dict[str, int]:
        out = {}
        for f in sorted(self.run.glob("*.pid")):
            try:
                out[f.stem] = int(f.read_text().split()[0])
            except (ValueError, IndexError, OSError):
                pass
        return out

    def stage_pids(self) -> dict[str, int]:
        pids = self.all_pids()
        names = stage_names(self.stages)
        missing = [s for s in names if s not in pids]
        if missing:
            raise RingError(f"no pid file for stage(s) {missing} in {self.run} (have {sorted(pids)})")
        return {s: pids[s] for s in names}

    def wait_stages_alive(self, timeout: float, not_pids: dict[str, int] | None = None) -> dict[str, int]:
        """Waits until every stage has a live pid (different from not_pids' where given)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                pids = self.stage_pids()
                if all(pid_alive(p) for p in pids.values()) and \
                        (not not_pids or all(pids[s] != not_pids.get(s) for s in not_pids)):
                    return pids
                last = pids
            except RingError as e:
                last = str(e)
            time.sleep(0.1)
        raise RingError(f"stages not all alive after {timeout}s: {last}\n{self.log_tail()}")

    # --- identities -----------------------------------------------------------------
    def mint(self, user: str, *groups: str, agent: bool = False, ttl: int = TOKEN_TTL,
             alg: str | None = None) -> str:
        """A fresh token from the ring's development issuer (`scripts/hoop token`),
        never cached. Raises RingError when minting fails."""
        args = ["token", user, *groups]
        if agent:
            args.append("--agent")
        args += ["--ttl", str(ttl)]
        if alg:
            args += ["--alg", alg]
        r = self.hoop(*args, timeout=60)
        out = r.stdout.strip()
        if r.returncode != 0 or not looks_like_jws(out):
            raise RingError(f"`scripts/hoop {' '.join(args)}` exited {r.returncode}, "
                            f"stdout {out[:80]!r}…, stderr: {r.stderr[-500:]}")
        return out

    def token(self, user: str | None = None, *groups: str, agent: bool = False, ttl: int = TOKEN_TTL) -> str:
        """A token for this identity, cached per ring (one `scripts/hoop token` per
        identity): groups default to clinicians."""
        user = user or self.gateway_user
        key = (user, tuple(groups or (DEFAULT_GROUP,)), agent, ttl)
        with self._token_lock:
            if key not in self._tokens:
                self._tokens[key] = self.mint(user, *key[1], agent=agent, ttl=ttl)
            return self._tokens[key]

    def credential(self, user: str | None = None) -> str:
        """What a client gives as its password to sign in as `user`: a token of the
        development issuer (group clinicians)."""
        return self.token(user or self.gateway_user)

    @property
    def gateway_password(self) -> str:
        """The password of the suite's default identity (self.gateway_user)."""
        return self.credential(self.gateway_user)

    # --- connections ----------------------------------------------------------------
    @property
    def pg_password(self) -> str:
        return (self.var / "secrets" / "clinic.password").read_text().strip()

    @property
    def pg_socket_dir(self) -> str:
        return str(self.var / "pg" / "run")

    def gateway_dsn(self, application_name: str | None = None, user: str | None = None,
                    password: str | None = None, sslmode: str | None = "disable", **kw) -> str:
        """Through the gateway as `user` (default self.gateway_user) with its
        credential (a token), unless `password` is given."""
        user = user or self.gateway_user
        return conninfo(host="127.0.0.1", port=self.listen_port, dbname="clinic", user=user,
                        password=password if password is not None else self.credential(user), sslmode=sslmode,
                        gssencmode="disable", application_name=application_name, **kw)

    def direct_dsn(self, application_name: str | None = None, **kw) -> str:
        return conninfo(host="127.0.0.1", port=self.pg_port, dbname="clinic", user="hoop_gateway",
                        password=self.pg_password, sslmode="disable", gssencmode="disable",
                        application_name=application_name, **kw)

    def admin_dsn(self, dbname: str = "clinic") -> str:
        return conninfo(host=self.pg_socket_dir, port=self.pg_port, dbname=dbname, user="hoop_admin")

    def dsn(self, via: str, **kw) -> str:
        return self.gateway_dsn(**kw) if via == "gateway" else self.direct_dsn(**kw)

    def connect(self, via: str = "gateway", autocommit: bool = True, **kw):
        import psycopg
        return psycopg.connect(self.dsn(via, **kw), autocommit=autocommit, connect_timeout=15)

    def admin(self):
        import psycopg
        return psycopg.connect(self.admin_dsn(), autocommit=True, connect_timeout=15)

    def psql(self, via: str, *args: str, input: str | None = None, timeout: float = 120,
             dsn_kw: dict | None = None) -> subprocess.CompletedProcess:
        """psql -X -A -t -v ON_ERROR_STOP=0 through the gateway or directly. The password
        (a token, the database's) goes in the environment: a command line shows in a
        failed test's output."""
        from psycopg.conninfo import conninfo_to_dict, make_conninfo
        params = conninfo_to_dict(self.dsn(via, **(dsn_kw or {})))
        env = clean_env()
        if "password" in params:
            env["PGPASSWORD"] = str(params.pop("password"))
        return subprocess.run([PSQL, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=0", "-d", make_conninfo(**params), *args],
                              input=input, capture_output=True, text=True, timeout=timeout,
                              env=env, stdin=None if input is not None else subprocess.DEVNULL)

    # --- audit store ----------------------------------------------------------------
    @property
    def audit_path(self) -> Path:
        return self.var / "audit.sqlite"

    def audit(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.audit_path), timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def session_ids_for_app(self, application_name: str) -> list[str]:
        """Sessions whose session_open carries this application_name."""
        with self.audit() as db:
            rows = db.execute(
                "SELECT session, CAST(frame AS TEXT) AS f FROM frames WHERE type = 'session_open' ORDER BY id").fetchall()
        out = []
        for r in rows:
            f = json.loads(r["f"])
            app = f.get("application_name") or (f.get("options") or {}).get("application_name")
            if app == application_name and r["session"] not in out:
                out.append(r["session"])
        return out

    def session_frames(self, session: str) -> list[dict]:
        with self.audit() as db:
            rows = db.execute("SELECT id, session, seq, type, CAST(frame AS TEXT) AS f FROM frames "
                              "WHERE session = ? ORDER BY id", (session,)).fetchall()
        out = []
        for r in rows:
            f = json.loads(r["f"])
            f["_id"] = r["id"]
            f["_column_type"] = r["type"]
            f["_column_seq"] = r["seq"]
            out.append(f)
        return out

    # --- logs -----------------------------------------------------------------------
    def log_tail(self, lines: int = 30) -> str:
        """The tail of every stage/supervisor log (not postgres.log). Stage logs carry
        no PHI by design."""
        parts = []
        logdir = self.var / "log"
        for f in sorted(logdir.glob("*.log")) if logdir.exists() else []:
            if f.name == "postgres.log":
                continue
            try:
                text = f.read_text(errors="replace").splitlines()[-lines:]
            except OSError as e:
                text = [f"(unreadable: {e})"]
            parts.append(f"----- {f} (last {lines} lines) -----\n" + "\n".join(text))
        return "\n".join(parts) or f"(no stage logs under {logdir})"


class RssSampler(threading.Thread):
    """Samples VmRSS of the given pids every `interval` seconds; keeps the peak."""

    def __init__(self, pids: dict[str, int], interval: float = 0.1):
        super().__init__(daemon=True)
        self.pids = pids
        self.interval = interval
        self.peak_kb = {n: 0 for n in pids}
        self.first_kb = {n: rss_kb(p) or 0 for n, p in pids.items()}
        self.vanished: set[str] = set()
        self.samples = 0
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            for n, p in self.pids.items():
                v = rss_kb(p)
                if v is None:
                    self.vanished.add(n)
                else:
                    self.peak_kb[n] = max(self.peak_kb[n], v)
            self.samples += 1
            self._halt.wait(self.interval)

    def stop(self):
        self._halt.set()
        self.join(5)


BOTH = ("gateway", "direct")


def run_both(ring, fn, **kw):
    """fn(conn) -> value, once through the gateway and once directly."""
    out = {}
    for via in BOTH:
        with ring.connect(via, **kw) as conn:
            out[via] = fn(conn)
    return out["gateway"], out["direct"]


def md5_lines(lines) -> str:
    h = hashlib.md5()
    for line in lines:
        h.update(line if isinstance(line, bytes) else line.encode())
        h.update(b"\n")
    return h.hexdigest()


def wait_for(fn, timeout: float = 10, interval: float = 0.1):
    """fn() once it is truthy, polling until `timeout` seconds; else its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    return fn()


def pgbench_processed(r: subprocess.CompletedProcess) -> int:
    """The transactions a pgbench run processed; it must have exited 0 with no failed one."""
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    processed = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    assert processed and failed and int(failed.group(1)) == 0, out
    return int(processed.group(1))
