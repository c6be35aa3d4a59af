#!/usr/bin/env python3
"""coffer agent reads External Secrets Operator documents as ESO's documentation writes them
(tests/data/eso/README.md names each source) and renders the Secret content ESO renders."""

import base64
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agent_harness as ah  # noqa: E402
import coffer_harness as h  # noqa: E402

ESO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "eso")


def fixture(name):
    with open(os.path.join(ESO, name)) as f:
        return f.read()


def secret_data(path):
    import yaml
    text = ah.read(path)
    if not text:
        return None
    doc = yaml.safe_load(text)
    return {k: base64.b64decode(v).decode() for k, v in (doc.get("data") or {}).items()}


def body(args, c):
    server = h.CofferServer(args.coffer).start()
    agent = None
    try:
        work = server.work
        friends = fixture("friendslist.json")
        server.boto3_client("ssm").put_parameter(Name="friendslist", Value=friends, Type="String")
        sm = server.boto3_client("secretsmanager")
        sm.create_secret(Name="friendslist", SecretString=friends)
        sm.create_secret(Name="db-credentials", SecretString='{"user":"app","password":"s3cr3t"}')
        manifests = os.path.join(work, "manifests")
        config = (f"kind: Agent\nmetrics: 127.0.0.1:0\nesoManifestDir: {manifests}\n"
                  "wait: {min: 0s, max: 1s}\n")
        for name in ("parameterstore-store.yaml", "secretsmanager-store.yaml",
                     "secretsmanager-external-secret.yaml", "parameterstore-external-secret.yaml",
                     "template-external-secret.yaml"):
            config += "---\n" + fixture(name)
        agent = ah.Agent(args.coffer, work, server, config)
        agent.start(endpoint=server.url)
        want = {"my_name": "Tom", "first_friend": "Roger"}
        got = ah.wait_for(lambda: secret_data(os.path.join(manifests, "friends.yaml")), 60,
                          "the Secrets Manager ExternalSecret's manifest")
        c.eq(got, want, "aws-sm-external-secret.yaml renders what ESO's docs say")
        got = ah.wait_for(lambda: secret_data(os.path.join(manifests, "extract-data.yaml")), 60,
                          "the Parameter Store ExternalSecret's manifest")
        c.eq(got, want, "the Parameter Store example renders what ESO's docs say")
        got = ah.wait_for(lambda: secret_data(os.path.join(manifests, "db-config.yaml")), 60,
                          "the templated ExternalSecret's manifest")
        c.eq(got, {"config.yml": 'user: app\npassword: "s3cr3t"\n',
                   "url": "postgres://app:s3cr3t@db:5432/app"},
             "target.template.data (engine v2) with dataFrom.extract")
        # A change in the source is pushed through the feed into the manifest.
        sm.put_secret_value(SecretId="friendslist",
                            SecretString=friends.replace('"Tom"', '"Thomas"'))
        ah.wait_for(lambda: (secret_data(os.path.join(manifests, "friends.yaml")) or {})
                    .get("my_name") == "Thomas", 60, "the pushed change")
        c.true(True, "a Secrets Manager change reaches the ESO manifest through the feed")
        c.eq(agent.stop(), 0, "agent stops")
    finally:
        if agent:
            agent.cleanup()
        server.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_agent_eso", body))
