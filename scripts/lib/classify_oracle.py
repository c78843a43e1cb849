"""The classifier's differential oracle (issue 15): what PostgreSQL really did with a
statement, next to what `hoop-approve classify` said about it.

scripts/classify-fuzz drives it; this module holds the pieces:

- Target: the cluster (a ring's, integration/helpers/ring.py) and the gateway configuration
  whose approval rules are judged.
- prepare_template(): a template database, a copy of clinic plus the corpus's scratch
  schema (classify_corpus.SCRATCH_SETUP, made as hoop_gateway) and oracle_meta (made as
  the superuser): event triggers that log every DDL command (ddl_command_end through
  pg_event_trigger_ddl_commands(), sql_drop) into oracle_meta.ddl_log.
- run_batch(): CREATE DATABASE oracle_… TEMPLATE that template (track_functions = all
  for it), each statement run directly as hoop_gateway (the role the gateway runs
  statements as) inside a transaction that is rolled back, or outside one when the
  server refuses it there (VACUUM, REINDEX CONCURRENTLY: 25001), then DROP DATABASE.
  What is recorded per statement (Observed): rows inserted/updated/deleted per table
  (pg_stat_xact_user_tables; outside a transaction pg_stat_user_tables before and
  after a forced flush), DDL (the event trigger log), table and index rewrites
  (relfilenode before and after), user functions that ran (pg_stat_xact_user_functions
  and the corpus functions' own log), relation locks the backend holds after it
  (pg_locks, own pid), rows returned, and PHI rows carried: distinct patients,
  providers and encounters whose identifiers (MRN, SSN, e-mail, insurance id, NPI, an
  encounter's note) appear in what came back or in the row versions it wrote
  (a written row's own identifiers excepted).
- compare(): the disagreements (DISAGREEMENTS) between that and the verdict.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg
from psycopg import pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
import classify_corpus  # noqa: E402
import demo_seed  # noqa: E402

META = "oracle_meta"
SCRATCH = classify_corpus.SCRATCH_SCHEMA
MAX_BOUNDED_LIMIT = 1000          # the approval section's default max_bounded_limit
BULK_ROWS = MAX_BOUNDED_LIMIT     # rows changed in one table that make a write "bulk"
# Lock modes that block writers (conflict with ROW EXCLUSIVE) or everyone.
STRONG_LOCKS = {"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"}

DISAGREEMENTS = {
    "unseen_write": "rows changed, the verdict allows it and no statement is classified write or ddl",
    "bulk_write": f"more than {BULK_ROWS} rows of one table changed and the verdict allows it",
    "bulk_phi": f"more than {MAX_BOUNDED_LIMIT} rows of a PHI table came back or were copied into a write, "
                "and the verdict allows it",
    "unflagged_function": "a user function ran and the classification names no hidden work / user_function",
    "ddl_not_ddl": "the event trigger logged DDL and no statement is classified ddl",
    "lock": "a lock that blocks writers (Share, ShareRowExclusive, Exclusive, AccessExclusive) on an "
            "existing table or index, and the verdict allows it",
    "rewrite": "an existing table or index got a new relfilenode (rewritten) and the verdict allows it",
    "unparsed": "the classifier could not parse a statement PostgreSQL ran",
}

META_SETUP = f"""
CREATE SCHEMA {META};
CREATE TABLE {META}.ddl_log (id bigserial PRIMARY KEY, event text, tag text, object_type text, identity text);
CREATE FUNCTION {META}.log_ddl() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog AS $$
DECLARE r record; n integer := 0;
BEGIN
  FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
    INSERT INTO {META}.ddl_log (event, tag, object_type, identity)
      VALUES (tg_event, r.command_tag, r.object_type, r.object_identity);
    n := n + 1;
  END LOOP;
  IF n = 0 THEN INSERT INTO {META}.ddl_log (event, tag) VALUES (tg_event, tg_tag); END IF;
END $$;
CREATE FUNCTION {META}.log_drop() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog AS $$
DECLARE r record;
BEGIN
  FOR r IN SELECT * FROM pg_event_trigger_dropped_objects() WHERE original LOOP
    INSERT INTO {META}.ddl_log (event, tag, object_type, identity)
      VALUES (tg_event, tg_tag, r.object_type, r.object_identity);
  END LOOP;
