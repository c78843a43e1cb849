"""The door's SigV4 verifier against botocore's own signer (docs/aws.md, "Signatures"):
a generated set of requests across services and protocols, signed by botocore with the
door's temporary credentials and sent raw. Each must pass the signature check (whatever
the stand-in then answers), and the same request with one byte changed after signing
must not."""
from __future__ import annotations

import datetime
import itertools
import json
import random
import urllib.parse

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import httpx
import pytest

from conftest import ring_fixture
from helpers import aws

SIGNATURE_ERRORS = ("SignatureDoesNotMatch", "IncompleteSignature", "MissingAuthenticationToken", "AccessDenied",
                    "InvalidClientTokenId", "XAmzContentSHA256Mismatch", "RequestExpired", "AuthorizationQueryParametersError")


# A ring of the module's own with the AWS stand-in.
aws_ring = ring_fixture("awssig", aws=True)


@pytest.fixture(scope="module")
def creds(aws_ring):
    return aws.credentials(aws.aws_env(aws_ring))


# Keys and query values an SDK must encode: spaces, reserved characters, Unicode, tildes.
AWKWARD = ["plain.txt", "a b.txt", "ü/ñ 文件.csv", "a+b=c&d.txt", "~tilde!*'()", "dir//double", "100%.txt",
           "semi;colon:at@", "emoji-😀", "trailing/"]
PREFIXES = ["", "a/b c+d&e=f", "ü", "%2F", "x=y"]


def cases():
    rng = random.Random(1860)
    out = []
    for key in AWKWARD:
        k = urllib.parse.quote(key, safe="/~")
        out.append(("s3 PutObject " + key, "s3", "PUT", f"/clinic-exports/sig/{k}", "", {"Content-Type": "text/plain"}, b"synthetic"))
        out.append(("s3 GetObject " + key, "s3", "GET", f"/clinic-exports/sig/{k}", "", {}, b""))
    for prefix in PREFIXES:
        q = urllib.parse.urlencode({"list-type": "2", "prefix": prefix, "delimiter": "/"}, quote_via=urllib.parse.quote)
        out.append(("s3 ListObjectsV2 " + prefix, "s3", "GET", "/clinic-exports", q, {}, b""))
    for mrn in ["MRN-1", "a b", "ü~"]:
        out.append(("dynamodb GetItem " + mrn, "dynamodb", "POST", "/", "", {
            "X-Amz-Target": "DynamoDB_20120810.GetItem", "Content-Type": "application/x-amz-json-1.0"},
            json.dumps({"TableName": "Patients", "Key": {"mrn": {"S": mrn}}}).encode()))
    for value in ["clinic worker", "a&b=c", "ü"]:
        body = urllib.parse.urlencode({"Action": "DescribeInstances", "Version": "2016-11-15", "Filter.1.Name": "tag:Name",
                                       "Filter.1.Value.1": value})
        out.append(("ec2 DescribeInstances " + value, "ec2", "POST", "/", "", {
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, body.encode()))
    out.append(("lambda GetFunction", "lambda", "GET", "/2015-03-31/functions/patient-lookup", "", {}, b""))
    out.append(("lambda ListFunctions query", "lambda", "GET", "/2015-03-31/functions/", "MaxItems=5&Marker=a%20b", {}, b""))
    out.append(("logs FilterLogEvents", "logs", "POST", "/", "", {"X-Amz-Target": "Logs_20140328.FilterLogEvents",
               "Content-Type": "application/x-amz-json-1.1"}, json.dumps({"logGroupName": "/clinic/notes", "limit": 1}).encode()))
    out.append(("sts GetCallerIdentity", "sts", "POST", "/", "", {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
               b"Action=GetCallerIdentity&Version=2011-06-15"))
    rng.shuffle(out)
    return out


def sign(creds, service, method, url, headers, body, presign=False):
    req = botocore.awsrequest.AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    c = botocore.credentials.Credentials(creds.access_key, creds.secret_key, creds.token)
    if presign:
        signer = (botocore.auth.S3SigV4QueryAuth if service == "s3" else botocore.auth.SigV4QueryAuth)(c, service, "us-east-1", expires=60)
    else:
        signer = (botocore.auth.S3SigV4Auth if service == "s3" else botocore.auth.SigV4Auth)(c, service, "us-east-1")
    signer.add_auth(req)
    return req


def send(aws_ring, req, body=None):
    content = body if body is not None else (req.body or b"")
    return httpx.request(req.method, req.url, content=content, headers=dict(req.headers.items()),
                         verify=aws.ca(aws_ring), timeout=30)


def refused_for_signature(r):
    text = r.text
    return r.status_code in (400, 403) and any(code in text for code in SIGNATURE_ERRORS)


CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_botocore_signed_requests_pass_the_verifier(case, aws_ring, creds):
    name, service, method, path, query, headers, body = case
    url = aws.door_url(aws_ring) + path + ("?" + query if query else "")
    r = send(aws_ring, sign(creds, service, method, url, headers, body))
    assert not refused_for_signature(r), f"{name}: {r.status_code} {r.text[:300]}"


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_one_changed_byte_fails_the_verifier(case, aws_ring, creds):
    name, service, method, path, query, headers, body = case
    url = aws.door_url(aws_ring) + path + ("?" + query if query else "")
    req = sign(creds, service, method, url, headers, body)
    # Change what the signature covers: the body, else the query, else the path.
    changed = None
    if body:
        changed = body[:-1] + bytes([body[-1] ^ 1])
    elif query:
        req.url = req.url.replace("list-type=2", "list-type=1") if "list-type=2" in req.url else req.url + "X"
    elif req.url[-3] == "%":
        # Another character, still percent-encoded (a broken escape is refused before the signature is read).
        req.url = req.url[:-1] + ("1" if req.url[-1] != "1" else "2")
    else:
        req.url = req.url[:-1] + ("x" if not req.url.endswith("x") else "y")
    r = send(aws_ring, req, changed)
    assert r.status_code in (400, 403) and refused_for_signature(r), f"{name}: {r.status_code} {r.text[:300]}"


@pytest.mark.parametrize("key", ["plain.txt", "a b.txt", "ü/ñ 文件.csv", "a+b=c&d.txt"])
def test_presigned_urls_from_botocore(key, aws_ring, creds):
    aws.standin(aws_ring, "s3").put_object(Bucket="clinic-exports", Key="presign/" + key, Body=b"synthetic presign")
    url = aws.door_url(aws_ring) + "/clinic-exports/presign/" + urllib.parse.quote(key, safe="/~")
    req = sign(creds, "s3", "GET", url, {}, b"", presign=True)
    r = httpx.get(req.url, verify=aws.ca(aws_ring), timeout=30)
    assert r.status_code == 200 and r.content == b"synthetic presign", r.text[:300]
    tampered = req.url.replace("X-Amz-Expires=60", "X-Amz-Expires=61")
    assert refused_for_signature(httpx.get(tampered, verify=aws.ca(aws_ring), timeout=30))
