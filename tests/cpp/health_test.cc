// The daemon answers the standard gRPC health check, for the daemon ("") and
// for its Runtime service.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "daemon_fixture.h"
#include "health.grpc.pb.h"

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
