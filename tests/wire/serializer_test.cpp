#include "wire/serializer.h"

#include <random>
#include <string>

#include <gtest/gtest.h>

#include "tests/testing/vectors.h"
#include "wire/hex.h"

namespace ringv8::wire {
namespace {

using ::ringv8::testing::Hex;

// Runs `write` into a fresh buffer and returns the hex of what it wrote.
template <typename F>
std::string Encoded(F write) {
  std::vector<uint8_t> buffer(1024);
  Writer writer(buffer);
  write(writer);
  EXPECT_TRUE(writer.ok()) << WireErrorName(writer.error());
  return ToHex(writer.written());
}

// Spec section 11.3: bytes produced by py-ipv8's serializer.
TEST(Serializer, MatchesPyIpv8ReferenceEncodings) {
  EXPECT_EQ(Encoded([](Writer& w) {
              w.WriteArrayHI64(std::vector<int64_t>{1, 2});
            }),
            "020001000000000000000200000000000000");
  EXPECT_EQ(Encoded([](Writer& w) {
              bool items[] = {true, false, true};
              w.WriteArrayHBool(items);
            }),
            "0300010001");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteArrayHF64(std::vector<double>{1.0}); }),
            "0100000000000000f03f");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteVarlenBx2(Hex("61626364")); }), "0261626364");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteVarlenHx20(std::vector<uint8_t>(40, 0xAB)); }),
            "0002" + ToHex(std::vector<uint8_t>(40, 0xAB)));
  EXPECT_EQ(Encoded([](Writer& w) {
              auto ab = Hex("6162");
              auto c = Hex("63");
              Bytes items[] = {ab, c};
              w.WriteVarlenHList(items);
            }),
            "02000261620001"
            "63");
  EXPECT_EQ(Encoded([](Writer& w) {
              w.WriteAddress(HostPort{"example.com", 80});
            }),
            "02000b6578616d706c652e636f6d0050");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteAddress(*Address::Parse("[::1]:80")); }),
            "03000000000000000000000000000000010050");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteIpAddress(*Address::Parse("1.2.3.4:80")); }),
            "01010203040050");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteBits({1, 0, 1, 0, 0, 0, 0, 1}); }), "a1");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteVarlenHUtf8("h\xc3\xa9"); }), "000368c3a9");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteBool(true); }), "01");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteF32(1.5f); }), "3fc00000");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteF64(1.5); }), "3ff8000000000000");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteI64(-2); }), "fffffffffffffffe");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteI32(-2); }), "fffffffe");
}

