// cli/export_formats: the formats `coffer export` writes a service's values in
// (dotenv, json, yaml, java-properties, csv, tsv, tfvars, k8s-secret, ecs,
// github-env) and the documents `coffer import` reads (JSON or YAML objects of
// strings). Every writer either renders every value so that the format's
// reader gets back exactly the same bytes, or refuses with an error naming the
// key and what the format cannot hold; it never writes something lossy.
// Grammars: docs/cli.md#export-formats. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::cli {

enum class ExportFormat {
  kDotenv,
  kJson,
  kYaml,
  kJavaProperties,
  kCsv,
  kTsv,
  kTfvars,
  kK8sSecret,
  kEcs,
  kGithubEnv,
};

// "dotenv" -> kDotenv, ...; kInvalidArgument naming the known formats otherwise.
Result<ExportFormat> ParseExportFormat(std::string_view name);
// Every format name, space-separated (for --help and errors).
std::string ExportFormatNames();

// One value to export: `key` as stored (no service prefix), its value, and the
// ARN of the parameter (the ecs format's valueFrom).
struct ExportValue {
  std::string key;
  SecretBytes value;
  std::string arn;
};

struct ExportOptions {
  std::string k8s_name;        // metadata.name of a k8s-secret (required for it)
  std::string k8s_namespace;   // metadata.namespace ("": left out)
  std::string heredoc_random;  // github-env: random part of heredoc delimiters (hex)
};

struct Rendered {
  SecretBytes body;            // the document
  std::string mask_commands;   // github-env: "::add-mask::..." lines for stdout
};

// The environment variable name for a key, as chamber maps it: upper-cased,
// '-' and '.' become '_'. "" when the result is not a valid name
// ([A-Za-z_][A-Za-z0-9_]*).
std::string EnvName(std::string_view key);

// Renders `values` (in the given order) in `format`. kInvalidArgument with
// Reason::kNone when a key or value cannot be held by the format, or two keys
// map to one name; the message names the key and the cause, never a value.
Result<Rendered> RenderExport(ExportFormat format, const std::vector<ExportValue>& values,
                              const ExportOptions& options);

// A key and its value read from an import document.
struct ImportValue {
  std::string key;
  SecretBytes value;
};

// Reads an import document: a JSON object, or a YAML mapping, whose values are
// all strings (YAML scalars are taken as written: `1` is "1"). kInvalidArgument
// for anything else (the message names the key, never a value).
Result<std::vector<ImportValue>> ParseImportDocument(std::string_view text);

// Quotes `value` for a POSIX shell (single quotes; `'` as '\''), as `coffer env` prints it.
std::string ShellQuote(std::string_view value);

}  // namespace coffer::cli
