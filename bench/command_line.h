#ifndef SIFT_BENCH_COMMAND_LINE_H_
#define SIFT_BENCH_COMMAND_LINE_H_

// What the benchmark programs do alike with their command lines.

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace sift::bench {

// argv with hyphens in flag names turned into underscores: the flags are
// spelled with underscores in the code, and the command line may use
// hyphens (--warmup-min), as the peers' scripts do. `storage` holds the
// strings the result points into. Nothing after "--" changes.
std::vector<char*> HyphensToUnderscores(int argc, char** argv,
                                        std::vector<std::string>& storage);

// Makes `dir` (a --dir flag) if it is missing; refuses one that holds
// anything, because the figures need a fresh index and removing a person's
// files is not ours to do. FAILED_PRECONDITION for a file or a directory
// that is not empty, UNAVAILABLE when it cannot be made.
absl::Status PrepareIndexDir(const std::string& dir);

}  // namespace sift::bench

#endif  // SIFT_BENCH_COMMAND_LINE_H_
