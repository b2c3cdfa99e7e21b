#include "tunnel/tunnel_random.h"

#include <sodium.h>

#include "wire/keys.h"

namespace ringv8::tunnel {

uint32_t TunnelRandom::CircuitId() {
  wire::EnsureSodium();
  return randombytes_random();
}

uint16_t TunnelRandom::Identifier() {
  wire::EnsureSodium();
  return static_cast<uint16_t>(randombytes_random());
}

void TunnelRandom::Fill(std::span<uint8_t> out) {
  wire::EnsureSodium();
  randombytes_buf(out.data(), out.size());
}

}  // namespace ringv8::tunnel
