// What an exit carries (tunnel spec 5.7, py-ipv8's exit_socket.py is_allowed): the classes of UDP
// payload a DATA cell or an exit socket's reply may hold, and whether this node's flags allow
// them. The same test applies both ways: toward the Internet and back.
// Pure functions; thread-safe.
#ifndef RINGV8_TUNNEL_EXIT_TRAFFIC_H_
#define RINGV8_TUNNEL_EXIT_TRAFFIC_H_

#include <cstdint>
#include <span>

#include "ring/endpoint.h"
#include "tunnel/payloads.h"

namespace ringv8::tunnel {

// BitTorrent over UDP as py-ipv8 recognises it.
bool IsUtp(Bytes data);         // len >= 20, type <= 4 (high nibble), version 1, extension <= 3.
bool IsUdpTracker(Bytes data);  // A connect/announce/scrape/error action at offset 0 or 8.
bool IsDht(Bytes data);         // A bencoded dictionary: 'd' ... 'e'.
bool IsBitTorrent(Bytes data);
bool IsIpv8(Bytes data);  // An IPv8 packet: 0x00, version 0x01/0x02, at least 23 bytes.

enum class ExitClass : uint8_t {
  kRefused,     // Nothing this node's flags allow.
  kBitTorrent,  // Allowed by EXIT_BT.
  kIpv8,        // Allowed by EXIT_IPV8.
  kOwnTunnel,   // IPv8 on this overlay's own prefix (hidden services; every terminal hop).
};

// py-ipv8's is_allowed with the reason: EXIT_BT for BitTorrent, EXIT_IPV8 for IPv8 packets, and
// any IPv8 packet on `own_prefix` (the tunnel overlay) whatever the flags.
ExitClass ClassifyExit(Bytes data, PeerFlags flags, const PacketPrefix& own_prefix);

}  // namespace ringv8::tunnel

#endif  // RINGV8_TUNNEL_EXIT_TRAFFIC_H_
