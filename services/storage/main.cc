// sift-storage: one storage shard serving StorageService over gRPC.

#include <unistd.h>

#include <algorithm>
#include <atomic>
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
#include "common/cluster/cluster_map.h"
#include "common/etcd/client.h"
#include "common/server/executor.h"
#include "common/server/server_runner.h"
#include "services/storage/index_factory.h"
#include "services/storage/replication/replication_service.h"
#include "services/storage/replication/shard_member.h"
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
ABSL_FLAG(int, flush_documents, 65536,
          "Documents held in memory segments before they are flushed into "
          "a segment on disk; fewer use less memory and replay less after a "
          "crash, more write less");
ABSL_FLAG(int, max_memory_mb, 512,
          "Writes wait while the memory segments hold more than this many "
          "MiB, until a flush makes room");
ABSL_FLAG(int, search_helpers, -1,
          "Threads that take half of a large segment's search while fewer "
          "searches run than the machine has processors, so that a search "
          "on an idle shard uses two cores; -1: one fewer than the "
          "processors, 0: none");
ABSL_FLAG(int, settle_after_seconds, 30,
          "After this many seconds without a write, the shard flushes its "
          "memory segments and merges its segments down to one or two, so "
          "that searches after a load are as fast as the index allows (0: "
          "never)");
ABSL_FLAG(bool, store_body_apart, true,
          "Store each document's body apart from its other fields, so that "
          "hits shown without highlights skip decompressing it. Versions "
          "before this one cannot read documents stored so: while copies of "
          "the shard still run one, start the primary with false");
ABSL_FLAG(std::string, shard, "",
          "Which shard this member holds, 0-based; with --shards, it is "
          "written into the data folder the first time and checked on every "
          "start and every request. Empty: what the data folder says");
ABSL_FLAG(int, shards, 0, "The number of shards of the cluster (see --shard)");
ABSL_FLAG(std::string, etcd, "",
          "etcd endpoints (host:port,...): this member is a copy of a "
          "replicated shard, coordinated through etcd (docs/replication.md). "
          "Empty: a shard on its own");
ABSL_FLAG(std::string, cluster, "sift", "The cluster's name in etcd");
ABSL_FLAG(std::string, member, "",
          "This member's name, unique in the cluster (default: the host name)");
ABSL_FLAG(std::string, advertise, "",
          "host:port where other members, ingest and query reach this one "
          "(default: --listen with the bound port)");
ABSL_FLAG(int, copies, 0,
          "Copies of each shard in the cluster (with --etcd; the cluster's "
          "shape is fixed by the first member and checked by the others)");
ABSL_FLAG(int, lease_ttl_seconds, 3,
          "With --etcd: how long a member that stops answering keeps its "
          "role; a primary's copies take over after about this long");
ABSL_FLAG(int, op_log_writes, 100000,
          "With --etcd: writes kept in the op log for copies that fall "
          "behind; a copy further behind copies a checkpoint instead");
