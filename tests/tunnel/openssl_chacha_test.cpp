// OpenSslChaCha (OpenSSL's provider called without EVP) against libsodium's ChaCha20-Poly1305
// IETF at every size a layer may have, in place and not, and a damaged tag refused. The tunnel
// vectors check it through LayerCipher (crypto_test.cpp).
#include "tunnel/openssl_chacha.h"

#include <sodium.h>

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "wire/keys.h"

namespace ringv8::tunnel {
namespace {

constexpr size_t kSizes[] = {0, 1, 15, 16, 17, 63, 64, 65, 255, 256, 1000, 1400, 1448, 4097};

struct Message {
  explicit Message(size_t size) : plain(size), sealed(size) {
    // Storage even at size 0: libsodium declares its pointers never null.
    plain.reserve(size + 1);
    sealed.reserve(size + 1);
    for (size_t i = 0; i < size; ++i) plain[i] = static_cast<uint8_t>(i * 7 + 3);
    for (size_t i = 0; i < sizeof(key); ++i) key[i] = static_cast<uint8_t>(i + 1);
    for (size_t i = 0; i < sizeof(nonce); ++i) nonce[i] = static_cast<uint8_t>(0xa0 + i);
    wire::EnsureSodium();
    // libsodium's bytes and tag: the reference.
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(sealed.data(), tag, nullptr, plain.data(),
                                                       size, nullptr, 0, nullptr, nonce, key);
  }
  std::vector<uint8_t> plain, sealed;
  uint8_t key[32], nonce[12], tag[16];
};

TEST(OpenSslChaChaTest, SealsAsLibsodiumAtEverySize) {
  OpenSslChaCha cipher;
  for (size_t size : kSizes) {
    Message m(size);
    std::vector<uint8_t> out(size);
    uint8_t tag[16];
    ASSERT_TRUE(cipher.StartEncrypt(m.key, m.nonce));
    // In two parts, as an exit's reply is sealed (its header, then the datagram).
    const size_t half = size / 3;
    ASSERT_TRUE(cipher.Update(out.data(), m.plain.data(), half));
    ASSERT_TRUE(cipher.Update(out.data() + half, m.plain.data() + half, size - half));
    ASSERT_TRUE(cipher.Finish(tag));
    EXPECT_EQ(out, m.sealed) << size;
    EXPECT_EQ(std::memcmp(tag, m.tag, sizeof(tag)), 0) << size;
  }
}

TEST(OpenSslChaChaTest, OpensInPlaceAndRefusesADamagedTag) {
  OpenSslChaCha cipher;
  for (size_t size : kSizes) {
    Message m(size);
    std::vector<uint8_t> buffer = m.sealed;
    ASSERT_TRUE(cipher.StartDecrypt(m.key, m.nonce, m.tag));
    ASSERT_TRUE(cipher.Update(buffer.data(), buffer.data(), size));
    EXPECT_TRUE(cipher.Finish(nullptr)) << size;
    EXPECT_EQ(buffer, m.plain) << size;

    m.tag[size % 16] ^= 0x01;
    std::vector<uint8_t> out(size);
    ASSERT_TRUE(cipher.StartDecrypt(m.key, m.nonce, m.tag));
    ASSERT_TRUE(cipher.Update(out.data(), m.sealed.data(), size));
    EXPECT_FALSE(cipher.Finish(nullptr)) << size;
  }
}

TEST(OpenSslChaChaTest, ANullKeyKeepsTheLastOne) {
  OpenSslChaCha cipher;
  Message m(100);
  std::vector<uint8_t> first(100), second(100);
  uint8_t tag1[16], tag2[16];
  ASSERT_TRUE(cipher.StartEncrypt(m.key, m.nonce));
  ASSERT_TRUE(cipher.Update(first.data(), m.plain.data(), 100));
  ASSERT_TRUE(cipher.Finish(tag1));
  ASSERT_TRUE(cipher.StartEncrypt(nullptr, m.nonce));
  ASSERT_TRUE(cipher.Update(second.data(), m.plain.data(), 100));
  ASSERT_TRUE(cipher.Finish(tag2));
  EXPECT_EQ(first, second);
  EXPECT_EQ(std::memcmp(tag1, tag2, 16), 0);
}

}  // namespace
}  // namespace ringv8::tunnel
