#include "keyring/keyring.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/crypto.h"
#include "storage/memory/memory_backend.h"
#include "support/matchers.h"
#include "support/temp_dir.h"

namespace coffer::keyring {
namespace {

using storage::memory::MemoryBackend;

// Compares secret bytes without ever printing them.
bool SameSecret(const SecretBytes& a, std::string_view b) {
  return crypto::ConstantTimeEquals(a.Reveal(), b);
}

template <class R>
::testing::AssertionResult HasCode(const R& r, ErrorCode code) {
  if (r.has_value()) return ::testing::AssertionFailure() << "succeeded unexpectedly";
  if (r.error().code != code) {
    return ::testing::AssertionFailure()
           << "error " << util::ErrorCodeName(r.error().code) << ": " << r.error().message;
  }
  return ::testing::AssertionSuccess();
}

class KeyringTest : public ::testing::Test {
 protected:
  KeyringTest() : clock_(util::SystemTime{}) {}

  std::unique_ptr<Keyring> OpenWith(const RootKey& root) {
    auto k = Keyring::Open(backend_, root, clock_);
    EXPECT_TRUE(k.has_value()) << k.error().message;
    return k.has_value() ? std::move(*k) : nullptr;
  }
  void SetUp() override {
    keyring_ = OpenWith(root_);
    ASSERT_NE(keyring_, nullptr);
  }

  MemoryBackend backend_;
  util::SimulatedClock clock_;
  RootKey root_ = RootKey::FromMaterial(crypto::RandomSecret(32));
  std::unique_ptr<Keyring> keyring_;
};

// Encrypt then Decrypt with the same aad returns the plaintext and names key v1.
TEST_F(KeyringTest, EncryptDecryptRoundTripReturnsPlaintextAndKeyVersion) {
  ASSERT_TRUE(keyring_->CreateKey("key-1").has_value());
  auto env = keyring_->Encrypt("key-1", "param:/a:1", "s3cr3t value");
  ASSERT_TRUE(env.has_value()) << env.error().message;
  EXPECT_EQ(env->find("s3cr3t"), std::string::npos);
  auto d = keyring_->Decrypt("param:/a:1", *env);
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_TRUE(SameSecret(d->plaintext, "s3cr3t value"));
  EXPECT_EQ(d->key.key_id, "key-1");
  EXPECT_EQ(d->key.version, 1u);
}

// Empty plaintext and empty aad are valid.
TEST_F(KeyringTest, EmptyPlaintextAndEmptyAadRoundTrip) {
  ASSERT_TRUE(keyring_->CreateKey("k").has_value());
  auto env = keyring_->Encrypt("k", "", "");
  ASSERT_TRUE(env.has_value());
  auto d = keyring_->Decrypt("", *env);
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->plaintext.empty());
}

// Two encryptions of the same value differ (random salt and nonce).
TEST_F(KeyringTest, EncryptingTwiceGivesDifferentEnvelopes) {
  ASSERT_TRUE(keyring_->CreateKey("k").has_value());
  auto a = keyring_->Encrypt("k", "aad", "same");
  auto b = keyring_->Encrypt("k", "aad", "same");
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_NE(*a, *b);
}

// A ciphertext copied onto another record (other aad) does not decrypt.
TEST_F(KeyringTest, DecryptWithOtherAadFailsWithCiphertextTampered) {
  ASSERT_TRUE(keyring_->CreateKey("k").has_value());
  auto env = keyring_->Encrypt("k", "param:/a:1", "v");
  ASSERT_TRUE(env.has_value());
  EXPECT_TRUE(HasError(keyring_->Decrypt("param:/b:1", *env), ErrorCode::kDataLoss,
                       Reason::kCiphertextTampered));
  EXPECT_TRUE(HasError(keyring_->Decrypt("param:/a:1x", *env), ErrorCode::kDataLoss,
                       Reason::kCiphertextTampered));
  EXPECT_TRUE(
      HasError(keyring_->Decrypt("", *env), ErrorCode::kDataLoss, Reason::kCiphertextTampered));
}

// Flipping any single byte of an envelope makes Decrypt fail; outside the key
// reference it fails with kDataLoss.
TEST_F(KeyringTest, EverySingleByteFlipOfEnvelopeFails) {
  ASSERT_TRUE(keyring_->CreateKey("key-a").has_value());
  ASSERT_TRUE(keyring_->CreateKey("key-b").has_value());
  auto env = keyring_->Encrypt("key-a", "aad", "plaintext value");
  ASSERT_TRUE(env.has_value());
  const size_t key_ref_end = 2 + 5 + 4;  // format, id length, "key-a", version
  for (size_t i = 0; i < env->size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      std::string bad = *env;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      auto d = keyring_->Decrypt("aad", bad);
      ASSERT_FALSE(d.has_value()) << "byte " << i << " mask " << int(mask);
      if (i == 0 || i >= key_ref_end) {
        EXPECT_EQ(d.error().code, ErrorCode::kDataLoss)
            << "byte " << i << ": " << d.error().message;
      } else {
        // A changed key id or version names a key that does not exist.
        EXPECT_TRUE(d.error().code == ErrorCode::kDataLoss ||
                    d.error().code == ErrorCode::kNotFound)
            << "byte " << i << ": " << d.error().message;
      }
    }
  }
}

