#include <algorithm>
#include <cctype>
#include <utility>

#include "domain/iam/internal/impl.h"

namespace coffer::domain::iam {

using internal::AlreadyExists;
using internal::DecodeOidc;
using internal::EncodeOidc;
using internal::Guard;
using internal::Invalid;
using internal::IsCasConflict;
using internal::IsHex40;
using internal::kOidcPrefix;
using internal::NoSuchEntity;
using internal::OidcKey;
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
  p.arn = "arn:aws:iam::" + account_id_ + ":oidc-provider/" + *host;
  p.client_ids = client_ids;
  p.thumbprints = thumbprints;
  p.created = impl_->clock.Now();
  p.tags = tags;
  storage::Txn txn;
  txn.compares.push_back(storage::Compare{OidcKey(*host), 0});
  txn.writes.push_back(storage::Write::Put(OidcKey(*host), EncodeOidc(p)));
  auto committed = impl_->Commit(txn);
  if (!committed.has_value()) {
    if (IsCasConflict(committed.error())) {
      return Fail(AlreadyExists("Provider with url " + p.url + " already exists."));
    }
    return Fail(std::move(committed).error());
  }
  return p;
}

namespace {
Error NoSuchProvider(std::string_view what) {
  return NoSuchEntity("OpenIDConnect Provider not found for arn " + std::string(what));
}
}  // namespace

Result<OidcProvider> IdentityStore::GetOidcProvider(std::string_view arn) {
  std::string prefix = "arn:aws:iam::" + account_id_ + ":oidc-provider/";
  if (!arn.starts_with(prefix) || arn.size() == prefix.size()) return Fail(NoSuchProvider(arn));
  std::string key = OidcKey(arn.substr(prefix.size()));
  COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, impl_->GetOptional(key));
  if (!entry) return Fail(NoSuchProvider(arn));
  return DecodeOidc(entry->key, entry->value);
}

Result<OidcProvider> IdentityStore::GetOidcProviderForIssuer(std::string_view issuer) {
  std::optional<std::string> host = UrlWithoutScheme(issuer);
  if (!host) {
    return Fail(NoSuchEntity("No OpenIDConnect provider found for issuer " + std::string(issuer)));
  }
  COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, impl_->GetOptional(OidcKey(*host)));
  if (!entry) {
    return Fail(NoSuchEntity("No OpenIDConnect provider found for issuer " + std::string(issuer)));
  }
  return DecodeOidc(entry->key, entry->value);
}

Result<std::vector<OidcProvider>> IdentityStore::ListOidcProviders() {
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, impl_->Scan(kOidcPrefix));
  std::vector<OidcProvider> out;
  for (const storage::Entry& e : entries) {
    COFFER_ASSIGN_OR_RETURN(OidcProvider p, DecodeOidc(e.key, e.value));
    out.push_back(std::move(p));
  }
  return out;
}

Status IdentityStore::DeleteOidcProvider(std::string_view arn) {
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(OidcProvider p, GetOidcProvider(arn));
    std::string key = OidcKey(std::string_view(p.url).substr(8));
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, impl_->GetOptional(key));
    if (!entry) return Fail(NoSuchProvider(arn));
    storage::Txn txn;
    Guard(txn, *entry);
    txn.writes.push_back(storage::Write::Delete(key));
    return impl_->Commit(txn);
  });
}

}  // namespace coffer::domain::iam
