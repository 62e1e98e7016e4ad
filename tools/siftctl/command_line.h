#ifndef SIFT_TOOLS_SIFTCTL_COMMAND_LINE_H_
#define SIFT_TOOLS_SIFTCTL_COMMAND_LINE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sift/v1/document.pb.h"

namespace sift::siftctl {

inline constexpr char kDefaultQueryAddress[] = "127.0.0.1:7700";
inline constexpr char kDefaultIngestAddress[] = "127.0.0.1:7701";
inline constexpr char kQueryAddressEnv[] = "SIFT_QUERY_ADDR";
inline constexpr char kIngestAddressEnv[] = "SIFT_INGEST_ADDR";

// The server's limits (ingest.proto, query.proto), checked here so that a
// mistake is reported before anything is sent.
inline constexpr uint32_t kMaxPageSize = 1000;
inline constexpr uint32_t kMaxSearchDepth = 1000000;
inline constexpr uint32_t kMaxFacetSize = 1000;
inline constexpr size_t kMaxHighlightTagBytes = 64;
// Deepest hit (offset + k) a search with --explain may ask for.
inline constexpr uint32_t kMaxExplainHits = 100;

enum class Command {
  kNone,
  kIngest,
  kSearch,
  kGet,
  kDelete,
  kStats,
  kHealth,
  kSnapshot
};

// The name people type for `command` ("ingest"); "" for kNone.
const char* CommandName(Command command);

enum class OutputFormat { kTable, kJson, kTrec };

// Where the services are and how long one call may take. Shared by every
// subcommand.
struct ConnectionOptions {
  std::string query_address;
  std::string ingest_address;
  absl::Duration timeout = absl::Seconds(60);
};

struct IngestOptions {
  // Files and folders, as given.
  std::vector<std::string> paths;
  // At most this many documents and bytes per IndexRequest; the server takes
  // 1,000 and 64 MiB, smaller batches keep several in flight.
  size_t max_batch_documents = 500;
  size_t max_batch_bytes = 16 << 20;
  // IndexRequests outstanding at once.
  int max_in_flight = 4;
};

struct SearchOptions {
  // The query in Sift's query language (the positional words joined by
  // spaces); unused with `queries_file`.
  std::string query;
  // Batch mode: a `qid<TAB>query text` file whose queries are taken as plain
  // words (EscapeQueryText).
  std::string queries_file;
  // Hits wanted: one page of at most kMaxPageSize for a single query; any
  // depth up to kMaxSearchDepth, fetched page by page, in batch mode.
  uint32_t k = 10;
  uint32_t offset = 0;
  std::string page_token;
  // --all: follow next_page_token until the last page, printing every hit;
  // `k` is then the page size (default kMaxPageSize).
  bool all = false;
  OutputFormat format = OutputFormat::kTable;
  bool all_terms = false;  // --and
  std::vector<std::string> sources;
  std::vector<std::string> tags;
  // [published_from, published_to): --to names the last day included.
  std::optional<absl::Time> published_from;
  std::optional<absl::Time> published_to;
  v1::SortOrder sort = v1::SORT_ORDER_UNSPECIFIED;
  // --facet, in the order given (ParseFacetSpec).
  std::vector<v1::FacetRequest> facets;
  bool highlight = true;
  // --pre-tag, --post-tag: the markers around matches in snippets
  // (HighlightOptions); unset leaves the server's <em> and </em>.
  std::optional<std::string> pre_tag;
  std::optional<std::string> post_tag;
  // --html: HTML-escape the snippets' text around the markers.
  bool html_escape = false;
  // --explain: every hit carries its score's explanation, printed as a tree
  // under it. Pages of at most kMaxExplainHits (offset + k).
  bool explain = false;
  // Last column of TREC run lines.
  std::string run_name = "sift";
  // Batch mode: queries outstanding at once.
  int max_in_flight = 4;
};

struct GetOptions {
  std::string id;
};

struct DeleteOptions {
  std::vector<std::string> ids;
};

struct StatsOptions {
  bool json = false;
};

struct SnapshotOptions {
  enum class Action { kCreate, kList, kDelete, kRestore };
  Action action = Action::kList;
  std::string name;
  // restore: the snapshot folder, the shard to restore and the new data
  // folder; `single` for a shard on its own (no etcd) rather than a member
  // of a replicated cluster.
  std::string snapshot_dir;
  uint32_t shard = 0;
  bool shard_given = false;
  std::string data_dir;
  bool single = false;
  bool json = false;
};

// One parsed command line. Only the options of `command` are meaningful.
struct Invocation {
  Command command = Command::kNone;
  // --help (or `help CMD`) was given: print UsageText(command), exit 0.
  bool help = false;
  ConnectionOptions connection;
  IngestOptions ingest;
  SearchOptions search;
  GetOptions get;
  DeleteOptions remove;
  StatsOptions stats;
  SnapshotOptions snapshot;
};

// Returns the value of an environment variable, or nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;

// The process environment (getenv).
EnvLookup ProcessEnv();

// Parses `args` (argv without the program name). Addresses come from
// --query_addr / --ingest_addr, else from the SIFT_QUERY_ADDR /
// SIFT_INGEST_ADDR variables of `env`, else the defaults. Flags may be
// written with '-' or '_' between words and as `--flag value` or
// `--flag=value`; `--` ends the flags.
//
// INVALID_ARGUMENT for a usage error (unknown subcommand or flag, missing or
// malformed value), with a message naming the flag and the reason. When
// `command` is not null it receives the subcommand that was recognised, even
// on error, so that its usage can be printed.
absl::StatusOr<Invocation> ParseCommandLine(
    const std::vector<std::string>& args, const EnvLookup& env,
    Command* command = nullptr);

// The help text of `command`, or of siftctl as a whole for kNone.
std::string UsageText(Command command);

// Parses a --facet value: "source" or "tags", optionally with ":N" for the
// number of values (1 to 1000; default the server's 10), or
// "published_at" with ":day", ":month" (the default) or ":year".
// INVALID_ARGUMENT naming the flag for anything else.
absl::StatusOr<v1::FacetRequest> ParseFacetSpec(const std::string& text);

// Parses a --filter value into `options`: source:S and tag:T as --source
// and --tag; published_at>=DATE, published_at<=DATE and
// published_at:[A TO B] (either end `*`) as --from and --to, a day bound
// including the whole day. INVALID_ARGUMENT naming the filter otherwise.
absl::Status ParseFilterFlag(const std::string& text, SearchOptions* options);

// Parses a duration: "30s", "2m", "1.5s", or a plain number of seconds.
// INVALID_ARGUMENT for anything else or a value that is not positive.
absl::StatusOr<absl::Duration> ParseTimeout(const std::string& text);

// Parses a date flag: "YYYY-MM-DD" (midnight UTC) or an RFC 3339 timestamp.
// `end_of_range` turns a bare date into the midnight that ends that day, so
// that `--to 2021-12-31` includes the 31st. A timestamp is used as given.
absl::StatusOr<absl::Time> ParseDateFlag(const std::string& text,
                                         bool end_of_range);

}  // namespace sift::siftctl

#endif  // SIFT_TOOLS_SIFTCTL_COMMAND_LINE_H_
