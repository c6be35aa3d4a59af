// cli/chamber: chamber's workflow as coffer commands (write, read, list,
// list-services, history, delete, find, env, exec, export, import, tag), over
// client/ against any SSM-compatible endpoint (Coffer or AWS). A service is a
// path prefix ("/SERVICE/KEY" in SSM), or, with --backend secretsmanager, one
// secret named SERVICE holding a JSON object of KEY: value. Reads of a service
// are batched (GetParametersByPath pages, GetParameters for named keys).
// Reference: docs/cli.md; migration notes: docs/migrating-from-chamber.md.
#pragma once

#include <cstdint>
#include <expected>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "client/aws_client.h"
#include "util/secret_bytes.h"
#include "util/time.h"

namespace coffer::cli {

enum class ChamberVerb {
  kWrite,
  kRead,
  kList,
  kListServices,
  kHistory,
  kDelete,
  kFind,
  kEnv,
  kExec,
  kExport,
  kImport,
  kTagRead,
  kTagWrite,
  kTagDelete,
};

// Documented exit codes (docs/cli.md#exit-codes). `exec` exits with the
// child's status instead once the child runs.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;     // the endpoint refused or could not be reached
inline constexpr int kExitUsage = 2;      // bad arguments
inline constexpr int kExitRefused = 3;    // a format or backend cannot hold a value; --strict
inline constexpr int kExitNotFound = 4;   // the key, version or service does not exist

struct ChamberOptions {
  ChamberVerb verb = ChamberVerb::kRead;
  client::ClientOptions client;
  std::string backend = "ssm";    // "ssm" or "secretsmanager"
  std::string kms_key_alias;      // --kms-key-alias (else $COFFER_KMS_KEY_ALIAS; "": aws/ssm)
  bool lowercase = false;         // chamber's forced lower-casing of services and keys
  std::string output = "text";    // "text" or "json"

  std::vector<std::string> services;  // env, exec, export: later ones win
  std::string service;
  std::string key;
  std::string value;               // write: the value, or "-" for stdin
  bool singleline = false;         // write -: read one line from stdin
  std::vector<std::string> tags;   // KEY=VALUE (write --tags, tag write); tag delete: KEYS
  int64_t version = -1;            // read --version
  bool quiet = false;              // read: print only the value
  bool expand = false;             // list: show values
  bool time = false;               // list: show LastModified
  std::string sort_by = "name";    // list: name, time, user, version
  bool exact_key = false;          // delete: do not apply --lowercase to the key
  bool by_value = false;           // find: KEY is a value to look for
  std::string prefix;              // list-services
  bool pristine = false;           // exec: start from an empty environment
  bool strict = false;             // exec: only fill variables whose value is strict_value
  std::string strict_value = "chamberme";
  std::vector<std::string> command;  // exec: CMD ARGS...
  std::string bundle;              // exec --bundle FILE|s3://BUCKET/KEY|https://URL (cli/bundle.h)
  std::string bundle_key;          // exec --bundle-key: the KMS key the bundle must be under
  std::string format = "json";     // export
  std::string out_file;            // export -o
  std::string k8s_name;            // export --name (k8s-secret; default: the last service)
  std::string k8s_namespace;       // export --namespace
  std::string import_file;         // import: a file or "-"
};

// Runs one command; returns its exit code. Data goes to `out`, diagnostics
// and progress (only when stderr is a terminal) to `err`; errors name the
// command, service, key and the endpoint's error code and message (an
// AccessDenied message names the action and ARN). Secret values are written
// only to `out`, the export file or the exec'd child's environment.
// exec replaces this process with the child on success (it does not return).
int RunChamber(const ChamberOptions& options, util::Clock& clock, std::istream& in,
               std::ostream& out, std::ostream& err);

// A failure of the functions below: the exit code it maps to and a message
// that names services and keys, never a value.
struct ChamberFailure {
  int exit_code = kExitFailed;
  std::string message;
};

// The values exec gives its child for `options.services`, keyed by
// environment variable name (later services win; two keys of one service
// mapping to one name are refused with kExitRefused). Used by bundles.
std::expected<std::map<std::string, SecretBytes>, ChamberFailure> ReadEnvironmentValues(
    const ChamberOptions& options, util::Clock& clock);

// Runs `options.command` with `values` in its environment exactly as exec does
// (--pristine, --strict), replacing this process. Returns only on failure:
// kExitRefused for a value holding NUL or a --strict variable without a value,
// 127/126 when the command cannot be run.
ChamberFailure ExecWithValues(const ChamberOptions& options,
                              const std::map<std::string, SecretBytes>& values,
                              std::ostream& out, std::ostream& err);

}  // namespace coffer::cli
