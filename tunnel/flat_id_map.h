// FlatIdMap: circuit id -> a 31-bit value, the relay's per-cell lookup (issue 19: "circuit lookup
// in a flat open-addressing table"). One array of 8-byte slots (id, value), linear probing, a
// power-of-two size kept at most half full (tombstones included), so a lookup is one cache line
// in the common case. Circuit ids are chosen by strangers (a CREATE names its own): the slot is
// picked by a multiply-shift hash with a random odd multiplier per table, so crafted ids do not
// pile up on one probe chain.
// Thread-compatible; a value type.
#ifndef RINGV8_TUNNEL_FLAT_ID_MAP_H_
#define RINGV8_TUNNEL_FLAT_ID_MAP_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ringv8::tunnel {

class FlatIdMap {
 public:
  static constexpr uint32_t kMissing = 0xFFFFFFFFu;
  static constexpr uint32_t kMaxValue = 0x7FFFFFFFu;

  FlatIdMap();

  // The value stored for `id`, or kMissing.
  uint32_t Find(uint32_t id) const {
    if (slots_.empty()) return kMissing;
    for (size_t i = Home(id);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.value == kEmpty) return kMissing;
      if (s.id == id && s.value != kTombstone) return s.value;
    }
  }
  bool Contains(uint32_t id) const { return Find(id) != kMissing; }
  // Stores `value` (<= kMaxValue) for `id`, replacing any; false if value is out of range.
  bool Insert(uint32_t id, uint32_t value);
  // Removes `id`; false if absent.
  bool Erase(uint32_t id);
  void Clear();
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Heap bytes of the slot array.
  size_t MemoryBytes() const { return slots_.capacity() * sizeof(Slot); }

 private:
  static constexpr uint32_t kEmpty = 0xFFFFFFFFu;
  static constexpr uint32_t kTombstone = 0xFFFFFFFEu;
  struct Slot {
    uint32_t id = 0;
    uint32_t value = kEmpty;
  };

  size_t Home(uint32_t id) const {
    return static_cast<size_t>((uint64_t{id} * multiplier_) >> shift_) & mask_;
  }
  void Rehash(size_t capacity);

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  unsigned shift_ = 64;
  uint64_t multiplier_;
  size_t size_ = 0;
  size_t tombstones_ = 0;
};

}  // namespace ringv8::tunnel

#endif  // RINGV8_TUNNEL_FLAT_ID_MAP_H_
