// sift-storage: one storage shard serving StorageService over gRPC.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/server/executor.h"
#include "common/server/server_runner.h"
#include "services/storage/index_factory.h"
#include "services/storage/shard_identity.h"
#include "services/storage/storage_handler.h"
#include "services/storage/storage_service.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7710",
          "host:port to serve StorageService on (port 0 picks a free one)");
ABSL_FLAG(std::string, data_dir, "data/shard-0",
          "Folder of this shard's database; created when missing");
ABSL_FLAG(int, threads,
          static_cast<int>(std::max(1u, std::thread::hardware_concurrency())),
          "Worker threads for requests (default: one per hardware thread)");
ABSL_FLAG(int, max_queue, 1024,
          "Requests that may wait for a worker before new ones are refused "
          "with RESOURCE_EXHAUSTED");
ABSL_FLAG(int, block_cache_mb, 256, "RocksDB block cache size in MiB");
ABSL_FLAG(std::string, shard, "",
          "Which shard this member holds, 0-based; with --shards, it is "
          "written into the data folder the first time and checked on every "
          "start and every request. Empty: what the data folder says");
ABSL_FLAG(int, shards, 0, "The number of shards of the cluster (see --shard)");
ABSL_FLAG(int, drain_seconds, 10,
          "On SIGINT/SIGTERM, how long calls in flight may take to finish");

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "sift-storage: %s\n", message.c_str());
  return 1;
}

// The listen address with the bound port in place of the requested one.
std::string BoundAddress(const std::string& listen, int port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return listen;
  return absl::StrCat(listen.substr(0, colon + 1), port);
}

}  // namespace

int main(int argc, char** argv) {
  sift::BlockTerminationSignals();
  absl::SetProgramUsageMessage(
      "Serves one Sift storage shard: sift-storage --listen=HOST:PORT "
      "--data_dir=DIR");
  absl::ParseCommandLine(argc, argv);

  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  const int threads_flag = absl::GetFlag(FLAGS_threads);
  const int max_queue = absl::GetFlag(FLAGS_max_queue);
  const int block_cache_mb = absl::GetFlag(FLAGS_block_cache_mb);
  if (threads_flag < 1) return Fail("--threads must be at least 1");
  if (max_queue < 0) return Fail("--max_queue must be >= 0");
  if (block_cache_mb < 0) return Fail("--block_cache_mb must be >= 0");

  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return Fail(absl::StrCat("cannot create --data_dir ", data_dir, ": ",
                             ec.message()));
  }
  auto wanted = sift::storage::ParseShardFlags(absl::GetFlag(FLAGS_shard),
                                               absl::GetFlag(FLAGS_shards));
  if (!wanted.ok()) return Fail(std::string(wanted.status().message()));
  auto identity = sift::storage::LoadShardIdentity(data_dir, *wanted);
  if (!identity.ok()) return Fail(std::string(identity.status().message()));

  // A failed background flush or merge stops writes until a retry succeeds;
  // health says so meanwhile (NOT_SERVING), so that probes and operators
  // see it. The index may report before the server is up.
  sift::HealthSwitch health;
  sift::storage::IndexOptions options;
  options.block_cache_bytes = static_cast<size_t>(block_cache_mb) << 20;
  options.on_background_status = [&](const absl::Status& status) {
    if (status.ok()) {
      std::fprintf(stderr,
                   "sift-storage: background work succeeded again; writes "
                   "are accepted\n");
    } else {
      std::fprintf(stderr,
                   "sift-storage: a background flush or merge failed; writes "
                   "are refused until a retry succeeds: %s\n",
                   status.ToString().c_str());
    }
    health.Set(status.ok());
  };
  auto index = sift::storage::OpenIndex(data_dir, options);
  if (!index.ok()) return Fail(index.status().ToString());

  const size_t threads = static_cast<size_t>(threads_flag);
  sift::storage::StorageHandler handler(index->get());
  auto executor =
      std::make_unique<sift::Executor>(threads, static_cast<size_t>(max_queue));
  sift::storage::StorageServiceImpl service(&handler, executor.get(),
                                            *identity);

  const std::string listen = absl::GetFlag(FLAGS_listen);
  auto server = sift::StartServer(listen, {&service});
  if (!server.ok()) return Fail(server.status().ToString());
  health.Attach(server->get());

  std::fprintf(
      stderr, "sift-storage listening on %s, data in %s (%s), %llu documents\n",
      BoundAddress(listen, (*server)->port()).c_str(), data_dir.c_str(),
      *identity ? sift::DescribeShardRef(**identity).c_str()
                : "no shard identity",
      static_cast<unsigned long long>((*index)->DocCount()));

  const int signal = sift::WaitForTerminationSignal();
  std::fprintf(stderr, "sift-storage: signal %d, draining\n", signal);
  // Order matters: calls in flight finish on the executor, then the
  // executor runs what is left, then the database closes.
  health.Detach();
  (*server)->Shutdown(absl::Seconds(absl::GetFlag(FLAGS_drain_seconds)));
  executor.reset();
  absl::Status closed = (*index)->Close();
  if (!closed.ok()) return Fail(closed.ToString());
  std::fprintf(stderr, "sift-storage: stopped cleanly\n");
  return 0;
}
