// The hostile-input catalogue: malformed and malicious requests against a
// real daemon. Every case expects a clear status or OpError, and after every
// case a fresh, well-behaved session must still be served (TearDown).
// docs/security.md ("Hostile input") lists the classes covered here.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <dirent.h>
#include <limits>

#include "daemon_fixture.h"
#include "raw_session.h"
#include "tensord/v1/admin.grpc.pb.h"

namespace tensord::testing {
namespace {

using v1::ClientMessage;
using v1::ServerMessage;

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
const double kNaN = std::nan("");
const double kInf = std::numeric_limits<double>::infinity();

std::string Int64Bytes(std::vector<int64_t> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(int64_t));
}
std::string FloatBytes(std::vector<float> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

// A fresh session makes ones([3]) and reads it back within a few seconds.
void ExpectServing(const std::string& address) {
  const auto start = std::chrono::steady_clock::now();
  RawSession s(address, "well-behaved");
  ASSERT_TRUE(s.open_status().ok()) << s.open_status().error_message();
  s.Op("ones", {IntsV({3}), DTypeV("float32"), NoneV()}, {1});
  auto r = s.Fetch(1);
  ASSERT_EQ(r.request_id(), 1u) << "no answer from the daemon";
  ASSERT_FALSE(r.has_error()) << r.error().message();
  ASSERT_EQ(r.data().size(), 12u);
  float v[3];
  std::memcpy(v, r.data().data(), 12);
  EXPECT_EQ(v[2], 1.0f);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

size_t OpenFds(pid_t pid) {
  size_t n = 0;
  if (DIR* d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (readdir(d)) ++n;
    closedir(d);
  }
  return n;
}

class HostileInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    daemon_ = new Daemon(
        "limits:\n  max_tensor_bytes: 1048576\n  max_message_bytes: 4194304\n"
        "  max_chunk_bytes: 1048576\n  max_live_tensors: 1000\n  max_ops_per_batch: 1000\n"
        "  handshake_timeout_ms: 1000\n");
  }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
  }
  void TearDown() override {
    ASSERT_TRUE(daemon_->alive()) << daemon_->log();
    ExpectServing(daemon_->address());
  }
  static const std::string& address() { return daemon_->address(); }
  static Daemon* daemon_;

 public:
  static const std::string& daemon_address() { return daemon_->address(); }
};
Daemon* HostileInputTest::daemon_ = nullptr;

// ---------------------------------------------------------------- op records
// One hostile record after a few valid ones. Tensors the setup makes:
// 1 = ones([6]) float32, 2 = arange(6) int64, 3 = ones([1]) float32,
// 4 = int64 [7] (an out-of-range index), 5 = float32 [nan, 1].
struct OpCase {
  const char* name;
  v1::OpRecord record;
  const char* exception;  // the Python exception PyTorch raises
  const char* message;    // a substring of the daemon's message
  int code = -1;          // a grpc::StatusCode where the case pins one
};

std::vector<v1::OpRecord> SetupRecords() {
  return {
      RawSession::Record("ones", {IntsV({6}), DTypeV("float32"), NoneV()}, {1}),
      RawSession::Record("arange", {IntV(0), IntV(6), IntV(1), NoneV(), NoneV()}, {2}),
      RawSession::Record("ones", {IntsV({1}), DTypeV("float32"), NoneV()}, {3}),
      RawSession::Record("from_data", {DataV(Int64Bytes({7})), IntsV({1}), DTypeV("int64"), NoneV()}, {4}),
      RawSession::Record("from_data", {DataV(FloatBytes({NAN, 1.0f})), IntsV({2}), DTypeV("float32"), NoneV()}, {5}),
  };
}

v1::OpRecord R(const std::string& op, std::vector<v1::Value> args, std::vector<uint64_t> outputs = {100}) {
  return RawSession::Record(op, std::move(args), std::move(outputs));
}

