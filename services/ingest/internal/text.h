#ifndef SIFT_SERVICES_INGEST_INTERNAL_TEXT_H_
#define SIFT_SERVICES_INGEST_INTERNAL_TEXT_H_

#include <cstddef>

#include "absl/strings/string_view.h"

// Byte-level helpers over UTF-8 text shared by the ingest parsers and the
// validator. They never fail on ill-formed UTF-8: such bytes are simply not
// spaces and count as characters of their own. Pure functions; thread-safe.
namespace sift::ingest::internal {

// Length in bytes of the white-space character that starts at `s[i]`, or 0.
// Besides ASCII white space this covers the Unicode spaces that text copied
// from web pages carries: U+0085, U+00A0 (no-break space), U+1680,
// U+2000..U+200B, U+2028, U+2029, U+202F, U+205F, U+3000 and U+FEFF.
size_t SpaceLengthAt(absl::string_view s, size_t i);

// `s` without the white space (as above) at both ends / at its end.
absl::string_view TrimSpace(absl::string_view s);
absl::string_view TrimTrailingSpace(absl::string_view s);

// Number of characters (code points) in `s`: bytes that do not continue a
// multi-byte sequence.
size_t CountCodePoints(absl::string_view s);

}  // namespace sift::ingest::internal

#endif  // SIFT_SERVICES_INGEST_INTERNAL_TEXT_H_
