#include "cli/kms_rewrap.h"

#include <nlohmann/json.hpp>

#include <ostream>

#include "client/aws_client.h"

namespace coffer::cli {
namespace {

std::string Counts(const nlohmann::json& counts) {
  auto number = [&](const char* name) -> std::string {
    auto it = counts.find(name);
    return it != counts.end() && it->is_number_integer() ? std::to_string(it->get<int64_t>()) : "?";
  };
  return number("Scanned") + " scanned, " + number("Rewrapped") + " re-wrapped";
}

}  // namespace

Status KmsRewrap(const RewrapOptions& options, util::Clock& clock, std::ostream& out) {
  COFFER_ASSIGN_OR_RETURN(client::AwsConfig config, client::ResolveConfig(options.endpoint, options.ca_bundle));
  config.timeout = options.timeout;
  nlohmann::json request = nlohmann::json::object();
  if (!options.key_id.empty()) request["KeyId"] = options.key_id;
  COFFER_ASSIGN_OR_RETURN(
      client::AwsResponse response,
      client::CallJson(config, "kms", "TrentService.RewrapStoredValues", request.dump(), clock));
  if (response.error) {
    return Fail(ErrorCode::kFailedPrecondition,
                "the server refused RewrapStoredValues: " + response.error->code + ": " +
                    response.error->message);
  }
  nlohmann::json answer = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object() || !answer.contains("Parameters") || !answer.contains("Secrets")) {
    return Fail(ErrorCode::kInternal, "unexpected answer to RewrapStoredValues");
  }
  out << "parameters: " << Counts(answer["Parameters"]) << "\n";
  out << "secrets: " << Counts(answer["Secrets"]) << "\n";
  size_t failed = 0;
  if (auto it = answer.find("Failures"); it != answer.end() && it->is_array()) {
    for (const auto& f : *it) {
      if (!f.is_string()) continue;
      out << "failed: " << f.get<std::string>() << "\n";
      ++failed;
    }
  }
  if (failed > 0) {
    return Fail(ErrorCode::kDataLoss,
                std::to_string(failed) + " stored value(s) could not be re-wrapped (listed above)");
  }
  return Ok();
}

}  // namespace coffer::cli
