"""Channels that carried PHI through values masking lets through (a hunt with the embedded
default rules, an agent of group clinicians; each read is a key range the rules allow):

- a date computed from pieces of ruled columns kept its own year when masked, so
  `make_date(1000 + split_part(ssn, '-', 1)::int, 1, 1)` carried three SSN digits and the
  day of birth in clear (a stored date still keeps its year: Safe Harbor's);
- a value derived from a hashed column was hashed with the column's key, so a constant the
  query put in its place (a UNION's row, a CASE's or COALESCE's branch) got the token of a
  patient's name: a codebook;
- `x is null` of a computed x, `count(x)`, and EXISTS / IN / count(*) sub-selects that
  answer for each row carried nothing, so ninety such columns gave every SSN digit.

Each test runs the attack through the gateway, checks that it ran (not held), and counts
the real values it recovers, compared with the database directly; never printed.
"""
from __future__ import annotations

import datetime

import pytest

from conftest import default_rules_ring

ring = default_rules_ring("leak-channels")

MODES = ["simple", "extended"]
IDS = "p.id between 1 and 1000"
POS = [1, 2, 3, 5, 6, 8, 9, 10, 11]   # the digits of NNN-NN-NNNN


def gateway_rows(ring, sql, mode="simple", binary=False):
    """Rows through the gateway as the test's user; a hold would leave the test waiting, so
    statements here are ones the rules let run (key ranges within the cap)."""
    with ring.connect("gateway") as gw:
        return gw.cursor(binary=binary).execute(sql, prepare=(mode == "extended")).fetchall()


def direct_rows(ring, sql):
    with ring.connect("direct") as d:
        return d.execute(sql).fetchall()


@pytest.mark.parametrize("mode", MODES)
def test_a_computed_date_keeps_no_year(ring, mode):
    sql = ("select p.id, p.date_of_birth, make_date(1000 + extract(doy from p.date_of_birth)::int, 1, 1), "
           "make_date(1000 + split_part(p.ssn, '-', 1)::int, 1, 1), make_date(1000 + split_part(p.ssn, '-', 2)::int, 1, 1), "
           f"make_timestamp(split_part(p.ssn, '-', 3)::int, 1, 1, 0, 0, 0) from patients p where {IDS}")
    got = gateway_rows(ring, sql, mode)
    real = {i: (dob, ssn) for i, dob, ssn in direct_rows(ring, f"select p.id, p.date_of_birth, p.ssn from patients p where {IDS}")}
    assert len(got) == 1000
    # The stored date keeps its year (the policy; 90 or older as one); the computed ones keep nothing.
    oldest = datetime.date.today().year - 90
    assert all(dob.year == max(real[i][0].year, oldest) and (dob.month, dob.day) == (1, 1) for i, dob, *_ in got)
    decoded_dob = decoded_ssn = 0
    for i, dob, doy, a, g, s in got:
        decoded_dob += datetime.date(dob.year, 1, 1) + datetime.timedelta(days=doy.year - 1001) == real[i][0]
        decoded_ssn += f"{a.year - 1000:03d}-{g.year - 1000:02d}-{s.year:04d}" == real[i][1]
    assert decoded_dob == 0 and decoded_ssn == 0, f"{decoded_dob} dates of birth and {decoded_ssn} SSNs decoded from years"


def test_a_computed_date_keeps_no_year_in_binary_results(ring):
    rows = gateway_rows(ring, f"select p.id, make_date(1000 + extract(doy from p.date_of_birth)::int, 1, 1) from patients p "
                              f"where {IDS}", "extended", binary=True)
    real = dict(direct_rows(ring, f"select p.id, extract(doy from p.date_of_birth)::int from patients p where {IDS}"))
    assert len(rows) == 1000 and sum(1 for i, y in rows if y.year - 1000 == real[i]) == 0


def test_a_guess_in_a_hashed_columns_place_gets_no_patients_token(ring):
    [(name,)] = direct_rows(ring, "select last_name from patients where id = 7")
    [(token,)] = gateway_rows(ring, "select last_name from patients where id = 7")
    assert token.startswith("tok_"), "a table's own hashed column keeps its token"
    forms = [f"select case when id = 0 then last_name else '{name}' end from patients where id = 1",
             f"select coalesce(nullif(last_name, last_name), '{name}') from patients where id = 1",
             f"select last_name from patients where id = 0 union all select '{name}'"]
    same = sum(1 for sql in forms if gateway_rows(ring, sql)[0][0] == token)
    assert same == 0, f"{same} of {len(forms)} forms gave a guessed name the patient's token"
    # A document the query builds, with a member named like the column.
    docs = [f"select json_build_object('last_name', '{name}')", f"select jsonb_build_object('last_name', '{name}')",
            f"select row_to_json(x) from (select '{name}'::text as last_name) x"]
    same = sum(1 for sql in docs if token in str(gateway_rows(ring, sql)[0][0]))
    assert same == 0, f"{same} of {len(docs)} built documents gave a guessed name the patient's token"


