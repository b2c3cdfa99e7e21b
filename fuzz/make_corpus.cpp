// make_corpus VECTORS_JSON OUT_DIR [TUNNEL_VECTORS_JSON]: seeds the fuzz corpora from py-ipv8's
// golden packets.
// OUT_DIR/packet, OUT_DIR/community and OUT_DIR/tracker get every packet as py-ipv8 made it and,
// for signed ones, the same packet carrying the fuzz-only signature (so mutations start past
// the signature check). The tracker corpus gets the introduction-requests and -responses only.
// OUT_DIR/tunnel gets every datagram of the recorded circuits (first byte 0: a raw datagram, as
// fuzz_tunnel reads it), every inner cell message (first byte 3: sealed by the harness) and the
// UDP payload of every DATA (first byte 2: sent to the exit socket from the Internet).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "wire/hex.h"
#include "wire/packet.h"

namespace {

void Write(const std::filesystem::path& file, const std::vector<uint8_t>& bytes) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::cerr << "usage: make_corpus VECTORS_JSON OUT_DIR [TUNNEL_VECTORS_JSON]\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "make_corpus: cannot read " << argv[1] << "\n";
    return 1;
  }
  const nlohmann::json vectors = nlohmann::json::parse(in);
  const std::filesystem::path out = argv[2];
  for (const char* target : {"packet", "community", "tracker"}) {
    std::filesystem::create_directories(out / target);
  }
  int written = 0;
  for (const auto& packet : vectors.at("packets")) {
    auto bytes = ringv8::wire::FromHex(packet.at("hex").get<std::string>());
    if (!bytes) continue;
    std::string name = packet.at("name").get<std::string>();
    std::replace(name.begin(), name.end(), '/', '-');
    std::vector<std::vector<uint8_t>> variants = {*bytes};
    if (packet.value("signed", false)) {
      const size_t signature = packet.at("signature").get<std::string>().size() / 2;
      auto fuzz_signed = *bytes;
      std::fill(fuzz_signed.end() - static_cast<ptrdiff_t>(signature), fuzz_signed.end(),
                ringv8::wire::kFuzzSignatureByte);
      variants.push_back(fuzz_signed);
    }
    const bool introduction = name.starts_with("introduction_");
    for (size_t v = 0; v < variants.size(); ++v) {
      const std::string file = name + (v == 0 ? "" : "-fuzzsig");
      Write(out / "packet" / file, variants[v]);
      Write(out / "community" / file, variants[v]);
      if (introduction) Write(out / "tracker" / file, variants[v]);
      ++written;
    }
  }
  if (argc == 4) {
    std::ifstream tunnel_in(argv[3]);
    if (tunnel_in) {
      std::filesystem::create_directories(out / "tunnel");
      const nlohmann::json tunnel = nlohmann::json::parse(tunnel_in);
      for (const auto& [name, transcript] : tunnel.at("transcripts").items()) {
        for (const auto& d : transcript.at("datagrams")) {
          const std::string index = std::to_string(d.at("index").get<int>());
          auto bytes = ringv8::wire::FromHex(d.at("hex").get<std::string>());
          if (bytes) {
            bytes->insert(bytes->begin(), 0);
            Write(out / "tunnel" / (name + "-" + index), *bytes);
            ++written;
          }
          if (!d.contains("inner")) continue;
          auto inner = ringv8::wire::FromHex(d.at("inner").at("hex").get<std::string>());
          if (inner) {
            inner->insert(inner->begin(), 3);
            Write(out / "tunnel" / (name + "-" + index + "-inner"), *inner);
            ++written;
          }
          // The UDP payload of DATA, as an Internet host's datagram to an exit socket.
          const auto& payload = d.at("inner").value("payload", nlohmann::json::object());
          if (!payload.contains("data")) continue;
          auto data = ringv8::wire::FromHex(payload.at("data").get<std::string>());
          if (data) {
            data->insert(data->begin(), 2);
            Write(out / "tunnel" / (name + "-" + index + "-reply"), *data);
            ++written;
          }
        }
      }
    }
  }
  std::cout << "make_corpus: " << written << " seeds in " << out << "\n";
  return 0;
}
