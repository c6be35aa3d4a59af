#include "files/sops.h"

#include <algorithm>
#include <charconv>
#include <regex>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "util/encoding.h"

namespace coffer::files {
namespace {

constexpr std::string_view kEncPrefix = "ENC[AES256_GCM,";
// std::regex matches recursively: a long subject overflows the stack (a 20,000-byte
// key against "^(a|b)*$" crashes). Keys, comments and patterns matched by a rule
// are bounded; longer ones are refused.
constexpr size_t kMaxRegexSubject = 1024;
constexpr size_t kSopsIvSize = 32;
constexpr std::string_view kMapSep = "__map_";
constexpr std::string_view kListSep = "__list_";

Error NotSops() {
  return Error{ErrorCode::kInvalidArgument, Reason::kValidation,
               "sops metadata not found: the file is not encrypted with sops"};
}

Error BadMetadata(std::string what) {
  return Error{ErrorCode::kInvalidArgument, Reason::kMalformedInput,
               "malformed sops metadata: " + std::move(what)};
}

Error Tampered(std::string what) {
  return Error{ErrorCode::kDataLoss, Reason::kCiphertextTampered, std::move(what)};
}

std::string PathString(const std::vector<std::string>& path) {
  std::string s;
  for (const std::string& p : path) s += p + ":";
  return s.empty() ? ":" : s;
}

// The AAD of a value: path components joined by ':' plus ':' ("" for none gives ":").
std::string Aad(const std::vector<std::string>& path) {
  std::string s;
  for (const std::string& p : path) {
    s += p;
    s += ':';
  }
  if (s.empty()) s = ":";
  return s;
}

std::string AsString(const Node& n) { return ScalarToString(n); }

// ---- selection rules ----

class Selector {
 public:
  explicit Selector(const SelectionRule& rule) : rule_(rule) {
    if (rule_.kind.empty()) rule_ = {"unencrypted_suffix", "_unencrypted"};
    if (rule_.kind.find("regex") != std::string::npos) {
      std::string pattern = rule_.value;
      auto flags = std::regex::ECMAScript;
      if (pattern.rfind("(?i)", 0) == 0) {
        pattern = pattern.substr(4);
        flags |= std::regex::icase;
      }
      try {
        regex_.emplace(pattern, flags);
      } catch (const std::regex_error&) {
        regex_.reset();
      }
    }
  }

  bool Matches(const std::string& s) const {
    return regex_.has_value() && std::regex_search(s, *regex_);
  }

  // sops' Tree.shouldBeEncrypted.
  bool ShouldEncrypt(const std::vector<std::string>& path,
                     const std::vector<std::vector<std::string>>& comments) const {
    const std::string& k = rule_.kind;
    auto any_component = [&](auto pred) { return std::any_of(path.begin(), path.end(), pred); };
    auto any_comment = [&]() {
      for (const auto& level : comments) {
        for (const std::string& c : level) {
          if (Matches(c)) return true;
        }
      }
      return false;
    };
    if (k == "unencrypted_suffix") {
      return !any_component([&](const std::string& p) { return EndsWith(p, rule_.value); });
    }
    if (k == "encrypted_suffix") {
      return any_component([&](const std::string& p) { return EndsWith(p, rule_.value); });
    }
    if (k == "unencrypted_regex") {
      return !any_component([&](const std::string& p) { return Matches(p); });
    }
    if (k == "encrypted_regex") {
      return any_component([&](const std::string& p) { return Matches(p); });
    }
    if (k == "unencrypted_comment_regex") return !any_comment();
    if (k == "encrypted_comment_regex") return any_comment();
    return true;
  }

  bool IsCommentRule() const { return rule_.kind.find("comment_regex") != std::string::npos; }
  bool UsesRegex() const { return rule_.kind.find("regex") != std::string::npos; }

  // Refuses subjects too long to match safely (see kMaxRegexSubject).
  Status CheckSubjects(const std::vector<std::string>& path, std::string_view comment = {}) const {
    if (!UsesRegex()) return Ok();
    bool too_long = comment.size() > kMaxRegexSubject;
    for (const std::string& p : path) too_long = too_long || p.size() > kMaxRegexSubject;
    if (too_long) {
      return Fail(ErrorCode::kInvalidArgument,
                  "a key or comment longer than " + std::to_string(kMaxRegexSubject) +
                      " bytes cannot be matched against the " + rule_.kind,
                  Reason::kValidation);
    }
    return Ok();
  }