END $$;
GRANT USAGE ON SCHEMA {META} TO hoop_gateway;
GRANT SELECT ON {META}.ddl_log TO hoop_gateway;
CREATE EVENT TRIGGER oracle_ddl ON ddl_command_end EXECUTE FUNCTION {META}.log_ddl();
CREATE EVENT TRIGGER oracle_drop ON sql_drop EXECUTE FUNCTION {META}.log_drop();
"""


# --- where it runs ----------------------------------------------------------------------

class Target:
    """A PostgreSQL cluster with clinic (superuser hoop_admin on a unix socket,
    hoop_gateway over TCP) and a gateway configuration (hoop.json)."""

    def __init__(self, var: Path, pg_port: int, gateway_password: str, config: Path, bin_dir: Path):
        self.var, self.pg_port, self.password, self.config, self.bin = var, pg_port, gateway_password, config, bin_dir

    @classmethod
    def from_var(cls, var: Path, bin_dir: Path) -> "Target":
        port = int((var / "pg" / "port").read_text().strip())
        pw = (var / "secrets" / "clinic.password").read_text().strip()
        return cls(var, port, pw, var / "hoop.json", bin_dir)

    def admin(self, db: str = "postgres"):
        return psycopg.connect(host=str(self.var / "pg" / "run"), port=self.pg_port, dbname=db, user="hoop_admin",
                               autocommit=True, connect_timeout=15)

    def gateway(self, db: str):
        return psycopg.connect(host="127.0.0.1", port=self.pg_port, dbname=db, user="hoop_gateway",
                               password=self.password, sslmode="disable", gssencmode="disable",
                               autocommit=True, connect_timeout=15)


# --- the classifier -----------------------------------------------------------------------

def classify(target: Target, texts: list[str], timeout: float = 900, catalog_db: str | None = None) -> list[dict]:
    """`hoop-approve classify --stdin` over every text: one verdict per text. With
    `catalog_db`, the catalog role reads that database's catalog (the template, with the
    scratch schema) instead of clinic's: the facts of the database the cases run on."""
    exe = target.bin / "hoop-approve"
    config = target.config
    if catalog_db:
        cfg = json.loads(target.config.read_text())
        cat = cfg["connections"]["clinic"]["catalog"]
        cat["conninfo"] = re.sub(r"dbname=\S+", f"dbname={catalog_db}", cat["conninfo"])
        # Next to the gateway's configuration: its relative secret paths resolve there.
        config = target.config.with_name(f"oracle-{catalog_db}.json")
        config.write_text(json.dumps(cfg))
    args = [str(exe), "classify", "--stdin", "--config", str(config), "--connection", "clinic"]
    p = subprocess.run(args, input="".join(json.dumps(t) + "\n" for t in texts), capture_output=True,
                       text=True, timeout=timeout)
    lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
    if p.returncode == 0 and len(lines) == len(texts):
        return [json.loads(ln) for ln in lines]
    # One at a time, so that one text that upsets it does not hide the others' verdicts.
    out = []
    for t in texts:
        q = subprocess.run(args, input=json.dumps(t) + "\n", capture_output=True, text=True, timeout=120)
        ln = [x for x in q.stdout.splitlines() if x.strip()]
        out.append(json.loads(ln[0]) if q.returncode == 0 and ln else
                   {"verdict": "error", "rules": [], "statements": [],
                    "classifier_error": f"exit {q.returncode}: {q.stderr.strip()[-300:]}"})
    return out


DEFAULT_RULE_PROBES = {
    "review-ddl": "create table oracle_probe (a int)",
    "review-unbounded-write": "delete from encounters",
    "review-export": "copy providers to stdout",
    "review-phi-bulk-read": "select ssn from patients",
    "review-hidden": "do $$ begin end $$",
    "allow-rest": "select * from patients where id = 1",
}


def check_default_rules(target: Target) -> dict[str, list[str]]:
    """The rules that judge each probe: the configuration must carry the embedded
    default rules (a ring started without an `approval.rules` section)."""
    got = classify(target, list(DEFAULT_RULE_PROBES.values()))
    return {rule: g.get("rules", []) for rule, g in zip(DEFAULT_RULE_PROBES, got)}


