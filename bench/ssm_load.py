#!/usr/bin/env python3
"""Load test of the secret read path: one signed SSM GetParameter (SecureString, WithDecryption)
replayed with wrk against Coffer, against moto_server (the reference emulator) and against nginx
returning a canned GetParameter-sized JSON body (the ceiling for an HTTP server on this machine).

Everything runs on 127.0.0.1, every process is started here and stopped at the end, and each wrk
run lasts --duration seconds. Prints throughput, p50/p99 latency and the ratios Coffer/nginx and
Coffer/moto, then one JSON line with the numbers.

Usage: bench/ssm_load.py --coffer build/coffer [--duration 10] [--threads 2] [--connections 32]
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import coffer_harness as h  # noqa: E402

NAME = "/bench/app/db_password"
VALUE = "bench-value-0123456789abcdef"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lua_string(s):
    level = "=" * 4
    assert f"]{level}]" not in s
    return f"[{level}[{s}]{level}]"


def write_wrk_script(path, headers, body):
    lines = ['wrk.method = "POST"', f"wrk.body = {lua_string(body.decode())}"]
    for k, v in headers.items():
        assert re.fullmatch(r"[A-Za-z0-9-]+", k), k
        lines.append(f'wrk.headers["{k}"] = {lua_string(v)}')
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def parse_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if not m:
        return None
    v = float(m.group(1))
    return {"us": v / 1000, "ms": v, "s": v * 1000}[m.group(2)]


def run_wrk(url, script, args):
    argv = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
            "--latency", "-s", script, url + "/"]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=args.duration + 60)
    out = p.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    return {"rps": float(rps.group(1)) if rps else 0.0,
            "p50_ms": parse_ms(p50.group(1)) if p50 else None,
            "p99_ms": parse_ms(p99.group(1)) if p99 else None,
            "requests": int(total.group(1)) if total else 0,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            "raw": out}


def start_nginx(work, body):
    port = free_port()
    conf = os.path.join(work, "nginx.conf")
    escaped = body.decode().replace("\\", "\\\\").replace("'", "\\'")
    with open(conf, "w") as f:
        f.write(f"""worker_processes auto;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {work}/nginx-body;
  proxy_temp_path {work}/nginx-proxy;
  fastcgi_temp_path {work}/nginx-fastcgi;
  uwsgi_temp_path {work}/nginx-uwsgi;
  scgi_temp_path {work}/nginx-scgi;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      default_type application/x-amz-json-1.1;
      return 200 '{escaped}';
    }}
  }}
}}
""")
    proc = subprocess.Popen(["/usr/sbin/nginx", "-p", work, "-c", conf, "-e",
                             f"{work}/nginx-error.log"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            r = h.http_request(url + "/", body=b"{}")
            if r.status == 200:
                return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("nginx did not start")


def signed(target, body):
    headers = {"Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": "AmazonSSM.GetParameter"}
    return h.sigv4_headers("POST", target.url + "/", headers, body, target.access_key,
                           target.secret_key, h.REGION, "ssm")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--coffer", required=True)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--skip-moto", action="store_true")
    args = ap.parse_args()
    for tool in ("wrk",):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not installed (apt-get install wrk)")
    if not os.access("/usr/sbin/nginx", os.X_OK):
        sys.exit("nginx not installed (apt-get install nginx-light)")

    work = tempfile.mkdtemp(prefix="coffer-bench-")
    procs, targets = [], []
    results = {}
    try:
        coffer = h.CofferServer(args.coffer).start()
        targets.append(coffer)
        body = json.dumps({"Name": NAME, "WithDecryption": True}).encode()
        coffer.raw().ok("PutParameter", {"Name": NAME, "Value": VALUE, "Type": "SecureString"})
        r = coffer.raw().call("GetParameter", {"Name": NAME, "WithDecryption": True})
        assert r.status == 200, (r.status, r.body[:200])
        canned = r.body

        runs = [("coffer", coffer.url, signed(coffer, body))]
        if not args.skip_moto and h.MotoServer.available():
            moto = h.MotoServer().start()
            targets.append(moto)
            moto.raw().ok("PutParameter", {"Name": NAME, "Value": VALUE, "Type": "SecureString"})
            runs.append(("moto", moto.url, signed(moto, body)))
        nginx, nginx_url = start_nginx(work, canned)
        procs.append(nginx)
        runs.append(("nginx", nginx_url, {"Content-Type": "application/x-amz-json-1.1",
                                          "X-Amz-Target": "AmazonSSM.GetParameter"}))

        for name, url, headers in runs:
            # Sanity: the exact request wrk will replay succeeds once.
            chk = h.http_request(url + "/", headers=headers, body=body)
            if chk.status != 200:
                raise RuntimeError(f"{name}: replayed request fails: {chk.status} "
                                   f"{chk.body[:200]!r}")
            script = os.path.join(work, f"{name}.lua")
            write_wrk_script(script, {k: v for k, v in headers.items()}, body)
            results[name] = run_wrk(url, script, args)
            res = results[name]
            print(f"{name:7s} {res['rps']:>10.0f} req/s   p50 {res['p50_ms']} ms   "
                  f"p99 {res['p99_ms']} ms   requests {res['requests']}   "
                  f"non-2xx {res['non_2xx']}", flush=True)
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        for t in targets:
            try:
                t.stop()
            except Exception as e:  # report, keep cleaning up
                print(f"stop {t.kind}: {e}")
            t.cleanup()
        shutil.rmtree(work, ignore_errors=True)

    c = results.get("coffer", {}).get("rps", 0)
    summary = {"duration_s": args.duration, "threads": args.threads,
               "connections": args.connections}
    for name, res in results.items():
        summary[name] = {k: res[k] for k in ("rps", "p50_ms", "p99_ms", "requests", "non_2xx")}
    if results.get("nginx", {}).get("rps"):
        summary["coffer_over_nginx"] = round(c / results["nginx"]["rps"], 3)
        print(f"Coffer/nginx throughput ratio: {summary['coffer_over_nginx']}")
    if results.get("moto", {}).get("rps"):
        summary["coffer_over_moto"] = round(c / results["moto"]["rps"], 2)
        print(f"Coffer/moto throughput ratio:  {summary['coffer_over_moto']}")
    print("RESULT " + json.dumps(summary, sort_keys=True))
    if any(res["non_2xx"] for res in results.values()):
        print("WARNING: some responses were not 2xx (see counts above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
