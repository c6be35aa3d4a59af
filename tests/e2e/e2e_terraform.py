#!/usr/bin/env python3
"""Terraform manages Coffer (issue 11): the real `terraform` CLI and the hashicorp/aws provider
pointed at a dev server, through a whole lifecycle.

The configuration (tests/e2e/terraform/main.tf, also the worked example of docs/terraform.md)
has every resource and data source the issue lists: a tagged KMS key with rotation and an alias,
SSM parameters (String, SecureString under the key), a secret under the key with a version, a
resource policy and rotation, IAM roles (an app role with a managed and an inline policy, a CI
role trusting the GitHub OIDC provider), a managed policy, a user with an access key, a group,
and the data sources aws_caller_identity, aws_kms_key, aws_ssm_parameter,
aws_ssm_parameters_by_path, aws_secretsmanager_secret_version and aws_iam_policy_document.

  1. apply, then check every value through the aws CLI (/usr/bin/aws);
  2. `terraform plan -detailed-exitcode` must report no changes;
  3. change values and tags (the password, the team tag), apply, check, plan: no changes;
  4. forget every resource (`terraform state rm`), import them back (one with `terraform import`,
     the others with import blocks), apply, plan: no changes;
  5. destroy, and check through the aws CLI that everything is gone (the key pending deletion);
  6. no secret value in the server log or the audit log.

Skips (exit 77) when `terraform` is not on PATH or the provider is not in the local mirror
(COFFER_TF_PLUGIN_DIR, default: the machine's provider mirror below, in the filesystem_mirror
layout). Nothing is
downloaded: the CLI configuration allows the mirror only.

Usage: e2e_terraform.py --coffer build/coffer
"""

import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# Where this machine kind installs the provider mirror (installed software, like /usr/bin/aws).
PLUGIN_DIR = os.environ.get("COFFER_TF_PLUGIN_DIR",
                            "/opt/tf-plugins")  # standalone-check: allow (the installed mirror)
PROVIDER = os.path.join(PLUGIN_DIR, "registry.terraform.io", "hashicorp", "aws")
ACCT = "000000000000"

# Resources removed from the state and imported back, with their import ids (None: computed).
IMPORTS = [
    ("aws_ssm_parameter.db_host", "/app/prod/db/host"),
    ("aws_ssm_parameter.db_password", "/app/prod/db/password"),
    ("aws_kms_key.app", None),
    ("aws_kms_alias.app", "alias/app"),
    ("aws_secretsmanager_secret.api", None),
    ("aws_secretsmanager_secret_policy.api", None),
    ("aws_secretsmanager_secret_rotation.api", None),
    ("aws_iam_role.app", "app-prod"),
    ("aws_iam_role.ci", "ci-deploy"),
    ("aws_iam_policy.read_params", f"arn:aws:iam::{ACCT}:policy/read-params-prod"),
    ("aws_iam_role_policy_attachment.app",
     f"app-prod/arn:aws:iam::{ACCT}:policy/read-params-prod"),
    ("aws_iam_role_policy.app_inline", "app-prod:describe-secret"),
    ("aws_iam_user.alice", "alice"),
    ("aws_iam_group.ops", "ops"),
    ("aws_iam_openid_connect_provider.github",
     f"arn:aws:iam::{ACCT}:oidc-provider/token.actions.githubusercontent.com"),
]


