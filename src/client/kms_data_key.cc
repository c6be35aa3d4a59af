#include "client/kms_data_key.h"

#include <nlohmann/json.hpp>

#include "util/encoding.h"

namespace coffer::client {

Result<DataKey> KmsGenerateDataKey(const AwsConfig& config, std::string_view key_id,
                                   const EncryptionContext& context, util::Clock& clock) {
  nlohmann::json request = {{"KeyId", key_id}, {"KeySpec", "AES_256"}};
  if (!context.empty()) request["EncryptionContext"] = context;
  auto response = CallJson(config, "kms", "TrentService.GenerateDataKey", request.dump(), clock);
  if (!response) return Fail(std::move(response).error());
  if (response->error) {
    return Fail(ErrorCode::kUnavailable, "KMS GenerateDataKey failed: " + response->error->code +
                                             ": " + response->error->message);
  }
  auto answer = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  util::SecureClear(response->body);
  if (!answer.is_object()) {
    return Fail(ErrorCode::kUnavailable, "KMS GenerateDataKey answered no JSON");
  }
  auto field = [&](const char* name) -> std::string* {
    auto it = answer.find(name);
    if (it == answer.end() || !it->is_string()) return nullptr;
    return &it->get_ref<std::string&>();
  };
  std::string* plaintext = field("Plaintext");
  std::string* blob = field("CiphertextBlob");
  std::string* arn = field("KeyId");
  if (plaintext == nullptr || blob == nullptr || arn == nullptr) {
    return Fail(ErrorCode::kUnavailable,
                "KMS GenerateDataKey answered without Plaintext, CiphertextBlob or KeyId");
  }
  auto decoded = util::Base64Decode(*plaintext);
  util::SecureClear(*plaintext);
  if (!decoded || decoded->size() != 32) {
    if (decoded) util::SecureClear(*decoded);
    return Fail(ErrorCode::kUnavailable, "KMS GenerateDataKey answered a bad Plaintext");
  }
  DataKey key;
  key.plaintext = SecretBytes(*decoded);
  util::SecureClear(*decoded);
  auto wrapped = util::Base64Decode(*blob);
  if (!wrapped || wrapped->empty()) {
    return Fail(ErrorCode::kUnavailable, "KMS GenerateDataKey answered a bad CiphertextBlob");
  }
  key.ciphertext_blob = std::move(*wrapped);
  key.key_id = *arn;
  return key;
}

}  // namespace coffer::client