 private:
  static bool EndsWith(const std::string& s, const std::string& suffix) {
    return !suffix.empty() && s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  }

  SelectionRule rule_;
  std::optional<std::regex> regex_;
};

// ---- tree walk (shared by encrypt and decrypt) ----

class Walker {
 public:
  Walker(const Selector& selector, bool mac_only_encrypted)
      : selector_(selector), mac_only_encrypted_(mac_only_encrypted) {
    if (mac_only_encrypted_) {
      crypto::Digest256 d = crypto::Sha256("sops");
      mac_input_.append(reinterpret_cast<const char*>(d.data()), d.size());
    }
  }
  ~Walker() { util::SecureClear(mac_input_); }

  template <class LeafFn, class CommentFn>
  Status Walk(Node& node, LeafFn&& leaf, CommentFn&& comment) {
    std::vector<std::string> path;
    std::vector<std::vector<std::string>> comments;
    return WalkNode(node, path, comments, leaf, comment);
  }

  void AddToMac(std::string_view bytes) { mac_input_.append(bytes); }

  // Upper-case hex SHA-512 of what was added.
  std::string Mac() const {
    auto d = crypto::Sha512(mac_input_);
    std::string hex =
        util::HexEncode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
    for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return hex;
  }

  bool mac_only_encrypted() const { return mac_only_encrypted_; }
  const Selector& selector() const { return selector_; }

 private:
  template <class LeafFn, class CommentFn>
  Status WalkNode(Node& node, std::vector<std::string>& path,
                  std::vector<std::vector<std::string>>& comments, LeafFn& leaf,
                  CommentFn& comment) {
    if (node.kind == NodeKind::kMap) {
      comments.emplace_back();
      for (Entry& e : node.entries) {
        if (e.value.kind == NodeKind::kComment) {
          COFFER_RETURN_IF_ERROR(comment(e.value, path, comments));
          continue;
        }
        path.push_back(e.key);
        COFFER_RETURN_IF_ERROR(WalkNode(e.value, path, comments, leaf, comment));
        path.pop_back();
        comments.back().clear();
      }
      comments.pop_back();
      return Ok();
    }
    if (node.kind == NodeKind::kList) {
      comments.emplace_back();
      for (Node& item : node.items) {
        if (item.kind == NodeKind::kComment) {
          COFFER_RETURN_IF_ERROR(comment(item, path, comments));
          continue;
        }
        COFFER_RETURN_IF_ERROR(WalkNode(item, path, comments, leaf, comment));
        comments.back().clear();
      }
      comments.pop_back();
      return Ok();
    }
    if (node.kind == NodeKind::kNull) return Ok();
    return leaf(node, path, comments);
  }

