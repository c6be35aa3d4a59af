// api/router: picks the protocol front for each request on the one port.
//   GET /healthz, GET /metrics          -> api/native
//   /v1/sys/...                         -> the operator API (api/native/sys_api.h)
//   /v1/changes                         -> the change feed (api/native/changes_api.h), through
//                                          the same `sys` handler (always offloaded: it may wait)
//   X-Amz-Target present                -> the AWS JSON 1.1 front (api/awsjson::JsonProtocol)
//   form-encoded Action=... (STS, IAM)  -> the AWS query front (api/awsquery, not built yet:
//                                          answers an InvalidAction query-style XML error)
//   anything else                       -> the S3 REST front (api/s3), when one is
//                                          given; else 404 with a small JSON body
//
// Layering: this is its own library (coffer_api_router) above api/native and
// api/awsjson, because api/ itself sits below both. The protocol fronts are
// passed in as handler functions, so the router compiles and is tested without
// the authentication stack behind them; server/ wires JsonProtocol::Handle in.
#pragma once

#include <functional>

#include "api/http.h"
#include "api/native/native_api.h"

namespace coffer::api::router {

// One protocol front. Must be thread-safe and always answer (errors rendered
// in the protocol's own shape).
using ProtocolHandler = std::function<HttpResponse(const HttpRequest&)>;

// Thread-safe once constructed (it holds no mutable state).
class Router {
 public:
  // `native` must outlive the router. An empty `json` handler answers JSON
  // calls with a 500 InternalFailure (a wiring error, logged by the caller's
  // access log); an empty `query` handler answers query calls with the
  // InvalidAction XML error.
  Router(native::NativeApi& native, ProtocolHandler json, ProtocolHandler query = {},
         ProtocolHandler sys = {}, ProtocolHandler s3 = {});

  // Always answers; never throws.
  HttpResponse Handle(const HttpRequest& request) const;

  // True for an AWS query-protocol request: no X-Amz-Target, and either a
  // form-encoded body or a query string carrying Action=.
  static bool IsQueryProtocol(const HttpRequest& request);

  // True for a request no other front takes (not native, operator, JSON or
  // query): the S3 REST front's.
  static bool IsS3(const HttpRequest& request);

  // True when the request may wait on a durable commit (a write) and should
  // run off the io threads (server::HttpServerOptions::offload): every JSON
  // call but the reads (Get*, BatchGet*, Describe*, List*) and the KMS crypto
  // calls that write nothing, every query-protocol call (IAM, STS), and the
  // signed operator calls, and every S3 request (object bodies are large
  // and decrypted or encrypted in chunks). Native reads (health, metrics) and sealed-state
  // answers stay inline. A wrong answer costs speed, never correctness.
  static bool MayBlock(const HttpRequest& request);

  // The refusal of a request while the server is sealed, in the shape of the
  // protocol the request speaks: ServiceUnavailable (HTTP 503), an error
  // every AWS API documents, as JSON 1.1 or query XML; Sealed for /v1/sys/.
  static HttpResponse Sealed(const HttpRequest& request);

 private:
  native::NativeApi& native_;
  ProtocolHandler json_;
  ProtocolHandler query_;
  ProtocolHandler sys_;
  ProtocolHandler s3_;
};

}  // namespace coffer::api::router