BIT_FORMS = {
    "isnull": "nullif(substr(p.ssn, {k}, 1), '{d}') is null",
    "exists": "exists(select 1 from patients q where q.id = p.id and substr(q.ssn, {k}, 1) = '{d}')",
    "in": "p.id in (select q.id from patients q where q.id = p.id and substr(q.ssn, {k}, 1) = '{d}')",
    "count": "(select count(*) from patients q where q.id = p.id and substr(q.ssn, {k}, 1) = '{d}')",
}


def decoded_ssns(rows, real, is_digit) -> int:
    """SSNs read from rows of (id, ninety answers: position by position, digit by digit)."""
    ok = 0
    for r in rows:
        digits = ""
        for i in range(len(POS)):
            hit = [d for j, d in enumerate("0123456789") if is_digit(r[1 + i * 10 + j])]
            digits += hit[0] if len(hit) == 1 else "?"
        ok += f"{digits[:3]}-{digits[3:5]}-{digits[5:]}" == real[r[0]]
    return ok


def digit_columns(ring, form, mode):
    """Rows of an id and ninety columns of `form`, one a position and digit, through the
    gateway; and the real SSNs by id."""
    cols = [form.format(k=k, d=d) for k in POS for d in "0123456789"]
    got = gateway_rows(ring, f"select p.id, {', '.join(cols)} from patients p where {IDS}", mode)
    assert len(got) == 1000
    return got, dict(direct_rows(ring, f"select p.id, p.ssn from patients p where {IDS}"))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("form", sorted(BIT_FORMS))
def test_tests_of_computed_values_carry_no_digits(ring, form, mode):
    got, real = digit_columns(ring, BIT_FORMS[form], mode)
    ok = decoded_ssns(got, real, lambda v: v in (True, 1))
    assert ok == 0, f"{ok} SSNs of {len(got)} patients read from {form} columns"


@pytest.mark.parametrize("form", ["isnull", "count"])
def test_tests_of_a_derived_tables_computed_column_carry_no_digits(ring, form):
    """The same tests of a derived table's (or CTE's) column that is a computed value."""
    inner = ", ".join(f"nullif(substr(p.ssn, {k}, 1), '{d}') d{k}_{d}" for k in POS for d in "0123456789")
    if form == "isnull":
        cols = ", ".join(f"s.d{k}_{d} is null" for k in POS for d in "0123456789")
        sql = f"select s.id, {cols} from (select p.id, {inner} from patients p where {IDS}) s"
        is_digit = lambda v: v in (True, 1)   # noqa: E731
    else:
        cols = ", ".join(f"count(s.d{k}_{d})" for k in POS for d in "0123456789")
        sql = f"with s as (select p.id, {inner} from patients p where {IDS}) select s.id, {cols} from s group by s.id"
        is_digit = lambda v: v == 0   # noqa: E731
    got = gateway_rows(ring, sql)
    real = dict(direct_rows(ring, f"select p.id, p.ssn from patients p where {IDS}"))
    assert len(got) == 1000 and decoded_ssns(got, real, is_digit) == 0


def test_count_of_a_computed_value_carries_no_digits(ring):
    cols = [f"count(nullif(substr(p.ssn, {k}, 1), '{d}'))" for k in POS for d in "0123456789"]
    got = gateway_rows(ring, f"select p.id, {', '.join(cols)} from patients p where {IDS} group by p.id")
    real = dict(direct_rows(ring, f"select p.id, p.ssn from patients p where {IDS}"))
    assert len(got) == 1000
    assert decoded_ssns(got, real, lambda v: v == 0) == 0


# Values computed from pieces whose NULL-ness (or an array's length) is the answer: the
# values themselves were masked, their NULLs were not.
NULL_FORMS = {
    "case_null": "case when substr(p.ssn, {k}, 1) = '{d}' then null else 1 end",
    "case_arg": "case substr(p.ssn, {k}, 1) when '{d}' then null else 1 end",
    "nullif": "nullif(substr(p.ssn, {k}, 1), '{d}')",
    "no_row": "(select 1 where substr(p.ssn, {k}, 1) = '{d}')",
    "subscript": "(array[1])[case when substr(p.ssn, {k}, 1) = '{d}' then 2 else 1 end]",
    "array_length": "array_fill(0, array[case when substr(p.ssn, {k}, 1) = '{d}' then 0 else 1 end])",
}


