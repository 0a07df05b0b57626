// The wire protocol against a real daemon: the handshake, sessions, and every
// kind of bad input. Each bad input must get a clear error while the daemon
// keeps serving other sessions.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "daemon_fixture.h"
#include "raw_session.h"
#include "tensord/v1/runtime.grpc.pb.h"

namespace tensord::testing {
namespace {

using v1::ClientMessage;
using v1::ServerMessage;

// Makes ones([n]) as tensor `id` and checks a fetch returns n floats of 1.
void ExpectServing(const std::string& address) {
  RawSession s(address);
  s.Op("ones", {IntsV({3}), DTypeV("float32"), NoneV()}, {1});
  auto r = s.Fetch(1);
  ASSERT_FALSE(r.has_error()) << r.error().message();
  ASSERT_EQ(r.data().size(), 12u);
  float v[3];
  std::memcpy(v, r.data().data(), 12);
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[2], 1.0f);
}

class ProtocolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    daemon_ = new Daemon("limits:\n  max_tensor_bytes: 1048576\n  max_message_bytes: 4194304\n"
                         "  max_chunk_bytes: 1048576\n  max_live_tensors: 50\n  max_ops_per_batch: 1000\n");
  }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
  }
  void TearDown() override {
    ASSERT_TRUE(daemon_->alive()) << daemon_->log();
    ExpectServing(daemon_->address());
  }
  static Daemon* daemon_;
};
Daemon* ProtocolTest::daemon_ = nullptr;

TEST_F(ProtocolTest, HandshakeDescribesTheDaemon) {
  RawSession s(daemon_->address());
  grpc::ClientContext ctx;
  v1::HandshakeRequest req;
  req.set_protocol_major(1);
  req.set_client_name("t");
  v1::HandshakeResponse resp;
  ASSERT_TRUE(s.stub().Handshake(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.protocol_major(), 1u);
  ASSERT_GE(resp.devices_size(), 1);
  EXPECT_EQ(resp.devices(0).kind(), "cpu");
  EXPECT_EQ(resp.dtypes_size(), 10);
  EXPECT_EQ(resp.op_schema_version().size(), 16u);
  EXPECT_GT(resp.op_count(), 10u);
}

TEST_F(ProtocolTest, UnknownProtocolMajorIsRefusedNamingBothVersions) {
  RawSession s(daemon_->address());
  grpc::ClientContext ctx;
  v1::HandshakeRequest req;
  req.set_protocol_major(7);
  req.set_protocol_minor(3);
  v1::HandshakeResponse resp;
  grpc::Status st = s.stub().Handshake(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("7.3"), std::string::npos) << st.error_message();
  EXPECT_NE(st.error_message().find("1.0"), std::string::npos) << st.error_message();
}

TEST_F(ProtocolTest, SessionIdsAreUnguessableAndUnknownOnesAreRefused) {
  RawSession a(daemon_->address()), b(daemon_->address());
  EXPECT_EQ(a.id().size(), 32u);
  EXPECT_NE(a.id(), b.id());
  auto channel = grpc::CreateChannel(daemon_->address(), grpc::InsecureChannelCredentials());
  auto stub = v1::Runtime::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.AddMetadata("tensord-session", "0123456789abcdef0123456789abcdef");
  auto stream = stub->Stream(&ctx);
  ServerMessage m;
  EXPECT_FALSE(stream->Read(&m));
  grpc::Status st = stream->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ProtocolTest, OpsRunInStreamOrderAndFetchReturnsValues) {
  RawSession s(daemon_->address());
  s.Op("arange", {IntV(0), IntV(6), IntV(1), NoneV(), NoneV()}, {1});
  s.Op("view", {TensorV(1), IntsV({2, 3})}, {2});
  s.Op("add_", {TensorV(2), IntV(10), IntV(1)}, {});  // visible through the view's base
  auto r = s.Fetch(1);
  ASSERT_FALSE(r.has_error()) << r.error().message();
  EXPECT_EQ(r.dtype(), "int64");
  ASSERT_EQ(r.data().size(), 48u);
  int64_t v[6];
  std::memcpy(v, r.data().data(), 48);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(v[i], 10 + i);
}

TEST_F(ProtocolTest, UnknownOpFailsWithNotFoundAndPoisonsOutputs) {
  RawSession s(daemon_->address());
  s.Op("no_such_op", {IntV(1)}, {5});
  auto e = s.NextError();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(e->message().find("unknown op 'no_such_op'"), std::string::npos) << e->message();
  EXPECT_EQ(e->location(), "raw_session.h:1");
  auto r = s.Fetch(5);
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error().op(), "no_such_op");
}

