#include "cli/chamber.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/export_formats.h"
#include "crypto/crypto.h"
#include "util/encoding.h"

extern char** environ;

namespace coffer::cli {
namespace {

using nlohmann::json;

// SSM's largest value (the advanced tier's).
constexpr size_t kMaxSsmValue = 8192;

// A failure with the exit code it maps to.
struct CommandError {
  int exit_code = kExitFailed;
  std::string message;
};

template <class T>
using Outcome = std::expected<T, CommandError>;

std::unexpected<CommandError> Failed(int code, std::string message) {
  return std::unexpected(CommandError{code, std::move(message)});
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ValidPart(std::string_view s, bool allow_slash) {
  if (s.empty()) return false;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.') continue;
    if (allow_slash && c == '/') continue;
    return false;
  }
  return s.find("//") == std::string_view::npos;
}

// Moves a JSON string member into SecretBytes and wipes the JSON's copy.
SecretBytes TakeSecret(json& object, const char* member) {
  if (!object.contains(member) || !object[member].is_string()) return SecretBytes();
  std::string& s = object[member].get_ref<std::string&>();
  SecretBytes out(s);
  util::SecureClear(s);
  return out;
}

std::string Str(const json& object, const char* member) {
  if (!object.is_object() || !object.contains(member) || !object[member].is_string()) return "";
  return object[member].get<std::string>();
}

double Num(const json& object, const char* member) {
  if (!object.is_object() || !object.contains(member) || !object[member].is_number()) return 0;
  return object[member].get<double>();
}

std::string FormatTime(double epoch) {
  if (epoch <= 0) return "";
  auto t = util::SystemTime(std::chrono::milliseconds(static_cast<int64_t>(epoch * 1000)));
  return util::FormatIso8601(t);
}

struct Entry {
  std::string key;
  SecretBytes value;
  int64_t version = 0;
  double modified = 0;
  std::string user;
  std::string arn;
};

struct HistoryEvent {
  int64_t version = 0;
  double date = 0;
  std::string user;
  SecretBytes value;
};

// The endpoint, as the commands use it.
class Store {
 public:
  Store(const ChamberOptions& options, client::AwsConfig config, util::Clock& clock)
      : options_(options), config_(std::move(config)), clock_(clock) {}

  bool secrets_manager() const { return options_.backend == "secretsmanager"; }

  std::string Path(const std::string& service, const std::string& key) const {
    return "/" + service + "/" + key;
  }

  // One call; AWS errors become CommandErrors naming `what`.
  Outcome<json> Call(const char* service, const std::string& target, const json& body,
                     const std::string& what) {
    std::string request;
    try {
      request = body.dump(-1, ' ', false, json::error_handler_t::strict);
    } catch (const json::exception&) {
      return Failed(kExitRefused, what + ": the value is not valid UTF-8");
    }
    auto response = client::CallJson(config_, service, target, request, clock_);
    util::SecureClear(request);
    if (!response) return Failed(kExitFailed, what + ": " + response.error().message);
    if (response->error) {
      const client::AwsError& e = *response->error;
      int code = kExitFailed;
      if (e.code == "ParameterNotFound" || e.code == "ParameterVersionNotFound" ||
          e.code == "ResourceNotFoundException") {
        code = kExitNotFound;
      }
      return Failed(code, what + ": " + e.code + ": " + e.message);
    }
    json doc = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
    util::SecureClear(response->body);
    if (doc.is_discarded()) {
      return Failed(kExitFailed, what + ": the endpoint's answer is not JSON");
    }
    return doc;
  }

  Outcome<json> Ssm(const std::string& op, const json& body, const std::string& what) {
    return Call("ssm", "AmazonSSM." + op, body, what);
  }
  Outcome<json> Sm(const std::string& op, const json& body, const std::string& what) {
    return Call("secretsmanager", "secretsmanager." + op, body, what);
  }

  // Every value of a service, batched (GetParametersByPath pages of 10).
  Outcome<std::vector<Entry>> ReadService(const std::string& service) {
    std::vector<Entry> out;
    if (secrets_manager()) {
      auto object = ReadSecretObject(service, "service " + service);
      if (!object) return std::unexpected(object.error());
      for (auto& [key, value] : *object) {
        Entry e;
        e.key = key;
        e.value = std::move(value);
        out.push_back(std::move(e));
      }
      return out;
    }
    std::string token;
    do {
      json body = {{"Path", "/" + service},
                   {"Recursive", false},
                   {"WithDecryption", true},
                   {"MaxResults", 10}};
      if (!token.empty()) body["NextToken"] = token;
      auto page = Ssm("GetParametersByPath", body, "service " + service);
      if (!page) return std::unexpected(page.error());
      for (json& p : (*page)["Parameters"]) {
        Entry e;
        std::string name = Str(p, "Name");
        e.key = name.substr(name.rfind('/') + 1);
        e.value = TakeSecret(p, "Value");
        e.version = p.value("Version", int64_t{0});
        e.modified = Num(p, "LastModifiedDate");
        e.arn = Str(p, "ARN");
        out.push_back(std::move(e));
      }
      token = Str(*page, "NextToken");
    } while (!token.empty());
    return out;
  }

