// cli: `coffer kms rewrap` asks a running server to re-encrypt the stored
// parameter and secret values that are under an older version of their KMS
// key's material under the newest version (the server's RewrapStoredValues
// call, signed with the caller's AWS credentials and authorized as
// kms:RewrapStoredValues). Plaintexts, versions and labels do not change.
#pragma once

#include <chrono>
#include <iosfwd>
#include <string>

#include "util/result.h"
#include "util/time.h"

namespace coffer::cli {

struct RewrapOptions {
  std::string endpoint;  // --endpoint-url (or AWS_ENDPOINT_URL)
  std::string ca_bundle;  // --ca-bundle (or AWS_CA_BUNDLE): CAs for an https endpoint
  std::string key_id;    // --key-id: only values under this key ("" = every key)
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};
};

// Runs one re-wrap pass on the server and writes a summary to `out`:
//   parameters: N scanned, M re-wrapped
//   secrets: N scanned, M re-wrapped
//   failed: <record>: <reason>        (one line per record that could not be)
// Errors: the server's AWS error (code and message) or a transport failure;
// kDataLoss when the pass finished but some records failed (listed in `out`).
Status KmsRewrap(const RewrapOptions& options, util::Clock& clock, std::ostream& out);

}  // namespace coffer::cli
