#include "cli/operator.h"

#include <termios.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <iostream>
#include <string>

#include "client/aws_client.h"
#include "util/secret_bytes.h"

namespace coffer::cli {
namespace {

using nlohmann::json;

// One line from `in`; on a terminal (stdin) without echo, after a prompt.
std::string ReadShare(std::istream& in, std::ostream& err) {
  bool tty = &in == &std::cin && ::isatty(STDIN_FILENO) == 1;
  termios saved{};
  if (tty) {
    err << "Unseal share (input is hidden): " << std::flush;
    if (::tcgetattr(STDIN_FILENO, &saved) == 0) {
      termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    } else {
      tty = false;
    }
  }
  std::string line;
  std::getline(in, line);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    err << "\n";
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

void PrintStatus(const json& s, std::ostream& out) {
  auto get_int = [&](const char* k) { return s.value(k, 0); };
  out << "Initialized:  " << (s.value("initialized", false) ? "true" : "false") << "\n";
  out << "Sealed:       " << (s.value("sealed", true) ? "true" : "false") << "\n";
  if (s.value("initialized", false)) {
    out << "Shares:       " << get_int("shares") << "\n";
    out << "Threshold:    " << get_int("threshold") << "\n";
    if (s.value("sealed", true)) {
      out << "Unseal progress: " << get_int("progress") << "/" << get_int("threshold") << "\n";
    }
  }
  if (auto it = s.find("auto_unseal"); it != s.end() && it->is_string()) {
    out << "Auto-unseal:  " << it->get<std::string>() << "\n";
  }
  if (auto it = s.find("root_fingerprints"); it != s.end() && it->is_array() && !it->empty()) {
    out << "Root key:     " << (*it)[0].get<std::string>() << "\n";
  }
  if (auto it = s.find("rekey"); it != s.end() && it->is_object()) {
    out << "Rekey nonce:  " << it->value("nonce", "") << " (progress "
        << it->value("progress", 0) << "/" << it->value("required", 0) << ", new "
        << it->value("new_shares", 0) << " shares, threshold " << it->value("new_threshold", 0)
        << ")\n";
  }
}

void PrintShares(json& shares, std::ostream& out) {
  int i = 0;
  for (auto& share : shares) {
    std::string& text = share.get_ref<std::string&>();
    out << "Unseal share " << ++i << ": " << text << "\n";
    util::SecureClear(text);
  }
}

void Wipe(json& j) {
  if (j.is_string()) {
    util::SecureClear(j.get_ref<std::string&>());
  } else if (j.is_structured()) {
    for (auto& v : j) Wipe(v);
  }
}

}  // namespace

int RunOperator(const OperatorOptions& options, util::Clock& clock, std::istream& in,
                std::ostream& out, std::ostream& err) {
  auto fail = [&](const std::string& message) {
    err << "coffer operator: " << message << "\n";
    return 1;
  };
  auto config = client::ResolveConfig(options.endpoint, options.ca_bundle);
  if (!config) return fail(config.error().message);
  config->timeout = options.timeout;

  std::string method = "POST", path;
  json body = json::object();
  bool sign = false;
  switch (options.command) {
    case OperatorCommand::kStatus:
      method = "GET";
      path = "/v1/sys/seal-status";
      break;
    case OperatorCommand::kInit:
      path = "/v1/sys/init";
      body = {{"shares", options.shares}, {"threshold", options.threshold}};
      break;
    case OperatorCommand::kUnseal:
      path = "/v1/sys/unseal";
      if (options.reset) {
        body = {{"reset", true}};
      } else {
        std::string share = options.share.empty() ? ReadShare(in, err) : options.share;
        if (share.empty()) return fail("no share given (pass it, or one line on stdin)");
        body = {{"share", share}};
        util::SecureClear(share);
      }
      break;
    case OperatorCommand::kSeal:
      path = "/v1/sys/seal";
      sign = true;
      break;
    case OperatorCommand::kRekeyStart:
      path = "/v1/sys/rekey/init";
      body = {{"shares", options.shares}, {"threshold", options.threshold}};
      sign = true;
      break;
    case OperatorCommand::kRekeySubmit: {
      path = "/v1/sys/rekey/update";
      if (options.nonce.empty()) return fail("--nonce is required (see coffer operator status)");
      std::string share = options.share.empty() ? ReadShare(in, err) : options.share;
      if (share.empty()) return fail("no share given (pass it, or one line on stdin)");
      body = {{"nonce", options.nonce}, {"share", share}};
      util::SecureClear(share);
      break;
    }
    case OperatorCommand::kRekeyCancel:
      path = "/v1/sys/rekey/cancel";
      sign = true;
      break;
    case OperatorCommand::kRotateRoot:
      path = "/v1/sys/rotate-root";
      sign = true;
      break;
  }
  std::string request = body.dump();
  Wipe(body);
  auto response = client::CallCoffer(*config, method, path, request, sign, clock);
  util::SecureClear(request);
  if (!response) return fail(response.error().message);
  if (response->error) {
    return fail(response->error->code + ": " + response->error->message);
  }
  json answer = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  util::SecureClear(response->body);
  if (!answer.is_object()) return fail("the server answered something that is not JSON");
  if (options.json) {
    out << answer.dump(2) << "\n";
    Wipe(answer);
    return options.command == OperatorCommand::kStatus && answer.value("sealed", true) ? 2 : 0;
  }

  switch (options.command) {
    case OperatorCommand::kInit: {
      PrintShares(answer["shares"], out);
      out << "\nInitial admin access key (AWS credentials):\n";
      out << "  aws_access_key_id = " << answer.value("access_key_id", "") << "\n";
      std::string& secret = answer["secret_access_key"].get_ref<std::string&>();
      out << "  aws_secret_access_key = " << secret << "\n";
      util::SecureClear(secret);
      out << "\nRoot key fingerprint: " << answer.value("root_fingerprint", "") << "\n";
      out << "\nThe server kept none of the above: give each share to a different operator. "
          << answer.value("threshold", 0) << " shares unseal it.\n";
      out << (answer.value("unsealed", false)
                  ? "The server unsealed itself (automated unseal is configured).\n"
                  : "The server is sealed: unseal it with coffer operator unseal.\n");
      break;
    }
    case OperatorCommand::kRekeySubmit:
      if (answer.value("complete", false)) {
        out << "Rekey complete. The old shares no longer unseal this server.\n";
        PrintShares(answer["shares"], out);
      } else {
        out << "Rekey progress: " << answer.value("progress", 0) << "/"
            << answer.value("required", 0) << "\n";
      }
      break;
    case OperatorCommand::kRotateRoot:
      out << "Root key rotated: " << answer.value("root_fingerprint", "") << " ("
          << answer.value("rewrapped", 0) << " key material records re-wrapped)\n";
      if (auto it = answer.find("notes"); it != answer.end() && it->is_array()) {
        for (const auto& note : *it) out << "note: " << note.get<std::string>() << "\n";
      }
      break;
    default:
      PrintStatus(answer, out);
      break;
  }
  Wipe(answer);
  if (options.command == OperatorCommand::kStatus && answer.is_object()) {
    // `answer` strings are wiped; the booleans are intact.
    return answer.value("sealed", true) ? 2 : 0;
  }
  return 0;
}

}  // namespace coffer::cli
