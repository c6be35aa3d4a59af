#include "agent/status.h"

#include <sstream>

#include "client/http_client.h"

namespace coffer::agent {

Result<std::string> ReadStatus(const std::string& address) {
  client::HttpCall call;
  call.url = "http://" + address + "/metrics";
  call.timeout = std::chrono::milliseconds(5000);
  call.max_body = 4 << 20;
  COFFER_ASSIGN_OR_RETURN(client::HttpResult r, client::Perform(call));
  if (r.status != 200) {
    return Fail(ErrorCode::kUnavailable,
                "the agent at " + address + " answered HTTP " + std::to_string(r.status));
  }
  std::ostringstream out;
  out << "agent at " << address << "\n";
  std::istringstream in(r.body);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("coffer_agent_")) continue;
    // Histogram buckets are for Prometheus; the count and sum stay.
    if (line.find("_bucket{") != std::string::npos) continue;
    out << "  " << line << "\n";
  }
  return out.str();
}

}  // namespace coffer::agent
