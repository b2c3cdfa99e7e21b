#include "tunnel/cell_steering.h"

#include <stdexcept>

#include "tunnel/payloads.h"

namespace ringv8::tunnel {
namespace {

uint32_t BigEndianAt(const wire::Prefix& prefix, size_t at, size_t size) {
  uint32_t value = 0;
  for (size_t i = 0; i < size; ++i) value = value << 8 | prefix[at + i];
  return value;
}

}  // namespace

std::vector<sock_filter> CellSteeringProgram(const wire::Prefix& prefix, uint32_t shards) {
  if (shards == 0 || shards > 65536) throw std::invalid_argument("shards must be 1 .. 65536");
  // Offsets are into the UDP payload; a load past its end ends the program with 0 (socket 0).
  // Loads of words and half-words read network order, as the prefix and the circuit id are sent.
  struct Compare {
    uint16_t load;  // BPF_W, BPF_H or BPF_B.
    uint32_t offset, value;
  };
  std::vector<Compare> compares;
  for (size_t at = 0; at + 4 <= prefix.size(); at += 4) {
    compares.push_back({BPF_W, static_cast<uint32_t>(at), BigEndianAt(prefix, at, 4)});
  }
  compares.push_back({BPF_H, 20, BigEndianAt(prefix, 20, 2)});               // Bytes 20..21.
  compares.push_back({BPF_B, static_cast<uint32_t>(wire::kPrefixSize), 0});  // Message id 0.
  std::vector<sock_filter> program;
  // Each compare is two instructions; a mismatch jumps to the last one, "return 0".
  const size_t control = compares.size() * 2 + 3;
  for (const Compare& c : compares) {
    program.push_back(BPF_STMT(BPF_LD | c.load | BPF_ABS, c.offset));
    const size_t next = program.size() + 1;
    program.push_back(
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, c.value, 0, static_cast<uint8_t>(control - next)));
  }
  program.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kCircuitIdOffset));
  program.push_back(BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, shards));
  program.push_back(BPF_STMT(BPF_RET | BPF_A, 0));
  program.push_back(BPF_STMT(BPF_RET | BPF_K, 0));
  return program;
}

}  // namespace ringv8::tunnel
