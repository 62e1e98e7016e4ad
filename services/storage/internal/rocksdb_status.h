#ifndef SIFT_SERVICES_STORAGE_INTERNAL_ROCKSDB_STATUS_H_
#define SIFT_SERVICES_STORAGE_INTERNAL_ROCKSDB_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rocksdb/status.h"

namespace sift::storage::internal {

// Maps a RocksDB status to the closest canonical code, prefixing the
// message with `context` (what was being done). OK stays OK.
absl::Status FromRocksDbStatus(const rocksdb::Status& status,
                               absl::string_view context);

}  // namespace sift::storage::internal

#endif  // SIFT_SERVICES_STORAGE_INTERNAL_ROCKSDB_STATUS_H_