std::vector<OpCase> OpCases() {
  constexpr uint64_t kDaemonId = (uint64_t{1} << 63) | 5;
  const int64_t wraps = (int64_t{1} << 61) + 8;  // elements fit, their bytes wrap to 64
  std::vector<uint64_t> many_unknown(200000, 99);
  return {
      // unknown ops and ids
      {"UnknownOp", R("no_such_op", {IntV(1)}), "RuntimeError", "unknown op 'no_such_op'", 5},
      {"EmptyOpName", R("", {}), "RuntimeError", "unknown op ''", 5},
      {"UnknownTensorId", R("neg", {TensorV(99)}), "RuntimeError", "unknown tensor id 99", 5},
      {"DaemonIdSpaceInput", R("neg", {TensorV(kDaemonId)}), "RuntimeError", "unknown tensor id", 5},
      {"OutputIdZero", R("zeros", {IntsV({2}), NoneV(), NoneV()}, {0}), "ValueError", "output id 0 is reserved"},
      {"OutputIdInDaemonSpace", R("zeros", {IntsV({2}), NoneV(), NoneV()}, {kDaemonId}), "ValueError", "daemon's id space"},
      {"OutputIdAlreadyLive", R("zeros", {IntsV({2}), NoneV(), NoneV()}, {1}), "ValueError", "already in use"},
      {"TooManyOutputIds", R("zeros", {IntsV({2}), NoneV(), NoneV()}, {100, 101}), "TypeError", "record names 2 output ids"},
      {"InPlaceOpWithOutputIds", R("add_", {TensorV(1), IntV(1), IntV(1)}, {100}), "TypeError", "the op gives 0"},
      // wrong field types
      {"WrongArity", R("ones", {IntsV({2})}), "TypeError", "expected 3 arguments"},
      {"StringForIntList", R("ones", {StrV("three"), NoneV(), NoneV()}), "TypeError", "must be int[], not str"},
      {"FloatForTensor", R("neg", {FloatV(1.5)}), "TypeError", "neg"},
      {"TensorListForTensor", R("neg", {TensorsV({1})}), "TypeError", "neg"},
      {"ValueWithNoKind", R("ones", {v1::Value(), NoneV(), NoneV()}), "TypeError", "argument 0 has no value"},
      {"NoneForRequiredTensor", R("neg", {NoneV()}), "TypeError", "neg"},
      // huge or negative dims, overflow in size arithmetic
      {"NegativeDim", R("zeros", {IntsV({2, -3}), NoneV(), NoneV()}), "RuntimeError", "negative dimension -3"},
      {"Int64MinDim", R("zeros", {IntsV({kInt64Min}), NoneV(), NoneV()}), "RuntimeError", "negative dimension"},
      {"ElementCountOverflows", R("zeros", {IntsV({int64_t{1} << 40, int64_t{1} << 40}), NoneV(), NoneV()}), "RuntimeError", "overflowed"},
      {"ByteCountWraps", R("randint", {IntV(0), IntV(10), IntsV({wraps}), NoneV(), NoneV()}), "RuntimeError", "Storage size calculation overflowed"},
      {"ManyDimsOverflow", R("ones", {IntsV(std::vector<int64_t>(64, 4)), NoneV(), NoneV()}), "RuntimeError", "overflowed"},
      {"OverTensorLimit", R("zeros", {IntsV({1 << 30}), NoneV(), NoneV()}), "RuntimeError", "max_tensor_bytes", 8},
      {"ArangeOfTwoToThe62", R("arange", {IntV(0), IntV(int64_t{1} << 62), IntV(1), NoneV(), NoneV()}), "RuntimeError", "invalid number of elements"},
      {"ArangeAcrossAllOfInt64", R("arange", {IntV(kInt64Min), IntV(kInt64Max), IntV(1), NoneV(), NoneV()}), "RuntimeError", "invalid number of elements"},
      {"ArangeTinyFloatStep", R("arange", {IntV(0), FloatV(1e300), FloatV(1e-300), NoneV(), NoneV()}), "RuntimeError", "invalid number of elements"},
      {"LinspaceHugeSteps", R("linspace", {IntV(0), IntV(1), IntV(int64_t{1} << 62), NoneV(), NoneV()}), "RuntimeError", "Storage size calculation overflowed"},
      {"LinspaceNegativeSteps", R("linspace", {IntV(0), IntV(1), IntV(-3), NoneV(), NoneV()}), "RuntimeError", "number of steps must be non-negative"},
      {"RandpermNegative", R("randperm", {IntV(-1), NoneV(), NoneV()}), "RuntimeError", "negative dimension -1"},
      {"EyeNegative", R("eye", {IntV(-1), NoneV(), NoneV(), NoneV()}), "RuntimeError", "n must be greater or equal to 0"},
      {"DimOutOfRange", R("sum", {TensorV(1), IntsV({int64_t{1} << 40}), BoolV(false), NoneV()}), "IndexError", "Dimension out of range"},
      {"DimInt64Min", R("softmax", {TensorV(1), IntV(kInt64Min), NoneV()}), "IndexError", "Dimension out of range"},
      // shapes, strides and offsets that would reach outside a storage
      {"AsStridedPastTheEnd", R("as_strided", {TensorV(1), IntsV({3}), IntsV({3}), NoneV()}), "RuntimeError", "out of bounds for storage of size 24"},
      {"AsStridedHugeOffset", R("as_strided", {TensorV(1), IntsV({2}), IntsV({1}), IntV(int64_t{1} << 62)}), "RuntimeError", "out of bounds for storage"},
      {"AsStridedNegativeOffset", R("as_strided", {TensorV(1), IntsV({2}), IntsV({1}), IntV(-1)}), "RuntimeError", "storage offset"},
      {"AsStridedNegativeStride", R("as_strided", {TensorV(1), IntsV({2}), IntsV({-1}), NoneV()}), "RuntimeError", "Negative strides"},
      {"AsStridedExtentOverflows", R("as_strided", {TensorV(1), IntsV({int64_t{1} << 62, 4}), IntsV({int64_t{1} << 62, 1}), NoneV()}), "RuntimeError", "Storage size calculation overflowed"},
      {"ViewOfTheWrongSize", R("view", {TensorV(1), IntsV({4, 2})}), "RuntimeError", "is invalid for input of size 6"},
      {"ReshapeInfersTwoDims", R("reshape", {TensorV(1), IntsV({-1, -1})}), "RuntimeError", "only one dimension can be inferred"},
      {"NarrowPastTheEnd", R("narrow", {TensorV(1), IntV(0), IntV(2), IntV(5)}), "RuntimeError", "exceeds dimension size"},
      {"NarrowStartPlusLengthOverflows", R("narrow", {TensorV(1), IntV(0), IntV(kInt64Max), IntV(2)}), "IndexError", "out of range"},
      {"IndexOutOfRange", R("index_select", {TensorV(1), IntV(0), TensorV(4)}), "IndexError", "index out of range"},
      {"ExpandToTwoToThe40", R("expand", {TensorV(3), IntsV({int64_t{1} << 40})}), "RuntimeError", "max_tensor_bytes", 8},
      // dtype confusion and bad devices
      {"UnknownDType", R("zeros", {IntsV({2}), DTypeV("float33"), NoneV()}), "TypeError", "unknown dtype 'float33'"},
      {"InPlaceResultCannotBeCast", R("mul_", {TensorV(2), FloatV(1.5)}, {}), "RuntimeError", "can't be cast to the desired output type"},
      {"FromDataTooFewBytes", R("from_data", {DataV("abc"), IntsV({2}), DTypeV("float32"), NoneV()}), "ValueError", "3 bytes given for [2] float32 (8 bytes expected)"},
      {"FromDataHugeShape", R("from_data", {DataV("abcd"), IntsV({int64_t{1} << 62}), DTypeV("float32"), NoneV()}), "ValueError", "bytes expected"},
      {"FromDataWhoseByteCountWraps", R("from_data", {DataV(""), IntsV({int64_t{1} << 62}), DTypeV("float32"), NoneV()}), "RuntimeError", "Storage size calculation overflowed"},
      {"UnknownDevice", R("zeros", {IntsV({2}), NoneV(), DeviceV("tpu:0")}), "RuntimeError", "Expected one of cpu, cuda"},
      {"AbsentGpu", R("zeros", {IntsV({2}), NoneV(), DeviceV("cuda:7")}), "", "cuda"},
      {"DeviceIndexOverflows", R("zeros", {IntsV({2}), NoneV(), DeviceV("cuda:99999999999999999999")}), "RuntimeError", "device"},
      // NaN and Inf in attributes
      {"ArangeNaNEnd", R("arange", {IntV(0), FloatV(kNaN), IntV(1), NoneV(), NoneV()}), "RuntimeError", "unsupported range"},
      {"ArangeInfEnd", R("arange", {IntV(0), FloatV(kInf), IntV(1), NoneV(), NoneV()}), "RuntimeError", "unsupported range"},
      {"ArangeZeroStep", R("arange", {IntV(0), IntV(5), IntV(0), NoneV(), NoneV()}), "RuntimeError", "step must be nonzero"},
      {"FullNaNIntoInt64", R("full", {IntsV({2}), FloatV(kNaN), DTypeV("int64"), NoneV()}), "RuntimeError", "value cannot be converted to type int64_t without overflow"},
      {"FullHugeIntoInt32", R("full", {IntsV({2}), FloatV(1e300), DTypeV("int32"), NoneV()}), "RuntimeError", "value cannot be converted to type int without overflow"},
      {"NormalStdNaN", R("normal_", {TensorV(1), FloatV(0), FloatV(kNaN)}, {}), "RuntimeError", "normal expects std >= 0.0, but found std nan"},
      {"UniformInfBound", R("uniform_", {TensorV(1), FloatV(0), FloatV(kInf)}, {}), "RuntimeError", "to is out of bounds for float"},
      {"UniformNaNBound", R("uniform_", {TensorV(1), FloatV(kNaN), FloatV(1)}, {}), "RuntimeError", "from is out of bounds for float"},
      {"BernoulliNaN", R("bernoulli_", {TensorV(1), FloatV(kNaN)}, {}), "RuntimeError", "bernoulli_ expects p to be in [0, 1], but got p=nan"},
      {"MultinomialOfNaN", R("multinomial", {TensorV(5), IntV(1), BoolV(false)}), "RuntimeError", "probability tensor contains either `inf`, `nan` or element < 0"},
      {"RandintEmptyRange", R("randint", {IntV(5), IntV(5), IntsV({3}), NoneV(), NoneV()}), "RuntimeError", "expects 'from' to be less than 'to'"},
      // enormous argument lists
      {"CatOf200kUnknownIds", R("cat", {TensorsV(many_unknown), IntV(0)}), "RuntimeError", "unknown tensor id 99", 5},
  };
}

