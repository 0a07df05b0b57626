// What the daemon listens with: the checks that keep a daemon from being
// exposed without authentication, and the TLS credentials from config.
#ifndef TENSORD_SERVER_TRANSPORT_SECURITY_H_
#define TENSORD_SERVER_TRANSPORT_SECURITY_H_

#include <memory>
#include <string>

#include "server/config.h"

namespace grpc {
class ServerCredentials;
}

namespace tensord {

// True for addresses only this host can reach: unix: sockets, localhost,
// 127.0.0.0/8 and ::1. Anything else (0.0.0.0, other hosts) counts as exposed.
bool IsLoopbackAddress(const std::string& address);

// Refuses, with the reason, a configuration that would expose the daemon:
// a non-loopback address without a tenants file, or with tokens but no TLS
// (tokens would cross the network in clear). `config.insecure` allows both.
// Returns "" when the configuration may start.
std::string CheckListenSecurity(const Config& config);

// Reads and checks the TLS files of `tls` (PEM, key matches certificate) and
// builds the server credentials; plaintext when tls.cert is empty. Returns
// an error message naming the file, or "".
std::string MakeServerCredentials(const TlsConfig& tls,
                                  std::shared_ptr<grpc::ServerCredentials>* out);

}  // namespace tensord

#endif  // TENSORD_SERVER_TRANSPORT_SECURITY_H_
