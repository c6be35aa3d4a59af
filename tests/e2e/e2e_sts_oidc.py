#!/usr/bin/env python3
"""OIDC federation for CI, end to end: a GitHub-shaped test issuer (tests/e2e/oidc_issuer.py,
HTTPS with its own CA) mints tokens; `aws iam` registers it as an OpenID Connect provider and
creates CI roles whose trust policies match GitHub's `sub` patterns; `/usr/bin/aws sts
assume-role-with-web-identity` (unsigned, as awscli sends it) and `coffer login` trade tokens for
temporary credentials that read exactly what the role allows.

Refusals checked with the STS error awscli shows: expired token (ExpiredTokenException), wrong
audience, unregistered issuer, bad signature, unknown kid, `alg: none` (InvalidIdentityToken), a sub
the trust policy does not match (AccessDenied), a duration over MaxSessionDuration
(ValidationError); session credentials without or with a wrong token, and after they expire (the
server and the CLI run under libfaketime 16 minutes ahead), are refused. The issuer's JWKS is
fetched once, cached, and refetched when a token names a new kid. No token or secret reaches
the server's log or the audit log.

Usage: e2e_sts_oidc.py --coffer build/coffer
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

ACCT = "000000000000"
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def session_env(t, creds, extra=None):
    env = t.env()
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(t.work, "no-credentials")
    env["AWS_ACCESS_KEY_ID"] = creds["AccessKeyId"]
    env["AWS_SECRET_ACCESS_KEY"] = creds["SecretAccessKey"]
    if creds.get("SessionToken") is not None:
        env["AWS_SESSION_TOKEN"] = creds["SessionToken"]
    env.update(extra or {})
    return env


def body(args, ck):
    if args.target != "coffer":
        h.skip("this test drives Coffer's STS and its server options")
    try:
        import oidc_issuer
    except ImportError as e:
        h.skip(f"the test issuer needs python3 'cryptography' ({e}); "
               "apt-get install python3-cryptography")
    t = h.CofferServer(args.coffer)
    issuer = oidc_issuer.TestIssuer(t.work).start()
    t.extra_args = ["--oidc-ca-file", issuer.ca_file]
    t.start()
    secrets_seen = []
    try:
        run(t, issuer, ck, secrets_seen)
    finally:
        try:
            t.stop()
        finally:
            issuer.stop()
            logs = t.logs()
            audit = open(os.path.join(t.data_dir, "audit.log"), "rb").read()
            for i, s in enumerate(secrets_seen):
                ck.true(s.encode() not in logs, f"secret #{i} absent from the server log")
                ck.true(s.encode() not in audit, f"secret #{i} absent from the audit log")
            t.cleanup()


def run(t, issuer, ck, secrets_seen):
    import oidc_issuer  # body() checked that it imports
    aws = t.aws
    provider_arn = f"arn:aws:iam::{ACCT}:oidc-provider/{issuer.url[len('https://'):]}"
    host = issuer.url[len("https://"):]

    # --- the admin registers the issuer and the CI roles with the real IAM CLI -------------
    r = aws(["iam", "create-open-id-connect-provider", "--url", issuer.url,
             "--client-id-list", "sts.amazonaws.com", "--thumbprint-list", issuer.thumbprint])
    ck.cli_ok(r, "create-open-id-connect-provider")
    ck.eq(r.json and r.json.get("OpenIDConnectProviderArn"), provider_arn, "provider ARN")
    r = aws(["iam", "list-open-id-connect-providers"])
    ck.true(r.json and provider_arn in [p["Arn"] for p in r.json["OpenIDConnectProviderList"]],
            "list-open-id-connect-providers lists it")

    def trust(sub_pattern, op="StringLike"):
        return policy({"Effect": "Allow", "Principal": {"Federated": provider_arn},
                       "Action": "sts:AssumeRoleWithWebIdentity",
                       "Condition": {"StringEquals": {f"{host}:aud": "sts.amazonaws.com"},
                                     op: {f"{host}:sub": sub_pattern}}})

    r = aws(["iam", "create-role", "--role-name", "ci-deploy", "--path", "/ci/",
             "--assume-role-policy-document", trust("repo:acme/api:ref:refs/heads/main",
                                                    "StringEquals")])
    ck.cli_ok(r, "create-role ci-deploy")
    deploy_arn = r.json["Role"]["Arn"] if r.json else ""
    ck.eq(deploy_arn, f"arn:aws:iam::{ACCT}:role/ci/ci-deploy", "role ARN with path")
    r = aws(["iam", "create-role", "--role-name", "ci-prod", "--max-session-duration", "7200",
             "--assume-role-policy-document", trust("repo:acme/*:environment:prod")])
    ck.cli_ok(r, "create-role ci-prod")
    prod_arn = f"arn:aws:iam::{ACCT}:role/ci-prod"
    r = aws(["iam", "put-role-policy", "--role-name", "ci-deploy", "--policy-name", "read-ci",
             "--policy-document", policy(
                 {"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:GetParameters"],
                  "Resource": f"arn:aws:ssm:*:{ACCT}:parameter/ci/*"},
                 {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                  "Resource": f"arn:aws:secretsmanager:*:{ACCT}:secret:ci/*"})])
    ck.cli_ok(r, "put-role-policy read-ci")
    r = aws(["iam", "put-role-policy", "--role-name", "ci-prod", "--policy-name", "read-prod",
             "--policy-document", policy(
                 {"Effect": "Allow", "Action": "ssm:GetParameter",
                  "Resource": f"arn:aws:ssm:*:{ACCT}:parameter/prod/*"})])
    ck.cli_ok(r, "put-role-policy read-prod")

    canary = h.new_canary()
    secrets_seen.append(canary)
    for name, value in (("/ci/db-password", canary), ("/other/db-password", "elsewhere"),
                        ("/prod/api-key", "prod-value")):
        ck.cli_ok(aws(["ssm", "put-parameter", "--name", name, "--type", "SecureString",
                       "--value", value]), f"put-parameter {name}")
    ck.cli_ok(aws(["secretsmanager", "create-secret", "--name", "ci/token",
                   "--secret-string", "ci-token-value"]), "create-secret ci/token")

    # --- the exchange with awscli v2, unsigned, with no credentials configured at all ------
    nocreds = t.env()
    nocreds["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(t.work, "no-credentials")

    def exchange(token, role=deploy_arn, session="gh-run-1", extra=()):
        return aws(["sts", "assume-role-with-web-identity", "--role-arn", role,
                    "--role-session-name", session, "--web-identity-token", token] + list(extra),
                   env=nocreds)

    token = issuer.mint()
    secrets_seen.append(token)
    r = exchange(token, extra=["--duration-seconds", "900"])
    ck.cli_ok(r, "assume-role-with-web-identity")
    out = r.json or {}
    creds = out.get("Credentials", {})
    for v in ("SecretAccessKey", "SessionToken"):
        if creds.get(v):
            secrets_seen.append(creds[v])
    ck.true(creds.get("AccessKeyId", "").startswith("ASIA"), "temporary key id is ASIA...")
    ck.eq(out.get("AssumedRoleUser", {}).get("Arn"),
          f"arn:aws:sts::{ACCT}:assumed-role/ci-deploy/gh-run-1", "assumed-role ARN")
    ck.eq(out.get("SubjectFromWebIdentityToken"), "repo:acme/api:ref:refs/heads/main", "subject")
    ck.eq(out.get("Audience"), "sts.amazonaws.com", "audience")
    ck.eq(out.get("Provider"), issuer.url, "provider")
    ck.true("Expiration" in creds, "expiration present")
    fetches_after_first = issuer.jwks_fetches
    ck.eq(fetches_after_first, 1, "JWKS fetched once for the first token")

    # --- the credentials read exactly what the role allows ---------------------------------
    senv = session_env(t, creds)
    r = aws(["sts", "get-caller-identity"], env=senv)
    ck.cli_ok(r, "get-caller-identity with session credentials")
    ck.eq(r.json and r.json.get("Arn"), f"arn:aws:sts::{ACCT}:assumed-role/ci-deploy/gh-run-1",
          "caller is the assumed role")
    r = aws(["ssm", "get-parameter", "--name", "/ci/db-password", "--with-decryption"], env=senv)
    ck.cli_ok(r, "session reads /ci/db-password")
    ck.secret_eq(r.json and r.json["Parameter"]["Value"], canary, "value read by the CI role")
    r = aws(["secretsmanager", "get-secret-value", "--secret-id", "ci/token"], env=senv)
    ck.cli_ok(r, "session reads secret ci/token")
    ck.cli_error(aws(["ssm", "get-parameter", "--name", "/other/db-password"], env=senv),
                 "AccessDeniedException", "GetParameter", "session cannot read /other")
    ck.cli_error(aws(["ssm", "put-parameter", "--name", "/ci/new", "--value", "x", "--type",
                      "String"], env=senv),
                 "AccessDeniedException", "PutParameter", "session cannot write /ci")
    ck.cli_error(aws(["iam", "list-users"], env=senv), "AccessDenied", "ListUsers",
                 "session cannot call IAM")
    no_token = dict(creds)
    no_token["SessionToken"] = None
    ck.cli_error(aws(["ssm", "get-parameter", "--name", "/ci/db-password"],
                     env=session_env(t, no_token)),
                 "UnrecognizedClientException", "GetParameter", "session key without its token")
    bad_token = dict(creds)
    bad_token["SessionToken"] = creds.get("SessionToken", "x")[:-4] + "AAAA"
    ck.cli_error(aws(["ssm", "get-parameter", "--name", "/ci/db-password"],
                     env=session_env(t, bad_token)),
                 "UnrecognizedClientException", "GetParameter", "session key with another token")

    # --- refusals ----------------------------------------------------------------------------
    c = issuer.claims()
    c["exp"] = int(time.time()) - 600
    c["iat"] = c["nbf"] = int(time.time()) - 900
    ck.cli_error(exchange(issuer.mint(c)), "ExpiredTokenException",
                 "AssumeRoleWithWebIdentity", "expired token")
    ck.cli_error(exchange(issuer.mint(issuer.claims(aud="https://github.com/acme"))),
                 "InvalidIdentityToken", "AssumeRoleWithWebIdentity", "wrong audience")
    c = issuer.claims()
    c["iss"] = "https://127.0.0.1:9/unregistered"
    ck.cli_error(exchange(issuer.mint(c)), "InvalidIdentityToken",
                 "AssumeRoleWithWebIdentity", "unregistered issuer")
    ck.cli_error(exchange(issuer.mint(tamper_signature=True)), "InvalidIdentityToken",
                 "AssumeRoleWithWebIdentity", "bad signature")
    ck.cli_error(exchange(issuer.mint(kid="ec-1", key=issuer.keys["rsa-1"], alg="ES256")),
                 "InvalidIdentityToken", "AssumeRoleWithWebIdentity", "signed by another key")
    stranger = oidc_issuer.SigningKey("stranger", "RS256")
    ck.cli_error(exchange(issuer.mint(kid="stranger", key=stranger)), "InvalidIdentityToken",
                 "AssumeRoleWithWebIdentity", "unknown kid")
    ck.cli_error(exchange(issuer.mint(alg="none")), "InvalidIdentityToken",
                 "AssumeRoleWithWebIdentity", "alg none")
    ck.cli_error(exchange(issuer.mint(issuer.claims(sub="repo:acme/api:ref:refs/heads/feature"))),
                 "AccessDenied", "AssumeRoleWithWebIdentity", "sub not matching the trust policy")
    ck.cli_error(exchange(issuer.mint(issuer.claims(sub="repo:evil/api:ref:refs/heads/main"))),
                 "AccessDenied", "AssumeRoleWithWebIdentity", "other repository")
    ck.cli_error(exchange(token, extra=["--duration-seconds", "7200"]), "ValidationError",
                 "AssumeRoleWithWebIdentity", "duration over MaxSessionDuration")
    ck.cli_error(exchange(token, role=f"arn:aws:iam::{ACCT}:role/no-such-role"), "AccessDenied",
                 "AssumeRoleWithWebIdentity", "role that does not exist")

    # --- the environment pattern (StringLike) with an ES256 token, 2 h session --------------
    r = exchange(issuer.mint(issuer.claims(environment="prod"), kid="ec-1"), role=prod_arn,
                 session="gh-prod", extra=["--duration-seconds", "7200"])
    ck.cli_ok(r, "environment:prod token assumes ci-prod (ES256, 7200 s)")
    if r.json:
        penv = session_env(t, r.json["Credentials"])
        secrets_seen.append(r.json["Credentials"]["SecretAccessKey"])
        ck.cli_ok(aws(["ssm", "get-parameter", "--name", "/prod/api-key"], env=penv),
                  "prod session reads /prod")
        ck.cli_error(aws(["ssm", "get-parameter", "--name", "/ci/db-password"], env=penv),
                     "AccessDeniedException", "GetParameter", "prod session cannot read /ci")
    ck.cli_error(exchange(issuer.mint(issuer.claims(environment="staging")), role=prod_arn),
                 "AccessDenied", "AssumeRoleWithWebIdentity", "environment:staging refused")

    # --- key rotation at the issuer: a new kid makes the server refetch the JWKS ------------
    issuer.add_key("rsa-2")
    time.sleep(5.5)  # the server refetches for an unknown kid at most every 5 s
    before = issuer.jwks_fetches
    r = exchange(issuer.mint(kid="rsa-2"))
    ck.cli_ok(r, "token signed with a newly published key")
    ck.eq(issuer.jwks_fetches, before + 1, "one JWKS refetch for the new kid")
    r = exchange(issuer.mint(kid="rsa-2"))
    ck.cli_ok(r, "second token with the new key")
    ck.eq(issuer.jwks_fetches, before + 1, "cached JWKS reused")

    # --- coffer login, as a GitHub Actions job runs it --------------------------------------
    github_env = os.path.join(t.work, "github_env")
    open(github_env, "w").close()
    lenv = h._clean_env()
    lenv.update({"ACTIONS_ID_TOKEN_REQUEST_URL": issuer.token_url,
                 "ACTIONS_ID_TOKEN_REQUEST_TOKEN": issuer.request_token,
                 "GITHUB_ENV": github_env, "AWS_ROLE_ARN": deploy_arn})
    p = subprocess.run([t.binary, "login", "--github", "--endpoint-url", t.url, "--github-env",
                        "--role-session-name", "gh-login"],
                       env=lenv, capture_output=True, text=True, timeout=60)
    ck.eq(p.returncode, 0, "coffer login --github --github-env exits 0",)
    if p.returncode != 0:
        print("   coffer login stderr:", p.stderr.strip()[:300])
    ck.eq(issuer.token_requests, 1, "the GitHub token endpoint was asked once")
    written = dict(line.split("=", 1) for line in open(github_env).read().splitlines() if "=" in line)
    ck.true(written.get("AWS_ACCESS_KEY_ID", "").startswith("ASIA"), "$GITHUB_ENV has the key id")
    ck.true(all(k in written for k in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")),
            "$GITHUB_ENV has secret and token")
    masks = [line for line in p.stdout.splitlines() if line.startswith("::add-mask::")]
    ck.eq(len(masks), 3, "three ::add-mask:: lines")
    ck.true(written.get("AWS_SECRET_ACCESS_KEY", "?") not in p.stdout.replace(
        "::add-mask::" + written.get("AWS_SECRET_ACCESS_KEY", "?"), ""),
        "the secret is printed only inside its mask line")
    secrets_seen += [written.get("AWS_SECRET_ACCESS_KEY", ""), written.get("AWS_SESSION_TOKEN", "")]
    if "AWS_SECRET_ACCESS_KEY" in written:
        genv = session_env(t, {"AccessKeyId": written["AWS_ACCESS_KEY_ID"],
                               "SecretAccessKey": written["AWS_SECRET_ACCESS_KEY"],
                               "SessionToken": written["AWS_SESSION_TOKEN"]})
        r = aws(["ssm", "get-parameter", "--name", "/ci/db-password", "--with-decryption"],
                env=genv)
        ck.cli_ok(r, "credentials from coffer login read /ci")
        r = aws(["sts", "get-caller-identity"], env=genv)
        ck.eq(r.json and r.json.get("Arn"), f"arn:aws:sts::{ACCT}:assumed-role/ci-deploy/gh-login",
              "coffer login session ARN")

    token_file = os.path.join(t.work, "oidc-token")
    with open(token_file, "w") as f:
        f.write(issuer.mint() + "\n")
    p = subprocess.run([t.binary, "login", "--oidc-token-file", token_file, "--role-arn",
                        deploy_arn, "--endpoint-url", t.url], env=h._clean_env(),
                       capture_output=True, text=True, timeout=60)
    ck.eq(p.returncode, 0, "coffer login --oidc-token-file exits 0")
    exports = dict(line[len("export "):].split("=", 1) for line in p.stdout.splitlines()
                   if line.startswith("export "))
    ck.true(exports.get("AWS_ACCESS_KEY_ID", "").startswith("ASIA"), "exports carry a session key")
    secrets_seen += [exports.get("AWS_SECRET_ACCESS_KEY", ""), exports.get("AWS_SESSION_TOKEN", "")]

    with open(token_file, "w") as f:
        f.write(issuer.mint(issuer.claims(sub="repo:acme/api:ref:refs/heads/dev")))
    p = subprocess.run([t.binary, "login", "--oidc-token-file", token_file, "--role-arn",
                        deploy_arn, "--endpoint-url", t.url], env=h._clean_env(),
                       capture_output=True, text=True, timeout=60)
    ck.true(p.returncode != 0, "coffer login with an untrusted sub fails")
    ck.true("AccessDenied" in p.stderr, "coffer login names STS's error", p.stderr.strip()[:200])
    bad = dict(lenv)
    bad["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "wrong"
    p = subprocess.run([t.binary, "login", "--github", "--endpoint-url", t.url], env=bad,
                       capture_output=True, text=True, timeout=60)
    ck.true(p.returncode != 0 and "401" in p.stderr,
            "coffer login reports a refused GitHub token request", p.stderr.strip()[:200])

    # --- expired temporary credentials: server and CLI 16 minutes ahead ---------------------
    if not os.path.exists(FAKETIME_LIB):
        ck.note("libfaketime absent (apt-get install faketime): expiry checked by unit tests only")
        return
    t.stop()
    ahead = {"LD_PRELOAD": FAKETIME_LIB, "FAKETIME": "+16m", "DONT_FAKE_MONOTONIC": "1"}
    t.server_env = ahead
    t.start()
    r = aws(["ssm", "get-parameter", "--name", "/ci/db-password"], env=session_env(t, creds, ahead))
    ck.cli_error(r, "ExpiredTokenException", "GetParameter", "expired session credentials")
    r = aws(["sts", "get-caller-identity"], env=session_env(t, creds, ahead))
    ck.cli_error(r, "ExpiredToken", "GetCallerIdentity", "expired session on STS")
    # The 2-hour prod session is still good at +16 min.
    r = aws(["sts", "get-caller-identity"], env=dict(t.env(), **ahead))
    ck.cli_ok(r, "long-term admin key still works 16 minutes ahead")


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_sts_oidc", body))