class Terraform:
    def __init__(self, t, work):
        self.work = work
        self.dir = os.path.join(work, "config")
        os.makedirs(self.dir)
        shutil.copy(os.path.join(HERE, "terraform", "main.tf"), self.dir)
        cli_config = os.path.join(work, "cli.tfrc")
        with open(cli_config, "w") as f:
            f.write('provider_installation {\n'
                    f'  filesystem_mirror {{\n    path = "{PLUGIN_DIR}"\n'
                    '    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n'
                    '  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n')
        self.env = t.env()
        self.env.update({"TF_CLI_CONFIG_FILE": cli_config, "TF_IN_AUTOMATION": "1",
                         "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1",
                         "TF_DATA_DIR": os.path.join(work, "tfdata"),
                         "HOME": work})
        self.vars = {"endpoint": t.url}

    def run(self, *args, check=True, with_vars=True, timeout=600):
        """terraform ARGS[0] -no-color [-var ...] ARGS[1:]: options before the positionals."""
        words = 2 if args[0] == "state" else 1  # "state show", "state rm"
        argv = ["terraform"] + list(args[:words]) + ["-no-color"]
        if with_vars:
            for k, v in self.vars.items():
                argv += ["-var", f"{k}={v}"]
        argv += list(args[words:])
        started = time.monotonic()
        p = subprocess.run(argv, cwd=self.dir, env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        print(f"terraform {' '.join(args[:words])}: {time.monotonic() - started:.1f} s")
        if check and p.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({p.returncode}):\n"
                               f"{p.stdout[-4000:]}\n{p.stderr[-4000:]}")
        return p

    def plan_has_no_changes(self, ck, what):
        p = self.run("plan", "-detailed-exitcode", "-input=false", check=False)
        ck.eq(p.returncode, 0, f"{what}: terraform plan -detailed-exitcode shows no changes",
              aws_only=False)
        if p.returncode != 0:
            print(p.stdout[-6000:], p.stderr[-3000:])

    def outputs(self):
        return json.loads(self.run("output", "-json", with_vars=False).stdout)

    def state_attrs(self):
        """{resource address: attribute values} of the managed resources, from one `terraform
        show -json` (one terraform start instead of one `state show` per attribute)."""
        state = json.loads(self.run("show", "-json", with_vars=False).stdout)
        resources = state.get("values", {}).get("root_module", {}).get("resources", [])
        return {r["address"]: r.get("values", {}) for r in resources if r.get("mode") == "managed"}


def aws_json(t, ck, args, what):
    r = t.aws(args)
    ck.cli_ok(r, what)
    return json.loads(r.out) if r.rc == 0 and r.out.strip() else {}


def tags_of(tag_list, key="Key", value="Value"):
    return {x[key]: x[value] for x in tag_list or []}


