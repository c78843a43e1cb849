"""hoop-mask on AWS answers (docs/aws.md, "Masking"; docs/masking.md, "AWS resources"):
the embedded default's `masking.resources` names the seeded PHI resources. Every
identifier the seed made is looked for in every byte the clients get (the HTTP bodies
and headers boto3 received, the CLI's stdout), for each read operation; what cannot be
masked is refused with AccessDenied and nothing of it; what is not PHI passes byte for
byte; the SDKs take masked answers without a retry or a checksum error; the `masked`
frames of the audit trail count what was masked.

Assertion messages never quote an identifier: they name the kind and the operation."""
from __future__ import annotations

import base64
import csv
import io
import json
import urllib.parse
import uuid
import sqlite3
import sys
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions
import pytest
from boto3.dynamodb.types import TypeDeserializer

from conftest import ring_fixture
from helpers import aws

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts" / "lib"))
import aws_seed  # noqa: E402  (the seed's own generator: the same synthetic patients)

aws_ring = ring_fixture("awsmask", aws=True)
BUCKET = "clinic-exports"
PUBLIC = "hoop-public-data"


env = aws.settings_fixture("aws_ring")


@pytest.fixture(scope="module")
def people(aws_ring):
    seeded = aws.seeded(aws_ring)
    return aws_seed.patients(n=seeded["patients"], seed=seeded["faker_seed"])


def identifiers(people) -> list[tuple[str, str]]:
    """(kind, value) of every identifier of the seed: the kind is what a failure names."""
    out = []
    for p in people:
        out += [("SSN", p["ssn"]), ("SSN digits", p["ssn"].replace("-", "")), ("phone", p["phone"]),
                ("email", p["email"]), ("MRN", p["mrn"]), ("date of birth", p["date_of_birth"]),
                ("full name", f"{p['first_name']} {p['last_name']}"), ("street", p["street"])]
    return out


def assert_clean(received: bytes | str, people, where: str) -> None:
    text = received.decode("utf-8", "replace") if isinstance(received, bytes) else received
    for kind, value in identifiers(people):
        assert value not in text, f"a {kind} of the seed appeared in {where}"


class Received:
    """Every HTTP answer (headers and body) a boto3 client got, as bytes."""

    def __init__(self, client):
        self.parts: list[bytes] = []
        client.meta.events.register("after-call.*.*", self.after_call)

    def after_call(self, http_response=None, model=None, **_):
        if http_response is None:
            return
        self.parts.append("".join(f"{k}: {v}\n" for k, v in http_response.headers.items()).encode())
        if model is not None and not model.has_streaming_output:
            self.parts.append(http_response.content)

    @property
    def all(self) -> bytes:
        return b"\n".join(self.parts)


def sdk(service: str, **config):
    """A boto3 client with the SDK's own retry policy (so that a retry would show)."""
    c = boto3.Session().client(service, config=botocore.config.Config(**config) if config else None)
    return c, Received(c)


def audit_frames(ring, kind: str) -> list[dict]:
    db = sqlite3.connect(ring.var / "audit.sqlite")
    try:
        return [json.loads(f) for (f,) in db.execute("SELECT frame FROM frames WHERE type = ?", (kind,))]
    finally:
        db.close()


def masked_counts(ring, request_id: str) -> dict[str, int]:
    """The counts of the `masked` frames of the call whose answer carries `request_id`."""
    results = [f for f in audit_frames(ring, "result") if f.get("request_id") == request_id]
    assert results, "the call's result is not in the audit trail"
    s, q = results[0]["session"], results[0]["seq"]
    total: dict[str, int] = {}
    for f in audit_frames(ring, "masked"):
        if f["session"] == s and f["seq"] == q:
            for k, n in f["counts"].items():
                total[k] = total.get(k, 0) + n
    return total


# --- S3 -------------------------------------------------------------------------------------