void PrintTo(const OpCase& c, std::ostream* os) { *os << c.name; }

class HostileOpTest : public HostileInputTest, public ::testing::WithParamInterface<OpCase> {};

TEST_P(HostileOpTest, FailsWithAClearErrorAndPoisonsItsOutputs) {
  const OpCase& c = GetParam();
  RawSession s(address());
  ClientMessage m;
  auto* b = m.mutable_batch();
  for (auto& r : SetupRecords()) *b->add_ops() = r;
  *b->add_ops() = c.record;
  ASSERT_TRUE(s.Send(m));
  auto e = s.NextError();
  ASSERT_TRUE(e.has_value()) << c.name << ": no error reported";
  EXPECT_EQ(e->op(), c.record.op());
  EXPECT_EQ(e->location(), "raw_session.h:1");
  EXPECT_NE(e->message().find(c.message), std::string::npos) << c.name << ": " << e->message();
  if (*c.exception) EXPECT_EQ(e->exception(), c.exception) << e->message();
  if (c.code >= 0) EXPECT_EQ(e->code(), c.code) << e->message();
  // Every message names its op or component first (ATen's dim and index
  // messages keep PyTorch's exact text; the report's op field names it).
  if (*c.exception && std::string(c.exception) != "IndexError") {
    EXPECT_EQ(e->message().rfind("[", 0), 0u) << e->message();
  }
  // Nothing else failed, and the session goes on.
  EXPECT_FALSE(s.NextError(std::chrono::milliseconds(50)).has_value());
  for (uint64_t id : c.record.outputs()) {
    if (id == 0 || id >> 63 || id == 1) continue;
    auto f = s.Fetch(id);
    EXPECT_TRUE(f.has_error()) << c.name << ": output " << id << " is not poisoned";
  }
  auto ok = s.Fetch(1);
  EXPECT_FALSE(ok.has_error()) << ok.error().message();
}

