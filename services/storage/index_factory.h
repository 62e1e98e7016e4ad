#ifndef SIFT_SERVICES_STORAGE_INDEX_FACTORY_H_
#define SIFT_SERVICES_STORAGE_INDEX_FACTORY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/storage/index.h"

namespace sift::storage {

// Opens (creating when missing) the shard index in `dir` with the
// implementation the storage service runs. Everything that needs "a shard's
// index" (the server, benchmarks, tools) goes through here, so switching
// the on-disk format is one change.
absl::StatusOr<std::unique_ptr<Index>> OpenIndex(const std::string& dir,
                                                 const IndexOptions& options);

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_INDEX_FACTORY_H_
