#include "tools/siftctl/ingest_runner.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "common/sync/mutex.h"
#include "tools/siftctl/batcher.h"

namespace sift::siftctl {
namespace {

bool IsRetriableCall(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable ||
         code == absl::StatusCode::kResourceExhausted;
}

// Per-document codes that ingest.proto says may succeed when sent again.
bool IsRetriableDocument(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable ||
         code == absl::StatusCode::kDeadlineExceeded;
}

absl::Duration Backoff(const RetryPolicy& retry, int attempt) {
  absl::Duration wait = retry.initial_backoff;
  for (int i = 1; i < attempt && wait < retry.max_backoff; ++i) wait *= 2;
  return std::min(wait, retry.max_backoff);
}

// The reading thread fills a queue of batches that `max_in_flight` sending
// threads drain; a small queue keeps reading just ahead of sending.
class IngestPipeline {
 public:
  IngestPipeline(v1::IngestService::StubInterface& stub,
                 const IngestRunOptions& options)
      : stub_(stub),
        options_(options),
        senders_(std::max(1, options.max_in_flight)),
        queue_limit_(static_cast<size_t>(senders_)),
        start_(absl::Now()) {}

  IngestOutcome Run(DocumentSource& source) {
    std::vector<std::thread> senders;
    for (int i = 0; i < senders_; ++i) {
      senders.emplace_back([this] { SendLoop(); });
    }
    std::thread progress;
    if (options_.on_progress) {
      progress = std::thread([this] { ProgressLoop(); });
    }

    ReadAll(source);
    {
      MutexLock lock(&mu_);
      reading_done_ = true;
      work_or_done_.SignalAll();
    }
    for (std::thread& t : senders) t.join();
    {
      MutexLock lock(&mu_);
      finished_ = true;
      finished_set_.SignalAll();
    }
    if (progress.joinable()) progress.join();

    MutexLock lock(&mu_);
    IngestOutcome outcome;
    outcome.counts = counts_;
    outcome.rejections = std::move(rejections_);
    outcome.elapsed = absl::Now() - start_;
    outcome.stopped = stopped_;
    return outcome;
  }

 private:
  void ReadAll(DocumentSource& source) {
    Batcher batcher(options_.max_batch_documents, options_.max_batch_bytes);
    SourceDocument document;
    while (!Stopped()) {
      absl::StatusOr<bool> got = source.Next(&document);
      if (!got.ok()) {
        const absl::StatusCode code = got.status().code();
        MutexLock lock(&mu_);
        // A document that cannot be sent as it is counts as rejected; a
        // file that cannot be read as a read error.
        if (code == absl::StatusCode::kInvalidArgument ||
            code == absl::StatusCode::kResourceExhausted) {
          ++counts_.rejected;
        } else {
          ++counts_.read_errors;
        }
        rejections_.push_back({document.sequence, source.error_origin(), "",
                               got.status().code(),
                               std::string(got.status().message())});
        continue;
      }
      if (!*got) break;
      if (std::optional<Batch> full = batcher.Add(std::move(document))) {
        Enqueue(std::move(*full));
      }
    }
    if (std::optional<Batch> last = batcher.Finish()) {
      Enqueue(std::move(*last));
    }
  }

  bool Stopped() {
    MutexLock lock(&mu_);
    return !stopped_.ok();
  }

  void Enqueue(Batch batch) {
    MutexLock lock(&mu_);
    while (!HasRoom()) room_.Wait(&mu_);
    queue_.push_back(std::move(batch));
    work_or_done_.Signal();
  }

  bool HasRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return queue_.size() < queue_limit_;
  }

  bool HasWorkOrDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !queue_.empty() || reading_done_;
  }

  void SendLoop() {
    while (true) {
      Batch batch;
      absl::Status stopped;
      {
        MutexLock lock(&mu_);
        while (!HasWorkOrDone()) work_or_done_.Wait(&mu_);
        if (queue_.empty()) return;
        batch = std::move(queue_.front());
        queue_.pop_front();
        room_.Signal();
        stopped = stopped_;
      }
      if (!stopped.ok()) {
        std::vector<size_t> all(batch.size());
        for (size_t i = 0; i < all.size(); ++i) all[i] = i;
        RejectAll(batch, all, stopped.code(),
                  absl::StrCat("not sent after an earlier batch failed: ",
                               stopped.message()));
        continue;
      }
      Send(batch);
    }
  }

