#!/usr/bin/env python3
"""Every IAM operation of issue #4 through the real AWS CLI (v2 = /usr/bin/aws 2.9.19, v1 =
pyenv aws 1.45): the whole life of each identity kind (user, access key, group, role, managed
policy and its versions, inline policies of users, groups and roles, OIDC provider), the errors
AWS gives (NoSuchEntity, EntityAlreadyExists, DeleteConflict, MalformedPolicyDocument,
ValidationError), and the effect of each change on what the identity may do: a deactivated key
is refused and works again when reactivated, a new default policy version takes effect at once,
a detached policy stops granting, a deleted key and user stop signing.

Usage: e2e_iam_cli.py --coffer build/coffer --cli v2|v1
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

ACCT = "000000000000"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def read_policy(path):
    return doc({"Effect": "Allow", "Action": "ssm:GetParameter",
                "Resource": f"arn:aws:ssm:*:{ACCT}:parameter{path}"})


def run(t, cli, ck):
    def aws(*args, env=None):
        return t.aws(list(args), cli=cli, env=env)

    def iam(*args, env=None):
        return aws("iam", *args, env=env)

    def ok(res, what):
        ck.cli_ok(res, what)
        return res.json or {}

    # --- users and access keys ---------------------------------------------------------------
    u = ok(iam("create-user", "--user-name", "dana", "--path", "/team/"), "create-user")
    ck.eq(u.get("User", {}).get("Arn"), f"arn:aws:iam::{ACCT}:user/team/dana",
          "create-user answers the ARN with its path")
    ck.cli_error(iam("create-user", "--user-name", "dana"), "EntityAlreadyExists", "CreateUser",
                 "create-user twice")
    ck.eq(ok(iam("get-user", "--user-name", "dana"), "get-user").get("User", {}).get("UserName"),
          "dana", "get-user")
    ck.cli_error(iam("get-user", "--user-name", "nobody"), "NoSuchEntity", "GetUser",
                 "get-user unknown")
    names = [x["UserName"] for x in ok(iam("list-users"), "list-users").get("Users", [])]
    ck.true("dana" in names, "list-users lists the user", str(names))
    names = [x["UserName"] for x in
             ok(iam("list-users", "--path-prefix", "/team/"), "list-users --path-prefix")
             .get("Users", [])]
    ck.eq(names, ["dana"], "list-users --path-prefix /team/")

    k = ok(iam("create-access-key", "--user-name", "dana"), "create-access-key").get(
        "AccessKey", {})
    akid, secret = k.get("AccessKeyId", ""), k.get("SecretAccessKey", "")
    ck.eq(k.get("Status"), "Active", "a new key is Active")
    keys = ok(iam("list-access-keys", "--user-name", "dana"), "list-access-keys")
    ck.eq([x["AccessKeyId"] for x in keys.get("AccessKeyMetadata", [])], [akid],
          "list-access-keys")
    ck.true("SecretAccessKey" not in json.dumps(keys), "list-access-keys never shows the secret")
    dana = t.env(access_key=akid, secret_key=secret)
    who = ok(aws("sts", "get-caller-identity", env=dana), "dana signs with her key")
    ck.eq(who.get("Arn"), f"arn:aws:iam::{ACCT}:user/team/dana", "get-caller-identity as dana")

    ok(iam("update-access-key", "--user-name", "dana", "--access-key-id", akid,
           "--status", "Inactive"), "update-access-key Inactive")
    ck.cli_error(aws("sts", "get-caller-identity", env=dana), "InvalidClientTokenId",
                 "GetCallerIdentity", "an inactive key is refused")
    ok(iam("update-access-key", "--user-name", "dana", "--access-key-id", akid,
           "--status", "Active"), "update-access-key Active")
    ok(aws("sts", "get-caller-identity", env=dana), "the key works again once Active")

    # --- managed policies and versions ---------------------------------------------------------
    t.aws(["ssm", "put-parameter", "--name", "/team/a", "--value", "va", "--type", "String"])
    t.aws(["ssm", "put-parameter", "--name", "/team/b", "--value", "vb", "--type", "String"])
    p = ok(iam("create-policy", "--policy-name", "team-read", "--path", "/teams/",
               "--policy-document", read_policy("/team/a")), "create-policy").get("Policy", {})
    parn = p.get("Arn", "")
    ck.eq(parn, f"arn:aws:iam::{ACCT}:policy/teams/team-read", "policy ARN with its path")
    ck.cli_error(iam("create-policy", "--policy-name", "broken", "--policy-document", "{nope"),
                 "MalformedPolicyDocument", "CreatePolicy", "a malformed document is refused")
    ck.cli_error(iam("create-policy", "--policy-name", "team-read",
                     "--policy-document", read_policy("/x")),
                 "EntityAlreadyExists", "CreatePolicy", "create-policy twice")
    got = ok(iam("get-policy", "--policy-arn", parn), "get-policy").get("Policy", {})
    ck.eq((got.get("DefaultVersionId"), got.get("AttachmentCount")), ("v1", 0),
          "get-policy: default v1, not attached")
    listed = [x["PolicyName"] for x in
              ok(iam("list-policies", "--scope", "Local"), "list-policies").get("Policies", [])]
    ck.true("team-read" in listed, "list-policies --scope Local", str(listed))

    ok(iam("attach-user-policy", "--user-name", "dana", "--policy-arn", parn),
       "attach-user-policy")
    ok(aws("ssm", "get-parameter", "--name", "/team/a", env=dana), "v1 grants /team/a")
    ck.cli_error(aws("ssm", "get-parameter", "--name", "/team/b", env=dana),
                 "AccessDeniedException", "GetParameter", "v1 does not grant /team/b")
    v2 = ok(iam("create-policy-version", "--policy-arn", parn, "--policy-document",
                read_policy("/team/b"), "--set-as-default"), "create-policy-version")
    ck.eq(v2.get("PolicyVersion", {}).get("VersionId"), "v2", "the new version is v2")
    ok(aws("ssm", "get-parameter", "--name", "/team/b", env=dana),
       "the new default version takes effect at once")
    ck.cli_error(aws("ssm", "get-parameter", "--name", "/team/a", env=dana),
                 "AccessDeniedException", "GetParameter", "the old version no longer grants")
    v1 = ok(iam("get-policy-version", "--policy-arn", parn, "--version-id", "v1"),
            "get-policy-version v1").get("PolicyVersion", {})
    ck.eq(v1.get("IsDefaultVersion"), False, "v1 is no longer the default")
    document = v1.get("Document")
    if isinstance(document, str):  # URL-encoded JSON on the wire; the CLI may leave it as text
        import urllib.parse
        document = json.loads(urllib.parse.unquote(document))
    ck.eq(document, json.loads(read_policy("/team/a")), "get-policy-version returns v1's document")
    ck.cli_error(iam("delete-policy", "--policy-arn", parn), "DeleteConflict", "DeletePolicy",
                 "an attached policy cannot be deleted")

    # --- groups ---------------------------------------------------------------------------------
    ok(iam("create-group", "--group-name", "ops"), "create-group")
    ok(iam("add-user-to-group", "--group-name", "ops", "--user-name", "dana"), "add-user-to-group")
    ok(iam("attach-group-policy", "--group-name", "ops", "--policy-arn", parn),
       "attach-group-policy")
    ok(iam("put-group-policy", "--group-name", "ops", "--policy-name", "ops-c",
           "--policy-document", read_policy("/team/c")), "put-group-policy")
    got = ok(iam("get-group-policy", "--group-name", "ops", "--policy-name", "ops-c"),
             "get-group-policy")
    ck.eq(got.get("PolicyName"), "ops-c", "get-group-policy")
    t.aws(["ssm", "put-parameter", "--name", "/team/c", "--value", "vc", "--type", "String"])
    ok(aws("ssm", "get-parameter", "--name", "/team/c", env=dana), "the group's inline policy grants")
    ck.cli_error(iam("delete-user", "--user-name", "dana"), "DeleteConflict", "DeleteUser",
                 "a user with keys, policies and groups cannot be deleted")
    ok(iam("remove-user-from-group", "--group-name", "ops", "--user-name", "dana"),
       "remove-user-from-group")
    ck.cli_error(aws("ssm", "get-parameter", "--name", "/team/c", env=dana),
                 "AccessDeniedException", "GetParameter", "out of the group, its policy is gone")
    ok(iam("delete-group-policy", "--group-name", "ops", "--policy-name", "ops-c"),
       "delete-group-policy")
    ck.cli_error(iam("get-group-policy", "--group-name", "ops", "--policy-name", "ops-c"),
                 "NoSuchEntity", "GetGroupPolicy", "a deleted inline policy is gone")
    ok(iam("detach-group-policy", "--group-name", "ops", "--policy-arn", parn),
       "detach-group-policy")

    # --- inline user policies ------------------------------------------------------------------
    ok(iam("put-user-policy", "--user-name", "dana", "--policy-name", "own",
           "--policy-document", read_policy("/team/a")), "put-user-policy")
    ck.eq(ok(iam("get-user-policy", "--user-name", "dana", "--policy-name", "own"),
             "get-user-policy").get("PolicyName"), "own", "get-user-policy")
    ok(aws("ssm", "get-parameter", "--name", "/team/a", env=dana), "the inline user policy grants")
    ok(iam("delete-user-policy", "--user-name", "dana", "--policy-name", "own"),
       "delete-user-policy")
    ck.cli_error(aws("ssm", "get-parameter", "--name", "/team/a", env=dana),
                 "AccessDeniedException", "GetParameter", "the deleted inline policy stops granting")
    ok(iam("detach-user-policy", "--user-name", "dana", "--policy-arn", parn),
       "detach-user-policy")
    ck.cli_error(aws("ssm", "get-parameter", "--name", "/team/b", env=dana),
                 "AccessDeniedException", "GetParameter", "the detached policy stops granting")

    # --- roles ------------------------------------------------------------------------------------
    trust_dana = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/team/dana"},
                      "Action": "sts:AssumeRole"})
    r = ok(iam("create-role", "--role-name", "app", "--path", "/apps/",
               "--assume-role-policy-document", trust_dana, "--max-session-duration", "7200"),
           "create-role").get("Role", {})
    rarn = r.get("Arn", "")
    ck.eq(rarn, f"arn:aws:iam::{ACCT}:role/apps/app", "role ARN with its path")
    got = ok(iam("get-role", "--role-name", "app"), "get-role").get("Role", {})
    ck.eq(got.get("MaxSessionDuration"), 7200, "get-role MaxSessionDuration")
    ck.true("app" in [x["RoleName"] for x in ok(iam("list-roles"), "list-roles").get("Roles", [])],
            "list-roles lists the role")
    ok(iam("attach-role-policy", "--role-name", "app", "--policy-arn", parn),
       "attach-role-policy")
    ok(iam("put-role-policy", "--role-name", "app", "--policy-name", "app-c",
           "--policy-document", read_policy("/team/c")), "put-role-policy")
    ck.eq(ok(iam("get-role-policy", "--role-name", "app", "--policy-name", "app-c"),
             "get-role-policy").get("RoleName"), "app", "get-role-policy")
    c = ok(aws("sts", "assume-role", "--role-arn", rarn, "--role-session-name", "s1", env=dana),
           "dana assumes the role her trust policy names").get("Credentials", {})
    session = t.env()
    session["AWS_ACCESS_KEY_ID"] = c.get("AccessKeyId", "")
    session["AWS_SECRET_ACCESS_KEY"] = c.get("SecretAccessKey", "")
    session["AWS_SESSION_TOKEN"] = c.get("SessionToken", "")
    ok(aws("ssm", "get-parameter", "--name", "/team/b", env=session),
       "the role's managed policy grants to its session")
    ok(aws("ssm", "get-parameter", "--name", "/team/c", env=session),
       "the role's inline policy grants to its session")
    ok(iam("update-assume-role-policy", "--role-name", "app", "--policy-document",
           doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/nobody"},
                "Action": "sts:AssumeRole"})), "update-assume-role-policy")
    ck.cli_error(aws("sts", "assume-role", "--role-arn", rarn, "--role-session-name", "s2",
                     env=dana), "AccessDenied", "AssumeRole",
                 "after update-assume-role-policy dana may no longer assume the role")
    ck.cli_error(iam("update-assume-role-policy", "--role-name", "app",
                     "--policy-document", "[]"),
                 "MalformedPolicyDocument", "UpdateAssumeRolePolicy", "a malformed trust policy")
    ck.cli_error(iam("delete-role", "--role-name", "app"), "DeleteConflict", "DeleteRole",
                 "a role with policies cannot be deleted")
    ok(iam("delete-role-policy", "--role-name", "app", "--policy-name", "app-c"),
       "delete-role-policy")
    ok(iam("detach-role-policy", "--role-name", "app", "--policy-arn", parn),
       "detach-role-policy")
    ok(iam("delete-role", "--role-name", "app"), "delete-role")
    ck.cli_error(iam("get-role", "--role-name", "app"), "NoSuchEntity", "GetRole",
                 "a deleted role is gone")

    # --- OIDC providers ---------------------------------------------------------------------------
    url = "https://token.actions.githubusercontent.com"
    o = ok(iam("create-open-id-connect-provider", "--url", url, "--client-id-list",
               "sts.amazonaws.com", "--thumbprint-list", "a" * 40),
           "create-open-id-connect-provider")
    oarn = o.get("OpenIDConnectProviderArn", "")
    ck.eq(oarn, f"arn:aws:iam::{ACCT}:oidc-provider/token.actions.githubusercontent.com",
          "OIDC provider ARN")
    ck.cli_error(iam("create-open-id-connect-provider", "--url", url, "--thumbprint-list",
                     "a" * 40), "EntityAlreadyExists", "CreateOpenIDConnectProvider",
                 "the same issuer twice")
    got = ok(iam("get-open-id-connect-provider", "--open-id-connect-provider-arn", oarn),
             "get-open-id-connect-provider")
    ck.eq((got.get("Url"), got.get("ClientIDList")),
          ("token.actions.githubusercontent.com", ["sts.amazonaws.com"]),
          "get-open-id-connect-provider: Url without the scheme, client ids")
    arns = [x["Arn"] for x in ok(iam("list-open-id-connect-providers"),
                                 "list-open-id-connect-providers")
            .get("OpenIDConnectProviderList", [])]
    ck.eq(arns, [oarn], "list-open-id-connect-providers")
    ok(iam("delete-open-id-connect-provider", "--open-id-connect-provider-arn", oarn),
       "delete-open-id-connect-provider")
    ck.cli_error(iam("get-open-id-connect-provider", "--open-id-connect-provider-arn", oarn),
                 "NoSuchEntity", "GetOpenIDConnectProvider", "a deleted provider is gone")

    # --- tearing down: policy, keys, user ---------------------------------------------------------
    ok(iam("delete-policy", "--policy-arn", parn), "delete-policy once detached everywhere")
    ck.cli_error(iam("get-policy", "--policy-arn", parn), "NoSuchEntity", "GetPolicy",
                 "a deleted policy is gone")
    ok(iam("delete-group", "--group-name", "ops"), "delete-group")
    ok(iam("delete-access-key", "--user-name", "dana", "--access-key-id", akid),
       "delete-access-key")
    ck.cli_error(aws("sts", "get-caller-identity", env=dana), "InvalidClientTokenId",
                 "GetCallerIdentity", "a deleted key is refused")
    ok(iam("delete-user", "--user-name", "dana"), "delete-user")
    ck.cli_error(iam("get-user", "--user-name", "dana"), "NoSuchEntity", "GetUser",
                 "a deleted user is gone")
    ck.cli_error(iam("delete-user", "--user-name", "dana"), "NoSuchEntity", "DeleteUser",
                 "deleting twice")


def main():
    def extra(p):
        p.add_argument("--cli", choices=["v1", "v2"], default="v2")

    def body(args, ck):
        if args.target != "coffer":
            h.skip("this test drives Coffer's IAM")
        if args.cli == "v2" and not os.access(h.AWS_V2, os.X_OK):
            h.skip("/usr/bin/aws (awscli v2) not installed")
        if args.cli == "v1" and h.pyenv_shim("aws") is None:
            h.skip("pyenv awscli v1 not installed")
        t = h.CofferServer(args.coffer).start()
        try:
            run(t, args.cli, ck)
        finally:
            t.stop()
            t.cleanup()

    return h.run_main("e2e_iam_cli", body, extra_args=extra)


if __name__ == "__main__":
    sys.exit(main())
