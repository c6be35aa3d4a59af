// agent/template: the template language of template targets and of ESO's
// target.template (engineVersion v2), a documented subset of Go's
// text/template as ESO uses it (docs/agent.md#templates):
//
//   {{ .name }}                 the value of key `name`
//   {{ index . "my-key" }}      the value of a key that is not an identifier
//   {{ .name | f | g }}         pipes through functions:
//       b64enc b64dec upper lower trim quote squote toString
//       nindent N / indent N    (indent each line; nindent starts with a newline)
//   {{- ... -}}                 trims the white space before / after
//   {{ "literal" }}             a quoted string
//
// Anything else ({{ if }}, {{ range }}, variables, other functions) is
// refused when the template is parsed, so a template that renders here renders
// the same under ESO. Values are secret: rendered text is returned in a
// SecretBytes and no error message carries a value.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::agent {

using Values = std::map<std::string, SecretBytes, std::less<>>;

// Renders `text` with `values`. kInvalidArgument (kValidation) for a syntax
// error, an unknown function, a key without a value, or b64dec of something
// that is not base64; the message names the key or function, never a value.
Result<SecretBytes> RenderTemplate(std::string_view text, const Values& values);

}  // namespace coffer::agent
