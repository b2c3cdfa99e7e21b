// Peer: another IPv8 node (or this one, as `my_peer`), as py-ipv8's Peer (spec 5.1).
//
// Identity is the public key: peers are equal iff their key bins are. A peer has at most one
// address per kind (IPv4, IPv4-LAN, IPv6); its preferred address is IPv6, else IPv4, else the
// address it was created with. The Lamport clock is shared by every overlay that uses the same
// Peer object (hold it in a shared_ptr).
//
// Thread-affine: call only on the owning shard's thread.
#ifndef RINGV8_OVERLAY_PEER_H_
#define RINGV8_OVERLAY_PEER_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "ring/address.h"
#include "ring/clock.h"
#include "wire/keys.h"

namespace ringv8::overlay {

enum class AddressKind : uint8_t { kUdpV4 = 0, kUdpV4Lan = 1, kUdpV6 = 2 };

class Peer {
 public:
  // `intro` = true (py-ipv8's default, also for peers made from packets): last_response starts
  // at 0, so RandomChurn never drops the peer until it has answered once.
  Peer(wire::PublicKey key, const Address& address, TimePoint now, bool intro = true);

  const wire::PublicKey& key() const { return key_; }
  wire::Bytes public_key_bin() const { return key_.bin(); }
  // The key bin as a map key (points into this peer).
  std::string_view key_view() const {
    return {reinterpret_cast<const char*>(key_.bin().data()), key_.bin().size()};
  }
  const wire::Mid& mid() const { return mid_; }

  // Preferred address: IPv6, else IPv4 (never the LAN address), else 0.0.0.0:0. (py-ipv8 falls
  // back to the construction address, which is always one of the two unless it is 0.0.0.0:0.)
  Address address() const;
  // py-ipv8's `peer.address = a`: records `a` as its IPv4 or IPv6 address.
  void AddAddress(const Address& address);
  void SetLanAddress(const Address& address) { Set(AddressKind::kUdpV4Lan, address); }
  std::optional<Address> address_of(AddressKind kind) const;
  // Calls fn(kind, address) for every address held.
  template <typename F>
  void ForEachAddress(F&& fn) const {
    for (uint8_t k = 0; k < 3; ++k) {
      if (has_ & (1u << k)) fn(static_cast<AddressKind>(k), addresses_[k]);
    }
  }
  bool HasAddress(const Address& address) const;

  TimePoint creation_time() const { return creation_time_; }
  // 0 until the peer has answered (see the constructor).
  TimePoint last_response() const { return last_response_; }
  void set_last_response(TimePoint t) { last_response_ = t; }

  // Lamport clock: claim returns the next value (the first is 1).
  uint64_t ClaimGlobalTime() { return ++lamport_; }
  uint64_t lamport_timestamp() const { return lamport_; }
  void UpdateClock(uint64_t timestamp, TimePoint now);

  // The last five ping round trips, in seconds.
  void AddPing(double seconds);
  size_t ping_count() const { return ping_count_; }
  std::optional<double> median_ping() const;
  std::optional<double> average_ping() const;

  bool new_style_intro = false;

  friend bool operator==(const Peer& a, const Peer& b) { return a.key_ == b.key_; }

 private:
  void Set(AddressKind kind, const Address& address);

  wire::PublicKey key_;
  wire::Mid mid_;
  std::array<Address, 3> addresses_{};
  uint8_t has_ = 0;  // Bit per AddressKind.
  uint8_t ping_count_ = 0;
  uint8_t ping_next_ = 0;
  TimePoint creation_time_;
  TimePoint last_response_{0};
  uint64_t lamport_ = 0;
  std::array<float, 5> pings_{};
};

}  // namespace ringv8::overlay

#endif  // RINGV8_OVERLAY_PEER_H_
