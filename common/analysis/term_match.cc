#include "common/analysis/term_match.h"

#include <algorithm>
#include <vector>

#include "absl/strings/match.h"

namespace sift::analysis {
namespace {

// Code points of UTF-8 `s`; a byte that starts no valid sequence stands for
// itself.
std::vector<uint32_t> CodePoints(absl::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto lead = static_cast<unsigned char>(s[i]);
    const size_t n = lead < 0x80   ? 1
                     : lead < 0xC0 ? 0
                     : lead < 0xE0 ? 2
                     : lead < 0xF0 ? 3
                                   : 4;
    if (n == 0 || i + n > s.size()) {
      out.push_back(lead);
      ++i;
      continue;
    }
    uint32_t c = n == 1 ? lead : lead & (0xFFu >> (n + 1));
    for (size_t k = 1; k < n; ++k) {
      c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
    }
    out.push_back(c);
    i += n;
  }
  return out;
}

}  // namespace

uint32_t BoundedEditDistance(absl::string_view a, absl::string_view b,
                             uint32_t max_edits) {
  const std::vector<uint32_t> x = CodePoints(a), y = CodePoints(b);
  const size_t n = x.size(), m = y.size();
  const uint32_t over = max_edits + 1;
  if ((n > m ? n - m : m - n) > max_edits) return over;
  // Optimal string alignment, three rows of the table at a time.
  std::vector<uint32_t> before(m + 1), previous(m + 1), current(m + 1);
  for (size_t j = 0; j <= m; ++j) previous[j] = static_cast<uint32_t>(j);
  for (size_t i = 1; i <= n; ++i) {
    current[0] = static_cast<uint32_t>(i);
    uint32_t row_min = current[0];
    for (size_t j = 1; j <= m; ++j) {
      const uint32_t cost = x[i - 1] == y[j - 1] ? 0 : 1;
      uint32_t d = std::min(
          {previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1]) {
        d = std::min(d, before[j - 2] + 1);
      }
      current[j] = d;
      row_min = std::min(row_min, d);
    }
    if (row_min > max_edits) return over;
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return std::min(previous[m], over);
}

absl::string_view FirstCharacter(absl::string_view s) {
  if (s.empty()) return s;
  const auto lead = static_cast<unsigned char>(s[0]);
  const size_t n = lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  return s.substr(0, std::min(n, s.size()));
}

bool PrefixMatches(absl::string_view prefix, absl::string_view term) {
  return absl::StartsWith(term, prefix);
}

bool FuzzyMatches(absl::string_view fuzzy, uint32_t max_edits,
                  absl::string_view term) {
  return absl::StartsWith(term, FirstCharacter(fuzzy)) &&
         BoundedEditDistance(term, fuzzy, max_edits) <= max_edits;
}

}  // namespace sift::analysis
