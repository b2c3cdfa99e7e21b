// EcPublicKey: a legacy IPv8 EC public key (DER SubjectPublicKeyInfo on a named curve), verifying
// ECDSA-SHA1 r||s signatures with OpenSSL. py-ipv8 nodes no longer sign with these, but the public
// bootstrap trackers do (sect163k1, 42-byte signatures).
//
// Immutable after creation; thread-safe.
#ifndef RINGV8_WIRE_INTERNAL_EC_PUBLIC_KEY_H_
#define RINGV8_WIRE_INTERNAL_EC_PUBLIC_KEY_H_

#include <cstddef>
#include <memory>
#include <vector>

#include "ring/result.h"
#include "wire/serializer.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY.

namespace ringv8::wire::internal {

class EcPublicKey {
 public:
  // Parses DER; kBadKey if OpenSSL cannot load it or it is not an EC key on a named curve.
  // Keys are cached per thread (a few dozen entries): trackers sign every packet with one key.
  static Result<std::shared_ptr<const EcPublicKey>> FromDer(Bytes der);

  ~EcPublicKey();
  EcPublicKey(const EcPublicKey&) = delete;
  EcPublicKey& operator=(const EcPublicKey&) = delete;

  Bytes der() const { return der_; }
  // 2 * ceil(field degree / 8).
  size_t signature_length() const { return signature_length_; }
  bool Verify(Bytes message, Bytes signature) const;

 private:
  EcPublicKey() = default;
  // FromDer without the cache.
  static Result<std::shared_ptr<const EcPublicKey>> Load(Bytes der);

  std::vector<uint8_t> der_;
  size_t signature_length_ = 0;
  evp_pkey_st* pkey_ = nullptr;  // Owned (EVP_PKEY).
};

}  // namespace ringv8::wire::internal

#endif  // RINGV8_WIRE_INTERNAL_EC_PUBLIC_KEY_H_
