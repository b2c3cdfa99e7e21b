// Versions of the kernel-facing libraries ring/ is built with (liburing stays private to ring/).
// Thread-safe.
#ifndef RINGV8_RING_BUILD_INFO_H_
#define RINGV8_RING_BUILD_INFO_H_

#include <string>

namespace ringv8::ring {

// "2.3" for liburing 2.3.
std::string LiburingVersion();

}  // namespace ringv8::ring

#endif  // RINGV8_RING_BUILD_INFO_H_
