#include "wire/keys.h"

#include <fcntl.h>
#include <openssl/sha.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "wire/internal/ec_public_key.h"

namespace ringv8::wire {

void EnsureSodium() {
  // sodium_init is thread-safe and idempotent; the static makes later calls free.
  static const bool ready = [] {
    if (sodium_init() < 0) std::abort();  // No usable RNG: nothing safe can be done.
    return true;
  }();
  (void)ready;
}

namespace {

bool HasPrefix(Bytes bin, std::string_view prefix) {
  return bin.size() >= prefix.size() && std::memcmp(bin.data(), prefix.data(), prefix.size()) == 0;
}

}  // namespace

Mid ComputeMid(Bytes public_key_bin) {
  Mid mid;
  SHA1(public_key_bin.data(), public_key_bin.size(), mid.data());
  return mid;
}

// ---- PublicKey ----

bool PublicKey::IsLibNaClBin(Bytes bin) {
  return bin.size() >= kLibNaClKeyBinSize && HasPrefix(bin, kLibNaClPublicPrefix);
}

Result<PublicKey> PublicKey::FromBin(Bytes bin) {
  PublicKey key;
  if (IsLibNaClBin(bin)) {
    std::copy_n(bin.begin(), kLibNaClKeyBinSize, key.nacl_bin_.begin());
    return key;
  }
  if (HasPrefix(bin, kLibNaClPublicPrefix)) return WireError::kBadKey;  // Too short.
  // DER starts with a SEQUENCE tag; anything else is not a key py-ipv8 could have made.
  if (bin.empty() || bin[0] != 0x30) return WireError::kUnknownKeyType;
  auto ec = internal::EcPublicKey::FromDer(bin);
  if (!ec) return Unexpected{ec.error()};
  key.type_ = Type::kEc;
  key.ec_ = std::move(*ec);
  return key;
}

Bytes PublicKey::bin() const { return type_ == Type::kEc ? ec_->der() : Bytes(nacl_bin_); }

size_t PublicKey::signature_length() const {
  return type_ == Type::kEc ? ec_->signature_length() : kEd25519SignatureSize;
}

bool PublicKey::Verify(Bytes message, Bytes signature) const {
  if (type_ == Type::kEc) return ec_->Verify(message, signature);
  if (signature.size() != kEd25519SignatureSize) return false;
  EnsureSodium();
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     nacl_bin_.data() + 42) == 0;
}

bool operator==(const PublicKey& a, const PublicKey& b) {
  return std::ranges::equal(a.bin(), b.bin());
}

Result<size_t> SignatureLengthOf(Bytes public_key_bin) {
  if (PublicKey::IsLibNaClBin(public_key_bin)) return kEd25519SignatureSize;
  auto key = PublicKey::FromBin(public_key_bin);
  if (!key) return Unexpected{key.error()};
  return key->signature_length();
}

// ---- PrivateKey ----

PrivateKey::PrivateKey(const std::array<uint8_t, kLibNaClKeyBinSize>& bin,
                       const PublicKey& public_key, const std::array<uint8_t, 64>& sign_secret)
    : bin_(bin), public_key_(public_key), sign_secret_(sign_secret) {}

PrivateKey::PrivateKey(const PrivateKey& other) = default;
PrivateKey& PrivateKey::operator=(const PrivateKey& other) = default;

PrivateKey::~PrivateKey() {
  sodium_memzero(bin_.data(), bin_.size());
  sodium_memzero(sign_secret_.data(), sign_secret_.size());
}

Result<PrivateKey> PrivateKey::FromBin(Bytes bin) {
  if (!HasPrefix(bin, kLibNaClPrivatePrefix)) return WireError::kUnknownKeyType;
  if (bin.size() < kLibNaClKeyBinSize) return WireError::kBadKey;
  EnsureSodium();
  std::array<uint8_t, kLibNaClKeyBinSize> private_bin;
  std::copy_n(bin.begin(), kLibNaClKeyBinSize, private_bin.begin());
  const uint8_t* x25519_secret = private_bin.data() + 10;
  const uint8_t* ed25519_seed = private_bin.data() + 42;

  std::array<uint8_t, kLibNaClKeyBinSize> public_bin;
  std::memcpy(public_bin.data(), kLibNaClPublicPrefix.data(), kLibNaClPublicPrefix.size());
  if (crypto_scalarmult_base(public_bin.data() + 10, x25519_secret) != 0) {
    return WireError::kBadKey;
  }
  std::array<uint8_t, 64> sign_secret;
  crypto_sign_seed_keypair(public_bin.data() + 42, sign_secret.data(), ed25519_seed);
  auto public_key = PublicKey::FromBin(public_bin);
  PrivateKey key(private_bin, *public_key, sign_secret);
  sodium_memzero(private_bin.data(), private_bin.size());
  sodium_memzero(sign_secret.data(), sign_secret.size());
  return key;
}

