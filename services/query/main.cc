// sift-query: the stateless query coordinator in front of the storage
// shards.

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/analysis/analyzer.h"
#include "common/server/executor.h"
#include "common/server/server_runner.h"
#include "services/query/admin_service.h"
#include "services/query/query_handler.h"
#include "services/query/query_service.h"
#include "services/query/snapshot_admin.h"
#include "services/storage/storage_client.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7700",
          "Address to serve QueryService on (host:port; port 0 picks one).");
ABSL_FLAG(std::string, etcd, "",
          "etcd endpoints (host:port,...) of a replicated cluster: the shards "
          "and their copies come from its cluster map, not from --shards");
ABSL_FLAG(std::string, cluster, "sift", "The cluster's name in etcd");
ABSL_FLAG(int, etcd_wait_seconds, 120,
          "With --etcd: how long to wait at start for the cluster to exist");
ABSL_FLAG(std::string, snapshot_dir, "",
          "Folder of the cluster's snapshots (the storage members' "
          "--snapshot_dir); empty: AdminService refuses snapshots");
ABSL_FLAG(std::string, shards, "127.0.0.1:7710",
          "Storage shard addresses, comma-separated, in shard order.");
ABSL_FLAG(int, threads, 0,
          "Worker threads running searches (0: one per CPU core).");
ABSL_FLAG(int, max_queued, 1024,
          "Requests waiting for a worker before new ones get "
          "RESOURCE_EXHAUSTED.");
ABSL_FLAG(int, timeout_ms, 10000,
          "Longest a request may take when the client sets no shorter "
          "deadline.");
ABSL_FLAG(int, drain_ms, 5000,
          "On SIGINT or SIGTERM, how long calls in flight may finish.");
ABSL_FLAG(uint32_t, max_page_size, 1000, "Largest page_size accepted.");
ABSL_FLAG(uint32_t, max_result_window, 10000,
          "Deepest hit reachable by paging: offset + page_size at most this.");
ABSL_FLAG(uint32_t, max_query_bytes, 4096, "Longest query, in bytes.");
ABSL_FLAG(uint32_t, max_clauses, 256,
          "Most clauses (terms, phrases, prefixes, fuzzy terms, "
          "date ranges) in a query.");
ABSL_FLAG(uint32_t, max_depth, 32, "Deepest nesting of parentheses.");
ABSL_FLAG(bool, query_stop_words, true,
          "Leave English stop words out of queries where the query language "
          "allows it (docs/query-language.md).");
ABSL_FLAG(bool, cache_stats, true,
          "Keep the statistics shards answer, so that a search over several "
          "shards skips the statistics round while they stay unchanged (each "
          "shard checks); false asks every search's statistics.");
ABSL_FLAG(uint32_t, snippet_bytes, 200,
          "Target length of body snippets, in bytes.");
ABSL_FLAG(double, bm25_k1, 0, "BM25F k1 (0: the shards' default).");
ABSL_FLAG(double, bm25_b, 0, "BM25F b (0: the shards' default).");
ABSL_FLAG(double, bm25_title_b, -1,
          "BM25F length normalisation of the title, 0..1 (-1: b).");
ABSL_FLAG(double, bm25_body_b, -1,
          "BM25F length normalisation of the body, 0..1 (-1: b).");
ABSL_FLAG(double, title_weight, 0,
          "BM25F weight of the title (0: the shards' default).");
ABSL_FLAG(double, body_weight, 0,
          "BM25F weight of the body (0: the shards' default).");
ABSL_FLAG(double, proximity_weight, -1,
          "Weight of the term proximity bonus (0: off; -1: the shards' "
          "default). docs/ranking.md.");

