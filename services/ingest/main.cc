// sift-ingest: the stateless write front end. Validates, parses and
// analyzes documents and writes each to its storage shard.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/server/executor.h"
#include "common/server/server_runner.h"
#include "services/ingest/ingest_handler.h"
#include "services/ingest/ingest_service.h"
#include "services/storage/storage_client.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7701",
          "Address to serve IngestService on (host:port; port 0 picks one).");
ABSL_FLAG(std::string, etcd, "",
          "etcd endpoints (host:port,...) of a replicated cluster: the shards "
          "and their copies come from its cluster map, not from --shards");
ABSL_FLAG(std::string, cluster, "sift", "The cluster's name in etcd");
ABSL_FLAG(int, etcd_wait_seconds, 120,
          "With --etcd: how long to wait at start for the cluster to exist");
ABSL_FLAG(std::string, shards, "127.0.0.1:7710",
          "Storage shard addresses, comma-separated, in shard order. Every "
          "ingest and query server must list the same shards in the same "
          "order.");
ABSL_FLAG(int32_t, threads, 0,
          "Worker threads for parsing, analysis and shard writes (0: one per "
          "CPU).");
ABSL_FLAG(int32_t, max_queued_calls, 256,
          "Calls that may wait for a worker thread; beyond that, calls fail "
          "with RESOURCE_EXHAUSTED.");
ABSL_FLAG(int64_t, timeout_ms, 30000,
          "Longest time one call (or one stream message) may spend getting "
          "its documents acknowledged by shards, whatever the client's "
          "deadline.");
ABSL_FLAG(int64_t, retry_initial_backoff_ms, 50,
          "First wait before resending to a shard that answered UNAVAILABLE "
          "or RESOURCE_EXHAUSTED; it doubles on each retry.");
ABSL_FLAG(int64_t, write_attempt_timeout_ms, 10000,
          "Longest one attempt of a shard write may take before ingest tries "
          "again (a hung primary), within --timeout_ms");
ABSL_FLAG(int64_t, retry_max_backoff_ms, 2000,
          "Cap on the wait between retries to a shard.");
ABSL_FLAG(int64_t, drain_ms, 10000,
          "On SIGINT/SIGTERM, how long calls in flight may take to finish "
          "before they are cancelled.");
ABSL_FLAG(uint64_t, max_batch_documents, 1000,
          "Documents per Index call or IndexStream message; ids per Delete.");
ABSL_FLAG(uint64_t, max_batch_bytes, uint64_t{64} << 20,
          "Serialized bytes of the documents of one Index call or "
          "IndexStream message.");
ABSL_FLAG(uint64_t, max_id_bytes, 512, "Bytes in a document id.");
ABSL_FLAG(uint64_t, max_title_bytes, uint64_t{64} << 10,
          "Bytes in a document title.");
ABSL_FLAG(uint64_t, max_document_bytes, uint64_t{8} << 20,
          "Serialized bytes of one document (and of a plain-text article).");
