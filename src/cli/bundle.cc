#include "cli/bundle.h"

#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/bundle_format.h"
#include "client/http_client.h"
#include "client/kms.h"
#include "client/kms_data_key.h"
#include "client/s3.h"
#include "util/private_file.h"

namespace coffer::cli {
namespace {

using Outcome = std::expected<std::string, ChamberFailure>;

std::unexpected<ChamberFailure> Failed(int code, std::string message) {
  return std::unexpected(ChamberFailure{code, std::move(message)});
}

bool IsUrl(const std::string& source) {
  return source.starts_with("https://") || source.starts_with("http://");
}

// The bundle's bytes from a file, an s3:// or an http(s) URL, at most kMaxBundleSize.
Outcome Fetch(const std::string& source, const client::AwsConfig& config, util::Clock& clock) {
  if (client::IsS3Url(source)) {
    auto where = client::ParseS3Url(source);
    if (!where) return Failed(kExitUsage, where.error().message);
    auto r = client::S3GetObject(config, *where, kMaxBundleSize, clock);
    if (!r) {
      return Failed(r.error().code == ErrorCode::kNotFound ? kExitNotFound : kExitFailed,
                    r.error().message);
    }
    return std::move(*r);
  }
  if (IsUrl(source)) {
    client::HttpCall call;
    call.url = source;
    call.timeout = config.timeout;
    call.ca_file = config.ca_bundle;
    call.max_body = kMaxBundleSize;
    auto r = client::Perform(call);
    if (!r) return Failed(kExitFailed, r.error().message);
    if (r->status != 200) {
      return Failed(r->status == 404 ? kExitNotFound : kExitFailed,
                    "GET answered HTTP " + std::to_string(r->status));
    }
    if (r->body.size() > kMaxBundleSize) return Failed(kExitFailed, "larger than 64 MiB");
    return std::move(r->body);
  }
  std::ifstream in(source, std::ios::binary);
  if (!in) return Failed(kExitNotFound, "cannot open the file");
  std::string data;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.append(buf, static_cast<size_t>(in.gcount()));
    if (data.size() > kMaxBundleSize) return Failed(kExitFailed, "larger than 64 MiB");
  }
  if (in.bad()) return Failed(kExitFailed, "cannot read the file");
  return data;
}

client::EncryptionContext ContextFor(const std::string& name) {
  return {{std::string(kBundleContextKey), name}};
}

std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

int Create(const BundleOptions& o, util::Clock& clock, std::ostream& out, std::ostream& err) {
  const std::string prefix = "coffer bundle create: ";
  if (o.chamber.services.empty()) {
    err << prefix << "name at least one service\n";
    return kExitUsage;
  }
  if (o.key_id.empty() || o.out.empty()) {
    err << prefix << "--key and -o are required\n";
    return kExitUsage;
  }
  std::string name = o.name.empty() ? BaseName(o.out) : o.name;
  if (name.empty()) {
    err << prefix << "the bundle needs a name (--name)\n";
    return kExitUsage;
  }
  std::optional<client::S3Location> s3;
  if (client::IsS3Url(o.out)) {
    auto where = client::ParseS3Url(o.out);
    if (!where) {
      err << prefix << o.out << ": " << where.error().message << '\n';
      return kExitUsage;
    }
    s3 = std::move(*where);
    if (o.name.empty()) name = BaseName(s3->key);
  }
  auto config = client::ResolveClientConfig(o.chamber.client, clock);
  if (!config) {
    err << prefix << config.error().message << '\n';
    return kExitUsage;
  }
  auto values = ReadEnvironmentValues(o.chamber, clock);
  if (!values) {
    err << prefix << values.error().message << '\n';
    return values.error().exit_code;
  }
  if (values->empty()) {
    err << prefix << "the services hold no values\n";
    return kExitNotFound;
  }
  auto key = client::KmsGenerateDataKey(*config, o.key_id, ContextFor(name), clock);
  if (!key) {
    err << prefix << "key " << o.key_id << ": " << key.error().message << '\n';
    return kExitFailed;
  }
  BundleHeader header;
  header.name = name;
  header.kms_key_id = key->key_id;
  header.encrypted_data_key = key->ciphertext_blob;
  header.created = util::FormatIso8601(clock.Now());
  for (const std::string& s : o.chamber.services) header.services.push_back(s);
  std::vector<std::pair<std::string, SecretBytes>> pairs;
  pairs.reserve(values->size());
  for (auto& [n, v] : *values) {
    header.names.push_back(n);
    pairs.emplace_back(n, std::move(v));
  }
  auto sealed = SealBundle(header, key->plaintext, pairs);
  if (!sealed) {
    err << prefix << sealed.error().message << '\n';
    return kExitRefused;
  }
  if (s3) {
    if (auto w = client::S3PutObject(*config, *s3, *sealed, clock); !w) {
      err << prefix << w.error().message << '\n';
      return kExitFailed;
    }
  } else if (auto w = util::WritePrivateFile(o.out, *sealed); !w) {
    err << prefix << w.error().message << '\n';
    return kExitFailed;
  }
  out << "wrote " << o.out << ": " << pairs.size() << " values from "
      << header.services.size() << " services under " << header.kms_key_id << '\n';
  return kExitOk;
}

int Inspect(const BundleOptions& o, util::Clock& clock, std::ostream& out, std::ostream& err) {
  const std::string prefix = "coffer bundle inspect: " + o.file + ": ";
  client::AwsConfig config;
  if (IsUrl(o.file) || client::IsS3Url(o.file)) {
    auto resolved = client::ResolveClientConfig(o.chamber.client, clock);
    if (resolved) config = std::move(*resolved);
  }
  auto data = Fetch(o.file, config, clock);
  if (!data) {
    err << prefix << data.error().message << '\n';
    return data.error().exit_code;
  }
  auto parsed = ParseBundle(*data);
  if (!parsed) {
    err << prefix << parsed.error().message << '\n';
    return kExitFailed;
  }
  const BundleHeader& h = parsed->header;
  if (o.output == "json") {
    nlohmann::json doc = {{"Name", h.name},
                          {"Version", kBundleVersion},
                          {"KmsKeyId", h.kms_key_id},
                          {"Created", h.created},
                          {"Services", h.services},
                          {"Keys", h.names},
                          {"Size", data->size()},
                          {"Verified", false}};
    out << doc.dump(2) << '\n';
    return kExitOk;
  }
  std::string services;
  for (const std::string& s : h.services) services += (services.empty() ? "" : ", ") + s;
  out << "Name:     " << h.name << '\n'
      << "Format:   coffer bundle version " << int{kBundleVersion} << '\n'
      << "KMS key:  " << h.kms_key_id << '\n'
      << "Created:  " << h.created << '\n'
      << "Services: " << services << '\n'
      << "Size:     " << data->size() << " bytes\n"
      << "Keys:     " << h.names.size()
      << " (header only; `coffer exec --bundle` decrypts and verifies)\n";
  for (const std::string& n : h.names) out << "  " << n << '\n';
  return kExitOk;
}

}  // namespace

