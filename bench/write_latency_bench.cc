// sift-write-latency-bench: how long a shard's commits take while searches
// run. Loads a corpus into a fresh shard index, then runs three phases of
// equal length, each with one writer committing small batches back to
// back: no searches, short searches, long searches. Prints a JSON report on
// stdout and a summary on stderr. See bench/README.md.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "bench/command_line.h"
#include "bench/json_writer.h"
#include "bench/process_stats.h"
#include "bench/report.h"
#include "bench/shard_bench.h"
#include "bench/write_latency.h"
#include "common/analysis/analyzer.h"
#include "services/ingest/document_validator.h"
#include "services/ingest/ingest_handler.h"
#include "services/storage/index_factory.h"
#include "services/storage/storage_handler.h"

ABSL_FLAG(std::string, docs, "",
          "Corpus: JSON lines {id,title,body,date,source,tags}, optionally "
          ".gz");
ABSL_FLAG(std::string, out, "", "Also write the JSON report to this file");
ABSL_FLAG(std::string, dir, "",
          "Where to build the shard index (new or empty; kept); default a "
          "temporary directory, removed at the end");
ABSL_FLAG(bool, keep, false, "Keep the temporary index directory");
ABSL_FLAG(uint32_t, load_batch, 512, "Documents per write request of the load");
ABSL_FLAG(uint32_t, threads, 0,
          "Analysis threads of the load (0: one per processor)");
ABSL_FLAG(int32_t, max_segments, 1,
          "Force-merge the loaded index down to this many segments (0: leave "
          "it to the merge policy)");
ABSL_FLAG(double, seconds, 20, "Length of each phase");
ABSL_FLAG(uint32_t, batch, 10, "Documents per commit of the writer");
ABSL_FLAG(double, replace_fraction, 0.2,
          "Share of the writer's documents that replace a loaded document "
          "(the rest are new)");
ABSL_FLAG(uint32_t, pool, 4000,
          "Corpus documents sampled, analyzed once, whose text the writer "
          "reuses and whose ids it replaces");
ABSL_FLAG(uint64_t, seed, 42, "Seed of the pool sample and the replacements");
ABSL_FLAG(int32_t, search_threads, 4,
          "Threads searching back to back in the short and long phases");
// Calibrated on the 200,000 generated news articles (bench/README.md) to take
// about 5 ms and 200 ms each when run alone.
ABSL_FLAG(std::vector<std::string>, short_searches,
          std::vector<std::string>(
              {"term:honor facet:source facet:tags facet:month",
               "term:harley facet:source facet:tags facet:month",
               "term:warranti facet:source facet:tags facet:month"}),
          "Searches of the short phase, comma-separated, taken in turn; each "
          "is words separated by spaces: query clauses (all, term:WORD, "
          "prefix:PRE, fuzzy:WORD~N; several are OR-ed) and facets "
          "(facet:source, facet:tags, facet:day|month|year)");
ABSL_FLAG(std::vector<std::string>, long_searches,
          std::vector<std::string>(
              {"all prefix:s prefix:c prefix:p prefix:a prefix:m prefix:t "
               "prefix:r fuzzy:govern~2 fuzzy:market~2 facet:source "
               "facet:tags facet:month"}),
          "Searches of the long phase, as --short-searches");
ABSL_FLAG(uint32_t, limit, 10, "Hits per search");
ABSL_FLAG(int32_t, alone_runs, 5,
          "Before the phases, time every search alone on one thread this many "
          "times (after one untimed run): the searches' own latency");
ABSL_FLAG(bool, search_phases, true,
          "Run the three phases of one writer under searches");
ABSL_FLAG(std::vector<std::string>, concurrent_writers, {},
          "After the phases, for each N of this comma-separated list, N "
          "threads commit back to back with no search for --seconds: how "
          "commits of concurrent writers share synced writes");
