// Circuit: a circuit this node owns as a client (tunnel spec 5.8): its verified hops with their
// session keys, the hop being added, and its life (activity, traffic, relay_early budget).
// Forward cells are sealed for every verified hop, last hop innermost; backward cells are opened
// first hop first.
//
// Owned by the TunnelCommunity; thread-affine to its loop.
#ifndef RINGV8_TUNNEL_CIRCUIT_H_
#define RINGV8_TUNNEL_CIRCUIT_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "ring/address.h"
#include "ring/clock.h"
#include "tunnel/crypto.h"
#include "tunnel/session_keys.h"
#include "wire/keys.h"

namespace ringv8::tunnel {

using KeyBin = std::array<uint8_t, wire::kLibNaClKeyBinSize>;

enum class CircuitState : uint8_t { kExtending, kReady, kClosed };

struct CircuitHop {
  KeyBin key_bin{};
  Address address;
  SessionKeys keys;
};

// The hop a circuit should end at (py-ipv8's required_exit): its key and address.
struct RequiredHop {
  KeyBin key_bin{};
  Address address;

  // From a curve25519 key bin (74 bytes; a longer one is cut, as it cannot be a tunnel hop).
  static RequiredHop Of(wire::Bytes public_key_bin, const Address& address) {
    RequiredHop hop;
    std::copy_n(public_key_bin.begin(), std::min(public_key_bin.size(), hop.key_bin.size()),
                hop.key_bin.begin());
    hop.address = address;
    return hop;
  }
};

struct Circuit {
  uint32_t circuit_id = 0;
  size_t goal_hops = 0;
  CircuitState state = CircuitState::kExtending;
  std::vector<CircuitHop> hops;  // Verified, first hop first.
  std::optional<RequiredHop> required_exit;

  // The hop being added (CREATE to the first hop, or EXTEND through the others).
  struct Pending {
    KeyBin key_bin{};
    Address address;  // The first hop's; for EXTEND the address named (0.0.0.0:0 = from list).
    X25519KeyPair ephemeral;
    uint16_t identifier = 0;
    TimePoint sent{};
  };
  std::optional<Pending> pending;
  int attempts = 0;  // CREATE/EXTEND attempts so far (at most circuit_timeout/next_hop_timeout).
  std::vector<KeyBin> tried;             // Hops tried for the pending position.
  std::vector<KeyBin> relay_candidates;  // From the newest hop's candidate list.
  std::vector<KeyBin> exit_candidates;

  int relay_early_sent = 0;  // Flagged cells so far, the CREATE included.
  TimePoint created{};
  TimePoint last_activity{};
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
  uint64_t pongs = 0;
  uint64_t test_responses = 0;
  double last_rtt = 0;  // Seconds, of the last PONG.

  const Address& first_hop_address() const { return hops.front().address; }
};

}  // namespace ringv8::tunnel

#endif  // RINGV8_TUNNEL_CIRCUIT_H_
