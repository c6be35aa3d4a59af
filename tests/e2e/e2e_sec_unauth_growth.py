#!/usr/bin/env python3
"""Unauthenticated requests do not grow the server's memory, /metrics or the audit log.

The attack of issue 9 item 3: 10,000 requests that never authenticate, each with something
distinct and large that the server used to keep. Before the fix an unsigned IAM/STS query
request's `Action` became a metrics series of its own and went verbatim into the audit record
(200 requests with a 1 MB action: +195 MB RSS, +200 MB of audit log, a 700 MB /metrics), and the
signing-key cache was filled before the signature was checked, keyed by the caller's free-form
region (9,990 requests with a 12 KB region: +128 MB).

The mix, each value distinct per request:
  50%  query protocol (STS or IAM scope), Authorization with the server's real access key, a
       12 KB region and a wrong signature (it passes the key lookup, so a signing key is
       derived), and an 8-40 KB Action;
  20%  JSON protocol, the same real key with a 12 KB region and a wrong signature, and a
       2 KB operation in X-Amz-Target;
  10%  JSON protocol without Authorization, a 12 KB X-Amz-Target (unknown prefix or unknown
       operation of a known service);
  10%  query protocol without Authorization (STS's Version), an 8-40 KB Action;
  10%  unknown access key ids of 4 KB with an 8 KB region, query or JSON protocol.

It measures the server's RSS (/proc/<pid>/status VmRSS), the size of one /metrics body and of
audit.log after a warm-up, sends the 10,000 requests over keep-alive connections from four
threads, measures again, and checks the growth against the bounds of docs/SECURITY.md:
  RSS        < 64 MiB (before the fix: hundreds of MB; the region cache alone ~100 MB here)
  /metrics   < 64 KiB (a handful of new series under op="unknown")
  audit.log  < 1 KiB per request (a record whose caller-controlled fields are bounded)
and that no record written during the flood is longer than 1 KiB, that nothing the requests
carried shows up in /metrics or the audit log, and that the server still answers a signed call.

Usage: e2e_sec_unauth_growth.py --coffer build/coffer
"""

import datetime
import http.client
import os
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

REQUESTS = 10_000
WARMUP = 400
THREADS = 4
RSS_BOUND = 64 * 1024 * 1024
METRICS_BOUND = 64 * 1024
AUDIT_BOUND_PER_REQUEST = 1024
MARK = "zqx"  # every caller-controlled value starts with this, so leaks are easy to find


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def filler(i, size, tag):
    """A distinct value of `size` bytes, made of letters and digits only."""
    head = f"{MARK}{tag}{i:06d}"
    return head + "a" * max(0, size - len(head))


def action_size(i):
    return 8 * 1024 + (i * 7919) % (32 * 1024)  # 8-40 KB


def build(i, host, amz_date, access_key):
    """The i-th request: (headers, body)."""
    kind = i % 10
    date = amz_date[:8]
    fake_signature = "0" * 64

    def authorization(key, region, service):
        return (f"AWS4-HMAC-SHA256 Credential={key}/{date}/{region}/{service}/aws4_request, "
                f"SignedHeaders=host;x-amz-date, Signature={fake_signature}")

    form = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    if kind <= 4:  # query, real key, large region, bad signature
        service = "sts" if i % 2 else "iam"
        version = "2011-06-15" if service == "sts" else "2010-05-08"
        body = f"Action={filler(i, action_size(i), 'act')}&Version={version}".encode()
        headers = dict(form, **{"X-Amz-Date": amz_date,
                                "Authorization": authorization(access_key,
                                                               filler(i, 12 * 1024, "reg"),
                                                               service)})
        return headers, body
    if kind <= 6:  # JSON, real key, large region, bad signature, large operation
        headers = {"Content-Type": "application/x-amz-json-1.1",
                   "X-Amz-Target": "AmazonSSM." + filler(i, 2 * 1024, "op"),
                   "X-Amz-Date": amz_date,
                   "Authorization": authorization(access_key, filler(i, 12 * 1024, "reg"), "ssm")}
        return headers, b"{}"
    if kind == 7:  # JSON, unsigned, large target
        target = (filler(i, 12 * 1024, "pfx") + ".GetParameter" if i % 20 < 10
                  else "secretsmanager." + filler(i, 12 * 1024, "op"))
        return {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}, b"{}"
    if kind == 8:  # query, unsigned
        return form, f"Action={filler(i, action_size(i), 'act')}&Version=2011-06-15".encode()
    # unknown access key ids
    key = filler(i, 4 * 1024, "akid").upper()
    region = filler(i, 8 * 1024, "reg")
    if i % 20 < 10:
        headers = dict(form, **{"X-Amz-Date": amz_date,
                                "Authorization": authorization(key, region, "sts")})
        return headers, f"Action={filler(i, 8 * 1024, 'act')}&Version=2011-06-15".encode()
    headers = {"Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": "TrentService." + filler(i, 1024, "op"),
               "X-Amz-Date": amz_date,
               "Authorization": authorization(key, region, "kms")}
    return headers, b"{}"