ABSL_FLAG(uint32_t, max_write_group, 32,
          "Most concurrent writes that share one commit (1: each alone)");
ABSL_FLAG(bool, calibrate, false,
          "Time the searches alone and stop, without the phases: to choose "
          "searches of the wanted length");

namespace sift::bench {
namespace {

constexpr absl::string_view kNewIdPrefix = "write-bench-";
// The writer p99 ratio (long / short searches) a shard whose commits never
// wait for searches stays under.
constexpr double kRatioLimit = 1.5;

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void LogLine(absl::string_view line) {
  std::fprintf(stderr, "[sift-write-latency-bench] %.*s\n",
               static_cast<int>(line.size()), line.data());
}

// The 1, 5 and 15 minute load averages of /proc/loadavg, e.g. "0.52 0.31
// 0.20"; empty where it cannot be read.
std::string ReadLoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(in >> one >> five >> fifteen)) return "";
  return absl::StrCat(one, " ", five, " ", fifteen);
}

struct Search {
  std::string spec;
  v1::ShardSearchRequest request;
};

absl::StatusOr<std::vector<Search>> ParseSearches(
    absl::string_view flag, const std::vector<std::string>& specs,
    uint32_t limit) {
  std::vector<Search> searches;
  for (const std::string& spec : specs) {
    absl::StatusOr<v1::ShardSearchRequest> request =
        ParseSearchSpec(spec, limit);
    if (!request.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", flag, " \"", spec, "\": ", request.status().message()));
    }
    searches.push_back({spec, *std::move(request)});
  }
  if (searches.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " needs at least one search"));
  }
  return searches;
}

absl::StatusOr<uint64_t> RunSearch(storage::StorageHandler& handler,
                                   const v1::ShardSearchRequest& request) {
  absl::StatusOr<v1::ShardSearchResponse> response = handler.Search(request);
  if (!response.ok()) return response.status();
  return response->total_hits();
}

// A search timed alone on one thread, with nothing else running.
struct AloneFigures {
  std::string phase;
  std::string spec;
  MillisSummary latency;
  uint64_t hits = 0;
};

struct Options {
  std::string docs;
  std::string dir;
  bool keep = false;
  IndexingOptions load;
  uint32_t max_segments = 1;
  absl::Duration phase = absl::Seconds(20);
  WriteMix mix;
  size_t pool = 4000;
  int search_threads = 4;
  std::vector<Search> short_searches;
  std::vector<Search> long_searches;
  int alone_runs = 5;
  bool calibrate = false;
  bool search_phases = true;
  std::vector<int> concurrent_writers;
  size_t max_write_group = 32;
};

// N writers committing at once, with no search.
struct WritersFigures {
  int writers = 0;
  double seconds = 0;
  MillisSummary commits;
  uint64_t errors = 0;
  std::string first_error;
};

// What the writer's successful commits held.
struct PhaseWrites {
  // Upserts with a new id, and with the id of a pool document.
  uint64_t new_documents = 0;
  uint64_t replacements = 0;
  // Upserts that the shard says replaced a live document.
  uint64_t existed = 0;
};

struct Report {
  Options options;
  std::string dir;
  bool dir_kept = false;
  IndexingFigures load;
  double merge_seconds = 0;
  double reopen_seconds = 0;
  uint64_t loaded_live_docs = 0;
  size_t pool_documents = 0;
  std::vector<AloneFigures> alone;
  std::string load_average_before;
  std::string load_average_after;
  std::vector<PhaseFigures> phases;
  std::vector<PhaseWrites> phase_writes;
  std::vector<WritersFigures> writers;
  uint64_t final_live_docs = 0;
  std::optional<double> ratio;
  MachineInfo machine;
};

