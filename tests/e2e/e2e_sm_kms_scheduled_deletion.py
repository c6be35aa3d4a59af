#!/usr/bin/env python3
"""Scheduled deletions are carried out by the server once their date passes: a secret deleted
with a recovery window and a KMS key scheduled for deletion disappear for good, while those whose
date is still ahead stay pending.

The dates lie 7+ days ahead, so the test moves them instead of the clock: with the server
stopped it rewrites the deletion date in the stored records (docs/formats/storage-keys.md:
the secret head's `deleted_ms`/`deletion_ms` signed varints, the KMS key record's field 9), then
starts the server, whose maintenance pass runs at start and every minute after
(src/server/server_context.cc), and waits until the due items are gone.

Usage: e2e_sm_kms_scheduled_deletion.py --coffer build/coffer
"""

import base64
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

DAY_MS = 24 * 3600 * 1000


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def zigzag(n):
    return (n << 1) ^ (n >> 63)


def move_secret_deletion(record, deleted_ms, deletion_ms):
    """The head record with new deleted_ms / deletion_ms. Layout: format varint, arn (string),
    has_description (byte), description, key_name (strings), then signed varints created,
    last_changed, last_accessed, deleted, deletion; the rest is kept as it is."""
    _, pos = h.read_varint(record, 0)
    n, pos = h.read_varint(record, pos)
    pos += n + 1
    for _ in range(2):
        n, pos = h.read_varint(record, pos)
        pos += n
    for _ in range(3):
        _, pos = h.read_varint(record, pos)
    start = pos
    old_deleted, pos = h.read_varint(record, pos)
    old_deletion, pos = h.read_varint(record, pos)
    assert old_deleted and old_deletion, "the head is not scheduled for deletion"
    return record[:start] + varint(zigzag(deleted_ms)) + varint(zigzag(deletion_ms)) + \
        record[pos:]


def move_key_deletion(record, deletion_ms):
    """The KMS key record with its deletion date replaced. Format 2 (docs/formats/storage-keys.md):
    format varint, key id, ARN, description (strings), state (varint), AWS-managed (byte),
    creation (signed varint), policy (string), tags (count, then key/value strings), deletion
    date (present byte + signed varint ms), then the rest, kept as it is."""
    fmt, pos = h.read_varint(record, 0)
    assert fmt == 2, f"unexpected KMS key record format {fmt}"
    for _ in range(3):  # key id, ARN, description
        n, pos = h.read_varint(record, pos)
        pos += n
    _, pos = h.read_varint(record, pos)  # state
    pos += 1  # AWS-managed
    _, pos = h.read_varint(record, pos)  # creation
    n, pos = h.read_varint(record, pos)  # policy
    pos += n
    tags, pos = h.read_varint(record, pos)
    for _ in range(2 * tags):
        n, pos = h.read_varint(record, pos)
        pos += n
    assert record[pos] == 1, "no deletion date in the key record"
    start = pos
    _, pos = h.read_varint(record, pos + 1)
    return record[:start] + b"\x01" + varint(zigzag(deletion_ms)) + record[pos:]


