#include "agent/target.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <utility>

#include "util/encoding.h"

namespace coffer::agent {
namespace {

Error Invalid(std::string message) {
  return Error{ErrorCode::kInvalidArgument, Reason::kValidation, std::move(message)};
}

Error Io(const std::string& what, const std::string& path) {
  return Error{ErrorCode::kUnavailable, Reason::kNone,
               what + " " + path + ": " + std::strerror(errno)};
}

RenderedFile FileFor(const TargetConfig& c, std::string path, std::string& content) {
  RenderedFile f;
  f.path = std::move(path);
  f.content = SecretBytes(content);
  util::SecureClear(content);
  f.mode = c.mode;
  f.uid = c.uid;
  f.gid = c.gid;
  return f;
}

// The contents of `path` ("" when absent), for comparison.
std::optional<SecretBytes> ReadExisting(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  std::string data;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  util::SecureZero(buf, sizeof buf);
  ::close(fd);
  SecretBytes out(data);
  util::SecureClear(data);
  return out;
}

Status WriteAtomically(const RenderedFile& f) {
  std::filesystem::path target(f.path);
  std::string dir = target.parent_path().empty() ? "." : target.parent_path().string();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string tmp = dir + "/." + target.filename().string() + ".coffer-XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) return Fail(Io("cannot create a temporary file for", f.path));
  auto fail = [&](const char* what) {
    Error e = Io(what, f.path);
    ::close(fd);
    ::unlink(tmp.c_str());
    return Fail(std::move(e));
  };
  std::string_view data = f.content.Reveal();
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  if (::fchmod(fd, static_cast<mode_t>(f.mode)) != 0) return fail("cannot set the mode of");
  if (f.uid || f.gid) {
    if (::fchown(fd, f.uid ? static_cast<uid_t>(*f.uid) : static_cast<uid_t>(-1),
                 f.gid ? static_cast<gid_t>(*f.gid) : static_cast<gid_t>(-1)) != 0) {
      return fail("cannot set the owner of");
    }
  }
  if (::fsync(fd) != 0) return fail("cannot fsync");
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Fail(Io("cannot close", f.path));
  }
  if (::rename(tmp.c_str(), f.path.c_str()) != 0) {
    Error e = Io("cannot rename into", f.path);
    ::unlink(tmp.c_str());
    return Fail(std::move(e));
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Ok();
}

std::string EnvName(std::string_view key) {
  std::string out;
  for (char c : key) {
    out.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '_');
  }
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out.front()))) out.insert(0, "_");
  return out;
}

// Environment-style names, refusing two keys that would collide.
Result<std::vector<std::pair<std::string, const SecretBytes*>>> EnvEntries(const Values& values) {
  std::vector<std::pair<std::string, const SecretBytes*>> out;
  std::set<std::string> seen;
  for (const auto& [key, value] : values) {
    std::string name = EnvName(key);
    if (!seen.insert(name).second) {
      return Fail(Invalid("keys '" + key + "' and another both become " + name));
    }
    out.emplace_back(std::move(name), &value);
  }
  return out;
}

class DotenvTarget final : public Target {
 public:
  explicit DotenvTarget(TargetConfig c) : c_(std::move(c)) {}
  Result<Rendering> Render(const Values& values) const override {
    COFFER_ASSIGN_OR_RETURN(auto entries, EnvEntries(values));
    std::string out;
    for (const auto& [name, value] : entries) {
      out += name;
      out += "=\"";
      for (char ch : value->Reveal()) {
        switch (ch) {
          case '\\': out += "\\\\"; break;
          case '"': out += "\\\""; break;
          case '\n': out += "\\n"; break;
          case '$': out += "\\$"; break;
          default: out.push_back(ch);
        }
      }
      out += "\"\n";
    }
    Rendering r;
    r.files.push_back(FileFor(c_, c_.path, out));
    return r;
  }
  std::string_view kind() const override { return "dotenv"; }
  const std::string& path() const override { return c_.path; }

 private:
  TargetConfig c_;
};

// The format of an ECS task's environmentFiles: VARIABLE=VALUE per line, no
// quoting, no line breaks in values (docs/ecs.md).
class EcsEnvTarget final : public Target {
 public:
  explicit EcsEnvTarget(TargetConfig c) : c_(std::move(c)) {}
  Result<Rendering> Render(const Values& values) const override {
    COFFER_ASSIGN_OR_RETURN(auto entries, EnvEntries(values));
    std::string out;
    for (const auto& [name, value] : entries) {
      if (value->Reveal().find_first_of("\r\n") != std::string_view::npos) {
        util::SecureClear(out);
        return Fail(Invalid("the value of " + name +
                            " has a line break, which an ECS environment file cannot hold"));
      }
      out += name;
      out += '=';
      out += value->Reveal();
      out += '\n';
    }
    Rendering r;
    r.files.push_back(FileFor(c_, c_.path, out));
    return r;
  }
  std::string_view kind() const override { return "ecs-env"; }
  const std::string& path() const override { return c_.path; }

 private:
  TargetConfig c_;
};

class TemplateTarget final : public Target {
 public:
  explicit TemplateTarget(TargetConfig c) : c_(std::move(c)) {}
  Result<Rendering> Render(const Values& values) const override {
    COFFER_ASSIGN_OR_RETURN(SecretBytes text, RenderTemplate(c_.template_text, values));
    Rendering r;
    std::string s(text.Reveal());
    r.files.push_back(FileFor(c_, c_.path, s));
    return r;
  }
  std::string_view kind() const override { return "template"; }
  const std::string& path() const override { return c_.path; }