  // Metadata of a service's parameters (DescribeParameters, one level).
  Outcome<std::vector<Entry>> DescribeService(const std::string& service) {
    std::vector<Entry> out;
    std::string token;
    do {
      json body = {{"ParameterFilters",
                    json::array({{{"Key", "Path"},
                                  {"Option", "OneLevel"},
                                  {"Values", json::array({"/" + service})}}})},
                   {"MaxResults", 50}};
      if (!token.empty()) body["NextToken"] = token;
      auto page = Ssm("DescribeParameters", body, "service " + service);
      if (!page) return std::unexpected(page.error());
      for (json& p : (*page)["Parameters"]) {
        Entry e;
        std::string name = Str(p, "Name");
        e.key = name.substr(name.rfind('/') + 1);
        e.version = p.value("Version", int64_t{0});
        e.modified = Num(p, "LastModifiedDate");
        e.user = Str(p, "LastModifiedUser");
        e.arn = Str(p, "ARN");
        out.push_back(std::move(e));
      }
      token = Str(*page, "NextToken");
    } while (!token.empty());
    return out;
  }

  // Every parameter name the caller may describe.
  Outcome<std::vector<std::string>> AllNames() {
    std::vector<std::string> out;
    if (secrets_manager()) {
      std::string token;
      do {
        json body = {{"MaxResults", 100}};
        if (!token.empty()) body["NextToken"] = token;
        auto page = Sm("ListSecrets", body, "list-services");
        if (!page) return std::unexpected(page.error());
        for (const json& s : (*page)["SecretList"]) out.push_back(Str(s, "Name"));
        token = Str(*page, "NextToken");
      } while (!token.empty());
      return out;
    }
    std::string token;
    do {
      json body = {{"MaxResults", 50}};
      if (!token.empty()) body["NextToken"] = token;
      auto page = Ssm("DescribeParameters", body, "list-services");
      if (!page) return std::unexpected(page.error());
      for (const json& p : (*page)["Parameters"]) out.push_back(Str(p, "Name"));
      token = Str(*page, "NextToken");
    } while (!token.empty());
    return out;
  }

  Outcome<std::vector<HistoryEvent>> History(const std::string& service, const std::string& key) {
    if (secrets_manager()) {
      return Failed(kExitUsage, "history is not available with --backend secretsmanager");
    }
    std::vector<HistoryEvent> out;
    std::string token;
    std::string what = "service " + service + " key " + key;
    do {
      json body = {{"Name", Path(service, key)}, {"WithDecryption", true}, {"MaxResults", 50}};
      if (!token.empty()) body["NextToken"] = token;
      auto page = Ssm("GetParameterHistory", body, what);
      if (!page) return std::unexpected(page.error());
      for (json& p : (*page)["Parameters"]) {
        HistoryEvent e;
        e.version = p.value("Version", int64_t{0});
        e.date = Num(p, "LastModifiedDate");
        e.user = Str(p, "LastModifiedUser");
        e.value = TakeSecret(p, "Value");
        out.push_back(std::move(e));
      }
      token = Str(*page, "NextToken");
    } while (!token.empty());
    return out;
  }

  Outcome<Entry> ReadOne(const std::string& service, const std::string& key, int64_t version) {
    std::string what = "service " + service + " key " + key;
    if (secrets_manager()) {
      auto object = ReadSecretObject(service, what);
      if (!object) return std::unexpected(object.error());
      auto it = object->find(key);
      if (it == object->end()) return Failed(kExitNotFound, what + ": no such key");
      Entry e;
      e.key = key;
      e.value = std::move(it->second);
      return e;
    }
    std::string name = Path(service, key);
    if (version >= 0) name += ":" + std::to_string(version);
    auto doc = Ssm("GetParameter", {{"Name", name}, {"WithDecryption", true}}, what);
    if (!doc) return std::unexpected(doc.error());
    json& p = (*doc)["Parameter"];
    Entry e;
    e.key = key;
    e.value = TakeSecret(p, "Value");
    e.version = p.value("Version", int64_t{0});
    e.modified = Num(p, "LastModifiedDate");
    e.arn = Str(p, "ARN");
    return e;
  }

  Outcome<bool> Write(const std::string& service, const std::string& key,
                      const SecretBytes& value) {
    std::string what = "service " + service + " key " + key;
    if (secrets_manager()) {
      std::map<std::string, SecretBytes> one;
      one.emplace(key, value);
      return WriteSecretObject(service, one, {}, what);
    }
    if (value.empty()) {
      return Failed(kExitRefused,
                    what + ": SSM cannot store an empty value (use --backend secretsmanager)");
    }
    json body = {{"Name", Path(service, key)},
                 {"Value", std::string(value.Reveal())},
                 {"Type", "SecureString"},
                 {"Overwrite", true}};
    if (!options_.kms_key_alias.empty()) body["KeyId"] = "alias/" + options_.kms_key_alias;
    if (value.size() > 4096) body["Tier"] = "Advanced";
    auto put = Ssm("PutParameter", body, what);
    util::SecureClear(body["Value"].get_ref<std::string&>());
    if (!put) return std::unexpected(put.error());
    return true;
  }

  Outcome<bool> WriteMany(const std::string& service,
                          const std::map<std::string, SecretBytes>& values) {
    if (secrets_manager()) return WriteSecretObject(service, values, {}, "service " + service);
    return false;  // the caller writes one by one
  }

