#include "auth/authenticator.h"

#include <chrono>
#include <map>
#include <span>
#include <unordered_map>

#include "crypto/crypto.h"
#include "sigv4/sigv4.h"
#include "util/check.h"
#include "util/encoding.h"
#include "util/secret_bytes.h"
#include "util/mutex.h"

namespace coffer::auth {
namespace {

constexpr auto kMaxSkew = std::chrono::minutes(15);
// Bound on cached signing keys: one per (access key, day, region, service).
constexpr size_t kMaxCachedSigningKeys = 10000;
// Where AWS signs its global services (IAM, the global STS endpoint).
constexpr std::string_view kGlobalRegion = "us-east-1";
constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
constexpr std::string_view kStreamingPrefix = "STREAMING-";
constexpr std::string_view kStreamingSigned = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
constexpr std::string_view kStreamingSignedTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
// The longest a presigned URL may stay valid (7 days), as on S3.
constexpr int64_t kMaxPresignedExpiresSeconds = 604800;

constexpr std::string_view kSignatureMismatchMessage =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";
constexpr std::string_view kInvalidTokenMessage =
    "The security token included in the request is invalid.";
constexpr std::string_view kExpiredTokenMessage =
    "The security token included in the request is expired";

std::unexpected<Error> Unauthenticated(Reason reason, std::string message) {
  return Fail(ErrorCode::kUnauthenticated, std::move(message), reason);
}

std::unexpected<Error> Incomplete(std::string message) {
  return Unauthenticated(Reason::kIncompleteSignature, std::move(message));
}

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view lower_b) {
  if (a.size() != lower_b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLower(a[i]) != lower_b[i]) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// The parts of "AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request,
// SignedHeaders=a;b, Signature=hex". Views into the header value.
struct ParsedAuthorization {
  std::string_view access_key_id;
  std::string_view date;
  std::string_view region;
  std::string_view service;
  std::string_view signed_headers;
  std::string_view signature;
};

Result<ParsedAuthorization> ParseAuthorization(std::string_view header) {
  header = Trim(header);
  if (header.empty()) {
    return Unauthenticated(Reason::kMissingAuthenticationToken, "Missing Authentication Token");
  }
  size_t space = header.find(' ');
  std::string_view algorithm = header.substr(0, space);
  if (algorithm != sigv4::kAlgorithm) {
    return Incomplete("Unsupported Authorization algorithm: '" +
                      std::string(algorithm.substr(0, 32)) +
                      "'; only AWS4-HMAC-SHA256 is accepted.");
  }
  std::string_view rest =
      space == std::string_view::npos ? std::string_view() : header.substr(space);
  std::string_view credential, signed_headers, signature;
  bool has_credential = false, has_signed_headers = false, has_signature = false;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view part = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return Incomplete("Authorization header component without '=': '" +
                        std::string(part.substr(0, 64)) + "'.");
    }
    std::string_view key = Trim(part.substr(0, eq));
    std::string_view value = Trim(part.substr(eq + 1));
    auto assign = [&](bool& seen, std::string_view& slot) -> Status {
      if (seen) return Incomplete("Authorization header repeats '" + std::string(key) + "'.");
      seen = true;
      slot = value;
      return Ok();
    };
    if (key == "Credential") {
      COFFER_RETURN_IF_ERROR(assign(has_credential, credential));
    } else if (key == "SignedHeaders") {
      COFFER_RETURN_IF_ERROR(assign(has_signed_headers, signed_headers));
    } else if (key == "Signature") {
      COFFER_RETURN_IF_ERROR(assign(has_signature, signature));
    }
  }
  std::string missing;
  if (!has_credential || credential.empty())
    missing += "Authorization header requires 'Credential' parameter. ";
  if (!has_signed_headers || signed_headers.empty())
    missing += "Authorization header requires 'SignedHeaders' parameter. ";
  if (!has_signature || signature.empty())
    missing += "Authorization header requires 'Signature' parameter. ";
  if (!missing.empty()) {
    missing.pop_back();
    return Incomplete(std::move(missing));
  }

