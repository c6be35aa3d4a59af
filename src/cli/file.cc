#include "cli/file.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <variant>

#include "crypto/crypto.h"
#include "files/formats.h"
#include "files/keys.h"
#include "files/operations.h"
#include "files/sops.h"
#include "files/tree.h"
#include "util/encoding.h"
#include "util/private_file.h"

extern char** environ;

namespace coffer::cli {
namespace {

namespace fs = std::filesystem;
using files::Document;
using files::Entry;
using files::Format;
using files::Node;
using files::NodeKind;

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitMacMismatch = 51;
constexpr int kExitNoKey = 128;
constexpr int kExitUnchanged = 200;

// ---- small helpers ----


// Writes `content` to `path` keeping the file's mode when it exists (0600 otherwise).
Status WriteOutput(const std::string& path, std::string_view content) {
  struct stat st {};
  bool existed = ::stat(path.c_str(), &st) == 0;
  COFFER_RETURN_IF_ERROR(util::WritePrivateFile(path, content));
  if (existed) ::chmod(path.c_str(), st.st_mode & 07777);
  return Ok();
}

std::vector<std::string> SplitList(std::string_view s, char sep = ',') {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ' && c != '\n' && c != '\t') {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string NowRfc3339(util::Clock& clock) { return util::FormatIso8601(clock.Now()); }

int ExitFor(const Error& e) {
  if (e.code == ErrorCode::kDataLoss && e.message.find("MAC mismatch") != std::string::npos) {
    return kExitMacMismatch;
  }
  if (e.reason == Reason::kKeyNotFound) return kExitNoKey;
  return kExitError;
}

// ---- tree paths: ["a"][0]["b"] ----

using PathStep = std::variant<std::string, size_t>;

Result<std::vector<PathStep>> ParseTreePath(std::string_view s) {
  std::vector<PathStep> out;
  size_t i = 0;
  auto bad = [] {
    return Fail(ErrorCode::kInvalidArgument, "a tree path looks like '[\"key\"][0][\"other\"]'",
                Reason::kValidation);
  };
  while (i < s.size()) {
    if (s[i] != '[') return bad();
    ++i;
    if (i < s.size() && (s[i] == '"' || s[i] == '\'')) {
      char q = s[i++];
      std::string key;
      while (i < s.size() && s[i] != q) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        key += s[i++];
      }
      if (i + 1 >= s.size() || s[i + 1] != ']') return bad();
      i += 2;
      out.emplace_back(std::move(key));
    } else {
      size_t close = s.find(']', i);
      if (close == std::string_view::npos) return bad();
      std::string num(s.substr(i, close - i));
      if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos) return bad();
      out.emplace_back(static_cast<size_t>(std::stoull(num)));
      i = close + 1;
    }
  }
  if (out.empty()) return bad();
  return out;
}

Node* Walk(Node& root, const std::vector<PathStep>& path, size_t upto) {
  Node* n = &root;
  for (size_t i = 0; i < upto; ++i) {
    if (const auto* key = std::get_if<std::string>(&path[i])) {
      if (n->kind != NodeKind::kMap) return nullptr;
      n = n->Find(*key);
    } else {
      size_t index = std::get<size_t>(path[i]);
      if (n->kind != NodeKind::kList) return nullptr;
      size_t seen = 0;
      Node* found = nullptr;
      for (Node& item : n->items) {
        if (item.kind == NodeKind::kComment) continue;
        if (seen++ == index) {
          found = &item;
          break;
        }
      }
      n = found;
    }
    if (n == nullptr) return nullptr;
  }
  return n;
}

// ---- .sops.yaml ----

struct CreationRule {
  files::Metadata metadata;  // key groups, rule, mac_only_encrypted, threshold (enc empty)
};

std::vector<std::string> StringList(const Node* n) {
  std::vector<std::string> out;
  if (n == nullptr) return out;
  if (n->kind == NodeKind::kList) {
    for (const Node& item : n->items) {
      if (item.IsScalar()) out.push_back(files::ScalarToString(item));
    }
  } else if (n->IsScalar()) {
    out = SplitList(files::ScalarToString(*n));
  }
  return out;
}

files::KmsMasterKey KmsFromString(const std::string& s,
                                  const std::map<std::string, std::string>& ctx) {
  files::KmsMasterKey k;
  size_t plus = s.find('+');
  k.arn = s.substr(0, plus);
  if (plus != std::string::npos) k.role = s.substr(plus + 1);
  k.context = ctx;
  return k;
}

void AddGroupFromNode(const Node& g, files::KeyGroup* group) {
  for (const std::string& r : StringList(g.Find("age"))) group->age.push_back({r, ""});
  for (const std::string& fp : StringList(g.Find("pgp"))) group->pgp.push_back({fp, "", ""});
  if (const Node* kms = g.Find("kms"); kms != nullptr) {
    if (kms->kind == NodeKind::kList) {
      for (const Node& item : kms->items) {
        if (item.kind == NodeKind::kMap) {
          files::KmsMasterKey k;
          if (const Node* v = item.Find("arn")) k.arn = files::ScalarToString(*v);
          if (const Node* v = item.Find("role")) k.role = files::ScalarToString(*v);
          if (const Node* v = item.Find("aws_profile")) k.aws_profile = files::ScalarToString(*v);
          if (const Node* ctx = item.Find("context");
              ctx != nullptr && ctx->kind == NodeKind::kMap) {
            for (const Entry& e : ctx->entries) {
              if (e.value.kind != NodeKind::kComment)
                k.context[e.key] = files::ScalarToString(e.value);
            }
          }
          group->kms.push_back(std::move(k));
        } else if (item.IsScalar()) {
          group->kms.push_back(KmsFromString(files::ScalarToString(item), {}));
        }
      }
    } else {
      for (const std::string& s : StringList(kms)) group->kms.push_back(KmsFromString(s, {}));
    }
  }
  if (const Node* merge = g.Find("merge"); merge != nullptr && merge->kind == NodeKind::kList) {
    for (const Node& m : merge->items) {
      if (m.kind == NodeKind::kMap) AddGroupFromNode(m, group);
    }
  }
}

// The .sops.yaml that applies to `file`: --config, else SOPS_CONFIG, else the
// first .sops.yaml walking up from the file's directory (then the current one).
std::optional<fs::path> FindConfig(const FileOptions& o, const std::string& file) {
  if (!o.config.empty()) return fs::path(o.config);
  if (const char* c = ::getenv("SOPS_CONFIG"); c != nullptr && *c != '\0') return fs::path(c);
  std::vector<fs::path> starts;
  std::error_code ec;
  if (!file.empty() && file != "-") starts.push_back(fs::absolute(file, ec).parent_path());
  starts.push_back(fs::current_path(ec));
  for (fs::path dir : starts) {
    for (int i = 0; i < 100 && !dir.empty(); ++i) {
      fs::path candidate = dir / ".sops.yaml";
      if (fs::exists(candidate, ec)) return candidate;
      if (dir == dir.parent_path()) break;
      dir = dir.parent_path();
    }
  }
  return std::nullopt;
}

// The first creation rule of `config` whose path_regex matches `file`
// (relative to the config's directory); nullopt when none matches.
Result<std::optional<CreationRule>> MatchCreationRule(const fs::path& config,
                                                      const std::string& file) {
  COFFER_ASSIGN_OR_RETURN(std::string text, ReadInput(config.string()));
  COFFER_ASSIGN_OR_RETURN(Document doc, files::ParseYaml(text));
  const Node* rules = doc.branches[0].Find("creation_rules");
  if (rules == nullptr || rules->kind != NodeKind::kList) return std::optional<CreationRule>();
  std::error_code ec;
  std::string rel = file;
  if (!file.empty() && file != "-") {
    fs::path p = fs::relative(fs::absolute(file, ec), fs::absolute(config, ec).parent_path(), ec);
    if (!ec) rel = p.string();
  }
  for (const Node& r : rules->items) {
    if (r.kind != NodeKind::kMap) continue;
    if (const Node* pr = r.Find("path_regex"); pr != nullptr) {
      try {
        std::regex re(files::ScalarToString(*pr));
        if (!std::regex_search(rel, re) && !std::regex_search(file, re)) continue;
      } catch (const std::regex_error&) {
        return Fail(ErrorCode::kInvalidArgument,
                    "a path_regex in " + config.string() + " does not compile",
                    Reason::kValidation);
      }
    }
    CreationRule rule;
    files::Metadata& md = rule.metadata;
    static constexpr std::string_view kRules[] = {
        "unencrypted_suffix", "encrypted_suffix",          "unencrypted_regex",
        "encrypted_regex",    "unencrypted_comment_regex", "encrypted_comment_regex"};
    for (std::string_view k : kRules) {
      if (const Node* v = r.Find(k); v != nullptr && v->IsScalar()) {
        if (!md.rule.kind.empty()) {
          return Fail(ErrorCode::kInvalidArgument,
                      "a creation rule sets more than one suffix/regex option",
                      Reason::kValidation);
        }
        md.rule = {std::string(k), files::ScalarToString(*v)};
      }
    }
    if (const Node* v = r.Find("mac_only_encrypted"); v != nullptr) {
      md.mac_only_encrypted = v->kind == NodeKind::kBool && v->bool_value;
    }
    if (const Node* v = r.Find("shamir_threshold"); v != nullptr && v->kind == NodeKind::kInt) {
      md.shamir_threshold = static_cast<int>(v->int_value);
    }
    if (const Node* groups = r.Find("key_groups");
        groups != nullptr && groups->kind == NodeKind::kList) {
      for (const Node& g : groups->items) {
        if (g.kind != NodeKind::kMap) continue;
        files::KeyGroup group;
        AddGroupFromNode(g, &group);
        md.key_groups.push_back(std::move(group));
      }
    } else {
      files::KeyGroup group;
      AddGroupFromNode(r, &group);
      if (!group.empty()) md.key_groups.push_back(std::move(group));
    }
    return std::optional<CreationRule>(std::move(rule));
  }
  return std::optional<CreationRule>();
}

std::map<std::string, std::string> ParseContext(const std::string& s) {
  std::map<std::string, std::string> ctx;
  for (const std::string& kv : SplitList(s)) {
    size_t colon = kv.find(':');
    if (colon != std::string::npos) ctx[kv.substr(0, colon)] = kv.substr(colon + 1);
  }
  return ctx;
}

// Metadata for a new file: flags first, then the environment, then .sops.yaml.
Result<files::Metadata> NewFileMetadata(const FileOptions& o, const std::string& file) {
  files::Metadata md;
  files::KeyGroup group;
  auto env = [](const char* name) -> std::string {
    const char* v = ::getenv(name);
    return v == nullptr ? "" : v;
  };
  std::string age = o.age, pgp = o.pgp, kms = o.kms;
  bool from_flags = !age.empty() || !pgp.empty() || !kms.empty();
  if (!from_flags) {
    age = env("SOPS_AGE_RECIPIENTS");
    pgp = env("SOPS_PGP_FP");
    kms = env("SOPS_KMS_ARN");
  }
  auto ctx = ParseContext(o.encryption_context);
  for (const std::string& r : SplitList(age)) group.age.push_back({r, ""});
  for (const std::string& fp : SplitList(pgp)) group.pgp.push_back({fp, "", ""});
  for (const std::string& k : SplitList(kms)) group.kms.push_back(KmsFromString(k, ctx));
  if (!group.empty()) {
    md.key_groups.push_back(std::move(group));
  } else if (auto config = FindConfig(o, file); config.has_value()) {
    COFFER_ASSIGN_OR_RETURN(std::optional<CreationRule> rule, MatchCreationRule(*config, file));
    if (rule.has_value()) md = std::move(rule->metadata);
  }
  std::pair<const char*, const std::string*> flags[] = {
      {"unencrypted_suffix", &o.unencrypted_suffix},
      {"encrypted_suffix", &o.encrypted_suffix},
      {"unencrypted_regex", &o.unencrypted_regex},
      {"encrypted_regex", &o.encrypted_regex},
      {"unencrypted_comment_regex", &o.unencrypted_comment_regex},
      {"encrypted_comment_regex", &o.encrypted_comment_regex}};
  int set = 0;
  for (auto& [name, value] : flags) {
    if (!value->empty()) {
      md.rule = {name, *value};
      ++set;
    }
  }
  if (set > 1) {
    return Fail(ErrorCode::kInvalidArgument,
                "give at most one of the --(un)encrypted-suffix/regex options",
                Reason::kValidation);
  }
  if (o.mac_only_encrypted) md.mac_only_encrypted = true;
  if (o.shamir_threshold > 0) md.shamir_threshold = o.shamir_threshold;
  if (md.key_groups.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "no master keys: give --age, --pgp or --kms, set SOPS_AGE_RECIPIENTS, or add a "
                ".sops.yaml creation rule matching the file",
                Reason::kValidation);
  }
  COFFER_RETURN_IF_ERROR(files::ValidateRule(md.rule));
  return md;
}