  Outcome<bool> Delete(const std::string& service, const std::string& key) {
    std::string what = "service " + service + " key " + key;
    if (secrets_manager()) {
      auto object = ReadSecretObject(service, what);
      if (!object) return std::unexpected(object.error());
      if (!object->contains(key)) return Failed(kExitNotFound, what + ": no such key");
      return WriteSecretObject(service, {}, {key}, what);
    }
    auto r = Ssm("DeleteParameter", {{"Name", Path(service, key)}}, what);
    if (!r) return std::unexpected(r.error());
    return true;
  }

  const client::AwsConfig& config() const { return config_; }

 private:
  Outcome<std::map<std::string, SecretBytes>> ReadSecretObject(const std::string& service,
                                                               const std::string& what) {
    auto doc = Sm("GetSecretValue", {{"SecretId", service}}, what);
    if (!doc) return std::unexpected(doc.error());
    SecretBytes text = TakeSecret(*doc, "SecretString");
    json object = json::parse(text.Reveal(), nullptr, /*allow_exceptions=*/false);
    if (!object.is_object()) {
      return Failed(kExitFailed, what + ": the secret is not a JSON object of strings");
    }
    std::map<std::string, SecretBytes> out;
    for (auto& [k, v] : object.items()) {
      if (!v.is_string()) {
        return Failed(kExitFailed, what + ": the secret's key " + k + " is not a string");
      }
      std::string& s = v.get_ref<std::string&>();
      out.emplace(k, SecretBytes(s));
      util::SecureClear(s);
    }
    return out;
  }

  // Read-modify-write of the service's secret (created when absent).
  Outcome<bool> WriteSecretObject(const std::string& service,
                                  const std::map<std::string, SecretBytes>& set,
                                  const std::set<std::string>& remove, const std::string& what) {
    std::map<std::string, SecretBytes> current;
    bool exists = true;
    auto read = ReadSecretObject(service, what);
    if (read) {
      current = std::move(*read);
    } else if (read.error().exit_code == kExitNotFound) {
      exists = false;
    } else {
      return std::unexpected(read.error());
    }
    for (const auto& [k, v] : set) current[k] = v;
    for (const std::string& k : remove) current.erase(k);
    json object = json::object();
    for (const auto& [k, v] : current) object[k] = std::string(v.Reveal());
    std::string text;
    try {
      text = object.dump(-1, ' ', false, json::error_handler_t::strict);
    } catch (const json::exception&) {
      return Failed(kExitRefused, what + ": a value is not valid UTF-8");
    }
    for (auto& [k, v] : object.items()) util::SecureClear(v.get_ref<std::string&>());
    json body = {{"SecretString", text}};
    util::SecureClear(text);
    Outcome<json> r;
    if (exists) {
      body["SecretId"] = service;
      r = Sm("PutSecretValue", body, what);
    } else {
      body["Name"] = service;
      if (!options_.kms_key_alias.empty()) body["KmsKeyId"] = "alias/" + options_.kms_key_alias;
      r = Sm("CreateSecret", body, what);
    }
    util::SecureClear(body["SecretString"].get_ref<std::string&>());
    if (!r) return std::unexpected(r.error());
    return true;
  }

  const ChamberOptions& options_;
  client::AwsConfig config_;
  util::Clock& clock_;
};

// Writes one line of text output with tab-separated columns.
void Row(std::ostream& out, const std::vector<std::string>& columns) {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i) out << '\t';
    out << columns[i];
  }
  out << '\n';
}

bool StderrIsTerminal() { return ::isatty(STDERR_FILENO) == 1; }

class Progress {
 public:
  Progress(std::ostream& err, const char* what, size_t total)
      : err_(err), what_(what), total_(total), on_(StderrIsTerminal() && total >= 100) {}
  void Update(size_t done) {
    if (on_ && (done % 50 == 0 || done == total_)) {
      err_ << '\r' << what_ << ' ' << done << '/' << total_ << std::flush;
      if (done == total_) err_ << '\n';
    }
  }

 private:
  std::ostream& err_;
  const char* what_;
  size_t total_;
  bool on_;
};

