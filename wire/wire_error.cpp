#include "wire/wire_error.h"

#include <string>

namespace ringv8::wire {

std::string_view WireErrorName(WireError error) {
  switch (error) {
    case WireError::kTruncated:
      return "truncated";
    case WireError::kTrailingBytes:
      return "trailing_bytes";
    case WireError::kBadAddressType:
      return "bad_address_type";
    case WireError::kBadUtf8:
      return "bad_utf8";
    case WireError::kTooShort:
      return "too_short";
    case WireError::kBadPrefix:
      return "bad_prefix";
    case WireError::kUnknownKeyType:
      return "unknown_key_type";
    case WireError::kBadKey:
      return "bad_key";
    case WireError::kBadSignature:
      return "bad_signature";
    case WireError::kValueTooLarge:
      return "value_too_large";
    case WireError::kBufferTooSmall:
      return "buffer_too_small";
    case WireError::kIo:
      return "io";
  }
  return "unknown";
}

namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ringv8.wire"; }
  std::string message(int value) const override {
    return std::string(WireErrorName(static_cast<WireError>(value)));
  }
};

}  // namespace

const std::error_category& WireErrorCategory() {
  static const Category category;
  return category;
}

}  // namespace ringv8::wire
