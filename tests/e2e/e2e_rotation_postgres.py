#!/usr/bin/env python3
"""Secrets Manager rotation with rotation hooks against a real PostgreSQL server.

Starts Debian's PostgreSQL (initdb into a temporary directory, TCP on a free loopback port,
scram-sha-256; as the `postgres` or `nobody` user when run as root) and a Coffer dev server,
then, with boto3 1.26 (Debian's python3) and the ready-made hook hooks/postgresql-rotate:

1. Alternating users: a role's secret names a master secret; rotation is configured with a
   per-minute cron() schedule and RotateImmediately. While a client thread keeps fetching
   AWSCURRENT (GetSecretValue) and logging in with it, the secret rotates several times:
   immediately, on RotateSecret calls, and at least once on its schedule with no call at all.
   The client must never fail and must have logged in with several rotated values.
2. Single user: one rotation changes the role's own password: the new AWSCURRENT logs in, the
   old password no longer does, AWSPREVIOUS holds the old value, the dates follow the rules.
3. A hook whose testSecret fails: finishSecret is never called, AWSCURRENT is unchanged (and
   still logs in), the step is retried with backoff, and the failure is visible in the log and
   in /metrics. The hook's credentials are temporary (ASIA...) and cannot read other secrets.

No secret value appears in the server's output. Exits 77 only when PostgreSQL's server
binaries are absent.

Usage: e2e_rotation_postgres.py --coffer build/coffer
"""

import glob
import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOOK = os.path.join(REPO, "hooks", "postgresql-rotate")
DENY_ALL_TRUST = ('{"Version":"2012-10-17","Statement":[{"Sid":"NoOneAssumes","Effect":"Deny",'
                  '"Principal":"*","Action":"sts:*"}]}')


def find_pg_bin():
    """The bin directory of Debian's PostgreSQL server (15 preferred), or None."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: (os.path.basename(os.path.dirname(d)) != "15", d))
    for d in dirs:
        if all(os.access(os.path.join(d, b), os.X_OK) for b in ("initdb", "pg_ctl", "postgres")):
            return d
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, interval=0.2):
    """Polls pred() until it returns a truthy value or `timeout` seconds pass (a hang guard,
    not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


class Postgres:
    """A throw-away PostgreSQL cluster owned by an unprivileged user when we are root."""

    def __init__(self, bin_dir):
        self.bin = bin_dir
        self.base = tempfile.mkdtemp(prefix="coffer-e2e-pg-")
        os.chmod(self.base, 0o711)
        self.data = os.path.join(self.base, "data")
        self.sock = os.path.join(self.base, "sock")
        self.log = os.path.join(self.base, "postgres.log")
        self.port = free_port()
        self.superuser = "postgres"
        self.password = secrets.token_urlsafe(24)
        self.user = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    pwd.getpwnam(name)
                    self.user = name
                    break
                except KeyError:
                    pass
            if self.user is None:
                raise RuntimeError("running as root and neither 'postgres' nor 'nobody' exists")

    def _run(self, argv, **kw):
        if self.user:
            argv = ["runuser", "-u", self.user, "--"] + argv
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, **kw)

    def start(self):
        os.mkdir(self.sock)
        pwfile = os.path.join(self.base, "pwfile")
        with open(pwfile, "w") as f:
            f.write(self.password + "\n")
        os.chmod(pwfile, 0o600)
        if self.user:
            pw = pwd.getpwnam(self.user)
            for p in (self.base, self.sock, pwfile):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        r = self._run([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", self.superuser,
                       "--pwfile", pwfile, "--auth-local", "trust",
                       "--auth-host", "scram-sha-256", "-E", "UTF8", "--no-sync"])
        os.unlink(pwfile)
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed: {r.stderr[-800:]}")
        opts = (f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=off "
                f"-c max_connections=50")
        r = self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", self.log,
                       "-w", "-t", "60", "-o", opts, "start"])
        if r.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {r.stderr[-500:]} {self._log_tail()}")
        return self

    def _log_tail(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-800:]
        except OSError:
            return ""

    def stop(self):
        if os.path.isdir(self.data):
            self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "immediate",
                       "-w", "stop"])
        shutil.rmtree(self.base, ignore_errors=True)

    def connect(self, user, password):
        import psycopg2
        return psycopg2.connect(host="127.0.0.1", port=self.port, user=user, password=password,
                                dbname="postgres", connect_timeout=5)

    def can_login(self, user, password):
        import psycopg2
        try:
            self.connect(user, password).close()
            return True
        except psycopg2.OperationalError:
            return False

    def admin(self, statement, params=None):
        conn = self.connect(self.superuser, self.password)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(statement, params)
        finally:
            conn.close()

    def secret_value(self, user, password, **extra):
        value = {"engine": "postgres", "host": "127.0.0.1", "port": self.port,
                 "username": user, "password": password, "dbname": "postgres"}
        value.update(extra)
        return json.dumps(value)


