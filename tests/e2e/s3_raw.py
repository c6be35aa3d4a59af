"""Raw S3 requests for the e2e tests that control the wire: header-signed requests with any
x-amz-content-sha256 form, aws-chunked bodies with chunk signatures (STREAMING-AWS4-HMAC-SHA256-
PAYLOAD[-TRAILER]) or without (STREAMING-UNSIGNED-PAYLOAD-TRAILER) and their trailing checksums,
and presigned URLs with any date. Standard library only (both pythons).

S3's canonical URI is the path encoded once (no normalisation); the query is canonicalised as
for every service.
"""

import base64
import binascii
import datetime
import hashlib
import hmac
import http.client
import urllib.parse

REGION = "us-east-1"
EMPTY_SHA = hashlib.sha256(b"").hexdigest()


def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret, date, region=REGION, service="s3"):
    k = _hmac(("AWS4" + secret).encode(), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def _canonical_query(query):
    pairs = []
    for item in query.split("&"):
        if not item:
            continue
        k, _, v = item.partition("=")
        pairs.append((urllib.parse.quote(urllib.parse.unquote(k), safe="-_.~"),
                      urllib.parse.quote(urllib.parse.unquote(v), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def now_amz():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def code(self):
        b = self.body
        if b"<Code>" not in b:
            return None
        return b.split(b"<Code>", 1)[1].split(b"</Code>", 1)[0].decode()


def send(url, method, headers, body, connect_host=None):
    """Sends to url's host, or to connect_host with url's Host header (virtual-host tests)."""
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(connect_host or parsed.hostname, parsed.port, timeout=60)
    try:
        target = parsed.path + (("?" + parsed.query) if parsed.query else "")
        headers = dict(headers)
        headers.setdefault("Host", parsed.netloc)
        conn.request(method, target, body=body, headers=headers)
        r = conn.getresponse()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def signed(url, method, access, secret, body=b"", headers=None, payload_hash=None,
           amz_date=None):
    """Header-signed request; returns (headers, signature, amz_date, scope, key) unsent."""
    parsed = urllib.parse.urlsplit(url)
    amz_date = amz_date or now_amz()
    out = dict(headers or {})
    out["x-amz-date"] = amz_date
    out["x-amz-content-sha256"] = payload_hash or hashlib.sha256(body).hexdigest()
    canon = {k.lower(): " ".join(str(v).strip().split()) for k, v in out.items()}
    canon["host"] = parsed.netloc
    names = sorted(canon)
    canonical = "\n".join([
        method, parsed.path or "/", _canonical_query(parsed.query),
        "".join(f"{n}:{canon[n]}\n" for n in names), ";".join(names),
        out["x-amz-content-sha256"]])
    scope = f"{amz_date[:8]}/{REGION}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = signing_key(secret, amz_date[:8])
    sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={access}/{scope}, "
                            f"SignedHeaders={';'.join(names)}, Signature={sig}")
    return out, sig, amz_date, scope, key


def request(url, method, access, secret, body=b"", headers=None):
    hdrs, *_ = signed(url, method, access, secret, body, headers)
    return send(url, method, hdrs, body)


def checksum(name, data):
    """Base64 value of x-amz-checksum-<name> for data (crc32, sha256)."""
    if name == "crc32":
        return base64.b64encode((binascii.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big")).decode()
    if name == "sha256":
        return base64.b64encode(hashlib.sha256(data).digest()).decode()
    raise ValueError(name)


def chunked_put(url, access, secret, chunks, trailer=None, tamper=None, signed_chunks=True):
    """PUT with an aws-chunked body of `chunks` (bytes each). signed_chunks: STREAMING-AWS4-
    HMAC-SHA256-PAYLOAD (-TRAILER when a trailer is given); else STREAMING-UNSIGNED-PAYLOAD-
    TRAILER. trailer: (header name, value). tamper(body bytes) -> bytes alters the wire body."""
    decoded = sum(len(c) for c in chunks)
    if signed_chunks:
        sha = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer else "")
    else:
        sha = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(decoded)}
    if trailer:
        headers["x-amz-trailer"] = trailer[0]
    hdrs, seed, amz_date, scope, key = signed(url, "PUT", access, secret, headers=headers,
                                              payload_hash=sha)
    body = b""
    prev = seed
    for data in list(chunks) + [b""]:
        if signed_chunks:
            to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, EMPTY_SHA,
                                 hashlib.sha256(data).hexdigest()])
            prev = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
            body += f"{len(data):x};chunk-signature={prev}\r\n".encode()
        else:
            body += f"{len(data):x}\r\n".encode()
        if data:
            body += data + b"\r\n"
    if trailer:
        line = f"{trailer[0]}:{trailer[1]}"
        body += (line + "\r\n").encode()
        if signed_chunks:
            to_sign = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, prev,
                                 hashlib.sha256((line + "\n").encode()).hexdigest()])
            tsig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
            body += f"x-amz-trailer-signature:{tsig}\r\n".encode()
    body += b"\r\n"
    if tamper:
        body = tamper(body)
    hdrs["Content-Length"] = str(len(body))
    return send(url, "PUT", hdrs, body)


def presign(url, access, secret, expires, amz_date=None):
    """A presigned GET URL signed at amz_date (default now) valid for `expires` seconds."""
    parsed = urllib.parse.urlsplit(url)
    amz_date = amz_date or now_amz()
    scope = f"{amz_date[:8]}/{REGION}/s3/aws4_request"
    params = {"X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Credential": f"{access}/{scope}",
              "X-Amz-Date": amz_date, "X-Amz-Expires": str(expires),
              "X-Amz-SignedHeaders": "host"}
    query = "&".join(f"{k}={urllib.parse.quote(v, safe='-_.~')}" for k, v in params.items())
    canonical = "\n".join(["GET", parsed.path, _canonical_query(query),
                           f"host:{parsed.netloc}\n", "host", "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    sig = hmac.new(signing_key(secret, amz_date[:8]), to_sign.encode(),
                   hashlib.sha256).hexdigest()
    return f"{parsed.scheme}://{parsed.netloc}{parsed.path}?{query}&X-Amz-Signature={sig}"
