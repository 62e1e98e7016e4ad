// sift-bench: the macro benchmark of Sift. Parses the command line and hands
// it to the in-process or the end-to-end benchmark; the JSON report goes to
// stdout and to --out. See bench/README.md.

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "bench/cluster_bench.h"
#include "bench/command_line.h"
#include "bench/in_process_bench.h"
#include "bench/queries.h"
#include "common/server/server_runner.h"

ABSL_FLAG(std::string, docs, "",
          "Corpus: JSON lines {id,title,body,date,source,tags}, optionally "
          ".gz");
ABSL_FLAG(std::string, queries, "", "Queries: qid<TAB>text per line");
ABSL_FLAG(std::vector<std::string>, classes,
          std::vector<std::string>({"or", "and", "phrase"}),
          "In process: the query classes timed (or, and, phrase); for "
          "profiling one alone");
ABSL_FLAG(uint32_t, k, 10, "Hits per query");
ABSL_FLAG(bool, highlight, false,
          "End to end: searches ask for snippets (highlighting)");
ABSL_FLAG(std::string, out, "", "Also write the JSON report to this file");
ABSL_FLAG(std::string, dir, "",
          "In process: where to build the shard index (new or empty; kept); "
          "default a temporary directory, removed at the end");
ABSL_FLAG(bool, keep, false, "In process: keep the temporary index directory");
ABSL_FLAG(bool, search_only, false,
          "In process: search the index --dir already holds (kept by an "
          "earlier run on the same corpus) instead of building one; for "
          "profiling queries, the indexing figures are then zero");
ABSL_FLAG(uint32_t, batch, 512, "Documents per write request");
ABSL_FLAG(uint32_t, threads, 0,
          "In process: analysis threads (0: one per processor)");
ABSL_FLAG(uint64_t, warmup_min, 2000,
          "Warm-up: whole passes until this many queries ran...");
ABSL_FLAG(double, warmup_max_s, 30, "...or this many seconds passed");
ABSL_FLAG(int32_t, reps, 3, "In process: timed passes over each query class");
ABSL_FLAG(int32_t, block_cache_mb, 256,
          "In process: the index's RocksDB block cache in MiB, as "
          "sift-storage --block_cache_mb");
ABSL_FLAG(int32_t, search_helpers, -1,
          "In process: threads that take half of a large segment's search "
          "while the machine is otherwise idle, as sift-storage "
          "--search_helpers (-1: one fewer than the processors; 0: none, "
          "every query on one thread)");
ABSL_FLAG(int32_t, max_segments, 1,
          "In process: force-merge the index down to this many segments "
          "after loading it (0: leave it to the merge policy)");
ABSL_FLAG(double, k1, 0, "BM25F k1 (0: the index's default)");
ABSL_FLAG(double, b, 0, "BM25F b (0: the index's default)");
ABSL_FLAG(double, title_b, -1,
          "BM25F length normalisation of the title, 0..1 (-1: b)");
ABSL_FLAG(double, body_b, -1,
          "BM25F length normalisation of the body, 0..1 (-1: b)");
ABSL_FLAG(double, title_weight, 0,
          "BM25F weight of the title (0: the index's default)");
ABSL_FLAG(double, body_weight, 0,
          "BM25F weight of the body (0: the index's default)");
ABSL_FLAG(double, proximity_weight, -1,
          "Weight of the term proximity bonus (0: off; -1: the default)");
ABSL_FLAG(bool, query_stop_words, true,
          "Leave English stop words out of queries, as sift-query does");
ABSL_FLAG(std::string, run, "",
          "In process: write a TREC run of the OR queries to this file");
ABSL_FLAG(uint32_t, run_k, 0, "Depth of the --run file (0: --k)");
ABSL_FLAG(std::string, per_query, "",
          "In process: write each timed query's median time and hits to this "
          "file (class<TAB>qid<TAB>median_us<TAB>hits<TAB>text), slowest "
          "first");
ABSL_FLAG(std::string, write_classes, "",
          "Write the query classes to DIR/{or,and,phrase}.tsv; alone, do "
          "only that");
ABSL_FLAG(std::string, target, "",
          "End to end: host:port of the query service (search load)");
ABSL_FLAG(std::string, ingest, "",
          "End to end: host:port of the ingest service (bulk load --docs)");
ABSL_FLAG(std::vector<std::string>, clients,
          std::vector<std::string>({"1", "8", "32"}),
          "End to end: client counts, one search run each");
