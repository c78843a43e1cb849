"""What the AWS door judges against what the stand-in (moto's server) executes (hunt s44):
requests signed by hand (helpers/aws_raw, so that the request target and headers are
exactly what travels) that the door once judged as one call while the stand-in ran
another (a bucket named otherwise, parameters the door never read, another operation).
Each is now refused with the service's own error format, and the stand-in's state, read
behind the gateway's back, shows that nothing ran. Each has its control: the SDK's own
shape of the same operation still works. Values are compared, never printed."""
from __future__ import annotations

import datetime
import hashlib
import re
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from conftest import ring_fixture
from helpers import aws
from helpers import aws_raw

# The embedded default call rules (clinic-exports is a PHI bucket: masking.resources).
default_ring = ring_fixture("awsdiff", aws=True, aws_approval=None)
ring = aws.door_fixture("default_ring")
env = aws.settings_fixture("ring", "agent@example.org", "agents", agent=True)

PLAIN = "hunt44-plain"   # a bucket no rule or masking resource names
S3NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
ACCOUNT = "123456789012"  # the stand-in's account


@pytest.fixture(scope="module")
def creds(env):
    return aws.credentials(env)


@pytest.fixture(scope="module")
def plain(ring):
    s3 = aws.standin(ring, "s3")
    s3.create_bucket(Bucket=PLAIN)
    for key in ("a.txt", "b;semi.txt", "c.txt"):
        s3.put_object(Bucket=PLAIN, Key=key, Body=b"synthetic " + key.encode())
    return PLAIN


def send(ring, creds, service, method, target, headers=(), body=b""):
    return aws_raw.request(ring, creds, service, method, target, list(headers), body)


def held_or_denied(r) -> bool:
    status, _, body = r
    return status == 403 and (b"held for approval" in body or b"not allowed" in body)


def refused(r, code: str) -> bool:
    status, _, body = r
    return status == 400 and f"<Code>{code}</Code>".encode() in body


def said(r) -> tuple[int, str]:
    """An answer's status and error code: what a failure shows (never its body)."""
    m = re.search(rb"<Code>([^<]{1,80})</Code>", r[2])
    return r[0], m.group(1).decode() if m else ""


def listing(body: bytes) -> list[tuple[str, str]]:
    root = ET.fromstring(body)
    return [(c.findtext(S3NS + "Key"), c.findtext(S3NS + "ETag")) for c in root.iter(S3NS + "Contents")]


# --- a ';' in a REST path --------------------------------------------------------------------

@pytest.mark.parametrize("bucket", ["clinic-exports;x", "clinic-exports%3Bx", "clinic-exports%3b"])
def test_a_semicolon_in_a_bucket_is_refused(ring, creds, bucket):
    """`GET /clinic-exports;x?list-type=2&prefix=exports/pat`: the door read the bucket
    `clinic-exports;x` (no PHI resource: no review-phi-key-* rule, ETags not withheld);
    moto reads its path with urllib's urlparse, which cuts `;params` off the last segment
    (an encoded one too: its server decodes the path and encodes it again, all but `;`),
    and listed clinic-exports. Refused (InvalidURI): a bucket's name never holds a ';'."""
    control = send(ring, creds, "s3", "GET", "/clinic-exports?list-type=2&prefix=exports/pat")
    assert held_or_denied(control), said(control)
    plain_listing = send(ring, creds, "s3", "GET", "/clinic-exports?list-type=2")
    assert plain_listing[0] == 200 and all(etag == "[REDACTED]" for _, etag in listing(plain_listing[2])), \
        "control: a listing of the PHI bucket withholds its objects' digests"

    r = send(ring, creds, "s3", "GET", f"/{bucket}?list-type=2&prefix=exports/pat")
    ran = r[0] == 200 and b"<Name>clinic-exports</Name>" in r[2]
    direct = aws.standin(ring, "s3").get_object(Bucket="clinic-exports", Key="exports/patients.csv")["Body"].read()
    leaked = hashlib.md5(direct).hexdigest().encode() in r[2]   # compared, never shown
    assert not ran and not leaked, f"the stand-in listed clinic-exports by a key prefix (status {r[0]}; PHI CSV's MD5 in the answer: {leaked})"
    assert refused(r, "InvalidURI"), said(r)