 private:
  TargetConfig c_;
};

constexpr std::string_view kIndexFile = ".coffer-keys";

// One file per key; an index of the keys it wrote (kIndexFile) lets the next
// rendering remove the files of keys that are gone.
class DirectoryTarget final : public Target {
 public:
  explicit DirectoryTarget(TargetConfig c) : c_(std::move(c)) {}
  Result<Rendering> Render(const Values& values) const override {
    Rendering r;
    std::string index;
    for (const auto& [key, value] : values) {
      if (!IsValidSecretKey(key) || key == "." || key == ".." || key == kIndexFile) {
        return Fail(Invalid("key '" + key + "' cannot be a file name"));
      }
      std::string content(value.Reveal());
      r.files.push_back(FileFor(c_, c_.path + "/" + key, content));
      index += key + "\n";
    }
    std::string index_path = c_.path + "/" + std::string(kIndexFile);
    if (auto old = ReadExisting(index_path)) {
      std::string_view text = old->Reveal();
      while (!text.empty()) {
        size_t nl = text.find('\n');
        std::string key(text.substr(0, nl));
        if (!key.empty() && IsValidSecretKey(key) && key != "." && key != ".." &&
            !values.contains(key)) {
          r.remove.push_back(c_.path + "/" + key);
        }
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
      }
    }
    RenderedFile idx;
    idx.path = index_path;
    idx.content = SecretBytes(index);
    idx.mode = 0600;
    r.files.push_back(std::move(idx));
    return r;
  }
  std::string_view kind() const override { return "directory"; }
  const std::string& path() const override { return c_.path; }

 private:
  TargetConfig c_;
};

// A YAML double-quoted scalar (JSON string escaping is valid YAML).
std::string YamlQuote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    unsigned char u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (u < 0x20) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
  return out;
}

// A v1 Secret laid out as `kubectl create secret generic NAME --from-literal=...
// --dry-run=client -o yaml` prints it: keys in order, data base64, metadata
// with creationTimestamp: null (docs/agent.md#kubernetes-secret-manifests).
class KubernetesSecretTarget final : public Target {
 public:
  explicit KubernetesSecretTarget(TargetConfig c) : c_(std::move(c)) {
    file_ = c_.path + "/" + c_.secret_name + ".yaml";
  }
  Result<Rendering> Render(const Values& values) const override {
    Values templated;
    const Values* data = &values;
    if (!c_.template_data.empty()) {
      for (const auto& [key, text] : c_.template_data) {
        COFFER_ASSIGN_OR_RETURN(SecretBytes v, RenderTemplate(text, values));
        templated.emplace(key, std::move(v));
      }
      data = &templated;
    }
    std::string out = "apiVersion: v1\n";
    if (!data->empty()) {
      out += "data:\n";
      for (const auto& [key, value] : *data) {
        if (!IsValidSecretKey(key)) {
          util::SecureClear(out);
          return Fail(Invalid("key '" + key + "' is not a valid Secret key ([-._a-zA-Z0-9]+)"));
        }
        out += "  " + key + ": " + util::Base64Encode(value.Reveal()) + "\n";
      }
    }
    out += "kind: Secret\nmetadata:\n";
    if (!c_.annotations.empty()) {
      out += "  annotations:\n";
      for (const auto& [k, v] : c_.annotations) out += "    " + k + ": " + YamlQuote(v) + "\n";
    }
    out += "  creationTimestamp: null\n";
    if (!c_.labels.empty()) {
      out += "  labels:\n";
      for (const auto& [k, v] : c_.labels) out += "    " + k + ": " + YamlQuote(v) + "\n";
    }
    out += "  name: " + c_.secret_name + "\n";
    if (!c_.namespace_.empty()) out += "  namespace: " + c_.namespace_ + "\n";
    if (!c_.secret_type.empty()) out += "type: " + c_.secret_type + "\n";
    Rendering r;
    r.files.push_back(FileFor(c_, file_, out));
    return r;
  }
  std::string_view kind() const override { return "kubernetes-secret"; }
  const std::string& path() const override { return file_; }

 private:
  TargetConfig c_;
  std::string file_;
};

}  // namespace

bool IsValidSecretKey(std::string_view key) {
  if (key.empty() || key.size() > 253) return false;
  for (char c : key) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

std::unique_ptr<Target> MakeTarget(const TargetConfig& config) {
  switch (config.kind) {
    case TargetKind::kDirectory: return std::make_unique<DirectoryTarget>(config);
    case TargetKind::kTemplate: return std::make_unique<TemplateTarget>(config);
    case TargetKind::kDotenv: return std::make_unique<DotenvTarget>(config);
    case TargetKind::kEcsEnv: return std::make_unique<EcsEnvTarget>(config);
    case TargetKind::kKubernetesSecret: return std::make_unique<KubernetesSecretTarget>(config);
  }
  return std::make_unique<DotenvTarget>(config);
}

Result<bool> WriteFiles(const Rendering& rendering) {
  bool changed = false;
  for (const RenderedFile& f : rendering.files) {
    auto existing = ReadExisting(f.path);
    if (existing && existing->Equals(f.content)) continue;
    COFFER_RETURN_IF_ERROR(WriteAtomically(f));
    changed = true;
  }
  for (const std::string& path : rendering.remove) {
    if (::unlink(path.c_str()) == 0) {
      changed = true;
    } else if (errno != ENOENT) {
      return Fail(Io("cannot remove", path));
    }
  }
  return changed;
}

}  // namespace coffer::agent
