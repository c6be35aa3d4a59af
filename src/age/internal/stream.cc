#include "age/internal/stream.h"

#include <cstring>

#include "crypto/crypto.h"

namespace coffer::age::internal {
namespace {

constexpr size_t kSealedChunkSize = kChunkSize + crypto::kAeadTagSize;

std::string ChunkNonce(uint64_t counter, bool last) {
  std::string nonce(12, '\0');
  for (int i = 0; i < 8; ++i) nonce[10 - i] = static_cast<char>((counter >> (8 * i)) & 0xff);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

Result<SecretBytes> PayloadKey(const SecretBytes& file_key, std::string_view nonce) {
  return crypto::HkdfSha256(file_key.Reveal(), nonce, "payload", crypto::kAeadKeySize);
}

std::unexpected<Error> Damaged(std::string why) {
  return Fail(ErrorCode::kDataLoss, "damaged age payload: " + why, Reason::kCiphertextMalformed);
}

}  // namespace

Result<std::string> SealPayload(const SecretBytes& file_key, std::string_view plaintext) {
  std::string out = crypto::RandomBytes(kPayloadNonceSize);
  COFFER_ASSIGN_OR_RETURN(SecretBytes key, PayloadKey(file_key, out));
  size_t chunks = plaintext.empty() ? 1 : (plaintext.size() + kChunkSize - 1) / kChunkSize;
  out.reserve(out.size() + plaintext.size() + chunks * crypto::kAeadTagSize);
  for (size_t i = 0; i < chunks; ++i) {
    std::string_view chunk = plaintext.substr(i * kChunkSize, kChunkSize);
    COFFER_ASSIGN_OR_RETURN(std::string sealed,
                            crypto::ChaChaPolySeal(key, ChunkNonce(i, i + 1 == chunks), "", chunk));
    out.append(sealed);
  }
  return out;
}

Result<SecretBytes> OpenPayload(const SecretBytes& file_key, std::string_view payload) {
  if (payload.size() < kPayloadNonceSize) {
    // The nonce ends the header (CCTV counts a short one as a header failure).
    return Fail(ErrorCode::kInvalidArgument, "malformed age header: the payload nonce is truncated",
                Reason::kCiphertextMalformed);
  }
  COFFER_ASSIGN_OR_RETURN(SecretBytes key,
                          PayloadKey(file_key, payload.substr(0, kPayloadNonceSize)));
  std::string_view rest = payload.substr(kPayloadNonceSize);
  if (rest.empty()) return Damaged("the final chunk is missing");
  // Upper bound of the plaintext; trimmed at the end.
  SecretBytes out(rest.size());
  size_t written = 0;
  for (uint64_t counter = 0; !rest.empty(); ++counter) {
    // A chunk is the last one exactly when no data follows it; a full-size
    // chunk may be the last (then it must carry the last flag).
    bool last = rest.size() <= kSealedChunkSize;
    std::string_view sealed = rest.substr(0, kSealedChunkSize);
    if (sealed.size() < crypto::kAeadTagSize) return Damaged("a chunk is truncated");
    if (last && counter > 0 && sealed.size() == crypto::kAeadTagSize) {
      return Damaged("the final chunk is empty");
    }
    auto opened = crypto::ChaChaPolyOpen(key, ChunkNonce(counter, last), "", sealed);
    if (!opened.has_value()) {
      return Fail(ErrorCode::kDataLoss,
                  last ? "age payload chunk failed authentication (or the final chunk is missing)"
                       : "age payload chunk failed authentication (or data follows the final "
                         "chunk)",
                  Reason::kCiphertextTampered);
    }
    memcpy(out.MutableData() + written, opened->bytes(), opened->size());
    written += opened->size();
    rest.remove_prefix(sealed.size());
  }
  out.Truncate(written);
  return out;
}

}  // namespace coffer::age::internal