def decoded_by_odd_value(rows, real) -> int:
    """decoded_ssns where a position's digit is the one of its ten columns whose value
    differs from the other nine's in that row (NULL among values, or the other way)."""
    def odd(row):
        marks = []
        for i in range(len(POS)):
            group = [repr(v) for v in row[1 + i * 10:11 + i * 10]]
            marks += [group.count(v) == 1 for v in group]
        return (row[0], *marks)
    return decoded_ssns([odd(r) for r in rows], real, bool)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("form", sorted(NULL_FORMS))
def test_nulls_of_computed_values_carry_no_digits(ring, form, mode):
    got, real = digit_columns(ring, NULL_FORMS[form], mode)
    ok = decoded_by_odd_value(got, real)
    assert ok == 0, f"{ok} SSNs of {len(got)} patients read from the NULLs of {form} columns"


@pytest.mark.parametrize("form", ["nullif(p.last_name, '{n}')", "case p.last_name when '{n}' then null else 1 end"])
def test_nulls_of_a_names_comparisons_carry_no_names(ring, form):
    """A column per guessed name, NULL where it is the patient's: a codebook."""
    names = [n for (n,) in direct_rows(ring, "select distinct last_name from patients order by 1 limit 150")]
    cols = ", ".join(form.format(n=n.replace("'", "''")) for n in names)
    got = gateway_rows(ring, f"select p.id, {cols} from patients p where {IDS}")
    real = dict(direct_rows(ring, f"select p.id, p.last_name from patients p where {IDS}"))
    found = sum(1 for r in got if [names[j] for j, v in enumerate(r[1:]) if v is None] == [real[r[0]]])
    assert len(got) == 1000 and found == 0, f"{found} names of {len(got)} patients read from NULLs"


