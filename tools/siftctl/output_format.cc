#include "tools/siftctl/output_format.h"

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/json_util.h"

namespace sift::siftctl {
namespace {

constexpr char kBold[] = "\x1b[1m";
constexpr char kReset[] = "\x1b[0m";
constexpr char kEllipsis[] = "\xE2\x80\xA6";  // U+2026, one column
constexpr int kMaxSourceColumns = 20;
constexpr int kMinTitleColumns = 20;

int CodePointWidth(UChar32 c) {
  if (c < 0) return 1;
  const int8_t type = u_charType(c);
  if (type == U_NON_SPACING_MARK || type == U_ENCLOSING_MARK ||
      type == U_FORMAT_CHAR) {
    return 0;
  }
  const int width = u_getIntPropertyValue(c, UCHAR_EAST_ASIAN_WIDTH);
  return (width == U_EA_WIDE || width == U_EA_FULLWIDTH) ? 2 : 1;
}

// Replaces C0 and C1 control characters by as many spaces as they take
// bytes, so byte offsets into the text stay valid.
std::string BlankControls(absl::string_view text) {
  std::string out(text);
  for (size_t i = 0; i < out.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(out[i]);
    if (c < 0x20 || c == 0x7f) {
      out[i] = ' ';
    } else if (c == 0xC2 && i + 1 < out.size()) {
      const unsigned char next = static_cast<unsigned char>(out[i + 1]);
      if (next >= 0x80 && next <= 0x9F) {
        out[i] = ' ';
        out[i + 1] = ' ';
        ++i;
      }
    }
  }
  return out;
}

std::string CollapseSpaces(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out.push_back(c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// `text` followed by spaces up to `columns` display columns.
std::string PadRight(absl::string_view text, int columns) {
  std::string out(text);
  const int width = DisplayWidth(text);
  if (width < columns) out.append(static_cast<size_t>(columns - width), ' ');
  return out;
}

std::string PadLeft(absl::string_view text, int columns) {
  const int width = DisplayWidth(text);
  std::string out;
  if (width < columns) out.append(static_cast<size_t>(columns - width), ' ');
  out.append(text.data(), text.size());
  return out;
}

std::string FormatDate(const v1::Hit& hit) {
  if (!hit.has_published_at()) return "";
  const absl::Time time = absl::FromUnixSeconds(hit.published_at().seconds());
  return absl::FormatTime("%Y-%m-%d", time, absl::UTCTimeZone());
}

// Whether a failed call never reached the server (as opposed to a server
// answering UNAVAILABLE itself, e.g. when none of its shards answer).
bool IsConnectFailure(absl::string_view message) {
  return absl::StrContains(message, "failed to connect") ||
         absl::StrContains(message, "Failed to connect") ||
         absl::StrContains(message, "Connection refused") ||
         absl::StrContains(message, "DNS resolution failed") ||
         absl::StrContains(message, "connections to all backends failing") ||
         absl::StrContains(message, "empty address list");
}

}  // namespace

int DisplayWidth(absl::string_view utf8) {
  const auto* s = reinterpret_cast<const uint8_t*>(utf8.data());
  const int32_t length = static_cast<int32_t>(utf8.size());
  int32_t i = 0;
  int width = 0;
  while (i < length) {
    UChar32 c;
    U8_NEXT(s, i, length, c);
    width += CodePointWidth(c);
  }
  return width;
}

std::string TruncateToWidth(absl::string_view utf8, int max_columns) {
  if (DisplayWidth(utf8) <= max_columns) return std::string(utf8);
  if (max_columns <= 0) return "";
  // Room for the ellipsis.
  const int budget = max_columns - 1;
  const auto* s = reinterpret_cast<const uint8_t*>(utf8.data());
  const int32_t length = static_cast<int32_t>(utf8.size());
  int32_t i = 0;
  int width = 0;
  while (i < length) {
    int32_t next = i;
    UChar32 c;
    U8_NEXT(s, next, length, c);
    const int w = CodePointWidth(c);
    if (width + w > budget) break;
    width += w;
    i = next;
  }
  return absl::StrCat(utf8.substr(0, static_cast<size_t>(i)), kEllipsis);
}

std::string CleanForDisplay(absl::string_view text) {
  return CollapseSpaces(BlankControls(text));
}

std::string WithThousands(uint64_t n) {
  std::string digits = absl::StrCat(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string HumanBytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

std::string RenderSnippet(const v1::Snippet& snippet, bool ansi) {
  if (!ansi) {
    return CleanForDisplay(
        snippet.highlighted().empty() ? snippet.text() : snippet.highlighted());
  }
  const std::string text = BlankControls(snippet.text());
  std::string out;
  size_t pos = 0;
  for (const v1::Span& span : snippet.spans()) {
    if (span.start() < pos || span.end() <= span.start() ||
        span.end() > text.size()) {
      continue;
    }
    out.append(text, pos, span.start() - pos);
    absl::StrAppend(
        &out, kBold,
        absl::string_view(text).substr(span.start(), span.end() - span.start()),
        kReset);
    pos = span.end();
  }
  out.append(text, pos, std::string::npos);
  return CollapseSpaces(out);
}

namespace {

// "source", "tags", "published_at by month".
std::string FacetHeading(const v1::FacetResult& facet) {
  switch (facet.field()) {
    case v1::FACET_FIELD_SOURCE:
      return "source";
    case v1::FACET_FIELD_TAGS:
      return "tags";
    case v1::FACET_FIELD_PUBLISHED_AT:
      return absl::StrCat("published_at by ",
                          facet.interval() == v1::DATE_INTERVAL_DAY ? "day"
                          : facet.interval() == v1::DATE_INTERVAL_YEAR
                              ? "year"
                              : "month");
    default:
      return absl::StrCat("facet ", facet.field());
  }
}

void AppendFacet(const v1::FacetResult& facet, std::string* out) {
  struct Row {
    std::string label;
    std::string count;
  };
  std::vector<Row> rows;
  for (const v1::FacetBucket& bucket : facet.buckets()) {
    rows.push_back({TruncateToWidth(CleanForDisplay(bucket.value()), 40),
                    WithThousands(bucket.count())});
  }
  if (facet.other_count() > 0) {
    rows.push_back({"(other values)", WithThousands(facet.other_count())});
  }
  if (facet.missing_count() > 0) {
    rows.push_back({facet.field() == v1::FACET_FIELD_PUBLISHED_AT
                        ? "(no date)"
                        : "(no value)",
                    WithThousands(facet.missing_count())});
  }
  int label_columns = 0, count_columns = 0;
  for (const Row& row : rows) {
    label_columns = std::max(label_columns, DisplayWidth(row.label));
    count_columns = std::max(count_columns, DisplayWidth(row.count));
  }
  absl::StrAppend(out, "\n", FacetHeading(facet),
                  facet.incomplete() ? " (counts may be incomplete)" : "",
                  rows.empty() ? ": no values\n" : ":\n");
  for (const Row& row : rows) {
    absl::StrAppend(out, "  ", PadRight(row.label, label_columns), "  ",
                    PadLeft(row.count, count_columns), "\n");
  }
}

// A value of an explanation: whole numbers (counts, lengths, N) as
// integers, the rest with 6 significant digits.
std::string ExplanationValue(double value) {
  if (std::isfinite(value) && value == std::trunc(value) &&
      std::abs(value) < 1e15) {
    return absl::StrFormat("%.0f", value);
  }
  return absl::StrFormat("%.6g", value);
}

void AppendExplanation(const v1::Explanation& node, std::string& indent,
                       std::string* out) {
  absl::StrAppend(out, indent, ExplanationValue(node.value()), "  ",
                  CleanForDisplay(node.description()), "\n");
  indent.append("  ");
  for (const v1::Explanation& detail : node.details()) {
    AppendExplanation(detail, indent, out);
  }
  indent.resize(indent.size() - 2);
}

}  // namespace

std::string FormatExplanation(const v1::Explanation& explanation,
                              absl::string_view indent) {
  std::string out;
  std::string prefix(indent);
  AppendExplanation(explanation, prefix, &out);
  return out;
}

std::string FormatSearchTable(const v1::SearchResponse& response,
                              uint64_t first_rank, const TableStyle& style) {
  std::string out;
  if (response.hits_size() > 0) {
    const int rank_columns = std::max<int>(
        1, static_cast<int>(
               absl::StrCat(first_rank + response.hits_size() - 1).size()));
    std::vector<std::string> scores;
    int score_columns = 5;   // "SCORE"
    int source_columns = 6;  // "SOURCE"
    for (const v1::Hit& hit : response.hits()) {
      scores.push_back(absl::StrFormat("%.4f", hit.score()));
      score_columns =
          std::max(score_columns, static_cast<int>(scores.back().size()));
      source_columns =
          std::max(source_columns,
                   std::min(kMaxSourceColumns,
                            DisplayWidth(CleanForDisplay(hit.source()))));
    }
    constexpr int kDateColumns = 10;
    const int used = rank_columns + 2 + score_columns + 2 + kDateColumns + 2 +
                     source_columns + 2;
    const int title_columns =
        style.columns > 0 ? std::max(kMinTitleColumns, style.columns - used)
                          : kDefaultTitleColumns;
    const std::string indent(static_cast<size_t>(rank_columns + 2), ' ');

    absl::StrAppend(&out, PadLeft("#", rank_columns), "  ",
                    PadRight("SCORE", score_columns), "  ",
                    PadRight("DATE", kDateColumns), "  ",
                    PadRight("SOURCE", source_columns), "  TITLE\n");
    for (int i = 0; i < response.hits_size(); ++i) {
      const v1::Hit& hit = response.hits(i);
      std::string title = CleanForDisplay(hit.title());
      if (title.empty()) title = "(no title)";
      absl::StrAppend(&out, PadLeft(absl::StrCat(first_rank + i), rank_columns),
                      "  ", PadLeft(scores[i], score_columns), "  ",
                      PadRight(FormatDate(hit), kDateColumns), "  ",
                      PadRight(TruncateToWidth(CleanForDisplay(hit.source()),
                                               source_columns),
                               source_columns),
                      "  ", TruncateToWidth(title, title_columns), "\n");
      std::string snippet = RenderSnippet(hit.snippet(), style.ansi);
      absl::StrAppend(&out, indent, "[", CleanForDisplay(hit.id()), "]",
                      snippet.empty() ? "" : " ", snippet, "\n");
      if (hit.has_explanation()) {
        absl::StrAppend(&out, FormatExplanation(hit.explanation(), indent));
      }
    }
    out.push_back('\n');
  }
  absl::StrAppend(
      &out, response.hits_size(),
      response.hits_size() == 1 ? " hit (" : " hits (",
      response.total_hits_is_lower_bound() ? "at least " : "",
      WithThousands(response.total_hits()), " total), ",
      absl::StrFormat("%.1f ms", response.elapsed_micros() / 1000.0), "\n");
  for (const v1::FacetResult& facet : response.facets()) {
    AppendFacet(facet, &out);
  }
  if (response.partial()) {
    absl::StrAppend(&out, "partial results: ", response.shard_errors_size(),
                    response.shard_errors_size() == 1 ? " shard" : " shards",
                    " did not answer\n");
    for (const std::string& error : response.shard_errors()) {
      absl::StrAppend(&out, "  ", CleanForDisplay(error), "\n");
    }
  }
  if (!response.next_page_token().empty()) {
    absl::StrAppend(&out, "next page: --page-token ",
                    response.next_page_token(), "\n");
  }
  return out;
}

std::string FormatTrecLines(absl::string_view qid,
                            const v1::SearchResponse& response,
                            uint64_t first_rank, absl::string_view run_name) {
  std::string out;
  uint64_t rank = first_rank;
  for (const v1::Hit& hit : response.hits()) {
    absl::StrAppendFormat(&out, "%s Q0 %s %d %.6f %s\n", qid, hit.id(), rank++,
                          hit.score(), run_name);
  }
  return out;
}

std::string FormatStatsTable(const v1::ClusterStatsResponse& response) {
  // The copies of replicated shards get their member, role, term, applied
  // write and lag behind the primary as extra columns.
  bool replicated = false;
  for (const v1::ShardStats& shard : response.shards()) {
    replicated = replicated || shard.has_replication();
  }
  // Per column: whether numbers in it align right.
  std::vector<bool> right = {false, false, true, true};
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"SHARD", "ADDRESS", "DOCUMENTS", "DISK"};
  if (replicated) {
    for (const char* name : {"MEMBER", "ROLE", "TERM", "APPLIED", "LAG"}) {
      header.push_back(name);
    }
    right.insert(right.end(), {false, false, true, true, true});
  }
  header.push_back("ERROR");
  right.push_back(false);
  rows.push_back(header);
  for (const v1::ShardStats& shard : response.shards()) {
    const bool failed = !shard.error().empty();
    const v1::ReplicationStatus& r = shard.replication();
    // A shard that answers but refuses writes says why in the same column.
    std::string error =
        failed ? shard.error()
        : shard.background_error().empty()
            ? ""
            : absl::StrCat("writes stopped: ", shard.background_error());
    if (error.empty() && !r.error().empty()) error = r.error();
    std::vector<std::string> row = {
        absl::StrCat(shard.shard()), CleanForDisplay(shard.address()),
        failed ? "-" : WithThousands(shard.documents()),
        failed ? "-" : HumanBytes(shard.disk_bytes())};
    if (replicated) {
      const bool known = !failed && shard.has_replication();
      const uint64_t lag = r.primary_seq() > r.applied_seq()
                               ? r.primary_seq() - r.applied_seq()
                               : 0;
      row.push_back(known ? CleanForDisplay(r.member()) : "-");
      row.push_back(known ? absl::StrCat(CleanForDisplay(r.role()),
                                         r.in_sync() ? "" : " (not in sync)")
                          : "-");
      row.push_back(known ? absl::StrCat(r.term()) : "-");
      row.push_back(known ? WithThousands(r.applied_seq()) : "-");
      row.push_back(known ? WithThousands(lag) : "-");
    }
    row.push_back(CleanForDisplay(error));
    rows.push_back(std::move(row));
  }
  std::vector<std::string> total = {"total", "",
                                    WithThousands(response.total_documents()),
                                    HumanBytes(response.total_disk_bytes())};
  total.resize(header.size());
  rows.push_back(std::move(total));
  std::vector<int> widths(header.size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c + 1 < row.size(); ++c) {
      widths[c] = std::max(widths[c], DisplayWidth(row[c]));
    }
  }
  std::string out;
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::vector<std::string>& row = rows[i];
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      if (c > 0) line += "  ";
      if (c + 1 == row.size()) {
        line += row[c];
      } else if (right[c] && i > 0) {
        line += PadLeft(row[c], widths[c]);
      } else {
        line += PadRight(row[c], widths[c]);
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot print ",
                                            message.GetTypeName(),
                                            " as JSON: ", status.ToString()));
  }
  if (json.empty() || json.back() != '\n') json.push_back('\n');
  return json;
}

std::string FormatProgress(const IngestCounts& counts, absl::Duration elapsed) {
  const double seconds = absl::ToDoubleSeconds(elapsed);
  const uint64_t done = counts.accepted + counts.rejected;
  const uint64_t rate =
      seconds > 0 ? static_cast<uint64_t>(static_cast<double>(done) / seconds)
                  : 0;
  return absl::StrCat("sent ", WithThousands(counts.sent), "  accepted ",
                      WithThousands(counts.accepted), "  rejected ",
                      WithThousands(counts.rejected), "  ", WithThousands(rate),
                      " docs/s  ", HumanBytes(counts.bytes));
}

std::string FormatIngestSummary(const IngestCounts& counts,
                                absl::Duration elapsed,
                                std::vector<Rejection> rejections,
                                size_t max_listed) {
  const double seconds = absl::ToDoubleSeconds(elapsed);
  const uint64_t done = counts.accepted + counts.rejected;
  const uint64_t rate =
      seconds > 0 ? static_cast<uint64_t>(static_cast<double>(done) / seconds)
                  : 0;
  std::string out =
      absl::StrFormat("accepted %d, rejected %d (in %.1f s, %d docs/s)\n",
                      counts.accepted, counts.rejected, seconds, rate);
  if (counts.read_errors > 0) {
    absl::StrAppend(&out, "could not read ", counts.read_errors,
                    counts.read_errors == 1 ? " file\n" : " files\n");
  }
  std::stable_sort(rejections.begin(), rejections.end(),
                   [](const Rejection& a, const Rejection& b) {
                     return a.sequence < b.sequence;
                   });
  const size_t listed = std::min(max_listed, rejections.size());
  for (size_t i = 0; i < listed; ++i) {
    const Rejection& r = rejections[i];
    absl::StrAppend(&out, "  ", r.origin,
                    r.id.empty() ? "" : absl::StrCat(" (id \"", r.id, "\")"),
                    ": ", absl::StatusCodeToString(r.code), ": ",
                    CleanForDisplay(r.reason), "\n");
  }
  if (rejections.size() > listed) {
    absl::StrAppend(&out, "  ... and ", rejections.size() - listed, " more\n");
  }
  return out;
}

std::string DescribeRpcError(const absl::Status& status,
                             absl::string_view service,
                             absl::string_view address,
                             absl::Duration timeout) {
  return absl::StrCat(absl::StatusCodeToString(status.code()), ": ",
                      ExplainRpcError(status, service, address, timeout));
}

std::string ExplainRpcError(const absl::Status& status,
                            absl::string_view service,
                            absl::string_view address, absl::Duration timeout) {
  if (status.code() == absl::StatusCode::kUnavailable &&
      IsConnectFailure(status.message())) {
    return absl::StrCat("cannot reach ", service, " service at ", address,
                        " (is it running? start it with ./scripts/run.sh)");
  }
  if (status.code() == absl::StatusCode::kUnimplemented) {
    // What a server that is not `service` answers.
    return absl::StrCat("the server at ", address, " does not offer this call",
                        " (is it the ", service, " service?)",
                        status.message().empty() ? "" : ": ", status.message());
  }
  if (status.code() == absl::StatusCode::kDeadlineExceeded) {
    return absl::StrCat("no answer from ", service, " service at ", address,
                        " within ", absl::FormatDuration(timeout),
                        " (a longer --timeout may help)");
  }
  return std::string(status.message());
}

}  // namespace sift::siftctl
