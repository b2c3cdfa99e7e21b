#include "tunnel/tunnel_random.h"

#include <sodium.h>

namespace ringv8::tunnel {

uint32_t TunnelRandom::CircuitId() { return randombytes_random(); }

uint16_t TunnelRandom::Identifier() { return static_cast<uint16_t>(randombytes_random()); }

void TunnelRandom::Fill(std::span<uint8_t> out) { randombytes_buf(out.data(), out.size()); }

}  // namespace ringv8::tunnel
