"""The whole-ring PHI leak suite (issue 4): every seeded identifier, every query shape.

The demo database is seeded deterministically (scripts/lib/demo_seed.py), so the test
rebuilds the full set of synthetic identifier values from `generate()`:

- patients: first name, last name, "first last", date of birth (ISO and MM/DD/YYYY),
  SSN (and its 9 bare digits), MRN (and its 8 bare digits), phone, e-mail, street,
  city, ZIP, insurance id;
- providers: name ("First Last, MD", "First Last" and its tokens) and NPI;
- encounters: the date part of admitted_at.

Each query below runs through the gateway with psql (simple protocol, its text output
and stderr) and with psycopg (extended protocol; raw text values, column names, COPY
data, every field of errors and notices), and every returned byte is checked against
that set: names, provider names and cities as whole words (case-insensitive: "Leo"
must not match "Leonard", but LEO and leo are still the name), bare-digit identifiers
(ZIP, NPI, MRN/SSN digits) between non-digits, everything else as a plain substring.

Masked forms are fine and are not matched: "[SSN]" markers, "tok_<hex>" hash tokens
(removed before scanning: their hex digits could spell a ZIP by chance), partial
"***-**-1234", and dates turned into 1 January of the same year (so dates that *are*
1 January are not in the set: they cannot be told from their masked form).

Shape: each query also runs directly (as hoop_gateway) and must return the same number
of rows / COPY lines / notices and the same error state there and through the
gateway, and the direct result must itself contain seeded identifiers (so every query
is a real probe and a gateway that returns nothing cannot pass).

Failure messages name the client, the path (rows, column names, COPY, error, notice)
and the identifier kind, with a short hash of the value, never the value itself.

The views, function and JSON table some queries read are made directly (as
hoop_gateway, the role the gateway runs as: it owns the clinic database) in a schema
of their own, dropped at the end.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from helpers.leakprobe import Q, describe, leaks, run_psql, run_psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts" / "lib"))
import demo_seed  # noqa: E402

SCHEMA = "hoop_leaks"


# --- the seeded identifiers -----------------------------------------------------------

class Identifiers:
    """Every synthetic identifier of the seed, by kind, and a scanner for text."""

    _WORD = re.compile(r"[a-z]+")
    _PAIR = re.compile(r"(?<![a-z])([a-z]+) (?=([a-z]+)(?![a-z]))")
    _DIGITS = re.compile(r"[0-9]+")
    _TOKEN = re.compile(r"tok_[0-9a-f]{8,}")
    # Every substring-kind value has one of these shapes (checked in __init__): each
    # shape's candidates are found at every position (a lookahead, so overlapping and
    # embedded ones are all found) and looked up in the set.
    _SHAPES = [r"\d{4}-\d\d-\d\d", r"\d\d/\d\d/\d{4}", r"\d{3}-\d\d-\d{4}", r"\d{3}-\d{3}-\d{4}",
               r"mrn-\d{8}", r"[a-z]{3}\d{9}",
               r"\d{1,6} [a-z]+ (?:SUFFIXES)"]                     # street: number, name, suffix

    def __init__(self):
        providers, patients, encounters = demo_seed.generate()
        words: dict[str, set[str]] = defaultdict(set)      # one word, letters only, any case
        pairs: dict[str, set[str]] = defaultdict(set)      # two such words and one space
        digits: dict[str, set[str]] = defaultdict(set)     # a whole run of digits
        plain: dict[str, set[str]] = defaultdict(set)      # substrings, any case
        self.skipped_jan1 = 0

        def date(kind: str, iso: str, us: bool = False):
            if iso.endswith("-01-01"):       # indistinguishable from the masked form
                self.skipped_jan1 += 1
                return
            plain[kind].add(iso)
            if us:
                y, m, d = iso.split("-")
                plain[kind + " (MM/DD/YYYY)"].add(f"{m}/{d}/{y}")

        for (_id, mrn, first, last, dob, ssn, phone, email, street, city, _state, zip_, ins) in patients:
            words["patient first name"].add(first)
            words["patient last name"].add(last)
            pairs["patient full name"].add(f"{first} {last}")
            words["city"].add(city)
            date("date of birth", dob, us=True)
            plain["SSN"].add(ssn)
            digits["SSN (bare digits)"].add(ssn.replace("-", ""))
            plain["MRN"].add(mrn)
            digits["MRN (bare digits)"].add(mrn.removeprefix("MRN-"))
            plain["phone"].add(phone)
            plain["email"].add(email)
            plain["street"].add(street)
            digits["ZIP"].add(zip_)
            plain["insurance id"].add(ins)
        for (_id, name, npi, _specialty) in providers:
            first, last = name.removesuffix(", MD").split()
            pairs["provider name"].add(f"{first} {last}")
            words["provider name token"] |= {first, last}
            digits["NPI"].add(npi)
        for e in encounters:
            date("encounter date", e[3][:10])

        def index(group):
            out: dict[str, set[str]] = defaultdict(set)
            for kind, values in group.items():
                for v in values:
                    out[v.lower()].add(kind)
            return dict(out)

        self.words, self.pairs, self.digits, self.plain = map(index, (words, pairs, digits, plain))
        # The scanner's assumptions about the seed's shapes (a guard against a seed change).
        assert all(re.fullmatch(r"[a-z]+", w) for w in self.words)
        assert all(re.fullmatch(r"[a-z]+ [a-z]+", w) for w in self.pairs)
        assert all(re.fullmatch(r"[0-9]+", w) for w in self.digits)
        self._pair_first = {p.split()[0] for p in self.pairs}
        self.count = sum(map(len, (self.words, self.pairs, self.digits, self.plain)))
        domains = {v.split("@", 1)[1] for v in self.plain if "@" in v}
        suffixes = {v.rsplit(" ", 1)[1] for v in self.plain if re.fullmatch(r"\d+ [a-z]+ [a-z]+", v)}

        def alt(words):
            return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))

        self._shape_scan = [re.compile(r"(?=(" + sh.replace("SUFFIXES", alt(suffixes)) + r"))") for sh in self._SHAPES]
        # E-mail: from each "@domain", every local part that ends there.
        self._at = re.compile(r"@(?:" + alt(domains) + r")")
        self._local_max = max(v.index("@") for v in self.plain if "@" in v)
        everything = " | ".join(sorted(self.plain))
        missed = set(self.plain) - {v for _, v in self.scan(everything)}
        assert not missed, f"{len(missed)} seeded values fit none of the scanner's shapes"

    def kinds(self) -> set[str]:
        return {k for index in (self.words, self.pairs, self.digits, self.plain) for ks in index.values() for k in ks}

    def scan(self, text: str, first_only: bool = False) -> list[tuple[str, str]]:
        """(kind, value) of every seeded identifier in text in clear; hash tokens are
        masked values, removed first."""
        text = self._TOKEN.sub("tok_", text).lower()
        found = []

        def hit(index, v):
            found.append(("/".join(sorted(index[v])), v))

        ws = set(self._WORD.findall(text))
        for v in ws & self.words.keys():
            hit(self.words, v)
        if found and first_only:
            return found
        if ws & self._pair_first:
            for m in self._PAIR.finditer(text):
                v = m.group(1) + " " + m.group(2)
                if v in self.pairs:
                    hit(self.pairs, v)
        for v in set(self._DIGITS.findall(text)) & self.digits.keys():
            hit(self.digits, v)
        if found and first_only:
            return found
        for rx in self._shape_scan:
            for m in rx.finditer(text):
                if m.group(1) in self.plain:
                    hit(self.plain, m.group(1))
                    if first_only:
                        return found
        for m in self._at.finditer(text):
            for k in range(1, self._local_max + 1):
                v = text[m.start() - k:m.end()] if m.start() >= k else None
                if v in self.plain:
                    hit(self.plain, v)
                    if first_only:
                        return found
        return found


@pytest.fixture(scope="module")
def ids() -> Identifiers:
    return Identifiers()


# --- the queries ------------------------------------------------------------------------

PAT_COLS = "id, mrn, first_name, last_name, date_of_birth, ssn, phone, email, street, city, state, zip, insurance_id"

QUERIES = [
    # plain
    Q("plain_patient_identifier_columns",
      "select mrn, first_name, last_name, date_of_birth, ssn, phone, email, street, city, zip, insurance_id "
      "from patients order by id"),
    Q("select_star_patients", "select * from patients order by id"),
    Q("select_star_providers", "select * from providers order by id"),
    Q("encounter_notes", "select id, patient_id, note from encounters order by id limit 3000"),
    Q("encounter_admitted_at", "select id, admitted_at, department from encounters order by id limit 1000"),
    Q("patients_where_filter", "select first_name, last_name, ssn, city from patients where city = 'Salem' and last_name like 'H%'"),
    # aliased
    Q("aliased_columns",
      "select p.first_name as a, p.last_name as b, p.ssn as c, p.mrn as d, p.date_of_birth as e "
      "from patients p order by p.id limit 1000"),
    Q("aliased_address", "select p.street as addr, p.city as town, p.zip as postcode, p.phone as tel from patients p limit 1000"),
    Q("join_encounters_patients_providers",
      "select pr.name as doctor, pr.npi, p.first_name, p.last_name, e.admitted_at from encounters e "
      "join patients p on p.id = e.patient_id join providers pr on pr.id = e.provider_id order by e.id limit 1000"),
    # cast
    Q("cast_dob_to_text", "select id, date_of_birth::text as dob from patients order by id"),
    Q("cast_dob_to_timestamp", "select date_of_birth::timestamp from patients order by id limit 1000"),
    Q("to_char_dob_us_format", "select to_char(date_of_birth, 'MM/DD/YYYY') from patients order by id limit 1000"),
    Q("cast_text_columns_to_varchar",
      "select ssn::varchar(20), mrn::char(12), phone::bpchar, email::varchar, insurance_id::name "
      "from patients order by id limit 1000"),
    Q("cast_npi_to_bigint", "select npi::bigint, npi::text from providers order by id"),
    Q("cast_zip_to_int", "select zip::int from patients order by id limit 1000"),
    # concatenated and other expressions
    Q("concat_full_name", "select first_name || ' ' || last_name as full_name from patients order by id"),
    Q("concat_ws_last_first", "select concat_ws(', ', last_name, first_name) from patients order by id limit 1000"),
    Q("format_address_line",
      "select format('%s lives at %s, %s %s', first_name, street, city, zip) from patients order by id limit 1000"),
    Q("concat_identifiers_without_separators", "select mrn || ssn, insurance_id || phone from patients order by id limit 1000"),
    Q("ssn_digits_only", "select replace(ssn, '-', '') from patients order by id limit 1000"),
    Q("upper_lower_names", "select upper(last_name), lower(first_name), initcap(city) from patients order by id limit 1000"),
    Q("case_expression_names",
      "select case when id % 2 = 0 then first_name else last_name end from patients order by id limit 1000"),
    Q("xmlelement_patient",
      "select xmlelement(name patient, xmlattributes(ssn as ssn), first_name || ' ' || last_name) "
      "from patients order by id limit 500"),
    Q("array_constructor", "select array[first_name, last_name, city, ssn] from patients order by id limit 1000"),
    # aggregated
    Q("string_agg_names_by_city",
      "select string_agg(first_name || ' ' || last_name, '; ' order by id) from patients group by city order by city"),
    Q("array_agg_ssn_mrn_by_city", "select array_agg(ssn), array_agg(mrn) from patients group by city order by city"),
    Q("group_by_city", "select city, count(*) from patients group by city order by city"),
    Q("min_max_dob", "select city, min(date_of_birth), max(date_of_birth) from patients group by city order by city"),
    Q("distinct_last_names", "select distinct last_name from patients order by 1"),
    # JSON built and JSON columns
    Q("row_to_json_patients", "select row_to_json(p) from patients p order by p.id"),
    Q("json_build_object",
      "select json_build_object('name', first_name || ' ' || last_name, 'dob', date_of_birth, 'ssn', ssn, "
      "'city', city) from patients order by id limit 1000"),
    Q("jsonb_agg_by_city", "select jsonb_agg(to_jsonb(p) order by p.id) from patients p group by city order by city"),
    Q("json_agg_encounter_notes", "select json_agg(e) from (select id, note from encounters order by id limit 500) e"),
    Q("json_column_select", f"select id, doc from {SCHEMA}.patient_docs order by id"),
    Q("json_column_field_access",
      f"select doc->>'first_name', doc->>'last_name', doc->>'ssn', doc->'date_of_birth', doc->>'city' "
      f"from {SCHEMA}.patient_docs order by id"),
    # composite rows
    Q("whole_row_composite", "select p from patients p order by p.id limit 500", refusal_ok=True),
    # views and functions
    Q("view_select_star", f"select * from {SCHEMA}.patients_v order by id limit 1000"),
    Q("view_with_expressions", f"select * from {SCHEMA}.patient_card order by id"),
    Q("sql_function_scalar", f"select {SCHEMA}.patient_name(id) from patients order by id limit 1000"),
    Q("sql_function_setof", f"select * from {SCHEMA}.all_patients() order by id limit 1000"),
    # subqueries, CTEs, UNION, windows
    Q("subquery_in_from", "select x.n, x.s, x.d from (select first_name n, ssn s, date_of_birth d from patients) x limit 1000"),
    Q("scalar_subquery",
      "select (select last_name from patients p where p.id = e.patient_id), "
      "(select ssn from patients p where p.id = e.patient_id) from encounters e order by e.id limit 500"),
    Q("cte", "with t as (select first_name, last_name, date_of_birth, city from patients) select * from t limit 1000"),
    Q("recursive_cte",
      "with recursive r(n, who) as (select 1, (select first_name || ' ' || last_name from patients where id = 1) "
      "union all select n + 1, (select first_name || ' ' || last_name from patients where id = n + 1) "
      "from r where n < 200) select * from r"),
    Q("union_names_and_cities",
      "select first_name from patients union all select last_name from patients "
      "union all select city from patients union all select name from providers"),
    Q("union_identifiers", "select ssn from patients union select mrn from patients union select npi from providers"),
    Q("window_functions",
      "select first_name, lag(last_name) over w, first_value(city) over w, "
      "last_value(date_of_birth) over w from patients window w as (partition by zip order by id) limit 1000"),
    Q("lateral_join",
      "select p.id, l.v from patients p cross join lateral (values (p.first_name), (p.city), (p.email)) l(v) "
      "order by p.id limit 1500"),
    # COPY
    Q("copy_patients_table", "copy patients to stdout", mode="copy"),
    Q("copy_select_csv_header",
      "copy (select first_name, last_name, ssn, date_of_birth, city from patients order by id) "
      "to stdout with (format csv, header)", mode="copy"),
    Q("copy_encounter_notes", "copy (select id, note from encounters order by id limit 3000) to stdout", mode="copy"),
    Q("psql_backslash_copy_providers", "copy (select * from providers order by id) to stdout", mode="copy",
      psql="\\copy (select * from providers order by id) to stdout\n"),
    Q("psql_backslash_copy_names", "copy (select first_name || ' ' || last_name, city from patients order by id) to stdout",
      mode="copy", psql="\\copy (select first_name || ' ' || last_name, city from patients order by id) to stdout\n"),
    # errors that print values
    Q("error_dob_text_to_int", "select date_of_birth::text::int from patients order by id", mode="error"),
    Q("error_ssn_to_int", "select ssn::int from patients order by id", mode="error"),
    Q("error_first_name_to_int", "select first_name::int from patients order by id", mode="error"),
    Q("error_city_to_date", "select city::date from patients order by id", mode="error"),
    Q("error_full_name_to_numeric", "select (first_name || ' ' || last_name)::numeric from patients order by id", mode="error"),
    Q("error_row_json_to_int", "select to_jsonb(p)::text::int from patients p order by id", mode="error"),
    Q("error_unique_violation_mrn",
      ["insert into patients (id, mrn, first_name, last_name, date_of_birth, ssn) "
       "select 900001, mrn, first_name, last_name, date_of_birth, ssn from patients where id = 1"],
      mode="error", tx=True),
    Q("error_unique_violation_npi",
      ["insert into providers (id, name, npi, specialty) select 90001, name, npi, specialty from providers where id = 1"],
      mode="error", tx=True),
    Q("error_not_null_failing_row",
      [f"insert into patients ({PAT_COLS}) select 900002, 'MRN-00000000', first_name, null, date_of_birth, ssn, "
       "phone, email, street, city, state, zip, insurance_id from patients where id = 3"],
      mode="error", tx=True),
    Q("error_raise_exception_with_detail_and_hint",
      "do $$ declare r patients; begin select * into r from patients where id = 7; "
      "raise exception 'lookup failed for %', r.first_name || ' ' || r.last_name "
      "using detail = r::text, hint = 'try ' || r.email; end $$", mode="error"),
    # notices
    # (One notice a request from code reaches the client: twenty-five patients in one.)
    Q("notice_from_do_block",
      "do $$ begin raise notice '%', (select string_agg(format('patient %s %s born %s lives at %s, %s', "
      "first_name, last_name, date_of_birth, street, city), '; ') from (select * from patients order by id limit 25) p); "
      "end $$", mode="notice"),
    Q("warning_with_row_json",
      "do $$ begin raise warning '%', (select row_to_json(p) from patients p where id = 9) "
      "using detail = (select ssn || ' ' || mrn from patients where id = 9); end $$", mode="notice"),
    # shapes a security review found the lineage trace missing (each leaked before its fix)
    Q("ordered_set_aggregates",
      "select mode() within group (order by last_name), percentile_disc(0.5) within group (order by date_of_birth) "
      "from patients group by city order by city"),
    Q("partial_rename_cte", "with c(x) as (select id, first_name || ' ' || last_name from patients) "
      "select c.x, c.\"?column?\" from c order by x limit 200"),
    Q("alias_reused_inside", "select (select 1 from (select 1 as a) s), s.a || '' from "
      "(select last_name as a from patients order by id limit 200) s"),
    Q("xmltable_in_from", "select t.v from (select * from patients order by id limit 100) p, "
      "xmltable('/a' passing xmlelement(name a, p.last_name) columns v text path '.') t"),
    # (an untraced function: its one value is masked whole, so psql prints fewer lines)
    Q("query_to_xml", "select query_to_xml('select first_name, city from patients order by id limit 50', true, false, '')",
      shape=False),
    Q("star_then_same_table_columns", "select p.*, p.id, p.last_name || '' as n, p.* from patients p order by p.id limit 100"),
    Q("star_over_using_join", "select * from (select first_name || ' ' || last_name as n, id from patients) s "
      "join (select id, city from patients) c using (id) order by id limit 200"),
    Q("json_path_and_functions", f"select doc #>> '{{first_name}}', jsonb_extract_path_text(doc, 'last_name'), "
      f"doc['city'], (select string_agg(value, ',') from jsonb_each_text(doc)) from {SCHEMA}.patient_docs order by id"),
    Q("insert_select_returning", ["create temp table scratch (a text)",
      "insert into scratch select first_name || ' ' || last_name from patients where id <= 100 returning a"], tx=True),
    Q("show_custom_setting", ["select count(set_config('my.v', (select string_agg(last_name, ',') from patients "
      "where id <= 30), false))", "show my.v"]),
    Q("planner_statistics", "select most_common_vals::text from pg_stats where tablename = 'patients'"),
    Q("copy_numeric_delimiter", "copy (select id, first_name, city from patients order by id limit 100) "
      "to stdout (format csv, delimiter 0)", mode="copy"),
    Q("copy_header_zero", "copy (select first_name, city from patients order by id limit 100) "
      "to stdout (format csv, header 0)", mode="copy"),
    Q("error_json_token", "select lower(last_name)::json from patients order by id", mode="error"),
    Q("error_regclass", "select lower(last_name)::regclass from patients order by id", mode="error"),
]


# --- objects the queries read ---------------------------------------------------------

@pytest.fixture(scope="module")
def leak_objects(ring):
    """A view, an SQL function and a JSON column, made as hoop_gateway (directly: only
    the reads go through the gateway)."""
    with ring.connect("direct") as d:
        d.execute(f"drop schema if exists {SCHEMA} cascade")
        d.execute(f"create schema {SCHEMA}")
        d.execute(f"create view {SCHEMA}.patients_v as select * from patients")
        d.execute(f"create view {SCHEMA}.patient_card as select id, first_name || ' ' || last_name as full_name, "
                  "date_of_birth, ssn, street, city, zip from patients")
        d.execute(f"create function {SCHEMA}.patient_name(int) returns text language sql stable as "
                  "$$ select first_name || ' ' || last_name from patients where id = $1 $$")
        d.execute(f"create function {SCHEMA}.all_patients() returns setof patients language sql stable as "
                  "$$ select * from patients $$")
        d.execute(f"create table {SCHEMA}.patient_docs as select id, to_jsonb(p) as doc from patients p "
                  "where id <= 1000")
    yield
    with ring.connect("direct") as d:
        d.execute(f"drop schema if exists {SCHEMA} cascade")


# --- the test -------------------------------------------------------------------------------

def test_identifier_set_is_complete(ids):
    """The set holds every kind the suite promises (a guard against a seed change)."""
    kinds = ids.kinds()
    for kind in ["patient first name", "patient last name", "patient full name", "date of birth", "SSN",
                 "MRN", "phone", "email", "street", "city", "ZIP", "insurance id", "provider name", "NPI",
                 "encounter date"]:
        assert kind in kinds, kind
    assert ids.count > 5 * 5000
    assert ids.scan("nothing here: tok_0123456789abcdef, [SSN], ***-**-1234") == []


@pytest.mark.parametrize("q", QUERIES, ids=[q.id for q in QUERIES])
def test_no_seeded_identifier_comes_back_in_clear(ring, ids, leak_objects, q):
    problems: list[str] = []
    for client, run in (("psql", run_psql), ("psycopg", run_psycopg)):
        direct = run(ring, "direct", q)
        gateway = run(ring, "gateway", q)

        # The query must be a real probe: directly, it shows identifiers.
        assert any(ids.scan(t, first_only=True) for _, t in direct.texts), \
            f"test bug: {client} directly returns no seeded identifier for {q.id}"
        if q.mode == "error":
            assert direct.sqlstate, f"test bug: {client} directly raised no error for {q.id}"
        if q.mode == "notice":
            assert direct.notices, f"test bug: {client} directly got no notice for {q.id}"

        # Masking must keep the result's shape (unless it failed closed where allowed).
        if not (q.refusal_ok and gateway.refused):
            if (gateway.sqlstate is None) != (direct.sqlstate is None) or \
                    (client == "psycopg" and gateway.sqlstate != direct.sqlstate):
                problems.append(f"  {client}: error state {gateway.sqlstate} through the gateway, "
                                f"{direct.sqlstate} directly")
            if q.shape and gateway.count != direct.count:
                problems.append(f"  {client}: {gateway.count} rows/lines through the gateway, {direct.count} directly")
            if gateway.notices != direct.notices:
                problems.append(f"  {client}: {gateway.notices} notices through the gateway, "
                                f"{direct.notices} directly")

        problems += describe(client, leaks(ids, gateway))

    assert not problems, f"{q.id}: seeded identifiers in clear or a broken result:\n" + "\n".join(problems)
