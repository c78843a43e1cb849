"""Bytes that are text in another packing (gzip'd, Windows-1252, UTF-16) through the AWS
door, from resources masking.resources does not name (hunt s41: every value passed, as
"bytes"). hoop-mask reads them as the text they hold (HoopMasking.UnpackedText): a base64
member (a Kinesis record's Data, a DynamoDB Binary) is masked as text; a whole answer of
such bytes that content detection flags is refused (it cannot be masked in place). Each
test seeds the stand-in behind the gateway (what a deployment already holds), reads
through the door with an agent's keys under the default rules, and counts seeded values
that come back in clear after the client decodes the answer as any consumer would."""
from __future__ import annotations

import csv
import gzip
import io
import json
import time

import pytest

from conftest import ring_fixture
from helpers import aws

hunt_ring = ring_fixture("aws-packed", aws=True, aws_approval=None)
env = aws.settings_fixture("hunt_ring", "agent@example.org", "agents", agent=True)

FIELDS = ["first_name", "last_name", "date_of_birth", "ssn", "phone", "email", "street", "city", "zip", "mrn"]


@pytest.fixture(scope="module")
def people(hunt_ring):
    items = aws.standin(hunt_ring, "dynamodb").scan(TableName="Patients")["Items"]
    return [{k: v["S"] for k, v in it.items()} for it in items]


def clear_values(text: str, people, fields=FIELDS) -> int:
    return sum(1 for p in people for f in fields if p[f] in text)


