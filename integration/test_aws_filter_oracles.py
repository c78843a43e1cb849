"""Questions about the values masking hides, asked through the AWS door (found by the
AWS hunt of 2026-12-06, s42; each test failed before its fix).

The default rules hold a Scan or Query of a PHI table with a filter, a PartiQL WHERE and a
FilterLogEvents pattern: a filter answers questions about the values masking hides. Two
filters of the same power were allowed: a Query's own key condition on a sort key
(`begins_with`, `BETWEEN`, `<`: review-phi-key-range) and a listing of a PHI bucket by part
of a key name (`Prefix` that does not end a folder, `StartAfter`, markers:
review-phi-key-prefix and its kin); each walked a masked birth date out one character a
call (about 60 calls). And a value glued to its label's letters (`ssn123-45-6789`,
`dob1980-01-31`, `tel…`, `ptMRN…`) was not read by the detectors.

State a deployment holds (an object, an index) is seeded behind the gateway's back.
Counts and booleans only."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import botocore.exceptions
import pytest

from conftest import ring_fixture
from helpers import aws
from helpers import aws_raw

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts" / "lib"))
from aws_seed import patients  # noqa: E402  (the stand-in's synthetic Faker seed)

hunt_ring = ring_fixture("aws-oracles", aws=True, aws_approval=None)
env = aws.settings_fixture("hunt_ring", "agent@example.org", "agents", agent=True)

PEOPLE = patients()


def _held(e: botocore.exceptions.ClientError) -> bool:
    return e.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException")


def test_a_query_by_a_key_prefix_on_a_phi_table_is_held(hunt_ring, env):
    """dynamodb:Query of Patients through an index whose sort key is date_of_birth
    (a cohort index: diagnosis, then birth date). The answer masks date_of_birth; a
    KeyConditionExpression `begins_with(date_of_birth, :p)` with Select=COUNT is allowed
    (allow-read), and reads the birth date one character at a time. The same question
    asked with a FilterExpression is held (review-phi-filter)."""
    st = aws.standin(hunt_ring, "dynamodb")
    st.update_table(TableName="Patients", AttributeDefinitions=[
        {"AttributeName": "diagnosis", "AttributeType": "S"}, {"AttributeName": "date_of_birth", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": "by-diagnosis", "KeySchema": [
            {"AttributeName": "diagnosis", "KeyType": "HASH"}, {"AttributeName": "date_of_birth", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}}])
    dobs = {p["date_of_birth"] for p in PEOPLE if p["diagnosis"] == "asthma"}
    with aws.Environment(env):
        d = aws.client(env, "dynamodb")
        plain = d.query(TableName="Patients", IndexName="by-diagnosis", KeyConditionExpression="diagnosis = :d",
                        ExpressionAttributeValues={":d": {"S": "asthma"}}, Limit=10)
        text = json.dumps(plain, default=str)
        assert plain["Items"] and not any(v in text for v in dobs), "control: the birth dates are masked in the answer"
        with pytest.raises(botocore.exceptions.ClientError) as held:   # control: the filter form is held
            d.query(TableName="Patients", IndexName="by-diagnosis", Select="COUNT", KeyConditionExpression="diagnosis = :d",
                    FilterExpression="begins_with(date_of_birth, :p)",
                    ExpressionAttributeValues={":d": {"S": "asthma"}, ":p": {"S": "19"}})
        assert _held(held.value)
        calls, prefix, refused = 0, "", False
        try:
            while len(prefix) < 10:
                for c in "0123456789-":
                    calls += 1
                    r = d.query(TableName="Patients", IndexName="by-diagnosis", Select="COUNT",
                                KeyConditionExpression="diagnosis = :d AND begins_with(date_of_birth, :p)",
                                ExpressionAttributeValues={":d": {"S": "asthma"}, ":p": {"S": prefix + c}})
                    if r["Count"] > 0:
                        prefix += c
                        break
                else:
                    break
        except botocore.exceptions.ClientError as e:
            refused = _held(e)
    recovered = prefix in dobs
    print(f"calls {calls}, refused {refused}, a masked birth date recovered: {recovered}")
    assert not recovered, f"a Query's key condition recovered a masked date_of_birth of Patients in {calls} allowed calls"
    assert refused and calls == 1, "the first key-prefix Query is held"


def test_a_phi_bucket_listed_by_part_of_a_key_name_is_held(hunt_ring, env):
    """s3:ListObjectsV2 of clinic-exports masks the patient's name and birth date in a
    key (`scans/LAST_FIRST_DOB.pdf`); a listing with `Prefix` is allowed (allow-list)
    and answers KeyCount > 0 or 0 for any guessed prefix: the birth date comes back one
    character at a time."""
    p = PEOPLE[3]
    st = aws.standin(hunt_ring, "s3")
    st.put_object(Bucket="clinic-exports", Key=f"scans/{p['last_name']}_{p['first_name']}_{p['date_of_birth']}.pdf",
                  Body=b"%PDF-1.4 scan", ContentType="application/pdf")
    with aws.Environment(env):
        s3 = aws.client(env, "s3")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="clinic-exports", Prefix="scans/").get("Contents", [])]
        assert keys and not any(p["date_of_birth"] in k for k in keys), "control: the birth date is masked in the listing"
        known = f"scans/{p['last_name']}_{p['first_name']}_"
        calls, dob, refused = 0, "", False
        try:
            for _ in range(10):
                for c in "0123456789-":
                    calls += 1
                    if s3.list_objects_v2(Bucket="clinic-exports", Prefix=known + dob + c, MaxKeys=1).get("KeyCount", 0) > 0:
                        dob += c
                        break
                else:
                    break
        except botocore.exceptions.ClientError as e:
            refused = _held(e)
    recovered = dob == p["date_of_birth"]
    print(f"calls {calls}, refused {refused}, the masked birth date recovered: {recovered}")
    assert not recovered, f"S3 listings by Prefix recovered a masked date of birth from a PHI bucket's keys in {calls} calls"
    assert refused and calls == 1, "the first listing by part of a key name is held"


GLUED = {
    "ssn": lambda p: (f"ssn{p['ssn']}", p["ssn"]),
    "ssn-digits": lambda p: (f"SSN{p['ssn'].replace('-', '')}", p["ssn"].replace("-", "")),
    "dob": lambda p: (f"dob{p['date_of_birth']}", p["date_of_birth"]),
    "dob-compact": lambda p: (f"DOB{p['date_of_birth'].replace('-', '')}", p["date_of_birth"].replace("-", "")),
    "phone": lambda p: (f"tel{p['phone']}", p["phone"]),
    "mrn": lambda p: (f"pt{p['mrn']}", p["mrn"]),
}


@pytest.mark.parametrize("form", sorted(GLUED))
def test_a_value_glued_to_its_label_is_masked_in_the_phi_bucket(hunt_ring, env, form):
    """A file name and a text object's body in clinic-exports with the value written
    right after its label's letters (`Smith_dob1980-01-31.txt`, `SSN123456789`): the
    detectors need a boundary before the value, and field rules read a label only before
    `=` or `:`. (The same SSN or date after `_` or a space is masked.)"""
    i = sorted(GLUED).index(form)
    p = PEOPLE[10 + i]
    word, value = GLUED[form](p)
    st = aws.standin(hunt_ring, "s3")
    key = f"glued/{form}/{p['last_name']}_{word}.txt"
    st.put_object(Bucket="clinic-exports", Key=key, Body=f"Scan of {p['first_name']} {p['last_name']} {word}\n".encode(),
                  ContentType="text/plain")
    with aws.Environment(env):
        s3 = aws.client(env, "s3")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="clinic-exports", Prefix=f"glued/{form}/").get("Contents", [])]
        body = s3.get_object(Bucket="clinic-exports", Key=key)["Body"].read().decode()
    in_key, in_body = any(value in k for k in keys), value in body
    print(f"{form}: keys {len(keys)}, in clear in the listing: {in_key}, in the object's text: {in_body}")
    assert not in_key and not in_body, f"a {form} value glued to its label came back in clear from the PHI bucket"


def test_a_query_from_a_key_given_on_a_phi_table_is_held(hunt_ring, env):
    """ExclusiveStartKey (s43): DynamoDB answers a Query's items after the key given, in
    the sort key's order; a guessed date_of_birth there is a binary search on the masked
    sort key, whatever the key condition. Held on a PHI table (review-phi-key-start-after);
    the same Query without it runs (the control)."""
    with aws.Environment(env):
        d = aws.client(env, "dynamodb")
        first = d.query(TableName="Patients", KeyConditionExpression="mrn = :p",
                        ExpressionAttributeValues={":p": {"S": PEOPLE[0]["mrn"]}}, Limit=1)
        assert "Items" in first, "control: a Query by the partition key runs"
        with pytest.raises(botocore.exceptions.ClientError) as held:
            d.query(TableName="Patients", KeyConditionExpression="mrn = :p",
                    ExpressionAttributeValues={":p": {"S": PEOPLE[0]["mrn"]}},
                    ExclusiveStartKey={"mrn": {"S": PEOPLE[0]["mrn"]}})
        assert _held(held.value), held.value.response["Error"]


def test_a_listing_prefix_given_twice_is_judged_by_both(hunt_ring, env):
    """A REST query name given twice (s43): the door judged the first `prefix`
    (`scans/`, a folder: a listing) while a service that reads the last would list by a
    guessed part of a key name. Each value is judged now: held by review-phi-key-prefix.
    The folder's prefix alone is a listing (the control)."""
    creds = aws.credentials(env)
    status, _, body = aws_raw.request(hunt_ring, creds, "s3", "GET", "/clinic-exports?list-type=2&prefix=scans%2F")
    assert status == 200, (status, body[:200])
    status, _, body = aws_raw.request(hunt_ring, creds, "s3", "GET",
                                      "/clinic-exports?list-type=2&prefix=scans%2F&prefix=scans%2FLAST_")
    assert status == 403 and b"AccessDenied" in body, (status, body[:300])


