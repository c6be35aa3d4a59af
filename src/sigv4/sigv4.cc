#include "sigv4/sigv4.h"

#include <algorithm>
#include <array>

#include "crypto/crypto.h"
#include "util/check.h"
#include "util/encoding.h"

namespace coffer::sigv4 {
namespace {

constexpr char kHexUpper[] = "0123456789ABCDEF";
constexpr char kHexLower[] = "0123456789abcdef";

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

void AppendUriEncoded(std::string_view text, std::string& out) {
  for (unsigned char c : text) {
    if (IsUnreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHexUpper[c >> 4]);
      out.push_back(kHexUpper[c & 0xF]);
    }
  }
}

void AppendHex(std::string_view bytes, std::string& out) {
  for (unsigned char c : bytes) {
    out.push_back(kHexLower[c >> 4]);
    out.push_back(kHexLower[c & 0xF]);
  }
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view lower_b) {
  if (a.size() != lower_b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLower(a[i]) != lower_b[i]) return false;
  }
  return true;
}

// Appends `value` trimmed, with each inner whitespace run collapsed to one space.
void AppendTrimmedCollapsed(std::string_view value, std::string& out) {
  size_t i = 0;
  size_t n = value.size();
  while (i < n && IsSpace(value[i])) ++i;
  while (n > i && IsSpace(value[n - 1])) --n;
  bool in_space = false;
  for (; i < n; ++i) {
    char c = value[i];
    if (IsSpace(c)) {
      in_space = true;
      continue;
    }
    if (in_space) out.push_back(' ');
    in_space = false;
    out.push_back(c);
  }
}

std::string ToLowerString(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ToLower(c);
  return out;
}

}  // namespace

std::string CanonicalUri(std::string_view raw_path) {
  // Resolve segments: skip empty and ".", pop on "..".
  std::vector<std::string_view> segments;
  size_t pos = 0;
  while (pos <= raw_path.size()) {
    size_t next = raw_path.find('/', pos);
    if (next == std::string_view::npos) next = raw_path.size();
    std::string_view seg = raw_path.substr(pos, next - pos);
    if (seg.empty() || seg == ".") {
      // dropped
    } else if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
    } else {
      segments.push_back(seg);
    }
    pos = next + 1;
  }
  std::string out;
  out.reserve(raw_path.size() + 8);
  for (std::string_view seg : segments) {
    out.push_back('/');
    AppendUriEncoded(seg, out);
  }
  if (segments.empty() || (!raw_path.empty() && raw_path.back() == '/')) out.push_back('/');
  return out;
}

Result<std::string> CanonicalUriS3(std::string_view raw_path) {
  if (raw_path.empty()) return std::string("/");
  COFFER_ASSIGN_OR_RETURN(std::string decoded, util::UriDecode(raw_path));
  std::string out;
  out.reserve(decoded.size() + 8);
  size_t pos = 0;
  while (true) {
    size_t slash = decoded.find('/', pos);
    AppendUriEncoded(std::string_view(decoded).substr(pos, slash - pos), out);
    if (slash == std::string::npos) break;
    out.push_back('/');
    pos = slash + 1;
  }
  return out;
}

Result<std::string> CanonicalQuery(std::string_view raw_query) {
  if (raw_query.empty()) return std::string();
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t pos = 0;
  while (pos <= raw_query.size()) {
    size_t next = raw_query.find('&', pos);
    if (next == std::string_view::npos) next = raw_query.size();
    std::string_view item = raw_query.substr(pos, next - pos);
    pos = next + 1;
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string_view raw_key = item.substr(0, eq);
    std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    COFFER_ASSIGN_OR_RETURN(std::string key, util::UriDecode(raw_key));
    COFFER_ASSIGN_OR_RETURN(std::string value, util::UriDecode(raw_value));
    std::string enc_key;
    std::string enc_value;
    AppendUriEncoded(key, enc_key);
    AppendUriEncoded(value, enc_value);
    pairs.emplace_back(std::move(enc_key), std::move(enc_value));
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (i != 0) out.push_back('&');
    out += pairs[i].first;
    out.push_back('=');
    out += pairs[i].second;
  }
  return out;
}