# --- PHI in what comes back -----------------------------------------------------------------

class Entities:
    """Rows of the PHI tables, recognised by identifiers they alone carry."""

    RX = {
        "mrn": re.compile(r"MRN-\d{8}", re.I),
        "ssn": re.compile(r"(?<!\d)9\d\d-\d\d-\d{4}(?!\d)"),
        "email": re.compile(r"[a-z]+\.[a-z]+\d{1,2}@example\.(?:org|com|net)", re.I),
        "ins": re.compile(r"(?:AET|BCB|CIG|UHC|HUM|KPR|MCR|MCD)\d{9}(?!\d)", re.I),
        "npi": re.compile(r"(?<!\d)[12]\d{9}(?!\d)"),
        "enc": re.compile(r"\(DOB (\d{4}-\d\d-\d\d), (MRN-\d{8})\) was seen in ([A-Za-z ]+?) on (\d{4}-\d\d-\d\d) for", re.I),
    }

    def __init__(self):
        providers, patients, encounters = demo_seed.generate()
        self.patient = {}
        for p in patients:
            pid = p[0]
            self.patient[p[1].upper()] = pid
            self.patient[p[5]] = pid
            self.patient[p[7].lower()] = pid
            self.patient[p[12].upper()] = pid
        self.provider = {pr[2]: pr[0] for pr in providers}
        self.encounter = {}
        self.encounter_own = {}
        for e in encounters:
            m = self.RX["enc"].search(e[6])
            key = (m.group(2).upper(), m.group(4), m.group(3)) if m else ("", "", str(e[0]))
            self.encounter.setdefault(key, e[0])
            self.encounter_own[e[0]] = (key, e[1])

    def scan(self, text: str) -> dict[str, set]:
        """{'patients': {ids}, 'providers': {ids}, 'encounters': {keys}} found in text."""
        out = {"patients": set(), "providers": set(), "encounters": set()}
        if not text:
            return out
        # (pattern, how the index spells it, table, index)
        for k, norm, table, index in (("mrn", str.upper, "patients", self.patient), ("ins", str.upper, "patients", self.patient),
                                      ("ssn", str, "patients", self.patient), ("email", str.lower, "patients", self.patient),
                                      ("npi", str, "providers", self.provider)):
            for m in self.RX[k].finditer(text):
                v = index.get(norm(m.group(0)))
                if v:
                    out[table].add(v)
        for m in self.RX["enc"].finditer(text):
            key = (m.group(2).upper(), m.group(4), m.group(3))
            if key in self.encounter:
                out["encounters"].add(key)
        return out

    def own(self, table: str, row_id) -> dict[str, set]:
        """The identifiers a row of a PHI table carries as itself (not copied into it)."""
        out = {"patients": set(), "providers": set(), "encounters": set()}
        try:
            i = int(row_id)
        except (TypeError, ValueError):
            return out
        if table == "public.patients":
            out["patients"].add(i)
        elif table == "public.providers":
            out["providers"].add(i)
        elif table == "public.encounters" and i in self.encounter_own:
            key, pid = self.encounter_own[i]
            out["encounters"].add(key)
            out["patients"].add(pid)
        return out


# --- the template and the batches -------------------------------------------------------------

@dataclass
class Template:
    name: str
    relations: dict[int, str]          # oid -> schema.name of tables, indexes, matviews that existed
    phi_oids: dict[int, str]           # oid -> public.patients etc.


def _retry(fn, what: str, tries: int = 20):
    for i in range(tries):
        try:
            return fn()
        except psycopg.errors.ObjectInUse:
            if i == tries - 1:
                raise
            time.sleep(0.5)
    raise RuntimeError(what)


