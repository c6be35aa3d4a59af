// KmsCrypto: Encrypt/Decrypt/ReEncrypt/GenerateDataKey over real keyring
// envelopes, encryption context binding, key state rules and rotation.
#include "domain/kms/kms_crypto.h"

#include <gtest/gtest.h>

#include <string>

#include "kms_test_support.h"

namespace coffer::domain::kms {
namespace {

class KmsCryptoTest : public KmsFixture {
 protected:
  std::string Seal(const KeyMetadata& key, std::string_view text,
                   const EncryptionContext& ctx = {}) {
    auto r = crypto_->Encrypt(key.key_id, SecretBytes(text), ctx);
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return r.has_value() ? r->ciphertext_blob : std::string();
  }
};

// Encrypt then Decrypt without a KeyId returns the plaintext and the key ARN.
TEST_F(KmsCryptoTest, DecryptFindsKeyFromCiphertext) {
  KeyMetadata key = NewKey();
  auto enc = crypto_->Encrypt(key.key_id, SecretBytes("hello"), {});
  ASSERT_TRUE(enc.has_value());
  EXPECT_EQ(enc->key_arn, key.arn);
  EXPECT_TRUE(enc->ciphertext_blob.starts_with(kCiphertextMagic));
  auto dec = crypto_->Decrypt(enc->ciphertext_blob, {}, std::nullopt);
  ASSERT_TRUE(dec.has_value()) << dec.error().message;
  EXPECT_TRUE(dec->plaintext.Equals(SecretBytes("hello")));
  EXPECT_EQ(dec->key_arn, key.arn);
}

// Encrypt accepts every KeyId form, including a managed alias created on first use.
TEST_F(KmsCryptoTest, EncryptAcceptsAliasArnAndManagedAlias) {
  KeyMetadata key = NewKey();
  ASSERT_TRUE(dir_->CreateAlias("alias/app", key.key_id).has_value());
  for (std::string id : {key.arn, std::string("alias/app"),
                         std::string("arn:aws:kms:us-east-1:000000000000:alias/app")}) {
    auto enc = crypto_->Encrypt(id, SecretBytes("x"), {});
    ASSERT_TRUE(enc.has_value()) << id;
    EXPECT_EQ(enc->key_arn, key.arn);
  }
  auto managed = crypto_->Encrypt("alias/aws/ssm", SecretBytes("x"), {});
  ASSERT_TRUE(managed.has_value());
  EXPECT_EQ(managed->key_arn, dir_->DescribeKey("alias/aws/ssm")->arn);
}

// Plaintext must be 1..4096 bytes.
TEST_F(KmsCryptoTest, EncryptRejectsEmptyAndOversizedPlaintext) {
  KeyMetadata key = NewKey();
  EXPECT_TRUE(HasError(crypto_->Encrypt(key.key_id, SecretBytes(""), {}), ErrorCode::kInvalidArgument,
                    Reason::kValidation));
  EXPECT_TRUE(HasError(crypto_->Encrypt(key.key_id, SecretBytes(std::string(4097, 'x')), {}),
                    ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_TRUE(crypto_->Encrypt(key.key_id, SecretBytes(std::string(4096, 'x')), {}).has_value());
}

// The encryption context must match exactly; its order does not matter.
TEST_F(KmsCryptoTest, EncryptionContextIsBoundAndOrderIndependent) {
  KeyMetadata key = NewKey();
  EncryptionContext ctx = {{"app", "orders"}, {"env", "prod"}};
  std::string blob = Seal(key, "secret", ctx);
  EncryptionContext same = {{"env", "prod"}, {"app", "orders"}};
  EXPECT_TRUE(crypto_->Decrypt(blob, same, std::nullopt).has_value());
  EXPECT_TRUE(HasError(crypto_->Decrypt(blob, {}, std::nullopt), ErrorCode::kInvalidArgument,
                    Reason::kKmsInvalidCiphertext));
  EXPECT_TRUE(HasError(crypto_->Decrypt(blob, {{"app", "orders"}, {"env", "Prod"}}, std::nullopt),
                    ErrorCode::kInvalidArgument, Reason::kKmsInvalidCiphertext));
  EXPECT_TRUE(HasError(crypto_->Decrypt(blob, {{"app", "orders"}}, std::nullopt),
                    ErrorCode::kInvalidArgument, Reason::kKmsInvalidCiphertext));
  // Length prefixes: moving a boundary between key and value changes the context.
  EXPECT_NE(CanonicalContext({{"ab", "c"}}), CanonicalContext({{"a", "bc"}}));
}

// A ciphertext made under one key is refused when Decrypt names another key.
TEST_F(KmsCryptoTest, DecryptWithOtherKeyIdFailsWithIncorrectKey) {
  KeyMetadata a = NewKey();
  KeyMetadata b = NewKey();
  std::string blob = Seal(a, "secret");
  EXPECT_TRUE(HasError(crypto_->Decrypt(blob, {}, b.key_id), ErrorCode::kInvalidArgument,
                    Reason::kKmsIncorrectKey));
  EXPECT_TRUE(crypto_->Decrypt(blob, {}, a.arn).has_value());
  EXPECT_TRUE(HasError(crypto_->Decrypt(blob, {}, "11111111-2222-3333-4444-555555555555"),
                    ErrorCode::kNotFound, Reason::kInvalidKeyId));
}

// Any altered byte, a truncated blob or a foreign blob is InvalidCiphertext.
TEST_F(KmsCryptoTest, TamperedOrForeignCiphertextFailsWithInvalidCiphertext) {
  KeyMetadata key = NewKey();
  std::string blob = Seal(key, "secret");
  for (size_t i = 0; i < blob.size(); i += 7) {
    std::string bad = blob;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_TRUE(HasError(crypto_->Decrypt(bad, {}, std::nullopt), ErrorCode::kInvalidArgument,
                      Reason::kKmsInvalidCiphertext))
        << "byte " << i;
  }
  EXPECT_TRUE(HasError(crypto_->Decrypt(blob.substr(0, blob.size() - 1), {}, std::nullopt),
                    ErrorCode::kInvalidArgument, Reason::kKmsInvalidCiphertext));
  EXPECT_TRUE(HasError(crypto_->Decrypt("garbage", {}, std::nullopt), ErrorCode::kInvalidArgument,
                    Reason::kKmsInvalidCiphertext));
  // A keyring envelope made for another record kind does not open as KMS ciphertext.
  auto other = keyring_->Encrypt(key.key_id, "ssm/param/x/1", "secret");
  ASSERT_TRUE(other.has_value());
  EXPECT_TRUE(HasError(crypto_->Decrypt(std::string(kCiphertextMagic) + *other, {}, std::nullopt),
                    ErrorCode::kInvalidArgument, Reason::kKmsInvalidCiphertext));
}

// A ciphertext whose embedded key id is swapped for another existing key fails the tag.
TEST_F(KmsCryptoTest, CiphertextWithSwappedKeyIdFails) {
  KeyMetadata a = NewKey();
  KeyMetadata b = NewKey();
  std::string blob = Seal(a, "secret");
  ASSERT_EQ(a.key_id.size(), b.key_id.size());
  size_t at = blob.find(a.key_id);
  ASSERT_NE(at, std::string::npos);
  blob.replace(at, b.key_id.size(), b.key_id);
  EXPECT_TRUE(HasError(crypto_->Decrypt(blob, {}, std::nullopt), ErrorCode::kInvalidArgument,
                    Reason::kKmsInvalidCiphertext));
}

// Disabled keys refuse crypto with Disabled; pending-deletion keys with KMSInvalidState.
TEST_F(KmsCryptoTest, KeyStateRulesForCrypto) {
  KeyMetadata key = NewKey();
  std::string blob = Seal(key, "secret");
  ASSERT_TRUE(dir_->DisableKey(key.key_id).has_value());
  EXPECT_TRUE(HasError(crypto_->Encrypt(key.key_id, SecretBytes("x"), {}),
                    ErrorCode::kFailedPrecondition, Reason::kKeyDisabled));
  EXPECT_TRUE(HasError(crypto_->Decrypt(blob, {}, std::nullopt), ErrorCode::kFailedPrecondition,
                    Reason::kKeyDisabled));
  ASSERT_TRUE(dir_->ScheduleKeyDeletion(key.key_id, 7).has_value());
  EXPECT_TRUE(HasError(crypto_->Encrypt(key.key_id, SecretBytes("x"), {}),
                    ErrorCode::kFailedPrecondition, Reason::kKmsInvalidState));
  EXPECT_TRUE(HasError(crypto_->Decrypt(blob, {}, std::nullopt), ErrorCode::kFailedPrecondition,
                    Reason::kKmsInvalidState));
  EXPECT_TRUE(HasError(crypto_->GenerateDataKey(key.key_id, 32, {}), ErrorCode::kFailedPrecondition,
                    Reason::kKmsInvalidState));
}

// After rotation old ciphertexts decrypt and new ones use the new version.
TEST_F(KmsCryptoTest, RotationKeepsOldCiphertextsDecryptable) {
  KeyMetadata key = NewKey();
  ASSERT_TRUE(dir_->EnableKeyRotation(key.key_id, 90).has_value());
  std::string old_blob = Seal(key, "before");
  auto old_ref = keyring::Keyring::Inspect(old_blob.substr(kCiphertextMagic.size()));
  ASSERT_TRUE(old_ref.has_value());
  EXPECT_EQ(old_ref->version, 1u);

  clock_.Advance(Days(90));
  ASSERT_EQ(*dir_->RunDueRotations(clock_.Now()), 1);
  ASSERT_TRUE(dir_->RotateKeyOnDemand(key.key_id).has_value());

  std::string new_blob = Seal(key, "after");
  auto new_ref = keyring::Keyring::Inspect(new_blob.substr(kCiphertextMagic.size()));
  ASSERT_TRUE(new_ref.has_value());
  EXPECT_EQ(new_ref->version, 3u);
  auto old_dec = crypto_->Decrypt(old_blob, {}, std::nullopt);
  ASSERT_TRUE(old_dec.has_value()) << old_dec.error().message;
  EXPECT_TRUE(old_dec->plaintext.Equals(SecretBytes("before")));
  auto new_dec = crypto_->Decrypt(new_blob, {}, key.key_id);
  ASSERT_TRUE(new_dec.has_value());
  EXPECT_TRUE(new_dec->plaintext.Equals(SecretBytes("after")));
}

// ReEncrypt moves a ciphertext to another key and context.
TEST_F(KmsCryptoTest, ReEncryptMovesToDestinationKeyAndContext) {
  KeyMetadata a = NewKey();
  KeyMetadata b = NewKey();
  std::string blob = Seal(a, "payload", {{"k", "1"}});
  auto re = crypto_->ReEncrypt(blob, {{"k", "1"}}, std::nullopt, b.arn, {{"k", "2"}});
  ASSERT_TRUE(re.has_value()) << re.error().message;
  EXPECT_EQ(re->source_key_arn, a.arn);
  EXPECT_EQ(re->key_arn, b.arn);
  EXPECT_TRUE(HasError(crypto_->Decrypt(re->ciphertext_blob, {{"k", "2"}}, a.key_id),
                    ErrorCode::kInvalidArgument, Reason::kKmsIncorrectKey));
  auto dec = crypto_->Decrypt(re->ciphertext_blob, {{"k", "2"}}, std::nullopt);
  ASSERT_TRUE(dec.has_value());
  EXPECT_TRUE(dec->plaintext.Equals(SecretBytes("payload")));
  // Wrong source context or source key.
  EXPECT_TRUE(HasError(crypto_->ReEncrypt(blob, {}, std::nullopt, b.key_id, {}),
                    ErrorCode::kInvalidArgument, Reason::kKmsInvalidCiphertext));
  EXPECT_TRUE(HasError(crypto_->ReEncrypt(blob, {{"k", "1"}}, b.key_id, b.key_id, {}),
                    ErrorCode::kInvalidArgument, Reason::kKmsIncorrectKey));
}

// GenerateDataKey returns a key of the asked size whose blob decrypts to it.
TEST_F(KmsCryptoTest, GenerateDataKeyBlobDecryptsToPlaintext) {
  KeyMetadata key = NewKey();
  auto dk = crypto_->GenerateDataKey(key.key_id, 32, {{"purpose", "files"}});
  ASSERT_TRUE(dk.has_value());
  EXPECT_EQ(dk->plaintext.size(), 32u);
  auto dec = crypto_->Decrypt(dk->ciphertext_blob, {{"purpose", "files"}}, std::nullopt);
  ASSERT_TRUE(dec.has_value());
  EXPECT_TRUE(dec->plaintext.Equals(dk->plaintext));
  EXPECT_TRUE(HasError(crypto_->GenerateDataKey(key.key_id, 0, {}), ErrorCode::kInvalidArgument,
                    Reason::kValidation));
  EXPECT_TRUE(HasError(crypto_->GenerateDataKey(key.key_id, 1025, {}), ErrorCode::kInvalidArgument,
                    Reason::kValidation));
}

// GenerateRandom returns the asked number of bytes, 1..1024.
TEST_F(KmsCryptoTest, GenerateRandomSizes) {
  auto r = KmsCrypto::GenerateRandom(64);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->size(), 64u);
  EXPECT_FALSE(r->Equals(*KmsCrypto::GenerateRandom(64)));
  EXPECT_TRUE(
      HasError(KmsCrypto::GenerateRandom(0), ErrorCode::kInvalidArgument, Reason::kValidation));
}

// Decrypt of a ciphertext whose key was deleted is InvalidCiphertext.
TEST_F(KmsCryptoTest, CiphertextOfDeletedKeyFailsWithInvalidCiphertext) {
  KeyMetadata key = NewKey();
  std::string blob = Seal(key, "secret");
  ASSERT_TRUE(dir_->ScheduleKeyDeletion(key.key_id, 7).has_value());
  clock_.Advance(Days(7));
  ASSERT_EQ(*dir_->RunDueDeletions(clock_.Now()), 1);
  EXPECT_TRUE(HasError(crypto_->Decrypt(blob, {}, std::nullopt), ErrorCode::kInvalidArgument,
                    Reason::kKmsInvalidCiphertext));
}

// Damaged key material (it no longer opens under the root key) is reported as
// such, kDataLoss / kKeyMaterialDamaged, not as an invalid ciphertext, and never
// yields a plaintext; another key keeps working.
TEST_F(KmsCryptoTest, DamagedKeyMaterialFailsWithKeyMaterialDamaged) {
  KeyMetadata key = NewKey();
  KeyMetadata other = NewKey();
  auto enc = crypto_->Encrypt(key.key_id, SecretBytes("hello"), {});
  auto fine = crypto_->Encrypt(other.key_id, SecretBytes("fine"), {});
  ASSERT_TRUE(enc.has_value() && fine.has_value());
  auto entry = backend_.Get("keyring/" + key.key_id);
  ASSERT_TRUE(entry.has_value());
  std::string bad = entry->value;
  bad[bad.size() - 5] = static_cast<char>(bad[bad.size() - 5] ^ 1);
  storage::Txn txn;
  txn.writes.push_back(storage::Write::Put("keyring/" + key.key_id, bad));
  ASSERT_TRUE(backend_.Commit(txn).has_value());
  // A server starting on this store: the keyring opens, the damaged key is left out.
  auto reopened = keyring::Keyring::Open(backend_, root_, clock_);
  ASSERT_TRUE(reopened.has_value());
  KeyDirectory dir(backend_, **reopened, clock_, ids_, "us-east-1", "000000000000");
  KmsCrypto crypto(dir, **reopened);
  EXPECT_TRUE(HasError(crypto.Decrypt(enc->ciphertext_blob, {}, std::nullopt),
                       ErrorCode::kDataLoss, Reason::kKeyMaterialDamaged));
  EXPECT_TRUE(HasError(crypto.Encrypt(key.key_id, SecretBytes("x"), {}), ErrorCode::kDataLoss,
                       Reason::kKeyMaterialDamaged));
  auto ok = crypto.Decrypt(fine->ciphertext_blob, {}, std::nullopt);
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(ok->plaintext.Equals(SecretBytes("fine")));
}

}  // namespace
}  // namespace coffer::domain::kms
