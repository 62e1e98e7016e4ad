#ifndef SIFT_SERVICES_STORAGE_SNAPSHOT_MANIFEST_H_
#define SIFT_SERVICES_STORAGE_SNAPSHOT_MANIFEST_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sift/v1/query.pb.h"

namespace sift::storage {

// The manifest of snapshot `name` under `root` (snapshot_paths.h);
// NOT_FOUND when there is no such snapshot, DATA_LOSS when it does not
// parse.
absl::StatusOr<v1::SnapshotInfo> ReadSnapshotManifest(const std::string& root,
                                                      const std::string& name);

// Writes the manifest of `info.name()` under `root` through a temporary
// file and a rename: a snapshot folder with a manifest is complete.
absl::Status WriteSnapshotManifest(const std::string& root,
                                   const v1::SnapshotInfo& info);

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_SNAPSHOT_MANIFEST_H_
