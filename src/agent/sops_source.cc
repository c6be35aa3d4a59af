#include "agent/sops_source.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "files/formats.h"
#include "files/operations.h"
#include "files/tree.h"

namespace coffer::agent {
namespace {

void Leaves(const files::Node& n, const std::string& prefix, Values& out) {
  using files::NodeKind;
  auto join = [&](const std::string& part) { return prefix.empty() ? part : prefix + "_" + part; };
  if (n.kind == NodeKind::kMap) {
    for (const files::Entry& e : n.entries) {
      if (e.value.kind == NodeKind::kComment || e.key == "sops") continue;
      Leaves(e.value, join(e.key), out);
    }
  } else if (n.kind == NodeKind::kList) {
    size_t i = 0;
    for (const files::Node& item : n.items) {
      if (item.kind == NodeKind::kComment) continue;
      Leaves(item, join(std::to_string(i++)), out);
    }
  } else if (n.kind != NodeKind::kComment && !prefix.empty()) {
    std::string text = files::ScalarToString(n);
    out[prefix] = SecretBytes(text);
    util::SecureClear(text);
  }
}

}  // namespace

SopsSource::SopsSource(std::string kms_endpoint, util::Clock& clock)
    : kms_endpoint_(std::move(kms_endpoint)), clock_(clock) {}

Result<Values> SopsSource::Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorCode::kUnavailable, "cannot read the sops file " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  if (!kms_) {
    auto kms = files::NewClientKmsService(kms_endpoint_, clock_);
    if (kms) kms_ = std::move(*kms);
  }
  files::KeyServices services;
  services.age_identities = files::AgeIdentitiesFromEnvironment();
  services.kms = kms_.get();
  auto decrypted = files::DecryptText(files::FormatFromPath(path), text, services, {});
  if (!decrypted) {
    Error e = decrypted.error();
    e.message = path + ": " + e.message;
    return Fail(std::move(e));
  }
  Values out;
  if (!decrypted->file.doc.branches.empty()) Leaves(decrypted->file.doc.branches[0], "", out);
  return out;
}

int64_t ModificationTime(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

}  // namespace coffer::agent
