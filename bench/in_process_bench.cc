#include "bench/in_process_bench.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/command_line.h"
#include "bench/json_writer.h"
#include "bench/report.h"
#include "common/analysis/analyzer.h"
#include "common/status/status_macros.h"
#include "services/storage/index_factory.h"
#include "services/storage/scoring.h"

namespace sift::bench {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The timed queries, slowest first, one line each:
// class<TAB>qid<TAB>median us<TAB>hits<TAB>text.
std::string PerQueryTable(const ClassifiedQueries& classes,
                          const std::array<PassFigures, 3>& figures) {
  struct Line {
    double micros;
    std::string text;
  };
  std::vector<Line> lines;
  for (QueryClass query_class : kAllQueryClasses) {
    const std::vector<BenchQuery>& queries = classes.of(query_class);
    const PassFigures& timed = figures[static_cast<size_t>(query_class)];
    if (timed.median_us.size() != queries.size()) continue;  // not timed
    for (size_t i = 0; i < queries.size(); ++i) {
      lines.push_back({timed.median_us[i],
                       absl::StrFormat("%s\t%s\t%.1f\t%d\t%s\n",
                                       QueryClassName(query_class),
                                       queries[i].qid, timed.median_us[i],
                                       timed.hits[i], queries[i].text)});
    }
  }
  std::stable_sort(
      lines.begin(), lines.end(),
      [](const Line& a, const Line& b) { return a.micros > b.micros; });
  std::string table;
  for (const Line& line : lines) table += line.text;
  return table;
}

absl::Status WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

query::DefaultOperator OperatorOf(QueryClass query_class) {
  return query_class == QueryClass::kAnd ? query::DefaultOperator::kAnd
                                         : query::DefaultOperator::kOr;
}

}  // namespace

absl::StatusOr<InProcessReport> RunInProcess(const InProcessOptions& options) {
  auto log = [&options](absl::string_view line) {
    if (options.log) options.log(line);
  };
  InProcessReport report;
  report.options = options;
  report.machine = ReadMachineInfo();

  // The query file is read first so that a mistake in it costs no indexing.
  SIFT_ASSIGN_OR_RETURN(std::vector<BenchQuery> queries,
                        ReadQueries(options.queries_path));
  const analysis::Analyzer analyzer;
  const ClassifiedQueries classes = ClassifyQueries(queries, analyzer);

  const bool temporary = options.dir.empty();
  if (options.search_only && temporary) {
    return absl::InvalidArgumentError(
        "--search_only searches the index a --dir holds: give --dir");
  }
  if (options.search_only) {
    report.dir = options.dir;
  } else if (temporary) {
    SIFT_ASSIGN_OR_RETURN(report.dir, MakeTempDir("sift-bench"));
  } else {
    SIFT_RETURN_IF_ERROR(PrepareIndexDir(options.dir));
    report.dir = options.dir;
  }
  report.dir_kept = !temporary || options.keep;
  // Declared before the index so that it runs after the index is gone.
  // Captures copies: `report` is moved into the result before it runs.
  absl::Cleanup remove_dir = [dir = report.dir, kept = report.dir_kept] {
    if (kept) return;
    std::error_code error;
    std::filesystem::remove_all(dir, error);
  };

  storage::IndexOptions index_options;
  index_options.block_cache_bytes = options.block_cache_bytes;
  index_options.search_helpers = options.search_helpers;
  std::unique_ptr<storage::Index> index;
  if (!options.search_only) {
    SIFT_ASSIGN_OR_RETURN(index, storage::OpenIndex(report.dir, index_options));
    log(
        absl::StrFormat("indexing %s into %s (%d analysis threads, batches of "
                        "%d)",
                        options.docs_path, report.dir, options.indexing.threads,
                        options.indexing.batch_documents));
    SIFT_ASSIGN_OR_RETURN(
        report.indexing,
        IndexCorpus(options.docs_path, *index, analyzer, options.indexing));
    log(absl::StrFormat("indexed %d documents (%d rejected) in %.2f s",
                        report.indexing.accepted, report.indexing.rejected,
                        report.indexing.seconds));

    // Force-merging (like the peers' forceMerge/compact) and closing let
    // background flushes and merges finish, so that the size on disk is that
    // of a settled index.
    const Clock::time_point close_start = Clock::now();
    if (options.max_segments > 0) {
      SIFT_RETURN_IF_ERROR(index->ForceMerge(options.max_segments));
    }
    SIFT_RETURN_IF_ERROR(index->Close());
    index.reset();
    report.close_seconds = SecondsSince(close_start);
    absl::StatusOr<uint64_t> peak = ReadPeakRssBytes();
    if (peak.ok()) report.index_peak_rss_bytes = *peak;
    SIFT_ASSIGN_OR_RETURN(report.index_bytes, DirectoryBytes(report.dir));
    log(absl::StrFormat("closed in %.2f s; %d bytes on disk",
                        report.close_seconds, report.index_bytes));
  }

  // From here the peak RSS is that of the query phase alone, where the
  // kernel can reset it.
  report.rss_reset = ResetPeakRss().ok();
  const Clock::time_point reopen_start = Clock::now();
  SIFT_ASSIGN_OR_RETURN(index, storage::OpenIndex(report.dir, index_options));
  report.reopen_seconds = SecondsSince(reopen_start);
  report.live_documents = index->DocCount();

  const ShardSearcher searcher(*index, analyzer, options.k, options.scoring,
                               options.plan);
  for (QueryClass query_class : kAllQueryClasses) {
    if (!options.timed_classes[static_cast<size_t>(query_class)]) continue;
    const std::vector<BenchQuery>& class_queries = classes.of(query_class);
    log(absl::StrFormat("query class %s: %d queries",
                        QueryClassName(query_class), class_queries.size()));
    const query::DefaultOperator op = OperatorOf(query_class);
    report.classes[static_cast<size_t>(query_class)] = RunTimedPasses(
        class_queries,
        [&searcher, op](const BenchQuery& query) -> absl::StatusOr<uint64_t> {
          SIFT_ASSIGN_OR_RETURN(ShardQueryResult result,
                                searcher.Search(query.text, op));
          return result.total_hits;
        },
        options.passes);
  }
  absl::StatusOr<uint64_t> peak = ReadPeakRssBytes();
  if (peak.ok()) report.query_peak_rss_bytes = *peak;
  if (!options.per_query_path.empty()) {
    SIFT_RETURN_IF_ERROR(WriteFile(options.per_query_path,
                                   PerQueryTable(classes, report.classes)));
    log(absl::StrCat("wrote ", options.per_query_path));
  }

  if (!options.run_path.empty()) {
    const ShardSearcher deep(*index, analyzer, options.run_k, options.scoring,
                             options.plan);
    std::string run;
    for (const BenchQuery& query : classes.or_queries) {
      absl::StatusOr<ShardQueryResult> result =
          deep.Search(query.text, query::DefaultOperator::kOr);
      // A failing query has no lines, as in the peers' runs; the timed
      // passes already counted it as an error.
      if (result.ok()) AppendTrecRun(query.qid, *result, "sift", &run);
    }
    SIFT_RETURN_IF_ERROR(WriteFile(options.run_path, run));
    log(absl::StrCat("wrote ", options.run_path));
  }
  SIFT_RETURN_IF_ERROR(index->Close());
  return report;
}