bool CanonicalHeaderValue(std::span<const HeaderView> headers, std::string_view lower_name,
                          std::string& out) {
  bool found = false;
  for (const auto& [name, value] : headers) {
    if (!EqualsIgnoreCase(name, lower_name)) continue;
    if (found) out.push_back(',');
    AppendTrimmedCollapsed(value, out);
    found = true;
  }
  return found;
}

Status AppendCanonicalRequest(const RequestParts& request,
                              std::span<const std::string_view> signed_headers,
                              std::string_view payload_hash, std::string& out,
                              UriStyle style) {
  out += request.method;
  out.push_back('\n');
  if (style == UriStyle::kS3) {
    COFFER_ASSIGN_OR_RETURN(std::string uri, CanonicalUriS3(request.path));
    out += uri;
  } else {
    out += CanonicalUri(request.path);
  }
  out.push_back('\n');
  if (!request.query.empty()) {
    COFFER_ASSIGN_OR_RETURN(std::string query, CanonicalQuery(request.query));
    out += query;
  }
  out.push_back('\n');
  for (std::string_view name : signed_headers) {
    out += name;
    out.push_back(':');
    if (!CanonicalHeaderValue(request.headers, name, out)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "Signed header '" + std::string(name) + "' is not present in the request",
                  Reason::kIncompleteSignature);
    }
    out.push_back('\n');
  }
  out.push_back('\n');
  for (size_t i = 0; i < signed_headers.size(); ++i) {
    if (i != 0) out.push_back(';');
    out += signed_headers[i];
  }
  out.push_back('\n');
  out += payload_hash;
  return Ok();
}

Result<std::string> CanonicalRequest(const RequestParts& request,
                                     std::span<const std::string_view> signed_headers,
                                     std::string_view payload_hash) {
  std::string out;
  out.reserve(256);
  COFFER_RETURN_IF_ERROR(AppendCanonicalRequest(request, signed_headers, payload_hash, out));
  return out;
}

std::string CredentialScope(std::string_view date, std::string_view region,
                            std::string_view service) {
  std::string out;
  out.reserve(date.size() + region.size() + service.size() + kTerminator.size() + 3);
  out += date;
  out.push_back('/');
  out += region;
  out.push_back('/');
  out += service;
  out.push_back('/');
  out += kTerminator;
  return out;
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  std::string out;
  out.reserve(kAlgorithm.size() + amz_date.size() + scope.size() + 64 + 3);
  out += kAlgorithm;
  out.push_back('\n');
  out += amz_date;
  out.push_back('\n');
  out += scope;
  out.push_back('\n');
  crypto::Digest256 hash = crypto::Sha256(canonical_request);
  AppendHex(crypto::AsView(hash), out);
  return out;
}

SecretBytes DeriveSigningKey(const SecretBytes& secret_access_key, std::string_view date,
                             std::string_view region, std::string_view service) {
  SecretBytes seed(4 + secret_access_key.size());
  std::copy_n("AWS4", 4, seed.MutableData());
  std::copy_n(secret_access_key.bytes(), secret_access_key.size(), seed.MutableData() + 4);
  crypto::Digest256 k = crypto::HmacSha256(seed.Reveal(), date);
  k = crypto::HmacSha256(crypto::AsView(k), region);
  k = crypto::HmacSha256(crypto::AsView(k), service);
  k = crypto::HmacSha256(crypto::AsView(k), kTerminator);
  SecretBytes key(crypto::AsView(k));
  util::SecureZero(k.data(), k.size());
  return key;
}

std::string SignatureHex(const SecretBytes& signing_key, std::string_view string_to_sign) {
  crypto::Digest256 mac = crypto::HmacSha256(signing_key.Reveal(), string_to_sign);
  std::string out;
  out.reserve(64);
  AppendHex(crypto::AsView(mac), out);
  return out;
}