def test_a_semicolon_in_a_key_is_the_keys_as_the_sdk_sends_it(ring, env, creds, plain):
    """Control: a key with a ';' (boto3 sends it encoded, %3B) is read as that key, by the
    door, S3 and the stand-in alike; the same ';' raw in the path is refused."""
    got = aws.client(env, "s3").get_object(Bucket=plain, Key="b;semi.txt")["Body"].read()
    assert got == b"synthetic b;semi.txt"
    r = send(ring, creds, "s3", "GET", f"/{plain}/b;semi.txt")
    assert refused(r, "InvalidURI"), said(r)


# --- a form in a REST call --------------------------------------------------------------------

def standin_s3control(ring):
    c = aws.standin(ring, "s3control")
    # The endpoint rules put the account id in front of the host; the stand-in is one host.
    c.meta.events.register("before-send.s3-control.*",
                           lambda request, **kw: setattr(request, "url", re.sub(r"//\d{12}\.", "//", request.url)))
    return c


def test_a_form_in_an_allowed_s3control_read_is_refused(ring, creds):
    """`GET /v20180820/configuration/publicAccessBlock` (s3control GetPublicAccessBlock, a
    read the defaults allow) with a multipart/form-data body whose field `Action` is
    `DeletePublicAccessBlock`: moto's server parses any form, and its dispatcher takes
    `Action` from it before the method and path; the door read no body there, and the
    account's public access block was gone. Refused: no form in a REST call, and no body
    where the operation's model has none."""
    sc = standin_s3control(ring)
    sc.put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    h = [("x-amz-account-id", ACCOUNT)]
    control = send(ring, creds, "s3", "DELETE", "/v20180820/configuration/publicAccessBlock", h)
    assert held_or_denied(control), said(control)
    read = send(ring, creds, "s3", "GET", "/v20180820/configuration/publicAccessBlock", h)
    assert read[0] == 200 and b"<BlockPublicAcls>true</BlockPublicAcls>" in read[2], \
        f"control: the read, with no body, runs ({read[0]})"

    b = "hunt44"
    form = (f"--{b}\r\nContent-Disposition: form-data; name=\"Action\"\r\n\r\nDeletePublicAccessBlock\r\n--{b}--\r\n").encode()
    for ctype in (f"multipart/form-data; boundary={b}", "text/plain"):
        r = send(ring, creds, "s3", "GET", "/v20180820/configuration/publicAccessBlock", h + [("content-type", ctype)], form)
        assert refused(r, "SerializationException"), (ctype, said(r))
    try:
        still = sc.get_public_access_block(AccountId=ACCOUNT)["PublicAccessBlockConfiguration"]
    except sc.exceptions.ClientError as e:
        still = e.response["Error"]["Code"]
    assert isinstance(still, dict), f"the stand-in ran DeletePublicAccessBlock: the account's public access block is now {still}"


@pytest.mark.parametrize("ctype, body", [
    ("application/x-www-form-urlencoded", b"start-after=exports/patients.json"),
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=\"start-after\"\r\n\r\nexports/patients.json\r\n--x--\r\n"),
    ("text/plain", b"start-after=exports/patients.json"),
])
def test_listing_parameters_in_a_body_are_refused(ring, creds, ctype, body):
    """`GET /clinic-exports?list-type=2` with the body `start-after=exports/patients.json`:
    the door read no body of a GET, so the listing was judged without StartAfter and
    allowed; moto reads start-after, delimiter, markers and continuation tokens from the
    form when there is one (and parses a body it has no other use for as a query string).
    The same StartAfter in the query is held (review-phi-key-start)."""
    control = send(ring, creds, "s3", "GET", "/clinic-exports?list-type=2&start-after=exports/patients.json")
    assert held_or_denied(control), said(control)
    everything = [k for k, _ in listing(send(ring, creds, "s3", "GET", "/clinic-exports?list-type=2")[2])]
    assert "exports/patients.csv" in everything, "control: the plain listing names the CSV"

    r = send(ring, creds, "s3", "GET", "/clinic-exports?list-type=2", [("content-type", ctype)], body)
    started_after = r[0] == 200 and b"<StartAfter>exports/patients.json</StartAfter>" in r[2]
    assert not started_after, "judged as a plain listing, the stand-in listed the PHI bucket after a key given"
    assert refused(r, "SerializationException"), said(r)


