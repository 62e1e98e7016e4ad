#ifndef SIFT_SERVICES_STORAGE_INTERNAL_INDEX_TEST_UTIL_H_
#define SIFT_SERVICES_STORAGE_INTERNAL_INDEX_TEST_UTIL_H_

// Test-only helpers for tests of the shard index over RocksDB.

#include "services/storage/index.h"
#include "services/storage/internal/test_util.h"
#include "services/storage/storage_handler.h"

namespace sift::storage::testing {

// Small caches and no background thread: the segment layout changes only
// when a test flushes or merges.
inline IndexOptions QuietOptions() {
  IndexOptions options;
  options.block_cache_bytes = 8 << 20;
  options.write_buffer_bytes = 8 << 20;
  options.background_work = false;
  return options;
}

// A search through the storage handler, as the service runs it.
inline SearchFunction SearcherOf(Index& index) {
  return [&index](const v1::ShardSearchRequest& request) {
    return StorageHandler(&index).Search(request);
  };
}

}  // namespace sift::storage::testing

#endif  // SIFT_SERVICES_STORAGE_INTERNAL_INDEX_TEST_UTIL_H_
