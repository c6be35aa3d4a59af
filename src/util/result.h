// Errors as values. Every fallible operation in coffer returns Result<T>
// (std::expected<T, Error>); errors cross module boundaries as values, never
// as exceptions. An Error carries a canonical code (what kind of failure), a
// Reason (exactly what happened, in domain words, so api/ can pick the
// precise wire error) and a message written only from non-secret facts.
#pragma once

#include <expected>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

#include "util/reason.h"

namespace coffer::util {

// Canonical error codes (Abseil's set, trimmed).
enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kAborted,  // compare-and-swap conflict
  kPermissionDenied,
  kUnauthenticated,
  kResourceExhausted,
  kUnavailable,  // sealed, storage down
  kDataLoss,     // tamper, corruption, bad MAC
  kInternal,
};

const char* ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  Reason reason = Reason::kNone;
  // Human-readable, safe to log and to send to clients: never holds a secret value.
  std::string message;
};

// std::expected<T, Error> that must be used: discarding one is a compile error
// under -Werror (a dropped error is almost always a bug). Where ignoring an
// error is truly right, say so with IgnoreError(status, "why").
template <class T>
class [[nodiscard]] Result : public std::expected<T, Error> {
 public:
  using Base = std::expected<T, Error>;
  using Base::Base;
  Result() = default;
  // The monadic operations of std::expected (and_then, transform, ...) return
  // a plain std::expected; these let one be returned as a Result.
  Result(const Base& other) : Base(other) {}
  Result(Base&& other) noexcept(std::is_nothrow_move_constructible_v<Base>)
      : Base(std::move(other)) {}
};
using Status = Result<void>;

// Builds the unexpected value to return from a function returning Result<T>.
inline std::unexpected<Error> Fail(ErrorCode code, std::string message,
                                   Reason reason = Reason::kNone) {
  return std::unexpected<Error>(Error{code, reason, std::move(message)});
}
inline std::unexpected<Error> Fail(Error error) {
  return std::unexpected<Error>(std::move(error));
}

inline Status Ok() { return {}; }

// How GoogleTest prints a Result (found by argument-dependent lookup): "OK" or
// the error's code, reason number and message. Never the value, which may be
// plaintext (Result<SecretBytes>, a decrypted response): a failing test must
// not print a secret.
template <class T>
void PrintTo(const Result<T>& result, std::ostream* os) {
  if (result.has_value()) {
    *os << "OK (value not printed)";
  } else {
    *os << "error " << ErrorCodeName(result.error().code) << " reason "
        << static_cast<int>(result.error().reason) << ": " << result.error().message;
  }
}

// Drops `result` on purpose. `why` says why losing its error is right (for
// example "best effort: the response is already sent"); it documents the
// decision at the call site and is not used otherwise.
template <class T>
inline void IgnoreError(const Result<T>& result, const char* why) {
  static_cast<void>(result);
  static_cast<void>(why);
}

}  // namespace coffer::util

namespace coffer {
using util::Error;
using util::ErrorCode;
using util::Fail;
using util::IgnoreError;
using util::Ok;
using util::Reason;
using util::Result;
using util::Status;
}  // namespace coffer

#define COFFER_INTERNAL_CONCAT2(a, b) a##b
#define COFFER_INTERNAL_CONCAT(a, b) COFFER_INTERNAL_CONCAT2(a, b)

// Returns the error of `expr` (a Result) from the enclosing function.
#define COFFER_RETURN_IF_ERROR(expr)                                 \
  do {                                                               \
    auto&& coffer_status_ = (expr);                                  \
    if (!coffer_status_.has_value())                                 \
      return ::std::unexpected(std::move(coffer_status_).error());   \
  } while (0)

// `lhs = value of expr`, or returns its error from the enclosing function.
#define COFFER_ASSIGN_OR_RETURN(lhs, expr) \
  COFFER_INTERNAL_ASSIGN_OR_RETURN(COFFER_INTERNAL_CONCAT(coffer_result_, __LINE__), lhs, expr)
#define COFFER_INTERNAL_ASSIGN_OR_RETURN(tmp, lhs, expr)     \
  auto tmp = (expr);                                         \
  if (!tmp.has_value()) return ::std::unexpected(std::move(tmp).error()); \
  lhs = std::move(*tmp)
