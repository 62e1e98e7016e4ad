#include "services/ingest/ingest_handler.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/routing/shard_router.h"
#include "common/sync/mutex.h"
#include "services/ingest/article_parser.h"
#include "services/ingest/ingest_results.h"
#include "services/ingest/internal/parallel_for.h"
#include "services/ingest/json_document.h"
#include "services/ingest/shard_batches.h"
#include "services/storage/analyzed_field.h"

namespace sift::ingest {
namespace {

// How often a call waiting on shards checks whether it was cancelled.
constexpr absl::Duration kCancelPoll = absl::Milliseconds(50);

absl::Status WithPrefix(const absl::Status& status, absl::string_view prefix) {
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

// The label of a document for messages: its id when that is valid.
std::string LabelFor(absl::string_view id, const IngestLimits& limits) {
  if (ValidateId(id, limits).ok()) return DocumentLabel(id);
  return "";
}

absl::Status AnalyzeField(const analysis::Analyzer& analyzer,
                          absl::string_view text, absl::string_view label,
                          absl::string_view field, v1::AnalyzedField* out) {
  absl::StatusOr<std::vector<std::string>> terms = analyzer.Terms(text);
  if (!terms.ok()) {
    return WithPrefix(terms.status(), absl::StrCat(label, field, ": "));
  }
  storage::EncodeTerms(*std::move(terms), out);
  return absl::OkStatus();
}

// One write request to one shard, with its retry state.
struct PendingWrite {
  uint32_t shard = 0;
  // Indices of its ops in the caller's list, aligned with request.ops().
  std::vector<size_t> ops;
  v1::WriteRequest request;
  int attempts = 0;
  bool in_flight = false;
  bool finished = false;
  absl::Time next_try = absl::InfinitePast();
  // The answer that made it retry last, if any.
  absl::Status retried_error;
  // When the attempt in flight gives up.
  absl::Time attempt_deadline = absl::InfiniteFuture();
};

// Answers of shards, filled by gRPC threads and drained by the waiting
// call. Shared with the callbacks, which may outlive a cancelled call.
struct Inbox {
  struct Answer {
    size_t write;
    absl::StatusOr<v1::WriteResponse> response;
  };
  Mutex mu;
  // Signalled when an answer is added.
  CondVar answered;
  std::vector<Answer> answers ABSL_GUARDED_BY(mu);
};

}  // namespace

PreparedDocument PrepareDocument(const v1::DocumentInput& input,
                                 const IngestLimits& limits,
                                 const analysis::Analyzer& analyzer) {
  PreparedDocument prepared;
  v1::Document& doc = *prepared.analyzed.mutable_document();
  switch (input.content_case()) {
    case v1::DocumentInput::kDocument:
      doc = input.document();
      break;
    case v1::DocumentInput::kJson:
      if (absl::Status s = ParseJsonDocument(input.json(), &doc); !s.ok()) {
        prepared.id = doc.id();
        prepared.status = WithPrefix(s, LabelFor(doc.id(), limits));
        return prepared;
      }
      break;
    case v1::DocumentInput::kArticle: {
      const v1::PlainTextArticle& article = input.article();
      prepared.id = article.id();
      if (article.text().size() > limits.max_document_bytes) {
        prepared.status = absl::InvalidArgumentError(
            absl::StrCat(LabelFor(article.id(), limits),
                         "article text: too long (", article.text().size(),
                         " bytes, limit ", limits.max_document_bytes, ")"));
        return prepared;
      }
      doc = ParseArticle(article.text());
      doc.set_id(article.id());
      break;
    }
    case v1::DocumentInput::CONTENT_NOT_SET:
      prepared.status = absl::InvalidArgumentError(
          "content: empty DocumentInput (set document, json or article)");
      return prepared;
  }
  prepared.id = doc.id();
  prepared.status = ValidateDocument(doc, limits);
  if (!prepared.status.ok()) return prepared;
  const std::string label = DocumentLabel(doc.id());
  prepared.status = AnalyzeField(analyzer, doc.title(), label, "title",
                                 prepared.analyzed.mutable_title());
  if (!prepared.status.ok()) return prepared;
  prepared.status = AnalyzeField(analyzer, doc.body(), label, "body",
                                 prepared.analyzed.mutable_body());
  return prepared;
}

IngestHandler::IngestHandler(
    std::vector<std::unique_ptr<storage::StorageClient>> shards,
    IngestOptions options, Executor* executor)
    : IngestHandler(
          std::make_shared<storage::StaticShardDirectory>(std::move(shards)),
          std::move(options), executor) {}

IngestHandler::IngestHandler(
    std::shared_ptr<const storage::ShardDirectory> directory,
    IngestOptions options, Executor* executor)
    : directory_(std::move(directory)),
      options_(std::move(options)),
      executor_(executor) {}

absl::StatusOr<v1::IndexResponse> IngestHandler::Index(
    const google::protobuf::RepeatedPtrField<v1::DocumentInput>& inputs,
    absl::Time deadline, uint64_t first_position,
    const CancelledFn& cancelled) const {
  const IngestLimits& limits = options_.limits;
  const size_t n = inputs.size();
  if (n == 0) {
    return absl::InvalidArgumentError(
        "documents: empty batch (send at least one document)");
  }
  if (n > limits.max_batch_documents) {
    return absl::InvalidArgumentError(
        absl::StrCat("documents: ", n, " in one batch, limit ",
                     limits.max_batch_documents, " (split the batch)"));
  }
  size_t bytes = 0;
  for (const v1::DocumentInput& input : inputs) bytes += input.ByteSizeLong();
  if (bytes > limits.max_batch_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("documents: batch of ", bytes, " bytes, limit ",
                     limits.max_batch_bytes, " (split the batch)"));
  }
  const absl::Time write_deadline =
      WriteDeadline(deadline, absl::Now(), options_.max_call_time);

