// The process's resident memory, for the long-run and abuse reports (RSS from /proc/self/statm).
// Thread-safe.
#ifndef RINGV8_TESTBED_PROCESS_MEMORY_H_
#define RINGV8_TESTBED_PROCESS_MEMORY_H_

#include <cstdint>

namespace ringv8::testbed {

// Resident set size in bytes; 0 if /proc is not readable.
uint64_t ResidentBytes();

inline double ResidentMiB() { return static_cast<double>(ResidentBytes()) / (1 << 20); }

}  // namespace ringv8::testbed

#endif  // RINGV8_TESTBED_PROCESS_MEMORY_H_
