"""Readers for every `coffer export` format, written from each format's own rules (not from
coffer's writer), so that the e2e tests can check exact round trips. Each returns a dict
name -> value (str)."""

import base64
import csv
import io
import json
import re


def env_name(key):
    return key.upper().replace("-", "_").replace(".", "_")


def read_dotenv(text):
    from dotenv import dotenv_values  # python-dotenv, as applications read .env files
    return dict(dotenv_values(stream=io.StringIO(text), interpolate=False))


def read_json(text):
    return json.loads(text)


def read_yaml(text):
    import yaml
    return yaml.safe_load(text) or {}


def read_java_properties(text):
    """java.util.Properties.load: logical lines, `\\` continuation, escapes, \\uXXXX."""
    out = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].lstrip(" \t\f")
        i += 1
        if not line or line[0] in "#!":
            continue
        # Join continuation lines (odd number of trailing backslashes).
        while (len(line) - len(line.rstrip("\\"))) % 2 == 1 and i < len(lines):
            line = line[:-1] + lines[i].lstrip(" \t\f")
            i += 1
        key, j, esc = "", 0, False
        while j < len(line):
            c = line[j]
            if not esc and c == "\\":
                esc = True
            elif not esc and c in "=: \t\f":
                break
            else:
                esc = False
            j += 1
        raw_key = line[:j]
        rest = line[j:].lstrip(" \t\f")
        if rest[:1] in ("=", ":"):
            rest = rest[1:].lstrip(" \t\f")
        out[_unescape_properties(raw_key)] = _unescape_properties(rest)
    return out


def _unescape_properties(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        n = s[i + 1]
        if n == "u":
            out.append(chr(int(s[i + 2:i + 6], 16)))
            i += 6
            continue
        out.append({"n": "\n", "r": "\r", "t": "\t", "f": "\f"}.get(n, n))
        i += 2
    # Surrogate pairs written as two \u escapes.
    return "".join(out).encode("utf-16", "surrogatepass").decode("utf-16")


def read_csv(text):
    return {row[0]: row[1] for row in csv.reader(io.StringIO(text, newline=""))}


def read_tsv(text):
    out = {}
    for line in text.split("\n"):
        if line:
            k, v = line.split("\t", 1)
            out[k] = v
    return out


_HCL_LINE = re.compile(r'^([A-Za-z_][A-Za-z0-9_-]*) = "((?:[^"\\]|\\.)*)"$')


def read_tfvars(text):
    """Terraform's quoted template strings: \\n \\r \\t \\" \\\\ \\uNNNN, $${ and %%{."""
    out = {}
    for line in text.split("\n"):
        if not line:
            continue
        m = _HCL_LINE.match(line)
        if not m:
            raise ValueError("not a tfvars line")
        s, v, i = m.group(2), [], 0
        while i < len(s):
            if s[i] == "\\":
                n = s[i + 1]
                if n == "u":
                    v.append(chr(int(s[i + 2:i + 6], 16)))
                    i += 6
                    continue
                v.append({"n": "\n", "r": "\r", "t": "\t"}.get(n, n))
                i += 2
            elif s.startswith("$${", i) or s.startswith("%%{", i):
                v.append(s[i] + "{")
                i += 3
            else:
                v.append(s[i])
                i += 1
        out[m.group(1)] = "".join(v)
    return out


def read_k8s_secret(text):
    import yaml
    doc = yaml.safe_load(text)
    assert doc["kind"] == "Secret" and doc["apiVersion"] == "v1"
    return {k: base64.b64decode(v).decode() for k, v in (doc.get("data") or {}).items()}


def read_ecs(text):
    return {e["name"]: e["valueFrom"] for e in json.loads(text)}


def read_github_env(text):
    """The runner's file command parser: NAME=value, or NAME<<DELIM, lines, DELIM."""
    out = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            body = []
            while lines[i] != delim:
                body.append(lines[i])
                i += 1
            i += 1
            out[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            out[name] = value
    return out


READERS = {
    "dotenv": read_dotenv, "json": read_json, "yaml": read_yaml,
    "java-properties": read_java_properties, "csv": read_csv, "tsv": read_tsv,
    "tfvars": read_tfvars, "k8s-secret": read_k8s_secret, "ecs": read_ecs,
    "github-env": read_github_env,
}

# Formats whose names are environment variable names (the rest keep keys as stored).
ENV_NAMED = {"dotenv", "github-env", "ecs"}


def expected(fmt, values, arn_of=None):
    """What reading format `fmt` must give back for {key: value}."""
    if fmt == "ecs":
        return {env_name(k): arn_of(k) for k in values}
    if fmt in ENV_NAMED:
        return {env_name(k): v for k, v in values.items()}
    return dict(values)


def can_hold(fmt, value, key="k"):
    """Whether format `fmt` can hold `value` under `key` exactly (else coffer must refuse)."""
    if fmt == "tsv":
        return not any(c in value for c in "\t\r\n")
    if fmt == "github-env":
        return "\r" not in value
    if fmt == "tfvars":
        return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", key) is not None
    if fmt == "dotenv" and value.endswith("\\"):
        # python-dotenv takes a backslash before a closing quote as escaping it: such a value
        # has an exact form only unquoted (one line, printable ASCII ends, no quote first, no #).
        return ("\n" not in value and "\r" not in value and "#" not in value and
                0x20 < ord(value[0]) < 0x7F and value[0] not in "'\"")
    return True
