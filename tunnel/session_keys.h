// One hop's session keys (tunnel spec 4.3-4.4): a key, a salt and a counter per direction.
// Forward ("f") is toward the exit, backward ("b") toward the client. Sealing pre-increments the
// direction's counter, so the first value used is 2; opening reads the counter from the layer and
// changes nothing (py-ipv8 checks no counter, spec Q7).
//
// A value type; the owner's thread rule applies.
#ifndef RINGV8_TUNNEL_SESSION_KEYS_H_
#define RINGV8_TUNNEL_SESSION_KEYS_H_

#include <array>
#include <cstdint>

namespace ringv8::tunnel {

enum class Direction : uint8_t { kForward, kBackward };

// A direction's key, salt and last counter: what one layer operation needs, in one place.
struct DirectionKey {
  std::array<uint8_t, 32> key{};
  std::array<uint8_t, 4> salt{};
  uint64_t counter = 1;

  // The counter for the next seal (pre-increment).
  uint64_t NextCounter() { return ++counter; }
};

struct SessionKeys {
  DirectionKey forward;
  DirectionKey backward;

  DirectionKey& of(Direction d) { return d == Direction::kForward ? forward : backward; }
  const DirectionKey& of(Direction d) const {
    return d == Direction::kForward ? forward : backward;
  }
};

}  // namespace ringv8::tunnel

#endif  // RINGV8_TUNNEL_SESSION_KEYS_H_
