#include "node/stats_text.h"

#include <algorithm>

#include <fmt/format.h>

#include "wire/hex.h"

namespace ringv8::node {

using nlohmann::json;

namespace {

// Counters and seconds only grow: Prometheus names them _total.
std::string MetricName(std::string_view prefix, const Stat& stat) {
  const bool total = stat.kind == StatKind::kCounter || stat.kind == StatKind::kSeconds;
  return fmt::format("{}_{}{}", prefix, stat.name, total ? "_total" : "");
}

std::string JoinLabels(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  return fmt::format("{},{}", a, b);
}

json Number(const Stat& stat, double value) {
  if (stat.kind == StatKind::kSeconds) return value;
  return static_cast<uint64_t>(value);
}

}  // namespace

void AddStatsJson(const StatsSnapshot& stats, json& out, bool sum) {
  json drops = sum && out.contains("drops") ? out["drops"] : json::object();
  stats.Visit([&](const Stat& stat, double value) {
    json& target = (IsDrop(stat.kind) ? drops : out)[std::string(stat.name)];
    if (sum && target.is_number()) value += target.get<double>();
    target = Number(stat, value);
  });
  out["drops"] = std::move(drops);
}

json StatsJson(const StatsSnapshot& stats) {
  json out = json::object();
  AddStatsJson(stats, out);
  return out;
}

json MessagesJson(const MessageCounts& m) {
  json in = json::object(), out = json::object();
  for (int id = 0; id < 256; ++id) {
    if (m.packets_in[id] != 0) {
      in[std::to_string(id)] = {{"packets", m.packets_in[id]}, {"bytes", m.bytes_in[id]}};
    }
    if (m.packets_out[id] != 0) {
      out[std::to_string(id)] = {{"packets", m.packets_out[id]}, {"bytes", m.bytes_out[id]}};
    }
  }
  return {{"in", in}, {"out", out}};
}

PrometheusText& PrometheusText::Family(std::string_view name, std::string_view type,
                                       std::string_view help) {
  name_ = name;
  text_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  return *this;
}

PrometheusText& PrometheusText::Sample(std::string_view labels, double value) {
  if (labels.empty()) {
    text_ += fmt::format("{} {}\n", name_, value);
  } else {
    text_ += fmt::format("{}{{{}}} {}\n", name_, labels, value);
  }
  return *this;
}

void AddStatsPrometheus(PrometheusText& p, std::string_view prefix,
                        std::span<const StatsRow> rows) {
  const StatsRow* layout = nullptr;  // A row that has published (an empty snapshot has not).
  for (const StatsRow& row : rows) {
    if (!row.stats->entries().empty()) layout = &row;
  }
  if (layout == nullptr) return;
  const auto& entries = layout->stats->entries();
  for (size_t i = 0; i < entries.size(); ++i) {
    const Stat& stat = entries[i].stat;
    if (IsDrop(stat.kind)) continue;
    p.Family(MetricName(prefix, stat), stat.kind == StatKind::kGauge ? "gauge" : "counter",
             stat.help);
    for (const StatsRow& row : rows) {
      if (!row.stats->entries().empty()) p.Sample(row.labels, row.stats->entries()[i].value);
    }
  }
  if (std::none_of(entries.begin(), entries.end(),
                   [](const StatsSnapshot::Entry& e) { return IsDrop(e.stat.kind); })) {
    return;
  }
  p.Family(fmt::format("{}_drops_total", prefix), "counter", "Dropped datagrams by reason.");
  for (const StatsRow& row : rows) {
    row.stats->Visit([&](const Stat& stat, double value) {
      if (!IsDrop(stat.kind)) return;
      p.Sample(JoinLabels(row.labels, fmt::format("reason=\"{}\"", stat.name)), value);
    });
  }
}

void AddMessagesPrometheus(PrometheusText& p, std::string_view prefix,
                           std::span<const MessagesRow> rows) {
  using Counts = std::array<uint64_t, 256> MessageCounts::*;
  auto family = [&](std::string_view name, std::string_view help, Counts counts) {
    p.Family(fmt::format("{}_{}", prefix, name), "counter", help);
    for (const MessagesRow& row : rows) {
      const auto& by_id = row.messages->*counts;
      for (int id = 0; id < 256; ++id) {
        if (by_id[id] == 0) continue;
        p.Sample(JoinLabels(row.labels, fmt::format("id=\"{}\"", id)),
                 static_cast<double>(by_id[id]));
      }
    }
  };
  family("messages_in_total", "Packets received by message id.", &MessageCounts::packets_in);
  family("messages_out_total", "Packets sent by message id.", &MessageCounts::packets_out);
  family("message_bytes_in_total", "Bytes received by message id.", &MessageCounts::bytes_in);
  family("message_bytes_out_total", "Bytes sent by message id.", &MessageCounts::bytes_out);
}

std::string NodeMetricsText(const NodeStats& stats) {
  PrometheusText p;
  const StatsRow endpoint[] = {{"", &stats.endpoint}};
  AddStatsPrometheus(p, "ringv8_node", endpoint);
  const MessagesRow messages[] = {{"", &stats.messages}};
  AddMessagesPrometheus(p, "ringv8_node", messages);
  std::vector<StatsRow> overlays;
  for (const OverlayStats& o : stats.overlays) {
    overlays.push_back(
        {fmt::format("class=\"{}\",community=\"{}\"", o.class_name, wire::ToHex(o.community_id)),
         &o.stats});
  }
  AddStatsPrometheus(p, "ringv8_node_overlay", overlays);
  p.Family("ringv8_node_scheduler_lag_seconds", "gauge", "How late the last strategy step started.")
      .Sample("", stats.scheduler_lag_seconds);
  return p.text();
}

json TrackerJson(const tracker::TrackerServer& server, const tracker::TrackerServerStats& stats) {
  const tracker::TrackerServerOptions& options = server.options();
  json table = StatsJson(stats.table);
  table["max_entries"] = options.limits.max_entries;
  table["max_per_service"] = options.limits.max_per_service;
  json per_shard = json::array();
  for (const tracker::TrackerShardStats& shard : stats.shards) {
    json s = StatsJson(shard.tracker);
    s["endpoint"] = StatsJson(shard.endpoint);
    s["messages"] = MessagesJson(shard.messages);
    s["cpu_seconds"] = shard.cpu_seconds;
    s["published_at"] = shard.published_at;
    per_shard.push_back(std::move(s));
  }
  json out = {{"mid", wire::ToHex(server.key().mid())},
              {"port", server.port()},
              {"backend", server.backend()}};
  AddStatsJson(stats.tracker, out);
  out["endpoint"] = StatsJson(stats.endpoint);
  out["table"] = std::move(table);
  out["per_shard"] = std::move(per_shard);
  return out;
}

std::string TrackerMetricsText(const tracker::TrackerServerStats& stats) {
  PrometheusText p;
  std::vector<StatsRow> tracker, endpoint;
  std::vector<MessagesRow> messages;
  for (size_t i = 0; i < stats.shards.size(); ++i) {
    const std::string labels = fmt::format("shard=\"{}\"", i);
    tracker.push_back({labels, &stats.shards[i].tracker});
    endpoint.push_back({labels, &stats.shards[i].endpoint});
    messages.push_back({labels, &stats.shards[i].messages});
  }
  AddStatsPrometheus(p, "ringv8_tracker", tracker);
  AddMessagesPrometheus(p, "ringv8_tracker", messages);
  p.Family("ringv8_tracker_cpu_seconds_total", "counter", "CPU time of the shard's thread.");
  for (size_t i = 0; i < stats.shards.size(); ++i) {
    p.Sample(tracker[i].labels, stats.shards[i].cpu_seconds);
  }
  AddStatsPrometheus(p, "ringv8_tracker_endpoint", endpoint);
  const StatsRow table[] = {{"", &stats.table}};
  AddStatsPrometheus(p, "ringv8_tracker_table", table);
  return p.text();
}

}  // namespace ringv8::node
