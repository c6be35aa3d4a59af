#include "api/native/changes_api.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "domain/arn.h"
#include "util/encoding.h"

namespace coffer::api::native {
namespace {

using nlohmann::json;
namespace feed = domain::feed;

HttpResponse JsonResponse(const HttpRequest& request, int status, const json& body) {
  HttpResponse response;
  response.status = status;
  response.SetHeader("Content-Type", "application/json");
  response.SetHeader("x-amzn-RequestId", request.request_id);
  response.SetHeader("Cache-Control", "no-store");
  response.body = body.dump();
  return response;
}

struct WireError {
  int status;
  std::string_view code;
};

WireError MapError(const Error& e) {
  switch (e.reason) {
    case Reason::kRevisionCompacted: return {410, "RevisionCompacted"};
    case Reason::kUnknownOperation: return {404, "UnknownOperation"};
    case Reason::kMissingAuthenticationToken: return {403, "MissingAuthenticationToken"};
    case Reason::kAccessDenied: return {403, "AccessDenied"};
    case Reason::kSealed: return {503, "Sealed"};
    default: break;
  }
  switch (e.code) {
    case ErrorCode::kInvalidArgument: return {400, "ValidationError"};
    case ErrorCode::kUnauthenticated: return {403, "InvalidSignature"};
    case ErrorCode::kPermissionDenied: return {403, "AccessDenied"};
    case ErrorCode::kUnavailable: return {503, "ServiceUnavailable"};
    default: return {500, "InternalError"};
  }
}

Error Invalid(std::string message) {
  return Error{ErrorCode::kInvalidArgument, Reason::kValidation, std::move(message)};
}

// The raw value of `key` in the query string; nullopt when absent.
std::optional<std::string_view> QueryValue(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

Result<int64_t> IntParam(std::string_view query, std::string_view key, int64_t min, int64_t max,
                         std::optional<int64_t> fallback) {
  auto raw = QueryValue(query, key);
  if (!raw) {
    if (fallback) return *fallback;
    return Fail(Invalid("\"" + std::string(key) + "\" is required"));
  }
  int64_t v = 0;
  auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), v);
  if (raw->empty() || ec != std::errc() || end != raw->data() + raw->size() || v < min ||
      v > max) {
    return Fail(Invalid("\"" + std::string(key) + "\" must be an integer from " +
                        std::to_string(min) + " to " + std::to_string(max)));
  }
  return v;
}

class ChangesExchange final : public pipeline::Exchange {
 public:
  ChangesExchange(feed::ChangeFeed& feed, const MayReadChange& may_read, util::Clock& clock,
                  const std::string& resource_arn, const HttpRequest& request)
      : feed_(feed), may_read_(may_read), clock_(clock), resource_arn_(resource_arn),
        request_(request) {}

  std::string_view api() const override { return "coffer"; }
  std::string_view operation() const override { return routed_ ? "ReadChanges" : "unknown"; }
  Status Route() override {
    if (!IsChangesPath(request_.path)) {
      return Fail(ErrorCode::kInvalidArgument, "no such call", Reason::kUnknownOperation);
    }
    routed_ = true;
    if (request_.method != "GET") return Fail(Invalid("/v1/changes wants GET"));
    return Ok();
  }
  std::string_view signing_name() const override { return "coffer"; }
  bool Unsigned() const override { return false; }
  Status Decode() override {
    COFFER_ASSIGN_OR_RETURN(since_, IntParam(request_.query, "since", 0, INT64_MAX, {}));
    COFFER_ASSIGN_OR_RETURN(wait_, IntParam(request_.query, "wait", 0, kMaxChangesWaitSeconds, 0));
    COFFER_ASSIGN_OR_RETURN(limit_, IntParam(request_.query, "limit", 1, kMaxChangesLimit,
                                             kMaxChangesLimit));
    return Ok();
  }
  Result<pipeline::Accesses> Resolve(const auth::Authenticated*,
                                     auth::RequestAuthorization&) override {
    pipeline::Access access;
    access.input = resource_arn_;
    access.resource.arn = resource_arn_;
    access.resource.name = "changes";
    access.resource.exists = true;
    access.permission = auth::Permission{"coffer:ReadChanges", resource_arn_, {}, nullptr,
                                         auth::Permission::PolicyRole::kNone};
    return pipeline::Accesses{std::move(access)};
  }
  Status Handle(pipeline::CallContext& context) override {
    util::SteadyTime deadline = clock_.SteadyNow() + std::chrono::seconds(wait_);
    storage::Revision since = since_;
    for (;;) {
      auto page = feed_.Read(since, static_cast<size_t>(limit_));
      if (!page) {
        if (page.error().reason == Reason::kRevisionCompacted) {
          // The reader resyncs from the current revision.
          auto current = feed_.CurrentRevision();
          current_ = current ? *current : 0;
        }
        return Fail(std::move(page).error());
      }
      revision_ = page->revision;
      for (feed::Change& c : page->changes) {
        if (may_read_(c, context.authz)) visible_.push_back(std::move(c));
      }
      if (!visible_.empty() || clock_.SteadyNow() >= deadline) return Ok();
      // Nothing visible yet: follow from where this page ended.
      since = page->revision;
      COFFER_ASSIGN_OR_RETURN(storage::Revision now, feed_.WaitPast(since, deadline));
      if (now <= since) {
        revision_ = since;
        return Ok();  // the wait is over (time up or shutting down)
      }
    }
  }
  HttpResponse Render() override {
    json changes = json::array();
    for (const feed::Change& c : visible_) {
      changes.push_back(json{{"revision", c.revision},
                             {"type", feed::ChangeTypeName(c.type)},
                             {"name", c.name},
                             {"version", c.version},
                             {"deleted", c.deleted}});
    }
    return JsonResponse(request_, 200, json{{"revision", revision_}, {"changes", changes}});
  }
  pipeline::RenderedError RenderError(const Error& error) override {
    WireError w = MapError(error);
    bool mapped = w.code != "InternalError" || error.code == ErrorCode::kInternal;
    std::string message = w.status >= 500 && error.code != ErrorCode::kUnavailable
                              ? "An internal error occurred."
                              : error.message;
    json body = {{"code", w.code}, {"message", message}};
    if (w.status == 410) body["revision"] = current_;
    return pipeline::RenderedError{JsonResponse(request_, w.status, body), w.code, mapped};
  }

 private:
  feed::ChangeFeed& feed_;
  const MayReadChange& may_read_;
  util::Clock& clock_;
  const std::string& resource_arn_;
  const HttpRequest& request_;
  bool routed_ = false;
  int64_t since_ = 0;
  int64_t wait_ = 0;
  int64_t limit_ = kMaxChangesLimit;
  storage::Revision revision_ = 0;
  storage::Revision current_ = 0;
  std::vector<feed::Change> visible_;
};

}  // namespace

bool IsChangesPath(std::string_view path) { return path == kChangesPath; }

ChangesFront::ChangesFront(feed::ChangeFeed& feed, MayReadChange may_read, util::Clock& clock,
                           std::string region, std::string account_id)
    : feed_(feed), may_read_(std::move(may_read)), clock_(clock),
      resource_arn_(domain::CofferChangesArn(region, account_id)) {}

bool ChangesFront::Matches(const HttpRequest& request) const {
  return IsChangesPath(request.path);
}

std::unique_ptr<pipeline::Exchange> ChangesFront::Open(const HttpRequest& request) {
  return std::make_unique<ChangesExchange>(feed_, may_read_, clock_, resource_arn_, request);
}

}  // namespace coffer::api::native
