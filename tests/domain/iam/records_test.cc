// Tests of the IAM record codecs: records written by earlier releases still
// read, the current format round-trips, and a record of a newer release is
// refused rather than misread.
#include "domain/iam/internal/records.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "support/matchers.h"
#include "util/encoding.h"

namespace coffer::domain::iam::internal {
namespace {

// Records as release 0.1.0 (db37f97) wrote them, hex: the encoders of that
// release run on the values that the tests below expect.
constexpr std::string_view kUserFormat1 =
    "0105000000616c6963650b000000414944414558414d504c452800000061726e3a6177733a69616d"
    "3a3a3030303030303030303030303a757365722f6465762f616c696365050000002f6465762f7b68"
    "e5cf8b01000001";
constexpr std::string_view kUserFormat2 =
    "0205000000616c6963650b000000414944414558414d504c452800000061726e3a6177733a69616d"
    "3a3a3030303030303030303030303a757365722f6465762f616c696365050000002f6465762f7b68"
    "e5cf8b0100000101000000040000007465616d03000000726564";
constexpr std::string_view kGroupFormat1 =
    "0104000000646576730b000000414750414558414d504c452400000061726e3a6177733a69616d3a"
    "3a3030303030303030303030303a67726f75702f64657673010000002f7b68e5cf8b010000";
constexpr std::string_view kRoleFormat1 =
    "010200000063690b00000041524f414558414d504c452100000061726e3a6177733a69616d3a3a30"
    "30303030303030303030303a726f6c652f6369010000002f7b68e5cf8b010000020000007b7d0100"
    "000064201c000001000000010000006b0100000076";
constexpr std::string_view kProfileFormat1 =
    "010400000070726f660b000000414950414558414d504c452f00000061726e3a6177733a69616d3a"
    "3a3030303030303030303030303a696e7374616e63652d70726f66696c652f70726f66010000002f"
    "7b68e5cf8b010000010000000200000063690100000001000000610100000062";
constexpr std::string_view kPolicyFormat1 =
    "0104000000726561640b000000414e50414558414d504c452500000061726e3a6177733a69616d3a"
    "3a3030303030303030303030303a706f6c6963792f72656164010000002f01000000720200000076"
    "327b68e5cf8b0100007b68e5cf8b0100000300000001000000010000007801000000790200000002"
    "0000007631070000007b2261223a317d7b68e5cf8b010000020000007632070000007b2262223a32"
    "7d7b68e5cf8b010000";
constexpr std::string_view kOidcFormat1 =
    "011900000068747470733a2f2f746f6b656e2e6578616d706c652e636f6d3900000061726e3a6177"
    "733a69616d3a3a3030303030303030303030303a6f6964632d70726f76696465722f746f6b656e2e"
    "6578616d706c652e636f6d01000000110000007374732e616d617a6f6e6177732e636f6d01000000"
    "28000000303132333435363738396162636465663031323334353637383961626364656630313233"
    "343536377b68e5cf8b01000001000000010000006f0100000070";
constexpr std::string_view kAccessKeyFormat1 =
    "010b000000414b49414558414d504c4505000000616c696365060000005345414c4544007b68e5cf"
    "8b010000";
constexpr std::string_view kSessionFormat1 =
    "010b000000415349414558414d504c450200000063690b00000041524f414558414d504c45050000"
    "006275696c640200000053310200000054317b68e5cf8b010000fb561cd08b010000240000006172"
    "6e3a6177733a69616d3a3a3030303030303030303030303a757365722f616c69636511000000746f"
    "6b656e2e6578616d706c652e636f6d060000007265706f3a78020000006d65010000001500000074"
    "6f6b656e2e6578616d706c652e636f6d3a73756201000000060000007265706f3a78";

std::string Bytes(std::string_view hex) {
  auto bytes = util::HexDecode(hex);
  EXPECT_TRUE(bytes.has_value());
  return bytes.value_or("");
}

const util::SystemTime kCreated = util::FromUnixMillis(1700000000123);

// A user record of format 1 (before tags) reads, with no tags.
TEST(IamRecordsTest, UserOfFormat1ReadsWithoutTags) {
  auto u = DecodeUser("iam/user/alice", Bytes(kUserFormat1));
  ASSERT_TRUE(u.has_value()) << u.error().message;
  EXPECT_EQ(u->name, "alice");
  EXPECT_EQ(u->user_id, "AIDAEXAMPLE");
  EXPECT_EQ(u->arn, "arn:aws:iam::000000000000:user/dev/alice");
  EXPECT_EQ(u->path, "/dev/");
  EXPECT_EQ(u->created, kCreated);
  EXPECT_TRUE(u->is_admin);
  EXPECT_TRUE(u->tags.empty());
}

// A user record of format 2 (the last of the old layout) reads with its tags,
// and writing it again gives the current format, which reads the same.
TEST(IamRecordsTest, UserOfFormat2ReadsAndRewritesInTheCurrentFormat) {
  auto u = DecodeUser("iam/user/alice", Bytes(kUserFormat2));
  ASSERT_TRUE(u.has_value()) << u.error().message;
  ASSERT_EQ(u->tags.size(), 1u);
  EXPECT_EQ(u->tags[0].key, "team");
  EXPECT_EQ(u->tags[0].value, "red");
  std::string rewritten = EncodeUser(*u);
  EXPECT_EQ(static_cast<uint8_t>(rewritten[0]), 3);
  auto again = DecodeUser("iam/user/alice", rewritten);
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(again->arn, u->arn);
  EXPECT_EQ(again->created, kCreated);
  EXPECT_EQ(again->tags[0].value, "red");
}

// Every other record kind of the old layout (format 1) reads, field by field.
TEST(IamRecordsTest, OldRecordsOfEveryKindRead) {
  auto g = DecodeGroup("iam/group/devs", Bytes(kGroupFormat1));
  ASSERT_TRUE(g.has_value()) << g.error().message;
  EXPECT_EQ(g->arn, "arn:aws:iam::000000000000:group/devs");
  EXPECT_EQ(g->created, kCreated);

  auto r = DecodeRole("iam/role/ci", Bytes(kRoleFormat1));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->assume_role_policy, "{}");
  EXPECT_EQ(r->description, "d");
  EXPECT_EQ(r->max_session_duration, 7200);
  ASSERT_EQ(r->tags.size(), 1u);

