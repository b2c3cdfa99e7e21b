// Network: what a node knows of the IPv8 network, shared by all its overlays (spec 5.2).
//
// - verified peers (they signed something to us), by key, by address and per service;
// - walkable addresses: every known address with the peer that introduced it, the service it was
//   introduced for and whether it speaks the new-style introduction messages;
// - blacklisted addresses (bootstrap trackers) and member ids (our own);
// - snapshot / load_snapshot of the verified peers' addresses.
// Lookups are O(1) on average, and so is RandomWalkableAddress (a walk step's pick) while most
// known addresses are walkable; GetWalkableAddresses and Snapshot scan (status, EdgeWalk). The
// tables are bounded: max_addresses caps the walkable addresses.
//
// Peers are held in shared_ptr: a Peer* returned here stays valid while the peer is verified,
// and callers that keep one longer keep the shared_ptr.
// Thread-affine: call only on the owning shard's thread.
#ifndef RINGV8_OVERLAY_NETWORK_H_
#define RINGV8_OVERLAY_NETWORK_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "overlay/peer.h"
#include "ring/address.h"
#include "wire/packet.h"

namespace ringv8::overlay {

using ServiceId = wire::ServiceId;

class Community;  // Registered as a service provider; not owned.

class PeerObserver {
 public:
  virtual void OnPeerAdded(Peer& peer) = 0;
  virtual void OnPeerRemoved(Peer& peer) = 0;

 protected:
  ~PeerObserver() = default;
};

struct WalkableAddress {
  std::shared_ptr<Peer> introducer;  // Null when unknown (py-ipv8's b"").
  std::optional<ServiceId> service;
  bool new_style = false;
};

using ServiceIdHash = wire::ServiceIdHash;

class Network {
 public:
  static constexpr size_t kDefaultMaxAddresses = 100000;
  // Services announced by peers that are not verified yet, kept until they are.
  static constexpr size_t kMaxPendingServices = 4096;

  explicit Network(size_t max_addresses = kDefaultMaxAddresses) : max_addresses_(max_addresses) {}
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  // --- Verified peers ---
  // py-ipv8's add_verified_peer. Returns the verified Peer (the known object when the key was
  // already verified: `peer`'s addresses are merged into it), or nullptr when refused (own or
  // blacklisted mid, or only blacklisted addresses).
  Peer* AddVerifiedPeer(const std::shared_ptr<Peer>& peer);
  Peer* GetVerifiedByAddress(const Address& address) const;
  Peer* GetVerifiedByPublicKeyBin(wire::Bytes key_bin) const;
  std::shared_ptr<Peer> SharedPeer(const Peer& peer) const;
  size_t verified_count() const { return verified_.size(); }
  // All verified peers (in no particular order; stable between changes).
  const std::vector<std::shared_ptr<Peer>>& verified_peers() const { return verified_; }
  // Records a new address for a verified peer (keeps the address index right).
  void AddPeerAddress(Peer& peer, const Address& address);
  void SetPeerLanAddress(Peer& peer, const Address& address);
  // Removes the peer and all its addresses (walkable ones too).
  void RemovePeer(const Peer& peer);
  // Forgets `address`, and removes every verified peer that has it. (py-ipv8 keeps such a peer's
  // key in its key map, which makes the key impossible to verify again; ringv8 removes it fully.)
  void RemoveByAddress(const Address& address);

  // --- Services ---
  void DiscoverServices(const Peer& peer, std::span<const ServiceId> services);
  // Verified peers that offer `service`; O(1).
  const std::vector<Peer*>& GetPeersForService(const ServiceId& service) const;
  std::vector<ServiceId> GetServicesForPeer(const Peer& peer) const;
  bool PeerHasService(const Peer& peer, const ServiceId& service) const;
  void RegisterServiceProvider(const ServiceId& service, Community* overlay);
  void UnregisterServiceProvider(const ServiceId& service);
  // In registration order.
  const std::vector<std::pair<ServiceId, Community*>>& service_overlays() const {
    return service_overlays_;
  }

  // --- Walkable addresses ---
  // py-ipv8's discover_address.
  void DiscoverAddress(const std::shared_ptr<Peer>& introducer, const Address& address,
                       const std::optional<ServiceId>& service, bool new_style);
  bool IsNewStyle(const Address& address) const;
  // Known addresses that are not a verified peer's (of `service`, when given); with a service,
  // only those introduced for it or by a peer offering it; old_style skips new-style entries.
  std::vector<Address> GetWalkableAddresses(const ServiceId* service = nullptr,
                                            bool old_style = false) const;
  // One of GetWalkableAddresses(service) that `accept(address)` also takes, uniformly at random,
  // or nullptr if there is none; allocates nothing. A few random probes find one in O(1) when
  // most known addresses qualify; otherwise one pass counts them and a second takes the k-th.
  // The address is valid until the table changes.
  template <typename Accept>
  const Address* RandomWalkableAddress(const ServiceId* service, std::mt19937_64& random,
                                       Accept&& accept) const;
  std::vector<Address> GetIntroductionsFrom(const Peer& peer) const;
  size_t address_count() const { return all_addresses_.size(); }
  const WalkableAddress* FindAddress(const Address& address) const;
  uint64_t addresses_refused() const { return addresses_refused_; }

