#!/usr/bin/env python3
"""Tampering with a stored secret ciphertext, with KMS key material, or with a KMS ciphertext blob
gives a clear error and never a wrong plaintext.

1. KMS ciphertext blobs (held by clients): one byte flipped in each region of the blob (magic,
   key id, key version, salt, nonce, ciphertext, tag), a truncated blob, and a blob whose key id
   is rewritten to name another existing key: Decrypt answers InvalidCiphertextException.
2. With the server stopped, edits the SQLite store (schema: src/storage/sqlite/sqlite_backend.cc
   `kv(key BLOB, value BLOB, ...)`; layout: docs/formats/storage-keys.md and envelope.md):
   a. copies the version record of secret tamper/aa onto secret tamper/bb (both versions have the
      same id, so only the envelope's associated data, which names the secret's ARN, differs),
   b. flips one byte inside the AES-GCM ciphertext of tamper/cc's value,
   c. flips one byte of the wrapped key material of a customer KMS key (`keyring/<key id>`) that
      protects secret tamper/kk and a KMS ciphertext blob.
   After a restart (the server must start: one damaged key does not take the others down):
   tamper/bb and tamper/cc answer DecryptionFailure, tamper/kk and every KMS call under the
   damaged key answer a 500 whose message names the damaged key material, BatchGetSecretValue
   lists them as errors, nothing returns a plaintext, and untouched values still read.

Usage: e2e_sm_kms_tamper.py --coffer build/coffer
"""

import base64
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

TOKEN = "7a7a7a7a-1111-4222-8333-444444444444"
MAGIC = b"CKMS1"


def secret_envelope_span(record):
    """(start, end) of the envelope in a secret version record:
    format varint | id (varint-length string) | is_binary (1 byte) | envelope (string)."""
    _, pos = h.read_varint(record, 0)
    n, pos = h.read_varint(record, pos)
    pos += n + 1
    n, pos = h.read_varint(record, pos)
    return pos, pos + n


def vkey(name, version_id):
    return f"sm/v/{name}/{version_id.encode().hex()}".encode()


