// The ringv8 binary end to end: exit codes, help, keygen files, decode.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/tools/ringv8_binary.h"
#include "wire/hex.h"
#include "wire/keys.h"

namespace ringv8::tools {
namespace {

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/ringv8-cli-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { (void)system(("rm -rf " + dir_).c_str()); }
  std::string dir_;
};

TEST_F(CliTest, HelpWorksForEverySubcommand) {
  for (const char* args :
       {"--help", "version --help", "keygen --help", "decode --help", "run --help", "swarm --help",
        "bench --help", "bench endpoint --help", "bench sink --help", "bench echo --help",
        "bench tracker --help", "bench abuse --help", "bench forward --help", "tracker --help"}) {
    Output out = Ringv8(args);
    EXPECT_EQ(out.exit_code, 0) << args;
    EXPECT_NE(out.stdout_text.find("Usage:"), std::string::npos) << args;
    EXPECT_NE(out.stdout_text.find("--log-level"), std::string::npos) << args;  // Everywhere.
  }
}

TEST_F(CliTest, LogLevelIsAcceptedAfterTheSubcommand) {
  EXPECT_EQ(Ringv8("version --log-level debug").exit_code, 0);
  EXPECT_EQ(Ringv8("--log-level debug version").exit_code, 0);
  EXPECT_EQ(Ringv8("bench sink --port 0 --duration 0.1 --log-level warn --json").exit_code, 0);
  EXPECT_EQ(Ringv8("version --log-level loud").exit_code, 2);
}

TEST_F(CliTest, NumberErrorsSayWhatIsWrong) {
  Output out = Ringv8("tracker --port 0 --burst 0", /*with_stderr=*/true);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.stdout_text.find("--burst: must be > 0"), std::string::npos) << out.stdout_text;
  out = Ringv8("tracker --port 0 --metrics localhost", /*with_stderr=*/true);
  EXPECT_EQ(out.exit_code, 2);  // Before the tracker starts.
  EXPECT_NE(out.stdout_text.find("--metrics: 'localhost' is not IP:PORT"), std::string::npos)
      << out.stdout_text;
  out = Ringv8("run --duration abc", /*with_stderr=*/true);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.stdout_text.find("--duration: 'abc' is not a number"), std::string::npos)
      << out.stdout_text;
}

TEST_F(CliTest, AnUnknownSubcommandIsNamed) {
  for (const char* args : {"bogus", "bogus --help", "--log-level info bogus"}) {
    Output out = Ringv8(args, /*with_stderr=*/true);
    EXPECT_EQ(out.exit_code, 2) << args;
    EXPECT_NE(out.stdout_text.find("unknown subcommand 'bogus' (known: version, keygen, decode"),
              std::string::npos)
        << out.stdout_text;
  }
}

TEST_F(CliTest, UsageErrorsExitWith2) {
  for (const char* args : {"", "no-such-command", "keygen", "keygen --out a --show b",
                           "--log-level loud version", "keygen --force"}) {
    EXPECT_EQ(Ringv8(args).exit_code, 2) << args;
  }
}

TEST_F(CliTest, VersionReportsLibrariesAsJson) {
  Output out = Ringv8("version --json");
  ASSERT_EQ(out.exit_code, 0);
  auto info = nlohmann::json::parse(out.stdout_text);
  EXPECT_EQ(info["libsodium"].get<std::string>().substr(0, 2), "1.");
  EXPECT_TRUE(info.contains("liburing"));
  EXPECT_TRUE(info.contains("malloc_is_mimalloc"));
}

TEST_F(CliTest, KeygenWritesAKeyAndRefusesToOverwriteIt) {
  const std::string path = dir_ + "/node.key";
  Output created = Ringv8("keygen --json --out " + path);
  ASSERT_EQ(created.exit_code, 0);
  auto identity = nlohmann::json::parse(created.stdout_text);

  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto key = wire::LoadKeyFile(path);
  ASSERT_TRUE(key);
  EXPECT_EQ(identity["public_key"], wire::ToHex(key->public_key().bin()));
  EXPECT_EQ(identity["mid"], wire::ToHex(key->mid()));

  EXPECT_EQ(Ringv8("keygen --out " + path).exit_code, 1);
  EXPECT_EQ(wire::LoadKeyFile(path)->public_key(), key->public_key());  // Untouched.

  Output shown = Ringv8("keygen --json --show " + path);
  ASSERT_EQ(shown.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(shown.stdout_text)["mid"], identity["mid"]);

  ASSERT_EQ(Ringv8("keygen --force --out " + path).exit_code, 0);
  EXPECT_NE(wire::LoadKeyFile(path)->public_key(), key->public_key());
}

