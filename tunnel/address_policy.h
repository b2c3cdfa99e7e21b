// Which addresses a relay may send to on a stranger's word: an EXTEND's node_addr (spec Q13) and,
// later, an exit's destinations. "Public" excludes every special-purpose range of RFC 6890 and
// its successors (loopback, private, shared CGNAT, link-local, multicast, documentation,
// benchmarking, reserved, broadcast, unspecified; for IPv6 also ULA, link-local, IPv4-mapped).
// Pure functions; thread-safe.
#ifndef RINGV8_TUNNEL_ADDRESS_POLICY_H_
#define RINGV8_TUNNEL_ADDRESS_POLICY_H_

#include "ring/address.h"

namespace ringv8::tunnel {

bool IsPublicAddress(const Address& address);
bool IsLoopbackAddress(const Address& address);

}  // namespace ringv8::tunnel

#endif  // RINGV8_TUNNEL_ADDRESS_POLICY_H_