def body(args, ck):
    if args.target != "coffer":
        h.skip("this test edits Coffer's SQLite store")
    t = h.CofferServer(args.coffer).start()
    a, b, c, kv, ok = (h.new_canary() for _ in range(5))
    canaries = [a, b, c, kv, ok]
    try:
        sm = h.RawSsm(t, service="secretsmanager", prefix="secretsmanager")
        kms = h.RawSsm(t, service="kms", prefix="TrentService")
        key = kms.ok("CreateKey", {"Description": "tamper"})["KeyMetadata"]["KeyId"]
        key2 = kms.ok("CreateKey", {"Description": "untouched"})["KeyMetadata"]["KeyId"]
        sm.ok("CreateSecret", {"Name": "tamper/aa", "SecretString": a, "ClientRequestToken": TOKEN})
        sm.ok("CreateSecret", {"Name": "tamper/bb", "SecretString": b, "ClientRequestToken": TOKEN})
        sm.ok("CreateSecret", {"Name": "tamper/cc", "SecretString": c})
        sm.ok("CreateSecret", {"Name": "tamper/kk", "SecretString": kv, "KmsKeyId": key})
        sm.ok("CreateSecret", {"Name": "tamper/ok", "SecretString": ok})
        pt = b"kms plaintext that must not come back"
        ctx = {"purpose": "tamper"}
        blob_k = kms.ok("Encrypt", {"KeyId": key, "Plaintext": base64.b64encode(pt).decode(),
                                    "EncryptionContext": ctx})["CiphertextBlob"]
        blob_2 = kms.ok("Encrypt", {"KeyId": key2, "Plaintext": base64.b64encode(pt).decode(),
                                    "EncryptionContext": ctx})["CiphertextBlob"]

        # --- 1. KMS blobs ------------------------------------------------------------------------
        raw2 = base64.b64decode(blob_2)
        ck.true(raw2.startswith(MAGIC) and raw2[5] == 0xC1, "blob = CKMS1 || envelope 0xC1")
        n = raw2[6]
        hdr = 5 + 2 + n + 4 + 32 + 12  # magic, format, id length, id, version, salt, nonce
        regions = {"magic": 0, "format byte": 5, "key id": 7, "key version": 7 + n + 3,
                   "salt": 7 + n + 4 + 5, "nonce": hdr - 3, "ciphertext": hdr + 2,
                   "tag": len(raw2) - 3}
        for what, pos in regions.items():
            bad = bytearray(raw2)
            bad[pos] ^= 0x01
            r = kms.call("Decrypt", {"CiphertextBlob": base64.b64encode(bytes(bad)).decode(),
                                     "EncryptionContext": ctx})
            ck.eq((r.status, r.error_code), (400, "InvalidCiphertextException"),
                  f"blob with a flipped {what} byte refused")
            ck.true(base64.b64encode(pt).decode() not in r.body.decode(errors="replace"),
                    f"flipped {what}: no plaintext", "plaintext returned")
        r = kms.call("Decrypt", {"CiphertextBlob": base64.b64encode(raw2[:-1]).decode(),
                                 "EncryptionContext": ctx})
        ck.eq(r.error_code, "InvalidCiphertextException", "truncated blob refused")
        # The key id rewritten to name another existing key (same length: both UUIDs).
        swapped = raw2.replace(key2.encode(), key.encode())
        ck.true(swapped != raw2, "key id found in the blob")
        r = kms.call("Decrypt", {"CiphertextBlob": base64.b64encode(swapped).decode(),
                                 "EncryptionContext": ctx})
        ck.eq(r.error_code, "InvalidCiphertextException", "blob re-pointed at another key refused")
        t.stop()

        # --- 2. the store -------------------------------------------------------------------------
        db = sqlite3.connect(os.path.join(t.data_dir, "coffer.db"))
        with db:
            rows = dict(db.execute("SELECT key, value FROM kv").fetchall())
            rows = {bytes(k): bytes(v) for k, v in rows.items()}
            ka, kb = vkey("tamper/aa", TOKEN), vkey("tamper/bb", TOKEN)
            cc = [k for k in rows if k.startswith(b"sm/v/tamper/cc/")]
            material = f"keyring/{key}".encode()
            found = ka in rows and kb in rows and len(cc) == 1 and material in rows
            ck.true(found, "records found under the documented keys",
                    repr(sorted(k for k in rows if k.startswith((b"sm/v/", b"keyring/")))))
            if not found:
                return
            # a. move aa's record (same version id) onto bb.
            db.execute("UPDATE kv SET value = ? WHERE key = ?", (rows[ka], kb))
            # b. flip one ciphertext byte of cc's value.
            rec = bytearray(rows[cc[0]])
            start, end = secret_envelope_span(rec)
            ck.eq(rec[start], 0xC1, "secret envelope where storage-keys.md says")
            rec[end - 20] ^= 0x01  # before the 16-byte tag
            db.execute("UPDATE kv SET value = ? WHERE key = ?", (bytes(rec), cc[0]))
            # c. flip one byte of the key's wrapped material (envelope.md, key material record:
            #    format, fingerprint length, fingerprint, count, then version || wrapped[60]).
            mat = bytearray(rows[material])
            fp_len = mat[1]
            wrapped_at = 2 + fp_len + 4 + 4
            ck.eq(len(mat), wrapped_at + 60, "one version of 60 wrapped bytes")
            mat[wrapped_at + 20] ^= 0x01
            db.execute("UPDATE kv SET value = ? WHERE key = ?", (bytes(mat), material))
        db.close()

        t.start()  # must start despite the damaged key
        sm = h.RawSsm(t, service="secretsmanager", prefix="secretsmanager")
        kms = h.RawSsm(t, service="kms", prefix="TrentService")

        def no_plaintext(r, what, allowed=()):
            text = r.body.decode(errors="replace")
            ck.true(not any(x in text for x in canaries if x not in allowed),
                    f"{what}: no other secret in the answer",
                    "a secret value came back (not printed)")

        for name in ("tamper/bb", "tamper/cc"):
            r = sm.call("GetSecretValue", {"SecretId": name})
            ck.eq((r.status, r.error_code), (400, "DecryptionFailure"),
                  f"{name}: DecryptionFailure")
            no_plaintext(r, name)
        r = sm.call("GetSecretValue", {"SecretId": "tamper/kk"})
        ck.eq((r.status, r.error_code), (500, "InternalServiceError"),
              "secret under damaged key material: InternalServiceError")
        ck.true("key material" in r.message and key in r.message,
                "the message names the damaged key material", r.message[:300])
        no_plaintext(r, "tamper/kk")
        before = sm.ok("ListSecretVersionIds", {"SecretId": "tamper/kk"})["Versions"]
        r = sm.call("PutSecretValue", {"SecretId": "tamper/kk", "SecretString": "new"})
        ck.eq(r.status, 500, "put under damaged key material fails")
        after = sm.ok("ListSecretVersionIds", {"SecretId": "tamper/kk"})["Versions"]
        ck.eq(len(after), len(before), "failed put left no version behind")
        r = sm.call("BatchGetSecretValue", {"SecretIdList": ["tamper/bb", "tamper/cc",
                                                             "tamper/kk", "tamper/ok"]})
        ck.eq(r.status, 200, "BatchGetSecretValue answers")
        if r.status == 200:
            ck.eq([v["Name"] for v in r.json.get("SecretValues", [])], ["tamper/ok"],
                  "batch returns only the intact secret")
            ck.eq(sorted((e["SecretId"], e["ErrorCode"]) for e in r.json.get("Errors", [])),
                  [("tamper/bb", "DecryptionFailure"), ("tamper/cc", "DecryptionFailure"),
                   ("tamper/kk", "InternalServiceError")], "batch errors name each failure")
        no_plaintext(r, "BatchGetSecretValue", allowed=(ok,))
        r = sm.call("GetSecretValue", {"SecretId": "tamper/aa"})
        ck.true(r.status == 200 and r.json.get("SecretString") == a, "untouched aa still reads",
                f"status {r.status}")
        r = sm.call("GetSecretValue", {"SecretId": "tamper/ok"})
        ck.true(r.status == 200 and r.json.get("SecretString") == ok, "untouched ok still reads",
                f"status {r.status}")

        r = kms.call("Decrypt", {"CiphertextBlob": blob_k, "EncryptionContext": ctx})
        ck.eq((r.status, r.error_code), (500, "KMSInternalException"),
              "Decrypt under damaged key material: KMSInternalException")
        ck.true("key material" in r.message, "Decrypt message names the key material",
                r.message[:300])
        ck.true(base64.b64encode(pt).decode() not in r.body.decode(errors="replace"),
                "Decrypt under damaged material: no plaintext", "plaintext returned")
        r = kms.call("Encrypt", {"KeyId": key, "Plaintext": base64.b64encode(b"x").decode()})
        ck.eq((r.status, r.error_code), (500, "KMSInternalException"),
              "Encrypt under damaged key material: KMSInternalException")
        r = kms.call("DescribeKey", {"KeyId": key})
        ck.eq(r.status, 200, "DescribeKey of the damaged key still answers (metadata intact)")
        r = kms.call("Decrypt", {"CiphertextBlob": blob_2, "EncryptionContext": ctx})
        ck.true(r.status == 200 and base64.b64decode(r.json.get("Plaintext", "")) == pt,
                "a blob under an undamaged key still decrypts", f"status {r.status}")
        t.stop()
        logs = t.logs().decode(errors="replace")
        ck.true("key material is damaged" in logs and key in logs,
                "the server logged the damaged key at start")
        t.assert_no_canary_in_logs(ck, canaries)
    finally:
        t.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_sm_kms_tamper", body))
