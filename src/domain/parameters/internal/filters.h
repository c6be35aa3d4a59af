// The filters of DescribeParameters (the legacy Filters and ParameterFilters),
// compiled once per request into predicates over a parameter's head record.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/parameters/internal/records.h"
#include "domain/parameters/parameter_store.h"
#include "util/result.h"

namespace coffer::domain::parameters::internal {

// Whether a parameter's head (name without its leading '/' as stored, and its
// record) passes one filter.
using HeadPredicate = std::function<bool(const std::string& name, const HeadRecord& head)>;

// Compiles `legacy` (Filters: Name, Type, KeyId) and `filters`
// (ParameterFilters: Path, Name, Type, KeyId, Tier, DataType, tag:<key>, with
// their options) into predicates that must all hold. kInvalidArgument with
// Reason::kInvalidFilterKey / kInvalidFilterOption / kInvalidFilterValue and
// AWS's messages for a filter it cannot use.
Result<std::vector<HeadPredicate>> CompileDescribeFilters(
    const std::vector<ParameterFilter>& legacy, const std::vector<ParameterFilter>& filters);

// "text", "aws:ec2:image" or "aws:ssm:integration": the DataTypes SSM knows.
bool IsValidDataType(std::string_view type);

// kInvalidArgument with `reason` (a filter error).
std::unexpected<Error> FilterError(Reason reason, std::string message);

}  // namespace coffer::domain::parameters::internal
