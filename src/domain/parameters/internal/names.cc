#include "domain/parameters/internal/names.h"

#include <algorithm>
#include <cctype>

#include "domain/arn.h"

namespace coffer::domain::parameters::internal {
namespace {

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

constexpr size_t kMaxNameWithArn = 1011;

constexpr std::string_view kBadNameMessage =
    "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). If formed as "
    "a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as "
    "a mix of letters, numbers and the following 3 symbols .-_";

}  // namespace

Status ValidateName(std::string_view name, std::string_view region, std::string_view account) {
  if (name.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "1 validation error detected: Value '' at 'name' failed to satisfy constraint: "
                "Member must have length greater than or equal to 1",
                Reason::kValidation);
  }
  if (ParameterArn(region, account, name).size() > kMaxNameWithArn) {
    return Fail(ErrorCode::kInvalidArgument,
                "Parameter name: the name can't be longer than 1011 characters including the "
                "ARN prefix.",
                Reason::kValidation);
  }
  bool hierarchical = name.find('/') != std::string_view::npos;
  if (hierarchical && name.front() != '/') {
    return Fail(ErrorCode::kInvalidArgument,
                "Parameter name must be a fully qualified name: a hierarchical name must begin "
                "with a forward slash (/).",
                Reason::kValidation);
  }
  std::string_view body = hierarchical ? name.substr(1) : name;
  if (body.empty() || body.back() == '/' || body.find("//") != std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument, std::string(kBadNameMessage), Reason::kValidation);
  }
  for (char c : body) {
    if (c != '/' && !IsNameChar(c)) {
      return Fail(ErrorCode::kInvalidArgument, std::string(kBadNameMessage), Reason::kValidation);
    }
  }
  if (StartsWithIgnoreCase(body, "aws") || StartsWithIgnoreCase(body, "ssm")) {
    return Fail(ErrorCode::kInvalidArgument, std::string(kBadNameMessage),
                Reason::kReservedParameterName);
  }
  int levels = static_cast<int>(std::count(name.begin(), name.end(), '/'));
  if (levels > 15) {
    return Fail(ErrorCode::kInvalidArgument,
                "A parameter name can't have more than 15 levels of hierarchy.",
                Reason::kHierarchyLevelLimitExceeded);
  }
  return Ok();
}

bool IsValidLabel(std::string_view label) {
  if (label.empty() || label.size() > 100) return false;
  if (std::isdigit(static_cast<unsigned char>(label.front()))) return false;
  if (StartsWithIgnoreCase(label, "aws") || StartsWithIgnoreCase(label, "ssm")) return false;
  return std::all_of(label.begin(), label.end(), IsNameChar);
}

Result<std::string> NormalizePath(std::string_view path) {
  auto bad = [&] {
    return Fail(ErrorCode::kInvalidArgument,
                "The parameter doesn't meet the parameter name requirements. The parameter name "
                "must begin with a forward slash \"/\". It can't be prefixed with \"aws\" or "
                "\"ssm\" (case-insensitive). It must use only letters, numbers, or the following "
                "symbols: . (period), - (hyphen), _ (underscore). Special characters are not "
                "allowed. All sub-paths, if specified, must use the forward slash symbol \"/\". "
                "Valid example: /get/parameters2-/by1./path0_.",
                Reason::kValidation);
  };
  if (path.empty() || path.front() != '/' || path.size() > 2048) return bad();
  std::string out(path);
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  if (out.find("//") != std::string::npos) return bad();
  for (char c : out) {
    if (c != '/' && !IsNameChar(c)) return bad();
  }
  if (std::count(out.begin(), out.end(), '/') > 15) {
    return Fail(ErrorCode::kInvalidArgument,
                "A path can't have more than 15 levels of hierarchy.",
                Reason::kHierarchyLevelLimitExceeded);
  }
  return out;
}

bool IsUnderPath(std::string_view name, std::string_view path, bool recursive) {
  std::string_view rest;
  if (path == "/") {
    rest = name.starts_with('/') ? name.substr(1) : name;
  } else {
    if (name.size() <= path.size() + 1 || !name.starts_with(path) || name[path.size()] != '/') {
      return false;
    }
    rest = name.substr(path.size() + 1);
  }
  if (rest.empty()) return false;
  return recursive || rest.find('/') == std::string_view::npos;
}

std::optional<Selector> ParseSelector(std::string_view input, std::string_view region,
                                      std::string_view account) {
  Selector sel;
  std::string_view name_part = input;
  bool from_arn = false;
  std::string arn_resource;
  if (input.starts_with("arn:")) {
    auto arn = ParseArn(input);
    if (!arn || !IsLocalArn(*arn, "ssm", region, account) ||
        !arn->resource.starts_with("parameter/")) {
      return std::nullopt;
    }
    arn_resource = arn->resource.substr(std::string_view("parameter/").size());
    name_part = arn_resource;
    from_arn = true;
  }
  size_t colon = name_part.find(':');
  if (colon != std::string_view::npos) {
    std::string_view suffix = name_part.substr(colon + 1);
    if (suffix.empty() || suffix.find(':') != std::string_view::npos) return std::nullopt;
    sel.text = std::string(name_part.substr(colon));
    if (std::all_of(suffix.begin(), suffix.end(),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      if (suffix.size() > 18) return std::nullopt;
      sel.version = std::stoll(std::string(suffix));
    } else {
      sel.label = std::string(suffix);
    }
    name_part = name_part.substr(0, colon);
  }
  if (name_part.empty() || name_part.size() > 2048) return std::nullopt;
  if (from_arn) {
    if (name_part.find('/') != std::string_view::npos) {
      sel.candidates.push_back("/" + std::string(name_part));
    } else {
      sel.candidates.push_back(std::string(name_part));
      sel.candidates.push_back("/" + std::string(name_part));
    }
  } else {
    sel.candidates.push_back(std::string(name_part));
  }
  return sel;
}

}  // namespace coffer::domain::parameters::internal