PrivateKey PrivateKey::Generate() {
  EnsureSodium();
  std::array<uint8_t, kLibNaClKeyBinSize> bin;
  std::memcpy(bin.data(), kLibNaClPrivatePrefix.data(), kLibNaClPrivatePrefix.size());
  randombytes_buf(bin.data() + 10, 64);
  auto key = FromBin(bin);
  sodium_memzero(bin.data(), bin.size());
  return *std::move(key);  // Cannot fail: the prefix and size are right.
}

void PrivateKey::Sign(Bytes message, std::span<uint8_t, kEd25519SignatureSize> out) const {
  crypto_sign_detached(out.data(), nullptr, message.data(), message.size(), sign_secret_.data());
}

std::array<uint8_t, kEd25519SignatureSize> PrivateKey::Sign(Bytes message) const {
  std::array<uint8_t, kEd25519SignatureSize> signature;
  Sign(message, signature);
  return signature;
}

// ---- Key files ----

std::string KeyFileErrorText(const std::string& path, const std::error_code& error) {
  if (error != WireError::kUnknownKeyType) return error.message();
  std::array<char, 32> head{};
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const ssize_t n = fd < 0 ? -1 : ::read(fd, head.data(), head.size());
  if (fd >= 0) ::close(fd);
  const std::string_view text(head.data(), n > 0 ? static_cast<size_t>(n) : 0);
  const bool der = !text.empty() && static_cast<uint8_t>(text[0]) == 0x30;
  if (der || text.starts_with("-----BEGIN")) {
    return "it is a legacy EC private key (py-ipv8's M2Crypto keys); ringv8 identities are "
           "curve25519: make one with `ringv8 keygen` or \"generation\": \"curve25519\"";
  }
  return error.message();
}

Result<PrivateKey> LoadKeyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Unexpected{std::error_code(errno, std::generic_category())};
  // Anything much larger than a key bin is not a key file (a PEM EC key is about 300 bytes).
  std::array<uint8_t, 4096> buffer;
  size_t size = 0;
  while (size < buffer.size()) {
    ssize_t n = ::read(fd, buffer.data() + size, buffer.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      ::close(fd);
      return Unexpected{std::error_code(error, std::generic_category())};
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  ::close(fd);
  auto key = PrivateKey::FromBin(Bytes(buffer.data(), size));
  sodium_memzero(buffer.data(), buffer.size());
  return key;
}

std::error_code SaveKeyFile(const std::string& path, const PrivateKey& key, bool overwrite) {
  // Write a temporary file with mode 0600 and rename it, so that a crash never leaves a torn key
  // and the secret is never readable by others, not even for a moment.
  std::string temp = path + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return {errno, std::generic_category()};
  const auto& bin = key.bin();
  ssize_t written = ::write(fd, bin.data(), bin.size());
  int error = written < 0 ? errno : 0;
  if (written >= 0 && static_cast<size_t>(written) != bin.size()) error = EIO;
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  ::close(fd);
  if (error == 0) {
    if (overwrite) {
      if (::rename(temp.c_str(), path.c_str()) != 0) error = errno;
    } else if (::link(temp.c_str(), path.c_str()) != 0) {
      error = errno;  // EEXIST when the key file is already there.
    }
  }
  ::unlink(temp.c_str());
  return error == 0 ? std::error_code() : std::error_code(error, std::generic_category());
}

// ---- base64 ----

std::string ToBase64(Bytes bytes) {
  EnsureSodium();
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

Result<std::string> FromBase64(std::string_view text) {
  EnsureSodium();
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), " \t\r\n", &length, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return WireError::kBadKey;
  }
  out.resize(length);
  return out;
}

}  // namespace ringv8::wire
