// The TunnelCommunity handshake and session keys (tunnel spec 4.1-4.3), byte-exact with py-ipv8.
//
//   DH(a, B)  = HSalsa20(X25519(a, B))                       (libsodium crypto_box_beforenm)
//   hop:      ss = DH(tmp, eph) || DH(static, eph); auth = HMAC-SHA512(ss[0:32], tmp_pk)[0:32]
//   client:   ss = DH(eph, tmp_pk) || DH(eph, hop static pk); verifies auth in constant time
//   keys:     HKDF-Expand-SHA256(PRK = ss, "key_generation", 72) = kb | kf | sb | sf
//
// Every function refuses an all-zero X25519 result (a low-order point) by returning nullopt.
// Pure functions; thread-safe. Secrets are not wiped from the stack copies they pass through.
#ifndef RINGV8_TUNNEL_CRYPTO_H_
#define RINGV8_TUNNEL_CRYPTO_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "tunnel/session_keys.h"

namespace ringv8::tunnel {

using Key32 = std::array<uint8_t, 32>;
using SharedSecret = std::array<uint8_t, 64>;

// An X25519 key pair: a client's ephemeral key or a hop's one-time (tmp) key.
struct X25519KeyPair {
  Key32 secret{};
  Key32 public_key{};

  // A fresh pair from libsodium's RNG.
  static X25519KeyPair Generate();
  // The pair of a given secret (stored unclamped, as py-ipv8 stores it; X25519 clamps).
  static X25519KeyPair FromSecret(const Key32& secret);
};

// DH(secret, public) = HSalsa20(X25519(secret, public), 0^16); nullopt on an all-zero X25519.
std::optional<Key32> SharedKey(const Key32& secret, const Key32& public_key);

// HKDF-Expand over the whole 64-byte shared secret (no Extract step).
SessionKeys DeriveSessionKeys(const SharedSecret& shared_secret);

// HMAC-SHA512(ss[0:32], tmp_public)[0:32] (libsodium crypto_auth).
Key32 HandshakeAuth(const SharedSecret& shared_secret, const Key32& tmp_public);

// What a hop sends back in CREATED, and the keys it keeps.
struct HopHandshake {
  Key32 tmp_public{};
  Key32 auth{};
  SessionKeys keys;
};

// The hop's side: its static X25519 secret, the client's ephemeral public key (CREATE.key) and
// the hop's fresh tmp key pair. nullopt if either DH is all-zero (the CREATE is dropped).
std::optional<HopHandshake> AnswerHandshake(const Key32& static_secret,
                                            const Key32& client_ephemeral_public,
                                            const X25519KeyPair& tmp);

// The client's side: its ephemeral pair, the hop's static X25519 public key (from the key bin
// it chose) and CREATED's tmp key and auth. nullopt if a DH fails or auth does not verify.
std::optional<SessionKeys> CompleteHandshake(const X25519KeyPair& ephemeral,
                                             const Key32& hop_static_public,
                                             const Key32& tmp_public, const Key32& auth);

}  // namespace ringv8::tunnel

#endif  // RINGV8_TUNNEL_CRYPTO_H_
