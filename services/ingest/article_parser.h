#ifndef SIFT_SERVICES_INGEST_ARTICLE_PARSER_H_
#define SIFT_SERVICES_INGEST_ARTICLE_PARSER_H_

#include <cstddef>

#include "absl/strings/string_view.h"
#include "sift/v1/document.pb.h"

namespace sift::ingest {

// A title longer than this many characters is taken for body text.
inline constexpr size_t kMaxArticleTitleChars = 300;

// Turns a plain-text article, as people keep them (a title line, a date and
// byline line, the body, trailing boilerplate), into a Document with title,
// body and, when the second line says so, published_at (midnight UTC) and
// source. The id is left empty for the caller to fill.
//
// Never fails: text that matches none of the heuristics becomes title (the
// first non-empty line, when at most kMaxArticleTitleChars long) and body
// (the rest). Every heuristic is listed in docs/plain-text-articles.md. Line
// endings may be LF, CRLF or CR; a leading byte order mark is dropped.
// Ill-formed UTF-8 passes through unchanged for the validator to report.
// Thread-safe.
v1::Document ParseArticle(absl::string_view text);

}  // namespace sift::ingest

#endif  // SIFT_SERVICES_INGEST_ARTICLE_PARSER_H_
