#include "domain/secrets/password.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

namespace coffer::domain::secrets {
namespace {

bool Has(std::string_view s, int (*pred)(int)) {
  for (char c : s) {
    if (pred(static_cast<unsigned char>(c))) return true;
  }
  return false;
}

int IsPunct(int c) {
  return kPasswordPunctuation.find(static_cast<char>(c)) != std::string_view::npos;
}

// The default password has 32 characters and one of each type.
TEST(PasswordTest, DefaultHasLength32AndEveryType) {
  for (int i = 0; i < 20; ++i) {
    auto p = GenerateRandomPassword(PasswordOptions{});
    ASSERT_TRUE(p.has_value());
    std::string_view s = p->Reveal();
    EXPECT_EQ(s.size(), 32u);
    EXPECT_TRUE(Has(s, std::isupper) && Has(s, std::islower) && Has(s, std::isdigit) &&
                Has(s, IsPunct));
    EXPECT_FALSE(Has(s, std::isspace));
  }
}

// Exclusions are honoured and the shortest password with four types works.
TEST(PasswordTest, ExclusionsAreHonoured) {
  PasswordOptions o;
  o.length = 4;
  auto p = GenerateRandomPassword(o);
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(Has(p->Reveal(), std::isupper) && Has(p->Reveal(), IsPunct));
  o.length = 200;
  o.exclude_punctuation = true;
  o.exclude_uppercase = true;
  o.exclude_characters = "abc0";
  p = GenerateRandomPassword(o);
  ASSERT_TRUE(p.has_value());
  for (char c : p->Reveal()) {
    EXPECT_TRUE(std::islower(static_cast<unsigned char>(c)) ||
                std::isdigit(static_cast<unsigned char>(c)));
    EXPECT_EQ(std::string_view("abc0").find(c), std::string_view::npos);
  }
}

// IncludeSpace may add spaces; lengths outside 1..4096 and impossible options fail.
TEST(PasswordTest, InvalidOptionsFail) {
  PasswordOptions o;
  o.length = 0;
  auto r = GenerateRandomPassword(o);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, Reason::kSecretInvalidParameter);
  o.length = 4097;
  EXPECT_FALSE(GenerateRandomPassword(o).has_value());
  o.length = 3;  // four required types
  EXPECT_FALSE(GenerateRandomPassword(o).has_value());
  o = PasswordOptions{};
  o.exclude_lowercase = o.exclude_uppercase = o.exclude_numbers = o.exclude_punctuation = true;
  EXPECT_FALSE(GenerateRandomPassword(o).has_value());
  o.include_space = true;
  auto spaces = GenerateRandomPassword(o);
  ASSERT_TRUE(spaces.has_value());
  EXPECT_EQ(spaces->Reveal(), std::string(32, ' '));
  PasswordOptions big;
  big.length = 4096;
  auto b = GenerateRandomPassword(big);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->size(), 4096u);
}

}  // namespace
}  // namespace coffer::domain::secrets
