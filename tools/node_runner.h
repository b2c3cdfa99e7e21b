// RunNode: runs a Node until a signal or a duration, as `ringv8 run` and `ringv8 relay` do: opens
// the configured interfaces, starts the node, shows a status line (a refreshing line on a
// terminal, a log line a minute otherwise), serves --metrics, notifies systemd, and at the end
// prints the node's state as JSON if asked.
// Call from the main thread; returns the process exit code (tools/command.h).
#ifndef RINGV8_TOOLS_NODE_RUNNER_H_
#define RINGV8_TOOLS_NODE_RUNNER_H_

#include <string>

#include <CLI/CLI.hpp>

#include "node/config.h"
#include "ring/endpoint.h"

namespace ringv8::tools {

struct NodeRunOptions {
  double duration = 0;  // 0: until a signal.
  bool json = false;
  double status_interval = 1.0;
  std::string backend = "auto";
  bool skip_unknown = false;
  std::string metrics;  // ADDR:PORT, "" for none.
  // > 1: the node's TunnelCommunity runs on this many shards (node/tunnel_shards.h).
  uint32_t tunnel_shards = 1;
  // Datagrams each endpoint (each shard's) may hold queued or in flight (send_queue_full beyond).
  uint32_t send_queue = ringv8::EndpointOptions{}.send_queue_capacity;
};

// The options both commands share: --duration, --json, --status-interval, --backend, --metrics,
// --send-queue.
void AddNodeRunOptions(CLI::App& command, NodeRunOptions& options);

int RunNode(const node::NodeConfig& config, const NodeRunOptions& options);

}  // namespace ringv8::tools

#endif  // RINGV8_TOOLS_NODE_RUNNER_H_
