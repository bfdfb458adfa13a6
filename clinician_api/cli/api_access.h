// How the command line's server-backed commands reach a service: the channel they open, how a
// failed call becomes an exit code, one unary call with the CLI's deadline, and a reply as JSON.
#pragma once

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace healthtwin::cli {

struct ApiAccess {
  // Opens the mutual-TLS channel to the service (exits 2 on bad credentials).
  std::function<std::shared_ptr<grpc::Channel>()> open;
  // Reports a failed call and returns the exit code.
  std::function<int(const grpc::Status&)> fail;
};

// Calls `method` on a stub over api.open() with a 15 s deadline: 0, or api.fail(status).
template <typename Stub, typename Req, typename Resp>
int CallUnary(const ApiAccess& api, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
              const Req& req, Resp* resp) {
  Stub stub(api.open());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
  auto s = (stub.*method)(&ctx, req, resp);
  return s.ok() ? 0 : api.fail(s);
}

// `m` as JSON with the .proto field names.
inline nlohmann::json ProtoToJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string text;
  (void)google::protobuf::util::MessageToJsonString(m, &text, options);
  return nlohmann::json::parse(text);
}

}  // namespace healthtwin::cli
