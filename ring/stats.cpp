#include "ring/stats.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace ringv8 {

void StatsSnapshot::Add(const StatsSnapshot& other) {
  if (other.entries_.empty()) return;
  if (entries_.empty()) {
    entries_ = other.entries_;
    return;
  }
  if (other.entries_.size() != entries_.size()) {
    throw std::logic_error("StatsSnapshot::Add: snapshots of different structs");
  }
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].stat.name != other.entries_[i].stat.name) {
      throw std::logic_error("StatsSnapshot::Add: snapshots of different structs");
    }
    entries_[i].value += other.entries_[i].value;
  }
}

void StatsSnapshot::Merge(const StatsSnapshot& other) {
  for (const Entry& e : other.entries_) {
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [&](const Entry& mine) { return mine.stat.name == e.stat.name; });
    if (it != entries_.end()) {
      it->value += e.value;
    } else {
      entries_.push_back(e);
    }
  }
}

double StatsSnapshot::Value(std::string_view name) const {
  for (const Entry& e : entries_) {
    if (e.stat.name == name) return e.value;
  }
  throw std::out_of_range("no counter named " + std::string(name));
}

double StatsSnapshot::Sum(StatKind kind) const {
  double total = 0;
  for (const Entry& e : entries_) {
    if (e.stat.kind == kind) total += e.value;
  }
  return total;
}

}  // namespace ringv8
