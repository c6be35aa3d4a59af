#!/usr/bin/env python3
"""bench/bundle_exec.sh: start to child running for a service with many values, three ways, on
one Coffer server on 127.0.0.1 (its SSM, KMS and S3 APIs):

  coffer exec --bundle s3://bench/app.bundle -- true   one S3 GetObject + one KMS Decrypt
  coffer exec --bundle FILE -- true                    one KMS Decrypt (the file is local)
  coffer exec app -- true                              GetParametersByPath pages from SSM

measured with hyperfine (falls back to timing the runs here, and says so, when it is absent).
The child is `true`, so the figure is the whole cost of getting the values into a process."""

import argparse
import json
import os
import shutil
import subprocess
import sys
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
    return sum(times) / len(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--coffer", required=True)
    p.add_argument("--values", type=int, default=5000)
    p.add_argument("--runs", type=int, default=20)
    args = p.parse_args()
    coffer = os.path.abspath(args.coffer)
    t = h.CofferServer(coffer).start()
    try:
        env = t.env()
        env["AWS_ENDPOINT_URL"] = t.url
        doc = {f"VALUE_{i:05d}": f"value-{i}-" + "x" * 40 for i in range(args.values)}
        src = os.path.join(t.work, "values.json")
        with open(src, "w") as f:
            json.dump(doc, f)
        subprocess.run([coffer, "import", "app", src], env=env, check=True, capture_output=True)
        r = t.aws(["kms", "create-key", "--description", "bundles"])
        key = json.loads(r.out)["KeyMetadata"]["KeyId"]
        r = t.aws(["s3", "mb", "s3://bench"])
        if r.rc != 0:
            sys.exit(f"aws s3 mb failed: {r.err}")
        local = os.path.join(t.work, "app.bundle")
        for dest in (local, "s3://bench/app.bundle"):
            subprocess.run([coffer, "bundle", "create", "app", "--key", key, "-o", dest],
                           env=env, check=True, capture_output=True)
        cmds = [("coffer exec --bundle s3://", [coffer, "exec", "--bundle",
                                                "s3://bench/app.bundle", "--", "true"]),
                ("coffer exec --bundle FILE", [coffer, "exec", "--bundle", local, "--", "true"]),
                ("coffer exec app (SSM)", [coffer, "exec", "app", "--", "true"])]
        # Every way must hand the child the same values.
        envs = [subprocess.run(c[:-1] + ["env", "-0"], env=env, check=True,
                               capture_output=True).stdout for _, c in cmds]
        for out in envs:
            got = dict(x.split(b"=", 1) for x in out.split(b"\0") if b"=" in x)
            assert all(got.get(k.encode()) == v.encode() for k, v in doc.items()), \
                "a child lacks values"
        hyperfine = shutil.which("hyperfine")
        if hyperfine:
            export = os.path.join(t.work, "hyperfine.json")
            argv = [hyperfine, "--warmup", "3", "--runs", str(args.runs), "-N",
                    "--export-json", export]
            for name, c in cmds:
                argv += ["-n", name, " ".join(c)]
            subprocess.run(argv, env=env, check=True)
            means = [r["mean"] for r in json.load(open(export))["results"]]
            tool = "hyperfine"
        else:
            print("hyperfine is not installed (apt-get install hyperfine, or ./scripts/setup.sh);"
                  " timing the runs here instead")
            means = [mean_by_hand(c, env, args.runs) for _, c in cmds]
            tool = "python perf_counter"
        print(f"\n{args.values} values, {tool}:")
        for (name, _), mean in zip(cmds, means):
            print(f"  {name:30s} {mean * 1000:8.1f} ms")
        print(f"  ratio bundle from S3 / exec from SSM: {means[0] / means[2]:.2f}")
    finally:
        t.stop()
        t.cleanup()


if __name__ == "__main__":
    main()
