#include "wire/keys.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/testing/vectors.h"
#include "wire/hex.h"

namespace ringv8::wire {
namespace {

using ::ringv8::testing::Hex;

std::vector<uint8_t> PrivateBin(uint8_t fill) {
  std::vector<uint8_t> bin(74, fill);
  for (size_t i = 0; i < kLibNaClPrivatePrefix.size(); ++i) bin[i] = kLibNaClPrivatePrefix[i];
  return bin;
}

// Spec section 11.2.
TEST(Keys, ReproduceTheSpecKeys) {
  auto k1 = PrivateKey::FromBin(PrivateBin(0x01));
  ASSERT_TRUE(k1);
  EXPECT_EQ(ToHex(k1->public_key().bin()),
            "4c69624e61434c504b3aa4e09292b651c278b9772c569f5fa9bb13d906b46ab68c9df9dc2b4409f8a209"
            "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c");
  EXPECT_EQ(ToHex(k1->mid()), "5b16b30807cdcb11f8214a5eb762c0dc1931c503");
  auto test = Hex("74657374");
  EXPECT_EQ(ToHex(k1->Sign(test)),
            "ef12237050764bc02516598f45bc4f8839bd0e85d23f36a202867bba58cc68d8f3786a1fbc290c5247ed"
            "725923713dcb7210acf3b4959a098e18c22206512a07");
  std::vector<uint8_t> all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(ToHex(k1->Sign(all)),
            "38be3f06b38db12c27898e52dd8b82a3c13a1b6f9b8ffda65ccfe1bd54923c7693c3478a5ca6265487fb"
            "d1a1e249ddf1a6041c234c4144c1ea9818c7274b300c");

  auto k2 = PrivateKey::FromBin(PrivateBin(0x02));
  ASSERT_TRUE(k2);
  EXPECT_EQ(ToHex(k2->public_key().bin()),
            "4c69624e61434c504b3ace8d3ad1ccb633ec7b70c17814a5c76ecd029685050d344745ba05870e587d59"
            "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394");
  EXPECT_EQ(ToHex(k2->mid()), "be5336ab33803e4de47773eb795682f876f67f24");

  auto k3 = PrivateKey::FromBin(PrivateBin(0x03));
  ASSERT_TRUE(k3);
  EXPECT_EQ(ToHex(k3->mid()), "522fc4102bbc04f519812c4b030b5858907784f8");
}

TEST(Keys, SignaturesVerifyAndFlippedBitsDoNot) {
  auto key = PrivateKey::Generate();
  auto message = Hex("0102030405");
  auto signature = key.Sign(message);
  EXPECT_TRUE(key.public_key().Verify(message, signature));
  for (size_t i = 0; i < signature.size(); ++i) {
    auto bad = signature;
    bad[i] ^= 0x04;
    EXPECT_FALSE(key.public_key().Verify(message, bad)) << i;
  }
  message[0] ^= 1;
  EXPECT_FALSE(key.public_key().Verify(message, signature));
  EXPECT_FALSE(key.public_key().Verify(message, Bytes(signature).first(63)));
}

TEST(Keys, GeneratedKeysAreFreshAndRoundTrip) {
  auto a = PrivateKey::Generate();
  auto b = PrivateKey::Generate();
  EXPECT_NE(ToHex(a.bin()), ToHex(b.bin()));
  auto again = PrivateKey::FromBin(a.bin());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->public_key(), a.public_key());
  EXPECT_EQ(ToHex(Bytes(a.bin()).first(10)),
            ToHex(Bytes(reinterpret_cast<const uint8_t*>(kLibNaClPrivatePrefix.data()), 10)));
}

// Spec 11.1 (py-ipv8's test_community.py): "LibNaCLPK:" + 64 ASCII zeros is a valid public key.
TEST(Keys, AcceptsAnyLibNaClBinOfAtLeast74Bytes) {
  std::string text = "LibNaCLPK:" + std::string(64, '0');
  Bytes bin(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  auto key = PublicKey::FromBin(bin);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->type(), PublicKey::Type::kLibNaCl);
  EXPECT_EQ(key->signature_length(), 64u);

  std::vector<uint8_t> longer(bin.begin(), bin.end());
  longer.push_back(0x99);
  auto trimmed = PublicKey::FromBin(longer);
  ASSERT_TRUE(trimmed);
  EXPECT_EQ(trimmed->bin().size(), 74u);  // Re-serialises to exactly 74 bytes.
}

TEST(Keys, RejectsMalformedPublicKeys) {
  EXPECT_EQ(PublicKey::FromBin(Hex("")).error(), WireError::kUnknownKeyType);
  EXPECT_EQ(PublicKey::FromBin(Hex("4c69624e61434c504b3a0000")).error(), WireError::kBadKey);
  EXPECT_EQ(PublicKey::FromBin(Hex("ff00ff")).error(), WireError::kUnknownKeyType);
  EXPECT_EQ(PublicKey::FromBin(Hex("3003020101")).error(), WireError::kBadKey);
  // A private key bin is not a public key.
  EXPECT_EQ(PublicKey::FromBin(PrivateBin(1)).error(), WireError::kUnknownKeyType);
}

TEST(Keys, RejectsMalformedPrivateKeys) {
  EXPECT_EQ(PrivateKey::FromBin(Hex("")).error(), WireError::kUnknownKeyType);
  auto short_bin = PrivateBin(1);
  short_bin.resize(73);
  EXPECT_EQ(PrivateKey::FromBin(short_bin).error(), WireError::kBadKey);
  // EC private keys (DER or PEM) are refused: ringv8 identities are curve25519.
  EXPECT_EQ(PrivateKey::FromBin(Hex("305302010104150314aeceb66a02cddc955ea85a5e64ea51b6cd9411a0"))
                .error(),
            WireError::kUnknownKeyType);
}

// Spec 11.2: the sect163k1 ("very-low") verification vector, as the public trackers sign.
TEST(Keys, VerifiesLegacySect163k1Signatures) {
  auto der = Hex(
      "3040301006072a8648ce3d020106052b81040001032c0004045f20134393be98bc7946b1b737ce4441633243f9"
      "064cbed69ed0cad028aec3c066359719166b197805");
  auto key = PublicKey::FromBin(der);
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_EQ(key->type(), PublicKey::Type::kEc);
  EXPECT_EQ(key->signature_length(), 42u);
  EXPECT_EQ(ToHex(key->mid()), "20ab048a218a0c188fc646eb4b46a6a8f574e3ed");
  EXPECT_EQ(ToHex(key->bin()), ToHex(der));
  EXPECT_EQ(SignatureLengthOf(der).value(), 42u);

  auto message = Hex("74657374");
  auto signature =
      Hex("024bd9e780fc0c6a6c6203161124c78c31c4c4ac7d022829be79dcb04a0474f4fc35bf7be55ddf2832a9");
  EXPECT_TRUE(key->Verify(message, signature));
  for (size_t i = 0; i < signature.size(); ++i) {
    auto bad = signature;
    bad[i] ^= 0x01;
    EXPECT_FALSE(key->Verify(message, bad)) << i;
  }
  EXPECT_FALSE(key->Verify(Hex("74657375"), signature));
  EXPECT_FALSE(key->Verify(message, Bytes(signature).first(40)));
}

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/ringv8-keys-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/ec_multichain.pem";
  }
  void TearDown() override {
    std::remove(path_.c_str());
    rmdir(dir_.c_str());
  }
  std::string dir_, path_;
};

