"""A small OpenID Connect issuer for the STS federation tests, shaped like GitHub Actions'.

Serves, over HTTPS on loopback with its own CA (written to `ca_file` for the server to trust):
  /.well-known/openid-configuration   {"issuer": URL, "jwks_uri": URL/.well-known/jwks, ...}
  /.well-known/jwks                   the published keys (counts how often it is fetched)
and, over plain HTTP on a second port, GitHub's ID-token request endpoint:
  GET /token?audience=A  with `Authorization: bearer <request token>` -> {"value": <JWT>}

Tokens carry GitHub's claim set (sub "repo:ORG/REPO:ref:refs/heads/BRANCH" or
"repo:ORG/REPO:environment:ENV", repository, ref, workflow, actor, ...), signed RS256 or ES256.
`mint()` can break any part of a token (expired, other audience, other issuer, bad signature,
unknown kid, alg none) for the refusal tests.

Needs the `cryptography` package (Debian's python3-cryptography 38, or pyenv's).
"""

import base64
import datetime
import http.server
import ipaddress
import json
import os
import secrets
import ssl
import threading
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _uint(n, length=None):
    length = length or (n.bit_length() + 7) // 8
    return n.to_bytes(length, "big")


class SigningKey:
    def __init__(self, kid, alg):
        self.kid, self.alg = kid, alg
        if alg == "RS256":
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self.key = ec.generate_private_key(ec.SECP256R1())

    def jwk(self):
        pub = self.key.public_key().public_numbers()
        if self.alg == "RS256":
            return {"kty": "RSA", "kid": self.kid, "alg": "RS256", "use": "sig",
                    "n": b64url(_uint(pub.n)), "e": b64url(_uint(pub.e))}
        return {"kty": "EC", "kid": self.kid, "alg": "ES256", "use": "sig", "crv": "P-256",
                "x": b64url(_uint(pub.x, 32)), "y": b64url(_uint(pub.y, 32))}

    def sign(self, data):
        if self.alg == "RS256":
            return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        r, s = decode_dss_signature(self.key.sign(data, ec.ECDSA(hashes.SHA256())))
        return _uint(r, 32) + _uint(s, 32)


def _self_signed(workdir):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "coffer-test-issuer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file = os.path.join(workdir, "issuer-ca.pem")
    key_file = os.path.join(workdir, "issuer-key.pem")
    with open(cert_file, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_file, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    thumbprint = cert.fingerprint(hashes.SHA1()).hex()
    return cert_file, key_file, thumbprint


class TestIssuer:
    def __init__(self, workdir, org="acme", repo="api"):
        self.workdir = workdir
        self.org, self.repo = org, repo
        self.keys = {k.kid: k for k in (SigningKey("rsa-1", "RS256"), SigningKey("ec-1", "ES256"))}
        self.published = ["rsa-1", "ec-1"]
        self.jwks_fetches = 0
        self.requests = []  # every path asked of the HTTPS (discovery/JWKS) server, in order
        self.token_requests = 0
        self.request_token = "gh-request-" + secrets.token_hex(8)
        self.ca_file, key_file, self.thumbprint = _self_signed(workdir)
        self._key_file = key_file
        self._servers = []
        self.url = None
        self.token_url = None

    # ---- tokens

    def claims(self, sub=None, aud="sts.amazonaws.com", environment=None, lifetime=300):
        now = int(time.time())
        ref = "refs/heads/main"
        if sub is None:
            sub = (f"repo:{self.org}/{self.repo}:environment:{environment}" if environment
                   else f"repo:{self.org}/{self.repo}:ref:{ref}")
        c = {"jti": secrets.token_hex(8), "sub": sub, "aud": aud, "ref": ref,
             "sha": secrets.token_hex(20), "repository": f"{self.org}/{self.repo}",
             "repository_owner": self.org, "repository_owner_id": "4242",
             "repository_id": "777", "repository_visibility": "private",
             "run_id": "1234567", "run_number": "7", "run_attempt": "1",
             "actor": "octocat", "actor_id": "583231", "workflow": "deploy",
             "event_name": "push", "ref_type": "branch", "head_ref": "", "base_ref": "",
             "workflow_ref": f"{self.org}/{self.repo}/.github/workflows/deploy.yml@{ref}",
             "job_workflow_ref": f"{self.org}/{self.repo}/.github/workflows/deploy.yml@{ref}",
             "runner_environment": "github-hosted", "iss": self.url,
             "nbf": now - 5, "exp": now + lifetime, "iat": now - 5}
        if environment:
            c["environment"] = environment
        return c

    def mint(self, claims=None, kid="rsa-1", alg=None, key=None, tamper_signature=False):
        claims = claims if claims is not None else self.claims()
        signer = key or self.keys[kid]
        header = {"alg": alg or signer.alg, "typ": "JWT", "kid": kid}
        signing_input = (b64url(json.dumps(header)) + "." + b64url(json.dumps(claims))).encode()
        if header["alg"] == "none":
            return signing_input.decode() + "."
        sig = bytearray(signer.sign(signing_input))
        if tamper_signature:
            sig[10] ^= 0x01
        return signing_input.decode() + "." + b64url(bytes(sig))

    def add_key(self, kid, alg="RS256", publish=True):
        self.keys[kid] = SigningKey(kid, alg)
        if publish:
            self.published.append(kid)
        return self.keys[kid]

    # ---- serving

    def start(self):
        issuer = self

        class Discovery(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _json(self, status, doc):
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                issuer.requests.append(self.path)
                path = urllib.parse.urlparse(self.path).path
                if path == "/.well-known/openid-configuration":
                    self._json(200, {
                        "issuer": issuer.url,
                        "jwks_uri": issuer.url + "/.well-known/jwks",
                        "subject_types_supported": ["public", "pairwise"],
                        "response_types_supported": ["id_token"],
                        "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf",
                                             "ref", "repository", "repository_owner", "actor",
                                             "workflow", "environment", "job_workflow_ref"],
                        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                        "scopes_supported": ["openid"]})
                elif path == "/.well-known/jwks":
                    issuer.jwks_fetches += 1
                    self._json(200, {"keys": [issuer.keys[k].jwk() for k in issuer.published]})
                else:
                    self._json(404, {"message": "not found"})

        class TokenEndpoint(Discovery):
            def do_GET(self):
                u = urllib.parse.urlparse(self.path)
                if u.path != "/token":
                    return self._json(404, {"message": "not found"})
                if self.headers.get("Authorization", "") != "bearer " + issuer.request_token:
                    return self._json(401, {"message": "bad request token"})
                issuer.token_requests += 1
                aud = urllib.parse.parse_qs(u.query).get("audience", ["https://github.com/acme"])
                self._json(200, {"count": 1, "value": issuer.mint(issuer.claims(aud=aud[0]))})

        tls = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Discovery)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.ca_file, self._key_file)
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
        plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TokenEndpoint)
        for server in (tls, plain):
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self._servers.append(server)
        self.url = f"https://127.0.0.1:{tls.server_address[1]}"
        self.token_url = f"http://127.0.0.1:{plain.server_address[1]}/token?api-version=2.0"
        return self

    def stop(self):
        for s in self._servers:
            s.shutdown()
            s.server_close()
        self._servers = []
