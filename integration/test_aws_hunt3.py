"""Hunt aws3 (s45): what the door judged against what the stand-in ran and answered.

1. A path label percent-encoded twice (`/clinic%252Dexports/…`): the door read bucket
   `clinic%2Dexports`, moto decodes once more and acted on clinic-exports (field rules,
   holds and digest withholding skipped). A `%` left in a decoded label is refused, but in
   an S3 object key (read once by both).
2. DynamoDB Binary attributes of a PHI table that are not text (msgpack, a short Latin-1
   note, bzip2) passed whole: they are redacted, as a PHI bucket's bytes are refused.
3. A page token the client wrote (DynamoDB's ExclusiveStartKey, S3's Marker) ran as "a
   further page" of an approved call, unreviewed: only tokens the door delivered count.
4. A parameter named as a credential (`/clinic/db/password`, type String) came back in
   clear: a structure's value whose name says credential is redacted.
5. A presigned PutObject's `x-amz-acl=public-read` in the query was no ACL to the rules.

Values are compared, never printed."""
from __future__ import annotations

import base64
import bz2
import csv
import datetime
import hashlib
import hmac
import io
import json
import re
import uuid

import botocore.exceptions
import httpx
import pytest

from conftest import ring_fixture
from helpers import aws
from helpers import aws_raw
from test_ring_approve import approve

# The embedded default call rules (clinic-exports and Patients are PHI: masking.resources).
default_ring = ring_fixture("awshunt3", aws=True, aws_approval=None)
ring = aws.door_fixture("default_ring")
env = aws.settings_fixture("ring", "agent@example.org", "agents", agent=True)

BUCKET = "clinic-exports"
CSV_KEY = "exports/patients.csv"
TWICE = "clinic%252Dexports"   # '-' encoded twice: the door reads clinic%2Dexports, moto clinic-exports
HOLD = re.compile(r"held for approval as (r-[0-9a-z-]+)")


@pytest.fixture(scope="module")
def creds(env):
    return aws.credentials(env)


def send(ring, creds, service, method, target, headers=(), body=b""):
    return aws_raw.request(ring, creds, service, method, target, list(headers), body)


def said(r) -> tuple[int, str]:
    m = re.search(rb"<Code>([^<]{1,80})</Code>|\"__type\": ?\"([^\"]{1,80})\"", r[2])
    return r[0], (m.group(1) or m.group(2)).decode() if m else ""


def held_or_denied(r) -> bool:
    return r[0] == 403 and (b"held for approval" in r[2] or b"not allowed" in r[2])


def outcome(call):
    """("ran", answer) or ("held", id) or ("refused", code)."""
    try:
        return "ran", call()
    except botocore.exceptions.ClientError as e:
        m = HOLD.search(e.response["Error"]["Message"])
        return ("held", m.group(1)) if m else ("refused", e.response["Error"]["Code"])


# 1. Labels encoded twice.

def test_a_phi_object_read_through_a_twice_encoded_bucket_is_refused(ring, creds):
    body = aws.standin(ring, "s3").get_object(Bucket=BUCKET, Key=CSV_KEY)["Body"].read().decode()
    seeded = [row["zip"] for row in csv.DictReader(io.StringIO(body))]
    control = send(ring, creds, "s3", "GET", f"/{BUCKET}/{CSV_KEY}")
    rows = list(csv.DictReader(io.StringIO(control[2].decode())))
    assert control[0] == 200 and sum(r["zip"] == z for r, z in zip(rows, seeded)) == 0, "control: every zip masked"
    r = send(ring, creds, "s3", "GET", f"/{TWICE}/{CSV_KEY}")
    in_clear = sum(row.get("zip") == z for row, z in zip(csv.DictReader(io.StringIO(r[2].decode(errors="replace"))), seeded))
    assert in_clear == 0 and said(r) == (400, "InvalidURI"), said(r)


@pytest.mark.parametrize("target", [f"/{TWICE}?list-type=2&prefix=exports/pat", f"/{TWICE}?list-type=2", f"/{TWICE}/scans/hunt3.bin"])
def test_a_twice_encoded_bucket_is_refused_not_run_on_the_phi_bucket(ring, creds, target):
    """A listing by a key prefix (held on clinic-exports), a listing (its ETags withheld),
    bytes (refused of a PHI bucket): judged as another bucket, each ran on clinic-exports."""
    aws.standin(ring, "s3").put_object(Bucket=BUCKET, Key="scans/hunt3.bin", Body=b"PK\x03\x04" + bytes(range(256)) * 8)
    r = send(ring, creds, "s3", "GET", target)
    assert said(r) == (400, "InvalidURI"), said(r)
    assert b"<Key>" not in r[2] and b"PK\x03\x04" not in r[2]