TEST_F(ProtocolTest, WrongArityIsATypeError) {
  RawSession s(daemon_->address());
  s.Op("ones", {IntsV({2})}, {1});
  auto e = s.NextError();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->exception(), "TypeError");
  EXPECT_NE(e->message().find("expected 3 arguments"), std::string::npos) << e->message();
}

TEST_F(ProtocolTest, WrongAttributeTypeIsATypeError) {
  RawSession s(daemon_->address());
  s.Op("ones", {StrV("three"), NoneV(), NoneV()}, {1});
  auto e = s.NextError();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->exception(), "TypeError");
  EXPECT_NE(e->message().find("argument 'size' must be int[], not str"), std::string::npos)
      << e->message();
}

TEST_F(ProtocolTest, UnknownAndReleasedTensorIdsAreNotFound) {
  RawSession s(daemon_->address());
  s.Op("neg", {TensorV(99)}, {2});
  auto e = s.NextError();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(e->message().find("unknown tensor id 99"), std::string::npos) << e->message();
  s.Op("ones", {IntsV({2}), NoneV(), NoneV()}, {3});
  s.Release(3);
  s.Op("neg", {TensorV(3)}, {4});
  e = s.NextError();
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->message().find("unknown tensor id 3"), std::string::npos) << e->message();
}

TEST_F(ProtocolTest, NegativeAndOverflowingShapesAreRejected) {
  RawSession s(daemon_->address());
  s.Op("zeros", {IntsV({2, -3}), NoneV(), NoneV()}, {1});
  auto e = s.NextError();
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->message().find("negative dimension -3"), std::string::npos) << e->message();
  s.Op("zeros", {IntsV({int64_t{1} << 40, int64_t{1} << 40}), NoneV(), NoneV()}, {2});
  e = s.NextError();
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->message().find("overflowed"), std::string::npos) << e->message();

  // 2^61 + 8 int64 elements fit in 62 bits as a count, but their bytes wrap
  // to 64: the daemon once sized a 64-byte buffer from that and randint wrote
  // past it (found by the fuzzer).
  const int64_t wraps = (int64_t{1} << 61) + 8;
  s.Op("randint", {IntV(0), IntV(10), IntsV({wraps}), NoneV(), NoneV()}, {3});
  e = s.NextError();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->exception(), "RuntimeError");
  EXPECT_NE(e->message().find("Storage size calculation overflowed"), std::string::npos) << e->message();
  ClientMessage upload;
  auto* u = upload.mutable_upload();
  u->set_tensor(4);
  u->set_dtype("int64");
  u->add_sizes(wraps);
  u->set_last(true);
  ASSERT_TRUE(s.Send(upload));
  e = s.NextError();
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->message().find("Storage size calculation overflowed"), std::string::npos) << e->message();
  // The session still works.
  s.Op("zeros", {IntsV({3}), NoneV(), NoneV()}, {5});
  EXPECT_FALSE(s.Fetch(5).has_error());
}

TEST_F(ProtocolTest, ClientIdsMayNotUseTheDaemonsIdSpace) {
  RawSession s(daemon_->address());
  const uint64_t daemon_id = (uint64_t{1} << 63) | 1;
  s.Op("zeros", {IntsV({2}), NoneV(), NoneV()}, {daemon_id});
  auto e = s.NextError();
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->message().find("daemon's id space"), std::string::npos) << e->message();
}

