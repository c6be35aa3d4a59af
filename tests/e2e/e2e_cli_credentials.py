#!/usr/bin/env python3
"""coffer's credential and endpoint resolution, case by case, each against a Coffer server that
records who called: every case writes a parameter, and the parameter's LastModifiedUser (read
back by the admin) must be the principal that case resolves to.

Cases: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; --profile and AWS_PROFILE from the shared
credentials file; a role_arn + source_profile profile (STS AssumeRole, with role_session_name);
AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (AssumeRoleWithWebIdentity, with the test OIDC issuer;
skipped when python3-cryptography is absent); credential_process; AWS_ENDPOINT_URL_SSM and
AWS_ENDPOINT_URL_STS winning over a dead AWS_ENDPOINT_URL, and a config file `services` section;
retries (a proxy answers 503 ThrottlingException twice: the call succeeds; with AWS_MAX_ATTEMPTS=1
it fails); and a user whose IAM policy covers one service's path reads it and gets an
AccessDenied naming the action and the ARN for another. No secret key appears in any output.

Usage: e2e_cli_credentials.py --coffer build/coffer
"""

import http.server
import json
import os
import subprocess
import sys
import threading
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

ACCT = "000000000000"
DEAD = "http://127.0.0.1:9"  # discard port: nothing answers


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


class FakeMetadata:
    """The ECS container credentials endpoint and EC2's IMDSv2, both answering with `keys`."""

    def __init__(self, access_key, secret_key):
        meta = self
        self.auth_seen = []
        doc = json.dumps({"AccessKeyId": access_key, "SecretAccessKey": secret_key,
                          "Token": "", "Expiration": "2099-01-01T00:00:00Z"}).encode()
        imds_token = "imds-token-123"

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def reply(self, status, data):
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self):
                if self.path == "/latest/api/token":
                    return self.reply(200, imds_token.encode())
                self.reply(404, b"")

            def do_GET(self):
                if self.path == "/ecs/creds":
                    meta.auth_seen.append(self.headers.get("Authorization"))
                    return self.reply(200, doc)
                if self.headers.get("X-aws-ec2-metadata-token") != imds_token:
                    return self.reply(401, b"")
                if self.path == "/latest/meta-data/iam/security-credentials/":
                    return self.reply(200, b"instance-role")
                if self.path == "/latest/meta-data/iam/security-credentials/instance-role":
                    return self.reply(200, doc)
                self.reply(404, b"")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


