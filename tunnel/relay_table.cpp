#include "tunnel/relay_table.h"

#include <algorithm>
#include <functional>

namespace ringv8::tunnel {

RelayedCircuit& RelayTable::Add(const RelayedCircuit& circuit) {
  uint32_t slot;
  if (!free_.empty()) {
    std::pop_heap(free_.begin(), free_.end(), std::greater<>());  // The lowest free slot.
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(records_.size());
    records_.emplace_back();
  }
  RelayedCircuit& stored = records_[slot];
  stored = circuit;
  stored.live = true;
  ids_.Insert(circuit.previous_circuit_id, slot << 1);
  ids_.Insert(circuit.next_circuit_id, slot << 1 | 1);
  ++size_;
  return stored;
}

RelayedCircuit* RelayTable::FindByPrevious(uint32_t previous_circuit_id) {
  const uint32_t value = ids_.Find(previous_circuit_id);
  if (value == FlatIdMap::kMissing || (value & 1) != 0) return nullptr;
  return &records_[value >> 1];
}

bool RelayTable::Remove(uint32_t previous_circuit_id) {
  const uint32_t value = ids_.Find(previous_circuit_id);
  if (value == FlatIdMap::kMissing || (value & 1) != 0) return false;
  Release(value >> 1);
  return true;
}

void RelayTable::Release(uint32_t slot) {
  RelayedCircuit& c = records_[slot];
  ids_.Erase(c.previous_circuit_id);
  ids_.Erase(c.next_circuit_id);
  c = RelayedCircuit{};
  --size_;
  free_.push_back(slot);
  std::push_heap(free_.begin(), free_.end(), std::greater<>());
}

}  // namespace ringv8::tunnel
