// ringv8 bench abuse: runs testbed/abuse.h's scenarios against an in-process tracker and prints
// a summary line (or the JSON) of each. Exit 0 when every scenario run held, 1 otherwise.
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "testbed/abuse.h"
#include "tools/command.h"

namespace ringv8::tools {

namespace {

using nlohmann::json;

struct BenchAbuseOptions {
  std::vector<std::string> scenarios = {"overload", "keys", "garbage", "spoof"};
  testbed::AbuseOptions abuse;
  std::string backend = "auto";
  bool json = false;
};

// One line a person reads: what was done and what held (--json has everything).
std::string Summary(const json& r) {
  const std::string scenario = r["scenario"].get<std::string>();
  const std::string verdict = r["held"].get<bool>() ? "held" : "DID NOT HOLD";
  auto n = [&](const char* field) { return r[field].get<double>(); };
  if (scenario == "overload") {
    return fmt::format(
        "overload: {}: capacity {:.0f}/s; under {:.0f}/s (3x) it answered {:.0f}/s ({:.0f}%), "
        "after it {:.0f}/s ({:.0f}%) with {} timeouts; {} dropped in the kernel, {} unaccounted",
        verdict, n("capacity_per_second"), n("offered_per_second"),
        n("answered_per_second_during_flood"), 100 * n("share_of_capacity_during_flood"),
        n("answered_per_second_after"), 100 * n("share_of_capacity_after"),
        r["timeouts_after"].get<uint64_t>(), r["dropped_in_kernel"].get<uint64_t>(),
        r["unaccounted"].get<int64_t>());
  }
  if (scenario == "keys") {
    const json& went = r["where_entries_went"];
    return fmt::format(
        "keys: {}: {} fresh keys in {:.1f} s ({:.0f}/s answered); entries {} (bound {}); "
        "inserted {} = {} in the table + {} evicted + {} removed silent ({} unexplained); RSS "
        "{:.0f} MiB before, {:.0f} MiB peak",
        verdict, r["keys"].get<int>(), n("seconds"), n("answered_per_second"),
        r["table"]["entries"].get<uint64_t>(), r["max_entries"].get<size_t>(),
        went["inserted"].get<uint64_t>(), went["still_in_table"].get<uint64_t>(),
        went["evicted_table_full"].get<uint64_t>() + went["evicted_service_full"].get<uint64_t>(),
        went["removed_silent"].get<uint64_t>(), went["unexplained"].get<int64_t>(),
        r["rss_mib"]["before"].get<double>(), r["rss_mib"]["peak"].get<double>());
  }
  if (scenario == "garbage") {
    return fmt::format(
        "garbage: {}: {} datagrams at {:.0f}/s: {} accepted, {} replies, state {}, {} counted as "
        "drops ({} unaccounted); {}/{} valid requests answered afterwards",
        verdict, r["sent"].get<uint64_t>(), n("sent_per_second"),
        r["requests_accepted"].get<uint64_t>(), r["replies_to_garbage"].get<uint64_t>(),
        r["state_unchanged"].get<bool>() ? "unchanged" : "CHANGED",
        r["counted_as_drops"].get<uint64_t>(), r["unaccounted"].get<int64_t>(),
        r["answered_after"].get<uint64_t>(), r["valid_requests_after"].get<int>());
  }
  const json& max = r["max_in_one_second_after_burst"];
  return fmt::format(
      "spoof: {}: {:.0f} requests/s from one address for {:.0f} s; it got {} packets from the "
      "tracker (bound {:.0f}); {} (limit {:.0f}/s)",
      verdict, n("offered_per_second"), n("seconds"), r["received_by_victim"].get<uint64_t>(),
      n("bound"),
      max.is_null() ? std::string("the peak second is measured in runs of 7 s or more")
                    : fmt::format("at most {} in a second after the burst", max.get<uint64_t>()),
      n("limit_per_second"));
}

int RunBenchAbuse(const BenchAbuseOptions& o) {
  bool all_held = true;
  for (const std::string& scenario : o.scenarios) {
    testbed::AbuseOptions abuse = o.abuse;
    abuse.backend = *ParseEndpointBackend(o.backend);
    json result = testbed::RunAbuseScenario(scenario, abuse);
    const bool held = result["held"].get<bool>();
    all_held = all_held && held;
    std::cout << (o.json ? result.dump() : Summary(result)) << std::endl;
    if (!held) spdlog::error("{}: the tracker did not hold (see the result)", scenario);
  }
  return all_held ? kExitOk : kExitRuntime;
}

}  // namespace

void AddBenchAbuseCommand(CLI::App& bench, RunFunction* run) {
  static BenchAbuseOptions options;
  auto* cmd = bench.add_subcommand(
      "abuse",
      "Attack an in-process ringv8 tracker on 127.0.0.1 and check that it holds: overload (3x "
      "capacity), keys (N fresh keys), garbage (malformed datagrams at full speed), spoof (one "
      "address, many keys); exit 1 if any does not hold");
  cmd->add_option("scenarios", options.scenarios, "Scenarios to run, in order")
      ->check(CLI::IsMember({"overload", "keys", "garbage", "spoof"}))
      ->capture_default_str();
  cmd->add_option("--duration", options.abuse.duration, "Seconds of each flood")
      ->check(kPositiveNumber)
      ->capture_default_str();
  cmd->add_option("--keys", options.abuse.keys, "Fresh keys in the keys scenario")
      ->check(CLI::Range(1, 100000000))
      ->capture_default_str();
  cmd->add_option("--max-entries", options.abuse.max_entries,
                  "The tracker's table bound (and peers a shard pings) in the keys scenario")
      ->check(CLI::Range(size_t{1}, size_t{100000000}))
      ->capture_default_str();
  cmd->add_option("--shards", options.abuse.shards, "Shards of the tracker")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--backend", options.backend, "Endpoint backend of the tracker")
      ->check(CLI::IsMember({"auto", "uring", "mmsg"}))
      ->capture_default_str();
  cmd->add_flag("--json", options.json,
                "Print one JSON object per scenario, one per line (default: a summary line each)");
  cmd->callback([run] { *run = [] { return RunBenchAbuse(options); }; });
}

}  // namespace ringv8::tools