TEST_F(ProtocolTest, AllocationOverTheLimitIsResourceExhausted) {
  RawSession s(daemon_->address());
  s.Op("zeros", {IntsV({1024, 1024}), NoneV(), NoneV()}, {1});  // 4 MiB > 1 MiB limit
  auto e = s.NextError();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(e->message().find("max_tensor_bytes"), std::string::npos) << e->message();
}

TEST_F(ProtocolTest, LiveTensorLimitIsResourceExhausted) {
  RawSession s(daemon_->address());
  for (uint64_t id = 1; id <= 51; ++id) s.Op("zeros", {IntsV({1}), NoneV(), NoneV()}, {id});
  auto e = s.NextError();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(e->message().find("max_live_tensors"), std::string::npos) << e->message();
}

TEST_F(ProtocolTest, BatchOverTheOpLimitIsResourceExhaustedAndPoisonsItsOutputs) {
  RawSession s(daemon_->address());
  ClientMessage m;
  auto* b = m.mutable_batch();
  b->set_seq(1);
  for (uint64_t id = 1; id <= 1001; ++id) {
    auto* r = b->add_ops();
    r->set_op("zeros");
    *r->add_args() = IntsV({1});
    *r->add_args() = NoneV();
    *r->add_args() = NoneV();
    r->add_outputs(id);
  }
  ASSERT_TRUE(s.Send(m));
  auto e = s.NextError();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(e->message().find("max_ops_per_batch"), std::string::npos) << e->message();
  auto r = s.Fetch(1);
  EXPECT_TRUE(r.has_error());
}

TEST_F(ProtocolTest, OversizedMessageEndsOnlyThatStream) {
  RawSession s(daemon_->address());
  ClientMessage m;
  auto* u = m.mutable_upload();
  u->set_tensor(1);
  u->set_dtype("uint8");
  u->add_sizes(8 << 20);
  u->set_data(std::string(8 << 20, 'x'));  // over max_message_bytes (4 MiB)
  s.Send(m);
  grpc::Status st = s.Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
}

TEST_F(ProtocolTest, ChunkedUploadRoundTripsAndBadChunksAreRejected) {
  RawSession s(daemon_->address());
  std::string data(300000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  for (size_t off = 0; off < data.size(); off += 100000) {
    ClientMessage m;
    auto* u = m.mutable_upload();
    u->set_tensor(1);
    if (off == 0) {
      u->set_dtype("uint8");
      u->add_sizes(300000);
    }
    u->set_offset(off);
    u->set_data(data.substr(off, 100000));
    u->set_last(off + 100000 >= data.size());
    ASSERT_TRUE(s.Send(m));
  }
  auto r = s.Fetch(1);
  ASSERT_FALSE(r.has_error()) << r.error().message();
  EXPECT_EQ(r.data(), data);

  ClientMessage bad;
  auto* u = bad.mutable_upload();
  u->set_tensor(2);
  u->set_dtype("uint8");
  u->add_sizes(10);
  u->set_offset(5);  // does not start at 0
  u->set_data("abc");
  ASSERT_TRUE(s.Send(bad));
  auto e = s.NextError();
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->message().find("does not continue"), std::string::npos) << e->message();
}

TEST_F(ProtocolTest, TruncatedStreamLeavesTheDaemonServing) {
  {
    RawSession s(daemon_->address());
    ClientMessage m;
    auto* u = m.mutable_upload();
    u->set_tensor(1);
    u->set_dtype("float32");
    u->add_sizes(1000);
    u->set_data(std::string(100, 'a'));  // first of several chunks, then gone
    ASSERT_TRUE(s.Send(m));
    s.context().TryCancel();
  }
  ExpectServing(daemon_->address());
}

