#include "services/ingest/ingest_service.h"

#include <atomic>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/server/server_runner.h"
#include "common/status/grpc_status.h"
#include "common/sync/handoff.h"
#include "services/ingest/ingest_results.h"

namespace sift::ingest {
namespace {

absl::Time DeadlineOf(const grpc::CallbackServerContext* context) {
  const auto deadline = context->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

grpc::Status Overloaded() {
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      "ingest is overloaded (its work queue is full); retry "
                      "with backoff");
}

// Reads one IndexRequest at a time; each is processed on the executor and
// only then is the next one read. Reads, processing and Finish never
// overlap, so only `cancelled_` is touched from two threads at once. gRPC
// orders each StartRead and Finish before the reaction that follows it;
// HappensBefore/HappensAfter(this) show that ordering to ThreadSanitizer.
class IndexStreamReactor final
    : public grpc::ServerReadReactor<v1::IndexRequest> {
 public:
  IndexStreamReactor(const IngestHandler* handler, Executor* executor,
                     grpc::CallbackServerContext* context,
                     v1::IndexStreamResponse* response, size_t max_rejections)
      : handler_(handler),
        executor_(executor),
        deadline_(DeadlineOf(context)),
        response_(response),
        tally_(max_rejections) {
    Read();
  }

  void OnReadDone(bool ok) override {
    HappensAfter(this);
    if (!ok) {
      // The client half-closed (or the call is gone): report the tally.
      Done(grpc::Status::OK);
      return;
    }
    if (!executor_->TrySchedule([this] { Process(); })) {
      Done(grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("ingest is overloaded (its work queue is full); the "
                       "stream stopped at position ",
                       tally_.documents(), " after ",
                       tally_.response().accepted(),
                       " accepted documents; resend from that position "
                       "with backoff")));
    }
  }

  void OnCancel() override { cancelled_.store(true); }

  void OnDone() override {
    HappensAfter(this);
    delete this;
  }

 private:
  void Process() {
    const uint64_t first = tally_.documents();
    if (message_.documents_size() > 0) {
      absl::StatusOr<v1::IndexResponse> result =
          handler_->Index(message_.documents(), deadline_, first,
                          [this] { return cancelled_.load(); });
      if (result.ok()) {
        tally_.Add(std::move(*result));
      } else {
        // A message refused as a whole (too many documents or bytes)
        // rejects each of its documents; the stream goes on.
        tally_.RejectMessage(message_, first, result.status());
      }
    }
    if (cancelled_.load()) {
      Done(grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled"));
      return;
    }
    message_.Clear();
    Read();
  }

  void Read() {
    HappensBefore(this);
    StartRead(&message_);
  }

  void Done(const grpc::Status& status) {
    if (status.ok()) *response_ = tally_.response();
    HappensBefore(this);
    Finish(status);
  }

  const IngestHandler* const handler_;
  Executor* const executor_;
  const absl::Time deadline_;
  v1::IndexStreamResponse* const response_;
  StreamTally tally_;
  v1::IndexRequest message_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace

IngestServiceImpl::IngestServiceImpl(const IngestHandler* handler,
                                     Executor* executor,
                                     IngestServiceOptions options)
    : handler_(handler), executor_(executor), options_(options) {}

grpc::ServerUnaryReactor* IngestServiceImpl::Index(
    grpc::CallbackServerContext* context, const v1::IndexRequest* request,
    v1::IndexResponse* response) {
  PublishedBy(this);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const bool scheduled =
      executor_->TrySchedule([this, context, request, response, reactor] {
        absl::StatusOr<v1::IndexResponse> result =
            handler_->Index(request->documents(), DeadlineOf(context), 0,
                            [context] { return context->IsCancelled(); });
        if (result.ok()) *response = std::move(*result);
        reactor->Finish(ToGrpcStatus(result.status()));
      });
  if (!scheduled) reactor->Finish(Overloaded());
  return reactor;
}

grpc::ServerReadReactor<v1::IndexRequest>* IngestServiceImpl::IndexStream(
    grpc::CallbackServerContext* context, v1::IndexStreamResponse* response) {
  PublishedBy(this);
  return new IndexStreamReactor(handler_, executor_, context, response,
                                options_.max_stream_rejections);
}

grpc::ServerUnaryReactor* IngestServiceImpl::Delete(
    grpc::CallbackServerContext* context, const v1::DeleteRequest* request,
    v1::DeleteResponse* response) {
  PublishedBy(this);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const bool scheduled =
      executor_->TrySchedule([this, context, request, response, reactor] {
        absl::StatusOr<v1::DeleteResponse> result =
            handler_->Delete(request->ids(), DeadlineOf(context),
                             [context] { return context->IsCancelled(); });
        if (result.ok()) *response = std::move(*result);
        reactor->Finish(ToGrpcStatus(result.status()));
      });
  if (!scheduled) reactor->Finish(Overloaded());
  return reactor;
}

}  // namespace sift::ingest
