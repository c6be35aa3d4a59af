#include "agent/source.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <map>
#include <regex>
#include <utility>

#include "util/encoding.h"
#include "util/secret_bytes.h"

namespace coffer::agent {
namespace {

using nlohmann::json;

constexpr size_t kParametersPerCall = 10;
constexpr size_t kSecretsPerCall = 20;

// Wipes every string in a parsed answer (values pass through them).
void Scrub(json& j) {
  if (j.is_string()) {
    util::SecureClear(j.get_ref<std::string&>());
  } else if (j.is_structured()) {
    for (auto& v : j) Scrub(v);
  }
}

// The array member `name` of `j`, by reference (no copy of the values in it);
// an empty array when absent.
const json& Member(const json& j, const char* name) {
  static const json kEmpty = json::array();
  auto it = j.find(name);
  return it == j.end() || !it->is_array() ? kEmpty : *it;
}

struct ScrubbedJson {
  json doc;
  ~ScrubbedJson() { Scrub(doc); }
};

std::string LastSegment(std::string_view name) {
  size_t slash = name.find_last_of('/');
  return std::string(slash == std::string_view::npos ? name : name.substr(slash + 1));
}

// The key of a parameter found under `path`: its name below the path, '/' -> '_'.
std::string RelativeKey(std::string_view path, std::string_view name) {
  std::string_view rest = name;
  if (rest.starts_with(path)) rest.remove_prefix(path.size());
  while (rest.starts_with("/")) rest.remove_prefix(1);
  std::string out(rest);
  for (char& c : out) {
    if (c == '/') c = '_';
  }
  return out;
}

std::string JsonScalar(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// Applies a KeySpec's property / extract to one value and adds the result.
Status AddValue(const KeySpec& spec, const std::string& name, std::string_view raw,
                Values& out) {
  if (spec.property.empty() && !spec.extract) {
    out[spec.key.empty() ? LastSegment(name) : spec.key] = SecretBytes(raw);
    return Ok();
  }
  ScrubbedJson parsed;
  parsed.doc = json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (parsed.doc.is_discarded()) {
    return Fail(ErrorCode::kInvalidArgument,
                "the value of " + name + " is not JSON, so a property cannot be read from it",
                Reason::kValidation);
  }
  const json* node = &parsed.doc;
  if (!spec.property.empty()) {
    // A dotted path ("db.password"), as ESO's gjson property selects.
    std::string_view path = spec.property;
    while (!path.empty()) {
      size_t dot = path.find('.');
      std::string member(path.substr(0, dot));
      auto missing = [&] {
        return Fail(ErrorCode::kInvalidArgument,
                    "the value of " + name + " has no property " + spec.property,
                    Reason::kValidation);
      };
      if (node->is_array()) {
        // gjson's array index ("friends.1.first").
        size_t index = 0;
        auto [end, ec] = std::from_chars(member.data(), member.data() + member.size(), index);
        if (member.empty() || ec != std::errc() || end != member.data() + member.size() ||
            index >= node->size()) {
          return missing();
        }
        node = &(*node)[index];
      } else {
        if (!node->is_object() || !node->contains(member)) return missing();
        node = &(*node)[member];
      }
      if (dot == std::string_view::npos) break;
      path.remove_prefix(dot + 1);
    }
  }
  if (spec.extract) {
    if (!node->is_object()) {
      return Fail(ErrorCode::kInvalidArgument,
                  "the value of " + name + " is not a JSON object to extract keys from",
                  Reason::kValidation);
    }
    for (auto it = node->begin(); it != node->end(); ++it) {
      std::string v = JsonScalar(it.value());
      out[it.key()] = SecretBytes(v);
      util::SecureClear(v);
    }
    return Ok();
  }
  std::string v = JsonScalar(*node);
  out[spec.key.empty() ? LastSegment(name) : spec.key] = SecretBytes(v);
  util::SecureClear(v);
  return Ok();
}

Error CallError(std::string_view op, const client::AwsError& e) {
  std::string message = std::string(op) + ": " + e.code;
  if (!e.message.empty()) message += ": " + e.message;
  if (e.status >= 500 || e.code == "ThrottlingException") {
    return Error{ErrorCode::kUnavailable, Reason::kNone, std::move(message)};
  }
  if (e.status == 403 || e.code == "AccessDeniedException") {
    return Error{ErrorCode::kPermissionDenied, Reason::kAccessDenied, std::move(message)};
  }
  return Error{ErrorCode::kInvalidArgument, Reason::kNone, std::move(message)};
}

}  // namespace

AwsSource::AwsSource(const client::AwsConfig& config, util::Metrics& metrics,
                     util::Clock& clock)
    : config_(config), metrics_(metrics), clock_(clock) {
  metrics_.Describe("coffer_agent_api_calls_total", "counter",
                    "SSM and Secrets Manager calls the agent made, by api and operation");
}

Result<Fetched> AwsSource::Fetch(const std::vector<KeySpec>& keys) {
  Fetched out;
  auto call = [&](std::string_view service, std::string_view target, std::string_view op,
                  const json& body, ScrubbedJson& answer) -> Status {
    metrics_.Increment("coffer_agent_api_calls_total",
                       "api=\"" + std::string(service) + "\",op=\"" + std::string(op) + "\"");
    COFFER_ASSIGN_OR_RETURN(client::AwsResponse r,
                            client::CallJson(config_, service, std::string(target) + "." +
                                                                   std::string(op),
                                             body.dump(), clock_));
    if (r.error) {
      util::SecureClear(r.body);
      return Fail(CallError(op, *r.error));
    }
    answer.doc = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    util::SecureClear(r.body);
    if (answer.doc.is_discarded() || !answer.doc.is_object()) {
      return Fail(ErrorCode::kUnavailable, std::string(op) + ": the answer does not parse");
    }
    return Ok();
  };

  // Parameter paths.
  for (const KeySpec& spec : keys) {
    if (spec.kind != KeySpec::Kind::kParameterPath) continue;
    std::optional<std::regex> filter;
    if (!spec.property.empty()) {
      try {
        filter.emplace(spec.property, std::regex::ECMAScript);
      } catch (const std::regex_error&) {
        return Fail(ErrorCode::kInvalidArgument,
                    "name regexp '" + spec.property + "' does not compile", Reason::kValidation);
      }
    }
    std::string token;
    do {
      json body = {{"Path", spec.name}, {"Recursive", true}, {"WithDecryption", true},
                   {"MaxResults", kParametersPerCall}};
      if (!token.empty()) body["NextToken"] = token;
      ScrubbedJson answer;
      COFFER_RETURN_IF_ERROR(call("ssm", "AmazonSSM", "GetParametersByPath", body, answer));
      for (const json& p : Member(answer.doc, "Parameters")) {
        std::string name = p.value("Name", "");
        if (filter && !std::regex_search(name, *filter)) continue;
        std::string value = p.value("Value", "");
        out.values[RelativeKey(spec.name, name)] = SecretBytes(value);
        util::SecureClear(value);
      }
      token = answer.doc.value("NextToken", "");
    } while (!token.empty());
  }

  // Named parameters, 10 a call.
  std::vector<const KeySpec*> params;
  for (const KeySpec& spec : keys) {
    if (spec.kind == KeySpec::Kind::kParameter) params.push_back(&spec);
  }
  for (size_t i = 0; i < params.size(); i += kParametersPerCall) {
    json names = json::array();
    std::map<std::string, std::vector<const KeySpec*>> wanted;
    for (size_t j = i; j < params.size() && j < i + kParametersPerCall; ++j) {
      std::string n = params[j]->name;
      if (!params[j]->version.empty()) n += ":" + params[j]->version;
      if (!wanted.contains(n)) names.push_back(n);
      wanted[n].push_back(params[j]);
    }
    ScrubbedJson answer;
    COFFER_RETURN_IF_ERROR(call("ssm", "AmazonSSM", "GetParameters",
                                json{{"Names", names}, {"WithDecryption", true}}, answer));
    for (const json& p : Member(answer.doc, "Parameters")) {
      std::string name = p.value("Name", "") + p.value("Selector", "");
      auto it = wanted.find(name);
      if (it == wanted.end()) continue;
      std::string value = p.value("Value", "");
      for (const KeySpec* spec : it->second) {
        if (Status s = AddValue(*spec, spec->name, value, out.values); !s) {
          util::SecureClear(value);
          return Fail(s.error());
        }
      }
      util::SecureClear(value);
      wanted.erase(it);
    }
    for (const auto& [name, specs] : wanted) out.missing.push_back(name);
  }

  // Secrets: BatchGetSecretValue, 20 a call; a pinned version by GetSecretValue.
  std::vector<const KeySpec*> secrets;
  for (const KeySpec& spec : keys) {
    if (spec.kind != KeySpec::Kind::kSecret) continue;
    if (!spec.version.empty()) {
      ScrubbedJson answer;
      json body = {{"SecretId", spec.name}};
      // ESO: a version is a VersionStage, or with the prefix "uuid/" a VersionId.
      if (spec.version.starts_with("uuid/")) {
        body["VersionId"] = spec.version.substr(5);
      } else {
        body["VersionStage"] = spec.version;
      }
      Status s = call("secretsmanager", "secretsmanager", "GetSecretValue", body, answer);
      if (!s) {
        if (s.error().message.find("ResourceNotFoundException") != std::string::npos) {
          out.missing.push_back(spec.name);
          continue;
        }
        return Fail(s.error());
      }
      std::string value = answer.doc.value("SecretString", "");
      if (answer.doc.contains("SecretBinary")) {
        auto bin = util::Base64Decode(answer.doc.value("SecretBinary", ""));
        if (bin) value = std::move(*bin);
      }
      Status added = AddValue(spec, spec.name, value, out.values);
      util::SecureClear(value);
      COFFER_RETURN_IF_ERROR(added);
      continue;
    }
    secrets.push_back(&spec);
  }
  for (size_t i = 0; i < secrets.size(); i += kSecretsPerCall) {
    json ids = json::array();
    std::map<std::string, std::vector<const KeySpec*>> wanted;
    for (size_t j = i; j < secrets.size() && j < i + kSecretsPerCall; ++j) {
      if (!wanted.contains(secrets[j]->name)) ids.push_back(secrets[j]->name);
      wanted[secrets[j]->name].push_back(secrets[j]);
    }
    ScrubbedJson answer;
    COFFER_RETURN_IF_ERROR(call("secretsmanager", "secretsmanager", "BatchGetSecretValue",
                                json{{"SecretIdList", ids}}, answer));
    for (const json& e : Member(answer.doc, "Errors")) {
      std::string code = e.value("ErrorCode", "");
      std::string id = e.value("SecretId", "");
      if (code == "ResourceNotFoundException") continue;  // reported as missing below
      return Fail(CallError("BatchGetSecretValue " + id,
                            client::AwsError{403, code, e.value("Message", "")}));
    }
    for (const json& v : Member(answer.doc, "SecretValues")) {
      std::string name = v.value("Name", "");
      std::string arn = v.value("ARN", "");
      auto it = wanted.find(name);
      if (it == wanted.end()) it = wanted.find(arn);
      if (it == wanted.end()) continue;
      std::string value = v.value("SecretString", "");
      if (v.contains("SecretBinary")) {
        auto bin = util::Base64Decode(v.value("SecretBinary", ""));
        if (bin) value = std::move(*bin);
      }
      for (const KeySpec* spec : it->second) {
        if (Status s = AddValue(*spec, spec->name, value, out.values); !s) {
          util::SecureClear(value);
          return Fail(s.error());
        }
      }
      util::SecureClear(value);
      wanted.erase(it);
    }
    for (const auto& [name, specs] : wanted) out.missing.push_back(name);
  }
  return out;
}

}  // namespace coffer::agent
