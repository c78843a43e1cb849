"""The AWS door reads a request's target one way, the way it travels on (a hunt): a `#`
made the door judge `GetObject` of bucket `clinic-exports#` while the upstream's URL
parser dropped the fragment and ran a listing of the PHI bucket (each object's MD5 in
clear), and a held `DeleteObjectTagging` ran, once granted, as a DeleteObject; a raw `+`
was a plus to the rules and the audit trail and a space to the service (S3 reads one so
in a path too). Such
targets are refused with nothing forwarded; the stand-in's state is read behind the
gateway's back. Keys with those characters, percent-encoded as the SDKs send them, pass.
Conditions on an object's digest (If-Match...) are refused: they answered for a digest
that masking withholds."""
from __future__ import annotations

import hashlib
import sqlite3

import botocore.exceptions
import pytest

from conftest import ring_fixture
from helpers import aws
from helpers import aws_raw

targets_ring = ring_fixture("aws-targets", aws=True, aws_approval=None)
env = aws.settings_fixture("targets_ring", "agent@example.org", "agents", agent=True)


@pytest.fixture(scope="module")
def creds(env):
    return aws.credentials(env)


def calls(ring) -> int:
    with sqlite3.connect(ring.var / "audit.sqlite") as db:
        return db.execute("SELECT count(*) FROM frames WHERE type = 'call'").fetchone()[0]


@pytest.mark.parametrize("method,target", [
    ("GET", "/clinic-exports#/x"),
    ("DELETE", "/clinic-exports/exports/keep.csv#?tagging"),
    ("GET", "/clinic-exports?list-type=2&prefix=notes/visit+0001"),
    ("GET", "/clinic-exports/exports/visit+0001.csv"),
    ("GET", "/clinic-exports/exports/a b.csv"),
    ("GET", "/clinic-exports/exports/%zz.csv"),
    ("GET", "http://localhost/clinic-exports"),
], ids=["fragment", "fragment before a sub-resource", "plus in the query", "plus in the path", "space", "bad escape",
        "absolute form"])
def test_a_target_read_two_ways_is_refused_and_nothing_runs(targets_ring, creds, method, target):
    direct = aws.standin(targets_ring, "s3")
    direct.put_object(Bucket="clinic-exports", Key="exports/keep.csv", Body=b"mrn\nMRN0000001\n", ContentType="text/csv")
    before = calls(targets_ring)
    status, _, body = aws_raw.request(targets_ring, creds, "s3", method, target)
    # (A space ends the target for the HTTP parser itself: a 400 of its own.)
    assert status == 400 and (b"InvalidURI" in body or b" " in target.encode()), (status, body[:200])
    assert calls(targets_ring) == before, "a call went round the ring"
    keys = [o["Key"] for o in direct.list_objects_v2(Bucket="clinic-exports", Prefix="exports/keep").get("Contents", [])]
    assert "exports/keep.csv" in keys


def test_keys_with_those_characters_pass_percent_encoded(targets_ring, env):
    """The control: boto3 percent-encodes `#`, `+` and a space in a key; through the door
    each is read back under its own key."""
    direct = aws.standin(targets_ring, "s3")
    s3 = aws.client(env, "s3")
    for n, key in enumerate(["exports/a#b.csv", "exports/visit+0001.csv", "exports/a b.csv"]):
        direct.put_object(Bucket="clinic-exports", Key=key, Body=f"row {n}\n".encode(), ContentType="text/csv")
    for n, key in enumerate(["exports/a#b.csv", "exports/visit+0001.csv", "exports/a b.csv"]):
        assert s3.get_object(Bucket="clinic-exports", Key=key)["Body"].read() == f"row {n}\n".encode()


# --- conditions on an object's digest --------------------------------------------------------

ONE_SSN_KEY = "exports/one-ssn.txt"
ONE_SSN = b"SSN: 912-34-5678\n"   # synthetic (the 900 range is never issued)


def etag_of(b: bytes) -> str:
    return '"' + hashlib.md5(b).hexdigest() + '"'


def status_of(call):
    try:
        return call()["ResponseMetadata"]["HTTPStatusCode"]
    except botocore.exceptions.ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.parametrize("condition", ["IfMatch", "IfNoneMatch"])
def test_a_guess_of_a_phi_objects_bytes_is_not_answered(targets_ring, env, condition):
    """(A hunt.) The door withholds a PHI object's ETag (the MD5 of its bytes), but forwarded
    If-Match / If-None-Match, which S3 compares with it: 200 or 412 confirmed one guess of
    the bytes a call (one right of twenty). Conditions on a digest are refused (`*`, which
    compares none, would pass: the stand-in does not take it)."""
    aws.standin(targets_ring, "s3").put_object(Bucket="clinic-exports", Key=ONE_SSN_KEY, Body=ONE_SSN, ContentType="text/plain")
    s3 = aws.client(env, "s3")
    guesses = [f"SSN: 912-34-{n:04d}\n".encode() for n in range(5670, 5690)]
    answers = {status_of(lambda: s3.head_object(Bucket="clinic-exports", Key=ONE_SSN_KEY, **{condition: etag_of(g)})) for g in guesses}
    assert answers == {400}, f"{condition}: answers {sorted(answers)} to twenty guesses"
    assert status_of(lambda: s3.head_object(Bucket="clinic-exports", Key=ONE_SSN_KEY)) == 200
