// Hexadecimal text for bytes (lower case), as IPv8 tools print keys, mids and packets.
// Thread-safe (pure functions).
#ifndef RINGV8_WIRE_HEX_H_
#define RINGV8_WIRE_HEX_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ring/result.h"
#include "wire/serializer.h"

namespace ringv8::wire {

std::string ToHex(Bytes bytes);
// Accepts upper and lower case; fails with std::errc::invalid_argument on an odd length or a
// non-hex character.
Result<std::vector<uint8_t>> FromHex(std::string_view text);

}  // namespace ringv8::wire

#endif  // RINGV8_WIRE_HEX_H_