def test_s3_select_on_a_phi_bucket_is_held(hunt_ring, env):
    """S3 Select runs a SQL WHERE over an object (`count(*) … where ssn like '385%'`): an
    oracle on the values masking hides, in an XML body the rules do not read (s43)."""
    st = aws.standin(hunt_ring, "s3")
    st.put_object(Bucket="clinic-exports", Key="exports/select.csv", Body=b"id,ssn\n1,000-00-0000\n", ContentType="text/csv")
    with aws.Environment(env):
        s3 = aws.client(env, "s3")
        with pytest.raises(botocore.exceptions.ClientError) as held:
            r = s3.select_object_content(Bucket="clinic-exports", Key="exports/select.csv", ExpressionType="SQL",
                                         Expression="select count(*) from s3object s where s.ssn like '000%'",
                                         InputSerialization={"CSV": {"FileHeaderInfo": "USE"}},
                                         OutputSerialization={"CSV": {}})
            for _ in r["Payload"]:
                pass
        assert _held(held.value), held.value.response["Error"]
        assert "held for approval" in held.value.response["Error"]["Message"], held.value.response["Error"]


def test_a_header_member_given_in_the_query_too_is_judged_by_both(hunt_ring, env):
    """`PUT …?ACL=private` with `x-amz-acl: public-read` (review s43): the door's rules
    read the query's `ACL` (private) while S3 applies the header's canned ACL; each value
    is judged now, and no-public-acl denies."""
    creds = aws.credentials(env)
    status, _, body = aws_raw.request(hunt_ring, creds, "s3", "PUT", "/clinic-exports/exports/acl-probe.txt?ACL=private",
                                      headers=[("x-amz-acl", "public-read"), ("content-type", "text/plain")], body=b"x")
    assert status == 403 and b"AccessDenied" in body and b"public" in body, (status, body[:300])
    st = aws.standin(hunt_ring, "s3")
    keys = [o["Key"] for o in st.list_objects_v2(Bucket="clinic-exports", Prefix="exports/acl-probe").get("Contents", [])]
    assert keys == [], "the object was written"
