#include "api/native/sys_api.h"

#include <nlohmann/json.hpp>

#include <array>
#include <functional>
#include <optional>
#include <utility>

#include "domain/arn.h"
#include "util/log.h"

namespace coffer::api::native {
namespace {

using nlohmann::json;

constexpr std::string_view kPrefix = "/v1/sys/";
constexpr size_t kMaxBody = 64 * 1024;

// What a handler gets: the parsed body (an object; {} when empty).
struct SysCall {
  SealOperations& ops;
  const json& body;
};
using SysHandler = std::function<Result<json>(SysCall&)>;

struct SysOperation {
  std::string_view name;    // operation name in audit and metrics
  std::string_view method;
  std::string_view path;    // after /v1/sys/
  std::string_view action;  // IAM action; "" = served unsigned (shares authorize it)
  SysHandler handler;
};

json StatusJson(const SealStatus& s) {
  json out = {{"initialized", s.initialized}, {"sealed", s.sealed},
              {"shares", s.shares},           {"threshold", s.threshold},
              {"progress", s.progress},       {"root_fingerprints", s.root_fingerprints}};
  out["auto_unseal"] = s.auto_unseal.empty() ? json(nullptr) : json(s.auto_unseal);
  if (!s.rekey_nonce.empty()) {
    out["rekey"] = {{"nonce", s.rekey_nonce},
                    {"progress", s.rekey_progress},
                    {"required", s.threshold},
                    {"new_shares", s.rekey_shares},
                    {"new_threshold", s.rekey_threshold}};
  }
  return out;
}

// Shares leave only in the answer body; the json's copies are cleared by the
// caller after serializing (nlohmann keeps std::string).
json SharesJson(const std::vector<SecretBytes>& shares) {
  json out = json::array();
  for (const SecretBytes& s : shares) out.push_back(std::string(s.Reveal()));
  return out;
}

Result<int> IntField(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || !it->is_number_integer()) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string("\"") + name + "\" is required and must be an integer",
                Reason::kValidation);
  }
  int64_t v = it->get<int64_t>();
  if (v < 0 || v > 100000) {
    return Fail(ErrorCode::kInvalidArgument, std::string("\"") + name + "\" is out of range",
                Reason::kValidation);
  }
  return static_cast<int>(v);
}

Result<std::string_view> StringField(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || !it->is_string()) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string("\"") + name + "\" is required and must be a string",
                Reason::kValidation);
  }
  return std::string_view(it->get_ref<const std::string&>());
}

const std::array<SysOperation, 8>& Operations() {
  static const std::array<SysOperation, 8> kOperations = {{
      {"SealStatus", "GET", "seal-status", "",
       [](SysCall& c) -> Result<json> { return StatusJson(c.ops.GetStatus()); }},
      {"Init", "POST", "init", "",
       [](SysCall& c) -> Result<json> {
         COFFER_ASSIGN_OR_RETURN(int shares, IntField(c.body, "shares"));
         COFFER_ASSIGN_OR_RETURN(int threshold, IntField(c.body, "threshold"));
         COFFER_ASSIGN_OR_RETURN(InitResult r, c.ops.Init(shares, threshold));
         return json{{"shares", SharesJson(r.shares)},
                     {"threshold", threshold},
                     {"root_fingerprint", r.root_fingerprint},
                     {"access_key_id", r.access_key_id},
                     {"secret_access_key", std::string(r.secret_access_key.Reveal())},
                     {"unsealed", r.unsealed}};
       }},
      {"Unseal", "POST", "unseal", "",
       [](SysCall& c) -> Result<json> {
         if (auto reset = c.body.find("reset"); reset != c.body.end() && reset->is_boolean() &&
                                                 reset->get<bool>()) {
           return StatusJson(c.ops.ResetUnseal());
         }
         COFFER_ASSIGN_OR_RETURN(std::string_view share, StringField(c.body, "share"));
         COFFER_ASSIGN_OR_RETURN(SealStatus s, c.ops.Unseal(share));
         return StatusJson(s);
       }},
      {"RekeyUpdate", "POST", "rekey/update", "",
       [](SysCall& c) -> Result<json> {
         COFFER_ASSIGN_OR_RETURN(std::string_view nonce, StringField(c.body, "nonce"));
         COFFER_ASSIGN_OR_RETURN(std::string_view share, StringField(c.body, "share"));
         COFFER_ASSIGN_OR_RETURN(RekeyResult r, c.ops.RekeySubmit(nonce, share));
         json out = {{"complete", r.complete}, {"progress", r.progress}, {"required", r.required}};
         if (r.complete) out["shares"] = SharesJson(r.shares);
         return out;
       }},
      {"Seal", "POST", "seal", "coffer:Seal",
       [](SysCall& c) -> Result<json> {
         COFFER_ASSIGN_OR_RETURN(SealStatus s, c.ops.Seal());
         return StatusJson(s);
       }},
      {"RekeyInit", "POST", "rekey/init", "coffer:Rekey",
       [](SysCall& c) -> Result<json> {
         COFFER_ASSIGN_OR_RETURN(int shares, IntField(c.body, "shares"));
         COFFER_ASSIGN_OR_RETURN(int threshold, IntField(c.body, "threshold"));
         COFFER_ASSIGN_OR_RETURN(SealStatus s, c.ops.RekeyStart(shares, threshold));
         return StatusJson(s);
       }},
      {"RekeyCancel", "POST", "rekey/cancel", "coffer:Rekey",
       [](SysCall& c) -> Result<json> {
         COFFER_ASSIGN_OR_RETURN(SealStatus s, c.ops.RekeyCancel());
         return StatusJson(s);
       }},
      {"RotateRoot", "POST", "rotate-root", "coffer:RotateRoot",
       [](SysCall& c) -> Result<json> {
         COFFER_ASSIGN_OR_RETURN(RotateRootResult r, c.ops.RotateRoot());
         return json{{"root_fingerprint", r.root_fingerprint},
                     {"rewrapped", r.rewrapped},
                     {"notes", r.notes}};
       }},
  }};
  return kOperations;
}