def decoded(b: bytes) -> str:
    try:
        b = gzip.decompress(b)
    except OSError:
        pass
    if b[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return b.decode("utf-16")
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("cp1252", "replace")


def test_a_phi_log_groups_gzip_feed_through_kinesis_is_masked(hunt_ring, env, people):
    """/clinic/notes is a PHI log group: GetLogEvents masks it. A subscription filter
    (the usual SIEM / analytics feed) delivers the same events to a Kinesis stream,
    gzip-compressed as CloudWatch Logs always does; kinesis:GetRecords is an allowed Read."""
    logs, kin = aws.standin(hunt_ring, "logs"), aws.standin(hunt_ring, "kinesis")
    kin.create_stream(StreamName="clinic-notes-feed", ShardCount=1)
    for _ in range(50):
        d = kin.describe_stream(StreamName="clinic-notes-feed")["StreamDescription"]
        if d["StreamStatus"] == "ACTIVE":
            break
        time.sleep(0.1)
    logs.put_subscription_filter(logGroupName="/clinic/notes", filterName="siem-feed", filterPattern="",
                                 destinationArn=d["StreamARN"])
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName="/clinic/notes", logStreamName="ward-3", logEvents=[
        {"timestamp": now + i, "message": f"patient {x['first_name']} {x['last_name']} MRN {x['mrn']} seen, phone {x['phone']}"}
        for i, x in enumerate(people[:10])])
    fields = ["first_name", "last_name", "mrn", "phone"]
    with aws.Environment(env):
        via_logs = aws.client(env, "logs").get_log_events(logGroupName="/clinic/notes", logStreamName="ward-3")["events"]
        k = aws.client(env, "kinesis")
        shard = k.describe_stream(StreamName="clinic-notes-feed")["StreamDescription"]["Shards"][0]["ShardId"]
        it = k.get_shard_iterator(StreamName="clinic-notes-feed", ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records = k.get_records(ShardIterator=it)["Records"]
    in_logs = clear_values(json.dumps(via_logs), people[:10], fields)
    in_feed = clear_values("".join(decoded(r["Data"]) for r in records), people[:10], fields)
    sizes = [len(r["Data"]) for r in records]
    gz = [r["Data"][:2] == b"\x1f\x8b" for r in records]
    print(f"GetLogEvents: {in_logs} clear values; kinesis GetRecords: {len(records)} records ({sizes} bytes, gzip {gz}), "
          f"{in_feed} clear values of 40")
    assert in_logs == 0   # the log group itself is masked (this holds)
    assert in_feed == 0, f"kinesis:GetRecords returned {in_feed} PHI values of the PHI log group unmasked (gzip Data)"


def test_a_gzip_binary_attribute_of_a_dynamodb_item_is_masked(hunt_ring, env, people):
    """A table masking.resources does not name is read by content detection: a patient
    document as a B attribute, plain or gzip'd (AWS's own advice for large attributes)."""
    ddb = aws.standin(hunt_ring, "dynamodb")
    ddb.create_table(TableName="Encounters", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    p = people[0]
    doc = json.dumps(p).encode()
    ddb.put_item(TableName="Encounters", Item={"id": {"S": "e1"}, "plain": {"B": doc}, "packed": {"B": gzip.compress(doc)}})
    with aws.Environment(env):
        item = aws.client(env, "dynamodb").get_item(TableName="Encounters", Key={"id": {"S": "e1"}})["Item"]
    def value(v):
        return decoded(v["B"]) if "B" in v else json.dumps(v)
    plain, packed = clear_values(value(item["plain"]), [p]), clear_values(value(item["packed"]), [p])
    print(f"plain B attribute: {plain} clear values; gzip B attribute: {packed} clear values of {len(FIELDS)}")
    assert plain == 0   # content detection reads the plain one (this holds)
    assert packed == 0, f"a gzip'd Binary attribute returned {packed} PHI values unmasked"


@pytest.mark.parametrize("variant", ["cp1252", "utf16", "gzip"])
def test_a_patient_csv_in_another_packing_is_not_delivered_in_clear(hunt_ring, env, people, variant):
    """The same CSV of patients in a bucket masking.resources does not name: as UTF-8 its
    values are masked by content detection; as Windows-1252, UTF-16 (Excel's "Unicode
    Text") or gzip'd (`aws s3 cp` of a .csv.gz) it is refused (AccessDenied)."""
    s3 = aws.standin(hunt_ring, "s3")
    try:
        s3.create_bucket(Bucket="research-exports")
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(FIELDS)
    for p in people:
        w.writerow([p[f] for f in FIELDS])
    text = buf.getvalue()
    body = {"cp1252": ("# Export für die Klinik – José\n" + text).encode("cp1252"),
            "utf16": text.encode("utf-16"), "gzip": gzip.compress(text.encode())}[variant]
    extra = {"ContentType": "application/gzip"} if variant == "gzip" else {}
    s3.put_object(Bucket="research-exports", Key="patients-utf8.csv", Body=text.encode())
    s3.put_object(Bucket="research-exports", Key=f"patients-{variant}.csv", Body=body, **extra)
    with aws.Environment(env):
        c = aws.client(env, "s3")
        utf8 = c.get_object(Bucket="research-exports", Key="patients-utf8.csv")["Body"].read()
        try:
            other = c.get_object(Bucket="research-exports", Key=f"patients-{variant}.csv")["Body"].read()
        except c.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] == "AccessDenied", e.response["Error"]["Code"]
            other = b""
    ssn_utf8 = clear_values(decoded(utf8), people, ["ssn", "email", "mrn", "phone"])
    ssn_other = clear_values(decoded(other), people, ["ssn", "email", "mrn", "phone"])
    print(f"UTF-8: {ssn_utf8} clear SSNs/emails/MRNs/phones; {variant}: {ssn_other} of {4 * len(people)}")
    assert ssn_utf8 == 0   # content detection reads UTF-8 (this holds)
    assert ssn_other == 0, f"the {variant} copy returned {ssn_other} identifiers unmasked"


def test_bytes_that_are_no_text_pass(hunt_ring, env):
    """An image or an archive of another format is no text: delivered as it is."""
    s3 = aws.standin(hunt_ring, "s3")
    try:
        s3.create_bucket(Bucket="research-exports")
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    png = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + bytes(range(256)) * 8
    s3.put_object(Bucket="research-exports", Key="scan.png", Body=png, ContentType="image/png")
    with aws.Environment(env):
        got = aws.client(env, "s3").get_object(Bucket="research-exports", Key="scan.png")["Body"].read()
    assert got == png


def test_a_gzip_of_several_members_is_read_whole(hunt_ring, env, people):
    """`cat clean.gz phi.gz` (and BGZF's blocks): every member is read, not the first
    alone (the second review)."""
    s3 = aws.standin(hunt_ring, "s3")
    try:
        s3.create_bucket(Bucket="research-exports")
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    rows = "".join(f"{p['ssn']},{p['email']}\n" for p in people[:10])
    body = gzip.compress(b"nothing to see here\n" * 50) + gzip.compress(rows.encode())
    s3.put_object(Bucket="research-exports", Key="members.csv.gz", Body=body, ContentType="application/gzip")
    with aws.Environment(env):
        c = aws.client(env, "s3")
        try:
            got = c.get_object(Bucket="research-exports", Key="members.csv.gz")["Body"].read()
        except c.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] == "AccessDenied", e.response["Error"]["Code"]
            got = b""
    assert clear_values(decoded_all(got), people[:10], ["ssn", "email"]) == 0


def decoded_all(b: bytes) -> str:
    """Every member of a gzip, as a consumer (zcat) reads it."""
    import zlib
    out, rest = b"", b
    while rest[:2] == b"\x1f\x8b":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out += d.decompress(rest)
        rest = d.unused_data
    return (out or b).decode("utf-8", "replace")


def test_a_compressed_answer_too_large_to_read_whole_is_refused(hunt_ring, env, people):
    """A gzip streamed in pieces cannot be read piece by piece (only the first carries the
    magic bytes): the stream ends, nothing of it in clear (the second review)."""
    import os
    s3 = aws.standin(hunt_ring, "s3")
    try:
        s3.create_bucket(Bucket="research-exports")
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    rows = "".join(f"{p['ssn']},{p['email']}\n" for p in people[:10]).encode()
    body = gzip.compress(rows + os.urandom(3 << 20).hex().encode()[: 3 << 20], compresslevel=1)
    assert len(body) > 1 << 20
    s3.put_object(Bucket="research-exports", Key="large.csv.gz", Body=body, ContentType="application/octet-stream")
    with aws.Environment(env):
        c = aws.client(env, "s3")
        try:
            got = c.get_object(Bucket="research-exports", Key="large.csv.gz")["Body"].read()
        except Exception:   # refused at its head, or cut mid-stream
            got = b""
    assert got != body and clear_values(got.decode("latin-1"), people[:10], ["ssn", "email"]) == 0