  auto p = DecodeProfile("iam/profile/prof", Bytes(kProfileFormat1));
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->profile.arn, "arn:aws:iam::000000000000:instance-profile/prof");
  EXPECT_EQ(p->role_names, std::vector<std::string>{"ci"});

  auto pol = DecodePolicy("iam/policy/read", Bytes(kPolicyFormat1));
  ASSERT_TRUE(pol.has_value()) << pol.error().message;
  EXPECT_EQ(pol->next_version, 3u);
  EXPECT_EQ(pol->policy.default_version_id, "v2");
  ASSERT_EQ(pol->policy.versions.size(), 2u);
  EXPECT_FALSE(pol->policy.versions[0].is_default);
  EXPECT_EQ(pol->policy.versions[1].document, "{\"b\":2}");
  EXPECT_TRUE(pol->policy.versions[1].is_default);

  auto o = DecodeOidc("iam/oidc/token.example.com", Bytes(kOidcFormat1));
  ASSERT_TRUE(o.has_value()) << o.error().message;
  EXPECT_EQ(o->url, "https://token.example.com");
  EXPECT_EQ(o->client_ids, std::vector<std::string>{"sts.amazonaws.com"});
  EXPECT_EQ(o->thumbprints[0], "0123456789abcdef0123456789abcdef01234567");

  auto k = DecodeAccessKey("iam/akid/AKIAEXAMPLE", Bytes(kAccessKeyFormat1));
  ASSERT_TRUE(k.has_value()) << k.error().message;
  EXPECT_EQ(k->user_name, "alice");
  EXPECT_EQ(k->sealed_secret, "SEALED");
  EXPECT_FALSE(k->active);

  auto s = DecodeSession("iam/session/ASIAEXAMPLE", Bytes(kSessionFormat1));
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->session_name, "build");
  EXPECT_EQ(s->expiration, kCreated + std::chrono::hours(1));
  EXPECT_EQ(s->source_identity, "me");
  EXPECT_EQ(s->condition_keys.at("token.example.com:sub"), std::vector<std::string>{"repo:x"});
}

