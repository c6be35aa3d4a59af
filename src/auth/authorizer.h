// Authorization of one request: the caller's policies (compiled once per
// principal and cached until IAM changes) evaluated for each action/resource
// the request touches, with the request's condition keys (aws:username,
// aws:PrincipalArn, aws:SourceIp, aws:CurrentTime, aws:SecureTransport, plus
// per-call keys such as ssm:ResourceTag/*). The decisions are kept for the
// audit record.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "auth/authenticator.h"
#include "auth/policy.h"
#include "util/result.h"
#include "util/thread_annotations.h"
#include "util/time.h"

namespace coffer::auth {

// A policy document as stored in IAM, with the name the audit log shows.
struct PolicyText {
  std::string name;
  std::string document;
};

struct CompiledPolicies {
  std::vector<NamedPolicy> policies;
  bool uses_resource_tags = false;  // some condition reads */ResourceTag/*
};

// Compiles policy sets and caches them per principal for one IAM generation.
// Thread-safe.
class PolicyCache {
 public:
  // The compiled form of `texts` for `principal_key` at `generation` (IAM's
  // change counter). A document that no longer parses is skipped (it was
  // validated when stored) and reported in the log.
  std::shared_ptr<const CompiledPolicies> Get(const std::string& principal_key,
                                              uint64_t generation,
                                              const std::vector<PolicyText>& texts);

 private:
  struct Entry {
    uint64_t generation = 0;
    std::shared_ptr<const CompiledPolicies> compiled;
  };
  std::shared_mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_ COFFER_GUARDED_BY(mu_);
};

// Per-request authorization state. Not thread-safe (one request, one thread).
class RequestAuthorization {
 public:
  // `policies` may be null for an administrator (is_admin) principal.
  RequestAuthorization(const Principal& principal,
                       std::shared_ptr<const CompiledPolicies> policies,
                       std::string_view source_ip, bool secure, util::SystemTime now);

  // Allowed, or kPermissionDenied (Reason::kAccessDenied) with AWS's message:
  // "User: <arn> is not authorized to perform: <action> on resource: <resource>
  // [because no identity-based policy allows the <action> action |
  //  with an explicit deny in an identity-based policy]".
  Status Check(std::string_view action, std::string_view resource,
               const std::map<std::string, std::vector<std::string>>& extra_keys = {});
  // The same decision without the error (for filtering list results); it is
  // not recorded as the request's decision.
  bool Allowed(std::string_view action, std::string_view resource,
               const std::map<std::string, std::vector<std::string>>& extra_keys = {});

  // Whether any policy reads resource tags (so callers fetch tags only then).
  bool NeedsResourceTags() const;

  // For the audit record: "allow", "explicit-deny", "implicit-deny" or "" (no
  // check made), and which policy/statement decided.
  const std::string& decision() const { return decision_; }
  const std::string& decided_by() const { return decided_by_; }
  const std::string& resource() const { return resource_; }

 private:
  Decision Evaluate(std::string_view action, std::string_view resource,
                    const std::map<std::string, std::vector<std::string>>& extra_keys);

  const Principal& principal_;
  std::shared_ptr<const CompiledPolicies> policies_;
  RequestContext base_;
  std::string decision_;
  std::string decided_by_;
  std::string resource_;
};

}  // namespace coffer::auth