def test_a_listing_from_a_key_of_the_sdk_still_runs(env, plain):
    """Control: StartAfter as boto3 sends it (the query) on a bucket no rule holds."""
    keys = [o["Key"] for o in aws.client(env, "s3").list_objects_v2(Bucket=plain, StartAfter="a.txt").get("Contents", [])]
    assert keys == ["b;semi.txt", "c.txt"]


# --- the Action in the query, the parameters in a form -------------------------------------------

def self_signed_pem() -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hunt44")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(44)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize("query, action", [("Action=ListUsers&Version=2010-05-08", ""),
                                           ("Version=2010-05-08", "Action=ListUsers&")])
def test_a_query_beside_a_form_is_refused(ring, env, creds, query, action):
    """`POST /?Action=ListUsers&Version=2010-05-08` with a urlencoded form
    `UserName=...&CertificateBody=...`: the door judged iam:ListUsers (a listing: allowed);
    moto reads the query only when there is no form, and with no Action in the form falls
    back to the method and path, `POST /`, the model's last operation: for IAM
    UploadSigningCertificate. Refused: a call with a form carries every parameter in it,
    and the form names its operation."""
    iam = aws.standin(ring, "iam")
    user = "hunt44-victim-" + ("v" if action else "a")
    iam.create_user(UserName=user)
    ctype = [("content-type", "application/x-www-form-urlencoded; charset=utf-8")]
    form = urllib.parse.urlencode({"UserName": user, "CertificateBody": self_signed_pem()}, quote_via=urllib.parse.quote)
    control = send(ring, creds, "iam", "POST", "/", ctype, ("Action=UploadSigningCertificate&Version=2010-05-08&" + form).encode())
    assert held_or_denied(control), said(control)
    users = [u["UserName"] for u in aws.client(env, "iam").list_users()["Users"]]
    assert user in users, "control: ListUsers as boto3 sends it (a form) runs"
    alone = send(ring, creds, "iam", "GET", "/?Action=ListUsers&Version=2010-05-08")
    assert alone[0] == 200 and b"<ListUsersResult>" in alone[2], "control: a query alone (no body) names the operation"

    r = send(ring, creds, "iam", "POST", "/?" + query, ctype, (action + form).encode())
    certs = len(iam.list_signing_certificates(UserName=user)["Certificates"])
    assert certs == 0, f"the stand-in ran UploadSigningCertificate: {user} now has {certs} signing certificate(s)"
    assert refused(r, "SerializationException"), said(r)


# --- the copy source, as S3 reads it ---------------------------------------------------------------

SCRATCH = "agent-scratch"
COPY_RULES = {
    "rules": [
        {"name": "review-phi-copy", "action": "review",
         "match": {"actions": ["s3:CopyObject", "s3:UploadPartCopy"], "phi": True}},
        {"name": "allow-scratch-writes", "action": "allow",
         "match": {"actions": ["s3:PutObject"], "resources": [{"bucket": SCRATCH}]}},
        {"name": "allow-reads", "action": "allow", "match": {"access": ["List", "Read"]}},
    ],
    "approvers": {"groups": ["approvers"]},
}

copy_ring_started = ring_fixture("awsdiffcopy", aws=True, aws_approval=COPY_RULES)
copy_ring_door = aws.door_fixture("copy_ring_started")


@pytest.fixture(scope="module")
def copy_ring(copy_ring_door):
    aws.standin(copy_ring_door, "s3").create_bucket(Bucket=SCRATCH)
    return copy_ring_door


@pytest.fixture(scope="module")
def copy_env(copy_ring):
    return aws.aws_env(copy_ring, "agent@example.org", "agents", agent=True)