  std::string_view parts[5];
  size_t count = 0;
  std::string_view cred = credential;
  while (true) {
    size_t slash = cred.find('/');
    if (count < 5) parts[count] = cred.substr(0, slash);
    ++count;
    if (slash == std::string_view::npos) break;
    cred.remove_prefix(slash + 1);
  }
  bool any_empty = false;
  for (size_t i = 0; i < std::min<size_t>(count, 5); ++i) any_empty |= parts[i].empty();
  if (count != 5 || any_empty) {
    return Incomplete(
        "Credential must have exactly 5 slash-delimited elements, e.g. "
        "keyid/date/region/service/term, got '" +
        std::string(credential.substr(0, 256)) + "'");
  }
  if (parts[4] != sigv4::kTerminator) {
    return Incomplete("Credential should be scoped with a valid terminator: 'aws4_request', not '" +
                      std::string(parts[4].substr(0, 64)) + "'.");
  }
  if (parts[1].size() != 8 || !IsDigits(parts[1])) {
    return Incomplete("Credential scope date '" + std::string(parts[1].substr(0, 32)) +
                      "' is not in YYYYMMDD form.");
  }
  return ParsedAuthorization{parts[0], parts[1], parts[2], parts[3], signed_headers, signature};
}

// A cached derived key and the secret it was derived from: a hit is valid only
// while the access key's current secret is the same (a changed secret misses).
struct CachedSigningKey {
  SecretBytes secret;
  SecretBytes signing_key;
};

}  // namespace

struct Authenticator::Impl {
  Impl(domain::iam::IdentityStore& i, util::Clock& c, std::string r)
      : identities(i), clock(c), region(std::move(r)) {}

  domain::iam::IdentityStore& identities;
  util::Clock& clock;
  const std::string region;

  util::SharedMutex mu;
  std::unordered_map<std::string, CachedSigningKey> signing_keys COFFER_GUARDED_BY(mu);

  static std::string CacheKey(std::string_view access_key_id, const ParsedAuthorization& auth) {
    std::string cache_key;
    cache_key.reserve(access_key_id.size() + auth.date.size() + auth.region.size() +
                      auth.service.size() + 3);
    cache_key.append(access_key_id).push_back('/');
    cache_key.append(auth.date).push_back('/');
    cache_key.append(auth.region).push_back('/');
    cache_key.append(auth.service);
    return cache_key;
  }

  // The signing key for the scope: the cached one while `secret` is unchanged,
  // else derived anew (`derived` tells which). Nothing is cached here: only
  // Remember() does, once the signature has verified, so that requests with
  // bad signatures cannot fill the cache.
  SecretBytes SigningKey(const std::string& cache_key, const ParsedAuthorization& auth,
                         const SecretBytes& secret, bool& derived) {
    {
      util::ReaderLock lock(mu);
      auto it = signing_keys.find(cache_key);
      if (it != signing_keys.end() && it->second.secret.Equals(secret)) {
        derived = false;
        return it->second.signing_key;
      }
    }
    derived = true;
    return sigv4::DeriveSigningKey(secret, auth.date, auth.region, auth.service);
  }

  void Remember(std::string cache_key, const SecretBytes& secret, const SecretBytes& key) {
    util::WriterLock lock(mu);
    if (signing_keys.size() >= kMaxCachedSigningKeys) signing_keys.clear();
    signing_keys.insert_or_assign(std::move(cache_key), CachedSigningKey{secret, key});
  }

  // Temporary credentials (STS sessions): the session token must be presented
  // and equal the session's (constant time), and the session must not have
  // expired. Long-term keys carry no token, so any token presented with one is
  // refused.
  Status CheckSessionToken(const domain::iam::IdentityStore::Resolved& resolved,
                           std::string_view token) {
    if (!resolved.is_session) {
      if (token.empty()) return Ok();
      return Unauthenticated(Reason::kInvalidSecurityToken, std::string(kInvalidTokenMessage));
    }
    if (token.empty() ||
        !crypto::ConstantTimeEquals(token, resolved.session.session_token.Reveal())) {
      return Unauthenticated(Reason::kInvalidSecurityToken, std::string(kInvalidTokenMessage));
    }
    if (resolved.session.Expired(clock.Now())) {
      return Unauthenticated(Reason::kExpiredSecurityToken,
                             std::string(kExpiredTokenMessage));
    }
    return Ok();
  }


