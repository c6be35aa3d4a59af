// The domain stores wired together the way server/ wires them, for tests of
// the domain and of the API fronts: one in-memory backend, a keyring with a
// fresh random root key, KeyDirectory, ParameterStore, SecretStore and
// IdentityStore, on a SimulatedClock and a SequentialIdGenerator.
// Header-only: a test binary that includes it links the domain modules it uses
// (domain/kms, domain/parameters, domain/secrets, domain/iam, keyring, storage/memory).
//
//   class MyTest : public coffer::testing::DomainTest {};
//   TEST_F(MyTest, X) { auto r = domain_.parameters->PutParameter(...); }
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

#include "crypto/crypto.h"
#include "domain/iam/identity_store.h"
#include "domain/kms/key_directory.h"
#include "domain/parameters/parameter_store.h"
#include "domain/secrets/secret_store.h"
#include "keyring/keyring.h"
#include "storage/memory/memory_backend.h"
#include "support/matchers.h"
#include "util/id_generator.h"
#include "util/result.h"
#include "util/time.h"

namespace coffer::testing {

struct DomainOptions {
  util::SystemTime start = util::FromUnixMillis(1'800'000'000'000);
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
};

// Not thread-safe to Open; the stores themselves are thread-safe.
class DomainStores {
 public:
  explicit DomainStores(DomainOptions options = {})
      : options(std::move(options)), clock(this->options.start) {}
  DomainStores(const DomainStores&) = delete;
  DomainStores& operator=(const DomainStores&) = delete;

  // Opens the keyring and builds the stores over `backend` (default: `memory`;
  // another backend, e.g. an instrumented or faulty one, must outlive this
  // object). Keyring errors pass through.
  Status Open(storage::Backend* backend = nullptr) {
    backend_ = backend != nullptr ? backend : &memory;
    COFFER_ASSIGN_OR_RETURN(
        keyring, keyring::Keyring::Open(
                     *backend_, keyring::RootKey::FromMaterial(crypto::RandomSecret(32)), clock));
    keys = std::make_unique<domain::kms::KeyDirectory>(*backend_, *keyring, clock, ids,
                                                       options.region, options.account_id);
    parameters = std::make_unique<domain::parameters::ParameterStore>(
        *backend_, *keyring, *keys, clock, options.region, options.account_id);
    secrets = std::make_unique<domain::secrets::SecretStore>(*backend_, *keyring, *keys, clock, ids,
                                                             options.region, options.account_id);
    identities = std::make_unique<domain::iam::IdentityStore>(*backend_, *keyring, clock, ids,
                                                              options.account_id);
    return Ok();
  }

  // The backend the stores use. REQUIRES: Open() succeeded.
  storage::Backend& backend() { return *backend_; }

  const DomainOptions options;
  // Declared before the stores: they unwatch it when they go.
  storage::memory::MemoryBackend memory;
  util::SimulatedClock clock;
  util::SequentialIdGenerator ids;
  std::unique_ptr<keyring::Keyring> keyring;
  std::unique_ptr<domain::kms::KeyDirectory> keys;
  std::unique_ptr<domain::parameters::ParameterStore> parameters;
  std::unique_ptr<domain::secrets::SecretStore> secrets;
  std::unique_ptr<domain::iam::IdentityStore> identities;

 private:
  storage::Backend* backend_ = nullptr;
};

// A gtest fixture holding DomainStores opened on the in-memory backend.
class DomainTest : public ::testing::Test {
 protected:
  explicit DomainTest(DomainOptions options = {}) : domain_(std::move(options)) {}
  void SetUp() override { ASSERT_TRUE(IsOk(domain_.Open())); }

  DomainStores domain_;
};

}  // namespace coffer::testing