  std::vector<PreparedDocument> prepared(n);
  internal::ParallelFor(
      n >= options_.min_parallel_documents ? executor_ : nullptr,
      executor_ != nullptr ? executor_->num_threads() : 0, n, [&](size_t i) {
        prepared[i] =
            PrepareDocument(inputs[static_cast<int>(i)], limits, analyzer_);
      });

  std::vector<v1::WriteOp> ops;
  std::vector<uint32_t> shard_of;
  std::vector<size_t> doc_of_op;
  const auto num_shards = directory_->shard_count();
  for (size_t i = 0; i < n; ++i) {
    if (!prepared[i].status.ok()) continue;
    shard_of.push_back(ShardForId(prepared[i].id, num_shards));
    doc_of_op.push_back(i);
    *ops.emplace_back().mutable_upsert() = std::move(prepared[i].analyzed);
  }
  std::vector<OpOutcome> written =
      WriteOps(std::move(ops), shard_of, write_deadline, cancelled);

  std::vector<DocumentOutcome> outcomes(n);
  for (size_t i = 0; i < n; ++i) {
    outcomes[i].id = std::move(prepared[i].id);
    outcomes[i].status = std::move(prepared[i].status);
  }
  for (size_t k = 0; k < doc_of_op.size(); ++k) {
    outcomes[doc_of_op[k]].status = std::move(written[k].status);
  }
  return AssembleIndexResponse(outcomes, first_position);
}

absl::StatusOr<v1::DeleteResponse> IngestHandler::Delete(
    const google::protobuf::RepeatedPtrField<std::string>& ids,
    absl::Time deadline, const CancelledFn& cancelled) const {
  const IngestLimits& limits = options_.limits;
  if (ids.empty()) {
    return absl::InvalidArgumentError(
        "ids: empty (give at least one id to delete)");
  }
  if (static_cast<size_t>(ids.size()) > limits.max_batch_documents) {
    return absl::InvalidArgumentError(
        absl::StrCat("ids: ", ids.size(), " in one call, limit ",
                     limits.max_batch_documents, " (split the call)"));
  }
  const auto num_shards = directory_->shard_count();
  std::vector<v1::WriteOp> ops(ids.size());
  std::vector<uint32_t> shard_of(ids.size());
  for (int i = 0; i < ids.size(); ++i) {
    if (absl::Status s = ValidateId(ids[i], limits); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ids[", i, "]: ", absl::StripPrefix(s.message(), "id: ")));
    }
    ops[i].set_delete_id(ids[i]);
    shard_of[i] = ShardForId(ids[i], num_shards);
  }
  std::vector<OpOutcome> written = WriteOps(
      std::move(ops), shard_of,
      WriteDeadline(deadline, absl::Now(), options_.max_call_time), cancelled);

  v1::DeleteResponse response;
  size_t failed = 0;
  absl::Status first_failure;
  for (int i = 0; i < ids.size(); ++i) {
    if (!written[i].status.ok()) {
      if (failed++ == 0) first_failure = written[i].status;
      continue;
    }
    v1::DeleteResult* result = response.add_results();
    result->set_id(ids[i]);
    result->set_found(written[i].existed);
  }
  if (failed > 0) {
    return WithPrefix(first_failure,
                      absl::StrCat(failed, " of ", ids.size(),
                                   " deletes not acknowledged (deletes are "
                                   "idempotent: retry the call): "));
  }
  return response;
}

std::vector<IngestHandler::OpOutcome> IngestHandler::WriteOps(
    std::vector<v1::WriteOp> ops, const std::vector<uint32_t>& shard_of,
    absl::Time deadline, const CancelledFn& cancelled) const {
  std::vector<OpOutcome> outcomes(ops.size());
  if (ops.empty()) return outcomes;
  std::vector<size_t> op_bytes(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) op_bytes[i] = ops[i].ByteSizeLong();

  // A deque, because a write the shard refuses as malformed is split into
  // single-op writes appended while others are referenced.
  std::deque<PendingWrite> writes;
  for (ShardBatch& batch :
       PlanShardBatches(shard_of, op_bytes, directory_->shard_count(),
                        options_.max_write_request_bytes)) {
    PendingWrite& write = writes.emplace_back();
    write.shard = batch.shard;
    write.ops = std::move(batch.items);
    write.request.mutable_ops()->Reserve(static_cast<int>(write.ops.size()));
    for (size_t op : write.ops) {
      *write.request.add_ops() = std::move(ops[op]);
    }
  }

  auto inbox = std::make_shared<Inbox>();
  absl::BitGen random;
  size_t unfinished = writes.size();
  const auto finish = [&](PendingWrite& write) {
    write.finished = true;
    --unfinished;
  };
  const auto fail = [&](PendingWrite& write, const absl::Status& error) {
    const absl::Status status = WithPrefix(
        error,
        absl::StrCat("not stored: shard ", write.shard,
                     " did not acknowledge the write (", write.attempts,
                     write.attempts == 1 ? " attempt" : " attempts", "): "));
    for (size_t op : write.ops) outcomes[op].status = status;
    finish(write);
  };

  while (unfinished > 0) {
    const absl::Time now = absl::Now();
    absl::Time wake = now + kCancelPoll;
    for (size_t w = 0; w < writes.size(); ++w) {
      PendingWrite& write = writes[w];
      if (write.finished || write.in_flight) continue;
      if (write.next_try > now) {
        wake = std::min(wake, write.next_try);
        continue;
      }
      write.in_flight = true;
      ++write.attempts;
      auto answer = [inbox, w](absl::StatusOr<v1::WriteResponse> response) {
        MutexLock lock(&inbox->mu);
        inbox->answers.push_back({w, std::move(response)});
        inbox->answered.Signal();
      };
      // The primary of the moment: during a failover there is none for a
      // few seconds, which is retried like a shard that is down.
      std::shared_ptr<storage::StorageClient> primary =
          directory_->Primary(write.shard);
      if (primary == nullptr) {
        answer(absl::UnavailableError(
            absl::StrCat("shard ", write.shard,
                         " has no primary right now (failing over)")));
        continue;
      }
      write.attempt_deadline =
          std::min(deadline, absl::Now() + options_.retry.attempt_timeout);
      primary->WriteAsync(write.request, write.attempt_deadline,
                          std::move(answer));
    }

    std::vector<Inbox::Answer> answers;
    {
      MutexLock lock(&inbox->mu);
      // Until an answer comes or `wake` passes.
      while (inbox->answers.empty() &&
             !inbox->answered.WaitWithDeadline(&inbox->mu, wake)) {
      }
      answers.swap(inbox->answers);
    }
    const bool stop = cancelled && cancelled();

    for (Inbox::Answer& answer : answers) {
      PendingWrite& write = writes[answer.write];
      write.in_flight = false;
      if (answer.response.ok()) {
        const v1::WriteResponse& response = *answer.response;
        if (static_cast<size_t>(response.results_size()) != write.ops.size()) {
          fail(write, absl::InternalError(absl::StrCat(
                          "it answered ", response.results_size(),
                          " results for ", write.ops.size(), " operations")));
          continue;
        }
        for (size_t k = 0; k < write.ops.size(); ++k) {
          outcomes[write.ops[k]].existed =
              response.results(static_cast<int>(k)).existed();
        }
        finish(write);
        continue;
      }
      const absl::Status& error = answer.response.status();
      if (error.code() == absl::StatusCode::kInvalidArgument &&
          write.ops.size() > 1) {
        // The shard applies nothing of a request with a malformed op. Send
        // each op alone so that only the bad one is refused.
        const uint32_t shard = write.shard;
        const std::vector<size_t> split_ops = write.ops;
        const v1::WriteRequest split_request = std::move(write.request);
        finish(write);
        for (size_t k = 0; k < split_ops.size(); ++k) {
          PendingWrite& single = writes.emplace_back();
          single.shard = shard;
          single.ops = {split_ops[k]};
          *single.request.add_ops() = split_request.ops(static_cast<int>(k));
          ++unfinished;
        }
        continue;
      }
      // An attempt that ran out of its own time, not the call's, is tried
      // again: its primary may hang while another copy takes over.
      const bool attempt_timed_out =
          error.code() == absl::StatusCode::kDeadlineExceeded &&
          write.attempt_deadline < deadline;
      if (IsRetryableShardError(error.code()) || attempt_timed_out) {
        // Perhaps it is no longer (or not yet) the primary.
        if (error.code() == absl::StatusCode::kUnavailable) {
          directory_->Refresh();
        }
        if (stop) {
          // Given up because of the caller, not because the shard stayed
          // away.
          fail(write,
               absl::CancelledError(absl::StrCat(
                   "the call was cancelled; last answer: ", error.message())));
          continue;
        }
        const absl::Time retry_at =
            absl::Now() + BackoffDelay(options_.retry, write.attempts - 1,
                                       absl::Uniform(random, 0.0, 1.0));
        if (retry_at < deadline) {
          write.next_try = retry_at;
          write.retried_error = error;
          continue;
        }
      }
      if (error.code() == absl::StatusCode::kDeadlineExceeded &&
          !write.retried_error.ok()) {
        // The deadline cut a retry short: why it was retrying says more.
        fail(write, WithPrefix(write.retried_error,
                               "the deadline passed while retrying; last "
                               "answer before: "));
        continue;
      }
      fail(write, error);
    }

    if (stop) {
      for (PendingWrite& write : writes) {
        if (!write.finished) {
          fail(write, absl::CancelledError("the call was cancelled"));
        }
      }
    }
  }
  return outcomes;
}

}  // namespace sift::ingest
