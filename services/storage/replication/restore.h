#ifndef SIFT_SERVICES_STORAGE_REPLICATION_RESTORE_H_
#define SIFT_SERVICES_STORAGE_REPLICATION_RESTORE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "services/storage/index.h"

namespace sift::storage {

enum class DataLayout {
  // A member of a replicated cluster: <data_dir>/index-1, named by INDEX.
  kMember,
  // A shard on its own: the index is <data_dir> itself.
  kSingle,
};

// Makes `data_dir` (which must not exist or be empty) the data folder of
// shard `shard` as snapshot `name` under `root` holds it: a copy of the
// shard's checkpoint, its identity (shard and count, from the manifest),
// and its op log cut after the last write the checkpoint had applied, so
// that the restored shard holds exactly the writes up to the manifest's
// last_seq. Returns the last write. A cluster restored this way starts on
// a fresh etcd: each shard's restored member becomes its first primary and
// the other copies copy it.
absl::StatusOr<OpId> RestoreShardSnapshot(const std::string& root,
                                          const std::string& name,
                                          uint32_t shard,
                                          const std::string& data_dir,
                                          DataLayout layout);

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_REPLICATION_RESTORE_H_