// Runs options.command with `values` in its environment (pristine, strict as
// configured), replacing this process; returns only on failure.
Outcome<int> ExecChild(const ChamberOptions& o, const std::map<std::string, SecretBytes>& values,
                       std::ostream& out, std::ostream& err) {
  std::map<std::string, std::string> env;
  if (!o.pristine) {
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view pair(*e);
      size_t eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      env[std::string(pair.substr(0, eq))] = std::string(pair.substr(eq + 1));
    }
  }
  if (o.strict) {
    // chamber's --strict: only variables the parent set to the marker value
    // are filled, and each of them must have a value in the services.
    std::vector<std::string> missing;
    for (auto& [name, value] : env) {
      if (value != o.strict_value) continue;
      auto it = values.find(name);
      if (it == values.end()) {
        missing.push_back(name);
      } else {
        value = std::string(it->second.Reveal());
      }
    }
    if (!missing.empty()) {
      std::string list;
      for (const std::string& m : missing) list += (list.empty() ? "" : ", ") + m;
      return Failed(kExitRefused, "--strict: no value in the services for " + list);
    }
  } else {
    for (const auto& [name, v] : values) env[name] = std::string(v.Reveal());
  }
  std::vector<std::string> pairs;
  pairs.reserve(env.size());
  for (auto& [name, value] : env) {
    if (value.find('\0') != std::string::npos) {
      return Failed(kExitRefused, "variable " + name + ": an environment value cannot hold NUL");
    }
    pairs.push_back(name + "=" + value);
    util::SecureClear(value);
  }
  std::vector<char*> envp;
  for (std::string& p : pairs) envp.push_back(p.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (const std::string& a : o.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  out.flush();
  err.flush();
  // Replacing this process keeps stdin/stdout/stderr, the process id (so
  // every signal reaches the child itself) and the exit status, exactly.
  ::execvpe(argv[0], argv.data(), envp.data());
  int saved = errno;
  for (std::string& p : pairs) util::SecureClear(p);
  return Failed(saved == ENOENT ? 127 : 126,
                "cannot run " + o.command[0] + ": " + std::strerror(saved));
}

class Runner {
 public:
  Runner(const ChamberOptions& options, Store& store, std::istream& in, std::ostream& out,
         std::ostream& err)
      : o_(options), store_(store), in_(in), out_(out), err_(err) {}

  std::string Service(std::string s) const {
    while (!s.empty() && s.front() == '/') s.erase(s.begin());
    while (!s.empty() && s.back() == '/') s.pop_back();
    return o_.lowercase ? Lower(s) : s;
  }
  std::string Key(const std::string& k, bool exact = false) const {
    return o_.lowercase && !exact ? Lower(k) : k;
  }

  Outcome<bool> CheckService(const std::string& s) const {
    if (!ValidPart(s, true)) {
      return Failed(kExitUsage, "service " + s +
                                    ": a service is letters, digits, '_', '-', '.' and '/'");
    }
    return true;
  }
  Outcome<bool> CheckKey(const std::string& k) const {
    if (!ValidPart(k, false)) {
      return Failed(kExitUsage, "key " + k + ": a key is letters, digits, '_', '-' and '.'");
    }
    return true;
  }

  // The services' values merged, later services winning, in key order.
  Outcome<std::vector<Entry>> Merged() {
    std::map<std::string, Entry> merged;
    for (const std::string& raw : o_.services) {
      std::string service = Service(raw);
      if (auto ok = CheckService(service); !ok) return std::unexpected(ok.error());
      auto entries = store_.ReadService(service);
      if (!entries) return std::unexpected(entries.error());
      for (Entry& e : *entries) merged[e.key] = std::move(e);
    }
    std::vector<Entry> out;
    for (auto& [k, e] : merged) out.push_back(std::move(e));
    return out;
  }

  // Environment names -> values for env/exec: later services win; two keys of
  // one service that map to the same name are refused rather than one dropped.
  Outcome<std::map<std::string, SecretBytes>> EnvValues() {
    std::map<std::string, SecretBytes> out;
    for (const std::string& raw : o_.services) {
      std::string service = Service(raw);
      if (auto ok = CheckService(service); !ok) return std::unexpected(ok.error());
      auto entries = store_.ReadService(service);
      if (!entries) return std::unexpected(entries.error());
      std::map<std::string, std::string> seen;  // name -> key, in this service
      for (Entry& e : *entries) {
        std::string name = EnvName(e.key);
        if (name.empty()) {
          return Failed(kExitRefused, "service " + service + " key " + e.key +
                                          ": not a valid environment variable name");
        }
        if (auto [it, fresh] = seen.emplace(name, e.key); !fresh) {
          return Failed(kExitRefused, "service " + service + ": keys " + it->second + " and " +
                                          e.key + " both map to " + name);
        }
        out[name] = std::move(e.value);
      }
    }
    return out;
  }

  Outcome<int> Run() {
    switch (o_.verb) {
      case ChamberVerb::kWrite: return Write();
      case ChamberVerb::kRead: return Read();
      case ChamberVerb::kList: return List();
      case ChamberVerb::kListServices: return ListServices();
      case ChamberVerb::kHistory: return History();
      case ChamberVerb::kDelete: return Delete();
      case ChamberVerb::kFind: return Find();
      case ChamberVerb::kEnv: return Env();
      case ChamberVerb::kExec: return Exec();
      case ChamberVerb::kExport: return Export();
      case ChamberVerb::kImport: return Import();
      case ChamberVerb::kTagRead:
      case ChamberVerb::kTagWrite:
      case ChamberVerb::kTagDelete: return Tag();
    }
    return kExitUsage;
  }

 private:
  Outcome<int> Write() {
    std::string service = Service(o_.service), key = Key(o_.key);
    if (auto ok = CheckService(service); !ok) return std::unexpected(ok.error());
    if (auto ok = CheckKey(key); !ok) return std::unexpected(ok.error());
    SecretBytes value;
    if (o_.value == "-") {
      std::string text;
      if (o_.singleline) {
        std::getline(in_, text);
      } else {
        text.assign(std::istreambuf_iterator<char>(in_), std::istreambuf_iterator<char>());
      }
      value = SecretBytes(text);
      util::SecureClear(text);
    } else {
      value = SecretBytes(o_.value);
    }
    auto w = store_.Write(service, key, value);
    if (!w) return std::unexpected(w.error());
    if (!o_.tags.empty()) {
      auto t = WriteTags(service, key, o_.tags);
      if (!t) return std::unexpected(t.error());
    }
    return kExitOk;
  }

  Outcome<int> Read() {
    std::string service = Service(o_.service), key = Key(o_.key);
    if (auto ok = CheckService(service); !ok) return std::unexpected(ok.error());
    if (auto ok = CheckKey(key); !ok) return std::unexpected(ok.error());
    if (o_.quiet || store_.secrets_manager()) {
      auto e = store_.ReadOne(service, key, o_.version);
      if (!e) return std::unexpected(e.error());
      if (o_.quiet) {
        out_ << e->value.Reveal() << '\n';
        return kExitOk;
      }
      return PrintRead(key, e->value, e->version, e->modified, "");
    }
    // The history holds the user and time of every version: one call for all.
    auto events = store_.History(service, key);
    if (!events) return std::unexpected(events.error());
    const HistoryEvent* pick = nullptr;
    for (const HistoryEvent& e : *events) {
      if (o_.version >= 0 ? e.version == o_.version : (!pick || e.version > pick->version)) {
        pick = &e;
      }
    }
    if (pick == nullptr) {
      return Failed(kExitNotFound, "service " + service + " key " + key + ": no version " +
                                       std::to_string(o_.version));
    }
    return PrintRead(key, pick->value, pick->version, pick->date, pick->user);
  }

  int PrintRead(const std::string& key, const SecretBytes& value, int64_t version,
                double modified, const std::string& user) {
    if (o_.output == "json") {
      json j = {{"Key", key},
                {"Value", std::string(value.Reveal())},
                {"Version", version},
                {"LastModified", FormatTime(modified)},
                {"User", user}};
      out_ << j.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
      util::SecureClear(j["Value"].get_ref<std::string&>());
      return kExitOk;
    }
    Row(out_, {"Key", "Value", "Version", "LastModified", "User"});
    Row(out_, {key, std::string(value.Reveal()), std::to_string(version), FormatTime(modified),
               user});
    return kExitOk;
  }

  Outcome<int> List() {
    std::string service = Service(o_.service);
    if (auto ok = CheckService(service); !ok) return std::unexpected(ok.error());
    std::vector<Entry> entries;
    if (store_.secrets_manager()) {
      auto r = store_.ReadService(service);
      if (!r) return std::unexpected(r.error());
      entries = std::move(*r);
    } else {
      auto r = store_.DescribeService(service);
      if (!r) return std::unexpected(r.error());
      entries = std::move(*r);
      if (o_.expand) {
        auto values = store_.ReadService(service);
        if (!values) return std::unexpected(values.error());
        std::map<std::string, SecretBytes> by_key;
        for (Entry& v : *values) by_key[v.key] = std::move(v.value);
        for (Entry& e : entries) e.value = by_key[e.key];
      }
    }
    auto by = o_.sort_by;
    std::stable_sort(entries.begin(), entries.end(), [&](const Entry& a, const Entry& b) {
      if (by == "time") return a.modified < b.modified;
      if (by == "user") return a.user < b.user;
      if (by == "version") return a.version < b.version;
      return a.key < b.key;
    });
    if (o_.output == "json") {
      json arr = json::array();
      for (const Entry& e : entries) {
        json j = {{"Key", e.key}, {"Version", e.version}, {"LastModified", FormatTime(e.modified)},
                  {"User", e.user}};
        if (o_.expand) j["Value"] = std::string(e.value.Reveal());
        arr.push_back(std::move(j));
      }
      out_ << arr.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
      return kExitOk;
    }
    std::vector<std::string> header = {"Key", "Version", "LastModified", "User"};
    if (o_.expand) header.push_back("Value");
    Row(out_, header);
    for (const Entry& e : entries) {
      std::vector<std::string> row = {e.key, std::to_string(e.version), FormatTime(e.modified),
                                      e.user};
      if (o_.expand) row.emplace_back(e.value.Reveal());
      Row(out_, row);
    }
    return kExitOk;
  }

  Outcome<int> ListServices() {
    auto names = store_.AllNames();
    if (!names) return std::unexpected(names.error());
    std::set<std::string> services;
    std::string prefix = Service(o_.prefix);
    for (const std::string& name : *names) {
      std::string service;
      if (store_.secrets_manager()) {
        service = name;
      } else {
        size_t slash = name.rfind('/');
        if (name.empty() || name[0] != '/' || slash == 0 || slash == std::string::npos) continue;
        service = name.substr(1, slash - 1);
      }
      if (service.starts_with(prefix)) services.insert(service);
    }
    if (o_.output == "json") {
      out_ << json(std::vector<std::string>(services.begin(), services.end())).dump(2) << '\n';
      return kExitOk;
    }
    Row(out_, {"Service"});
    for (const std::string& s : services) Row(out_, {s});
    return kExitOk;
  }

  Outcome<int> History() {
    std::string service = Service(o_.service), key = Key(o_.key);
    if (auto ok = CheckService(service); !ok) return std::unexpected(ok.error());
    if (auto ok = CheckKey(key); !ok) return std::unexpected(ok.error());
    auto events = store_.History(service, key);
    if (!events) return std::unexpected(events.error());
    std::sort(events->begin(), events->end(),
              [](const HistoryEvent& a, const HistoryEvent& b) { return a.version < b.version; });
    if (o_.output == "json") {
      json arr = json::array();
      for (size_t i = 0; i < events->size(); ++i) {
        const HistoryEvent& e = (*events)[i];
        arr.push_back({{"Event", i == 0 ? "Created" : "Updated"}, {"Version", e.version},
                       {"Date", FormatTime(e.date)}, {"User", e.user}});
      }
      out_ << arr.dump(2) << '\n';
      return kExitOk;
    }
    Row(out_, {"Event", "Version", "Date", "User"});
    for (size_t i = 0; i < events->size(); ++i) {
      const HistoryEvent& e = (*events)[i];
      Row(out_, {i == 0 ? "Created" : "Updated", std::to_string(e.version), FormatTime(e.date),
                 e.user});
    }
    return kExitOk;
  }

  Outcome<int> Delete() {
    std::string service = Service(o_.service), key = Key(o_.key, o_.exact_key);
    if (auto ok = CheckService(service); !ok) return std::unexpected(ok.error());
    if (auto ok = CheckKey(key); !ok) return std::unexpected(ok.error());
    auto d = store_.Delete(service, key);
    if (!d) return std::unexpected(d.error());
    return kExitOk;
  }

  Outcome<int> Find() {
    auto names = store_.AllNames();
    if (!names) return std::unexpected(names.error());
    std::vector<std::pair<std::string, std::string>> matches;  // service, key
    if (store_.secrets_manager()) {
      for (const std::string& service : *names) {
        auto entries = store_.ReadService(service);
        if (!entries) continue;  // a secret that is not a chamber service
        for (const Entry& e : *entries) {
          if (o_.by_value ? e.value.Equals(SecretBytes(o_.key)) : e.key == o_.key) {
            matches.emplace_back(service, e.key);
          }
        }
      }
    } else if (!o_.by_value) {
      for (const std::string& name : *names) {
        size_t slash = name.rfind('/');
        if (slash == std::string::npos || slash == 0) continue;
        if (name.substr(slash + 1) == o_.key) {
          matches.emplace_back(name.substr(1, slash - 1), o_.key);
        }
      }
    } else {
      // GetParameters in batches of 10 names.
      SecretBytes wanted(o_.key);
      for (size_t i = 0; i < names->size(); i += 10) {
        json batch = json::array();
        for (size_t j = i; j < std::min(names->size(), i + 10); ++j) batch.push_back((*names)[j]);
        auto page = store_.Ssm("GetParameters", {{"Names", batch}, {"WithDecryption", true}},
                               "find");
        if (!page) return std::unexpected(page.error());
        for (json& p : (*page)["Parameters"]) {
          std::string name = Str(p, "Name");
          SecretBytes v = TakeSecret(p, "Value");
          size_t slash = name.rfind('/');
          if (slash == std::string::npos || slash == 0) continue;
          if (v.Equals(wanted)) {
            matches.emplace_back(name.substr(1, slash - 1), name.substr(slash + 1));
          }
        }
      }
    }
    std::sort(matches.begin(), matches.end());
    if (o_.output == "json") {
      json arr = json::array();
      for (const auto& [s, k] : matches) arr.push_back({{"Service", s}, {"Key", k}});
      out_ << arr.dump(2) << '\n';
    } else {
      Row(out_, {"Service", "Key"});
      for (const auto& [s, k] : matches) Row(out_, {s, k});
    }
    return matches.empty() ? kExitNotFound : kExitOk;
  }

  Outcome<int> Env() {
    auto values = EnvValues();
    if (!values) return std::unexpected(values.error());
    if (o_.output == "json") {
      json j = json::object();
      for (const auto& [name, v] : *values) j[name] = std::string(v.Reveal());
      try {
        out_ << j.dump(2, ' ', false, json::error_handler_t::strict) << '\n';
      } catch (const json::exception&) {
        return Failed(kExitRefused, "a value is not valid UTF-8 and cannot be printed as JSON");
      }
      for (auto& [k, v] : j.items()) util::SecureClear(v.get_ref<std::string&>());
      return kExitOk;
    }
    for (const auto& [name, v] : *values) {
      if (v.Reveal().find('\0') != std::string_view::npos) {
        return Failed(kExitRefused, "variable " + name + ": a shell value cannot hold NUL");
      }
    }
    for (const auto& [name, v] : *values) {
      out_ << "export " << name << '=' << ShellQuote(v.Reveal()) << '\n';
    }
    return kExitOk;
  }

  Outcome<int> Exec() {
    if (o_.command.empty()) return Failed(kExitUsage, "exec needs a command after --");
    auto values = EnvValues();
    if (!values) return std::unexpected(values.error());
    return ExecChild(o_, *values, out_, err_);
  }

  Outcome<int> Export() {
    auto format = ParseExportFormat(o_.format);
    if (!format) return Failed(kExitUsage, format.error().message);
    auto entries = Merged();
    if (!entries) return std::unexpected(entries.error());
    Progress progress(err_, "exported", entries->size());
    std::vector<ExportValue> values;
    values.reserve(entries->size());
    for (Entry& e : *entries) {
      values.push_back({e.key, std::move(e.value), e.arn});
      progress.Update(values.size());
    }
    ExportOptions options;
    options.k8s_name = o_.k8s_name;
    if (options.k8s_name.empty() && !o_.services.empty()) {
      options.k8s_name = Service(o_.services.back());
      std::replace(options.k8s_name.begin(), options.k8s_name.end(), '/', '-');
      options.k8s_name = Lower(options.k8s_name);
    }
    options.k8s_namespace = o_.k8s_namespace;
    options.heredoc_random = util::HexEncode(crypto::RandomBytes(16));
    auto rendered = RenderExport(*format, values, options);
    if (!rendered) return Failed(kExitRefused, rendered.error().message);
    std::string target = o_.out_file;
    bool append = false;
    if (*format == ExportFormat::kGithubEnv) {
      append = true;
      if (target.empty()) {
        const char* github_env = std::getenv("GITHUB_ENV");
        if (github_env == nullptr || *github_env == '\0') {
          return Failed(kExitUsage, "github-env: $GITHUB_ENV is not set (or give -o FILE)");
        }
        target = github_env;
      }
      // The masks first, so the runner hides the values before any step sees them.
      out_ << rendered->mask_commands << std::flush;
    }
    if (target.empty() || target == "-") {
      out_ << rendered->body.Reveal() << std::flush;
      return kExitOk;
    }
    int fd = ::open(target.c_str(),
                    O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0600);
    if (fd < 0) return Failed(kExitFailed, "cannot write " + target + ": " + std::strerror(errno));
    // A file rewritten with values is private even if it existed with wider
    // permissions; an appended file ($GITHUB_ENV) belongs to whoever made it.
    if (!append && ::fchmod(fd, 0600) != 0) {
      ::close(fd);
      return Failed(kExitFailed, "cannot make " + target + " private: " + std::strerror(errno));
    }
    std::string_view body = rendered->body.Reveal();
    while (!body.empty()) {
      ssize_t n = ::write(fd, body.data(), body.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(fd);
        return Failed(kExitFailed, "cannot write " + target + ": " + std::strerror(errno));
      }
      body.remove_prefix(static_cast<size_t>(n));
    }
    if (::close(fd) != 0) return Failed(kExitFailed, "cannot write " + target);
    return kExitOk;
  }

  Outcome<int> Import() {
    std::string service = Service(o_.service);
    if (auto ok = CheckService(service); !ok) return std::unexpected(ok.error());
    std::string text;
    if (o_.import_file == "-") {
      text.assign(std::istreambuf_iterator<char>(in_), std::istreambuf_iterator<char>());
    } else {
      std::ifstream file(o_.import_file, std::ios::binary);
      if (!file) return Failed(kExitFailed, "cannot read " + o_.import_file);
      text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    }
    auto parsed = ParseImportDocument(text);
    util::SecureClear(text);
    if (!parsed) return Failed(kExitUsage, o_.import_file + ": " + parsed.error().message);
    // Everything is checked before anything is written.
    std::map<std::string, SecretBytes> values;
    for (ImportValue& v : *parsed) {
      std::string key = Key(v.key);
      if (auto ok = CheckKey(key); !ok) return std::unexpected(ok.error());
      if (!store_.secrets_manager() && v.value.empty()) {
        return Failed(kExitRefused, "service " + service + " key " + key +
                                        ": SSM cannot store an empty value (use --backend "
                                        "secretsmanager)");
      }
      if (!store_.secrets_manager() && v.value.size() > kMaxSsmValue) {
        return Failed(kExitRefused, "service " + service + " key " + key + ": the value has " +
                                        std::to_string(v.value.size()) +
                                        " bytes; SSM holds at most 8192");
      }
      values[key] = std::move(v.value);
    }
    if (store_.secrets_manager()) {
      auto w = store_.WriteMany(service, values);
      if (!w) return std::unexpected(w.error());
      return kExitOk;
    }
    // PutParameter has no batch form: a few connections in parallel.
    std::vector<const std::pair<const std::string, SecretBytes>*> items;
    for (const auto& item : values) items.push_back(&item);
    std::atomic<size_t> next{0}, done{0};
    std::mutex mu;
    std::optional<CommandError> first_error;
    Progress progress(err_, "imported", items.size());
    auto worker = [&] {
      for (size_t i; (i = next.fetch_add(1)) < items.size();) {
        {
          std::lock_guard lock(mu);
          if (first_error) return;
        }
        auto w = store_.Write(service, items[i]->first, items[i]->second);
        std::lock_guard lock(mu);
        if (!w) {
          if (!first_error) first_error = w.error();
          return;
        }
        progress.Update(++done);
      }
    };
    size_t workers = std::min<size_t>(4, std::max<size_t>(1, items.size()));
    std::vector<std::thread> threads;
    for (size_t i = 1; i < workers; ++i) threads.emplace_back(worker);
    worker();
    for (std::thread& t : threads) t.join();
    if (first_error) {
      first_error->message += " (" + std::to_string(done.load()) + " of " +
                              std::to_string(items.size()) + " keys were written)";
      return std::unexpected(*first_error);
    }
    return kExitOk;
  }

  Outcome<bool> WriteTags(const std::string& service, const std::string& key,
                          const std::vector<std::string>& tags) {
    json list = json::array();
    for (const std::string& t : tags) {
      size_t eq = t.find('=');
      if (eq == std::string::npos || eq == 0) {
        return Failed(kExitUsage, "tag " + t + ": tags are KEY=VALUE");
      }
      list.push_back({{"Key", t.substr(0, eq)}, {"Value", t.substr(eq + 1)}});
    }
    auto r = store_.Ssm("AddTagsToResource",
                        {{"ResourceType", "Parameter"},
                         {"ResourceId", store_.Path(service, key)},
                         {"Tags", list}},
                        "service " + service + " key " + key);
    if (!r) return std::unexpected(r.error());
    return true;
  }

  Outcome<int> Tag() {
    if (store_.secrets_manager()) {
      return Failed(kExitUsage, "tag is not available with --backend secretsmanager");
    }
    std::string service = Service(o_.service), key = Key(o_.key);
    if (auto ok = CheckService(service); !ok) return std::unexpected(ok.error());
    if (auto ok = CheckKey(key); !ok) return std::unexpected(ok.error());
    std::string what = "service " + service + " key " + key;
    if (o_.verb == ChamberVerb::kTagWrite) {
      auto t = WriteTags(service, key, o_.tags);
      if (!t) return std::unexpected(t.error());
      return kExitOk;
    }
    if (o_.verb == ChamberVerb::kTagDelete) {
      auto r = store_.Ssm("RemoveTagsFromResource",
                          {{"ResourceType", "Parameter"},
                           {"ResourceId", store_.Path(service, key)},
                           {"TagKeys", o_.tags}},
                          what);
      if (!r) return std::unexpected(r.error());
      return kExitOk;
    }
    auto r = store_.Ssm("ListTagsForResource",
                        {{"ResourceType", "Parameter"}, {"ResourceId", store_.Path(service, key)}},
                        what);
    if (!r) return std::unexpected(r.error());
    json tags = (*r).contains("TagList") ? (*r)["TagList"] : json::array();
    if (o_.output == "json") {
      json obj = json::object();
      for (const json& t : tags) obj[Str(t, "Key")] = Str(t, "Value");
      out_ << obj.dump(2) << '\n';
      return kExitOk;
    }
    Row(out_, {"Key", "Value"});
    for (const json& t : tags) Row(out_, {Str(t, "Key"), Str(t, "Value")});
    return kExitOk;
  }

  const ChamberOptions& o_;
  Store& store_;
  std::istream& in_;
  std::ostream& out_;
  std::ostream& err_;
};

const char* VerbName(ChamberVerb verb) {
  switch (verb) {
    case ChamberVerb::kWrite: return "write";
    case ChamberVerb::kRead: return "read";
    case ChamberVerb::kList: return "list";
    case ChamberVerb::kListServices: return "list-services";
    case ChamberVerb::kHistory: return "history";
    case ChamberVerb::kDelete: return "delete";
    case ChamberVerb::kFind: return "find";
    case ChamberVerb::kEnv: return "env";
    case ChamberVerb::kExec: return "exec";
    case ChamberVerb::kExport: return "export";
    case ChamberVerb::kImport: return "import";
    case ChamberVerb::kTagRead: return "tag read";
    case ChamberVerb::kTagWrite: return "tag write";
    case ChamberVerb::kTagDelete: return "tag delete";
  }
  return "?";
}

}  // namespace

