#include "ring/endpoint_stats.h"

#include <bit>
#include <cerrno>

namespace ringv8 {

void EndpointStats::CountSendError(int error) {
  send_errors.Add();
  send_errors_by_errno[error >= 0 && error <= kMaxErrno ? error : 0].Add();
}

void EndpointStats::CountReceiveError(int error) {
  if (error == ECANCELED) return;
  (error == ENOBUFS ? buffer_exhausted : receive_errors).Add();
}

int EndpointStats::BatchBucket(uint64_t size) {
  if (size == 0) return 0;
  int bucket = std::bit_width(size) - 1;  // 1 -> 0, 2-3 -> 1, 4-7 -> 2, ...
  return bucket < kBatchBuckets ? bucket : kBatchBuckets - 1;
}

PrefixStats* EndpointStats::ForPrefix(const std::array<uint8_t, 22>& prefix) {
  auto& slot = prefixes_[prefix];
  if (!slot) slot = std::make_unique<PrefixStats>();
  return slot.get();
}

PrefixStats* EndpointStats::FindPrefix(const std::array<uint8_t, 22>& prefix) const {
  auto it = prefixes_.find(prefix);
  return it == prefixes_.end() ? nullptr : it->second.get();
}

}  // namespace ringv8
