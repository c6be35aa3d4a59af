#include "files/keys.h"

#include <stdio.h>
#include <stdlib.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "age/age.h"
#include "client/kms.h"
#include "crypto/crypto.h"
#include "crypto/shamir.h"
#include "files/pgp.h"
#include "util/encoding.h"

namespace coffer::files {
namespace {

constexpr size_t kDataKeySize = 32;

class ClientKmsService final : public KmsService {
 public:
  // derive_endpoint: no endpoint was configured; each key's regional AWS KMS
  // endpoint (https://kms.REGION.amazonaws.com) is used.
  ClientKmsService(client::AwsConfig config, bool derive_endpoint, util::Clock& clock)
      : config_(std::move(config)), derive_endpoint_(derive_endpoint), clock_(clock) {}

  Result<std::string> Encrypt(const KmsMasterKey& key, const SecretBytes& plaintext) override {
    COFFER_ASSIGN_OR_RETURN(client::AwsConfig config, ForKey(key));
    return client::KmsEncrypt(config, key.arn, plaintext, key.context, clock_);
  }
  Result<SecretBytes> Decrypt(const KmsMasterKey& key, std::string_view blob) override {
    COFFER_ASSIGN_OR_RETURN(client::AwsConfig config, ForKey(key));
    return client::KmsDecrypt(config, key.arn, blob, key.context, clock_);
  }

 private:
  // The region comes from the ARN, as sops takes it.
  Result<client::AwsConfig> ForKey(const KmsMasterKey& key) const {
    static const std::regex kArn(R"(^arn:aws[\w-]*:kms:([^:]+):[0-9]+:(key|alias)/.+$)");
    std::smatch m;
    // Bounded first: std::regex recurses per character (a huge ARN in a file would
    // overflow the stack).
    if (key.arn.size() > 2048 || !std::regex_match(key.arn, m, kArn)) {
      return Fail(
          ErrorCode::kInvalidArgument,
          "not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID): " + key.arn.substr(0, 200),
          Reason::kValidation);
    }
    if (!key.role.empty()) {
      return Fail(ErrorCode::kFailedPrecondition,
                  "KMS keys with a role to assume are not supported yet (" + key.arn + ")");
    }
    client::AwsConfig config = config_;
    config.region = m[1].str();
    if (derive_endpoint_) config.endpoint = "https://kms." + config.region + ".amazonaws.com";
    return config;
  }

  client::AwsConfig config_;
  bool derive_endpoint_;
  util::Clock& clock_;
};

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The group's share (or the whole key) from the first master key that opens.
Result<SecretBytes> OpenGroup(const KeyGroup& group, const KeyServices& services,
                              std::vector<std::string>* failures) {
  for (const AgeMasterKey& k : group.age) {
    if (services.age_identities.empty()) {
      failures->push_back("age " + k.recipient + ": no age identity available");
      continue;
    }
    Result<SecretBytes> key = age::Decrypt(services.age_identities, k.enc);
    if (key.has_value()) return key;
    failures->push_back("age " + k.recipient + ": " + key.error().message);
  }
  for (const PgpMasterKey& k : group.pgp) {
    if (!services.use_pgp) continue;
    Result<SecretBytes> key = PgpDecrypt(k.enc);
    if (key.has_value()) return key;
    failures->push_back("pgp " + k.fp + ": " + key.error().message);
  }
  for (const KmsMasterKey& k : group.kms) {
    if (services.kms == nullptr) {
      failures->push_back("kms " + k.arn + ": no KMS endpoint configured (AWS_ENDPOINT_URL)");
      continue;
    }
    Result<std::string> blob = util::Base64Decode(k.enc);
    if (!blob) {
      failures->push_back("kms " + k.arn + ": enc is not base64");
      continue;
    }
    Result<SecretBytes> key = services.kms->Decrypt(k, *blob);
    if (key.has_value()) return key;
    failures->push_back("kms " + k.arn + ": " + key.error().message);
  }
  if (!group.other.empty()) {
    failures->push_back("key types coffer does not support in this group (" + group.other[0].key +
                        ")");
  }
  return Fail(ErrorCode::kNotFound, "no key of the group opened", Reason::kKeyNotFound);
}

}  // namespace

Result<std::unique_ptr<KmsService>> NewClientKmsService(std::string_view endpoint,
                                                        util::Clock& clock) {
  const char* env = ::getenv("AWS_ENDPOINT_URL");
  bool derive = endpoint.empty() && (env == nullptr || *env == '\0');
  COFFER_ASSIGN_OR_RETURN(
      client::AwsConfig config,
      client::ResolveConfig(derive ? std::string_view("https://kms.amazonaws.com") : endpoint));
  return std::unique_ptr<KmsService>(new ClientKmsService(std::move(config), derive, clock));
}

namespace {

// A key file that is itself an age file (passphrase-protected, as age-keygen |
// age -p writes it) is opened with $COFFER_AGE_PASSPHRASE; "" when it cannot be.
std::string OpenKeyFile(std::string text) {
  if (!text.starts_with("age-encryption.org/") &&
      !text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----")) {
    return text;
  }
  const char* pass = ::getenv("COFFER_AGE_PASSPHRASE");
  if (pass == nullptr || *pass == '\0') return "";
  Result<SecretBytes> plain = age::DecryptWithPassphrase(SecretBytes(pass), text);
  if (!plain) return "";
  return std::string(plain->Reveal());
}

}  // namespace

std::vector<std::string> AgeIdentitiesFromEnvironment() {
  std::vector<std::string> out;
  if (const char* k = ::getenv("SOPS_AGE_KEY"); k != nullptr && *k != '\0') {
    std::istringstream ss(k);
    std::string word;
    while (ss >> word) {
      if (word[0] != '#') out.push_back(word);
    }
  }
  if (const char* f = ::getenv("SOPS_AGE_KEY_FILE"); f != nullptr && *f != '\0') {
    std::string text = OpenKeyFile(ReadFileOrEmpty(f));
    if (!text.empty()) out.push_back(std::move(text));
  }
  if (const char* cmd = ::getenv("SOPS_AGE_KEY_CMD"); cmd != nullptr && *cmd != '\0') {
    // The command prints identities (sops runs it the same way, through the shell).
    std::string text;
    if (FILE* pipe = ::popen(cmd, "r"); pipe != nullptr) {
      char buf[4096];
      size_t n = 0;
      while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0 && text.size() < (1u << 20)) {
        text.append(buf, n);
      }
      util::SecureZero(buf, sizeof(buf));
      if (::pclose(pipe) == 0 && !text.empty()) out.push_back(OpenKeyFile(std::move(text)));
    }
  }
  std::string dir;
  if (const char* x = ::getenv("XDG_CONFIG_HOME"); x != nullptr && *x != '\0') {
    dir = x;
  } else if (const char* h = ::getenv("HOME"); h != nullptr && *h != '\0') {
    dir = std::string(h) + "/.config";
  }
  if (!dir.empty()) {
    std::string text = OpenKeyFile(ReadFileOrEmpty(dir + "/sops/age/keys.txt"));
    if (!text.empty()) out.push_back(std::move(text));
  }
  return out;
}