int RunBundle(const BundleOptions& options, util::Clock& clock, std::ostream& out,
              std::ostream& err) {
  switch (options.verb) {
    case BundleVerb::kCreate: return Create(options, clock, out, err);
    case BundleVerb::kInspect: return Inspect(options, clock, out, err);
  }
  return kExitUsage;
}

int RunBundleExec(const ChamberOptions& options, util::Clock& clock, std::ostream& out,
                  std::ostream& err) {
  const std::string prefix = "coffer exec: bundle " + options.bundle + ": ";
  if (options.command.empty()) {
    err << prefix << "exec needs a command after --\n";
    return kExitUsage;
  }
  auto config = client::ResolveClientConfig(options.client, clock);
  if (!config) {
    err << prefix << config.error().message << '\n';
    return kExitUsage;
  }
  auto data = Fetch(options.bundle, *config, clock);
  if (!data) {
    err << prefix << data.error().message << '\n';
    return data.error().exit_code;
  }
  auto parsed = ParseBundle(*data);
  if (!parsed) {
    err << prefix << parsed.error().message << '\n';
    return kExitFailed;
  }
  const BundleHeader& h = parsed->header;
  // KMS is told which key must have wrapped the data key: --bundle-key when
  // given (so a bundle someone made under another key the caller may use is
  // refused), else the header's own. The context binds the data key to the
  // bundle's name.
  const std::string& expected_key =
      options.bundle_key.empty() ? h.kms_key_id : options.bundle_key;
  auto key = client::KmsDecrypt(*config, expected_key, h.encrypted_data_key, ContextFor(h.name),
                                clock);
  if (!key) {
    err << prefix << "cannot decrypt the data key with " << expected_key << ": "
        << key.error().message << '\n';
    return kExitFailed;
  }
  auto values = OpenBundle(*parsed, *key);
  if (!values) {
    err << prefix << values.error().message << '\n';
    return kExitFailed;
  }
  std::map<std::string, SecretBytes> env;
  for (auto& [n, v] : *values) env.emplace(n, std::move(v));
  values->clear();
  ChamberFailure failure = ExecWithValues(options, env, out, err);
  err << prefix << failure.message << '\n';
  return failure.exit_code;
}

}  // namespace coffer::cli