def test_s3_csv_json_and_note_are_masked_and_counted(env, aws_ring, people):
    s3, got = sdk("s3")
    for key in ("exports/patients.csv", "exports/patients.json", "notes/visit 0001.txt"):
        r = s3.get_object(Bucket=BUCKET, Key=key)
        body = r["Body"].read()
        assert r["ResponseMetadata"]["RetryAttempts"] == 0
        assert_clean(body, people, f"GetObject's answer ({key})")
        assert_clean(json.dumps(r["ResponseMetadata"]["HTTPHeaders"]), people, f"GetObject's headers ({key})")
        if key.endswith(".csv"):
            rows = list(csv.DictReader(io.StringIO(body.decode())))
            assert len(rows) == len(people) and set(rows[0]) == set(people[0])
            assert all(row["ssn"].startswith("***-**-") for row in rows)
            assert all(row["diagnosis"] == p["diagnosis"] for row, p in zip(rows, people)), "what is not PHI is kept"
            counts = masked_counts(aws_ring, r["ResponseMetadata"]["RequestId"])
            assert counts.get("SSN", 0) >= len(people) and counts.get("PERSON_NAME", 0) >= 2 * len(people), counts
        if key.endswith(".json"):
            doc = json.loads(body)
            assert len(doc) == len(people) and all(d["first_name"].startswith("tok_") for d in doc)
    assert_clean(got.all, people, "GetObject's HTTP answers")


def test_s3_listing_and_head_with_metadata(env, aws_ring, people):
    p = people[0]
    aws.standin(aws_ring, "s3").put_object(Bucket=BUCKET, Key="exports/meta.txt", Body=b"no data\n",
                                            Metadata={"patient": f"SSN {p['ssn']} mail {p['email']}"})
    s3, got = sdk("s3")
    listing = s3.list_objects_v2(Bucket=BUCKET)
    assert any(o["Key"] == "exports/patients.csv" for o in listing["Contents"])
    head = s3.head_object(Bucket=BUCKET, Key="exports/meta.txt")
    assert head["ContentLength"] == len(b"no data\n")
    s3.head_object(Bucket=BUCKET, Key="exports/patients.csv")
    assert_clean(got.all, people, "ListObjectsV2 and HeadObject answers")


def test_system_text_is_not_masked_as_phi(env, aws_ring, people):
    """A role's trust policy keeps its `"Version": "2012-10-17"` (a version's name, no
    day): the document a deploy script reads back is the one it wrote."""
    iam, got = sdk("iam")
    role = iam.get_role(RoleName="patient-lookup-role")["Role"]
    document = role["AssumeRolePolicyDocument"]
    document = json.loads(urllib.parse.unquote(document)) if isinstance(document, str) else document
    assert document["Version"] == "2012-10-17" and document["Statement"][0]["Action"] == "sts:AssumeRole"
    assert_clean(got.all, people, "GetRole answer")


