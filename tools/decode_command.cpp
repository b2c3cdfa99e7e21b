// ringv8 decode: split, verify and decode one IPv8 datagram given in hex, for debugging interop.
// Knows the base Community and DiscoveryCommunity messages; other messages are shown as raw
// payload bytes under the signed layout (or unsigned with --unsigned).
#include <cctype>
#include <iostream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "tools/command.h"
#include "wire/hex.h"
#include "wire/keys.h"
#include "wire/packet.h"
#include "wire/payloads.h"

namespace ringv8::tools {

namespace {

using nlohmann::json;
using namespace ringv8::wire;

constexpr std::string_view kDiscoveryIdHex = "7e313685c1912a141279f8248fc8db5899c5df5a";

struct DecodeOptions {
  std::string hex;
  bool force_unsigned = false;
};

std::string Str(const Address& a) { return a.ToString(); }

// A concatenation of 20-byte ids (preference lists) as a list of hex strings.
json Ids(wire::Bytes bytes) {
  json ids = json::array();
  for (size_t at = 0; at + 20 <= bytes.size(); at += 20)
    ids.push_back(wire::ToHex(bytes.subspan(at, 20)));
  return ids;
}

json ToJson(const wire::IntroductionRequestPayload& p) {
  return {{"destination_address", Str(p.destination_address)},
          {"source_lan_address", Str(p.source_lan_address)},
          {"source_wan_address", Str(p.source_wan_address)},
          {"supports_new_style", p.supports_new_style},
          {"advice_bit", p.advice},
          {"identifier", p.identifier},
          {"extra_bytes", wire::ToHex(p.extra_bytes)}};
}
json ToJson(const wire::NewIntroductionRequestPayload& p) {
  return {{"destination_address", Str(p.destination_address)},
          {"source_lan_address", Str(p.source_lan_address)},
          {"source_wan_address", Str(p.source_wan_address)},
          {"identifier", p.identifier},
          {"extra_bytes", wire::ToHex(p.extra_bytes)}};
}
json ToJson(const wire::IntroductionResponsePayload& p) {
  return {{"destination_address", Str(p.destination_address)},
          {"source_lan_address", Str(p.source_lan_address)},
          {"source_wan_address", Str(p.source_wan_address)},
          {"lan_introduction_address", Str(p.lan_introduction_address)},
          {"wan_introduction_address", Str(p.wan_introduction_address)},
          {"supports_new_style", p.supports_new_style},
          {"intro_supports_new_style", p.intro_supports_new_style},
          {"peer_limit_reached", p.peer_limit_reached},
          {"identifier", p.identifier},
          {"extra_bytes", wire::ToHex(p.extra_bytes)}};
}
json ToJson(const wire::NewIntroductionResponsePayload& p) {
  return {{"destination_address", Str(p.destination_address)},
          {"source_lan_address", Str(p.source_lan_address)},
          {"source_wan_address", Str(p.source_wan_address)},
          {"lan_introduction_address", Str(p.lan_introduction_address)},
          {"wan_introduction_address", Str(p.wan_introduction_address)},
          {"intro_supports_new_style", p.intro_supports_new_style},
          {"identifier", p.identifier},
          {"extra_bytes", wire::ToHex(p.extra_bytes)}};
}
// Old- and new-style puncture-requests and punctures differ only in their address encoding.
template <typename P>
json PunctureRequestJson(const P& p) {
  return {{"lan_walker_address", Str(p.lan_walker_address)},
          {"wan_walker_address", Str(p.wan_walker_address)},
          {"identifier", p.identifier}};
}
json ToJson(const wire::PunctureRequestPayload& p) { return PunctureRequestJson(p); }
json ToJson(const wire::NewPunctureRequestPayload& p) { return PunctureRequestJson(p); }

template <typename P>
json PunctureJson(const P& p) {
  return {{"source_lan_address", Str(p.source_lan_address)},
          {"source_wan_address", Str(p.source_wan_address)},
          {"identifier", p.identifier}};
}
json ToJson(const wire::PuncturePayload& p) { return PunctureJson(p); }
json ToJson(const wire::NewPuncturePayload& p) { return PunctureJson(p); }
json ToJson(const wire::SimilarityRequestPayload& p) {
  return {{"identifier", p.identifier},
          {"lan_address", Str(p.lan_address)},
          {"wan_address", Str(p.wan_address)},
          {"preference_list", Ids(p.preference_list)}};
}
json ToJson(const wire::SimilarityResponsePayload& p) {
  return {{"identifier", p.identifier},
          {"preference_list", Ids(p.preference_list)},
          {"tb_overlap", wire::ToHex(p.tb_overlap)}};
}
json ToJson(const wire::PingPayload& p) { return {{"identifier", p.identifier}}; }
json ToJson(const wire::PongPayload& p) { return {{"identifier", p.identifier}}; }

// Decodes the payload as P into out["payload"]; returns false (with the reason) if it does not.
template <wire::Payload P>
bool DecodeInto(const wire::PacketView& view, const char* name, json* out) {
  (*out)["message"] = name;
  auto payload = wire::DecodePayload<P>(view.payload);
  if (!payload) {
    (*out)["error"] = "payload: " + payload.error().message();
    return false;
  }
  (*out)["payload"] = ToJson(*payload);
  return true;
}

// The layout of a message id in the base Community (and DiscoveryCommunity for ids 1-4).
wire::PacketLayout LayoutFor(uint8_t id, bool discovery) {
  bool unsigned_message = id == 250 || id == 232 || (discovery && (id == 3 || id == 4));
  return {.is_signed = !unsigned_message, .has_global_time = true};
}

bool DecodeKnownPayload(const wire::PacketView& view, bool discovery, json* out) {
  switch (view.message_id) {
    case 246:
      return DecodeInto<wire::IntroductionRequestPayload>(view, "introduction-request", out);
    case 245:
      return DecodeInto<wire::IntroductionResponsePayload>(view, "introduction-response", out);
    case 234:
      return DecodeInto<wire::NewIntroductionRequestPayload>(view, "introduction-request (new)",
                                                             out);
    case 233:
      return DecodeInto<wire::NewIntroductionResponsePayload>(view, "introduction-response (new)",
                                                              out);
    case 250:
      return DecodeInto<wire::PunctureRequestPayload>(view, "puncture-request", out);
    case 232:
      return DecodeInto<wire::NewPunctureRequestPayload>(view, "puncture-request (new)", out);
    case 249:
      return DecodeInto<wire::PuncturePayload>(view, "puncture", out);
    case 231:
      return DecodeInto<wire::NewPuncturePayload>(view, "puncture (new)", out);
  }
  if (discovery) {
    switch (view.message_id) {
      case 1:
        return DecodeInto<wire::SimilarityRequestPayload>(view, "similarity-request", out);
      case 2:
        return DecodeInto<wire::SimilarityResponsePayload>(view, "similarity-response", out);
      case 3:
        return DecodeInto<wire::PingPayload>(view, "ping", out);
      case 4:
        return DecodeInto<wire::PongPayload>(view, "pong", out);
    }
  }
  (*out)["message"] = "unknown";
  (*out)["payload_hex"] = wire::ToHex(view.payload);
  return true;
}

int Run(const DecodeOptions& options) {
  std::string text = options.hex;
  if (text.empty() || text == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::erase_if(text, [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
  auto datagram = wire::FromHex(text);
  if (!datagram) {
    spdlog::error("input is not hex ({} characters)", text.size());
    return kExitUsage;
  }
  json out = {{"length", datagram->size()}};
  auto id = wire::PeekMessageId(*datagram);
  if (!id) {
    out["error"] = "too_short";
    std::cout << out.dump(2) << "\n";
    return kExitRuntime;
  }
  const std::string community = wire::ToHex(wire::Bytes(*datagram).subspan(2, 20));
  const bool discovery = community == kDiscoveryIdHex;
  out["community_id"] = community;
  if (discovery) out["community"] = "DiscoveryCommunity";
  out["message_id"] = *id;

  wire::PacketLayout layout = LayoutFor(*id, discovery);
  if (options.force_unsigned && layout.is_signed && (*id >= 231 || (discovery && *id <= 2))) {
    spdlog::error(
        "message {} is always signed in py-ipv8; --unsigned is for a community's own "
        "unsigned messages",
        *id);
    return kExitUsage;
  }
  if (options.force_unsigned) layout.is_signed = false;
  auto view = wire::ParsePacket(*datagram, layout);
  if (!view) {
    out["error"] = view.error().message();
    std::cout << out.dump(2) << "\n";
    return kExitRuntime;
  }
  out["signed"] = view->is_signed();
  if (view->global_time) out["global_time"] = *view->global_time;
  bool ok = true;
  if (view->is_signed()) {
    auto key = wire::PublicKey::FromBin(view->public_key_bin);
    out["public_key"] = wire::ToHex(view->public_key_bin);
    if (key) {
      out["key_type"] = key->type() == wire::PublicKey::Type::kLibNaCl ? "curve25519" : "ec";
      out["mid"] = wire::ToHex(key->mid());
    }
    std::error_code verify = VerifySignature(*view);
    out["signature_valid"] = !verify;
    ok = !verify;
  }
  ok = DecodeKnownPayload(*view, discovery, &out) && ok;
  std::cout << out.dump(2) << "\n";
  return ok ? kExitOk : kExitRuntime;
}

}  // namespace

void AddDecodeCommand(CLI::App& app, RunFunction* run) {
  static DecodeOptions options;
  auto* cmd = app.add_subcommand(
      "decode",
      "Decode one IPv8 datagram given in hex (or on stdin): prefix, message, key, signature "
      "check and payload fields, as JSON. Exit 0 if it is valid, 1 if not");
  cmd->add_option("hex", options.hex, "The datagram in hex; '-' or nothing reads stdin");
  cmd->add_flag("--unsigned", options.force_unsigned,
                "Parse with the unsigned layout (for a community's own unsigned messages)");
  cmd->callback([run] { *run = [] { return Run(options); }; });
}

}  // namespace ringv8::tools