def prepare_template(target: Target, name: str) -> Template:
    with target.admin() as a:
        a.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        def copy():
            # The ring's catalog role keeps a connection to clinic (hoop-approve's facts):
            # ended just before the copy, it comes back at its next look.
            a.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = 'clinic' AND application_name = 'hoop catalog'")
            a.execute(f'CREATE DATABASE "{name}" TEMPLATE clinic OWNER hoop_gateway')
        _retry(copy, "clinic is in use")
    with target.gateway(name) as g:
        g.execute(classify_corpus.SCRATCH_SETUP)
    with target.admin(name) as a:
        a.execute(META_SETUP)
        rows = a.execute("""SELECT c.oid, n.nspname || '.' || c.relname, c.relkind FROM pg_class c
                            JOIN pg_namespace n ON n.oid = c.relnamespace
                            WHERE n.nspname IN ('public', %s) AND c.relkind IN ('r', 'i', 'm')""",
                         (SCRATCH,)).fetchall()
    relations = {oid: nm for oid, nm, _k in rows}
    phi = {oid: nm for oid, nm, k in rows if k == "r" and nm in ("public." + t for t in classify_corpus.PHI_TABLES)}
    return Template(name, relations, phi)


def drop_database(target: Target, name: str) -> None:
    with target.admin() as a:
        a.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Observed:
    error: str | None = None            # SQLSTATE: message (first line)
    in_transaction: bool = True
    changed: dict[str, list[int]] = field(default_factory=dict)     # table -> [ins, upd, del]
    functions: dict[str, int] = field(default_factory=dict)         # function -> calls
    fn_log: list[str] = field(default_factory=list)
    ddl: list[str] = field(default_factory=list)                    # "TAG object_type identity"
    rewrites: list[str] = field(default_factory=list)
    locks: dict[str, list[str]] = field(default_factory=dict)       # existing relation -> strong modes
    rows_returned: int = 0
    phi_returned: dict[str, int] = field(default_factory=dict)
    phi_written: dict[str, int] = field(default_factory=dict)
    phi_read: dict[str, int] = field(default_factory=dict)          # tuples read from PHI tables
    seconds: float = 0.0

    def phi_rows(self) -> int:
        return max([0, *self.phi_returned.values(), *self.phi_written.values()])

    def rows_changed(self) -> int:
        return sum(sum(v) for v in self.changed.values())

    def effect(self) -> bool:
        """Did the statement do something the oracle can see?"""
        return bool(self.changed or self.functions or self.fn_log or self.ddl or self.rewrites or self.locks
                    or self.phi_rows() or self.phi_read)

    def summary(self) -> str:
        parts = []
        if self.error:
            parts.append(f"error {self.error[:80]}")
        if self.changed:
            parts.append("changed " + ", ".join(f"{t.split('.')[-1]} +{v[0]}/~{v[1]}/-{v[2]}" for t, v in self.changed.items()))
        if self.ddl:
            parts.append("ddl " + "; ".join(sorted(set(self.ddl)))[:120])
        if self.rewrites:
            parts.append("rewrote " + ", ".join(self.rewrites[:4]))
        if self.locks:
            parts.append("locks " + ", ".join(f"{r.split('.')[-1]}:{'/'.join(m)}" for r, m in list(self.locks.items())[:4]))
        fns = sorted(set(self.functions) | {f"{SCRATCH}.{f} (log)" for f in self.fn_log})
        if fns:
            parts.append("functions " + ", ".join(fns[:4]))
        if self.phi_returned and any(self.phi_returned.values()):
            parts.append("PHI rows returned " + ", ".join(f"{t} {n}" for t, n in self.phi_returned.items() if n))
        if self.phi_written and any(self.phi_written.values()):
            parts.append("PHI rows copied into writes " + ", ".join(f"{t} {n}" for t, n in self.phi_written.items() if n))
        if not parts:
            parts.append(f"no effect ({self.rows_returned} rows returned)")
        return "; ".join(parts)


_COPY_FROM = re.compile(r"^\s*copy\b.*\bfrom\s+stdin\b", re.I | re.S)
_COPY_TO = re.compile(r"^\s*copy\b.*\bto\s+stdout\b", re.I | re.S)


def _execute(cur, case) -> list[str]:
    """Runs the statement; returns the text of every row (tab-joined fields) or COPY line."""
    out: list[str] = []
    if _COPY_FROM.match(case.sql):
        with cur.copy(case.sql) as cp:
            cp.write(case.copy_data or "")
        return out
    if _COPY_TO.match(case.sql):
        data = bytearray()
        with cur.copy(case.sql) as cp:
            for chunk in cp:
                data += chunk
        return data.decode("utf-8", errors="replace").splitlines()
    cur.execute(case.sql, prepare=False)
    while True:
        res = cur.pgresult
        if res is not None and res.status == pq.ExecStatus.TUPLES_OK:
            for r in range(res.ntuples):
                vals = []
                for c in range(res.nfields):
                    v = res.get_value(r, c)
                    vals.append("" if v is None else v.decode("utf-8", errors="replace"))
                out.append("\t".join(vals))
        if not cur.nextset():
            break
    return out