class FlakyProxy:
    """Forwards to `upstream`, first answering `failures` requests with 503 ThrottlingException."""

    def __init__(self, upstream, failures):
        self.upstream, self.failures, self.seen, self.connections = upstream, failures, 0, 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                proxy.connections += 1
                super().setup()

            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                proxy.seen += 1
                if proxy.seen <= proxy.failures:
                    doc = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
                    self.send_response(503)
                    self.send_header("Content-Type", "application/x-amz-json-1.1")
                    self.send_header("Content-Length", str(len(doc)))
                    self.end_headers()
                    self.wfile.write(doc)
                    return
                req = urllib.request.Request(proxy.upstream + self.path, data=body, method="POST")
                for k, v in self.headers.items():
                    if k.lower() not in ("content-length", "connection"):
                        req.add_header(k, v)
                try:
                    with urllib.request.urlopen(req, timeout=30) as r:
                        status, data, ctype = r.status, r.read(), r.headers.get("Content-Type")
                except urllib.error.HTTPError as e:
                    status, data, ctype = e.code, e.read(), e.headers.get("Content-Type")
                self.send_response(status)
                self.send_header("Content-Type", ctype or "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def body(args, ck):
    if args.target != "coffer":
        h.skip("this test checks the caller through Coffer's IAM and STS")
    t = h.CofferServer(args.coffer)
    issuer = None
    try:
        import oidc_issuer
        issuer = oidc_issuer.TestIssuer(t.work).start()
        t.extra_args = ["--oidc-ca-file", issuer.ca_file]
    except ImportError as e:
        ck.note(f"web identity case skipped: the test issuer needs python3-cryptography ({e})")
    t.start()
    try:
        run(args, t, issuer, ck)
    finally:
        t.stop()
        if issuer:
            issuer.stop()
        t.cleanup()


def run(args, t, issuer, ck):
    coffer = os.path.abspath(args.coffer)
    alice_arn = f"arn:aws:iam::{ACCT}:user/alice"
    ak, sk = h.create_user_with_policy(t, ck, "alice", policy(
        {"Effect": "Allow", "Action": "ssm:*",
         "Resource": [f"arn:aws:ssm:*:{ACCT}:parameter/whoami/*",
                      f"arn:aws:ssm:*:{ACCT}:parameter/whoami",
                      f"arn:aws:ssm:*:{ACCT}:parameter/team-a/*",
                      f"arn:aws:ssm:*:{ACCT}:parameter/team-a"]},
        {"Effect": "Allow", "Action": "ssm:DescribeParameters", "Resource": "*"},
        {"Effect": "Allow", "Action": "sts:AssumeRole",
         "Resource": f"arn:aws:iam::{ACCT}:role/deployer"}))
    r = t.aws(["iam", "create-role", "--role-name", "deployer", "--assume-role-policy-document",
               policy({"Effect": "Allow", "Principal": {"AWS": alice_arn},
                       "Action": "sts:AssumeRole"})])
    ck.cli_ok(r, "create-role deployer")
    ck.cli_ok(t.aws(["iam", "put-role-policy", "--role-name", "deployer", "--policy-name", "p",
                     "--policy-document", policy(
                         {"Effect": "Allow", "Action": "ssm:*",
                          "Resource": f"arn:aws:ssm:*:{ACCT}:parameter/whoami/*"})]),
              "put-role-policy deployer")
    ck.cli_ok(t.aws(["ssm", "put-parameter", "--name", "/team-b/db", "--type", "SecureString",
                     "--value", "team-b-only"]), "admin writes team-b")

    work = t.work
    creds_file = os.path.join(work, "cli-credentials")
    config_file = os.path.join(work, "cli-config")
    with open(creds_file, "w") as f:
        f.write(f"[alice]\naws_access_key_id = {ak}\naws_secret_access_key = {sk}\n")
    proc_json = os.path.join(work, "proc.json")
    with open(proc_json, "w") as f:
        json.dump({"Version": 1, "AccessKeyId": ak, "SecretAccessKey": sk}, f)
    with open(config_file, "w") as f:
        f.write(f"[profile deploy]\nrole_arn = arn:aws:iam::{ACCT}:role/deployer\n"
                f"source_profile = alice\nrole_session_name = cli-test\n"
                f"[profile proc]\ncredential_process = cat {proc_json}\n"
                f"[profile svc]\nservices = local\nendpoint_url = {DEAD}\n"
                f"aws_access_key_id = {ak}\naws_secret_access_key = {sk}\n"
                f"[services local]\nssm =\n  endpoint_url = {t.url}\n")

    def env(extra=None, endpoint=True):
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("AWS_") and not k.startswith("COFFER_")}
        e.update({"AWS_SHARED_CREDENTIALS_FILE": creds_file, "AWS_CONFIG_FILE": config_file,
                  "AWS_REGION": h.REGION, "HOME": work, "AWS_EC2_METADATA_DISABLED": "true"})
        if endpoint:
            e["AWS_ENDPOINT_URL"] = t.url
        e.update(extra or {})
        return e

    def coffer_run(argv, e, stdin=None):
        p = subprocess.run([coffer] + argv, env=e, capture_output=True, text=True, input=stdin,
                           timeout=120)
        ck.true(sk not in p.stdout + p.stderr, "no secret key in the CLI's output")
        return p

    def who_wrote(case):
        r = t.aws(["ssm", "describe-parameters", "--parameter-filters",
                   f"Key=Name,Values=/whoami/{case}"])
        params = (r.json or {}).get("Parameters", [])
        return params[0].get("LastModifiedUser") if params else None

    def case(name, e, expect_user, argv_extra=()):
        p = coffer_run(["write", "whoami", name, "v"] + list(argv_extra), e)
        if ck.true(p.returncode == 0, f"{name}: write", f"rc={p.returncode} {p.stderr[:300]}"):
            ck.eq(who_wrote(name), expect_user, f"{name}: the server saw the expected caller")

    case("env", env({"AWS_ACCESS_KEY_ID": ak, "AWS_SECRET_ACCESS_KEY": sk}), alice_arn)
    case("profile-flag", env(), alice_arn, ["--profile", "alice"])
    case("aws-profile", env({"AWS_PROFILE": "alice"}), alice_arn)
    role_user = f"arn:aws:sts::{ACCT}:assumed-role/deployer/cli-test"
    case("assume-role", env({"AWS_PROFILE": "deploy"}), role_user)
    case("credential-process", env({"AWS_PROFILE": "proc"}), alice_arn)
    # Per-service endpoints: the general endpoint is dead, the service-specific one answers.
    case("endpoint-ssm", env({"AWS_PROFILE": "alice", "AWS_ENDPOINT_URL": DEAD,
                              "AWS_ENDPOINT_URL_SSM": t.url, "AWS_MAX_ATTEMPTS": "1"},
                             endpoint=False), alice_arn)
    case("endpoint-sts", env({"AWS_PROFILE": "deploy", "AWS_ENDPOINT_URL": DEAD,
                              "AWS_ENDPOINT_URL_SSM": t.url, "AWS_ENDPOINT_URL_STS": t.url,
                              "AWS_MAX_ATTEMPTS": "1"}, endpoint=False), role_user)
    case("endpoint-services-section", env({"AWS_PROFILE": "svc", "AWS_MAX_ATTEMPTS": "1"},
                                          endpoint=False), alice_arn)
    # Container credentials (ECS task role) and EC2 instance metadata, from a fake endpoint.
    meta = FakeMetadata(ak, sk)
    try:
        case("container", env({"AWS_CONTAINER_CREDENTIALS_FULL_URI": meta.url + "/ecs/creds",
                               "AWS_CONTAINER_AUTHORIZATION_TOKEN": "task-auth"}), alice_arn)
        ck.eq(meta.auth_seen, ["task-auth"], "the container endpoint got the authorization token")
        case("imds", env({"AWS_EC2_METADATA_DISABLED": "false",
                          "AWS_EC2_METADATA_SERVICE_ENDPOINT": meta.url}), alice_arn)
    finally:
        meta.stop()
    p = coffer_run(["read", "whoami", "env"], env({"AWS_PROFILE": "alice",
                                                   "AWS_ENDPOINT_URL": DEAD,
                                                   "AWS_MAX_ATTEMPTS": "1"}, endpoint=False))
    ck.eq(p.returncode, 1, "with only the dead endpoint the call fails (exit 1)")
    ck.true(DEAD in p.stderr, "the transport error names the endpoint", p.stderr)
    p = coffer_run(["read", "whoami", "env"], env({"AWS_PROFILE": "nosuch"}))
    ck.eq(p.returncode, 2, "an unknown profile is a usage error")
    ck.true("nosuch" in p.stderr, "the error names the profile", p.stderr)

    if issuer is not None:
        provider_arn = f"arn:aws:iam::{ACCT}:oidc-provider/{issuer.url[len('https://'):]}"
        host = issuer.url[len("https://"):]
        ck.cli_ok(t.aws(["iam", "create-open-id-connect-provider", "--url", issuer.url,
                         "--client-id-list", "sts.amazonaws.com", "--thumbprint-list",
                         issuer.thumbprint]), "create-open-id-connect-provider")
        ck.cli_ok(t.aws(["iam", "create-role", "--role-name", "ci", "--assume-role-policy-document",
                         policy({"Effect": "Allow", "Principal": {"Federated": provider_arn},
                                 "Action": "sts:AssumeRoleWithWebIdentity",
                                 "Condition": {"StringEquals": {f"{host}:aud":
                                                                "sts.amazonaws.com"}}})]),
                  "create-role ci")
        ck.cli_ok(t.aws(["iam", "put-role-policy", "--role-name", "ci", "--policy-name", "p",
                         "--policy-document", policy(
                             {"Effect": "Allow", "Action": "ssm:*",
                              "Resource": f"arn:aws:ssm:*:{ACCT}:parameter/whoami/*"})]),
                  "put-role-policy ci")
        token_file = os.path.join(work, "token")
        with open(token_file, "w") as f:
            f.write(issuer.mint())
        case("web-identity", env({"AWS_WEB_IDENTITY_TOKEN_FILE": token_file,
                                  "AWS_ROLE_ARN": f"arn:aws:iam::{ACCT}:role/ci",
                                  "AWS_ROLE_SESSION_NAME": "gh-run"}),
             f"arn:aws:sts::{ACCT}:assumed-role/ci/gh-run")

    # Retries: throttled twice, then answered.
    proxy = FlakyProxy(t.url, failures=2)
    try:
        p = coffer_run(["read", "whoami", "env", "-q"], env({"AWS_PROFILE": "alice",
                                                            "AWS_ENDPOINT_URL": proxy.url}))
        ck.eq((p.returncode, p.stdout), (0, "v\n"), "two throttled answers are retried")
        ck.eq(proxy.seen, 3, "three attempts reached the proxy")
        proxy.seen, proxy.failures = 0, 1
        p = coffer_run(["read", "whoami", "env", "-q"], env({"AWS_PROFILE": "alice",
                                                            "AWS_ENDPOINT_URL": proxy.url,
                                                            "AWS_MAX_ATTEMPTS": "1"}))
        ck.eq(p.returncode, 1, "AWS_MAX_ATTEMPTS=1 does not retry")
        ck.true("ThrottlingException" in p.stderr, "the throttling error is shown", p.stderr)
        # Connection reuse: a service of 35 values is 4 GetParametersByPath pages on one
        # kept-alive connection.
        doc = os.path.join(work, "many.json")
        with open(doc, "w") as f:
            json.dump({f"K{i:02d}": f"v{i}" for i in range(35)}, f)
        ck.eq(coffer_run(["import", "whoami", doc], env({"AWS_PROFILE": "alice"})).returncode, 0,
              "import 35 values")
        proxy.seen, proxy.failures, proxy.connections = 0, 0, 0
        p = coffer_run(["exec", "whoami", "--", "true"], env({"AWS_PROFILE": "alice",
                                                             "AWS_ENDPOINT_URL": proxy.url}))
        ck.eq(p.returncode, 0, "exec through the proxy")
        ck.true(proxy.seen >= 4, "exec read the service in pages", f"{proxy.seen} requests")
        ck.eq(proxy.connections, 1, "every page went over one kept-alive connection")
    finally:
        proxy.stop()

    # One service's path allowed, another refused with the action and the ARN named.
    e = env({"AWS_PROFILE": "alice"})
    ck.eq(coffer_run(["write", "team-a", "db", "a-value"], e).returncode, 0, "alice writes team-a")
    p = coffer_run(["read", "team-a", "db", "-q"], e)
    ck.eq((p.returncode, p.stdout), (0, "a-value\n"), "alice reads team-a")
    p = coffer_run(["exec", "team-a", "--", "true"], e)
    ck.eq(p.returncode, 0, "alice execs with team-a")
    p = coffer_run(["read", "team-b", "db", "-q"], e)
    ck.eq(p.returncode, 1, "alice's read of team-b fails")
    ck.true("service team-b key db" in p.stderr and "AccessDenied" in p.stderr and
            "ssm:GetParameter" in p.stderr and
            f"arn:aws:ssm:us-east-1:{ACCT}:parameter/team-b/db" in p.stderr,
            "AccessDenied names the service, key, action and ARN", p.stderr)
    ck.true("team-b-only" not in p.stdout + p.stderr, "no value of team-b shown")
    p = coffer_run(["exec", "team-b", "--", "true"], e)
    ck.true(p.returncode == 1 and "ssm:GetParametersByPath" in p.stderr and
            f"arn:aws:ssm:us-east-1:{ACCT}:parameter/team-b" in p.stderr,
            "exec of team-b: AccessDenied names GetParametersByPath and the path's ARN",
            p.stderr)


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_cli_credentials", body))