  // Sends `batch`, resending the documents that may succeed later.
  void Send(const Batch& batch) {
    {
      MutexLock lock(&mu_);
      counts_.sent += batch.size();
      counts_.bytes += batch.bytes;
    }
    std::vector<size_t> pending(batch.size());
    for (size_t i = 0; i < pending.size(); ++i) pending[i] = i;
    size_t accepted_here = 0;
    // The last "try again later" a document was still given at the end.
    absl::Status gave_up;
    for (int attempt = 1;; ++attempt) {
      const bool last_attempt = attempt >= options_.retry.max_attempts;
      v1::IndexRequest partial;
      if (pending.size() != batch.size()) {
        for (size_t i : pending) {
          *partial.add_documents() = batch.request.documents(i);
        }
      }
      const v1::IndexRequest& request =
          pending.size() == batch.size() ? batch.request : partial;
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
      v1::IndexResponse response;
      const absl::Status status =
          FromGrpcStatus(stub_.Index(&context, request, &response));
      if (!status.ok()) {
        if (IsRetriableCall(status.code()) && !last_attempt && !Stopped()) {
          absl::SleepFor(Backoff(options_.retry, attempt));
          continue;
        }
        const std::string reason = ExplainRpcError(
            status, "ingest", options_.address, options_.timeout);
        RejectAll(batch, pending, status.code(), reason);
        Stop(absl::Status(status.code(), reason));
        return;
      }
      std::vector<size_t> again;
      std::vector<bool> answered(pending.size(), false);
      {
        MutexLock lock(&mu_);
        for (const v1::DocumentResult& result : response.results()) {
          if (result.position() >= pending.size() ||
              answered[result.position()]) {
            continue;
          }
          answered[result.position()] = true;
          const size_t index = pending[result.position()];
          const auto code = static_cast<absl::StatusCode>(result.code());
          if (code == absl::StatusCode::kOk) {
            ++counts_.accepted;
            ++accepted_here;
          } else if (IsRetriableDocument(code) && !last_attempt) {
            again.push_back(index);
          } else {
            if (IsRetriableDocument(code)) {
              gave_up = absl::Status(code, result.message());
            }
            ++counts_.rejected;
            rejections_.push_back({batch.sequences[index], batch.origins[index],
                                   result.id(), code, result.message()});
          }
        }
      }
      std::vector<size_t> unanswered;
      for (size_t i = 0; i < pending.size(); ++i) {
        if (!answered[i]) unanswered.push_back(pending[i]);
      }
      RejectAll(batch, unanswered, absl::StatusCode::kInternal,
                "the ingest service returned no result for this document");
      if (again.empty()) {
        // Not one document of the batch could be stored even after
        // retries: a shard is down, and every later batch would wait
        // through the same retries, so stop here.
        if (accepted_here == 0 && !gave_up.ok()) {
          Stop(absl::Status(
              gave_up.code(),
              absl::StrCat("no document of a batch could be stored: ",
                           gave_up.message())));
        }
        return;
      }
      std::sort(again.begin(), again.end());
      pending = std::move(again);
      absl::SleepFor(Backoff(options_.retry, attempt));
    }
  }

  void RejectAll(const Batch& batch, const std::vector<size_t>& indexes,
                 absl::StatusCode code, const std::string& reason) {
    MutexLock lock(&mu_);
    for (size_t i : indexes) {
      ++counts_.rejected;
      rejections_.push_back(
          {batch.sequences[i], batch.origins[i], "", code, reason});
    }
  }

  void Stop(absl::Status reason) {
    MutexLock lock(&mu_);
    if (stopped_.ok()) stopped_ = std::move(reason);
  }

  void ProgressLoop() {
    while (true) {
      IngestCounts snapshot;
      {
        MutexLock lock(&mu_);
        // Until finished_ is set or the interval has passed.
        const absl::Time wake = absl::Now() + options_.progress_interval;
        while (!finished_ && !finished_set_.WaitWithDeadline(&mu_, wake)) {
        }
        if (finished_) return;
        snapshot = counts_;
      }
      options_.on_progress(snapshot, absl::Now() - start_);
    }
  }

  v1::IngestService::StubInterface& stub_;
  const IngestRunOptions& options_;
  const int senders_;
  const size_t queue_limit_;
  const absl::Time start_;

  Mutex mu_;
  // Signalled when queue_ shrinks (HasRoom may have become true).
  CondVar room_;
  // Signalled when queue_ grows or reading_done_ is set (HasWorkOrDone).
  CondVar work_or_done_;
  // Signalled when finished_ is set.
  CondVar finished_set_;
  std::deque<Batch> queue_ ABSL_GUARDED_BY(mu_);
  bool reading_done_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status stopped_ ABSL_GUARDED_BY(mu_);
  IngestCounts counts_ ABSL_GUARDED_BY(mu_);
  std::vector<Rejection> rejections_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

IngestOutcome RunIngest(v1::IngestService::StubInterface& stub,
                        DocumentSource& source,
                        const IngestRunOptions& options) {
  IngestPipeline pipeline(stub, options);
  return pipeline.Run(source);
}

}  // namespace sift::siftctl
