#!/usr/bin/env python3
"""Bad HTTP input gets a clear error (or a closed connection) and never takes the server down.

Each case is followed by a normal signed GetParameter that must still succeed: malformed JSON,
wrong JSON types, a 2 MB body, an unknown X-Amz-Target, an unsigned request, a request whose
headers arrive one byte at a time (the server must close it: its header timeout is 10 s), and
raw garbage bytes.

Usage: e2e_http_bad_input.py --coffer build/coffer
"""

import os
import socket
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

SLOW_CLIENT_LIMIT_S = 45  # upper bound for the slow-client case; the server's timeout is 10 s


def still_serves(t, ck, after):
    r = t.raw().call("GetParameter", {"Name": "/bad/probe"})
    ok = r.status == 200 and r.json["Parameter"]["Value"] == "probe"
    ck.true(ok, f"GetParameter works after {after}", f"status {r.status} {r.error_code}")
    if t.kind == "coffer":
        ck.true(t.proc.poll() is None, f"server alive after {after}", f"rc={t.proc.poll()}")


def signed_raw(t, body, target="AmazonSSM.GetParameter"):
    headers = h.sigv4_headers("POST", t.url + "/", {"Content-Type": "application/x-amz-json-1.1",
                                                    "X-Amz-Target": target},
                              body, t.access_key, t.secret_key, h.REGION, "ssm")
    try:
        return h.http_request(t.url + "/", headers=headers, body=body)
    except (ConnectionError, OSError) as e:  # a server may close instead of answering
        return e


def check_4xx(ck, r, what, codes=None):
    if isinstance(r, Exception):
        ck.true(codes is None, f"{what}: answered with an error response",
                f"connection failed: {type(r).__name__}")
        return
    ck.true(400 <= r.status < 500, f"{what}: 4xx status", f"got {r.status} {r.body[:200]!r}")
    ck.true(r.error_code is not None, f"{what}: JSON error body with __type",
            repr(r.body[:200]))
    if codes:
        ck.true(r.error_code in codes, f"{what}: error code in {codes}", repr(r.error_code))


def socket_exchange(t, payload, per_byte_delay=None, limit=10.0):
    """Sends payload (optionally one byte at a time); returns (bytes received, closed, seconds)."""
    u = urllib.parse.urlsplit(t.url)
    s = socket.create_connection((u.hostname, u.port), timeout=limit)
    start = time.monotonic()
    received, closed = b"", False
    try:
        if per_byte_delay is None:
            s.sendall(payload)
        else:
            for i in range(len(payload)):
                if time.monotonic() - start > limit:
                    break
                s.sendall(payload[i:i + 1])
                time.sleep(per_byte_delay)
        s.settimeout(max(1.0, limit - (time.monotonic() - start)))
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            received += chunk
    except (ConnectionResetError, BrokenPipeError):
        closed = True
    except socket.timeout:
        pass
    finally:
        s.close()
    return received, closed, time.monotonic() - start


def body(args, ck):
    if args.target != "coffer":
        h.skip("moto is no reference for malformed-input handling")
    t = h.make_target(args)
    try:
        t.raw().ok("PutParameter", {"Name": "/bad/probe", "Value": "probe", "Type": "String"})
        still_serves(t, ck, "setup")

        r = signed_raw(t, b'{"Name": "/bad/probe"')
        check_4xx(ck, r, "truncated JSON", {"SerializationException", "ValidationException"})
        still_serves(t, ck, "truncated JSON")

        r = signed_raw(t, b'not json at all')
        check_4xx(ck, r, "non-JSON body", {"SerializationException", "ValidationException"})
        still_serves(t, ck, "non-JSON body")

        r = signed_raw(t, b'{"Name": 12345}')
        check_4xx(ck, r, "Name as a number", {"SerializationException", "ValidationException"})
        r = signed_raw(t, b'{"Name": "/bad/probe", "WithDecryption": "yes"}')
        check_4xx(ck, r, "boolean as a string", {"SerializationException",
                                                 "ValidationException"})
        r = signed_raw(t, b'["/bad/probe"]')
        check_4xx(ck, r, "JSON array instead of object", {"SerializationException",
                                                          "ValidationException"})
        r = signed_raw(t, b'{}')
        check_4xx(ck, r, "missing required Name", {"ValidationException"})
        still_serves(t, ck, "wrong JSON types")

        r = signed_raw(t, b'{"Name": "/bad/probe"}', target="AmazonSSM.NoSuchOperation")
        check_4xx(ck, r, "unknown X-Amz-Target operation",
                  {"UnknownOperationException", "InvalidAction"})
        r = signed_raw(t, b'{"Name": "/bad/probe"}', target="NoSuchService.GetParameter")
        check_4xx(ck, r, "unknown X-Amz-Target service",
                  {"UnknownOperationException", "InvalidAction", "UnrecognizedClientException"})
        still_serves(t, ck, "unknown X-Amz-Target")

        if t.kind == "coffer":
            r = h.http_request(t.url + "/", headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": "AmazonSSM.GetParameter"}, body=b'{"Name": "/bad/probe"}')
            check_4xx(ck, r, "unsigned request", {"MissingAuthenticationTokenException",
                                                  "MissingAuthenticationToken"})
            big = b'{"Name": "/bad/probe", "Pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
            r = signed_raw(t, big)
            if isinstance(r, Exception):
                ck.true(True, "2 MB body: connection closed")
            else:
                ck.true(r.status in (400, 413), "2 MB body rejected with 400/413",
                        f"got {r.status}")
            still_serves(t, ck, "2 MB body")

            u = urllib.parse.urlsplit(t.url)
            head = (f"POST / HTTP/1.1\r\nHost: {u.netloc}\r\n"
                    "Content-Type: application/x-amz-json-1.1\r\n"
                    "X-Amz-Target: AmazonSSM.GetParameter\r\n" + "X-Pad: " + "p" * 400 +
                    "\r\n").encode()
            _, closed, secs = socket_exchange(t, head, per_byte_delay=0.05,
                                              limit=SLOW_CLIENT_LIMIT_S)
            ck.true(closed, "slow header sender is disconnected by the server",
                    f"still open after {secs:.1f}s")
            print(f"slow client closed after {secs:.1f}s")
            still_serves(t, ck, "slow client")

            garbage = bytes(range(256)) * 8
            data, closed, _ = socket_exchange(t, garbage, limit=15)
            ck.true(closed or data.startswith(b"HTTP/1.1 4"), "garbage bytes: 4xx or close",
                    repr(data[:80]))
            still_serves(t, ck, "garbage bytes")

            data, closed, _ = socket_exchange(t, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5"
                                              b"\r\n\r\n", limit=15)
            ck.true(closed or data.startswith(b"HTTP/1.1 4"), "negative Content-Length: 4xx "
                    "or close", repr(data[:80]))
            still_serves(t, ck, "negative Content-Length")

            data, closed, _ = socket_exchange(t, b"POST / HTTP/1.1\r\nHost: x\r\n"
                                              b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
                                              limit=15)
            ck.true(closed or data.startswith(b"HTTP/1.1 4"), "bad chunked encoding: 4xx or "
                    "close", repr(data[:80]))
            still_serves(t, ck, "bad chunked encoding")

            r = h.http_request(t.url + "/healthz", method="GET")
            ck.eq(r.status, 200, "/healthz still 200")
            t.stop()
    finally:
        t.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_http_bad_input", body))
