#include "auth/jwt.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "auth/strict_json.h"
#include "util/encoding.h"

namespace coffer::auth {
namespace {

using nlohmann::json;

std::unexpected<Error> BadToken(std::string message) {
  return Fail(ErrorCode::kUnauthenticated, std::move(message), Reason::kInvalidIdentityToken);
}

// base64url without padding -> bytes.
Result<std::string> Base64UrlDecode(std::string_view in) {
  std::string s(in);
  for (char& c : s) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    else if (c == '+' || c == '/' || c == '=') return Fail(ErrorCode::kInvalidArgument, "not base64url");
  }
  while (s.size() % 4 != 0) s.push_back('=');
  return util::Base64Decode(s);
}

// A JWT part as JSON. A duplicate key ("iss" twice, "alg" twice) is refused:
// nlohmann keeps the last, another verifier the first, so the claims would
// depend on who reads them.
Result<json> ParsePart(const std::string& text, std::string_view part) {
  StrictJson parsed = ParseStrictJson(text);
  switch (parsed.problem) {
    case StrictJson::Problem::kNone:
      break;
    case StrictJson::Problem::kSyntax:
      return BadToken("the token is not valid JSON");
    case StrictJson::Problem::kDuplicateKey:
      return BadToken("the token " + std::string(part) + " has a duplicate key");
  }
  return std::move(parsed.doc);
}

std::optional<int64_t> NumericClaim(const json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end() || !it->is_number()) return std::nullopt;
  return static_cast<int64_t>(it->get<double>());
}

}  // namespace

Result<std::vector<Jwk>> ParseJwks(std::string_view text) {
  std::vector<Jwk> out;
  try {
    json doc = json::parse(text);
    if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
      return Fail(ErrorCode::kInvalidArgument, "JWKS document has no keys array",
                  Reason::kIdpCommunicationError);
    }
    for (const json& k : doc["keys"]) {
      if (!k.is_object() || !k.contains("kty") || !k["kty"].is_string()) continue;
      Jwk jwk;
      jwk.kty = k["kty"].get<std::string>();
      if (k.contains("kid") && k["kid"].is_string()) jwk.kid = k["kid"].get<std::string>();
      if (k.contains("alg") && k["alg"].is_string()) jwk.alg = k["alg"].get<std::string>();
      if (k.contains("use") && k["use"].is_string() && k["use"] != "sig") continue;
      auto field = [&](const char* name) -> std::optional<std::string> {
        if (!k.contains(name) || !k[name].is_string()) return std::nullopt;
        auto d = Base64UrlDecode(k[name].get<std::string>());
        if (!d) return std::nullopt;
        return *d;
      };
      if (jwk.kty == "RSA") {
        auto n = field("n"), e = field("e");
        if (!n || !e) continue;
        jwk.rsa = {*n, *e};
      } else if (jwk.kty == "EC") {
        if (!k.contains("crv") || k["crv"] != "P-256") continue;
        auto x = field("x"), y = field("y");
        if (!x || !y) continue;
        jwk.ec = {*x, *y};
      } else {
        continue;
      }
      out.push_back(std::move(jwk));
    }
  } catch (const json::exception&) {
    return Fail(ErrorCode::kInvalidArgument, "JWKS document is not valid JSON",
                Reason::kIdpCommunicationError);
  }
  return out;
}

Result<Jwt> ParseJwt(std::string_view token) {
  size_t d1 = token.find('.');
  size_t d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d1 == std::string_view::npos || d2 == std::string_view::npos ||
      token.find('.', d2 + 1) != std::string_view::npos) {
    return BadToken("the web identity token is not a JWT");
  }
  Jwt jwt;
  jwt.signing_input = std::string(token.substr(0, d2));
  auto header = Base64UrlDecode(token.substr(0, d1));
  auto payload = Base64UrlDecode(token.substr(d1 + 1, d2 - d1 - 1));
  auto signature = Base64UrlDecode(token.substr(d2 + 1));
  if (!header || !payload || !signature) return BadToken("the web identity token is not a JWT");
  jwt.signature = std::move(*signature);
  COFFER_ASSIGN_OR_RETURN(json h, ParsePart(*header, "header"));
  COFFER_ASSIGN_OR_RETURN(json p, ParsePart(*payload, "payload"));
  try {
    if (!h.is_object() || !h.contains("alg") || !h["alg"].is_string()) {
      return BadToken("the token header has no alg");
    }
    jwt.alg = h["alg"].get<std::string>();
    if (jwt.alg != "RS256" && jwt.alg != "ES256") {
      return BadToken("the token's signing algorithm " + jwt.alg + " is not accepted");
    }
    if (h.contains("kid") && h["kid"].is_string()) jwt.kid = h["kid"].get<std::string>();
    if (!p.is_object()) return BadToken("the token payload is not a JSON object");
    JwtClaims& c = jwt.claims;
    if (p.contains("iss") && p["iss"].is_string()) c.iss = p["iss"].get<std::string>();
    if (p.contains("sub") && p["sub"].is_string()) c.sub = p["sub"].get<std::string>();
    if (p.contains("aud")) {
      if (p["aud"].is_string()) {
        c.aud.push_back(p["aud"].get<std::string>());
      } else if (p["aud"].is_array()) {
        for (const auto& a : p["aud"]) {
          if (a.is_string()) c.aud.push_back(a.get<std::string>());
        }
      }
    }
    c.exp = NumericClaim(p, "exp");
    c.nbf = NumericClaim(p, "nbf");
    c.iat = NumericClaim(p, "iat");
    for (const auto& [k, v] : p.items()) {
      c.all[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
  } catch (const json::exception&) {
    return BadToken("the token is not valid JSON");
  }
  return jwt;
}

bool VerifyJwtSignature(const Jwt& jwt, const Jwk& key) {
  if (!key.alg.empty() && key.alg != jwt.alg) return false;
  if (jwt.alg == "RS256" && key.kty == "RSA") {
    return crypto::VerifyRs256(key.rsa, jwt.signing_input, jwt.signature);
  }
  if (jwt.alg == "ES256" && key.kty == "EC") {
    return crypto::VerifyEs256(key.ec, jwt.signing_input, jwt.signature);
  }
  return false;
}

Status ValidateClaims(const JwtClaims& c, const ClaimRules& rules, util::SystemTime now) {
  int64_t now_s = util::ToUnixMillis(now) / 1000;
  int64_t leeway = rules.leeway.count();
  if (c.iss != rules.issuer) return BadToken("the token's issuer is not the expected issuer");
  if (!rules.audiences.empty()) {
    bool ok = std::any_of(c.aud.begin(), c.aud.end(), [&](const std::string& a) {
      return std::find(rules.audiences.begin(), rules.audiences.end(), a) !=
             rules.audiences.end();
    });
    if (!ok) return BadToken("Incorrect token audience");
  }
  if (!c.exp) return BadToken("the token has no exp claim");
  if (*c.exp + leeway < now_s) {
    return Fail(ErrorCode::kUnauthenticated, "Token expired: current date/time " +
                                                 std::to_string(now_s) +
                                                 " must be before the expiration date/time " +
                                                 std::to_string(*c.exp),
                Reason::kExpiredIdentityToken);
  }
  if (c.nbf && *c.nbf - leeway > now_s) return BadToken("the token is not valid yet (nbf)");
  if (c.iat) {
    if (*c.iat - leeway > now_s) return BadToken("the token was issued in the future (iat)");
    if (now_s - *c.iat > rules.max_age.count()) return BadToken("the token is too old (iat)");
  }
  return Ok();
}

}  // namespace coffer::auth
