#!/usr/bin/env python3
"""A ciphertext moved onto another record, or altered, never decrypts to a wrong plaintext.

With the server stopped, edits the SQLite store directly (schema: src/storage/sqlite/
sqlite_backend.cc `kv(key BLOB, value BLOB, create_rev, mod_rev)`; keys and record layout:
docs/formats/storage-keys.md, `ssm/v/<name>/<version 10 digits>` holding
`format varint | version zigzag-varint | envelope (varint-length string) | metadata`):
  1. copies the whole version record of /tamper/aa v1 onto /tamper/bb v1 (same version number,
     so only the envelope's associated data differs),
  2. flips one byte inside the AES-GCM ciphertext of /tamper/cc v1,
then restarts and expects GetParameter on both to fail with a server-side error
(InternalServerError, HTTP 500) and never to return the other record's or a garbled plaintext.
Untouched parameters keep working.

Usage: e2e_ssm_tamper.py --coffer build/coffer
"""

import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402


def vkey(name, version):
    return f"ssm/v/{name}/{version:010d}".encode()


def envelope_span(record):
    """(start, end) of the envelope bytes inside a version record."""
    _, pos = h.read_varint(record, 0)  # format
    _, pos = h.read_varint(record, pos)  # version (zigzag)
    n, pos = h.read_varint(record, pos)  # envelope length
    return pos, pos + n


def body(args, ck):
    if args.target != "coffer":
        h.skip("this test edits Coffer's SQLite store")
    t = h.CofferServer(args.coffer).start()
    a, b, c = h.new_canary(), h.new_canary(), h.new_canary()
    try:
        raw = t.raw()
        raw.ok("PutParameter", {"Name": "/tamper/aa", "Value": a, "Type": "SecureString"})
        raw.ok("PutParameter", {"Name": "/tamper/bb", "Value": b, "Type": "SecureString"})
        raw.ok("PutParameter", {"Name": "/tamper/cc", "Value": c, "Type": "SecureString"})
        raw.ok("PutParameter", {"Name": "/tamper/ok", "Value": "fine", "Type": "String"})
        t.stop()

        db = sqlite3.connect(os.path.join(t.data_dir, "coffer.db"))
        with db:
            rows = dict(db.execute("SELECT key, value FROM kv WHERE key >= ? AND key < ?",
                                   (b"ssm/v/", b"ssm/v0")).fetchall())
            keys = sorted(bytes(k) for k in rows)
            ck.true(vkey("/tamper/aa", 1) in keys and vkey("/tamper/cc", 1) in keys,
                    "version records found under the documented keys", repr(keys))
            if vkey("/tamper/aa", 1) not in keys or vkey("/tamper/cc", 1) not in keys:
                return
            # 1. move aa's record (and so its envelope) onto bb.
            db.execute("UPDATE kv SET value = ? WHERE key = ?",
                       (rows[vkey("/tamper/aa", 1)], vkey("/tamper/bb", 1)))
            # 2. flip a byte in cc's ciphertext (past the 50+n byte envelope header).
            rec = bytearray(rows[vkey("/tamper/cc", 1)])
            start, end = envelope_span(rec)
            ck.eq(rec[start], 0xC1, "envelope format byte where storage-keys.md says")
            pos = end - 20  # inside the ciphertext, before the 16-byte tag
            rec[pos] ^= 0x01
            db.execute("UPDATE kv SET value = ? WHERE key = ?", (bytes(rec),
                                                                 vkey("/tamper/cc", 1)))
        db.close()

        t.start()
        raw = h.RawSsm(t, service="ssm")
        for name, own, other in (("/tamper/bb", b, a), ("/tamper/cc", c, None)):
            for with_decryption in (True, False):
                r = raw.call("GetParameter", {"Name": name, "WithDecryption": with_decryption})
                label = f"GetParameter {name} WithDecryption={with_decryption}"
                text = r.body.decode(errors="replace")
                ck.true(other is None or other not in text, f"{label}: not the moved plaintext",
                        "the other record's plaintext came back (not printed)")
                if not with_decryption:
                    continue  # an opaque ciphertext answer is acceptable without decryption
                ck.true(own not in text, f"{label}: not the original plaintext",
                        "tampered record decrypted (not printed)")
                ck.eq(r.status, 500, f"{label}: HTTP 500")
                ck.eq(r.error_code, "InternalServerError", f"{label}: InternalServerError")
            r = raw.call("GetParameters", {"Names": [name], "WithDecryption": True})
            ck.true(r.status >= 400 or not any(
                p.get("Value") in (own, other) for p in (r.json or {}).get("Parameters", [])),
                f"GetParameters {name}: no wrong plaintext", f"status {r.status}")
        r = raw.call("GetParametersByPath", {"Path": "/tamper", "WithDecryption": True})
        vals = [p.get("Value") for p in (r.json or {}).get("Parameters", [])]
        ck.true(r.status >= 400 or (a in vals and b not in vals and c not in vals),
                "GetParametersByPath never returns tampered plaintexts", f"status {r.status}")
        r = raw.call("GetParameter", {"Name": "/tamper/aa", "WithDecryption": True})
        ck.true(r.status == 200 and r.json["Parameter"]["Value"] == a,
                "untouched SecureString still decrypts", f"status {r.status}")
        r = raw.call("GetParameter", {"Name": "/tamper/ok"})
        ck.eq(r.status, 200, "untouched String still readable")
        t.stop()
        t.assert_no_canary_in_logs(ck, [a, b, c])
    finally:
        t.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_ssm_tamper", body))