  const Selector& selector_;
  bool mac_only_encrypted_;
  std::string mac_input_;
};

// ---- metadata <-> tree ----

std::vector<const Node*> ListItems(const Node* n) {
  std::vector<const Node*> out;
  if (n == nullptr) return out;
  if (n->kind == NodeKind::kList) {
    for (const Node& item : n->items) {
      if (item.kind != NodeKind::kComment) out.push_back(&item);
    }
  }
  return out;
}

std::string Field(const Node& map, std::string_view key) {
  const Node* v = map.Find(key);
  if (v == nullptr || v->kind == NodeKind::kNull) return "";
  return AsString(*v);
}

constexpr std::string_view kOtherKeyTypes[] = {"gcp_kms", "azure_kv", "hc_vault", "hckms"};

Result<KeyGroup> GroupFromNode(const Node& g) {
  KeyGroup group;
  for (const Node* item : ListItems(g.Find("age"))) {
    if (item->kind != NodeKind::kMap) return Fail(BadMetadata("an age entry is not a mapping"));
    group.age.push_back({Field(*item, "recipient"), Field(*item, "enc")});
  }
  for (const Node* item : ListItems(g.Find("pgp"))) {
    if (item->kind != NodeKind::kMap) return Fail(BadMetadata("a pgp entry is not a mapping"));
    group.pgp.push_back({Field(*item, "fp"), Field(*item, "created_at"), Field(*item, "enc")});
  }
  for (const Node* item : ListItems(g.Find("kms"))) {
    if (item->kind != NodeKind::kMap) return Fail(BadMetadata("a kms entry is not a mapping"));
    KmsMasterKey k;
    k.arn = Field(*item, "arn");
    k.role = Field(*item, "role");
    k.created_at = Field(*item, "created_at");
    k.enc = Field(*item, "enc");
    k.aws_profile = Field(*item, "aws_profile");
    if (const Node* ctx = item->Find("context"); ctx != nullptr && ctx->kind == NodeKind::kMap) {
      for (const Entry& e : ctx->entries) {
        if (e.value.kind != NodeKind::kComment) k.context[e.key] = AsString(e.value);
      }
    }
    group.kms.push_back(std::move(k));
  }
  for (std::string_view other : kOtherKeyTypes) {
    const Node* v = g.Find(other);
    if (v != nullptr && v->kind == NodeKind::kList && !v->items.empty()) {
      group.other.push_back({std::string(other), *v});
    }
  }
  return group;
}

Result<Metadata> MetadataFromNode(const Node& sops) {
  if (sops.kind != NodeKind::kMap) return Fail(BadMetadata("the sops block is not a mapping"));
  Metadata md;
  md.lastmodified = Field(sops, "lastmodified");
  md.mac = Field(sops, "mac");
  md.version = Field(sops, "version");
  static constexpr std::string_view kRules[] = {
      "unencrypted_suffix", "encrypted_suffix",          "unencrypted_regex",
      "encrypted_regex",    "unencrypted_comment_regex", "encrypted_comment_regex"};
  for (std::string_view r : kRules) {
    std::string v = Field(sops, r);
    if (v.empty()) continue;
    if (!md.rule.kind.empty()) {
      return Fail(BadMetadata("more than one of the encrypted/unencrypted suffix/regex options"));
    }
    md.rule = {std::string(r), v};
  }
  if (const Node* v = sops.Find("mac_only_encrypted"); v != nullptr) {
    std::string s = AsString(*v);
    md.mac_only_encrypted = s == "true" || s == "True";
  }
  if (const Node* v = sops.Find("shamir_threshold"); v != nullptr && v->kind != NodeKind::kNull) {
    std::string s = AsString(*v);
    int t = 0;
    auto res = std::from_chars(s.data(), s.data() + s.size(), t);
    if (res.ec != std::errc() || res.ptr != s.data() + s.size() || t < 0 || t > 255) {
      return Fail(BadMetadata("shamir_threshold is not a small integer"));
    }
    md.shamir_threshold = t;
  }
  if (md.lastmodified.empty()) return Fail(BadMetadata("lastmodified is missing"));
  COFFER_ASSIGN_OR_RETURN(KeyGroup flat, GroupFromNode(sops));
  if (!flat.empty()) {
    md.key_groups.push_back(std::move(flat));
  } else {
    for (const Node* g : ListItems(sops.Find("key_groups"))) {
      if (g->kind != NodeKind::kMap) return Fail(BadMetadata("a key group is not a mapping"));
      COFFER_ASSIGN_OR_RETURN(KeyGroup group, GroupFromNode(*g));
      md.key_groups.push_back(std::move(group));
    }
  }
  if (md.key_groups.empty()) return Fail(BadMetadata("no keys found in file"));
  return md;
}

void SortEntries(Node& map) {
  std::stable_sort(map.entries.begin(), map.entries.end(),
                   [](const Entry& a, const Entry& b) { return a.key < b.key; });
}

Node GroupToNode(const KeyGroup& g, Node base) {
  if (!g.age.empty()) {
    Node list = Node::List();
    for (const AgeMasterKey& k : g.age) {
      Node m = Node::Map();
      m.entries.push_back({"enc", Node::String(k.enc)});
      m.entries.push_back({"recipient", Node::String(k.recipient)});
      list.items.push_back(std::move(m));
    }
    base.entries.push_back({"age", std::move(list)});
  }
  if (!g.pgp.empty()) {
    Node list = Node::List();
    for (const PgpMasterKey& k : g.pgp) {
      Node m = Node::Map();
      m.entries.push_back({"created_at", Node::String(k.created_at)});
      m.entries.push_back({"enc", Node::String(k.enc)});
      m.entries.push_back({"fp", Node::String(k.fp)});
      list.items.push_back(std::move(m));
    }
    base.entries.push_back({"pgp", std::move(list)});
  }
  if (!g.kms.empty()) {
    Node list = Node::List();
    for (const KmsMasterKey& k : g.kms) {
      Node m = Node::Map();
      m.entries.push_back({"arn", Node::String(k.arn)});
      m.entries.push_back({"aws_profile", Node::String(k.aws_profile)});
      if (!k.context.empty()) {
        Node ctx = Node::Map();
        for (const auto& [key, value] : k.context)
          ctx.entries.push_back({key, Node::String(value)});
        m.entries.push_back({"context", std::move(ctx)});
      }
      m.entries.push_back({"created_at", Node::String(k.created_at)});
      m.entries.push_back({"enc", Node::String(k.enc)});
      if (!k.role.empty()) m.entries.push_back({"role", Node::String(k.role)});
      list.items.push_back(std::move(m));
    }
    base.entries.push_back({"kms", std::move(list)});
  }
  for (const Entry& e : g.other) base.entries.push_back(e);
  SortEntries(base);
  return base;
}

Node MetadataToNode(const Metadata& md) {
  Node n = Node::Map();
  if (md.key_groups.size() == 1) {
    n = GroupToNode(md.key_groups[0], Node::Map());
  } else {
    Node groups = Node::List();
    for (const KeyGroup& g : md.key_groups) groups.items.push_back(GroupToNode(g, Node::Map()));
    n.entries.push_back({"key_groups", std::move(groups)});
    if (md.shamir_threshold > 0) {
      n.entries.push_back({"shamir_threshold", Node::Int(md.shamir_threshold)});
    }
  }
  n.entries.push_back({"lastmodified", Node::String(md.lastmodified)});
  n.entries.push_back({"mac", Node::String(md.mac)});
  if (md.mac_only_encrypted) n.entries.push_back({"mac_only_encrypted", Node::Bool(true)});
  if (!md.rule.kind.empty()) n.entries.push_back({md.rule.kind, Node::String(md.rule.value)});
  n.entries.push_back({"version", Node::String(md.version)});
  SortEntries(n);
  return n;
}

// sops' flatten: nested maps joined with "__map_", list items with "__list_N".
void Flatten(const Node& n, const std::string& prefix, std::vector<Entry>* out) {
  for (const Entry& e : n.entries) {
    if (e.value.kind == NodeKind::kComment) continue;
    std::string key = prefix + e.key;
    if (e.value.kind == NodeKind::kMap) {
      Flatten(e.value, key + std::string(kMapSep), out);
    } else if (e.value.kind == NodeKind::kList) {
      for (size_t i = 0; i < e.value.items.size(); ++i) {
        std::string item_key = key + std::string(kListSep) + std::to_string(i);
        const Node& item = e.value.items[i];
        if (item.kind == NodeKind::kMap) {
          Flatten(item, item_key + std::string(kMapSep), out);
        } else {
          out->push_back({item_key, Node::String(AsString(item))});
        }
      }
    } else {
      out->push_back({key, Node::String(AsString(e.value))});
    }
  }
}

// Inserts `value` at the flattened `key` into `root` (a mapping).
Status Unflatten(Node& root, std::string_view key, Node value, int depth = 0) {
  if (depth > 32) return Fail(BadMetadata("flattened key nested too deep"));
  size_t map_pos = key.find(kMapSep);
  size_t list_pos = key.find(kListSep);
  size_t pos = std::min(map_pos, list_pos);
  std::string head(key.substr(0, pos));
  if (pos == std::string_view::npos) {
    if (root.Find(head) == nullptr) root.entries.push_back({head, std::move(value)});
    return Ok();
  }
  Node* child = root.Find(head);
  if (pos == map_pos) {
    if (child == nullptr) {
      root.entries.push_back({head, Node::Map()});
      child = &root.entries.back().value;
    }
    if (child->kind != NodeKind::kMap) return Fail(BadMetadata("inconsistent flattened keys"));
    return Unflatten(*child, key.substr(pos + kMapSep.size()), std::move(value), depth + 1);
  }
  if (child == nullptr) {
    root.entries.push_back({head, Node::List()});
    child = &root.entries.back().value;
  }
  if (child->kind != NodeKind::kList) return Fail(BadMetadata("inconsistent flattened keys"));
  std::string_view rest = key.substr(pos + kListSep.size());
  size_t digits = 0;
  while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
  size_t index = 0;
  auto res = std::from_chars(rest.data(), rest.data() + digits, index);
  if (digits == 0 || res.ec != std::errc() || index > 1000) {
    return Fail(BadMetadata("bad list index in a flattened key"));
  }
  while (child->items.size() <= index) child->items.push_back(Node{});
  Node& item = child->items[index];
  rest = rest.substr(digits);
  if (rest.empty()) {
    item = std::move(value);
    return Ok();
  }
  if (rest.substr(0, kMapSep.size()) != kMapSep) return Fail(BadMetadata("bad flattened key"));
  if (item.kind == NodeKind::kNull) item = Node::Map();
  if (item.kind != NodeKind::kMap) return Fail(BadMetadata("inconsistent flattened keys"));
  return Unflatten(item, rest.substr(kMapSep.size()), std::move(value), depth + 1);
}

std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 'n') {
      out += '\n';
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string EscapeNewlines(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Go's time.Format(RFC3339) of a parsed RFC 3339 time: fractional seconds dropped.
std::string MacAad(std::string_view lastmodified) {
  std::string s(lastmodified);
  size_t dot = s.find('.', 19);
  if (dot == 19) {
    size_t end = dot + 1;
    while (end < s.size() && std::isdigit(static_cast<unsigned char>(s[end]))) ++end;
    s.erase(dot, end - dot);
  }
  if (s.size() > 19 && (s.substr(19) == "+00:00" || s.substr(19) == "z")) s = s.substr(0, 19) + "Z";
  return s;
}

Result<std::string> EncryptValue(const SecretBytes& key, std::string_view plaintext,
                                 std::string_view aad, std::string_view type, std::string iv) {
  if (iv.empty()) iv = crypto::RandomBytes(kSopsIvSize);
  COFFER_ASSIGN_OR_RETURN(std::string sealed, crypto::AesGcmSeal(key, iv, aad, plaintext));
  EncValue v;
  v.data = sealed.substr(0, sealed.size() - crypto::kAeadTagSize);
  v.tag = sealed.substr(sealed.size() - crypto::kAeadTagSize);
  v.iv = std::move(iv);
  v.type = std::string(type);
  return FormatEncValue(v);
}

Result<SecretBytes> DecryptValue(const SecretBytes& key, const EncValue& v, std::string_view aad) {
  return crypto::AesGcmOpen(key, v.iv, aad, v.data + v.tag);
}

std::string StashKey(std::string_view aad, std::string_view plaintext) {
  std::string material;
  material.reserve(aad.size() + plaintext.size() + 1);
  material.append(aad);
  material.push_back('\0');
  material.append(plaintext);
  auto d = crypto::Sha512(material);
  util::SecureClear(material);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

}  // namespace

bool LooksEncrypted(std::string_view text) {
  return text.substr(0, kEncPrefix.size()) == kEncPrefix;
}

Result<EncValue> ParseEncValue(std::string_view text) {
  auto bad = [] {
    return Fail(ErrorCode::kInvalidArgument, "a value does not match sops' ENC[...] format",
                Reason::kCiphertextMalformed);
  };
  if (!LooksEncrypted(text) || text.back() != ']') return bad();
  std::string_view body = text.substr(kEncPrefix.size(), text.size() - kEncPrefix.size() - 1);
  EncValue v;
  std::string fields[4];
  static constexpr std::string_view kNames[] = {"data:", "iv:", "tag:", "type:"};
  for (int i = 0; i < 4; ++i) {
    if (body.substr(0, kNames[i].size()) != kNames[i]) return bad();
    body.remove_prefix(kNames[i].size());
    size_t comma = i < 3 ? body.find(',') : body.size();
    if (comma == std::string_view::npos) return bad();
    fields[i] = std::string(body.substr(0, comma));
    body.remove_prefix(i < 3 ? comma + 1 : comma);
  }
  auto data = util::Base64Decode(fields[0]);
  auto iv = util::Base64Decode(fields[1]);
  auto tag = util::Base64Decode(fields[2]);
  if (!data || !iv || !tag || iv->empty() || tag->size() != crypto::kAeadTagSize ||
      fields[3].empty()) {
    return bad();
  }
  v.data = std::move(*data);
  v.iv = std::move(*iv);
  v.tag = std::move(*tag);
  v.type = fields[3];
  return v;
}

std::string FormatEncValue(const EncValue& v) {
  return std::string(kEncPrefix) + "data:" + util::Base64Encode(v.data) +
         ",iv:" + util::Base64Encode(v.iv) + ",tag:" + util::Base64Encode(v.tag) +
         ",type:" + v.type + "]";
}

void IvStash::Remember(std::string_view aad, std::string_view plaintext, std::string iv) {
  ivs_[StashKey(aad, plaintext)] = std::move(iv);
}

std::string IvStash::Find(std::string_view aad, std::string_view plaintext) const {
  auto it = ivs_.find(StashKey(aad, plaintext));
  return it == ivs_.end() ? "" : it->second;
}

IvStash::~IvStash() = default;

Status ValidateRule(const SelectionRule& rule) {
  if (rule.kind.find("regex") != std::string::npos) {
    if (rule.value.size() > kMaxRegexSubject) {
      return Fail(ErrorCode::kInvalidArgument, "the " + rule.kind + " is too long",
                  Reason::kValidation);
    }
    std::string pattern = rule.value;
    if (pattern.rfind("(?i)", 0) == 0) pattern = pattern.substr(4);
    try {
      std::regex re(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error&) {
      return Fail(ErrorCode::kInvalidArgument, "the " + rule.kind + " does not compile",
                  Reason::kValidation);
    }
  }
  return Ok();
}

bool HasSopsMetadata(Format format, const Document& doc) {
  if (doc.branches.empty()) return false;
  const Node& root = doc.branches[0];
  switch (format) {
    case Format::kDotenv:
      for (const Entry& e : root.entries) {
        if (e.key.rfind("sops_", 0) == 0) return true;
      }
      return false;
    default:
      return root.Find("sops") != nullptr;
  }
}

Result<SopsFile> SplitSopsFile(Format format, Document doc) {
  if (doc.branches.empty()) return Fail(NotSops());
  SopsFile file;
  Node sops;
  if (format == Format::kDotenv) {
    sops = Node::Map();
    Node& root = doc.branches[0];
    std::vector<Entry> kept;
    bool found = false;
    for (Entry& e : root.entries) {
      if (e.value.kind != NodeKind::kComment && e.key.rfind("sops_", 0) == 0) {
        found = true;
        COFFER_RETURN_IF_ERROR(Unflatten(sops, std::string_view(e.key).substr(5), e.value));
      } else {
        kept.push_back(std::move(e));
      }
    }
    if (!found) return Fail(NotSops());
    root.entries = std::move(kept);
  } else if (format == Format::kIni) {
    Node& root = doc.branches[0];
    Node* section = root.Find("sops");
    if (section == nullptr || section->kind != NodeKind::kMap) return Fail(NotSops());
    sops = Node::Map();
    for (const Entry& e : section->entries) {
      if (e.value.kind == NodeKind::kComment) continue;
      COFFER_RETURN_IF_ERROR(Unflatten(sops, e.key, Node::String(Unescape(e.value.text))));
    }
    std::erase_if(root.entries, [](const Entry& e) {
      return e.key == "sops" && e.value.kind != NodeKind::kComment;
    });
  } else {
    const Node* found = doc.branches[0].Find("sops");
    if (found == nullptr) return Fail(NotSops());
    sops = *found;
    for (Node& b : doc.branches) {
      std::erase_if(b.entries, [](const Entry& e) {
        return e.key == "sops" && e.value.kind != NodeKind::kComment;
      });
    }
  }
  COFFER_ASSIGN_OR_RETURN(file.metadata, MetadataFromNode(sops));
  file.doc = std::move(doc);
  return file;
}

Result<std::string> EmitSopsFile(Format format, const SopsFile& file) {
  Node md = MetadataToNode(file.metadata);
  Document doc = file.doc;
  if (doc.branches.empty()) doc.branches.push_back(Node::Map());
  switch (format) {
    case Format::kYaml:
      for (Node& b : doc.branches) b.entries.push_back({"sops", md});
      return EmitYaml(doc);
    case Format::kJson:
    case Format::kBinary:
      doc.branches[0].entries.push_back({"sops", md});
      return EmitJson(doc.branches[0]);
    case Format::kDotenv: {
      std::vector<Entry> flat;
      Flatten(md, "sops_", &flat);
      std::sort(flat.begin(), flat.end(),
                [](const Entry& a, const Entry& b) { return a.key < b.key; });
      for (Entry& e : flat) doc.branches[0].entries.push_back(std::move(e));
      return EmitDotenv(doc.branches[0]);
    }
    case Format::kIni: {
      std::vector<Entry> flat;
      Flatten(md, "", &flat);
      std::sort(flat.begin(), flat.end(),
                [](const Entry& a, const Entry& b) { return a.key < b.key; });
      Node section = Node::Map();
      for (Entry& e : flat)
        section.entries.push_back({e.key, Node::String(EscapeNewlines(e.value.text))});
      doc.branches[0].entries.push_back({"sops", std::move(section)});
      return EmitIni(doc.branches[0]);
    }
  }
  return Fail(ErrorCode::kInternal, "unknown format");
}

Status DecryptSopsFile(SopsFile& file, const SecretBytes& data_key, const DecryptOptions& options,
                       IvStash* stash) {
  // Fail closed: a rule that does not compile would otherwise select nothing.
  COFFER_RETURN_IF_ERROR(ValidateRule(file.metadata.rule));
  Selector selector(file.metadata.rule);
  Walker walker(selector, file.metadata.mac_only_encrypted);
  auto leaf = [&](Node& node, const std::vector<std::string>& path,
                  const std::vector<std::vector<std::string>>& comments) -> Status {
    COFFER_RETURN_IF_ERROR(selector.CheckSubjects(path));
    bool encrypted = selector.ShouldEncrypt(path, comments);
    if (encrypted) {
      if (node.kind != NodeKind::kString) {
        return Fail(ErrorCode::kInvalidArgument,
                    "the value at " + PathString(path) + " should be encrypted but is not",
                    Reason::kMalformedInput);
      }
      if (!node.text.empty()) {
        if (!LooksEncrypted(node.text)) {
          return Fail(ErrorCode::kInvalidArgument,
                      "the value at " + PathString(path) + " should be encrypted but is not",
                      Reason::kMalformedInput);
        }
        COFFER_ASSIGN_OR_RETURN(EncValue v, ParseEncValue(node.text));
        std::string aad = Aad(path);
        Result<SecretBytes> plain = DecryptValue(data_key, v, aad);
        if (!plain) {
          return Fail(Tampered("the value at " + PathString(path) +
                               " does not authenticate (tampered, moved, or another data key)"));
        }
        COFFER_ASSIGN_OR_RETURN(node, ScalarFromPlaintext(v.type, std::string(plain->Reveal())));
        if (stash != nullptr) stash->Remember(aad, plain->Reveal(), v.iv);
      }
    }
    if (!walker.mac_only_encrypted() || encrypted) {
      std::string bytes = ScalarPlaintext(node);
      walker.AddToMac(bytes);
      util::SecureClear(bytes);
    }
    return Ok();
  };
  auto comment = [&](Node& node, const std::vector<std::string>& path,
                     std::vector<std::vector<std::string>>& comments) -> Status {
    if (LooksEncrypted(node.text)) {
      Result<EncValue> v = ParseEncValue(node.text);
      if (v.has_value()) {
        std::string aad = Aad(path);
        Result<SecretBytes> plain = DecryptValue(data_key, *v, aad);
        // As sops: a comment that does not decrypt stays as it is.
        if (plain.has_value()) {
          node.text = std::string(plain->Reveal());
          if (stash != nullptr) stash->Remember(aad, plain->Reveal(), v->iv);
        }
      }
    }
    COFFER_RETURN_IF_ERROR(selector.CheckSubjects(path, node.text));
    comments.back().push_back(node.text);
    return Ok();
  };
  for (Node& branch : file.doc.branches) {
    COFFER_RETURN_IF_ERROR(walker.Walk(branch, leaf, comment));
  }
  std::string computed = walker.Mac();
  if (file.metadata.mac.empty()) {
    if (options.ignore_mac) return Ok();
    return Fail(ErrorCode::kDataLoss, "the file has no MAC (use --ignore-mac to decrypt anyway)",
                Reason::kCiphertextMalformed);
  }
  if (options.ignore_mac) return Ok();
  Result<EncValue> mac = ParseEncValue(file.metadata.mac);
  if (!mac) return Fail(Tampered("MAC mismatch: the stored MAC is malformed"));
  Result<SecretBytes> stored = DecryptValue(data_key, *mac, MacAad(file.metadata.lastmodified));
  if (!stored) {
    return Fail(Tampered(
        "MAC mismatch: the stored MAC does not authenticate (lastmodified or mac was changed)"));
  }
  if (!crypto::ConstantTimeEquals(stored->Reveal(), computed)) {
    return Fail(Tampered("MAC mismatch: the values do not match the file's MAC (tampered)"));
  }
  return Ok();
}

Status EncryptSopsFile(SopsFile& file, const SecretBytes& data_key, std::string_view now_rfc3339,
                       const IvStash* stash) {
  // As sops: without a rule the default suffix is written into the metadata.
  if (file.metadata.rule.kind.empty()) file.metadata.rule = {"unencrypted_suffix", "_unencrypted"};
  COFFER_RETURN_IF_ERROR(ValidateRule(file.metadata.rule));
  Selector selector(file.metadata.rule);
  Walker walker(selector, file.metadata.mac_only_encrypted);
  auto leaf = [&](Node& node, const std::vector<std::string>& path,
                  const std::vector<std::vector<std::string>>& comments) -> Status {
    COFFER_RETURN_IF_ERROR(selector.CheckSubjects(path));
    bool encrypted = selector.ShouldEncrypt(path, comments);
    std::string bytes = ScalarPlaintext(node);
    if (!walker.mac_only_encrypted() || encrypted) walker.AddToMac(bytes);
    if (encrypted && !(node.kind == NodeKind::kString && node.text.empty())) {
      std::string aad = Aad(path);
      std::string iv = stash != nullptr ? stash->Find(aad, bytes) : "";
      COFFER_ASSIGN_OR_RETURN(std::string enc,
                              EncryptValue(data_key, bytes, aad, TypeName(node.kind), iv));
      util::SecureClear(node.text);
      node = Node::String(std::move(enc));
    }
    util::SecureClear(bytes);
    return Ok();
  };
  auto comment = [&](Node& node, const std::vector<std::string>& path,
                     std::vector<std::vector<std::string>>& comments) -> Status {
    COFFER_RETURN_IF_ERROR(selector.CheckSubjects(path, node.text));
    bool encrypted = selector.ShouldEncrypt(path, comments);
    if (selector.IsCommentRule() && selector.Matches(node.text)) encrypted = false;
    comments.back().push_back(node.text);
    if (encrypted && !node.text.empty() && !LooksEncrypted(node.text)) {
      std::string aad = Aad(path);
      std::string iv = stash != nullptr ? stash->Find(aad, node.text) : "";
      COFFER_ASSIGN_OR_RETURN(node.text, EncryptValue(data_key, node.text, aad, "comment", iv));
    }
    return Ok();
  };
  for (Node& branch : file.doc.branches) {
    for (const Entry& e : branch.entries) {
      if (e.key == "sops" && e.value.kind != NodeKind::kComment) {
        return Fail(ErrorCode::kInvalidArgument,
                    "the key \"sops\" is reserved for the metadata block", Reason::kValidation);
      }
    }
    COFFER_RETURN_IF_ERROR(walker.Walk(branch, leaf, comment));
  }
  file.metadata.lastmodified = std::string(now_rfc3339);
  file.metadata.version = std::string(kSopsVersion);
  std::string mac = walker.Mac();
  COFFER_ASSIGN_OR_RETURN(
      file.metadata.mac,
      EncryptValue(data_key, mac, MacAad(file.metadata.lastmodified), "str", ""));
  return Ok();
}

}  // namespace coffer::files
