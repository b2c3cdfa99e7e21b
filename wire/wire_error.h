// WireError: why a datagram, payload or key could not be decoded (or encoded).
//
// Each value is a drop reason: packet-path code counts drops per WireError and never throws.
// WireErrorName() gives a stable snake_case name for counters and JSON output.
#ifndef RINGV8_WIRE_WIRE_ERROR_H_
#define RINGV8_WIRE_WIRE_ERROR_H_

#include <array>
#include <cstdint>
#include <string_view>
#include <system_error>

#include "ring/stats.h"

namespace ringv8::wire {

enum class WireError : uint8_t {
  kTruncated = 1,   // The input ends inside a field.
  kTrailingBytes,   // Bytes left over after the last field.
  kBadAddressType,  // An ip_address/address tag other than 1 (IPv4), 2 (host), 3 (IPv6).
  kBadUtf8,         // A text field is not valid UTF-8.
  kTooShort,        // A datagram shorter than prefix + message id.
  kBadPrefix,       // The prefix is not 00 02 <community id> (or not the one expected).
  kUnknownKeyType,  // The auth header holds neither a LibNaCLPK key nor a DER EC key.
  kBadKey,          // The key bytes are malformed.
  kBadSignature,    // The signature does not verify.
  kValueTooLarge,   // A value does not fit its length field (encoding).
  kBufferTooSmall,  // The output buffer is too small (encoding).
  kIo,              // A key file could not be read or written (see errno in the log).
};

inline constexpr int kWireErrorCount = static_cast<int>(WireError::kIo) + 1;

std::string_view WireErrorName(WireError error);

// Counts by WireError as receive drops (ring/stats.h): fn(Stat{name, kReceiveDrop, help}, n)
// for every error, in the order of the enum.
template <typename F>
void VisitWireErrors(const std::array<uint64_t, kWireErrorCount>& counts, std::string_view help,
                     F&& fn) {
  for (int e = 1; e < kWireErrorCount; ++e) {
    fn(Stat{WireErrorName(static_cast<WireError>(e)), StatKind::kReceiveDrop, help}, counts[e]);
  }
}
const std::error_category& WireErrorCategory();

inline std::error_code make_error_code(WireError error) {
  return {static_cast<int>(error), WireErrorCategory()};
}

}  // namespace ringv8::wire

template <>
struct std::is_error_code_enum<ringv8::wire::WireError> : std::true_type {};

#endif  // RINGV8_WIRE_WIRE_ERROR_H_