TEST_F(ProtocolTest, ClientErrorsInOneSessionLeaveOthersRunning) {
  RawSession bad(daemon_->address());
  RawSession good(daemon_->address());
  good.Op("ones", {IntsV({4}), NoneV(), NoneV()}, {1});
  bad.Op("matmul", {TensorV(1), TensorV(2)}, {3});
  ASSERT_TRUE(bad.NextError().has_value());
  auto r = good.Fetch(1);
  EXPECT_FALSE(r.has_error());
  EXPECT_EQ(r.data().size(), 16u);
}

// ---------------------------------------------------------------- sequence numbers and re-attaching

// A float32 tensor's one value, fetched.
float FetchScalar(RawSession& s, uint64_t id) {
  auto r = s.Fetch(id);
  EXPECT_FALSE(r.has_error()) << r.error().message();
  EXPECT_EQ(r.data().size(), 4u);
  float v = -1;
  if (r.data().size() == 4) std::memcpy(&v, r.data().data(), 4);
  return v;
}

ClientMessage AddOneBatch(uint64_t seq, uint64_t id) {
  ClientMessage m;
  m.mutable_batch()->set_seq(seq);
  auto* r = m.mutable_batch()->add_ops();
  r->set_op("add_");
  *r->add_args() = TensorV(id);
  *r->add_args() = IntV(1);
  *r->add_args() = IntV(1);
  return m;
}

TEST_F(ProtocolTest, AResentBatchIsDroppedNotAppliedTwice) {
  RawSession s(daemon_->address());
  s.Op("zeros", {IntsV({1}), NoneV(), NoneV()}, {1});  // seq 1
  const ClientMessage add = AddOneBatch(2, 1);
  ASSERT_TRUE(s.SendRaw(add));
  ASSERT_TRUE(s.SendRaw(add));  // a resend after a re-attach looks like this
  s.Op("add_", {TensorV(1), IntV(1), IntV(1)}, {});  // seq 3: still accepted
  EXPECT_EQ(FetchScalar(s, 1), 2.0f);
}

TEST_F(ProtocolTest, AResentUploadChunkIsDroppedNotAppliedTwice) {
  RawSession s(daemon_->address());
  std::string data(20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i);
  ClientMessage first;
  auto* u = first.mutable_upload();
  u->set_seq(1);
  u->set_tensor(1);
  u->set_dtype("uint8");
  u->add_sizes(20);
  u->set_data(data.substr(0, 10));
  ClientMessage second = first;
  second.mutable_upload()->set_seq(2);
  second.mutable_upload()->set_offset(10);
  second.mutable_upload()->set_data(data.substr(10));
  second.mutable_upload()->set_last(true);
  ASSERT_TRUE(s.SendRaw(first));
  ASSERT_TRUE(s.SendRaw(first));  // applied again, it would fail "does not continue"
  ASSERT_TRUE(s.SendRaw(second));
  ASSERT_TRUE(s.SendRaw(second));
  auto r = s.Fetch(1);
  ASSERT_FALSE(r.has_error()) << r.error().message();
  EXPECT_EQ(r.data(), data);
  EXPECT_FALSE(s.Next([](const ServerMessage& m) { return m.has_error(); }, std::chrono::seconds(0)));
}

TEST_F(ProtocolTest, ASeqGapEndsTheStreamNamingTheSeqsAndTheSessionGoesOn) {
  RawSession s(daemon_->address());
  s.Op("zeros", {IntsV({1}), NoneV(), NoneV()}, {1});  // seq 1
  ASSERT_TRUE(s.SendRaw(AddOneBatch(2, 1)));
  s.SendRaw(AddOneBatch(5, 1));  // 3 and 4 never came
  grpc::Status st = s.Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  EXPECT_NE(st.error_message().find("seq 5 after 2: seq 3 to 4 are missing"), std::string::npos)
      << st.error_message();
  // The session keeps what it accepted; the client resends from seq 3.
  std::optional<uint64_t> accepted = s.Attach(std::nullopt);
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(*accepted, 2u);
  ASSERT_TRUE(s.SendRaw(AddOneBatch(3, 1)));
  ClientMessage fetch;
  fetch.mutable_batch()->set_seq(4);
  fetch.mutable_batch()->add_fetches()->set_request_id(7);
  fetch.mutable_batch()->mutable_fetches(0)->set_tensor(1);
  ASSERT_TRUE(s.SendRaw(fetch));
  auto r = s.AwaitFetch(7);
  ASSERT_EQ(r.data().size(), 4u);
  float v;
  std::memcpy(&v, r.data().data(), 4);
  EXPECT_EQ(v, 2.0f);
}