def test_a_twice_encoded_function_name_is_refused(ring, creds):
    r = send(ring, creds, "lambda", "GET", "/2015-03-31/functions/patient%252Dlookup/configuration")
    ran_on = json.loads(r[2]).get("FunctionName") if r[0] == 200 else None
    assert ran_on != "patient-lookup" and r[0] == 400, r[0]
    control = send(ring, creds, "lambda", "GET", "/2015-03-31/functions/patient-lookup/configuration")
    assert control[0] == 200 and json.loads(control[2]).get("FunctionName") == "patient-lookup"


def test_a_percent_in_an_object_key_is_read_once_by_both(ring, creds):
    """Control: `%25` in a key is a `%` to the door and to the stand-in alike."""
    r = send(ring, creds, "s3", "GET", f"/{BUCKET}/exports%252Fpatients.csv")
    assert said(r) == (404, "NoSuchKey"), said(r)


# 2. Binary attributes of a PHI table.

SSN, NAME, DOB = "123-45-6789", "Quentin Abernathy", "1984-03-09"   # synthetic
FORMS = {
    "msgpack": (b"\x83\xa4name" + bytes([0xA0 | len(NAME)]) + NAME.encode() + b"\xa3ssn" + bytes([0xA0 | len(SSN)])
                + SSN.encode() + b"\xa3dob" + bytes([0xA0 | len(DOB)]) + DOB.encode()),
    "latin1-note": f"Patient José {NAME} SSN {SSN}".encode("latin-1"),
    "bzip2-json": bz2.compress(json.dumps({"name": NAME, "ssn": SSN, "dob": DOB}).encode()),
}


def readable(raw) -> bool:
    raw = raw if isinstance(raw, bytes) else base64.b64decode(raw) if isinstance(raw, str) else b""
    if SSN.encode() in raw:
        return True
    try:
        return SSN.encode() in bz2.decompress(raw)
    except (OSError, ValueError):
        return False


def reads(ddb, table, mrn):
    key = {"mrn": {"S": mrn}}
    return {
        "get_item": lambda: ddb.get_item(TableName=table, Key=key).get("Item"),
        "query": lambda: ddb.query(TableName=table, KeyConditionExpression="mrn = :m",
                                   ExpressionAttributeValues={":m": {"S": mrn}})["Items"][0],
        "batch_get_item": lambda: ddb.batch_get_item(RequestItems={table: {"Keys": [key]}})["Responses"][table][0],
        # A WHERE on a PHI table is held (review-phi-partiql-filter): every item with a record.
        "execute_statement": lambda: [i for i in ddb.execute_statement(Statement=f'SELECT * FROM "{table}"', Limit=200)["Items"]
                                      if "record" in i],
        "transact_get_items": lambda: ddb.transact_get_items(
            TransactItems=[{"Get": {"TableName": table, "Key": key}}])["Responses"][0]["Item"],
    }


def binaries(item) -> list:
    """Every B (and BS member) in an item, at any depth."""
    out = []
    def walk(v):
        if isinstance(v, dict):
            for t, inner in v.items():
                if t == "B":
                    out.append(inner)
                elif t == "BS":
                    out.extend(inner)
                else:
                    walk(inner)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(item)
    return out


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("read", ["get_item", "query", "batch_get_item", "execute_statement", "transact_get_items"])
def test_a_binary_attribute_of_the_phi_table_is_not_passed_whole(ring, env, form, read):
    blob = FORMS[form]
    assert readable(blob), "the test's bytes hold the SSN"
    mrn = f"MRN0799{sorted(FORMS).index(form):03d}"
    aws.standin(ring, "dynamodb").put_item(TableName="Patients", Item={
        "mrn": {"S": mrn}, "record": {"B": blob}, "nested": {"M": {"scan": {"B": blob}, "list": {"L": [{"B": blob}]}}},
        "set": {"BS": [blob, b"\x00\x01"]}})
    kind, item = outcome(reads(aws.client(env, "dynamodb"), "Patients", mrn)[read])
    assert kind in ("ran", "refused"), kind
    leaked = sum(readable(b) for b in binaries(item)) if kind == "ran" else 0
    assert leaked == 0, f"{read}: {leaked} binary attributes of the PHI table came back whole, the SSN readable"
    items = item if isinstance(item, list) else [item] if kind == "ran" else []
    assert kind == "refused" or items, "the item was read"
    assert all(i["record"] == {"S": "[REDACTED]"} for i in items), "redacted, the item's shape kept"


