#!/usr/bin/env python3
"""Differential test: one script of Secrets Manager and KMS success paths, sent as signed raw
AWS JSON 1.1 requests to moto_server (the reference emulator) and to Coffer; the normalised JSON
response bodies must match step by step (wire level: members a client library would drop are
compared too).

Normalisation removes what legitimately differs between two servers: dates, the account id in
ARNs, the random 6-character secret ARN suffix, KMS key ids (numbered by first appearance),
ciphertext blobs and random bytes (compared by length only), page tokens. Where moto and AWS
differ, the test follows AWS and the exclusion is documented next to it (EXCLUSIONS below).

Usage: e2e_sm_kms_moto_diff.py --coffer build/coffer
"""

import base64
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

T1, T2, T3, T4, T5, T6, T7, T8 = (f"{i}1111111-2222-4333-8444-555555555555"
                                  for i in range(1, 9))


def b64(data):
    return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()


# The script: (label, service, operation, payload(ctx), capture(ctx, response) or None).
# Payload values are test data, not secrets. `ctx` holds ids learnt from earlier answers.
def sm(op, payload, capture=None, label=None):
    return (label or op, "secretsmanager", op, payload, capture)


def kms(op, payload, capture=None, label=None):
    return (label or op, "kms", op, payload, capture)


def keep(name, path):
    def capture(ctx, resp):
        v = resp
        for p in path:
            v = v[p]
        ctx[name] = v
    return capture


