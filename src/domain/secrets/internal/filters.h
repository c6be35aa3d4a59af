// The filters of ListSecrets and BatchGetSecretValue (name, description,
// tag-key, tag-value, all, primary-region, owning-service): their validation
// and how a secret's head matches them.
#pragma once

#include <string>
#include <vector>

#include "domain/secrets/internal/records.h"
#include "domain/secrets/secret_store.h"
#include "util/result.h"

namespace coffer::domain::secrets::internal {

// kInvalidArgument (kSecretInvalidParameter) for more than 10 filters, an
// unknown key, 0 or more than 10 values, or a value over 512 characters or
// with characters outside [A-Za-z0-9 :_@/+=.-!].
Status CheckFilters(const std::vector<SecretFilter>& filters);

// True when the secret `name` with head `h` matches every filter: a value
// matches as a prefix (case-sensitive; for description and all, every word of
// it a case-insensitive prefix of a word), "!value" when nothing matches it.
bool Matches(const std::string& name, const HeadRecord& h,
             const std::vector<SecretFilter>& filters);

}  // namespace coffer::domain::secrets::internal
