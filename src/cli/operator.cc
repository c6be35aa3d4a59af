#include "cli/operator.h"

#include <termios.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "age/age.h"
#include "client/aws_client.h"
#include "files/pgp.h"
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

// One --encrypt-share-to: an age recipient, or a PGP public key read from a file.
struct ShareRecipient {
  std::string name;    // what the output says the share is encrypted to
  std::string age;     // "age1..."; empty for PGP
  std::string pgp_key; // the public key
};

constexpr std::string_view kProbe = "coffer share recipient check";

// Loads and checks every recipient, and encrypts a probe to each, before any
// share exists: a recipient that cannot be used must fail the command before
// the server makes shares that could then not be handed out.
Result<std::vector<ShareRecipient>> LoadRecipients(const std::vector<std::string>& specs) {
  std::vector<ShareRecipient> out;
  for (const std::string& spec : specs) {
    ShareRecipient r;
    if (spec.starts_with("age1")) {
      r.age = spec;
      r.name = spec;
      std::vector<std::string> one{spec};
      if (auto probe = age::Encrypt(one, kProbe, /*armor=*/true); !probe) {
        return Fail(ErrorCode::kInvalidArgument,
                    "--encrypt-share-to " + spec + ": " + probe.error().message);
      }
    } else {
      std::ifstream in(spec, std::ios::binary);
      if (!in) {
        return Fail(ErrorCode::kInvalidArgument,
                    "--encrypt-share-to " + spec +
                        ": neither an age recipient (age1...) nor a readable PGP public key file");
      }
      std::ostringstream buf;
      buf << in.rdbuf();
      r.pgp_key = buf.str();
      auto info = files::PgpInspectPublicKey(r.pgp_key);
      if (!info) {
        return Fail(ErrorCode::kInvalidArgument,
                    "--encrypt-share-to " + spec + ": " + info.error().message);
      }
      r.name = "PGP " + info->fingerprint + (info->user_id.empty() ? "" : " " + info->user_id);
      if (auto probe = files::PgpEncrypt(r.pgp_key, kProbe, true); !probe) {
        return Fail(ErrorCode::kInvalidArgument,
                    "--encrypt-share-to " + spec + ": " + probe.error().message);
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::string> EncryptShare(const ShareRecipient& r, std::string_view share) {
  if (!r.age.empty()) {
    std::vector<std::string> one{r.age};
    return age::Encrypt(one, share, /*armor=*/true);
  }
  return files::PgpEncrypt(r.pgp_key, share, /*armor=*/true);
}

// Prints the shares, each encrypted to its recipient when there are any. A
// share whose encryption fails after all (the recipients were checked
// before) is printed in the clear with a warning: a lost share is worse.
void PrintShares(json& shares, const std::vector<ShareRecipient>& recipients,
                 std::ostream& out, std::ostream& err) {
  int i = 0;
  for (auto& share : shares) {
    std::string& text = share.get_ref<std::string&>();
    ++i;
    if (recipients.empty()) {
      out << "Unseal share " << i << ": " << text << "\n";
    } else {
      const ShareRecipient& r = recipients[static_cast<size_t>(i - 1)];
      auto sealed = EncryptShare(r, text);
      if (sealed) {
        out << "Unseal share " << i << " (encrypted to " << r.name << "):\n" << *sealed;
        if (!sealed->ends_with('\n')) out << "\n";
      } else {
        err << "coffer operator: WARNING: could not encrypt share " << i << " to " << r.name
            << " (" << sealed.error().message << "); it is printed in the clear\n";
        out << "Unseal share " << i << ": " << text << "\n";
      }
    }
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
  std::vector<ShareRecipient> recipients;
  if (!options.share_recipients.empty()) {
    int expected = options.command == OperatorCommand::kInit ||
                           options.command == OperatorCommand::kRekeyStart
                       ? options.shares
                       : static_cast<int>(options.share_recipients.size());
    if (static_cast<int>(options.share_recipients.size()) != expected) {
      return fail("give one --encrypt-share-to per share (" + std::to_string(expected) +
                  "), got " + std::to_string(options.share_recipients.size()));
    }
    auto loaded = LoadRecipients(options.share_recipients);
    if (!loaded) return fail(loaded.error().message);
    recipients = std::move(*loaded);
  }
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
      PrintShares(answer["shares"], recipients, out, err);
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
        auto& shares = answer["shares"];
        if (!recipients.empty() && recipients.size() != shares.size()) {
          err << "coffer operator: the rekey made " << shares.size() << " shares but "
              << recipients.size() << " --encrypt-share-to were given; printing them in the "
              << "clear\n";
          recipients.clear();
        }
        PrintShares(shares, recipients, out, err);
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
