// The statistics renderers of ringv8: one for JSON (--json of `run`, `swarm`, `tracker` and the
// benchmarks) and one for Prometheus text (/metrics). Both read typed statistics (ring/stats.h),
// never JSON, so a counter has the same name everywhere:
//
//   JSON                          Prometheus
//   {"requests": n}               PREFIX_requests_total      (a counter)
//   {"peers": n}                  PREFIX_peers               (a gauge)
//   {"crypto_seconds": x}         PREFIX_crypto_seconds_total
//   {"drops": {"rate_limited": n}} PREFIX_drops_total{reason="rate_limited"}
//
// where PREFIX is ringv8_ and the JSON path to the object ("ringv8_tracker_endpoint" for the
// "endpoint" object of `tracker --json`). Thread-compatible: pure functions of their arguments.
#ifndef RINGV8_NODE_STATS_TEXT_H_
#define RINGV8_NODE_STATS_TEXT_H_

#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "node/node.h"
#include "ring/stats.h"
#include "tracker/tracker_server.h"

namespace ringv8::node {

// The counters, gauges and seconds of `stats` as keys of `out`; its drops under out["drops"].
// With `sum`, added to the values `out` has already (shards adding to a node's figures).
void AddStatsJson(const StatsSnapshot& stats, nlohmann::json& out, bool sum = false);
nlohmann::json StatsJson(const StatsSnapshot& stats);
// {"in": {"246": {"packets": n, "bytes": n}}, "out": {...}}: the message ids that occurred.
nlohmann::json MessagesJson(const MessageCounts& messages);

// Prometheus text exposition: one metric family at a time.
class PrometheusText {
 public:
  // Starts a family: "# HELP" and "# TYPE" lines.
  PrometheusText& Family(std::string_view name, std::string_view type, std::string_view help);
  // One sample of the current family; `labels` is "" or `key="value",...`.
  PrometheusText& Sample(std::string_view labels, double value);
  const std::string& text() const { return text_; }

 private:
  std::string name_;
  std::string text_;
};

// One node, shard or overlay: its labels (`shard="0"`, or "") and a snapshot. The rows given
// together are snapshots of the same struct.
struct StatsRow {
  std::string labels;
  const StatsSnapshot* stats;
};
// Every counter of the rows, named as the table above says, one family per counter.
void AddStatsPrometheus(PrometheusText& p, std::string_view prefix, std::span<const StatsRow> rows);
struct MessagesRow {
  std::string labels;
  const MessageCounts* messages;
};
// PREFIX_messages_{in,out}_total{id} and PREFIX_message_bytes_{in,out}_total{id}.
void AddMessagesPrometheus(PrometheusText& p, std::string_view prefix,
                           std::span<const MessagesRow> rows);

// `ringv8 run`: /metrics of a node (ringv8_node_*, ringv8_node_overlay_*{class,community}).
std::string NodeMetricsText(const NodeStats& stats);
// `ringv8 tracker`: --json and /metrics (ringv8_tracker_*{shard}, ringv8_tracker_endpoint_*,
// ringv8_tracker_table_*).
nlohmann::json TrackerJson(const tracker::TrackerServer& server,
                           const tracker::TrackerServerStats& stats);
std::string TrackerMetricsText(const tracker::TrackerServerStats& stats);

}  // namespace ringv8::node

#endif  // RINGV8_NODE_STATS_TEXT_H_
