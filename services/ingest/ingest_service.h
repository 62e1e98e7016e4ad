#ifndef SIFT_SERVICES_INGEST_INGEST_SERVICE_H_
#define SIFT_SERVICES_INGEST_INGEST_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>

#include "common/server/executor.h"
#include "services/ingest/ingest_handler.h"
#include "sift/v1/ingest.grpc.pb.h"

namespace sift::ingest {

struct IngestServiceOptions {
  // IndexStream lists at most this many rejections; later ones are only
  // counted in `rejected` (--max_stream_rejections).
  size_t max_stream_rejections = 10'000;
};

// The gRPC face of IngestHandler. Every call's work runs on `executor`; a
// call that finds its queue full fails with RESOURCE_EXHAUSTED. IndexStream
// reads one message, processes it, and only then reads the next, so a
// stream holds at most one message in memory and gRPC flow control holds
// the client back while shards catch up. `handler` and `executor` are not
// owned and must outlive the server.
class IngestServiceImpl final : public v1::IngestService::CallbackService {
 public:
  IngestServiceImpl(const IngestHandler* handler, Executor* executor,
                    IngestServiceOptions options = {});

  grpc::ServerUnaryReactor* Index(grpc::CallbackServerContext* context,
                                  const v1::IndexRequest* request,
                                  v1::IndexResponse* response) override;
  grpc::ServerReadReactor<v1::IndexRequest>* IndexStream(
      grpc::CallbackServerContext* context,
      v1::IndexStreamResponse* response) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* context,
                                   const v1::DeleteRequest* request,
                                   v1::DeleteResponse* response) override;

 private:
  const IngestHandler* const handler_;
  Executor* const executor_;
  const IngestServiceOptions options_;
};

}  // namespace sift::ingest

#endif  // SIFT_SERVICES_INGEST_INGEST_SERVICE_H_