def test_percent_encoded_phi_is_masked_in_keys_and_text(env, aws_ring, people):
    # botocore lists keys with `encoding-type=url` and decodes them: the detectors read
    # `Jane%20Doe%20...%40example.org` cut up by escapes, and the SDK handed back the keys
    # in clear. A log line's URL-encoded query the same. Percent-encoded text is read
    # decoded too, and masked where it was encoded.
    p = people[6]
    key = f"exports/notes/{p['ssn']} {p['email']}.txt"
    line = "GET /find?q=" + urllib.parse.quote(json.dumps({"ssn": p["ssn"], "email": p["email"]})) + " 200\n"
    standin = aws.standin(aws_ring, "s3")
    standin.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    standin.put_object(Bucket=BUCKET, Key="exports/access.log", Body=line.encode())
    s3 = aws.client(env, "s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="exports/notes/")["Contents"]]
    versions = [v["Key"] for v in s3.list_object_versions(Bucket=BUCKET, Prefix="exports/notes/").get("Versions", [])]
    assert len(keys) == 1 and not any(p["ssn"] in k or p["email"] in k for k in keys + versions)
    body = urllib.parse.unquote(s3.get_object(Bucket=BUCKET, Key="exports/access.log")["Body"].read().decode())
    assert body.startswith("GET /find?q=") and p["ssn"] not in body and p["email"] not in body


def test_s3_checksums_and_etag_of_a_masked_body_are_accepted(env, aws_ring, people):
    text = "id,ssn,note\n" + "".join(f"{i},{p['ssn']},ok\n" for i, p in enumerate(people))
    aws.standin(aws_ring, "s3").put_object(Bucket=BUCKET, Key="exports/checked.csv", Body=text.encode(),
                                            ChecksumAlgorithm="SHA256", ContentType="text/csv")
    s3, got = sdk("s3", response_checksum_validation="when_supported")
    r = s3.get_object(Bucket=BUCKET, Key="exports/checked.csv", ChecksumMode="ENABLED")
    body = r["Body"].read()
    assert r["ResponseMetadata"]["RetryAttempts"] == 0
    assert_clean(body, people, "a checksummed GetObject")
    import hashlib
    assert r["ETag"].strip('"') == hashlib.md5(body).hexdigest(), "a whole masked body's ETag is its MD5"
    assert int(r["ResponseMetadata"]["HTTPHeaders"]["content-length"]) == len(body)


def test_a_large_csv_streams_masked_and_counted(env, aws_ring, people):
    header = ",".join(people[0]) + "\n"
    rows = "".join(",".join(f'"{v}"' if "," in v else v for v in p.values()) + "\n" for p in people)
    # Over the CLI's default multipart threshold (8 MB): it would read it in ranges, which
    # are refused, without the threshold aws-env's config file raises.
    repeat = (9 << 20) // len(rows.encode()) + 1
    body = (header + rows * repeat).encode()
    aws.standin(aws_ring, "s3").put_object(Bucket=BUCKET, Key="exports/big.csv", Body=body, ContentType="text/csv")
    s3, got = sdk("s3")
    r = s3.get_object(Bucket=BUCKET, Key="exports/big.csv")
    received = r["Body"].read()
    assert r["ResponseMetadata"]["RetryAttempts"] == 0
    assert "etag" not in r["ResponseMetadata"]["HTTPHeaders"], "a masked streamed body has no ETag"
    assert_clean(received, people, "a streamed GetObject")
    out = list(csv.DictReader(io.StringIO(received.decode())))
    assert len(out) == len(people) * repeat
    counts = masked_counts(aws_ring, r["ResponseMetadata"]["RequestId"])
    assert counts.get("SSN", 0) >= len(people) * repeat, counts
    # The CLI, with aws-env's settings, reads it whole (no ranged GET) and masked.
    assert "multipart_threshold = 5GB" in Path(env["AWS_CONFIG_FILE"]).read_text()
    cli = aws.aws_cli(env, "s3", "cp", "s3://clinic-exports/exports/big.csv", "-")
    assert cli.returncode == 0, cli.stderr[-500:]
    assert_clean(cli.stdout, people, "the CLI's copy of a large CSV")


def test_a_non_phi_bucket_passes_byte_for_byte(env, aws_ring):
    st = aws.standin(aws_ring, "s3")
    try:
        st.create_bucket(Bucket=PUBLIC)
    except st.exceptions.BucketAlreadyOwnedByYou:
        pass
    doc = b'{"name": "product sheet", "price": 12.5, "sku": "A-100"}'
    binary = bytes(range(256)) * 4096 + b"\xff\xfe"
    st.put_object(Bucket=PUBLIC, Key="sheet.json", Body=doc, ContentType="application/json")
    st.put_object(Bucket=PUBLIC, Key="blob.bin", Body=binary, ContentType="application/octet-stream")
    s3, _ = sdk("s3")
    assert s3.get_object(Bucket=PUBLIC, Key="sheet.json")["Body"].read() == doc
    assert s3.get_object(Bucket=PUBLIC, Key="blob.bin")["Body"].read() == binary
    # and a part of a binary object of a bucket the policy does not name is its part
    # (bytes that are not UTF-8: a part that reads as text is masked, so it is refused)
    part = s3.get_object(Bucket=PUBLIC, Key="blob.bin", Range="bytes=200-209")
    assert part["Body"].read() == binary[200:210]


# --- refusals ---------------------------------------------------------------------------------

def refused(call, people, what: str) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        r = call()
        if "Body" in r:
            r["Body"].read()
    err = e.value.response
    assert err["Error"]["Code"] == "AccessDenied", f"{what}: {err['Error']['Code']}"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert err["ResponseMetadata"]["RetryAttempts"] == 0, f"{what} was retried"
    assert_clean(json.dumps(err, default=str), people, f"the refusal of {what}")


def test_unmaskable_answers_are_refused_with_nothing_in_clear(env, aws_ring, people):
    p = people[0]
    st = aws.standin(aws_ring, "s3")
    small = b"\x89PNG\r\n\x1a\n\x00\xff" + f"SSN {p['ssn']}".encode() + b"\xfe" * 32
    st.put_object(Bucket=BUCKET, Key="scans/scan.png", Body=small, ContentType="image/png")
    st.put_object(Bucket=BUCKET, Key="scans/big.bin", Body=small + b"\xff" * (2 << 20),
                  ContentType="application/octet-stream")
    s3, got = sdk("s3")
    refused(lambda: s3.get_object(Bucket=BUCKET, Key="scans/scan.png"), people, "a binary object of the PHI bucket")
    refused(lambda: s3.get_object(Bucket=BUCKET, Key="scans/big.bin"), people, "a large binary object of the PHI bucket")
    refused(lambda: s3.get_object(Bucket=BUCKET, Key="exports/patients.csv", Range="bytes=0-199"), people,
            "a ranged GET of the CSV")
    refused(lambda: s3.get_object(Bucket=BUCKET, Key="exports/patients.csv", PartNumber=1), people,
            "a part-number GET of the CSV")
    refused(lambda: s3.select_object_content(
        Bucket=BUCKET, Key="exports/patients.csv", ExpressionType="SQL", Expression="SELECT * FROM S3Object",
        InputSerialization={"CSV": {"FileHeaderInfo": "USE"}}, OutputSerialization={"CSV": {}}), people, "SelectObjectContent")
    assert_clean(got.all, people, "the refused answers")
    # The session goes on after a refusal.
    assert s3.head_object(Bucket=BUCKET, Key="exports/patients.csv")["ResponseMetadata"]["HTTPStatusCode"] == 200
    refusals = [f for f in audit_frames(aws_ring, "error") if f.get("reason") == "unmaskable"]
    assert len(refusals) >= 5 and all(not f.get("fatal") for f in refusals)
    # The refused stream was cancelled (the door's credit says so): its upstream stopped it
    # at once, rather than after two minutes without credit, and sent no error of its own.
    big = [f for f in refusals if "binary" in f["message"]][-1]
    later = [f for f in audit_frames(aws_ring, "error") if f["session"] == big["session"] and f.get("seq") == big["seq"]]
    assert len(later) == 1
    log = (aws_ring.var / "log" / "connect-aws.log").read_text()
    assert f"session {big['session']}: call {big['seq']}: its answer was refused on the way; the stream stops" in log


# --- DynamoDB -------------------------------------------------------------------------------

def test_dynamodb_reads_are_masked_and_still_deserialize(env, aws_ring, people):
    ddb, got = sdk("dynamodb")
    key = {"mrn": {"S": people[0]["mrn"]}}
    items = [ddb.get_item(TableName="Patients", Key=key)["Item"]]
    items += ddb.query(TableName="Patients", KeyConditionExpression="mrn = :m",
                       ExpressionAttributeValues={":m": {"S": people[1]["mrn"]}})["Items"]
    scan = ddb.scan(TableName="Patients")
    items += scan["Items"]
    assert scan["ResponseMetadata"]["RetryAttempts"] == 0     # the SDK checked the recomputed X-Amz-Crc32
    batch = ddb.batch_get_item(RequestItems={"Patients": {"Keys": [{"mrn": {"S": p["mrn"]}} for p in people[:5]]}})
    items += batch["Responses"]["Patients"]
    items += ddb.execute_statement(Statement='SELECT * FROM "Patients"')["Items"]
    assert len(items) >= 2 + len(people) + 5
    d = TypeDeserializer()
    for item in items:
        plain = {k: d.deserialize(v) for k, v in item.items()}
        assert "diagnosis" not in plain or plain["diagnosis"] in {p["diagnosis"] for p in people}
    assert_clean(got.all, people, "DynamoDB answers")
    cli = aws.aws_cli(env, "dynamodb", "scan", "--table-name", "Patients", "--output", "json")
    assert cli.returncode == 0, cli.stderr[-500:]
    assert_clean(cli.stdout, people, "the CLI's scan")


def test_a_number_that_is_phi_comes_back_as_a_masked_string(env, aws_ring, people):
    digits = people[4]["ssn"].replace("-", "")
    aws.standin(aws_ring, "dynamodb").put_item(TableName="Patients", Item={
        "mrn": {"S": "NUM-1"}, "ssn": {"N": digits}, "contact": {"M": {"email": {"S": people[4]["email"]}}}})
    ddb, got = sdk("dynamodb")
    item = ddb.get_item(TableName="Patients", Key={"mrn": {"S": "NUM-1"}})["Item"]
    assert list(item["ssn"]) == ["S"] and item["ssn"]["S"].endswith(digits[-4:])
    TypeDeserializer().deserialize(item["contact"])
    assert_clean(got.all, people, "GetItem of an item with a numeric SSN")


# --- Lambda, Logs, Secrets Manager ----------------------------------------------------------------

def test_lambda_invoke_payload_and_log_tail(env, aws_ring, people):
    lam, got = sdk("lambda")
    p = people[2]
    out = lam.invoke(FunctionName="patient-lookup", LogType="Tail", Payload=json.dumps(p).encode())
    payload = out["Payload"].read()
    assert out["StatusCode"] == 200 and out["ResponseMetadata"]["RetryAttempts"] == 0
    assert_clean(payload, people, "Invoke's payload")
    if "LogResult" in out:
        assert_clean(base64.b64decode(out["LogResult"]), people, "Invoke's log tail")
    assert_clean(got.all, people, "Invoke's HTTP answer")


def test_logs_events_are_masked(env, aws_ring, people):
    logs, got = sdk("logs")
    f = logs.filter_log_events(logGroupName="/clinic/notes")
    assert len(f["events"]) == 10
    g = logs.get_log_events(logGroupName="/clinic/notes", logStreamName="ward-3", startFromHead=True)
    assert len(g["events"]) == 10
    assert_clean(got.all, people, "Logs answers")


def test_secret_values_are_never_shown(env, aws_ring, people):
    real = aws.standin(aws_ring, "secretsmanager").get_secret_value(SecretId="clinic/db-admin")["SecretString"]
    sm, got = sdk("secretsmanager")
    r = sm.get_secret_value(SecretId="clinic/db-admin")
    assert r["SecretString"] == "[REDACTED]" and r["ResponseMetadata"]["RetryAttempts"] == 0
    password = json.loads(real)["password"]
    assert password.encode() not in got.all, "the secret's password appeared in GetSecretValue's answer"
    counts = masked_counts(aws_ring, r["ResponseMetadata"]["RequestId"])
    assert counts.get("SECRET") == 1, counts


# --- what an attacker would try -------------------------------------------------------------------

def test_confusing_shapes(env, aws_ring, people):
    p = people[3]
    st = aws.standin(aws_ring, "s3")
    tricks = {
        # a JSON body under a CSV name and type
        "exports/tricky.csv": (('{"s\\u0073n": "%s", "nested": {"email": "%s"}}' % (p["ssn"], p["email"])).encode(), "text/csv"),
        # CSV served as plain text, with a quoted newline
        "exports/plain.txt": (f'id,ssn,note\n1,{p["ssn"]},"two\nlines {p["email"]}"\n2,{p["ssn"]},x\n'.encode(), "text/plain"),
        # a number that is PHI, and a key whose name looks like markup
        'exports/<Key>{"a":1}</Key>.json': (json.dumps({"ssn": int(p["ssn"].replace("-", "")), "phone": p["phone"]}).encode(),
                                           "application/json"),
        # JSON under an octet-stream label
        "exports/lying.bin": (json.dumps({"email": p["email"], "date_of_birth": p["date_of_birth"]}).encode(), "application/octet-stream"),
    }
    for key, (body, ctype) in tricks.items():
        st.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType=ctype)
    s3, got = sdk("s3")
    for key in tricks:
        r = s3.get_object(Bucket=BUCKET, Key=key)
        assert_clean(r["Body"].read(), people, "GetObject of a confusing object")
    s3.list_objects_v2(Bucket=BUCKET, Prefix="exports/")
    assert_clean(got.all, people, "the confusing objects' answers")


