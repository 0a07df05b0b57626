// tensord-health: asks a daemon's standard gRPC health service whether it is
// serving, for container probes (Docker HEALTHCHECK, Kubernetes exec probes).
// Kubernetes' built-in grpc probe speaks plaintext only; a daemon that serves
// TLS needs this. Exit codes follow grpc_health_probe's, so tooling written
// for it reads ours: 0 SERVING, 1 bad arguments, 2 cannot connect (or no
// answer in time), 3 the call failed, 4 answered but not SERVING.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"
#include "server/cli_tls.h"

namespace {

enum ExitCode { kServing = 0, kBadArguments = 1, kConnectFailed = 2, kCallFailed = 3, kNotServing = 4 };

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tensord-health: exit 0 if a tensord daemon's grpc.health.v1 service answers SERVING"};
  std::string address = "127.0.0.1:7070";
  std::string service;
  double timeout_seconds = 5;
  tensord::cli::TlsFlags tls;
  app.add_option("--address", address, "HOST:PORT or unix:PATH of the daemon (default 127.0.0.1:7070)");
  app.add_option("--service", service, "service name to ask about (default \"\": the daemon)");
  app.add_option("--timeout", timeout_seconds, "seconds to wait for the answer (default 5)")
      ->check(CLI::PositiveNumber);
  tensord::cli::AddTlsOptions(app, &tls);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kServing : kBadArguments;
  }
  if (std::string err = tensord::cli::FinishTlsFlags(&tls); !err.empty()) {
    std::fprintf(stderr, "tensord-health: %s\n", err.c_str());
    return kBadArguments;
  }
  std::string err;
  std::shared_ptr<grpc::ChannelCredentials> credentials = tensord::cli::MakeCredentials(tls, &err);
  if (!credentials) {
    std::fprintf(stderr, "tensord-health: %s\n", err.c_str());
    return kBadArguments;
  }
  auto stub = grpc::health::v1::Health::NewStub(tensord::cli::MakeChannel(address, tls, credentials));

  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000)));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&ctx, request, &response);
  if (!status.ok()) {
    const bool unreachable = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                             status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
    std::fprintf(stderr, "tensord-health: %s %s: %s (gRPC code %d)\n", address.c_str(),
                 unreachable ? "unreachable" : "health check failed", status.error_message().c_str(),
                 static_cast<int>(status.error_code()));
    return unreachable ? kConnectFailed : kCallFailed;
  }
  const std::string name = grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
  if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    std::fprintf(stderr, "tensord-health: %s: %s\n", address.c_str(), name.c_str());
    return kNotServing;
  }
  std::printf("%s\n", name.c_str());
  return kServing;
}