def wait_until(what, predicate, timeout=120):
    """Polls `predicate` (the maintenance pass runs asynchronously right after start)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    print(f"  gave up waiting for: {what}")
    return False


def body(args, ck):
    if args.target != "coffer":
        h.skip("this test edits Coffer's SQLite store")
    t = h.CofferServer(args.coffer).start()
    try:
        sm = h.RawSsm(t, service="secretsmanager", prefix="secretsmanager")
        kms = h.RawSsm(t, service="kms", prefix="TrentService")
        due_arn = sm.ok("CreateSecret", {"Name": "sched/due", "SecretString": "a"})["ARN"]
        sm.ok("PutSecretValue", {"SecretId": "sched/due", "SecretString": "b"})
        sm.ok("CreateSecret", {"Name": "sched/later", "SecretString": "c"})
        sm.ok("CreateSecret", {"Name": "sched/kept", "SecretString": "d"})
        sm.ok("DeleteSecret", {"SecretId": "sched/due", "RecoveryWindowInDays": 7})
        sm.ok("DeleteSecret", {"SecretId": "sched/later", "RecoveryWindowInDays": 7})
        kdue = kms.ok("CreateKey", {"Description": "due"})["KeyMetadata"]["KeyId"]
        klater = kms.ok("CreateKey", {"Description": "later"})["KeyMetadata"]["KeyId"]
        kms.ok("CreateAlias", {"AliasName": "alias/sched-due", "TargetKeyId": kdue})
        blob = kms.ok("Encrypt", {"KeyId": kdue, "Plaintext": base64.b64encode(b"x").decode()})[
            "CiphertextBlob"]
        kms.ok("ScheduleKeyDeletion", {"KeyId": kdue, "PendingWindowInDays": 7})
        kms.ok("ScheduleKeyDeletion", {"KeyId": klater, "PendingWindowInDays": 7})
        t.stop()

        now_ms = int(time.time() * 1000)
        db = sqlite3.connect(os.path.join(t.data_dir, "coffer.db"))
        with db:
            head = bytes(db.execute("SELECT value FROM kv WHERE key = ?",
                                    (b"sm/s/sched/due",)).fetchone()[0])
            db.execute("UPDATE kv SET value = ? WHERE key = ?",
                       (move_secret_deletion(head, now_ms - 8 * DAY_MS, now_ms - DAY_MS),
                        b"sm/s/sched/due"))
            key_rec = bytes(db.execute("SELECT value FROM kv WHERE key = ?",
                                       (f"kms/key/{kdue}".encode(),)).fetchone()[0])
            db.execute("UPDATE kv SET value = ? WHERE key = ?",
                       (move_key_deletion(key_rec, now_ms - 3600 * 1000),
                        f"kms/key/{kdue}".encode()))
        db.close()

        t.start()
        sm = h.RawSsm(t, service="secretsmanager", prefix="secretsmanager")
        kms = h.RawSsm(t, service="kms", prefix="TrentService")
        gone = wait_until("sched/due deleted", lambda: sm.call(
            "DescribeSecret", {"SecretId": "sched/due"}).error_code == "ResourceNotFoundException")
        ck.true(gone, "the server deleted the secret whose recovery window ended")
        r = sm.call("GetSecretValue", {"SecretId": due_arn})
        ck.eq(r.error_code, "ResourceNotFoundException", "its ARN no longer resolves")
        r = sm.call("DescribeSecret", {"SecretId": "sched/later"})
        ck.true(r.status == 200 and "DeletedDate" in r.json,
                "a secret whose window has not ended stays pending", f"status {r.status}")
        r = sm.call("GetSecretValue", {"SecretId": "sched/kept"})
        ck.eq(r.status, 200, "an unscheduled secret is untouched")
        r = sm.call("CreateSecret", {"Name": "sched/due", "SecretString": "new"})
        ck.true(r.status == 200 and r.json["ARN"] != due_arn,
                "the name is free again (new ARN)", f"status {r.status}")
        r = sm.call("ListSecretVersionIds", {"SecretId": "sched/due", "IncludeDeprecated": True})
        ck.eq(len(r.json.get("Versions", [])) if r.status == 200 else -1, 1,
              "the re-created secret has no versions of the deleted one")

        gone = wait_until("kms key deleted", lambda: kms.call(
            "DescribeKey", {"KeyId": kdue}).error_code == "NotFoundException")
        ck.true(gone, "the server deleted the KMS key whose pending window ended")
        aliases = [a["AliasName"] for a in kms.ok("ListAliases", {})["Aliases"]]
        ck.true("alias/sched-due" not in aliases, "its alias went with it", repr(aliases))
        r = kms.call("Decrypt", {"CiphertextBlob": blob})
        ck.eq(r.error_code, "InvalidCiphertextException", "its ciphertexts no longer decrypt")
        r = kms.call("DescribeKey", {"KeyId": klater})
        ck.true(r.status == 200 and r.json["KeyMetadata"]["KeyState"] == "PendingDeletion",
                "a key whose window has not ended stays pending", f"status {r.status}")
        t.stop()
        logs = t.logs().decode(errors="replace")
        ck.true("deleted secrets whose recovery window ended" in logs,
                "the secret deletion is logged")
        ck.true("deleted KMS keys whose pending window ended" in logs,
                "the key deletion is logged")
    finally:
        t.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_sm_kms_scheduled_deletion", body))
