#include "api/awsjson/fields.h"

#include <cctype>

namespace coffer::api::awsjson {
namespace {

constexpr size_t kMaxEcho = 256;

std::string TypeMismatch(const nlohmann::json& value, std::string_view expected,
                         std::string_view member) {
  if (value.is_object()) return "Start of structure or map found where not expected.";
  if (value.is_array()) return "Start of list found where not expected.";
  std::string got = value.is_string()    ? "STRING_VALUE"
                    : value.is_boolean() ? "BOOLEAN_VALUE"
                                         : "NUMBER_VALUE";
  return got + " can not be converted to " + std::string(expected) + " (member " +
         std::string(member) + ")";
}

std::string Echo(std::string_view s) {
  if (s.size() > kMaxEcho) return std::string(s.substr(0, kMaxEcho)) + "...";
  return std::string(s);
}

}  // namespace

std::unexpected<Error> ValidationError(std::string_view shown_value, std::string_view path,
                                       std::string_view constraint) {
  std::string msg = "1 validation error detected: Value ";
  if (shown_value.data() != nullptr) {
    msg += "'" + std::string(shown_value) + "' ";
  }
  msg += "at '" + std::string(path) + "' failed to satisfy constraint: " + std::string(constraint);
  return Fail(ErrorCode::kInvalidArgument, std::move(msg), Reason::kValidation);
}

std::unexpected<Error> SerializationError(std::string message) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), Reason::kMalformedInput);
}

Fields::Fields(const nlohmann::json& object, std::string path)
    : object_(object), path_(std::move(path)) {}

std::string Fields::PathOf(std::string_view member) const {
  std::string m(member);
  if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
  return path_.empty() ? m : path_ + "." + m;
}

const nlohmann::json* Fields::Find(std::string_view member) const {
  if (!object_.is_object()) return nullptr;
  auto it = object_.find(std::string(member));
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::optional<std::string>> Fields::OptString(std::string_view member, size_t min_len,
                                                     size_t max_len) const {
  const nlohmann::json* v = Find(member);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return SerializationError(TypeMismatch(*v, "String", member));
  const std::string& s = v->get_ref<const std::string&>();
  if (s.size() < min_len) {
    return ValidationError(Echo(s), PathOf(member),
                           "Member must have length greater than or equal to " +
                               std::to_string(min_len));
  }
  if (s.size() > max_len) {
    return ValidationError(Echo(s), PathOf(member),
                           "Member must have length less than or equal to " +
                               std::to_string(max_len));
  }
  return std::optional<std::string>(s);
}

Result<std::string> Fields::String(std::string_view member, size_t min_len,
                                   size_t max_len) const {
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> s, OptString(member, min_len, max_len));
  if (!s) return ValidationError("null", PathOf(member), "Member must not be null");
  return std::move(*s);
}

Result<SecretBytes> Fields::Secret(std::string_view member, size_t min_len,
                                   size_t max_len) const {
  const nlohmann::json* v = Find(member);
  if (v == nullptr) return ValidationError("null", PathOf(member), "Member must not be null");
  if (!v->is_string()) return SerializationError(TypeMismatch(*v, "String", member));
  const std::string& s = v->get_ref<const std::string&>();
  if (s.size() < min_len) {
    return ValidationError(std::string_view(), PathOf(member),
                           "Member must have length greater than or equal to " +
                               std::to_string(min_len));
  }
  if (s.size() > max_len) {
    return ValidationError(std::string_view(), PathOf(member),
                           "Member must have length less than or equal to " +
                               std::to_string(max_len));
  }
  return SecretBytes(s);
}

Result<std::optional<bool>> Fields::OptBool(std::string_view member) const {
  const nlohmann::json* v = Find(member);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_boolean()) return SerializationError(TypeMismatch(*v, "Boolean", member));
  return std::optional<bool>(v->get<bool>());
}

Result<std::optional<int64_t>> Fields::OptInt(std::string_view member, int64_t min,
                                              int64_t max) const {
  const nlohmann::json* v = Find(member);
  if (v == nullptr) return std::optional<int64_t>();
  if (!v->is_number_integer()) {
    if (v->is_number_float()) {
      return SerializationError("Unexpected fractional number for member " +
                                std::string(member));
    }
    return SerializationError(TypeMismatch(*v, "Long", member));
  }
  int64_t n = 0;
  if (v->is_number_unsigned()) {
    uint64_t u = v->get<uint64_t>();
    n = u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
            ? std::numeric_limits<int64_t>::max()
            : static_cast<int64_t>(u);
  } else {
    n = v->get<int64_t>();
  }
  if (n < min) {
    return ValidationError(std::to_string(n), PathOf(member),
                           "Member must have value greater than or equal to " +
                               std::to_string(min));
  }
  if (n > max) {
    return ValidationError(std::to_string(n), PathOf(member),
                           "Member must have value less than or equal to " + std::to_string(max));
  }
  return std::optional<int64_t>(n);
}