def stages_of(desc):
    out = {}
    for version, stages in desc.get("VersionIdsToStages", {}).items():
        for s in stages:
            out[s] = version
    return out


def current_version(sm, sid):
    return stages_of(sm.describe_secret(SecretId=sid)).get("AWSCURRENT")


def wait_rotated(sm, sid, old_version, timeout=120):
    """Waits until the rotation finished: AWSCURRENT moved off old_version, no other version
    holds AWSPENDING, and the engine recorded it (LastRotatedDate after AWSCURRENT's
    creation). Returns the new AWSCURRENT version or None."""
    def done():
        d = sm.describe_secret(SecretId=sid)
        st = stages_of(d)
        cur = st.get("AWSCURRENT")
        pending = st.get("AWSPENDING")
        if cur == old_version or (pending is not None and pending != cur):
            return None
        created = next(v["CreatedDate"] for v in
                       sm.list_secret_version_ids(SecretId=sid)["Versions"]
                       if v["VersionId"] == cur)
        if "LastRotatedDate" not in d or d["LastRotatedDate"] < created:
            return None
        return cur
    return wait_for(done, timeout)


def rotate_when_idle(sm, sid, timeout=120):
    """RotateSecret once no rotation is in progress (a scheduled one may be running)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return sm.rotate_secret(SecretId=sid)
        except sm.exceptions.InvalidRequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def raw_describe(target, sid):
    """DescribeSecret over raw signed JSON: boto3 1.26 does not know NextRotationDate."""
    raw = h.RawSsm(target, service="secretsmanager", prefix="secretsmanager")
    return raw.ok("DescribeSecret", {"SecretId": sid})


def metric(text, name, labels=""):
    m = re.search(r"^" + re.escape(name + ("{" + labels + "}" if labels else "")) + r" (\S+)$",
                  text, re.M)
    return float(m.group(1)) if m else None


class Client(threading.Thread):
    """Keeps fetching AWSCURRENT and logging in with it until stopped."""

    def __init__(self, target, pg, sid):
        super().__init__(daemon=True)
        self.sm = target.boto3_client("secretsmanager")
        self.pg = pg
        self.sid = sid
        self.stop_event = threading.Event()
        self.ok = 0
        self.failures = []  # descriptions without secret values
        self.versions = set()
        self.passwords = set()

    def run(self):
        while not self.stop_event.is_set():
            try:
                v = self.sm.get_secret_value(SecretId=self.sid)
                secret = json.loads(v["SecretString"])
                self.passwords.add(secret["password"])
                conn = self.pg.connect(secret["username"], secret["password"])
                with conn.cursor() as cur:
                    cur.execute("SELECT 1")
                    cur.fetchone()
                conn.close()
                self.ok += 1
                self.versions.add(v["VersionId"])
            except Exception as exc:  # noqa: BLE001 - every failure counts
                code = getattr(exc, "pgcode", None) or type(exc).__name__
                self.failures.append(f"{type(exc).__name__} ({code})")
            time.sleep(0.02)


def write_failing_hook(path, marker_dir, other_arn):
    with open(path, "w") as f:
        f.write(f"""#!/usr/bin/python3
