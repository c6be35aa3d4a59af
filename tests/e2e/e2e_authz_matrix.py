#!/usr/bin/env python3
"""The authorization matrix: five principals against every API family, every cell asserted.

Principals (users, access keys, groups, managed and inline policies, roles and the OIDC
provider are created with the real `aws iam` CLI, /usr/bin/aws; sessions with boto3's STS):
  alice     user in group `payments`: ssm:* on /payments/*, an explicit Deny on writes to
            /payments/prod/*, secretsmanager:* on payments/*, KMS use only with the encryption
            context team=payments, and (shared `self-service` policy) iam:GetUser on
            user/${aws:username}; may list by path from / (results filtered)
  carol     user in group `search`: NotAction (everything but writes) on /search/*, reads of any
            parameter or secret tagged team=search (ssm:/secretsmanager:ResourceTag), /shared/*
            for user names like car* but not carl (StringLike + StringNotEquals), TLS-only
            /search/tls/* (Bool), secrets created and tagged only with team=search
            (aws:RequestTag), deletions only with a 14+ day window and never forced
            (NumericLessThan, Bool), self-service
  app       role `orders-app` assumed by user `deployer` (AssumeRole; the trust policy names
            the user): /orders/* from 127.0.0.0/8 only (aws:SourceIp), secrets orders/*, KMS
            Encrypt while aws:CurrentTime is after 2020 (DateGreaterThan) and never before
  ci        role `ci-api` assumed with a web identity token from a GitHub-shaped issuer:
            /ci/* and the secret ci/*; any parameter for a ci-* role (ArnLike on
            aws:PrincipalArn) cut back by a Deny with NotResource to /ci/* and /shared/v?
  deployer  user with no policy of its own: may only assume `orders-app`

Each call in CALLS is made by every principal; the set of principals that may make it is
written next to it, and every other principal must get the service's AccessDenied error.
GetCallerIdentity is allowed for everyone, as on AWS. List results (GetParametersByPath,
DescribeParameters) hold only what the caller may read.

Audit: every boto3 request's id must appear in the audit log exactly once with its operation,
its caller's ARN, its HTTP status and, for the matrix cells, the decision (allow naming the
policy statement, or a deny with AccessDenied); the number of records must equal the number of
requests made (boto3 calls plus one per `aws` CLI command). The stored values are canaries that
must appear in no log.

Usage: e2e_authz_matrix.py --coffer build/coffer   (Debian python3: boto3, cryptography)
"""

import hashlib
import hmac
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

ACCT = "000000000000"
DENIED = {"ssm": "AccessDeniedException", "secretsmanager": "AccessDeniedException",
          "kms": "AccessDeniedException", "iam": "AccessDenied", "sts": "AccessDenied"}
PRINCIPALS = ("alice", "carol", "app", "ci", "deployer")


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def ssm_arn(path):
    return f"arn:aws:ssm:*:{ACCT}:parameter{path}"


def sm_arn(name):
    return f"arn:aws:secretsmanager:*:{ACCT}:secret:{name}"


PAYMENTS = doc(
    {"Sid": "TeamParameters", "Effect": "Allow", "Action": "ssm:*",
     "Resource": ssm_arn("/payments/*")},
    {"Sid": "BrowseFromRoot", "Effect": "Allow", "Action": "ssm:GetParametersByPath",
     "Resource": ssm_arn("/")},
    {"Sid": "NoProdWrites", "Effect": "Deny",
     "Action": ["ssm:PutParameter", "ssm:DeleteParameter"], "Resource": ssm_arn("/payments/prod/*")},
    {"Sid": "TeamSecrets", "Effect": "Allow", "Action": "secretsmanager:*",
     "Resource": sm_arn("payments/*")},
    {"Sid": "TeamCrypto", "Effect": "Allow",
     "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*",
     "Condition": {"StringEquals": {"kms:EncryptionContext:team": "payments"}}},
    {"Sid": "TeamKeys", "Effect": "Allow", "Action": "kms:CreateKey", "Resource": "*",
     "Condition": {"StringEquals": {"aws:RequestTag/team": "payments"}}})
