#ifndef SIFT_COMMON_ANALYSIS_UTF8_H_
#define SIFT_COMMON_ANALYSIS_UTF8_H_

#include <cstddef>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sift::analysis {

// Where and why a byte string stops being well-formed UTF-8.
struct Utf8Error {
  // Byte offset of the first byte of the offending sequence.
  size_t offset = 0;
  // Short English reason, e.g. "overlong encoding" (a static string).
  const char* reason = "";
};

// The first ill-formed sequence of `bytes` under the strict rules of RFC 3629
// (the Unicode Standard's "well-formed UTF-8"): overlong encodings, UTF-16
// surrogates (U+D800..U+DFFF), code points above U+10FFFF, stray
// continuation bytes and truncated sequences are all ill-formed. nullopt when
// `bytes` is valid (the empty string is valid). Pure function; thread-safe.
std::optional<Utf8Error> FindInvalidUtf8(absl::string_view bytes);

// OK when `bytes` is well-formed UTF-8, otherwise INVALID_ARGUMENT with a
// message such as "invalid UTF-8 at byte offset 12: overlong encoding".
// Callers add the name of the field the bytes came from.
absl::Status ValidateUtf8(absl::string_view bytes);

}  // namespace sift::analysis

#endif  // SIFT_COMMON_ANALYSIS_UTF8_H_
