#!/usr/bin/env python3
"""coffer agent: propagation latency and API calls per sync cycle (issue 17's bench).

1. Propagation: an acknowledged PutParameter (boto3 returns) -> the agent's target file holds
   the new value. One workload, dotenv target, wait {min: 0s, max: 0s} (no coalescing window),
   Coffer source (change feed, long-poll). --trials writes (default 500), one at a time; each
   trial's latency is from the write's acknowledgement to the moment the file shows the value
   (polled every 0.5 ms). Reports p50/p90/p99/max.
2. API calls per sync cycle: --keys parameters (default 1,000) under one path, polled by an agent
   in `source: poll` mode against the same server as a stand-in SSM endpoint; the calls are
   counted at the server (its /metrics coffer_requests_total by operation, before and after one
   cycle) and by the agent (coffer_agent_api_calls_total).

Usage: bench/agent_propagation.py --coffer build/coffer [--trials 500] [--keys 1000]
Prints the figures and a `RESULT {...}` JSON line. Heavy: do not run it while building.
"""

import argparse
import json
import os
import re
import statistics
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import agent_harness as ah  # noqa: E402
import coffer_harness as h  # noqa: E402


def server_calls(server):
    text = urllib.request.urlopen(server.url + "/metrics", timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r'coffer_requests_total\{api="(\w+)",op="(\w+)",code="\w+"\} (\d+)', line)
        if m:
            key = f"{m.group(1)}:{m.group(2)}"
            out[key] = out.get(key, 0) + int(m.group(3))
    return out


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--coffer", required=True)
    p.add_argument("--trials", type=int, default=500)
    p.add_argument("--keys", type=int, default=1000)
    args = p.parse_args()
    server = h.CofferServer(args.coffer).start()
    agents = []
    try:
        work = server.work
        ssm = server.boto3_client("ssm")
        ssm.put_parameter(Name="/prop/v", Value="start", Type="String")
        target = os.path.join(work, "prop.env")
        cfg = (f"kind: Agent\nmetrics: 127.0.0.1:0\nserver: {{feedWait: 20s}}\n"
               f"wait: {{min: 0s, max: 0s}}\nworkloads:\n  - name: prop\n"
               f"    parameters: [{{path: /prop}}]\n"
               f"    targets: [{{type: dotenv, path: {target}}}]\n")
        agent = ah.Agent(args.coffer, work, server, cfg, name="prop")
        agents.append(agent)
        agent.start(endpoint=server.url)
        ah.wait_for(lambda: 'v="start"' in (ah.read(target) or ""), 30, "first sync")
        lat = []
        for i in range(args.trials):
            want = f'v="t{i}"'
            ssm.put_parameter(Name="/prop/v", Value=f"t{i}", Type="String", Overwrite=True)
            t0 = time.perf_counter()
            while want not in (ah.read(target) or ""):
                if time.perf_counter() - t0 > 10:
                    raise RuntimeError(f"trial {i} did not propagate in 10 s")
                time.sleep(0.0005)
            lat.append((time.perf_counter() - t0) * 1000)
        agent.stop()
        prop = {"trials": len(lat), "p50_ms": round(pct(lat, 50), 2),
                "p90_ms": round(pct(lat, 90), 2), "p99_ms": round(pct(lat, 99), 2),
                "max_ms": round(max(lat), 2), "mean_ms": round(statistics.mean(lat), 2)}
        print(f"propagation over {len(lat)} trials: p50 {prop['p50_ms']} ms, "
              f"p90 {prop['p90_ms']} ms, p99 {prop['p99_ms']} ms, max {prop['max_ms']} ms")

        # API calls per sync cycle, polling.
        for i in range(args.keys):
            ssm.put_parameter(Name=f"/poll/k{i:05d}", Value=f"v{i}", Type="SecureString")
        target2 = os.path.join(work, "poll.env")
        cfg2 = (f"kind: Agent\nmetrics: 127.0.0.1:0\nserver: {{source: poll, interval: 1h}}\n"
                f"workloads:\n  - name: poll\n    parameters: [{{path: /poll}}]\n"
                f"    targets: [{{type: dotenv, path: {target2}}}]\n")
        before = server_calls(server)
        poller = ah.Agent(args.coffer, work, server, cfg2, name="poll")
        agents.append(poller)
        poller.start(endpoint=server.url)
        ah.wait_for(lambda: ah.count_lines(target2) == args.keys, 120, "the polled sync")
        ah.wait_for(lambda: poller.metric("coffer_agent_syncs_total") >= 1, 30, "sync counted")
        after = server_calls(server)
        delta = {k: after.get(k, 0) - before.get(k, 0) for k in after
                 if after.get(k, 0) != before.get(k, 0)}
        agent_calls = poller.metric("coffer_agent_api_calls_total")
        poller.stop()
        print(f"one poll cycle for {args.keys} keys: server counted {delta}; "
              f"agent counted {int(agent_calls)} calls")
        print("RESULT " + json.dumps({"propagation": prop,
                                      "poll_cycle": {"keys": args.keys, "server_calls": delta,
                                                     "agent_calls": int(agent_calls)}}))
    finally:
        for a in agents:
            a.cleanup()
        server.cleanup()


if __name__ == "__main__":
    main()