INSTANTIATE_TEST_SUITE_P(Catalogue, HostileOpTest, ::testing::ValuesIn(OpCases()),
                         [](const auto& info) { return std::string(info.param.name); });

// --------------------------------------------------------- undecodable bytes

// Sends raw frames on a Runtime call (nothing is parsed on our side) and
// returns the status the daemon ends it with, and the frames it answered.
struct RawCallResult {
  grpc::Status status;
  std::vector<std::string> replies;
};

RawCallResult RawCall(const std::string& address, const std::string& method,
                      const std::vector<std::string>& frames,
                      std::vector<std::pair<std::string, std::string>> metadata = {}) {
  auto channel = TestChannel(address);
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  for (auto& [k, v] : metadata) ctx.AddMetadata(k, v);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::CompletionQueue cq;
  void* tag;
  bool ok;
  RawCallResult out;
  auto call = stub.PrepareCall(&ctx, method, &cq);
  call->StartCall(reinterpret_cast<void*>(1));
  cq.Next(&tag, &ok);
  bool open = ok;
  for (const auto& f : frames) {
    if (!open) break;
    grpc::Slice slice(f);
    grpc::ByteBuffer bb(&slice, 1);
    call->Write(bb, reinterpret_cast<void*>(2));
    cq.Next(&tag, &ok);
    open = ok;
  }
  if (open) {
    call->WritesDone(reinterpret_cast<void*>(3));
    cq.Next(&tag, &ok);
  }
  for (;;) {
    grpc::ByteBuffer in;
    call->Read(&in, reinterpret_cast<void*>(4));
    cq.Next(&tag, &ok);
    if (!ok) break;
    std::vector<grpc::Slice> slices;
    (void)in.Dump(&slices);
    std::string s;
    for (auto& sl : slices) s.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
    out.replies.push_back(s);
  }
  call->Finish(&out.status, reinterpret_cast<void*>(5));
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return out;
}

// Opens a session and returns the metadata that names it on a Stream.
std::vector<std::pair<std::string, std::string>> NewSessionMetadata(const std::string& address) {
  auto stub = v1::Runtime::NewStub(TestChannel(address));
  grpc::ClientContext ctx;
  v1::OpenSessionRequest req;
  req.set_client_name("raw-bytes");
  v1::OpenSessionResponse resp;
  EXPECT_TRUE(stub->OpenSession(&ctx, req, &resp).ok());
  return {{"tensord-session", resp.session_id()}};
}

// The OpErrors among a raw call's replies.
std::vector<v1::OpError> ErrorsIn(const RawCallResult& r) {
  std::vector<v1::OpError> errors;
  for (const auto& bytes : r.replies) {
    ServerMessage m;
    if (m.ParseFromString(bytes) && m.has_error()) errors.push_back(m.error());
  }
  return errors;
}

constexpr const char* kStream = "/tensord.v1.Runtime/Stream";

TEST_F(HostileInputTest, GarbageBytesOnTheStreamEndItWithInvalidArgument) {
  auto r = RawCall(address(), kStream, {std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11)},
                   NewSessionMetadata(address()));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << r.status.error_message();
  EXPECT_NE(r.status.error_message().find("could not be decoded"), std::string::npos)
      << r.status.error_message();
}

TEST_F(HostileInputTest, TruncatedMessageEndsTheStreamWithInvalidArgument) {
  ClientMessage m;
  *m.mutable_batch()->add_ops() = R("ones", {IntsV({3}), NoneV(), NoneV()}, {1});
  std::string bytes = m.SerializeAsString();
  bytes.resize(bytes.size() - 5);  // a length prefix now runs past the end
  auto r = RawCall(address(), kStream, {bytes}, NewSessionMetadata(address()));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << r.status.error_message();
}

TEST_F(HostileInputTest, DeeplyNestedGroupsHitTheRecursionLimit) {
  // 100,000 nested start-group tags of an unknown field: a parser without a
  // depth limit would recurse off its stack.
  std::string bytes;
  for (int i = 0; i < 100000; ++i) bytes += '\x7b';  // field 15, start group
  auto r = RawCall(address(), kStream, {bytes}, NewSessionMetadata(address()));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << r.status.error_message();
}

TEST_F(HostileInputTest, InvalidUtf8InAStringFieldIsRejected) {
  ClientMessage m;
  *m.mutable_batch()->add_ops() = R("ones", {IntsV({3}), NoneV(), NoneV()}, {1});
  std::string bytes = m.SerializeAsString();
  const size_t at = bytes.find("ones");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = '\xc3';  // a lead byte followed by ASCII: not UTF-8
  auto r = RawCall(address(), kStream, {bytes}, NewSessionMetadata(address()));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << r.status.error_message();
}