TEST(Serializer, ReadsBackWhatItWrites) {
  std::vector<uint8_t> buffer(512);
  Writer w(buffer);
  w.WriteBool(true);
  w.WriteU8(0xAB);
  w.WriteU16(0x1234);
  w.WriteU32(0xDEADBEEF);
  w.WriteI32(-7);
  w.WriteU64(0x0102030405060708ull);
  w.WriteI64(-9);
  w.WriteF32(0.25f);
  w.WriteF64(-2.5);
  w.WriteBits({0, 1, 0, 0, 0, 0, 1, 1});
  w.WriteIpv4(*Address::Parse("82.94.1.10:8090"));
  w.WriteIpAddress(*Address::Parse("[2001:db8::1]:9000"));
  w.WriteAddress(HostPort{"dispersy1.tribler.org", 6421});
  w.WriteVarlenH(Hex("0102"));
  w.WriteVarlenI(Hex("03"));
  w.WriteVarlenIUtf8("text");
  w.WriteArrayHI64(std::vector<int64_t>{-1, 5});
  w.WriteRaw(Hex("ffee"));
  ASSERT_TRUE(w.ok());

  Reader r(w.written());
  bool b;
  uint8_t u8;
  uint16_t u16;
  uint32_t u32;
  int32_t i32;
  uint64_t u64;
  int64_t i64;
  float f32;
  double f64;
  Bits bits;
  Address v4, v6;
  AnyAddress host;
  Bytes varlen_h, varlen_i, raw;
  std::string_view text;
  std::vector<int64_t> array;
  ASSERT_TRUE(r.ReadBool(&b) && r.ReadU8(&u8) && r.ReadU16(&u16) && r.ReadU32(&u32) &&
              r.ReadI32(&i32) && r.ReadU64(&u64) && r.ReadI64(&i64) && r.ReadF32(&f32) &&
              r.ReadF64(&f64) && r.ReadBits(&bits) && r.ReadIpv4(&v4) && r.ReadIpAddress(&v6) &&
              r.ReadAddress(&host) && r.ReadVarlenH(&varlen_h) && r.ReadVarlenI(&varlen_i) &&
              r.ReadVarlenIUtf8(&text) && r.ReadArrayHI64(&array) && r.ReadRaw(&raw));
  EXPECT_TRUE(r.ExpectEnd());
  EXPECT_TRUE(b);
  EXPECT_EQ(u8, 0xAB);
  EXPECT_EQ(u16, 0x1234);
  EXPECT_EQ(u32, 0xDEADBEEF);
  EXPECT_EQ(i32, -7);
  EXPECT_EQ(u64, 0x0102030405060708ull);
  EXPECT_EQ(i64, -9);
  EXPECT_EQ(f32, 0.25f);
  EXPECT_EQ(f64, -2.5);
  EXPECT_EQ(bits, (Bits{0, 1, 0, 0, 0, 0, 1, 1}));
  EXPECT_EQ(v4.ToString(), "82.94.1.10:8090");
  EXPECT_EQ(v6.ToString(), "[2001:db8::1]:9000");
  EXPECT_EQ(std::get<HostPort>(host), (HostPort{"dispersy1.tribler.org", 6421}));
  EXPECT_EQ(ToHex(varlen_h), "0102");
  EXPECT_EQ(ToHex(varlen_i), "03");
  EXPECT_EQ(text, "text");
  EXPECT_EQ(array, (std::vector<int64_t>{-1, 5}));
  EXPECT_EQ(ToHex(raw), "ffee");
}

TEST(Serializer, AnyNonZeroByteReadsAsTrue) {
  auto bytes = Hex("02");
  Reader r(bytes);
  bool b = false;
  ASSERT_TRUE(r.ReadBool(&b));
  EXPECT_TRUE(b);
}

TEST(Serializer, RejectsUnknownAddressTags) {
  for (const char* hex : {"0001020304", "04000000000000", "ff"}) {
    auto bytes = Hex(hex);
    Reader r(bytes);
    AnyAddress a;
    EXPECT_FALSE(r.ReadAddress(&a)) << hex;
    EXPECT_EQ(r.error(), WireError::kBadAddressType) << hex;
  }
  // ip_address refuses host names, which only `address` carries.
  auto host =
      Hex("02000161"
          "0050");
  Reader r(host);
  Address a;
  EXPECT_FALSE(r.ReadIpAddress(&a));
  EXPECT_EQ(r.error(), WireError::kBadAddressType);
}

TEST(Serializer, RejectsInvalidUtf8) {
  for (const char* hex : {"0001ff", "0002c328", "0003eda080", "0002c0af", "0001c3"}) {
    auto bytes = Hex(hex);
    Reader r(bytes);
    std::string_view text;
    EXPECT_FALSE(r.ReadVarlenHUtf8(&text)) << hex;
    EXPECT_EQ(r.error(), WireError::kBadUtf8) << hex;
  }
}