// Truncated envelopes and non-envelopes fail as malformed.
TEST_F(KeyringTest, TruncatedOrGarbageEnvelopeFailsWithCiphertextMalformed) {
  ASSERT_TRUE(keyring_->CreateKey("k").has_value());
  auto env = keyring_->Encrypt("k", "aad", "value");
  ASSERT_TRUE(env.has_value());
  EXPECT_TRUE(
      HasError(keyring_->Decrypt("aad", ""), ErrorCode::kDataLoss, Reason::kCiphertextMalformed));
  EXPECT_TRUE(HasError(keyring_->Decrypt("aad", "hello world"), ErrorCode::kDataLoss,
                       Reason::kCiphertextMalformed));
  EXPECT_TRUE(HasError(keyring_->Decrypt("aad", env->substr(0, 2 + 1 + 4 + 32 + 12 + 15)),
                       ErrorCode::kDataLoss, Reason::kCiphertextMalformed));
  EXPECT_TRUE(
      HasCode(keyring_->Decrypt("aad", env->substr(0, env->size() - 1)), ErrorCode::kDataLoss));
  EXPECT_TRUE(HasError(Keyring::Inspect("x"), ErrorCode::kDataLoss, Reason::kCiphertextMalformed));
}

// Inspect names the key and version without decrypting.
TEST_F(KeyringTest, InspectReturnsKeyIdAndVersion) {
  ASSERT_TRUE(keyring_->CreateKey("kid").has_value());
  ASSERT_TRUE(keyring_->RotateKey("kid").has_value());
  auto env = keyring_->Encrypt("kid", "a", "b");
  ASSERT_TRUE(env.has_value());
  auto ref = Keyring::Inspect(*env);
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->key_id, "kid");
  EXPECT_EQ(ref->version, 2u);
}

// Encrypt under a key without material fails with kKeyNotFound.
TEST_F(KeyringTest, EncryptWithUnknownKeyFailsWithKeyNotFound) {
  EXPECT_TRUE(
      HasError(keyring_->Encrypt("nope", "a", "b"), ErrorCode::kNotFound, Reason::kKeyNotFound));
  EXPECT_TRUE(
      HasError(keyring_->LatestVersion("nope"), ErrorCode::kNotFound, Reason::kKeyNotFound));
  EXPECT_TRUE(HasError(keyring_->RotateKey("nope"), ErrorCode::kNotFound, Reason::kKeyNotFound));
  EXPECT_FALSE(keyring_->HasKey("nope"));
}

// Creating a key twice fails with kAlreadyExists and keeps the first material.
TEST_F(KeyringTest, CreateKeyTwiceFailsWithAlreadyExists) {
  ASSERT_TRUE(keyring_->CreateKey("k").has_value());
  auto env = keyring_->Encrypt("k", "a", "v");
  ASSERT_TRUE(env.has_value());
  EXPECT_TRUE(HasCode(keyring_->CreateKey("k"), ErrorCode::kAlreadyExists));
  EXPECT_TRUE(keyring_->Decrypt("a", *env).has_value());
}