STEPS = [
    # --- Secrets Manager -----------------------------------------------------------------------
    sm("CreateSecret", lambda c: {"Name": "diff/a", "SecretString": "one", "ClientRequestToken": T1,
                                  "Description": "first",
                                  "Tags": [{"Key": "env", "Value": "dev"},
                                           {"Key": "team", "Value": "core"}]},
       keep("arn_a", ["ARN"]), "create string"),
    sm("CreateSecret", lambda c: {"Name": "diff/bin", "SecretBinary": b64(b"\x00\x01\xfe\xff"),
                                  "ClientRequestToken": T2}, None, "create binary"),
    sm("CreateSecret", lambda c: {"Name": "diff/empty", "Description": "no value yet"}, None,
       "create without a value"),
    sm("GetSecretValue", lambda c: {"SecretId": "diff/a"}, None, "get by name"),
    sm("GetSecretValue", lambda c: {"SecretId": c["arn_a"]}, None, "get by ARN"),
    sm("GetSecretValue", lambda c: {"SecretId": "diff/bin"}, None, "get binary"),
    sm("PutSecretValue", lambda c: {"SecretId": "diff/a", "SecretString": "two",
                                    "ClientRequestToken": T3}, None, "put"),
    sm("PutSecretValue", lambda c: {"SecretId": "diff/a", "SecretString": "two",
                                    "ClientRequestToken": T3}, None, "put retry (same token)"),
    sm("GetSecretValue", lambda c: {"SecretId": "diff/a", "VersionStage": "AWSPREVIOUS"}, None,
       "get AWSPREVIOUS"),
    sm("GetSecretValue", lambda c: {"SecretId": "diff/a", "VersionId": T1}, None,
       "get by VersionId"),
    sm("PutSecretValue", lambda c: {"SecretId": "diff/a", "SecretString": "three",
                                    "ClientRequestToken": T4, "VersionStages": ["custom"]},
       None, "put with VersionStages"),
    sm("GetSecretValue", lambda c: {"SecretId": "diff/a", "VersionStage": "custom"}, None,
       "get custom stage"),
    sm("ListSecretVersionIds", lambda c: {"SecretId": "diff/a"}, None, "versions"),
    # boto3 and the CLI always send a token; AWS ignores it on a metadata-only update.
    sm("UpdateSecret", lambda c: {"SecretId": "diff/a", "Description": "second",
                                  "ClientRequestToken": T6}, None, "update description"),
    sm("UpdateSecret", lambda c: {"SecretId": "diff/a", "SecretString": "five",
                                  "ClientRequestToken": T5}, None, "update value"),
    sm("ListSecretVersionIds", lambda c: {"SecretId": "diff/a"}, None, "versions after update"),
    sm("CreateSecret", lambda c: {"Name": "diff/stage", "SecretString": "s1",
                                  "ClientRequestToken": T7}, None, "create for stage moves"),
    sm("PutSecretValue", lambda c: {"SecretId": "diff/stage", "SecretString": "s2",
                                    "ClientRequestToken": T8}, None, "put for stage moves"),
    sm("UpdateSecretVersionStage", lambda c: {"SecretId": "diff/stage",
                                              "VersionStage": "AWSCURRENT",
                                              "MoveToVersionId": T7,
                                              "RemoveFromVersionId": T8}, None,
       "move AWSCURRENT back"),
    sm("ListSecretVersionIds", lambda c: {"SecretId": "diff/stage"}, None, "versions after move"),
    sm("GetSecretValue", lambda c: {"SecretId": "diff/stage"}, None, "get after move"),
    sm("DescribeSecret", lambda c: {"SecretId": "diff/a"}, None, "describe"),
    sm("TagResource", lambda c: {"SecretId": "diff/a",
                                 "Tags": [{"Key": "owner", "Value": "me"}]}, None, "tag"),
    sm("UntagResource", lambda c: {"SecretId": "diff/a", "TagKeys": ["team"]}, None, "untag"),
    sm("DescribeSecret", lambda c: {"SecretId": "diff/a"}, None, "describe after tags"),
    sm("DescribeSecret", lambda c: {"SecretId": "diff/empty"}, None, "describe without value"),
    sm("ListSecrets", lambda c: {"Filters": [{"Key": "name", "Values": ["diff/"]}]}, None,
       "list name filter"),
    sm("ListSecrets", lambda c: {"Filters": [{"Key": "tag-key", "Values": ["owner"]}]}, None,
       "list tag-key filter"),
    sm("BatchGetSecretValue", lambda c: {"SecretIdList": ["diff/a", "diff/bin"]}, None,
       "batch get"),
    sm("DeleteSecret", lambda c: {"SecretId": "diff/bin", "RecoveryWindowInDays": 7}, None,
       "delete with window"),
    sm("DescribeSecret", lambda c: {"SecretId": "diff/bin"}, None, "describe pending deletion"),
    sm("ListSecrets", lambda c: {"IncludePlannedDeletion": True,
                                 "Filters": [{"Key": "name", "Values": ["diff/"]}]}, None,
       "list with planned deletion"),
    sm("RestoreSecret", lambda c: {"SecretId": "diff/bin"}, None, "restore"),
    sm("DescribeSecret", lambda c: {"SecretId": "diff/bin"}, None, "describe restored"),
    sm("DeleteSecret", lambda c: {"SecretId": "diff/empty", "ForceDeleteWithoutRecovery": True},
       None, "force delete"),
    sm("ListSecrets", lambda c: {"Filters": [{"Key": "name", "Values": ["diff/"]}]}, None,
       "list after force delete"),
    sm("GetRandomPassword", lambda c: {"PasswordLength": 24, "ExcludePunctuation": True}, None,
       "random password"),

    # --- KMS -----------------------------------------------------------------------------------
    kms("CreateKey", lambda c: {"Description": "diff key one"}, keep("k1", ["KeyMetadata",
                                                                             "KeyId"]),
        "create key"),
    kms("CreateKey", lambda c: {"Description": "diff key two"}, keep("k2", ["KeyMetadata",
                                                                             "KeyId"]),
        "create key two"),
    kms("DescribeKey", lambda c: {"KeyId": c["k1"]}, None, "describe key"),
    kms("CreateAlias", lambda c: {"AliasName": "alias/diff-one", "TargetKeyId": c["k1"]}, None,
        "create alias"),
    kms("DescribeKey", lambda c: {"KeyId": "alias/diff-one"}, None, "describe by alias"),
    kms("ListAliases", lambda c: {"KeyId": c["k1"]}, None, "list aliases of key"),
    kms("Encrypt", lambda c: {"KeyId": "alias/diff-one", "Plaintext": b64("hello kms"),
                              "EncryptionContext": {"app": "diff"}},
        keep("blob", ["CiphertextBlob"]), "encrypt"),
    kms("Decrypt", lambda c: {"CiphertextBlob": c["blob"], "EncryptionContext": {"app": "diff"}},
        None, "decrypt"),
    kms("Decrypt", lambda c: {"CiphertextBlob": c["blob"], "EncryptionContext": {"app": "diff"},
                              "KeyId": c["k1"]}, None, "decrypt with KeyId"),
    kms("ReEncrypt", lambda c: {"CiphertextBlob": c["blob"],
                                "SourceEncryptionContext": {"app": "diff"},
                                "DestinationKeyId": c["k2"]}, keep("blob2", ["CiphertextBlob"]),
        "re-encrypt"),
    kms("Decrypt", lambda c: {"CiphertextBlob": c["blob2"]}, None, "decrypt re-encrypted"),
    kms("GenerateDataKey", lambda c: {"KeyId": c["k1"], "KeySpec": "AES_256"}, None,
        "data key AES_256"),
    kms("GenerateDataKey", lambda c: {"KeyId": c["k1"], "NumberOfBytes": 20}, None,
        "data key 20 bytes"),
    kms("GenerateDataKeyWithoutPlaintext", lambda c: {"KeyId": c["k1"], "KeySpec": "AES_128"},
        None, "data key without plaintext"),
    kms("GenerateRandom", lambda c: {"NumberOfBytes": 16}, None, "random"),
    kms("GetKeyRotationStatus", lambda c: {"KeyId": c["k1"]}, None, "rotation status (off)"),
    kms("EnableKeyRotation", lambda c: {"KeyId": c["k1"]}, None, "enable rotation"),
    kms("GetKeyRotationStatus", lambda c: {"KeyId": c["k1"]}, None, "rotation status (on)"),
    kms("RotateKeyOnDemand", lambda c: {"KeyId": c["k1"]}, None, "rotate on demand"),
    kms("Decrypt", lambda c: {"CiphertextBlob": c["blob"], "EncryptionContext": {"app": "diff"}},
        None, "decrypt after rotation"),
    kms("DisableKeyRotation", lambda c: {"KeyId": c["k1"]}, None, "disable rotation"),
    kms("DisableKey", lambda c: {"KeyId": c["k2"]}, None, "disable key"),
    kms("DescribeKey", lambda c: {"KeyId": c["k2"]}, None, "describe disabled"),
    kms("EnableKey", lambda c: {"KeyId": c["k2"]}, None, "enable key"),
    kms("ScheduleKeyDeletion", lambda c: {"KeyId": c["k2"], "PendingWindowInDays": 7}, None,
        "schedule deletion"),
    kms("DescribeKey", lambda c: {"KeyId": c["k2"]}, None, "describe pending deletion"),
    kms("CancelKeyDeletion", lambda c: {"KeyId": c["k2"]}, None, "cancel deletion"),
    kms("DescribeKey", lambda c: {"KeyId": c["k2"]}, None, "describe after cancel"),
    kms("ListKeys", lambda c: {}, None, "list keys"),
    kms("DeleteAlias", lambda c: {"AliasName": "alias/diff-one"}, None, "delete alias"),
    kms("ListAliases", lambda c: {"KeyId": c["k1"]}, None, "list aliases after delete"),
]