# A rotation hook whose testSecret always fails (test double of a broken hook).
import os, sys
import boto3
step = sys.argv[1]
with open(os.path.join({marker_dir!r}, "calls"), "a") as f:
    f.write(step + "\\n")
if step == "testSecret":
    with open(os.path.join({marker_dir!r}, "key-prefix"), "w") as f:
        f.write(os.environ.get("AWS_ACCESS_KEY_ID", "")[:4])
    sm = boto3.client("secretsmanager", endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                      region_name=os.environ["AWS_REGION"])
    try:
        sm.get_secret_value(SecretId={other_arn!r})
        result = "allowed"
    except Exception as exc:
        result = getattr(exc, "response", {{}}).get("Error", {{}}).get("Code", type(exc).__name__)
    with open(os.path.join({marker_dir!r}, "scope"), "w") as f:
        f.write(result)
    print("coffer-error: simulated testSecret failure: login refused", file=sys.stderr)
    sys.exit(1)
if step == "setSecret":
    sys.exit(0)  # leaves the role's password alone
os.execv({HOOK!r}, [{HOOK!r}] + sys.argv[1:])
""")
    os.chmod(path, 0o755)


def body(args, ck):
    if args.target != "coffer":
        h.skip("rotation hooks are Coffer's")
    pg_bin = find_pg_bin()
    if pg_bin is None:
        h.skip("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
               "(apt-get install postgresql)")
    import psycopg2  # noqa: F401 - fail loudly if missing (scripts/setup.sh installs it)

    pg = Postgres(pg_bin).start()
    t = h.CofferServer(args.coffer, extra_args=[
        "--rotation-retry-min", "1", "--rotation-retry-max", "2"]).start()
    known_secrets = {pg.password}
    try:
        sm = t.boto3_client("secretsmanager")
        iam = t.boto3_client("iam")

        # --- the database side ------------------------------------------------------------
        app_pw, solo_pw, flaky_pw = (secrets.token_urlsafe(18) for _ in range(3))
        known_secrets |= {app_pw, solo_pw, flaky_pw}
        for role, pw in (("app", app_pw), ("solo", solo_pw), ("flaky", flaky_pw)):
            pg.admin(f'CREATE ROLE "{role}" LOGIN PASSWORD %s', (pw,))
        ck.true(pg.can_login("app", app_pw), "app role logs in with its first password")

        master = sm.create_secret(Name="pg/master",
                                  SecretString=pg.secret_value("postgres", pg.password))
        app = sm.create_secret(Name="pg/app", SecretString=pg.secret_value(
            "app", app_pw, masterarn=master["ARN"]))
        solo = sm.create_secret(Name="pg/solo", SecretString=pg.secret_value("solo", solo_pw))
        flaky = sm.create_secret(Name="pg/flaky",
                                 SecretString=pg.secret_value("flaky", flaky_pw))

        # The alternating-users hook reads the master secret: grant that to the app secret's
        # rotation role (its name is derived from the secret's ARN, docs/rotation-hooks.md).
        role = "coffer-rotation-" + hashlib.sha256(app["ARN"].encode()).hexdigest()[:32]
        iam.create_role(RoleName=role, Path="/coffer/rotation/",
                        AssumeRolePolicyDocument=DENY_ALL_TRUST)
        iam.put_role_policy(RoleName=role, PolicyName="read-master", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                "Resource": master["ARN"]}]}))

        # --- 1. alternating users, several rotations, a client that never fails -----------
        client = Client(t, pg, "pg/app")
        client.start()
        ck.true(wait_for(lambda: client.ok > 0 or client.failures, 30),
                "client logged in before rotation")
        v0 = current_version(sm, "pg/app")
        r = sm.rotate_secret(SecretId="pg/app", RotationLambdaARN=HOOK,
                             RotationRules={"ScheduleExpression": "cron(* * * * ? *)"},
                             RotateImmediately=True)
        ck.true(r.get("VersionId"), "RotateSecret returns the pending version id")
        v1 = wait_rotated(sm, "pg/app", v0)
        ck.true(v1 is not None, "first rotation (RotateImmediately) finished")
        ck.eq(v1, r.get("VersionId"), "AWSCURRENT is on the RotateSecret token's version")
        d = raw_describe(t, "pg/app")
        ck.eq(d.get("RotationEnabled"), True, "RotationEnabled")
        ck.true("LastRotatedDate" in d, "LastRotatedDate set after rotation")
        ck.true("NextRotationDate" in d and d["NextRotationDate"] > d["LastRotatedDate"]
                and d["NextRotationDate"] % 60 == 0,
                "NextRotationDate: the next whole minute after LastRotatedDate")
        ck.eq(stages_of(d).get("AWSPREVIOUS"), v0, "AWSPREVIOUS on the old version")
        first = json.loads(sm.get_secret_value(SecretId="pg/app")["SecretString"])
        ck.eq(first["username"], "app_clone", "alternating users: the clone is current")
        ck.true(pg.can_login("app", app_pw), "the previous user still logs in")

        versions = [v0, v1]
        for i in range(2):
            r = rotate_when_idle(sm, "pg/app")
            v = wait_rotated(sm, "pg/app", versions[-1])
            ck.true(v is not None, f"rotation {i + 2} (RotateSecret) finished")
            versions.append(v)

        # The schedule alone rotates it again (cron every minute), without a RotateSecret.
        scheduled = wait_rotated(sm, "pg/app", versions[-1], timeout=150)
        ck.true(scheduled is not None, "a scheduled rotation happened (cron(* * * * ? *))")
        metrics = h.http_request(t.url + "/metrics", method="GET").body.decode()
        ck.true((metric(metrics, "coffer_rotations_started_total", 'trigger="schedule"') or 0)
                >= 1, "coffer_rotations_started_total{trigger=\"schedule\"} counted")
        # Let the client use the scheduled value too.
        final_version = current_version(sm, "pg/app")
        wait_for(lambda: final_version in client.versions, 30)
        client.stop_event.set()
        client.join(30)
        known_secrets |= client.passwords
        ck.eq(client.failures[:5], [], "client never failed to log in with AWSCURRENT")
        ck.true(len(client.versions) >= 4,
                f"client logged in with several rotated values ({len(client.versions)} versions, "
                f"{client.ok} logins)")
        ok_rotations = metric(metrics, "coffer_rotations_total", 'outcome="succeeded"') or 0
        ck.true(ok_rotations >= 4, f"coffer_rotations_total{{outcome=\"succeeded\"}} >= 4 "
                f"(got {ok_rotations})")

        # --- 2. single user -----------------------------------------------------------------
        s0 = current_version(sm, "pg/solo")
        sm.rotate_secret(SecretId="pg/solo", RotationLambdaARN=HOOK,
                         RotationRules={"AutomaticallyAfterDays": 30})
        s1 = wait_rotated(sm, "pg/solo", s0)
        ck.true(s1 is not None, "single-user rotation finished")
        new = json.loads(sm.get_secret_value(SecretId="pg/solo")["SecretString"])
        old = json.loads(sm.get_secret_value(SecretId="pg/solo",
                                             VersionStage="AWSPREVIOUS")["SecretString"])
        known_secrets.add(new["password"])
        ck.secret_eq(old["password"], solo_pw, "AWSPREVIOUS holds the old password")
        ck.secret_ne(new["password"], solo_pw, "AWSCURRENT holds a new password")
        ck.eq(new["username"], "solo", "single user keeps its username")
        ck.true(pg.can_login("solo", new["password"]), "the new password logs in")
        ck.true(not pg.can_login("solo", solo_pw), "the old password no longer logs in")
        d = raw_describe(t, "pg/solo")
        ck.true(abs(d.get("NextRotationDate", 0) - d.get("LastRotatedDate", 0) - 30 * 86400) < 1,
                "NextRotationDate = LastRotatedDate + 30 days")

        # --- 3. a hook that fails testSecret ------------------------------------------------
        marker = tempfile.mkdtemp(prefix="coffer-e2e-hook-")
        os.chmod(marker, 0o777)  # the hook runs as the server's user
        bad_hook = os.path.join(marker, "failing-hook")
        write_failing_hook(bad_hook, marker, master["ARN"])
        f0 = current_version(sm, "pg/flaky")
        r = sm.rotate_secret(SecretId="pg/flaky", RotationLambdaARN=bad_hook,
                             RotationRules={"AutomaticallyAfterDays": 7})
        pending = r["VersionId"]

        def calls():
            try:
                with open(os.path.join(marker, "calls")) as f:
                    return f.read().split()
            except OSError:
                return []
        ck.true(wait_for(lambda: calls().count("testSecret") >= 2, 60),
                f"testSecret retried after failing (calls: {calls()})")
        ck.true("finishSecret" not in calls(), "finishSecret never called after failed tests")
        ck.eq(calls()[:3], ["createSecret", "setSecret", "testSecret"], "steps in order")
        d = sm.describe_secret(SecretId="pg/flaky")
        st = stages_of(d)
        ck.eq(st.get("AWSCURRENT"), f0, "AWSCURRENT unchanged after failed testSecret")
        ck.eq(st.get("AWSPENDING"), pending, "AWSPENDING stays on the untested version")
        ck.true("LastRotatedDate" not in d, "no LastRotatedDate for a failed rotation")
        cur = json.loads(sm.get_secret_value(SecretId="pg/flaky")["SecretString"])
        ck.secret_eq(cur["password"], flaky_pw, "AWSCURRENT value unchanged")
        pend = json.loads(sm.get_secret_value(SecretId="pg/flaky",
                                              VersionStage="AWSPENDING")["SecretString"])
        known_secrets.add(pend["password"])
        ck.true(pg.can_login("flaky", flaky_pw), "AWSCURRENT still logs in")
        with open(os.path.join(marker, "key-prefix")) as f:
            ck.eq(f.read(), "ASIA", "the hook gets temporary (session) credentials")
        with open(os.path.join(marker, "scope")) as f:
            ck.eq(f.read(), "AccessDeniedException",
                  "the hook's credentials cannot read another secret")

        # The hook logs its call before it fails: wait for the engine to count the second
        # failure too.
        def failure_metrics():
            text = h.http_request(t.url + "/metrics", method="GET").body.decode()
            n = metric(text, "coffer_rotation_step_failures_total", 'step="testSecret"') or 0
            return text if n >= 2 else None
        metrics = wait_for(failure_metrics, 30)
        ck.true(metrics, "coffer_rotation_step_failures_total{step=\"testSecret\"} >= 2")
        metrics = metrics or ""
        ck.true((metric(metrics, "coffer_rotations_failing") or 0) >= 1,
                "coffer_rotations_failing >= 1")
        ck.true((metric(metrics, "coffer_rotation_consecutive_failures",
                        f'secret="{flaky["ARN"]}"') or 0) >= 2,
                "coffer_rotation_consecutive_failures for the failing secret >= 2")
        logs = t.logs().decode(errors="replace")
        failure_lines = [line for line in logs.splitlines()
                         if "secret rotation failed" in line and flaky["ARN"] in line]
        ck.true(failure_lines and '"step":"testSecret"' in failure_lines[0]
                and "simulated testSecret failure" in failure_lines[0],
                "the failure is logged with its step and the hook's reason")

        sm.cancel_rotate_secret(SecretId="pg/flaky")
        ck.eq(sm.describe_secret(SecretId="pg/flaky")["RotationEnabled"], False,
              "CancelRotateSecret stops the failing rotation")
        shutil.rmtree(marker, ignore_errors=True)
    finally:
        try:
            t.stop()
        finally:
            pg.stop()
            logs = t.logs()
            leaked = [s for s in known_secrets if s and s.encode() in logs]
            ck.eq(len(leaked), 0, "no password appears in the server's output")
            t.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_rotation_postgres", body))