// Empty and over-long key ids are rejected.
TEST_F(KeyringTest, CreateKeyWithInvalidIdFailsWithInvalidArgument) {
  EXPECT_TRUE(HasCode(keyring_->CreateKey(""), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(HasCode(keyring_->CreateKey(std::string(256, 'k')), ErrorCode::kInvalidArgument));
  EXPECT_TRUE(keyring_->CreateKey(std::string(255, 'k')).has_value());
}

// After rotation old envelopes decrypt, new ones use v2, and Rewrap moves to v2.
TEST_F(KeyringTest, RotationKeepsOldVersionsAndRewrapMovesToNewest) {
  ASSERT_TRUE(keyring_->CreateKey("k").has_value());
  auto v1 = keyring_->Encrypt("k", "rec", "old value");
  ASSERT_TRUE(v1.has_value());
  auto rotated = keyring_->RotateKey("k");
  ASSERT_TRUE(rotated.has_value());
  EXPECT_EQ(*rotated, 2u);
  EXPECT_EQ(keyring_->LatestVersion("k").value(), 2u);

  auto old = keyring_->Decrypt("rec", *v1);
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->key.version, 1u);
  EXPECT_TRUE(SameSecret(old->plaintext, "old value"));

  auto v2 = keyring_->Encrypt("k", "rec", "new value");
  ASSERT_TRUE(v2.has_value());
  EXPECT_EQ(Keyring::Inspect(*v2)->version, 2u);

  auto rewrapped = keyring_->Rewrap("rec", *v1);
  ASSERT_TRUE(rewrapped.has_value());
  EXPECT_EQ(Keyring::Inspect(*rewrapped)->version, 2u);
  auto d = keyring_->Decrypt("rec", *rewrapped);
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(SameSecret(d->plaintext, "old value"));

  // Already newest: unchanged.
  auto again = keyring_->Rewrap("rec", *rewrapped);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *rewrapped);
  // Rewrap checks the aad like Decrypt.
  EXPECT_TRUE(
      HasError(keyring_->Rewrap("other", *v1), ErrorCode::kDataLoss, Reason::kCiphertextTampered));
}

// A second keyring over the same storage and root key reads everything.
TEST_F(KeyringTest, ReopenWithSameRootKeyDecryptsEverything) {
  ASSERT_TRUE(keyring_->CreateKey("a").has_value());
  ASSERT_TRUE(keyring_->CreateKey("b").has_value());
  auto e1 = keyring_->Encrypt("a", "r1", "one");
  ASSERT_TRUE(keyring_->RotateKey("a").has_value());
  auto e2 = keyring_->Encrypt("a", "r2", "two");
  auto e3 = keyring_->Encrypt("b", "r3", "three");
  ASSERT_TRUE(e1.has_value() && e2.has_value() && e3.has_value());

  auto reopened = OpenWith(RootKey::FromMaterial(root_.material()));
  ASSERT_NE(reopened, nullptr);
  EXPECT_TRUE(reopened->HasKey("a"));
  EXPECT_EQ(reopened->LatestVersion("a").value(), 2u);
  EXPECT_TRUE(SameSecret(reopened->Decrypt("r1", *e1)->plaintext, "one"));
  EXPECT_TRUE(SameSecret(reopened->Decrypt("r2", *e2)->plaintext, "two"));
  EXPECT_TRUE(SameSecret(reopened->Decrypt("r3", *e3)->plaintext, "three"));
}

// A keyring that did not see a key or a rotation picks it up from storage.
TEST_F(KeyringTest, SecondInstanceSeesKeysAndVersionsCreatedByTheFirst) {
  auto other = OpenWith(root_);
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(keyring_->CreateKey("k").has_value());
  auto e1 = keyring_->Encrypt("k", "r", "v1");
  ASSERT_TRUE(other->Decrypt("r", *e1).has_value());  // unknown key: reloaded
  ASSERT_TRUE(keyring_->RotateKey("k").has_value());
  auto e2 = keyring_->Encrypt("k", "r", "v2");
  auto d = other->Decrypt("r", *e2);  // unknown version: reloaded
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(d->key.version, 2u);
  // Rotating through the stale instance continues from the stored version.
  EXPECT_EQ(other->RotateKey("k").value(), 3u);
}

// An envelope naming a version that never existed fails with kKeyVersionNotFound.
TEST_F(KeyringTest, DecryptOfUnknownVersionFailsWithKeyVersionNotFound) {
  ASSERT_TRUE(keyring_->CreateKey("k").has_value());
  auto env = keyring_->Encrypt("k", "r", "v");
  ASSERT_TRUE(env.has_value());
  std::string bad = *env;
  bad[2 + 1 + 3] = 9;  // version 1 -> 9
  EXPECT_TRUE(
      HasError(keyring_->Decrypt("r", bad), ErrorCode::kNotFound, Reason::kKeyVersionNotFound));
}

