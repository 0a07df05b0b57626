// Tenants against a real daemon with a tenants file: every Runtime RPC needs
// a token, a session belongs to the tenant that opened it (another tenant's
// session id answers exactly like one that does not exist), tensor ids live
// inside their session, and the C++ client connects with a token and TLS.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <openssl/sha.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>

#include "daemon_fixture.h"
#include "tensord/core.h"
#include "tensord/tensor.h"
#include "tensord/v1/runtime.grpc.pb.h"

namespace tensord::testing {
namespace {

using v1::ClientMessage;
using v1::ServerMessage;

const std::string kTokenA = "alice-token-0123456789abcdef";
const std::string kTokenB = "bob-token-fedcba9876543210";

std::string Sha256Hex(const std::string& s) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  char hex[2 * SHA256_DIGEST_LENGTH + 1];
  for (int i = 0; i < SHA256_DIGEST_LENGTH; ++i) std::snprintf(hex + 2 * i, 3, "%02x", d[i]);
  return hex;
}

std::string TempDir() {
  char tmpl[] = "/tmp/tensord-auth-XXXXXX";
  return mkdtemp(tmpl);
}

// The daemon under test's tenants: alice (admin) and bob.
std::string WriteTenants(const std::string& dir) {
  const std::string path = dir + "/tenants.yaml";
  std::ofstream(path) << "tenants:\n"
                      << "  alice:\n    token_sha256: " << Sha256Hex(kTokenA) << "\n    admin: true\n"
                      << "  bob:\n    token_sha256: " << Sha256Hex(kTokenB) << "\n    weight: 3\n";
  return path;
}

// `authorization` empty: no header at all.
std::unique_ptr<grpc::ClientContext> Context(const std::string& authorization) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  if (!authorization.empty()) ctx->AddMetadata("authorization", authorization);
  return ctx;
}

std::string Bearer(const std::string& token) { return "Bearer " + token; }

// One tenant's raw view of the daemon: its stub and its credentials.
class RawTenant {
 public:
  RawTenant(const std::string& address, std::string token)
      : stub_(v1::Runtime::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))),
        token_(std::move(token)) {}

  v1::Runtime::Stub& stub() { return *stub_; }

  std::string Open() {
    auto ctx = Context(Bearer(token_));
    v1::OpenSessionRequest req;
    req.set_client_name("auth-test");
    v1::OpenSessionResponse resp;
    grpc::Status st = stub_->OpenSession(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.session_id();
  }

  grpc::Status Close(const std::string& session) {
    auto ctx = Context(Bearer(token_));
    v1::CloseSessionRequest req;
    req.set_session_id(session);
    v1::CloseSessionResponse resp;
    return stub_->CloseSession(ctx.get(), req, &resp);
  }

  // Attaches to `session` with `authorization`, sends `batch` and reads
  // replies until a fetch reply with `last`, an error status, or the end.
  struct Outcome {
    grpc::Status status;                // the stream's final status
    std::vector<ServerMessage> replies;
  };
  Outcome Attach(const std::string& session, const std::string& authorization,
                 const v1::Batch& batch) {
    // Seqs run on per session, across streams; the ack header says which
    // replies this client already has, so they are not sent again.
    auto ctx = Context(authorization);
    ctx->AddMetadata("tensord-session", session);
    ctx->AddMetadata("tensord-ack", std::to_string(acked_[session]));
    auto stream = stub_->Stream(ctx.get());
    ClientMessage m;
    *m.mutable_batch() = batch;
    const uint64_t seq = sent_[session] + 1;
    m.mutable_batch()->set_seq(seq);
    stream->Write(m);
    Outcome out;
    ServerMessage r;
    auto keep = [&] {
      out.replies.push_back(r);
      acked_[session] = std::max(acked_[session], r.seq());
    };
    bool fetched = batch.fetches_size() == 0;
    while (!fetched && stream->Read(&r)) {
      keep();
      if (r.has_fetch() && r.fetch().last()) fetched = true;
    }
    stream->WritesDone();
    while (stream->Read(&r)) keep();
    out.status = stream->Finish();
    if (out.status.ok() || !out.replies.empty()) sent_[session] = seq;  // the daemon took it
    return out;
  }

  const std::string& token() const { return token_; }

 private:
  std::unique_ptr<v1::Runtime::Stub> stub_;
  std::string token_;
  std::map<std::string, uint64_t> sent_, acked_;  // by session id
};

