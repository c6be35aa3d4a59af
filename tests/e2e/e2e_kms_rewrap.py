#!/usr/bin/env python3
"""`coffer kms rewrap`: after a KMS key rotation, stored parameter and secret values are
re-encrypted under the newest version of their key's material, through the running server.

Stores SecureString parameters and secrets (several versions each) under two customer KMS keys,
rotates both keys on demand, then runs `coffer kms rewrap --key-id KEY1` and `coffer kms rewrap`
against the running server and checks, by reading the envelopes in the SQLite store
(docs/formats/envelope.md: 0xC1 | n | key id | u32 key version | ...), that every envelope under
the chosen key now names the newest key version while the others wait for the second run; that
every version of every value reads back unchanged with the same versions, labels and stages;
that a second pass re-wraps nothing; that an IAM user without kms:RewrapStoredValues is refused;
that the calls are audited; and that the values survive a restart.

Usage: e2e_kms_rewrap.py --coffer build/coffer
"""

import json
import os
import sqlite3
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402


def envelope_key(env):
    """(key id, key version) named by an envelope."""
    assert env[0] == 0xC1, "not an envelope"
    n = env[1]
    return env[2:2 + n].decode(), int.from_bytes(env[2 + n:6 + n], "big")


def stored_envelopes(data_dir):
    """{record key: (key id, version)} for every parameter and secret version record."""
    db = sqlite3.connect(f"file:{os.path.join(data_dir, 'coffer.db')}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT key, value FROM kv WHERE key >= ? AND key < ? OR "
                          "key >= ? AND key < ?", (b"sm/v/", b"sm/v0", b"ssm/v/", b"ssm/v0"))
        out = {}
        for k, v in rows.fetchall():
            k, v = bytes(k).decode(), bytes(v)
            _, pos = h.read_varint(v, 0)  # format
            if k.startswith("ssm/"):
                _, pos = h.read_varint(v, pos)  # version (zigzag)
            else:
                n, pos = h.read_varint(v, pos)  # version id
                pos += n + 1  # id bytes, is_binary
            n, pos = h.read_varint(v, pos)
            out[k] = envelope_key(v[pos:pos + n])
        return out
    finally:
        db.close()


