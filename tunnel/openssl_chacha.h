// OpenSslChaCha: OpenSSL's ChaCha20-Poly1305 (its SIMD assembly), called through the provider's
// dispatch table (provider-cipher(7): OSSL_PROVIDER_query_operation) instead of EVP.
//
// Why: EVP in OpenSSL 3 wraps every call in generic glue — each init asks the context for its
// key and IV lengths, the tag travels through EVP_CIPHER_CTX_ctrl, parameters are found by name
// (strcmp) — which cost about a tenth of a 1,400-byte layer (`perf`: __strcmp_evex,
// EVP_CIPHER_CTX_get_iv_length, OSSL_PARAM_locate, EVP_CIPHER_CTX_ctrl, 5-6% of an exit's
// thread). The provider's functions do the same work without it: same bytes (the tunnel vectors
// check them), about 1.2x EVP's layers per second with the key set for every layer
// (docs/architecture.md has the figures). The implementation is the one EVP_CIPHER_fetch picks,
// so the process's OpenSSL configuration still chooses the provider.
//
// Thread-compatible: one per thread (LayerCipher holds one), reused for every layer; allocates
// only when constructed. Start(), then Update() any number of times, then Finish().
#ifndef RINGV8_TUNNEL_OPENSSL_CHACHA_H_
#define RINGV8_TUNNEL_OPENSSL_CHACHA_H_

#include <cstddef>
#include <cstdint>

namespace ringv8::tunnel {
namespace internal {
struct OpenSslChaChaFunctions;  // The provider's functions (openssl_chacha.cpp).
}  // namespace internal

class OpenSslChaCha {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kNonceSize = 12;
  static constexpr size_t kTagSize = 16;

  // Throws std::runtime_error when OpenSSL offers no ChaCha20-Poly1305 provider.
  OpenSslChaCha();
  ~OpenSslChaCha();
  OpenSslChaCha(const OpenSslChaCha&) = delete;
  OpenSslChaCha& operator=(const OpenSslChaCha&) = delete;

  // Starts a message. `key` null: the last one's. To decrypt, `expected_tag` is the tag
  // Finish() verifies. False if the provider refused (it does not for these sizes).
  bool StartEncrypt(const uint8_t* key, const uint8_t* nonce);
  bool StartDecrypt(const uint8_t* key, const uint8_t* nonce, const uint8_t* expected_tag);
  // Transforms `size` bytes of `in` into `out` (the same pointer, or not overlapping).
  bool Update(uint8_t* out, const uint8_t* in, size_t size);
  // Ends the message: encrypting, writes the tag to `tag`; decrypting (`tag` unused), whether the
  // expected tag verified.
  bool Finish(uint8_t* tag);

 private:
  const internal::OpenSslChaChaFunctions& f_;  // Found once per process.
  void* ctx_ = nullptr;                        // The provider's context.
  bool encrypting_ = true;
};

}  // namespace ringv8::tunnel

#endif  // RINGV8_TUNNEL_OPENSSL_CHACHA_H_
