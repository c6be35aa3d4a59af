#!/usr/bin/env python3
"""coffer agent with a SOPS file as its source: the file is decrypted through files/ (an age
key from SOPS_AGE_KEY_FILE), re-rendered when its modification time moves, and a file that no
longer decrypts (a tampered MAC) leaves the target's last good content in place."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agent_harness as ah  # noqa: E402
import coffer_harness as h  # noqa: E402


def body(args, c):
    server = h.CofferServer(args.coffer).start()
    agent = None
    try:
        work = server.work
        key = os.path.join(work, "age.key")
        subprocess.run([args.coffer, "age", "--keygen", "-o", key], check=True,
                       capture_output=True)
        recipient = [l.split(": ")[1] for l in ah.read(key).splitlines()
                     if l.startswith("# public key: ")][0]
        enc = os.path.join(work, "app.enc.yaml")
        canary = h.new_canary()

        def encrypt(values):
            plain = os.path.join(work, "plain.yaml")
            with open(plain, "w") as f:
                f.write("".join(f"{k}: {v}\n" for k, v in values.items()))
            out = subprocess.run([args.coffer, "file", "encrypt", "--age", recipient, plain],
                                 check=True, capture_output=True).stdout
            os.unlink(plain)
            tmp = enc + ".tmp"
            with open(tmp, "wb") as f:
                f.write(out)
            os.replace(tmp, enc)

        encrypt({"db_password": canary, "mode": "blue"})
        os.environ["SOPS_AGE_KEY_FILE"] = key
        target = os.path.join(work, "app.env")
        config = "\n".join([
            "kind: Agent", "metrics: 127.0.0.1:0", "wait: {min: 0s, max: 1s}", "workloads:",
            "  - name: app", f"    sops: [{{file: {enc}}}]",
            f"    targets: [{{type: dotenv, path: {target}}}]"]) + "\n"
        agent = ah.Agent(args.coffer, work, server, config)
        agent.start(endpoint=server.url)
        ah.wait_for(lambda: ah.dotenv(target) == {"db_password": canary, "mode": "blue"}, 60,
                    "the decrypted file in the target")
        encrypt({"db_password": canary, "mode": "green"})
        ah.wait_for(lambda: ah.dotenv(target).get("mode") == "green", 60,
                    "the re-encrypted file re-rendered")
        good = ah.read(target)
        text = ah.read(enc)
        with open(enc + ".tmp", "w") as f:
            f.write(text.replace("mac: ENC[AES256_GCM,data:", "mac: ENC[AES256_GCM,data:AA"))
        os.replace(enc + ".tmp", enc)
        ah.wait_for(lambda: agent.metric("coffer_agent_sync_failures_total") >= 1, 60,
                    "the tampered file's failed sync")
        c.eq(ah.read(target), good, "a file that does not decrypt keeps the last good target")
        c.eq(agent.stop(), 0, "agent stops")
        c.true(canary.encode() not in agent.all_logs(), "no value in the agent's logs")
    finally:
        if agent:
            agent.cleanup()
        server.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_agent_sops", body))