int main(int argc, char** argv) {
  sift::DisableMutexDeadlockDetection();
  sift::BlockTerminationSignals();
  absl::SetProgramUsageMessage(
      "Serves sift.v1.QueryService over the given storage shards.");
  absl::ParseCommandLine(argc, argv);

  auto directory = sift::storage::OpenShardDirectory(
      absl::GetFlag(FLAGS_shards), absl::GetFlag(FLAGS_etcd),
      absl::GetFlag(FLAGS_cluster),
      absl::Seconds(absl::GetFlag(FLAGS_etcd_wait_seconds)));
  if (!directory.ok()) {
    std::fprintf(stderr, "sift-query: %s\n",
                 std::string(directory.status().message()).c_str());
    return 2;
  }

  sift::query::QueryOptions options;
  options.timeout = absl::Milliseconds(absl::GetFlag(FLAGS_timeout_ms));
  options.max_page_size = absl::GetFlag(FLAGS_max_page_size);
  options.max_result_window = absl::GetFlag(FLAGS_max_result_window);
  options.max_query_bytes = absl::GetFlag(FLAGS_max_query_bytes);
  options.max_clauses = absl::GetFlag(FLAGS_max_clauses);
  options.max_depth = absl::GetFlag(FLAGS_max_depth);
  options.drop_stop_words = absl::GetFlag(FLAGS_query_stop_words);
  options.snippet_bytes = absl::GetFlag(FLAGS_snippet_bytes);
  options.cache_stats = absl::GetFlag(FLAGS_cache_stats);
  options.scoring.set_k1(absl::GetFlag(FLAGS_bm25_k1));
  options.scoring.set_b(absl::GetFlag(FLAGS_bm25_b));
  if (absl::GetFlag(FLAGS_bm25_title_b) >= 0) {
    options.scoring.set_title_b(absl::GetFlag(FLAGS_bm25_title_b));
  }
  if (absl::GetFlag(FLAGS_bm25_body_b) >= 0) {
    options.scoring.set_body_b(absl::GetFlag(FLAGS_bm25_body_b));
  }
  options.scoring.set_title_weight(absl::GetFlag(FLAGS_title_weight));
  options.scoring.set_body_weight(absl::GetFlag(FLAGS_body_weight));
  if (absl::GetFlag(FLAGS_proximity_weight) >= 0) {
    options.scoring.set_proximity_weight(absl::GetFlag(FLAGS_proximity_weight));
  }
  if (options.timeout <= absl::ZeroDuration() || options.max_page_size == 0 ||
      options.max_result_window < options.max_page_size) {
    std::fprintf(stderr,
                 "sift-query: --timeout_ms and --max_page_size must be "
                 "positive and --max_result_window at least "
                 "--max_page_size\n");
    return 2;
  }

  const sift::analysis::Analyzer analyzer;
  const sift::query::QueryHandler handler(*directory, &analyzer, options);
  int threads = absl::GetFlag(FLAGS_threads);
  if (threads <= 0) {
    threads = static_cast<int>(std::thread::hardware_concurrency());
  }
  // Created before the server so that it outlives it: calls in flight
  // during the drain still need their worker.
  auto executor = std::make_unique<sift::Executor>(
      static_cast<size_t>(threads > 0 ? threads : 1),
      static_cast<size_t>(std::max(0, absl::GetFlag(FLAGS_max_queued))));
  sift::query::QueryServiceImpl service(&handler, executor.get());
  const sift::query::SnapshotAdmin snapshots(
      *directory, absl::GetFlag(FLAGS_snapshot_dir), absl::Hours(1));
  sift::query::AdminServiceImpl admin(&snapshots);
  auto server =
      sift::StartServer(absl::GetFlag(FLAGS_listen), {&service, &admin});
  if (!server.ok()) {
    std::fprintf(stderr, "sift-query: %s\n",
                 std::string(server.status().message()).c_str());
    return 1;
  }
  const std::string listen = absl::GetFlag(FLAGS_listen);
  const std::string host = listen.substr(0, listen.rfind(':'));
  std::fprintf(stderr, "sift-query: ready, listening on %s:%d, %s\n",
               host.c_str(), (*server)->port(),
               sift::storage::DescribeDirectory(**directory).c_str());

  const int signal = sift::WaitForTerminationSignal();
  std::fprintf(stderr, "sift-query: signal %d, draining\n", signal);
  (*server)->Shutdown(absl::Milliseconds(absl::GetFlag(FLAGS_drain_ms)));
  // Join the workers, which may still be returning from Finish when the
  // drain ends, before the server they called goes away.
  executor.reset();
  std::fprintf(stderr, "sift-query: stopped\n");
  return 0;
}
