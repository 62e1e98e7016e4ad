#ifndef SIFT_SERVICES_STORAGE_DURABLE_FILE_H_
#define SIFT_SERVICES_STORAGE_DURABLE_FILE_H_

#include <string>

#include "absl/status/status.h"

namespace sift::storage {

// Replaces the file `path` in the folder `dir` with `contents` so that after
// a crash it holds either the old contents or the new, whole: written to a
// temporary file, synced, renamed over `path`, and the folder synced.
// UNAVAILABLE naming the step that failed.
absl::Status WriteFileDurably(const std::string& dir, const std::string& path,
                              const std::string& contents);

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_DURABLE_FILE_H_
