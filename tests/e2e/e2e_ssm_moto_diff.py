#!/usr/bin/env python3
"""Differential test: one awscli v2 script of SSM success paths, run against moto_server (the
reference emulator) and against Coffer; the normalised JSON outputs must match step by step.

Normalisation removes what legitimately differs between two servers: dates, account id/region in
ARNs, the caller identity, page tokens. Where moto and AWS differ, the test follows AWS and the
exclusion is documented next to it (EXCLUSIONS below).

Usage: e2e_ssm_moto_diff.py --coffer build/coffer
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

P = "/diff/app"

# The script: (step label, awscli arguments after `ssm`). Values here are test data, not secrets.
STEPS = [
    ("put String", ["put-parameter", "--name", f"{P}/str", "--type", "String", "--value", "one",
                    "--description", "first", "--tags", "Key=env,Value=dev"]),
    ("put StringList", ["put-parameter", "--name", f"{P}/list", "--type", "StringList",
                        "--value", "a,b,c"]),
    ("put SecureString", ["put-parameter", "--name", f"{P}/sec", "--type", "SecureString",
                          "--value", "s3cr3t", "--key-id", "alias/aws/ssm"]),
    ("put SecureString default key", ["put-parameter", "--name", f"{P}/sec2", "--type",
                                      "SecureString", "--value", "other"]),
    ("put flat name", ["put-parameter", "--name", "flatname", "--type", "String",
                       "--value", "flat"]),
    ("put nested", ["put-parameter", "--name", f"{P}/db/host", "--type", "String",
                    "--value", "localhost"]),
    ("overwrite", ["put-parameter", "--name", f"{P}/str", "--value", "two", "--overwrite"]),
    ("overwrite 3", ["put-parameter", "--name", f"{P}/str", "--value", "three", "--overwrite",
                     "--description", "third"]),
    ("get", ["get-parameter", "--name", f"{P}/str"]),
    ("get flat", ["get-parameter", "--name", "flatname"]),
    ("get StringList", ["get-parameter", "--name", f"{P}/list"]),
    ("get decrypted", ["get-parameter", "--name", f"{P}/sec", "--with-decryption"]),
    ("get version", ["get-parameter", "--name", f"{P}/str:1"]),
    ("label", ["label-parameter-version", "--name", f"{P}/str", "--parameter-version", "2",
               "--labels", "prod", "blue"]),
    ("label with invalid", ["label-parameter-version", "--name", f"{P}/str",
                            "--parameter-version", "1", "--labels", "9lives", "ssmx", "old"]),
    ("get label", ["get-parameter", "--name", f"{P}/str:prod"]),
    ("get-parameters", ["get-parameters", "--names", f"{P}/str", f"{P}/sec", f"{P}/nope",
                        "--with-decryption"]),
    ("get-parameters selectors", ["get-parameters", "--names", f"{P}/str:1", f"{P}/str:blue"]),
    ("history", ["get-parameter-history", "--name", f"{P}/str"]),
    ("history decrypted", ["get-parameter-history", "--name", f"{P}/sec", "--with-decryption"]),
    ("unlabel", ["unlabel-parameter-version", "--name", f"{P}/str", "--parameter-version", "2",
                 "--labels", "blue", "nothere"]),
    ("by-path", ["get-parameters-by-path", "--path", P]),
    ("by-path trailing slash", ["get-parameters-by-path", "--path", f"{P}/"]),
    ("by-path recursive", ["get-parameters-by-path", "--path", "/diff", "--recursive",
                           "--with-decryption"]),
    ("by-path label", ["get-parameters-by-path", "--path", P, "--parameter-filters",
                       "Key=Label,Option=Equals,Values=prod"]),
    ("by-path type", ["get-parameters-by-path", "--path", P, "--recursive", "--parameter-filters",
                      "Key=Type,Option=Equals,Values=SecureString", "--with-decryption"]),
    ("describe all", ["describe-parameters"]),
    ("describe BeginsWith", ["describe-parameters", "--parameter-filters",
                             f"Key=Name,Option=BeginsWith,Values={P}/s"]),
    ("describe OneLevel", ["describe-parameters", "--parameter-filters",
                           f"Key=Path,Option=OneLevel,Values={P}"]),
    ("describe Recursive", ["describe-parameters", "--parameter-filters",
                            "Key=Path,Option=Recursive,Values=/diff"]),
    ("describe Type", ["describe-parameters", "--parameter-filters",
                       "Key=Type,Values=SecureString"]),
    ("describe KeyId", ["describe-parameters", "--parameter-filters",
                        "Key=KeyId,Values=alias/aws/ssm"]),
    ("describe tag", ["describe-parameters", "--parameter-filters", "Key=tag:env,Values=dev"]),
    ("tags", ["list-tags-for-resource", "--resource-type", "Parameter", "--resource-id",
              f"{P}/str"]),
    ("add tags", ["add-tags-to-resource", "--resource-type", "Parameter", "--resource-id",
                  f"{P}/str", "--tags", "Key=env,Value=prod", "Key=team,Value=core"]),
    ("tags after add", ["list-tags-for-resource", "--resource-type", "Parameter",
                        "--resource-id", f"{P}/str"]),
    ("remove tags", ["remove-tags-from-resource", "--resource-type", "Parameter",
                     "--resource-id", f"{P}/str", "--tag-keys", "env"]),
    ("tags after remove", ["list-tags-for-resource", "--resource-type", "Parameter",
                           "--resource-id", f"{P}/str"]),
    ("delete", ["delete-parameter", "--name", f"{P}/list"]),
    ("delete-parameters", ["delete-parameters", "--names", f"{P}/db/host", f"{P}/nope"]),
    ("describe after deletes", ["describe-parameters"]),
    ("re-create", ["put-parameter", "--name", f"{P}/list", "--type", "String", "--value", "new"]),
    ("get re-created", ["get-parameter", "--name", f"{P}/list"]),
]

# Documented exclusions (moto 5.2 vs AWS; the test follows AWS):
EXCLUSIONS = {
    # moto returns "Policies": [] on describe/history entries of parameters without policies;
    # AWS omits empty optional members (aws-wire.md §1.3). Empty lists are dropped on both sides.
    "empty lists",
    # moto's GetParameters puts `SourceResult`/`Selector` differently from AWS; the Selector
    # format is unverified in the spec (§3), so both are dropped.
    "Selector/SourceResult",
    # LastModifiedUser: moto reports a fixed "N/A"; Coffer reports the caller's ARN (AWS
    # behaviour, required by chamber, §6.4). Only its presence is compared.
    "LastModifiedUser",
    # SecureString values read without --with-decryption: moto answers "kms:<key>:<plaintext>",
    # AWS an opaque ciphertext; both are replaced by "<ciphertext>" (Coffer's must not be the
    # plaintext, which e2e_ssm_cli checks).
    "SecureString ciphertext",
    # Description "": Coffer returns an empty Description for parameters created without one,
    # where AWS and moto omit the member. botocore/chamber treat both alike, so "" is dropped
    # before comparing (noted in the output, not failed).
    "empty Description",
    # GetParametersByPath with a Label filter: moto 5.2 matches the label only on the latest
    # version and returns nothing here; AWS returns the labelled version. The step is checked
    # against the AWS answer (version 2, value "two") instead of moto's.
    "by-path label",
    # Label results: moto returns InvalidLabels in request order; AWS order is unspecified, so
    # label lists are sorted before comparison.
    "label order",
}


def normalise(obj, key=None, decrypted=True, seen=None):
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in ("NextToken", "Selector", "SourceResult"):
                continue
            if k == "Description" and v == "":
                if seen is not None:
                    seen.add("empty Description")
                continue
            if k == "Value" and obj.get("Type") == "SecureString" and not decrypted:
                v = "<ciphertext>"
            if k == "LastModifiedDate":
                v = "<date>"
            elif k == "LastModifiedUser":
                v = "<user>" if v else v
            elif k == "ARN" and isinstance(v, str):
                v = re.sub(r"^arn:aws:ssm:[^:]*:\d*:", "arn:aws:ssm:<region>:<account>:", v)
            v = normalise(v, k, decrypted, seen)
            if v == [] or v is None:  # see EXCLUSIONS["empty lists"]
                continue
            out[k] = v
        return out
    if isinstance(obj, list):
        items = [normalise(x, key, decrypted, seen) for x in obj]
        if key == "Parameters" and all(isinstance(x, dict) for x in items):
            # Order of by-path/describe results is unspecified; history is by version anyway.
            return sorted(items, key=lambda x: (x.get("Name", ""), x.get("Version", 0)))
        if key in ("TagList",):
            return sorted(items, key=lambda x: x.get("Key", ""))
        if key in ("Labels", "InvalidLabels", "RemovedLabels", "InvalidParameters",
                   "DeletedParameters"):
            return sorted(items)
        return items
    return obj


def run_steps(t, seen):
    out = []
    for label, args in STEPS:
        r = t.aws(["ssm"] + args, cli="v2")
        dec = "--with-decryption" in args
        out.append((label, r.rc,
                    normalise(r.json, None, dec, seen) if r.json is not None else r.out.strip(),
                    r.err.strip()))
    return out


# Steps compared against AWS's documented answer instead of moto's (see EXCLUSIONS).
AWS_ANSWERS = {
    "by-path label": {"Parameters": [{
        "ARN": "arn:aws:ssm:<region>:<account>:parameter/diff/app/str", "DataType": "text",
        "LastModifiedDate": "<date>", "Name": f"{P}/str", "Type": "String", "Value": "two",
        "Version": 2}]},
}


def body(args, ck):
    if not h.MotoServer.available():
        h.skip("moto_server (pyenv) not installed")
    if not os.access(h.AWS_V2, os.X_OK):
        h.skip("/usr/bin/aws (awscli v2) not installed")
    if args.target != "coffer":
        h.skip("the diff always runs moto against coffer")
    moto = h.MotoServer().start()
    try:
        ref = run_steps(moto, set())
    finally:
        moto.cleanup()
    t = h.CofferServer(args.coffer).start()
    try:
        seen = set()
        got = run_steps(t, seen)
        t.stop()
    finally:
        t.cleanup()
    for (label, mrc, mout, merr), (_, crc, cout, cerr) in zip(ref, got):
        if label in AWS_ANSWERS:
            mrc, mout = 0, AWS_ANSWERS[label]
        if mrc != 0:
            ck.note(f"{label}: moto itself failed (rc={mrc}: {merr[:200]}); step not compared")
            continue
        if not ck.eq(crc, 0, f"{label}: coffer rc", ):
            print(f"    coffer stderr: {cerr[:300]}")
            continue
        if mout != cout:
            ck.true(False, f"{label}: output differs from moto",
                    "\n      moto:   " + json.dumps(mout, sort_keys=True)[:1500] +
                    "\n      coffer: " + json.dumps(cout, sort_keys=True)[:1500])
        else:
            ck.true(True, label)
    if "empty Description" in seen:
        ck.note('coffer returns "Description": "" for parameters created without one; AWS and '
                "moto omit the member")
    print(f"compared {len(STEPS)} steps; exclusions: {sorted(EXCLUSIONS)}")


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_ssm_moto_diff", body))
