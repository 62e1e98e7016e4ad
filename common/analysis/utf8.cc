#include "common/analysis/utf8.h"

#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace sift::analysis {
namespace {

constexpr uint64_t kHighBits = 0x8080808080808080ULL;

bool IsContinuation(uint8_t b) { return (b & 0xC0) == 0x80; }

}  // namespace

std::optional<Utf8Error> FindInvalidUtf8(absl::string_view bytes) {
  const auto* s = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    // Most text is ASCII: skip it eight bytes at a time.
    if (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, s + i, sizeof(word));
      if ((word & kHighBits) == 0) {
        i += 8;
        continue;
      }
    }
    const uint8_t lead = s[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    // Allowed range of the second byte; narrower than 80..BF for the leads
    // whose shortest forms would otherwise be overlong, surrogates or beyond
    // U+10FFFF (Unicode Table 3-7).
    uint8_t lo = 0x80;
    uint8_t hi = 0xBF;
    const char* second_reason = "truncated sequence";
    if (lead < 0xC0) {
      return Utf8Error{i, "unexpected continuation byte"};
    } else if (lead < 0xC2) {
      return Utf8Error{i, "overlong encoding"};
    } else if (lead < 0xE0) {
      len = 2;
    } else if (lead < 0xF0) {
      len = 3;
      if (lead == 0xE0) {
        lo = 0xA0;
        second_reason = "overlong encoding";
      } else if (lead == 0xED) {
        hi = 0x9F;
        second_reason = "UTF-16 surrogate";
      }
    } else if (lead < 0xF5) {
      len = 4;
      if (lead == 0xF0) {
        lo = 0x90;
        second_reason = "overlong encoding";
      } else if (lead == 0xF4) {
        hi = 0x8F;
        second_reason = "code point above U+10FFFF";
      }
    } else {
      return Utf8Error{i, "byte never used in UTF-8"};
    }
    if (i + 1 >= n) return Utf8Error{i, "truncated sequence"};
    const uint8_t second = s[i + 1];
    if (!IsContinuation(second)) return Utf8Error{i, "truncated sequence"};
    if (second < lo || second > hi) return Utf8Error{i, second_reason};
    for (size_t k = 2; k < len; ++k) {
      if (i + k >= n || !IsContinuation(s[i + k])) {
        return Utf8Error{i, "truncated sequence"};
      }
    }
    i += len;
  }
  return std::nullopt;
}

absl::Status ValidateUtf8(absl::string_view bytes) {
  std::optional<Utf8Error> error = FindInvalidUtf8(bytes);
  if (!error.has_value()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid UTF-8 at byte offset ", error->offset, ": ", error->reason));
}

}  // namespace sift::analysis
