// The daemon answers the standard gRPC health check, for the daemon (""),
// its Runtime service, and the probes "liveness" and "readiness".
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "daemon_fixture.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tensord/tensor.h"

namespace tensord::testing {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

HealthCheckResponse::ServingStatus Check(const std::string& address, const std::string& service,
                                         grpc::StatusCode* code) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  HealthCheckRequest req;
  req.set_service(service);
  HealthCheckResponse resp;
  *code = stub->Check(&ctx, req, &resp).error_code();
  return resp.status();
}

TEST(Health, DaemonAndRuntimeServiceAreServing) {
  Daemon d;
  grpc::StatusCode code;
  EXPECT_EQ(Check(d.address(), "", &code), HealthCheckResponse::SERVING);
  EXPECT_EQ(code, grpc::StatusCode::OK);
  EXPECT_EQ(Check(d.address(), "tensord.v1.Runtime", &code), HealthCheckResponse::SERVING);
  EXPECT_EQ(code, grpc::StatusCode::OK);
  Check(d.address(), "no.such.Service", &code);
  EXPECT_EQ(code, grpc::StatusCode::NOT_FOUND);
}

TEST(Health, LivenessAndReadinessAreServingOnceReady) {
  Daemon d;
  grpc::StatusCode code;
  EXPECT_EQ(Check(d.address(), "liveness", &code), HealthCheckResponse::SERVING);
  EXPECT_EQ(code, grpc::StatusCode::OK);
  EXPECT_EQ(Check(d.address(), "readiness", &code), HealthCheckResponse::SERVING);
  EXPECT_EQ(code, grpc::StatusCode::OK);
}

// While a drain finishes queued work, a Kubernetes readiness probe must fail
// (no new clients) and the liveness probe must pass (no restart mid-drain).
TEST(Health, DrainingDaemonIsLiveButNotReady) {
  // The queued work outlasts the drain timeout, so the drain is surely still
  // running when the probes ask; the daemon then stops after 5 s.
  Daemon d("drain_timeout_seconds: 5\n");
  grpc::StatusCode code;
  ASSERT_EQ(Check(d.address(), "readiness", &code), HealthCheckResponse::SERVING);
  auto session = Session::Connect(d.address());
  auto a = session.Zeros({2048, 2048});
  auto x = a;
  for (int i = 0; i < 100; ++i) x = x.matmul(a);  // ~0.1 s each at best
  session.core()->Flush();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the first kernels run
  d.Signal(SIGTERM);

  HealthCheckResponse::ServingStatus readiness = HealthCheckResponse::SERVING;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  while (readiness == HealthCheckResponse::SERVING && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    readiness = Check(d.address(), "readiness", &code);
  }
  EXPECT_EQ(readiness, HealthCheckResponse::NOT_SERVING) << d.log();
  EXPECT_EQ(Check(d.address(), "liveness", &code), HealthCheckResponse::SERVING) << d.log();
  EXPECT_EQ(code, grpc::StatusCode::OK);
  EXPECT_EQ(Check(d.address(), "", &code), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Check(d.address(), "tensord.v1.Runtime", &code), HealthCheckResponse::NOT_SERVING);
  EXPECT_TRUE(d.alive()) << "the drain should still be running:\n" << d.log();
  EXPECT_EQ(d.Terminate(), 0) << d.log();
  EXPECT_NE(d.log().find("draining 1 session(s)"), std::string::npos) << d.log();
}

// Probes carry no token: with a tenants file the Runtime service needs one,
// the health service does not.
TEST(Health, StaysOpenWithoutATokenWhenTenantsAreConfigured) {
  char tmpl[] = "/tmp/tensord-health-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  std::ofstream(dir + "/tenants.yaml")
      << "tenants:\n  t:\n    token_sha256: " << std::string(64, 'a') << "\n";
  {
    Daemon d("", {"--tenants", dir + "/tenants.yaml"});
    grpc::StatusCode code;
    EXPECT_EQ(Check(d.address(), "", &code), HealthCheckResponse::SERVING);
    EXPECT_EQ(code, grpc::StatusCode::OK);
    EXPECT_EQ(Check(d.address(), "tensord.v1.Runtime", &code), HealthCheckResponse::SERVING);
  }
  (void)std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace tensord::testing
