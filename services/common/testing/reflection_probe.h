// Test helper: a server-reflection list_services call made generically, for tests that check who
// may use reflection and what it lists.
#pragma once

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace healthtwin::common::testing {

struct ReflectionReply {
  grpc::Status status;
  std::string response;  // the first response message, serialized
};

// grpc.reflection.v1alpha.ServerReflection, called generically (Debian ships no reflection
// proto): ServerReflectionRequest{list_services: "*"} is field 7, "*".
inline ReflectionReply ListServices(const std::shared_ptr<grpc::Channel>& channel,
                                    std::chrono::seconds deadline = std::chrono::seconds(5)) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  auto next = [&cq](void* expected) {
    void* tag = nullptr;
    bool ok = false;
    return cq.Next(&tag, &ok) && tag == expected && ok;
  };
  int start_tag = 1, write_tag = 2, read_tag = 3, finish_tag = 4;
  ReflectionReply reply;
  call->StartCall(&start_tag);
  if (next(&start_tag)) {
    const char request[] = {0x3a, 0x01, '*'};
    grpc::Slice slice(request, sizeof request);
    grpc::ByteBuffer out(&slice, 1);
    call->WriteLast(out, grpc::WriteOptions(), &write_tag);
    next(&write_tag);
    grpc::ByteBuffer in;
    call->Read(&in, &read_tag);
    if (next(&read_tag)) {
      std::vector<grpc::Slice> slices;
      if (in.Dump(&slices).ok()) {
        for (const auto& s : slices) reply.response.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
  }
  call->Finish(&reply.status, &finish_tag);
  next(&finish_tag);
  cq.Shutdown();
  void* ignored_tag;
  bool ignored_ok;
  while (cq.Next(&ignored_tag, &ignored_ok)) {
  }
  return reply;
}

// Answers QueryVitals with the outcome of RequireRole(service): shows the identity a handler sees.

}  // namespace healthtwin::common::testing
