// agent/source: where a workload's values come from (docs/agent.md#sources).
// AwsSource reads any SSM / Secrets Manager endpoint -- a Coffer server or AWS
// itself -- with batched calls only: GetParametersByPath (a path, 10 a page),
// GetParameters (up to 10 names a call), BatchGetSecretValue (up to 20 ids a
// call); GetSecretValue only for a secret pinned to a version. Never one call
// per key.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/config.h"
#include "agent/template.h"
#include "client/aws_client.h"
#include "util/metrics.h"
#include "util/result.h"
#include "util/time.h"

namespace coffer::agent {

// What a Source returns for a workload: the values by output key, and the
// keys whose source is gone (a parameter or secret that does not exist).
struct Fetched {
  Values values;
  std::vector<std::string> missing;  // names (never values)
};

// Thread-safe if its implementation says so; the agent calls it from one
// thread.
class Source {
 public:
  virtual ~Source() = default;
  // Every value `keys` select. Errors: kUnavailable (the endpoint cannot be
  // reached or answers 5xx), kPermissionDenied (the caller may not read a
  // name: the message names it and the endpoint's error code),
  // kInvalidArgument (a property that is not in the value, a value that is
  // not JSON where a property or extract needs it). A name that does not exist
  // is not an error: it is listed in `missing`.
  virtual Result<Fetched> Fetch(const std::vector<KeySpec>& keys) = 0;
};

// The SSM and Secrets Manager APIs of `config`'s endpoint. Counts each call in
// `metrics` (coffer_agent_api_calls_total{api,op}). `config`, `metrics` and
// `clock` must outlive it.
class AwsSource final : public Source {
 public:
  AwsSource(const client::AwsConfig& config, util::Metrics& metrics, util::Clock& clock);
  Result<Fetched> Fetch(const std::vector<KeySpec>& keys) override;

 private:
  const client::AwsConfig& config_;
  util::Metrics& metrics_;
  util::Clock& clock_;
};

}  // namespace coffer::agent