// ---- the command runner ----

class FileRunner {
 public:
  FileRunner(const FileOptions& o, util::Clock& clock, std::ostream& out, std::ostream& err)
      : o_(o), clock_(clock), out_(out), err_(err) {}

  int Run() {
    Result<int> code = Dispatch();
    if (!code) {
      err_ << "coffer file: " << code.error().message;
      if (!kms_error_.empty() && code.error().message.find("KMS") != std::string::npos) {
        err_ << " (KMS set-up: " << kms_error_ << ")";
      }
      err_ << "\n";
      return ExitFor(code.error());
    }
    return *code;
  }

 private:
  const std::string& File(size_t i = 0) const {
    static const std::string kStdin = "-";
    return i < o_.files.size() ? o_.files[i] : kStdin;
  }

  Result<Format> InputFormat(const std::string& file) const {
    if (!o_.input_type.empty()) return files::FormatFromName(o_.input_type);
    std::string name = !o_.filename_override.empty() ? o_.filename_override : file;
    return files::FormatFromPath(name);
  }
  Result<Format> OutputFormat(Format input) const {
    if (!o_.output_type.empty()) return files::FormatFromName(o_.output_type);
    return input;
  }

  Status SetUpServices() {
    services_.age_identities = files::AgeIdentitiesFromEnvironment();
    // A KMS configuration problem matters only to files with KMS keys: they then
    // fail with "no KMS endpoint configured" and the reason is shown here.
    Result<std::unique_ptr<files::KmsService>> kms =
        files::NewClientKmsService(o_.endpoint, clock_);
    if (kms.has_value()) {
      kms_ = std::move(*kms);
      services_.kms = kms_.get();
    } else {
      kms_error_ = kms.error().message;
    }
    return Ok();
  }

