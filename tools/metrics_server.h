// MetricsServer: the `--metrics ADDR:PORT` HTTP endpoint of `ringv8 run` and `ringv8 tracker`
// (cpp-httplib, on its own thread): GET /metrics in Prometheus text format, and GET /services as
// JSON (the tracker's peers per community, like py-ipv8's tracker REST API).
// Thread-safe: the render functions are called on the server's threads; they must read only
// thread-safe state (published snapshots, atomic counters).
#ifndef RINGV8_TOOLS_METRICS_SERVER_H_
#define RINGV8_TOOLS_METRICS_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace ringv8::tools {

class MetricsServer {
 public:
  using Render = std::function<std::string()>;

  // Binds `address` ("127.0.0.1:9100"); throws std::runtime_error when it cannot. `services`
  // may be empty (no /services).
  MetricsServer(const std::string& address, Render metrics, Render services);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace ringv8::tools

#endif  // RINGV8_TOOLS_METRICS_SERVER_H_