@pytest.fixture(scope="module")
def copy_creds(copy_env):
    return aws.credentials(copy_env)


def copy(ring, creds, key, source):
    return aws_raw.request(ring, creds, "s3", "PUT", f"/{SCRATCH}/{key}", [("x-amz-copy-source", source)])


def stored(ring, key):
    try:
        return aws.standin(ring, "s3").get_object(Bucket=SCRATCH, Key=key)["Body"].read()
    except Exception:
        return None


@pytest.mark.parametrize("source", ["//x/clinic-exports/exports/patients.csv", "///clinic-exports/exports/patients.csv",
                                    "s3://clinic-exports/exports/patients.csv", "x;y/clinic-exports/exports/patients.csv",
                                    "clinic-exports%3Bx/exports/patients.csv", "clinic-exports/exports/patients.csv#x",
                                    "/%2Fx/clinic-exports/exports/patients.csv"])
def test_a_copy_source_a_url_parser_reads_otherwise_is_refused(copy_ring, copy_creds, source):
    """`x-amz-copy-source: //x/clinic-exports/exports/patients.csv`: the door read the
    source's bucket as `x`, so the copy named no PHI bucket and `allow-scratch-writes` let
    it run; moto parses the header with urlparse, where `//x` is a network location, and
    copied clinic-exports/exports/patients.csv into the scratch bucket. Refused
    (InvalidArgument), with every other source a URL parser reads otherwise."""
    creds = copy_creds
    plain = copy(copy_ring, creds, "control.csv", "clinic-exports/exports/patients.csv")
    assert plain[0] == 403 and b"held for approval" in plain[2], said(plain)
    assert stored(copy_ring, "control.csv") is None, "control: the plain copy out of the PHI bucket is held"

    target = "export-" + hashlib.sha256(source.encode()).hexdigest()[:8] + ".csv"
    r = copy(copy_ring, creds, target, source)
    original = aws.standin(copy_ring, "s3").get_object(Bucket="clinic-exports", Key="exports/patients.csv")["Body"].read()
    same = stored(copy_ring, target) == original   # compared, never shown
    assert not same, f"the stand-in copied the PHI export into {SCRATCH} (status {r[0]})"
    assert refused(r, "InvalidArgument"), said(r)


def test_a_copy_as_the_sdk_sends_it_still_runs(copy_ring, copy_env):
    """Control: boto3's copy (its source percent-encoded, a key with a space, ';' and '+')
    from the scratch bucket to itself runs as before."""
    key = "src/a b;c+d.txt"
    aws.standin(copy_ring, "s3").put_object(Bucket=SCRATCH, Key=key, Body=b"synthetic copy source")
    with aws.Environment(copy_env):
        s3 = aws.client(copy_env, "s3")
        s3.copy_object(Bucket=SCRATCH, Key="copy/one.txt", CopySource={"Bucket": SCRATCH, "Key": key})
        s3.copy_object(Bucket=SCRATCH, Key="copy/two.txt", CopySource=f"{SCRATCH}/{key}")
    assert stored(copy_ring, "copy/one.txt") == b"synthetic copy source"
    assert stored(copy_ring, "copy/two.txt") == b"synthetic copy source"


def test_an_object_of_a_form_type_is_refused_and_others_stored(copy_ring, copy_env, copy_creds):
    """A form type on a REST call whose model has a body (PutObject's payload) is refused
    too: moto's server would read the object's bytes as a form, its fields as parameters
    (`uploadId`, `partNumber`…). Control: an object of another type is stored as ever."""
    r = aws_raw.request(copy_ring, copy_creds, "s3", "PUT", f"/{SCRATCH}/form.txt",
                        [("content-type", "application/x-www-form-urlencoded")], b"uploadId=1&partNumber=2")
    assert refused(r, "SerializationException"), said(r)
    assert stored(copy_ring, "form.txt") is None
    with aws.Environment(copy_env):
        aws.client(copy_env, "s3").put_object(Bucket=SCRATCH, Key="csv.txt", Body=b"a,b\n", ContentType="text/csv")
    assert stored(copy_ring, "csv.txt") == b"a,b\n"
