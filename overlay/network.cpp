#include "overlay/network.h"

#include <algorithm>

namespace ringv8::overlay {

namespace {
const std::vector<Peer*> kNoPeers;
}  // namespace

Network::PeerEntry* Network::Entry(const Peer& peer) {
  auto it = by_key_.find(peer.key_view());
  return it == by_key_.end() ? nullptr : &it->second;
}

const Network::PeerEntry* Network::Entry(const Peer& peer) const {
  auto it = by_key_.find(peer.key_view());
  return it == by_key_.end() ? nullptr : &it->second;
}

Peer* Network::GetVerifiedByPublicKeyBin(wire::Bytes key_bin) const {
  auto it = by_key_.find(KeyView(key_bin));
  return it == by_key_.end() ? nullptr : it->second.peer.get();
}

Peer* Network::GetVerifiedByAddress(const Address& address) const {
  auto it = by_address_.find(address);
  return it == by_address_.end() ? nullptr : it->second;
}

std::shared_ptr<Peer> Network::SharedPeer(const Peer& peer) const {
  const PeerEntry* entry = Entry(peer);
  return entry != nullptr ? entry->peer : nullptr;
}

void Network::IndexAddress(Peer& peer, const Address& address) { by_address_[address] = &peer; }

void Network::UnindexAddress(const Peer& peer, const Address& address) {
  auto it = by_address_.find(address);
  if (it != by_address_.end() && it->second == &peer) by_address_.erase(it);
}

void Network::Insert(const std::shared_ptr<Peer>& peer) {
  PeerEntry& entry = by_key_[peer->key_view()];
  entry.peer = peer;
  entry.index = verified_.size();
  verified_.push_back(peer);
  peer->ForEachAddress([&](AddressKind, const Address& a) { IndexAddress(*peer, a); });
  if (!pending_services_.empty()) {
    auto pending = pending_services_.find(std::string(peer->key_view()));
    if (pending != pending_services_.end()) {
      std::vector<ServiceId> services = std::move(pending->second);
      pending_services_.erase(pending);
      DiscoverServices(*peer, services);
    }
  }
  for (PeerObserver* observer : observers_) observer->OnPeerAdded(*peer);
}

Peer* Network::AddVerifiedPeer(const std::shared_ptr<Peer>& peer) {
  if (IsBlacklistedMid(peer->mid())) return nullptr;
  if (PeerEntry* known = Entry(*peer)) {
    Peer& existing = *known->peer;
    if (&existing != peer.get()) {
      peer->ForEachAddress([&](AddressKind kind, const Address& a) {
        if (kind == AddressKind::kUdpV4Lan) {
          SetPeerLanAddress(existing, a);
        } else {
          AddPeerAddress(existing, a);
        }
      });
    }
    return &existing;
  }
  bool any_known = false;
  bool any_blacklisted = false;
  peer->ForEachAddress([&](AddressKind, const Address& a) {
    any_known = any_known || all_addresses_.contains(a) || by_address_.contains(a);
    any_blacklisted = any_blacklisted || IsBlacklisted(a);
  });
  // py-ipv8 also enters the peer's addresses into _all_addresses with no introducer; such an
  // entry is replaced by the next introduction and hidden from walks while the peer is verified,
  // so ringv8 leaves it out (it is most of the memory of a verified peer).
  if (!any_known && any_blacklisted) return nullptr;  // Trackers are never verified.
  Insert(peer);
  return peer.get();
}

void Network::AddPeerAddress(Peer& peer, const Address& address) {
  const AddressKind kind = address.is_v6() ? AddressKind::kUdpV6 : AddressKind::kUdpV4;
  auto old = peer.address_of(kind);
  if (old == address) return;
  const bool verified = Entry(peer) != nullptr && Entry(peer)->peer.get() == &peer;
  if (verified && old) UnindexAddress(peer, *old);
  peer.AddAddress(address);
  if (verified) IndexAddress(peer, address);
}

void Network::SetPeerLanAddress(Peer& peer, const Address& address) {
  auto old = peer.address_of(AddressKind::kUdpV4Lan);
  if (old == address) return;
  const bool verified = Entry(peer) != nullptr && Entry(peer)->peer.get() == &peer;
  if (verified && old) UnindexAddress(peer, *old);
  peer.SetLanAddress(address);
  if (verified) IndexAddress(peer, address);
}

void Network::RemovePeer(const Peer& peer) {
  auto it = by_key_.find(peer.key_view());
  if (it == by_key_.end()) return;
  std::shared_ptr<Peer> keep = it->second.peer;  // Alive until the observers have run.
  peer.ForEachAddress([&](AddressKind, const Address& a) {
    UnindexAddress(*keep, a);
    EraseAddress(a);
  });
  for (const ServiceSlot& slot : it->second.services) RemoveFromService(slot);
  // Swap-remove from the verified vector.
  const size_t index = it->second.index;
  if (index + 1 != verified_.size()) {
    verified_[index] = verified_.back();
    Entry(*verified_[index])->index = index;
  }
  verified_.pop_back();
  by_key_.erase(it);
  for (PeerObserver* observer : observers_) observer->OnPeerRemoved(*keep);
}

void Network::RemoveByAddress(const Address& address) {
  EraseAddress(address);
  if (Peer* peer = GetVerifiedByAddress(address)) RemovePeer(*peer);
}

void Network::DiscoverServices(const Peer& peer, std::span<const ServiceId> services) {
  PeerEntry* entry = Entry(peer);
  if (entry == nullptr) {
    // py-ipv8 records services of peers that are not verified (yet) by key, e.g. from a
    // similarity request; keep them aside (bounded) until the peer is verified.
    if (pending_services_.size() >= kMaxPendingServices) {
      pending_services_.erase(pending_services_.begin());
    }
    auto& pending = pending_services_[std::string(peer.key_view())];
    for (const ServiceId& service : services) {
      if (std::find(pending.begin(), pending.end(), service) == pending.end()) {
        pending.push_back(service);
      }
    }
    return;
  }
  for (const ServiceId& service : services) {
    if (std::any_of(entry->services.begin(), entry->services.end(),
                    [&](const ServiceSlot& slot) { return slot.id == service; })) {
      continue;
    }
    AddToService(*entry, service);
  }
}

void Network::AddToService(PeerEntry& entry, const ServiceId& service) {
  std::vector<Peer*>& peers = service_index_[service];
  entry.services.push_back({service, static_cast<uint32_t>(peers.size())});
  peers.push_back(entry.peer.get());
}

void Network::RemoveFromService(const ServiceSlot& slot) {
  auto it = service_index_.find(slot.id);
  if (it == service_index_.end()) return;
  std::vector<Peer*>& peers = it->second;
  if (slot.position + 1 != peers.size()) {
    // Swap-remove: the last peer takes the slot; its entry learns its new position.
    Peer* moved = peers.back();
    peers[slot.position] = moved;
    for (ServiceSlot& other : Entry(*moved)->services) {
      if (other.id == slot.id) other.position = slot.position;
    }
  }
  peers.pop_back();
  if (peers.empty()) service_index_.erase(it);
}

const std::vector<Peer*>& Network::GetPeersForService(const ServiceId& service) const {
  auto it = service_index_.find(service);
  return it == service_index_.end() ? kNoPeers : it->second;
}

std::vector<ServiceId> Network::GetServicesForPeer(const Peer& peer) const {
  std::vector<ServiceId> out;
  if (const PeerEntry* entry = Entry(peer)) {
    for (const ServiceSlot& slot : entry->services) out.push_back(slot.id);
  }
  return out;
}

bool Network::PeerHasService(const Peer& peer, const ServiceId& service) const {
  const PeerEntry* entry = Entry(peer);
  return entry != nullptr &&
         std::any_of(entry->services.begin(), entry->services.end(),
                     [&](const ServiceSlot& slot) { return slot.id == service; });
}

void Network::RegisterServiceProvider(const ServiceId& service, Community* overlay) {
  for (auto& [id, provider] : service_overlays_) {
    if (id == service) {
      provider = overlay;
      return;
    }
  }
  service_overlays_.emplace_back(service, overlay);
}

void Network::UnregisterServiceProvider(const ServiceId& service) {
  std::erase_if(service_overlays_, [&](const auto& entry) { return entry.first == service; });
}

bool Network::InsertAddress(const Address& address, WalkableAddress entry) {
  if (all_addresses_.size() >= max_addresses_ && !all_addresses_.contains(address)) {
    ++addresses_refused_;
    return false;
  }
  if (entry.introducer) introduced_by_[entry.introducer.get()].push_back(address);
  auto [it, inserted] = all_addresses_.try_emplace(address);
  if (inserted) {
    it->second.position = static_cast<uint32_t>(address_list_.size());
    address_list_.push_back(address);
  }
  it->second.walkable = std::move(entry);
  return true;
}

void Network::EraseAddress(const Address& address) {
  auto it = all_addresses_.find(address);
  if (it == all_addresses_.end()) return;
  if (const Peer* introducer = it->second.walkable.introducer.get()) {
    auto list = introduced_by_.find(introducer);
    if (list != introduced_by_.end()) {
      std::erase(list->second, address);
      if (list->second.empty()) introduced_by_.erase(list);
    }
  }
  // Swap-remove from the dense list.
  const uint32_t position = it->second.position;
  if (position + 1 != address_list_.size()) {
    address_list_[position] = address_list_.back();
    all_addresses_.find(address_list_[position])->second.position = position;
  }
  address_list_.pop_back();
  all_addresses_.erase(it);
}

void Network::DiscoverAddress(const std::shared_ptr<Peer>& introducer, const Address& address,
                              const std::optional<ServiceId>& service, bool new_style) {
  if (IsBlacklisted(address)) {
    AddVerifiedPeer(introducer);
    return;
  }
  auto it = all_addresses_.find(address);
  bool replace = it == all_addresses_.end();
  if (!replace) {
    const Peer* previous = it->second.walkable.introducer.get();
    replace =
        previous == nullptr || GetVerifiedByPublicKeyBin(previous->public_key_bin()) == nullptr;
  }
  if (replace) {
    EraseAddress(address);
    InsertAddress(address, {introducer, service, new_style});
  }
  AddVerifiedPeer(introducer);
}

bool Network::IsNewStyle(const Address& address) const {
  auto it = all_addresses_.find(address);
  return it != all_addresses_.end() && it->second.walkable.new_style;
}

const WalkableAddress* Network::FindAddress(const Address& address) const {
  auto it = all_addresses_.find(address);
  return it == all_addresses_.end() ? nullptr : &it->second.walkable;
}

bool Network::IsWalkable(const Address& address, const ServiceId* service, bool old_style) const {
  const WalkableAddress& entry = all_addresses_.find(address)->second.walkable;
  if (Peer* owner = GetVerifiedByAddress(address)) {
    // A verified peer's address is not walkable (for a service: if the peer offers it).
    if (service == nullptr || PeerHasService(*owner, *service)) return false;
  }
  if (old_style && entry.new_style) return false;
  if (service != nullptr) {
    const bool introduced_for = entry.service == *service;
    const bool introducer_offers =
        entry.introducer != nullptr && PeerHasService(*entry.introducer, *service);
    if (!introduced_for && !introducer_offers) return false;
  }
  return true;
}

std::vector<Address> Network::GetWalkableAddresses(const ServiceId* service, bool old_style) const {
  std::vector<Address> out;
  for (const Address& address : address_list_) {
    if (IsWalkable(address, service, old_style)) out.push_back(address);
  }
  return out;
}

std::vector<Address> Network::GetIntroductionsFrom(const Peer& peer) const {
  auto it = introduced_by_.find(&peer);
  if (it != introduced_by_.end()) return it->second;
  // The introducer may be a different object with the same key (a fresh Peer from a packet).
  std::vector<Address> out;
  for (const auto& [introducer, addresses] : introduced_by_) {
    if (*introducer == peer) out.insert(out.end(), addresses.begin(), addresses.end());
  }
  return out;
}

std::vector<uint8_t> Network::Snapshot() const {
  std::vector<uint8_t> out(verified_.size() * 3 * 19 + 16);
  wire::Writer writer(out);
  for (const auto& peer : verified_) {
    const Address address = peer->address();
    if (!address.is_zero()) writer.WriteIpAddress(address);
  }
  out.resize(writer.size());
  return out;
}

size_t Network::LoadSnapshot(wire::Bytes snapshot) {
  wire::Reader reader(snapshot);
  size_t loaded = 0;
  while (!reader.AtEnd()) {
    wire::AnyAddress any;
    if (!reader.ReadAddress(&any)) break;
    if (const auto* address = std::get_if<Address>(&any)) {
      if (!all_addresses_.contains(*address) && !by_address_.contains(*address) &&
          InsertAddress(*address, {})) {
        ++loaded;
      }
    }
  }
  return loaded;
}

}  // namespace ringv8::overlay
