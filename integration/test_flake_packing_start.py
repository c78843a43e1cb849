"""Random bytes that begin like a packing (the AWS door's CI flake's family, at the
start rather than mid-stream). hoop-mask takes two bytes for gzip's or zlib's magic
(1F 8B, 78 01/5E/9C/DA) or a UTF-16 byte-order mark: random bytes begin so about once
in 9,400 (7 of 65,536 pairs). Then a random object that is no packing fails to inflate
and is refused (a whole small one as "compressed bytes that cannot be read", a streamed
one as "a compressed or UTF-16 answer too large"), and a random id in a JSON answer
whose base64 decodes so (`eJz…`, `H4s…`: ~1 alphanumeric id in 12,000) came back as
base64 of "[REDACTED]". Each input below is such a draw, fixed. Fixed in UnpackedText:
magic bytes that begin no stream are read as the bytes they are."""
from __future__ import annotations

import hashlib
import random

import pytest

from conftest import ring_fixture
from helpers import aws

aws_ring = ring_fixture("flakepack", aws=True)
env = aws.settings_fixture("aws_ring")

STARTS = [b"\x78\x9c", b"\x1f\x8b", b"\x78\xda", b"\x78\x01", b"\x78\x5e", b"\xff\xfe", b"\xfe\xff"]


def bucket(ring) -> str:
    s3 = aws.standin(ring, "s3")
    if "hoop-uploads" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket="hoop-uploads")   # a bucket the policy does not name
    return "hoop-uploads"


def round_trip(env, ring, size: int) -> list[str]:
    """Random objects of `size` bytes, one per start; the starts that did not come back whole."""
    b, rng, bad = bucket(ring), random.Random(size), []
    for start in STARTS:
        data = start + rng.randbytes(size - 2)
        key = f"flake/{start.hex()}-{size}.bin"
        aws.standin(ring, "s3").put_object(Bucket=b, Key=key, Body=data, ContentType="application/octet-stream")
        try:
            got = aws.client(env, "s3").get_object(Bucket=b, Key=key)["Body"].read()
        except Exception as e:      # refused (AccessDenied) or cut off
            got = type(e).__name__.encode()
        if hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
            bad.append(start.hex())
    return bad


def test_a_whole_random_object_that_begins_like_a_packing_comes_back_whole(env, aws_ring):
    bad = round_trip(env, aws_ring, 64 * 1024)         # below 1 MiB: one frame, read whole
    assert not bad, f"random objects beginning {bad} did not come back whole"


def test_a_streamed_random_object_that_begins_like_a_packing_comes_back_whole(env, aws_ring):
    bad = round_trip(env, aws_ring, 3 * 1024 * 1024)   # above 1 MiB: streamed in pieces
    assert not bad, f"random objects beginning {bad} did not come back whole"


def test_a_random_id_whose_base64_begins_like_a_packing_comes_back_as_it_is(env, aws_ring):
    rng = random.Random(11)
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    ids = {f"id{i}": p + "".join(rng.choice(alnum) for _ in range(52 - len(p)))
           for i, p in enumerate(["eJz", "H4sA", "eNp", "eAF", "eF5"])}   # 78 9C, 1F 8B, 78 DA, 78 01, 78 5E
    # (`H4sI`, gzip's magic with its one method, is a gzip header: one that does not inflate
    # is refused, since other readers may read on; one random id in 15 million begins so.)
    table = "FlakeTokens"
    d = aws.keyed_table(aws_ring, table)
    d.put_item(TableName=table, Item={"k": {"S": "1"}, **{n: {"S": v} for n, v in ids.items()}})
    got = aws.client(env, "dynamodb").get_item(TableName=table, Key={"k": {"S": "1"}})["Item"]
    changed = sorted(n for n, v in ids.items() if got.get(n) != {"S": v})
    assert not changed, f"{len(changed)}/{len(ids)} random ids came back changed ({changed})"