class Flood:
    def __init__(self, url, access_key):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.access_key = access_key
        self.statuses = {}
        self.errors = []
        self.lock = threading.Lock()

    def _worker(self, indices):
        conn = None
        statuses = {}
        for i in indices:
            amz_date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            headers, body = build(i, f"{self.host}:{self.port}", amz_date, self.access_key)
            for attempt in range(2):
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                    conn.request("POST", "/", body=body, headers=headers)
                    r = conn.getresponse()
                    r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                    if r.getheader("Connection", "").lower() == "close":
                        conn.close()
                        conn = None
                    break
                except (http.client.HTTPException, OSError) as e:
                    if conn is not None:
                        conn.close()
                    conn = None
                    if attempt == 1:
                        with self.lock:
                            self.errors.append(f"request {i}: {type(e).__name__}: {e}")
        if conn is not None:
            conn.close()
        with self.lock:
            for k, v in statuses.items():
                self.statuses[k] = self.statuses.get(k, 0) + v

    def run(self, start, count):
        threads = [threading.Thread(target=self._worker,
                                    args=(range(start + t, start + count, THREADS),))
                   for t in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def metrics_body(t):
    r = h.http_request(t.url + "/metrics", method="GET")
    return r.body


def body(args, ck):
    t = h.CofferServer(args.coffer).start()
    try:
        audit_log = os.path.join(t.data_dir, "audit.log")
        pid = t.proc.pid
        flood = Flood(t.url, t.access_key)

        # Warm-up with the same mix (distinct values, never repeated later): threads, arenas
        # and connections reach their working size before the baseline is taken.
        flood.run(REQUESTS, WARMUP)
        metrics_before = len(metrics_body(t))
        audit_before = os.path.getsize(audit_log)
        rss_before = rss_bytes(pid)
        logs_before = len(t.logs())

        flood.statuses = {}
        flood.run(0, REQUESTS)

        rss_after = rss_bytes(pid)
        metrics = metrics_body(t)
        audit_after = os.path.getsize(audit_log)
        logs_after = len(t.logs())

        sent = sum(flood.statuses.values())
        print(f"  requests answered: {sent} of {REQUESTS}, statuses {sorted(flood.statuses.items())}")
        print(f"  RSS        {rss_before / 2**20:8.1f} MiB -> {rss_after / 2**20:8.1f} MiB "
              f"(+{(rss_after - rss_before) / 2**20:.1f} MiB, bound {RSS_BOUND / 2**20:.0f} MiB)")
        print(f"  /metrics   {metrics_before:8d} B   -> {len(metrics):8d} B   "
              f"(+{len(metrics) - metrics_before} B, bound {METRICS_BOUND} B)")
        print(f"  audit.log  {audit_before:8d} B   -> {audit_after:8d} B   "
              f"(+{audit_after - audit_before} B, bound {AUDIT_BOUND_PER_REQUEST * REQUESTS} B)")
        print(f"  server log +{logs_after - logs_before} B")

        ck.eq(flood.errors[:3], [], "every request was answered")
        ck.eq(sent, REQUESTS, "all requests answered")
        ck.true(all(400 <= s < 500 for s in flood.statuses),
                "every flood request refused with a 4xx", repr(flood.statuses))
        ck.true(rss_after - rss_before < RSS_BOUND, "RSS growth under the bound",
                f"grew {(rss_after - rss_before) / 2**20:.1f} MiB")
        ck.true(len(metrics) - metrics_before < METRICS_BOUND, "/metrics growth under the bound",
                f"grew {len(metrics) - metrics_before} bytes")
        ck.true(audit_after - audit_before < AUDIT_BOUND_PER_REQUEST * REQUESTS,
                "audit log growth under the bound", f"grew {audit_after - audit_before} bytes")
        ck.true(MARK.encode() not in metrics.lower(), "no caller-controlled value in /metrics")
        # The server's own log (the access log's method and op come from the caller) is
        # bounded the same way.
        ck.true(logs_after - logs_before < AUDIT_BOUND_PER_REQUEST * REQUESTS,
                "server log growth under 1 KiB per request",
                f"grew {logs_after - logs_before} bytes")

        with open(audit_log, "rb") as f:
            f.seek(audit_before)
            records = f.read().splitlines()
        ck.true(len(records) >= REQUESTS, "one audit record per request", f"{len(records)}")
        longest = max((len(r) for r in records), default=0)
        ck.true(longest <= AUDIT_BOUND_PER_REQUEST, "every flood record at most 1 KiB",
                f"longest {longest} bytes")
        ck.true(not any(MARK.encode() in r.lower() for r in records),
                "no caller-controlled value in the audit log")

        # Still serving, and a signed call is counted under its own name.
        r = h.http_request(t.url + "/", headers=h.sigv4_headers(
            "POST", t.url + "/", {"Content-Type": "application/x-www-form-urlencoded"},
            b"Action=GetCallerIdentity&Version=2011-06-15", t.access_key, t.secret_key,
            h.REGION, "sts"), body=b"Action=GetCallerIdentity&Version=2011-06-15")
        ck.eq(r.status, 200, "signed GetCallerIdentity after the flood")
        ck.true(b'op="GetCallerIdentity"' in metrics_body(t),
                "a known action is still counted under its name")
        t.stop()
    finally:
        t.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_sec_unauth_growth", body))