// Opening storage written under another root key fails with kRootKeyMismatch.
TEST_F(KeyringTest, OpenWithAnotherRootKeyFailsWithRootKeyMismatch) {
  ASSERT_TRUE(keyring_->CreateKey("k").has_value());
  auto other = Keyring::Open(backend_, RootKey::FromMaterial(crypto::RandomSecret(32)), clock_);
  EXPECT_TRUE(HasError(other, ErrorCode::kFailedPrecondition, Reason::kRootKeyMismatch));
}

// Any flipped byte of a stored key material record is detected: the keyring
// still opens (other keys keep working), and every use of the damaged key fails
// with kDataLoss (kKeyMaterialDamaged) instead of sealing or opening anything.
TEST_F(KeyringTest, TamperedStoredMaterialFailsWithKeyMaterialDamaged) {
  ASSERT_TRUE(keyring_->CreateKey("k").has_value());
  ASSERT_TRUE(keyring_->RotateKey("k").has_value());
  ASSERT_TRUE(keyring_->CreateKey("other").has_value());
  auto sealed = keyring_->Encrypt("k", "r", "value");
  auto other = keyring_->Encrypt("other", "r", "fine");
  ASSERT_TRUE(sealed.has_value() && other.has_value());
  auto entry = backend_.Get("keyring/k");
  ASSERT_TRUE(entry.has_value());
  const std::string original = entry->value;
  for (size_t i = 0; i < original.size(); ++i) {
    std::string bad = original;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    storage::Txn txn;
    txn.writes.push_back(storage::Write::Put("keyring/k", bad));
    ASSERT_TRUE(backend_.Commit(txn).has_value());
    auto opened = Keyring::Open(backend_, RootKey::FromMaterial(root_.material()), clock_);
    ASSERT_TRUE(opened.has_value()) << "byte " << i << ": " << opened.error().message;
    Keyring& k = **opened;
    EXPECT_TRUE(HasError(k.Decrypt("r", *sealed), ErrorCode::kDataLoss,
                         Reason::kKeyMaterialDamaged))
        << "byte " << i;
    EXPECT_TRUE(HasError(k.Encrypt("k", "r", "x"), ErrorCode::kDataLoss,
                         Reason::kKeyMaterialDamaged))
        << "byte " << i;
    EXPECT_FALSE(k.HasKey("k")) << "byte " << i;
    auto fine = k.Decrypt("r", *other);
    ASSERT_TRUE(fine.has_value()) << "byte " << i;
    EXPECT_TRUE(SameSecret(fine->plaintext, "fine"));
  }
}

// RewrapIfStale leaves an envelope under the newest version alone and re-seals
// an older one under the newest version with the same aad and plaintext.
TEST_F(KeyringTest, RewrapIfStaleResealsOnlyOlderVersions) {
  ASSERT_TRUE(keyring_->CreateKey("k").has_value());
  auto old_env = keyring_->Encrypt("k", "rec/1", "value");
  ASSERT_TRUE(old_env.has_value());
  auto unchanged = keyring_->RewrapIfStale("rec/1", *old_env);
  ASSERT_TRUE(unchanged.has_value());
  EXPECT_FALSE(unchanged->has_value());
  ASSERT_TRUE(keyring_->RotateKey("k").has_value());
  auto fresh = keyring_->RewrapIfStale("rec/1", *old_env);
  ASSERT_TRUE(fresh.has_value() && fresh->has_value());
  EXPECT_EQ(Keyring::Inspect(**fresh)->version, 2u);
  auto opened = keyring_->Decrypt("rec/1", **fresh);
  ASSERT_TRUE(opened.has_value());
  EXPECT_TRUE(SameSecret(opened->plaintext, "value"));
  EXPECT_TRUE(HasError(keyring_->Decrypt("rec/2", **fresh), ErrorCode::kDataLoss,
                       Reason::kCiphertextTampered));
  EXPECT_FALSE(keyring_->RewrapIfStale("rec/1", **fresh)->has_value());
  // The aad still has to match.
  EXPECT_TRUE(HasError(keyring_->RewrapIfStale("rec/2", *old_env), ErrorCode::kDataLoss,
                       Reason::kCiphertextTampered));
}