  // Writes the result: -i back to the file, --output, else stdout.
  Status Deliver(const std::string& file, std::string_view content) {
    if (o_.in_place) {
      if (file == "-") {
        return Fail(ErrorCode::kInvalidArgument, "-i needs a file, not stdin", Reason::kValidation);
      }
      return WriteOutput(file, content);
    }
    if (!o_.output.empty()) return WriteOutput(o_.output, content);
    out_ << content;
    out_.flush();
    return Ok();
  }

  Result<files::DecryptedFile> Load(const std::string& file, Format format) {
    COFFER_ASSIGN_OR_RETURN(std::string text, ReadInput(file));
    files::DecryptOptions options;
    options.ignore_mac = o_.ignore_mac;
    return files::DecryptText(format, text, services_, options);
  }

  Result<int> Dispatch() {
    COFFER_RETURN_IF_ERROR(SetUpServices());
    switch (o_.command) {
      case FileCommand::kEncrypt:
        return Encrypt();
      case FileCommand::kDecrypt:
        return Decrypt();
      case FileCommand::kEdit:
        return Edit();
      case FileCommand::kSet:
      case FileCommand::kUnset:
        return SetOrUnset();
      case FileCommand::kExecEnv:
        return ExecEnv();
      case FileCommand::kExecFile:
        return ExecFile();
      case FileCommand::kUpdateKeys:
        return UpdateKeys();
      case FileCommand::kRotate:
        return Rotate();
      case FileCommand::kStatus:
        return StatusCommand();
      case FileCommand::kDiff:
        return Diff();
      case FileCommand::kMerge:
        return Merge();
    }
    return kExitUsage;
  }

  Result<int> Encrypt() {
    const std::string& file = File();
    COFFER_ASSIGN_OR_RETURN(Format format, InputFormat(file));
    COFFER_ASSIGN_OR_RETURN(std::string text, ReadInput(file));
    std::string rule_path = !o_.filename_override.empty() ? o_.filename_override : file;
    COFFER_ASSIGN_OR_RETURN(files::Metadata md, NewFileMetadata(o_, rule_path));
    Result<std::string> enc =
        files::EncryptText(format, text, std::move(md), services_, NowRfc3339(clock_));
    util::SecureClear(text);
    if (!enc) return Fail(enc.error());
    COFFER_RETURN_IF_ERROR(Deliver(file, *enc));
    return 0;
  }