# --- the stage on its own: shapes the stand-in does not make ----------------------------------

def test_the_stage_refuses_event_streams_and_binary_pieces_of_phi_and_masks_a_streamed_csv(aws_ring, people):
    import subprocess
    from helpers.ring import hoop_bin
    p = people[5]
    sid = "aws:s-stage-1"
    phi = {"service": "s3", "action": "GetObject", "iam_action": "s3:GetObject",
           "resources": {"Bucket": BUCKET, "Key": "exports/x.csv"}}
    public = {"service": "s3", "action": "GetObject", "iam_action": "s3:GetObject",
              "resources": {"Bucket": PUBLIC, "Key": "x"}}
    secret = base64.b64encode(f"SSN {p['ssn']}".encode() + b"\xff").decode()
    frames = [
        {"type": "session_open", "session": sid, "seq": 0, "connection": "aws"},
        # an event stream, of a bucket the policy does not name: refused all the same
        {"type": "result", "session": sid, "seq": 1, "status": 200, "call": public,
         "headers": {"content-type": "application/vnd.amazon.eventstream"}, "body_base64": secret},
        # bytes of the PHI bucket, streamed: refused at the head, its pieces and end dropped
        {"type": "result", "session": sid, "seq": 2, "status": 200, "call": phi, "chunked": True, "text": False,
         "headers": {"content-type": "application/octet-stream"}},
        {"type": "result_data", "session": sid, "seq": 2, "body_base64": secret},
        {"type": "result_end", "session": sid, "seq": 2},
        # a streamed CSV: the header in the first piece names the columns of the next
        {"type": "result", "session": sid, "seq": 3, "status": 200, "call": phi, "chunked": True, "text": True,
         "headers": {"content-type": "text/csv"}},
        {"type": "result_data", "session": sid, "seq": 3, "body": "id,ssn,first_name\n"},
        {"type": "result_data", "session": sid, "seq": 3, "body": f"1,{p['ssn'].replace('-', '')},{p['first_name']}\n"},
        {"type": "result_end", "session": sid, "seq": 3},
        # a ranged text read of a bucket the policy does not name: a part cannot be masked
        {"type": "result", "session": sid, "seq": 4, "status": 206, "call": {**public, "range": True},
         "headers": {"content-type": "text/plain", "content-range": "bytes 0-9/100"}, "body": "0123456789"},
    ]
    r = subprocess.run([str(hoop_bin() / "hoop-mask"), "--config", str(aws_ring.var / "hoop.json")],
                       input="".join(json.dumps(f) + "\n" for f in frames), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = [json.loads(line) for line in r.stdout.splitlines()]
    assert_clean(r.stdout, people, "hoop-mask's output")
    assert p["first_name"] not in r.stdout, "a first name of the seed appeared in a streamed CSV"
    by_seq = lambda n: [f for f in out if f.get("seq") == n and f["type"] != "masked"]
    for n in (1, 2, 4):
        assert [f["type"] for f in by_seq(n)] == ["error"], f"call {n}: {[f['type'] for f in by_seq(n)]}"
        assert by_seq(n)[0]["reason"] == "unmaskable" and not by_seq(n)[0].get("fatal") and by_seq(n)[0]["stamp:mask"]
    pieces = [f for f in by_seq(3) if f["type"] == "result_data"]
    assert pieces[0]["body"] == "id,ssn,first_name\n"
    assert pieces[1]["body"].startswith("1,*****") and ",tok_" in pieces[1]["body"]
    counts = [f["counts"] for f in out if f["type"] == "masked" and f["seq"] == 3]
    assert counts and counts[-1].get("SSN") == 1 and counts[-1].get("PERSON_NAME") == 1, counts


# --- from a review: what field rules could not read, digests, metadata by name ----------------

def test_a_large_document_of_a_phi_bucket_that_cannot_be_read_in_pieces_never_passes_in_clear(env, aws_ring, people):
    # Over 1 MiB, stored with S3's default type: it streams, and a JSON document cannot be
    # read piece by piece for its members: nothing of it may pass as content-detected text.
    doc = json.dumps([{"first_name": p["first_name"], "last_name": p["last_name"], "mrn": p["mrn"], "pad": "x" * 2000}
                      for p in people] * 40, indent=1)
    assert len(doc) > 1 << 20, "the document is too small to stream"
    aws.standin(aws_ring, "s3").put_object(Bucket=BUCKET, Key="exports/all.bin", Body=doc.encode())
    s3, got = sdk("s3")
    received = b""
    with pytest.raises(Exception):
        received = s3.get_object(Bucket=BUCKET, Key="exports/all.bin")["Body"].read()
    assert_clean(received + got.all, people, "a streamed JSON document of the PHI bucket")


def test_a_phi_objects_digests_are_not_passed_and_metadata_follows_its_field_rule(env, aws_ring, people):
    p = people[0]
    direct = aws.standin(aws_ring, "s3")
    direct.put_object(Bucket=BUCKET, Key="exports/one.txt", Body=p["ssn"].encode(), ChecksumAlgorithm="SHA256",
                      Metadata={"mrn": p["mrn"]})
    s3, got = sdk("s3")
    head = s3.head_object(Bucket=BUCKET, Key="exports/one.txt", ChecksumMode="ENABLED")
    headers = head["ResponseMetadata"]["HTTPHeaders"]
    assert "etag" not in headers and not any(k.startswith("x-amz-checksum-") for k in headers), headers
    assert head["Metadata"]["mrn"] != p["mrn"]
    assert_clean(got.all, people, "HeadObject of a PHI object")


def test_error_codes_reach_the_sdks_as_the_service_wrote_them(env):
    # The SDKs' retries, waiters and callers branch on an error's code: a CamelCase code
    # (NoSuchKey, ResourceNotFoundException) was read as a person's name and came back
    # as [PERSON_NAME].
    s3 = aws.client(env, "s3")
    for bucket, code in ((BUCKET, "NoSuchKey"), ("no-such-bucket-here", "NoSuchBucket")):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.get_object(Bucket=bucket, Key="no-such-object.csv")
        assert e.value.response["Error"]["Code"] == code, bucket
    with pytest.raises(botocore.exceptions.ClientError) as e:
        aws.client(env, "dynamodb").describe_table(TableName="NoSuchTableHere")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        aws.client(env, "logs").get_log_events(logGroupName="/clinic/none", logStreamName="x")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_every_header_an_uploader_chose_is_read_for_phi(env, aws_ring):
    # Content-Type's parameters (a MIME `name=` is a file name) and Content-Encoding are
    # the uploader's text as much as Content-Disposition is: every header but the
    # service's own values goes through content detection, in any bucket.
    ssn, name = "536-22-8145", "Jonathan Pemberton"      # synthetic
    direct = aws.standin(aws_ring, "s3")
    direct.put_object(Bucket=BUCKET, Key="headers/ct.txt", Body=b"nothing here\n",
                      ContentType=f'text/plain; name="{name} {ssn}.txt"', ContentEncoding=f"x-{name}-{ssn}")
    other = "headers-" + uuid.uuid4().hex[:6]   # a bucket no rule names: content detection alone
    direct.create_bucket(Bucket=other)
    direct.put_object(Bucket=other, Key="a.pdf", Body=b"%PDF-1.4 x", ContentType=f'application/pdf; name="{name} {ssn}.pdf"')
    s3 = aws.client(env, "s3")
    for bucket, key in ((BUCKET, "headers/ct.txt"), (other, "a.pdf")):
        head = s3.head_object(Bucket=bucket, Key=key)["ResponseMetadata"]["HTTPHeaders"]
        got = s3.get_object(Bucket=bucket, Key=key)
        got["Body"].read()
        seen = json.dumps(head) + json.dumps(got["ResponseMetadata"]["HTTPHeaders"])
        assert ssn not in seen and name not in seen, f"an SSN or a name in a header came back unmasked ({bucket})"
        assert head.get("content-length") and (head.get("etag") or bucket == BUCKET)   # the service's own values pass


def test_digests_of_a_phi_resource_are_no_oracle(env, aws_ring):
    # A small object's MD5 (its ETag in a listing) or checksum gives its one SSN back by
    # trying every SSN: of a resource the policy names, the service's digests are
    # redacted in its answers as in its headers; of any other, they pass.
    import hashlib
    ssn = "536-22-8145"   # synthetic
    direct = aws.standin(aws_ring, "s3")
    direct.put_object(Bucket=BUCKET, Key="digests/one.txt", Body=ssn.encode(), ChecksumAlgorithm="SHA256")
    other = "digests-" + uuid.uuid4().hex[:6]
    direct.create_bucket(Bucket=other)
    direct.put_object(Bucket=other, Key="one.txt", Body=ssn.encode())
    md5 = hashlib.md5(ssn.encode()).hexdigest()
    sha = base64.b64encode(hashlib.sha256(ssn.encode()).digest()).decode()
    s3 = aws.client(env, "s3")
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix="digests/")
    assert listing["KeyCount"] == 1 and md5 not in json.dumps(listing, default=str), "an object's MD5 in a PHI bucket's listing"
    attrs = s3.get_object_attributes(Bucket=BUCKET, Key="digests/one.txt", ObjectAttributes=["ETag", "Checksum", "ObjectSize"])
    seen = json.dumps(attrs, default=str)
    assert md5 not in seen and sha not in seen and attrs["ObjectSize"] == len(ssn), "a digest in GetObjectAttributes"
    assert md5 in json.dumps(s3.list_objects_v2(Bucket=other), default=str)   # a bucket no rule names: as it is