def test_text_in_a_binary_attribute_is_still_read_and_other_tables_bytes_pass(ring, env):
    """Control: UTF-8 text in a B is read by the detectors (a clean note passes as it is);
    bytes of a table no rule names pass, as a plain bucket's objects do."""
    ddb, direct = aws.client(env, "dynamodb"), aws.standin(ring, "dynamodb")
    direct.put_item(TableName="Patients", Item={"mrn": {"S": "MRN0799100"}, "note": {"B": b"follow-up in two weeks"},
                                                "flagged": {"B": f"SSN {SSN}".encode()}})
    item = ddb.get_item(TableName="Patients", Key={"mrn": {"S": "MRN0799100"}})["Item"]
    assert item["note"] == {"B": b"follow-up in two weeks"}
    assert "S" in item["flagged"] and SSN not in item["flagged"]["S"]
    plain = f"hunt3plain{uuid.uuid4().hex[:6]}"
    direct.create_table(TableName=plain, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    blob = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    direct.put_item(TableName=plain, Item={"id": {"S": "1"}, "image": {"B": blob}})
    assert ddb.get_item(TableName=plain, Key={"id": {"S": "1"}})["Item"]["image"] == {"B": blob}


# 3. Page tokens the client wrote.

@pytest.fixture(scope="module")
def paged_ring(ring):
    def change(cfg):
        have = cfg["connections"]["aws"].setdefault("masking", {}).setdefault("resources", [])
        if {"table": "Patients*"} not in have:
            have.append({"table": "Patients*"})
    ring.reconfigure(change)
    aws.wait_door(ring)
    return ring


def test_an_exclusive_start_key_the_client_wrote_is_not_a_page_of_an_approved_query(paged_ring, env):
    ring = paged_ring
    name = f"PatientsVisits{uuid.uuid4().hex[:6]}"
    direct = aws.standin(ring, "dynamodb")
    direct.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "mrn", "KeyType": "HASH"}, {"AttributeName": "dob", "KeyType": "RANGE"}],
                        AttributeDefinitions=[{"AttributeName": "mrn", "AttributeType": "S"},
                                              {"AttributeName": "dob", "AttributeType": "S"}])
    mrn = "MRN0700999"
    direct.put_item(TableName=name, Item={"mrn": {"S": mrn}, "dob": {"S": DOB}, "note": {"S": "follow-up"}})
    ddb = aws.client(env, "dynamodb")
    query = dict(TableName=name, KeyConditionExpression="mrn = :m", FilterExpression="attribute_exists(note)",
                 ExpressionAttributeValues={":m": {"S": mrn}}, Select="COUNT")
    kind, rid = outcome(lambda: ddb.query(**query))
    assert kind == "held", kind       # review-phi-filter
    assert approve(ring, "grant", rid).returncode == 0
    kind, first = outcome(lambda: ddb.query(**query))
    assert kind == "ran" and first["Count"] == 1, kind
    # Start keys of the client's own: each is a question about the masked sort key.
    below = outcome(lambda: ddb.query(**query, ExclusiveStartKey={"mrn": {"S": mrn}, "dob": {"S": "1984-03-08"}}))
    above = outcome(lambda: ddb.query(**query, ExclusiveStartKey={"mrn": {"S": mrn}, "dob": {"S": "1984-03-10"}}))
    assert below[0] == "held" and above[0] == "held", (below[0], above[0])


def test_the_pages_the_service_issued_still_run_under_the_approval(paged_ring, env):
    """Control: an approved Scan's own pages (the tokens its answers carried) run."""
    ring = paged_ring
    name = f"PatientsPages{uuid.uuid4().hex[:6]}"
    direct = aws.standin(ring, "dynamodb")
    direct.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "visit", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "visit", "AttributeType": "S"}])
    for i in range(6):
        direct.put_item(TableName=name, Item={"visit": {"S": f"v{i:03d}"}, "note": {"S": "follow-up"}})
    ddb = aws.client(env, "dynamodb")
    paged = lambda: list(ddb.get_paginator("scan").paginate(TableName=name, FilterExpression="attribute_exists(note)",
                                                            PaginationConfig={"PageSize": 2}))
    kind, rid = outcome(paged)
    assert kind == "held", kind
    assert approve(ring, "grant", rid).returncode == 0
    pages = paged()
    assert len(pages) >= 3 and sum(p["Count"] for p in pages) == 6


