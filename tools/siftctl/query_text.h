#ifndef SIFT_TOOLS_SIFTCTL_QUERY_TEXT_H_
#define SIFT_TOOLS_SIFTCTL_QUERY_TEXT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sift::siftctl {

// Rewrites free text (a test collection's query) so that Sift's query
// language reads it as plain words: every character that is an operator
// (\ + - ! ( ) : ^ [ ] " { } ~ * ? | & /) gets a backslash before it, and
// the operator words AND, OR, NOT and TO, standing alone, are lowercased
// (matching is case-insensitive, so this changes nothing else).
std::string EscapeQueryText(absl::string_view text);

// One line of a queries file.
struct BatchQuery {
  std::string qid;
  std::string text;
  // 1-based line in the file, for messages.
  int64_t line = 0;
};

// Parses `qid<TAB>query text` lines (blank lines skipped, "\r\n" accepted).
// INVALID_ARGUMENT naming `file_name` and the line when a line has no tab,
// or the qid is empty or holds a space (TREC run lines are split on spaces).
absl::StatusOr<std::vector<BatchQuery>> ParseQueries(
    absl::string_view content, absl::string_view file_name);

// Reads and parses a queries file. NOT_FOUND when it cannot be opened.
absl::StatusOr<std::vector<BatchQuery>> ReadQueriesFile(
    const std::string& path);

}  // namespace sift::siftctl

#endif  // SIFT_TOOLS_SIFTCTL_QUERY_TEXT_H_
