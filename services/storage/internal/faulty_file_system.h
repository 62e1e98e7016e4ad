#ifndef SIFT_SERVICES_STORAGE_INTERNAL_FAULTY_FILE_SYSTEM_H_
#define SIFT_SERVICES_STORAGE_INTERNAL_FAULTY_FILE_SYSTEM_H_

// Test-only: a RocksDB file system that fails, on demand, the creation of
// files whose names contain a given part, so that tests can make a flush or
// a merge fail the way a full or broken disk would.

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "common/sync/mutex.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace sift::storage::testing {

class FaultyFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  FaultyFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}

  static const char* kClassName() { return "SiftFaultyFileSystem"; }
  const char* Name() const override { return kClassName(); }

  // From now on, creating a file whose name contains `part` fails with
  // `error`.
  void FailCreating(std::string part, rocksdb::IOStatus error) {
    MutexLock lock(&mu_);
    part_ = std::move(part);
    error_ = std::move(error);
  }
  // Files are created again.
  void Heal() {
    MutexLock lock(&mu_);
    part_.clear();
  }
  // How many creations failed so far.
  int failures() {
    MutexLock lock(&mu_);
    return failures_;
  }

  rocksdb::IOStatus NewWritableFile(
      const std::string& name, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* file,
      rocksdb::IODebugContext* debug) override {
    {
      MutexLock lock(&mu_);
      if (!part_.empty() && name.find(part_) != std::string::npos) {
        ++failures_;
        return error_;
      }
    }
    return FileSystemWrapper::NewWritableFile(name, options, file, debug);
  }

 private:
  Mutex mu_;
  std::string part_ ABSL_GUARDED_BY(mu_);
  rocksdb::IOStatus error_ ABSL_GUARDED_BY(mu_);
  int failures_ ABSL_GUARDED_BY(mu_) = 0;
};

// An environment over `fs`, for IndexOptions::env.
inline std::unique_ptr<rocksdb::Env> EnvOver(
    std::shared_ptr<rocksdb::FileSystem> fs) {
  return rocksdb::NewCompositeEnv(fs);
}

}  // namespace sift::storage::testing

#endif  // SIFT_SERVICES_STORAGE_INTERNAL_FAULTY_FILE_SYSTEM_H_
