// Wire-format costs against their baselines, measured in one run:
//   BM_Overlay_DecodeEncodeIntroRequest: split a signed 246, decode its payload, and write the
//     packet back (prefix, id, auth, global time, payload; everything but the signature, whose cost
//     is BM_Overlay_Sign's). Target: under 300 ns.
//   BM_Overlay_VerifyIntroRequest: the full verify path of a received 246 (split, load the key
//     from the auth header, Ed25519 verify) against BM_Overlay_BareVerify, a bare
//     crypto_sign_verify_detached over the same bytes. Target: within 5%.
// After the runs it measures the verify ratio once more, paired: blocks of the verify path and of
// the bare call alternate for about two seconds, so machine noise hits both alike. It prints that
// ratio and the medians of the repetitions; with --json, one JSON object.
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "wire/hex.h"
#include "wire/keys.h"
#include "wire/packet.h"
#include "wire/payloads.h"

namespace ringv8::wire {
namespace {

// Spec section 11.4, P1: a 246 signed by K1.
std::vector<uint8_t> IntroRequest() {
  return *FromHex(
      "00027e313685c1912a141279f8248fc8db5899c5df5af6004a4c69624e61434c504b3aa4e09292b651c278b9772c"
      "569f5fa9bb13d906b46ab68c9df9dc2b4409f8a2098a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf"
      "3748801b40f6f5c0000000000000001020202021b58c0a8010a1f9a010101011f9a010001b63b2a3146fad48ff8"
      "d6b0b4d83f813d8707f826a69fd30531dd4bd5e55cc7fce464ce1993f3c67c1c3c0e056b1ebe057885ae3fc77d7"
      "4b37dc914c173e72106");
}

void BM_Overlay_DecodeEncodeIntroRequest(benchmark::State& state) {
  const auto wire = IntroRequest();
  std::vector<uint8_t> out(kMaxDatagramSize);
  const auto layout = LayoutOf<IntroductionRequestPayload>();
  for (auto _ : state) {
    auto view = ParsePacket(wire, layout);
    auto payload = DecodePayload<IntroductionRequestPayload>(view->payload);
    Prefix prefix;
    std::memcpy(prefix.data(), view->prefix.data(), kPrefixSize);
    PacketBuilder builder(out, prefix, view->message_id);
    builder.writer().WriteVarlenH(view->public_key_bin);
    builder.GlobalTime(*view->global_time);
    builder.Write(*payload);
    auto packet = builder.FinishUnsigned();
    benchmark::DoNotOptimize(packet);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(wire.size()));
}
BENCHMARK(BM_Overlay_DecodeEncodeIntroRequest);

void BM_Overlay_VerifyIntroRequest(benchmark::State& state) {
  const auto wire = IntroRequest();
  const auto layout = LayoutOf<IntroductionRequestPayload>();
  for (auto _ : state) {
    auto view = ParsePacket(wire, layout);
    std::error_code error = VerifySignature(*view);
    if (error) state.SkipWithError("signature did not verify");
    benchmark::DoNotOptimize(error);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Overlay_VerifyIntroRequest);

void BM_Overlay_BareVerify(benchmark::State& state) {
  const auto wire = IntroRequest();
  const uint8_t* ed25519_public = wire.data() + 25 + 42;
  const size_t signed_length = wire.size() - 64;
  for (auto _ : state) {
    int result = crypto_sign_verify_detached(wire.data() + signed_length, wire.data(),
                                             signed_length, ed25519_public);
    if (result != 0) state.SkipWithError("signature did not verify");
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Overlay_BareVerify);

void BM_Overlay_Sign(benchmark::State& state) {
  const auto wire = IntroRequest();
  std::vector<uint8_t> bin(74, 0x01);
  std::memcpy(bin.data(), kLibNaClPrivatePrefix.data(), kLibNaClPrivatePrefix.size());
  auto key = *PrivateKey::FromBin(bin);
  std::array<uint8_t, 64> signature;
  for (auto _ : state) {
    key.Sign(Bytes(wire).first(wire.size() - 64), signature);
    benchmark::DoNotOptimize(signature);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Overlay_Sign);

// The paired verify ratio: total time of the verify path over total time of the bare call, in
// alternating blocks of 32 (the order flips every round).
double PairedVerifyRatio(double seconds) {
  using Clock = std::chrono::steady_clock;
  const auto wire = IntroRequest();
  const auto layout = LayoutOf<IntroductionRequestPayload>();
  const uint8_t* ed25519_public = wire.data() + 25 + 42;
  const size_t signed_length = wire.size() - 64;
  auto path_block = [&] {
    int failures = 0;
    for (int i = 0; i < 32; ++i) {
      auto view = ParsePacket(wire, layout);
      failures += VerifySignature(*view) ? 1 : 0;
    }
    benchmark::DoNotOptimize(failures);
  };
  auto bare_block = [&] {
    int failures = 0;
    for (int i = 0; i < 32; ++i) {
      failures += crypto_sign_verify_detached(wire.data() + signed_length, wire.data(),
                                              signed_length, ed25519_public) != 0;
    }
    benchmark::DoNotOptimize(failures);
  };
  Clock::duration path{}, bare{};
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  for (int round = 0; Clock::now() < end; ++round) {
    for (int half = 0; half < 2; ++half) {
      const bool path_turn = (round + half) % 2 == 0;
      auto t0 = Clock::now();
      path_turn ? path_block() : bare_block();
      (path_turn ? path : bare) += Clock::now() - t0;
    }
  }
  return std::chrono::duration<double>(path).count() / std::chrono::duration<double>(bare).count();
}

// Collects every repetition's time per benchmark while the console reporter prints as usual.
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type == Run::RT_Iteration && !run.error_occurred) {
        times_[run.run_name.function_name].push_back(run.GetAdjustedRealTime());
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  // Median time in ns of one benchmark (0 if it did not run).
  double Median(const std::string& name) const {
    auto it = times_.find(name);
    if (it == times_.end() || it->second.empty()) return 0;
    std::vector<double> v = it->second;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }

 private:
  std::map<std::string, std::vector<double>> times_;
};

}  // namespace
}  // namespace ringv8::wire

int main(int argc, char** argv) {
  using ringv8::wire::CollectingReporter;
  using ringv8::wire::PairedVerifyRatio;
  bool json = false;
  std::vector<char*> args;
  bool has_repetitions = false;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
      continue;
    }
    if (std::strncmp(argv[i], "--benchmark_repetitions", 23) == 0) has_repetitions = true;
    args.push_back(argv[i]);
  }
  // Repetitions alternate with nothing else running, so the medians of the pair are comparable.
  std::string repetitions = "--benchmark_repetitions=5";
  if (!has_repetitions) args.push_back(repetitions.data());
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (sodium_init() < 0) return 1;
  CollectingReporter reporter;
  if (json) reporter.SetOutputStream(&std::cerr);  // stdout carries only the JSON object.
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  const double decode_encode = reporter.Median("BM_Overlay_DecodeEncodeIntroRequest");
  const double verify = reporter.Median("BM_Overlay_VerifyIntroRequest");
  const double bare = reporter.Median("BM_Overlay_BareVerify");
  const double sign = reporter.Median("BM_Overlay_Sign");
  nlohmann::json result = {{"decode_encode_ns", decode_encode},
                           {"verify_path_ns", verify},
                           {"bare_verify_ns", bare},
                           {"sign_ns", sign}};
  if (verify > 0 && bare > 0) result["verify_ratio_medians"] = verify / bare;
  result["verify_ratio"] = PairedVerifyRatio(2.0);
  if (json) {
    std::cout << result.dump() << "\n";
  } else {
    std::cout << "\nintro-request decode+encode: " << decode_encode << " ns (target < 300 ns)\n"
              << "verify path / bare libsodium verify, paired: "
              << result["verify_ratio"].get<double>() << " (target <= 1.05)\n";
    if (result.contains("verify_ratio_medians")) {
      std::cout << "verify path / bare libsodium verify, medians: "
                << result["verify_ratio_medians"].get<double>() << "\n";
    }
  }
  return 0;
}
