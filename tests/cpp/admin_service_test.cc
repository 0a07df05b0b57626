// The Admin service against a real daemon: status, the session list,
// killing a session, with memory accounting that returns to its baseline,
// and draining.
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <cstdio>
#include <fstream>

#include "daemon_fixture.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "raw_session.h"
#include "tensord/v1/admin.grpc.pb.h"

namespace tensord::testing {
namespace {

class AdminServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { admin_ = v1::Admin::NewStub(TestChannel(daemon_.address())); }

  v1::StatusResponse Status() {
    grpc::ClientContext ctx;
    v1::StatusResponse resp;
    grpc::Status st = admin_->Status(&ctx, v1::StatusRequest(), &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }
  v1::ListSessionsResponse List() {
    grpc::ClientContext ctx;
    v1::ListSessionsResponse resp;
    grpc::Status st = admin_->ListSessions(&ctx, v1::ListSessionsRequest(), &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }
  // Polls Status until tracked_bytes == want (freeing happens off the RPC).
  bool TrackedBytesBecome(uint64_t want) {
    for (int i = 0; i < 100; ++i) {
      if (Status().tracked_bytes() == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  Daemon daemon_;
  std::unique_ptr<v1::Admin::Stub> admin_;
};

TEST_F(AdminServiceTest, StatusDescribesTheDaemonAndCountsSessionsAndBytes) {
  v1::StatusResponse idle = Status();
  EXPECT_FALSE(idle.daemon_version().empty());
  EXPECT_GE(idle.uptime_seconds(), 0.0);
  ASSERT_GE(idle.devices_size(), 1);
  EXPECT_EQ(idle.devices(0).kind(), "cpu");
  ASSERT_EQ(idle.memory_size(), idle.devices_size());
  EXPECT_EQ(idle.memory(0).device(), "cpu");
  EXPECT_EQ(idle.session_count(), 0u);
  EXPECT_EQ(idle.tracked_bytes(), 0u);
  {
    RawSession s(daemon_.address());
    s.Op("zeros", {IntsV({1000}), DTypeV("float32"), NoneV()}, {1});
    ASSERT_FALSE(s.Fetch(1).has_error());
    v1::StatusResponse busy = Status();
    EXPECT_EQ(busy.session_count(), 1u);
    EXPECT_GE(busy.tracked_bytes(), 4000u);
    EXPECT_EQ(busy.memory(0).tracked_bytes(), busy.tracked_bytes());  // a CPU-only daemon
    EXPECT_GE(busy.uptime_seconds(), idle.uptime_seconds());
    s.Release(1);
    EXPECT_TRUE(TrackedBytesBecome(0));
  }
}

TEST_F(AdminServiceTest, ListSessionsShowsPrefixesNeverFullIds) {
  RawSession a(daemon_.address(), "client-a");
  a.Op("ones", {IntsV({256}), DTypeV("float64"), NoneV()}, {1});
  ASSERT_FALSE(a.Fetch(1).has_error());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  RawSession b(daemon_.address(), "client-b");
  auto list = List();
  ASSERT_EQ(list.sessions_size(), 2);
  const auto& first = list.sessions(0);  // oldest first
  EXPECT_EQ(first.id_prefix(), a.id().substr(0, 8));
  EXPECT_EQ(first.client_name(), "client-a");
  EXPECT_EQ(first.tenant(), "default");
  EXPECT_EQ(first.memory_bytes(), 2048u);
  EXPECT_EQ(first.live_tensors(), 1u);
  EXPECT_TRUE(first.attached());
  EXPECT_GT(first.age_seconds(), list.sessions(1).age_seconds());
  EXPECT_EQ(list.sessions(1).client_name(), "client-b");
  EXPECT_EQ(list.DebugString().find(a.id()), std::string::npos) << "a full session id leaked";
}

TEST_F(AdminServiceTest, KillSessionAbortsItsStreamAndFreesItsMemory) {
  RawSession victim(daemon_.address(), "victim");
  RawSession other(daemon_.address(), "other");
  victim.Op("ones", {IntsV({4096}), DTypeV("float32"), NoneV()}, {1});
  other.Op("ones", {IntsV({16}), DTypeV("float32"), NoneV()}, {1});
  ASSERT_FALSE(victim.Fetch(1).has_error());
  ASSERT_FALSE(other.Fetch(1).has_error());
  EXPECT_EQ(Status().tracked_bytes(), 4096u * 4 + 64);

  grpc::ClientContext ctx;
  v1::KillSessionRequest req;
  req.set_session_id(victim.id());
  v1::KillSessionResponse resp;
  ASSERT_TRUE(admin_->KillSession(&ctx, req, &resp).ok());
  grpc::Status end = victim.Finish();
  EXPECT_EQ(end.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_TRUE(TrackedBytesBecome(64));
  EXPECT_EQ(Status().session_count(), 1u);
  EXPECT_FALSE(other.Fetch(1).has_error());
}

TEST_F(AdminServiceTest, ListSessionsCountsOpsAndNamesThePeer) {
  RawSession s(daemon_.address(), "counted");
  s.Op("zeros", {IntsV({8}), DTypeV("float32"), NoneV()}, {1});
  s.Op("ones", {IntsV({8}), DTypeV("float32"), NoneV()}, {2});
  s.Op("neg", {TensorV(2)}, {3});
  ASSERT_FALSE(s.Fetch(3).has_error());
  auto list = List();
  ASSERT_EQ(list.sessions_size(), 1);
  EXPECT_EQ(list.sessions(0).ops_executed(), 3u);
  // The daemon listens on a Unix socket here.
  EXPECT_EQ(list.sessions(0).client_peer().rfind("unix:", 0), 0u) << list.sessions(0).client_peer();
  // The rate counts whole seconds: after one has passed the ops show up.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  list = List();
  EXPECT_GT(list.sessions(0).ops_per_second(), 0.0);
  EXPECT_LE(list.sessions(0).ops_per_second(), 3.0);
}

grpc::health::v1::HealthCheckResponse::ServingStatus Readiness(const std::string& address) {
  auto health = grpc::health::v1::Health::NewStub(TestChannel(address));
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckRequest req;
  req.set_service("readiness");
  grpc::health::v1::HealthCheckResponse resp;
  EXPECT_TRUE(health->Check(&ctx, req, &resp).ok());
  return resp.status();
}

TEST_F(AdminServiceTest, DrainRefusesNewSessionsWhileOpenOnesKeepWorking) {
  using grpc::health::v1::HealthCheckResponse;
  RawSession open(daemon_.address(), "already-open");
  open.Op("ones", {IntsV({4}), DTypeV("float32"), NoneV()}, {1});
  ASSERT_FALSE(open.Fetch(1).has_error());
  EXPECT_FALSE(Status().draining());
  ASSERT_EQ(Readiness(daemon_.address()), HealthCheckResponse::SERVING);

  auto drain = [&] {
    grpc::ClientContext ctx;
    v1::DrainResponse resp;
    grpc::Status st = admin_->Drain(&ctx, v1::DrainRequest(), &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  };
  v1::DrainResponse first = drain();
  EXPECT_EQ(first.open_sessions(), 1u);
  EXPECT_FALSE(first.already_draining());
  EXPECT_TRUE(Status().draining());
  EXPECT_EQ(Readiness(daemon_.address()), HealthCheckResponse::NOT_SERVING);

  RawSession refused(daemon_.address(), "too-late");
  EXPECT_EQ(refused.open_status().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(refused.open_status().error_message().find("daemon is draining"), std::string::npos)
      << refused.open_status().error_message();

  // The open session keeps running ops.
  open.Op("neg", {TensorV(1)}, {2});
  ASSERT_FALSE(open.Fetch(2).has_error());
  EXPECT_EQ(List().sessions_size(), 1);

  v1::DrainResponse again = drain();  // idempotent
  EXPECT_TRUE(again.already_draining());
  EXPECT_EQ(again.open_sessions(), 1u);
  EXPECT_TRUE(daemon_.alive());
  EXPECT_NE(daemon_.log().find("draining (Admin.Drain)"), std::string::npos) << daemon_.log();
}

TEST_F(AdminServiceTest, KillSessionRefusesUnknownShortAndAmbiguousIds) {
  RawSession s(daemon_.address());
  struct Case {
    std::string id;
    grpc::StatusCode code;
    const char* message;
  };
  for (const Case& c : {Case{"", grpc::StatusCode::INVALID_ARGUMENT, "too short"},
                        Case{s.id().substr(0, 7), grpc::StatusCode::INVALID_ARGUMENT, "too short"},
                        Case{"ffffffffffffffffffffffffffffffff", grpc::StatusCode::NOT_FOUND, "no session"},
                        Case{s.id() + "0", grpc::StatusCode::NOT_FOUND, "no session"}}) {
    grpc::ClientContext ctx;
    v1::KillSessionRequest req;
    req.set_session_id(c.id);
    v1::KillSessionResponse resp;
    grpc::Status st = admin_->KillSession(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), c.code) << c.id;
    EXPECT_NE(st.error_message().find(c.message), std::string::npos) << st.error_message();
  }
  EXPECT_EQ(Status().session_count(), 1u);
}

std::string Sha256Hex(const std::string& s) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  char hex[2 * SHA256_DIGEST_LENGTH + 1];
  for (int i = 0; i < SHA256_DIGEST_LENGTH; ++i) std::snprintf(hex + 2 * i, 3, "%02x", d[i]);
  return hex;
}

// With a tenants file only an admin tenant may call Admin; it sees (and may
// kill) every tenant's sessions.
TEST(AdminAuthorization, OnlyAnAdminTenantMayCallAdmin) {
  char tmpl[] = "/tmp/tensord-admin-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string tenants = dir + "/tenants.yaml";
  std::ofstream(tenants) << "tenants:\n  ops:\n    token_sha256: " << Sha256Hex("ops-token-0123456789")
                         << "\n    admin: true\n  alice:\n    token_sha256: "
                         << Sha256Hex("alice-token-0123456789") << "\n";
  {
    Daemon daemon("", {"--tenants", tenants});
    auto admin = v1::Admin::NewStub(TestChannel(daemon.address()));
    auto status = [&](const std::string& token) {
      grpc::ClientContext ctx;
      if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
      v1::StatusResponse resp;
      return admin->Status(&ctx, v1::StatusRequest(), &resp);
    };
    EXPECT_EQ(status("").error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(status("not-a-token-at-all-xx").error_code(), grpc::StatusCode::UNAUTHENTICATED);
    grpc::Status alice = status("alice-token-0123456789");
    EXPECT_EQ(alice.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_NE(alice.error_message().find("tenant 'alice' is not an admin"), std::string::npos)
        << alice.error_message();
    EXPECT_TRUE(status("ops-token-0123456789").ok());
    {
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", "Bearer alice-token-0123456789");
      v1::DrainResponse resp;
      EXPECT_EQ(admin->Drain(&ctx, v1::DrainRequest(), &resp).error_code(),
                grpc::StatusCode::PERMISSION_DENIED);
    }
    // Alice's session is listed, with her tenant, to the admin only.
    auto runtime = v1::Runtime::NewStub(TestChannel(daemon.address()));
    grpc::ClientContext open;
    open.AddMetadata("authorization", "Bearer alice-token-0123456789");
    v1::OpenSessionRequest req;
    req.set_client_name("alice-notebook");
    v1::OpenSessionResponse resp;
    ASSERT_TRUE(runtime->OpenSession(&open, req, &resp).ok());
    grpc::ClientContext list;
    list.AddMetadata("authorization", "Bearer ops-token-0123456789");
    v1::ListSessionsResponse sessions;
    ASSERT_TRUE(admin->ListSessions(&list, v1::ListSessionsRequest(), &sessions).ok());
    ASSERT_EQ(sessions.sessions_size(), 1);
    EXPECT_EQ(sessions.sessions(0).tenant(), "alice");
    EXPECT_EQ(sessions.sessions(0).client_name(), "alice-notebook");
    // Alice's refused Drain left the daemon taking sessions.
    grpc::ClientContext status_ctx;
    status_ctx.AddMetadata("authorization", "Bearer ops-token-0123456789");
    v1::StatusResponse status_resp;
    ASSERT_TRUE(admin->Status(&status_ctx, v1::StatusRequest(), &status_resp).ok());
    EXPECT_FALSE(status_resp.draining());
  }
  std::remove(tenants.c_str());
  std::remove(dir.c_str());
}

}  // namespace
}  // namespace tensord::testing
