#include "wire/serializer.h"

#include <bit>
#include <cstring>
#include <type_traits>

namespace ringv8::wire {

static_assert(std::endian::native == std::endian::little,
              "arrayH-* formats are native-endian; ringv8 only targets little-endian machines");

namespace {

uint64_t LoadBigEndian(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

void StoreBigEndian(uint8_t* p, uint64_t v, size_t n) {
  for (size_t i = n; i > 0; --i) {
    p[i - 1] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

template <size_t N>
using UnsignedOfSize = std::conditional_t<
    N == 1, uint8_t,
    std::conditional_t<N == 2, uint16_t, std::conditional_t<N == 4, uint32_t, uint64_t>>>;

constexpr size_t kIpv4Size = 4;
constexpr size_t kIpv6Size = 16;

}  // namespace

bool IsValidUtf8(Bytes bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    uint8_t c = bytes[i];
    size_t extra;
    uint32_t min;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, min = 0x10000;
    } else {
      return false;
    }
    if (extra >= bytes.size() - i) return false;
    uint32_t cp = c & (0x3F >> extra);
    for (size_t k = 1; k <= extra; ++k) {
      uint8_t cc = bytes[i + k];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are invalid, as in Python.
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

// ---- Reader ----

bool Reader::Reject(WireError error) {
  if (ok()) error_ = error;
  return false;
}

const uint8_t* Reader::Take(size_t n) {
  if (!ok()) return nullptr;
  if (n > remaining()) {
    Reject(WireError::kTruncated);
    return nullptr;
  }
  const uint8_t* p = input_.data() + pos_;
  pos_ += n;
  return p;
}

bool Reader::ExpectEnd() {
  if (ok() && !AtEnd()) Reject(WireError::kTrailingBytes);
  return ok();
}

bool Reader::ReadBool(bool* out) {
  uint8_t v;
  if (!ReadU8(&v)) return false;
  *out = v != 0;
  return true;
}

template <typename T>
bool Reader::ReadScalar(T* out) {
  using Unsigned = UnsignedOfSize<sizeof(T)>;
  const uint8_t* p = Take(sizeof(T));
  if (p == nullptr) return false;
  *out = std::bit_cast<T>(static_cast<Unsigned>(LoadBigEndian(p, sizeof(T))));
  return true;
}

bool Reader::ReadU8(uint8_t* out) { return ReadScalar(out); }
bool Reader::ReadU16(uint16_t* out) { return ReadScalar(out); }
bool Reader::ReadU32(uint32_t* out) { return ReadScalar(out); }
bool Reader::ReadI32(int32_t* out) { return ReadScalar(out); }
bool Reader::ReadU64(uint64_t* out) { return ReadScalar(out); }
bool Reader::ReadI64(int64_t* out) { return ReadScalar(out); }
bool Reader::ReadF32(float* out) { return ReadScalar(out); }
bool Reader::ReadF64(double* out) { return ReadScalar(out); }

bool Reader::ReadBytes(size_t n, Bytes* out) {
  const uint8_t* p = Take(n);
  if (p == nullptr) return false;
  *out = Bytes(p, n);
  return true;
}

bool Reader::ReadBits(Bits* out) {
  uint8_t v;
  if (!ReadU8(&v)) return false;
  for (int i = 0; i < 8; ++i) (*out)[i] = (v >> (7 - i)) & 1;
  return true;
}

bool Reader::ReadIpv4(Address* out) {
  const uint8_t* p = Take(kIpv4Size + 2);
  if (p == nullptr) return false;
  *out = Address::Ipv4({p[0], p[1], p[2], p[3]}, static_cast<uint16_t>(LoadBigEndian(p + 4, 2)));
  return true;
}

bool Reader::ReadIpAddress(Address* out) {
  AnyAddress any;
  size_t start = pos_;
  if (!ReadAddress(&any)) return false;
  if (const auto* ip = std::get_if<Address>(&any)) {
    *out = *ip;
    return true;
  }
  pos_ = start;
  return Reject(WireError::kBadAddressType);
}

bool Reader::ReadAddress(AnyAddress* out) {
  uint8_t tag;
  if (!ReadU8(&tag)) return false;
  switch (tag) {
    case kAddressTagIpv4: {
      Address a;
      if (!ReadIpv4(&a)) return false;
      *out = a;
      return true;
    }
    case kAddressTagIpv6: {
      const uint8_t* p = Take(kIpv6Size + 2);
      if (p == nullptr) return false;
      std::array<uint8_t, 16> ip;
      std::memcpy(ip.data(), p, kIpv6Size);
      *out = Address::Ipv6(ip, static_cast<uint16_t>(LoadBigEndian(p + kIpv6Size, 2)));
      return true;
    }
    case kAddressTagHost: {
      Bytes host;
      uint16_t port;
      if (!ReadVarlenH(&host) || !ReadU16(&port)) return false;
      if (!IsValidUtf8(host)) return Reject(WireError::kBadUtf8);
      *out =
          HostPort{std::string_view(reinterpret_cast<const char*>(host.data()), host.size()), port};
      return true;
    }
    default:
      return Reject(WireError::kBadAddressType);
  }
}

bool Reader::ReadRaw(Bytes* out) { return ReadBytes(remaining(), out); }

bool Reader::ReadUnits(size_t count, size_t unit, Bytes* out) {
  return ReadBytes(count * unit, out);
}

bool Reader::ReadVarlenH(Bytes* out) {
  uint16_t n;
  return ReadU16(&n) && ReadBytes(n, out);
}

bool Reader::ReadVarlenI(Bytes* out) {
  uint32_t n;
  return ReadU32(&n) && ReadBytes(n, out);
}

bool Reader::ReadUtf8(Bytes bytes, std::string_view* out) {
  if (!IsValidUtf8(bytes)) return Reject(WireError::kBadUtf8);
  *out = std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return true;
}

bool Reader::ReadVarlenHUtf8(std::string_view* out) {
  Bytes bytes;
  return ReadVarlenH(&bytes) && ReadUtf8(bytes, out);
}

bool Reader::ReadVarlenIUtf8(std::string_view* out) {
  Bytes bytes;
  return ReadVarlenI(&bytes) && ReadUtf8(bytes, out);
}

bool Reader::ReadVarlenBx2(Bytes* out) {
  uint8_t n;
  return ReadU8(&n) && ReadUnits(n, 2, out);
}

bool Reader::ReadVarlenHx20(Bytes* out) {
  uint16_t n;
  return ReadU16(&n) && ReadUnits(n, 20, out);
}

bool Reader::ReadVarlenHList(std::vector<Bytes>* out) {
  uint8_t n;
  if (!ReadU8(&n)) return false;
  std::vector<Bytes> items(n);
  for (auto& item : items) {
    if (!ReadVarlenH(&item)) return false;
  }
  *out = std::move(items);
  return true;
}

bool Reader::ReadPayloadList(std::vector<Bytes>* out) {
  // Same layout as varlenH-list: u8 count, then u16 length + body per item.
  return ReadVarlenHList(out);
}

bool Reader::ReadNativeU16(uint16_t* out) {
  const uint8_t* p = Take(2);
  if (p == nullptr) return false;
  std::memcpy(out, p, 2);
  return true;
}

bool Reader::ReadArrayHBool(std::vector<bool>* out) {
  uint16_t n;
  Bytes body;
  if (!ReadNativeU16(&n) || !ReadBytes(n, &body)) return false;
  out->assign(body.begin(), body.end());
  return true;
}

template <typename T>
bool Reader::ReadArrayH(std::vector<T>* out) {
  uint16_t n;
  Bytes body;
  if (!ReadNativeU16(&n) || !ReadUnits(n, sizeof(T), &body)) return false;
  out->resize(n);
  std::memcpy(out->data(), body.data(), body.size());
  return true;
}

bool Reader::ReadArrayHI64(std::vector<int64_t>* out) { return ReadArrayH(out); }
bool Reader::ReadArrayHF64(std::vector<double>* out) { return ReadArrayH(out); }

// ---- Writer ----

void Writer::Fail(WireError error) {
  if (ok()) error_ = error;
}

uint8_t* Writer::Take(size_t n) {
  if (!ok()) return nullptr;
  if (n > output_.size() - pos_) {
    Fail(WireError::kBufferTooSmall);
    return nullptr;
  }
  uint8_t* p = output_.data() + pos_;
  pos_ += n;
  return p;
}

void Writer::WriteU8(uint8_t v) {
  if (uint8_t* p = Take(1)) *p = v;
}
void Writer::WriteU16(uint16_t v) {
  if (uint8_t* p = Take(2)) StoreBigEndian(p, v, 2);
}
void Writer::WriteU32(uint32_t v) {
  if (uint8_t* p = Take(4)) StoreBigEndian(p, v, 4);
}
void Writer::WriteU64(uint64_t v) {
  if (uint8_t* p = Take(8)) StoreBigEndian(p, v, 8);
}
void Writer::WriteF32(float v) { WriteU32(std::bit_cast<uint32_t>(v)); }
void Writer::WriteF64(double v) { WriteU64(std::bit_cast<uint64_t>(v)); }

void Writer::WriteBytes(Bytes bytes) {
  if (bytes.empty()) return;
  if (uint8_t* p = Take(bytes.size())) std::memcpy(p, bytes.data(), bytes.size());
}

void Writer::WriteBits(const Bits& bits) {
  uint8_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint8_t>(bits[i] ? 0x80 >> i : 0);
  WriteU8(v);
}

void Writer::WriteIpv4(const Address& address) {
  if (!address.is_v4()) return Fail(WireError::kBadAddressType);
  WriteBytes(address.ip_bytes());
  WriteU16(address.port());
}

void Writer::WriteIpAddress(const Address& address) {
  WriteU8(address.is_v4() ? kAddressTagIpv4 : kAddressTagIpv6);
  WriteBytes(address.ip_bytes());
  WriteU16(address.port());
}

void Writer::WriteAddress(const AnyAddress& address) {
  if (const auto* ip = std::get_if<Address>(&address)) return WriteIpAddress(*ip);
  const auto& host = std::get<HostPort>(address);
  WriteU8(kAddressTagHost);
  WriteVarlenHUtf8(host.host);
  WriteU16(host.port);
}

void Writer::WriteVarlenH(Bytes bytes) {
  if (bytes.size() > 0xFFFF) return Fail(WireError::kValueTooLarge);
  WriteU16(static_cast<uint16_t>(bytes.size()));
  WriteBytes(bytes);
}

void Writer::WriteVarlenI(Bytes bytes) {
  if (bytes.size() > 0xFFFFFFFFu) return Fail(WireError::kValueTooLarge);
  WriteU32(static_cast<uint32_t>(bytes.size()));
  WriteBytes(bytes);
}

void Writer::WriteVarlenHUtf8(std::string_view text) {
  WriteVarlenH(Bytes(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

void Writer::WriteVarlenIUtf8(std::string_view text) {
  WriteVarlenI(Bytes(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

void Writer::WriteVarlenBx2(Bytes bytes) {
  if (bytes.size() % 2 != 0 || bytes.size() / 2 > 0xFF) return Fail(WireError::kValueTooLarge);
  WriteU8(static_cast<uint8_t>(bytes.size() / 2));
  WriteBytes(bytes);
}

void Writer::WriteVarlenHx20(Bytes bytes) {
  if (bytes.size() % 20 != 0 || bytes.size() / 20 > 0xFFFF) {
    return Fail(WireError::kValueTooLarge);
  }
  WriteU16(static_cast<uint16_t>(bytes.size() / 20));
  WriteBytes(bytes);
}

void Writer::WriteVarlenHList(std::span<const Bytes> items) {
  if (items.size() > 0xFF) return Fail(WireError::kValueTooLarge);
  WriteU8(static_cast<uint8_t>(items.size()));
  for (Bytes item : items) WriteVarlenH(item);
}

void Writer::WritePayloadList(std::span<const Bytes> items) { WriteVarlenHList(items); }

void Writer::WriteNativeU16(uint16_t v) {
  if (uint8_t* p = Take(2)) std::memcpy(p, &v, 2);
}

void Writer::WriteArrayHBool(std::span<const bool> items) {
  if (items.size() > 0xFFFF) return Fail(WireError::kValueTooLarge);
  WriteNativeU16(static_cast<uint16_t>(items.size()));
  for (bool b : items) WriteU8(b ? 1 : 0);
}

void Writer::WriteArrayHI64(std::span<const int64_t> items) {
  if (items.size() > 0xFFFF) return Fail(WireError::kValueTooLarge);
  WriteNativeU16(static_cast<uint16_t>(items.size()));
  WriteBytes(Bytes(reinterpret_cast<const uint8_t*>(items.data()), items.size() * 8));
}

void Writer::WriteArrayHF64(std::span<const double> items) {
  if (items.size() > 0xFFFF) return Fail(WireError::kValueTooLarge);
  WriteNativeU16(static_cast<uint16_t>(items.size()));
  WriteBytes(Bytes(reinterpret_cast<const uint8_t*>(items.data()), items.size() * 8));
}

}  // namespace ringv8::wire
