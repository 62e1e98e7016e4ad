#ifndef SIFT_SERVICES_INGEST_INGEST_HANDLER_H_
#define SIFT_SERVICES_INGEST_INGEST_HANDLER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/analysis/analyzer.h"
#include "common/server/executor.h"
#include "google/protobuf/repeated_field.h"
#include "services/ingest/document_validator.h"
#include "services/ingest/retry_policy.h"
#include "services/storage/shard_directory.h"
#include "services/storage/storage_client.h"
#include "sift/v1/ingest.pb.h"
#include "sift/v1/storage.pb.h"

namespace sift::ingest {

struct IngestOptions {
  IngestLimits limits;
  RetryPolicy retry;
  // The longest one call may spend getting its documents acknowledged,
  // whatever the caller's deadline (--timeout_ms).
  absl::Duration max_call_time = absl::Seconds(30);
  // A shard's share of a batch is sent as several write requests when it
  // would be larger than this (analyzed terms roughly double a document),
  // staying well inside the 80 MiB gRPC message limit.
  size_t max_write_request_bytes = size_t{32} << 20;
  // Batches with at least this many documents are analyzed on several
  // executor threads at once.
  size_t min_parallel_documents = 8;
};

// One input document, parsed, validated and analyzed.
struct PreparedDocument {
  // The document's id when one could be read, even if it is invalid
  // otherwise; empty when none could.
  std::string id;
  // OK when `analyzed` is ready to be written; otherwise INVALID_ARGUMENT
  // naming the document, the field and the reason.
  absl::Status status;
  v1::AnalyzedDocument analyzed;
};

// Parses `input` (structured, JSON or plain-text article), validates it
// against `limits` and analyzes its title and body. Pure function of its
// arguments; thread-safe.
PreparedDocument PrepareDocument(const v1::DocumentInput& input,
                                 const IngestLimits& limits,
                                 const analysis::Analyzer& analyzer);

// The logic of the ingest service, free of gRPC server types: prepares
// documents, routes each to shard ShardForId(id, num_shards), writes one
// request per shard in parallel, retries shards that are briefly away, and
// answers per document. A document is reported OK only once its shard has
// acknowledged the write, which means it is in the shard's synced
// write-ahead log.
//
// Thread-safe. Index and Delete block the calling thread until the shards
// have answered or the deadline has passed: call them from an executor
// thread, never from a gRPC reaction.
class IngestHandler {
 public:
  // Polled while waiting; true stops the call early.
  using CancelledFn = std::function<bool()>;

  // `shards` in shard order, at least one. `executor` (not owned, may be
  // null) lends threads to analyze big batches in parallel; it must outlive
  // the handler.
  IngestHandler(std::vector<std::unique_ptr<storage::StorageClient>> shards,
                IngestOptions options, Executor* executor);
  // Shards as `directory` says, looked up for every write: a write goes to
  // the shard's primary of the moment, and across a failover it is retried
  // (per options.retry, within the deadline) on the new primary.
  IngestHandler(std::shared_ptr<const storage::ShardDirectory> directory,
                IngestOptions options, Executor* executor);

  // Indexes a batch. The whole call fails with INVALID_ARGUMENT only when
  // the batch is empty or exceeds max_batch_documents / max_batch_bytes.
  // Otherwise every input gets a result, in order, with positions counted
  // from `first_position`: OK, INVALID_ARGUMENT (never accepted as it is),
  // UNAVAILABLE, RESOURCE_EXHAUSTED or DEADLINE_EXCEEDED (its shard did not
  // acknowledge in time; the message names the shard; safe to resend),
  // CANCELLED when `cancelled` said so first. Shard writes end by
  // WriteDeadline(deadline, now, max_call_time). Documents with the same id
  // in one batch are applied in input order, so the last one wins.
  absl::StatusOr<v1::IndexResponse> Index(
      const google::protobuf::RepeatedPtrField<v1::DocumentInput>& inputs,
      absl::Time deadline, uint64_t first_position = 0,
      const CancelledFn& cancelled = nullptr) const;

  // Deletes documents by id; `found` tells whether each existed. The call
  // fails with INVALID_ARGUMENT for an empty list, too many ids or an
  // invalid id (the message names it, e.g. "ids[3]: ..."), and with the
  // shard's code (UNAVAILABLE, DEADLINE_EXCEEDED, ...) when a shard did not
  // acknowledge its deletes; deletes are idempotent, so retry the call.
  absl::StatusOr<v1::DeleteResponse> Delete(
      const google::protobuf::RepeatedPtrField<std::string>& ids,
      absl::Time deadline, const CancelledFn& cancelled = nullptr) const;

  size_t num_shards() const { return directory_->shard_count(); }
  const IngestOptions& options() const { return options_; }

 private:
  struct OpOutcome {
    absl::Status status;
    bool existed = false;
  };

  // Writes op i to shard shard_of[i], retrying per the policy until
  // `deadline`; one outcome per op.
  std::vector<OpOutcome> WriteOps(std::vector<v1::WriteOp> ops,
                                  const std::vector<uint32_t>& shard_of,
                                  absl::Time deadline,
                                  const CancelledFn& cancelled) const;

  const std::shared_ptr<const storage::ShardDirectory> directory_;
  const IngestOptions options_;
  Executor* const executor_;
  const analysis::Analyzer analyzer_;
};

}  // namespace sift::ingest

#endif  // SIFT_SERVICES_INGEST_INGEST_HANDLER_H_
