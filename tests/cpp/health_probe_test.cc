// tensord-health (the container probe) against a real daemon, and against
// real gRPC servers with TLS and with a NOT_SERVING status, which the daemon
// on its own cannot show here. Exit codes are grpc_health_probe's.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "daemon_fixture.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace tensord::testing {
namespace {

struct ProbeResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

ProbeResult Probe(const std::string& args) {
  ProbeResult result;
  const std::string command = std::string(TENSORD_HEALTH_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) result.output.append(buf, n);
  const int status = pclose(pipe);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

TEST(HealthProbe, ServingDaemonExitsZero) {
  Daemon d;
  ProbeResult r = Probe("--address " + d.address());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "SERVING\n");
}

TEST(HealthProbe, UnknownServiceIsACallFailure) {
  Daemon d;
  ProbeResult r = Probe("--address " + d.address() + " --service no.such.Service");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("health check failed"), std::string::npos) << r.output;
}

TEST(HealthProbe, NothingListeningExitsTwo) {
  ProbeResult r = Probe("--timeout 2 --address unix:/nonexistent/tensord-health-test.sock");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("unreachable"), std::string::npos) << r.output;
}

TEST(HealthProbe, BadArgumentsExitOne) {
  EXPECT_EQ(Probe("--no-such-flag").exit_code, 1);
  EXPECT_EQ(Probe("--tls-cert /etc/hostname").exit_code, 1);  // without --tls-key
  EXPECT_EQ(Probe("--tls-no-verify --tls-ca /etc/hostname").exit_code, 1);
  ProbeResult r = Probe("--tls-ca /nonexistent/ca.pem");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("cannot read --tls-ca"), std::string::npos) << r.output;
}

// A real gRPC server whose grpc.health.v1 service answers a status the test
// sets (the built-in one needs another sync service beside it).
class HealthServer : public grpc::health::v1::Health::Service {
 public:
  explicit HealthServer(std::shared_ptr<grpc::ServerCredentials> credentials) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", credentials, &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~HealthServer() override { server_->Shutdown(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void SetServing(bool serving) { serving_ = serving; }

  grpc::Status Check(grpc::ServerContext*, const grpc::health::v1::HealthCheckRequest*,
                     grpc::health::v1::HealthCheckResponse* response) override {
    response->set_status(serving_ ? grpc::health::v1::HealthCheckResponse::SERVING
                                  : grpc::health::v1::HealthCheckResponse::NOT_SERVING);
    return grpc::Status::OK;
  }

 private:
  std::atomic<bool> serving_{true};
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST(HealthProbe, NotServingExitsFour) {
  HealthServer server(grpc::InsecureServerCredentials());
  EXPECT_EQ(Probe("--address " + server.address()).exit_code, 0);
  server.SetServing(false);
  ProbeResult r = Probe("--address " + server.address());
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("NOT_SERVING"), std::string::npos) << r.output;
}

std::string ReadAll(const std::string& path) {
  std::string out;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    char buf[4096];
    while (size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
    std::fclose(f);
  }
  return out;
}

class HealthProbeTls : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v openssl >/dev/null 2>&1") != 0) GTEST_SKIP() << "openssl CLI not installed";
    char tmpl[] = "/tmp/tensord-health-tls-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // Two self-signed certificates for "localhost": the server's, and an
    // unrelated one to stand for the wrong CA.
    for (const char* name : {"server", "other"}) {
      const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                              "-addext subjectAltName=DNS:localhost -keyout " + dir_ + "/" + name +
                              ".key -out " + dir_ + "/" + name + ".crt >/dev/null 2>&1";
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
    grpc::SslServerCredentialsOptions options;
    options.pem_key_cert_pairs.push_back({ReadAll(dir_ + "/server.key"), ReadAll(dir_ + "/server.crt")});
    server_ = std::make_unique<HealthServer>(grpc::SslServerCredentials(options));
  }
  void TearDown() override {
    server_.reset();
    if (!dir_.empty()) std::system(("rm -rf " + dir_).c_str());
  }
  std::string dir_;
  std::unique_ptr<HealthServer> server_;
};

TEST_F(HealthProbeTls, VerifiedAgainstTheServersCaExitsZero) {
  ProbeResult r = Probe("--address " + server_->address() + " --tls-ca " + dir_ +
                        "/server.crt --tls-server-name localhost");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(HealthProbeTls, NoVerifyExitsZero) {
  ProbeResult r = Probe("--address " + server_->address() + " --tls-no-verify");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(HealthProbeTls, WrongCaOrPlaintextCannotConnect) {
  EXPECT_EQ(Probe("--timeout 3 --address " + server_->address() + " --tls-ca " + dir_ +
                  "/other.crt --tls-server-name localhost").exit_code, 2);
  // Kubernetes' own grpc probe is this case: plaintext to a TLS port.
  EXPECT_EQ(Probe("--timeout 3 --address " + server_->address()).exit_code, 2);
}

}  // namespace
}  // namespace tensord::testing
