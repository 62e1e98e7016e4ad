#include "services/ingest/json_document.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "services/ingest/timestamp_parser.h"

namespace sift::ingest {
namespace {

// Unknown values nest at most this deep; deeper input is refused rather
// than risking the stack.
constexpr int kMaxDepth = 64;

// The known keys, as bits, to refuse a key given twice.
enum KnownKey : uint32_t {
  kId = 1 << 0,
  kTitle = 1 << 1,
  kBody = 1 << 2,
  kSource = 1 << 3,
  kUrl = 1 << 4,
  kLanguage = 1 << 5,
  kDate = 1 << 6,
  kPublishedAt = 1 << 7,
  kTags = 1 << 8,
  kAttributes = 1 << 9,
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// A recursive-descent reader over one JSON text. Positions in messages are
// byte offsets from the start of the text.
class Parser {
 public:
  explicit Parser(absl::string_view json)
      : begin_(json.data()), p_(json.data()), end_(json.data() + json.size()) {}

  absl::Status Parse(v1::Document* doc) {
    SkipSpace();
    if (p_ == end_) return Error("expected a JSON object, found nothing");
    if (*p_ != '{') return Error("expected '{' at the start of the object");
    ++p_;
    SkipSpace();
    uint32_t seen = 0;
    if (p_ < end_ && *p_ == '}') {
      ++p_;
    } else {
      while (true) {
        SkipSpace();
        if (p_ == end_ || *p_ != '"') {
          return Error("expected a string as the object key");
        }
        const char* key_at = p_;
        if (absl::Status s = ReadString(&key_); !s.ok()) return s;
        SkipSpace();
        if (p_ == end_ || *p_ != ':') {
          return Error("expected ':' after an object key");
        }
        ++p_;
        SkipSpace();
        if (absl::Status s = ReadMember(key_at, &seen, doc); !s.ok()) {
          return s;
        }
        SkipSpace();
        if (p_ < end_ && *p_ == ',') {
          ++p_;
          continue;
        }
        if (p_ < end_ && *p_ == '}') {
          ++p_;
          break;
        }
        return Error("expected ',' or '}' after an object member");
      }
    }
    SkipSpace();
    if (p_ != end_) return Error("unexpected content after the object");
    return absl::OkStatus();
  }

 private:
  size_t Offset(const char* at) const { return at - begin_; }

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("json: invalid at byte ", Offset(p_), ": ", what));
  }

  absl::Status TypeError(const char* at, absl::string_view field,
                         absl::string_view expected) const {
    return absl::InvalidArgumentError(absl::StrCat("json: expected ", expected,
                                                   " for \"", field,
                                                   "\" at byte ", Offset(at)));
  }

  void SkipSpace() {
    while (p_ < end_ &&
           (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) {
      ++p_;
    }
  }

  bool AtNull() const {
    return end_ - p_ >= 4 && absl::string_view(p_, 4) == "null";
  }

  // Claims `bit` for the member whose key starts at `key_at`.
  absl::Status Claim(uint32_t bit, uint32_t* seen, const char* key_at) {
    if (*seen & bit) {
      return absl::InvalidArgumentError(
          absl::StrCat("json: key \"", key_, "\" appears twice (again at byte ",
                       Offset(key_at), ")"));
    }
    *seen |= bit;
    return absl::OkStatus();
  }

  absl::Status ReadMember(const char* key_at, uint32_t* seen,
                          v1::Document* doc) {
    const absl::string_view key = key_;
    std::string* text_field = nullptr;
    uint32_t bit = 0;
    if (key == "id") {
      text_field = doc->mutable_id(), bit = kId;
    } else if (key == "title") {
      text_field = doc->mutable_title(), bit = kTitle;
    } else if (key == "body") {
      text_field = doc->mutable_body(), bit = kBody;
    } else if (key == "source") {
      text_field = doc->mutable_source(), bit = kSource;
    } else if (key == "url") {
      text_field = doc->mutable_url(), bit = kUrl;
    } else if (key == "language") {
      text_field = doc->mutable_language(), bit = kLanguage;
    }
    if (text_field != nullptr) {
      if (absl::Status s = Claim(bit, seen, key_at); !s.ok()) return s;
      return ReadNullableString(key, text_field);
    }
    if (key == "date" || key == "published_at" || key == "publishedAt") {
      bit = key == "date" ? kDate : kPublishedAt;
      if (absl::Status s = Claim(bit, seen, key_at); !s.ok()) return s;
      if ((*seen & kDate) && (*seen & kPublishedAt)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "json: both \"date\" and \"published_at\" given (second at byte ",
            Offset(key_at), "); give one"));
      }
      return ReadTimestamp(doc);
    }
    if (key == "tags") {
      if (absl::Status s = Claim(kTags, seen, key_at); !s.ok()) return s;
      return ReadTags(doc);
    }
    if (key == "attributes") {
      if (absl::Status s = Claim(kAttributes, seen, key_at); !s.ok()) return s;
      return ReadAttributes(doc);
    }
    return SkipValue(0);
  }

