#include <algorithm>
#include <cctype>
#include <utility>

#include "domain/arn.h"
#include "domain/iam/internal/impl.h"

namespace coffer::domain::iam {

using internal::Invalid;
using internal::IsHex40;
using internal::kOidcProviders;
using internal::NoSuchEntity;
using internal::ValidateTags;

// ---------------------------------------------------------------- OIDC providers

namespace {

// "https://host/path/" -> "host/path"; nullopt when not an https URL.
std::optional<std::string> UrlWithoutScheme(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (url.size() < kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), url.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    return std::nullopt;
  }
  std::string_view rest = url.substr(kScheme.size());
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty() || rest.front() == '/') return std::nullopt;
  for (char c : rest) {
    if (c <= 0x20 || c >= 0x7F || c == '?' || c == '#') return std::nullopt;
  }
  return std::string(rest);
}

}  // namespace

Result<OidcProvider> IdentityStore::CreateOidcProvider(const std::string_view url,
                                                       const std::vector<std::string>& client_ids,
                                                       const std::vector<std::string>& thumbprints,
                                                       const std::vector<Tag>& tags) {
  std::optional<std::string> host = UrlWithoutScheme(url);
  if (url.size() > 255 || !host) {
    return Fail(Invalid("Url must be an https URL of at most 255 characters"));
  }
  if (thumbprints.size() > kMaxOidcThumbprints) {
    return Fail(Invalid("ThumbprintList may hold at most 5 thumbprints"));
  }
  for (const std::string& t : thumbprints) {
    if (!IsHex40(t)) return Fail(Invalid("thumbprints must be 40 hexadecimal characters"));
  }
  if (client_ids.size() > kMaxOidcClientIds) {
    return Fail(Invalid("ClientIDList may hold at most 100 client ids"));
  }
  for (const std::string& c : client_ids) {
    if (c.empty() || c.size() > 255) return Fail(Invalid("client ids must be 1-255 characters"));
  }
  COFFER_RETURN_IF_ERROR(ValidateTags(tags));
  OidcProvider p;
  p.url = "https://" + *host;
  p.arn = OidcProviderArn(account_id_, *host);
  p.client_ids = client_ids;
  p.thumbprints = thumbprints;
  p.created = impl_->clock.Now();
  p.tags = tags;
  std::string exists = "Provider with url " + p.url + " already exists.";
  return impl_->CreateRecord(kOidcProviders, *host, std::move(p), std::move(exists));
}

namespace {

Error NoSuchProvider(std::string_view what) {
  return NoSuchEntity("OpenIDConnect Provider not found for arn " + std::string(what));
}

Error NoProviderForIssuer(std::string_view issuer) {
  return NoSuchEntity("No OpenIDConnect provider found for issuer " + std::string(issuer));
}

}  // namespace

Result<OidcProvider> IdentityStore::GetOidcProvider(std::string_view arn) {
  std::string prefix = OidcProviderArn(account_id_, "");  // the ARN up to the host
  if (!arn.starts_with(prefix) || arn.size() == prefix.size()) return Fail(NoSuchProvider(arn));
  COFFER_ASSIGN_OR_RETURN(auto found, impl_->FindRecord(kOidcProviders, arn.substr(prefix.size()),
                                                        NoSuchProvider(arn)));
  return std::move(found.record);
}

Result<OidcProvider> IdentityStore::GetOidcProviderForIssuer(std::string_view issuer) {
  std::optional<std::string> host = UrlWithoutScheme(issuer);
  if (!host) return Fail(NoProviderForIssuer(issuer));
  COFFER_ASSIGN_OR_RETURN(auto found,
                          impl_->FindRecord(kOidcProviders, *host, NoProviderForIssuer(issuer)));
  return std::move(found.record);
}

Result<std::vector<OidcProvider>> IdentityStore::ListOidcProviders() {
  return impl_->ListRecords(kOidcProviders, [](const OidcProvider&) { return true; });
}

Status IdentityStore::DeleteOidcProvider(std::string_view arn) {
  std::string prefix = OidcProviderArn(account_id_, "");  // the ARN up to the host
  if (!arn.starts_with(prefix) || arn.size() == prefix.size()) return Fail(NoSuchProvider(arn));
  return impl_->DeleteRecord(kOidcProviders, arn.substr(prefix.size()), NoSuchProvider(arn),
                             [](const OidcProvider&) { return Ok(); });
}

}  // namespace coffer::domain::iam
