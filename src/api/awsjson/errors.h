// The one error table of the AWS JSON protocol: (service, ErrorCode, Reason)
// -> AWS error code, HTTP status and the casing of the message member.
#pragma once

#include <string_view>

#include "util/result.h"

namespace coffer::api::awsjson {

struct WireError {
  std::string_view code;       // "__type", e.g. "ParameterNotFound"
  int status = 400;
  bool capital_message = false;  // body uses "Message" instead of "message"
  bool mapped = true;            // false: fell through to the service's internal error
};

// Maps an Error from a service (`service` = its signing name: "ssm",
// "secretsmanager", "kms") or from authentication/framing to the wire.
// Unknown combinations map to the service's internal-error code with 500 and
// mapped = false (the caller counts them).
WireError MapError(std::string_view service, const Error& error);

}  // namespace coffer::api::awsjson