SEARCH = doc(
    {"Sid": "ReadOnlyByNotAction", "Effect": "Allow",
     "NotAction": ["ssm:PutParameter", "ssm:DeleteParameter", "ssm:DeleteParameters"],
     "Resource": ssm_arn("/search/*")},
    {"Sid": "TaggedParameters", "Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*",
     "Condition": {"StringEquals": {"ssm:ResourceTag/team": "search"}}},
    {"Sid": "TaggedSecrets", "Effect": "Allow",
     "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], "Resource": "*",
     "Condition": {"StringEquals": {"secretsmanager:ResourceTag/team": "search"}}},
    {"Sid": "SharedForCarFolk", "Effect": "Allow", "Action": "ssm:GetParameter",
     "Resource": ssm_arn("/shared/*"),
     "Condition": {"StringLike": {"aws:username": "car*"},
                   "StringNotEquals": {"aws:username": "carl"}}},
    {"Sid": "TlsOnly", "Effect": "Deny", "Action": "ssm:GetParameter",
     "Resource": ssm_arn("/search/tls/*"), "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    {"Sid": "CreateOnlyTagged", "Effect": "Allow",
     "Action": ["secretsmanager:CreateSecret", "secretsmanager:TagResource"],
     "Resource": sm_arn("search/*"),
     "Condition": {"StringEquals": {"aws:RequestTag/team": "search"}}},
    {"Sid": "Deletes", "Effect": "Allow", "Action": "secretsmanager:DeleteSecret",
     "Resource": sm_arn("search/*")},
    {"Sid": "LongRecoveryWindow", "Effect": "Deny", "Action": "secretsmanager:DeleteSecret",
     "Resource": "*",
     "Condition": {"NumericLessThan": {"secretsmanager:RecoveryWindowInDays": "14"}}},
    {"Sid": "NoForcedDeletes", "Effect": "Deny", "Action": "secretsmanager:DeleteSecret",
     "Resource": "*", "Condition": {"Bool": {"secretsmanager:ForceDeleteWithoutRecovery": "true"}}})
SELF_SERVICE = doc(
    {"Effect": "Allow", "Action": ["iam:GetUser", "iam:ListAccessKeys"],
     "Resource": f"arn:aws:iam::{ACCT}:user/${{aws:username}}"})