// Refresh picks up a rotation made through another keyring on the same storage.
TEST_F(KeyringTest, RefreshSeesRotationByAnotherInstance) {
  ASSERT_TRUE(keyring_->CreateKey("k").has_value());
  auto env = keyring_->Encrypt("k", "r", "v");
  ASSERT_TRUE(env.has_value());
  auto other = OpenWith(root_);
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->RotateKey("k").has_value());
  EXPECT_FALSE(keyring_->RewrapIfStale("r", *env)->has_value());  // cache still at version 1
  ASSERT_TRUE(keyring_->Refresh().has_value());
  auto fresh = keyring_->RewrapIfStale("r", *env);
  ASSERT_TRUE(fresh.has_value() && fresh->has_value());
  EXPECT_EQ(Keyring::Inspect(**fresh)->version, 2u);
}

// The stored record never holds the raw key material or the root key.
TEST_F(KeyringTest, StoredRecordDoesNotContainRootKey) {
  ASSERT_TRUE(keyring_->CreateKey("k").has_value());
  auto entry = backend_.Get("keyring/k");
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->value.find(root_.material().Reveal()), std::string::npos);
  EXPECT_NE(entry->value.find(root_.Fingerprint()), std::string::npos);
}

// Concurrent rotations from several threads give dense versions 2..N+1.
TEST_F(KeyringTest, ConcurrentRotateKeyYieldsDenseVersions) {
  ASSERT_TRUE(keyring_->CreateKey("k").has_value());
  auto second = OpenWith(root_);
  ASSERT_NE(second, nullptr);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10;
  std::vector<std::vector<uint32_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Keyring& k = (t % 2 == 0) ? *keyring_ : *second;
      for (int i = 0; i < kPerThread; ++i) {
        auto v = k.RotateKey("k");
        if (v.has_value()) got[t].push_back(*v);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<uint32_t> all;
  for (auto& g : got) all.insert(all.end(), g.begin(), g.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], i + 2);
  auto reopened = OpenWith(root_);
  EXPECT_EQ(reopened->LatestVersion("k").value(), kThreads * kPerThread + 1u);
}

// Concurrent Encrypt/Decrypt on a cached key work from many threads.
TEST_F(KeyringTest, ConcurrentEncryptDecryptSucceeds) {
  ASSERT_TRUE(keyring_->CreateKey("k").has_value());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::string aad = "r" + std::to_string(t) + ":" + std::to_string(i);
        auto e = keyring_->Encrypt("k", aad, aad);
        if (!e.has_value()) {
          ++failures;
          continue;
        }
        auto d = keyring_->Decrypt(aad, *e);
        if (!d.has_value() || !SameSecret(d->plaintext, aad)) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

class RootKeyTest : public ::testing::Test {
 protected:
  testing::ScopedTempDir dir_;
};

// A new root key file is created with mode 0600 and reloads to the same key.
TEST_F(RootKeyTest, CreatesFileWithMode0600AndReloadsIdenticalKey) {
  std::string path = dir_.File("root.key");
  auto created = RootKey::LoadOrCreateFile(path);
  ASSERT_TRUE(created.has_value()) << created.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(created->material().size(), 32u);
  auto loaded = RootKey::LoadOrCreateFile(path);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_TRUE(loaded->material().Equals(created->material()));
  EXPECT_EQ(loaded->Fingerprint(), created->Fingerprint());
  EXPECT_EQ(created->Fingerprint().size(), 16u);
  // No temporary files are left behind.
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir_.File(""))) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

// A key file readable by group or others is refused.
TEST_F(RootKeyTest, FileWithWiderModeFailsWithFailedPrecondition) {
  std::string path = dir_.File("root.key");
  ASSERT_TRUE(RootKey::LoadOrCreateFile(path).has_value());
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto r = RootKey::LoadOrCreateFile(path);
  EXPECT_TRUE(HasCode(r, ErrorCode::kFailedPrecondition));
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(RootKey::LoadOrCreateFile(path).has_value());
}

