#!/usr/bin/env python3
"""bench/cli_exec.sh: `coffer exec SERVICE -- true` vs `/usr/bin/aws ssm get-parameters-by-path`
for the same 100 values on one Coffer server, with hyperfine (falls back to timing the runs
here, and says so, when hyperfine is absent)."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import coffer_harness as h  # noqa: E402


def mean_by_hand(cmd, env, runs):
    subprocess.run(cmd, env=env, check=True, capture_output=True)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return sum(times) / len(times), min(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--coffer", required=True)
    p.add_argument("--values", type=int, default=100)
    p.add_argument("--runs", type=int, default=30)
    args = p.parse_args()
    coffer = os.path.abspath(args.coffer)
    t = h.CofferServer(coffer).start()
    try:
        env = t.env()
        env["AWS_ENDPOINT_URL"] = t.url
        doc = {f"VALUE_{i:03d}": f"value-{i}-" + "x" * 40 for i in range(args.values)}
        src = os.path.join(t.work, "values.json")
        with open(src, "w") as f:
            json.dump(doc, f)
        subprocess.run([coffer, "import", "bench", src], env=env, check=True)
        coffer_cmd = [coffer, "exec", "bench", "--", "true"]
        aws_cmd = [h.AWS_V2, "--endpoint-url", t.url, "ssm", "get-parameters-by-path",
                   "--path", "/bench", "--recursive", "--with-decryption"]
        # Both must see the same values.
        out = subprocess.run([coffer, "exec", "bench", "--", "env"],
                             env=env, check=True, capture_output=True, text=True).stdout
        assert all(f"{k}={v}" in out for k, v in doc.items()), "coffer exec lacks values"
        got = json.loads(subprocess.run(aws_cmd, env=env, check=True, capture_output=True,
                                        text=True).stdout)
        assert len(got["Parameters"]) == args.values, "aws did not list every value"

        hyperfine = shutil.which("hyperfine")
        if hyperfine:
            export = os.path.join(t.work, "hyperfine.json")
            q = lambda c: " ".join(c)  # noqa: E731 (no argument has spaces)
            subprocess.run([hyperfine, "--warmup", "3", "--runs", str(args.runs), "-N",
                            "--export-json", export, "-n", "coffer exec", q(coffer_cmd),
                            "-n", "aws ssm get-parameters-by-path", q(aws_cmd)],
                           env=env, check=True)
            res = json.load(open(export))["results"]
            c_mean, a_mean = res[0]["mean"], res[1]["mean"]
            tool = "hyperfine"
        else:
            print("hyperfine is not installed (apt-get install hyperfine, or ./scripts/setup.sh);"
                  " timing the runs here instead")
            c_mean, _ = mean_by_hand(coffer_cmd, env, args.runs)
            a_mean, _ = mean_by_hand(aws_cmd, env, max(5, args.runs // 3))
            tool = "python perf_counter"
        print(f"\n{args.values} values, {tool}:")
        print(f"  coffer exec bench -- true              {c_mean * 1000:8.1f} ms")
        print(f"  aws ssm get-parameters-by-path (v2)   {a_mean * 1000:8.1f} ms")
        print(f"  ratio coffer/aws: 1/{a_mean / c_mean:.0f} (target: 1/20 or better)")
    finally:
        t.stop()
        t.cleanup()


if __name__ == "__main__":
    main()
