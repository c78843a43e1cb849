#!/usr/bin/env python3
"""A generator of leak probes for hoop-mask (issue 14): SQL built from a small grammar of
PostgreSQL's text, numeric, date, JSON, XML, array, aggregate, window and set-returning
functions, casts, predicates and clauses, applied to the demo database's ruled (PHI)
columns (scripts/lib/demo_seed.py, rules as `scripts/hoop` writes them) in the select
list, WHERE, JOIN, ORDER BY, sub-selects, CTEs, EXPLAIN (ANALYZE, VERBOSE) and
COPY (query) TO STDOUT.

  leak_fuzz.py [--seed N] [--count N] [--family F ...] [--json]   print the probes

Each probe (`Case`) belongs to one family of issue 14 and says, besides its
statements, which result columns of its last statement read a ruled column (`tainted`:
they must come back masked, whatever their value looks like) and, for codebook
probes, which statement returns (plain, masked) pairs. scripts/mask-fuzz runs them
through a ring and checks what comes back.

Families (FAMILIES):
  fragments     substr/left/right/split_part/regexp_* pieces of a ruled value, alone or
                tiled so that a row carries the whole value in pieces
  sizes         length, ascii, position, get_byte, chr(ascii(..)+0), count over sets
                built from a value, digit arithmetic: a value carried by numbers
  predicates    an output column constrained to equal a PHI expression (JOIN ON,
                WHERE, correlated sub-selects, EXISTS/IN, LATERAL)
  codebooks     the ruled hash strategy applied to one-character fragments, next to a
                statement that hashes known characters the same way (the codebook)
  errors        errors and notices raised while evaluating any clause (select list,
                WHERE, JOIN, ORDER BY, CTE, EXPLAIN ANALYZE, COPY) over a ruled value
  server_state  values parked in settings, advisory locks, sequences and object names,
                read back with SHOW, current_setting, pg_settings, pg_stat_activity,
                pg_locks, pg_class
  shadowed      functions and operators of a scratch schema (SHADOW_SCHEMA, made by
                the runner as hoop_gateway: SHADOW_SETUP) named like built-ins,
                reached through search_path or schema-qualified
  grammar       whole values through random chains of functions, casts, aggregates,
                windows and set-returning functions (the baseline the lineage claims)

The generator never needs the database: it is deterministic for a seed.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import asdict, dataclass, field

FAMILIES = ["fragments", "sizes", "predicates", "codebooks", "errors", "server_state", "shadowed", "grammar"]
SHADOW_SCHEMA = "hoop_fuzz_shadow"
N_PATIENTS = 5000
N_ENCOUNTERS = 20000

# Ruled columns of the embedded default (scripts/hoop): column -> strategy.
PATIENT_RULES = {
    "first_name": "hash", "last_name": "hash", "date_of_birth": "redact", "ssn": "partial:4",
    "mrn": "hash", "phone": "redact", "email": "redact", "street": "redact", "city": "redact",
    "zip": "redact", "insurance_id": "hash",
}
TEXT_COLS = [c for c in PATIENT_RULES if c != "date_of_birth"]
HASHED_COLS = [c for c, s in PATIENT_RULES.items() if s == "hash"]
NAME_COLS = ["first_name", "last_name"]
# Columns with digits, and an expression of their digits only (p. is the alias).
DIGIT_FORMS = {
    "ssn": ("replace({a}.ssn, '-', '')", 9),
    "mrn": ("substr({a}.mrn, 5)", 8),
    "phone": ("replace({a}.phone, '-', '')", 10),
    "zip": ("{a}.zip", 5),
    "insurance_id": ("substr({a}.insurance_id, 4)", 9),
    "date_of_birth": ("to_char({a}.date_of_birth, 'YYYYMMDD')", 8),
}
INT_DIGIT_COLS = ["ssn", "mrn", "zip", "insurance_id", "date_of_birth"]   # fit an int4


@dataclass
class Case:
    family: str
    shape: str                      # a short name of the query's shape (no values)
    stmts: list[str]
    mode: str = "rows"              # of the last statement: rows | copy | error | plan
    tainted: list[int] = field(default_factory=list)   # columns of the last statement
    codebook: int | None = None     # a statement returning (plain, masked) pairs
    tx: bool = False                # inside a transaction rolled back at the end
    id: int = 0

    @property
    def sql(self) -> str:
        return ";\n".join(self.stmts)


def digits(col: str, a: str = "p") -> str:
    return DIGIT_FORMS[col][0].format(a=a)


def col_text(col: str, a: str = "p") -> str:
    return f"{a}.{col}::text" if col == "date_of_birth" else f"{a}.{col}"


class Gen:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.n = 0

    # --- small helpers ------------------------------------------------------------------
    def pick(self, xs):
        return self.rng.choice(xs)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def rows(self, a: str = "p", maxn: int = 12) -> str:
        """A bounded, deterministic row selection on patients."""
        n = self.rng.randint(1, maxn)
        k = self.rng.randint(1, N_PATIENTS - n)
        return f"{a}.id between {k} and {k + n - 1}"

    def one(self, a: str = "p") -> str:
        return f"{a}.id = {self.rng.randint(1, N_PATIENTS)}"

    def digit_number(self, width: int) -> tuple[str, str]:
        """A column with digits, and `width` of its digits as a number (a whole ZIP)."""
        dc = self.pick(INT_DIGIT_COLS)
        if dc == "zip" and width >= 4:
            return dc, f"{digits(dc)}::int"
        off = self.rng.randint(1, DIGIT_FORMS[dc][1] - width + 1)
        return dc, f"substr({digits(dc)}, {off}, {width})::int"

    def encode(self, x: str, kind: str = "any") -> tuple[str, str]:
        """An encoding of a text expression that the checker can read back."""
        opts = ["raw", "lower", "upper", "digits", "nosep", "reverse", "hex", "base64", "codes", "spaced"]
        if kind == "name":
            opts = ["raw", "lower", "upper", "reverse", "hex", "base64", "codes", "spaced"]
        e = self.pick(opts)
        return {
            "raw": x,
            "lower": f"lower({x})",
            "upper": f"upper({x})",
            "digits": f"regexp_replace({x}, '[^0-9]', '', 'g')",
            "nosep": f"regexp_replace({x}, '[^A-Za-z0-9]', '', 'g')",
            "reverse": f"reverse({x})",
            "hex": f"encode(convert_to({x}, 'UTF8'), 'hex')",
            "base64": f"encode(convert_to({x}, 'UTF8'), 'base64')",
            "codes": f"array_to_string(array(select ascii(substr({x}, i, 1)) from generate_series(1, length({x})) i), ',')",
            "spaced": f"regexp_replace({x}, '(.)', '\\1 ', 'g')",
        }[e], e

    def place(self, family: str, shape: str, items: list[tuple[str, bool]], where: str | None = None,
              contexts: list[str] | None = None, pre: list[str] | None = None, tx: bool = False,
              mode: str = "rows", srf: bool = False) -> Case:
        """Puts select-list items (sql, tainted) over `patients p` into one of the
        clauses/contexts of the grammar; the items may use the alias p."""
        where = where or self.rows()
        ctxs = contexts or ["plain", "plain", "subquery", "cte", "lateral", "scalar", "union", "order_by",
                            "where", "join", "copy", "explain", "json", "array", "window", "agg"]
        if srf:     # a set-returning function: not in WHERE, ORDER BY, aggregates, windows
            ctxs = [c for c in ctxs if c in ("plain", "subquery", "cte", "union", "copy", "explain", "lateral", "json", "array")] or ["plain"]
        ctx = self.pick(ctxs)
        exprs = [e for e, _ in items]
        taint = [i for i, (_, t) in enumerate(items) if t]
        cols = ", ".join(f"{e} as c{i}" for i, e in enumerate(exprs))
        outs = ", ".join(f"s.c{i}" for i in range(len(exprs)))
        stmt = None
        if ctx == "plain":
            stmt = f"select {cols} from patients p where {where} order by p.id"
        elif ctx == "subquery":
            stmt = f"select {outs} from (select p.id, {cols} from patients p where {where}) s order by s.id"
        elif ctx == "cte":
            m = " materialized" if self.chance(0.5) else ""
            stmt = f"with s as{m} (select p.id, {cols} from patients p where {where}) select {outs} from s order by s.id"
        elif ctx == "lateral":
            stmt = f"select {outs} from patients p cross join lateral (select {cols}) s where {where} order by p.id"
        elif ctx == "scalar":
            if len(exprs) == 1:
                stmt = (f"select (select {exprs[0]} from patients p where p.id = e.patient_id) as c0 "
                        f"from encounters e where {where.replace('p.id', 'e.id')} order by e.id")
            else:
                ctx = "plain"
                stmt = f"select {cols} from patients p where {where} order by p.id"
        elif ctx == "union":
            w2 = self.rows()
            stmt = (f"select {outs} from (select p.id, {cols} from patients p where {where} "
                    f"union all select p.id, {cols} from patients p where {w2}) s order by s.id")
        elif ctx == "order_by":
            stmt = f"select {cols} from patients p where {where} order by {exprs[0]}, p.id"
        elif ctx == "where":
            stmt = f"select {cols} from patients p where {where} and ({exprs[0]}) is not null order by p.id"
        elif ctx == "join":
            stmt = (f"select {cols} from encounters e join patients p on p.id = e.patient_id "
                    f"where {where.replace('p.id', 'e.id')} order by e.id")
        elif ctx == "copy":
            stmt = f"copy (select {cols} from patients p where {where} order by p.id) to stdout"
            if self.chance(0.3):
                stmt += " with (format csv)"
            mode = "copy" if mode == "rows" else mode
        elif ctx == "explain":
            stmt = f"explain (analyze, verbose, costs off, timing off) select {cols} from patients p where {where}"
            mode = "plan" if mode == "rows" else mode
            taint = []
        elif ctx == "json":
            stmt = (f"select json_build_object({', '.join(f''''c{i}', {e}''' for i, e in enumerate(exprs))}) "
                    f"from patients p where {where} order by p.id")
            taint = [0] if len(taint) == len(exprs) else []   # one column: equal only if nothing was masked
        elif ctx == "array":
            stmt = (f"select array[{', '.join(f'({e})::text' for e in exprs)}] as c "
                    f"from patients p where {where} order by p.id")
            taint = [0] if len(taint) == len(exprs) else []
        elif ctx == "window":
            w = self.pick(["lag({e}, 0)", "first_value({e})", "last_value({e})", "nth_value({e}, 1)"])
            stmt = (f"select {', '.join(w.format(e=e) + ' over (partition by p.id order by p.id) as c' + str(i) for i, e in enumerate(exprs))} "
                    f"from patients p where {where} order by p.id")
        elif ctx == "agg":
            a = self.pick(["min(({e})::text)", "max(({e})::text)", "string_agg(({e})::text, ',')"])
            stmt = (f"select {', '.join(a.format(e=e) + ' as c' + str(i) for i, e in enumerate(exprs))} "
                    f"from patients p where {where} group by p.id order by p.id")
        c = Case(family, f"{shape} @{ctx}", (pre or []) + [stmt], mode=mode, tainted=taint, tx=tx)
        return c

    # --- families ---------------------------------------------------------------------------
    def fragments(self) -> Case:
        # Mostly the column whose rule keeps part of a value (partial): its pieces are
        # what the family is about; redacted and hashed columns now and then (a piece
        # of a hashed one is a codebook's business).
        col = "ssn" if self.chance(0.6) else self.pick(TEXT_COLS + ["date_of_birth"])
        x = col_text(col)
        r = self.rng.randint
        kind = self.pick(["substr", "left", "right", "split_part", "regexp_substr", "regexp_match",
                          "regexp_matches", "substring_from", "string_to_array", "overlay", "tile", "tile",
                          "split_table"])
        if kind == "tile":
            # The whole value in 2-4 pieces on one row: each piece alone looks harmless.
            k = r(2, 4)
            bounds = sorted(self.rng.sample(range(2, 12), k - 1))
            pieces, start = [], 1
            for b in bounds:
                pieces.append(self.pick([f"substr({x}, {start}, {b - start})", f"substring({x} from {start} for {b - start})"]))
                start = b
            pieces.append(self.pick([f"substr({x}, {start})", f"right({x}, -{start - 1})"]))
            if self.chance(0.4):
                pieces[0] = f"left({x}, {bounds[0] - 1})"
            return self.place("fragments", f"tile{k}({col})", [(p, True) for p in pieces],
                              contexts=["plain", "subquery", "cte", "lateral", "copy", "window", "agg", "union"])
        if kind == "split_table":
            sep = {"email": "@", "street": " ", "date_of_birth": "-"}.get(col, "-")
            return Case("fragments", f"regexp_split_to_table({col}) @plain",
                        [f"select regexp_split_to_table({x}, '{sep}') as c0 from patients p where {self.one()}"],
                        tainted=[0])
        e = {
            "substr": f"substr({x}, {r(1, 6)}, {r(1, 4)})",
            "left": f"left({x}, {r(1, 4)})",
            "right": f"right({x}, {r(1, 4)})",
            "split_part": f"split_part({x}, '{self.pick(['-', '@', ' ', '.'])}', {r(1, 3)})",
            "regexp_substr": f"regexp_substr({x}, '[0-9A-Za-z]+', 1, {r(1, 3)})",
            "regexp_match": f"(regexp_match({x}, '^(.{{{r(1, 3)}}})'))[1]",
            "regexp_matches": f"(regexp_matches({x}, '(.{{1,{r(2, 3)}}})', 'g'))[1]",
            "substring_from": f"substring({x} from '^.{{{r(2, 4)}}}')",
            "string_to_array": f"(string_to_array({x}, '{self.pick(['-', ' ', '@'])}'))[{r(1, 3)}]",
            "overlay": f"overlay({x} placing '' from {r(3, 6)} for 40)",
        }[kind]
        return self.place("fragments", f"{kind}({col})", [(e, True)], srf=kind == "regexp_matches")

    def sizes(self) -> Case:
        col = self.pick(TEXT_COLS)
        x = col_text(col)
        r = self.rng.randint
        kind = self.pick(["length", "octet_length", "bit_length", "ascii", "position", "strpos", "get_byte",
                          "chr_ascii", "digit_value", "count_distinct", "count_series", "regexp_count",
                          "array_length", "codes_row", "chr_row", "digits_number", "bytes_row", "position_row",
                          "count_codes_row", "count_digits_row", "count_codes_row", "count_digits_row",
                          "count_whole", "count_matches", "count_distinct", "sum_ones"])
        if kind in ("count_codes_row", "count_digits_row", "position_row"):
            # count(*) of a set as large as a character's code (or a digit's value), or
            # a digit's position in '0123456789': one number a column, the row spells it.
            if kind == "count_codes_row":
                f, n, src = "(select count(*) from generate_series(1, ascii(substr({x}, {i}, 1))))", 14, col
            else:
                src = self.pick(list(DIGIT_FORMS))
                x = digits(src)
                n = DIGIT_FORMS[src][1]
                f = ("(select count(*) from generate_series(1, ascii(substr({x}, {i}, 1)) - 48))"
                     if kind == "count_digits_row" else "strpos('0123456789', substr({x}, {i}, 1)) - 1")
            items = [(f.format(x=x, i=i), True) for i in range(1, n + 1)]
            return self.place("sizes", f"{kind}({src})", items,
                              contexts=["plain", "subquery", "cte", "lateral", "copy", "union", "json", "array"])
        if kind == "count_whole":
            dc = self.pick(["zip", "zip", "ssn", "mrn", "insurance_id"])
            d = digits(dc)
            part = f"{d}::int" if dc == "zip" else f"substr({d}, {r(1, 4)}, 5)::int"
            return Case("sizes", f"count(series as large as {dc})",
                        [f"select p.id, (select count(*) from generate_series(1, {part})) as c1 "
                         f"from patients p where {self.rows(maxn=3)} order by p.id"], tainted=[1])
        if kind == "sum_ones":
            # An aggregate of constants over a set as large as a value.
            dc = self.pick(["zip", "ssn", "mrn"])
            d = digits(dc)
            agg = self.pick(["sum(1)", "max(1) * count(*)", "array_length(array_agg(1), 1)", "sum(g.g * 0 + 1)"])
            return Case("sizes", f"{agg.split('(')[0]} over series of {dc}",
                        [f"select (select {agg} from generate_series(1, substr({d}, {r(1, 3)}, 4)::int) g) as c0 "
                         f"from patients p where {self.rows(maxn=4)} order by p.id"], tainted=[0])
        if kind == "count_matches":
            ch = self.pick(list("0123456789aeiou"))
            return self.place("sizes", f"count(regexp_matches({col}))",
                              [(f"(select count(*) from regexp_matches({x}, '{ch}', 'g'))", True)])
        if kind in ("codes_row", "chr_row", "bytes_row"):
            # One number (or character) per position, one column each: the row spells it.
            n = 12
            f = {"codes_row": "ascii(substr({x}, {i}, 1))",
                 "chr_row": "chr(nullif(ascii(substr({x}, {i}, 1)), 0) + 0)",
                 "bytes_row": "get_byte(convert_to(rpad({x}, 12), 'UTF8'), {i0})"}[kind]
            items = [(f.format(x=x, i=i, i0=i - 1), True) for i in range(1, n + 1)]
            return self.place("sizes", f"{kind}({col})", items,
                              contexts=["plain", "subquery", "cte", "lateral", "copy", "union"])
        if kind == "digits_number":
            dc = self.pick(INT_DIGIT_COLS)
            d = digits(dc)
            n = DIGIT_FORMS[dc][1]
            e = " + ".join(f"(ascii(substr({d}, {i}, 1)) - 48) * {10 ** (n - i)}::bigint" for i in range(1, n + 1))
            return self.place("sizes", f"digit_arithmetic({dc})", [(e, True)])
        if kind == "count_distinct":
            n = r(1, 11)
            return Case("sizes", f"count(distinct substr({col}))",
                        [f"select p.id, count(distinct substr({x}, g, {n})) as c1 from patients p, generate_series(1, 12) g "
                         f"where {self.rows()} group by p.id order by p.id"], tainted=[1])
        if kind == "count_series":
            dc = self.pick(["zip", "ssn", "mrn"])
            d = digits(dc)
            return Case("sizes", f"count(series of {dc})",
                        [f"select (select count(*) from generate_series(1, substr({d}, {r(1, 3)}, 4)::int)) as c0 "
                         f"from patients p where {self.rows(maxn=4)} order by p.id"], tainted=[0])
        i = r(1, 8)
        e = {
            "length": f"length({x})", "octet_length": f"octet_length({x})", "bit_length": f"bit_length({x})",
            "ascii": f"ascii(substr({x}, {i}, 1))",
            "position": f"position('{self.pick(list('0123456789aeiou-@ '))}' in {x})",
            "strpos": f"strpos({x}, '{self.pick(list('0123456789aeiou'))}')",
            "get_byte": f"get_byte(convert_to(rpad({x}, 12), 'UTF8'), {i - 1})",
            "chr_ascii": f"chr(nullif(ascii(substr({x}, {i}, 1)), 0) + 0)",
            "digit_value": f"ascii(substr({x}, {i}, 1)) - 48",
            "regexp_count": f"regexp_count({x}, '[{self.pick(['0-4', '5-9', 'a-m', 'aeiou'])}]')",
            "array_length": f"array_length(string_to_array({x}, NULL), 1)",
        }[kind]
        return self.place("sizes", f"{kind}({col})", [(e, True)])

    def predicates(self) -> Case:
        kind = self.pick(["lateral_alias", "where_equal", "series_join", "digit_join", "char_join",
                          "correlated", "exists", "in_list", "date_join", "digit_join", "char_join",
                          "order_limit", "rank_derived", "having", "distinct_on", "flag", "lateral_filter"])
        r = self.rng.randint
        w = self.rows(maxn=5)
        if kind == "lateral_alias":
            col = self.pick(TEXT_COLS)
            x, enc = self.encode(f"p.{col}")
            return Case("predicates", f"lateral alias({col}) enc={enc}",
                        [f"select s.x from patients p join lateral (select {x} as x) s on true where {w} order by p.id"],
                        tainted=[0])
        if kind == "where_equal":
            col = self.pick(TEXT_COLS)
            k = r(1, N_PATIENTS)
            return Case("predicates", f"where a.v = (select {col})",
                        [f"select a.v from (select {col} v from patients) a "
                         f"where a.v = (select {col} from patients where id = {k})"], tainted=[0])
        if kind in ("flag", "lateral_filter"):
            # One row per candidate g, and a flag (or a LATERAL sub-select's rows) that
            # the value chooses: the row where it is set is the value.
            dc, num = self.digit_number(3)
            k = r(1, N_PATIENTS)
            cond = f"p.id = {k} and {num} = g"
            if kind == "flag":
                f = self.pick([f"exists (select 1 from patients p where {cond})",
                               f"(select 1 from patients p where {cond})",
                               f"g in (select {num} from patients p where p.id = {k})"])
                sql = f"select g, coalesce(({f})::text, '-') as f from generate_series(0, 999) g order by g"
                return Case("predicates", f"flag per candidate({dc} digits)", [sql], tainted=[1])
            j = self.pick(["cross join lateral", ", lateral"])
            sql = (f"select g from generate_series(0, 999) g {j} (select 1 from patients p where {cond}"
                   f"{self.pick(['', ' limit 1'])}) x order by g")
            return Case("predicates", f"lateral filter({dc} digits)", [sql], tainted=[0])
        if kind in ("order_limit", "rank_derived", "having", "distinct_on"):
            # Rows chosen by an order, a rank computed in a derived table or CTE, or HAVING:
            # the chosen g is the value.
            dc, num = self.digit_number(4)
            k = r(1, N_PATIENTS)
            v = f"(select {num} from patients p where p.id = {k})"
            if kind == "order_limit":
                sql = f"select g from generate_series(0, 99999) g order by abs(g - {v}) limit 1"
            elif kind == "distinct_on":
                sql = f"select distinct on (g >= 0) g from generate_series(0, 99999) g order by g >= 0, abs(g - {v})"
            elif kind == "having":
                sql = f"select g from generate_series(0, 99999) g group by g having g = {v}"
            else:
                win = self.pick(["rank()", "row_number()", "dense_rank()"])
                inner = f"select g, {win} over (order by abs(g - {v})) r from generate_series(0, 99999) g"
                sql = self.pick([f"select s.g from ({inner}) s where s.r = 1",
                                 f"with s as ({inner}) select g from s where r = 1"])
            return Case("predicates", f"{kind}({dc} digits)", [sql], tainted=[0])
        if kind in ("series_join", "correlated", "exists", "in_list"):
            dc, num = self.digit_number(5)
            if kind == "series_join":
                sql = f"select g from patients p join generate_series(0, 99999) g on g = {num} where {w} order by p.id"
            elif kind == "correlated":
                sql = f"select (select g from generate_series(0, 99999) g where g = {num}) as c0 from patients p where {w} order by p.id"
            elif kind == "exists":
                sql = f"select g from generate_series(0, 99999) g where exists (select 1 from patients p where {w} and {num} = g) order by g"
            else:
                sql = f"select g from generate_series(0, 99999) g where g in (select {num} from patients p where {w}) order by g"
            return Case("predicates", f"{kind}({dc} digits)", [sql], tainted=[0])
        if kind == "digit_join":
            dc = self.pick(list(DIGIT_FORMS))
            d = digits(dc)
            n = DIGIT_FORMS[dc][1]
            out = self.pick(["number", "text"])
            agg = (f"sum(t.g * 10::numeric ^ ({n} - i))::bigint" if out == "number"
                   else f"string_agg(t.g::text, '{self.pick(['', ' ', ','])}' order by i)")
            return Case("predicates", f"digit join({dc}) -> {out}",
                        [f"select p.id, {agg} as v from patients p cross join generate_series(1, {n}) i "
                         f"join generate_series(0, 9) t(g) on t.g::text = substr({d}, i, 1) where {w} "
                         f"group by p.id order by p.id"], tainted=[1])
        if kind == "char_join":
            col = self.pick(TEXT_COLS)
            enc = self.pick(["chars", "codes", "lower", "hex", "spaced"])
            agg = {"chars": "string_agg(c.ch, '' order by i)",
                   "codes": "string_agg(ascii(c.ch)::text, ',' order by i)",
                   "lower": "lower(string_agg(c.ch, '' order by i))",
                   "hex": "encode(convert_to(string_agg(c.ch, '' order by i), 'UTF8'), 'hex')",
                   "spaced": "string_agg(c.ch, ' ' order by i)"}[enc]
            return Case("predicates", f"char join({col}) -> {enc}",
                        [f"select p.id, {agg} as v from patients p cross join generate_series(1, 40) i "
                         f"join (select chr(g) ch from generate_series(32, 126) g) c on c.ch = substr(p.{col}, i, 1) "
                         f"where {w} group by p.id order by p.id"], tainted=[1])
        # date_join: calendar days equal to a date of birth
        out = self.pick(["to_char(c.d, 'YYYYMMDD')::int", "c.d", "to_char(c.d, 'MM/DD/YYYY')", "c.d::text",
                         "encode(convert_to(c.d::text, 'UTF8'), 'hex')"])
        return Case("predicates", f"calendar join(date_of_birth) -> {out}",
                    [f"select {out} as c0 from (select date '1930-01-01' + g as d from generate_series(0, 33000) g) c "
                     f"join patients p on p.date_of_birth = c.d where {w} order by p.id"], tainted=[0])

    def codebooks(self) -> Case:
        col = self.pick(HASHED_COLS + ["name"])
        table, a = ("providers", "v") if col == "name" else ("patients", "p")
        x = f"{a}.{col}"
        fn = self.pick(["text", "text", "ascii", "upper"])
        alphabet = "generate_series(32, 126)"
        pair = {"text": f"substr({x}, 1, 0) || chr(d.g)",
                "upper": f"upper(substr({x}, 1, 0) || chr(d.g))",
                "ascii": f"ascii(substr({x}, 1, 0) || chr(d.g))"}[fn]
        book = (f"select chr(d.g) as plain, {pair} as masked from (select {col} from {table} order by id limit 1) {a}, "
                f"{alphabet} d(g)")
        frag = {"text": "substr({x}, {i}, 1)", "upper": "upper(substr({x}, {i}, 1))",
                "ascii": "ascii(substr({x}, {i}, 1))"}[fn]
        if fn == "upper":
            book = book.replace("chr(d.g) as plain", "upper(chr(d.g)) as plain")
        n = 12
        items = [frag.format(x=x, i=i) for i in range(1, n + 1)]
        k = self.rng.randint(1, 140 if table == "providers" else N_PATIENTS - 10)
        ctx = self.pick(["plain", "subquery", "cte", "lateral"])
        cols = ", ".join(f"{e} as c{i}" for i, e in enumerate(items))
        where = f"{a}.id between {k} and {k + self.rng.randint(0, 8)}"
        if ctx == "plain":
            q = f"select {cols} from {table} {a} where {where} order by {a}.id"
        elif ctx == "subquery":
            q = f"select s.* from (select {a}.id, {cols} from {table} {a} where {where}) s order by s.id"
        elif ctx == "cte":
            q = f"with s as (select {a}.id, {cols} from {table} {a} where {where}) select * from s order by id"
        else:
            q = f"select s.* from {table} {a} cross join lateral (select {cols}) s where {where} order by {a}.id"
        return Case("codebooks", f"{fn} of 1 char of {col} @{ctx}", [book, q], codebook=0,
                    tainted=list(range(len(items)) if ctx in ("plain", "lateral") else range(1, len(items) + 1)))

    def errors(self) -> Case:
        r = self.rng.randint
        dc = self.pick(INT_DIGIT_COLS)
        d = digits(dc)
        nc = self.pick(NAME_COLS + ["email", "city", "street"])
        n = f"lower(p.{nc})"
        kind = self.pick(["chr", "make_date", "get_byte", "set_byte", "xml_content", "xml_document", "xml_name",
                          "json", "cast_int", "array_literal", "dyn_notice", "dyn_error", "unique", "check",
                          "convert_from", "make_timestamp", "xml_content", "chr", "make_date", "guc_value", "guc_name"])
        if kind in ("chr", "make_timestamp") and dc == "zip":   # a ZIP is a valid code point and year
            dc = self.pick(["ssn", "mrn", "insurance_id"])
            d = digits(dc)
        guc = self.pick(["statement_timeout", "work_mem", "DateStyle", "TimeZone", "client_encoding"])
        gv = self.pick([n, d + " || 'x'"])
        e = {
            "chr": f"chr({d}::int)",
            "make_date": f"make_date(2000, {d}::int, 1)",
            "make_timestamp": f"make_timestamp({d}::int, 1, 1, 0, 0, 0)",
            "get_byte": f"get_byte('\\x00'::bytea, {d}::int)",
            "set_byte": f"set_byte('\\x00'::bytea, {d}::int, 1)",
            "xml_content": f"xmlparse(content '<a>' || {self.pick([n, d])} || '</b>')",
            "xml_document": f"xmlparse(document {self.pick([n, d])})",
            "xml_name": f"xmlparse(content '<' || {n} || ' x=>')",
            "json": f"('[' || {n} || ']')::json",
            "cast_int": f"({self.pick([n, d + ' || ' + repr('x')])})::int",
            "array_literal": f"('{{' || {d} || ',}}')::int[]",
            "guc_value": f"set_config('{guc}', {gv}, false)",
            "guc_name": f"set_config('{self.pick(['x.', 'hoop.', ''])}' || {n}, 'v', false)",
            "convert_from": f"convert_from('\\xf0'::bytea || convert_to(substr({self.pick([n, d])}, {r(1, 4)}, 3), 'UTF8'), 'UTF8')",
        }.get(kind)
        src = dc if e and d in e else nc
        if kind in ("dyn_notice", "dyn_error"):
            v = self.pick([n, f"'t' || {d}"])
            src = dc if d in v else nc
            body = ("execute format('drop table if exists %I', v)" if kind == "dyn_notice"
                    else self.pick(["execute format('select * from %I', v)", "execute format('select %L::int', v)",
                                    "perform set_config(v, 'x', false)", "perform nextval(v)"]))
            sql = (f"do $$ declare v text; begin select {v} into v from patients p where {self.one()}; "
                   f"{body}; end $$")
            return Case("errors", f"{kind}: {body.split('(')[0]}({src})", [sql],
                        mode="notice" if kind == "dyn_notice" else "error")
        if kind in ("unique", "check"):
            k = r(1, N_PATIENTS)
            if kind == "unique":
                return Case("errors", f"unique violation ({dc})",
                            ["create temp table fz (k text primary key)",
                             f"insert into fz select {d} from patients p where p.id = {k}",
                             f"insert into fz select {d} from patients p where p.id = {k}"], mode="error", tx=True)
            return Case("errors", f"check violation ({nc})",
                        ["create temp table fz (k text check (k like '#%'))",
                         f"insert into fz select {n} from patients p where p.id = {k}"], mode="error", tx=True)
        w = self.one()
        clause = self.pick(["select", "select", "where", "join", "order_by", "cte", "explain", "copy", "subquery"])
        if clause == "select":
            sql = f"select {e} from patients p where {w}"
        elif clause == "where":
            sql = f"select p.id from patients p where {w} and ({e}) is not null"
        elif clause == "join":
            sql = f"select e.id from encounters e join patients p on p.id = e.patient_id and ({e}) is not null where {w}"
        elif clause == "order_by":
            sql = f"select p.id from patients p where {w} order by ({e})::text"
        elif clause == "cte":
            sql = f"with t as materialized (select {e} as v from patients p where {w}) select count(*) from t"
        elif clause == "subquery":
            sql = f"select (select {e} from patients p where {w}) as v"
        elif clause == "explain":
            sql = f"explain (analyze, verbose) select {e} from patients p where {w}"
        else:
            sql = f"copy (select {e} from patients p where {w}) to stdout"
        return Case("errors", f"{kind}({src}) in {clause}", [sql], mode="error")

    def server_state(self) -> Case:
        r = self.rng.randint
        w = self.one()
        kind = self.pick(["custom_setting", "app_name", "numeric_setting", "advisory", "advisory2", "sequence",
                          "relname", "search_path", "app_name", "numeric_setting", "advisory"])
        dc = self.pick(INT_DIGIT_COLS)
        d = digits(dc)
        if kind == "custom_setting":
            col = self.pick(TEXT_COLS)
            x, enc = self.encode(f"p.{col}")
            name = f"fuzz.v{r(1, 999)}"
            read = self.pick([f"show {name}", f"select current_setting('{name}')", f"select current_setting('{name}') || ''",
                              f"select length(current_setting('{name}'))",
                              f"select encode(convert_to(current_setting('{name}'), 'UTF8'), 'hex')"])
            setter = self.pick([f"select count(set_config('{name}', {x}, false)) from patients p where {w}",
                                f"select set_config('{name}', {x}, false) is null from patients p where {w}"])
            return Case("server_state", f"set_config(custom, {col} {enc}) then {read.replace(name, 'NAME')[:45]}",
                        [setter, read], tainted=[0])
        if kind == "app_name":
            col = self.pick(TEXT_COLS)
            x, enc = self.encode(f"p.{col}")
            read = self.pick(["show application_name",
                              "select current_setting('application_name')",
                              "select application_name from pg_stat_activity where pid = pg_backend_pid()",
                              "select application_name || '' from pg_stat_activity where pid = pg_backend_pid()",
                              "select encode(convert_to(application_name, 'UTF8'), 'hex') from pg_stat_activity where pid = pg_backend_pid()",
                              "select setting from pg_settings where name = 'application_name'"])
            return Case("server_state", f"application_name := {col} ({enc}) then {read[:40]}",
                        [f"select count(set_config('application_name', left({x}, 63), false)) from patients p where {w}", read],
                        tainted=[0])
        if kind == "numeric_setting":
            gname = self.pick(["statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout",
                               "work_mem", "maintenance_work_mem"])
            read = self.pick([f"show {gname}", f"select setting from pg_settings where name = '{gname}'",
                              f"select current_setting('{gname}')", f"select setting::bigint + 0 from pg_settings where name = '{gname}'"])
            src = f"({d})::bigint::text"      # no leading zero (read as octal, refused)
            return Case("server_state", f"{gname} := {dc} digits then {read[:30]}",
                        [f"select count(set_config('{gname}', {src}, false)) from patients p where {w}", read], tainted=[0])
        if kind in ("advisory", "advisory2"):
            if kind == "advisory":
                lock = f"pg_advisory_lock({d}::bigint)"
            else:
                lock = f"pg_advisory_lock(substr({d}, 1, 4)::int, substr({d}, 5)::int)"
            read = self.pick(["select classid, objid, objsubid from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()",
                              "select objid::text from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()",
                              "select (classid::bigint << 32) + objid::bigint from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()"])
            return Case("server_state", f"{kind} lock key := {dc} then pg_locks",
                        [f"select count({lock}) from patients p where {w}", read], tainted=[0])
        if kind == "sequence":
            read = self.pick(["select last_value from fz_seq", "select currval('fz_seq')",
                              "select last_value::text from pg_sequences where sequencename = 'fz_seq'"])
            return Case("server_state", f"setval(temp sequence, {dc}) then {read[:30]}",
                        ["create temp sequence fz_seq", f"select setval('fz_seq', {d}::bigint) is null from patients p where {w}", read],
                        tainted=[0], tx=True)
        if kind == "relname":
            v = self.pick([f"lower(p.{self.pick(NAME_COLS)})", f"'t' || {d}", "lower(p.city)"])
            read = self.pick(["select relname from pg_class where relnamespace = pg_my_temp_schema() and relkind = 'r'",
                              "select tablename from pg_tables where schemaname like 'pg_temp%'",
                              "select encode(convert_to(relname::text, 'UTF8'), 'hex') from pg_class where relnamespace = pg_my_temp_schema() and relkind = 'r'"])
            return Case("server_state", f"object named from data then {read[:30]}",
                        [f"do $$ declare v text; begin select {v} into v from patients p where {w}; "
                         f"execute format('create temp table %I (a int)', v); end $$", read], tainted=[0], tx=True)
        # search_path set to a value
        col = self.pick(NAME_COLS + ["city", "ssn"])
        read = self.pick(["show search_path", "select current_setting('search_path')",
                          "select setting from pg_settings where name = 'search_path'"])
        return Case("server_state", f"search_path := {col} then {read[:30]}",
                    [f"select count(set_config('search_path', lower(p.{col}), false)) from patients p where {w}", read],
                    tainted=[0])

    def shadowed(self) -> Case:
        fn = self.pick(["upper(p.id)", "lower(p.id)", "abs(p.id)", "count(p.ssn)", "length(p.id)", "now()",
                        "version()", "random()", "p.id + 0", "upper(p.id)", "p.id + 0", "abs(p.id)"])
        how = self.pick(["set", "set", "set_config", "qualified", "operator"])
        pre = []
        path = f"{SHADOW_SCHEMA}, pg_catalog, public"
        expr = fn
        if how == "set":
            pre = [f"set search_path = {path}"]
        elif how == "set_config":
            pre = [f"select set_config('search_path', '{path}', false)"]
        elif how == "qualified":
            expr = (f"p.id operator({SHADOW_SCHEMA}.+) 0" if fn == "p.id + 0" else f"{SHADOW_SCHEMA}.{fn}")
        else:   # operator syntax, or qualified when it is a function
            expr = (f"p.id operator({SHADOW_SCHEMA}.+) 0" if fn == "p.id + 0" else f"{SHADOW_SCHEMA}.{fn}")
            how = "qualified"
        tainted = fn == "count(p.ssn)"
        c = self.place("shadowed", f"{fn.replace('p.', '')} via {how}", [(expr, tainted)], pre=pre,
                       contexts=["plain", "plain", "subquery", "cte", "lateral", "copy", "union", "agg"],
                       where=self.rows(maxn=4))
        return c

    def grammar(self) -> Case:
        col = self.pick(TEXT_COLS + ["date_of_birth"] * 2)
        x = col_text(col) if self.chance(0.7) or col != "date_of_birth" else "p.date_of_birth"
        typ = "date" if x == "p.date_of_birth" else "text"
        steps = []
        for _ in range(self.rng.randint(1, 3)):
            if typ == "date":
                f = self.pick(["{x} + 0", "date_trunc('day', {x})::date", "({x} - date '1900-01-01')",
                               "extract(epoch from {x})::bigint", "to_char({x}, 'YYYYMMDD')", "to_char({x}, 'FMMonth DD, YYYY')",
                               "{x}::timestamp", "make_date(extract(year from {x})::int, extract(month from {x})::int, extract(day from {x})::int)",
                               "to_json({x})::text", "{x}::text"])
                x = f.format(x=x)
                typ = "text" if ("to_char" in f or "::text" in f) else ("num" if ("epoch" in f or "1900" in f) else "date")
                continue
            if typ == "num":
                x = self.pick(["{x} + 0", "({x})::text", "abs({x})", "{x} * 1"]).format(x=x)
                typ = "text" if "::text" in x[-7:] else "num"
                continue
            f = self.pick([
                "upper({x})", "lower({x})", "initcap({x})", "reverse({x})", "btrim({x})", "replace({x}, '-', '')",
                "translate({x}, '0123456789', 'abcdefghij')", "concat('<', {x}, '>')", "{x} || ''", "format('%s', {x})",
                "quote_literal({x})", "quote_ident({x})", "lpad({x}, 24, '*')", "rpad({x}, 24, '.')", "repeat({x}, 2)",
                "md5({x})", "encode(convert_to({x}, 'UTF8'), 'hex')", "encode(convert_to({x}, 'UTF8'), 'base64')",
                "to_json({x})::text", "jsonb_build_array({x}) ->> 0", "json_build_object('k', {x}) ->> 'k'",
                "(xpath('/a/text()', xmlelement(name a, {x})))[1]::text", "xmlelement(name a, {x})::text",
                "xmlforest({x} as v)::text", "array_to_string(array[{x}, 'y'], ',')", "(array[{x}])[1]",
                "regexp_replace({x}, '(.)', '\\1 ', 'g')", "substr({x}, 1)", "left({x}, 100)",
                "convert_from(convert_to({x}, 'UTF8'), 'UTF8')", "{x}::varchar(40)", "{x}::bpchar", "({x})::name::text",
                "{x} collate \"C\"", "(select {x})", "coalesce({x}, 'n')", "nullif({x}, '')", "case when true then {x} end",
                "greatest({x}, '')", "(select string_agg(t, '') from unnest(array[{x}]) t)",
                "(select jsonb_agg(t) from (select {x}) s(t))::text", "row({x}, 1)::text", "array[{x}]::text",
                "(select v from jsonb_array_elements_text(jsonb_build_array({x})) v)",
                "split_part({x} || '|', '|', 1)", "regexp_replace({x}, '^', '#')",
            ])
            x = f.format(x=x)
        return self.place("grammar", f"chain({col})", [(x, True)])

    def make(self, family: str) -> Case:
        c = getattr(self, family)()
        self.n += 1
        c.id = self.n
        return c


# Objects the shadowed family calls: functions and an operator named like built-ins, in
# SHADOW_SCHEMA, each returning identifiers of the patient (or patients) it is given.
SHADOW_SETUP = [
    f"drop schema if exists {SHADOW_SCHEMA} cascade",
    f"create schema {SHADOW_SCHEMA}",
    f"create function {SHADOW_SCHEMA}.upper(int) returns bigint language sql stable as "
    f"$$ select replace(ssn, '-', '')::bigint from public.patients where id = $1 $$",
    f"create function {SHADOW_SCHEMA}.lower(int) returns text language sql stable as "
    f"$$ select encode(convert_to(first_name || ' ' || last_name, 'UTF8'), 'hex') from public.patients where id = $1 $$",
    f"create function {SHADOW_SCHEMA}.abs(int) returns bigint language sql stable as "
    f"$$ select substr(mrn, 5)::bigint from public.patients where id = $1 $$",
    f"create function {SHADOW_SCHEMA}.length(int) returns text language sql stable as "
    f"$$ select array_to_string(array(select ascii(substr(last_name, i, 1)) from generate_series(1, 20) i), ',') "
    f"from public.patients where id = $1 $$",
    f"create function {SHADOW_SCHEMA}.count(text) returns text language sql immutable as "
    f"$$ select encode(convert_to($1, 'UTF8'), 'hex') $$",
    f"create function {SHADOW_SCHEMA}.now() returns text language sql stable as "
    f"$$ select string_agg(replace(ssn, '-', ''), ' ') from (select ssn from public.patients order by id limit 3) s $$",
    f"create function {SHADOW_SCHEMA}.version() returns text language sql stable as "
    f"$$ select string_agg(encode(convert_to(email, 'UTF8'), 'base64'), ' ') from (select email from public.patients order by id limit 3) s $$",
    f"create function {SHADOW_SCHEMA}.random() returns double precision language sql stable as "
    f"$$ select replace(phone, '-', '')::float8 from public.patients order by id limit 1 $$",
    f"create function {SHADOW_SCHEMA}.plus(int, int) returns bigint language sql stable as "
    f"$$ select replace(ssn, '-', '')::bigint + $2 from public.patients where id = $1 $$",
    f"create operator {SHADOW_SCHEMA}.+ (leftarg = int, rightarg = int, function = {SHADOW_SCHEMA}.plus)",
]
SHADOW_TEARDOWN = [f"drop schema if exists {SHADOW_SCHEMA} cascade"]


def generate(seed: int, count: int, families: list[str] | None = None) -> list[Case]:
    """`count` probes, spread evenly over the families (round robin), deterministic."""
    fams = families or FAMILIES
    for f in fams:
        if f not in FAMILIES:
            raise ValueError(f"unknown family {f!r} (known: {', '.join(FAMILIES)})")
    gen = Gen(seed)
    return [gen.make(fams[i % len(fams)]) for i in range(count)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--family", action="append", help="one of: " + ", ".join(FAMILIES))
    ap.add_argument("--json", action="store_true", help="one JSON object a line")
    a = ap.parse_args(argv)
    fams = [f for arg in a.family or [] for f in arg.split(",")] or None
    for c in generate(a.seed, a.count, fams):
        if a.json:
            print(json.dumps(asdict(c)))
        else:
            print(f"-- #{c.id} {c.family}: {c.shape} (mode {c.mode}, tainted {c.tainted}"
                  f"{', codebook ' + str(c.codebook) if c.codebook is not None else ''}{', tx' if c.tx else ''})")
            print(c.sql + ";\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
