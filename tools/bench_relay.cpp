// ringv8 bench relay: a TunnelCommunity relay on its own thread, loaded with cells of real
// circuits over loopback (testbed/relay_bench.h); with --exit, an exit and the datagrams through
// its exit sockets both ways (testbed/exit_bench.h).
#include <algorithm>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "testbed/exit_bench.h"
#include "testbed/relay_bench.h"
#include "tools/command.h"

namespace ringv8::tools {
namespace {

using nlohmann::json;

struct BenchRelayOptions {
  testbed::RelayBenchOptions bench;
  bool exit = false;
  bool json = false;
};

// runs[].share_of_bare with the spread of its rounds: "0.91 (0.85-0.97)".
std::string ShareOfBare(const json& run) {
  const auto rounds = run["share_of_bare_by_round"].get<std::vector<double>>();
  if (rounds.size() < 2) return fmt::format("{:.2f}", run["share_of_bare"].get<double>());
  const auto [low, high] = std::minmax_element(rounds.begin(), rounds.end());
  return fmt::format("{:.2f} ({:.2f}-{:.2f})", run["share_of_bare"].get<double>(), *low, *high);
}

void PrintExitTable(const json& r) {
  for (const auto& [payload, c] : r["crypto"].items()) {
    std::cout << fmt::format(
        "crypto, one core, {} B payloads ({} B cells): OpenSSL {:.0f} layers/s through EVP, "
        "{:.0f} through its provider; libsodium {:.0f}/s\n",
        payload, c["cell_size"].get<int>(), c["openssl_layers_per_second"].get<double>(),
        c["openssl_provider_layers_per_second"].get<double>(),
        c["libsodium_layers_per_second"].get<double>());
  }
  std::cout << "circuits  payload  direction  generator  datagrams/s  per exit CPU-s  MB per "
               "exit CPU-s  share of ceiling  bare syscalls: share of ceiling  ringv8/bare "
               "(rounds)\n";
  for (const json& run : r["runs"]) {
    std::cout << fmt::format(
        "{:>8}  {:>7}  {:<9}  {:<9}  {:>11.0f}  {:>14.0f}  {:>17.1f}  {:>16.2f}  {:>31.2f}  "
        "{}\n",
        run["circuits"].get<size_t>(), run["payload"].get<int>(),
        run["direction"].get<std::string>(), run["generator_gso"].get<bool>() ? "GSO" : "plain",
        run["datagrams_per_second"].get<double>(), run["per_cpu_second"].get<double>(),
        run["bytes_per_cpu_second"].get<double>() / 1e6, run["share_of_ceiling"].get<double>(),
        run["bare"]["share_of_ceiling"].get<double>(), ShareOfBare(run));
  }
  for (const json& m : r["memory"]) {
    std::cout << fmt::format(
        "memory: {} exit sockets, sharing {} bytes of receive buffers (mapped); the process grew "
        "by {} bytes per socket when they opened (counted from after the circuits were built), {} "
        "after a load through the exit alone\n",
        m["exit_sockets"].get<size_t>(), m["shared_receive_buffer_bytes"].get<size_t>(),
        m["resident_bytes_per_socket"].get<size_t>(),
        m["resident_after_load_bytes_per_socket"].get<size_t>());
  }
}

void PrintTable(const json& r) {
  for (const auto& [size, c] : r["crypto"].items()) {
    std::cout << fmt::format(
        "crypto, one core, {} B cells: OpenSSL {:.0f} layers/s through EVP, {:.0f} through its "
        "provider; libsodium {:.0f}/s (the relay's LayerCipher: {:.0f} / {:.0f})\n",
        size, c["openssl_layers_per_second"].get<double>(),
        c["openssl_provider_layers_per_second"].get<double>(),
        c["libsodium_layers_per_second"].get<double>(),
        c["layer_cipher_openssl_per_second"].get<double>(),
        c["layer_cipher_libsodium_per_second"].get<double>());
  }
  for (const json& h : r["handshakes"]) {
    std::cout << fmt::format(
        "handshakes: {} circuits built through {} shard(s) in {:.2f} s, {:.0f} per relay "
        "CPU-second = {:.2f} of the handshake crypto alone ({:.0f}/s)\n",
        h["ready"].get<size_t>(), h["shards"].get<uint32_t>(), h["seconds"].get<double>(),
        h["circuits_per_relay_cpu_second"].get<double>(), h["share_of_crypto"].get<double>(),
        h["handshake_crypto_per_second"].get<double>());
  }
  if (const json& f = r["create_flood"]; !f.is_null()) {
    std::cout << fmt::format(
        "handshakes: CREATE flood, {} answered, {:.0f} per relay CPU-second = {:.2f} of CREATE -> "
        "CREATED's crypto alone ({:.0f}/s)\n",
        f["answered"].get<uint64_t>(), f["per_relay_cpu_second"].get<double>(),
        f["share_of_crypto"].get<double>(), f["create_crypto_per_second"].get<double>());
  }
  std::cout << "shards  circuits  cell  direction  generator    cells/s  per relay CPU-s  "
               "us CPU per cell  share of ceiling  bare syscalls: share of ceiling  ringv8/bare "
               "(rounds)\n";
  for (const json& run : r["runs"]) {
    std::cout << fmt::format(
        "{:>6}  {:>8}  {:>4}  {:<9}  {:<9}  {:>9.0f}  {:>15.0f}  {:>15.2f}  {:>16.2f}  {:>31.2f}  "
        "{}\n",
        run["shards"].get<uint32_t>(), run["circuits"].get<size_t>(), run["cell_size"].get<int>(),
        run["direction"].get<std::string>(), run["generator_gso"].get<bool>() ? "GSO" : "plain",
        run["relayed_per_second"].get<double>(), run["per_cpu_second"].get<double>(),
        run["relay_cpu_us_per_cell"].get<double>(), run["share_of_ceiling"].get<double>(),
        run["bare"]["share_of_ceiling"].get<double>(), ShareOfBare(run));
  }
  for (const json& l : r["latency"]) {
    std::cout << fmt::format(
        "latency at {:.0f} cells/s ({} B, bursts of {}): added by the relay p50 {:.0f} us, p99 "
        "{:.0f} us (median of the windows' p99: {:.0f} us); through it p50 {:.0f} us, p99 {:.0f} "
        "us; direct p50 {:.0f} us, p99 {:.0f} us; {} probes, {} lost; relay CPU {:.2f} us per "
        "cell\n",
        l["rate"].get<double>(), l["cell_size"].get<int>(), l["burst"].get<int>(),
        l["added"]["p50_us"].get<double>(), l["added"]["p99_us"].get<double>(),
        l["added"]["p99_window_median_us"].get<double>(),
        l["through_relay"]["p50_us"].get<double>(), l["through_relay"]["p99_us"].get<double>(),
        l["direct"]["p50_us"].get<double>(), l["direct"]["p99_us"].get<double>(),
        l["probes"].get<uint64_t>(), l["lost"].get<uint64_t>(),
        l["relay_cpu_us_per_cell"].get<double>());
  }
  for (const json& m : r["memory"]) {
    std::cout << fmt::format(
        "memory: {} relayed circuits ({} shard(s)), {} table bytes = {} bytes per circuit; {} "
        "cells handed to another shard, {} dropped\n",
        m["circuits"].get<size_t>(), m["shards"].get<uint32_t>(), m["table_bytes"].get<size_t>(),
        m["bytes_per_circuit"].get<size_t>(), m["handed_off"].get<uint64_t>(),
        m["handoff_dropped"].get<uint64_t>());
  }
}

// Runs a benchmark engine; prints its result as JSON or as a table. Exit 1 if it failed.
int RunAndPrint(const std::function<json()>& run, bool as_json, void (*print_table)(const json&)) {
  json r;
  try {
    r = run();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return kExitRuntime;
  }
  if (as_json) {
    std::cout << r.dump() << "\n";
  } else {
    print_table(r);
  }
  return kExitOk;
}

int RunBenchExit(const BenchRelayOptions& options) {
  testbed::ExitBenchOptions bench;
  bench.circuits = options.bench.circuits;
  bench.payload_sizes = options.bench.payload_sizes;
  bench.seconds = options.bench.seconds;
  bench.rounds = options.bench.rounds;
  bench.backend = options.bench.backend;
  for (int size : bench.payload_sizes) {
    if (size < 20 || testbed::ExitCellSize(size) > 1472) {
      spdlog::error(
          "--payload {} is out of range with --exit (20..{}: a UDP payload, whose cell "
          "is {} bytes longer, 1472 max)",
          size, 1472 - testbed::ExitCellSize(0), testbed::ExitCellSize(0));
      return kExitUsage;
    }
  }
  return RunAndPrint([&] { return testbed::RunExitBench(bench); }, options.json, PrintExitTable);
}

int RunBenchRelay(const BenchRelayOptions& options) {
  if (options.exit && options.bench.shards != std::vector<uint32_t>{1}) {
    spdlog::error("--shards is for the relay benchmark; --exit measures one exit thread");
    return kExitUsage;
  }
  if (options.exit) return RunBenchExit(options);
  for (int size : options.bench.payload_sizes) {
    if (size < 53 || size > 1472) {
      spdlog::error("--payload {} is out of range (53..1472: a cell header, a layer, 1472 max)",
                    size);
      return kExitUsage;
    }
  }
  return RunAndPrint([&] { return testbed::RunRelayBench(options.bench); }, options.json,
                     PrintTable);
}

}  // namespace

void AddBenchRelayCommand(CLI::App& bench, RunFunction* run) {
  static BenchRelayOptions options;
  auto* cmd = bench.add_subcommand(
      "relay",
      "A TunnelCommunity relay on its own thread and loopback socket, loaded with cells of real "
      "2-hop circuits: cells per relay CPU-second beside the one-core ChaCha20-Poly1305 ceiling "
      "and the same flows through a bare-syscall relay (recvmmsg with GRO, the same crypto, GSO "
      "sends: the floor of the socket design), handshakes, added latency, memory per circuit");
  cmd->add_option("--circuits", options.bench.circuits,
                  "Relayed circuits, one relay per value (e.g. 1 1000 100000)")
      ->check(CLI::Range(size_t{1}, size_t{1000000}))
      ->capture_default_str();
  cmd->add_option("--shards", options.bench.shards,
                  "Shards per relay, one relay per value (1 2: cells steered by circuit id to "
                  "threads on one port; shard 1 shares CPU 0 with the generator)")
      ->check(CLI::Range(1, 2))
      ->capture_default_str();
  cmd->add_option("--payload", options.bench.payload_sizes,
                  "Cell sizes in bytes (53..1472); with --exit, UDP payload sizes (20..1404)")
      ->capture_default_str();
  cmd->add_option("--seconds", options.bench.seconds, "Seconds per measurement")
      ->check(kPositiveNumber)
      ->capture_default_str();
  cmd->add_option("--rounds", options.bench.rounds,
                  "Each flow through ringv8 and through the bare baseline in this many "
                  "alternating slices of --seconds / rounds (A B B A ...), so that the host's slow "
                  "phases weigh on both; ringv8/bare is over all of them, with the rounds' spread")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--backend", options.bench.backend, "The relay's endpoint")
      ->check(CLI::IsMember({"uring", "mmsg"}))
      ->capture_default_str();
  cmd->add_flag(
      "--no-latency", [](int64_t) { options.bench.latency = false; },
      "Skip the latency measurement");
  cmd->add_flag("--exit", options.exit,
                "Benchmark an exit instead: DATA through N 1-hop circuits out of its exit sockets "
                "to a sink, and payloads back into the circuits, per exit CPU-second, beside the "
                "same flows through a bare-syscall exit (one send per datagram on its circuit's "
                "socket: the floor of that design)");
  cmd->add_flag("--json", options.json, "Print the result as one JSON object");
  cmd->callback([run] { *run = [] { return RunBenchRelay(options); }; });
}

}  // namespace ringv8::tools