def test_a_marker_the_client_wrote_is_not_a_page_of_an_approved_listing(paged_ring, env):
    """S3's V1 listing pages by a key name (Marker): one the client chose is the same oracle
    as a prefix (review-phi-key-marker), not a page of the listing approved."""
    s3 = aws.client(env, "s3")
    listing = dict(Bucket=BUCKET, Prefix="exports/pat")      # review-phi-key-prefix
    kind, rid = outcome(lambda: s3.list_objects(**listing))
    assert kind == "held", kind
    assert approve(paged_ring, "grant", rid).returncode == 0
    kind, _ = outcome(lambda: s3.list_objects(**listing))
    assert kind == "ran", kind
    kind, _ = outcome(lambda: s3.list_objects(**listing, Marker="exports/pas"))
    assert kind == "held", kind


# 4. Credentials kept as plain parameters.

PASSWORD = "Hunt3r-synthetic-pw-0099"
PARAM = "/clinic/db/password"


@pytest.fixture(scope="module")
def parameter(ring):
    aws.standin(ring, "ssm").put_parameter(Name=PARAM, Value=PASSWORD, Type="String", Overwrite=True)
    aws.standin(ring, "ssm").put_parameter(Name="/clinic/db/host", Value="db.clinic.internal", Type="String", Overwrite=True)
    return PARAM


@pytest.mark.parametrize("read", ["get_parameter", "get_parameters", "get_parameters_by_path", "get_parameter_history"])
def test_a_password_parameter_is_not_answered_in_clear(ring, env, parameter, read):
    ssm = aws.client(env, "ssm")
    calls = {
        "get_parameter": lambda: ssm.get_parameter(Name=parameter),
        "get_parameters": lambda: ssm.get_parameters(Names=[parameter]),
        "get_parameters_by_path": lambda: ssm.get_parameters_by_path(Path="/clinic/db"),
        "get_parameter_history": lambda: ssm.get_parameter_history(Name=parameter),
    }
    answer = json.dumps(calls[read](), default=str)
    assert PASSWORD not in answer, f"{read}: the password kept under {parameter} came back in clear"
    assert parameter in answer, "the parameter's name stays"


def test_control_a_parameter_that_is_no_credential_is_read(ring, env, parameter):
    assert aws.client(env, "ssm").get_parameter(Name="/clinic/db/host")["Parameter"]["Value"] == "db.clinic.internal"


# 5. x-amz-* members in a presigned URL's query.

def presigned(ring, creds, method: str, path: str, extra: dict[str, str], expires: int = 60) -> str:
    """A SigV4 presigned URL signed by hand, `extra` in its query (as a client may write it)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz, date = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = f"{date}/us-east-1/s3/aws4_request"
    q = {"X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Credential": f"{creds.access_key}/{scope}", "X-Amz-Date": amz,
         "X-Amz-Expires": str(expires), "X-Amz-SignedHeaders": "host", "X-Amz-Security-Token": creds.token, **extra}
    query = "&".join(f"{aws_raw._enc(k, False)}={aws_raw._enc(v, False)}" for k, v in q.items())
    host = f"localhost:{ring.aws_port}"
    creq = "\n".join([method, path, aws_raw.canonical_query(query), f"host:{host}\n", "host", "UNSIGNED-PAYLOAD"])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + creds.secret_key).encode()
    for part in (date, "us-east-1", "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    return f"https://{host}{path}?{query}&X-Amz-Signature={sig}"


@pytest.mark.parametrize("name", ["x-amz-acl", "x-amz-Acl"])
def test_a_public_acl_in_a_presigned_urls_query_is_denied(ring, env, creds, name):
    url = presigned(ring, creds, "PUT", f"/{BUCKET}/uploads/hunt3-public.txt", {name: "public-read"})
    r = httpx.put(url, content=b"synthetic", verify=env["AWS_CA_BUNDLE"], timeout=30)
    assert r.status_code == 403 and "not allowed" in r.text and "held for approval" not in r.text, r.status_code
    with pytest.raises(botocore.exceptions.ClientError):
        aws.standin(ring, "s3").head_object(Bucket=BUCKET, Key="uploads/hunt3-public.txt")
    # Control: the same URL without the ACL is a write, held for approval (not denied).
    plain = httpx.put(presigned(ring, creds, "PUT", f"/{BUCKET}/uploads/hunt3-public.txt", {}), content=b"synthetic",
                      verify=env["AWS_CA_BUNDLE"], timeout=30)
    assert plain.status_code == 403 and "held for approval" in plain.text, plain.status_code