// The pool's lines parsed, validated and analyzed as ingest does; lines the
// ingest rules refuse are left out.
std::vector<v1::AnalyzedDocument> AnalyzePool(
    const std::vector<std::string>& lines, const analysis::Analyzer& analyzer) {
  std::vector<v1::AnalyzedDocument> pool;
  const ingest::IngestLimits limits;
  for (const std::string& line : lines) {
    v1::DocumentInput input;
    input.set_json(line);
    ingest::PreparedDocument document =
        ingest::PrepareDocument(input, limits, analyzer);
    if (document.status.ok()) pool.push_back(std::move(document.analyzed));
  }
  return pool;
}

std::vector<AloneFigures> TimeAlone(storage::StorageHandler& handler,
                                    const Options& options) {
  std::vector<AloneFigures> results;
  auto run = [&](absl::string_view phase, const std::vector<Search>& list) {
    for (const Search& search : list) {
      AloneFigures alone{std::string(phase), search.spec, {}, 0};
      absl::StatusOr<uint64_t> hits = RunSearch(handler, search.request);
      if (!hits.ok()) {
        LogLine(absl::StrCat(phase, " \"", search.spec,
                             "\" failed: ", hits.status().ToString()));
        continue;
      }
      alone.hits = *hits;
      std::vector<double> millis;
      for (int i = 0; i < options.alone_runs; ++i) {
        const Clock::time_point start = Clock::now();
        if (!RunSearch(handler, search.request).ok()) continue;
        millis.push_back(SecondsSince(start) * 1e3);
      }
      alone.latency = SummarizeMillis(std::move(millis));
      LogLine(absl::StrFormat(
          "alone: %s \"%s\": %d hits, mean %.2f ms, p50 %.2f ms", phase,
          search.spec, alone.hits, alone.latency.mean, alone.latency.p50));
      results.push_back(std::move(alone));
    }
  };
  run("short_searches", options.short_searches);
  run("long_searches", options.long_searches);
  return results;
}

// A phase's search function: thread t runs the list's searches in turn,
// starting at search t.
std::function<absl::StatusOr<uint64_t>(int)> SearchLoop(
    storage::StorageHandler& handler, const std::vector<Search>& searches,
    int threads) {
  auto next = std::make_shared<std::vector<size_t>>();
  for (int t = 0; t < threads; ++t) {
    next->push_back(static_cast<size_t>(t) % searches.size());
  }
  return [&handler, &searches, next](int thread) {
    size_t& index = (*next)[static_cast<size_t>(thread)];
    const v1::ShardSearchRequest& request = searches[index].request;
    index = (index + 1) % searches.size();
    return RunSearch(handler, request);
  };
}

