#!/usr/bin/env python3
"""A seeded corpus of SQL statements for the classifier's differential oracle (issue 15).

  classify_corpus.py [--seed N] [--count N] [--family F ...] [--json]   print the corpus

Each case is one statement over the demo database (scripts/lib/demo_seed.py: patients,
encounters, providers, legacy_feed, feed_notes; the PHI tables are those the masking
rules name: patients, providers, encounters) or over the scratch schema SCRATCH_SCHEMA
that the oracle creates in its template database (SCRATCH_SETUP: functions with side
effects that log into SCRATCH_SCHEMA.fn_log, an operator, a domain whose check calls a
function, a view over a function, a trigger, a rule, a materialized view).
scripts/classify-fuzz runs every case directly against a throwaway copy of the
database, records what PostgreSQL did and compares it with `hoop-approve classify`.

Families (FAMILIES), each case tagged with its own:
  options       EXPLAIN with option lists (repeated ANALYZE, every Boolean spelling,
                writes inside CTEs), VACUUM / REINDEX / CLUSTER / COPY option lists,
                repeats included (COPY refuses repeats: those cases expect an error)
  merge         MERGE with WHEN ... AND conditions, joined or not to a key, and
                MERGE / UPDATE / INSERT whose values come from a query over PHI tables
                (scalar sub-select, string_agg, join)
  nested_reads  PHI reads inside FROM-less sub-selects, function arguments,
                array(select ...), LATERAL, CTEs; key filters with = any(array[...]),
                long IN lists, BETWEEN over wide ranges, key compared with itself
  locks         LOCK TABLE, CLUSTER, VACUUM FULL, REINDEX, ALTER TABLE ... SET
                TABLESPACE, ALTER COLUMN TYPE, REFRESH MATERIALIZED VIEW
  hidden        user functions, operators (qualified or not), overloads of built-ins'
                names, domains (over domains), triggers, rules, views over functions
                (over views), defaults, index expressions, check constraints, row
                security policies, cascades, partitions, EXPLAIN of what planning runs
                (issue 16: judged with the catalog's facts)
  ordinary      what normal work does: reads by key, reads with a small LIMIT,
                aggregates, small writes by key (the measure of over-holding)

The generator never needs the database: it is deterministic for a seed.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import asdict, dataclass, field

FAMILIES = ["options", "merge", "nested_reads", "locks", "hidden", "ordinary"]
KNOWN_FAMILIES: set[str] = set()    # families reported but never a failure (none since issue 16)
SCRATCH_SCHEMA = "oracle_scratch"
S = SCRATCH_SCHEMA

N_PATIENTS, N_ENCOUNTERS, N_PROVIDERS, N_LEGACY = 5000, 20000, 150, 300
PHI_TABLES = ["patients", "providers", "encounters"]
DEPARTMENTS = ["Emergency", "Cardiology", "Internal Medicine", "Pediatrics", "Orthopedics",
               "Neurology", "Oncology", "Obstetrics", "Psychiatry", "Pulmonology"]
# What a MERGE's ON adds to its key join with OR (every row matches).
OR_BRANCHES = ["s.id > 0", "x.department <> ''", "true", "x.id > 0"]
# Columns whose values identify one row of a PHI table in what comes back (the oracle
# counts PHI rows by these).
PATIENT_ID_COLS = ["mrn", "ssn", "email", "insurance_id"]

# The scratch schema, made by the oracle (as hoop_gateway, the role the gateway runs
# as) in its template database. Every function logs its name into fn_log, so a call
# is seen even where track_functions cannot see it.
SCRATCH_SETUP = f"""
CREATE SCHEMA {S};
CREATE TABLE {S}.fn_log (id bigserial PRIMARY KEY, fn text NOT NULL);
CREATE TABLE {S}.items (id integer PRIMARY KEY, v text);
INSERT INTO {S}.items SELECT g, 'item ' || g FROM generate_series(1, 200) g;
CREATE TABLE {S}.ruled (id integer PRIMARY KEY, v text);
INSERT INTO {S}.ruled SELECT g, 'r' || g FROM generate_series(1, 50) g;
CREATE TABLE {S}.sink (id serial PRIMARY KEY, v text);

