// The TLS flags of the daemon's command-line clients (tensord-health,
// tensordctl), one set of names and one meaning for both: --tls, --tls-ca,
// --tls-cert, --tls-key, --tls-server-name, --tls-no-verify. Included only
// by those two programs (it brings in grpcpp and CLI11).
#ifndef TENSORD_SERVER_CLI_TLS_H_
#define TENSORD_SERVER_CLI_TLS_H_

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

namespace tensord::cli {

struct TlsFlags {
  bool enabled = false;
  bool no_verify = false;
  std::string ca, cert, key, server_name;
};

// Adds the --tls* options to `app`, writing into `*tls`.
void AddTlsOptions(CLI::App& app, TlsFlags* tls);
// Fills flags left empty from TENSORD_TLS_CA, TENSORD_TLS_CERT,
// TENSORD_TLS_KEY, TENSORD_TLS_SERVER_NAME and TENSORD_TLS=1, as the
// Python and C++ clients do.
void ApplyTlsEnvironment(TlsFlags* tls);
// Checks the combination and turns TLS on when any TLS option is given.
// Returns an error message, or "".
std::string FinishTlsFlags(TlsFlags* tls);
// Channel credentials for `tls`; null with *error set when a PEM file
// cannot be read (the message names the flag and the path).
std::shared_ptr<grpc::ChannelCredentials> MakeCredentials(const TlsFlags& tls, std::string* error);
// A channel to `address` (HOST:PORT or unix:PATH) with `credentials`.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, const TlsFlags& tls,
                                           std::shared_ptr<grpc::ChannelCredentials> credentials);

}  // namespace tensord::cli

#endif  // TENSORD_SERVER_CLI_TLS_H_