TEST_F(HostileInputTest, FieldOfTheWrongWireTypeOrAnEmptyMessageIsABareAck) {
  // ClientMessage.batch (field 1) sent as a varint: protobuf keeps it as an
  // unknown field, so the message parses with no batch and no upload, which
  // is how a bare ack looks: it takes no seq and changes nothing.
  ClientMessage next;
  next.mutable_batch()->set_seq(1);
  *next.mutable_batch()->add_ops() = R("zeros", {IntsV({1}), NoneV(), NoneV()}, {1});
  auto* f = next.mutable_batch()->add_fetches();
  f->set_request_id(7);
  f->set_tensor(1);
  auto r = RawCall(address(), kStream, {std::string("\x08\x05", 2), std::string(), next.SerializeAsString()},
                   NewSessionMetadata(address()));
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_TRUE(ErrorsIn(r).empty());
  bool fetched = false;
  for (const auto& bytes : r.replies) {
    ServerMessage m;
    fetched |= m.ParseFromString(bytes) && m.has_fetch() && m.fetch().request_id() == 7 && !m.fetch().has_error();
  }
  EXPECT_TRUE(fetched) << "the batch after them did not run";
}

TEST_F(HostileInputTest, GarbageUnaryRequestsAreRefused) {
  for (const char* method : {"/tensord.v1.Runtime/Handshake", "/tensord.v1.Runtime/OpenSession",
                             "/tensord.v1.Runtime/CloseSession", "/tensord.v1.Admin/KillSession"}) {
    auto r = RawCall(address(), method, {std::string("\x0a\xff\xff\xff\xff\x0f", 6)});
    EXPECT_FALSE(r.status.ok()) << method;
    EXPECT_NE(r.status.error_code(), grpc::StatusCode::UNKNOWN) << method << ": " << r.status.error_message();
    EXPECT_TRUE(r.replies.empty()) << method;
  }
}

TEST_F(HostileInputTest, UnknownMethodIsUnimplemented) {
  auto r = RawCall(address(), "/tensord.v1.Runtime/Nope", {std::string("x")});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << r.status.error_message();
}

// ------------------------------------------------------- sessions and streams

TEST_F(HostileInputTest, StreamWithoutSessionMetadataIsInvalidArgument) {
  auto r = RawCall(address(), kStream, {});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(r.status.error_message().find("missing tensord-session metadata"), std::string::npos);
}

TEST_F(HostileInputTest, StreamForAnUnknownSessionIsNotFound) {
  for (const char* id : {"0123456789abcdef0123456789abcdef", "", "../../etc/passwd"}) {
    auto r = RawCall(address(), kStream, {}, {{"tensord-session", id}});
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::NOT_FOUND) << id;
  }
}

TEST_F(HostileInputTest, HugeMetadataIsRefusedByTheTransport) {
  auto r = RawCall(address(), kStream, {}, {{"tensord-session", std::string(64 << 10, 'a')}});
  EXPECT_FALSE(r.status.ok());
  EXPECT_NE(r.status.error_code(), grpc::StatusCode::NOT_FOUND);  // never reached the service
}

