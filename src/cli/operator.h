// cli: `coffer operator ...`, production mode's operator commands, over the
// server's /v1/sys/ API (api/native/sys_api.h) like any client:
//
//   init --shares N --threshold T   prints the shares and the admin key, once;
//        [--encrypt-share-to R ...]  each share encrypted to an age or PGP recipient
//   unseal [SHARE] | --reset         one share per call (stdin when not given)
//   status                           exit 0 unsealed, 2 sealed, 1 error
//   seal                             signed (coffer:Seal)
//   rekey start --shares N --threshold T | submit --nonce X [SHARE] | cancel
//   rotate-root                      signed (coffer:RotateRoot)
//
// Shares and keys are printed only to `out` (stdout); never logged.
#pragma once

#include <chrono>
#include <iosfwd>
#include <string>
#include <vector>

#include "util/result.h"
#include "util/time.h"

namespace coffer::cli {

enum class OperatorCommand {
  kInit,
  kUnseal,
  kStatus,
  kSeal,
  kRekeyStart,
  kRekeySubmit,
  kRekeyCancel,
  kRotateRoot,
};

struct OperatorOptions {
  OperatorCommand command = OperatorCommand::kStatus;
  std::string endpoint;  // --endpoint-url (or AWS_ENDPOINT_URL)
  std::string ca_bundle;  // --ca-bundle (or AWS_CA_BUNDLE, the profile's, the system's)
  int shares = 5;
  int threshold = 3;
  std::string share;     // "" = read one line from `in`
  bool reset = false;    // unseal --reset
  std::string nonce;     // rekey submit
  bool json = false;     // --json: the server's answer as is
  // --encrypt-share-to, one per share, in order: an age recipient ("age1...")
  // or a file holding one OpenPGP public key. Each printed share is then
  // encrypted to its recipient (armored); checked before the call is made.
  std::vector<std::string> share_recipients;
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
};

// Runs one command; returns the process exit code (0 ok; 2 for `status` on a
// sealed server; 1 after writing the error to `err`).
int RunOperator(const OperatorOptions& options, util::Clock& clock, std::istream& in,
                std::ostream& out, std::ostream& err);

}  // namespace coffer::cli
