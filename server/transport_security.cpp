#include "server/transport_security.h"

#include <arpa/inet.h>
#include <grpcpp/security/server_credentials.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>

namespace tensord {
namespace {

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// The host of HOST:PORT, [V6]:PORT or a bare host.
std::string HostOf(std::string address) {
  for (const char* scheme : {"dns:///", "dns:", "ipv4:", "ipv6:"}) {
    if (StartsWith(address, scheme)) {
      address = address.substr(std::char_traits<char>::length(scheme));
      break;
    }
  }
  if (StartsWith(address, "[")) {
    const size_t end = address.find(']');
    return end == std::string::npos ? address : address.substr(1, end - 1);
  }
  const size_t colon = address.rfind(':');
  // More than one colon without brackets: a bare IPv6 address.
  if (colon != std::string::npos && address.find(':') == colon) return address.substr(0, colon);
  return address;
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return static_cast<bool>(f) || f.eof();
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr MemoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Reads `path` into `out`; "" or a message naming the key and the file.
std::string ReadPem(const char* key, const std::string& path, std::string* out) {
  if (!ReadFile(path, out)) return "tls." + std::string(key) + ": cannot read " + path;
  if (out->find("-----BEGIN ") == std::string::npos) {
    return "tls." + std::string(key) + ": " + path + " is not a PEM file";
  }
  return "";
}

}  // namespace

bool IsLoopbackAddress(const std::string& address) {
  if (StartsWith(address, "unix:") || StartsWith(address, "unix-abstract:")) return true;
  const std::string host = HostOf(address);
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;  // 0.0.0.0, "", [::] and host names may all reach other machines
}

std::string CheckListenSecurity(const Config& config) {
  if (config.insecure) return "";
  for (const auto& address : config.listen) {
    if (IsLoopbackAddress(address)) continue;
    if (config.tenants_file.empty()) {
      return "refusing to listen on " + address +
             " without authentication: anyone who can reach it could run code on this "
             "machine's devices and read every session's tensors. Configure a tenants file "
             "(--tenants or tenants_file:) and TLS (tls:), listen on loopback or a unix: "
             "socket, or pass --insecure on a network you trust (docs/security.md)";
    }
    if (config.tls.cert.empty()) {
      return "refusing to listen on " + address +
             " in plaintext with tokens: every client's token would cross the network in "
             "clear. Configure tls.cert and tls.key, or pass --insecure on a network you "
             "trust (docs/security.md)";
    }
  }
  return "";
}

std::string MakeServerCredentials(const TlsConfig& tls,
                                  std::shared_ptr<grpc::ServerCredentials>* out) {
  if (tls.cert.empty()) {
    if (!tls.key.empty() || !tls.client_ca.empty() || tls.require_client_cert) {
      return "tls: key, client_ca and require_client_cert need tls.cert as well";
    }
    *out = grpc::InsecureServerCredentials();
    return "";
  }
  if (tls.key.empty()) return "tls.key: missing (the private key of tls.cert)";
  if (tls.require_client_cert && tls.client_ca.empty()) {
    return "tls.require_client_cert needs tls.client_ca (the CA client certificates chain to)";
  }
  std::string cert, key, client_ca;
  if (std::string err = ReadPem("cert", tls.cert, &cert); !err.empty()) return err;
  if (std::string err = ReadPem("key", tls.key, &key); !err.empty()) return err;
  if (!tls.client_ca.empty()) {
    if (std::string err = ReadPem("client_ca", tls.client_ca, &client_ca); !err.empty()) {
      return err;
    }
  }
  // Check what gRPC would otherwise reject with a bare "cannot listen".
  X509* x509 = PEM_read_bio_X509(MemoryBio(cert).get(), nullptr, nullptr, nullptr);
  if (!x509) return "tls.cert: " + tls.cert + " holds no PEM certificate";
  // A passphrase callback that gives none: OpenSSL's default would prompt on
  // the terminal, and an encrypted key is not supported.
  pem_password_cb* no_passphrase = [](char*, int, int, void*) { return 0; };
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(MemoryBio(key).get(), nullptr, no_passphrase, nullptr);
  const bool matches = pkey && X509_check_private_key(x509, pkey) == 1;
  X509_free(x509);
  EVP_PKEY_free(pkey);
  if (!pkey) return "tls.key: " + tls.key + " holds no (unencrypted) PEM private key";
  if (!matches) return "tls.key: " + tls.key + " is not the private key of " + tls.cert;

  grpc::SslServerCredentialsOptions options(
      tls.require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
      : client_ca.empty()     ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                              : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = client_ca;
  options.pem_key_cert_pairs.push_back({key, cert});
  *out = grpc::SslServerCredentials(options);
  return "";
}

}  // namespace tensord
