#include "tunnel/crypto.h"

#include <sodium.h>

#include <cstring>

#include "wire/keys.h"

namespace ringv8::tunnel {
namespace {

constexpr char kKeyGenerationInfo[] = "key_generation";

// HKDF-Expand-SHA256(prk, info, 72): T(i) = HMAC(prk, T(i-1) || info || i). libsodium 1.0.18 has
// no HKDF; its one-shot HMAC-SHA256 takes only 32-byte keys, so the streaming API is used.
std::array<uint8_t, 72> HkdfExpand72(const SharedSecret& prk) {
  std::array<uint8_t, 96> okm{};
  std::span<const uint8_t> previous;
  for (uint8_t i = 1; i <= 3; ++i) {
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, prk.data(), prk.size());
    crypto_auth_hmacsha256_update(&state, previous.data(), previous.size());
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const uint8_t*>(kKeyGenerationInfo),
                                  sizeof(kKeyGenerationInfo) - 1);
    crypto_auth_hmacsha256_update(&state, &i, 1);
    uint8_t* block = okm.data() + (i - 1) * 32;
    crypto_auth_hmacsha256_final(&state, block);
    previous = std::span<const uint8_t>(block, 32);
  }
  std::array<uint8_t, 72> out;
  std::memcpy(out.data(), okm.data(), out.size());
  sodium_memzero(okm.data(), okm.size());
  return out;
}

std::optional<SharedSecret> Concat(const std::optional<Key32>& a, const std::optional<Key32>& b) {
  if (!a || !b) return std::nullopt;
  SharedSecret ss;
  std::memcpy(ss.data(), a->data(), 32);
  std::memcpy(ss.data() + 32, b->data(), 32);
  return ss;
}

}  // namespace

X25519KeyPair X25519KeyPair::Generate() {
  wire::EnsureSodium();
  Key32 secret;
  randombytes_buf(secret.data(), secret.size());
  return FromSecret(secret);
}

X25519KeyPair X25519KeyPair::FromSecret(const Key32& secret) {
  wire::EnsureSodium();
  X25519KeyPair pair;
  pair.secret = secret;
  crypto_scalarmult_base(pair.public_key.data(), secret.data());
  return pair;
}

std::optional<Key32> SharedKey(const Key32& secret, const Key32& public_key) {
  wire::EnsureSodium();
  Key32 key;
  // crypto_box_beforenm = crypto_scalarmult (fails on an all-zero result) + HSalsa20.
  if (crypto_box_beforenm(key.data(), public_key.data(), secret.data()) != 0) return std::nullopt;
  return key;
}

SessionKeys DeriveSessionKeys(const SharedSecret& shared_secret) {
  std::array<uint8_t, 72> okm = HkdfExpand72(shared_secret);
  SessionKeys keys;
  std::memcpy(keys.backward.key.data(), okm.data(), 32);
  std::memcpy(keys.forward.key.data(), okm.data() + 32, 32);
  std::memcpy(keys.backward.salt.data(), okm.data() + 64, 4);
  std::memcpy(keys.forward.salt.data(), okm.data() + 68, 4);
  sodium_memzero(okm.data(), okm.size());
  return keys;
}

Key32 HandshakeAuth(const SharedSecret& shared_secret, const Key32& tmp_public) {
  Key32 auth;
  crypto_auth(auth.data(), tmp_public.data(), tmp_public.size(), shared_secret.data());
  return auth;
}

std::optional<HopHandshake> AnswerHandshake(const Key32& static_secret,
                                            const Key32& client_ephemeral_public,
                                            const X25519KeyPair& tmp) {
  std::optional<SharedSecret> ss = Concat(SharedKey(tmp.secret, client_ephemeral_public),
                                          SharedKey(static_secret, client_ephemeral_public));
  if (!ss) return std::nullopt;
  HopHandshake out;
  out.tmp_public = tmp.public_key;
  out.auth = HandshakeAuth(*ss, tmp.public_key);
  out.keys = DeriveSessionKeys(*ss);
  sodium_memzero(ss->data(), ss->size());
  return out;
}

std::optional<SessionKeys> CompleteHandshake(const X25519KeyPair& ephemeral,
                                             const Key32& hop_static_public,
                                             const Key32& tmp_public, const Key32& auth) {
  std::optional<SharedSecret> ss = Concat(SharedKey(ephemeral.secret, tmp_public),
                                          SharedKey(ephemeral.secret, hop_static_public));
  if (!ss) return std::nullopt;
  std::optional<SessionKeys> keys;
  if (crypto_auth_verify(auth.data(), tmp_public.data(), tmp_public.size(), ss->data()) == 0) {
    keys = DeriveSessionKeys(*ss);
  }
  sodium_memzero(ss->data(), ss->size());
  return keys;
}

}  // namespace ringv8::tunnel
