// The resolved resource: what a request names, whatever form it used (a bare
// name, a name with a version or label selector, a full or partial ARN),
// turned into the one resource it means. Authorization evaluates the policy on
// its canonical ARN with its condition keys, the audit record shows that ARN,
// and the operation runs on its canonical name -- so no name form can reach a
// resource past a Deny written for another form.
//
// The per-aggregate resolvers fill it: parameters::ParameterStore::Resolve
// (SSM names and ARNs) and secrets::SecretStore::AccessInfo (secret names,
// full and partial ARNs). Each refuses an ARN of another partition, region,
// account or service (IsLocalArn): it names nothing here.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "domain/tags.h"

namespace coffer::domain {

// Condition keys and their values, as a policy evaluation takes them.
using ConditionKeys = std::map<std::string, std::vector<std::string>>;

struct ResolvedResource {
  std::string arn;       // canonical ARN (built by arn.h)
  std::string name;      // canonical name: "/a/b" or "a" for a parameter
  std::string selector;  // ":7" / ":label" as requested, else ""
  bool exists = false;
  std::vector<Tag> tags;  // when asked for and the resource exists
};

// "<service>:ResourceTag/<key>" and "aws:ResourceTag/<key>" for each tag, the
// resource-tag condition keys AWS documents for SSM parameters, secrets and
// KMS keys.
ConditionKeys ResourceTagKeys(std::string_view service, const std::vector<Tag>& tags);

// "aws:RequestTag/<key>" for each tag and "aws:TagKeys" with every key: the
// condition keys of a request that sets tags (create with tags, tag calls).
ConditionKeys RequestTagKeys(const std::vector<Tag>& tags);

}  // namespace coffer::domain
