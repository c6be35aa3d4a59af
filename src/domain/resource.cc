#include "domain/resource.h"

namespace coffer::domain {

ConditionKeys ResourceTagKeys(std::string_view service, const std::vector<Tag>& tags) {
  ConditionKeys keys;
  for (const Tag& t : tags) {
    keys[std::string(service) + ":ResourceTag/" + t.key].push_back(t.value);
    keys["aws:ResourceTag/" + t.key].push_back(t.value);
  }
  return keys;
}

ConditionKeys RequestTagKeys(const std::vector<Tag>& tags) {
  ConditionKeys keys;
  for (const Tag& t : tags) {
    keys["aws:RequestTag/" + t.key].push_back(t.value);
    keys["aws:TagKeys"].push_back(t.key);
  }
  return keys;
}

}  // namespace coffer::domain
