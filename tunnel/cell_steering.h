// The SO_REUSEPORT steering rule of a relay with several shards (docs/architecture.md, "Several
// shards"): a classic BPF program, attached to the shards' sockets on one port
// (EndpointOptions::reuseport_program), that sends a cell of this overlay (the overlay's 22-byte
// prefix, message id 0) to socket circuit_id mod shards, and every other datagram (introductions,
// DESTROY, other communities, anything shorter than a cell header) to socket 0: the control plane.
// The kernel runs it per datagram before any socket sees it: no lock, no copy, no hand-off on the
// cell path. A GRO read is steered by its first datagram; TunnelCommunity::SetShard hands on
// what lands on the wrong shard.
//
// Thread-compatible (a pure function).
#ifndef RINGV8_TUNNEL_CELL_STEERING_H_
#define RINGV8_TUNNEL_CELL_STEERING_H_

#include <linux/filter.h>

#include <cstdint>
#include <vector>

#include "wire/packet.h"

namespace ringv8::tunnel {

// The program for `shards` sockets (1 .. 65,536), in the order they were bound.
std::vector<sock_filter> CellSteeringProgram(const wire::Prefix& prefix, uint32_t shards);

}  // namespace ringv8::tunnel

#endif  // RINGV8_TUNNEL_CELL_STEERING_H_