def _relfilenodes(cur, oids: list[int]) -> dict[int, int]:
    return dict(cur.execute("SELECT oid::bigint, relfilenode::bigint FROM pg_class WHERE oid = ANY(%s::oid[])",
                            (oids,)).fetchall())


def _max_id(cur, table: str) -> int:
    return cur.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]


class Runner:
    """One batch database and one hoop_gateway connection to it."""

    XACT_TABLES = ("SELECT relid::bigint, relid::regclass::text, schemaname, relname, n_tup_ins, n_tup_upd, n_tup_del, "
                   "coalesce(seq_tup_read, 0), coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables")
    XACT_FUNCTIONS = ("SELECT funcid::bigint, schemaname || '.' || funcname, calls FROM pg_stat_xact_user_functions")

    def __init__(self, target: Target, tpl: Template, db: str, entities: Entities):
        self.target, self.tpl, self.db, self.ent = target, tpl, db, entities
        self.oids = sorted(tpl.relations)
        self.conn = None

    def connect(self):
        if self.conn is not None and not self.conn.closed:
            return self.conn
        self.conn = self.target.gateway(self.db)
        self.conn.add_notice_handler(lambda d: None)
        self.conn.execute("SET statement_timeout = '90s'")
        self.conn.execute("SET lock_timeout = '30s'")
        self.conn.execute("SET stats_fetch_consistency = none")
        return self.conn

    def close(self):
        if self.conn is not None:
            self.conn.close()

    # -- measuring -------------------------------------------------------------------------
    def _rewrites(self, cur, before: dict[int, int]) -> list[str]:
        """Existing relations with a new relfilenode, or gone (REINDEX CONCURRENTLY
        builds a new index and drops the old one: "replaced")."""
        after = _relfilenodes(cur, self.oids)
        out = []
        for oid, fn in before.items():
            if oid not in after:
                name = self.tpl.relations[oid]
                again = cur.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]
                out.append(name + (" (replaced)" if again else " (dropped)"))
            elif after[oid] != fn:
                out.append(self.tpl.relations[oid])
        return out

    def _ddl_and_fn(self, cur, ddl0: int, fn0: int, obs: Observed):
        for tag, ot, ident in cur.execute(f"SELECT tag, object_type, identity FROM {META}.ddl_log WHERE id > %s ORDER BY id",
                                          (ddl0,)).fetchall():
            obs.ddl.append(" ".join(x for x in (tag, ot, ident) if x))
        try:
            with cur.connection.transaction():
                obs.fn_log = [r[0] for r in cur.execute(f"SELECT fn FROM {SCRATCH}.fn_log WHERE id > %s ORDER BY id",
                                                        (fn0,)).fetchall()]
        except psycopg.Error:
            obs.fn_log = ["(fn_log unreadable)"]

    def _phi_in(self, texts: list[str]) -> dict[str, int]:
        found = self.ent.scan("\n".join(texts))
        return {t: len(v) for t, v in found.items()}

    def _written(self, cur, tables: list[tuple[str, str]], xid0: int) -> dict[str, int]:
        """PHI rows carried by the row versions this transaction wrote (tables: (the
        relation as SQL names it, schema.name)), each row's own identifiers excepted."""
        found = {"patients": set(), "providers": set(), "encounters": set()}
        for relid, name in tables:
            try:
                with cur.connection.transaction():
                    rows = cur.execute(f"SELECT to_jsonb(t)->>'id', t::text FROM {relid} t "
                                       f"WHERE t.xmin::text::bigint >= %s LIMIT 100000", (xid0,)).fetchall()
            except psycopg.Error:
                continue
            for rid, text in rows:
                got = self.ent.scan(text)
                own = self.ent.own(name, rid)
                for k in found:
                    found[k] |= got[k] - own[k]
        return {t: len(v) for t, v in found.items()}

    # -- one statement --------------------------------------------------------------------------
    def run(self, case) -> Observed:
        t0 = time.monotonic()
        obs = self._run_in_transaction(case)
        if obs.error and obs.error.startswith("25001"):
            obs = self._run_outside(case)
        obs.seconds = round(time.monotonic() - t0, 3)
        return obs

    def _run_in_transaction(self, case) -> Observed:
        conn = self.connect()
        obs = Observed(in_transaction=True)
        conn.autocommit = False
        cur = conn.cursor()
        try:
            xid0 = cur.execute("SELECT txid_current()").fetchone()[0]
            # pg_stat_xact_* also count what earlier transactions left unflushed: the
            # statement's share is the difference.
            tabs0 = {r[0]: r[1:] for r in cur.execute(self.XACT_TABLES).fetchall()}
            fns0 = {r[0]: r[2] for r in cur.execute(self.XACT_FUNCTIONS).fetchall()}
            rfn0 = _relfilenodes(cur, self.oids)
            ddl0, fn0 = _max_id(cur, f"{META}.ddl_log"), _max_id(cur, f"{SCRATCH}.fn_log")
            try:
                texts = _execute(cur, case)
            except psycopg.Error as e:
                obs.error = f"{e.sqlstate or '?'}: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
                return obs
            obs.rows_returned = len(texts)
            obs.phi_returned = self._phi_in(texts)
            written = []
            for relid, regclass, schema, rel, *counts in cur.execute(self.XACT_TABLES).fetchall():
                ins, upd, dele, seq, idx = [a - b for a, b in zip(counts, tabs0.get(relid, (None, None, None, 0, 0, 0, 0, 0))[3:])]
                name = f"{schema}.{rel}"
                if schema == META:
                    continue
                if ins or upd or dele:
                    obs.changed[name] = [ins, upd, dele]
                    if ins or upd:
                        written.append((regclass, name))
                if relid in self.tpl.phi_oids and (seq or idx):
                    obs.phi_read[rel] = seq + idx
            for fid, name, calls in cur.execute(self.XACT_FUNCTIONS).fetchall():
                calls -= fns0.get(fid, 0)
                if not name.startswith(META + ".") and calls:
                    obs.functions[name] = calls
            for rel, mode in cur.execute(
                    "SELECT relation::bigint, mode FROM pg_locks WHERE pid = pg_backend_pid() "
                    "AND locktype = 'relation' AND granted").fetchall():
                if rel in self.tpl.relations and mode in STRONG_LOCKS:
                    obs.locks.setdefault(self.tpl.relations[rel], [])
                    if mode not in obs.locks[self.tpl.relations[rel]]:
                        obs.locks[self.tpl.relations[rel]].append(mode)
            obs.rewrites = self._rewrites(cur, rfn0)
            self._ddl_and_fn(cur, ddl0, fn0, obs)
            obs.phi_written = self._written(cur, written, xid0)
            return obs
        except psycopg.Error as e:      # the harness's own queries failed: report it as an error
            obs.error = f"harness {e.sqlstate or '?'}: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
            return obs
        finally:
            try:
                conn.rollback()
            except psycopg.Error:
                self.conn.close()
                self.conn = None
            else:
                conn.autocommit = True

    def _stats(self, cur) -> tuple[dict, dict]:
        cur.execute("SELECT pg_stat_force_next_flush()")
        tabs = {f"{s}.{r}": [i, u, d] for s, r, i, u, d in cur.execute(
            "SELECT schemaname, relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables").fetchall()}
        fns = {f"{s}.{f}": c for s, f, c in cur.execute(
            "SELECT schemaname, funcname, calls FROM pg_stat_user_functions").fetchall()}
        return tabs, fns

    def _run_outside(self, case) -> Observed:
        """Statements the server refuses inside a transaction block: autocommit, and
        the cumulative statistics before and after (flushed on purpose)."""
        conn = self.connect()
        conn.autocommit = True
        obs = Observed(in_transaction=False)
        cur = conn.cursor()
        try:
            rfn0 = _relfilenodes(cur, self.oids)
            ddl0, fn0 = _max_id(cur, f"{META}.ddl_log"), _max_id(cur, f"{SCRATCH}.fn_log")
            tabs0, fns0 = self._stats(cur)
            try:
                texts = _execute(cur, case)
            except psycopg.Error as e:
                obs.error = f"{e.sqlstate or '?'}: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
                return obs
            obs.rows_returned = len(texts)
            obs.phi_returned = self._phi_in(texts)
            tabs1, fns1 = self._stats(cur)
            for name, v in tabs1.items():
                if name.startswith(META + "."):
                    continue
                d = [a - b for a, b in zip(v, tabs0.get(name, [0, 0, 0]))]
                if any(d):
                    obs.changed[name] = d
            for name, c in fns1.items():
                if not name.startswith(META + ".") and c - fns0.get(name, 0):
                    obs.functions[name] = c - fns0.get(name, 0)
            obs.rewrites = self._rewrites(cur, rfn0)
            self._ddl_and_fn(cur, ddl0, fn0, obs)
            return obs
        except psycopg.Error as e:
            obs.error = f"harness {e.sqlstate or '?'}: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
            return obs


