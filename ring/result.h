// Result<T>: a value or a std::error_code, for operations that can fail.
//
// Members are named as in C++23's std::expected so that the type can be swapped for it later.
// Thread-compatible.
#ifndef RINGV8_RING_RESULT_H_
#define RINGV8_RING_RESULT_H_

#include <cassert>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace ringv8 {

// The one way ring/ turns an errno value (positive: pass -result for a kernel's -errno) into an
// error_code.
inline std::error_code Errno(int error) { return {error, std::system_category()}; }

// Wraps an error so that Result<T> can be constructed from it unambiguously.
struct Unexpected {
  std::error_code error;
};

inline Unexpected MakeUnexpected(std::error_code error) { return Unexpected{error}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  static_assert(!std::is_same_v<T, std::error_code>, "use std::error_code directly");

  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit like std::expected.
  Result(Unexpected unexpected) : state_(unexpected.error) {  // NOLINT
    assert(unexpected.error);
  }
  template <typename E>
  requires std::is_error_code_enum_v<E> Result(E error)
      : Result(Unexpected{make_error_code(error)}) {}  // NOLINT

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The error; an empty error_code when there is a value.
  std::error_code error() const { return has_value() ? std::error_code() : std::get<1>(state_); }

 private:
  std::variant<T, std::error_code> state_;
};

}  // namespace ringv8

#endif  // RINGV8_RING_RESULT_H_
