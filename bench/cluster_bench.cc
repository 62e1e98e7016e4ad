#include "bench/cluster_bench.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/corpus_reader.h"
#include "bench/json_writer.h"
#include "bench/queries.h"
#include "bench/report.h"
#include "common/server/channels.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "sift/v1/ingest.grpc.pb.h"
#include "sift/v1/query.grpc.pb.h"
#include "tools/siftctl/ingest_runner.h"
#include "tools/siftctl/input_files.h"

namespace sift::bench {
namespace {

// The ingest service's own limit on documents per request.
constexpr size_t kMaxBatchDocuments = 1000;
constexpr size_t kSampleRejections = 5;

// A channel with a connection of its own: without a local subchannel pool,
// channels to the same address share one connection, and clients would be
// multiplexed on it instead of loading the server like separate callers.
std::shared_ptr<grpc::Channel> ChannelOfItsOwn(const std::string& address) {
  grpc::ChannelArguments args = sift::DefaultChannelArguments();
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return sift::MakeChannel(address, args);
}

absl::Status WaitConnected(grpc::Channel& channel, absl::string_view service,
                           const std::string& address) {
  if (!channel.WaitForConnected(
          absl::ToChronoTime(absl::Now() + absl::Seconds(10)))) {
    return absl::UnavailableError(absl::StrCat(
        "cannot connect to the ", service, " service at ", address));
  }
  return absl::OkStatus();
}

// Documents and uncompressed bytes of the corpus, read apart from the
// timed ingest.
absl::Status MeasureCorpus(const std::string& path, EndToEndIngest* ingest) {
  SIFT_ASSIGN_OR_RETURN(std::unique_ptr<CorpusReader> reader,
                        CorpusReader::Open(path));
  std::string line;
  while (true) {
    SIFT_ASSIGN_OR_RETURN(bool more, reader->Next(&line));
    if (!more) break;
    ++ingest->documents;
  }
  ingest->input_bytes = reader->bytes_read();
  return absl::OkStatus();
}

absl::Status Ingest(const EndToEndOptions& options, EndToEndIngest* ingest) {
  SIFT_RETURN_IF_ERROR(MeasureCorpus(options.docs_path, ingest));
  std::shared_ptr<grpc::Channel> channel = ChannelOfItsOwn(options.ingest);
  SIFT_RETURN_IF_ERROR(WaitConnected(*channel, "ingest", options.ingest));
  std::unique_ptr<v1::IngestService::Stub> stub =
      v1::IngestService::NewStub(channel);

  siftctl::InputFile file;
  file.path = options.docs_path;
  file.kind = siftctl::InputKind::kJsonLines;
  siftctl::DocumentSource source({file});
  siftctl::IngestRunOptions run;
  run.max_batch_documents =
      std::clamp<size_t>(options.batch_documents, 1, kMaxBatchDocuments);
  run.max_in_flight = std::max(1, options.in_flight);
  run.timeout = options.timeout;
  run.address = options.ingest;
  if (options.milestone_documents > 0) {
    // Runs on the runner's progress thread, which RunIngest joins before it
    // returns, so `ingest` has one writer at a time.
    run.on_progress = [&options, ingest](const siftctl::IngestCounts& counts,
                                         absl::Duration elapsed) {
      const uint64_t next =
          (ingest->milestones.size() + 1) * options.milestone_documents;
      if (counts.accepted < next) return;
      ingest->milestones.push_back(
          {counts.accepted, absl::ToDoubleSeconds(elapsed)});
      if (options.log) {
        options.log(absl::StrFormat("%d documents acknowledged after %.1f s",
                                    counts.accepted,
                                    absl::ToDoubleSeconds(elapsed)));
      }
    };
  }
  siftctl::IngestOutcome outcome = siftctl::RunIngest(*stub, source, run);
  ingest->accepted = outcome.counts.accepted;
  ingest->rejected = outcome.counts.rejected + outcome.counts.read_errors;
  ingest->seconds = absl::ToDoubleSeconds(outcome.elapsed);
  // The span from the last milestone to the end, so that the last part of
  // the load has a rate of its own.
  if (options.milestone_documents > 0 &&
      (ingest->milestones.empty() ||
       ingest->milestones.back().documents < ingest->accepted)) {
    ingest->milestones.push_back({ingest->accepted, ingest->seconds});
  }
  std::sort(outcome.rejections.begin(), outcome.rejections.end(),
            [](const siftctl::Rejection& a, const siftctl::Rejection& b) {
              return a.sequence < b.sequence;
            });
  for (const siftctl::Rejection& rejection : outcome.rejections) {
    if (ingest->sample_rejections.size() >= kSampleRejections) break;
    ingest->sample_rejections.push_back(
        absl::StrCat(rejection.origin, ": ", rejection.reason));
  }
  return outcome.stopped;
}

// One client of the search load: its own connection and stub.
ClientQueryFn SearchClient(const EndToEndOptions& options) {
  std::shared_ptr<grpc::Channel> channel = ChannelOfItsOwn(options.target);
  // Connect before the clock starts, so the first query does not pay for
  // it; a client that cannot connect fails its queries instead.
  WaitConnected(*channel, "query", options.target).IgnoreError();
  std::shared_ptr<v1::QueryService::Stub> stub =
      v1::QueryService::NewStub(channel);
  const uint32_t k = options.k;
  const bool highlight = options.highlight;
  const absl::Duration timeout = options.timeout;
  return [stub, k, highlight,
          timeout](const BenchQuery& query) -> absl::Status {
    v1::SearchRequest request;
    request.set_query(query.text);
    request.set_page_size(k);
    request.set_highlight(highlight);
    request.set_default_operator(v1::DEFAULT_OPERATOR_OR);
    v1::SearchResponse response;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    SIFT_RETURN_IF_ERROR(
        FromGrpcStatus(stub->Search(&context, request, &response)));
    if (response.partial()) {
      return absl::UnavailableError(absl::StrCat(
          "partial results: ", response.shard_errors_size() > 0
                                   ? response.shard_errors(0)
                                   : std::string("a shard did not answer")));
    }
    return absl::OkStatus();
  };
}

}  // namespace

absl::StatusOr<EndToEndReport> RunEndToEnd(const EndToEndOptions& options) {
  auto log = [&options](absl::string_view line) {
    if (options.log) options.log(line);
  };
  EndToEndReport report;
  report.options = options;
  report.machine = ReadMachineInfo();

  std::vector<BenchQuery> queries;
  if (!options.target.empty()) {
    SIFT_ASSIGN_OR_RETURN(queries, ReadQueries(options.queries_path));
  }

  if (!options.ingest.empty()) {
    log(absl::StrFormat("ingesting %s through %s", options.docs_path,
                        options.ingest));
    SIFT_RETURN_IF_ERROR(Ingest(options, &report.ingest));
    report.ingested = true;
    log(absl::StrFormat("ingested %d documents (%d rejected) in %.2f s",
                        report.ingest.accepted, report.ingest.rejected,
                        report.ingest.seconds));
  }

  if (!options.target.empty()) {
    report.searched = true;
    report.queries = queries.size();
    {
      std::shared_ptr<grpc::Channel> channel = ChannelOfItsOwn(options.target);
      SIFT_RETURN_IF_ERROR(WaitConnected(*channel, "query", options.target));
    }
    ClientQueryFn warmup = SearchClient(options);
    PassOptions warmup_passes;
    warmup_passes.warmup_min = options.warmup_min;
    warmup_passes.warmup_max = options.warmup_max;
    warmup_passes.reps = 0;
    report.warmup_queries =
        RunTimedPasses(
            queries,
            [&warmup](const BenchQuery& query) -> absl::StatusOr<uint64_t> {
              SIFT_RETURN_IF_ERROR(warmup(query));
              return 0;
            },
            warmup_passes)
            .warmup_queries;
    for (int clients : options.clients) {
      log(absl::StrFormat("searching with %d client(s)", clients));
      LoadOptions load;
      load.clients = clients;
      load.duration = options.duration;
      report.search.push_back(RunClosedLoop(
          queries, load, [&options](int) { return SearchClient(options); }));
    }
  }
  return report;
}

std::string EndToEndReportJson(const EndToEndReport& report) {
  const EndToEndOptions& options = report.options;
  JsonWriter json;
  json.BeginObject();
  json.Key("mode").String("end_to_end");

  json.Key("corpus").BeginObject();
  json.Key("path").String(options.docs_path);
  if (report.ingested) {
    json.Key("docs").Uint(report.ingest.documents);
    json.Key("bytes").Uint(report.ingest.input_bytes);
  }
  json.EndObject();

  json.Key("settings").BeginObject();
  json.Key("target").String(options.target);
  json.Key("ingest").String(options.ingest);
  json.Key("k").Uint(options.k);
  json.Key("highlight").Bool(options.highlight);
  json.Key("batch").Uint(options.batch_documents);
  json.Key("in_flight").Int(options.in_flight);
  json.Key("clients").BeginArray();
  for (int clients : options.clients) json.Int(clients);
  json.EndArray();
  json.Key("seconds").Double(absl::ToDoubleSeconds(options.duration), 1);
  json.Key("warmup_min").Uint(options.warmup_min);
  json.Key("queries").String(options.queries_path);
  json.EndObject();

  if (report.ingested) {
    const EndToEndIngest& ingest = report.ingest;
    json.Key("ingest").BeginObject();
    json.Key("docs").Uint(ingest.accepted);
    json.Key("rejected").Uint(ingest.rejected);
    json.Key("seconds").Double(ingest.seconds);
    json.Key("docs_per_sec")
        .Double(PerSecond(ingest.accepted, ingest.seconds), 1);
    json.Key("mb_per_sec")
        .Double(MegabytesPerSecond(ingest.input_bytes, ingest.seconds), 2);
    // Each span's rate since the previous milestone (the first since the
    // start), so a slowdown with size reads off directly.
    json.Key("milestones").BeginArray();
    uint64_t previous_documents = 0;
    double previous_seconds = 0;
    for (const EndToEndIngest::Milestone& milestone : ingest.milestones) {
      json.BeginObject();
      json.Key("docs").Uint(milestone.documents);
      json.Key("seconds").Double(milestone.seconds);
      json.Key("span_docs_per_sec")
          .Double(PerSecond(milestone.documents - previous_documents,
                            milestone.seconds - previous_seconds),
                  1);
      json.EndObject();
      previous_documents = milestone.documents;
      previous_seconds = milestone.seconds;
    }
    json.EndArray();
    json.Key("sample_rejections").BeginArray();
    for (const std::string& reason : ingest.sample_rejections) {
      json.String(reason);
    }
    json.EndArray();
    json.EndObject();
  }

  if (report.searched) {
    json.Key("search").BeginObject();
    json.Key("queries").Uint(report.queries);
    json.Key("warmup_queries").Uint(report.warmup_queries);
    json.Key("by_clients").BeginArray();
    for (const LoadFigures& load : report.search) {
      json.BeginObject();
      json.Key("clients").Int(load.clients);
      json.Key("completed").Uint(load.completed);
      json.Key("errors").Uint(load.errors);
      if (!load.first_error.empty()) {
        json.Key("first_error").String(load.first_error);
      }
      json.Key("seconds").Double(load.seconds);
      WriteLatencyFields(load.latency, json);
      json.Key("qps").Double(load.qps, 1);
      json.EndObject();
    }
    json.EndArray();
    json.EndObject();
  }

  WriteMachine(report.machine, json);
  json.EndObject();
  return json.str();
}

}  // namespace sift::bench
