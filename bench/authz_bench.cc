// Micro benchmarks of the per-request authorization work on the read hot path,
// with the policy set of bench/authz_policies.json (the same one the load
// benchmark bench/authz_load.py gives its non-admin user):
//   * the request context alone (RequestAuthorization's constructor),
//   * an administrator's check (no evaluation: the baseline),
//   * a user's ssm:GetParameter check against 7 identity statements,
//   * a user's secretsmanager:GetSecretValue check with the secret's resource policy,
//   * finding the caller's compiled policies: through the identity store
//     (LookupAccessKey + PoliciesFor + PolicyCache::Get, what the server did per
//     request before) and from the PolicyCache by access key (what it does now).
// Run: build/bench/coffer_authz_bench (target coffer_authz_bench; see docs/PERFORMANCE.md).

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "auth/authenticator.h"
#include "auth/authorizer.h"
#include "domain/iam/identity_store.h"
#include "keyring/keyring.h"
#include "storage/memory/memory_backend.h"
#include "util/id_generator.h"
#include "util/secret_bytes.h"
#include "util/time.h"

namespace coffer {
namespace {

constexpr char kParameterArn[] =
    "arn:aws:ssm:us-east-1:000000000000:parameter/bench/app/db_password";
constexpr char kSecretArn[] =
    "arn:aws:secretsmanager:us-east-1:000000000000:secret:bench/app/db-AbCdEf";

// The three documents of bench/authz_policies.json, re-serialized.
struct Documents {
  std::string user_inline;
  std::string group_managed;
  std::string secret_resource_policy;
};

const Documents& Docs() {
  static const Documents docs = [] {
    std::ifstream in(COFFER_BENCH_DIR "/authz_policies.json");
    std::stringstream text;
    text << in.rdbuf();
    auto j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      std::fprintf(stderr, "cannot read %s\n", COFFER_BENCH_DIR "/authz_policies.json");
      std::abort();
    }
    return Documents{j["user_inline"].dump(), j["group_managed"].dump(),
                     j["secret_resource_policy"].dump()};
  }();
  return docs;
}

auth::Principal BenchUser() {
  auth::Principal p;
  p.arn = "arn:aws:iam::000000000000:user/bench";
  p.user_id = "AIDABENCHUSER0000001";
  p.account_id = "000000000000";
  p.access_key_id = "AKIABENCHUSER0000001";
  p.user_name = "bench";
  return p;
}

std::shared_ptr<const auth::CompiledPolicies> UserPolicies() {
  static auth::PolicyCache cache;
  return cache.Get("user/bench", 1,
                   {{"user/bench/inline/app", Docs().user_inline},
                    {"arn:aws:iam::000000000000:policy/apps", Docs().group_managed}});
}

std::shared_ptr<const auth::CompiledPolicies> SecretPolicy() {
  static auth::PolicyCache cache(auth::PolicyKind::kResource);
  return cache.Get(kSecretArn, 1,
                   {{"secret/bench/app/db/resource-policy", Docs().secret_resource_policy}});
}

const util::SystemTime kNow = util::FromUnixMillis(1'800'000'000'000);

void BM_RequestContextOnly(benchmark::State& state) {
  auth::Principal user = BenchUser();
  auto policies = UserPolicies();
  for (auto _ : state) {
    auth::RequestAuthorization authz(user, policies, "127.0.0.1", false, kNow);
    benchmark::DoNotOptimize(authz);
  }
}
BENCHMARK(BM_RequestContextOnly);

void BM_AdminGetParameter(benchmark::State& state) {
  auth::Principal admin = BenchUser();
  admin.is_admin = true;
  for (auto _ : state) {
    auth::RequestAuthorization authz(admin, nullptr, "127.0.0.1", false, kNow);
    benchmark::DoNotOptimize(authz.Check("ssm:GetParameter", kParameterArn));
  }
}
BENCHMARK(BM_AdminGetParameter);

void BM_UserGetParameter(benchmark::State& state) {
  auth::Principal user = BenchUser();
  auto policies = UserPolicies();
  {
    auth::RequestAuthorization authz(user, policies, "127.0.0.1", false, kNow);
    if (!authz.Check("ssm:GetParameter", kParameterArn)) {
      state.SkipWithError("the benchmark policy set does not allow the request");
      return;
    }
  }
  for (auto _ : state) {
    auth::RequestAuthorization authz(user, policies, "127.0.0.1", false, kNow);
    benchmark::DoNotOptimize(authz.Check("ssm:GetParameter", kParameterArn));
  }
}
BENCHMARK(BM_UserGetParameter);

// Only the evaluation: one context, many checks.
void BM_UserGetParameterEvaluateOnly(benchmark::State& state) {
  auth::Principal user = BenchUser();
  auth::RequestAuthorization authz(user, UserPolicies(), "127.0.0.1", false, kNow);
  for (auto _ : state) {
    benchmark::DoNotOptimize(authz.Allowed("ssm:GetParameter", kParameterArn));
  }
}
BENCHMARK(BM_UserGetParameterEvaluateOnly);

void BM_UserGetSecretValueWithResourcePolicy(benchmark::State& state) {
  auth::Principal user = BenchUser();
  auto policies = UserPolicies();
  auto resource = SecretPolicy();
  for (auto _ : state) {
    auth::RequestAuthorization authz(user, policies, "127.0.0.1", false, kNow);
    benchmark::DoNotOptimize(
        authz.Check("secretsmanager:GetSecretValue", kSecretArn, {}, resource.get()));
  }
}
BENCHMARK(BM_UserGetSecretValueWithResourcePolicy);

// An identity store on the in-memory backend with the bench user in a group.
class IdentityFixture : public benchmark::Fixture {
 public:
  void SetUp(const benchmark::State&) override {
    if (store_) return;
    auto kr = keyring::Keyring::Open(
        backend_, keyring::RootKey::FromMaterial(SecretBytes(std::string(32, '\x11'))), clock_);
    keyring_ = std::move(*kr);
    store_ = std::make_unique<domain::iam::IdentityStore>(backend_, *keyring_, clock_, ids_,
                                                          "000000000000");
    (void)store_->CreateUser("bench", false);
    (void)store_->CreateGroup("apps", "/");
    (void)store_->AddUserToGroup("apps", "bench");
    (void)store_->PutInlinePolicy(domain::iam::EntityKind::kUser, "bench", "app",
                                  Docs().user_inline);
    auto managed = store_->CreatePolicy({"apps", "/", Docs().group_managed, "", {}});
    (void)store_->AttachPolicy(domain::iam::EntityKind::kGroup, "apps", managed->arn);
    key_id_ = store_->CreateAccessKey("bench")->access_key_id;
  }

