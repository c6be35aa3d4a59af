// The sops tree model: an ordered document of mappings, lists, typed scalars
// and comments, as sops' TreeBranch holds it. Every file format (YAML, JSON,
// dotenv, INI, binary) parses into this model and is written back from it;
// the sops layer (files/sops.h) encrypts and decrypts its leaves.
//
// A mapping keeps its entries in file order; a comment inside a mapping is an
// entry with an empty key whose value has kind kComment; a comment inside a
// list is an item of kind kComment. Values are plain data (copyable); the
// tree is not thread-safe for concurrent mutation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace coffer::files {

enum class NodeKind { kNull, kString, kInt, kFloat, kBool, kTime, kComment, kMap, kList };

struct Entry;

struct Node {
  Node() = default;
  Node(const Node&) = default;
  Node(Node&&) noexcept = default;
  Node& operator=(const Node&) = default;
  Node& operator=(Node&&) noexcept = default;
  // Zeroes `text`: a decrypted tree holds plaintext values there.
  ~Node();

  NodeKind kind = NodeKind::kNull;
  // kString: the value; kComment: the text after '#' (leading space kept);
  // kTime: the RFC 3339 text (Go's MarshalText form).
  std::string text;
  int64_t int_value = 0;
  double float_value = 0;
  bool bool_value = false;
  std::vector<Entry> entries;  // kMap, in order; comments are entries with an empty key
  std::vector<Node> items;     // kList, in order

  bool IsScalar() const {
    return kind != NodeKind::kMap && kind != NodeKind::kList && kind != NodeKind::kComment;
  }
  // The entry under `key` (not a comment), or nullptr.
  const Node* Find(std::string_view key) const;
  Node* Find(std::string_view key);

  static Node String(std::string s);
  static Node Comment(std::string s);
  static Node Int(int64_t v);
  static Node Float(double v);
  static Node Bool(bool v);
  static Node Map();
  static Node List();
};

struct Entry {
  std::string key;  // empty for a comment entry
  Node value;
};

// A file: one top-level mapping per document (YAML streams have several).
struct Document {
  std::vector<Node> branches;
};

// Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest decimal that
// round-trips, never an exponent (1234568000, 25.4). Used for sops' plaintext.
std::string FormatFloatFixed(double v);
// Go's strconv.FormatFloat(v, 'g', -1, 64) (yaml.v3's float output: 1.234568e+09).
std::string FormatFloatG(double v);
// Go's encoding/json float output (exponent only below 1e-6 or from 1e21 on).
std::string FormatFloatJson(double v);

// Parses a whole decimal floating-point text (strtod in the C locale: the
// floating std::from_chars is missing from libc++). False on anything else.
bool ParseDouble(std::string_view text, double* out);

// The bytes sops encrypts and MACs for a scalar: strings as they are, ints in
// decimal, floats FormatFloatFixed, bools "True"/"False", times their text,
// comments their text. REQUIRES: node.IsScalar() or a comment.
std::string ScalarPlaintext(const Node& node);
// sops' type name: str, int, float, bool, time, comment.
std::string_view TypeName(NodeKind kind);

// Parses the plaintext of an ENC[...] value of `type` back into a node.
// kInvalidArgument (kMalformedInput) on an unknown type or a bad number.
Result<Node> ScalarFromPlaintext(std::string_view type, std::string plaintext);

// A scalar as text for formats without types (dotenv, INI, exec-env): strings
// as they are, numbers as their YAML form, bools "true"/"false".
std::string ScalarToString(const Node& node);

}  // namespace coffer::files
