#include "tools/metrics_server.h"

#include <stdexcept>

#include <fmt/format.h>
#include <httplib.h>

#include "ring/address.h"

namespace ringv8::tools {

MetricsServer::MetricsServer(const std::string& address, Render metrics, Render services)
    : server_(std::make_unique<httplib::Server>()) {
  auto parsed = Address::Parse(address);
  if (!parsed) throw std::runtime_error("--metrics: '" + address + "' is not ip:port");
  server_->Get("/metrics", [metrics](const httplib::Request&, httplib::Response& response) {
    response.set_content(metrics(), "text/plain; version=0.0.4");
  });
  if (services) {
    server_->Get("/services", [services](const httplib::Request&, httplib::Response& response) {
      response.set_content(services(), "application/json");
    });
  }
  if (parsed->port() == 0) {
    port_ = server_->bind_to_any_port(parsed->IpString());
  } else {
    port_ = server_->bind_to_port(parsed->IpString(), parsed->port()) ? parsed->port() : -1;
  }
  if (port_ <= 0) throw std::runtime_error("--metrics: cannot listen on " + address);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

MetricsServer::~MetricsServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace ringv8::tools