def body(args, ck):
    if args.target != "coffer":
        h.skip("this test drives `coffer kms rewrap` and reads Coffer's store")
    t = h.CofferServer(args.coffer).start()
    vals = [h.new_canary() for _ in range(8)]
    try:
        ssm = h.RawSsm(t, service="ssm", prefix="AmazonSSM")
        sm = h.RawSsm(t, service="secretsmanager", prefix="secretsmanager")
        kms = h.RawSsm(t, service="kms", prefix="TrentService")
        k1 = kms.ok("CreateKey", {"Description": "rewrap one"})["KeyMetadata"]["KeyId"]
        k2 = kms.ok("CreateKey", {"Description": "rewrap two"})["KeyMetadata"]["KeyId"]
        kms.ok("CreateAlias", {"AliasName": "alias/rewrap-one", "TargetKeyId": k1})
        ssm.ok("PutParameter", {"Name": "/rw/a", "Value": vals[0], "Type": "SecureString",
                                "KeyId": "alias/rewrap-one"})
        ssm.ok("PutParameter", {"Name": "/rw/a", "Value": vals[1], "Overwrite": True})
        ssm.ok("LabelParameterVersion", {"Name": "/rw/a", "ParameterVersion": 1,
                                         "Labels": ["first"]})
        ssm.ok("PutParameter", {"Name": "/rw/b", "Value": vals[2], "Type": "SecureString",
                                "KeyId": k2})
        ssm.ok("PutParameter", {"Name": "/rw/plain", "Value": "not secret", "Type": "String"})
        t1 = "aaaaaaaa-1111-4222-8333-444444444444"
        t2 = "bbbbbbbb-1111-4222-8333-444444444444"
        sm.ok("CreateSecret", {"Name": "rw/s", "SecretString": vals[3], "KmsKeyId": k1,
                               "ClientRequestToken": t1})
        sm.ok("PutSecretValue", {"SecretId": "rw/s", "SecretString": vals[4],
                                 "ClientRequestToken": t2})
        sm.ok("CreateSecret", {"Name": "rw/bin", "SecretBinary": "AAEC/w==", "KmsKeyId": k1})
        sm.ok("CreateSecret", {"Name": "rw/other", "SecretString": vals[5], "KmsKeyId": k2})
        sm.ok("CreateSecret", {"Name": "rw/default", "SecretString": vals[6]})

        def snapshot():
            """Everything a client can see of the stored values (with the plaintexts)."""
            out = {}
            for n in ("/rw/a", "/rw/b", "/rw/plain"):
                hist = ssm.ok("GetParameterHistory", {"Name": n, "WithDecryption": True})
                out[n] = [(p["Version"], p["Value"], sorted(p.get("Labels", [])),
                           p.get("KeyId"), p["LastModifiedDate"]) for p in hist["Parameters"]]
            for n in ("rw/s", "rw/bin", "rw/other", "rw/default"):
                vs = sm.ok("ListSecretVersionIds", {"SecretId": n})["Versions"]
                out[n] = []
                for v in sorted(vs, key=lambda v: v["VersionId"]):
                    g = sm.ok("GetSecretValue", {"SecretId": n, "VersionId": v["VersionId"]})
                    out[n].append((v["VersionId"], sorted(v["VersionStages"]),
                                   g.get("SecretString"), g.get("SecretBinary"),
                                   v.get("KmsKeyIds")))
            return out

        before_values = snapshot()
        before = stored_envelopes(t.data_dir)
        ck.true(all(ver == 1 for _, ver in before.values()), "all envelopes at key version 1")
        on_k1 = {k for k, (kid, _) in before.items() if kid == k1}
        on_k2 = {k for k, (kid, _) in before.items() if kid == k2}
        ck.eq(len(on_k1), 5, "5 stored values under key one (2 parameter, 3 secret versions)")
        ck.eq(len(on_k2), 2, "2 stored values under key two")
        kms.ok("RotateKeyOnDemand", {"KeyId": k1})
        kms.ok("RotateKeyOnDemand", {"KeyId": k1})
        kms.ok("RotateKeyOnDemand", {"KeyId": k2})

        env = t.env()

        def rewrap(*extra, env=env):
            p = subprocess.run([args.coffer, "kms", "rewrap", "--endpoint-url", t.url] +
                               list(extra), env=env, capture_output=True, text=True, timeout=300)
            return p

        p = rewrap("--key-id", "alias/rewrap-one")
        ck.eq(p.returncode, 0, "coffer kms rewrap --key-id alias/rewrap-one", )
        ck.eq(p.stdout.splitlines(), ["parameters: 2 scanned, 2 re-wrapped",
                                      "secrets: 3 scanned, 3 re-wrapped"], "rewrap summary")
        if p.returncode:
            print("stderr:", p.stderr[:500])
        mid = stored_envelopes(t.data_dir)
        ck.eq({k: mid[k] for k in on_k1}, {k: (k1, 3) for k in on_k1},
              "key one's envelopes now name its newest version (3)")
        ck.eq({k: mid[k] for k in on_k2}, {k: (k2, 1) for k in on_k2},
              "key two's envelopes untouched by --key-id")
        ck.eq({k: v for k, v in mid.items() if k not in on_k1}, {k: v for k, v in before.items()
                                                                 if k not in on_k1},
              "every other envelope untouched")
        ck.true(before_values == snapshot(), "values, versions, labels and stages unchanged",
                "a value or its metadata changed (not printed)")

        p = rewrap()
        ck.eq(p.returncode, 0, "coffer kms rewrap (every key)")
        ck.eq(p.stdout.splitlines(), ["parameters: 4 scanned, 1 re-wrapped",
                                      "secrets: 5 scanned, 1 re-wrapped"],
              "second pass re-wraps only key two's values")
        after = stored_envelopes(t.data_dir)
        ck.eq({k: after[k] for k in on_k2}, {k: (k2, 2) for k in on_k2},
              "key two's envelopes now name version 2")
        ck.true(before_values == snapshot(), "values unchanged after the second pass",
                "a value or its metadata changed (not printed)")
        p = rewrap()
        ck.eq(p.stdout.splitlines(), ["parameters: 4 scanned, 0 re-wrapped",
                                      "secrets: 5 scanned, 0 re-wrapped"],
              "a pass with nothing stale re-wraps nothing")
        ck.eq(stored_envelopes(t.data_dir), after, "no envelope rewritten by the idle pass")

        # Errors: unknown key; a caller without kms:RewrapStoredValues.
        p = rewrap("--key-id", "alias/nope")
        ck.true(p.returncode == 1 and "NotFoundException" in p.stderr,
                "unknown --key-id: NotFoundException, exit 1", p.stderr[:300])

        def iam_call(action, **params):
            form = urllib.parse.urlencode(dict(Action=action, Version="2010-05-08", **params))
            headers = h.sigv4_headers("POST", t.url + "/",
                                      {"Content-Type": "application/x-www-form-urlencoded"},
                                      form.encode(), t.access_key, t.secret_key, h.REGION, "iam")
            return h.http_request(t.url + "/", headers=headers, body=form.encode())
        r = iam_call("CreateUser", UserName="eve")
        ck.eq(r.status, 200, "iam CreateUser eve")
        r = iam_call("CreateAccessKey", UserName="eve")
        text = r.body.decode()
        akid = text.split("<AccessKeyId>")[1].split("<")[0] if "<AccessKeyId>" in text else ""
        secret = (text.split("<SecretAccessKey>")[1].split("<")[0]
                  if "<SecretAccessKey>" in text else "")
        ck.true(akid and secret, "iam CreateAccessKey eve")
        p = rewrap(env=t.env(akid, secret))
        ck.true(p.returncode == 1 and "AccessDeniedException" in p.stderr,
                "a user without kms:RewrapStoredValues is refused", p.stderr[:300])

        t.restart()
        ssm = h.RawSsm(t, service="ssm", prefix="AmazonSSM")
        sm = h.RawSsm(t, service="secretsmanager", prefix="secretsmanager")
        ck.true(before_values == snapshot(), "values unchanged after a restart",
                "a value changed (not printed)")
        t.stop()
        with open(os.path.join(t.data_dir, "audit.log")) as f:
            recs = [json.loads(x) for x in f.read().splitlines()]
        mine = [(r.get("operation"), r.get("decision")) for r in recs
                if r.get("operation") == "RewrapStoredValues"]
        ck.true(len(mine) >= 5 and any(d != "allow" for _, d in mine),
                "every RewrapStoredValues call is audited (allowed and denied)", repr(mine))
        with open(os.path.join(t.data_dir, "audit.log"), "rb") as f:
            audit = f.read()
        ck.true(not any(v.encode() in audit for v in vals), "no value in the audit log")
        t.assert_no_canary_in_logs(ck, vals)
    finally:
        t.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_kms_rewrap", body))
