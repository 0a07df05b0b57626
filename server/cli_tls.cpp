#include "server/cli_tls.h"

#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace tensord::cli {
namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buf;
  buf << in.rdbuf();
  *out = buf.str();
  return true;
}

}  // namespace

void AddTlsOptions(CLI::App& app, TlsFlags* tls) {
  app.add_flag("--tls", tls->enabled, "connect with TLS (implied by the other --tls-* options)");
  app.add_option("--tls-ca", tls->ca, "PEM CA bundle that the daemon's certificate must chain to");
  app.add_flag("--tls-no-verify", tls->no_verify,
               "TLS without checking the daemon's certificate (probes over loopback only)");
  app.add_option("--tls-server-name", tls->server_name,
                 "name the daemon's certificate must carry, when it is not the address's host");
  app.add_option("--tls-cert", tls->cert, "PEM client certificate, for a daemon that requires one");
  app.add_option("--tls-key", tls->key, "PEM private key of --tls-cert");
}

void ApplyTlsEnvironment(TlsFlags* tls) {
  auto fill = [](std::string& field, const char* name) {
    const char* v = std::getenv(name);
    if (field.empty() && v && *v) field = v;
  };
  // A flag given on the command line wins over the environment.
  if (!tls->no_verify) fill(tls->ca, "TENSORD_TLS_CA");
  fill(tls->cert, "TENSORD_TLS_CERT");
  fill(tls->key, "TENSORD_TLS_KEY");
  if (!tls->no_verify) fill(tls->server_name, "TENSORD_TLS_SERVER_NAME");
  if (const char* v = std::getenv("TENSORD_TLS"); v && std::string(v) == "1") tls->enabled = true;
}

std::string FinishTlsFlags(TlsFlags* tls) {
  if (tls->cert.empty() != tls->key.empty()) return "--tls-cert and --tls-key go together";
  if (tls->no_verify && (!tls->ca.empty() || !tls->server_name.empty())) {
    return "--tls-no-verify checks nothing, so --tls-ca and --tls-server-name make no sense "
           "with it";
  }
  tls->enabled = tls->enabled || tls->no_verify || !tls->ca.empty() || !tls->cert.empty() ||
                 !tls->server_name.empty();
  return "";
}

std::shared_ptr<grpc::ChannelCredentials> MakeCredentials(const TlsFlags& tls, std::string* error) {
  if (!tls.enabled) return grpc::InsecureChannelCredentials();
  std::string cert, key;
  if ((!tls.cert.empty() && !ReadFile(tls.cert, &cert)) ||
      (!tls.key.empty() && !ReadFile(tls.key, &key))) {
    *error = "cannot read --tls-cert " + tls.cert + " or --tls-key " + tls.key;
    return nullptr;
  }
  if (tls.no_verify) {
    // Encrypted, server certificate unchecked: for a probe of the daemon in
    // its own pod or container over loopback, where the peer is known.
    grpc::experimental::TlsChannelCredentialsOptions options;
    options.set_verify_server_certs(false);
    options.set_check_call_host(false);
    options.set_certificate_verifier(
        std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
    if (!cert.empty()) {
      options.set_certificate_provider(
          std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
              std::vector<grpc::experimental::IdentityKeyCertPair>{{key, cert}}));
      options.watch_identity_key_cert_pairs();
    }
    return grpc::experimental::TlsCredentials(options);
  }
  grpc::SslCredentialsOptions ssl;
  if (!tls.ca.empty() && !ReadFile(tls.ca, &ssl.pem_root_certs)) {
    *error = "cannot read --tls-ca " + tls.ca;
    return nullptr;
  }
  ssl.pem_cert_chain = cert;
  ssl.pem_private_key = key;
  return grpc::SslCredentials(ssl);
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, const TlsFlags& tls,
                                           std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments args;
  if (!tls.server_name.empty()) args.SetSslTargetNameOverride(tls.server_name);
  return grpc::CreateCustomChannel(address, std::move(credentials), args);
}

}  // namespace tensord::cli