  Result<int> Decrypt() {
    // `decrypt --to k8s-secret NAME FILE`: the name may come as the first operand.
    if (o_.to == "k8s-secret" && o_.secret_name.empty() && o_.files.size() == 2) {
      secret_name_ = o_.files[0];
    }
    const std::string& file = o_.to == "k8s-secret" && o_.files.size() == 2 ? o_.files[1] : File();
    COFFER_ASSIGN_OR_RETURN(Format format, InputFormat(file));
    COFFER_ASSIGN_OR_RETURN(files::DecryptedFile d, Load(file, format));
    COFFER_ASSIGN_OR_RETURN(Format out_format, OutputFormat(format));
    if (o_.to == "k8s-secret") {
      COFFER_ASSIGN_OR_RETURN(std::string manifest, RenderK8sSecret(d.file.doc));
      Status s = Deliver(file, manifest);
      util::SecureClear(manifest);
      COFFER_RETURN_IF_ERROR(s);
      return 0;
    }
    if (!o_.to.empty()) {
      return Fail(ErrorCode::kInvalidArgument, "--to knows k8s-secret only", Reason::kValidation);
    }
    if (!o_.extract.empty()) {
      COFFER_ASSIGN_OR_RETURN(std::vector<PathStep> path, ParseTreePath(o_.extract));
      if (d.file.doc.branches.empty()) return Fail(ErrorCode::kNotFound, "empty file");
      Node* n = Walk(d.file.doc.branches[0], path, path.size());
      if (n == nullptr) {
        return Fail(ErrorCode::kNotFound, "the path " + o_.extract + " is not in the file");
      }
      if (n->IsScalar()) {
        std::string v = files::ScalarToString(*n);
        Status s = Deliver(file, v);
        util::SecureClear(v);
        COFFER_RETURN_IF_ERROR(s);
        return 0;
      }
      if (n->kind != NodeKind::kMap) {
        return Fail(ErrorCode::kInvalidArgument, "--extract of a list is not supported",
                    Reason::kValidation);
      }
      Document sub;
      sub.branches.push_back(*n);
      COFFER_ASSIGN_OR_RETURN(SecretBytes text, files::EmitPlaintext(out_format, sub));
      COFFER_RETURN_IF_ERROR(Deliver(file, text.Reveal()));
      return 0;
    }
    COFFER_ASSIGN_OR_RETURN(SecretBytes text, files::EmitPlaintext(out_format, d.file.doc));
    COFFER_RETURN_IF_ERROR(Deliver(file, text.Reveal()));
    return 0;
  }

  // A Kubernetes Secret (or one per SopsSecret template) from a decrypted file.
  Result<std::string> RenderK8sSecret(const Document& doc) {
    Document out;
    auto secret = [](const std::string& name, const Node* labels, const Node* annotations,
                     const std::string& type, const Node* string_data,
                     const Node* data) -> Result<Node> {
      Node s = Node::Map();
      s.entries.push_back({"apiVersion", Node::String("v1")});
      s.entries.push_back({"kind", Node::String("Secret")});
      Node meta = Node::Map();
      meta.entries.push_back({"name", Node::String(name)});
      if (labels != nullptr && labels->kind == NodeKind::kMap)
        meta.entries.push_back({"labels", *labels});
      if (annotations != nullptr && annotations->kind == NodeKind::kMap) {
        meta.entries.push_back({"annotations", *annotations});
      }
      s.entries.push_back({"metadata", std::move(meta)});
      s.entries.push_back({"type", Node::String(type.empty() ? "Opaque" : type)});
      Node d = Node::Map();
      auto add = [&](const Node* m, bool already_base64) -> Status {
        if (m == nullptr || m->kind != NodeKind::kMap) return Ok();
        for (const Entry& e : m->entries) {
          if (e.value.kind == NodeKind::kComment) continue;
          std::string v;
          if (e.value.IsScalar()) {
            v = files::ScalarToString(e.value);
          } else {
            Document one;
            one.branches.push_back(e.value.kind == NodeKind::kMap ? e.value : Node::Map());
            if (e.value.kind != NodeKind::kMap) {
              return Fail(ErrorCode::kInvalidArgument,
                          "the value of \"" + e.key + "\" is a list; a Secret needs strings");
            }
            v = files::EmitYaml(one);
          }
          d.entries.push_back({e.key, Node::String(already_base64 ? v : util::Base64Encode(v))});
          util::SecureClear(v);
        }
        return Ok();
      };
      COFFER_RETURN_IF_ERROR(add(data, true));
      COFFER_RETURN_IF_ERROR(add(string_data, false));
      s.entries.push_back({"data", std::move(d)});
      return s;
    };
    for (const Node& b : doc.branches) {
      const Node* kind = b.Find("kind");
      if (kind != nullptr && files::ScalarToString(*kind) == "SopsSecret") {
        const Node* spec = b.Find("spec");
        const Node* templates = spec != nullptr ? spec->Find("secretTemplates") : nullptr;
        if (templates == nullptr || templates->kind != NodeKind::kList) {
          return Fail(ErrorCode::kInvalidArgument, "a SopsSecret without spec.secretTemplates");
        }
        for (const Node& t : templates->items) {
          if (t.kind != NodeKind::kMap) continue;
          const Node* name = t.Find("name");
          if (name == nullptr)
            return Fail(ErrorCode::kInvalidArgument, "a secretTemplate without name");
          const Node* type = t.Find("type");
          COFFER_ASSIGN_OR_RETURN(
              Node s, secret(files::ScalarToString(*name), t.Find("labels"), t.Find("annotations"),
                             type != nullptr ? files::ScalarToString(*type) : "",
                             t.Find("stringData"), t.Find("data")));
          out.branches.push_back(std::move(s));
        }
        continue;
      }
      std::string name = !o_.secret_name.empty() ? o_.secret_name : secret_name_;
      if (name.empty()) {
        return Fail(ErrorCode::kInvalidArgument, "--to k8s-secret needs a NAME",
                    Reason::kValidation);
      }
      COFFER_ASSIGN_OR_RETURN(Node s, secret(name, nullptr, nullptr, "", &b, nullptr));
      out.branches.push_back(std::move(s));
    }
    return files::EmitYaml(out);
  }