def check_applied(t, ck, password, team, stage):
    """The values Terraform created, read back through the aws CLI."""
    p = aws_json(t, ck, ["ssm", "get-parameter", "--name", "/app/prod/db/password",
                         "--with-decryption"], f"{stage}: get-parameter")
    ck.secret_eq(p.get("Parameter", {}).get("Value"), password,
                 f"{stage}: the SecureString holds the password")
    meta = aws_json(t, ck, ["ssm", "describe-parameters", "--parameter-filters",
                            "Key=Name,Values=/app/prod/db/password"], f"{stage}: describe")
    key = aws_json(t, ck, ["kms", "describe-key", "--key-id", "alias/app"],
                   f"{stage}: describe-key alias/app")["KeyMetadata"]
    ck.eq([m.get("KeyId") for m in meta.get("Parameters", [])], [key["Arn"]],
          f"{stage}: the parameter is sealed under the key")
    ck.eq(key["KeyState"], "Enabled", f"{stage}: the key is enabled")
    tags = aws_json(t, ck, ["kms", "list-resource-tags", "--key-id", key["KeyId"]],
                    f"{stage}: list-resource-tags")
    ck.eq(tags_of(tags.get("Tags"), "TagKey", "TagValue"), {"env": "prod", "team": team},
          f"{stage}: the key's tags")
    rot = aws_json(t, ck, ["kms", "get-key-rotation-status", "--key-id", key["KeyId"]],
                   f"{stage}: rotation status")
    ck.eq(rot.get("KeyRotationEnabled"), True, f"{stage}: key rotation is on")
    pol = aws_json(t, ck, ["kms", "get-key-policy", "--key-id", key["KeyId"],
                           "--policy-name", "default"], f"{stage}: get-key-policy")
    ck.true("kms:*" in pol.get("Policy", ""), f"{stage}: the key has the default key policy")

    s = aws_json(t, ck, ["secretsmanager", "get-secret-value", "--secret-id", "app/prod/api-key"],
                 f"{stage}: get-secret-value")
    ck.secret_eq(json.loads(s.get("SecretString", "{}")).get("key"), password,
                 f"{stage}: the secret holds the password")
    d = aws_json(t, ck, ["secretsmanager", "describe-secret", "--secret-id", "app/prod/api-key"],
                 f"{stage}: describe-secret")
    ck.eq(d.get("KmsKeyId"), key["Arn"], f"{stage}: the secret is under the key")
    ck.eq(d.get("Description"), f"third-party API key for {team}", f"{stage}: description")
    ck.eq(tags_of(d.get("Tags")), {"env": "prod"}, f"{stage}: the secret's tags")
    ck.eq((d.get("RotationEnabled"), d.get("RotationRules", {}).get("AutomaticallyAfterDays")),
          (True, 30), f"{stage}: rotation every 30 days")
    rp = aws_json(t, ck, ["secretsmanager", "get-resource-policy", "--secret-id",
                          "app/prod/api-key"], f"{stage}: get-resource-policy")
    ck.true(f"arn:aws:iam::{ACCT}:role/apps/app-prod" in rp.get("ResourcePolicy", ""),
            f"{stage}: the resource policy names the app role")

    role = aws_json(t, ck, ["iam", "get-role", "--role-name", "app-prod"],
                    f"{stage}: get-role")["Role"]
    ck.eq(role["Path"], "/apps/", f"{stage}: the role's path")
    ck.eq(tags_of(role.get("Tags")), {"env": "prod", "team": team}, f"{stage}: the role's tags")
    att = aws_json(t, ck, ["iam", "list-attached-role-policies", "--role-name", "app-prod"],
                   f"{stage}: attached policies")
    ck.eq([a["PolicyName"] for a in att.get("AttachedPolicies", [])], ["read-params-prod"],
          f"{stage}: the managed policy is attached")
    inline = aws_json(t, ck, ["iam", "list-role-policies", "--role-name", "app-prod"],
                      f"{stage}: inline policies")
    ck.eq(inline.get("PolicyNames"), ["describe-secret"], f"{stage}: the inline policy")
    ci = aws_json(t, ck, ["iam", "get-role", "--role-name", "ci-deploy"], f"{stage}: ci role")
    ck.true("token.actions.githubusercontent.com" in json.dumps(ci),
            f"{stage}: the CI role trusts the GitHub OIDC provider")
    user = aws_json(t, ck, ["iam", "get-user", "--user-name", "alice"], f"{stage}: get-user")
    ck.eq((user["User"]["Path"], tags_of(user["User"].get("Tags"))), ("/people/", {"team": team}),
          f"{stage}: the user's path and tags")
    keys = aws_json(t, ck, ["iam", "list-access-keys", "--user-name", "alice"],
                    f"{stage}: list-access-keys")
    ck.eq(len(keys.get("AccessKeyMetadata", [])), 1, f"{stage}: alice has one access key")
    aws_json(t, ck, ["iam", "get-group", "--group-name", "ops"], f"{stage}: get-group")
    aws_json(t, ck, ["iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn",
                     f"arn:aws:iam::{ACCT}:oidc-provider/token.actions.githubusercontent.com"],
             f"{stage}: the OIDC provider")


