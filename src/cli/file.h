// cli: `coffer file` — SOPS-compatible encrypted files (files/): encrypt,
// decrypt (--extract, --to k8s-secret), edit, set, unset, exec-env,
// exec-file, updatekeys, rotate, status, diff (a git textconv) and merge,
// with .sops.yaml creation rules found by walking up from the file.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "util/result.h"
#include "util/time.h"

namespace coffer::cli {

enum class FileCommand {
  kEncrypt,
  kDecrypt,
  kEdit,
  kSet,
  kUnset,
  kExecEnv,
  kExecFile,
  kUpdateKeys,
  kRotate,
  kStatus,
  kDiff,
  kMerge,
};

struct FileOptions {
  FileCommand command = FileCommand::kDecrypt;
  std::vector<std::string> files;  // the file(s); "" or "-" reads stdin
  bool in_place = false;           // -i
  std::string output;              // --output
  std::string input_type;          // --input-type
  std::string output_type;         // --output-type
  std::string filename_override;   // --filename-override
  bool ignore_mac = false;
  std::string extract;      // --extract '["a"]["b"]'
  std::string to;           // --to k8s-secret
  std::string secret_name;  // NAME for --to k8s-secret
  // Master keys (comma-separated lists, as sops takes them).
  std::string age, pgp, kms;
  std::string encryption_context;  // k1:v1,k2:v2
  std::string unencrypted_suffix, encrypted_suffix, unencrypted_regex, encrypted_regex,
      unencrypted_comment_regex, encrypted_comment_regex;
  bool mac_only_encrypted = false;
  int shamir_threshold = 0;
  std::string config;    // --config (.sops.yaml)
  std::string endpoint;  // --endpoint-url for KMS keys (default $AWS_ENDPOINT_URL)
  // set / unset
  std::string tree_path;
  std::string value;
  bool idempotent = false;
  // exec-env / exec-file
  std::string command_line;
  bool pristine = false;
  bool no_fifo = false;
  // rotate
  std::string add_age, rm_age, add_pgp, rm_pgp, add_kms, rm_kms;
  bool yes = false;  // updatekeys -y
};

// Runs one `coffer file` command; the exit status (0, 1 on error, 2 bad
// usage, 51 MAC mismatch, 128 no master key opened, 200 edit without change,
// the child's status for exec-*). Errors go to `err`, never with a value.
int RunFile(const FileOptions& options, util::Clock& clock, std::ostream& out, std::ostream& err);

// The bytes of the file at `path`, or of stdin when `path` is "" or "-";
// kNotFound when the file cannot be read. (coffer file and coffer age.)
Result<std::string> ReadInput(const std::string& path);

// `coffer age`: whole-file age encryption for users without the age binary.
struct AgeOptions {
  bool decrypt = false;
  bool armor = false;
  std::vector<std::string> recipients;       // -r
  std::vector<std::string> recipient_files;  // -R
  std::vector<std::string> identity_files;   // -i
  bool passphrase = false;                   // -p (from COFFER_AGE_PASSPHRASE or the terminal)
  bool keygen = false;                       // --keygen
  bool pq = false;                           // --pq: with --keygen, a post-quantum identity
  std::string output;                        // -o
  std::string input;                         // "" or "-": stdin
};
int RunAge(const AgeOptions& options, std::ostream& out, std::ostream& err);

}  // namespace coffer::cli
