#ifndef SIFT_BENCH_JSON_WRITER_H_
#define SIFT_BENCH_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace sift::bench {

// `text` as a JSON string literal, quotes included: `"` and `\` escaped,
// control characters as \n, \t, ... or \u00XX, and every ill-formed UTF-8
// sequence replaced by U+FFFD so that the output is always valid JSON.
std::string JsonQuote(absl::string_view text);

// Writes pretty-printed JSON (two-space indent) with keys in the order they
// are written, so that reports keep a stable layout. The caller nests calls
// correctly: Key only inside an object, exactly one value after each Key.
// Not thread-safe.
class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(absl::string_view key);
  JsonWriter& String(absl::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Uint(uint64_t value);
  // Fixed notation with at most `decimals` digits after the point, trailing
  // zeros dropped (12.5, not 12.500); null for NaN and infinities, which
  // JSON cannot represent.
  JsonWriter& Double(double value, int decimals = 3);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();

  // The document so far, ending with a newline once the outermost value is
  // closed.
  const std::string& str() const { return out_; }

 private:
  // Separator and indentation before a value or key.
  void BeforeValue();
  void Open(char bracket);
  void Close(char bracket);

  std::string out_;
  // Per open container: whether it has an element yet.
  std::vector<bool> has_element_;
  bool after_key_ = false;
};

}  // namespace sift::bench

#endif  // SIFT_BENCH_JSON_WRITER_H_