v1::Batch OnesThenFetch(uint64_t id) {
  v1::Batch b;
  b.set_seq(1);
  auto* r = b.add_ops();
  r->set_op("ones");
  r->set_location("auth_test.cc:1");
  r->add_args()->mutable_ints()->add_values(3);
  r->add_args()->set_dtype("float32");
  r->add_args()->set_none(true);
  r->add_outputs(id);
  auto* f = b.add_fetches();
  f->set_request_id(1);
  f->set_tensor(id);
  return b;
}

v1::Batch FetchOnly(uint64_t id) {
  v1::Batch b;
  b.set_seq(1);
  auto* f = b.add_fetches();
  f->set_request_id(1);
  f->set_tensor(id);
  return b;
}

const v1::FetchReply* FetchReply(const RawTenant::Outcome& o) {
  for (const auto& r : o.replies) {
    if (r.has_fetch()) return &r.fetch();
  }
  return nullptr;
}

class AuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(TempDir());
    daemon_ = new Daemon("", {"--tenants", WriteTenants(*dir_)});
  }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
    (void)std::system(("rm -rf " + *dir_).c_str());
    delete dir_;
  }
  void TearDown() override { ASSERT_TRUE(daemon_->alive()) << daemon_->log(); }
  static Daemon* daemon_;
  static std::string* dir_;
};
Daemon* AuthTest::daemon_ = nullptr;
std::string* AuthTest::dir_ = nullptr;

