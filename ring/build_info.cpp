#include "ring/build_info.h"

namespace ringv8::ring {

// liburing 2.3 has no version macros; CMake passes the pkg-config version.
std::string LiburingVersion() { return RINGV8_LIBURING_VERSION; }

}  // namespace ringv8::ring
