#ifndef SIFT_TOOLS_SIFTCTL_OUTPUT_FORMAT_H_
#define SIFT_TOOLS_SIFTCTL_OUTPUT_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "sift/v1/query.pb.h"

namespace sift::siftctl {

// Title column width when standard output is not a terminal.
inline constexpr int kDefaultTitleColumns = 60;

// Columns a terminal needs to show `utf8`: East Asian wide and fullwidth
// characters take two, combining marks none, everything else one (an
// invalid byte counts as one).
int DisplayWidth(absl::string_view utf8);

// `utf8` cut to at most `max_columns` display columns, never inside a
// character; when something was cut the result ends with "…".
std::string TruncateToWidth(absl::string_view utf8, int max_columns);

// Replaces control characters (tabs, newlines, escape sequences) by spaces
// and collapses runs of spaces, so that stored text cannot break a table or
// drive the terminal.
std::string CleanForDisplay(absl::string_view text);

// 1234567 -> "1,234,567".
std::string WithThousands(uint64_t n);

// 1536 -> "1.5 KiB"; below 1 KiB in bytes ("512 B").
std::string HumanBytes(uint64_t bytes);

// The snippet on one line: with `ansi`, its text with the spans in bold
// (ANSI escapes); otherwise its `highlighted` form with <em>...</em>.
// Spans that do not fit the text are ignored.
std::string RenderSnippet(const v1::Snippet& snippet, bool ansi);

// An explanation of a score as an indented tree, a node per line: the
// value, two spaces, the description; each level two spaces deeper than
// its parent, the root at `indent`. Whole numbers print without decimals,
// others with 6 significant digits. Descriptions are cleaned for display.
std::string FormatExplanation(const v1::Explanation& explanation,
                              absl::string_view indent);

struct TableStyle {
  // ANSI bold for highlights (standard output is a terminal).
  bool ansi = false;
  // Terminal width in columns; 0 when not a terminal (titles get
  // kDefaultTitleColumns).
  int columns = 0;
};

// A search page as a table: rank (from `first_rank`), score with 4
// decimals, date (YYYY-MM-DD, UTC) or blank, source, title; under each row
// the id and the snippet, and the hit's explanation when it has one
// (FormatExplanation); then "N hits (T total), E ms", the facets (each
// a heading and one "value  count" line per bucket, then the other and
// missing counts), partial-result warnings and the next page token.
std::string FormatSearchTable(const v1::SearchResponse& response,
                              uint64_t first_rank, const TableStyle& style);

// TREC run lines "qid Q0 docid rank score run", one per hit, ranks from
// `first_rank`.
std::string FormatTrecLines(absl::string_view qid,
                            const v1::SearchResponse& response,
                            uint64_t first_rank, absl::string_view run_name);

// Cluster statistics as a table with a totals row; a shard that did not
// answer, or whose writes are stopped by a failed flush or merge, says so
// in the ERROR column.
std::string FormatStatsTable(const v1::ClusterStatsResponse& response);

// `message` as JSON with the proto field names and every field printed
// (zeros and empty lists too), indented, ending in a newline. INTERNAL if
// the message cannot be printed.
absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message);

// Running totals of an ingest.
struct IngestCounts {
  uint64_t sent = 0;
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  // Serialized bytes of the documents sent.
  uint64_t bytes = 0;
  // Files that could not be read (or not to the end).
  uint64_t read_errors = 0;
};

// A document (or file) that did not make it.
struct Rejection {
  // Reading order, to list rejections the way the inputs are laid out.
  uint64_t sequence = 0;
  // "path:line" or "path".
  std::string origin;
  // Empty when not known.
  std::string id;
  absl::StatusCode code = absl::StatusCode::kUnknown;
  std::string reason;
};

// "sent N  accepted A  rejected R  D docs/s  B", for a progress line.
std::string FormatProgress(const IngestCounts& counts, absl::Duration elapsed);

// "accepted N, rejected M (in S s, D docs/s)", a line per rejection (in
// sequence order, at most `max_listed`, then "... and K more").
std::string FormatIngestSummary(const IngestCounts& counts,
                                absl::Duration elapsed,
                                std::vector<Rejection> rejections,
                                size_t max_listed = 20);

// One error for a person: "CODE: " + ExplainRpcError(...).
std::string DescribeRpcError(const absl::Status& status,
                             absl::string_view service,
                             absl::string_view address, absl::Duration timeout);

// What went wrong, without the code: for a call that never reached
// `service` at `address`, "cannot reach SERVICE service at ADDRESS (is it
// running? ...)"; for DEADLINE_EXCEEDED, that no answer came within
// `timeout`; otherwise the status message.
std::string ExplainRpcError(const absl::Status& status,
                            absl::string_view service,
                            absl::string_view address, absl::Duration timeout);

}  // namespace sift::siftctl

#endif  // SIFT_TOOLS_SIFTCTL_OUTPUT_FORMAT_H_
