#include "crypto/x25519.h"

#include <gtest/gtest.h>

#include <string>

#include "crypto/crypto.h"
#include "support/matchers.h"
#include "util/encoding.h"

namespace coffer::crypto {
namespace {

std::string Unhex(std::string_view hex) {
  auto r = util::HexDecode(hex);
  EXPECT_TRUE(r.has_value());
  return r.value_or("");
}

// RFC 7748 section 6.1 test vector.
constexpr std::string_view kAlicePrivate =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
constexpr std::string_view kAlicePublic =
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
constexpr std::string_view kBobPrivate =
    "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
constexpr std::string_view kBobPublic =
    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
constexpr std::string_view kShared =
    "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

// The public key of each RFC 7748 private key is the published one.
TEST(X25519Test, PublicKeyMatchesRfc7748) {
  auto alice = X25519PublicKey(SecretBytes(Unhex(kAlicePrivate)));
  ASSERT_TRUE(IsOk(alice));
  EXPECT_EQ(util::HexEncode(*alice), kAlicePublic);
  auto bob = X25519PublicKey(SecretBytes(Unhex(kBobPrivate)));
  ASSERT_TRUE(IsOk(bob));
  EXPECT_EQ(util::HexEncode(*bob), kBobPublic);
}

// Both sides of the RFC 7748 exchange derive the published shared secret.
TEST(X25519Test, SharedSecretMatchesRfc7748FromBothSides) {
  auto a = X25519SharedSecret(SecretBytes(Unhex(kAlicePrivate)), Unhex(kBobPublic));
  auto b = X25519SharedSecret(SecretBytes(Unhex(kBobPrivate)), Unhex(kAlicePublic));
  ASSERT_TRUE(IsOk(a));
  ASSERT_TRUE(IsOk(b));
  EXPECT_TRUE(ConstantTimeEquals(a->Reveal(), Unhex(kShared)));
  EXPECT_TRUE(a->Equals(*b));
}

// Generated pairs are fresh, consistent, and agree with each other.
TEST(X25519Test, GeneratedPairsAgree) {
  X25519KeyPair a = X25519Generate();
  X25519KeyPair b = X25519Generate();
  ASSERT_EQ(a.private_key.size(), kX25519KeySize);
  ASSERT_EQ(a.public_key.size(), kX25519KeySize);
  EXPECT_NE(a.public_key, b.public_key);
  auto pub = X25519PublicKey(a.private_key);
  ASSERT_TRUE(IsOk(pub));
  EXPECT_EQ(*pub, a.public_key);
  auto ab = X25519SharedSecret(a.private_key, b.public_key);
  auto ba = X25519SharedSecret(b.private_key, a.public_key);
  ASSERT_TRUE(IsOk(ab));
  ASSERT_TRUE(IsOk(ba));
  EXPECT_TRUE(ab->Equals(*ba));
}

// A low-order peer point (here the all-zero point) gives an all-zero secret: refused.
TEST(X25519Test, LowOrderPeerKeyIsRefused) {
  X25519KeyPair a = X25519Generate();
  EXPECT_TRUE(HasError(X25519SharedSecret(a.private_key, std::string(32, '\0')),
                       ErrorCode::kInvalidArgument, Reason::kMalformedInput));
  // The point of order 8 from the Curve25519 low-order list.
  EXPECT_TRUE(HasError(
      X25519SharedSecret(a.private_key,
                         Unhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")),
      ErrorCode::kInvalidArgument, Reason::kMalformedInput));
}

// Keys of the wrong length are refused, not truncated or padded.
TEST(X25519Test, WrongKeyLengthsAreRefused) {
  X25519KeyPair a = X25519Generate();
  EXPECT_TRUE(HasError(X25519PublicKey(SecretBytes(std::string(31, 'x'))),
                       ErrorCode::kInvalidArgument, Reason::kMalformedInput));
  EXPECT_TRUE(HasError(X25519SharedSecret(a.private_key, std::string(33, 'x')),
                       ErrorCode::kInvalidArgument, Reason::kMalformedInput));
  EXPECT_TRUE(HasError(X25519SharedSecret(SecretBytes(std::string(16, 'x')), a.public_key),
                       ErrorCode::kInvalidArgument, Reason::kMalformedInput));
}

}  // namespace
}  // namespace coffer::crypto
