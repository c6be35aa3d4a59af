// The file formats sops reads and writes, to and from the tree model
// (files/tree.h): YAML (block style, comments and order kept, multi-document),
// JSON (order kept), dotenv, INI and binary. Parsers never throw and return
// kInvalidArgument (kMalformedInput) with a line number on bad input; error
// messages name positions and keys, never values. Emitters write what sops
// writes (YAML indent 4, JSON indent one tab). Thread-safe (pure functions).
#pragma once

#include <string>
#include <string_view>

#include "files/tree.h"
#include "util/result.h"

namespace coffer::files {

enum class Format { kYaml, kJson, kDotenv, kIni, kBinary };

// By extension as sops does: .yaml/.yml, .json, .env, .ini; anything else binary.
Format FormatFromPath(std::string_view path);
// "yaml", "json", "dotenv", "ini", "binary"; kInvalidArgument otherwise.
Result<Format> FormatFromName(std::string_view name);
std::string_view FormatName(Format format);

// YAML: each document must be a mapping (an empty document is an empty
// mapping). Comment lines become comment entries; a trailing comment on a
// line becomes a comment entry after that value. Anchors/aliases are
// expanded, tags dropped (as sops does).
Result<Document> ParseYaml(std::string_view text);
std::string EmitYaml(const Document& doc);

// JSON: the top level must be an object. Integers that fit int64 are ints,
// other numbers floats.
Result<Document> ParseJson(std::string_view text);
// `indent` is a string such as "\t" or "    ".
std::string EmitJson(const Node& root, std::string_view indent = "\t");

// dotenv as sops: KEY=VALUE lines, '#' comment lines, "\n" escapes newlines.
Result<Document> ParseDotenv(std::string_view text);
// kInvalidArgument when a value is a map or list.
Result<std::string> EmitDotenv(const Node& root);

// INI: each section is a top-level key holding a mapping of strings.
Result<Document> ParseIni(std::string_view text);
Result<std::string> EmitIni(const Node& root);

// Parses `text` in `format` (binary: one string under "data").
Result<Document> Parse(Format format, std::string_view text);
// Writes `doc` in `format` (binary: the bytes of "data" as they are).
Result<std::string> Emit(Format format, const Document& doc);

}  // namespace coffer::files