ABSL_FLAG(double, seconds, 20,
          "End to end: length of each search run (0: one pass per client)");
ABSL_FLAG(uint32_t, in_flight, 4,
          "End to end: index requests outstanding at once");
ABSL_FLAG(uint64_t, milestone, 1000000,
          "End to end: also report the time and rate of the ingest at every "
          "multiple of this many acknowledged documents (0: none)");

namespace {

void LogLine(absl::string_view line) {
  std::fprintf(stderr, "[sift-bench] %.*s\n", static_cast<int>(line.size()),
               line.data());
}

int Fail(absl::string_view message) {
  std::fprintf(stderr, "sift-bench: %.*s\n", static_cast<int>(message.size()),
               message.data());
  return 1;
}

bool WriteReport(const std::string& json) {
  std::fwrite(json.data(), 1, json.size(), stdout);
  std::fflush(stdout);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) return true;
  std::ofstream file(out, std::ios::binary | std::ios::trunc);
  file << json;
  file.close();
  if (!file) {
    Fail(absl::StrCat("cannot write --out ", out));
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  sift::DisableMutexDeadlockDetection();
  absl::SetProgramUsageMessage(
      "the macro benchmark of Sift.\n"
      "  in process: sift-bench --docs DOCS.jsonl[.gz] --queries Q.tsv "
      "[--k 10] [--out R.json] [--dir DIR] [--run OUT.trec]\n"
      "  end to end: sift-bench [--target HOST:PORT] [--ingest HOST:PORT] "
      "--docs DOCS --queries Q.tsv [--clients 1,8,32] [--seconds 20]");
  std::vector<std::string> storage;
  std::vector<char*> args =
      sift::bench::HyphensToUnderscores(argc, argv, storage);
  const std::vector<char*> rest =
      absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  if (rest.size() > 1) {
    return Fail(absl::StrCat("unexpected argument ", rest[1]));
  }

  const std::string docs = absl::GetFlag(FLAGS_docs);
  const std::string queries = absl::GetFlag(FLAGS_queries);
  const std::string target = absl::GetFlag(FLAGS_target);
  const std::string ingest = absl::GetFlag(FLAGS_ingest);
  const std::string classes_dir = absl::GetFlag(FLAGS_write_classes);
  const uint32_t k = absl::GetFlag(FLAGS_k);
  if (k == 0) return Fail("--k must be at least 1");
  const bool end_to_end = !target.empty() || !ingest.empty();

  if (!classes_dir.empty()) {
    if (queries.empty()) return Fail("--write-classes needs --queries");
    absl::StatusOr<std::vector<sift::bench::BenchQuery>> read =
        sift::bench::ReadQueries(queries);
    if (!read.ok()) return Fail(read.status().message());
    const sift::analysis::Analyzer analyzer;
    const sift::bench::ClassifiedQueries classes =
        sift::bench::ClassifyQueries(*read, analyzer);
    const absl::Status written =
        sift::bench::WriteClassifiedQueries(classes_dir, classes);
    if (!written.ok()) return Fail(written.message());
    LogLine(absl::StrCat("wrote ", classes_dir,
                         "/{or,and,phrase}.tsv: ", classes.or_queries.size(),
                         " / ", classes.and_queries.size(), " / ",
                         classes.phrase_queries.size(), " queries"));
    if (docs.empty() && !end_to_end) return 0;
  }

  if (end_to_end) {
    sift::bench::EndToEndOptions options;
    options.target = target;
    options.ingest = ingest;
    options.docs_path = docs;
    options.queries_path = queries;
    options.k = k;
    options.highlight = absl::GetFlag(FLAGS_highlight);
    options.batch_documents = absl::GetFlag(FLAGS_batch);
    options.in_flight = static_cast<int>(absl::GetFlag(FLAGS_in_flight));
    options.milestone_documents = absl::GetFlag(FLAGS_milestone);
    options.clients.clear();
    for (const std::string& text : absl::GetFlag(FLAGS_clients)) {
      int clients = 0;
      if (!absl::SimpleAtoi(text, &clients) || clients < 1) {
        return Fail(
            absl::StrCat("--clients: \"", text, "\" is not a positive number"));
      }
      options.clients.push_back(clients);
    }
    options.duration = absl::Seconds(absl::GetFlag(FLAGS_seconds));
    options.warmup_min = absl::GetFlag(FLAGS_warmup_min);
    options.warmup_max = absl::Seconds(absl::GetFlag(FLAGS_warmup_max_s));
    options.log = LogLine;
    if (!ingest.empty() && docs.empty()) return Fail("--ingest needs --docs");
    if (!target.empty() && queries.empty()) {
      return Fail("--target needs --queries");
    }
    absl::StatusOr<sift::bench::EndToEndReport> report =
        sift::bench::RunEndToEnd(options);
    if (!report.ok()) return Fail(report.status().ToString());
    return WriteReport(sift::bench::EndToEndReportJson(*report)) ? 0 : 1;
  }

  if (docs.empty() || queries.empty()) {
    return Fail(
        "give --docs and --queries (in process), or --target and/or "
        "--ingest (end to end); --help lists the options");
  }
  sift::bench::InProcessOptions options;
  options.docs_path = docs;
  options.queries_path = queries;
  options.dir = absl::GetFlag(FLAGS_dir);
  options.keep = absl::GetFlag(FLAGS_keep);
  options.search_only = absl::GetFlag(FLAGS_search_only);
  options.k = k;
  options.timed_classes.fill(false);
  for (const std::string& name : absl::GetFlag(FLAGS_classes)) {
    bool known = false;
    for (sift::bench::QueryClass query_class : sift::bench::kAllQueryClasses) {
      if (name != sift::bench::QueryClassName(query_class)) continue;
      options.timed_classes[static_cast<size_t>(query_class)] = true;
      known = true;
    }
    if (!known) {
      return Fail(absl::StrCat("--classes: unknown class \"", name,
                               "\" (or, and, phrase)"));
    }
  }
  options.indexing.batch_documents = absl::GetFlag(FLAGS_batch);
  const uint32_t threads = absl::GetFlag(FLAGS_threads);
  options.indexing.threads =
      threads > 0
          ? static_cast<int>(threads)
          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  options.passes.warmup_min = absl::GetFlag(FLAGS_warmup_min);
  options.passes.warmup_max = absl::Seconds(absl::GetFlag(FLAGS_warmup_max_s));
  options.passes.reps = absl::GetFlag(FLAGS_reps);
  if (absl::GetFlag(FLAGS_block_cache_mb) < 0) {
    return Fail("--block_cache_mb must not be negative");
  }
  options.block_cache_bytes =
      static_cast<size_t>(absl::GetFlag(FLAGS_block_cache_mb)) << 20;
  if (absl::GetFlag(FLAGS_max_segments) < 0) {
    return Fail("--max_segments must not be negative");
  }
  options.max_segments =
      static_cast<uint32_t>(absl::GetFlag(FLAGS_max_segments));
  if (absl::GetFlag(FLAGS_search_helpers) < -1) {
    return Fail("--search_helpers must be -1 or more");
  }
  options.search_helpers = absl::GetFlag(FLAGS_search_helpers);
  if (options.passes.reps < 1) return Fail("--reps must be at least 1");
  options.scoring.set_k1(absl::GetFlag(FLAGS_k1));
  options.scoring.set_b(absl::GetFlag(FLAGS_b));
  if (absl::GetFlag(FLAGS_title_b) >= 0) {
    options.scoring.set_title_b(absl::GetFlag(FLAGS_title_b));
  }
  if (absl::GetFlag(FLAGS_body_b) >= 0) {
    options.scoring.set_body_b(absl::GetFlag(FLAGS_body_b));
  }
  options.scoring.set_title_weight(absl::GetFlag(FLAGS_title_weight));
  options.scoring.set_body_weight(absl::GetFlag(FLAGS_body_weight));
  if (absl::GetFlag(FLAGS_proximity_weight) >= 0) {
    options.scoring.set_proximity_weight(absl::GetFlag(FLAGS_proximity_weight));
  }
  options.plan.drop_stop_words = absl::GetFlag(FLAGS_query_stop_words);
  options.run_path = absl::GetFlag(FLAGS_run);
  options.per_query_path = absl::GetFlag(FLAGS_per_query);
  const uint32_t run_k = absl::GetFlag(FLAGS_run_k);
  options.run_k = run_k > 0 ? run_k : k;
  options.log = LogLine;
  absl::StatusOr<sift::bench::InProcessReport> report =
      sift::bench::RunInProcess(options);
  if (!report.ok()) return Fail(report.status().ToString());
  return WriteReport(sift::bench::InProcessReportJson(*report)) ? 0 : 1;
}
