#include "services/ingest/document_validator.h"

#include <cstdint>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/analysis/utf8.h"
#include "services/ingest/internal/text.h"
#include "services/ingest/timestamp_parser.h"

namespace sift::ingest {
namespace {

int64_t UnixSecondsAtYearStart(int year) {
  return absl::ToUnixSeconds(
      absl::FromCivil(absl::CivilYear(year), absl::UTCTimeZone()));
}

// "too long (70000 bytes, limit 65536)", or nullopt within the limit.
std::optional<std::string> CheckSize(size_t size, size_t limit) {
  if (size <= limit) return std::nullopt;
  return absl::StrCat("too long (", size, " bytes, limit ", limit, ")");
}

std::optional<std::string> CheckUtf8(absl::string_view bytes) {
  std::optional<analysis::Utf8Error> error = analysis::FindInvalidUtf8(bytes);
  if (!error) return std::nullopt;
  return absl::StrCat("not valid UTF-8 at byte ", error->offset, " (",
                      error->reason, ")");
}

// Size, then UTF-8, of one string field.
std::optional<std::string> CheckText(absl::string_view value, size_t limit) {
  if (auto problem = CheckSize(value.size(), limit)) return problem;
  return CheckUtf8(value);
}

class Problem {
 public:
  explicit Problem(absl::string_view id) : id_(id) {}
  absl::Status operator()(absl::string_view field,
                          absl::string_view reason) const {
    return absl::InvalidArgumentError(
        absl::StrCat(DocumentLabel(id_), field, ": ", reason));
  }

 private:
  absl::string_view id_;
};

}  // namespace

std::string DocumentLabel(absl::string_view id) {
  return absl::StrCat("document \"", id, "\": ");
}

absl::Status ValidateId(absl::string_view id, const IngestLimits& limits) {
  if (id.empty()) {
    return absl::InvalidArgumentError(
        "id: required (every document needs a non-empty id)");
  }
  if (auto problem = CheckText(id, limits.max_id_bytes)) {
    return absl::InvalidArgumentError(absl::StrCat("id: ", *problem));
  }
  for (size_t i = 0; i < id.size(); ++i) {
    const auto c = static_cast<unsigned char>(id[i]);
    // C1 controls U+0080..U+009F are encoded C2 80..C2 9F.
    const auto next =
        i + 1 < id.size() ? static_cast<unsigned char>(id[i + 1]) : 0;
    uint32_t control = 0;
    if (c < 0x20 || c == 0x7F) {
      control = c;
    } else if (c == 0xC2 && next >= 0x80 && next <= 0x9F) {
      control = next;
    } else {
      continue;
    }
    return absl::InvalidArgumentError(absl::StrFormat(
        "id: control character U+%04X at byte %d (ids must be printable)",
        control, i));
  }
  return absl::OkStatus();
}

absl::Status ValidateDocument(const v1::Document& document,
                              const IngestLimits& limits) {
  if (absl::Status s = ValidateId(document.id(), limits); !s.ok()) return s;
  const Problem problem(document.id());

  const size_t size = document.ByteSizeLong();
  if (size > limits.max_document_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        DocumentLabel(document.id()), "too large (", size,
        " bytes serialized, limit ", limits.max_document_bytes, ")"));
  }
  if (auto p = CheckText(document.title(), limits.max_title_bytes)) {
    return problem("title", *p);
  }
  if (auto p = CheckUtf8(document.body())) return problem("body", *p);
  if (auto p = CheckText(document.source(), limits.max_source_bytes)) {
    return problem("source", *p);
  }
  if (static_cast<size_t>(document.tags_size()) > limits.max_tags) {
    return problem("tags", absl::StrCat("too many (", document.tags_size(),
                                        ", limit ", limits.max_tags, ")"));
  }
  for (int i = 0; i < document.tags_size(); ++i) {
    const std::string& tag = document.tags(i);
    const std::string field = absl::StrCat("tags[", i, "]");
    if (auto p = CheckText(tag, limits.max_tag_bytes))
      return problem(field, *p);
    if (internal::TrimSpace(tag).empty()) {
      return problem(field, "empty (a tag needs a non-space character)");
    }
  }
  if (auto p = CheckText(document.url(), limits.max_url_bytes)) {
    return problem("url", *p);
  }
  if (auto p = CheckText(document.language(), limits.max_language_bytes)) {
    return problem("language", *p);
  }
  if (static_cast<size_t>(document.attributes_size()) > limits.max_attributes) {
    return problem("attributes",
                   absl::StrCat("too many (", document.attributes_size(),
                                ", limit ", limits.max_attributes, ")"));
  }
  for (const auto& [key, value] : document.attributes()) {
    if (auto p = CheckUtf8(key)) {
      return problem("attributes", absl::StrCat("a key is ", *p));
    }
    if (auto p = CheckUtf8(value)) {
      return problem(absl::StrCat("attributes[\"", key, "\"]"), *p);
    }
  }
  if (document.has_published_at()) {
    static const int64_t kMinSeconds = UnixSecondsAtYearStart(1000);
    static const int64_t kMaxSeconds = UnixSecondsAtYearStart(3000);
    const google::protobuf::Timestamp& t = document.published_at();
    if (t.nanos() < 0 || t.nanos() > 999'999'999) {
      return problem(
          "published_at",
          absl::StrCat("nanos ", t.nanos(), " out of range [0, 999999999]"));
    }
    if (t.seconds() < kMinSeconds) {
      return problem("published_at",
                     absl::StrCat(FormatTimestamp(t), " is before 1000-01-01"));
    }
    if (t.seconds() >= kMaxSeconds) {
      return problem("published_at", absl::StrCat(FormatTimestamp(t),
                                                  " is not before 3000-01-01"));
    }
  }
  return absl::OkStatus();
}

}  // namespace sift::ingest