Result<util::SystemTime> ParseHttpDate(std::string_view text) {
  // IMF-fixdate: "Sun, 30 Aug 2015 12:36:00 GMT" (29 chars).
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto bad = [] {
    return Fail(ErrorCode::kInvalidArgument, "Date header is not an IMF-fixdate",
                Reason::kMalformedInput);
  };
  if (text.size() != 29 || text[3] != ',' || text[4] != ' ' || text[7] != ' ' || text[11] != ' ' ||
      text[16] != ' ' || text[19] != ':' || text[22] != ':' || text.substr(25) != " GMT") {
    return bad();
  }
  int month = 0;
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (text.substr(8, 3) == kMonths[i]) month = static_cast<int>(i) + 1;
  }
  if (month == 0) return bad();
  std::string_view day = text.substr(5, 2);
  std::string_view year = text.substr(12, 4);
  std::string basic;
  basic.reserve(16);
  basic += year;
  basic.push_back(static_cast<char>('0' + month / 10));
  basic.push_back(static_cast<char>('0' + month % 10));
  basic += day;
  basic.push_back('T');
  basic += text.substr(17, 2);
  basic += text.substr(20, 2);
  basic += text.substr(23, 2);
  basic.push_back('Z');
  auto parsed = util::ParseAmzDate(basic);
  if (!parsed.has_value()) return bad();
  return *parsed;
}

Result<SignResult> Sign(const RequestParts& request, const SigningParams& params) {
  COFFER_CHECK(params.secret_access_key != nullptr);
  SignResult result;
  std::vector<HeaderView> headers(request.headers.begin(), request.headers.end());
  bool has_host = false;
  bool has_date = false;
  bool has_token = false;
  std::string_view existing_date;
  for (const auto& [name, value] : request.headers) {
    if (EqualsIgnoreCase(name, "host")) has_host = true;
    if (EqualsIgnoreCase(name, "x-amz-date") && !has_date) {
      has_date = true;
      existing_date = value;
    }
    if (EqualsIgnoreCase(name, "x-amz-security-token")) has_token = true;
  }
  if (!has_host) {
    return Fail(ErrorCode::kInvalidArgument, "a request to sign needs a Host header",
                Reason::kMalformedInput);
  }
  if (has_date) {
    std::string trimmed;
    AppendTrimmedCollapsed(existing_date, trimmed);
    COFFER_RETURN_IF_ERROR(util::ParseAmzDate(trimmed));
    result.amz_date = std::move(trimmed);
  } else {
    result.amz_date = util::FormatAmzDate(params.time);
    result.headers_to_add.emplace_back("X-Amz-Date", result.amz_date);
  }
  if (!params.session_token.empty() && !has_token) {
    result.headers_to_add.emplace_back("X-Amz-Security-Token", std::string(params.session_token));
  }
  for (const auto& [name, value] : result.headers_to_add) headers.emplace_back(name, value);

  std::vector<std::string> names;
  for (const auto& [name, value] : headers) {
    std::string lower = ToLowerString(name);
    if (lower == "authorization" || lower == "user-agent" || lower == "expect" ||
        lower == "x-amzn-trace-id") {
      continue;
    }
    names.push_back(std::move(lower));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::vector<std::string_view> name_views(names.begin(), names.end());
  for (size_t i = 0; i < names.size(); ++i) {
    if (i != 0) result.signed_headers.push_back(';');
    result.signed_headers += names[i];
  }

  std::string payload_hash = params.payload_hash.empty() ? crypto::Sha256Hex(params.body)
                                                         : std::string(params.payload_hash);
  RequestParts parts = request;
  parts.headers = headers;
  COFFER_ASSIGN_OR_RETURN(result.canonical_request,
                          CanonicalRequest(parts, name_views, payload_hash));
  std::string_view date = std::string_view(result.amz_date).substr(0, 8);
  std::string scope = CredentialScope(date, params.region, params.service);
  result.string_to_sign = StringToSign(result.amz_date, scope, result.canonical_request);
  SecretBytes key =
      DeriveSigningKey(*params.secret_access_key, date, params.region, params.service);
  result.signature = SignatureHex(key, result.string_to_sign);
  result.authorization =
      std::string(kAlgorithm) + " Credential=" + std::string(params.access_key_id) + "/" + scope +
      ", SignedHeaders=" + result.signed_headers + ", Signature=" + result.signature;
  result.headers_to_add.emplace_back("Authorization", result.authorization);
  return result;
}

}  // namespace coffer::sigv4
