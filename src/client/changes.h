// client/changes: reads a Coffer server's change feed (GET /v1/changes,
// docs/agent.md#the-change-feed): the names and versions of the parameters and
// secrets that changed after a revision, as far as the caller may read them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "client/aws_client.h"
#include "util/result.h"
#include "util/time.h"

namespace coffer::client {

struct FeedChange {
  int64_t revision = 0;
  std::string type;  // "parameter" or "secret"
  std::string name;
  std::string version;
  bool deleted = false;
};

struct FeedPage {
  // The revision to pass as `since` next. When `resync` is set, the server no
  // longer holds the history after the asked revision (or is a different
  // store): the reader must read everything afresh, then follow from here.
  int64_t revision = 0;
  bool resync = false;
  std::vector<FeedChange> changes;
};

struct FeedQuery {
  int64_t since = 0;
  int wait_seconds = 0;  // 0..60: long-poll this long when nothing is new
  int limit = 1000;      // 1..1000
};

// One signed GET /v1/changes (no retries: a follower loops itself). The
// call's timeout is the wait plus config.timeout. Errors: kUnavailable when
// the server cannot be reached or answers 5xx; kPermissionDenied (403: no
// coffer:ReadChanges, or a bad signature -- the message names the server's
// code); kInvalidArgument for a 4xx or an answer that does not parse.
Result<FeedPage> ReadChanges(const AwsConfig& config, const FeedQuery& query, util::Clock& clock);

}  // namespace coffer::client
