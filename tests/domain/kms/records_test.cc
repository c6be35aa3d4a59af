#include "domain/kms/internal/records.h"

#include <gtest/gtest.h>

namespace coffer::domain::kms::internal {
namespace {

// A key record decodes to the metadata it was encoded from.
TEST(KmsRecordsTest, KeyRecordRoundTrips) {
  KeyMetadata k;
  k.key_id = "11111111-1111-4111-8111-111111111111";
  k.arn = "arn:aws:kms:us-east-1:000000000000:key/" + k.key_id;
  k.description = "desc with \n newline and \xff byte";
  k.state = KeyState::kPendingDeletion;
  k.aws_managed = true;
  k.created = util::FromUnixMillis(1'700'000'000'123);
  auto d = DecodeKey(EncodeKey(k));
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(d->key_id, k.key_id);
  EXPECT_EQ(d->arn, k.arn);
  EXPECT_EQ(d->description, k.description);
  EXPECT_EQ(d->state, k.state);
  EXPECT_TRUE(d->aws_managed);
  EXPECT_EQ(d->created, k.created);
}

// An alias record decodes to what was encoded.
TEST(KmsRecordsTest, AliasRecordRoundTrips) {
  AliasRecord a{"key-id", util::FromUnixMillis(5), util::FromUnixMillis(6)};
  auto d = DecodeAlias(EncodeAlias(a));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->target_key_id, "key-id");
  EXPECT_EQ(d->created, util::FromUnixMillis(5));
  EXPECT_EQ(d->updated, util::FromUnixMillis(6));
}

// Fields with unknown tags (from a newer writer) are skipped.
TEST(KmsRecordsTest, UnknownFieldsAreSkipped) {
  AliasRecord a{"key-id", {}, {}};
  std::string data = EncodeAlias(a);
  data += std::string("\x63\x00\x00\x00\x02xy", 7);
  auto d = DecodeAlias(data);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->target_key_id, "key-id");
}

// Every truncation of a record fails with kDataLoss.
TEST(KmsRecordsTest, TruncatedRecordsFailWithDataLoss) {
  KeyMetadata k;
  k.key_id = "id";
  std::string data = EncodeKey(k);
  for (size_t n = 0; n < data.size(); ++n) {
    auto d = DecodeKey(data.substr(0, n));
    ASSERT_FALSE(d.has_value()) << n;
    EXPECT_EQ(d.error().code, ErrorCode::kDataLoss);
  }
  EXPECT_FALSE(DecodeAlias("").has_value());
  EXPECT_FALSE(DecodeAlias("\x02").has_value());
}

// Storage keys follow the documented layout.
TEST(KmsRecordsTest, StorageKeysUseDocumentedPrefixes) {
  EXPECT_EQ(KeyRecordKey("abc"), "kms/key/abc");
  EXPECT_EQ(AliasRecordKey("alias/aws/ssm"), "kms/alias/alias/aws/ssm");
}

}  // namespace
}  // namespace coffer::domain::kms::internal
