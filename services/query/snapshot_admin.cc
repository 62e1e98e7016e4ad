#include "services/query/snapshot_admin.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status/status_macros.h"
#include "services/storage/snapshot_manifest.h"
#include "services/storage/snapshot_paths.h"

namespace sift::query {

absl::Status SnapshotAdmin::CheckRoot() const {
  if (root_.empty()) {
    return absl::FailedPreconditionError(
        "the query service has no snapshot folder; start it (and every "
        "storage member) with --snapshot_dir");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::SnapshotInfo> SnapshotAdmin::Create(
    const std::string& name) const {
  SIFT_RETURN_IF_ERROR(storage::CheckSnapshotName(name));
  SIFT_RETURN_IF_ERROR(CheckRoot());
  const std::string folder = storage::SnapshotFolder(root_, name);
  std::error_code ec;
  if (std::filesystem::exists(folder, ec)) {
    return absl::AlreadyExistsError(
        absl::StrCat("snapshot \"", name, "\" exists (", folder, ")"));
  }
  v1::SnapshotInfo info;
  info.set_name(name);
  const absl::Time now = absl::Now();
  info.mutable_created()->set_seconds(absl::ToUnixSeconds(now));
  info.set_shard_count(directory_->shard_count());
  v1::ShardSnapshotRequest request;
  request.set_name(name);
  const absl::Time deadline = now + timeout_;
  for (uint32_t shard = 0; shard < directory_->shard_count(); ++shard) {
    std::shared_ptr<storage::StorageClient> primary =
        directory_->Primary(shard);
    absl::StatusOr<v1::ShardSnapshotResponse> taken =
        primary == nullptr
            ? absl::UnavailableError("the shard has no primary right now")
            : primary->Snapshot(request, deadline);
    if (!taken.ok()) {
      std::filesystem::remove_all(folder, ec);
      return absl::Status(
          taken.status().code(),
          absl::StrCat("snapshot \"", name, "\": shard ", shard, ": ",
                       taken.status().message(), " (nothing was kept)"));
    }
    v1::ShardSnapshot* part = info.add_shards();
    part->set_shard(shard);
    part->set_last_seq(taken->last_seq());
    part->set_last_term(taken->last_term());
    part->set_documents(taken->doc_count());
    info.set_documents(info.documents() + taken->doc_count());
  }
  // The manifest last: its presence means the snapshot is complete.
  if (absl::Status written = storage::WriteSnapshotManifest(root_, info);
      !written.ok()) {
    std::filesystem::remove_all(folder, ec);
    return written;
  }
  return info;
}

absl::StatusOr<v1::ListSnapshotsResponse> SnapshotAdmin::List() const {
  SIFT_RETURN_IF_ERROR(CheckRoot());
  v1::ListSnapshotsResponse response;
  std::error_code ec;
  std::vector<v1::SnapshotInfo> found;
  for (const auto& entry : std::filesystem::directory_iterator(root_, ec)) {
    if (!entry.is_directory()) continue;
    absl::StatusOr<v1::SnapshotInfo> info =
        storage::ReadSnapshotManifest(root_, entry.path().filename().string());
    if (info.ok()) found.push_back(*std::move(info));
  }
  std::sort(found.begin(), found.end(),
            [](const v1::SnapshotInfo& a, const v1::SnapshotInfo& b) {
              return a.created().seconds() != b.created().seconds()
                         ? a.created().seconds() < b.created().seconds()
                         : a.name() < b.name();
            });
  for (v1::SnapshotInfo& info : found) {
    *response.add_snapshots() = std::move(info);
  }
  return response;
}

absl::Status SnapshotAdmin::Delete(const std::string& name) const {
  SIFT_RETURN_IF_ERROR(storage::CheckSnapshotName(name));
  SIFT_RETURN_IF_ERROR(CheckRoot());
  const std::string folder = storage::SnapshotFolder(root_, name);
  std::error_code ec;
  if (!std::filesystem::exists(folder, ec)) {
    return absl::NotFoundError(absl::StrCat("no snapshot \"", name, "\""));
  }
  // The manifest first: a half-deleted snapshot is no longer listed.
  std::filesystem::remove(storage::SnapshotManifest(root_, name), ec);
  std::filesystem::remove_all(folder, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("removing ", folder, ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace sift::query