TEST_F(ProtocolTest, AMessageWithoutASeqIsRefused) {
  RawSession s(daemon_->address());
  ClientMessage m;
  m.mutable_batch()->add_releases(1);  // seq 0: unnumbered
  s.SendRaw(m);
  grpc::Status st = s.Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("batch without a seq"), std::string::npos) << st.error_message();
}

TEST_F(ProtocolTest, RepliesAreNumberedAndSentAgainUntilAcknowledged) {
  RawSession s(daemon_->address());
  s.Op("ones", {IntsV({1}), DTypeV("float32"), NoneV()}, {1});
  auto first = s.Next([](const ServerMessage&) { return true; }, std::chrono::seconds(0));
  EXPECT_FALSE(first.has_value());  // an op that succeeds has no reply
  s.Fetch(1);
  s.Fetch(1);
  // The two replies were numbered 1 and 2 and carry the daemon's ack of the
  // client's seqs (1 to 3). The client lost the second: re-attaching with
  // ack 1 brings it back, with its number, and nothing else.
  std::optional<uint64_t> accepted = s.Attach(1);
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(*accepted, 3u);
  auto again = s.Next([](const ServerMessage& m) { return m.has_fetch(); });
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->seq(), 2u);
  EXPECT_EQ(again->ack(), 3u);
  EXPECT_EQ(again->fetch().request_id(), 2u);
  EXPECT_FALSE(s.Next([](const ServerMessage&) { return true; }, std::chrono::seconds(1)));
  // Acknowledged replies are forgotten: nothing comes back now.
  s.Attach(2);
  EXPECT_FALSE(s.Next([](const ServerMessage&) { return true; }, std::chrono::seconds(1)));
  EXPECT_EQ(FetchScalar(s, 1), 1.0f);  // and the numbering goes on
}

TEST_F(ProtocolTest, ANewStreamReplacesTheOldOneWhichEndsAborted) {
  RawSession s(daemon_->address());
  grpc::ClientContext ctx;
  ctx.AddMetadata("tensord-session", s.id());
  auto second = s.stub().Stream(&ctx);
  second->WaitForInitialMetadata();
  grpc::Status st = s.Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_NE(st.error_message().find("replaced by a newer stream"), std::string::npos);
  ctx.TryCancel();
  second->Finish();
}

TEST_F(ProtocolTest, BadAckMetadataIsRefused) {
  RawSession s(daemon_->address());
  grpc::ClientContext ctx;
  ctx.AddMetadata("tensord-session", s.id());
  ctx.AddMetadata("tensord-ack", "12x");
  auto stream = s.stub().Stream(&ctx);
  ServerMessage m;
  EXPECT_FALSE(stream->Read(&m));
  grpc::Status st = stream->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("tensord-ack"), std::string::npos);
}

