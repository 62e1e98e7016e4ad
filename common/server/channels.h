#ifndef SIFT_COMMON_SERVER_CHANNELS_H_
#define SIFT_COMMON_SERVER_CHANNELS_H_

// Where every Sift process gets the credentials of its listening ports and
// makes its gRPC channels (to shards, copies, coordinators and etcd
// members): one place, so that transport security is set once for servers
// and clients alike. Today both sides are plaintext; every server listens
// on the addresses its deployment gives it (loopback in tests).

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace sift {

// Largest gRPC message any Sift server or client accepts: a full ingest
// batch (64 MiB) plus framing.
inline constexpr int kMaxGrpcMessageBytes = 80 << 20;

// Credentials of every server's listening port.
std::shared_ptr<grpc::ServerCredentials> ServerCredentials();

// Credentials of every channel a Sift process makes.
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials();

// The arguments Sift's channels start from: messages of up to
// kMaxGrpcMessageBytes each way (gRPC's default receive limit is 4 MiB,
// less than a batch of documents or a page of full hits).
grpc::ChannelArguments DefaultChannelArguments();

// A channel to `target` ("host:port") with `args`.
std::shared_ptr<grpc::Channel> MakeChannel(
    const std::string& target,
    const grpc::ChannelArguments& args = DefaultChannelArguments());

}  // namespace sift

#endif  // SIFT_COMMON_SERVER_CHANNELS_H_