struct WireError {
  int status;
  std::string_view code;
};

WireError MapError(const Error& e) {
  switch (e.reason) {
    case Reason::kSealed: return {503, "Sealed"};
    case Reason::kNotInitialized: return {400, "NotInitialized"};
    case Reason::kAlreadyInitialized: return {400, "AlreadyInitialized"};
    case Reason::kCorruptShare: return {400, "CorruptShare"};
    case Reason::kInvalidShare: return {400, "InvalidShare"};
    case Reason::kUnknownOperation: return {404, "UnknownOperation"};
    case Reason::kMissingAuthenticationToken: return {403, "MissingAuthenticationToken"};
    case Reason::kAccessDenied: return {403, "AccessDenied"};
    default: break;
  }
  switch (e.code) {
    case ErrorCode::kInvalidArgument: return {400, "ValidationError"};
    case ErrorCode::kUnauthenticated: return {403, "InvalidSignature"};
    case ErrorCode::kPermissionDenied: return {403, "AccessDenied"};
    case ErrorCode::kFailedPrecondition: return {409, "Conflict"};
    case ErrorCode::kAborted: return {409, "Conflict"};
    case ErrorCode::kUnavailable: return {503, "ServiceUnavailable"};
    default: return {500, "InternalError"};
  }
}

HttpResponse JsonResponse(const HttpRequest& request, int status, const json& body) {
  HttpResponse response;
  response.status = status;
  response.SetHeader("Content-Type", "application/json");
  response.SetHeader("x-amzn-RequestId", request.request_id);
  response.SetHeader("Cache-Control", "no-store");
  response.body = body.dump();
  return response;
}

pipeline::RenderedError RenderSysError(const HttpRequest& request, const Error& error) {
  WireError w = MapError(error);
  bool mapped = w.code != "InternalError" || error.code == ErrorCode::kInternal;
  std::string message = w.status >= 500 && error.reason != Reason::kSealed &&
                                error.code != ErrorCode::kUnavailable
                            ? "An internal error occurred."
                            : error.message;
  return pipeline::RenderedError{
      JsonResponse(request, w.status, json{{"code", w.code}, {"message", message}}), w.code,
      mapped};
}

Error Sealed() {
  return Error{ErrorCode::kUnavailable, Reason::kSealed,
               "Coffer is sealed: unseal it (coffer operator unseal) before this call."};
}

class SysExchange final : public pipeline::Exchange {
 public:
  SysExchange(SealOperations& ops, const std::string& resource_arn, const HttpRequest& request)
      : ops_(ops), resource_arn_(resource_arn), request_(request) {}

  std::string_view api() const override { return "sys"; }
  std::string_view operation() const override {
    return op_ != nullptr ? op_->name : std::string_view("unknown");
  }
  Status Route() override {
    std::string_view path = request_.path;
    if (!path.starts_with(kPrefix)) return Unknown();
    path.remove_prefix(kPrefix.size());
    for (const SysOperation& op : Operations()) {
      if (op.path == path) {
        if (op.method != request_.method) {
          return Fail(ErrorCode::kInvalidArgument,
                      std::string(op.path) + " wants " + std::string(op.method),
                      Reason::kValidation);
        }
        op_ = &op;
        return Ok();
      }
    }
    return Unknown();
  }
  std::string_view signing_name() const override { return "coffer"; }
  bool Unsigned() const override { return op_ != nullptr && op_->action.empty(); }
  Status Decode() override {
    if (op_ == nullptr) return Unknown();
    if (request_.body.size() > kMaxBody) {
      return Fail(ErrorCode::kInvalidArgument, "the body is too large", Reason::kPayloadTooLarge);
    }
    if (request_.body.empty()) {
      body_ = json::object();
      return Ok();
    }
    body_ = json::parse(request_.body, nullptr, /*allow_exceptions=*/false);
    if (body_.is_discarded() || !body_.is_object()) {
      return Fail(ErrorCode::kInvalidArgument, "the body must be a JSON object",
                  Reason::kMalformedInput);
    }
    return Ok();
  }
  Result<pipeline::Accesses> Resolve(const auth::Authenticated*,
                                     auth::RequestAuthorization&) override {
    if (op_->action.empty()) return pipeline::NoDeclaredResource();
    pipeline::Access access;
    access.input = resource_arn_;
    access.resource.arn = resource_arn_;
    access.resource.name = "seal";
    access.resource.exists = true;
    access.permission = auth::Permission{std::string(op_->action), resource_arn_, {}, nullptr,
                                         auth::Permission::PolicyRole::kNone};
    return pipeline::Accesses{std::move(access)};
  }
  Status Handle(pipeline::CallContext&) override { return Run(); }
  HttpResponse Render() override {
    HttpResponse response = JsonResponse(request_, 200, answer_);
    Scrub();
    return response;
  }
  pipeline::RenderedError RenderError(const Error& error) override {
    Scrub();
    return RenderSysError(request_, error);
  }