TEST_F(CliTest, KeygenRefusesADirectoryOrNoName) {
  for (const std::string& args :
       {"keygen --out " + dir_ + "/", "keygen --out " + dir_, std::string("keygen --out ''")}) {
    Output out = Ringv8(args, /*with_stderr=*/true);
    EXPECT_EQ(out.exit_code, 2) << args;
    EXPECT_EQ(out.stdout_text.find("--force"), std::string::npos) << out.stdout_text;
  }
  EXPECT_NE(Ringv8("keygen --out " + dir_, true).stdout_text.find("is a directory"),
            std::string::npos);
}

TEST_F(CliTest, KeygenShowFailsOnMissingFile) {
  EXPECT_EQ(Ringv8("keygen --show " + dir_ + "/missing.key").exit_code, 1);
}

// A py-ipv8 EC private key (M2Crypto, PEM or DER) is named as such, not as unknown_key_type.
TEST_F(CliTest, KeygenShowNamesALegacyEcKey) {
  const std::string pem = dir_ + "/ec.pem";
  std::ofstream(pem) << "-----BEGIN EC PRIVATE KEY-----\nMF8CAQEEGADrZ...\n"
                        "-----END EC PRIVATE KEY-----\n";
  Output out = Ringv8("keygen --show " + pem, true);
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.stdout_text.find("legacy EC private key"), std::string::npos) << out.stdout_text;
  EXPECT_NE(out.stdout_text.find("curve25519"), std::string::npos);
  const std::string der = dir_ + "/ec.der";
  std::ofstream(der) << std::string("\x30\x81\x87\x02\x01\x00", 6) << std::string(80, 'x');
  out = Ringv8("keygen --show " + der, true);
  EXPECT_NE(out.stdout_text.find("legacy EC private key"), std::string::npos) << out.stdout_text;
}

// DiscoveryCommunity's similarity-request from the golden vectors.
const char kSimilarityRequest[] =
    "00027e313685c1912a141279f8248fc8db5899c5df5a01004a4c69624e61434c504b3af325d23a88ce0f7e9591"
    "b08baf90624b3161e8aac1eff8beb3eaaff51a3b514ed15b94202360e50acfeab9931587cb63a250a1b5cd84a6b1"
    "d40ddbe35a8f3a0d00000000000002010201c0a8010a1f9a525e010a1f9a007e313685c1912a141279f8248fc8d"
    "b5899c5df5a0102030405060708090a0b0c0d0e0f1011121314ef30255254c37b5f07b50578e4b141dad43af26b"
    "3a82e861efe5090c76bde7b1f2b423c6942b02934722b58f087d37b5d98fd847cab69732adba048facd7070b";

TEST_F(CliTest, DecodeListsPreferencesAndRefusesUnsignedOnSignedMessages) {
  Output out = Ringv8(std::string("decode ") + kSimilarityRequest);
  ASSERT_EQ(out.exit_code, 0);
  const auto j = nlohmann::json::parse(out.stdout_text);
  ASSERT_TRUE(j["payload"]["preference_list"].is_array());
  ASSERT_EQ(j["payload"]["preference_list"].size(), 2u);
  EXPECT_EQ(j["payload"]["preference_list"][0], "7e313685c1912a141279f8248fc8db5899c5df5a");
  // --unsigned on a message py-ipv8 always signs: a usage error, not a nonsense decode.
  out = Ringv8(std::string("decode --unsigned ") + kSimilarityRequest, true);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.stdout_text.find("always signed"), std::string::npos) << out.stdout_text;
}