TEST_F(ProtocolTest, CloseSessionEndsItsStreamAndFreesItsTensorsAtOnce) {
  RawSession s(daemon_->address());
  s.Op("zeros", {IntsV({1000}), NoneV(), NoneV()}, {1});
  EXPECT_FALSE(s.Fetch(1).has_error());
  grpc::ClientContext ctx;
  v1::CloseSessionRequest req;
  req.set_session_id(s.id());
  v1::CloseSessionResponse resp;
  ASSERT_TRUE(s.stub().CloseSession(&ctx, req, &resp).ok());
  grpc::Status st = s.Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::CANCELLED);
  const std::string freed = "session " + s.id().substr(0, 8) + " freed: 1 tensors, 0 bytes still tracked";
  for (int i = 0; i < 100 && daemon_->log().find(freed) == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(daemon_->log().find(freed), std::string::npos) << daemon_->log();
  EXPECT_FALSE(s.Attach(std::nullopt).has_value());
  EXPECT_EQ(s.Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST(SessionGrace, ASessionWithoutAStreamIsFreedAfterTheGracePeriod) {
  Daemon d("session_grace_seconds: 1\n");
  RawSession s(d.address());
  EXPECT_EQ(s.grace_seconds(), 1u);
  s.Op("zeros", {IntsV({256}), NoneV(), NoneV()}, {1});
  EXPECT_FALSE(s.Fetch(1).has_error());
  s.Detach();
  // Within the grace period the session is still there.
  std::optional<uint64_t> accepted = s.Attach(std::nullopt);
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(*accepted, 2u);
  s.Detach();
  const std::string freed = "session " + s.id().substr(0, 8) + " freed: 1 tensors, 0 bytes still tracked";
  for (int i = 0; i < 250 && d.log().find("0 session(s) open") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(d.log().find("session expired after 1 s without a stream session=" + s.id().substr(0, 8)),
            std::string::npos)
      << d.log();
  EXPECT_NE(d.log().find(freed), std::string::npos) << d.log();
  EXPECT_NE(d.log().find("0 session(s) open"), std::string::npos) << d.log();
  EXPECT_FALSE(s.Attach(std::nullopt).has_value());
  grpc::Status st = s.Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("expired"), std::string::npos) << st.error_message();
}

TEST(DaemonLifecycle, SigtermDrainsQueuedWorkAndExitsZero) {
  Daemon d;
  {
    RawSession s(d.address());
    s.Op("ones", {IntsV({256, 256}), NoneV(), NoneV()}, {1});
    for (int i = 0; i < 50; ++i) s.Op("matmul", {TensorV(1), TensorV(1)}, {static_cast<uint64_t>(100 + i)});
    auto r = s.Fetch(149);
    EXPECT_FALSE(r.has_error());
  }
  EXPECT_EQ(d.Terminate(), 0) << d.log();
  EXPECT_NE(d.log().find("draining"), std::string::npos);
}

TEST(DaemonLifecycle, BadConfigFileFailsAtStartWithAClearMessage) {
  EXPECT_THROW(Daemon("limits: [this is not a map"), std::runtime_error);
}

}  // namespace
}  // namespace tensord::testing

namespace tensord::testing {
namespace {

TEST_F(ProtocolTest, RegionUploadsNeedANegotiatedRegionAndStayInsideIt) {
  RawSession s(daemon_->address());  // opened without a region
  ClientMessage m;
  auto* u = m.mutable_upload();
  u->set_tensor(1);
  u->set_dtype("uint8");
  u->add_sizes(16);
  u->set_region_offset(0);
  u->set_region_bytes(16);
  u->set_last(true);
  ASSERT_TRUE(s.Send(m));
  auto e = s.NextError();
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->message().find("no shared-memory region"), std::string::npos) << e->message();
}

TEST_F(ProtocolTest, ForeignSharedMemoryNamesAreNeverOpened) {
  grpc::ChannelArguments args;
  auto channel = grpc::CreateChannel(daemon_->address(), grpc::InsecureChannelCredentials());
  auto stub = v1::Runtime::NewStub(channel);
  for (const char* name : {"/etc/passwd", "/tensord-../../etc/passwd", "/tensord-0123"}) {
    grpc::ClientContext ctx;
    v1::OpenSessionRequest req;
    req.set_shm_region(name);
    req.set_shm_token("x");
    req.set_shm_region_bytes(1);
    v1::OpenSessionResponse resp;
    ASSERT_TRUE(stub->OpenSession(&ctx, req, &resp).ok());
    EXPECT_FALSE(resp.shared_memory()) << name;
  }
}

}  // namespace
}  // namespace tensord::testing