  // A presigned URL: the signature and its parameters are in the query
  // string; the payload is UNSIGNED-PAYLOAD and the query signed is the one
  // received without X-Amz-Signature.
  Result<Authenticated> Presigned(const SignedRequest& request) {
    std::map<std::string, std::string, std::less<>> params;
    std::string query_to_sign;
    for (std::string_view rest = request.query; !rest.empty();) {
      size_t amp = rest.find('&');
      std::string_view pair = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      if (pair.empty()) continue;
      size_t eq = pair.find('=');
      auto key = util::UriDecode(pair.substr(0, eq));
      auto value = util::UriDecode(eq == std::string_view::npos ? std::string_view()
                                                                : pair.substr(eq + 1));
      if (!key || !value) return Incomplete("The query string has a broken %-escape.");
      if (key->starts_with("X-Amz-")) {
        if (params.contains(*key)) {
          return Incomplete("The query string repeats '" + key->substr(0, 32) + "'.");
        }
        params.emplace(*key, *value);
      }
      if (*key == "X-Amz-Signature") continue;
      if (!query_to_sign.empty()) query_to_sign.push_back('&');
      query_to_sign.append(pair);
    }
    auto param = [&](std::string_view name) -> Result<std::string_view> {
      auto it = params.find(name);
      if (it == params.end() || it->second.empty()) {
        return Incomplete("Query-string authentication requires the " + std::string(name) +
                          " parameter.");
      }
      return std::string_view(it->second);
    };
    COFFER_ASSIGN_OR_RETURN(std::string_view algorithm, param("X-Amz-Algorithm"));
    if (algorithm != sigv4::kAlgorithm) {
      return Incomplete("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
    }
    COFFER_ASSIGN_OR_RETURN(std::string_view credential, param("X-Amz-Credential"));
    COFFER_ASSIGN_OR_RETURN(std::string_view amz_date, param("X-Amz-Date"));
    COFFER_ASSIGN_OR_RETURN(std::string_view expires_text, param("X-Amz-Expires"));
    COFFER_ASSIGN_OR_RETURN(std::string_view signed_list, param("X-Amz-SignedHeaders"));
    COFFER_ASSIGN_OR_RETURN(std::string_view signature, param("X-Amz-Signature"));
    // Reuse the header parser for the credential's five parts.
    std::string as_header = std::string(sigv4::kAlgorithm) + " Credential=" +
                            std::string(credential) + ", SignedHeaders=" +
                            std::string(signed_list) + ", Signature=" + std::string(signature);
    COFFER_ASSIGN_OR_RETURN(ParsedAuthorization auth, ParseAuthorization(as_header));
    if (auth.service != request.service) {
      return Unauthenticated(Reason::kSignatureMismatch,
                             "Credential should be scoped to correct service: '" +
                                 std::string(request.service) + "'. ");
    }
    if (auth.region != region) {
      return Unauthenticated(Reason::kSignatureMismatch,
                             "Credential should be scoped to a valid region, not '" +
                                 std::string(auth.region.substr(0, 64)) + "'. ");
    }
    if (expires_text.size() > 7 || !IsDigits(expires_text)) {
      return Incomplete("X-Amz-Expires must be a number of seconds.");
    }
    int64_t expires = std::stoll(std::string(expires_text));
    if (expires < 1 || expires > kMaxPresignedExpiresSeconds) {
      return Incomplete("X-Amz-Expires must be less than a week (in seconds) that is 604800");
    }
    auto parsed = util::ParseAmzDate(amz_date);
    if (!parsed.has_value()) {
      return Incomplete("X-Amz-Date must be in the ISO-8601 basic format YYYYMMDD'T'HHMMSS'Z'.");
    }
    if (amz_date.substr(0, 8) != auth.date) {
      return Incomplete("Date in Credential scope does not match YYYYMMDD from X-Amz-Date.");
    }
    util::SystemTime now = clock.Now();
    if (*parsed > now + kMaxSkew) {
      return Unauthenticated(Reason::kSignatureNotYetCurrent,
                             "Request is not valid yet: " + std::string(amz_date) +
                                 " is still later than " + util::FormatAmzDate(now + kMaxSkew));
    }
    if (now > *parsed + std::chrono::seconds(expires)) {
      return Unauthenticated(Reason::kSignatureExpired, "Request has expired");
    }
    std::vector<std::string_view> signed_headers;
    bool signs_host = false;
    for (std::string_view rest = auth.signed_headers; !rest.empty();) {
      size_t semi = rest.find(';');
      std::string_view name = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      if (name.empty()) return Incomplete("SignedHeaders contains an empty header name.");
      signs_host |= name == "host";
      signed_headers.push_back(name);
    }
    if (!signs_host) return Incomplete("SignedHeaders must include 'host'.");
    std::string_view token;
    if (auto it = params.find("X-Amz-Security-Token"); it != params.end()) token = it->second;
    auth.signed_headers = signed_list;
    auth.signature = signature;
    COFFER_ASSIGN_OR_RETURN(Authenticated out,
                            Verify(request, auth, amz_date, signed_headers, query_to_sign,
                                   kUnsignedPayload, token, false));
    out.presigned = true;
    return out;
  }

  // The common end of header and query-string verification: the key, the
  // session token, the canonical request and the signature.
  Result<Authenticated> Verify(const SignedRequest& request, const ParsedAuthorization& auth,
                               std::string_view amz_date,
                               std::span<const std::string_view> signed_headers,
                               std::string_view query, std::string_view payload_hash,
                               std::string_view token, bool streaming_signed) {
    auto resolved = identities.LookupAccessKey(auth.access_key_id);
    if (!resolved.has_value()) {
      if (resolved.error().code == ErrorCode::kNotFound) {
        return Unauthenticated(Reason::kUnknownAccessKey, std::string(kInvalidTokenMessage));
      }
      return Fail(std::move(resolved).error());
    }
    COFFER_RETURN_IF_ERROR(CheckSessionToken(*resolved, token));

    // Recompute: canonical request from the client's SignedHeaders.
    thread_local std::string canonical;
    canonical.clear();
    sigv4::RequestParts parts{request.method, request.path, query, request.headers};
    sigv4::UriStyle style = request.payload == PayloadSigning::kAllowUnsigned
                                ? sigv4::UriStyle::kS3
                                : sigv4::UriStyle::kNormalized;
    Status built =
        sigv4::AppendCanonicalRequest(parts, signed_headers, payload_hash, canonical, style);
    if (!built.has_value()) {
      return Unauthenticated(Reason::kIncompleteSignature, std::move(built).error().message);
    }
    std::string scope = sigv4::CredentialScope(auth.date, auth.region, auth.service);
    std::string string_to_sign = sigv4::StringToSign(amz_date, scope, canonical);
    std::string cache_key = CacheKey(auth.access_key_id, auth);
    bool derived = false;
    SecretBytes signing_key =
        SigningKey(cache_key, auth, resolved->key.secret_access_key, derived);
    std::string expected = sigv4::SignatureHex(signing_key, string_to_sign);
    bool matches = crypto::ConstantTimeEquals(expected, auth.signature);
    util::SecureClear(expected);
    if (!matches) {
      return Unauthenticated(Reason::kSignatureMismatch, std::string(kSignatureMismatchMessage));
    }
    if (derived) Remember(std::move(cache_key), resolved->key.secret_access_key, signing_key);

    Authenticated out;
    out.principal.user_name = resolved->user.name;
    out.principal.arn = std::move(resolved->user.arn);
    out.principal.user_id = std::move(resolved->user.user_id);
    out.principal.account_id = identities.account_id();
    out.principal.access_key_id = std::string(auth.access_key_id);
    out.principal.is_admin = resolved->user.is_admin;
    if (resolved->is_session) {
      out.principal.role_name = std::move(resolved->session.role_name);
      out.principal.role_arn = std::move(resolved->session.role_arn);  // with the role's path
      out.principal.session_name = std::move(resolved->session.session_name);
    }
    out.scope = Scope{std::string(auth.date), std::string(auth.region), std::string(auth.service)};
    if (streaming_signed) {
      out.chunk_signing = ChunkSigning{std::move(signing_key), std::string(auth.signature),
                                       std::string(amz_date), std::move(scope)};
    }
    return out;
  }
};

Authenticator::Authenticator(domain::iam::IdentityStore& identities, util::Clock& clock,
                             std::string region)
    : impl_(std::make_unique<Impl>(identities, clock, std::move(region))) {}

Authenticator::~Authenticator() = default;

size_t Authenticator::CachedSigningKeysForTest() const {
  util::ReaderLock lock(impl_->mu);
  return impl_->signing_keys.size();
}

Result<Scope> Authenticator::PeekScope(std::string_view authorization_header) {
  COFFER_ASSIGN_OR_RETURN(ParsedAuthorization auth, ParseAuthorization(authorization_header));
  return Scope{std::string(auth.date), std::string(auth.region), std::string(auth.service)};
}

Result<Authenticated> Authenticator::Authenticate(const SignedRequest& request) {
  COFFER_CHECK(!request.service.empty());
  std::string_view authorization, amz_date_header, date_header, token, content_sha256;
  bool has_authorization = false, has_amz_date = false, has_date = false, has_token = false,
       has_content_sha256 = false;
  // A header that decides how the request is verified must appear once: with
  // two, a verifier and a later reader could each take a different one.
  auto take = [](bool& seen, std::string_view& slot, std::string_view value,
                 std::string_view name) -> Status {
    if (seen) {
      return Incomplete("The request carries more than one '" + std::string(name) +
                        "' header.");
    }
    seen = true;
    slot = value;
    return Ok();
  };
  for (const auto& [name, value] : request.headers) {
    if (EqualsIgnoreCase(name, "authorization")) {
      COFFER_RETURN_IF_ERROR(take(has_authorization, authorization, value, "Authorization"));
    } else if (EqualsIgnoreCase(name, "x-amz-date")) {
      COFFER_RETURN_IF_ERROR(take(has_amz_date, amz_date_header, Trim(value), "X-Amz-Date"));
    } else if (EqualsIgnoreCase(name, "date")) {
      COFFER_RETURN_IF_ERROR(take(has_date, date_header, Trim(value), "Date"));
    } else if (EqualsIgnoreCase(name, "x-amz-security-token")) {
      COFFER_RETURN_IF_ERROR(take(has_token, token, Trim(value), "X-Amz-Security-Token"));
    } else if (EqualsIgnoreCase(name, "x-amz-content-sha256")) {
      COFFER_RETURN_IF_ERROR(
          take(has_content_sha256, content_sha256, Trim(value), "X-Amz-Content-Sha256"));
    }
  }
  if (!has_authorization) {
    if (request.payload == PayloadSigning::kAllowUnsigned &&
        request.query.find("X-Amz-Signature=") != std::string_view::npos) {
      return impl_->Presigned(request);
    }
    return Unauthenticated(Reason::kMissingAuthenticationToken, "Missing Authentication Token");
  }
  COFFER_ASSIGN_OR_RETURN(ParsedAuthorization auth, ParseAuthorization(authorization));

  // The scope must name this service and this server's region (AWS checks
  // both before the signature).
  if (auth.service != request.service) {
    return Unauthenticated(Reason::kSignatureMismatch,
                           "Credential should be scoped to correct service: '" +
                               std::string(request.service) + "'. ");
  }
  bool global_service = request.service == "iam" || request.service == "sts";
  if (auth.region != impl_->region && !(global_service && auth.region == kGlobalRegion)) {
    return Unauthenticated(Reason::kSignatureMismatch,
                           "Credential should be scoped to a valid region, not '" +
                               std::string(auth.region.substr(0, 64)) + "'. ");
  }

  // SignedHeaders: the client's list, used as given for the canonical request.
  std::vector<std::string_view> signed_headers;
  signed_headers.reserve(8);
  bool signs_host = false, signs_amz_date = false, signs_date = false;
  for (std::string_view rest = auth.signed_headers; !rest.empty();) {
    size_t semi = rest.find(';');
    std::string_view name = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    if (name.empty()) return Incomplete("SignedHeaders contains an empty header name.");
    signs_host |= name == "host";
    signs_amz_date |= name == "x-amz-date";
    signs_date |= name == "date";
    signed_headers.push_back(name);
  }
  if (!signs_host) return Incomplete("SignedHeaders must include 'host'.");

  // The request time comes from X-Amz-Date, else Date; that header must be signed.
  std::string amz_date;
  util::SystemTime request_time;
  if (has_amz_date) {
    if (!signs_amz_date) return Incomplete("SignedHeaders must include 'x-amz-date'.");
    auto parsed = util::ParseAmzDate(amz_date_header);
    if (!parsed.has_value()) {
      return Incomplete("X-Amz-Date must be in the ISO-8601 basic format YYYYMMDD'T'HHMMSS'Z'.");
    }
    request_time = *parsed;
    amz_date = std::string(amz_date_header);
  } else if (has_date) {
    if (!signs_date) return Incomplete("SignedHeaders must include 'date'.");
    auto parsed = sigv4::ParseHttpDate(date_header);
    if (!parsed.has_value()) return Incomplete("Date header is not a valid HTTP date.");
    request_time = *parsed;
    amz_date = util::FormatAmzDate(request_time);
  } else {
    return Incomplete(
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  if (std::string_view(amz_date).substr(0, 8) != auth.date) {
    return Incomplete(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
        "date from HTTP: '" +
        std::string(auth.date) + "' != '" + amz_date.substr(0, 8) + "', from '" + amz_date + "'.");
  }

  // Clock skew.
  util::SystemTime now = impl_->clock.Now();
  if (request_time < now - kMaxSkew) {
    return Unauthenticated(Reason::kSignatureExpired,
                           "Signature expired: " + amz_date + " is now earlier than " +
                               util::FormatAmzDate(now - kMaxSkew) + " (" +
                               util::FormatAmzDate(now) + " - 15 min.)");
  }
  if (request_time > now + kMaxSkew) {
    return Unauthenticated(Reason::kSignatureNotYetCurrent,
                           "Signature not yet current: " + amz_date + " is still later than " +
                               util::FormatAmzDate(now + kMaxSkew) + " (" +
                               util::FormatAmzDate(now) + " + 15 min.)");
  }

  // The payload hash is computed from the body received; a client's
  // X-Amz-Content-Sha256 must agree with it, or else a signed header would
  // vouch for a body that was swapped after signing.
  std::string body_hash;
  std::string_view payload_hash;
  bool streaming_signed = false;
  if (has_content_sha256) {
    bool is_literal =
        content_sha256 == kUnsignedPayload || content_sha256.starts_with(kStreamingPrefix);
    if (is_literal) {
      if (request.payload != PayloadSigning::kAllowUnsigned) {
        return Unauthenticated(Reason::kSignatureMismatch,
                               "X-Amz-Content-Sha256 must be the SHA-256 of the payload: this "
                               "API does not accept unsigned or streaming payloads.");
      }
      payload_hash = content_sha256;
      streaming_signed = content_sha256 == kStreamingSigned ||
                         content_sha256 == kStreamingSignedTrailer;
    } else if (!request.verify_body) {
      payload_hash = content_sha256;
    } else {
      body_hash = crypto::Sha256Hex(request.body);
      payload_hash = body_hash;
      if (!crypto::ConstantTimeEquals(content_sha256, body_hash)) {
        return Unauthenticated(
            Reason::kSignatureMismatch,
            "The provided 'x-amz-content-sha256' header does not match what was computed.");
      }
    }
  } else if (request.payload == PayloadSigning::kAllowUnsigned) {
    return Unauthenticated(Reason::kSignatureMismatch,
                           "Missing required header for this request: x-amz-content-sha256");
  } else {
    body_hash = crypto::Sha256Hex(request.body);
    payload_hash = body_hash;
  }
  return impl_->Verify(request, auth, amz_date, signed_headers, request.query, payload_hash,
                       token, streaming_signed);
}

}  // namespace coffer::auth
