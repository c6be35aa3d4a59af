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

// In a format-1 record (release 0.1), fields with unknown tags are skipped.
TEST(KmsRecordsTest, UnknownFieldsOfFormat1AreSkipped) {
  AliasRecord a{"key-id", {}, {}};
  std::string data = EncodeAliasFormat1ForTest(a);
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

// A key record as release 0.1 wrote it (format 1, no format-2 layout) reads
// with every field, and so does its alias record.
TEST(KmsRecordsTest, Format1RecordsOfTheFirstReleaseStillRead) {
  KeyMetadata k;
  k.key_id = "22222222-2222-4222-8222-222222222222";
  k.arn = "arn:aws:kms:us-east-1:000000000000:key/" + k.key_id;
  k.description = "old";
  k.state = KeyState::kPendingDeletion;
  k.created = util::FromUnixMillis(1'600'000'000'000);
  k.policy = R"({"Version":"2012-10-17"})";
  k.tags = {Tag{"env", "prod"}, Tag{"a", ""}};
  k.deletion_date = util::FromUnixMillis(1'600'000'100'000);
  k.pending_window_days = 7;
  k.rotation_enabled = true;
  k.rotation_period_days = 90;
  k.next_rotation = util::FromUnixMillis(1'600'000'200'000);
  k.last_rotated = util::FromUnixMillis(1'600'000'300'000);
  std::string old = EncodeKeyFormat1ForTest(k);
  ASSERT_EQ(old[0], '\x01');
  auto d = DecodeKey(old);
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(EncodeKey(*d), EncodeKey(k));  // every field carried over
  auto a = DecodeAlias(EncodeAliasFormat1ForTest({"key-id", util::FromUnixMillis(5),
                                                  util::FromUnixMillis(6)}));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->target_key_id, "key-id");
  EXPECT_EQ(a->updated, util::FromUnixMillis(6));
}

// Records are written in format 2, on the domain record codec.
TEST(KmsRecordsTest, RecordsAreWrittenInFormat2) {
  KeyMetadata k;
  k.key_id = "id";
  EXPECT_EQ(EncodeKey(k)[0], '\x02');
  EXPECT_EQ(EncodeAlias({"id", {}, {}})[0], '\x02');
}

// A record of a format newer than this server knows is refused with kDataLoss
// and a message naming the format, never misread.
TEST(KmsRecordsTest, NewerFormatIsRefusedNotMisread) {
  KeyMetadata k;
  k.key_id = "id";
  std::string data = EncodeKey(k);
  data[0] = '\x03';
  auto d = DecodeKey(data);
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(d.error().message.find("format 3, newer than this server reads"), std::string::npos)
      << d.error().message;
  std::string alias = EncodeAlias({"id", {}, {}});
  alias[0] = '\x07';
  auto a = DecodeAlias(alias);
  ASSERT_FALSE(a.has_value());
  EXPECT_NE(a.error().message.find("format 7"), std::string::npos);
}

// Every truncation of a format-2 key record with every optional field set
// fails with kDataLoss.
TEST(KmsRecordsTest, TruncatedFormat2RecordsFailWithDataLoss) {
  KeyMetadata k;
  k.key_id = "id";
  k.tags = {Tag{"k", "v"}};
  k.deletion_date = util::FromUnixMillis(1);
  k.next_rotation = util::FromUnixMillis(2);
  k.last_rotated = util::FromUnixMillis(3);
  std::string data = EncodeKey(k);
  for (size_t n = 0; n < data.size(); ++n) {
    auto d = DecodeKey(data.substr(0, n));
    ASSERT_FALSE(d.has_value()) << n;
    EXPECT_EQ(d.error().code, ErrorCode::kDataLoss);
  }
}

// Storage keys follow the documented layout.
TEST(KmsRecordsTest, StorageKeysUseDocumentedPrefixes) {
  EXPECT_EQ(KeyRecordKey("abc"), "kms/key/abc");
  EXPECT_EQ(AliasRecordKey("alias/aws/ssm"), "kms/alias/alias/aws/ssm");
}

}  // namespace
}  // namespace coffer::domain::kms::internal
