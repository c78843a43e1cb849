"""One adding aggregate packs every row into one value (hunt s45).

`sum`, `avg`, `bit_or`... of a value each row scales or shifts by its own factor keep
every row apart: a numeric holds 131,072 digits before the point, a bit string any
number of bits, so `sum(patient_id::numeric * 10::numeric ^ (4 * id))` is every
encounter's patient in one allowed row, and the walk counted it as one row (a reducing
aggregate). Each statement here was allowed by the embedded default rules; each test
decodes what came back and counts the rows it held (never a value), or proves the hold.
The controls (selecting aggregates, sums of plain columns) still run.
"""
from __future__ import annotations

import pytest

from conftest import default_rules_ring
from helpers.agent_wire import simple

ring = default_rules_ring("approve-packed")

ENCOUNTERS = 20000
CAP = 1000
DIGITS = 4              # a patient_id (at most 5,000) in four digits: 80,000 digits in all


def real_patients(ring) -> dict[int, int]:
    with ring.connect("direct") as d:
        return dict(d.execute("select id, patient_id from encounters").fetchall())


def decoded(ring, sql, chunks):
    """The answer, and how many encounters' patient_id the one value returned holds at
    their place (`chunks(text)`: {encounter id: number})."""
    out: list[bytes] = []
    a = simple(ring, sql, timeout=120, on_row=lambda v: out.extend(x for x in v[:1] if x is not None))
    if not out:
        return a, 0
    real = real_patients(ring)
    got = chunks(out[0].decode())
    return a, sum(1 for k, v in got.items() if real.get(k) == v)


def decimal_chunks(text: str) -> dict[int, int]:
    digits = text.split(".")[0].lstrip("-")[::-1]
    return {k: int(digits[k * DIGITS:(k + 1) * DIGITS][::-1] or "0") for k in range(1, len(digits) // DIGITS + 1)}


def bit_chunks(text: str) -> dict[int, int]:
    # Encounter k's 16 bits at [16k, 16k + 16), read left to right.
    return {k: int(text[16 * k:16 * k + 16], 2) for k in range(1, len(text) // 16)}


PACKED = f"patient_id::numeric * 10::numeric ^ ({DIGITS} * id)"


@pytest.mark.parametrize("sql", [
    f"select sum({PACKED}) from encounters",
    f"select sum(patient_id::numeric * power(10::numeric, {DIGITS} * id)) from encounters",
    f"select sum(rpad(lpad(patient_id::text, {DIGITS}, '0'), {DIGITS} * id, '0')::numeric * 10 ^ {DIGITS}::numeric) from encounters",
    f"select sum(x) from (select {PACKED} x from encounters) s",
    f"with w as (select {PACKED} as x from encounters) select sum(x), count(*) from w",
    f"select max(t) from (select sum({PACKED}) t from encounters) s",
], ids=["power-op", "power-fn", "rpad", "derived", "cte", "max-of-sum"])
def test_a_sum_scaled_by_row_is_every_row(ring, sql):
    a, n = decoded(ring, sql, decimal_chunks)
    assert a.held or n <= CAP, f"{a}; {n} of {ENCOUNTERS} encounters' patients in one value"


def test_a_bit_or_of_shifted_bits_is_every_row(ring):
    sql = (f"select bit_or(patient_id::bit(16)::bit({16 * (ENCOUNTERS + 1)}) >> (16 * id)) from encounters")
    a, n = decoded(ring, sql, bit_chunks)
    assert a.held or n <= CAP, f"{a}; {n} of {ENCOUNTERS} encounters' patients in one value"


def test_selecting_aggregates_and_plain_sums_still_run(ring):
    for sql in ["select count(*), max(patient_id), min(note), sum(patient_id), avg(provider_id) from encounters",
                "select mode() within group (order by diagnosis_code), bool_and(id > 0) from encounters",
                "select sum(coalesce(provider_id, 0) * 2 + 1) from encounters",
                f"select count(*) from (select {PACKED} x from encounters) s",
                f"select sum({PACKED}) from encounters where id in (1, 2, 3)"]:
        a = simple(ring, sql, timeout=60)
        assert a.ran and a.rows == 1, f"{sql[:80]}: {a}"
