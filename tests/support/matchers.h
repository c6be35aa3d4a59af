// Test matchers shared by every test binary (header-only; tests/ is on each
// test's include path). Assert one specific error, as Abseil's matchers do.
//
//   EXPECT_TRUE(IsOk(store.Put(...)));                 // assertion form
//   EXPECT_THAT(store.Put(...), IsOk());               // gMock matcher form
//   EXPECT_THAT(store.Get("a"), IsOkAndHolds(Field(&Entry::value, "1")));
//   EXPECT_TRUE(HasError(r, ErrorCode::kNotFound, Reason::kParameterNotFound));
//
// On failure they print the error's code, reason and message (messages never
// hold secret values), never the value a Result holds: Result<SecretBytes> or a
// decrypted response prints nothing of its plaintext (see PrintTo in
// util/result.h). IsOkAndHolds passes on the inner matcher's explanation except
// for SecretBytes values.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <sstream>
#include <type_traits>

#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer {

namespace testing_internal {

template <class R>
void DescribeError(const R& r, std::ostream& os) {
  os << util::ErrorCodeName(r.error().code) << " reason " << static_cast<int>(r.error().reason)
     << ": " << r.error().message;
}

}  // namespace testing_internal

// Succeeds when `r` (a Result or Status) holds a value; otherwise prints the error.
template <class R>
::testing::AssertionResult IsOk(const R& r) {
  if (r.has_value()) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure();
  failure << "error ";
  std::ostringstream os;
  testing_internal::DescribeError(r, os);
  return failure << os.str();
}

// Succeeds when `r` failed with exactly `code` and `reason`; otherwise says
// what happened instead. Error messages never hold secret values, so printing
// them is safe.
template <class R>
::testing::AssertionResult HasError(const R& r, ErrorCode code, Reason reason = Reason::kNone) {
  if (r.has_value()) {
    return ::testing::AssertionFailure()
           << "expected " << util::ErrorCodeName(code) << ", but it succeeded";
  }
  if (r.error().code != code || r.error().reason != reason) {
    return ::testing::AssertionFailure()
           << "expected " << util::ErrorCodeName(code) << " reason " << static_cast<int>(reason)
           << ", got " << util::ErrorCodeName(r.error().code) << " reason "
           << static_cast<int>(r.error().reason) << ": " << r.error().message;
  }
  return ::testing::AssertionSuccess();
}

// gMock matcher: the Result or Status holds a value.
MATCHER(IsOk, "is OK") {
  if (arg.has_value()) return true;
  std::ostringstream os;
  testing_internal::DescribeError(arg, os);
  *result_listener << "which failed with " << os.str();
  return false;
}

namespace testing_internal {

template <class InnerMatcher>
class IsOkAndHoldsMatcher {
 public:
  explicit IsOkAndHoldsMatcher(InnerMatcher inner) : inner_(std::move(inner)) {}

  template <class R>
  operator ::testing::Matcher<const R&>() const {  // NOLINT(google-explicit-constructor)
    return ::testing::Matcher<const R&>(new Impl<R>(inner_));
  }

 private:
  template <class R>
  class Impl : public ::testing::MatcherInterface<const R&> {
   public:
    using Value = std::remove_cvref_t<decltype(*std::declval<const R&>())>;
    explicit Impl(const InnerMatcher& inner)
        : inner_(::testing::SafeMatcherCast<const Value&>(inner)) {}

    bool MatchAndExplain(const R& r, ::testing::MatchResultListener* listener) const override {
      if (!r.has_value()) {
        std::ostringstream os;
        DescribeError(r, os);
        *listener << "which failed with " << os.str();
        return false;
      }
      ::testing::StringMatchResultListener inner_listener;
      bool matched = inner_.MatchAndExplain(*r, &inner_listener);
      if (!matched) {
        *listener << "which is OK but holds a value that does not match";
        if constexpr (!std::is_same_v<Value, util::SecretBytes>) {
          if (!inner_listener.str().empty()) *listener << ", " << inner_listener.str();
        }
      }
      return matched;
    }
    void DescribeTo(std::ostream* os) const override {
      *os << "is OK and holds a value that ";
      inner_.DescribeTo(os);
    }
    void DescribeNegationTo(std::ostream* os) const override {
      *os << "is not OK, or holds a value that ";
      inner_.DescribeNegationTo(os);
    }

   private:
    ::testing::Matcher<const Value&> inner_;
  };

  InnerMatcher inner_;
};

}  // namespace testing_internal

// gMock matcher: the Result holds a value that `inner` matches (a matcher or a
// value to compare with ==).
template <class InnerMatcher>
testing_internal::IsOkAndHoldsMatcher<InnerMatcher> IsOkAndHolds(InnerMatcher inner) {
  return testing_internal::IsOkAndHoldsMatcher<InnerMatcher>(std::move(inner));
}

}  // namespace coffer
