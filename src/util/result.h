// Errors as values. Every fallible operation in coffer returns Result<T>
// (std::expected<T, Error>); errors cross module boundaries as values, never
// as exceptions. An Error carries a canonical code (what kind of failure), a
// Reason (exactly what happened, in domain words, so api/ can pick the
// precise wire error) and a message written only from non-secret facts.
#pragma once

#include <expected>
#include <string>
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

template <class T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

// Builds the unexpected value to return from a function returning Result<T>.
inline std::unexpected<Error> Fail(ErrorCode code, std::string message,
                                   Reason reason = Reason::kNone) {
  return std::unexpected<Error>(Error{code, reason, std::move(message)});
}
inline std::unexpected<Error> Fail(Error error) {
  return std::unexpected<Error>(std::move(error));
}

inline Status Ok() { return {}; }

}  // namespace coffer::util

namespace coffer {
using util::Error;
using util::ErrorCode;
using util::Fail;
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