// Records rewritten in the current format read back equal (format 2, or 3 for
// a user).
TEST(IamRecordsTest, CurrentFormatRoundTripsEveryKind) {
  auto pol = DecodePolicy("k", Bytes(kPolicyFormat1));
  ASSERT_TRUE(pol.has_value());
  std::string bytes = EncodePolicy(*pol);
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), 2);
  auto again = DecodePolicy("k", bytes);
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(again->policy.arn, pol->policy.arn);
  EXPECT_EQ(again->next_version, 3u);
  EXPECT_EQ(again->policy.versions[1].created, kCreated);

  auto s = DecodeSession("k", Bytes(kSessionFormat1));
  ASSERT_TRUE(s.has_value());
  auto s2 = DecodeSession("k", EncodeSession(*s));
  ASSERT_TRUE(s2.has_value()) << s2.error().message;
  EXPECT_EQ(s2->condition_keys, s->condition_keys);
  EXPECT_EQ(s2->expiration, s->expiration);

  auto o = DecodeOidc("k", Bytes(kOidcFormat1));
  ASSERT_TRUE(o.has_value());
  auto o2 = DecodeOidc("k", EncodeOidc(*o));
  ASSERT_TRUE(o2.has_value()) << o2.error().message;
  EXPECT_EQ(o2->thumbprints, o->thumbprints);

  auto r = DecodeRole("k", Bytes(kRoleFormat1));
  ASSERT_TRUE(r.has_value());
  auto r2 = DecodeRole("k", EncodeRole(*r));
  ASSERT_TRUE(r2.has_value()) << r2.error().message;
  EXPECT_EQ(r2->max_session_duration, 7200);

  auto k = DecodeAccessKey("k", Bytes(kAccessKeyFormat1));
  ASSERT_TRUE(k.has_value());
  auto k2 = DecodeAccessKey("k", EncodeAccessKey(*k));
  ASSERT_TRUE(k2.has_value()) << k2.error().message;
  EXPECT_EQ(k2->sealed_secret, "SEALED");

  auto p = DecodeProfile("k", Bytes(kProfileFormat1));
  ASSERT_TRUE(p.has_value());
  auto p2 = DecodeProfile("k", EncodeProfile(*p));
  ASSERT_TRUE(p2.has_value()) << p2.error().message;
  EXPECT_EQ(p2->role_names, p->role_names);

  auto g = DecodeGroup("k", Bytes(kGroupFormat1));
  ASSERT_TRUE(g.has_value());
  auto g2 = DecodeGroup("k", EncodeGroup(*g));
  ASSERT_TRUE(g2.has_value()) << g2.error().message;
  EXPECT_EQ(g2->group_id, "AGPAEXAMPLE");
}

// A record whose format number is newer than this release knows (a later
// release wrote it) is refused with kDataLoss and a message naming the format,
// not read with the wrong layout.
TEST(IamRecordsTest, RecordOfANewerFormatIsRefusedNotMisread) {
  User u;
  u.name = "alice";
  std::string bytes = EncodeUser(u);
  bytes[0] = 4;
  auto r = DecodeUser("iam/user/alice", bytes);
  EXPECT_TRUE(HasError(r, ErrorCode::kDataLoss));
  EXPECT_NE(r.error().message.find("has format 4, newer than this release reads"),
            std::string::npos)
      << r.error().message;

  std::string group = EncodeGroup(Group{});
  group[0] = 3;
  EXPECT_TRUE(HasError(DecodeGroup("iam/group/g", group), ErrorCode::kDataLoss));
  // Format 0 is no format.
  group[0] = 0;
  EXPECT_TRUE(HasError(DecodeGroup("iam/group/g", group), ErrorCode::kDataLoss));
  EXPECT_TRUE(HasError(DecodeGroup("iam/group/g", ""), ErrorCode::kDataLoss));
}

// Truncated or trailing bytes in either layout are kDataLoss.
TEST(IamRecordsTest, TruncatedRecordsOfEitherLayoutAreDataLoss) {
  std::string old = Bytes(kRoleFormat1);
  EXPECT_TRUE(HasError(DecodeRole("k", old.substr(0, old.size() - 1)), ErrorCode::kDataLoss));
  EXPECT_TRUE(HasError(DecodeRole("k", old + "x"), ErrorCode::kDataLoss));
  auto role = DecodeRole("k", old);
  ASSERT_TRUE(role.has_value());
  std::string current = EncodeRole(*role);
  EXPECT_TRUE(
      HasError(DecodeRole("k", current.substr(0, current.size() - 1)), ErrorCode::kDataLoss));
  EXPECT_TRUE(HasError(DecodeRole("k", current + "x"), ErrorCode::kDataLoss));
}

}  // namespace
}  // namespace coffer::domain::iam::internal
