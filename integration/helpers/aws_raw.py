"""Raw SigV4 requests to the AWS door, signed by hand (so the path, query and headers are
exactly what travels), sent over a raw TLS socket (so nothing normalizes the request
target): for requests no SDK would send."""
from __future__ import annotations

import datetime
import hashlib
import hmac
import socket
import ssl
import urllib.parse


def _enc(s: str, keep_slash: bool) -> str:
    return urllib.parse.quote(s, safe="-_.~" + ("/" if keep_slash else ""))


def canonical_query(q: str) -> str:
    pairs = []
    for part in q.split("&"):
        if not part:
            continue
        k, _, v = part.partition("=")
        k = urllib.parse.unquote(k)
        v = urllib.parse.unquote(v)
        pairs.append((_enc(k, False), _enc(v, False)))
    pairs.sort()
    return "&".join(f"{k}={v}" for k, v in pairs)


def sign(creds, service: str, method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes,
         region: str = "us-east-1", payload_hash: str | None = None, canonical_path: str | None = None,
         when: datetime.datetime | None = None, signed_names: list[str] | None = None):
    """Returns the headers (list) with x-amz-date, token, content-sha256 and Authorization."""
    now = when or datetime.datetime.now(datetime.timezone.utc)
    amz = now.strftime("%Y%m%dT%H%M%SZ")
    date = amz[:8]
    hs = list(headers) + [("x-amz-date", amz), ("x-amz-security-token", creds.token)]
    ph = payload_hash or hashlib.sha256(body).hexdigest()
    if service == "s3" or payload_hash:
        hs.append(("x-amz-content-sha256", ph))
    names = signed_names or sorted({k.lower() for k, _ in hs if k.lower() == "host" or k.lower() == "content-type"
                                    or k.lower().startswith("x-amz-") or k.lower() == "content-md5"})
    canon_headers = "".join(
        f"{n}:{','.join(' '.join(v.split()) for k, v in hs if k.lower() == n)}\n" for n in names)
    if canonical_path is None:
        canonical_path = path if service == "s3" else _enc(path, True)
    creq = "\n".join([method, canonical_path, canonical_query(query), canon_headers, ";".join(names), ph])
    scope = f"{date}/{region}/{service}/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + creds.secret_key).encode()
    for part in (date, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    hs.append(("Authorization", f"AWS4-HMAC-SHA256 Credential={creds.access_key}/{scope}, SignedHeaders={';'.join(names)}, Signature={sig}"))
    return hs


def raw(port: int, cafile: str, head: bytes, body: bytes = b"", timeout: float = 60) -> tuple[int, dict, bytes]:
    ctx = ssl.create_default_context(cafile=cafile)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            t.sendall(head + body)
            data = b""
            while True:
                try:
                    chunk = t.recv(65536)
                except (ssl.SSLError, ConnectionResetError):
                    break
                if not chunk:
                    break
                data += chunk
    return parse_response(data)


def parse_response(data: bytes):
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/"):
        return 0, {}, data
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if hdrs.get("transfer-encoding", "").lower() == "chunked":
        out, i = b"", 0
        while True:
            j = rest.find(b"\r\n", i)
            if j < 0:
                break
            size = int(rest[i:j].split(b";")[0] or b"0", 16)
            if size == 0:
                break
            out += rest[j + 2:j + 2 + size]
            i = j + 2 + size + 2
        rest = out
    elif "content-length" in hdrs:
        rest = rest[:int(hdrs["content-length"])]
    return status, hdrs, rest


def request(ring, creds, service, method, target, headers=(), body=b"", sign_path=None, sign_query=None, **kw):
    """Signs and sends: `target` is the request-target exactly as sent (path?query)."""
    path, _, query = target.partition("?")
    host = f"localhost:{ring.aws_port}"
    hs = [("host", host)] + list(headers)
    hs = sign(creds, service, method, sign_path if sign_path is not None else path,
              sign_query if sign_query is not None else query, hs, body, **kw)
    lines = [f"{method} {target} HTTP/1.1"] + [f"{k}: {v}" for k, v in hs]
    if body or method in ("PUT", "POST"):
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return raw(ring.aws_port, str(ring.var / "tls" / "server.crt"), head, body)