TEST_F(HostileInputTest, CloseSessionOfUnknownIdsIsNotFound) {
  auto stub = v1::Runtime::NewStub(TestChannel(address()));
  for (const char* id : {"", "0123456789abcdef0123456789abcdef"}) {
    grpc::ClientContext ctx;
    v1::CloseSessionRequest req;
    req.set_session_id(id);
    v1::CloseSessionResponse resp;
    EXPECT_EQ(stub->CloseSession(&ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(HostileInputTest, HandshakeOfProtocolZeroOrHugeIsRefused) {
  auto stub = v1::Runtime::NewStub(TestChannel(address()));
  for (uint32_t major : {0u, 0xffffffffu}) {
    grpc::ClientContext ctx;
    v1::HandshakeRequest req;
    req.set_protocol_major(major);
    v1::HandshakeResponse resp;
    EXPECT_EQ(stub->Handshake(&ctx, req, &resp).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  }
}

TEST_F(HostileInputTest, AbsurdSharedMemoryOfferOpensWithoutSharedMemory) {
  auto stub = v1::Runtime::NewStub(TestChannel(address()));
  grpc::ClientContext ctx;
  v1::OpenSessionRequest req;
  req.set_shm_region("/tensord-0123456789abcdef0123456789abcdef");
  req.set_shm_token(std::string(1000, 'x'));
  req.set_shm_region_bytes(~uint64_t{0});
  v1::OpenSessionResponse resp;
  ASSERT_TRUE(stub->OpenSession(&ctx, req, &resp).ok());
  EXPECT_FALSE(resp.shared_memory());
}

// --------------------------------------------------------- sizes and batches

TEST_F(HostileInputTest, MessageOverTheSizeLimitEndsOnlyThatStream) {
  RawSession s(address());
  RawSession bystander(address());
  bystander.Op("ones", {IntsV({2}), NoneV(), NoneV()}, {1});
  ClientMessage m;
  *m.mutable_batch()->add_ops() = R("from_data", {DataV(std::string(5 << 20, 'x')), IntsV({5 << 20}), DTypeV("uint8"), NoneV()}, {1});
  s.Send(m);
  grpc::Status st = s.Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_FALSE(bystander.Fetch(1).has_error());
}

TEST_F(HostileInputTest, UnaryRequestOverTheSizeLimitIsResourceExhausted) {
  auto stub = v1::Runtime::NewStub(TestChannel(address()));
  grpc::ClientContext ctx;
  v1::OpenSessionRequest req;
  req.set_client_name(std::string(5 << 20, 'n'));
  v1::OpenSessionResponse resp;
  EXPECT_EQ(stub->OpenSession(&ctx, req, &resp).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(HostileInputTest, BatchOverTheOpLimitFailsWhole) {
  RawSession s(address());
  ClientMessage m;
  for (uint64_t id = 1; id <= 1001; ++id) *m.mutable_batch()->add_ops() = R("zeros", {IntsV({1}), NoneV(), NoneV()}, {id});
  ASSERT_TRUE(s.Send(m));
  auto e = s.NextError();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(e->message().find("max_ops_per_batch"), std::string::npos);
  EXPECT_TRUE(s.Fetch(1001).has_error());
}

TEST_F(HostileInputTest, HundredThousandReleasesAndThousandsOfBadFetchesInOneBatch) {
  RawSession s(address());
  s.Op("ones", {IntsV({2}), NoneV(), NoneV()}, {1});
  ClientMessage m;
  for (uint64_t id = 2; id < 100000; ++id) m.mutable_batch()->add_releases(id);
  for (uint64_t r = 1000; r < 6000; ++r) {
    auto* f = m.mutable_batch()->add_fetches();
    f->set_request_id(r);
    f->set_tensor(77);
  }
  ASSERT_TRUE(s.Send(m));
  auto ok = s.Fetch(1);  // answered after all 5,000 refusals
  EXPECT_FALSE(ok.has_error()) << ok.error().message();
  EXPECT_EQ(ok.data().size(), 8u);
}

TEST_F(HostileInputTest, ReleasingUnknownAndDaemonIdsIsHarmless) {
  RawSession s(address());
  s.Op("ones", {IntsV({2}), NoneV(), NoneV()}, {1});
  s.Release(0);
  s.Release(~uint64_t{0});
  s.Release(12345);
  EXPECT_FALSE(s.Fetch(1).has_error());
}

// ------------------------------------------------------------------- uploads

ClientMessage Upload(uint64_t id, const std::string& dtype, std::vector<int64_t> sizes,
                     uint64_t offset, std::string data, bool last) {
  ClientMessage m;
  auto* u = m.mutable_upload();
  u->set_tensor(id);
  u->set_dtype(dtype);
  for (auto s : sizes) u->add_sizes(s);
  u->set_offset(offset);
  u->set_data(std::move(data));
  u->set_last(last);
  return m;
}

void ExpectUploadError(const std::vector<ClientMessage>& chunks, const std::string& message,
                       uint64_t poisoned_id) {
  RawSession s(HostileInputTest::daemon_address());
  for (const auto& c : chunks) ASSERT_TRUE(s.Send(c));
  auto e = s.NextError();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->op(), "upload");
  EXPECT_NE(e->message().find(message), std::string::npos) << e->message();
  if (poisoned_id) EXPECT_TRUE(s.Fetch(poisoned_id).has_error());
}

TEST_F(HostileInputTest, UploadChunkAtTheWrongOffset) {
  ExpectUploadError({Upload(1, "uint8", {10}, 5, "abc", false)}, "does not continue", 1);
}

TEST_F(HostileInputTest, UploadWithMoreBytesThanTheTensor) {
  ExpectUploadError({Upload(1, "uint8", {4}, 0, "abcdefgh", true)}, "does not continue", 1);
}

TEST_F(HostileInputTest, UploadOffsetNearTwoToThe64) {
  ExpectUploadError({Upload(1, "uint8", {4}, 0, "ab", false), Upload(1, "", {}, ~uint64_t{0} - 1, "abcd", true)},
                    "does not continue", 1);
}

TEST_F(HostileInputTest, UploadThatEndsEarly) {
  ExpectUploadError({Upload(1, "float32", {4}, 0, "abcd", true)}, "ended after 4 of 16 bytes", 1);
}

TEST_F(HostileInputTest, UploadWithANegativeSize) {
  ExpectUploadError({Upload(1, "float32", {4, -1}, 0, "", true)}, "negative size", 1);
}

TEST_F(HostileInputTest, UploadWithAnUnknownDType) {
  ExpectUploadError({Upload(1, "complex256", {4}, 0, "", true)}, "unknown dtype 'complex256'", 1);
}

TEST_F(HostileInputTest, UploadWhoseSizeOverflows) {
  ExpectUploadError({Upload(1, "float64", {int64_t{1} << 31, int64_t{1} << 31, 4}, 0, "", true)},
                    "Storage size calculation overflowed", 1);
}

// Found by the fuzzer: an empty tensor may have other sizes whose product
// does not fit in 64 bits (torch.empty(2**62, 0, 2**62) is legal); its
// strides wrap as ATen's do instead of overflowing (UB) in the daemon.
TEST_F(HostileInputTest, EmptyUploadWhoseOtherSizesOverflow) {
  RawSession s(address());
  ASSERT_TRUE(s.Send(Upload(1, "float16", {0, 98, int64_t{1} << 62, int64_t{1} << 62, 127}, 0, "", true)));
  ASSERT_TRUE(s.Send(Upload(2, "float16", {int64_t{1} << 62, int64_t{1} << 62, 0}, 0, "", true)));
  EXPECT_FALSE(s.Fetch(1).has_error());
  EXPECT_FALSE(s.Fetch(2).has_error());
}

TEST_F(HostileInputTest, UploadOverTheTensorLimit) {
  ExpectUploadError({Upload(1, "float32", {1 << 20}, 0, "", false)}, "max_tensor_bytes", 1);
}

TEST_F(HostileInputTest, UploadOntoALiveIdOrIdZero) {
  RawSession s(address());
  s.Op("ones", {IntsV({2}), NoneV(), NoneV()}, {1});
  ASSERT_TRUE(s.Send(Upload(1, "uint8", {1}, 0, "a", true)));
  auto e = s.NextError();
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->message().find("already in use"), std::string::npos) << e->message();
  EXPECT_FALSE(s.Fetch(1).has_error());  // the live tensor is untouched
  ASSERT_TRUE(s.Send(Upload(0, "uint8", {1}, 0, "a", true)));
  e = s.NextError();
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->message().find("tensor id 0 is reserved"), std::string::npos) << e->message();
}

TEST_F(HostileInputTest, RegionUploadWithoutARegion) {
  ClientMessage m = Upload(1, "uint8", {16}, 0, "", true);
  m.mutable_upload()->set_region_offset(~uint64_t{0} - 8);
  m.mutable_upload()->set_region_bytes(16);
  ExpectUploadError({m}, "no shared-memory region", 1);
}

// ------------------------------------------------------------------- fetches

TEST_F(HostileInputTest, FetchOfReleasedAndNeverCreatedIds) {
  RawSession s(address());
  s.Op("ones", {IntsV({2}), NoneV(), NoneV()}, {1});
  s.Release(1);
  for (uint64_t id : {uint64_t{1}, uint64_t{0}, uint64_t{424242}, ~uint64_t{0}}) {
    auto r = s.Fetch(id);
    ASSERT_TRUE(r.has_error()) << id;
    EXPECT_EQ(r.error().code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_NE(r.error().message().find("unknown tensor id"), std::string::npos);
  }
}

TEST_F(HostileInputTest, FetchOfAHugeBroadcastViewIsResourceExhausted) {
  // expand() would make 2^40 elements out of one without allocating, and a
  // fetch would need 4 TiB of contiguous copy: the daemon refuses the view
  // (and would refuse the fetch).
  RawSession s(address());
  s.Op("ones", {IntsV({1}), NoneV(), NoneV()}, {1});
  s.Op("expand", {TensorV(1), IntsV({int64_t{1} << 40})}, {2});
  auto r = s.Fetch(2);
  ASSERT_TRUE(r.has_error()) << "a 4 TiB fetch was answered";
  EXPECT_EQ(r.error().code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(r.error().message().find("max_tensor_bytes"), std::string::npos) << r.error().message();
  // Metadata of the view is still fine to ask for.
  ClientMessage m;
  auto* f = m.mutable_batch()->add_fetches();
  f->set_request_id(77);
  f->set_tensor(2);
  f->set_metadata_only(true);
  ASSERT_TRUE(s.Send(m));
}

TEST_F(HostileInputTest, CallbackReplyNobodyAskedForIsIgnored) {
  RawSession s(address());
  ClientMessage m;
  m.mutable_batch()->mutable_callback_reply()->set_callback_id(12345);
  m.mutable_batch()->mutable_callback_reply()->add_results(99);
  ASSERT_TRUE(s.Send(m));
  s.Op("ones", {IntsV({2}), NoneV(), NoneV()}, {1});
  EXPECT_FALSE(s.Fetch(1).has_error());
}

// ---------------------------------------------------------- sequence numbers
// Every batch and upload chunk takes the session's next seq (protocol.md,
// re-attaching): a replay is dropped, a gap or a missing seq ends the stream.

ClientMessage SeqBatch(uint64_t seq, v1::OpRecord rec) {
  ClientMessage m;
  m.mutable_batch()->set_seq(seq);
  *m.mutable_batch()->add_ops() = std::move(rec);
  return m;
}

TEST_F(HostileInputTest, ReplayedBatchIsNotAppliedTwice) {
  RawSession s(address());
  ASSERT_TRUE(s.Send(SeqBatch(1, R("arange", {IntV(0), IntV(3), IntV(1), NoneV(), NoneV()}, {1}))));
  ClientMessage add = SeqBatch(2, R("add_", {TensorV(1), IntV(10), IntV(1)}, {}));
  ASSERT_TRUE(s.Send(add));
  ASSERT_TRUE(s.Send(add));  // the same seq again: a resend, dropped
  ASSERT_TRUE(s.Send(add));
  auto r = s.Fetch(1);
  ASSERT_FALSE(r.has_error()) << r.error().message();
  int64_t v[3];
  ASSERT_EQ(r.data().size(), sizeof v);
  std::memcpy(v, r.data().data(), sizeof v);
  EXPECT_EQ(v[0], 10);
  EXPECT_EQ(v[2], 12);
}

TEST_F(HostileInputTest, SeqGapEndsTheStreamNamingTheMissingSeqs) {
  RawSession s(address());
  ASSERT_TRUE(s.Send(SeqBatch(1, R("zeros", {IntsV({1}), NoneV(), NoneV()}, {1}))));
  s.Send(SeqBatch(~uint64_t{0}, R("zeros", {IntsV({1}), NoneV(), NoneV()}, {2})));
  grpc::Status st = s.Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  EXPECT_NE(st.error_message().find("are missing"), std::string::npos) << st.error_message();
}

TEST_F(HostileInputTest, BatchWithoutASeqEndsTheStream) {
  auto r = RawCall(address(), kStream, {SeqBatch(0, R("zeros", {IntsV({1}), NoneV(), NoneV()}, {1})).SerializeAsString()},
                   NewSessionMetadata(address()));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << r.status.error_message();
  EXPECT_NE(r.status.error_message().find("without a seq"), std::string::npos) << r.status.error_message();
}

// ------------------------------------------------------------ authentication
// Without a tenants file (this daemon) every call is the implicit admin
// tenant's and a token is ignored; the daemon then listens only on loopback
// or a Unix socket. TenantsFile below runs the same calls against a daemon
// with tenants (tests/cpp/auth_test.cc covers authentication in depth).

TEST_F(HostileInputTest, WithoutATenantsFileTokenlessCallsAreServed) {
  auto stub = v1::Runtime::NewStub(TestChannel(address()));
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer not-a-real-token");
  v1::OpenSessionRequest req;
  v1::OpenSessionResponse resp;
  EXPECT_TRUE(stub->OpenSession(&ctx, req, &resp).ok());
  auto admin = v1::Admin::NewStub(TestChannel(address()));
  grpc::ClientContext actx;
  v1::StatusRequest sreq;
  v1::StatusResponse sresp;
  EXPECT_TRUE(admin->Status(&actx, sreq, &sresp).ok());
}

// ------------------------------------------------------------ slow clients

TEST_F(HostileInputTest, IdleStreamsDoNotBlockOtherSessions) {
  std::vector<std::unique_ptr<RawSession>> idle;
  for (int i = 0; i < 32; ++i) idle.push_back(std::make_unique<RawSession>(address(), "idle"));
  ExpectServing(address());
  // One of them starts an upload and never finishes it.
  ASSERT_TRUE(idle[0]->Send(Upload(1, "float32", {1000}, 0, std::string(100, 'a'), false)));
  ExpectServing(address());
}

std::string SocketPath(const std::string& address) { return address.substr(std::string("unix:").size()); }

int ConnectUnix(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path.c_str());
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{0, 100 * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

// True once the daemon closed the connection (read returns 0 or an error).
bool ClosedByPeer(int fd) {
  char buf[256];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n == 0) return true;
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
  }
}

TEST_F(HostileInputTest, DripFedHandshakeIsCutOffWhileOthersAreServed) {
  // The HTTP/2 preface, one byte every 100 ms: slower than the 1 s
  // handshake timeout this daemon runs with.
  const std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  int fd = ConnectUnix(SocketPath(address()));
  ASSERT_GE(fd, 0);
  std::atomic<bool> stop{false};
  std::thread others([&] {
    while (!stop) ExpectServing(address());
  });
  bool closed = false;
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < 60 && !closed; ++i) {
    (void)send(fd, preface.data() + (i % preface.size()), 1, MSG_NOSIGNAL);
    closed = ClosedByPeer(fd);
  }
  const auto waited = std::chrono::steady_clock::now() - start;
  stop = true;
  others.join();
  close(fd);
  EXPECT_TRUE(closed) << "the daemon kept a drip-fed connection open for 6 s";
  EXPECT_LT(waited, std::chrono::seconds(5));
}

TEST_F(HostileInputTest, NonHttp2BytesOnTheSocketAreDropped) {
  int fd = ConnectUnix(SocketPath(address()));
  ASSERT_GE(fd, 0);
  const std::string junk = "GET / HTTP/1.1\r\nHost: x\r\n\r\n" + std::string(4096, '\0');
  (void)send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
  bool closed = false;
  for (int i = 0; i < 50 && !closed; ++i) closed = ClosedByPeer(fd);
  close(fd);
  EXPECT_TRUE(closed);
}

TEST_F(HostileInputTest, AbandonedConnectionsAndStreamsLeakNoDescriptors) {
  ExpectServing(address());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const size_t before = OpenFds(daemon_->pid());
  for (int round = 0; round < 3; ++round) {
    std::vector<int> raw;
    for (int i = 0; i < 50; ++i) raw.push_back(ConnectUnix(SocketPath(address())));
    {
      std::vector<std::unique_ptr<RawSession>> streams;
      for (int i = 0; i < 20; ++i) streams.push_back(std::make_unique<RawSession>(address(), "abandoned"));
    }  // cancelled without a word
    for (int fd : raw) close(fd);
  }
  // The daemon notices closed sockets asynchronously.
  size_t after = 0;
  for (int i = 0; i < 50; ++i) {
    after = OpenFds(daemon_->pid());
    if (after <= before + 4) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_LE(after, before + 4) << "descriptors before " << before << ", after " << after;
}

// ----------------------------------------------------------- admin actions

TEST_F(HostileInputTest, AdminKillEndsAHostileSessionOnly) {
  RawSession hostile(address(), "hostile");
  RawSession bystander(address(), "bystander");
  bystander.Op("ones", {IntsV({2}), NoneV(), NoneV()}, {1});
  hostile.Op("ones", {IntsV({2}), NoneV(), NoneV()}, {1});
  ASSERT_FALSE(hostile.Fetch(1).has_error());
  auto admin = v1::Admin::NewStub(TestChannel(address()));
  {
    grpc::ClientContext ctx;
    v1::KillSessionRequest req;
    req.set_session_id(hostile.id().substr(0, 3));
    v1::KillSessionResponse resp;
    EXPECT_EQ(admin->KillSession(&ctx, req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext ctx;
    v1::KillSessionRequest req;
    req.set_session_id(hostile.id().substr(0, 8));
    v1::KillSessionResponse resp;
    ASSERT_TRUE(admin->KillSession(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.id_prefix(), hostile.id().substr(0, 8));
  }
  grpc::Status st = hostile.Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_NE(st.error_message().find("killed by an administrator"), std::string::npos);
  EXPECT_FALSE(bystander.Fetch(1).has_error());
  // Killed is gone: it cannot be re-attached or killed twice.
  grpc::ClientContext ctx;
  v1::KillSessionRequest req;
  req.set_session_id(hostile.id());
  v1::KillSessionResponse resp;
  EXPECT_EQ(admin->KillSession(&ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  auto r = RawCall(address(), kStream, {}, {{"tensord-session", hostile.id()}});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace tensord::testing
