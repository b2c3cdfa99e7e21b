#include "strategies/edge_walk.h"

#include <algorithm>
#include <mutex>
#include <random>

namespace ringv8::strategies {

namespace {
constexpr size_t kMaxCompleteEdges = 64;

std::string KeyOf(const overlay::Peer& peer) { return std::string(peer.key_view()); }
}  // namespace

void EdgeWalk::TakeStep() {
  std::lock_guard lock(walk_lock());  // As py-ipv8's strategies take their walk_lock.
  overlay::Community& community = *overlay();
  const TimePoint now = community.loop().Now();
  const size_t wanted = static_cast<size_t>(std::max(options_.neighborhood_size, 0));
  if (neighborhood_.size() < wanted) {
    // Build the neighborhood from the peers we have, and look for more.
    neighborhood_.clear();
    for (overlay::Peer* peer : community.GetPeers()) {
      if (neighborhood_.size() == wanted) break;
      neighborhood_.push_back(community.network().SharedPeer(*peer));
    }
    community.Bootstrap();
    const auto walkable = community.GetWalkableAddresses();
    for (size_t i = 0; i < walkable.size() && i < wanted; ++i) community.WalkTo(walkable[i]);
    return;
  }
  std::vector<std::shared_ptr<overlay::Peer>> free_roots;
  for (const auto& peer : neighborhood_) {
    if (!under_construction_.contains(KeyOf(*peer))) free_roots.push_back(peer);
  }
  if (!free_roots.empty()) {
    const auto& root = free_roots[std::uniform_int_distribution<size_t>(
        0, free_roots.size() - 1)(community.random())];
    under_construction_[KeyOf(*root)] = {{root}, now};
    community.GetNewIntroduction(root.get());
    return;
  }
  ExtendEdges(now);
}

void EdgeWalk::ExtendEdges(TimePoint now) {
  overlay::Community& community = *overlay();
  overlay::Network& network = community.network();
  std::vector<std::string> finished;
  for (auto& [root, construction] : under_construction_) {
    const overlay::Peer& tail = *construction.edge.back();
    std::vector<std::shared_ptr<overlay::Peer>> candidates;
    for (const Address& address : network.GetIntroductionsFrom(tail)) {
      if (overlay::Peer* verified = network.GetVerifiedByAddress(address)) {
        candidates.push_back(network.SharedPeer(*verified));
      } else {
        community.WalkTo(address);
      }
    }
    if (!candidates.empty()) {
      construction.last_response = now;
      construction.edge.push_back(candidates[std::uniform_int_distribution<size_t>(
          0, candidates.size() - 1)(community.random())]);
      if (construction.edge.size() >= static_cast<size_t>(options_.edge_length)) {
        complete_edges_.push_back(construction.edge);
        finished.push_back(root);
      } else {
        community.WalkTo(construction.edge.back()->address());
      }
    } else if (construction.last_response + Seconds(options_.edge_timeout) < now) {
      if (construction.edge.size() > 1) complete_edges_.push_back(construction.edge);
      finished.push_back(root);
    }
  }
  for (const std::string& root : finished) FinishRoot(root);
  if (complete_edges_.size() > kMaxCompleteEdges) {
    complete_edges_.erase(complete_edges_.begin(),
                          complete_edges_.end() - static_cast<ptrdiff_t>(kMaxCompleteEdges));
  }
}

void EdgeWalk::FinishRoot(const std::string& root) { under_construction_.erase(root); }

}  // namespace ringv8::strategies