// A file that is not a key file fails with kDataLoss and is left alone.
TEST_F(RootKeyTest, InvalidKeyFileFailsWithDataLoss) {
  std::string path = dir_.File("root.key");
  {
    std::ofstream f(path);
    f << "not a key";
  }
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  EXPECT_TRUE(HasCode(RootKey::LoadOrCreateFile(path), ErrorCode::kDataLoss));
  EXPECT_EQ(std::filesystem::file_size(path), 9u);
  {
    std::ofstream f(path, std::ios::trunc);
    f << std::string(19 + 32, 'x');
  }
  EXPECT_TRUE(HasCode(RootKey::LoadOrCreateFile(path), ErrorCode::kDataLoss));
}

// Different root keys have different fingerprints.
TEST_F(RootKeyTest, FingerprintDistinguishesKeys) {
  RootKey a = RootKey::FromMaterial(crypto::RandomSecret(32));
  RootKey b = RootKey::FromMaterial(crypto::RandomSecret(32));
  EXPECT_NE(a.Fingerprint(), b.Fingerprint());
  EXPECT_EQ(a.Fingerprint(), RootKey::FromMaterial(a.material()).Fingerprint());
}

// Root rotation: every record is re-wrapped under the new root key, values
// sealed before decrypt after, and the old root key alone opens nothing.
TEST_F(KeyringTest, RotateRootRewrapsEveryRecordAndForgetsTheOldKey) {
  ASSERT_TRUE(keyring_->CreateKey("k1").has_value());
  ASSERT_TRUE(keyring_->CreateKey("k2").has_value());
  ASSERT_TRUE(keyring_->RotateKey("k2").has_value());
  auto env = keyring_->Encrypt("k2", "aad", "plain");
  ASSERT_TRUE(env.has_value());
  RootKey next = RootKey::FromMaterial(crypto::RandomSecret(32));
  auto rewrapped = keyring_->RotateRoot(next);
  ASSERT_TRUE(rewrapped.has_value()) << rewrapped.error().message;
  EXPECT_EQ(*rewrapped, 2);
  EXPECT_EQ(keyring_->RootFingerprints(), std::vector<std::string>{next.Fingerprint()});
  auto opened = keyring_->Decrypt("aad", *env);
  ASSERT_TRUE(opened.has_value());
  EXPECT_TRUE(SameSecret(opened->plaintext, "plain"));

  auto fresh = OpenWith(next);
  ASSERT_NE(fresh, nullptr);
  opened = fresh->Decrypt("aad", *env);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  EXPECT_TRUE(SameSecret(opened->plaintext, "plain"));
  auto old_only = Keyring::Open(backend_, root_, clock_);
  ASSERT_FALSE(old_only.has_value());
  EXPECT_EQ(old_only.error().reason, Reason::kRootKeyMismatch);
}

// A rotation cut short leaves records under both root keys: a keyring opened
// with both reads all of them, a key rotated meanwhile ends up wholly under
// the new key, and RewrapUnderCurrentRoot finishes the job.
TEST_F(KeyringTest, HalfRotatedRecordsOpenWithBothRootsAndFinish) {
  ASSERT_TRUE(keyring_->CreateKey("a").has_value());
  ASSERT_TRUE(keyring_->CreateKey("b").has_value());
  auto env_a = keyring_->Encrypt("a", "x", "va");
  auto env_b = keyring_->Encrypt("b", "x", "vb");
  ASSERT_TRUE(env_a && env_b);
  RootKey next = RootKey::FromMaterial(crypto::RandomSecret(32));
  std::vector<RootKey> both{next, root_};
  auto k = Keyring::Open(backend_, both, clock_);
  ASSERT_TRUE(k.has_value()) << k.error().message;
  // "b" gets a version under the new root before the rewrap pass runs.
  ASSERT_TRUE((*k)->RotateKey("b").has_value());
  auto only_next = Keyring::Open(backend_, next, clock_);
  ASSERT_FALSE(only_next.has_value());  // "a" is still under the old root key
  auto n = (*k)->RewrapUnderCurrentRoot();
  ASSERT_TRUE(n.has_value()) << n.error().message;
  EXPECT_EQ(*n, 1);
  only_next = Keyring::Open(backend_, next, clock_);
  ASSERT_TRUE(only_next.has_value()) << only_next.error().message;
  auto a = (*only_next)->Decrypt("x", *env_a);
  auto b = (*only_next)->Decrypt("x", *env_b);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(SameSecret(a->plaintext, "va"));
  EXPECT_TRUE(SameSecret(b->plaintext, "vb"));
}

}  // namespace
}  // namespace coffer::keyring
