#!/usr/bin/env python3
"""GET /v1/changes, the change feed (docs/agent.md#the-change-feed), against the real server.

Written as the attacks it must resist: a caller denied a parameter never sees its name in the
feed, an unsigned or unauthorised caller is refused, values never appear. Also: long-poll wakes
on a write, a reader behind the retained window gets 410 with the current revision, and
revisions survive a restart.
"""

import json
import os
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402


def feed(target, query, access_key=None, secret_key=None, signed=True, timeout=90):
    """A GET /v1/changes?<query> (query params in canonical order) -> RawResponse."""
    url = f"{target.url}/v1/changes?{query}"
    headers = {}
    if signed:
        headers = h.sigv4_headers("GET", url, {}, b"", access_key or target.access_key,
                                  secret_key or target.secret_key, h.REGION, "coffer")
    parsed = urllib.parse.urlsplit(url)
    import http.client
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
    try:
        conn.request("GET", f"{parsed.path}?{parsed.query}", headers=headers)
        r = conn.getresponse()
        return h.RawResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def body(args, c):
    server = h.CofferServer(args.coffer).start()
    try:
        ssm = server.boto3_client("ssm")
        sm = server.boto3_client("secretsmanager")
        canary = h.new_canary()
        ssm.put_parameter(Name="/app/a", Value=canary, Type="SecureString")
        ssm.put_parameter(Name="/denied/x", Value=canary, Type="String")
        sm.create_secret(Name="prod/db", SecretString=canary)
        reader = h.create_user_with_policy(server, c, "reader", json.dumps({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["coffer:ReadChanges", "ssm:GetParameter",
                                               "secretsmanager:GetSecretValue"],
                 "Resource": "*"},
                {"Effect": "Deny", "Action": "ssm:GetParameter",
                 "Resource": "arn:aws:ssm:us-east-1:000000000000:parameter/denied/*"},
                {"Effect": "Deny", "Action": "ssm:GetParameter", "Resource": "*",
                 "Condition": {"StringEquals": {"ssm:ResourceTag/team": "red"}}}]}))
        # A secret whose resource policy denies the reader, and a parameter whose tag a Deny
        # names: neither may appear in the reader's feed.
        sm.create_secret(Name="prod/hidden", SecretString=canary)
        sm.put_resource_policy(SecretId="prod/hidden", ResourcePolicy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Principal": {"AWS": "*"},
                           "Action": "secretsmanager:GetSecretValue", "Resource": "*",
                           "Condition": {"StringLike": {"aws:PrincipalArn": "*:user/reader"}}}]}))
        ssm.put_parameter(Name="/app/tagged", Value=canary, Type="String",
                          Tags=[{"Key": "team", "Value": "red"}])
        plain = h.create_user_with_policy(server, c, "plain", json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["coffer:ReadChanges", "ssm:GetParameter"],
                           "Resource": "*"}]}))
        nofeed = h.create_user_with_policy(server, c, "nofeed", json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}]}))

        # 1. Filtered: the denied name never appears; values never appear.
        r = feed(server, "since=0", *reader)
        c.eq(r.status, 200, "reader reads the feed")
        names = [(x["type"], x["name"]) for x in r.json["changes"]]
        c.true(("parameter", "/app/a") in names, "the feed names /app/a", str(names))
        c.true(("secret", "prod/db") in names, "the feed names secret prod/db", str(names))
        c.true(all(n != "/denied/x" for _, n in names), "a denied parameter never appears",
               str(names))
        c.true(("secret", "prod/hidden") not in names,
               "a secret whose resource policy denies the reader never appears", str(names))
        c.true(("parameter", "/app/tagged") not in names,
               "a parameter denied by a tag condition never appears", str(names))
        c.true(canary.encode() not in r.body, "no value in the feed's answer")
        c.eq([x["version"] for x in r.json["changes"] if x["name"] == "/app/a"], ["1"],
             "the change carries the parameter's version")
        rev = r.json["revision"]
        admin = feed(server, "since=0")
        c.true(any(x["name"] == "/denied/x" for x in admin.json["changes"]),
               "the admin sees /denied/x (the filter is per caller)")

        # 2. Long-poll: a denied write does not end the wait; a readable one does.
        result = {}

        def poll():
            result["r"] = feed(server, f"since={rev}&wait=30", *reader)

        t = threading.Thread(target=poll)
        t.start()
        ssm.put_parameter(Name="/denied/y", Value=canary, Type="String")
        ssm.put_parameter(Name="/app/b", Value=canary, Type="String")
        t.join(60)
        r = result.get("r")
        c.true(r is not None and r.status == 200, "the long-poll answers")
        if r is not None and r.status == 200:
            got = [x["name"] for x in r.json["changes"]]
            c.true("/app/b" in got, "the long-poll returns the new readable change", str(got))
            c.true("/denied/y" not in got, "the long-poll never shows the denied write", str(got))
            rev = r.json["revision"]
        # Deleting shows as deleted -- to a caller whose policies do not depend on resource
        # tags; a caller whose do (reader) is not shown deletions: the deleted parameter's tags
        # are gone, so the decision cannot be made, and the feed fails closed.
        ssm.delete_parameter(Name="/app/b")
        r = feed(server, f"since={rev}", *plain)
        c.eq([(x["name"], x["deleted"]) for x in r.json["changes"]], [("/app/b", True)],
             "a deletion is reported as deleted")
        r = feed(server, f"since={rev}", *reader)
        c.eq(r.json["changes"], [], "a tag-conditioned caller is not shown a deletion")

        # 3. Refusals: unsigned, a bad signature, no coffer:ReadChanges.
        r = feed(server, "since=0", signed=False)
        c.eq(r.status, 403, "an unsigned feed read is refused")
        c.true(canary.encode() not in r.body and b"/app/a" not in r.body,
               "the refusal carries no name or value")
        r = feed(server, "since=0", reader[0], "wrong" + reader[1][5:])
        c.eq(r.status, 403, "a wrongly signed feed read is refused")
        r = feed(server, "since=0", *nofeed)
        c.eq(r.status, 403, "a caller without coffer:ReadChanges is refused")
        c.eq((r.json or {}).get("code"), "AccessDenied", "the refusal is AccessDenied")
        r = feed(server, "since=-1", *reader)
        c.eq(r.status, 400, "a negative revision is a ValidationError")
        r = feed(server, "since=0&wait=61", *reader)
        c.eq(r.status, 400, "a wait above 60 s is a ValidationError")

        # 4. Revisions survive a restart.
        before = feed(server, "since=0").json["revision"]
        server.restart()
        after = feed(server, f"since={before}")
        c.eq(after.status, 200, "the saved revision is still readable after a restart")
        c.eq(after.json["revision"], before, "the revision survives the restart")

        # 5. Behind the retained window: 410 with the current revision.
        server.extra_args = ["--feed-retained-events", "4"]
        server.restart()
        ssm = server.boto3_client("ssm")  # the port changed
        for i in range(6):
            ssm.put_parameter(Name=f"/app/many{i}", Value="v", Type="String")
        gone = feed(server, f"since={before}", *reader)
        c.eq(gone.status, 410, "a reader behind the retained window gets 410")
        cur = (gone.json or {}).get("revision")
        c.true(isinstance(cur, int) and cur > before, "the 410 carries the current revision",
               str(gone.json))
        r = feed(server, f"since={cur}", *reader)
        c.eq((r.status, r.json.get("changes")), (200, []),
             "following from the 410's revision works")
        r = feed(server, "since=999999999", *reader)
        c.eq(r.status, 410, "a revision newer than the store is 410 (resync)")
        server.assert_no_canary_in_logs(c, [canary])
        audit = open(os.path.join(server.data_dir, "audit.log"), "rb").read()
        c.true(b"ReadChanges" in audit, "feed reads are audited")
        c.true(canary.encode() not in audit, "no value in the audit log")
    finally:
        server.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_changes_feed", body))
