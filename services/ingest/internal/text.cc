#include "services/ingest/internal/text.h"

namespace sift::ingest::internal {

size_t SpaceLengthAt(absl::string_view s, size_t i) {
  if (i >= s.size()) return 0;
  const auto byte = [&](size_t k) -> unsigned char {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0;
  };
  const unsigned char c = byte(0);
  if (c == ' ' || (c >= '\t' && c <= '\r')) return 1;
  if (c == 0xC2) return (byte(1) == 0x85 || byte(1) == 0xA0) ? 2 : 0;
  if (c == 0xE1) return (byte(1) == 0x9A && byte(2) == 0x80) ? 3 : 0;
  if (c == 0xE2) {
    const unsigned char c1 = byte(1), c2 = byte(2);
    if (c1 == 0x80 && ((c2 >= 0x80 && c2 <= 0x8B) || c2 == 0xA8 || c2 == 0xA9 ||
                       c2 == 0xAF)) {
      return 3;
    }
    if (c1 == 0x81 && c2 == 0x9F) return 3;
    return 0;
  }
  if (c == 0xE3) return (byte(1) == 0x80 && byte(2) == 0x80) ? 3 : 0;
  if (c == 0xEF) return (byte(1) == 0xBB && byte(2) == 0xBF) ? 3 : 0;
  return 0;
}

absl::string_view TrimTrailingSpace(absl::string_view s) {
  // Walk back to the start of each trailing character and test it forwards;
  // a space is at most 3 bytes long.
  while (!s.empty()) {
    size_t start = s.size() - 1;
    while (start > 0 && s.size() - start < 3 &&
           (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) {
      --start;
    }
    size_t len = SpaceLengthAt(s, start);
    if (len == 0 || start + len != s.size()) break;
    s.remove_suffix(len);
  }
  return s;
}

absl::string_view TrimSpace(absl::string_view s) {
  size_t len;
  while ((len = SpaceLengthAt(s, 0)) > 0) s.remove_prefix(len);
  return TrimTrailingSpace(s);
}

size_t CountCodePoints(absl::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

}  // namespace sift::ingest::internal