SecretBytes NewDataKey() { return crypto::RandomSecret(kDataKeySize); }

Result<SecretBytes> DecryptDataKey(const Metadata& metadata, const KeyServices& services) {
  std::vector<std::string> failures;
  if (metadata.key_groups.size() == 1) {
    Result<SecretBytes> key = OpenGroup(metadata.key_groups[0], services, &failures);
    if (key.has_value()) {
      if (key->size() != kDataKeySize) {
        return Fail(ErrorCode::kDataLoss, "a master key holds no 32-byte data key",
                    Reason::kCiphertextMalformed);
      }
      return key;
    }
  } else {
    int groups = static_cast<int>(metadata.key_groups.size());
    int threshold = metadata.shamir_threshold > 0 ? metadata.shamir_threshold : groups;
    std::vector<SecretBytes> shares;
    for (int i = 0; i < groups && static_cast<int>(shares.size()) < threshold; ++i) {
      std::vector<std::string> group_failures;
      Result<SecretBytes> share = OpenGroup(metadata.key_groups[i], services, &group_failures);
      for (std::string& f : group_failures)
        failures.push_back("group " + std::to_string(i) + ": " + f);
      if (share.has_value()) shares.push_back(std::move(*share));
    }
    if (static_cast<int>(shares.size()) >= threshold && threshold >= 2) {
      COFFER_ASSIGN_OR_RETURN(SecretBytes key, crypto::ShamirCombine(shares));
      if (key.size() != kDataKeySize) {
        return Fail(ErrorCode::kDataLoss, "the key groups' shares give no 32-byte data key",
                    Reason::kCiphertextMalformed);
      }
      return key;
    }
    failures.push_back("opened " + std::to_string(shares.size()) + " of the " +
                       std::to_string(threshold) + " key groups needed");
  }
  std::string message = "could not retrieve the data key";
  for (const std::string& f : failures) message += "; " + f;
  return Fail(ErrorCode::kNotFound, message, Reason::kKeyNotFound);
}

Status WrapDataKey(const SecretBytes& data_key, std::string_view now_rfc3339,
                   const KeyServices& services, Metadata& metadata) {
  if (metadata.key_groups.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "no master keys: give --age, --pgp or --kms, or a .sops.yaml creation rule",
                Reason::kValidation);
  }
  int groups = static_cast<int>(metadata.key_groups.size());
  std::vector<SecretBytes> payloads;
  if (groups == 1) {
    payloads.push_back(data_key);
  } else {
    int threshold = metadata.shamir_threshold > 0 ? metadata.shamir_threshold : groups;
    if (threshold < 2 || threshold > groups) {
      return Fail(ErrorCode::kInvalidArgument,
                  "the Shamir threshold must be between 2 and the number of key groups",
                  Reason::kValidation);
    }
    COFFER_ASSIGN_OR_RETURN(payloads, crypto::ShamirSplit(data_key, groups, threshold));
  }
  std::vector<KeyGroup> wrapped = metadata.key_groups;
  for (int i = 0; i < groups; ++i) {
    KeyGroup& g = wrapped[i];
    if (g.empty()) {
      return Fail(ErrorCode::kInvalidArgument, "key group " + std::to_string(i) + " is empty",
                  Reason::kValidation);
    }
    for (AgeMasterKey& k : g.age) {
      std::vector<std::string> recipient = {k.recipient};
      COFFER_ASSIGN_OR_RETURN(k.enc, age::Encrypt(recipient, payloads[i].Reveal(), /*armor=*/true));
    }
    for (PgpMasterKey& k : g.pgp) {
      COFFER_ASSIGN_OR_RETURN(k.enc, PgpEncryptToKeyring(k.fp, payloads[i].Reveal()));
      k.created_at = std::string(now_rfc3339);
    }
    for (KmsMasterKey& k : g.kms) {
      if (services.kms == nullptr) {
        return Fail(ErrorCode::kFailedPrecondition,
                    "a KMS key needs a KMS endpoint (AWS_ENDPOINT_URL or --endpoint-url)");
      }
      COFFER_ASSIGN_OR_RETURN(std::string blob, services.kms->Encrypt(k, payloads[i]));
      k.enc = util::Base64Encode(blob);
      k.created_at = std::string(now_rfc3339);
    }
  }
  metadata.key_groups = std::move(wrapped);
  return Ok();
}

}  // namespace coffer::files
