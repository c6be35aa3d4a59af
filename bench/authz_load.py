#!/usr/bin/env python3
"""Cost of IAM policy evaluation on the read hot path, under load.

A non-admin IAM user ("bench", in group "apps") carries the policy set of bench/authz_policies.json
(7 statements over an inline and a managed group policy: action and resource wildcards, a policy
variable, IP conditions, two Deny statements); the secret it reads also has a resource policy. The
same data is served two ways, by two servers running side by side:

  eval    `coffer server --dev`: every request is authorized (identity policies + the
          secret's resource policy)
  noeval  `coffer server --dev --unsafe-skip-authorization` on a copy of the data directory:
          the JSON APIs skip authorization altogether (no request context, no policy lookup,
          no evaluation, no decision in the audit record)

Requests: SSM GetParameter (SecureString, WithDecryption) and Secrets Manager GetSecretValue as the
bench user, plus GetParameter as the dev admin on `eval` (the admin skips evaluation but still pays
for the request context). wrk replays each signed request for --duration seconds against one
server, then the same against the other; the order flips every round (ABBA), so that both servers
see the same background load, and each round gives a paired ratio.

Two measures per run: wrk's throughput, and the server's own CPU time per request (utime + stime
of its process from /proc over the run, divided by the requests wrk completed); for a CPU-bound
server the inverse of the latter is the throughput the same cores can sustain ("capacity"). Both
are reported as the median of the per-round ratios eval/noeval and pooled over all rounds. On a
machine whose two cores are shared with wrk and with other work, single runs swing by +-20 %.

Everything runs on 127.0.0.1. Prints one line per run, the ratios, and a `RESULT {...}` JSON line.
Exits 1 if any response was not 2xx.

Instruction counts (--callgrind N): because the measures above move with whatever else the
machine runs, this mode runs each server under valgrind's callgrind instead, sends the same signed
request N times on one connection after a warm-up, and reads the user-space instructions the
server executed (callgrind_control --zero before, --dump after) per request. Those counts are
deterministic to within a fraction of a percent; they leave out the kernel's share of each request
(socket I/O, the audit log write), which is the same with and without evaluation, so their ratio
overstates the relative cost of evaluation.

Usage: bench/authz_load.py --coffer build/coffer [--duration 3] [--rounds 10] [--threads 2]
                           [--connections 32] [--no-resource-policy] [--callgrind N]
"""

import argparse
import glob
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import coffer_harness as h  # noqa: E402
from ssm_load import run_wrk, write_wrk_script  # noqa: E402

ACCT = "000000000000"
PARAM = "/bench/app/db_password"
SECRET = "bench/app/db"
VALUE = "bench-value-0123456789abcdef"


def setup(server, resource_policy=True):
    """Creates the bench user, its policies and key, the parameter and the secret (with its
    resource policy unless told not to). Returns the user's (access key id, secret access key)."""
    with open(os.path.join(HERE, "authz_policies.json")) as f:
        docs = json.load(f)
    iam = server.boto3_client("iam")
    iam.create_user(UserName="bench")
    iam.create_group(GroupName="apps")
    iam.add_user_to_group(GroupName="apps", UserName="bench")
    iam.put_user_policy(UserName="bench", PolicyName="app",
                        PolicyDocument=json.dumps(docs["user_inline"]))
    arn = iam.create_policy(PolicyName="apps",
                            PolicyDocument=json.dumps(docs["group_managed"]))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName="apps", PolicyArn=arn)
    key = iam.create_access_key(UserName="bench")["AccessKey"]
    server.raw().ok("PutParameter", {"Name": PARAM, "Value": VALUE, "Type": "SecureString"})
    sm = server.raw(service="secretsmanager", prefix="secretsmanager")
    sm.ok("CreateSecret", {"Name": SECRET, "SecretString": VALUE})
    if resource_policy:
        sm.ok("PutResourcePolicy", {"SecretId": SECRET,
                                    "ResourcePolicy": json.dumps(docs["secret_resource_policy"])})
    return key["AccessKeyId"], key["SecretAccessKey"]


def signed(server, service, target, body, access_key, secret_key):
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}
    return h.sigv4_headers("POST", server.url + "/", headers, body, access_key, secret_key,
                           h.REGION, service)


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def requests_for(server, user_key, with_admin):
    gp = json.dumps({"Name": PARAM, "WithDecryption": True}).encode()
    gsv = json.dumps({"SecretId": SECRET}).encode()
    out = [("user GetParameter", "ssm", "AmazonSSM.GetParameter", gp, user_key),
           ("user GetSecretValue", "secretsmanager", "secretsmanager.GetSecretValue", gsv,
            user_key)]
    if with_admin:
        out.append(("admin GetParameter", "ssm", "AmazonSSM.GetParameter", gp,
                    (server.access_key, server.secret_key)))
    return [(name, body, signed(server, svc, target, body, *key))
            for name, svc, target, body, key in out]


