#!/usr/bin/env python3
"""Acknowledged writes survive restarts, graceful and not.

1. Writes N parameters (String and SecureString, some with several versions and labels), stops
   the server with SIGTERM (exit 0 expected), restarts on the same data directory and reads all
   of them back (values, versions, labels, tags).
2. Runs several writer threads (boto3 put_parameter, falling back to the harness's raw signed
   client when boto3 is absent) that record every acknowledged (name, version, value); after a
   bounded time the server is killed with SIGKILL mid-load. After a restart every acknowledged
   write must be readable as name:version with its exact value. The count is printed.

Usage: e2e_ssm_restart_durability.py --coffer build/coffer
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

N = 60
THREADS = 4
LOAD_SECONDS = 3.0
MAX_WRITES_PER_THREAD = 2000
VERSIONS_PER_NAME = 40  # below the 100 retained versions, so nothing acknowledged is dropped


def graceful_restart(t, ck):
    raw = t.raw()
    for i in range(N):
        kind = "SecureString" if i % 3 == 0 else "String"
        raw.ok("PutParameter", {"Name": f"/dur/g/p{i:03d}", "Value": f"value-{i}-v1",
                                "Type": kind, "Description": f"d{i}"})
    for i in range(0, N, 5):
        raw.ok("PutParameter", {"Name": f"/dur/g/p{i:03d}", "Value": f"value-{i}-v2",
                                "Overwrite": True})
        raw.ok("LabelParameterVersion", {"Name": f"/dur/g/p{i:03d}", "ParameterVersion": 1,
                                         "Labels": ["first"]})
    raw.ok("AddTagsToResource", {"ResourceType": "Parameter", "ResourceId": "/dur/g/p001",
                                 "Tags": [{"Key": "k", "Value": "v"}]})
    raw.ok("DeleteParameter", {"Name": "/dur/g/p002"})
    rc = t.stop()
    ck.eq(rc, 0, "SIGTERM -> exit 0")
    t.start()
    raw = t.raw()
    ok = 0
    for i in range(N):
        name = f"/dur/g/p{i:03d}"
        r = raw.call("GetParameter", {"Name": name, "WithDecryption": True})
        if i == 2:
            ck.eq(r.error_code, "ParameterNotFound", "deleted parameter stays deleted")
            continue
        latest = 2 if i % 5 == 0 else 1
        if ck.eq(r.status, 200, f"{name} readable after restart"):
            p = r.json["Parameter"]
            ok += ck.eq((p["Value"], p["Version"]), (f"value-{i}-v{latest}", latest),
                        f"{name} value/version after restart")
        if i % 5 == 0:
            r = raw.call("GetParameter", {"Name": f"{name}:first", "WithDecryption": True})
            ck.true(r.status == 200 and r.json["Parameter"]["Value"] == f"value-{i}-v1",
                    f"{name}:first label survives restart", f"status {r.status}")
    r = raw.ok("ListTagsForResource", {"ResourceType": "Parameter", "ResourceId": "/dur/g/p001"})
    ck.eq(r.get("TagList"), [{"Key": "k", "Value": "v"}], "tags survive restart")
    r = raw.ok("DescribeParameters", {"ParameterFilters": [
        {"Key": "Name", "Option": "Equals", "Values": ["/dur/g/p004"]}]})
    ck.eq([p.get("Description") for p in r.get("Parameters", [])], ["d4"],
          "metadata survives restart")
    print(f"graceful restart: {ok} of {N - 1} parameters read back intact")


def make_putter(t):
    try:
        client = t.boto3_client("ssm", max_attempts=1)

        def put(name, value, first):
            kw = {"Type": "SecureString"} if first else {"Overwrite": True}
            return client.put_parameter(Name=name, Value=value, **kw)["Version"]
        return put, "boto3"
    except ImportError:
        raw = t.raw()

        def put(name, value, first):
            kw = {"Type": "SecureString"} if first else {"Overwrite": True}
            return raw.ok("PutParameter", {"Name": name, "Value": value, **kw})["Version"]
        return put, "raw"


def crash_under_load(t, ck):
    acked = []  # (name, version, value)
    lock = threading.Lock()
    stop = threading.Event()
    errors = []

    def writer(tid):
        put, _ = make_putter(t)
        for seq in range(MAX_WRITES_PER_THREAD):
            if stop.is_set():
                return
            name = f"/dur/k/t{tid}/n{seq // VERSIONS_PER_NAME:03d}"
            value = f"w-{tid}-{seq}"
            try:
                version = put(name, value, seq % VERSIONS_PER_NAME == 0)
            except Exception as e:  # the server dies under us: stop this writer
                if not stop.is_set():
                    errors.append(f"t{tid}#{seq}: {type(e).__name__}")
                return
            with lock:
                acked.append((name, version, value))

    _, how = make_putter(t)
    threads = [threading.Thread(target=writer, args=(i,)) for i in range(THREADS)]
    for th in threads:
        th.start()
    time.sleep(LOAD_SECONDS)  # bounded load window; the kill lands while writers are active
    t.kill9()
    stop.set()
    for th in threads:
        th.join(timeout=60)
    ck.true(not errors, "no writer failed before the kill", "; ".join(errors[:5]))
    ck.true(len(acked) > 0, "some writes were acknowledged before the kill")
    with lock:
        snapshot = list(acked)
    print(f"kill -9 under load ({THREADS} {how} writers, {LOAD_SECONDS}s): "
          f"{len(snapshot)} writes acknowledged")

    t.start()
    raw = t.raw()
    want = {}
    for name, version, value in snapshot:
        want[f"{name}:{version}"] = value
    found, missing, wrong = 0, [], []
    sels = sorted(want)
    for i in range(0, len(sels), 10):
        batch = sels[i:i + 10]
        r = raw.ok("GetParameters", {"Names": batch, "WithDecryption": True})
        got = {}
        for p in r.get("Parameters", []):
            got[f"{p['Name']}:{p['Version']}"] = p.get("Value")
        for sel in batch:
            if sel not in got:
                missing.append(sel)
            elif got[sel] != want[sel]:
                wrong.append(sel)
            else:
                found += 1
    print(f"after restart: {found} of {len(want)} acknowledged writes present and intact")
    ck.eq(missing[:10], [], f"acknowledged writes missing after kill -9 ({len(missing)} total)")
    ck.eq(wrong[:10], [], f"acknowledged writes with a wrong value ({len(wrong)} total)")
    ck.eq(found, len(want), "every acknowledged write survived kill -9")
    t.stop()


def body(args, ck):
    if args.target != "coffer":
        h.skip("this test restarts Coffer on its data directory")
    t = h.CofferServer(args.coffer).start()
    try:
        graceful_restart(t, ck)
        crash_under_load(t, ck)
    finally:
        t.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_ssm_restart_durability", body))
