#include "client/kms.h"

#include <nlohmann/json.hpp>

#include "util/encoding.h"

namespace coffer::client {
namespace {

Result<nlohmann::json> Call(const AwsConfig& config, std::string_view operation,
                            std::string body, util::Clock& clock) {
  std::string target = "TrentService.";
  target += operation;
  auto response = CallJson(config, "kms", target, body, clock);
  util::SecureClear(body);
  if (!response) return Fail(std::move(response).error());
  if (response->error) {
    return Fail(ErrorCode::kUnavailable, "KMS " + std::string(operation) + " failed: " +
                                             response->error->code + ": " +
                                             response->error->message);
  }
  auto answer = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  util::SecureClear(response->body);
  if (!answer.is_object()) {
    return Fail(ErrorCode::kUnavailable, "KMS " + std::string(operation) + " answered no JSON");
  }
  return answer;
}

}  // namespace

Result<std::string> KmsEncrypt(const AwsConfig& config, std::string_view key_id,
                               const SecretBytes& plaintext, const EncryptionContext& context,
                               util::Clock& clock) {
  nlohmann::json request = {{"KeyId", key_id},
                            {"Plaintext", util::Base64Encode(plaintext.Reveal())},
                            {"EncryptionContext", context}};
  std::string body = request.dump();
  util::SecureClear(request["Plaintext"].get_ref<std::string&>());
  COFFER_ASSIGN_OR_RETURN(nlohmann::json answer, Call(config, "Encrypt", std::move(body), clock));
  auto it = answer.find("CiphertextBlob");
  if (it == answer.end() || !it->is_string()) {
    return Fail(ErrorCode::kUnavailable, "KMS Encrypt answered without a CiphertextBlob");
  }
  auto blob = util::Base64Decode(it->get<std::string>());
  if (!blob) return Fail(ErrorCode::kUnavailable, "KMS Encrypt answered a bad CiphertextBlob");
  return std::move(*blob);
}

Result<SecretBytes> KmsDecrypt(const AwsConfig& config, std::string_view key_id,
                               std::string_view blob, const EncryptionContext& context,
                               util::Clock& clock) {
  nlohmann::json request = {{"CiphertextBlob", util::Base64Encode(blob)},
                            {"EncryptionContext", context}};
  if (!key_id.empty()) request["KeyId"] = key_id;
  COFFER_ASSIGN_OR_RETURN(nlohmann::json answer, Call(config, "Decrypt", request.dump(), clock));
  auto it = answer.find("Plaintext");
  if (it == answer.end() || !it->is_string()) {
    return Fail(ErrorCode::kUnavailable, "KMS Decrypt answered without a Plaintext");
  }
  std::string& text = it->get_ref<std::string&>();
  auto decoded = util::Base64Decode(text);
  util::SecureClear(text);
  if (!decoded) return Fail(ErrorCode::kUnavailable, "KMS Decrypt answered a bad Plaintext");
  SecretBytes plaintext(*decoded);
  util::SecureClear(*decoded);
  return plaintext;
}

}  // namespace coffer::client