# Documented exclusions (moto 5.2.1 vs AWS; where they differ, the test follows AWS):
EXCLUSIONS = {
    "null members": "moto sends absent optional members as null (KmsKeyId, DeletedDate, "
                    "NextRotationDate, ...); AWS omits them (aws-wire.md 1.3). Nulls are dropped "
                    "from moto's answer",
    "empty lists/maps": "Coffer sends Tags: [] and VersionIdsToStages: {} when empty, moto omits "
                        "them; both are dropped when empty (as in the SSM diff)",
    "void bodies": "operations without output: moto answers an empty body, Coffer {} "
                   "(aws-wire.md 1.3: both parse); compared as {}",
    "members moto lacks": "members AWS documents and moto does not send are accepted when only "
                          "Coffer has them (COFFER_ONLY below); a member moto sends must match",
    "moto-only members": "SecretVersionsToStages in DescribeSecret, VersionIdsToStages in "
                         "ListSecrets entries (AWS names the map differently in each), and "
                         "KeyMetadata members for other key types (MOTO_ONLY below) are dropped "
                         "from moto's answer",
    "LastAccessedDate": "moto stamps every version and secret on any read; AWS (and Coffer) only "
                        "the ones read: not compared",
    "KeyMetadata defaults": "moto answers KeyUsage/MultiRegion null for a CreateKey that omits "
                            "them; AWS answers ENCRYPT_DECRYPT/false (aws-wire.md 2.3)",
    "deletion KeyId": "ScheduleKeyDeletion and CancelKeyDeletion: moto answers the key id, AWS "
                      "the key ARN (API reference); moto's answer is corrected to the ARN",
    "version ARN": "ListSecretVersionIds: moto answers the name as ARN",
    "AWSAccountId": "moto's account is 123456789012, Coffer's 000000000000",
    "managed keys": "ListKeys: Coffer (as AWS) lists the AWS-managed alias/aws/secretsmanager "
                    "key made by the Secrets Manager steps; only the keys this script created "
                    "are compared",
    "RotateSecret": "not run: moto requires the rotation Lambda to exist in moto",
    "deprecated versions": "ListSecretVersionIds without IncludeDeprecated: moto also lists "
                           "versions without labels; AWS does not (API reference); they are "
                           "dropped from moto's answer",
    "get after move": "moto's GetSecretValue keeps answering the version that was AWSCURRENT "
                      "before UpdateSecretVersionStage moved the label; the step is checked "
                      "against AWS's answer (AWS_ANSWERS)",
}

