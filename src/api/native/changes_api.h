// api/native/changes_api: the change feed over HTTP (docs/agent.md#the-change-feed).
//
//   GET /v1/changes?since=REV[&wait=SECONDS][&limit=N]     signed  coffer:ReadChanges
//
// answers {"revision": R, "changes": [{"revision", "type": "parameter"|"secret",
// "name", "version", "deleted"}]}: the changes after REV in revision order,
// names and versions only (never a value), and only those the caller may read
// (ssm:GetParameter on the parameter / secretsmanager:GetSecretValue on the
// secret, decided by the same resolvers a direct read uses, with Deny, tags and
// resource policies). R is the revision to pass as `since` next; it moves past
// changes the caller may not see. With `wait` (at most 60 s) and nothing
// visible after REV, the call waits until a visible change arrives or the time
// is up (long-poll: this is the streaming mechanism). When REV is older than
// the retained history, or newer than the store (a replaced data directory),
// the answer is 410 {"code":"RevisionCompacted","message":...,"revision": current}:
// the reader resyncs in full and then follows from `revision`.
//
// Every call runs through the request pipeline: SigV4, coffer:ReadChanges on
// arn:aws:coffer:<region>:<account>:changes, the audit gate and one audit
// record. It may block: the router sends it to the blocking pool.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/http.h"
#include "api/pipeline/pipeline.h"
#include "auth/authorizer.h"
#include "domain/feed/change_feed.h"
#include "util/time.h"

namespace coffer::api::native {

inline constexpr std::string_view kChangesPath = "/v1/changes";
inline constexpr int kMaxChangesWaitSeconds = 60;
inline constexpr int kMaxChangesLimit = 1000;

// True for the feed's path.
bool IsChangesPath(std::string_view path);

// Whether the caller behind `authz` may read the named parameter or secret as
// a direct read would decide. Must be thread-safe. Fail closed: when the
// decision cannot be made (a deleted resource whose tags a policy would need),
// false.
using MayReadChange =
    std::function<bool(const domain::feed::Change& change, auth::RequestAuthorization& authz)>;

// The pipeline front of /v1/changes. Everything passed in must outlive it.
// Thread-safe.
class ChangesFront final : public pipeline::Front {
 public:
  ChangesFront(domain::feed::ChangeFeed& feed, MayReadChange may_read, util::Clock& clock,
               std::string region, std::string account_id);
  bool Matches(const HttpRequest& request) const override;
  std::unique_ptr<pipeline::Exchange> Open(const HttpRequest& request) override;

 private:
  domain::feed::ChangeFeed& feed_;
  MayReadChange may_read_;
  util::Clock& clock_;
  std::string resource_arn_;
};

}  // namespace coffer::api::native