ORDER_FORMS = {
    "order_by": f"select p.id from patients p where {IDS} order by substr(p.ssn, 5, 1), p.id",
    "window_order": f"select p.id, row_number() over (order by substr(p.ssn, 5, 1), p.id) from patients p where {IDS}",
    "window_partition": f"select p.id, lag(p.id) over (partition by substr(p.ssn, 5, 1) order by p.id) from patients p where {IDS}",
    "named_window": f"select p.id, count(*) over w from patients p where {IDS} window w as (order by ascii(substr(p.ssn, 5)))",
    "derived_table": f"select s.id from (select p.id from patients p where {IDS} order by substr(p.ssn, 5, 1), p.id) s",
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("form", sorted(ORDER_FORMS))
def test_rows_sorted_by_a_piece_carry_it(ring, form, mode):
    """Rows sorted by a digit of the SSN came back as runs of rising ids, one a digit:
    every patient's digit from the order alone. Every column of such rows carries the
    piece, so the rows look alike."""
    got = gateway_rows(ring, ORDER_FORMS[form], mode)
    assert len(got) == 1000
    assert len(set(got)) == 1, f"{form}: {len(set(got))} different rows in an order made by an SSN digit"


@pytest.mark.parametrize("form", ["join", "lateral"])
def test_the_nulls_of_an_outer_join_carry_its_condition(ring, form):
    """A column per digit from an outer join whose condition tests it: NULL or 1 was the
    last SSN digit of every patient (the review's). Every column of such a select carries
    the condition's piece."""
    if form == "join":
        joins = " ".join(f"left join (select 1 k) x{d} on substr(p.ssn, 11, 1) = '{d}'" for d in "0123456789")
    else:
        joins = " ".join(f"left join lateral (select 1 k where substr(p.ssn, 11, 1) = '{d}') x{d} on true" for d in "0123456789")
    got = gateway_rows(ring, f"select p.id, {', '.join(f'x{d}.k' for d in '0123456789')} from patients p {joins} where {IDS}")
    real = dict(direct_rows(ring, f"select p.id, substr(p.ssn, 11, 1) from patients p where {IDS}"))
    decoded = sum(1 for r in got if [d for d, v in zip("0123456789", r[1:]) if v is not None] == [real.get(r[0])])
    assert len(got) == 1000 and decoded == 0, f"{decoded} last digits of {len(got)} patients read from an outer join's NULLs"


def test_an_outer_join_or_an_order_over_unruled_columns_keeps_tokens(ring):
    """The control: joined or sorted by what no rule masks, a hashed column keeps its
    token and the rest passes (a list of patients and their visits)."""
    sql = ("select p.id, p.last_name, e.id from patients p left join encounters e on e.patient_id = p.id "
           f"where {IDS} order by e.diagnosis_code, p.id, e.id limit 50")
    got = gateway_rows(ring, sql)
    real = direct_rows(ring, sql)
    assert [(r[0], r[2]) for r in got] == [(r[0], r[2]) for r in real]
    assert all(str(r[1]).startswith("tok_") for r in got), got[:3]


def test_a_limit_made_of_a_value_carries_it(ring):
    """`count(*)` over a sub-select LIMITed by a character's code was that code, in clear:
    every SSN, date of birth and name in one statement (a hunt)."""
    sql = (f"select p.id, (select count(*) from (select 1 from generate_series(1, 200) g "
           f"limit ascii(substr(p.ssn, 5, 1))) x), (select count(*) from (select 1 from generate_series(1, 200) g "
           f"offset 200 - ascii(substr(p.ssn, 5, 1))) y) from patients p where {IDS}")
    got = gateway_rows(ring, sql)
    real = dict(direct_rows(ring, f"select p.id, ascii(substr(p.ssn, 5, 1)) from patients p where {IDS}"))
    assert len(got) == 1000
    decoded = sum(1 for i, a, b in got if real.get(i) in (a, b))
    assert decoded == 0, f"{decoded} of 1000 SSN digits read from LIMIT and OFFSET counts"


def test_rows_a_select_list_function_makes_carry_its_arguments(ring):
    """`select p.id, generate_series(1, digit + 1)`: each id came back as many times as a
    digit says (a hunt: every SSN in two statements)."""
    got = gateway_rows(ring, f"select p.id, generate_series(1, substr(p.ssn, 5, 1)::int + 1) from patients p where {IDS}")
    real = dict(direct_rows(ring, f"select p.id, substr(p.ssn, 5, 1)::int from patients p where {IDS}"))
    counts: dict = {}
    for r in got:
        counts[r[0]] = counts.get(r[0], 0) + 1
    decoded = sum(1 for i, n in counts.items() if real.get(i) == n - 1)
    assert decoded == 0, f"{decoded} SSN digits read from how many rows each id made"


def test_advisory_lock_keys_park_nothing(ring):
    """Locks keyed by id and a digit, then the keys unlocked back: every patient's digit
    (a hunt). A lock function's value is server state, masked as untraced."""
    # Approval holds the gather since the hunt of s42 (a lock's key given read values is
    # an export): on a raw connection (a held statement never blocks the test) it does not run.
    from helpers.agent_wire import simple
    gather = simple(ring, f"select count(pg_advisory_lock(p.id::bigint * 10 + substr(p.ssn, 5, 1)::int)) from patients p where {IDS}")
    assert not gather.ran, gather
    with ring.connect("gateway") as gw:
        back = gw.execute("select k, pg_advisory_unlock(k) from generate_series(10::bigint, 10009::bigint) k").fetchall()
        gw.execute("select pg_advisory_unlock_all()")
    real = dict(direct_rows(ring, f"select p.id, substr(p.ssn, 5, 1)::int from patients p where {IDS}"))
    decoded = sum(1 for k, held in back if held is True and isinstance(k, int) and real.get(k // 10) == k % 10)
    assert decoded == 0, f"{decoded} SSN digits read back from advisory lock keys"


def test_explain_analyze_counts_carry_what_made_the_rows(ring):
    """EXPLAIN ANALYZE prints each step's actual rows: a join to generate_series up to a
    digit printed the digit (a hunt: a hundred digits a statement)."""
    real = direct_rows(ring, "select substr(ssn, 5, 1)::int from patients where id = 1")[0][0]
    plan = gateway_rows(ring, "explain (analyze, costs off, timing off) select 1 from patients p, generate_series(1, 10) g "
                              "where p.id = 1 and g <= substr(p.ssn, 5, 1)::int")
    text = "\n".join(str(r[0]) for r in plan)
    assert f"rows={real} " not in text.replace(")", " ") and "actual rows" not in text, "the plan printed a digit's row count"


def test_rows_sorted_by_a_stored_value_whole_pass(ring):
    """The control: sorted by the column itself, the rows disclose its order only, as the
    column would, and the ids pass (a list of patients by name)."""
    sql = f"select p.id from patients p where {IDS} order by p.last_name, p.id"
    assert gateway_rows(ring, sql) == direct_rows(ring, sql)


def test_null_tests_of_stored_columns_still_pass(ring):
    """A stored value's null-ness, and the rows a key pins, say nothing of the value."""
    sql = f"select p.id, p.email is null, count(p.ssn) from patients p where {IDS} group by p.id, p.email order by p.id"
    assert gateway_rows(ring, sql) == direct_rows(ring, sql)
