// TunnelRandom: every value the TunnelCommunity draws at random, behind one seam, so that tests
// can replay py-ipv8's recorded draws (the vectors' draws[]) and reproduce its datagrams byte for
// byte. The default draws from libsodium's RNG.
//
// Thread-compatible; a community calls it on its loop thread.
#ifndef RINGV8_TUNNEL_TUNNEL_RANDOM_H_
#define RINGV8_TUNNEL_TUNNEL_RANDOM_H_

#include <cstdint>
#include <span>

#include "tunnel/crypto.h"

namespace ringv8::tunnel {

class TunnelRandom {
 public:
  virtual ~TunnelRandom() = default;
  // A hop's tmp key (one per CREATE answered) or a client's ephemeral key.
  virtual X25519KeyPair KeyPair() { return X25519KeyPair::Generate(); }
  // A circuit id (the caller redraws one that is in use).
  virtual uint32_t CircuitId();
  // A request identifier (CREATE, EXTEND, PING, speed test).
  virtual uint16_t Identifier();
  // Filler bytes (speed-test responses).
  virtual void Fill(std::span<uint8_t> out);
};

}  // namespace ringv8::tunnel

#endif  // RINGV8_TUNNEL_TUNNEL_RANDOM_H_
