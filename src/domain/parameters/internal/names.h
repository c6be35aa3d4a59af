// Parameter names, paths, labels and selectors: the validation rules of
// docs/ssm-coverage.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace coffer::domain::parameters::internal {

// kInvalidArgument with kValidation (charset, shape, length incl. ARN prefix),
// kReservedParameterName (aws/ssm prefix) or kHierarchyLevelLimitExceeded.
Status ValidateName(std::string_view name, std::string_view region, std::string_view account);

// True when `label` obeys the label rules (1..100 chars of [A-Za-z0-9._-], not
// starting with a digit, "aws" or "ssm").
bool IsValidLabel(std::string_view label);

// A path as GetParametersByPath / the Path filter take it, normalised: starts
// with '/', no trailing '/' (except "/" itself). kInvalidArgument (kValidation).
Result<std::string> NormalizePath(std::string_view path);

// True when `name` lies below normalised `path`: a direct child, or any
// descendant when `recursive`. Path "/" also holds names without a leading '/'.
bool IsUnderPath(std::string_view name, std::string_view path, bool recursive);

struct Selector {
  std::vector<std::string> candidates;  // names to try, in order
  std::optional<int64_t> version;
  std::optional<std::string> label;
  std::string text;  // ":7" / ":prod" / ""
};

// Parses "name", "name:<version>", "name:<label>" and parameter ARNs (of this
// partition, region and account) with an optional selector. nullopt when it cannot name
// any parameter (the caller reports not found).
std::optional<Selector> ParseSelector(std::string_view input, std::string_view region,
                                      std::string_view account);

}  // namespace coffer::domain::parameters::internal