def callgrind_counts(args, work, data_dir, user_key):
    """Instructions per request, per (config, request name), each server under callgrind."""
    wrapper = os.path.join(work, "coffer-callgrind.sh")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\n"
                f"exec valgrind --tool=callgrind --callgrind-out-file={work}/callgrind.%p.out "
                f"{os.path.abspath(args.coffer)} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    counts = {}
    for config, extra in (("eval", []), ("noeval", ["--unsafe-skip-authorization"])):
        server = h.CofferServer(wrapper, data_dir=data_dir, extra_args=extra).start(timeout=180)
        try:
            pid = server.proc.pid
            for name, body, headers in requests_for(server, user_key, config == "eval"):
                url = urllib.parse.urlsplit(server.url)
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)

                def send(n):
                    for _ in range(n):
                        conn.request("POST", "/", body=body, headers=headers)
                        r = conn.getresponse()
                        r.read()
                        if r.status != 200:
                            raise RuntimeError(f"{config} {name}: HTTP {r.status}")

                send(50)  # warm-up: caches, compiled policies, lazy initialisation
                subprocess.run(["callgrind_control", "--zero", str(pid)], check=True,
                               capture_output=True)
                send(args.callgrind)
                before = set(glob.glob(f"{work}/callgrind.{pid}.out*"))
                subprocess.run(["callgrind_control", f"--dump={config}", str(pid)], check=True,
                               capture_output=True)
                conn.close()
                dumps = []
                for _ in range(100):  # the dump is written by the server's next scheduled thread
                    dumps = sorted(set(glob.glob(f"{work}/callgrind.{pid}.out*")) - before)
                    if dumps:
                        break
                    time.sleep(0.1)
                ir = 0
                for d in dumps:
                    with open(d) as f:
                        m = re.search(r"^(?:summary|totals):\s+(\d+)", f.read(), re.M)
                    ir += int(m.group(1)) if m else 0
                counts[(config, name)] = ir / args.callgrind
                print(f"callgrind {config:6s} {name:20s} {ir / args.callgrind:>10.0f} "
                      f"instructions/request", flush=True)
        finally:
            server.stop(expect_rc=None, timeout=120)
            server.cleanup()
    return counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--coffer", required=True)
    ap.add_argument("--duration", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--callgrind", type=int, metavar="N", default=0,
                    help="count instructions per request over N requests under callgrind "
                         "instead of running wrk")
    ap.add_argument("--no-resource-policy", action="store_true",
                    help="leave the secret without a resource policy (e.g. to compare with a "
                         "build that predates resource policies)")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not installed (apt-get install wrk)")

    work = tempfile.mkdtemp(prefix="coffer-authz-bench-")
    data_dir = os.path.join(work, "data")
    results = {}  # (config, request) -> [wrk result per round]
    failures = 0
    servers = {}
    try:
        server = h.CofferServer(args.coffer, data_dir=data_dir).start()
        user_key = setup(server, resource_policy=not args.no_resource_policy)
        server.stop()
        server.cleanup()
        if args.callgrind:
            counts = callgrind_counts(args, work, data_dir, user_key)
            summary = {"callgrind_requests": args.callgrind,
                       "instructions_per_request": {f"{c} {n}": round(v)
                                                    for (c, n), v in sorted(counts.items())}}
            for name in ("user GetParameter", "user GetSecretValue"):
                ratio = counts[("noeval", name)] / counts[("eval", name)]
                summary[f"ratio {name}"] = round(ratio, 4)
                print(f"instructions noeval/eval {name:20s} {ratio:.4f}")
            ratio = counts[("eval", "admin GetParameter")] / counts[("eval", "user GetParameter")]
            summary["ratio admin/user GetParameter"] = round(ratio, 4)
            print(f"instructions admin/user  GetParameter         {ratio:.4f}")
            print("RESULT " + json.dumps(summary, sort_keys=True))
            return 0
        # Both servers run side by side (the noeval one on a copy of the data directory) and
        # the load alternates between them in short slices, ABBA order, so that both see the
        # same background load.
        noeval_dir = os.path.join(work, "data-noeval")
        shutil.copytree(data_dir, noeval_dir, symlinks=True)
        servers["eval"] = h.CofferServer(args.coffer, data_dir=data_dir).start()
        servers["noeval"] = h.CofferServer(args.coffer, data_dir=noeval_dir,
                                           extra_args=["--unsafe-skip-authorization"]).start()
        scripts = {}
        for config, server in servers.items():
            for name, body, headers in requests_for(server, user_key, config == "eval"):
                # The exact request wrk replays succeeds once (and warms the caches).
                chk = h.http_request(server.url + "/", headers=headers, body=body)
                if chk.status != 200:
                    raise RuntimeError(f"{config} {name}: {chk.status} {chk.body[:300]!r}")
                script = os.path.join(work, f"{config}-{len(scripts)}.lua")
                write_wrk_script(script, headers, body)
                scripts[(config, name)] = script
        names = ["user GetParameter", "user GetSecretValue", "admin GetParameter"]
        # One unrecorded second per request and server: the first run after start-up is slower
        # (allocator arenas, page faults, caches) and would count against whichever goes first.
        warm_up = argparse.Namespace(**{**vars(args), "duration": 1})
        for (config, name), script in scripts.items():
            run_wrk(servers[config].url, script, warm_up)
        for rnd in range(args.rounds):
            order = ["eval", "noeval"] if rnd % 2 == 0 else ["noeval", "eval"]
            for name in names:
                for config in order:
                    if (config, name) not in scripts:
                        continue
                    server = servers[config]
                    cpu_before = cpu_seconds(server.proc.pid)
                    res = run_wrk(server.url, scripts[(config, name)], args)
                    cpu = cpu_seconds(server.proc.pid) - cpu_before
                    res["cpu_us_per_req"] = cpu * 1e6 / res["requests"] if res["requests"] else 0
                    results.setdefault((config, name), []).append(res)
                    failures += res["non_2xx"]
                    print(f"round {rnd + 1:2d} {config:6s} {name:20s} {res['rps']:>9.0f} req/s  "
                          f"cpu {res['cpu_us_per_req']:6.1f} us/req  p50 {res['p50_ms']} ms  "
                          f"p99 {res['p99_ms']} ms  non-2xx {res['non_2xx']}", flush=True)
    finally:
        for server in servers.values():
            try:
                server.stop()
            except Exception as e:  # report, keep cleaning up
                print(f"stop: {e}")
            server.cleanup()
        if not os.environ.get("COFFER_BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)

    summary = {"duration_s": args.duration, "rounds": args.rounds, "threads": args.threads,
               "connections": args.connections, "loadavg_end": os.getloadavg()[0]}
    for (config, name), runs in sorted(results.items()):
        summary[f"{config} {name}"] = {
            "rps_median": statistics.median(r["rps"] for r in runs),
            "cpu_us_per_req_median": round(statistics.median(r["cpu_us_per_req"] for r in runs), 2),
            "rps": [r["rps"] for r in runs],
            "cpu_us_per_req": [round(r["cpu_us_per_req"], 2) for r in runs]}

    def ratios(a, b, key):  # per round: a/b of `key`
        return [x[key] / y[key] for x, y in zip(a, b) if y[key]]

    def pooled_cpu(runs):  # CPU time per request over all rounds
        total = sum(r["requests"] for r in runs)
        return sum(r["cpu_us_per_req"] * r["requests"] for r in runs) / total

    for name in ("user GetParameter", "user GetSecretValue"):
        ev, ne = results[("eval", name)], results[("noeval", name)]
        rps = ratios(ev, ne, "rps")
        capacity = ratios(ne, ev, "cpu_us_per_req")
        pooled_rps = sum(r["requests"] for r in ev) / sum(r["requests"] for r in ne)
        pooled_capacity = pooled_cpu(ne) / pooled_cpu(ev)
        summary[f"ratio {name}"] = {
            "throughput_median": round(statistics.median(rps), 3),
            "throughput_pooled": round(pooled_rps, 3),
            "throughput_per_round": [round(r, 3) for r in rps],
            "capacity_median": round(statistics.median(capacity), 3),
            "capacity_pooled": round(pooled_capacity, 3),
            "capacity_per_round": [round(r, 3) for r in capacity]}
        print(f"eval/noeval {name:20s} throughput median {statistics.median(rps):.3f} "
              f"pooled {pooled_rps:.3f}   capacity (CPU/req) median "
              f"{statistics.median(capacity):.3f} pooled {pooled_capacity:.3f}")
    user, admin = results[("eval", "user GetParameter")], results[("eval", "admin GetParameter")]
    rps = ratios(user, admin, "rps")
    capacity = ratios(admin, user, "cpu_us_per_req")
    summary["ratio user/admin GetParameter"] = {
        "throughput_median": round(statistics.median(rps), 3),
        "capacity_median": round(statistics.median(capacity), 3)}
    print(f"user/admin  GetParameter           throughput median {statistics.median(rps):.3f}   "
          f"capacity (CPU/req) median {statistics.median(capacity):.3f}")
    print("RESULT " + json.dumps(summary, sort_keys=True))
    if failures:
        print("WARNING: some responses were not 2xx")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
