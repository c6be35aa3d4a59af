#include "age/internal/stream.h"

#include <gtest/gtest.h>

#include <string>

#include "crypto/crypto.h"
#include "support/matchers.h"

namespace coffer::age::internal {
namespace {

// Builds a payload by hand: nonce || chunks sealed with the given last flags,
// so that shapes Encrypt never writes can be tested.
class StreamTest : public ::testing::Test {
 protected:
  std::string Nonce12(uint64_t counter, bool last) {
    std::string n(12, '\0');
    for (int i = 0; i < 8; ++i) n[10 - i] = static_cast<char>((counter >> (8 * i)) & 0xff);
    n[11] = last ? 1 : 0;
    return n;
  }
  std::string Chunk(uint64_t counter, bool last, std::string_view plaintext) {
    auto sealed = crypto::ChaChaPolySeal(payload_key_, Nonce12(counter, last), "", plaintext);
    EXPECT_TRUE(IsOk(sealed));
    return sealed.value_or("");
  }

  SecretBytes file_key_ = crypto::RandomSecret(16);
  std::string nonce_ = crypto::RandomBytes(kPayloadNonceSize);
  SecretBytes payload_key_ = crypto::HkdfSha256(file_key_.Reveal(), nonce_, "payload", 32).value();
  std::string full_ = std::string(kChunkSize, 'a');
};

// The hand-built format is the one OpenPayload reads (a full final chunk is allowed).
TEST_F(StreamTest, HandBuiltPayloadOpens) {
  auto r = OpenPayload(file_key_, nonce_ + Chunk(0, false, full_) + Chunk(1, true, full_));
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r->size(), 2 * kChunkSize);
}

// An empty final chunk after a full one is refused (only an empty file has an empty chunk).
TEST_F(StreamTest, EmptyFinalChunkAfterDataIsRefused) {
  EXPECT_TRUE(HasError(OpenPayload(file_key_, nonce_ + Chunk(0, false, full_) + Chunk(1, true, "")),
                       ErrorCode::kDataLoss, Reason::kCiphertextMalformed));
}

// A chunk flagged last followed by another chunk is refused (data after the final chunk).
TEST_F(StreamTest, DataAfterFinalChunkIsRefused) {
  EXPECT_TRUE(HasError(OpenPayload(file_key_, nonce_ + Chunk(0, true, full_) + Chunk(1, true, "x")),
                       ErrorCode::kDataLoss, Reason::kCiphertextTampered));
}

// A stream whose last chunk is not flagged last is refused (truncation at a chunk boundary).
TEST_F(StreamTest, MissingFinalFlagIsRefused) {
  EXPECT_TRUE(HasError(OpenPayload(file_key_, nonce_ + Chunk(0, false, "short")),
                       ErrorCode::kDataLoss, Reason::kCiphertextTampered));
  EXPECT_TRUE(HasError(OpenPayload(file_key_, nonce_ + Chunk(0, false, full_)),
                       ErrorCode::kDataLoss, Reason::kCiphertextTampered));
}

// Swapped chunks fail (the counter is in the nonce), and nothing is released.
TEST_F(StreamTest, ReorderedChunksAreRefused) {
  std::string b(kChunkSize, 'b');
  EXPECT_TRUE(HasError(OpenPayload(file_key_, nonce_ + Chunk(1, false, b) + Chunk(0, true, full_)),
                       ErrorCode::kDataLoss, Reason::kCiphertextTampered));
}

// A nonce only, with no chunk at all, is refused.
TEST_F(StreamTest, NoChunkIsRefused) {
  EXPECT_TRUE(
      HasError(OpenPayload(file_key_, nonce_), ErrorCode::kDataLoss, Reason::kCiphertextMalformed));
}

}  // namespace
}  // namespace coffer::age::internal
