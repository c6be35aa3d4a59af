// The AWS JSON 1.1 protocol front for every JSON service on the one port:
// routes by X-Amz-Target, parses the body (refusing a key given twice), and
// renders the result ({} for no output) or the error ({"__type": Code,
// "message": ...} with the status from errors.cc, plus x-amzn-RequestId and
// x-amzn-ErrorType). Authentication, authorization, the audit record and the
// metrics are the request pipeline's (api/pipeline).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "api/awsjson/json_service.h"
#include "api/http.h"
#include "api/pipeline/pipeline.h"

namespace coffer::api::awsjson {

// Thread-safe after all services are added.
class JsonProtocol final : public pipeline::Front {
 public:
  // REQUIRES: called before serving; one service per target prefix.
  void AddService(std::unique_ptr<JsonService> service);

  // True when the request carries X-Amz-Target (a JSON protocol call).
  bool Matches(const HttpRequest& request) const override;
  std::unique_ptr<pipeline::Exchange> Open(const HttpRequest& request) override;

 private:
  std::map<std::string, std::unique_ptr<JsonService>, std::less<>> services_;
};

}  // namespace coffer::api::awsjson