TEST_F(CliTest, DecodeVerifiesAndReportsFields) {
  // Spec 11.4 P11 (ping) and P1 (a signed 246).
  Output ping = Ringv8("decode 00027e313685c1912a141279f8248fc8db5899c5df5a0300000000000000060006");
  ASSERT_EQ(ping.exit_code, 0);
  auto j = nlohmann::json::parse(ping.stdout_text);
  EXPECT_EQ(j["message"], "ping");
  EXPECT_EQ(j["payload"]["identifier"], 6);

  const std::string p1 =
      "00027e313685c1912a141279f8248fc8db5899c5df5af6004a4c69624e61434c504b3aa4e09292b651c278b9772c"
      "569f5fa9bb13d906b46ab68c9df9dc2b4409f8a2098a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf"
      "3748801b40f6f5c0000000000000001020202021b58c0a8010a1f9a010101011f9a010001b63b2a3146fad48ff8"
      "d6b0b4d83f813d8707f826a69fd30531dd4bd5e55cc7fce464ce1993f3c67c1c3c0e056b1ebe057885ae3fc77d7"
      "4b37dc914c173e72106";
  Output valid = Ringv8("decode " + p1);
  ASSERT_EQ(valid.exit_code, 0);
  j = nlohmann::json::parse(valid.stdout_text);
  EXPECT_EQ(j["signature_valid"], true);
  EXPECT_EQ(j["mid"], "5b16b30807cdcb11f8214a5eb762c0dc1931c503");
  EXPECT_EQ(j["payload"]["destination_address"], "2.2.2.2:7000");

  std::string flipped = p1;
  flipped.back() = flipped.back() == '6' ? '7' : '6';
  Output bad = Ringv8("decode " + flipped);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(bad.stdout_text)["signature_valid"], false);

  EXPECT_EQ(Ringv8("decode 0002").exit_code, 1);
  EXPECT_EQ(Ringv8("decode not-hex").exit_code, 2);
}

}  // namespace
}  // namespace ringv8::tools

namespace ringv8::tools {
namespace {

TEST(CliBench, EndpointBenchReportsEveryBackendAsJson) {
  Output out = Ringv8("bench endpoint --seconds 0.05 --rounds 1 --payload 64 --pings 200 --json");
  ASSERT_EQ(out.exit_code, 0);
  auto all = nlohmann::json::parse(out.stdout_text);
  ASSERT_EQ(all["receive"].size(), 1u);
  const auto& j = all["receive"][0];
  for (const char* key : {"baseline_pps", "mmsg_pps", "uring_pps", "mmsg_ratio", "uring_ratio",
                          "drops", "payload_size", "paced"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["payload_size"], 64);
  EXPECT_GT(j["baseline_pps"].get<double>(), 0);
  EXPECT_GT(j["mmsg_pps"].get<double>(), 0);
  for (const char* server : {"baseline", "mmsg", "uring"}) {
    const auto& latency = all["latency"][server];
    // Every ping is answered or counted lost (UDP, even on loopback: nearly all are answered).
    EXPECT_EQ(latency["pings"].get<int>() + latency["lost"].get<int>(), 200) << server;
    EXPECT_GE(latency["pings"].get<int>(), 190) << server;
    EXPECT_GT(latency["p50_us"].get<double>(), 0) << server;
  }
}

TEST(CliBench, ForwardBenchReportsEveryModeAsJson) {
  Output out = Ringv8("bench forward --seconds 0.1 --rate 20000 --json");
  ASSERT_EQ(out.exit_code, 0) << out.stdout_text;
  auto j = nlohmann::json::parse(out.stdout_text);
  ASSERT_EQ(j["runs"].size(), 10u);  // 5 forwarders x 2 generators.
  for (const auto& run : j["runs"]) {
    EXPECT_GT(run["forwarded"].get<uint64_t>(), 0u) << run.dump();
    EXPECT_GT(run["forwarder_cpu_seconds"].get<double>(), 0) << run.dump();
  }
  EXPECT_EQ(Ringv8("bench forward --payload 2000").exit_code, 2);
}

TEST(CliBench, SinkCountsAndReportsJson) {
  Output out = Ringv8("bench sink --port 0 --duration 0.1 --backend mmsg --json");
  ASSERT_EQ(out.exit_code, 0);
  auto j = nlohmann::json::parse(out.stdout_text);
  EXPECT_EQ(j["backend"], "mmsg");
  EXPECT_EQ(j["received"], 0);
  EXPECT_TRUE(j.contains("kernel_drops"));
  EXPECT_EQ(Ringv8("bench sink --duration 1").exit_code, 2);  // --port is required.
  EXPECT_EQ(Ringv8("bench echo --port 0 --backend nope").exit_code, 2);
}

}  // namespace
}  // namespace ringv8::tools
