#include "tools/siftctl/commands.h"

#include <algorithm>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/server/channels.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "common/sync/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/storage/replication/restore.h"
#include "sift/v1/ingest.grpc.pb.h"
#include "sift/v1/query.grpc.pb.h"
#include "tools/siftctl/input_files.h"
#include "tools/siftctl/output_format.h"
#include "tools/siftctl/query_text.h"

namespace sift::siftctl {
namespace {

// Largest message Sift's servers send or take: a full ingest batch (64 MiB)
// plus framing.
// The most ids IngestService.Delete takes in one call.
constexpr size_t kMaxDeleteIds = 1000;

void SetDeadline(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

void PrintError(std::ostream& err, Command command, absl::string_view message) {
  err << "siftctl: " << CommandName(command) << ": " << message << "\n";
}

google::protobuf::Timestamp ToProto(absl::Time time) {
  google::protobuf::Timestamp proto;
  const int64_t seconds = absl::ToUnixSeconds(time);
  proto.set_seconds(seconds);
  proto.set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
  return proto;
}

int Ingest(const Invocation& inv, const Terminal& terminal, std::ostream& out,
           std::ostream& err, const RetryPolicy& retry) {
  absl::StatusOr<Discovery> discovery = DiscoverInputs(inv.ingest.paths);
  if (!discovery.ok()) {
    PrintError(err, Command::kIngest, discovery.status().message());
    return discovery.status().code() == absl::StatusCode::kNotFound
               ? kExitUsage
               : kExitFailure;
  }
  for (const SkippedFile& skipped : discovery->skipped) {
    PrintError(
        err, Command::kIngest,
        absl::StrCat("skipping \"", skipped.path, "\": ", skipped.reason));
  }
  if (discovery->files.empty()) {
    PrintError(err, Command::kIngest, "no files to ingest");
  }

  const std::string& address = inv.connection.ingest_address;
  std::unique_ptr<v1::IngestService::Stub> stub =
      v1::IngestService::NewStub(MakeChannel(address));
  IngestRunOptions options;
  options.max_batch_documents = inv.ingest.max_batch_documents;
  options.max_batch_bytes = inv.ingest.max_batch_bytes;
  options.max_in_flight = inv.ingest.max_in_flight;
  options.timeout = inv.connection.timeout;
  options.retry = retry;
  options.address = address;
  if (terminal.stderr_is_tty) {
    options.on_progress = [&err](const IngestCounts& counts,
                                 absl::Duration elapsed) {
      // \r returns to the start of the line, ESC[K clears what is left.
      err << "\r" << FormatProgress(counts, elapsed) << "\x1b[K" << std::flush;
    };
  }
  DocumentSource source(std::move(discovery->files));
  IngestOutcome outcome = RunIngest(*stub, source, options);
  if (terminal.stderr_is_tty) err << "\r\x1b[K" << std::flush;

  out << FormatIngestSummary(outcome.counts, outcome.elapsed,
                             std::move(outcome.rejections));
  out.flush();
  if (!outcome.stopped.ok()) {
    PrintError(err, Command::kIngest,
               absl::StrCat("stopped after a batch failed (",
                            absl::StatusCodeToString(outcome.stopped.code()),
                            ": ", outcome.stopped.message(),
                            "); later inputs were not read"));
  }
  return outcome.all_accepted() ? kExitOk : kExitFailure;
}

// Calls Search, retrying as `retry` says; `retry` null means one attempt.
absl::StatusOr<v1::SearchResponse> CallSearch(v1::QueryService::Stub& stub,
                                              const v1::SearchRequest& request,
                                              absl::Duration timeout,
                                              const RetryPolicy* retry) {
  for (int attempt = 1;; ++attempt) {
    grpc::ClientContext context;
    SetDeadline(context, timeout);
    v1::SearchResponse response;
    absl::Status status =
        FromGrpcStatus(stub.Search(&context, request, &response));
    if (status.ok()) return response;
    const bool retriable =
        status.code() == absl::StatusCode::kUnavailable ||
        status.code() == absl::StatusCode::kResourceExhausted;
    if (retry == nullptr || !retriable || attempt >= retry->max_attempts) {
      return status;
    }
    absl::Duration wait = retry->initial_backoff;
    for (int i = 1; i < attempt; ++i) wait *= 2;
    absl::SleepFor(std::min(wait, retry->max_backoff));
  }
}

// Prints one page of a search; `first_rank` numbers its first hit.
absl::Status PrintSearchPage(const SearchOptions& o,
                             const v1::SearchResponse& response,
                             uint64_t first_rank, const Terminal& terminal,
                             std::ostream& out) {
  if (o.format == OutputFormat::kJson) {
    SIFT_ASSIGN_OR_RETURN(std::string json, ToJson(response));
    out << json;
  } else {
    // Markers the user chose are shown as the server placed them, even on
    // a terminal, where the matches would otherwise be drawn in bold.
    const bool own_markers = o.pre_tag || o.post_tag || o.html_escape;
    out << FormatSearchTable(
        response, first_rank,
        {terminal.stdout_is_tty && !own_markers, terminal.columns});
  }
  out.flush();
  return absl::OkStatus();
}

int Search(const Invocation& inv, const Terminal& terminal, std::ostream& out,
           std::ostream& err) {
  const SearchOptions& o = inv.search;
  std::unique_ptr<v1::QueryService::Stub> stub =
      v1::QueryService::NewStub(MakeChannel(inv.connection.query_address));
  v1::SearchRequest request = BuildSearchRequest(o, o.query, o.k);
  // A page token hides how deep the page is, so ranks restart at 1.
  uint64_t first_rank = o.page_token.empty() ? uint64_t{o.offset} + 1 : 1;
  for (int page = 1;; ++page) {
    absl::StatusOr<v1::SearchResponse> response =
        CallSearch(*stub, request, inv.connection.timeout, nullptr);
    if (!response.ok()) {
      std::string message = DescribeRpcError(response.status(), "query",
                                             inv.connection.query_address,
                                             inv.connection.timeout);
      if (page > 1) {
        absl::StrAppend(&message, " (page ", page,
                        "; resume with --page-token ", request.page_token(),
                        ")");
      }
      PrintError(err, Command::kSearch, message);
      return kExitFailure;
    }
    if (absl::Status printed =
            PrintSearchPage(o, *response, first_rank, terminal, out);
        !printed.ok()) {
      PrintError(err, Command::kSearch, printed.message());
      return kExitFailure;
    }
    if (!o.all) return kExitOk;
    if (response->partial()) {
      // The server gives no token for a page that misses a shard's hits;
      // going on would skip them.
      std::string message =
          absl::StrCat("page ", page, " is partial (a shard did not answer)");
      if (!request.page_token().empty()) {
        absl::StrAppend(&message, "; retry it with --page-token ",
                        request.page_token());
      }
      PrintError(err, Command::kSearch, message);
      return kExitFailure;
    }
    if (response->next_page_token().empty()) return kExitOk;
    first_rank += static_cast<uint64_t>(response->hits_size());
    request.set_offset(0);
    request.set_page_token(response->next_page_token());
  }
}

// The TREC lines of one batch query, fetched page by page down to k.
absl::StatusOr<std::string> RunBatchQuery(v1::QueryService::Stub& stub,
                                          const SearchOptions& o,
                                          const BatchQuery& query,
                                          absl::Duration timeout,
                                          const RetryPolicy& retry) {
  // Every page must repeat the first request, page size included, so the
  // last page is trimmed rather than asked smaller.
  const uint32_t page_size = std::min(o.k, kMaxPageSize);
  v1::SearchRequest request =
      BuildSearchRequest(o, EscapeQueryText(query.text), page_size);
  request.set_highlight(false);
  v1::SearchResponse all;
  while (static_cast<uint32_t>(all.hits_size()) < o.k) {
    absl::StatusOr<v1::SearchResponse> page =
        CallSearch(stub, request, timeout, &retry);
    if (!page.ok()) return page.status();
    for (v1::Hit& hit : *page->mutable_hits()) {
      if (static_cast<uint32_t>(all.hits_size()) >= o.k) break;
      *all.add_hits() = std::move(hit);
    }
    // A page may come back empty and still have a successor (its hits were
    // deleted before the fetch); the token always moves on.
    if (page->next_page_token().empty()) break;
    request.set_page_token(page->next_page_token());
  }
  return FormatTrecLines(query.qid, all, 1, o.run_name);
}

int BatchSearch(const Invocation& inv, std::ostream& out, std::ostream& err,
                const RetryPolicy& retry) {
  const SearchOptions& o = inv.search;
  absl::StatusOr<std::vector<BatchQuery>> queries =
      ReadQueriesFile(o.queries_file);
  if (!queries.ok()) {
    PrintError(err, Command::kSearch, queries.status().message());
    return kExitUsage;
  }
  const std::string& address = inv.connection.query_address;
  std::unique_ptr<v1::QueryService::Stub> stub =
      v1::QueryService::NewStub(MakeChannel(address));

  struct Result {
    bool done = false;
    absl::StatusOr<std::string> lines;
  };
  Mutex mu;
  CondVar result_done;  // signalled when a result's done is set
  std::vector<Result> results(queries->size());
  size_t next = 0;  // guarded by mu
  auto work = [&] {
    while (true) {
      size_t i;
      {
        MutexLock lock(&mu);
        if (next >= queries->size()) return;
        i = next++;
      }
      const BatchQuery& q = (*queries)[i];
      absl::StatusOr<std::string> lines =
          q.text.empty()
              ? absl::InvalidArgumentError("the query text is empty")
              : RunBatchQuery(*stub, o, q, inv.connection.timeout, retry);
      MutexLock lock(&mu);
      results[i].lines = std::move(lines);
      results[i].done = true;
      result_done.Signal();
    }
  };
  std::vector<std::thread> workers;
  const size_t threads = std::min<size_t>(
      static_cast<size_t>(std::max(1, o.max_in_flight)), queries->size());
  for (size_t t = 0; t < threads; ++t) workers.emplace_back(work);

  // Lines come out in the order of the file, each query as soon as it and
  // every query before it are done.
  int exit_status = kExitOk;
  for (size_t i = 0; i < results.size(); ++i) {
    absl::StatusOr<std::string> lines;
    {
      MutexLock lock(&mu);
      while (!results[i].done) result_done.Wait(&mu);
      lines = std::move(results[i].lines);
    }
    const BatchQuery& q = (*queries)[i];
    if (lines.ok()) {
      out << *lines;
      out.flush();
    } else {
      exit_status = kExitFailure;
      PrintError(err, Command::kSearch,
                 absl::StrCat("query ", q.qid, " (", o.queries_file, ":",
                              q.line, "): ",
                              DescribeRpcError(lines.status(), "query", address,
                                               inv.connection.timeout)));
    }
  }
  for (std::thread& t : workers) t.join();
  return exit_status;
}

int Get(const Invocation& inv, std::ostream& out, std::ostream& err) {
  std::unique_ptr<v1::QueryService::Stub> stub =
      v1::QueryService::NewStub(MakeChannel(inv.connection.query_address));
  grpc::ClientContext context;
  SetDeadline(context, inv.connection.timeout);
  v1::GetRequest request;
  request.set_id(inv.get.id);
  v1::GetResponse response;
  absl::Status status = FromGrpcStatus(stub->Get(&context, request, &response));
  if (!status.ok()) {
    PrintError(
        err, Command::kGet,
        status.code() == absl::StatusCode::kNotFound
            ? absl::StrCat("NOT_FOUND: no document with id \"", inv.get.id,
                           "\"")
            : DescribeRpcError(status, "query", inv.connection.query_address,
                               inv.connection.timeout));
    return kExitFailure;
  }
  absl::StatusOr<std::string> json = ToJson(response.document());
  if (!json.ok()) {
    PrintError(err, Command::kGet, json.status().message());
    return kExitFailure;
  }
  out << *json;
  out.flush();
  return kExitOk;
}

int Delete(const Invocation& inv, std::ostream& out, std::ostream& err) {
  const std::string& address = inv.connection.ingest_address;
  std::unique_ptr<v1::IngestService::Stub> stub =
      v1::IngestService::NewStub(MakeChannel(address));
  const std::vector<std::string>& ids = inv.remove.ids;
  for (size_t begin = 0; begin < ids.size(); begin += kMaxDeleteIds) {
    v1::DeleteRequest request;
    for (size_t i = begin; i < std::min(ids.size(), begin + kMaxDeleteIds);
         ++i) {
      request.add_ids(ids[i]);
    }
    grpc::ClientContext context;
    SetDeadline(context, inv.connection.timeout);
    v1::DeleteResponse response;
    absl::Status status =
        FromGrpcStatus(stub->Delete(&context, request, &response));
    if (!status.ok()) {
      PrintError(
          err, Command::kDelete,
          DescribeRpcError(status, "ingest", address, inv.connection.timeout));
      return kExitFailure;
    }
    for (const v1::DeleteResult& result : response.results()) {
      out << (result.found() ? "deleted    " : "not found  ") << result.id()
          << "\n";
    }
  }
  out.flush();
  return kExitOk;
}

int Stats(const Invocation& inv, std::ostream& out, std::ostream& err) {
  const std::string& address = inv.connection.query_address;
  std::unique_ptr<v1::QueryService::Stub> stub =
      v1::QueryService::NewStub(MakeChannel(address));
  grpc::ClientContext context;
  SetDeadline(context, inv.connection.timeout);
  v1::ClusterStatsResponse response;
  absl::Status status = FromGrpcStatus(
      stub->ClusterStats(&context, v1::ClusterStatsRequest(), &response));
  if (!status.ok()) {
    PrintError(
        err, Command::kStats,
        DescribeRpcError(status, "query", address, inv.connection.timeout));
    return kExitFailure;
  }
  if (inv.stats.json) {
    absl::StatusOr<std::string> json = ToJson(response);
    if (!json.ok()) {
      PrintError(err, Command::kStats, json.status().message());
      return kExitFailure;
    }
    out << *json;
  } else {
    out << FormatStatsTable(response);
  }
  out.flush();
  for (const v1::ShardStats& shard : response.shards()) {
    if (!shard.error().empty() || !shard.background_error().empty()) {
      return kExitFailure;
    }
  }
  return kExitOk;
}

int Health(const Invocation& inv, std::ostream& out) {
  struct Target {
    const char* service;
    const std::string& address;
  };
  const Target targets[] = {{"query", inv.connection.query_address},
                            {"ingest", inv.connection.ingest_address}};
  bool all_serving = true;
  for (const Target& target : targets) {
    std::unique_ptr<grpc::health::v1::Health::Stub> stub =
        grpc::health::v1::Health::NewStub(MakeChannel(target.address));
    grpc::ClientContext context;
    SetDeadline(context, inv.connection.timeout);
    grpc::health::v1::HealthCheckResponse response;
    absl::Status status = FromGrpcStatus(stub->Check(
        &context, grpc::health::v1::HealthCheckRequest(), &response));
    std::string state;
    if (status.ok()) {
      state = grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
          response.status());
      all_serving =
          all_serving &&
          response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
    } else {
      state = DescribeRpcError(status, target.service, target.address,
                               inv.connection.timeout);
      all_serving = false;
    }
    out << absl::StrFormat("%-6s  %s  %s\n", target.service, target.address,
                           state);
  }
  out.flush();
  return all_serving ? kExitOk : kExitFailure;
}

}  // namespace

v1::SearchRequest BuildSearchRequest(const SearchOptions& options,
                                     const std::string& query,
                                     uint32_t page_size) {
  v1::SearchRequest request;
  request.set_query(query);
  request.set_page_size(page_size);
  if (!options.page_token.empty()) request.set_page_token(options.page_token);
  request.set_offset(options.offset);
  v1::Filters* filters = request.mutable_filters();
  if (options.published_from.has_value()) {
    *filters->mutable_published_from() = ToProto(*options.published_from);
  }
  if (options.published_to.has_value()) {
    *filters->mutable_published_to() = ToProto(*options.published_to);
  }
  for (const std::string& source : options.sources)
    filters->add_sources(source);
  for (const std::string& tag : options.tags) filters->add_tags(tag);
  request.set_sort(options.sort);
  for (const v1::FacetRequest& facet : options.facets) {
    *request.add_facets() = facet;
  }
  // Left unset when highlighting is wanted, so the server's default holds.
  if (!options.highlight) request.set_highlight(false);
  if (options.pre_tag) {
    request.mutable_highlight_options()->set_pre_tag(*options.pre_tag);
  }
  if (options.post_tag) {
    request.mutable_highlight_options()->set_post_tag(*options.post_tag);
  }
  if (options.html_escape) {
    request.mutable_highlight_options()->set_html_escape(true);
  }
  if (options.explain) request.set_explain(true);
  if (options.all_terms) {
    request.set_default_operator(v1::DEFAULT_OPERATOR_AND);
  }
  return request;
}

int Snapshot(const Invocation& inv, std::ostream& out, std::ostream& err) {
  const SnapshotOptions& o = inv.snapshot;
  if (o.action == SnapshotOptions::Action::kRestore) {
    absl::StatusOr<storage::OpId> restored = storage::RestoreShardSnapshot(
        o.snapshot_dir, o.name, o.shard, o.data_dir,
        o.single ? storage::DataLayout::kSingle : storage::DataLayout::kMember);
    if (!restored.ok()) {
      PrintError(err, Command::kSnapshot, restored.status().ToString());
      return kExitFailure;
    }
    out << "restored shard " << o.shard << " of snapshot " << o.name << " into "
        << o.data_dir << " (up to write " << restored->seq << ")\n";
    return kExitOk;
  }
  const std::string& address = inv.connection.query_address;
  std::unique_ptr<v1::AdminService::Stub> stub =
      v1::AdminService::NewStub(MakeChannel(address));
  grpc::ClientContext context;
  SetDeadline(context, inv.connection.timeout);
  absl::Status status;
  switch (o.action) {
    case SnapshotOptions::Action::kCreate: {
      v1::CreateSnapshotRequest request;
      request.set_name(o.name);
      v1::SnapshotInfo info;
      status = FromGrpcStatus(stub->CreateSnapshot(&context, request, &info));
      if (status.ok()) {
        out << "snapshot " << info.name() << ": " << info.shard_count()
            << " shards, " << info.documents() << " documents\n";
      }
      break;
    }
    case SnapshotOptions::Action::kList: {
      v1::ListSnapshotsResponse response;
      status = FromGrpcStatus(
          stub->ListSnapshots(&context, v1::ListSnapshotsRequest(), &response));
      if (status.ok() && o.json) {
        absl::StatusOr<std::string> json = ToJson(response);
        if (json.ok()) out << *json;
      } else if (status.ok()) {
        for (const v1::SnapshotInfo& info : response.snapshots()) {
          out << info.name() << "  "
              << absl::FormatTime(
                     "%Y-%m-%dT%H:%M:%SZ",
                     absl::FromUnixSeconds(info.created().seconds()),
                     absl::UTCTimeZone())
              << "  " << info.shard_count() << " shards  " << info.documents()
              << " documents\n";
        }
      }
      break;
    }
    case SnapshotOptions::Action::kDelete: {
      v1::DeleteSnapshotRequest request;
      request.set_name(o.name);
      v1::DeleteSnapshotResponse response;
      status =
          FromGrpcStatus(stub->DeleteSnapshot(&context, request, &response));
      if (status.ok()) out << "deleted snapshot " << o.name << "\n";
      break;
    }
    case SnapshotOptions::Action::kRestore:
      break;
  }
  if (!status.ok()) {
    PrintError(
        err, Command::kSnapshot,
        DescribeRpcError(status, "query", address, inv.connection.timeout));
    return kExitFailure;
  }
  out.flush();
  return kExitOk;
}

int RunCommand(const Invocation& invocation, const Terminal& terminal,
               std::ostream& out, std::ostream& err, const RetryPolicy& retry) {
  switch (invocation.command) {
    case Command::kIngest:
      return Ingest(invocation, terminal, out, err, retry);
    case Command::kSearch:
      if (!invocation.search.queries_file.empty()) {
        return BatchSearch(invocation, out, err, retry);
      }
      return Search(invocation, terminal, out, err);
    case Command::kGet:
      return Get(invocation, out, err);
    case Command::kDelete:
      return Delete(invocation, out, err);
    case Command::kStats:
      return Stats(invocation, out, err);
    case Command::kHealth:
      return Health(invocation, out);
    case Command::kSnapshot:
      return Snapshot(invocation, out, err);
    case Command::kNone:
      break;
  }
  err << "siftctl: no subcommand given\n";
  return kExitUsage;
}

}  // namespace sift::siftctl
