// One onion layer (tunnel spec 4.4): ChaCha20-Poly1305 IETF, nonce = salt(4) || BE64(counter),
// no associated data. A layer is BE64(counter) || ciphertext || tag(16): 24 bytes more than
// what it wraps.
//
// Two implementations give the same bytes (the vectors check both): OpenSSL's (SIMD assembly,
// called through its provider rather than EVP: tunnel/openssl_chacha.h; the fastest for large
// cells) and libsodium's (portable in 1.0.18, but with less setup
// per call: the fastest for small ones). kAuto, the default, takes libsodium below
// kSodiumBelowBytes of plaintext and OpenSSL above; `ringv8 bench relay --payload ...` measures
// both at each size. Crossover measured here between 128 and 192 bytes of plaintext since OpenSSL
// is called through its provider (libsodium 1.3x as fast at 64 B, equal at 128, OpenSSL 1.25x at
// 192; through EVP the crossover was between 256- and 384-byte cells).
//
// A LayerCipher keeps the OpenSSL context it reuses for every layer: it is thread-compatible (one
// per shard or thread), allocates only when constructed, and nothing per layer.
#ifndef RINGV8_TUNNEL_LAYER_CIPHER_H_
#define RINGV8_TUNNEL_LAYER_CIPHER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "tunnel/openssl_chacha.h"
#include "tunnel/session_keys.h"

namespace ringv8::tunnel {

inline constexpr size_t kLayerCounterSize = 8;
inline constexpr size_t kLayerTagSize = 16;
inline constexpr size_t kLayerOverhead = kLayerCounterSize + kLayerTagSize;

enum class AeadImpl : uint8_t { kAuto, kOpenSsl, kSodium };
inline constexpr size_t kSodiumBelowBytes = 160;
std::string_view AeadImplName(AeadImpl impl);

class LayerCipher {
 public:
  explicit LayerCipher(AeadImpl impl = AeadImpl::kAuto);
  ~LayerCipher();
  LayerCipher(const LayerCipher&) = delete;
  LayerCipher& operator=(const LayerCipher&) = delete;

  AeadImpl impl() const { return impl_; }

  // Writes the layer around `plaintext` at `out` (plaintext.size() + 24 bytes) with `counter`.
  // `plaintext` may sit at exactly out + 8 (sealing in place) or not overlap `out` at all.
  void Seal(const DirectionKey& key, uint64_t counter, std::span<const uint8_t> plaintext,
            uint8_t* out);
  // Seals with key.NextCounter() (the pre-increment of spec 4.4).
  void SealNext(DirectionKey& key, std::span<const uint8_t> plaintext, uint8_t* out) {
    Seal(key, key.NextCounter(), plaintext, out);
  }
  // Seals head || body, the layer written at `out` (neither may overlap it): what an exit's reply
  // needs (a DATA header before the datagram it received). The two are copied together at
  // out + 8 and sealed in place: fed to OpenSSL in two parts, a 1,400-byte layer cost 1.2-1.3x
  // the copy and one pass (an extra keystream block, the split block XORed byte by byte;
  // measured 0.85-0.88M two-part seals/s against 1.02-1.03M copied and sealed in place).
  void SealNext(DirectionKey& key, std::span<const uint8_t> head, std::span<const uint8_t> body,
                uint8_t* out);
  // Opens `layer` into `out` (layer.size() - 24 bytes); returns that size, or nullopt if the
  // layer is shorter than 24 bytes or its tag does not verify (`out` then holds garbage). `out`
  // may be exactly layer.data() + 8 (in place) or not overlap `layer`. Counters are not checked.
  std::optional<size_t> Open(const DirectionKey& key, std::span<const uint8_t> layer, uint8_t* out);

 private:
  bool UseSodium(size_t size) const {
    return impl_ == AeadImpl::kSodium || (impl_ == AeadImpl::kAuto && size < kSodiumBelowBytes);
  }

  AeadImpl impl_;
  std::unique_ptr<OpenSslChaCha> openssl_;  // kOpenSsl, kAuto: the reused context.
};

}  // namespace ringv8::tunnel

#endif  // RINGV8_TUNNEL_LAYER_CIPHER_H_