ABSL_FLAG(std::string, snapshot_dir, "",
          "Folder snapshots are written to (shared with sift-query's "
          "--snapshot_dir); empty: no snapshots");
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
  sift::DisableMutexDeadlockDetection();
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
  if (absl::GetFlag(FLAGS_flush_documents) < 1) {
    return Fail("--flush_documents must be at least 1");
  }
  options.flush_documents =
      static_cast<size_t>(absl::GetFlag(FLAGS_flush_documents));
  if (absl::GetFlag(FLAGS_max_memory_mb) < 1) {
    return Fail("--max_memory_mb must be at least 1");
  }
  options.max_memory_bytes =
      static_cast<size_t>(absl::GetFlag(FLAGS_max_memory_mb)) << 20;
  if (absl::GetFlag(FLAGS_search_helpers) < -1) {
    return Fail("--search_helpers must be -1 or more");
  }
  options.search_helpers = absl::GetFlag(FLAGS_search_helpers);
  options.store_body_apart = absl::GetFlag(FLAGS_store_body_apart);
  const int settle_after = absl::GetFlag(FLAGS_settle_after_seconds);
  if (settle_after < 0) return Fail("--settle_after_seconds must be 0 or more");
  options.settle_after = settle_after == 0 ? absl::InfiniteDuration()
                                           : absl::Seconds(settle_after);
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
  const std::string listen = absl::GetFlag(FLAGS_listen);
  const size_t threads = static_cast<size_t>(threads_flag);
  auto executor =
      std::make_unique<sift::Executor>(threads, static_cast<size_t>(max_queue));
  const std::string etcd_endpoints = absl::GetFlag(FLAGS_etcd);

  if (etcd_endpoints.empty()) {
    auto index = sift::storage::OpenIndex(data_dir, options);
    if (!index.ok()) return Fail(index.status().ToString());
    sift::storage::StorageHandler handler(index->get());
    if (!absl::GetFlag(FLAGS_snapshot_dir).empty()) {
      handler.set_snapshots(absl::GetFlag(FLAGS_snapshot_dir),
                            *identity ? (*identity)->shard : 0);
    }
    sift::storage::StorageServiceImpl service(&handler, executor.get(),
                                              *identity);
    auto server = sift::StartServer(listen, {&service});
    if (!server.ok()) return Fail(server.status().ToString());
    health.Attach(server->get());
    std::fprintf(
        stderr,
        "sift-storage listening on %s, data in %s (%s), %llu documents\n",
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

  // A member of a replicated shard.
  if (!*identity) {
    return Fail("with --etcd, give --shard and --shards (the member's shard)");
  }
  const int copies = absl::GetFlag(FLAGS_copies);
  if (copies < 1) return Fail("with --etcd, give --copies (at least 1)");
  const int lease_ttl = absl::GetFlag(FLAGS_lease_ttl_seconds);
  if (lease_ttl < 1) return Fail("--lease_ttl_seconds must be at least 1");
  auto keys = sift::cluster::ClusterKeys::For(absl::GetFlag(FLAGS_cluster));
  if (!keys.ok()) return Fail(std::string(keys.status().message()));
  auto etcd = sift::etcd::Client::Connect(etcd_endpoints);
  if (!etcd.ok()) return Fail(std::string(etcd.status().message()));

  // The server starts first, so that the member can advertise the bound
  // port; until the member is up, calls fail UNAVAILABLE.
  std::atomic<sift::storage::ShardMember*> member{nullptr};
  auto not_started = [] {
    return absl::UnavailableError("the member is starting");
  };
  sift::storage::StorageHandler handler(
      [&member]() -> std::shared_ptr<sift::storage::Index> {
        sift::storage::ShardMember* m = member.load();
        return m == nullptr ? nullptr : m->index();
      },
      [&member, &not_started](const sift::v1::WriteRequest& request)
          -> absl::StatusOr<sift::v1::WriteResponse> {
        sift::storage::ShardMember* m = member.load();
        if (m == nullptr) return not_started();
        return m->Write(request);
      },
      [&member] {
        sift::storage::ShardMember* m = member.load();
        return m == nullptr ? sift::v1::ReplicationStatus() : m->Status();
      });
  if (!absl::GetFlag(FLAGS_snapshot_dir).empty()) {
    handler.set_snapshots(absl::GetFlag(FLAGS_snapshot_dir),
                          (*identity)->shard);
  }
  sift::storage::StorageServiceImpl service(&handler, executor.get(),
                                            *identity);
  sift::storage::ReplicationServiceImpl replication(
      [&member]() -> std::shared_ptr<sift::storage::ShardPrimary> {
        sift::storage::ShardMember* m = member.load();
        return m == nullptr ? nullptr : m->primary();
      },
      [&member]() -> std::shared_ptr<sift::storage::Index> {
        sift::storage::ShardMember* m = member.load();
        return m == nullptr ? nullptr : m->index();
      },
      data_dir + "/scratch", *identity);
  auto server = sift::StartServer(listen, {&service, &replication});
  if (!server.ok()) return Fail(server.status().ToString());

  sift::storage::MemberOptions member_options;
  member_options.member = absl::GetFlag(FLAGS_member);
  if (member_options.member.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    member_options.member = host;
  }
  member_options.address = absl::GetFlag(FLAGS_advertise);
  if (member_options.address.empty()) {
    member_options.address = BoundAddress(listen, (*server)->port());
  }
  member_options.shard = **identity;
  member_options.copies = static_cast<uint32_t>(copies);
  member_options.data_dir = data_dir;
  member_options.index = options;
  if (absl::GetFlag(FLAGS_op_log_writes) < 1) {
    return Fail("--op_log_writes must be at least 1");
  }
  member_options.index.op_log_writes =
      static_cast<size_t>(absl::GetFlag(FLAGS_op_log_writes));
  member_options.lease_ttl = absl::Seconds(lease_ttl);
  auto started =
      sift::storage::ShardMember::Start(etcd->get(), *keys, member_options);
  if (!started.ok()) return Fail(started.status().ToString());
  member.store(started->get());
  health.Attach(server->get());
  std::fprintf(stderr,
               "sift-storage: member %s of %s (cluster %s, %d copies) on %s, "
               "data in %s\n",
               member_options.member.c_str(),
               sift::DescribeShardRef(**identity).c_str(),
               absl::GetFlag(FLAGS_cluster).c_str(), copies,
               member_options.address.c_str(), data_dir.c_str());

  const int signal = sift::WaitForTerminationSignal();
  std::fprintf(stderr, "sift-storage: signal %d, handing over and draining\n",
               signal);
  health.Detach();
  const absl::Duration drain =
      absl::Seconds(absl::GetFlag(FLAGS_drain_seconds));
  // A primary hands over before the server stops, so that writes move to
  // the new primary instead of failing.
  (*started)->Leave(drain);
  // Out of etcd now: ingest and query stop sending calls here within
  // milliseconds; the pause lets them, so that few calls meet the server
  // shutting down.
  absl::SleepFor(std::min(drain, absl::Seconds(1)));
  (*server)->Shutdown(drain);
  executor.reset();
  member.store(nullptr);
  started->reset();
  std::fprintf(stderr, "sift-storage: stopped cleanly\n");
  return 0;
}
