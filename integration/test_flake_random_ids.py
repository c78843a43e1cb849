"""Random identifiers that content detection took for PHI (the AWS door's CI flake's
family: a decision taken on random bytes). A random UUID's last group is 12 hex digits;
when ten of them are digits after a hex letter (`…-df9339741156`, ~1 UUID in 1,000) the
phone detector read a North American number there, and an upper-case UUID's last group
read as a health plan id (~1 in 500). A `gen_random_uuid()` answer, a moto KeyId or
MessageId, a client's request id then came back changed. A random base64 token (a page
token, a receipt handle, a data key) ending `+Yu` read as a surname (~1 token in 30).
Each value below is one such draw, fixed: the test is the unlucky run, every time."""
from __future__ import annotations

from conftest import ring_fixture
from helpers import aws

# Drawn by random.Random(7) as UUID4s / 30 random bytes in base64; each one `hoop-mask detect` flags.
UUIDS = ("6685b4b8-bdd1-44d7-8db1-df9339741156", "9a0bc130-693d-4148-b2d3-fd0393105115",
         "deef0eaa-2d6c-405b-a721-ab0126398809")
UPPER = ("4D187E3E-9566-46E6-A9C9-FEF039690919", "49D04CE5-33B8-43A5-8607-BFBF00552293")
TOKENS = ("xjSVuFtaJoiVuT8yiJYMCBo0Wd1wFfcQmOmV1+Yu", "brOJgXOvm5KX+YO/HvHeDkbvvkxozMp/jxEOkULD")
# An S3 VersionId's shape (32 of [A-Za-z0-9._], ~1 in 40 read a name in it) and a name
# with a random hex suffix (`Reports` + 8 hex digits: ~1 in 160), random.Random(12).
OTHER = ("3puHcm65fjt5u37WmgouwoK_GgSoGkUq",)
# Fixed by HoopMasking's OpaqueTokens: a find inside a UUID, a hex run or a base64 blob is
# dropped; by NameDetector.hexSuffixed: a word with a random hex suffix (`Reports` + 8 hex
# digits) is no name with its digits.


def test_a_random_uuid_comes_back_through_the_gateway_as_it_is(ring):
    values = ", ".join(f"'{u}'::uuid, '{u}'::text" for u in UUIDS + UPPER)
    with ring.connect("gateway") as c:
        got = c.execute(f"select {values}").fetchone()
    want = [v for u in UUIDS + UPPER for v in (u.lower(), u)]
    changed = [i for i, (g, w) in enumerate(zip(got, want)) if str(g) != w]
    assert not changed, f"{len(changed)}/{len(want)} random uuids came back changed (columns {changed})"


aws_ring = ring_fixture("flakeids", aws=True)
env = aws.settings_fixture("aws_ring")


def test_random_ids_in_an_item_come_back_through_the_door_as_they_are(env, aws_ring):
    table = "FlakeIds"   # no resource rule names it: content detection alone
    direct = aws.keyed_table(aws_ring, table)
    item = {"k": {"S": "1"}}
    for i, v in enumerate(UUIDS + UPPER + TOKENS + OTHER):
        item[f"ref{i}"] = {"S": v}
    direct.put_item(TableName=table, Item=item)
    got = aws.client(env, "dynamodb").get_item(TableName=table, Key={"k": {"S": "1"}})["Item"]
    changed = sorted(k for k in item if got.get(k) != item[k])
    assert not changed, f"{len(changed)}/{len(item)} random ids came back changed ({changed})"


# Epoch seconds: ten digits from 1, and one in ten passes the NPI's Luhn check (with
# 80840 before it): 1804714115 is 2027-03-09 08:48:35 UTC. A document's `created_at`, a
# DynamoDB TTL attribute, came back as [NPI] in one second of ten. Fixed by HoopMasking's
# NumberKeys: a bare number under a key that names a time is a time.
EPOCH = 1804714115


def test_an_epoch_second_in_a_document_comes_back_through_the_gateway_as_it_is(ring):
    with ring.connect("gateway") as c:
        got = c.execute(f"""select '{{"created_at": {EPOCH}}}'::jsonb::text, '{{"expires_at": "{EPOCH}"}}'::json::text""").fetchone()
    assert [str(EPOCH) in g for g in got] == [True, True], "an epoch second in a JSON document came back changed"


def test_an_epoch_second_in_an_item_comes_back_through_the_door_as_it_is(env, aws_ring):
    table = "FlakeTimes"
    direct = aws.keyed_table(aws_ring, table)
    item = {"k": {"S": "1"}, "expires_at": {"N": str(EPOCH)}, "created_at": {"S": str(EPOCH)}}
    direct.put_item(TableName=table, Item=item)
    got = aws.client(env, "dynamodb").get_item(TableName=table, Key={"k": {"S": "1"}})["Item"]
    changed = sorted(k for k in item if got.get(k) != item[k])
    assert not changed, f"epoch seconds came back changed ({changed})"


# Random numbers and bytes of other shapes, drawn by random.Random(9): a random()'s
# fraction read as a card number (16 digits that pass Luhn: ~2 % of draws), 8 random
# bytes in PostgreSQL's hex output read as a VIN (`x` and 16 hex digits are 17
# characters: ~5 % of draws), and the bytea then replaced whole.
FLOAT = "0.4247253517525911"
BYTEA = "\\x964dcca43c7bd0e2"


def test_a_random_float_and_random_bytes_come_back_through_the_gateway_as_they_are(ring):
    with ring.connect("gateway") as c:
        got = c.execute(f"select '{FLOAT}'::float8::text, json_build_object('score', '{FLOAT}'::float8)::text, "
                        f"'{BYTEA}'::bytea, '{BYTEA}'::bytea::text").fetchone()
    ok = [FLOAT in got[0], FLOAT in got[1], bytes(got[2]) == bytes.fromhex(BYTEA[2:]), got[3] == BYTEA]
    assert all(ok), f"random values came back changed: {ok}"


def test_a_word_with_a_random_hex_suffix_comes_back_through_the_door_as_it_is(env, aws_ring):
    table = "FlakeSuffix"
    direct = aws.keyed_table(aws_ring, table)
    item = {"k": {"S": "1"}, "ref": {"S": "Reportsdfab2670"}}
    direct.put_item(TableName=table, Item=item)
    got = aws.client(env, "dynamodb").get_item(TableName=table, Key={"k": {"S": "1"}})["Item"]
    assert got.get("ref") == item["ref"], "a word with a random hex suffix came back changed"
