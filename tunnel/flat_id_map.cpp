#include "tunnel/flat_id_map.h"

#include <sodium.h>

#include <algorithm>
#include <bit>

namespace ringv8::tunnel {

FlatIdMap::FlatIdMap() {
  randombytes_buf(&multiplier_, sizeof(multiplier_));
  multiplier_ |= 1;
}

bool FlatIdMap::Insert(uint32_t id, uint32_t value) {
  if (value > kMaxValue) return false;
  if ((size_ + tombstones_ + 1) * 2 > slots_.size()) {
    // Grow when live entries fill a quarter, else only clean the tombstones out.
    Rehash(
        std::max<size_t>(16, (size_ + 1) * 4 > slots_.size() ? slots_.size() * 2 : slots_.size()));
  }
  size_t reuse = slots_.size();
  for (size_t i = Home(id);; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.value == kEmpty) {
      Slot& target = reuse != slots_.size() ? slots_[reuse] : s;
      if (reuse != slots_.size()) --tombstones_;
      target = Slot{id, value};
      ++size_;
      return true;
    }
    if (s.value == kTombstone) {
      if (reuse == slots_.size()) reuse = i;
    } else if (s.id == id) {
      s.value = value;
      return true;
    }
  }
}

bool FlatIdMap::Erase(uint32_t id) {
  if (slots_.empty()) return false;
  for (size_t i = Home(id);; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.value == kEmpty) return false;
    if (s.id == id && s.value != kTombstone) {
      s.value = kTombstone;
      --size_;
      ++tombstones_;
      return true;
    }
  }
}

void FlatIdMap::Clear() {
  slots_.clear();
  slots_.shrink_to_fit();
  mask_ = 0;
  shift_ = 64;
  size_ = tombstones_ = 0;
}

void FlatIdMap::Rehash(size_t capacity) {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  shift_ = 64 - static_cast<unsigned>(std::countr_zero(capacity));
  size_ = tombstones_ = 0;
  for (const Slot& s : old) {
    if (s.value != kEmpty && s.value != kTombstone) Insert(s.id, s.value);
  }
}

}  // namespace ringv8::tunnel