def run_batch(target: Target, tpl: Template, db: str, cases: list, entities: Entities, keep: bool = False) -> list[Observed]:
    with target.admin() as a:
        a.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        _retry(lambda: a.execute(f'CREATE DATABASE "{db}" TEMPLATE "{tpl.name}" OWNER hoop_gateway'),
               "the template is in use")
        a.execute(f'ALTER DATABASE "{db}" SET track_functions = \'all\'')
    runner = Runner(target, tpl, db, entities)
    out = []
    try:
        for c in cases:
            try:
                out.append(runner.run(c))
            except psycopg.OperationalError as e:       # the connection broke: note it, go on with a new one
                out.append(Observed(error=f"harness connection: {str(e).splitlines()[0] if str(e) else e}"))
                runner.close()
                runner.conn = None
    finally:
        runner.close()
        if not keep:
            drop_database(target, db)
    return out


# --- the comparison --------------------------------------------------------------------------

def compare(case, verdict: dict, obs: Observed) -> list[str]:
    """The disagreements (keys of DISAGREEMENTS) between the verdict and what happened."""
    if obs.error:
        return []
    stmts = verdict.get("statements") or []
    v = verdict.get("verdict")
    allowed = v == "allow"
    kinds = {s.get("kind") for s in stmts}
    flagged_hidden = any(s.get("hidden") for s in stmts) or any("user_function" in (s.get("flags") or []) for s in stmts)
    out = []
    if verdict.get("parse_error"):
        out.append("unparsed")
    if obs.rows_changed() and allowed and not kinds & {"write", "ddl"}:
        out.append("unseen_write")
    if allowed and any(sum(x) > BULK_ROWS for x in obs.changed.values()):
        out.append("bulk_write")
    if allowed and obs.phi_rows() > MAX_BOUNDED_LIMIT:
        out.append("bulk_phi")
    if (obs.functions or obs.fn_log) and not flagged_hidden:
        out.append("unflagged_function")
    # DDL run by the database's own code is what "hidden" says: its effect cannot be
    # seen from the statement (and the statement is held for it).
    if obs.ddl and "ddl" not in kinds and not (flagged_hidden and not allowed):
        out.append("ddl_not_ddl")
    if allowed and obs.locks:
        out.append("lock")
    if allowed and obs.rewrites:
        out.append("rewrite")
    return out


def verdict_summary(verdict: dict) -> str:
    stmts = verdict.get("statements") or []
    parts = [f"verdict {verdict.get('verdict')}", "rules " + ",".join(verdict.get("rules") or [])]
    for s in stmts:
        bits = [f"{s.get('kind')}/{s.get('command')}"]
        if s.get("tables_read"):
            bits.append("reads " + ",".join(s["tables_read"]))
        if s.get("tables_written"):
            bits.append("writes " + ",".join(s["tables_written"]))
        bits.append("bounded" if s.get("reads_bounded") else "unbounded read")
        if s.get("unbounded_write"):
            bits.append("unbounded write")
        if s.get("hidden"):
            bits.append("hidden")
        if s.get("flags"):
            bits.append("flags " + ",".join(s["flags"]))
        parts.append(" ".join(bits))
    if verdict.get("parse_error"):
        parts.append("parse error: " + str(verdict["parse_error"])[:80])
    return "; ".join(parts)


def observed_dict(obs: Observed) -> dict:
    return asdict(obs)
