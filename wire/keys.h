// IPv8 keys: curve25519 ("LibNaCL") identities, and legacy EC public keys for verification.
//
// Formats (spec section 4): a LibNaCL public key bin is "LibNaCLPK:" + X25519 public (32) +
// Ed25519 verify key (32); a private key bin is "LibNaCLSK:" + X25519 secret (32) + Ed25519 seed
// (32). Signatures are pure Ed25519 (64 bytes). Legacy EC keys (sect163k1 ... sect571k1, as the
// public bootstrap trackers use) are DER SubjectPublicKeyInfo; their signatures are ECDSA-SHA1 as
// r||s, each half ceil(degree/8) bytes. ringv8 verifies EC signatures but never makes them.
// The member id (mid) of any key is SHA-1 of its public key bin.
//
// PublicKey and PrivateKey are values. Thread-compatible; const methods are thread-safe.
#ifndef RINGV8_WIRE_KEYS_H_
#define RINGV8_WIRE_KEYS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "ring/result.h"
#include "wire/serializer.h"

namespace ringv8::wire {

using Mid = std::array<uint8_t, 20>;

inline constexpr std::string_view kLibNaClPublicPrefix = "LibNaCLPK:";
inline constexpr std::string_view kLibNaClPrivatePrefix = "LibNaCLSK:";
inline constexpr size_t kLibNaClKeyBinSize = 74;
inline constexpr size_t kEd25519SignatureSize = 64;

// SHA-1 of a public key bin.
Mid ComputeMid(Bytes public_key_bin);

// Calls sodium_init once per process (thread-safe; later calls cost a load). libsodium must be
// initialised before any other call: sodium_init also picks the fastest implementation of each
// primitive for this CPU, so figures taken before it measure other code.
void EnsureSodium();

namespace internal {
class EcPublicKey;
}

class PublicKey {
 public:
  enum class Type : uint8_t { kLibNaCl, kEc };

  // Loads a LibNaCL bin (any input of at least 74 bytes that starts with "LibNaCLPK:"; the rest is
  // ignored, as py-ipv8 does) or a DER EC public key. Errors: kUnknownKeyType, kBadKey.
  static Result<PublicKey> FromBin(Bytes bin);

  // True if `bin` is a LibNaCL public key bin (the common, allocation-free case).
  static bool IsLibNaClBin(Bytes bin);

  Type type() const { return type_; }
  // The canonical bin: 74 bytes for LibNaCL, the DER bytes for EC.
  Bytes bin() const;
  Mid mid() const { return ComputeMid(bin()); }
  size_t signature_length() const;
  // LibNaCL only: the Ed25519 verify key (bin bytes 42..74).
  Bytes ed25519_public() const { return Bytes(nacl_bin_).subspan(42, 32); }

  // Checks `signature` (exactly signature_length() bytes) over `message`.
  bool Verify(Bytes message, Bytes signature) const;

  friend bool operator==(const PublicKey& a, const PublicKey& b);

 private:
  PublicKey() = default;

  Type type_ = Type::kLibNaCl;
  std::array<uint8_t, kLibNaClKeyBinSize> nacl_bin_{};
  std::shared_ptr<const internal::EcPublicKey> ec_;  // Set for kEc; immutable, shared by copies.
};

// The signature length that a key bin implies, without keeping the key: 64 for LibNaCL,
// 2*ceil(degree/8) for EC. Errors as PublicKey::FromBin.
Result<size_t> SignatureLengthOf(Bytes public_key_bin);

// A curve25519 private key. The secret bytes are wiped on destruction.
class PrivateKey {
 public:
  // A fresh key: random X25519 secret and random Ed25519 seed (libsodium's RNG).
  static PrivateKey Generate();
  // Loads "LibNaCLSK:" + 64 bytes (at least 74 bytes; the rest is ignored, as py-ipv8 does).
  // EC private keys are refused with kUnknownKeyType: ringv8 identities are curve25519.
  static Result<PrivateKey> FromBin(Bytes bin);

  PrivateKey(const PrivateKey& other);
  PrivateKey& operator=(const PrivateKey& other);
  ~PrivateKey();

  // The 74-byte private key bin (what key files hold).
  const std::array<uint8_t, kLibNaClKeyBinSize>& bin() const { return bin_; }
  const PublicKey& public_key() const { return public_key_; }
  Mid mid() const { return public_key_.mid(); }
  size_t signature_length() const { return kEd25519SignatureSize; }

  // Ed25519 signature over `message` into `out`. Deterministic.
  void Sign(Bytes message, std::span<uint8_t, kEd25519SignatureSize> out) const;
  std::array<uint8_t, kEd25519SignatureSize> Sign(Bytes message) const;

 private:
  PrivateKey(const std::array<uint8_t, kLibNaClKeyBinSize>& bin, const PublicKey& public_key,
             const std::array<uint8_t, 64>& sign_secret);

  std::array<uint8_t, kLibNaClKeyBinSize> bin_;
  PublicKey public_key_;
  std::array<uint8_t, 64> sign_secret_;  // libsodium's Ed25519 secret key: seed || public key.
};

// Key files hold the raw private key bin (74 bytes), as py-ipv8 writes them.
Result<PrivateKey> LoadKeyFile(const std::string& path);
// Why the key file at `path` did not load (LoadKeyFile's `error`), for a person: a py-ipv8 EC
// private key (DER or PEM, M2Crypto's "medium"/"high" keys) is named as such, since ringv8
// identities are curve25519.
std::string KeyFileErrorText(const std::string& path, const std::error_code& error);
// Writes `key` with mode 0600. Fails with EEXIST when the file exists and !overwrite.
[[nodiscard]] std::error_code SaveKeyFile(const std::string& path, const PrivateKey& key,
                                          bool overwrite);

// Standard base64 with padding (py-ipv8's `bin` configuration values).
std::string ToBase64(Bytes bytes);
Result<std::string> FromBase64(std::string_view text);

}  // namespace ringv8::wire

#endif  // RINGV8_WIRE_KEYS_H_
