#include "domain/parameters/internal/filters.h"

#include <algorithm>
#include <set>

#include "domain/parameters/internal/names.h"

namespace coffer::domain::parameters::internal {
namespace {

std::string WithLeadingSlash(std::string_view s) {
  if (s.starts_with('/')) return std::string(s);
  return "/" + std::string(s);
}

}  // namespace

bool IsValidDataType(std::string_view type) {
  return type == "text" || type == "aws:ec2:image" || type == "aws:ssm:integration";
}

std::unexpected<Error> FilterError(Reason reason, std::string message) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), reason);
}

Result<std::vector<HeadPredicate>> CompileDescribeFilters(
    const std::vector<ParameterFilter>& legacy, const std::vector<ParameterFilter>& filters) {
  std::vector<HeadPredicate> predicates;

  auto value_error = [](const std::string& key, const std::string& valid) {
    return FilterError(Reason::kInvalidFilterValue,
                       "The filter value is not valid for " + key + ". Valid values: " + valid);
  };
  auto option_error = [](const std::string& key, const std::string& valid) {
    return FilterError(Reason::kInvalidFilterOption,
                       "The filter option is not valid for " + key + ". Valid options include: " +
                           valid);
  };

  for (const ParameterFilter& f : legacy) {
    if (f.values.empty()) return value_error(f.key, "at least one value");
    std::vector<std::string> values = f.values;
    if (f.key == "Name") {
      predicates.push_back([values](const std::string& name, const HeadRecord&) {
        std::string n = WithLeadingSlash(name);
        return std::any_of(values.begin(), values.end(), [&](const std::string& v) {
          return n.starts_with(WithLeadingSlash(v));
        });
      });
    } else if (f.key == "Type") {
      std::set<ParameterType> types;
      for (const std::string& v : values) {
        auto t = ParseParameterType(v);
        if (!t) return value_error(f.key, "String, StringList, SecureString");
        types.insert(*t);
      }
      predicates.push_back([types](const std::string&, const HeadRecord& h) {
        return types.contains(h.meta.type);
      });
    } else if (f.key == "KeyId") {
      predicates.push_back([values](const std::string&, const HeadRecord& h) {
        if (h.meta.type != ParameterType::kSecureString) return false;
        return std::any_of(values.begin(), values.end(), [&](const std::string& v) {
          return v == h.meta.key_id || v == h.meta.kms_key_id;
        });
      });
    } else {
      return FilterError(Reason::kInvalidFilterKey,
                         "The following filter key is not valid: " + f.key +
                             ". Valid filter keys include: [Name, Type, KeyId].");
    }
  }

  for (const ParameterFilter& f : filters) {
    std::vector<std::string> values = f.values;
    bool is_tag = f.key.starts_with("tag:") && f.key.size() > 4;
    if (!is_tag && values.empty()) return value_error(f.key, "at least one value");
    if (values.size() > 50) return value_error(f.key, "at most 50 values");
    for (const std::string& v : values) {
      if (v.empty() || v.size() > 1024) return value_error(f.key, "1 to 1024 characters");
    }
    std::string option = f.option;
    if (f.key == "Name") {
      if (option.empty()) option = "Equals";
      if (option != "Equals" && option != "BeginsWith" && option != "Contains") {
        return option_error(f.key, "[Equals, BeginsWith, Contains]");
      }
      predicates.push_back([values, option](const std::string& name, const HeadRecord&) {
        std::string n = WithLeadingSlash(name);
        return std::any_of(values.begin(), values.end(), [&](const std::string& raw) {
          if (option == "Contains") return name.find(raw) != std::string::npos;
          std::string v = WithLeadingSlash(raw);
          return option == "Equals" ? n == v : n.starts_with(v);
        });
      });
    } else if (f.key == "Path") {
      if (option.empty()) option = "OneLevel";
      if (option != "OneLevel" && option != "Recursive") {
        return option_error(f.key, "[OneLevel, Recursive]");
      }
      std::vector<std::string> paths;
      for (const std::string& v : values) {
        auto p = NormalizePath(v);
        if (!p) {
          return value_error(f.key, "a path that begins with / and uses only letters, numbers "
                                    "and . - _");
        }
        paths.push_back(*p);
      }
      bool recursive = option == "Recursive";
      predicates.push_back([paths, recursive](const std::string& name, const HeadRecord&) {
        return std::any_of(paths.begin(), paths.end(), [&](const std::string& p) {
          return IsUnderPath(name, p, recursive);
        });
      });
    } else if (f.key == "Type" || f.key == "Tier" || f.key == "DataType") {
      if (!option.empty() && option != "Equals") return option_error(f.key, "[Equals]");
      for (const std::string& v : values) {
        bool ok = f.key == "Type"   ? ParseParameterType(v).has_value()
                  : f.key == "Tier" ? (v == "Standard" || v == "Advanced")
                                    : IsValidDataType(v);
        if (!ok) {
          return value_error(f.key, f.key == "Type"   ? "String, StringList, SecureString"
                                    : f.key == "Tier" ? "Standard, Advanced"
                                                      : "text, aws:ec2:image, aws:ssm:integration");
        }
      }
      std::string key = f.key;
      predicates.push_back([values, key](const std::string&, const HeadRecord& h) {
        std::string_view actual = key == "Type"   ? ParameterTypeName(h.meta.type)
                                  : key == "Tier" ? ParameterTierName(h.meta.tier)
                                                  : std::string_view(h.meta.data_type);
        return std::find(values.begin(), values.end(), actual) != values.end();
      });
    } else if (f.key == "KeyId") {
      if (!option.empty() && option != "Equals" && option != "BeginsWith") {
        return option_error(f.key, "[Equals, BeginsWith]");
      }
      bool begins = option == "BeginsWith";
      predicates.push_back([values, begins](const std::string&, const HeadRecord& h) {
        if (h.meta.type != ParameterType::kSecureString) return false;
        return std::any_of(values.begin(), values.end(), [&](const std::string& v) {
          if (begins) return h.meta.key_id.starts_with(v) || h.meta.kms_key_id.starts_with(v);
          return v == h.meta.key_id || v == h.meta.kms_key_id;
        });
      });
    } else if (is_tag) {
      if (option.empty()) option = "Equals";
      if (option != "Equals" && option != "BeginsWith") {
        return option_error(f.key, "[Equals, BeginsWith]");
      }
      std::string tag_key = f.key.substr(4);
      bool begins = option == "BeginsWith";
      predicates.push_back(
          [values, tag_key, begins](const std::string&, const HeadRecord& h) {
            auto it = h.tags.find(tag_key);
            if (it == h.tags.end()) return false;
            if (values.empty()) return true;
            return std::any_of(values.begin(), values.end(), [&](const std::string& v) {
              return begins ? it->second.starts_with(v) : it->second == v;
            });
          });
    } else {
      return FilterError(Reason::kInvalidFilterKey,
                         "The following filter key is not valid: " + f.key +
                             ". Valid filter keys include: [Path, Name, Type, KeyId, Tier, "
                             "DataType, tag:<key>].");
    }
  }

  return predicates;
}

}  // namespace coffer::domain::parameters::internal