def test_base64_data_is_read_as_the_text_it_holds(env, aws_ring):
    # A Kinesis record's Data travels as base64: a detector reading the base64 sees no
    # SSN. Text in base64 is read decoded and masked there, written back as base64.
    ssn, name = "536-22-8145", "Jonathan Pemberton"      # synthetic
    direct = aws.standin(aws_ring, "kinesis")
    stream = "notes-" + uuid.uuid4().hex[:6]
    direct.create_stream(StreamName=stream, ShardCount=1)
    direct.put_record(StreamName=stream, Data=f"Patient {name}, SSN {ssn}, called back.".encode(), PartitionKey="a")
    k = aws.client(env, "kinesis")
    shard = k.describe_stream(StreamName=stream)["StreamDescription"]["Shards"][0]["ShardId"]
    it = k.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = k.get_records(ShardIterator=it)["Records"]
    assert len(records) == 1
    data = records[0]["Data"].decode()
    assert ssn not in data and name not in data and "called back" in data, "a record's base64 Data came back unmasked"


def test_member_names_are_read_as_text_too(env, aws_ring):
    # A document keyed by patient (`{"Jonathan Pemberton": {...}}`), a DynamoDB attribute
    # or map key: a member's name is text someone wrote, read as a value is.
    ssn, name = "536-22-8145", "Jonathan Pemberton"      # synthetic
    bucket = "names-" + uuid.uuid4().hex[:6]
    direct = aws.standin(aws_ring, "s3")
    direct.create_bucket(Bucket=bucket)
    direct.put_object(Bucket=bucket, Key="by-patient.json", ContentType="application/json",
                      Body=json.dumps({name: {"ssn-on-file": ssn, "visits": 3}, "Maria Gonzalez": {"visits": 1}}).encode())
    body = aws.client(env, "s3").get_object(Bucket=bucket, Key="by-patient.json")["Body"].read().decode()
    doc = json.loads(body)
    assert name not in body and "Maria Gonzalez" not in body and ssn not in body and len(doc) == 2, \
        "a name as a member's name came back unmasked"
    table = "Names" + uuid.uuid4().hex[:6]
    ddb = aws.keyed_table(aws_ring, table)
    ddb.put_item(TableName=table, Item={"k": {"S": "1"}, "contacts": {"M": {name: {"S": "son"}}}, f"ssn {ssn}": {"S": "x"}})
    item = json.dumps(aws.client(env, "dynamodb").get_item(TableName=table, Key={"k": {"S": "1"}})["Item"])
    assert name not in item and ssn not in item and "son" in item, "a name as an attribute or map key came back unmasked"


