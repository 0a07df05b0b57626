// tensord-health: asks a daemon's standard gRPC health service whether it is
// serving, for container probes (Docker HEALTHCHECK, Kubernetes exec probes).
// Kubernetes' built-in grpc probe speaks plaintext only; a daemon that serves
// TLS needs this. Exit codes follow grpc_health_probe's, so tooling written
// for it reads ours: 0 SERVING, 1 bad arguments, 2 cannot connect (or no
// answer in time), 3 the call failed, 4 answered but not SERVING.
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"

namespace {

enum ExitCode { kServing = 0, kBadArguments = 1, kConnectFailed = 2, kCallFailed = 3, kNotServing = 4 };

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buf;
  buf << in.rdbuf();
  *out = buf.str();
  return true;
}

struct TlsFlags {
  bool enabled = false;
  bool no_verify = false;
  std::string ca, cert, key, server_name;
};

// Returns null (and prints why) when a PEM file cannot be read.
std::shared_ptr<grpc::ChannelCredentials> MakeCredentials(const TlsFlags& tls) {
  if (!tls.enabled) return grpc::InsecureChannelCredentials();
  std::string cert, key;
  if ((!tls.cert.empty() && !ReadFile(tls.cert, &cert)) || (!tls.key.empty() && !ReadFile(tls.key, &key))) {
    std::fprintf(stderr, "tensord-health: cannot read --tls-cert %s or --tls-key %s\n", tls.cert.c_str(),
                 tls.key.c_str());
    return nullptr;
  }
  if (tls.no_verify) {
    // Encrypted, server certificate unchecked: for a probe of the daemon in
    // its own pod or container over loopback, where the peer is known.
    grpc::experimental::TlsChannelCredentialsOptions options;
    options.set_verify_server_certs(false);
    options.set_check_call_host(false);
    options.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
    if (!cert.empty()) {
      options.set_certificate_provider(std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
          std::vector<grpc::experimental::IdentityKeyCertPair>{{key, cert}}));
      options.watch_identity_key_cert_pairs();
    }
    return grpc::experimental::TlsCredentials(options);
  }
  grpc::SslCredentialsOptions ssl;
  if (!tls.ca.empty() && !ReadFile(tls.ca, &ssl.pem_root_certs)) {
    std::fprintf(stderr, "tensord-health: cannot read --tls-ca %s\n", tls.ca.c_str());
    return nullptr;
  }
  ssl.pem_cert_chain = cert;
  ssl.pem_private_key = key;
  return grpc::SslCredentials(ssl);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tensord-health: exit 0 if a tensord daemon's grpc.health.v1 service answers SERVING"};
  std::string address = "127.0.0.1:7070";
  std::string service;
  double timeout_seconds = 5;
  TlsFlags tls;
  app.add_option("--address", address, "HOST:PORT or unix:PATH of the daemon (default 127.0.0.1:7070)");
  app.add_option("--service", service, "service name to ask about (default \"\": the daemon)");
  app.add_option("--timeout", timeout_seconds, "seconds to wait for the answer (default 5)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--tls", tls.enabled, "connect with TLS (implied by the other --tls-* options)");
  app.add_option("--tls-ca", tls.ca, "PEM CA bundle that the daemon's certificate must chain to");
  app.add_flag("--tls-no-verify", tls.no_verify,
               "TLS without checking the daemon's certificate (probes over loopback only)");
  app.add_option("--tls-server-name", tls.server_name,
                 "name the daemon's certificate must carry, when it is not the address's host");
  app.add_option("--tls-cert", tls.cert, "PEM client certificate, for a daemon that requires one");
  app.add_option("--tls-key", tls.key, "PEM private key of --tls-cert");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kServing : kBadArguments;
  }
  if (tls.cert.empty() != tls.key.empty()) {
    std::fprintf(stderr, "tensord-health: --tls-cert and --tls-key go together\n");
    return kBadArguments;
  }
  if (tls.no_verify && (!tls.ca.empty() || !tls.server_name.empty())) {
    std::fprintf(stderr, "tensord-health: --tls-no-verify checks nothing, so --tls-ca and "
                         "--tls-server-name make no sense with it\n");
    return kBadArguments;
  }
  tls.enabled = tls.enabled || tls.no_verify || !tls.ca.empty() || !tls.cert.empty() || !tls.server_name.empty();

  std::shared_ptr<grpc::ChannelCredentials> credentials = MakeCredentials(tls);
  if (!credentials) return kBadArguments;
  grpc::ChannelArguments channel_args;
  if (!tls.server_name.empty()) channel_args.SetSslTargetNameOverride(tls.server_name);
  auto stub = grpc::health::v1::Health::NewStub(grpc::CreateCustomChannel(address, credentials, channel_args));

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
