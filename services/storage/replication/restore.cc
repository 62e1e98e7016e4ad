#include "services/storage/replication/restore.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/storage/index_factory.h"
#include "services/storage/replication/shard_member.h"
#include "services/storage/shard_identity.h"
#include "services/storage/snapshot_manifest.h"
#include "services/storage/snapshot_paths.h"

namespace sift::storage {

absl::StatusOr<OpId> RestoreShardSnapshot(const std::string& root,
                                          const std::string& name,
                                          uint32_t shard,
                                          const std::string& data_dir,
                                          DataLayout layout) {
  SIFT_ASSIGN_OR_RETURN(v1::SnapshotInfo info,
                        ReadSnapshotManifest(root, name));
  if (shard >= info.shard_count()) {
    return absl::InvalidArgumentError(
        absl::StrCat("snapshot \"", name, "\" has ", info.shard_count(),
                     " shards; there is no shard ", shard));
  }
  std::error_code ec;
  if (std::filesystem::exists(data_dir, ec) &&
      !std::filesystem::is_empty(data_dir, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        data_dir, " is not empty; restore into a new data folder"));
  }
  const std::string index_dir = layout == DataLayout::kMember
                                    ? absl::StrCat(data_dir, "/index-1")
                                    : data_dir;
  std::filesystem::create_directories(index_dir, ec);
  std::filesystem::copy(ShardSnapshotFolder(root, name, shard), index_dir,
                        std::filesystem::copy_options::recursive, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("copying ", ShardSnapshotFolder(root, name, shard), " to ",
                     index_dir, ": ", ec.message()));
  }
  SIFT_RETURN_IF_ERROR(
      LoadShardIdentity(data_dir, ShardRef{shard, info.shard_count()})
          .status());
  if (layout == DataLayout::kMember) {
    SIFT_RETURN_IF_ERROR(WriteIndexPointer(data_dir, 1));
  }
  // Writes the primary had logged but not applied when it took the
  // checkpoint may never have been acknowledged: they go.
  IndexOptions options;
  options.op_log_writes = kDefaultOpLogWrites;
  options.background_work = false;
  SIFT_ASSIGN_OR_RETURN(std::unique_ptr<Index> index,
                        OpenIndex(index_dir, options));
  const OpId last = index->LastOp();
  SIFT_RETURN_IF_ERROR(index->TruncateLog(last.seq));
  SIFT_RETURN_IF_ERROR(index->Close());
  return last;
}

}  // namespace sift::storage