# Steps checked against the answer AWS documents instead of moto's (see EXCLUSIONS).
AWS_ANSWERS = {
    "get after move": {"ARN": "arn:aws:secretsmanager:us-east-1:<account>:secret:diff/stage-"
                              "<suffix>", "Name": "diff/stage", "SecretString": "s1",
                       "VersionId": T7, "VersionStages": ["AWSCURRENT"], "CreatedDate": "<date>"},
}

# Members AWS documents (aws-wire.md 2.2/2.3 and the current API reference) that moto 5.2 leaves
# out: ListSecretVersionIds KmsKeyIds; Encrypt/Decrypt/ReEncrypt *EncryptionAlgorithm;
# ListAliases CreationDate/LastUpdatedDate; GetKeyRotationStatus KeyId/NextRotationDate/
# RotationPeriodInDays; DescribeKey PendingDeletionWindowInDays; ScheduleKeyDeletion
# KeyState/PendingWindowInDays.
COFFER_ONLY = {"KmsKeyIds", "EncryptionAlgorithm", "SourceEncryptionAlgorithm",
               "DestinationEncryptionAlgorithm", "CreationDate", "LastUpdatedDate", "KeyId",
               "NextRotationDate", "RotationPeriodInDays", "PendingDeletionWindowInDays",
               "KeyState", "PendingWindowInDays"}
MOTO_ONLY = {"SigningAlgorithms", "MacAlgorithms", "KeyAgreementAlgorithms",
             "MultiRegionConfiguration", "ValidTo", "ExpirationModel", "ReplicationStatus",
             "SecretVersionsToStages@DescribeSecret", "VersionIdsToStages@ListSecrets"}
DATE_KEYS = {"CreatedDate", "LastChangedDate", "DeletedDate", "DeletionDate", "CreationDate",
             "LastUpdatedDate", "NextRotationDate", "LastRotatedDate",
             "OnDemandRotationStartDate"}
RANDOM_OPS = {"GenerateDataKey", "GenerateRandom", "GetRandomPassword"}
UUID_RX = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TOKENS = {T1, T2, T3, T4, T5, T6, T7, T8}


class Normaliser:
    def __init__(self, op):
        self.op = op

    def text(self, s, ctx):
        s = re.sub(r"arn:aws:(kms|secretsmanager):([^:]*):\d{12}:", r"arn:aws:\1:\2:<account>:",
                   s)
        s = re.sub(r"(:secret:[A-Za-z0-9/_+=.@-]+?)-[A-Za-z0-9]{6}$", r"\1-<suffix>", s)
        names = {v: k for k, v in ctx.items() if k in ("k1", "k2")}
        return UUID_RX.sub(lambda m: f"<{names[m.group(0)]}>" if m.group(0) in names else
                           (m.group(0) if m.group(0) in TOKENS else "<uuid>"), s)

    def __call__(self, obj, ctx, key=None):
        if isinstance(obj, dict):
            out = {}
            for k, v in obj.items():
                if v is None or k in ("NextToken", "NextMarker", "LastAccessedDate",
                                      "AWSAccountId") or k in MOTO_ONLY \
                        or f"{k}@{self.op}" in MOTO_ONLY:
                    continue
                if k in DATE_KEYS:
                    v = "<date>"
                elif k == "CiphertextBlob":
                    v = "<blob>"
                elif k in ("Plaintext", "RandomPassword") and self.op in RANDOM_OPS:
                    raw = v if k == "RandomPassword" else base64.b64decode(v)
                    alnum = k == "RandomPassword" and v.isalnum()
                    v = f"<random {'alnum ' if alnum else ''}len={len(raw)}>"
                else:
                    v = self(v, ctx, k)
                if v in ([], {}):
                    continue
                out[self.text(k, ctx)] = v
            return out
        if isinstance(obj, list):
            items = [self(x, ctx, key) for x in obj]
            if key == "Keys":  # see EXCLUSIONS["managed keys"]
                items = [x for x in items if x.get("KeyId") in ("<k1>", "<k2>")]
            if all(isinstance(x, dict) for x in items):
                sort_key = {"SecretList": "Name", "Tags": "Key", "Aliases": "AliasName",
                            "Versions": "VersionId", "SecretValues": "Name", "Keys": "KeyId",
                            "Errors": "SecretId"}.get(key)
                if sort_key:
                    return sorted(items, key=lambda x: str(x.get(sort_key, "")))
            if all(isinstance(x, str) for x in items):
                return sorted(items)
            return items
        if isinstance(obj, str):
            return self.text(obj, ctx)
        return obj


