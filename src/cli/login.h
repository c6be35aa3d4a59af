// cli: the client-side commands. `coffer login` trades an OIDC token (from
// GitHub Actions' token endpoint, or a file) for short-lived credentials at an
// STS endpoint (AssumeRoleWithWebIdentity), so CI never holds long-lived keys.
#pragma once

#include <iosfwd>
#include <string>

#include "util/result.h"
#include "util/time.h"

namespace coffer::cli {

struct LoginOptions {
  std::string endpoint;        // STS endpoint (--endpoint-url or AWS_ENDPOINT_URL)
  std::string ca_bundle;       // --ca-bundle (or AWS_CA_BUNDLE): CAs for an https endpoint
  std::string role_arn;        // --role-arn (or AWS_ROLE_ARN)
  std::string session_name;    // --role-session-name (default "coffer-login-<unix time>")
  int duration_seconds = 3600; // 900..43200
  bool github = false;         // --github: fetch the token from ACTIONS_ID_TOKEN_REQUEST_URL
  std::string audience = "sts.amazonaws.com";
  std::string token_file;      // --oidc-token-file
  bool github_env = false;     // --github-env: append to $GITHUB_ENV and print ::add-mask::
};

// Runs the login flow and writes its output to `out`: `export NAME=value`
// lines, or, with github_env, `::add-mask::` lines (the values themselves are
// then written only to the $GITHUB_ENV file). Errors name the failing step and
// the STS error code; they never contain a token or a secret.
Status Login(const LoginOptions& options, util::Clock& clock, std::ostream& out);

}  // namespace coffer::cli
