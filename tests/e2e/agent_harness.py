"""Helpers for the `coffer agent` end-to-end tests: an agent process, its configuration, a free
port for a server that must keep its address across restarts, and waiting for a file's content.
Standard library only."""

import os
import re
import signal
import socket
import subprocess
import time

import coffer_harness as h


def free_port():
    """A port free right now (for a server restarted on the same address)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode()
    except OSError:
        return None


def wait_for(predicate, timeout, what):
    """Polls `predicate` until it is true; raises naming `what` after `timeout` seconds. The
    timeout bounds a hang; it is not a performance threshold."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def count_lines(path):
    text = read(path)
    return 0 if not text else len(text.splitlines())


def dotenv(path):
    """KEY="value" lines -> dict (the agent's dotenv escaping undone)."""
    out = {}
    for line in (read(path) or "").splitlines():
        k, _, v = line.partition("=")
        v = v[1:-1].replace("\\n", "\n").replace('\\"', '"').replace("\\$", "$")
        out[k] = v.replace("\\\\", "\\")
    return out


class Agent:
    def __init__(self, binary, work, server, config_text, name="agent"):
        self.binary = os.path.abspath(binary)
        self.work = work
        self.server = server
        self.config = os.path.join(work, f"{name}.yaml")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.proc = None
        self.runs = 0
        self.name = name
        self.metrics = None
        self.logs = []

    def env(self):
        e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        e["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(self.server.data_dir, "credentials")
        e["AWS_CONFIG_FILE"] = os.path.join(self.work, "no-config")
        e["AWS_REGION"] = h.REGION
        e["AWS_EC2_METADATA_DISABLED"] = "true"
        return e

    def start(self, endpoint=None, timeout=20):
        self.runs += 1
        out = os.path.join(self.work, f"{self.name}.out.{self.runs}")
        err = os.path.join(self.work, f"{self.name}.err.{self.runs}")
        self.logs += [out, err]
        argv = [self.binary, "agent", "run", "--config", self.config, "--log-level", "debug"]
        if endpoint:
            argv += ["--endpoint-url", endpoint]
        with open(out, "wb") as fo, open(err, "wb") as fe:
            self.proc = subprocess.Popen(argv, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL,
                                         env=self.env())
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(r"metrics on http://(\S+)/metrics", read(out) or "")
            if m:
                self.metrics = m.group(1)
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"agent exited {self.proc.returncode}: {read(err)[-2000:]}")
            time.sleep(0.05)
        raise RuntimeError("agent did not print its metrics address")

    def metric(self, name, labels=""):
        import urllib.request
        text = urllib.request.urlopen(f"http://{self.metrics}/metrics", timeout=5).read().decode()
        total = 0
        found = False
        for line in text.splitlines():
            if line.startswith(name + "{" + labels) or (not labels and line.startswith(name + " ")):
                total += float(line.rsplit(" ", 1)[1])
                found = True
        return total if found else 0

    def stop(self, timeout=20):
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=timeout)
        self.proc = None
        return rc

    def kill9(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def all_logs(self):
        data = b""
        for p in self.logs:
            try:
                with open(p, "rb") as f:
                    data += f.read()
            except OSError:
                pass
        return data

    def cleanup(self):
        self.kill9()
