#include "client/changes.h"

#include <nlohmann/json.hpp>

#include <string>
#include <utility>

namespace coffer::client {
namespace {

using nlohmann::json;

Result<FeedPage> ParsePage(const std::string& body, bool resync) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("revision") ||
      !doc["revision"].is_number_integer()) {
    return Fail(ErrorCode::kInvalidArgument, "the change feed's answer does not parse",
                Reason::kMalformedInput);
  }
  FeedPage page;
  page.revision = doc["revision"].get<int64_t>();
  page.resync = resync;
  if (resync) return page;
  auto changes = doc.find("changes");
  if (changes == doc.end() || !changes->is_array()) {
    return Fail(ErrorCode::kInvalidArgument, "the change feed's answer has no changes",
                Reason::kMalformedInput);
  }
  for (const json& c : *changes) {
    if (!c.is_object() || !c.contains("revision") || !c["revision"].is_number_integer() ||
        !c.contains("type") || !c["type"].is_string() || !c.contains("name") ||
        !c["name"].is_string()) {
      return Fail(ErrorCode::kInvalidArgument, "a change in the feed's answer does not parse",
                  Reason::kMalformedInput);
    }
    FeedChange change;
    change.revision = c["revision"].get<int64_t>();
    change.type = c["type"].get<std::string>();
    change.name = c["name"].get<std::string>();
    if (auto v = c.find("version"); v != c.end() && v->is_string()) {
      change.version = v->get<std::string>();
    }
    if (auto d = c.find("deleted"); d != c.end() && d->is_boolean()) {
      change.deleted = d->get<bool>();
    }
    page.changes.push_back(std::move(change));
  }
  return page;
}

}  // namespace

Result<FeedPage> ReadChanges(const AwsConfig& config, const FeedQuery& query,
                             util::Clock& clock) {
  AwsConfig call = config;
  call.max_attempts = 1;
  call.timeout = config.timeout + std::chrono::seconds(query.wait_seconds);
  std::string path = "/v1/changes?since=" + std::to_string(query.since) +
                     "&wait=" + std::to_string(query.wait_seconds) +
                     "&limit=" + std::to_string(query.limit);
  COFFER_ASSIGN_OR_RETURN(AwsResponse r, CallCoffer(call, "GET", path, "", true, clock));
  if (!r.error) return ParsePage(r.body, false);
  if (r.status == 410) return ParsePage(r.body, true);
  std::string message = "change feed: " + r.error->code;
  if (!r.error->message.empty()) message += ": " + r.error->message;
  if (r.status >= 500) return Fail(ErrorCode::kUnavailable, std::move(message));
  if (r.status == 403 || r.status == 401) {
    return Fail(ErrorCode::kPermissionDenied, std::move(message), Reason::kAccessDenied);
  }
  return Fail(ErrorCode::kInvalidArgument, std::move(message));
}

}  // namespace coffer::client