TEST_F(KeyFileTest, SavesRawBinWithMode0600AndLoadsIt) {
  auto key = PrivateKey::Generate();
  ASSERT_FALSE(SaveKeyFile(path_, key, /*overwrite=*/false));
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 74);

  std::ifstream in(path_, std::ios::binary);
  std::vector<uint8_t> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(ToHex(raw), ToHex(key.bin()));

  auto loaded = LoadKeyFile(path_);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->public_key(), key.public_key());
}

TEST_F(KeyFileTest, RefusesToOverwriteUnlessAsked) {
  auto first = PrivateKey::Generate();
  auto second = PrivateKey::Generate();
  ASSERT_FALSE(SaveKeyFile(path_, first, false));
  EXPECT_EQ(SaveKeyFile(path_, second, false), std::errc::file_exists);
  EXPECT_EQ(LoadKeyFile(path_)->public_key(), first.public_key());
  ASSERT_FALSE(SaveKeyFile(path_, second, true));
  EXPECT_EQ(LoadKeyFile(path_)->public_key(), second.public_key());
}

TEST_F(KeyFileTest, ReportsMissingAndBadFiles) {
  EXPECT_EQ(LoadKeyFile(path_).error(), std::errc::no_such_file_or_directory);
  std::ofstream(path_) << "not a key";
  EXPECT_EQ(LoadKeyFile(path_).error(), WireError::kUnknownKeyType);
}

TEST(Base64, RoundTripsKeyBins) {
  auto key = PrivateKey::FromBin(PrivateBin(0x01));
  std::string text = ToBase64(key->bin());
  EXPECT_EQ(text.substr(0, 14), "TGliTmFDTFNLOg");  // "LibNaCLSK:"
  auto back = FromBase64(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, std::string(key->bin().begin(), key->bin().end()));
  EXPECT_FALSE(FromBase64("not base64!"));
}

}  // namespace
}  // namespace ringv8::wire