def fix_moto(op, resp, ctx):
    """Corrects moto's answer where it is known to differ from AWS (EXCLUSIONS)."""
    if resp is None:
        return {}
    meta = resp.get("KeyMetadata")
    if isinstance(meta, dict):
        if meta.get("KeyUsage") is None:
            meta["KeyUsage"] = "ENCRYPT_DECRYPT"
        if meta.get("MultiRegion") is None:
            meta["MultiRegion"] = False
    if op in ("ScheduleKeyDeletion", "CancelKeyDeletion") and UUID_RX.fullmatch(
            resp.get("KeyId", "")):
        resp["KeyId"] = f"arn:aws:kms:{h.REGION}:123456789012:key/{resp['KeyId']}"
    if op == "ListSecretVersionIds":
        if not str(resp.get("ARN", "")).startswith("arn:"):
            resp.pop("ARN", None)
        resp["Versions"] = [v for v in resp.get("Versions", []) if v.get("VersionStages")]
    return resp


def compare(moto, coffer, path=""):
    """Differences between moto's and Coffer's normalised answers; COFFER_ONLY members may be
    missing from moto's. Returns a list of "path: why" strings."""
    if isinstance(moto, dict) and isinstance(coffer, dict):
        out = []
        for k in sorted(set(moto) | set(coffer)):
            if k not in coffer:
                out.append(f"{path}/{k}: missing in coffer")
            elif k not in moto:
                if k.split("@")[0] not in COFFER_ONLY and k != "ARN":
                    out.append(f"{path}/{k}: only in coffer")
            else:
                out += compare(moto[k], coffer[k], f"{path}/{k}")
        return out
    if isinstance(moto, list) and isinstance(coffer, list) and len(moto) == len(coffer):
        out = []
        for i, (m, c) in enumerate(zip(moto, coffer)):
            out += compare(m, c, f"{path}[{i}]")
        return out
    return [] if moto == coffer else [f"{path}: moto {json.dumps(moto)[:300]} != coffer "
                                      f"{json.dumps(coffer)[:300]}"]


def run_steps(t, is_moto):
    out = []
    ctx = {}
    raws = {"secretsmanager": h.RawSsm(t, service="secretsmanager", prefix="secretsmanager"),
            "kms": h.RawSsm(t, service="kms", prefix="TrentService")}
    for label, service, op, payload, capture in STEPS:
        try:
            body = payload(ctx)
        except KeyError as e:
            out.append((label, None, f"missing context {e}"))
            continue
        r = raws[service].call(op, body)
        if r.status == 200 and capture:
            capture(ctx, r.json)
        if r.status == 200:
            resp = fix_moto(op, r.json, ctx) if is_moto else (r.json if r.json is not None
                                                               else {})
            result = Normaliser(op)(resp, ctx)
        else:
            result = f"{r.status} {r.error_code}: {r.message}"
        out.append((label, r.status, result))
    return out


def body(args, ck):
    if not h.MotoServer.available():
        h.skip("moto_server (pyenv) not installed")
    if args.target != "coffer":
        h.skip("the diff always runs moto against coffer")
    moto = h.MotoServer().start()
    try:
        ref = run_steps(moto, True)
    finally:
        moto.cleanup()
    t = h.CofferServer(args.coffer).start()
    try:
        got = run_steps(t, False)
        t.stop()
    finally:
        t.cleanup()
    compared = 0
    for (label, mstatus, mout), (_, cstatus, cout) in zip(ref, got):
        if label in AWS_ANSWERS:
            mstatus, mout = 200, AWS_ANSWERS[label]
        if mstatus != 200:
            ck.note(f"{label}: moto itself failed ({mout}); step not compared")
            continue
        if not ck.eq(cstatus, 200, f"{label}: coffer status"):
            print(f"    coffer: {cout}")
            continue
        compared += 1
        diffs = compare(mout, cout)
        ck.true(not diffs, f"{label}: same answer as moto", "\n        " + "\n        ".join(
            diffs[:8]))
    print(f"compared {compared} of {len(STEPS)} steps; exclusions: {sorted(EXCLUSIONS)}")
    ck.true(compared >= len(STEPS) - 5, "most steps were compared", f"{compared}/{len(STEPS)}")


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_sm_kms_moto_diff", body))
