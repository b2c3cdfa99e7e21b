// Reader and Writer: py-ipv8's Serializer formats (spec section 2) over byte spans.
//
// Reader decodes from a span without copying: byte fields come back as spans into the input, which
// stay valid as long as the input does. Every read is bounds-checked; the first failure records a
// WireError, makes that and every later read return false, and leaves the outputs untouched.
// Writer encodes into a caller-owned span; overflowing it records kBufferTooSmall.
// Neither allocates, except the list readers that fill a std::vector.
//
// py-ipv8 format -> method:  ? Bool | B c U8 | H U16 | I U32 | l I32 | q I64 | Q U64 | f F32 |
// d F64 | 20s 32s 64s 74s Bytes(n) | bits Bits | ipv4 Ipv4 | ip_address IpAddress | address Address
// | raw Raw | varlenH doublevarlenH VarlenH | varlenI VarlenI | varlenHutf8 VarlenHUtf8 |
// varlenIutf8 VarlenIUtf8 | varlenBx2 VarlenBx2 | varlenHx20 VarlenHx20 | varlenH-list VarlenHList
// | payload VarlenH (nested body) | payload-list PayloadList | arrayH-? arrayH-q arrayH-d ArrayH*.
// Composite struct codes (HH, BH, QQHHBH, 4SH, c20s, ...) are their parts in order.
// docs/wire-format.md describes every format.
//
// Thread-compatible.
#ifndef RINGV8_WIRE_SERIALIZER_H_
#define RINGV8_WIRE_SERIALIZER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "ring/address.h"
#include "wire/wire_error.h"

namespace ringv8::wire {

using Bytes = std::span<const uint8_t>;

// A `bits` byte: flags[0] is bit 0x80, flags[7] is bit 0x01 (py-ipv8's argument order).
using Bits = std::array<bool, 8>;

// A host name and port, the third kind of py-ipv8's `address` format. `host` points into the input.
struct HostPort {
  std::string_view host;
  uint16_t port = 0;
  friend bool operator==(const HostPort&, const HostPort&) = default;
};
using AnyAddress = std::variant<Address, HostPort>;

// Tags of the `ip_address` / `address` formats.
inline constexpr uint8_t kAddressTagIpv4 = 0x01;
inline constexpr uint8_t kAddressTagHost = 0x02;
inline constexpr uint8_t kAddressTagIpv6 = 0x03;

bool IsValidUtf8(Bytes bytes);

class Reader {
 public:
  explicit Reader(Bytes input) : input_(input) {}

  bool ok() const { return error_ == WireError{}; }
  WireError error() const { return error_; }
  size_t remaining() const { return input_.size() - pos_; }
  size_t position() const { return pos_; }
  bool AtEnd() const { return pos_ == input_.size(); }
  // Fails with kTrailingBytes unless all input was consumed; returns ok().
  bool ExpectEnd();
  // Records `error` (if none is recorded yet) for a check the caller made; returns false.
  bool Reject(WireError error);

  bool ReadBool(bool* out);
  bool ReadU8(uint8_t* out);
  bool ReadU16(uint16_t* out);
  bool ReadU32(uint32_t* out);
  bool ReadI32(int32_t* out);
  bool ReadU64(uint64_t* out);
  bool ReadI64(int64_t* out);
  bool ReadF32(float* out);
  bool ReadF64(double* out);
  bool ReadBytes(size_t n, Bytes* out);
  template <size_t N>
  bool ReadArray(std::array<uint8_t, N>* out);
  bool ReadBits(Bits* out);
  bool ReadIpv4(Address* out);
  bool ReadIpAddress(Address* out);
  bool ReadAddress(AnyAddress* out);
  bool ReadRaw(Bytes* out);
  bool ReadVarlenH(Bytes* out);
  bool ReadVarlenI(Bytes* out);
  bool ReadVarlenHUtf8(std::string_view* out);
  bool ReadVarlenIUtf8(std::string_view* out);
  // varlenBx2: u8 count of 2-byte units; varlenHx20: u16 count of 20-byte units.
  bool ReadVarlenBx2(Bytes* out);
  bool ReadVarlenHx20(Bytes* out);
  bool ReadVarlenHList(std::vector<Bytes>* out);
  bool ReadPayloadList(std::vector<Bytes>* out);
  // arrayH-?, arrayH-q, arrayH-d: native byte order (little-endian on every target we build for).
  bool ReadArrayHBool(std::vector<bool>* out);
  bool ReadArrayHI64(std::vector<int64_t>* out);
  bool ReadArrayHF64(std::vector<double>* out);

 private:
  // Returns the next n bytes and advances, or fails with kTruncated.
  const uint8_t* Take(size_t n);
  // A big-endian integer or float of sizeof(T) bytes.
  template <typename T>
  bool ReadScalar(T* out);
  // The native-endian count of the arrayH-* formats.
  bool ReadNativeU16(uint16_t* out);
  // arrayH-q / arrayH-d.
  template <typename T>
  bool ReadArrayH(std::vector<T>* out);
  bool ReadUnits(size_t count, size_t unit, Bytes* out);
  bool ReadUtf8(Bytes bytes, std::string_view* out);

  Bytes input_;
  size_t pos_ = 0;
  WireError error_{};
};

class Writer {
 public:
  explicit Writer(std::span<uint8_t> output) : output_(output) {}

  bool ok() const { return error_ == WireError{}; }
  WireError error() const { return error_; }
  size_t size() const { return pos_; }
  // What has been written so far.
  std::span<uint8_t> written() const { return output_.first(pos_); }

  void WriteBool(bool v) { WriteU8(v ? 1 : 0); }
  void WriteU8(uint8_t v);
  void WriteU16(uint16_t v);
  void WriteU32(uint32_t v);
  void WriteI32(int32_t v) { WriteU32(static_cast<uint32_t>(v)); }
  void WriteU64(uint64_t v);
  void WriteI64(int64_t v) { WriteU64(static_cast<uint64_t>(v)); }
  void WriteF32(float v);
  void WriteF64(double v);
  void WriteBytes(Bytes bytes);
  void WriteBits(const Bits& bits);
  // `ipv4`: fails with kBadAddressType for an IPv6 address.
  void WriteIpv4(const Address& address);
  void WriteIpAddress(const Address& address);
  void WriteAddress(const AnyAddress& address);
  void WriteRaw(Bytes bytes) { WriteBytes(bytes); }
  void WriteVarlenH(Bytes bytes);
  void WriteVarlenI(Bytes bytes);
  void WriteVarlenHUtf8(std::string_view text);
  void WriteVarlenIUtf8(std::string_view text);
  void WriteVarlenBx2(Bytes bytes);
  void WriteVarlenHx20(Bytes bytes);
  void WriteVarlenHList(std::span<const Bytes> items);
  void WritePayloadList(std::span<const Bytes> items);
  void WriteArrayHBool(std::span<const bool> items);
  void WriteArrayHI64(std::span<const int64_t> items);
  void WriteArrayHF64(std::span<const double> items);

 private:
  void Fail(WireError error);
  // Returns room for n more bytes and advances, or fails with kBufferTooSmall.
  uint8_t* Take(size_t n);
  void WriteNativeU16(uint16_t v);

  std::span<uint8_t> output_;
  size_t pos_ = 0;
  WireError error_{};
};

template <size_t N>
bool Reader::ReadArray(std::array<uint8_t, N>* out) {
  const uint8_t* p = Take(N);
  if (p == nullptr) return false;
  std::copy(p, p + N, out->begin());
  return true;
}

}  // namespace ringv8::wire

#endif  // RINGV8_WIRE_SERIALIZER_H_