TEST(Serializer, LengthFieldsLongerThanTheInputAreTruncated) {
  struct Case {
    const char* hex;
    bool (*read)(Reader&);
  };
  const Case cases[] = {
      {"0003aabb",
       [](Reader& r) {
         Bytes b;
         return r.ReadVarlenH(&b);
       }},
      {"00000003aabb",
       [](Reader& r) {
         Bytes b;
         return r.ReadVarlenI(&b);
       }},
      {"02aabbcc",
       [](Reader& r) {
         Bytes b;
         return r.ReadVarlenBx2(&b);
       }},
      {"0001"
       "aabb",
       [](Reader& r) {
         Bytes b;
         return r.ReadVarlenHx20(&b);
       }},
      {"020001aa0005",
       [](Reader& r) {
         std::vector<Bytes> v;
         return r.ReadVarlenHList(&v);
       }},
      {"0300aa",
       [](Reader& r) {
         std::vector<bool> v;
         return r.ReadArrayHBool(&v);
       }},
      {"0200aabbccddeeff0011",
       [](Reader& r) {
         std::vector<int64_t> v;
         return r.ReadArrayHI64(&v);
       }},
      {"0100aabb",
       [](Reader& r) {
         std::vector<double> v;
         return r.ReadArrayHF64(&v);
       }},
      {"010102",
       [](Reader& r) {
         Address a;
         return r.ReadIpAddress(&a);
       }},
      {"03000000",
       [](Reader& r) {
         Address a;
         return r.ReadIpAddress(&a);
       }},
      {"02ffff61",
       [](Reader& r) {
         AnyAddress a;
         return r.ReadAddress(&a);
       }},
  };
  for (const auto& c : cases) {
    auto bytes = Hex(c.hex);
    Reader r(bytes);
    EXPECT_FALSE(c.read(r)) << c.hex;
    EXPECT_EQ(r.error(), WireError::kTruncated) << c.hex;
  }
}

TEST(Serializer, TheFirstErrorSticks) {
  auto bytes = Hex("01");
  Reader r(bytes);
  uint16_t v = 7;
  EXPECT_FALSE(r.ReadU16(&v));
  EXPECT_EQ(v, 7);  // Outputs untouched on failure.
  uint8_t u = 0;
  EXPECT_FALSE(r.ReadU8(&u));  // Even though one byte is there.
  EXPECT_EQ(r.error(), WireError::kTruncated);
}

TEST(Serializer, WriterRefusesToOverflowItsBuffer) {
  std::vector<uint8_t> small(3);
  Writer w(small);
  w.WriteU16(1);
  w.WriteU16(2);
  EXPECT_FALSE(w.ok());
  EXPECT_EQ(w.error(), WireError::kBufferTooSmall);
  EXPECT_EQ(w.size(), 2u);
}

TEST(Serializer, WriterRefusesValuesTheirLengthFieldCannotHold) {
  std::vector<uint8_t> big(70000), out(80000);
  Writer w(out);
  w.WriteVarlenH(big);
  EXPECT_EQ(w.error(), WireError::kValueTooLarge);
  Writer w2(out);
  w2.WriteVarlenHx20(std::vector<uint8_t>(21));
  EXPECT_EQ(w2.error(), WireError::kValueTooLarge);
  Writer w3(out);
  w3.WriteIpv4(*Address::Parse("[::1]:1"));
  EXPECT_EQ(w3.error(), WireError::kBadAddressType);
}

TEST(Serializer, RandomInputNeverReadsOutOfBounds) {
  std::mt19937 rng(1234);
  for (int round = 0; round < 2000; ++round) {
    std::vector<uint8_t> bytes(rng() % 64);
    for (auto& b : bytes) b = static_cast<uint8_t>(rng());
    Reader r(bytes);
    // A random sequence of reads; the sanitizer build catches any out-of-bounds access.
    for (int i = 0; i < 12 && r.ok(); ++i) {
      Bytes b;
      AnyAddress a;
      std::vector<Bytes> list;
      std::vector<double> doubles;
      std::string_view text;
      switch (rng() % 7) {
        case 0:
          r.ReadVarlenH(&b);
          break;
        case 1:
          r.ReadAddress(&a);
          break;
        case 2:
          r.ReadVarlenHList(&list);
          break;
        case 3:
          r.ReadArrayHF64(&doubles);
          break;
        case 4:
          r.ReadVarlenHUtf8(&text);
          break;
        case 5:
          r.ReadVarlenHx20(&b);
          break;
        default:
          r.ReadBytes(rng() % 8, &b);
          break;
      }
      EXPECT_LE(r.position(), bytes.size());
    }
  }
}

}  // namespace
}  // namespace ringv8::wire
