// RelayTable: the circuits a relay carries (state R, tunnel spec 5.5), looked up once per cell.
// One record per relayed circuit in a slab (stable slot numbers, reused lowest-free first), and
// one FlatIdMap from circuit id to slot and direction: the previous hop's id names a forward
// cell, the next hop's id a backward one. A cell costs one probe of an 8-byte-slot array and one
// record, instead of a hash-map node per direction.
//
// Owned by the TunnelCommunity; thread-affine to its loop.
#ifndef RINGV8_TUNNEL_RELAY_TABLE_H_
#define RINGV8_TUNNEL_RELAY_TABLE_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "ring/address.h"
#include "ring/clock.h"
#include "ring/token_bucket.h"
#include "tunnel/flat_id_map.h"
#include "tunnel/session_keys.h"
#include "wire/keys.h"

namespace ringv8::tunnel {

// A neighbour on a circuit: its address and the mid of its key (DESTROY's authority).
struct Neighbour {
  Address address;
  wire::Mid mid{};
};

// One relayed circuit, both directions (spec Q5: one record, one activity, one traffic count).
struct RelayedCircuit {
  SessionKeys keys;
  uint32_t previous_circuit_id = 0;
  uint32_t next_circuit_id = 0;
  Neighbour previous;
  Neighbour next;
  uint8_t relay_early_forward = 0;
  bool live = false;  // In use (slab slots are reused).
  TimePoint last_activity{};
  uint64_t bytes = 0;
  TokenBucket budget;  // Relayed bytes (max_circuit_rate).
};

class RelayTable {
 public:
  struct Route {
    RelayedCircuit* circuit = nullptr;
    bool backward = false;  // The id was the next hop's: a cell toward the client.
  };

  // The circuit a cell on `circuit_id` belongs to, and its direction.
  std::optional<Route> Find(uint32_t circuit_id) {
    const uint32_t value = ids_.Find(circuit_id);
    if (value == FlatIdMap::kMissing) return std::nullopt;
    return Route{&records_[value >> 1], (value & 1) != 0};
  }
  bool Contains(uint32_t circuit_id) const { return ids_.Contains(circuit_id); }
  // Adds `circuit` under its previous_circuit_id and next_circuit_id (both unused). Returns the
  // stored record, valid until it is removed.
  RelayedCircuit& Add(const RelayedCircuit& circuit);
  // Removes the circuit whose previous hop's id is `previous_circuit_id`; false if none.
  bool Remove(uint32_t previous_circuit_id);
  // The record for a previous hop's id, or null.
  RelayedCircuit* FindByPrevious(uint32_t previous_circuit_id);

  // Calls `fn(circuit)` for each circuit; those for which it returns true are removed.
  template <typename F>
  void RemoveIf(F&& fn) {
    for (uint32_t slot = 0; slot < records_.size(); ++slot) {
      RelayedCircuit& c = records_[slot];
      if (c.live && fn(c)) Release(slot);
    }
  }

  size_t size() const { return size_; }
  // Heap bytes: the records' slab and the id map.
  size_t MemoryBytes() const {
    return records_.capacity() * sizeof(RelayedCircuit) + free_.capacity() * sizeof(uint32_t) +
           ids_.MemoryBytes();
  }

 private:
  void Release(uint32_t slot);

  std::vector<RelayedCircuit> records_;
  std::vector<uint32_t> free_;  // Free slots, a min-heap: the lowest is reused first.
  FlatIdMap ids_;               // Circuit id -> slot << 1 | backward.
  size_t size_ = 0;
};

}  // namespace ringv8::tunnel

#endif  // RINGV8_TUNNEL_RELAY_TABLE_H_
