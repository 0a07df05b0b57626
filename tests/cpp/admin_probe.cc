// admin_probe ADDRESS status|sessions: prints the Admin service's answer as
// JSON, for tests written in Python (the soak test) that have no gRPC.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <string>

#include "tensord/v1/admin.grpc.pb.h"

int main(int argc, char** argv) {
  using namespace tensord;
  if (argc != 3) {
    std::fprintf(stderr, "usage: admin_probe ADDRESS status|sessions\n");
    return 2;
  }
  auto stub = v1::Admin::NewStub(grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  const std::string what = argv[2];
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  grpc::Status st;
  if (what == "status") {
    v1::StatusResponse resp;
    st = stub->Status(&ctx, v1::StatusRequest(), &resp);
    (void)google::protobuf::util::MessageToJsonString(resp, &json, options);
  } else if (what == "sessions") {
    v1::ListSessionsResponse resp;
    st = stub->ListSessions(&ctx, v1::ListSessionsRequest(), &resp);
    (void)google::protobuf::util::MessageToJsonString(resp, &json, options);
  } else {
    std::fprintf(stderr, "admin_probe: unknown request '%s'\n", what.c_str());
    return 2;
  }
  if (!st.ok()) {
    std::fprintf(stderr, "admin_probe: %s\n", st.error_message().c_str());
    return 1;
  }
  std::printf("%s\n", json.c_str());
  return 0;
}
