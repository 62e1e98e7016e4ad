#include "services/storage/replication/replication_service.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/server/channels.h"
#include "common/server/server_runner.h"
#include "common/status/grpc_status.h"
#include "services/storage/shard_identity.h"

namespace sift::storage {
namespace {

constexpr size_t kChunkBytes = size_t{1} << 20;

grpc::Status Routed(const std::optional<ShardRef>& identity, uint32_t shard,
                    uint32_t count) {
  return ToGrpcStatus(
      CheckRouting(identity, FormatShardRef(ShardRef{shard, count})));
}

absl::Status ErrnoError(const std::string& what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

absl::Status SyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return ErrnoError(absl::StrCat("opening ", path));
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) return ErrnoError(absl::StrCat("syncing ", path));
  return absl::OkStatus();
}

}  // namespace

grpc::Status ReplicationServiceImpl::PullWrites(
    grpc::ServerContext* context, const v1::PullWritesRequest* request,
    v1::PullWritesResponse* response) {
  PublishedBy(this);
  grpc::Status routed =
      Routed(identity_, request->shard(), request->shard_count());
  if (!routed.ok()) return routed;
  // The name may enter the shard's in-sync set: it must name someone.
  if (request->member().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "member: the pulling copy's member name is required");
  }
  std::shared_ptr<ShardPrimary> primary = primary_();
  if (primary == nullptr) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "this member is not the shard's primary; ask etcd "
                        "which member is");
  }
  absl::StatusOr<v1::PullWritesResponse> result = primary->Pull(*request);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status ReplicationServiceImpl::FetchCheckpoint(
    grpc::ServerContext* context, const v1::FetchCheckpointRequest* request,
    grpc::ServerWriter<v1::CheckpointChunk>* writer) {
  PublishedBy(this);
  grpc::Status routed =
      Routed(identity_, request->shard(), request->shard_count());
  if (!routed.ok()) return routed;
  std::shared_ptr<Index> index = index_();
  if (index == nullptr) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "this member has no index open right now");
  }
  std::error_code ec;
  std::filesystem::create_directories(scratch_dir_, ec);
  const std::string dir = absl::StrCat(scratch_dir_, "/checkpoint-", getpid(),
                                       "-", next_checkpoint_.fetch_add(1));
  std::filesystem::remove_all(dir, ec);
  absl::Cleanup remove = [&dir] {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  };
  absl::StatusOr<OpId> at = index->Checkpoint(dir);
  if (!at.ok()) return ToGrpcStatus(at.status());
  index.reset();

  v1::CheckpointChunk chunk;
  chunk.set_last_seq(at->seq);
  chunk.set_last_term(at->term);
  std::vector<char> buffer(kChunkBytes);
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    uint64_t offset = 0;
    bool first = true;
    while (first || in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      const std::streamsize got = in.gcount();
      if (in.bad()) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            absl::StrCat("reading ", entry.path().string()));
      }
      if (got == 0 && !first) break;
      chunk.set_file(entry.path().filename().string());
      chunk.set_offset(offset);
      chunk.set_data(buffer.data(), static_cast<size_t>(got));
      if (context->IsCancelled() || !writer->Write(chunk)) {
        return grpc::Status(grpc::StatusCode::CANCELLED,
                            "the copy stopped reading the checkpoint");
      }
      chunk.Clear();
      offset += static_cast<uint64_t>(got);
      first = false;
    }
  }
  return grpc::Status::OK;
}

absl::StatusOr<OpId> DownloadCheckpoint(
    const std::string& address, const v1::FetchCheckpointRequest& request,
    const std::string& dir, absl::Duration timeout) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("creating ", dir, ": ", ec.message()));
  }
  bool done = false;
  absl::Cleanup remove = [&] {
    if (done) return;
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  };

  auto stub = v1::ReplicationService::NewStub(MakeChannel(address));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  context.AddMetadata(kShardMetadataKey,
                      FormatShardRef({request.shard(), request.shard_count()}));
  std::unique_ptr<grpc::ClientReader<v1::CheckpointChunk>> reader =
      stub->FetchCheckpoint(&context, request);

  OpId at;
  bool first = true;
  std::string file;
  int fd = -1;
  absl::Cleanup close_file = [&fd] {
    if (fd >= 0) ::close(fd);
  };
  auto finish_file = [&]() -> absl::Status {
    if (fd < 0) return absl::OkStatus();
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    fd = -1;
    if (!synced) return ErrnoError(absl::StrCat("syncing ", file));
    return absl::OkStatus();
  };
  v1::CheckpointChunk chunk;
  while (reader->Read(&chunk)) {
    if (first) {
      at = OpId{chunk.last_term(), chunk.last_seq()};
      first = false;
    }
    if (chunk.file().empty() || chunk.file().find('/') != std::string::npos ||
        chunk.file() == "." || chunk.file() == "..") {
      context.TryCancel();
      return absl::DataLossError(absl::StrCat(
          "the checkpoint names a bad file \"", chunk.file(), "\""));
    }
    const std::string path = absl::StrCat(dir, "/", chunk.file());
    if (path != file) {
      if (absl::Status s = finish_file(); !s.ok()) {
        context.TryCancel();
        return s;
      }
      file = path;
      fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
      if (fd < 0) {
        context.TryCancel();
        return ErrnoError(absl::StrCat("creating ", path));
      }
    }
    const std::string& data = chunk.data();
    if (::pwrite(fd, data.data(), data.size(),
                 static_cast<off_t>(chunk.offset())) !=
        static_cast<ssize_t>(data.size())) {
      context.TryCancel();
      return ErrnoError(absl::StrCat("writing ", path));
    }
  }
  const grpc::Status finished = reader->Finish();
  if (!finished.ok()) {
    const absl::Status status = FromGrpcStatus(finished);
    return absl::Status(status.code(),
                        absl::StrCat("fetching a checkpoint from ", address,
                                     ": ", status.message()));
  }
  if (first) {
    return absl::DataLossError(
        absl::StrCat("the checkpoint from ", address, " was empty"));
  }
  if (absl::Status s = finish_file(); !s.ok()) return s;
  if (absl::Status s = SyncPath(dir, O_RDONLY | O_DIRECTORY); !s.ok()) {
    return s;
  }
  done = true;
  return at;
}

}  // namespace sift::storage