  // Stage 7 without a CallContext (the sealed path).
  Status Run() {
    SysCall call{ops_, body_};
    auto answer = op_->handler(call);
    if (!answer) return Fail(std::move(answer).error());
    answer_ = std::move(*answer);
    return Ok();
  }
  const SysOperation* op() const { return op_; }

 private:
  static std::unexpected<Error> Unknown() {
    return Fail(ErrorCode::kInvalidArgument, "no such operator call", Reason::kUnknownOperation);
  }
  // The request body may hold a share and the answer shares or a key: both
  // are wiped once rendered.
  void Scrub() {
    auto wipe = [](json& j, auto& self) -> void {
      if (j.is_string()) {
        util::SecureClear(j.get_ref<std::string&>());
      } else if (j.is_structured()) {
        for (auto& v : j) self(v, self);
      }
    };
    wipe(body_, wipe);
    wipe(answer_, wipe);
  }

  SealOperations& ops_;
  const std::string& resource_arn_;
  const HttpRequest& request_;
  const SysOperation* op_ = nullptr;
  json body_;
  json answer_;
};

}  // namespace

bool IsSysPath(std::string_view path) { return path.starts_with(kPrefix); }

HttpResponse SealedError(const HttpRequest& request) {
  return RenderSysError(request, Sealed()).response;
}

SysFront::SysFront(SealOperations& operations, std::string region, std::string account_id)
    : operations_(operations), resource_arn_(domain::CofferSealArn(region, account_id)) {}

bool SysFront::Matches(const HttpRequest& request) const { return IsSysPath(request.path); }

std::unique_ptr<pipeline::Exchange> SysFront::Open(const HttpRequest& request) {
  return std::make_unique<SysExchange>(operations_, resource_arn_, request);
}

HttpResponse SysFront::HandleSealed(const HttpRequest& request, audit::Sink& audit,
                                    util::Clock& clock) {
  SysExchange exchange(operations_, resource_arn_, request);
  HttpResponse response;
  std::string code;
  auto refuse = [&](const Error& error) {
    pipeline::RenderedError rendered = exchange.RenderError(error);
    response = std::move(rendered.response);
    code = std::string(rendered.code);
  };
  [&] {
    if (Status routed = exchange.Route(); !routed) return refuse(routed.error());
    // Signed calls need the identity store, which is sealed.
    if (!exchange.Unsigned()) return refuse(Sealed());
    if (!audit.Healthy()) {
      return refuse(Error{ErrorCode::kUnavailable, Reason::kNone,
                          "The request cannot be audited; it was refused."});
    }
    if (Status decoded = exchange.Decode(); !decoded) return refuse(decoded.error());
    if (Status ran = exchange.Run(); !ran) return refuse(ran.error());
    response = exchange.Render();
  }();
  // Status polls are not audited while sealed (unauthenticated, and they
  // change nothing); init and unseal attempts are.
  if (exchange.op() != nullptr && exchange.op()->name == "SealStatus") return response;
  audit::Record record;
  record.time = clock.Now();
  record.request_id = request.request_id;
  record.source_ip = request.remote_ip;
  record.api = "sys";
  record.operation = std::string(exchange.operation());
  record.decision = "n/a";
  record.status = response.status;
  if (response.status >= 300) record.error_code = code;
  if (Status written = audit.Write(record); !written) {
    util::LogError("audit write failed", {{"request_id", request.request_id},
                                          {"op", exchange.operation()},
                                          {"error", written.error().message}});
    // The answer to an init is the only copy of the shares: it is not
    // withheld (the log was writable just before). An unseal that happened
    // stays; its answer is withheld.
    if (exchange.operation() == "Init" && response.status == 200) return response;
    return RenderSysError(request, Error{ErrorCode::kUnavailable, Reason::kNone,
                                 "The request cannot be audited; it was refused."})
        .response;
  }
  return response;
}

}  // namespace coffer::api::native
