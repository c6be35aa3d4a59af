// auth: who is calling. SigV4 verification of every AWS request against the
// identity store, with derived signing keys cached per (access key, date,
// region, service). Policy evaluation (#4) will sit beside it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/iam/identity_store.h"
#include "util/result.h"
#include "util/secret_bytes.h"
#include "util/time.h"

namespace coffer::auth {

// The authenticated caller of one request.
struct Principal {
  std::string arn;            // arn:aws:iam::000000000000:user/admin
  std::string user_id;        // AIDA...
  std::string account_id;
  std::string access_key_id;
  bool is_admin = false;
  std::string user_name;     // set for IAM users ("" for role sessions)
  std::string role_name;     // set for role sessions (temporary credentials)
  std::string session_name;  // the role session's name
  // For role sessions: the role's ARN (arn:aws:iam::ACCT:role/PATH/NAME); when
  // empty, authorization assumes the path "/" from role_name.
  std::string role_arn;
};

// How a front lets the payload be covered by the signature.
enum class PayloadSigning {
  // The JSON and query APIs: the payload hash is always the SHA-256 of the body
  // received; an X-Amz-Content-Sha256 header must equal it (UNSIGNED-PAYLOAD
  // and the STREAMING-* forms are refused), as AWS accepts them only for S3.
  kSignedOnly,
  // S3: X-Amz-Content-Sha256 is required; UNSIGNED-PAYLOAD and the
  // STREAMING-* forms are signed as the literal value (the front verifies the
  // chunks with Authenticated::chunk_signing); a hex hash must still equal the
  // body's. The path is signed as S3 signs it (sigv4::UriStyle::kS3), and a
  // request without an Authorization header may carry its signature in the
  // query string instead (a presigned URL: X-Amz-Algorithm, X-Amz-Credential,
  // X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature).
  kAllowUnsigned,
};

// What api/ builds from an HTTP request for verification. Views point into the
// request, which must outlive the call.
struct SignedRequest {
  std::string_view method;
  std::string_view path;   // raw path
  std::string_view query;  // raw query string, no '?'
  std::vector<std::pair<std::string_view, std::string_view>> headers;  // as received
  std::string_view body;
  // The SigV4 signing name of the service the front serves ("ssm", "iam", ...):
  // the credential scope's service must equal it. REQUIRES: non-empty.
  std::string_view service;
  PayloadSigning payload = PayloadSigning::kSignedOnly;
  // False only to authenticate a request's head before its body is read (the
  // listener's large-body hook): a hex X-Amz-Content-Sha256 is then taken as
  // declared; the request is verified again, body included, when it runs.
  bool verify_body = true;
};

// The credential scope of a verified request (region and service come from
// the client's signature, never assumed).
struct Scope {
  std::string date;     // YYYYMMDD
  std::string region;   // us-east-1
  std::string service;  // ssm | secretsmanager | kms | sts | iam
};

// What a front needs to verify the chunk signatures of an aws-chunked body
// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]): each chunk's signature
// chains from the previous one, starting at the request's own signature.
struct ChunkSigning {
  SecretBytes signing_key;
  std::string seed_signature;  // the Authorization header's Signature
  std::string amz_date;        // X-Amz-Date
  std::string scope;           // "<date>/<region>/<service>/aws4_request"
};

struct Authenticated {
  Principal principal;
  Scope scope;
  // Set only for a verified request whose X-Amz-Content-Sha256 is one of the
  // signed streaming forms (kAllowUnsigned fronts).
  std::optional<ChunkSigning> chunk_signing;
  // True when the signature came from the query string (a presigned URL).
  bool presigned = false;
};

// Thread-safe.
class Authenticator {
 public:
  // `region` is the server's region: a credential scope must name it (the
  // global services iam and sts also accept us-east-1, where AWS signs them).
  Authenticator(domain::iam::IdentityStore& identities, util::Clock& clock, std::string region);
  ~Authenticator();

  // Verifies the request's SigV4 Authorization header.
  // Errors (all kUnauthenticated unless noted), by Reason:
  //   kMissingAuthenticationToken  no Authorization header
  //   kIncompleteSignature         malformed header, missing parts, scope date != X-Amz-Date date,
  //                                SignedHeaders lacks host or x-amz-date/date, or a repeated
  //                                Authorization, X-Amz-Date, Date, X-Amz-Security-Token or
  //                                X-Amz-Content-Sha256 header (ambiguous: which one was meant?)
  //   kSignatureMismatch           also: the scope names another service or region; an
  //                                X-Amz-Content-Sha256 that differs from the body's hash, or
  //                                that is UNSIGNED-PAYLOAD/STREAMING-* on a kSignedOnly front
  //   kSignatureExpired / kSignatureNotYetCurrent   |now - X-Amz-Date| > 15 minutes
  //                                (message in AWS's "Signature expired: ..." form)
  //   kUnknownAccessKey            access key id unknown or inactive
  //   kSignatureMismatch           recomputed signature differs (constant-time compare)
  //   kInvalidSecurityToken        X-Amz-Security-Token present but not valid for the key
  // A presigned URL (kAllowUnsigned fronts only, no Authorization header,
  // X-Amz-Signature in the query) is verified the same way over its query
  // string, with these errors besides: kIncompleteSignature for a missing or
  // malformed X-Amz-* parameter or X-Amz-Expires outside 1..604800;
  // kSignatureExpired ("Request has expired") once X-Amz-Date + X-Amz-Expires
  // has passed; kSignatureNotYetCurrent when X-Amz-Date is more than 15
  // minutes ahead.
  // Error messages never contain the secret key or the expected signature, and
  // echo at most a bounded prefix of any caller-supplied field. Nothing is
  // cached for a request whose signature does not verify.
  Result<Authenticated> Authenticate(const SignedRequest& request);

  // Only the credential scope, parsed from the Authorization header without
  // verification (for routing before authentication). kUnauthenticated as above.
  static Result<Scope> PeekScope(std::string_view authorization_header);

  // How many derived signing keys are cached.
  size_t CachedSigningKeysForTest() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace coffer::auth
