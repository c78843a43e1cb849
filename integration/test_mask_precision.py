"""Values that are structurally not PHI come back through the ring as they are, while
the PHI of the same shapes is still masked (docs: masking precision). Each over-mask was
one of a family:
- a bare number under a key or column that names a time or a quantity (`created_at`,
  `Size`, `bytes`): epoch seconds pass the NPI's check one time in ten, a size of ten
  digits is a North American phone's shape, INT_MAX (2147483647) too;
- an NDC after a quantity (`qty 30 0002-1433`) read as a phone: a subscriber's number
  never starts with 0, the trunk prefix;
- a sig or a device read as a street (`Place Foley 16`, `1 drop OS QHS 30`) or a sig's
  abbreviation as a name (`SC QHS`);
- the loopback and the unspecified address (`127.0.0.1`, `0.0.0.0`) read as a device's.
Values are synthetic; assertions print shapes, never values."""
from __future__ import annotations

import time

from conftest import ring_fixture
from helpers import aws
from helpers.agent_wire import admin_exec

EPOCH = "1804714115"          # 2027-03-09, passes the NPI check
SIZE = "8004714115"           # a North American number's shape

PASS = {
    "doc": f'{{"CreationTime": {EPOCH}, "Size": {SIZE}, "bytes": 2147483647, "expires_at": "{EPOCH}"}}',
    "foley": "Place Foley 16 Fr catheter",
    "sig": "1 drop OS QHS 30",
    "insulin": "insulin glargine 20 units SC QHS",
    "ndc": "qty 30 0002-1433",
    "metrics": f'{{"Sum": 2147483647, "SampleCount": {EPOCH}, "Maximum": {SIZE}}}',
    "listen": "listen 0.0.0.0:5432, host=127.0.0.1",
}
# The same shapes where they are PHI: under a key or column that names an identifier or a
# person's date, a street, a phone, a synthetic name.
MASK = {
    "npi_doc": f'{{"npi": {EPOCH}}}',
    "dob_doc": f'{{"dob": {EPOCH}}}',
    "street": "Avenue Louise 54",
    "phone": "65 8928-3838",
    "name": "Staci563 Lanphear986",
    "ip": "login from 10.20.30.40",
}


def _select(values: dict[str, str]) -> str:
    return "select " + ", ".join(f"'{v}'::text as {k}" for k, v in values.items())


def test_times_sizes_sigs_and_codes_come_back_through_the_gateway_as_they_are(ring):
    with ring.connect("gateway") as c:
        got = c.execute(_select(PASS)).fetchone()
    changed = [k for k, g in zip(PASS, got) if g != PASS[k]]
    assert not changed, f"{len(changed)}/{len(PASS)} values that are no PHI came back changed: {changed}"


def test_the_same_shapes_as_phi_are_still_masked_through_the_gateway(ring):
    with ring.connect("gateway") as c:
        got = c.execute(_select(MASK)).fetchone()
    kept = [k for k, g in zip(MASK, got) if g == MASK[k]]
    assert not kept, f"{len(kept)}/{len(MASK)} PHI values came back unmasked: {kept}"


def test_a_time_column_is_a_time_and_an_npi_column_an_npi_through_the_gateway(ring):
    """A text column's name speaks for its bare number (the table's column, not an alias)."""
    admin_exec(ring, "create table if not exists precision_times (created_at text, provider_npi text, note text)",
               "grant all on precision_times to hoop_gateway", "delete from precision_times",
               f"insert into precision_times values ('{EPOCH}', '{EPOCH}', '{EPOCH}')")
    try:
        time.sleep(3)   # the catalog's facts see it
        with ring.connect("gateway") as c:
            got = c.execute("select created_at, provider_npi, note from precision_times").fetchone()
        assert [g == EPOCH for g in got] == [True, False, False], "only the time column comes back as it is"
    finally:
        admin_exec(ring, "drop table if exists precision_times")


aws_ring = ring_fixture("maskprecision", aws=True)
env = aws.settings_fixture("aws_ring")


def test_a_time_and_a_size_in_an_item_come_back_through_the_door_as_they_are(env, aws_ring):
    table = "PrecisionTimes"   # no resource rule names it: content detection alone
    direct = aws.keyed_table(aws_ring, table)
    item = {"k": {"S": "1"}, "CreationTime": {"N": EPOCH}, "Size": {"N": SIZE}, "note": {"S": PASS["sig"]},
            "npi": {"S": EPOCH}}
    direct.put_item(TableName=table, Item=item)
    got = aws.client(env, "dynamodb").get_item(TableName=table, Key={"k": {"S": "1"}})["Item"]
    changed = sorted(k for k in item if got.get(k) != item[k])
    assert changed == ["npi"], f"changed attributes: {changed} (only the npi should be)"