ABSL_FLAG(uint64_t, max_source_bytes, 1024, "Bytes in a document source.");
ABSL_FLAG(uint64_t, max_tags, 1000, "Tags on one document.");
ABSL_FLAG(uint64_t, max_tag_bytes, 1024, "Bytes in one tag.");
ABSL_FLAG(uint64_t, max_url_bytes, uint64_t{8} << 10, "Bytes in a url.");
ABSL_FLAG(uint64_t, max_language_bytes, 64, "Bytes in a language tag.");
ABSL_FLAG(uint64_t, max_attributes, 1000, "Attributes on one document.");
ABSL_FLAG(uint64_t, max_stream_rejections, 10000,
          "Rejections listed in an IndexStream response; later ones are "
          "only counted.");

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "sift-ingest: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  sift::DisableMutexDeadlockDetection();
  sift::BlockTerminationSignals();
  absl::SetProgramUsageMessage(
      "Sift ingest server: validates, parses and analyzes documents and "
      "writes each to its storage shard.\nUsage: sift-ingest "
      "[--listen=127.0.0.1:7701] [--shards=host:port,...] [flags]");
  absl::ParseCommandLine(argc, argv);

  sift::ingest::IngestOptions options;
  sift::ingest::IngestLimits& limits = options.limits;
  limits.max_batch_documents = absl::GetFlag(FLAGS_max_batch_documents);
  limits.max_batch_bytes = absl::GetFlag(FLAGS_max_batch_bytes);
  limits.max_id_bytes = absl::GetFlag(FLAGS_max_id_bytes);
  limits.max_title_bytes = absl::GetFlag(FLAGS_max_title_bytes);
  limits.max_document_bytes = absl::GetFlag(FLAGS_max_document_bytes);
  limits.max_source_bytes = absl::GetFlag(FLAGS_max_source_bytes);
  limits.max_tags = absl::GetFlag(FLAGS_max_tags);
  limits.max_tag_bytes = absl::GetFlag(FLAGS_max_tag_bytes);
  limits.max_url_bytes = absl::GetFlag(FLAGS_max_url_bytes);
  limits.max_language_bytes = absl::GetFlag(FLAGS_max_language_bytes);
  limits.max_attributes = absl::GetFlag(FLAGS_max_attributes);
  if (limits.max_batch_documents == 0 || limits.max_id_bytes == 0) {
    return Fail("--max_batch_documents and --max_id_bytes must be positive");
  }
  const int64_t timeout_ms = absl::GetFlag(FLAGS_timeout_ms);
  const int64_t initial_ms = absl::GetFlag(FLAGS_retry_initial_backoff_ms);
  const int64_t max_backoff_ms = absl::GetFlag(FLAGS_retry_max_backoff_ms);
  if (timeout_ms <= 0 || initial_ms <= 0 || max_backoff_ms < initial_ms) {
    return Fail(
        "--timeout_ms and --retry_initial_backoff_ms must be positive, and "
        "--retry_max_backoff_ms at least --retry_initial_backoff_ms");
  }
  options.max_call_time = absl::Milliseconds(timeout_ms);
  options.retry.initial_backoff = absl::Milliseconds(initial_ms);
  options.retry.max_backoff = absl::Milliseconds(max_backoff_ms);
  const int64_t attempt_ms = absl::GetFlag(FLAGS_write_attempt_timeout_ms);
  if (attempt_ms <= 0)
    return Fail("--write_attempt_timeout_ms must be positive");
  options.retry.attempt_timeout = absl::Milliseconds(attempt_ms);

  int threads = absl::GetFlag(FLAGS_threads);
  if (threads < 0) return Fail("--threads must be 0 (one per CPU) or more");
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const int max_queued = absl::GetFlag(FLAGS_max_queued_calls);
  if (max_queued < 0) return Fail("--max_queued_calls must not be negative");

  auto directory = sift::storage::OpenShardDirectory(
      absl::GetFlag(FLAGS_shards), absl::GetFlag(FLAGS_etcd),
      absl::GetFlag(FLAGS_cluster),
      absl::Seconds(absl::GetFlag(FLAGS_etcd_wait_seconds)));
  if (!directory.ok()) return Fail(std::string(directory.status().message()));
  const size_t num_shards = (*directory)->shard_count();

  auto executor = std::make_unique<sift::Executor>(threads, max_queued);
  sift::ingest::IngestHandler handler(*directory, options, executor.get());
  sift::ingest::IngestServiceOptions service_options;
  service_options.max_stream_rejections =
      absl::GetFlag(FLAGS_max_stream_rejections);
  sift::ingest::IngestServiceImpl service(&handler, executor.get(),
                                          service_options);

  const std::string listen = absl::GetFlag(FLAGS_listen);
  auto server = sift::StartServer(listen, {&service});
  if (!server.ok()) return Fail(std::string(server.status().message()));
  std::fprintf(stderr,
               "sift-ingest: serving on %s (port %d), %zu shard(s) from "
               "--shards=%s, %d threads\n",
               listen.c_str(), (*server)->port(), num_shards,
               absl::GetFlag(FLAGS_shards).c_str(), threads);

  const int signal = sift::WaitForTerminationSignal();
  std::fprintf(stderr, "sift-ingest: signal %d, draining\n", signal);
  (*server)->Shutdown(absl::Milliseconds(absl::GetFlag(FLAGS_drain_ms)));
  // Join the workers before the handler they may still be returning from
  // goes away.
  executor.reset();
  std::fprintf(stderr, "sift-ingest: stopped\n");
  return 0;
}
