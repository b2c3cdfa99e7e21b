#include "overlay/peer.h"

#include <algorithm>

namespace ringv8::overlay {

Peer::Peer(wire::PublicKey key, const Address& address, TimePoint now, bool intro)
    : key_(std::move(key)),
      mid_(key_.mid()),
      creation_time_(now),
      last_response_(intro ? TimePoint(0) : now) {
  if (!address.is_zero()) AddAddress(address);
}

void Peer::Set(AddressKind kind, const Address& address) {
  addresses_[static_cast<uint8_t>(kind)] = address;
  has_ |= static_cast<uint8_t>(1u << static_cast<uint8_t>(kind));
}

void Peer::AddAddress(const Address& address) {
  Set(address.is_v6() ? AddressKind::kUdpV6 : AddressKind::kUdpV4, address);
}

std::optional<Address> Peer::address_of(AddressKind kind) const {
  if (!(has_ & (1u << static_cast<uint8_t>(kind)))) return std::nullopt;
  return addresses_[static_cast<uint8_t>(kind)];
}

Address Peer::address() const {
  if (auto v6 = address_of(AddressKind::kUdpV6)) return *v6;
  if (auto v4 = address_of(AddressKind::kUdpV4)) return *v4;
  return Address();
}

bool Peer::HasAddress(const Address& address) const {
  bool found = false;
  ForEachAddress([&](AddressKind, const Address& a) { found = found || a == address; });
  return found;
}

void Peer::UpdateClock(uint64_t timestamp, TimePoint now) {
  lamport_ = std::max(lamport_, timestamp);
  last_response_ = now;
}

void Peer::AddPing(double seconds) {
  pings_[ping_next_] = static_cast<float>(seconds);
  ping_next_ = static_cast<uint8_t>((ping_next_ + 1) % pings_.size());
  ping_count_ = static_cast<uint8_t>(std::min<size_t>(ping_count_ + 1, pings_.size()));
}

std::optional<double> Peer::median_ping() const {
  if (ping_count_ == 0) return std::nullopt;
  std::array<float, 5> sorted = pings_;
  // Insertion sort of at most five values (std::sort here trips GCC 12's -Warray-bounds).
  for (uint8_t i = 1; i < ping_count_; ++i) {
    for (uint8_t j = i; j > 0 && sorted[j - 1] > sorted[j]; --j)
      std::swap(sorted[j - 1], sorted[j]);
  }
  // py-ipv8 uses statistics.median: the mean of the middle two for an even count.
  if (ping_count_ % 2 == 1) return sorted[ping_count_ / 2];
  return (double{sorted[ping_count_ / 2 - 1]} + double{sorted[ping_count_ / 2]}) / 2;
}

std::optional<double> Peer::average_ping() const {
  if (ping_count_ == 0) return std::nullopt;
  double sum = 0;
  for (uint8_t i = 0; i < ping_count_; ++i) sum += pings_[i];
  return sum / ping_count_;
}

}  // namespace ringv8::overlay