 protected:
  storage::memory::MemoryBackend backend_;
  util::SimulatedClock clock_{kNow};
  util::SequentialIdGenerator ids_;
  std::unique_ptr<keyring::Keyring> keyring_;
  std::unique_ptr<domain::iam::IdentityStore> store_;
  std::string key_id_;
  auth::PolicyCache cache_;
};

// What the server did per request before: resolve the access key again, read
// the principal's policy texts, look the compiled set up by principal.
BENCHMARK_F(IdentityFixture, BM_PoliciesThroughIdentityStore)(benchmark::State& state) {
  for (auto _ : state) {
    auto resolved = store_->LookupAccessKey(key_id_);
    auto set = store_->PoliciesFor(*resolved);
    std::vector<auth::PolicyText> texts;
    texts.reserve((*set)->policies.size());
    for (const auto& p : (*set)->policies) texts.push_back({p.name, p.document});
    benchmark::DoNotOptimize(cache_.Get((*set)->principal, (*set)->generation, texts));
  }
}

// What it does now on a hit: the compiled set by access key id at IAM's generation.
BENCHMARK_F(IdentityFixture, BM_PoliciesFromCacheByAccessKey)(benchmark::State& state) {
  {
    auto resolved = store_->LookupAccessKey(key_id_);
    auto set = store_->PoliciesFor(*resolved);
    std::vector<auth::PolicyText> texts;
    for (const auto& p : (*set)->policies) texts.push_back({p.name, p.document});
    cache_.Get(key_id_, (*set)->generation, texts);
  }
  for (auto _ : state) {
    auto hit = cache_.Find(key_id_, store_->generation());
    if (!hit) {
      state.SkipWithError("cache miss");
      return;
    }
    benchmark::DoNotOptimize(hit);
  }
}

}  // namespace
}  // namespace coffer