TEST_F(AuthTest, EveryRuntimeRpcRefusesAMissingWrongOrMalformedToken) {
  RawTenant alice(daemon_->address(), kTokenA);
  const std::string session = alice.Open();
  for (const std::string& authorization :
       {std::string(), Bearer("wrong"), Bearer(kTokenA + "x"), "Basic " + kTokenA, kTokenA,
        std::string("Bearer ")}) {
    SCOPED_TRACE("authorization: '" + authorization + "'");
    v1::HandshakeRequest hreq;
    hreq.set_protocol_major(1);
    v1::HandshakeResponse hresp;
    grpc::Status st = alice.stub().Handshake(Context(authorization).get(), hreq, &hresp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(st.error_message().rfind("[auth] ", 0), 0u) << st.error_message();
    EXPECT_EQ(st.error_message().find(kTokenA), std::string::npos);

    v1::OpenSessionResponse oresp;
    st = alice.stub().OpenSession(Context(authorization).get(), {}, &oresp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);

    v1::CloseSessionRequest creq;
    creq.set_session_id(session);
    v1::CloseSessionResponse cresp;
    st = alice.stub().CloseSession(Context(authorization).get(), creq, &cresp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);

    auto attach = alice.Attach(session, authorization, OnesThenFetch(1));
    EXPECT_EQ(attach.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(FetchReply(attach), nullptr);
  }
  // The refusals closed nothing: the owner still uses its session.
  auto ok = alice.Attach(session, Bearer(kTokenA), OnesThenFetch(1));
  ASSERT_NE(FetchReply(ok), nullptr);
  EXPECT_FALSE(FetchReply(ok)->has_error());
  EXPECT_EQ(FetchReply(ok)->data().size(), 12u);
  // The scheme name is case-insensitive (RFC 6750).
  v1::HandshakeResponse hresp;
  v1::HandshakeRequest hreq;
  hreq.set_protocol_major(1);
  EXPECT_TRUE(alice.stub().Handshake(Context("bearer " + kTokenA).get(), hreq, &hresp).ok());
  EXPECT_TRUE(alice.Close(session).ok());
}

TEST_F(AuthTest, TwoAuthorizationHeadersAreRefused) {
  RawTenant alice(daemon_->address(), kTokenA);
  auto ctx = Context(Bearer(kTokenA));
  ctx->AddMetadata("authorization", Bearer(kTokenB));
  v1::OpenSessionResponse resp;
  grpc::Status st = alice.stub().OpenSession(ctx.get(), {}, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

// Another tenant's session id gets the answer a made-up id gets, word for
// word apart from the id itself: no oracle for which ids exist.
TEST_F(AuthTest, AnotherTenantsSessionAnswersExactlyLikeANonexistentOne) {
  RawTenant alice(daemon_->address(), kTokenA), bob(daemon_->address(), kTokenB);
  const std::string theirs = alice.Open();
  ASSERT_EQ(alice.Attach(theirs, Bearer(kTokenA), OnesThenFetch(7)).status.error_code(),
            grpc::StatusCode::OK);
  const std::string made_up = "0123456789abcdef0123456789abcdef";
  auto same_but_id = [&](const grpc::Status& a, const grpc::Status& b) {
    std::string ma = a.error_message(), mb = b.error_message();
    if (auto p = ma.find(theirs); p != std::string::npos) ma.replace(p, theirs.size(), "<id>");
    if (auto p = mb.find(made_up); p != std::string::npos) mb.replace(p, made_up.size(), "<id>");
    EXPECT_EQ(a.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(a.error_code(), b.error_code());
    EXPECT_EQ(ma, mb);
  };
  // Attaching: bob gets no stream, sees no tensor.
  auto attach_theirs = bob.Attach(theirs, Bearer(kTokenB), FetchOnly(7));
  auto attach_made_up = bob.Attach(made_up, Bearer(kTokenB), FetchOnly(7));
  same_but_id(attach_theirs.status, attach_made_up.status);
  EXPECT_EQ(FetchReply(attach_theirs), nullptr);
  // Closing: refused alike, and alice's session survives it.
  same_but_id(bob.Close(theirs), bob.Close(made_up));
  auto still = alice.Attach(theirs, Bearer(kTokenA), FetchOnly(7));
  ASSERT_NE(FetchReply(still), nullptr);
  EXPECT_FALSE(FetchReply(still)->has_error()) << FetchReply(still)->error().message();
  EXPECT_TRUE(alice.Close(theirs).ok());
  // Once closed, alice's own id answers the same as any other.
  same_but_id(alice.Close(theirs), alice.Close(made_up));
}

TEST_F(AuthTest, TensorIdsLiveInsideTheirSession) {
  RawTenant alice(daemon_->address(), kTokenA), bob(daemon_->address(), kTokenB);
  const std::string a = alice.Open(), b = bob.Open(), a2 = alice.Open();
  ASSERT_EQ(FetchReply(alice.Attach(a, Bearer(kTokenA), OnesThenFetch(5)))->data().size(), 12u);
  // Bob names alice's tensor id 5 in his own session: unknown there.
  auto fetch = bob.Attach(b, Bearer(kTokenB), FetchOnly(5));
  ASSERT_NE(FetchReply(fetch), nullptr);
  ASSERT_TRUE(FetchReply(fetch)->has_error());
  EXPECT_NE(FetchReply(fetch)->error().message().find("unknown tensor id 5"), std::string::npos)
      << FetchReply(fetch)->error().message();
  v1::Batch use = FetchOnly(6);
  auto* r = use.add_ops();
  r->set_op("neg");
  r->set_location("auth_test.cc:2");
  r->add_args()->set_tensor(5);
  r->add_outputs(6);
  auto op = bob.Attach(b, Bearer(kTokenB), use);
  bool unknown = false;
  for (const auto& m : op.replies) {
    if (m.has_error() && m.error().message().find("unknown tensor id 5") != std::string::npos) {
      unknown = true;
    }
  }
  EXPECT_TRUE(unknown) << "bob's op on alice's tensor id was not refused as unknown";
  // The same tenant's other session does not see it either.
  auto other = alice.Attach(a2, Bearer(kTokenA), FetchOnly(5));
  ASSERT_NE(FetchReply(other), nullptr);
  EXPECT_TRUE(FetchReply(other)->has_error());
  // And alice's tensor is untouched.
  auto mine = alice.Attach(a, Bearer(kTokenA), FetchOnly(5));
  ASSERT_NE(FetchReply(mine), nullptr);
  EXPECT_FALSE(FetchReply(mine)->has_error());
  EXPECT_EQ(FetchReply(mine)->data().size(), 12u);
  for (const auto& [t, id] : {std::pair{&alice, a}, {&bob, b}, {&alice, a2}}) {
    EXPECT_TRUE(t->Close(id).ok());
  }
}

TEST_F(AuthTest, SessionIdsAre128RandomBitsInHex) {
  RawTenant alice(daemon_->address(), kTokenA);
  std::set<std::string> ids;
  std::vector<std::set<char>> digits(32);
  for (int i = 0; i < 64; ++i) {
    const std::string id = alice.Open();
    ASSERT_EQ(id.size(), 32u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    ids.insert(id);
    for (size_t j = 0; j < 32; ++j) digits[j].insert(id[j]);
    EXPECT_TRUE(alice.Close(id).ok());
  }
  EXPECT_EQ(ids.size(), 64u);
  // Every position varies: no fixed prefix, counter or timestamp.
  for (size_t j = 0; j < 32; ++j) EXPECT_GE(digits[j].size(), 6u) << "hex digit " << j;
}

TEST_F(AuthTest, TokensStayOutOfTheLog) {
  RawTenant alice(daemon_->address(), kTokenA);
  alice.Close(alice.Open());
  v1::OpenSessionResponse resp;
  alice.stub().OpenSession(Context(Bearer(kTokenA + "-wrong")).get(), {}, &resp);
  const std::string log = daemon_->log();
  EXPECT_NE(log.find("refused a call"), std::string::npos) << log;
  EXPECT_NE(log.find("of tenant alice"), std::string::npos) << log;
  EXPECT_EQ(log.find(kTokenA), std::string::npos);
  EXPECT_EQ(log.find(kTokenB), std::string::npos);
}

// ---------------------------------------------------------------- C++ client

TEST_F(AuthTest, CppClientSendsItsTokenFromOptionsOrEnvironment) {
  client::ConnectOptions options;
  options.token = kTokenB;
  {
    auto s = Session::Connect(daemon_->address(), options);
    EXPECT_EQ((s.Ones({2}) * 3.0).to_vector<float>(), (std::vector<float>{3, 3}));
  }
  try {
    Session::Connect(daemon_->address());
    FAIL() << "connected without a token";
  } catch (const client::RemoteError& e) {
    EXPECT_NE(std::string(e.what()).find("[auth] this daemon requires a token"), std::string::npos)
        << e.what();
    EXPECT_EQ(e.code(), static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
  }
  setenv("TENSORD_TOKEN", kTokenA.c_str(), 1);
  {
    auto s = Session::Connect(daemon_->address());
    EXPECT_EQ((s.Ones({1}) + 1.0).to_vector<float>(), (std::vector<float>{2}));
  }
  unsetenv("TENSORD_TOKEN");
}

// Makes a CA, a server certificate for localhost and a second CA with the
// openssl CLI; "" when the CLI is missing.
std::string MakeCertificates(const std::string& dir) {
  const std::string cmd =
      "cd " + dir +
      " && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout ca.key -out ca.crt "
      "-subj /CN=ca"
      " && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout other.key -out other.crt "
      "-subj /CN=other"
      " && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "
      "/CN=server"
      " && echo subjectAltName=DNS:localhost,IP:127.0.0.1 > server.ext"
      " && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
      "-extfile server.ext -out server.crt";
  return std::system(("(" + cmd + ") > " + dir + "/openssl.log 2>&1").c_str()) == 0 ? dir : "";
}

TEST(AuthTls, CppClientConnectsOverTlsWithTokenAndRefusesAStrangeCa) {
  const std::string dir = TempDir();
  if (MakeCertificates(dir).empty()) GTEST_SKIP() << "the openssl CLI makes the certificates";
  Daemon d("tls:\n  cert: " + dir + "/server.crt\n  key: " + dir + "/server.key\n",
           {"--tenants", WriteTenants(dir)});
  client::ConnectOptions options;
  options.token = kTokenA;
  options.tls.ca_file = dir + "/ca.crt";
  {
    auto s = Session::Connect(d.address(), options);
    EXPECT_EQ((s.Ones({2}) * 2.0).to_vector<float>(), (std::vector<float>{2, 2}));
  }
  options.tls.ca_file = dir + "/other.crt";
  const auto start = std::chrono::steady_clock::now();
  try {
    Session::Connect(d.address(), options);
    FAIL() << "TLS accepted a certificate from a CA the client does not trust";
  } catch (const client::RemoteError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("[connect] TLS with the daemon at", 0), 0u) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8));
  client::ConnectOptions plain;
  plain.token = kTokenA;
  plain.connect_timeout_ms = 3000;
  EXPECT_THROW(Session::Connect(d.address(), plain), client::RemoteError);
  EXPECT_TRUE(d.alive()) << d.log();
  (void)std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace tensord::testing
