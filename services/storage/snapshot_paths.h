#ifndef SIFT_SERVICES_STORAGE_SNAPSHOT_PATHS_H_
#define SIFT_SERVICES_STORAGE_SNAPSHOT_PATHS_H_

// Where snapshots live in a snapshot folder (docs/replication.md,
// "Snapshots"): <root>/<name>/manifest.json and <root>/<name>/shard-<i>/,
// a checkpoint of shard i's index.

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace sift::storage {

// INVALID_ARGUMENT unless `name` is 1-64 letters, digits, '.', '_' or '-'
// and does not start with '.': it becomes a folder name.
inline absl::Status CheckSnapshotName(absl::string_view name) {
  const bool valid =
      !name.empty() && name.size() <= 64 && name[0] != '.' &&
      std::all_of(name.begin(), name.end(), [](char c) {
        return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
               c == '_' || c == '-';
      });
  if (valid) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "name: \"", name,
      "\" is not a snapshot name (1-64 letters, digits, '.', '_' or '-', not "
      "starting with '.')"));
}

inline std::string SnapshotFolder(absl::string_view root,
                                  absl::string_view name) {
  return absl::StrCat(root, "/", name);
}

inline std::string ShardSnapshotFolder(absl::string_view root,
                                       absl::string_view name, uint32_t shard) {
  return absl::StrCat(root, "/", name, "/shard-", shard);
}

inline std::string SnapshotManifest(absl::string_view root,
                                    absl::string_view name) {
  return absl::StrCat(root, "/", name, "/manifest.json");
}

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_SNAPSHOT_PATHS_H_