  absl::Status ReadNullableString(absl::string_view field, std::string* out) {
    if (AtNull()) {
      p_ += 4;
      return absl::OkStatus();
    }
    if (p_ == end_ || *p_ != '"') return TypeError(p_, field, "string");
    return ReadString(out);
  }

  absl::Status ReadTimestamp(v1::Document* doc) {
    const std::string field = key_;
    if (AtNull()) {
      p_ += 4;
      return absl::OkStatus();
    }
    const char* at = p_;
    if (p_ == end_ || *p_ != '"') return TypeError(at, field, "string");
    std::string text;
    if (absl::Status s = ReadString(&text); !s.ok()) return s;
    // An empty date is how some exports say "unknown".
    if (text.empty()) return absl::OkStatus();
    absl::StatusOr<google::protobuf::Timestamp> timestamp =
        ParseTimestamp(text);
    if (!timestamp.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("json: bad \"", field, "\" at byte ", Offset(at), ": ",
                       timestamp.status().message()));
    }
    *doc->mutable_published_at() = *timestamp;
    return absl::OkStatus();
  }

  absl::Status ReadTags(v1::Document* doc) {
    if (AtNull()) {
      p_ += 4;
      return absl::OkStatus();
    }
    if (p_ == end_ || *p_ != '[') {
      return TypeError(p_, "tags", "an array of strings");
    }
    ++p_;
    SkipSpace();
    if (p_ < end_ && *p_ == ']') {
      ++p_;
      return absl::OkStatus();
    }
    while (true) {
      SkipSpace();
      if (p_ == end_ || *p_ != '"') {
        return TypeError(p_, absl::StrCat("tags[", doc->tags_size(), "]"),
                         "string");
      }
      if (absl::Status s = ReadString(doc->add_tags()); !s.ok()) return s;
      SkipSpace();
      if (p_ < end_ && *p_ == ',') {
        ++p_;
        continue;
      }
      if (p_ < end_ && *p_ == ']') {
        ++p_;
        return absl::OkStatus();
      }
      return Error("expected ',' or ']' in \"tags\"");
    }
  }

  absl::Status ReadAttributes(v1::Document* doc) {
    if (AtNull()) {
      p_ += 4;
      return absl::OkStatus();
    }
    if (p_ == end_ || *p_ != '{') {
      return TypeError(p_, "attributes", "an object of strings");
    }
    ++p_;
    SkipSpace();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      return absl::OkStatus();
    }
    auto& attributes = *doc->mutable_attributes();
    std::string name;
    while (true) {
      SkipSpace();
      if (p_ == end_ || *p_ != '"') {
        return Error("expected a string as a key of \"attributes\"");
      }
      if (absl::Status s = ReadString(&name); !s.ok()) return s;
      SkipSpace();
      if (p_ == end_ || *p_ != ':') {
        return Error("expected ':' after an object key");
      }
      ++p_;
      SkipSpace();
      if (p_ == end_ || *p_ != '"') {
        return TypeError(p_, absl::StrCat("attributes.", name), "string");
      }
      // Like protobuf's JSON parser, a repeated attribute keeps the last
      // value.
      if (absl::Status s = ReadString(&attributes[name]); !s.ok()) return s;
      SkipSpace();
      if (p_ < end_ && *p_ == ',') {
        ++p_;
        continue;
      }
      if (p_ < end_ && *p_ == '}') {
        ++p_;
        return absl::OkStatus();
      }
      return Error("expected ',' or '}' in \"attributes\"");
    }
  }

  // Reads the string starting at the '"' under p_ into `*out` (replacing
  // its contents), or just checks it when `out` is null.
  absl::Status ReadString(std::string* out) {
    ++p_;  // the opening quote
    if (out != nullptr) out->clear();
    while (true) {
      // Fast path: copy the longest run without escapes in one go.
      const char* run = p_;
      while (p_ < end_) {
        const unsigned char c = static_cast<unsigned char>(*p_);
        if (c == '"' || c == '\\' || c < 0x20) break;
        ++p_;
      }
      if (out != nullptr) out->append(run, p_ - run);
      if (p_ == end_) return Error("unterminated string");
      const char c = *p_;
      if (c == '"') {
        ++p_;
        return absl::OkStatus();
      }
      if (c != '\\') {
        return Error("control character in a string (escape it as \\u00XX)");
      }
      if (absl::Status s = ReadEscape(out); !s.ok()) return s;
    }
  }

  // Reads the escape sequence whose backslash is under p_.
  absl::Status ReadEscape(std::string* out) {
    if (end_ - p_ < 2) return Error("unterminated string");
    char decoded;
    switch (p_[1]) {
      case '"':
        decoded = '"';
        break;
      case '\\':
        decoded = '\\';
        break;
      case '/':
        decoded = '/';
        break;
      case 'b':
        decoded = '\b';
        break;
      case 'f':
        decoded = '\f';
        break;
      case 'n':
        decoded = '\n';
        break;
      case 'r':
        decoded = '\r';
        break;
      case 't':
        decoded = '\t';
        break;
      case 'u': {
        uint32_t cp = 0;
        if (absl::Status s = ReadHex4(&cp); !s.ok()) return s;
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
          p_ -= 6;
          return Error("unpaired UTF-16 low surrogate in a \\u escape");
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') {
            p_ -= 6;
            return Error("unpaired UTF-16 high surrogate in a \\u escape");
          }
          uint32_t low = 0;
          if (absl::Status s = ReadHex4(&low); !s.ok()) return s;
          if (low < 0xDC00 || low > 0xDFFF) {
            p_ -= 6;
            return Error(
                "a UTF-16 high surrogate must be followed by a low one");
          }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        if (out != nullptr) AppendUtf8(cp, out);
        return absl::OkStatus();
      }
      default:
        return Error("unknown escape sequence in a string");
    }
    if (out != nullptr) out->push_back(decoded);
    p_ += 2;
    return absl::OkStatus();
  }

  // Reads "\uXXXX" under p_.
  absl::Status ReadHex4(uint32_t* cp) {
    if (end_ - p_ < 6) return Error("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 2; i < 6; ++i) {
      int h = HexValue(p_[i]);
      if (h < 0) return Error("\\u must be followed by four hex digits");
      v = (v << 4) | h;
    }
    p_ += 6;
    *cp = v;
    return absl::OkStatus();
  }

  absl::Status SkipLiteral(absl::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() ||
        absl::string_view(p_, word.size()) != word) {
      return Error("expected a JSON value");
    }
    p_ += word.size();
    return absl::OkStatus();
  }

  absl::Status SkipNumber() {
    const auto digit = [this] { return p_ < end_ && *p_ >= '0' && *p_ <= '9'; };
    if (p_ < end_ && *p_ == '-') ++p_;
    if (!digit()) return Error("expected a digit in a number");
    if (*p_ == '0') {
      ++p_;
    } else {
      while (digit()) ++p_;
    }
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (!digit()) return Error("expected a digit after '.' in a number");
      while (digit()) ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digit()) return Error("expected a digit in a number's exponent");
      while (digit()) ++p_;
    }
    return absl::OkStatus();
  }

  // Checks and skips any value (of an unknown key).
  absl::Status SkipValue(int depth) {
    if (p_ == end_) return Error("expected a JSON value");
    switch (*p_) {
      case '"':
        return ReadString(nullptr);
      case 't':
        return SkipLiteral("true");
      case 'f':
        return SkipLiteral("false");
      case 'n':
        return SkipLiteral("null");
      case '[':
      case '{': {
        if (depth >= kMaxDepth) {
          return Error(
              absl::StrCat("values nest deeper than ", kMaxDepth, " levels"));
        }
        const bool object = *p_ == '{';
        const char close = object ? '}' : ']';
        ++p_;
        SkipSpace();
        if (p_ < end_ && *p_ == close) {
          ++p_;
          return absl::OkStatus();
        }
        while (true) {
          SkipSpace();
          if (object) {
            if (p_ == end_ || *p_ != '"') {
              return Error("expected a string as the object key");
            }
            if (absl::Status s = ReadString(nullptr); !s.ok()) return s;
            SkipSpace();
            if (p_ == end_ || *p_ != ':') {
              return Error("expected ':' after an object key");
            }
            ++p_;
            SkipSpace();
          }
          if (absl::Status s = SkipValue(depth + 1); !s.ok()) return s;
          SkipSpace();
          if (p_ < end_ && *p_ == ',') {
            ++p_;
            continue;
          }
          if (p_ < end_ && *p_ == close) {
            ++p_;
            return absl::OkStatus();
          }
          return Error(object ? "expected ',' or '}' after an object member"
                              : "expected ',' or ']' after an array element");
        }
      }
      default:
        if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) return SkipNumber();
        return Error("expected a JSON value");
    }
  }

  const char* const begin_;
  const char* p_;
  const char* const end_;
  std::string key_;
};

}  // namespace

absl::Status ParseJsonDocument(absl::string_view json, v1::Document* document) {
  document->Clear();
  return Parser(json).Parse(document);
}

}  // namespace sift::ingest
