"""A ranged GET cuts a binary object wherever the client chose (the AWS door's CI flake's
family: a decision taken on the bytes at an arbitrary cut). hoop-connect-aws calls an
answer text when its bytes are valid UTF-8, and hoop-mask refuses a ranged text answer
("read the object whole"). A short range of a binary object is valid UTF-8 by chance
(a byte below 0x80: 1 in 2; eight bytes: ~1 in 110), and readers of binary formats read
exactly such ranges: Parquet's footer (its length and `PAR1`, the last 8 bytes), a zip's
end of central directory. Such a read of an object the policy lets through was refused
or not depending on what its bytes happened to be; and UTF-8 with NULs travelled as text,
which a frame's reader refuses. Now bytes with a NUL travel as bytes, and a part of bytes
that happen to read as text is passed while content detection flags nothing in it."""
from __future__ import annotations

import random

import botocore.exceptions
import pytest

from conftest import ring_fixture
from helpers import aws

aws_ring = ring_fixture("flakecut", aws=True)
env = aws.settings_fixture("aws_ring")

KEY = "cut/table.parquet"
FOOTER = b"\x10\x02\x00\x00PAR1"        # a footer's length (528) and the magic: ASCII bytes


def put(ring) -> bytes:
    s3 = aws.standin(ring, "s3")
    if "hoop-uploads" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket="hoop-uploads")   # a bucket the policy does not name
    data = b"PAR1" + b"\xff" + random.Random(5).randbytes(64 * 1024) + FOOTER
    s3.put_object(Bucket="hoop-uploads", Key=KEY, Body=data, ContentType="application/octet-stream")
    return data


def ranged(env, spec: str) -> bytes | str:
    try:
        return aws.client(env, "s3").get_object(Bucket="hoop-uploads", Key=KEY, Range=spec)["Body"].read()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        return f"{type(e).__name__}: {e}"


def test_control_a_range_of_bytes_that_are_no_utf8_comes_back(env, aws_ring):
    data = put(aws_ring)
    assert ranged(env, "bytes=0-7") == data[:8]     # `PAR1` and 0xFF: no UTF-8


def test_a_range_of_a_binary_object_that_happens_to_be_utf8_comes_back(env, aws_ring):
    data = put(aws_ring)
    got = ranged(env, "bytes=-8")                    # the footer, as a Parquet reader asks for it
    assert got == data[-8:], f"the footer of a binary object came back as {got if isinstance(got, str) else len(got)}"


def test_control_a_range_of_bytes_that_reads_as_an_identifier_is_still_refused(env, aws_ring):
    """What content detection flags in such a part is not passed: the part cannot be masked."""
    s3 = aws.standin(aws_ring, "s3")
    put(aws_ring)
    body = random.Random(6).randbytes(4096) + b" ssn 123-45-6789 " + random.Random(7).randbytes(4096)
    s3.put_object(Bucket="hoop-uploads", Key="cut/mixed.bin", Body=body, ContentType="application/octet-stream")
    start = body.index(b" ssn ")
    try:
        got = aws.client(env, "s3").get_object(Bucket="hoop-uploads", Key="cut/mixed.bin",
                                               Range=f"bytes={start}-{start + 16}")["Body"].read()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        got = type(e).__name__
    assert isinstance(got, str), "a part holding an identifier came back"


def test_a_small_object_of_text_and_nuls_comes_back_whole(env, aws_ring):
    """UTF-8 with NULs (a file of zeros, a tar's headers) travelled as text, and a frame's
    reader refuses `\\u0000` in a string: hoop-mask dropped the answer as malformed."""
    s3 = aws.standin(aws_ring, "s3")
    put(aws_ring)
    for key, body in [("cut/zeros.bin", bytes(4096)),
                      ("cut/archive.tar", b"notes/readme.txt" + bytes(84) + b"0000644\x000001750\x00" + bytes(400) + b"plain words\n")]:
        s3.put_object(Bucket="hoop-uploads", Key=key, Body=body, ContentType="application/octet-stream")
        assert aws.client(env, "s3").get_object(Bucket="hoop-uploads", Key=key)["Body"].read() == body, key


def test_a_range_of_a_binary_object_that_reads_as_text_without_nul_comes_back(env, aws_ring):
    """Eight bytes of a binary object that are UTF-8 with no NUL travel as text: a part of
    an object of no named resource, whose type says bytes, is read as bytes are."""
    s3 = aws.standin(aws_ring, "s3")
    put(aws_ring)
    body = b"PAR1\xff" + random.Random(8).randbytes(4096) + b"\x10\x02\x01\x05PAR1"
    s3.put_object(Bucket="hoop-uploads", Key="cut/other.parquet", Body=body, ContentType="application/octet-stream")
    got = aws.client(env, "s3").get_object(Bucket="hoop-uploads", Key="cut/other.parquet", Range="bytes=-8")["Body"].read()
    assert got == body[-8:]
