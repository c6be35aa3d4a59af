// Result/Status: [[nodiscard]], IgnoreError, how a Result prints, and the
// shared test matchers (support/matchers.h) -- in particular that a failing
// match on a Result<SecretBytes> or Result<std::string> prints nothing of the
// value.
#include "util/result.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <type_traits>

#include "support/matchers.h"
#include "util/secret_bytes.h"

namespace coffer::util {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kCanary[] = "canary-result-9d2f";

Result<int> Answer() { return 42; }
Result<int> Broken() { return Fail(ErrorCode::kNotFound, "no such thing", Reason::kKeyNotFound); }
Status Done() { return Ok(); }

template <class M, class V>
std::string Explain(const M& matcher, const V& value) {
  ::testing::StringMatchResultListener listener;
  ::testing::Matcher<const V&> m = matcher;
  EXPECT_FALSE(m.MatchAndExplain(value, &listener));
  std::ostringstream describe;
  m.DescribeTo(&describe);
  return describe.str() + " / " + listener.str() + " / " + ::testing::PrintToString(value);
}

TEST(ResultTest, IsNodiscard) {
  // The attribute is on the class, so every function returning one is checked.
  static_assert(std::is_base_of_v<std::expected<int, Error>, Result<int>>);
  IgnoreError(Done(), "a test of IgnoreError itself");
  EXPECT_TRUE(Answer().has_value());
}

TEST(ResultTest, ConvertsFromStdExpected) {
  std::expected<int, Error> plain = 7;
  Result<int> r = plain;
  EXPECT_EQ(*r, 7);
}

TEST(ResultTest, PrintsTheErrorNeverTheValue) {
  Result<std::string> held = std::string(kCanary);
  EXPECT_THAT(::testing::PrintToString(held), Not(HasSubstr(kCanary)));
  EXPECT_THAT(::testing::PrintToString(Broken()), HasSubstr("NotFound"));
  EXPECT_THAT(::testing::PrintToString(Broken()), HasSubstr("no such thing"));
}

TEST(ResultMatchersTest, IsOkMatchesValuesAndStatus) {
  EXPECT_THAT(Answer(), IsOk());
  EXPECT_THAT(Done(), IsOk());
  EXPECT_THAT(Broken(), Not(IsOk()));
  EXPECT_TRUE(IsOk(Answer()));
  EXPECT_FALSE(IsOk(Broken()));
  EXPECT_THAT(Explain(IsOk(), Broken()), HasSubstr("no such thing"));
}

TEST(ResultMatchersTest, IsOkAndHoldsMatchesTheValue) {
  EXPECT_THAT(Answer(), IsOkAndHolds(42));
  EXPECT_THAT(Answer(), IsOkAndHolds(::testing::Gt(40)));
  EXPECT_THAT(Answer(), Not(IsOkAndHolds(41)));
  EXPECT_THAT(Broken(), Not(IsOkAndHolds(42)));
  std::string explained = Explain(IsOkAndHolds(42), Broken());
  EXPECT_THAT(explained, HasSubstr("NotFound"));
  EXPECT_THAT(explained, HasSubstr("no such thing"));
}

// A failed match on a held secret prints neither the secret nor its bytes.
TEST(ResultMatchersTest, FailureOutputNeverHoldsASecretValue) {
  Result<SecretBytes> secret = SecretBytes(kCanary);
  std::string explained = Explain(
      IsOkAndHolds(::testing::Truly([](const SecretBytes& s) { return s.empty(); })), secret);
  EXPECT_THAT(explained, Not(HasSubstr(kCanary)));
  Result<std::string> plain = std::string(kCanary);
  explained = Explain(Not(IsOk()), plain);
  EXPECT_THAT(explained, Not(HasSubstr(kCanary)));
}

}  // namespace
}  // namespace coffer::util