std::string InProcessReportJson(const InProcessReport& report) {
  const InProcessOptions& options = report.options;
  const IndexingFigures& indexing = report.indexing;
  JsonWriter json;
  json.BeginObject();
  json.Key("mode").String("in_process");

  json.Key("corpus").BeginObject();
  json.Key("path").String(options.docs_path);
  json.Key("docs").Uint(indexing.documents);
  json.Key("bytes").Uint(indexing.input_bytes);
  json.EndObject();

  json.Key("settings").BeginObject();
  json.Key("k").Uint(options.k);
  json.Key("batch").Uint(options.indexing.batch_documents);
  json.Key("threads").Int(options.indexing.threads);
  json.Key("reps").Int(options.passes.reps);
  json.Key("max_segments").Int(options.max_segments);
  json.Key("search_helpers").Int(options.search_helpers);
  json.Key("warmup_min").Uint(options.passes.warmup_min);
  json.Key("warmup_max_s")
      .Double(absl::ToDoubleSeconds(options.passes.warmup_max), 1);
  json.Key("k1").Double(options.scoring.k1());
  json.Key("b").Double(options.scoring.b());
  json.Key("title_weight").Double(options.scoring.title_weight());
  json.Key("body_weight").Double(options.scoring.body_weight());
  json.Key("proximity_weight")
      .Double(
          storage::Bm25fParams::FromProto(options.scoring).proximity_weight);
  json.Key("query_stop_words").Bool(options.plan.drop_stop_words);
  json.Key("queries").String(options.queries_path);
  json.EndObject();

  json.Key("index").BeginObject();
  json.Key("docs").Uint(indexing.accepted);
  json.Key("rejected").Uint(indexing.rejected);
  json.Key("seconds").Double(indexing.seconds);
  json.Key("docs_per_sec")
      .Double(PerSecond(indexing.accepted, indexing.seconds), 1);
  json.Key("mb_per_sec")
      .Double(MegabytesPerSecond(indexing.input_bytes, indexing.seconds), 2);
  json.Key("close_seconds").Double(report.close_seconds);
  json.Key("seconds_with_close")
      .Double(indexing.seconds + report.close_seconds);
  json.Key("bytes").Uint(report.index_bytes);
  json.Key("reopen_seconds").Double(report.reopen_seconds);
  json.Key("live_docs").Uint(report.live_documents);
  json.Key("write_requests").Uint(indexing.write_requests);
  json.Key("peak_rss_bytes").Uint(report.index_peak_rss_bytes);
  json.Key("dir").String(report.dir);
  json.Key("dir_kept").Bool(report.dir_kept);
  json.Key("sample_rejections").BeginArray();
  for (const std::string& reason : indexing.sample_rejections) {
    json.String(reason);
  }
  json.EndArray();
  json.EndObject();

  json.Key("query").BeginObject();
  for (QueryClass query_class : kAllQueryClasses) {
    const PassFigures& figures =
        report.classes[static_cast<size_t>(query_class)];
    json.Key(QueryClassName(query_class)).BeginObject();
    json.Key("count").Uint(figures.queries);
    json.Key("timed").Uint(figures.latency.count);
    json.Key("warmup_queries").Uint(figures.warmup_queries);
    WriteLatencyFields(figures.latency, json);
    json.Key("qps").Double(figures.qps, 1);
    json.Key("mean_hits").Double(figures.mean_hits, 2);
    json.Key("zero_result_queries").Uint(figures.zero_result_queries);
    json.Key("errors").Uint(figures.errors);
    if (!figures.first_error.empty()) {
      json.Key("first_error").String(figures.first_error);
    }
    json.EndObject();
  }
  json.Key("peak_rss_bytes").Uint(report.query_peak_rss_bytes);
  json.Key("peak_rss_since")
      .String(report.rss_reset ? "reopen" : "process_start");
  json.EndObject();

  WriteMachine(report.machine, json);
  json.EndObject();
  return json.str();
}

}  // namespace sift::bench