int RunChamber(const ChamberOptions& options, util::Clock& clock, std::istream& in,
               std::ostream& out, std::ostream& err) {
  std::string prefix = std::string("coffer ") + VerbName(options.verb) + ": ";
  if (options.backend != "ssm" && options.backend != "secretsmanager") {
    err << prefix << "--backend is ssm or secretsmanager\n";
    return kExitUsage;
  }
  ChamberOptions resolved = options;
  if (resolved.kms_key_alias.empty()) {
    if (const char* alias = std::getenv("COFFER_KMS_KEY_ALIAS")) resolved.kms_key_alias = alias;
  }
  if (resolved.kms_key_alias.starts_with("alias/")) resolved.kms_key_alias.erase(0, 6);
  auto config = client::ResolveClientConfig(resolved.client, clock);
  if (!config) {
    err << prefix << config.error().message << '\n';
    return kExitUsage;
  }
  Store store(resolved, std::move(*config), clock);
  Runner runner(resolved, store, in, out, err);
  auto result = runner.Run();
  out.flush();
  if (!result) {
    err << prefix << result.error().message << '\n';
    return result.error().exit_code;
  }
  return *result;
}

std::expected<std::map<std::string, SecretBytes>, ChamberFailure> ReadEnvironmentValues(
    const ChamberOptions& options, util::Clock& clock) {
  auto config = client::ResolveClientConfig(options.client, clock);
  if (!config) return std::unexpected(ChamberFailure{kExitUsage, config.error().message});
  Store store(options, std::move(*config), clock);
  std::istringstream in;
  std::ostringstream out;
  Runner runner(options, store, in, out, out);
  auto values = runner.EnvValues();
  if (!values) {
    return std::unexpected(ChamberFailure{values.error().exit_code, values.error().message});
  }
  return std::move(*values);
}

ChamberFailure ExecWithValues(const ChamberOptions& options,
                              const std::map<std::string, SecretBytes>& values,
                              std::ostream& out, std::ostream& err) {
  if (options.command.empty()) return {kExitUsage, "exec needs a command after --"};
  auto r = ExecChild(options, values, out, err);
  if (!r) return {r.error().exit_code, r.error().message};
  return {kExitFailed, "the command did not run"};
}

}  // namespace coffer::cli
