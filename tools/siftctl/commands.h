#ifndef SIFT_TOOLS_SIFTCTL_COMMANDS_H_
#define SIFT_TOOLS_SIFTCTL_COMMANDS_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

#include "sift/v1/query.pb.h"
#include "tools/siftctl/command_line.h"
#include "tools/siftctl/ingest_runner.h"

namespace sift::siftctl {

// Exit statuses.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// What the process is attached to.
struct Terminal {
  bool stdout_is_tty = false;
  bool stderr_is_tty = false;
  // Width of the terminal on standard output; 0 when unknown.
  int columns = 0;
};

// Runs a parsed subcommand (not help), writing results to `out` and
// messages and progress to `err`; returns the exit status. `retry` applies
// to ingest batches and batch searches (a single interactive search fails
// at once).
int RunCommand(const Invocation& invocation, const Terminal& terminal,
               std::ostream& out, std::ostream& err,
               const RetryPolicy& retry = RetryPolicy());

// The SearchRequest for `options` (query text taken as given), asking for
// `page_size` hits.
v1::SearchRequest BuildSearchRequest(const SearchOptions& options,
                                     const std::string& query,
                                     uint32_t page_size);

}  // namespace sift::siftctl

#endif  // SIFT_TOOLS_SIFTCTL_COMMANDS_H_