// `writers` threads committing back to back for options.phase, each with
// its own documents and new ids.
WritersFigures RunWriters(storage::StorageHandler& handler,
                          const std::vector<v1::AnalyzedDocument>& pool,
                          const Options& options, int writers) {
  WritersFigures figures;
  figures.writers = writers;
  std::vector<std::vector<double>> millis(static_cast<size_t>(writers));
  std::vector<absl::Status> errors(static_cast<size_t>(writers));
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline =
      start + absl::ToChronoNanoseconds(options.phase);
  std::vector<std::thread> threads;
  for (int t = 0; t < writers; ++t) {
    threads.emplace_back([&, t] {
      WriteMix mix = options.mix;
      mix.seed += static_cast<uint64_t>(t) + 1;
      WriteBatchMaker maker(pool, mix,
                            absl::StrCat(kNewIdPrefix, writers, "-", t, "-"));
      while (Clock::now() < deadline) {
        const v1::WriteRequest request = maker.Next();
        const Clock::time_point begin = Clock::now();
        absl::StatusOr<v1::WriteResponse> written = handler.Write(request);
        if (!written.ok()) {
          errors[static_cast<size_t>(t)] = written.status();
          return;
        }
        millis[static_cast<size_t>(t)].push_back(SecondsSince(begin) * 1e3);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  figures.seconds = SecondsSince(start);
  std::vector<double> all;
  for (const std::vector<double>& m : millis) {
    all.insert(all.end(), m.begin(), m.end());
  }
  figures.commits = SummarizeMillis(std::move(all));
  for (const absl::Status& error : errors) {
    if (error.ok()) continue;
    if (figures.errors++ == 0) figures.first_error = error.ToString();
  }
  return figures;
}

absl::StatusOr<Report> Run(const Options& options) {
  Report report;
  report.options = options;
  report.machine = ReadMachineInfo();
  const analysis::Analyzer analyzer;

  // The writer's documents come first, so that a bad corpus costs no load.
  LogLine(absl::StrFormat("sampling %d documents of %s for the writer",
                          options.pool, options.docs));
  absl::StatusOr<std::vector<std::string>> lines =
      SampleCorpusLines(options.docs, options.pool, options.mix.seed);
  if (!lines.ok()) return lines.status();
  std::vector<v1::AnalyzedDocument> pool = AnalyzePool(*lines, analyzer);
  if (pool.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no document of the ", lines->size(), " sampled from ",
                     options.docs, " passes the ingest rules"));
  }
  report.pool_documents = pool.size();

  const bool temporary = options.dir.empty();
  if (temporary) {
    absl::StatusOr<std::string> dir = MakeTempDir("sift-write-bench");
    if (!dir.ok()) return dir.status();
    report.dir = *dir;
  } else {
    absl::Status prepared = PrepareIndexDir(options.dir);
    if (!prepared.ok()) return prepared;
    report.dir = options.dir;
  }
  report.dir_kept = !temporary || options.keep;
  struct RemoveDir {
    std::string dir;
    bool kept;
    ~RemoveDir() {
      if (kept) return;
      std::error_code error;
      std::filesystem::remove_all(dir, error);
    }
  } remove_dir{report.dir, report.dir_kept};

  storage::IndexOptions index_options;
  index_options.max_write_group = options.max_write_group;
  absl::StatusOr<std::unique_ptr<storage::Index>> index =
      storage::OpenIndex(report.dir, index_options);
  if (!index.ok()) return index.status();
  LogLine(absl::StrFormat("loading %s into %s", options.docs, report.dir));
  absl::StatusOr<IndexingFigures> load =
      IndexCorpus(options.docs, **index, analyzer, options.load);
  if (!load.ok()) return load.status();
  report.load = *load;
  LogLine(absl::StrFormat("loaded %d documents (%d rejected) in %.1f s",
                          load->accepted, load->rejected, load->seconds));

  // A settled layout, as a shard has after a bulk load: merged, its
  // background work finished, reopened.
  const Clock::time_point merge_start = Clock::now();
  if (options.max_segments > 0) {
    absl::Status merged = (*index)->ForceMerge(options.max_segments);
    if (!merged.ok()) return merged;
  }
  if (absl::Status closed = (*index)->Close(); !closed.ok()) return closed;
  index->reset();
  report.merge_seconds = SecondsSince(merge_start);
  const Clock::time_point reopen_start = Clock::now();
  index = storage::OpenIndex(report.dir, index_options);
  if (!index.ok()) return index.status();
  report.reopen_seconds = SecondsSince(reopen_start);
  LogLine(absl::StrFormat("merged and closed in %.1f s, reopened in %.2f s",
                          report.merge_seconds, report.reopen_seconds));

  storage::StorageHandler handler(index->get());
  absl::StatusOr<v1::StatsResponse> stats = handler.Stats({});
  if (!stats.ok()) return stats.status();
  report.loaded_live_docs = stats->doc_count();

  if (options.alone_runs > 0) report.alone = TimeAlone(handler, options);
  report.load_average_before = ReadLoadAverage();
  if (!options.calibrate && options.search_phases) {
    WriteBatchMaker maker(pool, options.mix, std::string(kNewIdPrefix));
    v1::WriteRequest request;
    PhaseWrites written_so_far;
    PhaseWriter writer;
    writer.prepare = [&maker, &request] {
      request = maker.Next();
      return absl::OkStatus();
    };
    writer.commit = [&handler, &request, &written_so_far]() -> absl::Status {
      absl::StatusOr<v1::WriteResponse> written = handler.Write(request);
      if (!written.ok()) return written.status();
      if (written->results_size() != request.ops_size()) {
        return absl::InternalError(
            absl::StrCat("Write answered ", written->results_size(),
                         " results for ", request.ops_size(), " operations"));
      }
      for (int i = 0; i < request.ops_size(); ++i) {
        if (absl::StartsWith(request.ops(i).upsert().document().id(),
                             kNewIdPrefix)) {
          ++written_so_far.new_documents;
        } else {
          ++written_so_far.replacements;
        }
        if (written->results(i).existed()) ++written_so_far.existed;
      }
      return absl::OkStatus();
    };

    std::vector<PhaseSpec> specs(3);
    specs[0].name = "idle";
    specs[1].name = "short_searches";
    specs[1].search_threads = options.search_threads;
    specs[1].search =
        SearchLoop(handler, options.short_searches, options.search_threads);
    specs[2].name = "long_searches";
    specs[2].search_threads = options.search_threads;
    specs[2].search =
        SearchLoop(handler, options.long_searches, options.search_threads);
    for (PhaseSpec& spec : specs) {
      spec.duration = options.phase;
      LogLine(absl::StrFormat("phase %s: %d search threads, %.0f s", spec.name,
                              spec.search_threads,
                              absl::ToDoubleSeconds(spec.duration)));
      const PhaseWrites before = written_so_far;
      report.phases.push_back(RunPhase(spec, writer));
      report.phase_writes.push_back(
          {written_so_far.new_documents - before.new_documents,
           written_so_far.replacements - before.replacements,
           written_so_far.existed - before.existed});
      const PhaseFigures& phase = report.phases.back();
      if (!phase.first_write_error.empty()) {
        return absl::InternalError(
            absl::StrCat("phase ", phase.name,
                         ": the writer failed: ", phase.first_write_error));
      }
    }
    report.ratio = WriterP99Ratio(report.phases[2], report.phases[1]);
  }
  if (!options.calibrate) {
    for (int writers : options.concurrent_writers) {
      LogLine(absl::StrFormat("%d concurrent writers, %.0f s", writers,
                              absl::ToDoubleSeconds(options.phase)));
      report.writers.push_back(RunWriters(handler, pool, options, writers));
    }
  }

  report.load_average_after = ReadLoadAverage();
  stats = handler.Stats({});
  if (!stats.ok()) return stats.status();
  report.final_live_docs = stats->doc_count();
  if (absl::Status closed = (*index)->Close(); !closed.ok()) return closed;
  return report;
}

void WriteMillis(const MillisSummary& latency, bool p90, JsonWriter& json) {
  json.Key("mean_ms").Double(latency.mean, 3);
  json.Key("p50_ms").Double(latency.p50, 3);
  if (p90) json.Key("p90_ms").Double(latency.p90, 3);
  json.Key("p99_ms").Double(latency.p99, 3);
  json.Key("max_ms").Double(latency.max, 3);
}

std::string ReportJson(const Report& report) {
  const Options& options = report.options;
  JsonWriter json;
  json.BeginObject();
  json.Key("benchmark").String("write_latency");

  json.Key("corpus").BeginObject();
  json.Key("path").String(options.docs);
  json.Key("docs").Uint(report.load.documents);
  json.Key("rejected").Uint(report.load.rejected);
  json.Key("bytes").Uint(report.load.input_bytes);
  json.EndObject();

  json.Key("settings").BeginObject();
  json.Key("phase_seconds").Double(absl::ToDoubleSeconds(options.phase), 1);
  json.Key("batch").Uint(options.mix.batch_documents);
  json.Key("replace_fraction").Double(options.mix.replace_fraction, 3);
  json.Key("pool").Uint(report.pool_documents);
  json.Key("seed").Uint(options.mix.seed);
  json.Key("search_threads").Int(options.search_threads);
  json.Key("limit").Uint(options.short_searches.front().request.limit());
  for (const auto& [key, list] :
       {std::pair{"short_searches", &options.short_searches},
        std::pair{"long_searches", &options.long_searches}}) {
    json.Key(key).BeginArray();
    for (const Search& search : *list) json.String(search.spec);
    json.EndArray();
  }
  json.Key("max_segments").Uint(options.max_segments);
  json.EndObject();

  json.Key("load").BeginObject();
  json.Key("seconds").Double(report.load.seconds, 2);
  json.Key("merge_and_close_seconds").Double(report.merge_seconds, 2);
  json.Key("reopen_seconds").Double(report.reopen_seconds, 3);
  json.Key("live_docs").Uint(report.loaded_live_docs);
  json.Key("dir").String(report.dir);
  json.Key("dir_kept").Bool(report.dir_kept);
  json.EndObject();

  json.Key("searches_alone").BeginArray();
  for (const AloneFigures& alone : report.alone) {
    json.BeginObject();
    json.Key("phase").String(alone.phase);
    json.Key("search").String(alone.spec);
    json.Key("hits").Uint(alone.hits);
    json.Key("runs").Uint(alone.latency.count);
    WriteMillis(alone.latency, /*p90=*/false, json);
    json.EndObject();
  }
  json.EndArray();
  if (!options.calibrate) {
    json.Key("phases").BeginArray();
    for (size_t i = 0; i < report.phases.size(); ++i) {
      const PhaseFigures& phase = report.phases[i];
      json.BeginObject();
      json.Key("name").String(phase.name);
      json.Key("search_threads").Int(phase.search_threads);
      json.Key("seconds").Double(phase.seconds, 2);
      json.Key("writer").BeginObject();
      json.Key("commits").Uint(phase.commits.count);
      json.Key("new_docs").Uint(report.phase_writes[i].new_documents);
      json.Key("replacing_docs").Uint(report.phase_writes[i].replacements);
      json.Key("replaced_existing").Uint(report.phase_writes[i].existed);
      json.Key("errors").Uint(phase.write_errors);
      WriteMillis(phase.commits, /*p90=*/true, json);
      json.EndObject();
      json.Key("searches").BeginObject();
      json.Key("completed").Uint(phase.searches.count);
      json.Key("errors").Uint(phase.search_errors);
      if (!phase.first_search_error.empty()) {
        json.Key("first_error").String(phase.first_search_error);
      }
      json.Key("mean_ms").Double(phase.searches.mean, 3);
      json.Key("p50_ms").Double(phase.searches.p50, 3);
      json.Key("p99_ms").Double(phase.searches.p99, 3);
      json.Key("mean_hits").Double(phase.mean_hits, 1);
      json.EndObject();
      json.EndObject();
    }
    json.EndArray();
    json.Key("writer_p99_long_over_short");
    if (report.ratio.has_value()) {
      json.Double(*report.ratio, 3);
    } else {
      json.Null();
    }
    json.Key("ratio_limit").Double(kRatioLimit, 2);
  }
  json.Key("max_write_group").Uint(options.max_write_group);
  json.Key("concurrent_writers").BeginArray();
  for (const WritersFigures& w : report.writers) {
    json.BeginObject();
    json.Key("writers").Int(w.writers);
    json.Key("seconds").Double(w.seconds, 2);
    json.Key("commits").Uint(w.commits.count);
    json.Key("commits_per_second")
        .Double(w.seconds > 0 ? static_cast<double>(w.commits.count) / w.seconds
                              : 0,
                1);
    json.Key("errors").Uint(w.errors);
    if (!w.first_error.empty()) json.Key("first_error").String(w.first_error);
    WriteMillis(w.commits, /*p90=*/true, json);
    json.EndObject();
  }
  json.EndArray();
  json.Key("final_live_docs").Uint(report.final_live_docs);
  WriteMachine(report.machine, json);
  // Other work on the machine shows here; the figures need it quiet.
  json.Key("load_average").BeginObject();
  json.Key("before_phases").String(report.load_average_before);
  json.Key("after_phases").String(report.load_average_after);
  json.EndObject();
  json.EndObject();
  return json.str();
}

// The mean latency alone of the searches of `phase`, over all their runs;
// 0 when none were timed.
double AloneMean(const Report& report, absl::string_view phase) {
  double sum = 0;
  size_t runs = 0;
  for (const AloneFigures& alone : report.alone) {
    if (alone.phase != phase) continue;
    sum += alone.latency.mean * static_cast<double>(alone.latency.count);
    runs += alone.latency.count;
  }
  return runs > 0 ? sum / static_cast<double>(runs) : 0;
}

void PrintSummary(const Report& report) {
  for (const WritersFigures& w : report.writers) {
    std::fprintf(
        stderr,
        "%d writers (max_write_group %zu): %zu commits in %.1f s, "
        "%.0f commits/s, p50/p99 %.2f / %.2f ms\n",
        w.writers, report.options.max_write_group, w.commits.count, w.seconds,
        w.seconds > 0 ? static_cast<double>(w.commits.count) / w.seconds : 0.0,
        w.commits.p50, w.commits.p99);
  }
  if (report.phases.empty()) return;
  std::fprintf(stderr, "\n%-15s %8s %19s %9s %9s %23s\n", "phase", "commits",
               "writer p50/p99 ms", "max ms", "searches",
               "search ms: phase/alone");
  for (const PhaseFigures& phase : report.phases) {
    const std::string search =
        phase.search_threads > 0
            ? absl::StrFormat("%.1f / %.1f", phase.searches.mean,
                              AloneMean(report, phase.name))
            : std::string("-");
    std::fprintf(
        stderr, "%-15s %8zu %19s %9.1f %9zu %23s\n", phase.name.c_str(),
        phase.commits.count,
        absl::StrFormat("%.2f / %.2f", phase.commits.p50, phase.commits.p99)
            .c_str(),
        phase.commits.max, phase.searches.count, search.c_str());
  }
  if (report.ratio.has_value()) {
    std::fprintf(stderr,
                 "writer p99 long/short searches: %.2f (%s %.1f: commits %s "
                 "for searches)\n",
                 *report.ratio, *report.ratio <= kRatioLimit ? "<=" : ">",
                 kRatioLimit,
                 *report.ratio <= kRatioLimit ? "do not wait" : "wait");
  }
  std::fprintf(stderr, "load average before / after the phases: %s / %s\n",
               report.load_average_before.c_str(),
               report.load_average_after.c_str());
}

int Fail(absl::string_view message) {
  std::fprintf(stderr, "sift-write-latency-bench: %.*s\n",
               static_cast<int>(message.size()), message.data());
  return 1;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "commit latency of one shard while searches run.\n"
      "  sift-write-latency-bench --docs DOCS.jsonl[.gz] [--seconds 20] "
      "[--batch 10] [--search-threads 4] [--out R.json]");
  std::vector<std::string> storage;
  std::vector<char*> args = HyphensToUnderscores(argc, argv, storage);
  const std::vector<char*> rest =
      absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  if (rest.size() > 1) {
    return Fail(absl::StrCat("unexpected argument ", rest[1]));
  }

  Options options;
  options.docs = absl::GetFlag(FLAGS_docs);
  if (options.docs.empty())
    return Fail("give --docs; --help lists the options");
  options.dir = absl::GetFlag(FLAGS_dir);
  options.keep = absl::GetFlag(FLAGS_keep);
  options.load.batch_documents = absl::GetFlag(FLAGS_load_batch);
  const uint32_t threads = absl::GetFlag(FLAGS_threads);
  options.load.threads =
      threads > 0
          ? static_cast<int>(threads)
          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (absl::GetFlag(FLAGS_max_segments) < 0) {
    return Fail("--max-segments must not be negative");
  }
  options.max_segments =
      static_cast<uint32_t>(absl::GetFlag(FLAGS_max_segments));
  const double seconds = absl::GetFlag(FLAGS_seconds);
  if (!(seconds > 0)) return Fail("--seconds must be positive");
  options.phase = absl::Seconds(seconds);
  options.mix.batch_documents = absl::GetFlag(FLAGS_batch);
  if (options.mix.batch_documents < 1 ||
      options.mix.batch_documents > storage::kMaxWriteOps) {
    return Fail(absl::StrCat("--batch must be 1 to ", storage::kMaxWriteOps));
  }
  options.mix.replace_fraction = absl::GetFlag(FLAGS_replace_fraction);
  if (!(options.mix.replace_fraction >= 0 &&
        options.mix.replace_fraction <= 1)) {
    return Fail("--replace-fraction must be within 0..1");
  }
  options.mix.seed = absl::GetFlag(FLAGS_seed);
  options.pool = absl::GetFlag(FLAGS_pool);
  if (options.pool < 1) return Fail("--pool must be at least 1");
  options.search_threads = absl::GetFlag(FLAGS_search_threads);
  if (options.search_threads < 1) {
    return Fail("--search-threads must be at least 1");
  }
  const uint32_t limit = absl::GetFlag(FLAGS_limit);
  if (limit < 1 || limit > storage::kMaxSearchLimit) {
    return Fail(
        absl::StrCat("--limit must be 1 to ", storage::kMaxSearchLimit));
  }
  absl::StatusOr<std::vector<Search>> searches = ParseSearches(
      "short-searches", absl::GetFlag(FLAGS_short_searches), limit);
  if (!searches.ok()) return Fail(searches.status().message());
  options.short_searches = *std::move(searches);
  searches =
      ParseSearches("long-searches", absl::GetFlag(FLAGS_long_searches), limit);
  if (!searches.ok()) return Fail(searches.status().message());
  options.long_searches = *std::move(searches);
  options.alone_runs = absl::GetFlag(FLAGS_alone_runs);
  if (options.alone_runs < 0) return Fail("--alone-runs must not be negative");
  options.calibrate = absl::GetFlag(FLAGS_calibrate);
  if (options.calibrate && options.alone_runs == 0) {
    return Fail("--calibrate needs --alone-runs of at least 1");
  }
  options.search_phases = absl::GetFlag(FLAGS_search_phases);
  for (const std::string& n : absl::GetFlag(FLAGS_concurrent_writers)) {
    int writers = 0;
    if (!absl::SimpleAtoi(n, &writers) || writers < 1 || writers > 256) {
      return Fail(absl::StrCat("--concurrent-writers: \"", n,
                               "\" is not a number of writers (1 to 256)"));
    }
    options.concurrent_writers.push_back(writers);
  }
  options.max_write_group = absl::GetFlag(FLAGS_max_write_group);
  if (options.max_write_group < 1) {
    return Fail("--max-write-group must be at least 1");
  }

  absl::StatusOr<Report> report = Run(options);
  if (!report.ok()) return Fail(report.status().ToString());
  const std::string json = ReportJson(*report);
  std::fwrite(json.data(), 1, json.size(), stdout);
  std::fflush(stdout);
  PrintSummary(*report);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (!out.empty()) {
    std::ofstream file(out, std::ios::binary | std::ios::trunc);
    file << json;
    file.close();
    if (!file) return Fail(absl::StrCat("cannot write --out ", out));
  }
  return 0;
}

}  // namespace
}  // namespace sift::bench

int main(int argc, char** argv) { return sift::bench::Main(argc, argv); }