  // --- Blacklists ---
  void AddToBlacklist(const Address& address) { blacklist_.insert(address); }
  bool IsBlacklisted(const Address& address) const { return blacklist_.contains(address); }
  void AddBlacklistedMid(const wire::Mid& mid) { blacklist_mids_.insert(mid); }
  bool IsBlacklistedMid(const wire::Mid& mid) const { return blacklist_mids_.contains(mid); }

  // --- Snapshot (`address` format entries of the verified peers' addresses) ---
  std::vector<uint8_t> Snapshot() const;
  // Adds the entries as walkable addresses; stops at the first entry that does not parse.
  // Returns how many were loaded.
  size_t LoadSnapshot(wire::Bytes snapshot);

  // --- Observers (not owned) ---
  void AddObserver(PeerObserver* observer) { observers_.push_back(observer); }
  void RemoveObserver(PeerObserver* observer) { std::erase(observers_, observer); }

 private:
  struct ServiceSlot {
    ServiceId id;
    uint32_t position;  // In service_index_[id].
  };
  struct PeerEntry {
    std::shared_ptr<Peer> peer;
    size_t index = 0;                   // In verified_.
    std::vector<ServiceSlot> services;  // Usually one or two.
  };
  static std::string_view KeyView(wire::Bytes bin) {
    return {reinterpret_cast<const char*>(bin.data()), bin.size()};
  }

  struct AddressEntry {
    WalkableAddress walkable;
    uint32_t position = 0;  // In address_list_.
  };
  static constexpr int kWalkProbes = 16;

  bool IsWalkable(const Address& address, const ServiceId* service, bool old_style) const;
  PeerEntry* Entry(const Peer& peer);
  const PeerEntry* Entry(const Peer& peer) const;
  void Insert(const std::shared_ptr<Peer>& peer);
  void IndexAddress(Peer& peer, const Address& address);
  void UnindexAddress(const Peer& peer, const Address& address);
  void AddToService(PeerEntry& entry, const ServiceId& service);
  void RemoveFromService(const ServiceSlot& slot);
  void EraseAddress(const Address& address);
  bool InsertAddress(const Address& address, WalkableAddress entry);

  size_t max_addresses_;
  std::unordered_map<std::string_view, PeerEntry> by_key_;  // Keys point into the Peer.
  std::vector<std::shared_ptr<Peer>> verified_;
  std::unordered_map<Address, Peer*> by_address_;
  std::unordered_map<Address, AddressEntry> all_addresses_;
  std::vector<Address> address_list_;  // all_addresses_'s keys, dense, for O(1) random picks.
  std::unordered_map<const Peer*, std::vector<Address>> introduced_by_;
  // Peers per service; each peer's entry knows its position, for O(1) removal.
  std::unordered_map<ServiceId, std::vector<Peer*>, ServiceIdHash> service_index_;
  std::vector<std::pair<ServiceId, Community*>> service_overlays_;
  std::unordered_set<Address> blacklist_;
  std::unordered_set<wire::Mid, ServiceIdHash> blacklist_mids_;  // Mids are 20 bytes too.
  std::unordered_map<std::string, std::vector<ServiceId>> pending_services_;
  std::vector<PeerObserver*> observers_;
  uint64_t addresses_refused_ = 0;
};

template <typename Accept>
const Address* Network::RandomWalkableAddress(const ServiceId* service, std::mt19937_64& random,
                                              Accept&& accept) const {
  if (address_list_.empty()) return nullptr;
  auto qualifies = [&](const Address& a) { return IsWalkable(a, service, false) && accept(a); };
  std::uniform_int_distribution<size_t> any(0, address_list_.size() - 1);
  for (int probe = 0; probe < kWalkProbes; ++probe) {
    const Address& candidate = address_list_[any(random)];
    if (qualifies(candidate)) return &candidate;  // Uniform: rejection sampling.
  }
  size_t count = 0;
  for (const Address& a : address_list_) count += qualifies(a) ? 1 : 0;
  if (count == 0) return nullptr;
  size_t k = std::uniform_int_distribution<size_t>(0, count - 1)(random);
  for (const Address& a : address_list_) {
    if (qualifies(a) && k-- == 0) return &a;
  }
  return nullptr;  // Not reached: nothing changes the table between the passes.
}

}  // namespace ringv8::overlay

#endif  // RINGV8_OVERLAY_NETWORK_H_