ORDERS_APP = doc(
    {"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:GetParameters"],
     "Resource": [ssm_arn("/orders/*"), ssm_arn("/orders-external/*")],
     "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}},
    {"Effect": "Deny", "Action": "ssm:GetParameter", "Resource": ssm_arn("/orders-external/*"),
     "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": sm_arn("orders/*")},
    {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*",
     "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}},
    {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": "*",
     "Condition": {"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}})
CI_API = doc(
    {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": ssm_arn("/ci/*")},
    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": sm_arn("ci/*")},
    # Broad on its face (any parameter, for any ci-* role) ...
    {"Sid": "AnyCiRole", "Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*",
     "Condition": {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCT}:role/ci-*"}}},
    # ... and cut back to /ci/* and /shared/v<one character> by a Deny with NotResource.
    {"Sid": "OnlyCiPaths", "Effect": "Deny", "Action": "ssm:GetParameter",
     "NotResource": [ssm_arn("/ci/*"), ssm_arn("/shared/v?")]})


def calls(key_id):
    """(label, service, operation, kwargs, principals allowed)."""
    a, c, app, ci, dep = PRINCIPALS
    return [
        # SSM
        ("read /payments/dev/db", "ssm", "get_parameter", {"Name": "/payments/dev/db"}, {a}),
        ("write /payments/dev/new", "ssm", "put_parameter",
         {"Name": "/payments/dev/new", "Value": "v", "Type": "String", "Overwrite": True}, {a}),
        ("write /payments/prod/db (explicit deny)", "ssm", "put_parameter",
         {"Name": "/payments/prod/db", "Value": "v", "Type": "String", "Overwrite": True}, set()),
        ("delete /payments/prod/db (explicit deny)", "ssm", "delete_parameter",
         {"Name": "/payments/prod/db"}, set()),
        ("read /search/index (NotAction)", "ssm", "get_parameter", {"Name": "/search/index"}, {c}),
        ("tag /search/index (NotAction)", "ssm", "add_tags_to_resource",
         {"ResourceType": "Parameter", "ResourceId": "/search/index",
          "Tags": [{"Key": "owner", "Value": "carol"}]}, {c}),
        ("read /search/tls/key (Bool aws:SecureTransport deny)", "ssm", "get_parameter",
         {"Name": "/search/tls/key"}, set()),
        ("write /search/index (NotAction)", "ssm", "put_parameter",
         {"Name": "/search/index", "Value": "v", "Type": "String", "Overwrite": True}, set()),
        ("read /orders/db", "ssm", "get_parameter", {"Name": "/orders/db"}, {app}),
        ("read /orders/shared (tag team=search)", "ssm", "get_parameter",
         {"Name": "/orders/shared"}, {c, app}),
        ("read /orders-external/key (IP deny)", "ssm", "get_parameter",
         {"Name": "/orders-external/key"}, set()),
        ("read /ci/token", "ssm", "get_parameter", {"Name": "/ci/token"}, {ci}),
        ("read /public/motd (NotResource deny for ci)", "ssm", "get_parameter",
         {"Name": "/public/motd"}, set()),
        ("read /shared/v1 (ArnLike, ?, StringLike)", "ssm", "get_parameter",
         {"Name": "/shared/v1"}, {c, ci}),
        ("read /shared/v10 (? is one character)", "ssm", "get_parameter",
         {"Name": "/shared/v10"}, {c}),
        # Secrets Manager
        ("secret payments/stripe", "secretsmanager", "get_secret_value",
         {"SecretId": "payments/stripe"}, {a}),
        ("update payments/stripe", "secretsmanager", "put_secret_value",
         {"SecretId": "payments/stripe", "SecretString": "rotated"}, {a}),
        ("create payments/new", "secretsmanager", "create_secret",
         {"Name": "payments/new", "SecretString": "x"}, {a}),
        ("secret search/es (tag)", "secretsmanager", "get_secret_value",
         {"SecretId": "search/es"}, {c}),
        ("describe search/es (tag)", "secretsmanager", "describe_secret",
         {"SecretId": "search/es"}, {c}),
        ("secret orders/api", "secretsmanager", "get_secret_value",
         {"SecretId": "orders/api"}, {app}),
        ("secret ci/deploy-key", "secretsmanager", "get_secret_value",
         {"SecretId": "ci/deploy-key"}, {ci}),
        ("delete search/es, 7-day window (NumericLessThan deny)", "secretsmanager",
         "delete_secret", {"SecretId": "search/es", "RecoveryWindowInDays": 7}, set()),
        ("delete search/es, forced (Bool deny)", "secretsmanager", "delete_secret",
         {"SecretId": "search/es", "ForceDeleteWithoutRecovery": True}, set()),
        ("create search/new tagged team=search (aws:RequestTag)", "secretsmanager",
         "create_secret", {"Name": "search/new", "SecretString": "x",
                           "Tags": [{"Key": "team", "Value": "search"}]}, {c}),
        ("create search/new2 tagged team=payments (aws:RequestTag)", "secretsmanager",
         "create_secret", {"Name": "search/new2", "SecretString": "x",
                           "Tags": [{"Key": "team", "Value": "payments"}]}, set()),
        ("tag search/new team=search (aws:RequestTag)", "secretsmanager", "tag_resource",
         {"SecretId": "search/new", "Tags": [{"Key": "team", "Value": "search"}]}, {c}),
        ("tag search/new team=other (aws:RequestTag)", "secretsmanager", "tag_resource",
         {"SecretId": "search/new", "Tags": [{"Key": "team", "Value": "other"}]}, set()),
        ("delete search/new, 30-day window", "secretsmanager", "delete_secret",
         {"SecretId": "search/new", "RecoveryWindowInDays": 30}, {c}),
        # KMS
        ("encrypt, context team=payments", "kms", "encrypt",
         {"KeyId": key_id, "Plaintext": b"x", "EncryptionContext": {"team": "payments"}},
         {a, app}),
        ("encrypt, context team=search", "kms", "encrypt",
         {"KeyId": key_id, "Plaintext": b"x", "EncryptionContext": {"team": "search"}}, {app}),
        ("data key, context team=payments", "kms", "generate_data_key",
         {"KeyId": key_id, "KeySpec": "AES_256", "EncryptionContext": {"team": "payments"}}, {a}),
        ("create key", "kms", "create_key", {}, set()),
        ("create key tagged team=payments (aws:RequestTag)", "kms", "create_key",
         {"Tags": [{"TagKey": "team", "TagValue": "payments"}]}, {a}),
        # IAM
        ("get-user alice (${aws:username})", "iam", "get_user", {"UserName": "alice"}, {a}),
        ("get-user carol (${aws:username})", "iam", "get_user", {"UserName": "carol"}, {c}),
        ("list-users", "iam", "list_users", {}, set()),
        ("create-user", "iam", "create_user", {"UserName": "mallory"}, set()),
        # STS
        ("get-caller-identity", "sts", "get_caller_identity", {}, set(PRINCIPALS)),
        ("assume orders-app", "sts", "assume_role",
         {"RoleArn": f"arn:aws:iam::{ACCT}:role/orders-app", "RoleSessionName": "matrix"}, {dep}),
        ("assume ci-api", "sts", "assume_role",
         {"RoleArn": f"arn:aws:iam::{ACCT}:role/ci-api", "RoleSessionName": "matrix"}, set()),
    ]


def body(args, ck):
    if args.target != "coffer":
        h.skip("this test drives Coffer's IAM and STS")
    try:
        import boto3  # noqa: F401
        import botocore.exceptions
        import oidc_issuer
    except ImportError as e:
        h.skip(f"needs boto3 and cryptography ({e})")
    t = h.CofferServer(args.coffer)
    issuer = oidc_issuer.TestIssuer(t.work).start()
    t.extra_args = ["--oidc-ca-file", issuer.ca_file]
    t.start()
    try:
        run(t, issuer, ck, botocore.exceptions.ClientError)
    finally:
        t.stop()
        issuer.stop()
        t.cleanup()


def run(t, issuer, ck, ClientError):
    # Every boto3 API call, as the server answered it: (operation, request id, HTTP status).
    # Clients make one attempt per call, so calls and HTTP requests are one to one.
    sent = []

    def record(http_response, parsed, model, **_):
        sent.append((model.name, parsed.get("ResponseMetadata", {}).get("RequestId", ""),
                     http_response.status_code))

    def client(service, **kw):
        c = t.boto3_client(service, max_attempts=1, **kw)
        c.meta.events.register("after-call", record)
        return c

    admin = {s: client(s) for s in ("ssm", "secretsmanager", "kms", "iam", "sts")}
    iam = admin["iam"]
    canaries = []

    def canary():
        canaries.append(h.new_canary())
        return canaries[-1]

    # --- identities, through the real `aws iam` CLI -----------------------------------------
    cli_requests = 0

    def aws_iam(*args):
        nonlocal cli_requests
        cli_requests += 1
        res = t.aws(["iam"] + list(args))
        if res.rc != 0:
            raise RuntimeError(f"aws iam {args[0]} failed: {res.err.strip()[:300]}")
        return res.json

    keys = {}
    for user in ("alice", "carol", "deployer"):
        aws_iam("create-user", "--user-name", user)
        k = aws_iam("create-access-key", "--user-name", user)["AccessKey"]
        keys[user] = (k["AccessKeyId"], k["SecretAccessKey"])
    arns = {}
    for name, text in (("payments-team", PAYMENTS), ("search-team", SEARCH),
                       ("self-service", SELF_SERVICE)):
        arns[name] = aws_iam("create-policy", "--policy-name", name,
                             "--policy-document", text)["Policy"]["Arn"]
    for group, user, team in (("payments", "alice", "payments-team"),
                              ("search", "carol", "search-team")):
        aws_iam("create-group", "--group-name", group)
        aws_iam("add-user-to-group", "--group-name", group, "--user-name", user)
        aws_iam("attach-group-policy", "--group-name", group, "--policy-arn", arns[team])
        aws_iam("attach-group-policy", "--group-name", group, "--policy-arn",
                arns["self-service"])
    aws_iam("create-role", "--role-name", "orders-app", "--assume-role-policy-document", doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/deployer"},
         "Action": "sts:AssumeRole"}))
    aws_iam("put-role-policy", "--role-name", "orders-app", "--policy-name", "orders",
            "--policy-document", ORDERS_APP)
    host = issuer.url[len("https://"):]
    aws_iam("create-open-id-connect-provider", "--url", issuer.url,
            "--client-id-list", "sts.amazonaws.com", "--thumbprint-list", issuer.thumbprint)
    aws_iam("create-role", "--role-name", "ci-api", "--assume-role-policy-document", doc(
        {"Effect": "Allow",
         "Principal": {"Federated": f"arn:aws:iam::{ACCT}:oidc-provider/{host}"},
         "Action": "sts:AssumeRoleWithWebIdentity",
         "Condition": {"StringLike": {f"{host}:sub": "repo:acme/api:*"}}}))
    aws_iam("put-role-policy", "--role-name", "ci-api", "--policy-name", "ci",
            "--policy-document", CI_API)
    listed = {r["RoleName"] for r in aws_iam("list-roles")["Roles"]}
    ck.true({"orders-app", "ci-api"} <= listed, "aws iam list-roles shows both roles")
    ck.eq(aws_iam("get-user", "--user-name", "alice")["User"]["UserName"], "alice",
          "aws iam get-user")

    # --- data ------------------------------------------------------------------------------
    ssm = admin["ssm"]
    for name in ("/payments/dev/db", "/payments/prod/db", "/payments/dev/cache", "/search/index",
                 "/search/tls/key", "/shared/v1", "/shared/v10",
                 "/orders/db", "/orders-external/key", "/ci/token", "/public/motd"):
        ssm.put_parameter(Name=name, Value=canary(), Type="SecureString")
    ssm.put_parameter(Name="/orders/shared", Value=canary(), Type="String",
                      Tags=[{"Key": "team", "Value": "search"}])
    sm = admin["secretsmanager"]
    sm.create_secret(Name="payments/stripe", SecretString=canary())
    sm.create_secret(Name="search/es", SecretString=canary(),
                     Tags=[{"Key": "team", "Value": "search"}])
    sm.create_secret(Name="orders/api", SecretString=canary())
    sm.create_secret(Name="ci/deploy-key", SecretString=canary())
    key_id = admin["kms"].create_key()["KeyMetadata"]["KeyId"]

    # --- sessions --------------------------------------------------------------------------
    def clients(akid, secret, token=None):
        return {s: client(s, access_key=akid, secret_key=secret, aws_session_token=token)
                for s in ("ssm", "secretsmanager", "kms", "iam", "sts")}

    who = {"alice": clients(*keys["alice"]), "carol": clients(*keys["carol"]),
           "deployer": clients(*keys["deployer"])}
    c = who["deployer"]["sts"].assume_role(RoleArn=f"arn:aws:iam::{ACCT}:role/orders-app",
                                           RoleSessionName="orders-1")["Credentials"]
    who["app"] = clients(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    c = admin["sts"].assume_role_with_web_identity(
        RoleArn=f"arn:aws:iam::{ACCT}:role/ci-api", RoleSessionName="gh-7",
        WebIdentityToken=issuer.mint())["Credentials"]
    who["ci"] = clients(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])

    # --- the matrix --------------------------------------------------------------------------
    caller_arn = {"alice": f"arn:aws:iam::{ACCT}:user/alice",
                  "carol": f"arn:aws:iam::{ACCT}:user/carol",
                  "deployer": f"arn:aws:iam::{ACCT}:user/deployer",
                  "app": f"arn:aws:sts::{ACCT}:assumed-role/orders-app/orders-1",
                  "ci": f"arn:aws:sts::{ACCT}:assumed-role/ci-api/gh-7"}
    cells = {}  # request id -> (label, principal, allowed?)
    allowed_cells = denied_cells = 0
    for label, service, op, kwargs, allowed in calls(key_id):
        for p in PRINCIPALS:
            try:
                getattr(who[p][service], op)(**kwargs)
                outcome = "allowed"
            except ClientError as e:
                outcome = e.response["Error"]["Code"]
            cells[sent[-1][1]] = (label, p, p in allowed)
            if p in allowed:
                allowed_cells += 1
                ck.eq(outcome, "allowed", f"{p}: {label}")
            else:
                denied_cells += 1
                ck.eq(outcome, DENIED[service], f"{p}: {label} is denied")
    ck.note(f"matrix: {allowed_cells} allowed and {denied_cells} denied cells asserted")

    # --- explicit deny names itself; list results are filtered --------------------------------
    try:
        who["alice"]["ssm"].put_parameter(Name="/payments/prod/db", Value="x", Type="String",
                                          Overwrite=True)
    except ClientError as e:
        ck.true("explicit deny" in e.response["Error"]["Message"],
                "the explicit deny is named", e.response["Error"]["Message"])
    names = sorted(p["Name"] for p in who["alice"]["ssm"].get_parameters_by_path(
        Path="/", Recursive=True)["Parameters"])
    ck.eq(names, ["/payments/dev/cache", "/payments/dev/db", "/payments/dev/new",
                  "/payments/prod/db"], "alice's GetParametersByPath / holds only /payments")
    try:
        who["alice"]["ssm"].describe_parameters()
        ck.true(False, "DescribeParameters needs Resource * (alice has only paths)")
    except ClientError as e:
        ck.eq(e.response["Error"]["Code"], "AccessDeniedException",
              "DescribeParameters needs Resource * (alice has only paths)")
    try:
        who["app"]["ssm"].get_parameters_by_path(Path="/orders", Recursive=True)
        ck.true(False, "app may not list: no GetParametersByPath in its policy")
    except ClientError as e:
        ck.eq(e.response["Error"]["Code"], "AccessDeniedException", "app may not list by path")
    r = who["app"]["ssm"].get_parameters(Names=["/orders/db", "/orders/shared"])
    ck.eq(sorted(p["Name"] for p in r["Parameters"]), ["/orders/db", "/orders/shared"],
          "GetParameters returns every readable name")
    try:
        who["app"]["ssm"].get_parameters(Names=["/orders/db", "/payments/dev/db"])
        ck.true(False, "GetParameters with one unreadable name is refused as a whole")
    except ClientError as e:
        ck.eq(e.response["Error"]["Code"], "AccessDeniedException",
              "GetParameters with one unreadable name is refused as a whole (as on AWS)")

    # --- changes take effect on the next request (the policy cache follows IAM) ------------
    iam.detach_group_policy(GroupName="payments", PolicyArn=arns["payments-team"])
    try:
        who["alice"]["ssm"].get_parameter(Name="/payments/dev/db")
        ck.true(False, "alice denied once the team policy is detached")
    except ClientError as e:
        ck.eq(e.response["Error"]["Code"], "AccessDeniedException",
              "alice denied once the team policy is detached")

    # --- the audit names values read only by their HMAC under the log key ------------------
    first = sm.get_secret_value(SecretId="payments/stripe")
    read_ids = [sent[-1][1]]
    sm.get_secret_value(SecretId="payments/stripe")
    read_ids.append(sent[-1][1])
    put = sm.put_secret_value(SecretId="payments/stripe", SecretString=canary())
    read_ids.append(sent[-1][1])
    p = ssm.get_parameter(Name="/payments/dev/db", WithDecryption=True)["Parameter"]
    read_ids.append(sent[-1][1])
    ssm.get_parameter_history(Name="/payments/dev/db", WithDecryption=True)
    read_ids.append(sent[-1][1])
    with open(os.path.join(t.data_dir, "audit.key"), "rb") as f:
        audit_key = bytes.fromhex(f.read().decode())

    def value_mac(arn, version):
        return hmac.new(audit_key, f"{arn}#{version}".encode(), hashlib.sha256).digest()[:16].hex()

    check_audit(t, ck, sent, cli_requests, cells, caller_arn)
    with open(os.path.join(t.data_dir, "audit.log")) as f:
        by_id = {r["request_id"]: r for r in map(json.loads, f)}
    got = [by_id.get(rid, {}).get("values") for rid in read_ids]
    ck.eq(got, [[value_mac(first["ARN"], first["VersionId"])]] * 2 +
          [[value_mac(put["ARN"], put["VersionId"])], [value_mac(p["ARN"], p["Version"])],
           [value_mac(p["ARN"], v) for v in range(1, p["Version"] + 1)]],
          "audit records name the value versions read and written by HMAC only")
    logs = t.logs()
    with open(os.path.join(t.data_dir, "audit.log"), "rb") as f:
        logs += f.read()
    ck.eq(sum(1 for c in canaries if c.encode() in logs), 0,
          f"none of the {len(canaries)} stored values appears in the server or audit log")


def check_audit(t, ck, sent, cli_requests, cells, caller_arn):
    with open(os.path.join(t.data_dir, "audit.log")) as f:
        records = [json.loads(line) for line in f if line.strip()]
    by_id = {}
    for r in records:
        by_id.setdefault(r.get("request_id", ""), []).append(r)
    ck.eq(len(records), len(sent) + cli_requests,
          "one audit record per request (boto3 calls + aws CLI commands)")
    missing = [op for op, rid, _ in sent if len(by_id.get(rid, [])) != 1]
    ck.eq(missing, [], "every boto3 request's id is in the audit log exactly once")
    wrong = [(op, rid) for op, rid, status in sent
             if len(by_id.get(rid, [])) == 1 and
             (by_id[rid][0].get("operation") != op or by_id[rid][0].get("status") != status)]
    ck.eq(wrong, [], "audit records carry each request's operation and HTTP status")
    bad_cells = []
    for rid, (label, p, allowed) in cells.items():
        r = (by_id.get(rid) or [{}])[0]
        if r.get("principal") != caller_arn[p]:
            bad_cells.append((label, p, "principal", r.get("principal")))
        elif label == "get-caller-identity":
            continue  # needs no permission: nothing decides it
        elif allowed and (r.get("decision") != "allow" or "#" not in r.get("decided_by", "")):
            bad_cells.append((label, p, r.get("decision"), r.get("decided_by")))
        elif not allowed and (r.get("decision") not in ("explicit-deny", "implicit-deny", "denied")
                              or not r.get("error_code", "").startswith("AccessDenied")):
            bad_cells.append((label, p, r.get("decision"), r.get("error_code")))
    ck.eq(bad_cells, [], f"the audit record of each of the {len(cells)} matrix cells names the "
                         "caller and the decision (allow with its statement, or AccessDenied)")


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_authz_matrix", body))
