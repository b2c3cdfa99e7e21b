// Running the real ringv8 binary from tests: a blocking run, or a started process whose output is
// collected later (for tests where two processes talk to each other), and reading its --json.
#ifndef RINGV8_TESTS_TOOLS_RINGV8_BINARY_H_
#define RINGV8_TESTS_TOOLS_RINGV8_BINARY_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

namespace ringv8::tools {

struct Output {
  int exit_code = -1;
  std::string stdout_text;
};

// `ringv8 <args>` through the shell, started at once; Wait() collects stdout and the exit code.
// stderr is discarded unless `with_stderr`, which merges it into the output.
class Ringv8Process {
 public:
  // `environment`: "NAME=value ..." set for this process only (or a shell command ending in ';'
  // run before it, such as a ulimit).
  explicit Ringv8Process(const std::string& args, bool with_stderr = false,
                         const std::string& environment = "") {
    const std::string command = (environment.empty() ? "" : environment + " ") +
                                std::string(RINGV8_BINARY) + " " + args +
                                (with_stderr ? " 2>&1" : " 2>/dev/null");
    pipe_ = popen(command.c_str(), "r");
  }
  ~Ringv8Process() { Wait(); }
  Ringv8Process(const Ringv8Process&) = delete;
  Ringv8Process& operator=(const Ringv8Process&) = delete;

  Output Wait() {
    if (pipe_ == nullptr) return out_;
    std::array<char, 4096> buffer;
    size_t n;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe_)) > 0) {
      out_.stdout_text.append(buffer.data(), n);
    }
    int status = pclose(pipe_);
    pipe_ = nullptr;
    out_.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out_;
  }

 private:
  FILE* pipe_ = nullptr;
  Output out_;
};

// A port on 127.0.0.1 that was free a moment ago (SOCK_DGRAM: UDP, SOCK_STREAM: TCP).
inline int FreePort(int type = SOCK_DGRAM) {
  int fd = socket(AF_INET, type, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// The TunnelCommunity overlay's object in a node's `--json` status, or null.
inline const nlohmann::json* TunnelOverlay(const nlohmann::json& status) {
  for (const nlohmann::json& overlay : status.at("overlays")) {
    if (overlay.at("class") == "TunnelCommunity") return &overlay;
  }
  return nullptr;
}

inline Output Ringv8(const std::string& args, bool with_stderr = false,
                     const std::string& environment = "") {
  return Ringv8Process(args, with_stderr, environment).Wait();
}

}  // namespace ringv8::tools

#endif  // RINGV8_TESTS_TOOLS_RINGV8_BINARY_H_