def test_the_services_member_names_reach_the_sdks_unchanged(env, aws_ring):
    # Member names were read like values: `FunctionArn`, `QueueUrls` and `KeyMetadata`
    # came back as [PERSON_NAME], and the SDKs found no such member.
    conf = aws.client(env, "lambda").get_function(FunctionName="patient-lookup")["Configuration"]
    assert {"FunctionName", "FunctionArn", "Runtime"} <= set(conf), sorted(conf)
    queue = "names-" + uuid.uuid4().hex[:6]
    aws.standin(aws_ring, "sqs").create_queue(QueueName=queue)
    urls = aws.client(env, "sqs").list_queues(QueueNamePrefix=queue)
    assert len(urls.get("QueueUrls", [])) == 1, sorted(urls)
    key = aws.standin(aws_ring, "kms").create_key()["KeyMetadata"]["KeyId"]
    meta = aws.client(env, "kms").describe_key(KeyId=key)
    assert meta.get("KeyMetadata", {}).get("KeyId") == key, sorted(meta)


def test_keys_someone_wrote_in_the_services_maps_are_read(env, aws_ring):
    # A tag's key is someone's text (the model says Tags is a map): a patient's name there
    # came back in clear once the service's own member names were left unread.
    queue = "keys-" + uuid.uuid4().hex[:6]
    name = "Pemberton"                                   # synthetic surname
    url = aws.standin(aws_ring, "sqs").create_queue(QueueName=queue)["QueueUrl"]
    aws.standin(aws_ring, "sqs").tag_queue(QueueUrl=url, Tags={name: "guardian", "team": "intake"})
    tags = aws.client(env, "sqs").list_queue_tags(QueueUrl=url).get("Tags", {})
    assert name not in json.dumps(tags) and tags.get("team") == "intake", "a name as a tag's key came back unmasked"