def body(args, ck):
    if args.target != "coffer":
        h.skip("this test drives a Coffer server")
    if shutil.which("terraform") is None:
        h.skip("terraform is not on PATH")
    if not os.path.isdir(PROVIDER):
        h.skip(f"the hashicorp/aws provider is not in the local mirror {PLUGIN_DIR}")
    if not os.access(h.AWS_V2, os.X_OK):
        h.skip(f"{h.AWS_V2} (awscli v2) is not installed")
    t = h.CofferServer(args.coffer).start()
    first, second = h.new_canary(), h.new_canary()
    try:
        tf = Terraform(t, t.work)
        tf.run("init", "-input=false", with_vars=False)

        # 1-2. create, check, no changes
        tf.vars.update({"db_password": first, "team": "payments"})
        tf.run("apply", "-auto-approve", "-input=false")
        out = tf.outputs()
        ck.eq(out["account"]["value"], ACCT, "aws_caller_identity answers the account")
        ck.eq(out["param_names"]["value"], ["/app/prod/db/host", "/app/prod/db/password"],
              "aws_ssm_parameters_by_path lists the parameters")
        ck.eq((out["password_matches"]["value"], out["secret_matches"]["value"]), (True, True),
              "the data sources read the values back")
        check_applied(t, ck, first, "payments", "created")
        tf.plan_has_no_changes(ck, "after create")

        # 3. update values and tags
        tf.vars.update({"db_password": second, "team": "platform"})
        tf.run("apply", "-auto-approve", "-input=false")
        check_applied(t, ck, second, "platform", "updated")
        hist = aws_json(t, ck, ["ssm", "get-parameter-history", "--name",
                                "/app/prod/db/password"], "parameter history")
        ck.eq([p["Version"] for p in hist.get("Parameters", [])], [1, 2],
              "the password parameter has two versions")
        tf.plan_has_no_changes(ck, "after update")

        # 4. import
        ids = dict(IMPORTS)
        attrs = tf.state_attrs()
        ids["aws_kms_key.app"] = attrs["aws_kms_key.app"]["key_id"]
        secret_arn = attrs["aws_secretsmanager_secret.api"]["arn"]
        for r in ("aws_secretsmanager_secret.api", "aws_secretsmanager_secret_policy.api",
                  "aws_secretsmanager_secret_rotation.api"):
            ids[r] = secret_arn
        tf.run("state", "rm", *[resource for resource, _ in IMPORTS], with_vars=False)
        # One through `terraform import`, the rest through import blocks (one plan for all).
        first_import, rest = IMPORTS[0][0], IMPORTS[1:]
        p = tf.run("import", "-input=false", first_import, ids[first_import], check=False)
        ck.eq(p.returncode, 0, f"terraform import {first_import}")
        if p.returncode != 0:
            print(p.stdout[-3000:], p.stderr[-3000:])
        imports_tf = os.path.join(tf.dir, "imports.tf")
        with open(imports_tf, "w") as f:
            for resource, _ in rest:
                f.write(f'import {{\n  to = {resource}\n  id = "{ids[resource]}"\n}}\n')
        p = tf.run("plan", "-input=false", "-out=import.tfplan", check=False)
        ck.true(p.returncode == 0 and f"{len(rest)} to import, 0 to add" in p.stdout,
                "the import blocks plan to import every resource and to create nothing",
                p.stdout[-3000:])
        # Arguments that no read can return (the key's deletion window, the lockout bypass
        # flag) come back into the state with an apply that calls nothing else. Applying the
        # saved plan imports exactly what the plan above showed, without a second refresh.
        tf.run("apply", "-auto-approve", "-input=false", "import.tfplan", with_vars=False)
        os.remove(imports_tf)
        tf.plan_has_no_changes(ck, "after import")
        check_applied(t, ck, second, "platform", "imported")

        # 5. destroy: everything is gone
        tf.run("destroy", "-auto-approve", "-input=false")
        r = t.aws(["ssm", "get-parameter", "--name", "/app/prod/db/password"])
        ck.cli_error(r, "ParameterNotFound", "GetParameter", "the parameter is gone")
        r = t.aws(["secretsmanager", "describe-secret", "--secret-id", "app/prod/api-key"])
        ck.cli_error(r, "ResourceNotFoundException", "DescribeSecret", "the secret is gone")
        key = aws_json(t, ck, ["kms", "describe-key", "--key-id", ids["aws_kms_key.app"]],
                       "describe-key after destroy")
        ck.eq(key.get("KeyMetadata", {}).get("KeyState"), "PendingDeletion",
              "the key is pending deletion")
        aliases = aws_json(t, ck, ["kms", "list-aliases"], "list-aliases after destroy")
        ck.true(all(a["AliasName"] != "alias/app" for a in aliases.get("Aliases", [])),
                "the alias is gone")
        for args_, op in ((["iam", "get-role", "--role-name", "app-prod"], "GetRole"),
                          (["iam", "get-role", "--role-name", "ci-deploy"], "GetRole"),
                          (["iam", "get-user", "--user-name", "alice"], "GetUser"),
                          (["iam", "get-group", "--group-name", "ops"], "GetGroup"),
                          (["iam", "get-policy", "--policy-arn",
                            f"arn:aws:iam::{ACCT}:policy/read-params-prod"], "GetPolicy")):
            ck.cli_error(t.aws(args_), "NoSuchEntity", op, f"{' '.join(args_[1:])}: gone")
        providers = aws_json(t, ck, ["iam", "list-open-id-connect-providers"], "providers")
        ck.eq(providers.get("OpenIDConnectProviderList"), [], "the OIDC provider is gone")

        t.stop()
        t.assert_no_canary_in_logs(ck, [first, second])
        audit = open(os.path.join(t.data_dir, "audit.log"), "rb").read()
        ck.true(first.encode() not in audit and second.encode() not in audit,
                "no secret value in the audit log")
    finally:
        t.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_terraform", body))
