// EdgeWalk (spec 6.2): from each peer of a neighborhood, grows an "edge" of peers introduced one
// after another (up to edge_length), so that walks reach beyond the first hop.
// Thread-compatible; steps run on the overlay's loop thread.
#ifndef RINGV8_STRATEGIES_EDGE_WALK_H_
#define RINGV8_STRATEGIES_EDGE_WALK_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "strategies/discovery_strategy.h"

namespace ringv8::strategies {

struct EdgeWalkOptions {
  int edge_length = 4;
  int neighborhood_size = 6;
  double edge_timeout = 3.0;  // Seconds.
};

class EdgeWalk final : public DiscoveryStrategy {
 public:
  using Edge = std::vector<std::shared_ptr<overlay::Peer>>;

  explicit EdgeWalk(overlay::Community* overlay, EdgeWalkOptions options = {})
      : DiscoveryStrategy(overlay), options_(options) {}
  const char* name() const override { return "EdgeWalk"; }
  void TakeStep() override;

  const std::vector<Edge>& complete_edges() const { return complete_edges_; }
  size_t edges_under_construction() const { return under_construction_.size(); }

 private:
  struct Construction {
    Edge edge;
    TimePoint last_response;
  };
  void FinishRoot(const std::string& root);
  void ExtendEdges(TimePoint now);

  EdgeWalkOptions options_;
  Edge neighborhood_;
  std::vector<Edge> complete_edges_;                        // Bounded: the last 64 edges.
  std::map<std::string, Construction> under_construction_;  // By the root's key bin.
};

}  // namespace ringv8::strategies

#endif  // RINGV8_STRATEGIES_EDGE_WALK_H_