  Result<std::string> Editor() {
    for (const char* name : {"SOPS_EDITOR", "EDITOR"}) {
      const char* v = ::getenv(name);
      if (v != nullptr && *v != '\0') return std::string(v);
    }
    return std::string("vi");
  }

  // A 0700 temporary directory removed on destruction.
  struct TempDir {
    std::string path;
    TempDir() {
      const char* t = ::getenv("TMPDIR");
      std::string pattern =
          std::string(t != nullptr && *t != '\0' ? t : "/tmp") + "/coffer-file-XXXXXX";
      if (::mkdtemp(pattern.data()) != nullptr) path = pattern;
    }
    ~TempDir() {
      std::error_code ec;
      if (path.empty()) return;
      // Overwrite files before removal: they held plaintext.
      for (const auto& entry : fs::directory_iterator(path, ec)) {
        std::error_code ec2;
        auto size = fs::file_size(entry.path(), ec2);
        if (!ec2) {
          std::ofstream f(entry.path(), std::ios::binary | std::ios::in | std::ios::out);
          std::string zeros(size, '\0');
          f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
        }
      }
      fs::remove_all(path, ec);
    }
  };

  static std::string ShellQuote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
      if (c == '\'') {
        out += "'\\''";
      } else {
        out += c;
      }
    }
    return out + "'";
  }

  static int ExitStatus(int status) {
    if (status == -1) return kExitError;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  }

  Result<int> Edit() {
    const std::string& file = File();
    if (file == "-") return Fail(ErrorCode::kInvalidArgument, "edit needs a file");
    COFFER_ASSIGN_OR_RETURN(Format format, InputFormat(file));
    std::optional<files::DecryptedFile> d;
    Document doc;
    std::error_code ec;
    bool exists = fs::exists(file, ec);
    if (exists) {
      COFFER_ASSIGN_OR_RETURN(d, Load(file, format));
      doc = d->file.doc;
    } else {
      doc.branches.push_back(Node::Map());
      if (format != Format::kBinary) {
        doc.branches[0].entries.push_back({"hello", Node::String("Welcome to coffer file edit")});
      } else {
        doc.branches[0].entries.push_back({"data", Node::String("")});
      }
    }
    COFFER_ASSIGN_OR_RETURN(SecretBytes plain, files::EmitPlaintext(format, doc));
    TempDir dir;
    if (dir.path.empty())
      return Fail(ErrorCode::kUnavailable, "cannot create a temporary directory");
    std::string tmp = dir.path + "/" + fs::path(file).filename().string();
    COFFER_RETURN_IF_ERROR(util::WritePrivateFile(tmp, plain.Reveal()));
    COFFER_ASSIGN_OR_RETURN(std::string editor, Editor());
    int status = ::system((editor + " " + ShellQuote(tmp)).c_str());
    if (ExitStatus(status) != 0) {
      return Fail(ErrorCode::kAborted, "the editor exited with status " +
                                           std::to_string(ExitStatus(status)) + "; file unchanged");
    }
    COFFER_ASSIGN_OR_RETURN(std::string edited, ReadInput(tmp));
    if (exists &&
        crypto::ConstantTimeEquals(crypto::Sha256Hex(edited), crypto::Sha256Hex(plain.Reveal()))) {
      util::SecureClear(edited);
      err_ << "File has not changed, exiting.\n";
      return kExitUnchanged;
    }
    Result<Document> parsed = files::Parse(format, edited);
    util::SecureClear(edited);
    if (!parsed) {
      return Fail(ErrorCode::kInvalidArgument, "the edited file does not parse (" +
                                                   parsed.error().message + "); file unchanged");
    }
    std::string enc;
    if (exists) {
      COFFER_ASSIGN_OR_RETURN(
          enc, files::ReencryptDocument(format, std::move(*parsed), *d, NowRfc3339(clock_)));
    } else {
      COFFER_ASSIGN_OR_RETURN(files::Metadata md, NewFileMetadata(o_, file));
      COFFER_ASSIGN_OR_RETURN(SecretBytes text, files::EmitPlaintext(format, *parsed));
      COFFER_ASSIGN_OR_RETURN(enc, files::EncryptText(format, text.Reveal(), std::move(md),
                                                      services_, NowRfc3339(clock_)));
    }
    COFFER_RETURN_IF_ERROR(WriteOutput(file, enc));
    return 0;
  }

  Result<int> SetOrUnset() {
    const std::string& file = File();
    COFFER_ASSIGN_OR_RETURN(Format format, InputFormat(file));
    COFFER_ASSIGN_OR_RETURN(files::DecryptedFile d, Load(file, format));
    COFFER_ASSIGN_OR_RETURN(std::vector<PathStep> path, ParseTreePath(o_.tree_path));
    if (d.file.doc.branches.empty()) d.file.doc.branches.push_back(Node::Map());
    Document doc = d.file.doc;
    Node& target_root = doc.branches[0];
    bool changed = true;
    if (o_.command == FileCommand::kSet) {
      // The value is JSON, as sops takes it.
      COFFER_ASSIGN_OR_RETURN(Document wrapped, files::ParseJson("{\"v\": " + o_.value + "}"));
      Node value = *wrapped.branches[0].Find("v");
      Node* parent = &target_root;
      for (size_t i = 0; i < path.size(); ++i) {
        bool last = i + 1 == path.size();
        if (const auto* key = std::get_if<std::string>(&path[i])) {
          if (parent->kind != NodeKind::kMap) {
            return Fail(ErrorCode::kInvalidArgument,
                        "the path crosses a value that is not a mapping");
          }
          Node* child = parent->Find(*key);
          if (child == nullptr) {
            parent->entries.push_back({*key, last ? value : Node::Map()});
            child = &parent->entries.back().value;
          } else if (last) {
            *child = value;
          }
          parent = child;
        } else {
          if (parent->kind != NodeKind::kList) {
            return Fail(ErrorCode::kInvalidArgument, "the path crosses a value that is not a list");
          }
          Node* child = Walk(*parent, {path[i]}, 1);
          if (child == nullptr) {
            parent->items.push_back(last ? value : Node::Map());
            child = &parent->items.back();
          } else if (last) {
            *child = value;
          }
          parent = child;
        }
      }
    } else {
      Node* parent = Walk(target_root, path, path.size() - 1);
      bool removed = false;
      if (parent != nullptr) {
        if (const auto* key = std::get_if<std::string>(&path.back())) {
          if (parent->kind == NodeKind::kMap) {
            removed = std::erase_if(parent->entries, [&](const Entry& e) {
                        return e.value.kind != NodeKind::kComment && e.key == *key;
                      }) > 0;
          }
        } else if (parent->kind == NodeKind::kList) {
          Node* child = Walk(*parent, {path.back()}, 1);
          if (child != nullptr) {
            for (auto it = parent->items.begin(); it != parent->items.end(); ++it) {
              if (&*it == child) {
                parent->items.erase(it);
                removed = true;
                break;
              }
            }
          }
        }
      }
      if (!removed) {
        if (o_.idempotent) {
          changed = false;
        } else {
          return Fail(ErrorCode::kNotFound, "the path " + o_.tree_path + " is not in the file");
        }
      }
    }
    if (!changed) return 0;
    COFFER_ASSIGN_OR_RETURN(
        std::string enc, files::ReencryptDocument(format, std::move(doc), d, NowRfc3339(clock_)));
    if (file == "-") {
      out_ << enc;
      return 0;
    }
    COFFER_RETURN_IF_ERROR(WriteOutput(file, enc));
    return 0;
  }

  Result<std::vector<std::pair<std::string, std::string>>> EnvPairs(const Document& doc) {
    std::vector<std::pair<std::string, std::string>> out;
    if (doc.branches.empty()) return out;
    for (const Entry& e : doc.branches[0].entries) {
      if (e.value.kind == NodeKind::kComment) continue;
      if (!e.value.IsScalar()) {
        return Fail(ErrorCode::kInvalidArgument,
                    "cannot use complex value \"" + e.key + "\" in the environment");
      }
      if (e.key.find('=') != std::string::npos) {
        return Fail(ErrorCode::kInvalidArgument,
                    "a key with '=' cannot be an environment variable");
      }
      out.emplace_back(e.key, files::ScalarToString(e.value));
    }
    return out;
  }

  Result<int> ExecEnv() {
    const std::string& file = File();
    COFFER_ASSIGN_OR_RETURN(Format format, InputFormat(file));
    COFFER_ASSIGN_OR_RETURN(files::DecryptedFile d, Load(file, format));
    COFFER_ASSIGN_OR_RETURN(auto pairs, EnvPairs(d.file.doc));
    std::vector<std::string> env;
    if (!o_.pristine) {
      for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
    }
    for (auto& [k, v] : pairs) {
      std::erase_if(env, [&](const std::string& s) { return s.rfind(k + "=", 0) == 0; });
      env.push_back(k + "=" + v);
      util::SecureClear(v);
    }
    int status = RunWithEnv(o_.command_line, env);
    for (std::string& s : env) util::SecureClear(s);
    return ExitStatus(status);
  }

  static int RunWithEnv(const std::string& command, const std::vector<std::string>& env) {
    pid_t pid = ::fork();
    if (pid < 0) return -1;
    if (pid == 0) {
      std::vector<char*> envp;
      for (const std::string& s : env) envp.push_back(const_cast<char*>(s.c_str()));
      envp.push_back(nullptr);
      const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
      ::execve("/bin/sh", const_cast<char* const*>(argv), envp.data());
      ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
  }

  Result<int> ExecFile() {
    const std::string& file = File();
    COFFER_ASSIGN_OR_RETURN(Format format, InputFormat(file));
    COFFER_ASSIGN_OR_RETURN(files::DecryptedFile d, Load(file, format));
    COFFER_ASSIGN_OR_RETURN(Format out_format, OutputFormat(format));
    COFFER_ASSIGN_OR_RETURN(SecretBytes text, files::EmitPlaintext(out_format, d.file.doc));
    TempDir dir;
    if (dir.path.empty())
      return Fail(ErrorCode::kUnavailable, "cannot create a temporary directory");
    std::string tmp = dir.path + "/tmp-file";
    COFFER_RETURN_IF_ERROR(util::WritePrivateFile(tmp, text.Reveal()));
    std::string command = o_.command_line;
    for (size_t pos = command.find("{}"); pos != std::string::npos; pos = command.find("{}", pos)) {
      command.replace(pos, 2, tmp);
      pos += tmp.size();
    }
    std::vector<std::string> env;
    if (!o_.pristine) {
      for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
    }
    return ExitStatus(RunWithEnv(command, env));
  }

  static std::set<std::string> KeyNames(const std::vector<files::KeyGroup>& groups) {
    std::set<std::string> out;
    for (size_t i = 0; i < groups.size(); ++i) {
      std::string g = groups.size() > 1 ? "group " + std::to_string(i) + " " : "";
      for (const auto& k : groups[i].age) out.insert(g + "age " + k.recipient);
      for (const auto& k : groups[i].pgp) out.insert(g + "pgp " + k.fp);
      for (const auto& k : groups[i].kms) out.insert(g + "kms " + k.arn);
    }
    return out;
  }

  Result<int> UpdateKeys() {
    const std::string& file = File();
    COFFER_ASSIGN_OR_RETURN(Format format, InputFormat(file));
    COFFER_ASSIGN_OR_RETURN(std::string text, ReadInput(file));
    COFFER_ASSIGN_OR_RETURN(files::SopsFile sops, files::LoadSopsFile(format, text));
    auto config = FindConfig(o_, file);
    if (!config.has_value()) return Fail(ErrorCode::kNotFound, "no .sops.yaml found for " + file);
    COFFER_ASSIGN_OR_RETURN(std::optional<CreationRule> rule, MatchCreationRule(*config, file));
    if (!rule.has_value() || rule->metadata.key_groups.empty()) {
      return Fail(ErrorCode::kNotFound,
                  "no creation rule in " + config->string() + " matches " + file);
    }
    std::set<std::string> before = KeyNames(sops.metadata.key_groups);
    std::set<std::string> after = KeyNames(rule->metadata.key_groups);
    if (before == after && sops.metadata.shamir_threshold == rule->metadata.shamir_threshold) {
      err_ << "coffer file: the keys of " << file << " are up to date\n";
      return 0;
    }
    for (const std::string& k : after) {
      if (!before.count(k)) err_ << "+++ " << k << "\n";
    }
    for (const std::string& k : before) {
      if (!after.count(k)) err_ << "--- " << k << "\n";
    }
    COFFER_ASSIGN_OR_RETURN(SecretBytes key, files::DecryptDataKey(sops.metadata, services_));
    // The MAC proves the key right before anything is re-wrapped.
    files::SopsFile check = sops;
    files::DecryptOptions options;
    options.ignore_mac = o_.ignore_mac;
    COFFER_RETURN_IF_ERROR(files::DecryptSopsFile(check, key, options));
    files::Metadata md = sops.metadata;
    md.key_groups = rule->metadata.key_groups;
    md.shamir_threshold = rule->metadata.shamir_threshold;
    COFFER_RETURN_IF_ERROR(files::WrapDataKey(key, NowRfc3339(clock_), services_, md));
    sops.metadata = std::move(md);
    COFFER_ASSIGN_OR_RETURN(std::string enc, files::EmitSopsFile(format, sops));
    COFFER_RETURN_IF_ERROR(WriteOutput(file, enc));
    err_ << "coffer file: " << file
         << " re-wrapped for its new keys (run rotate so that removed "
            "keys cannot open the old data key)\n";
    return 0;
  }

  Result<int> Rotate() {
    const std::string& file = File();
    COFFER_ASSIGN_OR_RETURN(Format format, InputFormat(file));
    COFFER_ASSIGN_OR_RETURN(files::DecryptedFile d, Load(file, format));
    files::SopsFile sops = d.file;
    if (sops.metadata.key_groups.empty()) sops.metadata.key_groups.emplace_back();
    files::KeyGroup& g0 = sops.metadata.key_groups[0];
    for (const std::string& r : SplitList(o_.add_age)) g0.age.push_back({r, ""});
    for (const std::string& fp : SplitList(o_.add_pgp)) g0.pgp.push_back({fp, "", ""});
    auto ctx = ParseContext(o_.encryption_context);
    for (const std::string& k : SplitList(o_.add_kms)) g0.kms.push_back(KmsFromString(k, ctx));
    for (files::KeyGroup& g : sops.metadata.key_groups) {
      for (const std::string& r : SplitList(o_.rm_age)) {
        std::erase_if(g.age, [&](const auto& k) { return k.recipient == r; });
      }
      for (const std::string& fp : SplitList(o_.rm_pgp)) {
        std::erase_if(g.pgp, [&](const auto& k) { return k.fp == fp; });
      }
      for (const std::string& a : SplitList(o_.rm_kms)) {
        std::erase_if(g.kms, [&](const auto& k) { return k.arn == a; });
      }
    }
    SecretBytes key = files::NewDataKey();
    std::string now = NowRfc3339(clock_);
    COFFER_RETURN_IF_ERROR(files::EncryptSopsFile(sops, key, now));  // fresh IVs
    COFFER_RETURN_IF_ERROR(files::WrapDataKey(key, now, services_, sops.metadata));
    COFFER_ASSIGN_OR_RETURN(std::string enc, files::EmitSopsFile(format, sops));
    COFFER_RETURN_IF_ERROR(Deliver(file, enc));
    return 0;
  }

  Result<int> StatusCommand() {
    const std::string& file = File();
    COFFER_ASSIGN_OR_RETURN(Format format, InputFormat(file));
    COFFER_ASSIGN_OR_RETURN(std::string text, ReadInput(file));
    Result<files::SopsFile> sops = files::LoadSopsFile(format, text);
    bool encrypted =
        sops.has_value() && !sops->metadata.version.empty() && !sops->metadata.mac.empty();
    out_ << "{\"encrypted\":" << (encrypted ? "true" : "false") << "}\n";
    return 0;
  }

  // Flattened leaves of a document: "path" -> value text (for diff and merge).
  static void Leaves(const Node& n, const std::string& prefix,
                     std::vector<std::pair<std::string, std::string>>* out) {
    if (n.kind == NodeKind::kMap) {
      for (const Entry& e : n.entries) {
        if (e.value.kind == NodeKind::kComment) continue;
        Leaves(e.value, prefix + "[\"" + e.key + "\"]", out);
      }
    } else if (n.kind == NodeKind::kList) {
      size_t i = 0;
      for (const Node& item : n.items) {
        if (item.kind == NodeKind::kComment) continue;
        Leaves(item, prefix + "[" + std::to_string(i++) + "]", out);
      }
    } else {
      out->emplace_back(prefix, files::ScalarToString(n));
    }
  }

  Result<int> Diff() {
    if (o_.files.size() == 1) {
      // git textconv: the decrypted file.
      return Decrypt();
    }
    if (o_.files.size() != 2) {
      return Fail(ErrorCode::kInvalidArgument, "diff takes one file (textconv) or two",
                  Reason::kValidation);
    }
    std::vector<std::pair<std::string, std::string>> a, b;
    for (int i = 0; i < 2; ++i) {
      COFFER_ASSIGN_OR_RETURN(Format format, InputFormat(File(i)));
      COFFER_ASSIGN_OR_RETURN(files::DecryptedFile d, Load(File(i), format));
      for (size_t doc = 0; doc < d.file.doc.branches.size(); ++doc) {
        Leaves(d.file.doc.branches[doc], doc == 0 ? "" : "doc" + std::to_string(doc),
               i == 0 ? &a : &b);
      }
    }
    std::map<std::string, std::string> ma(a.begin(), a.end()), mb(b.begin(), b.end());
    int changes = 0;
    for (const auto& [k, v] : a) {
      auto it = mb.find(k);
      if (it == mb.end()) {
        out_ << "- " << k << ": " << v << "\n";
        ++changes;
      } else if (it->second != v) {
        out_ << "- " << k << ": " << v << "\n+ " << k << ": " << it->second << "\n";
        ++changes;
      }
    }
    for (const auto& [k, v] : b) {
      if (!ma.count(k)) {
        out_ << "+ " << k << ": " << v << "\n";
        ++changes;
      }
    }
    return changes == 0 ? 0 : 1;
  }

  // Three-way merge of mappings key by key; false on a conflict (path in *conflict).
  static bool MergeNode(const Node* base, const Node& ours, const Node& theirs, Node* out,
                        const std::string& path, std::string* conflict) {
    auto same = [](const Node* x, const Node* y) {
      if (x == nullptr || y == nullptr) return x == y;
      Document dx, dy;
      Node wx = Node::Map(), wy = Node::Map();
      wx.entries.push_back({"v", *x});
      wy.entries.push_back({"v", *y});
      dx.branches.push_back(wx);
      dy.branches.push_back(wy);
      return files::EmitYaml(dx) == files::EmitYaml(dy);
    };
    if (same(&ours, &theirs)) {
      *out = ours;
      return true;
    }
    if (base != nullptr && same(base, &ours)) {
      *out = theirs;
      return true;
    }
    if (base != nullptr && same(base, &theirs)) {
      *out = ours;
      return true;
    }
    if (ours.kind == NodeKind::kMap && theirs.kind == NodeKind::kMap &&
        (base == nullptr || base->kind == NodeKind::kMap)) {
      Node merged = Node::Map();
      std::set<std::string> seen;
      for (const Entry& e : ours.entries) {
        if (e.value.kind == NodeKind::kComment) {
          merged.entries.push_back(e);
          continue;
        }
        seen.insert(e.key);
        const Node* b = base != nullptr ? base->Find(e.key) : nullptr;
        const Node* t = theirs.Find(e.key);
        if (t == nullptr) {
          if (b != nullptr && same(b, &e.value)) continue;  // deleted by them
          if (b != nullptr) {
            *conflict = path + "[\"" + e.key + "\"]";
            return false;
          }
          merged.entries.push_back(e);  // added by us
          continue;
        }
        Node m;
        if (!MergeNode(b, e.value, *t, &m, path + "[\"" + e.key + "\"]", conflict)) return false;
        merged.entries.push_back({e.key, std::move(m)});
      }
      for (const Entry& e : theirs.entries) {
        if (e.value.kind == NodeKind::kComment || seen.count(e.key)) continue;
        const Node* b = base != nullptr ? base->Find(e.key) : nullptr;
        if (b != nullptr && same(b, &e.value)) continue;  // deleted by us
        if (b != nullptr) {
          *conflict = path + "[\"" + e.key + "\"]";
          return false;
        }
        merged.entries.push_back(e);  // added by them
      }
      *out = std::move(merged);
      return true;
    }
    *conflict = path.empty() ? "the top level" : path;
    return false;
  }

  // git merge driver: coffer file merge %O %A %B (result written to %A, or -o).
  Result<int> Merge() {
    if (o_.files.size() != 3) {
      return Fail(ErrorCode::kInvalidArgument, "merge takes BASE OURS THEIRS", Reason::kValidation);
    }
    COFFER_ASSIGN_OR_RETURN(Format format, InputFormat(File(1)));
    COFFER_ASSIGN_OR_RETURN(files::DecryptedFile base, Load(File(0), format));
    COFFER_ASSIGN_OR_RETURN(files::DecryptedFile ours, Load(File(1), format));
    COFFER_ASSIGN_OR_RETURN(files::DecryptedFile theirs, Load(File(2), format));
    size_t n = ours.file.doc.branches.size();
    if (theirs.file.doc.branches.size() != n) {
      err_ << "coffer file merge: the two versions have different numbers of documents\n";
      return 1;
    }
    Document merged;
    for (size_t i = 0; i < n; ++i) {
      const Node* b = i < base.file.doc.branches.size() ? &base.file.doc.branches[i] : nullptr;
      Node m;
      std::string conflict;
      if (!MergeNode(b, ours.file.doc.branches[i], theirs.file.doc.branches[i], &m, "",
                     &conflict)) {
        err_ << "coffer file merge: both sides changed " << conflict
             << " differently; resolve with coffer file edit\n";
        return 1;
      }
      merged.branches.push_back(std::move(m));
    }
    COFFER_ASSIGN_OR_RETURN(std::string enc, files::ReencryptDocument(format, std::move(merged),
                                                                      ours, NowRfc3339(clock_)));
    COFFER_RETURN_IF_ERROR(WriteOutput(o_.output.empty() ? File(1) : o_.output, enc));
    return 0;
  }

  const FileOptions& o_;
  util::Clock& clock_;
  std::ostream& out_;
  std::ostream& err_;
  files::KeyServices services_;
  std::unique_ptr<files::KmsService> kms_;
  std::string kms_error_;
  std::string secret_name_;  // NAME given as an operand of decrypt --to k8s-secret
};

}  // namespace

Result<std::string> ReadInput(const std::string& path) {
  std::string data;
  if (path.empty() || path == "-") {
    data.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return data;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorCode::kNotFound, "cannot read " + path);
  data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return data;
}

int RunFile(const FileOptions& options, util::Clock& clock, std::ostream& out, std::ostream& err) {
  FileRunner runner(options, clock, out, err);
  return runner.Run();
}

}  // namespace coffer::cli
