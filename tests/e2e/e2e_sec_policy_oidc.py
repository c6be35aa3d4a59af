#!/usr/bin/env python3
"""Issue 9 items 5 (policies that cannot be evaluated as written) and 6 (OIDC issuer spelling),
written as the attacks, through awscli v2.

Policies: every place a policy is stored refuses, with MalformedPolicyDocument naming the problem,
a condition value its operator cannot evaluate (`IpAddress` on `999.1.1.1/99`, a non-number under
`NumericNotEquals`, a non-date under `DateNotEquals`) and a document with a duplicate key
(`"Effect":"Deny","Effect":"Allow"`), and nothing is stored: CreatePolicy, CreatePolicyVersion,
PutUserPolicy, CreateRole, UpdateAssumeRolePolicy, and Secrets Manager's PutResourcePolicy /
ValidateResourcePolicy (MalformedPolicyDocumentException).

OIDC: with the test issuer registered as https://127.0.0.1:PORT, a correctly signed token whose
`iss` is another spelling of it (a trailing "/", "HTTPS://") is refused with InvalidIdentityToken
and the issuer sees no request at all, while the registered spelling still works.

Usage: e2e_sec_policy_oidc.py --coffer build/coffer
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

ACCT = "000000000000"


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def deny_with(op, value):
    return policy({"Effect": "Deny", "Action": "ssm:*", "Resource": "*",
                   "Condition": {op: {"aws:SourceIp" if "Ip" in op else "aws:SomeKey": value}}})


ALLOW_ALL = policy({"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"})
DUPLICATE_EFFECT = ('{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Effect":"Allow",'
                    '"Action":"ssm:*","Resource":"*"}]}')


def body(args, ck):
    if args.target != "coffer":
        h.skip("this test drives Coffer's own validation and server options")
    try:
        import oidc_issuer
    except ImportError as e:
        h.skip(f"the test issuer needs python3 'cryptography' ({e})")
    t = h.CofferServer(args.coffer)
    issuer = oidc_issuer.TestIssuer(t.work).start()
    t.extra_args = ["--oidc-ca-file", issuer.ca_file]
    t.start()
    try:
        policies(t, ck)
        oidc(t, issuer, ck)
    finally:
        try:
            t.stop()
        finally:
            issuer.stop()
            t.cleanup()


def refused(ck, r, code, op, what, message=None):
    ck.cli_error(r, code, op, what)
    if message is not None:
        ck.true(message in r.err, f"{what}: the error names the problem",
                f"wanted {message!r} in {r.err.strip()[:300]!r}")


def policies(t, ck):
    aws = t.aws
    malformed = "MalformedPolicyDocument"

    # --- CreatePolicy: an IpAddress Deny that could never match is refused, nothing stored ----
    r = aws(["iam", "create-policy", "--policy-name", "bad-ip",
             "--policy-document", deny_with("IpAddress", "999.1.1.1/99")])
    refused(ck, r, malformed, "CreatePolicy", "create-policy IpAddress 999.1.1.1/99",
            "Invalid Condition value for IpAddress: 999.1.1.1/99")
    r = aws(["iam", "list-policies", "--scope", "Local"])
    ck.cli_ok(r, "list-policies")
    names = [p["PolicyName"] for p in (r.json or {}).get("Policies", [])]
    ck.true("bad-ip" not in names, "the refused policy was not stored", f"policies: {names}")
    r = aws(["iam", "get-policy", "--policy-arn", f"arn:aws:iam::{ACCT}:policy/bad-ip"])
    ck.cli_error(r, "NoSuchEntity", "GetPolicy", "get-policy of the refused policy")

    # --- duplicate keys: "Effect":"Deny","Effect":"Allow" would have allowed --------------
    r = aws(["iam", "create-policy", "--policy-name", "dup-effect",
             "--policy-document", DUPLICATE_EFFECT])
    refused(ck, r, malformed, "CreatePolicy", "create-policy with a duplicate Effect",
            "Duplicate key 'Effect'")
    r = aws(["iam", "get-policy", "--policy-arn", f"arn:aws:iam::{ACCT}:policy/dup-effect"])
    ck.cli_error(r, "NoSuchEntity", "GetPolicy", "get-policy of the duplicate-key policy")

    # --- CreatePolicyVersion: a DateNotEquals on a non-date would match everything -------
    r = aws(["iam", "create-policy", "--policy-name", "good", "--policy-document", ALLOW_ALL])
    ck.cli_ok(r, "create-policy good")
    good_arn = f"arn:aws:iam::{ACCT}:policy/good"
    r = aws(["iam", "create-policy-version", "--policy-arn", good_arn, "--set-as-default",
             "--policy-document", deny_with("DateNotEquals", "yesterday")])
    refused(ck, r, malformed, "CreatePolicyVersion", "create-policy-version DateNotEquals",
            "Invalid Condition value for DateNotEquals: yesterday")
    r = aws(["iam", "list-policy-versions", "--policy-arn", good_arn])
    ck.eq([v["VersionId"] for v in (r.json or {}).get("Versions", [])], ["v1"],
          "only v1 exists after the refused version")

    # --- PutUserPolicy: NumericNotEquals on a non-number ---------------------------------
    ck.cli_ok(aws(["iam", "create-user", "--user-name", "alice"]), "create-user alice")
    r = aws(["iam", "put-user-policy", "--user-name", "alice", "--policy-name", "n",
             "--policy-document", deny_with("NumericNotEquals", "ten")])
    refused(ck, r, malformed, "PutUserPolicy", "put-user-policy NumericNotEquals ten",
            "Invalid Condition value for NumericNotEquals: ten")
    r = aws(["iam", "put-user-policy", "--user-name", "alice", "--policy-name", "d",
             "--policy-document", DUPLICATE_EFFECT])
    refused(ck, r, malformed, "PutUserPolicy", "put-user-policy with a duplicate Effect",
            "Duplicate key 'Effect'")
    r = aws(["iam", "list-user-policies", "--user-name", "alice"])
    ck.eq((r.json or {}).get("PolicyNames"), [], "alice has no inline policy")

    # --- trust policies: CreateRole and UpdateAssumeRolePolicy ---------------------------
    trust = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
             "Action": "sts:AssumeRole"}
    bad_trust = dict(trust, Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/33"}})
    r = aws(["iam", "create-role", "--role-name", "r1",
             "--assume-role-policy-document", policy(bad_trust)])
    refused(ck, r, malformed, "CreateRole", "create-role with NotIpAddress 10.0.0.0/33",
            "Invalid Condition value for NotIpAddress: 10.0.0.0/33")
    r = aws(["iam", "get-role", "--role-name", "r1"])
    ck.cli_error(r, "NoSuchEntity", "GetRole", "the refused role was not created")
    ck.cli_ok(aws(["iam", "create-role", "--role-name", "r2",
                   "--assume-role-policy-document", policy(trust)]), "create-role r2")
    dup_trust = policy(trust).replace('"Effect": "Allow"', '"Effect": "Allow", "Effect": "Deny"')
    r = aws(["iam", "update-assume-role-policy", "--role-name", "r2", "--policy-document",
             dup_trust])
    refused(ck, r, malformed, "UpdateAssumeRolePolicy", "update-assume-role-policy duplicate",
            "Duplicate key 'Effect'")
    r = aws(["iam", "get-role", "--role-name", "r2"])
    doc = ((r.json or {}).get("Role") or {}).get("AssumeRolePolicyDocument")
    if isinstance(doc, str):
        import urllib.parse
        doc = json.loads(urllib.parse.unquote(doc))
    ck.eq(doc, json.loads(policy(trust)), "r2 keeps its trust policy")

    # --- Secrets Manager resource policies -----------------------------------------------
    ck.cli_ok(aws(["secretsmanager", "create-secret", "--name", "app/db",
                   "--secret-string", "v"]), "create-secret app/db")
    sm_bad = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "secretsmanager:*", "Resource": "*",
         "Condition": {"IpAddress": {"aws:SourceIp": "999.1.1.1/99"}}}]})
    r = aws(["secretsmanager", "put-resource-policy", "--secret-id", "app/db",
             "--resource-policy", sm_bad])
    refused(ck, r, "MalformedPolicyDocumentException", "PutResourcePolicy",
            "put-resource-policy IpAddress 999.1.1.1/99",
            "Invalid Condition value for IpAddress: 999.1.1.1/99")
    sm_dup = ('{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Effect":"Allow",'
              '"Principal":"*","Action":"secretsmanager:*","Resource":"*"}]}')
    r = aws(["secretsmanager", "put-resource-policy", "--secret-id", "app/db",
             "--resource-policy", sm_dup])
    refused(ck, r, "MalformedPolicyDocumentException", "PutResourcePolicy",
            "put-resource-policy with a duplicate Effect", "Duplicate key 'Effect'")
    r = aws(["secretsmanager", "get-resource-policy", "--secret-id", "app/db"])
    ck.cli_ok(r, "get-resource-policy")
    ck.true(r.json is not None and "ResourcePolicy" not in r.json,
            "no resource policy was stored", f"{r.json}")
    r = aws(["secretsmanager", "validate-resource-policy", "--resource-policy", sm_dup])
    refused(ck, r, "MalformedPolicyDocumentException", "ValidateResourcePolicy",
            "validate-resource-policy with a duplicate Effect", "Duplicate key 'Effect'")


def oidc(t, issuer, ck):
    aws = t.aws
    host = issuer.url[len("https://"):]
    provider_arn = f"arn:aws:iam::{ACCT}:oidc-provider/{host}"
    r = aws(["iam", "create-open-id-connect-provider", "--url", issuer.url,
             "--client-id-list", "sts.amazonaws.com", "--thumbprint-list", issuer.thumbprint])
    ck.cli_ok(r, "create-open-id-connect-provider (registered without a trailing slash)")
    trust = policy({"Effect": "Allow", "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {f"{host}:aud": "sts.amazonaws.com"},
                                  "StringLike": {f"{host}:sub": "repo:acme/*"}}})
    r = aws(["iam", "create-role", "--role-name", "ci", "--assume-role-policy-document", trust])
    ck.cli_ok(r, "create-role ci")
    role_arn = f"arn:aws:iam::{ACCT}:role/ci"
    nocreds = t.env()
    nocreds["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(t.work, "no-credentials")

    def exchange(token):
        return aws(["sts", "assume-role-with-web-identity", "--role-arn", role_arn,
                    "--role-session-name", "gh", "--web-identity-token", token], env=nocreds)

    # Tokens with another spelling of the issuer, tried on a cold cache first: the server
    # must not fetch anything for them, from any URL.
    for spelling in (issuer.url + "/", "HTTPS://" + host, issuer.url + "//"):
        before = list(issuer.requests)
        claims = issuer.claims()
        claims["iss"] = spelling
        r = exchange(issuer.mint(claims))
        ck.cli_error(r, "InvalidIdentityToken", "AssumeRoleWithWebIdentity",
                     f"a token with iss {spelling!r} is refused")
        ck.eq(issuer.requests[len(before):], [],
              f"the issuer saw no request for iss {spelling!r}")

    # The registered spelling works, and fetches from the registered URL only.
    r = exchange(issuer.mint())
    ck.cli_ok(r, "a token with the registered issuer is accepted")
    ck.eq(sorted(set(issuer.requests)),
          ["/.well-known/jwks", "/.well-known/openid-configuration"],
          "the server fetched only the registered issuer's discovery document and JWKS")

    # With the keys cached, the slash spelling is still refused and fetches nothing.
    before = len(issuer.requests)
    claims = issuer.claims()
    claims["iss"] = issuer.url + "/"
    r = exchange(issuer.mint(claims))
    ck.cli_error(r, "InvalidIdentityToken", "AssumeRoleWithWebIdentity",
                 "a trailing-slash iss is refused with the keys cached")
    ck.eq(len(issuer.requests), before, "no refetch for the trailing-slash iss")


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_sec_policy_oidc", body))
