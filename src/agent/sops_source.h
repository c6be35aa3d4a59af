// agent/sops_source: values from a SOPS-encrypted file (docs/agent.md#sources),
// decrypted through files/ (age identities from the environment as sops finds
// them, PGP through gpg, KMS through the agent's endpoint). The first
// document's leaves become keys: nested map keys joined with '_', list items
// by index ("db_hosts_0").
#pragma once

#include <memory>
#include <string>

#include "agent/template.h"
#include "files/keys.h"
#include "util/result.h"
#include "util/time.h"

namespace coffer::agent {

// Not thread-safe (the syncer alone calls it).
class SopsSource {
 public:
  // `kms_endpoint`: where KMS master keys are unwrapped ("" = AWS_ENDPOINT_URL, then AWS).
  SopsSource(std::string kms_endpoint, util::Clock& clock);

  // The values of `path`. Errors: kUnavailable when the file cannot be read;
  // those of files::DecryptText (kNotFound kKeyNotFound when no key opens it,
  // kDataLoss when the MAC does not verify). Messages never carry a value.
  Result<Values> Read(const std::string& path);

 private:
  std::string kms_endpoint_;
  util::Clock& clock_;
  std::unique_ptr<files::KmsService> kms_;
};

// Modification time of `path` in nanoseconds (0 when it cannot be read): the
// agent re-renders a workload when it moves.
int64_t ModificationTime(const std::string& path);

}  // namespace coffer::agent