Result<std::optional<std::vector<std::string>>> Fields::OptStringList(
    std::string_view member, size_t min_items, size_t max_items, size_t min_len,
    size_t max_len) const {
  const nlohmann::json* v = Find(member);
  if (v == nullptr) return std::optional<std::vector<std::string>>();
  if (!v->is_array()) return SerializationError(TypeMismatch(*v, "List", member));
  std::vector<std::string> out;
  for (size_t i = 0; i < v->size(); ++i) {
    const nlohmann::json& e = (*v)[i];
    std::string path = PathOf(member) + "." + std::to_string(i + 1) + ".member";
    if (!e.is_string()) return SerializationError(TypeMismatch(e, "String", member));
    const std::string& s = e.get_ref<const std::string&>();
    if (s.size() < min_len) {
      return ValidationError(Echo(s), path,
                             "Member must have length greater than or equal to " +
                                 std::to_string(min_len));
    }
    if (s.size() > max_len) {
      return ValidationError(Echo(s), path,
                             "Member must have length less than or equal to " +
                                 std::to_string(max_len));
    }
    out.push_back(s);
  }
  if (out.size() < min_items) {
    return ValidationError(v->dump(), PathOf(member),
                           "Member must have length greater than or equal to " +
                               std::to_string(min_items));
  }
  if (out.size() > max_items) {
    return ValidationError(Echo(v->dump()), PathOf(member),
                           "Member must have length less than or equal to " +
                               std::to_string(max_items));
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::vector<std::string>> Fields::StringList(std::string_view member, size_t min_items,
                                                    size_t max_items, size_t min_len,
                                                    size_t max_len) const {
  COFFER_ASSIGN_OR_RETURN(auto list, OptStringList(member, min_items, max_items, min_len, max_len));
  if (!list) return ValidationError("null", PathOf(member), "Member must not be null");
  return std::move(*list);
}

Result<std::optional<std::vector<const nlohmann::json*>>> Fields::OptObjectList(
    std::string_view member, size_t min_items, size_t max_items) const {
  const nlohmann::json* v = Find(member);
  if (v == nullptr) return std::optional<std::vector<const nlohmann::json*>>();
  if (!v->is_array()) return SerializationError(TypeMismatch(*v, "List", member));
  std::vector<const nlohmann::json*> out;
  for (const nlohmann::json& e : *v) {
    if (!e.is_object()) return SerializationError(TypeMismatch(e, "Structure", member));
    out.push_back(&e);
  }
  if (out.size() < min_items) {
    return ValidationError("[]", PathOf(member),
                           "Member must have length greater than or equal to " +
                               std::to_string(min_items));
  }
  if (out.size() > max_items) {
    return ValidationError(std::string_view(), PathOf(member),
                           "Member must have length less than or equal to " +
                               std::to_string(max_items));
  }
  return std::optional<std::vector<const nlohmann::json*>>(std::move(out));
}

Result<std::vector<domain::Tag>> TagList(const Fields& f, bool required, size_t min_items,
                                         size_t max_items, TagMembers members) {
  COFFER_ASSIGN_OR_RETURN(auto list, f.OptObjectList("Tags", min_items, max_items));
  std::vector<domain::Tag> tags;
  if (!list) {
    if (required) return ValidationError("null", f.PathOf("Tags"), "Member must not be null");
    return tags;
  }
  for (size_t i = 0; i < list->size(); ++i) {
    Fields tf(*(*list)[i], f.PathOf("Tags") + "." + std::to_string(i + 1) + ".member");
    domain::Tag tag;
    COFFER_ASSIGN_OR_RETURN(tag.key, tf.String(members.key, 1, 128));
    COFFER_ASSIGN_OR_RETURN(tag.value, tf.String(members.value, 0, 256));
    tags.push_back(std::move(tag));
  }
  return tags;
}

}  // namespace coffer::api::awsjson
