// cli/bundle: the seed's S3 option for ECS, client side. `coffer bundle
// create` reads every value of some services (as `coffer exec` would) and
// writes them into one KMS envelope-encrypted file (docs/formats/bundle.md);
// `coffer bundle inspect` prints its header (names, never values);
// `coffer exec --bundle FILE|s3://BUCKET/KEY|https://URL` fetches it, has KMS decrypt its data
// key, verifies it and runs the command with the values in its environment,
// exactly as `coffer exec` does. Nothing runs unless every check passed.
#pragma once

#include <iosfwd>
#include <string>

#include "cli/chamber.h"
#include "util/time.h"

namespace coffer::cli {

enum class BundleVerb { kCreate, kInspect };

struct BundleOptions {
  BundleVerb verb = BundleVerb::kCreate;
  // create: services (and --backend, --lowercase) and where/as whom to call.
  ChamberOptions chamber;
  std::string key_id;  // create --key: KMS key id, ARN or alias
  std::string out;     // create -o FILE or s3://BUCKET/KEY
  std::string name;    // create --name (default: the file name of -o)
  std::string file;    // inspect FILE, s3://BUCKET/KEY or https://URL
  std::string output = "text";  // inspect: text or json
};

// Runs `coffer bundle create|inspect`; returns the exit code (chamber.h's
// kExit* codes). Errors go to `err` and never hold a value.
int RunBundle(const BundleOptions& options, util::Clock& clock, std::ostream& out,
              std::ostream& err);

// `coffer exec --bundle`: `options.bundle` is a file path, s3://BUCKET/KEY or an http(s) URL;
// `options.command` the command. Returns only on failure (the child replaces
// this process): kExitFailed when the bundle cannot be fetched, KMS refuses
// (the message names the KMS or S3 error, e.g. AccessDeniedException) or the file
// fails verification; nothing is run then.
int RunBundleExec(const ChamberOptions& options, util::Clock& clock, std::ostream& out,
                  std::ostream& err);

}  // namespace coffer::cli