CREATE FUNCTION {S}.touch(x integer) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN INSERT INTO {S}.fn_log (fn) VALUES ('touch'); RETURN x; END $$;
CREATE FUNCTION {S}.label(x text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO {S}.fn_log (fn) VALUES ('label'); RETURN upper(x); END $$;
CREATE FUNCTION {S}.bump_dept(pid integer) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {S}.fn_log (fn) VALUES ('bump_dept');
  UPDATE public.encounters SET department = department WHERE patient_id = pid;
  RETURN pid;
END $$;
CREATE FUNCTION {S}.wipe_all() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE n integer;
BEGIN
  INSERT INTO {S}.fn_log (fn) VALUES ('wipe_all');
  UPDATE public.encounters SET department = department;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
CREATE FUNCTION {S}.all_ssns() RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO {S}.fn_log (fn) VALUES ('all_ssns'); RETURN (SELECT string_agg(ssn, ',') FROM public.patients); END $$;
CREATE FUNCTION {S}.patient_rows() RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO {S}.fn_log (fn) VALUES ('patient_rows'); RETURN QUERY SELECT mrn FROM public.patients; END $$;
CREATE FUNCTION {S}.make_table(n text) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {S}.fn_log (fn) VALUES ('make_table');
  EXECUTE format('CREATE TABLE {S}.%I (id integer)', n);
  RETURN 1;
END $$;
CREATE FUNCTION {S}.lock_patients() RETURNS integer LANGUAGE plpgsql AS $$
BEGIN INSERT INTO {S}.fn_log (fn) VALUES ('lock_patients'); LOCK TABLE public.patients IN ACCESS EXCLUSIVE MODE; RETURN 1; END $$;
CREATE FUNCTION {S}.sql_touch(x integer) RETURNS integer LANGUAGE sql AS $$
INSERT INTO {S}.fn_log (fn) VALUES ('sql_touch') RETURNING x $$;
CREATE FUNCTION {S}.default_v() RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO {S}.fn_log (fn) VALUES ('default_v'); RETURN 'd'; END $$;
ALTER TABLE {S}.sink ALTER COLUMN v SET DEFAULT {S}.default_v();

CREATE FUNCTION {S}.op_eq(integer, integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN INSERT INTO {S}.fn_log (fn) VALUES ('op_eq'); RETURN $1 = $2; END $$;
CREATE OPERATOR {S}.=== (LEFTARG = integer, RIGHTARG = integer, FUNCTION = {S}.op_eq);

CREATE FUNCTION {S}.check_v(text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN INSERT INTO {S}.fn_log (fn) VALUES ('check_v'); RETURN true; END $$;
CREATE DOMAIN {S}.checked_text AS text CHECK ({S}.check_v(VALUE));
CREATE TABLE {S}.domained (id integer PRIMARY KEY, v {S}.checked_text);

CREATE VIEW {S}.touched_items AS SELECT {S}.touch(id) AS id, v FROM {S}.items;
CREATE VIEW {S}.patient_ssns AS SELECT {S}.touch(id) AS id, ssn, mrn FROM public.patients;

CREATE FUNCTION {S}.items_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {S}.fn_log (fn) VALUES ('items_trg');
  UPDATE public.providers SET specialty = specialty WHERE id = 1;
  RETURN NEW;
END $$;
CREATE TRIGGER items_trg BEFORE INSERT OR UPDATE ON {S}.items FOR EACH ROW EXECUTE FUNCTION {S}.items_trg();
CREATE RULE ruled_log AS ON INSERT TO {S}.ruled DO ALSO INSERT INTO {S}.fn_log (fn) VALUES ('rule');
CREATE RULE ruled_upd AS ON UPDATE TO {S}.ruled DO ALSO UPDATE public.encounters SET department = department WHERE id <= 2000;

-- Issue 16: what only the catalog shows. Every function logs; IMMUTABLE ones call a
-- logging one (IMMUTABLE is not checked in what it calls), so that the planner runs
-- them on constants (EXPLAIN) and index expressions may use them.
CREATE FUNCTION {S}.log_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO {S}.fn_log (fn) VALUES ('log_trg'); RETURN coalesce(NEW, OLD); END $$;
CREATE FUNCTION {S}.imm_touch(x integer) RETURNS integer LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN PERFORM {S}.touch(x); RETURN x; END $$;
CREATE FUNCTION {S}.idx_f(v text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN PERFORM {S}.touch(1); RETURN v; END $$;
-- Overloads of built-ins' names, in a schema on the search_path, with argument types
-- the built-ins do not take: `initcap(5)` is this one.
CREATE FUNCTION public.initcap(x integer) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN PERFORM {S}.touch(x); RETURN 'x'; END $$;
CREATE FUNCTION public.btrim(x integer) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM {S}.touch(x); RETURN 'x'; END $$;
CREATE OPERATOR public.#~# (LEFTARG = integer, RIGHTARG = integer, FUNCTION = {S}.op_eq);
CREATE DOMAIN {S}.checked_again AS {S}.checked_text;
CREATE TABLE {S}.indexed (id integer PRIMARY KEY, v text);
CREATE INDEX indexed_f ON {S}.indexed ({S}.idx_f(v));
INSERT INTO {S}.indexed SELECT g, 'i' || g FROM generate_series(1, 50) g;
-- Code reached through an operator or a type rather than a function's name.
CREATE VIEW {S}.op_view AS SELECT id, v FROM {S}.items WHERE id #~# id;
CREATE VIEW {S}.cast_view AS SELECT id, v::{S}.checked_text AS v FROM {S}.items;
CREATE TABLE {S}.op_checked (id integer PRIMARY KEY CHECK (id #~# id));
CREATE TABLE {S}.cast_default (id integer PRIMARY KEY, v text DEFAULT 'd'::{S}.checked_text);
-- Code reached without naming it: a view written through, a cast from a type.
CREATE TABLE {S}.plain_items (id integer PRIMARY KEY, v text);
INSERT INTO {S}.plain_items SELECT g, 'p' || g FROM generate_series(1, 50) g;
CREATE VIEW {S}.filtered_items AS SELECT id, v FROM {S}.plain_items WHERE {S}.check_v(v);
CREATE TYPE {S}.comp AS (a integer);
CREATE FUNCTION {S}.comp_text(c {S}.comp) RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO {S}.fn_log (fn) VALUES ('comp_text'); RETURN c.a::text; END $$;
CREATE CAST ({S}.comp AS text) WITH FUNCTION {S}.comp_text({S}.comp) AS IMPLICIT;
CREATE TABLE {S}.constrained (id integer PRIMARY KEY, v text CHECK ({S}.check_v(v)));
CREATE TABLE {S}.policed (id integer PRIMARY KEY, v text);
INSERT INTO {S}.policed SELECT g, 'p' || g FROM generate_series(1, 20) g;
ALTER TABLE {S}.policed ENABLE ROW LEVEL SECURITY;
ALTER TABLE {S}.policed FORCE ROW LEVEL SECURITY;
CREATE POLICY policed_all ON {S}.policed USING ({S}.check_v(v));
CREATE TABLE {S}.parent (id integer PRIMARY KEY);
INSERT INTO {S}.parent SELECT generate_series(1, 100);
CREATE TABLE {S}.child (id integer PRIMARY KEY, parent_id integer REFERENCES {S}.parent ON DELETE CASCADE);
INSERT INTO {S}.child SELECT g, g FROM generate_series(1, 100) g;
CREATE TRIGGER child_trg BEFORE DELETE ON {S}.child FOR EACH ROW EXECUTE FUNCTION {S}.log_trg();
CREATE TABLE {S}.parted (id integer, v text) PARTITION BY RANGE (id);
CREATE TABLE {S}.parted_1 PARTITION OF {S}.parted FOR VALUES FROM (0) TO (1000000000);
CREATE TRIGGER parted_trg BEFORE INSERT ON {S}.parted_1 FOR EACH ROW EXECUTE FUNCTION {S}.log_trg();
CREATE VIEW {S}.touched_again AS SELECT * FROM {S}.touched_items;
CREATE VIEW {S}.items_view AS SELECT * FROM {S}.items;

CREATE MATERIALIZED VIEW {S}.dept_counts AS
  SELECT department, count(*) AS n FROM public.encounters GROUP BY department;
CREATE UNIQUE INDEX dept_counts_department ON {S}.dept_counts (department);
"""


@dataclass
class Case:
    id: int
    family: str
    shape: str                  # a short name of the statement's shape
    sql: str
    copy_data: str | None = None    # rows a COPY ... FROM STDIN reads
    expect_error: bool = False      # the server refuses it (e.g. COPY's repeated options)
    note: str = ""


# --- small pieces ------------------------------------------------------------------------

def truthy(r: random.Random, v: bool) -> str:
    """A Boolean option value as EXPLAIN/VACUUM accept it (defGetBoolean)."""
    if v:
        return r.choice(["true", "on", "1", "'true'", "'on'", "TRUE", '"true"', "On"])
    return r.choice(["false", "off", "0", "'off'", "FALSE", "'false'", '"off"'])


def ids(r: random.Random, n: int, hi: int) -> list[int]:
    return r.sample(range(1, hi + 1), n)


def pick_n(r: random.Random) -> int:
    """How many keys a key filter lists: a few, or more than max_bounded_limit (1000)."""
    return r.choice([3, 20, 200, 1200, 1800, 2500, 4000])


class Gen:
    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.next_provider = 10_000
        self.next_encounter = 100_000
        self._mrns = None

    # values
    def pid(self): return self.r.randint(1, N_PATIENTS)
    def eid(self): return self.r.randint(1, N_ENCOUNTERS)
    def prid(self): return self.r.randint(1, N_PROVIDERS)
    def dept(self): return self.r.choice(DEPARTMENTS)

    def new_provider(self):
        self.next_provider += 1
        return self.next_provider, f"0{self.next_provider:09d}"

    def new_encounter(self):
        self.next_encounter += 1
        return self.next_encounter

    def mrn(self, pid):
        if self._mrns is None:
            sys.path.insert(0, __import__("os").path.dirname(__file__))
            import demo_seed
            _prov, patients, _enc = demo_seed.generate()
            self._mrns = {p[0]: p[1] for p in patients}
        return self._mrns[pid]

    def phi_query(self) -> str:
        """A scalar sub-select that gathers PHI of many rows into one value."""
        r = self.r
        col = r.choice(PATIENT_ID_COLS)
        return r.choice([
            f"(select string_agg({col}, ',') from patients)",
            f"(select string_agg({col}, ' ') from patients where id between 1 and {r.choice([1500, 3000, 5000])})",
            f"(select string_agg(p.{col}, ';') from patients p join encounters e on e.patient_id = p.id "
            f"where e.department = '{self.dept()}')",
            f"(select array_agg({col})::text from patients)",
            f"(select jsonb_agg(p.{col})::text from patients p where p.id > {r.randint(1, 500)})",
            f"(select string_agg({col}, ',') from patients where id = any(array[{','.join(map(str, ids(r, 1500, N_PATIENTS)))}]))",
        ])

    def key_write(self) -> tuple[str, str]:
        """(shape, a write by key: one row)."""
        r = self.r
        k = r.randint(1, 7)
        if k == 1:
            return "delete by key", f"delete from encounters where id = {self.eid()}"
        if k == 2:
            return "update by key", f"update patients set phone = '555-555-01{r.randint(10, 99)}' where id = {self.pid()}"
        if k == 3:
            return "update by key", f"update encounters set department = '{self.dept()}' where id = {self.eid()}"
        if k == 4:
            i, npi = self.new_provider()
            return "insert values", (f"insert into providers (id, name, npi, specialty) values "
                                     f"({i}, 'Oracle Test, MD', '{npi}', 'Radiology')")
        if k == 5:
            return "delete by IN", f"delete from encounters where id in ({', '.join(map(str, ids(r, 3, N_ENCOUNTERS)))})"
        if k == 6:
            return "update by key", f"update providers set specialty = '{self.dept()}' where id = {self.prid()}"
        return "update by key", f"update encounters set note = note || ' (reviewed)' where id = {self.eid()}"

    def bulk_write(self) -> tuple[str, str]:
        """(shape, a write without a WHERE: every row)."""
        r = self.r
        return r.choice([
            ("delete all", "delete from encounters"),
            ("update all", f"update encounters set department = '{self.dept()}'"),
            ("update all", "update patients set phone = '555-555-0100'"),
            ("update all", "update providers set specialty = specialty"),
        ])

    # --- families ------------------------------------------------------------------------

    def options(self) -> Case:
        r = self.r
        k = r.randint(1, 12)
        if k <= 5:
            # EXPLAIN with ANALYZE given more than once: the last one counts.
            last = r.random() < 0.6
            first = not last if r.random() < 0.8 else last
            word = r.choice(["analyze", "analyse", "ANALYZE"])
            opts = [f"{word} {truthy(r, first)}" if r.random() < 0.7 or not first else word,
                    f"{r.choice(['analyze', 'ANALYZE', 'analyse'])} {truthy(r, last)}"
                    if r.random() < 0.8 or not last else "analyze"]
            extra = r.sample(["costs off", "verbose", "buffers", "summary", "timing off", "format json",
                              "format yaml", "settings", "wal"], r.randint(0, 2))
            if "wal" in extra and not last:
                extra.remove("wal")       # WAL needs ANALYZE
            for e in extra:
                opts.insert(r.randint(0, len(opts)), e)
            if r.random() < 0.15:
                opts.insert(r.randint(0, len(opts)), f"analyze {truthy(r, r.random() < 0.5)}")
            x = r.random()
            if x < 0.15:
                wshape, write = "merge", (f"merge into encounters x using (values ({self.eid()})) s(id) on x.id = s.id "
                                          f"when matched then update set department = '{self.dept()}'")
            elif x < 0.25:
                n = r.randint(1, 10**6)
                wshape, write = r.choice([
                    ("create table as", f"create table oracle_ctas_{n} as select id, mrn, ssn from patients"),
                    ("select into", f"select id, mrn, ssn into oracle_into_{n} from patients"),
                    ("create materialized view", f"create materialized view oracle_mv_{n} as select id, ssn from patients"),
                ])
            else:
                wshape, write = self.bulk_write() if r.random() < 0.4 else self.key_write()
            return Case(0, "options", f"explain (analyze repeated, last {'on' if last else 'off'}) {wshape}",
                        f"explain ({', '.join(opts)}) {write}")
        if k == 6:
            last = r.random() < 0.6
            wshape, write = self.key_write() if r.random() < 0.6 else self.bulk_write()
            if not write.startswith(("delete", "update", "insert")):
                write = f"delete from encounters where id = {self.eid()}"
            return Case(0, "options", f"explain analyze x2 over a write in a CTE ({wshape})",
                        f"explain (costs off, analyze {truthy(r, not last)}, analyze {truthy(r, last)}) "
                        f"with w as ({write} returning 1) select count(*) from w")
        if k == 7:
            wshape, write = self.key_write() if r.random() < 0.6 else self.bulk_write()
            return Case(0, "options", f"explain analyze verbose (old syntax) {wshape}",
                        f"{r.choice(['explain analyze verbose', 'EXPLAIN ANALYSE', 'explain analyze'])} {write}")
        if k == 8:
            # VACUUM (FULL x, FULL y): the last one counts.
            a, b = r.random() < 0.5, r.random() < 0.6
            t = r.choice(PHI_TABLES + ["feed_notes"])
            opts = [f"full {truthy(r, a)}", f"full {truthy(r, b)}"]
            for e in r.sample(["analyze", "verbose false", "freeze", "skip_locked", "analyze false"], r.randint(0, 2)):
                opts.insert(r.randint(0, len(opts)), e)
            return Case(0, "options", f"vacuum (full x2, last {'on' if b else 'off'})",
                        f"vacuum ({', '.join(opts)}) {t}")
        if k == 9:
            a, b = r.random() < 0.5, r.random() < 0.4
            obj = r.choice(["table providers", "table patients", "index encounters_pkey", "index patients_mrn_key",
                            "table encounters"])
            opts = [f"concurrently {truthy(r, a)}", f"concurrently {truthy(r, b)}"]
            if r.random() < 0.5:
                opts.insert(r.randint(0, 2), r.choice(["verbose", "verbose false", "tablespace pg_default"]))
            return Case(0, "options", f"reindex (concurrently x2, last {'on' if b else 'off'})",
                        f"reindex ({', '.join(opts)}) {obj}")
        if k == 10:
            t, ix = r.choice([("providers", "providers_pkey"), ("patients", "patients_pkey"),
                              ("encounters", "encounters_pkey")])
            return Case(0, "options", "cluster (verbose x2)",
                        f"cluster (verbose {truthy(r, r.random() < 0.5)}, verbose {truthy(r, r.random() < 0.5)}) {t} using {ix}")
        if k == 11:
            # COPY with an option list; repeated options are refused by the server.
            if r.random() < 0.25:
                return Case(0, "options", "copy with a repeated option (refused by the server)",
                            f"copy (select id, specialty from providers where id = {self.prid()}) to stdout "
                            f"with (format {r.choice(['csv', 'text'])}, format {r.choice(['csv', 'text'])})",
                            expect_error=True)
            if r.random() < 0.5:
                i, npi = self.new_provider()
                return Case(0, "options", "copy from stdin with options (one row)",
                            f"copy providers (id, name, npi, specialty) from stdin with "
                            f"(format csv, delimiter ',', null '', header {truthy(r, False)})",
                            copy_data=f"{i},\"Oracle Copy, MD\",{npi},Radiology\n")
            return Case(0, "options", "copy (a write returning) to stdout with options",
                        f"copy (delete from encounters where id = {self.eid()} returning id, department) to stdout "
                        f"with (format csv, header {truthy(r, True)})")
        # EXPLAIN (ANALYZE) of a SELECT that calls nothing: a control
        return Case(0, "options", "explain analyze of a read by key",
                    f"explain (analyze {truthy(r, True)}, costs off) select * from patients where id = {self.pid()}")

    def merge(self) -> Case:
        r = self.r
        k = r.randint(1, 11)
        if k == 1:
            t, col, v = r.choice([("encounters", "department", f"'{self.dept()}'"),
                                  ("providers", "specialty", f"'{self.dept()}'"),
                                  ("patients", "phone", "'555-555-0101'")])
            key = {"encounters": self.eid, "providers": self.prid, "patients": self.pid}[t]()
            cond = r.choice(["", f" and x.id = {key}", " and s.v is not null", " and true"])
            return Case(0, "merge", "merge from VALUES joined to the key",
                        f"merge into {t} x using (values ({key}, {v})) s(id, v) on x.id = s.id "
                        f"when matched{cond} then update set {col} = s.v")
        if k == 3 and r.random() < 0.5:
            on = r.choice(["x.id > s.k", "x.id <> s.k", "x.patient_id >= s.k", "x.id = any(array[" +
                           ",".join(map(str, ids(r, 1500, N_ENCOUNTERS))) + "])", "x.id between s.k and 20000"])
            act = r.choice(["update set department = x.department", "delete"])
            return Case(0, "merge", "merge from VALUES, ON matches many target rows",
                        f"merge into encounters x using (values (1)) s(k) on {on} when matched then {act}")
        if k in (2, 3):
            on = r.choice(["true", "1 = 1", "s.k = 1", "s.k = s.k", "s.k > 0"])
            cond = r.choice(["", " and true", " and s.k = 1", " and 1 < 2", " and s.k is not null"])
            t, act = r.choice([("encounters", "update set department = x.department"),
                               ("encounters", "delete"),
                               ("patients", "update set phone = x.phone"),
                               ("encounters", f"update set department = '{self.dept()}'")])
            return Case(0, "merge", "merge from VALUES not joined to the target (ON names no target column)",
                        f"merge into {t} x using (values (1)) s(k) on {on} when matched{cond} then {act}")
        if k == 4 and r.random() < 0.5:
            key = self.eid()
            return r.choice([
                Case(0, "merge", "merge joined to the key OR another condition",
                     f"merge into encounters x using (values ({key})) s(id) on x.id = s.id or "
                     f"{r.choice(OR_BRANCHES)} "
                     f"when matched then {r.choice(['update set department = x.department', 'delete'])}"),
                Case(0, "merge", "merge: a key in the first WHEN, a catch-all WHEN after it",
                     f"merge into encounters x using (values (1)) s(k) on true when matched and x.id = {key} then "
                     f"update set department = '{self.dept()}' when matched then "
                     f"{r.choice(['delete', 'update set department = x.department'])}"),
                Case(0, "merge", "merge: only a key in WHEN ... AND",
                     f"merge into encounters x using (values (1)) s(k) on true when matched and x.id = {key} then "
                     f"update set department = '{self.dept()}'"),
            ])
        if k == 4:
            key = self.eid()
            return Case(0, "merge", "merge from a FROM-less sub-select joined to the key",
                        f"merge into encounters x using (select {key} as id) s on x.id = s.id "
                        f"when matched and x.department <> '' then update set department = '{self.dept()}'")
        if k == 5:
            return Case(0, "merge", "merge from a table, one key in WHEN ... AND",
                        f"merge into encounters x using patients p on x.patient_id = p.id "
                        f"when matched and p.id = {self.pid()} then update set department = x.department")
        if k == 6:
            return Case(0, "merge", "merge from a table, every row",
                        "merge into encounters x using providers p on x.provider_id = p.id "
                        "when matched then update set department = x.department")
        if k == 7:
            q = self.phi_query()
            return Case(0, "merge", "merge whose value is a PHI sub-select",
                        f"merge into providers x using (values ({self.prid()})) s(id) on x.id = s.id "
                        f"when matched then update set specialty = {q}")
        if k == 8:
            q = self.phi_query()
            col = r.choice(PATIENT_ID_COLS)
            shape, sql = r.choice([
                ("update whose value is a PHI sub-select", f"update providers set specialty = {q} where id = {self.prid()}"),
                ("update whose value is a PHI sub-select", f"update providers set specialty = {q} where id = {self.prid()}"),
                ("update whose value is a PHI aggregate with LIMIT 1",
                 f"update providers set specialty = (select string_agg({col}, ',') from patients limit 1) where id = {self.prid()}"),
                ("update whose value is a PHI window aggregate with LIMIT 1",
                 f"update providers set specialty = (select string_agg({col}, ',') over () from patients limit 1) "
                 f"where id = {self.prid()}"),
                ("update by key from a PHI CTE",
                 f"with x as (select string_agg({col}, ',') s from patients) "
                 f"update providers set specialty = (select s from x) where id = {self.prid()}"),
                ("update from a PHI aggregate (join)",
                 f"update providers pr set specialty = x.s from (select string_agg({r.choice(PATIENT_ID_COLS)}, ',') s "
                 f"from patients) x where pr.id = {self.prid()}"),
                ("update from a PHI join by key",
                 f"update providers pr set specialty = p.ssn from patients p where pr.id = {self.prid()} and p.id = {self.pid()}"),
            ])
            return Case(0, "merge", shape, sql)
        if k == 9:
            i, npi = self.new_provider()
            q = self.phi_query()
            return Case(0, "merge", "insert values with a PHI sub-select",
                        f"insert into providers (id, name, npi, specialty) values ({i}, 'Oracle Test, MD', '{npi}', {q})")
        if k == 10:
            i, npi = self.new_provider()
            col = r.choice(PATIENT_ID_COLS)
            return Case(0, "merge", "merge inserting a PHI aggregate (source is a query)",
                        f"merge into providers x using (select {i} as id, string_agg({col}, ',') as s from patients) s "
                        f"on x.id = s.id when not matched then insert (id, name, npi, specialty) "
                        f"values (s.id, 'Oracle Test, MD', '{npi}', s.s)")
        key = self.eid()
        e = self.new_encounter()
        return Case(0, "merge", "merge by key with both branches",
                    f"merge into encounters x using (values ({key}), ({e})) s(id) on x.id = s.id "
                    f"when matched and x.department <> 'none' then update set department = '{self.dept()}' "
                    f"when not matched then insert (id, patient_id, provider_id, admitted_at, department, diagnosis_code, note) "
                    f"values (s.id, {self.pid()}, {self.prid()}, now(), 'Radiology', 'Z00.00', 'oracle')")

    def nested_reads(self) -> Case:
        r = self.r
        col = r.choice(PATIENT_ID_COLS)
        k = r.randint(1, 13)
        if k == 1:
            wrap = r.choice(["", "upper", "lower", "trim", "coalesce", "concat", "format"])
            where = r.choice(["", f" where id between 1 and {r.choice([1500, 3000, 5000])}", f" where id > {r.randint(1, 900)}"])
            inner = f"(select string_agg({col}, ',') from patients{where})"
            expr = inner if not wrap else (f"format('%s', {inner})" if wrap == "format" else f"{wrap}({inner})")
            return Case(0, "nested_reads", f"FROM-less select of a PHI sub-select ({wrap or 'bare'})", f"select {expr}")
        if k == 2:
            where = r.choice(["", f" where id <= {r.choice([1200, 2500, 5000])}"])
            form = r.choice(["select array(select {c} from patients{w})",
                             "select array_to_string(array(select {c} from patients{w}), ',')",
                             "select to_json(array(select {c} from patients{w}))"])
            return Case(0, "nested_reads", "array(select ...) over PHI", form.format(c=col, w=where))
        if k == 3:
            form = r.choice([
                "select jsonb_build_object('v', (select jsonb_agg({c}) from patients))",
                "select concat_ws(' | ', 'x', (select string_agg({c}, ',') from patients))",
                "select replace((select string_agg({c}, ',') from patients), ',', ';')",
                "select left((select string_agg({c}, ',') from patients), 1000000)",
                "select json_build_array((select array_agg({c}) from patients))",
            ])
            return Case(0, "nested_reads", "PHI sub-select as a function argument", form.format(c=col))
        if k == 4:
            pr = self.prid()
            form = r.choice([
                f"select x.* from providers pr cross join lateral (select p.mrn, p.{col} from patients p "
                f"where p.id <= {r.choice([1500, 3000, 5000])}) x where pr.id = {pr}",
                f"select pr.id, x.s from providers pr, lateral (select string_agg(p.{col}, ',') s from patients p) x "
                f"where pr.id = {pr}",
                f"select x.* from (values (1)) v(a), lateral (select mrn, {col} from patients where id > v.a) x",
            ])
            return Case(0, "nested_reads", "LATERAL over PHI", form)
        if k == 5:
            pid = self.pid()
            form = r.choice([
                f"with x as (select mrn, {col} from patients) select * from x",
                f"with x as (select {col} from patients) select string_agg({col}, ',') from x",
                f"with x as (select * from patients where id = {pid}) select (select string_agg({col}, ',') from patients), x.mrn from x",
                f"with x as (select mrn from patients limit 5000) select * from x limit {r.choice([10, 100])}",
                f"with recursive x(n) as (select 1 union all select n + 1 from x where n < 3) "
                f"select p.mrn, p.{col} from patients p, x where p.id = x.n",
            ])
            return Case(0, "nested_reads", "CTE over PHI", form)
        if k == 6:
            n = pick_n(r)
            t, cols, hi = r.choice([("patients", f"id, mrn, {col}", N_PATIENTS), ("encounters", "id, note", N_ENCOUNTERS)])
            lst = ",".join(map(str, ids(r, n, hi)))
            form = r.choice([f"id = any(array[{lst}])", f"id = any('{{{lst}}}'::int[])"])
            return Case(0, "nested_reads", f"key filter = any(array of {n})", f"select {cols} from {t} where {form}")
        if k == 7:
            n = pick_n(r)
            lst = ", ".join(map(str, ids(r, n, N_PATIENTS)))
            return Case(0, "nested_reads", f"key filter IN ({n} values)", f"select id, mrn, {col} from patients where id in ({lst})")
        if k == 8:
            a = r.randint(1, 100)
            b = a + r.choice([5, 50, 1500, 4900])
            t, cols = r.choice([("patients", f"mrn, {col}"), ("encounters", "id, note")])
            if t == "encounters":
                b = a + r.choice([5, 50, 1500, 19000])
            return Case(0, "nested_reads", f"key BETWEEN over {b - a + 1} keys", f"select {cols} from {t} where id between {a} and {b}")
        if k == 9:
            form = r.choice([
                f"select string_agg({col}, ',') from patients limit 1",
                f"select (select string_agg({col}, ',') from patients) limit 1",
                f"select * from (select string_agg({col}, ',') s from patients) t limit 10",
                f"select count(*), string_agg({col}, ',') from patients",
                f"select string_agg({col}, ',') over () from patients limit 1",
                f"select json_agg(p) from patients p limit 1",
                f"select (array_agg({col}))[1:5000] from patients limit 1",
            ])
            return Case(0, "nested_reads", "LIMIT or count over a gathering aggregate", form)
        if k == 10:
            pid = self.pid()
            form = r.choice([
                f"select mrn, {col} from patients where id = id",
                f"select mrn, {col} from patients where id = patients.id",
                f"select id, note from encounters where patient_id = patient_id",
                f"select mrn, {col} from patients where id in (select id from patients)",
                f"select mrn, {col} from patients where id = any(select id from patients)",
                f"select mrn, {col} from patients where mrn = mrn",
                f"select mrn, {col} from patients where id = {pid} or true",
                f"select mrn, {col} from patients where id = {pid} or id > 0",
                f"select mrn, {col} from patients where id = {pid} or {pid} = {pid}",
                f"select mrn, {col} from patients where id = abs(id)",
                f"select mrn, {col} from patients where id = coalesce(null, id)",
                f"select mrn, {col} from patients where id in (id)",
                f"select mrn, {col} from patients where id = any(array[id])",
                f"select mrn, {col} from patients where id is not distinct from id",
                f"select mrn, {col} from patients where id in (select generate_series(1, 5000))",
                f"select mrn, {col} from patients where id = any(array(select id from patients))",
                f"select p.mrn, p.{col} from patients p join generate_series(1, 3000) g on p.id = g",
            ])
            return Case(0, "nested_reads", "key filter that matches every row", form)
        if k == 11:
            return r.choice([
                Case(0, "nested_reads", "UNION of a key read and a full read",
                     f"select mrn from patients where id = {self.pid()} union all select {col} from patients"),
                Case(0, "nested_reads", "VALUES of a PHI sub-select", f"values ((select string_agg({col}, ',') from patients))"),
                Case(0, "nested_reads", "TABLE", r.choice(["table patients", "table encounters"])),
                Case(0, "nested_reads", "PHI sub-select in the select list of a key read",
                     f"select pr.name, (select string_agg(p.{col}, ',') from patients p) from providers pr where pr.id = {self.prid()}"),
            ])
        if k == 12:
            return Case(0, "nested_reads", "scalar sub-select in WHERE of a key read",
                        f"select id, name from providers where id = {self.prid()} and "
                        f"(select count(*) from patients) > 0")
        return Case(0, "nested_reads", "key read joined to an unfiltered PHI table",
                    f"select pr.name, p.mrn, p.{col} from providers pr join encounters e on e.provider_id = pr.id "
                    f"join patients p on p.id = e.patient_id where pr.id = {self.prid()}")

    def locks(self) -> Case:
        r = self.r
        t = r.choice(PHI_TABLES)
        k = r.randint(1, 11)
        if k <= 2:
            mode = r.choice(["", " in access exclusive mode", " in exclusive mode", " in share mode",
                             " in share row exclusive mode", " in access share mode", " in row exclusive mode"])
            tabs = r.choice([t, f"only {t}", f"{t}, {r.choice(PHI_TABLES)}"])
            return Case(0, "locks", f"lock table{mode or ' (default mode)'}",
                        f"lock {r.choice(['table ', ''])}{tabs}{mode}{r.choice(['', ' nowait'])}")
        if k == 3:
            return Case(0, "locks", "cluster using the primary key", f"cluster {t} using {t}_pkey")
        if k == 4:
            return Case(0, "locks", "vacuum full", r.choice([f"vacuum full {t}", f"vacuum (full) {t}", f"vacuum full analyze {t}"]))
        if k == 5:
            return Case(0, "locks", "reindex", r.choice([f"reindex table {t}", f"reindex index {t}_pkey",
                                                         f"reindex table concurrently {t}"]))
        if k == 6:
            return Case(0, "locks", "alter table set tablespace pg_default",
                        r.choice([f"alter table {t} set tablespace pg_default",
                                  f"alter index {t}_pkey set tablespace pg_default"]))
        if k in (7, 8):
            sql = r.choice([
                "alter table encounters alter column provider_id type bigint",
                "alter table encounters alter column diagnosis_code type varchar(20)",
                "alter table providers alter column specialty type varchar(100)",
                "alter table patients alter column state type text",
                "alter table patients alter column zip type varchar(10)",
                "alter table encounters alter column note type varchar(4000)",
            ])
            return Case(0, "locks", "alter column type", sql)
        if k == 9:
            return Case(0, "locks", "refresh materialized view",
                        f"refresh materialized view {r.choice(['', 'concurrently '])}{S}.dept_counts")
        if k == 10 and r.random() < 0.6:
            return r.choice([
                Case(0, "locks", "reindex schema", "reindex schema public"),
                Case(0, "locks", "alter table set access method", f"alter table {t} set access method heap"),
                Case(0, "locks", "alter table add column with a volatile default",
                     f"alter table {t} add column oracle_v text default gen_random_uuid()::text"),
                Case(0, "locks", "refresh materialized view with no data", f"refresh materialized view {S}.dept_counts with no data"),
                Case(0, "locks", "vacuum full of several tables", f"vacuum (full, analyze) {t}, feed_notes"),
                Case(0, "locks", "alter table set fillfactor (control)", f"alter table {t} set (fillfactor = 90)"),
            ])
        if k == 10:
            return Case(0, "locks", "select for update by key (control)",
                        f"select id from {t} where id = {self.prid()} for {r.choice(['update', 'share', 'no key update'])}")
        return Case(0, "locks", "analyze (control)", f"analyze {t}")

    def hidden(self) -> Case:
        r = self.r
        k = r.randint(1, 31)
        pid = self.pid()
        if k == 1:
            return Case(0, "hidden", "user function in the select list", f"select {S}.touch({pid})")
        if k == 2:
            return Case(0, "hidden", "user function in WHERE of a key read",
                        f"select mrn from patients where id = {S}.touch({pid})")
        if k == 3:
            return Case(0, "hidden", "user function that writes a PHI table", f"select {S}.bump_dept({pid})")
        if k == 4:
            return Case(0, "hidden", "user function that writes every row", f"select {S}.wipe_all()")
        if k == 5:
            return Case(0, "hidden", "user function that reads all PHI",
                        r.choice([f"select {S}.all_ssns()", f"select * from {S}.patient_rows()"]))
        if k == 6:
            return Case(0, "hidden", "user function that runs DDL", f"select {S}.make_table('t{r.randint(1, 10**6)}')")
        if k == 7:
            return Case(0, "hidden", "user operator",
                        r.choice([f"select {pid} operator({S}.===) {pid}",
                                  f"select mrn from patients where id operator({S}.===) {pid}"]))
        if k == 8:
            return Case(0, "hidden", "domain check calling a function",
                        r.choice([f"insert into {S}.domained values ({r.randint(1, 10**6)}, 'x')",
                                  f"select 'x'::{S}.checked_text", f"select cast('y' as {S}.checked_text)"]))
        if k == 9:
            return Case(0, "hidden", "view over a function",
                        r.choice([f"select * from {S}.touched_items where v = 'item 3'",
                                  f"select * from {S}.touched_items limit 5",
                                  f"select mrn, ssn from {S}.patient_ssns limit 10"]))
        if k == 10:
            return Case(0, "hidden", "trigger",
                        r.choice([f"insert into {S}.items values ({1000 + r.randint(1, 10**6)}, 'x')",
                                  f"update {S}.items set v = 'y' where id = {r.randint(1, 200)}"]))
        if k == 11:
            return Case(0, "hidden", "rule",
                        r.choice([f"insert into {S}.ruled values ({1000 + r.randint(1, 10**6)}, 'x')",
                                  f"update {S}.ruled set v = 'y' where id = {r.randint(1, 50)}"]))
        if k == 12:
            return Case(0, "hidden", "column default calling a function", f"insert into {S}.sink (id) values ({r.randint(1, 10**6)})")
        if k == 13:
            return Case(0, "hidden", "SQL-language user function", f"select {S}.sql_touch({pid})")
        if k == 14:
            return Case(0, "hidden", "user function that takes an exclusive lock", f"select {S}.lock_patients()")
        n = r.randint(1, 10**6)
        if k == 15:
            return Case(0, "hidden", "overload of a built-in's name",
                        r.choice([f"select initcap({pid})", f"select btrim({pid})", f"select mrn from patients where id = {pid} and btrim(id) = 'x'"]))
        if k == 16:
            return Case(0, "hidden", "unqualified operator of the database's own",
                        r.choice([f"select {pid} #~# {pid}", f"select mrn from patients where id #~# {pid}"]))
        if k == 17:
            return Case(0, "hidden", "EXPLAIN: planning runs an immutable function",
                        r.choice([f"explain select initcap({pid})", f"explain select {S}.imm_touch({pid})",
                                  f"explain (costs off) select mrn from patients where id = {S}.imm_touch({pid})",
                                  f"explain (analyze false) select initcap(2) from patients where id = {pid}"]))
        if k == 18:
            return Case(0, "hidden", "index expression", f"insert into {S}.indexed values ({n}, 'x')")
        if k == 19:
            return Case(0, "hidden", "check constraint", f"insert into {S}.constrained values ({n}, 'x')")
        if k == 20:
            return Case(0, "hidden", "row security policy",
                        r.choice([f"select * from {S}.policed where id = {r.randint(1, 20)}", f"select count(*) from {S}.policed"]))
        if k == 21:
            return Case(0, "hidden", "cascade to a table with a trigger", f"delete from {S}.parent where id = {r.randint(1, 100)}")
        if k == 22:
            return Case(0, "hidden", "partition with a trigger", f"insert into {S}.parted values ({n}, 'x')")
        if k == 23:
            return Case(0, "hidden", "view over a view over a function", f"select * from {S}.touched_again limit 3")
        if k == 24:
            return Case(0, "hidden", "writable view over a table with a trigger",
                        f"insert into {S}.items_view values ({1000 + n}, 'x')")
        if k == 26:
            return Case(0, "hidden", "ANALYZE computes an index expression",
                        r.choice([f"analyze {S}.indexed", f"vacuum (analyze) {S}.indexed"]))
        if k == 27:
            return Case(0, "hidden", "view through an operator or a cast",
                        r.choice([f"select * from {S}.op_view where id = {r.randint(1, 200)}", f"select * from {S}.cast_view limit 3"]))
        if k == 28:
            return Case(0, "hidden", "check or default through an operator or a cast",
                        r.choice([f"insert into {S}.op_checked values ({n})", f"insert into {S}.cast_default (id) values ({n})"]))
        if k == 29:
            return Case(0, "hidden", "writing through a view that calls a function",
                        r.choice([f"update {S}.filtered_items set v = 'z' where id = {r.randint(1, 50)}",
                                  f"delete from {S}.filtered_items where id = {r.randint(1, 50)}"]))
        if k == 30:
            return Case(0, "hidden", "a cast from a type of the database's own",
                        r.choice([f"select upper(row({pid})::{S}.comp)", f"select length(row({pid})::{S}.comp)"]))
        if k == 31:
            return Case(0, "hidden", "a column definition list of a checked domain",
                        "select * from jsonb_to_record('{\"a\": \"x\"}') as x(a " + S + ".checked_text)")
        return Case(0, "hidden", "domain over a domain with a check",
                    r.choice([f"select 'x'::{S}.checked_again", f"select array['x', 'y']::{S}.checked_text[]",
                              f"insert into {S}.domained values ({n}, 'x'::{S}.checked_again)"]))

    def ordinary(self) -> Case:
        r = self.r
        k = r.randint(1, 16)
        pid, eid, prid = self.pid(), self.eid(), self.prid()
        if k == 1:
            return Case(0, "ordinary", "read by key", f"select * from patients where id = {pid}")
        if k == 2:
            return Case(0, "ordinary", "read by mrn", f"select id, first_name, last_name, date_of_birth from patients where mrn = '{self.mrn(pid)}'")
        if k == 3:
            return Case(0, "ordinary", "encounters of one patient",
                        f"select id, admitted_at, department, note from encounters where patient_id = {pid} order by admitted_at desc")
        if k == 4:
            return Case(0, "ordinary", "read by key", f"select id, name, specialty from providers where id = {prid}")
        if k == 5:
            return Case(0, "ordinary", "count with a filter", f"select count(*) from encounters where department = '{self.dept()}'")
        if k == 6:
            return Case(0, "ordinary", "latest rows with LIMIT",
                        f"select id, department, diagnosis_code from encounters order by id desc limit {r.choice([10, 50, 100, 500])}")
        if k == 7:
            return Case(0, "ordinary", "first rows with LIMIT", f"select * from patients order by id limit {r.choice([5, 20, 100])}")
        if k == 8:
            return Case(0, "ordinary", "read by key (non-PHI table)", f"select * from legacy_feed where id = {r.randint(1, N_LEGACY)}")
        if k == 9:
            return Case(0, "ordinary", "update by key",
                        f"update encounters set department = '{self.dept()}' where id = {eid}")
        if k == 10:
            return Case(0, "ordinary", "update by key",
                        f"update patients set phone = '555-555-01{r.randint(10, 99)}' where id = {pid}")
        if k == 11:
            e = self.new_encounter()
            return Case(0, "ordinary", "insert values",
                        f"insert into encounters (id, patient_id, provider_id, admitted_at, department, diagnosis_code, note) "
                        f"values ({e}, {pid}, {prid}, now(), '{self.dept()}', 'Z00.00', 'routine visit')")
        if k == 12:
            return Case(0, "ordinary", "delete by key", f"delete from encounters where id = {eid}")
        if k == 13:
            # (A provider's or a patient's name is written under `hash`: held as a codebook's
            # entry by review-tokenized-write, docs/approval.md.)
            e = self.new_encounter()
            return Case(0, "ordinary", "insert returning",
                        f"insert into encounters (id, patient_id, provider_id, admitted_at, department, diagnosis_code, note) "
                        f"values ({e}, {pid}, {prid}, now(), '{self.dept()}', 'Z00.00', 'follow-up') returning id")
        if k == 14:
            return Case(0, "ordinary", "max of one patient", f"select max(admitted_at) from encounters where patient_id = {pid}")
        if k == 15:
            lst = ", ".join(map(str, ids(r, r.randint(2, 5), N_ENCOUNTERS)))
            return Case(0, "ordinary", "read by a few keys", f"select id, department, note from encounters where id in ({lst})")
        return Case(0, "ordinary", "update by key returning",
                    f"update encounters set note = note || ' reviewed' where id = {eid} returning id")


def generate(seed: int, count: int, families: list[str] | None = None) -> list[Case]:
    families = families or list(FAMILIES)
    bad = [f for f in families if f not in FAMILIES]
    if bad:
        raise ValueError(f"unknown family {bad}; families: {', '.join(FAMILIES)}")
    g = Gen(seed)
    cases = []
    for i in range(count):
        fam = families[i % len(families)]
        c = getattr(g, fam)()
        c.id = i + 1
        cases.append(c)
    return cases


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--count", type=int, default=60)
    ap.add_argument("--family", action="append")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    fams = [f for a in args.family or [] for f in a.split(",")] or None
    cases = generate(args.seed, args.count, fams)
    for c in cases:
        if args.json:
            print(json.dumps(asdict(c)))
        else:
            sql = c.sql if len(c.sql) < 300 else c.sql[:300] + " …"
            print(f"-- #{c.id} {c.family}: {c.shape}\n{sql};\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
