#include "tools/siftctl/input_files.h"

#include <unicode/utf8.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status/status_macros.h"

namespace sift::siftctl {
namespace {

namespace fs = std::filesystem;

constexpr size_t kReadChunkBytes = 256 << 10;
constexpr absl::string_view kUtf8Bom = "\xEF\xBB\xBF";

absl::Status ErrnoError(int error, absl::string_view what) {
  std::string message = absl::StrCat(what, ": ", std::strerror(error));
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    default:
      return absl::UnknownError(message);
  }
}

absl::Status FilesystemError(const std::error_code& ec,
                             absl::string_view what) {
  if (ec.category() == std::generic_category() ||
      ec.category() == std::system_category()) {
    return ErrnoError(ec.value(), what);
  }
  return absl::UnknownError(absl::StrCat(what, ": ", ec.message()));
}

// The first kBinaryProbeBytes of `path`, decompressed when it is gzip. An
// unreadable file gives an empty string: DocumentSource reports it later.
std::string ReadHead(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) return "";
  std::string head(kBinaryProbeBytes, '\0');
  int n = gzread(file, head.data(), static_cast<unsigned>(head.size()));
  gzclose(file);
  head.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return head;
}

// Adds `path` to `discovery` or to its skipped list.
void Classify(std::string path, std::string article_id, uintmax_t size,
              Discovery& discovery) {
  const std::string lower = absl::AsciiStrToLower(path);
  if (size == 0) {
    discovery.skipped.push_back({std::move(path), "empty file"});
    return;
  }
  if (IsJsonLinesName(lower)) {
    if (LooksBinary(ReadHead(path))) {
      discovery.skipped.push_back(
          {std::move(path), "binary file (NUL byte in the first 8 KiB)"});
      return;
    }
    discovery.files.push_back({std::move(path), InputKind::kJsonLines, ""});
    return;
  }
  if (absl::EndsWith(lower, ".gz")) {
    discovery.skipped.push_back(
        {std::move(path),
         "compressed file that is not JSON lines (only .jsonl.gz, "
         ".ndjson.gz and .json.gz are read)"});
    return;
  }
  std::string head(kBinaryProbeBytes, '\0');
  std::ifstream in(path, std::ios::binary);
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  if (LooksBinary(head)) {
    discovery.skipped.push_back(
        {std::move(path), "binary file (NUL byte in the first 8 KiB)"});
    return;
  }
  discovery.files.push_back(
      {std::move(path), InputKind::kArticle, std::move(article_id)});
}

bool IsHidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name[0] == '.';
}

absl::Status WalkFolder(const std::string& root, Discovery& discovery) {
  struct Found {
    std::string relative;
    uintmax_t size;
  };
  std::vector<Found> found;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
  if (ec)
    return FilesystemError(ec, absl::StrCat("cannot list \"", root, "\""));
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const fs::directory_entry& entry = *it;
    // Errors about one entry (a dangling link) only decide how to treat it.
    std::error_code entry_ec;
    if (IsHidden(entry.path())) {
      if (entry.is_directory(entry_ec)) it.disable_recursion_pending();
      continue;
    }
    if (entry.is_directory(entry_ec)) continue;
    const std::string relative =
        entry.path().lexically_relative(root).generic_string();
    if (!entry.is_regular_file(entry_ec)) {
      discovery.skipped.push_back(
          {(fs::path(root) / relative).string(), "not a regular file"});
      continue;
    }
    uintmax_t size = entry.file_size(entry_ec);
    if (entry_ec) size = 1;  // Unknown: let reading report the problem.
    found.push_back({relative, size});
  }
  if (ec) {
    return FilesystemError(ec, absl::StrCat("cannot list \"", root, "\""));
  }
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    return a.relative < b.relative;
  });
  for (Found& f : found) {
    Classify((fs::path(root) / f.relative).string(), f.relative, f.size,
             discovery);
  }
  return absl::OkStatus();
}

bool IsBlank(absl::string_view line) {
  return absl::StripAsciiWhitespace(line).empty();
}

}  // namespace

bool IsJsonLinesName(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  absl::string_view rest = lower;
  absl::ConsumeSuffix(&rest, ".gz");
  return absl::EndsWith(rest, ".jsonl") || absl::EndsWith(rest, ".ndjson") ||
         absl::EndsWith(rest, ".json");
}

bool LooksBinary(absl::string_view head) {
  return head.substr(0, kBinaryProbeBytes).find('\0') !=
         absl::string_view::npos;
}

size_t FindInvalidUtf8(absl::string_view text) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const int64_t length = static_cast<int64_t>(text.size());
  int64_t i = 0;
  while (i < length) {
    // ASCII needs no decoding; U8_NEXT indexes with int32_t, so decode in a
    // window that keeps any text size safe.
    if (s[i] < 0x80) {
      ++i;
      continue;
    }
    const int32_t window =
        static_cast<int32_t>(std::min<int64_t>(length - i, 4));
    int32_t j = 0;
    UChar32 c;
    U8_NEXT(s + i, j, window, c);
    if (c < 0) return static_cast<size_t>(i);
    i += j;
  }
  return absl::string_view::npos;
}

absl::StatusOr<Discovery> DiscoverInputs(
    const std::vector<std::string>& paths) {
  Discovery discovery;
  for (const std::string& path : paths) {
    std::error_code ec;
    fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      return absl::NotFoundError(
          absl::StrCat("no such file or folder: \"", path, "\""));
    }
    if (fs::is_directory(status)) {
      SIFT_RETURN_IF_ERROR(WalkFolder(path, discovery));
    } else if (fs::is_regular_file(status)) {
      uintmax_t size = fs::file_size(path, ec);
      if (ec) size = 1;
      Classify(path, fs::path(path).filename().string(), size, discovery);
    } else {
      discovery.skipped.push_back({path, "not a regular file"});
    }
  }
  return discovery;
}

LineReader::LineReader(std::string path, void* file)
    : path_(std::move(path)), file_(file) {}

LineReader::~LineReader() { gzclose(static_cast<gzFile>(file_)); }

absl::StatusOr<std::unique_ptr<LineReader>> LineReader::Open(
    const std::string& path) {
  errno = 0;
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    return ErrnoError(errno != 0 ? errno : ENOMEM,
                      absl::StrCat("cannot open \"", path, "\""));
  }
  gzbuffer(file, kReadChunkBytes);
  return std::unique_ptr<LineReader>(new LineReader(path, file));
}

absl::StatusOr<bool> LineReader::Fill() {
  gzFile file = static_cast<gzFile>(file_);
  const size_t old_size = buffer_.size();
  buffer_.resize(old_size + kReadChunkBytes);
  int n = gzread(file, buffer_.data() + old_size,
                 static_cast<unsigned>(kReadChunkBytes));
  int error = Z_OK;
  const char* message = gzerror(file, &error);
  if (n < 0 || (error != Z_OK && error != Z_BUF_ERROR)) {
    buffer_.resize(old_size);
    return absl::DataLossError(absl::StrCat("cannot read \"", path_,
                                            "\" after line ", line_number_,
                                            ": ", message));
  }
  buffer_.resize(old_size + static_cast<size_t>(n));
  if (n == 0 && error == Z_BUF_ERROR) {
    // zlib reports a gzip stream cut short only this way.
    return absl::DataLossError(
        absl::StrCat("\"", path_,
                     "\" is truncated: the gzip stream ends "
                     "inside line ",
                     line_number_ + 1));
  }
  return n > 0;
}

absl::StatusOr<bool> LineReader::Next(std::string* line) {
  size_t search_from = buffer_pos_;
  while (true) {
    const size_t newline = buffer_.find('\n', search_from);
    if (newline != std::string::npos) {
      size_t end = newline;
      if (end > buffer_pos_ && buffer_[end - 1] == '\r') --end;
      line->assign(buffer_, buffer_pos_, end - buffer_pos_);
      buffer_pos_ = newline + 1;
      ++line_number_;
      return true;
    }
    if (eof_) {
      if (buffer_pos_ >= buffer_.size()) return false;
      size_t end = buffer_.size();
      if (buffer_[end - 1] == '\r') --end;
      line->assign(buffer_, buffer_pos_, end - buffer_pos_);
      buffer_pos_ = buffer_.size();
      ++line_number_;
      return true;
    }
    buffer_.erase(0, buffer_pos_);
    buffer_pos_ = 0;
    search_from = buffer_.size();
    SIFT_ASSIGN_OR_RETURN(bool more, Fill());
    if (!more) eof_ = true;
  }
}

DocumentSource::DocumentSource(std::vector<InputFile> files)
    : files_(std::move(files)) {}

absl::StatusOr<bool> DocumentSource::Next(SourceDocument* document) {
  while (true) {
    if (lines_ != nullptr) {
      absl::StatusOr<bool> got = NextFromLines(document);
      if (!got.ok()) {
        // A bad line is skipped alone; anything else ends the file.
        if (got.status().code() != absl::StatusCode::kResourceExhausted &&
            got.status().code() != absl::StatusCode::kInvalidArgument) {
          lines_.reset();
        }
        return got.status();
      }
      if (*got) return true;
      lines_.reset();
      continue;
    }
    if (next_file_ >= files_.size()) return false;
    const InputFile& file = files_[next_file_++];
    if (file.kind == InputKind::kArticle) return ReadArticle(file, document);
    absl::StatusOr<std::unique_ptr<LineReader>> reader =
        LineReader::Open(file.path);
    if (!reader.ok()) {
      error_origin_ = file.path;
      return reader.status();
    }
    lines_ = std::move(reader).value();
    lines_path_ = file.path;
  }
}

absl::StatusOr<bool> DocumentSource::NextFromLines(SourceDocument* document) {
  std::string line;
  while (true) {
    absl::StatusOr<bool> got = lines_->Next(&line);
    if (!got.ok()) {
      error_origin_ = lines_path_;
      return got.status();
    }
    if (!*got) return false;
    if (lines_->line_number() == 1 && absl::StartsWith(line, kUtf8Bom)) {
      line.erase(0, kUtf8Bom.size());
    }
    if (IsBlank(line)) continue;
    std::string origin = absl::StrCat(lines_path_, ":", lines_->line_number());
    if (line.size() > kMaxDocumentBytes) {
      error_origin_ = origin;
      return absl::ResourceExhaustedError(absl::StrCat(
          "line of ", line.size(), " bytes is over the ", kMaxDocumentBytes,
          "-byte limit of one ingest request; skipped"));
    }
    if (size_t bad = FindInvalidUtf8(line); bad != absl::string_view::npos) {
      error_origin_ = origin;
      return absl::InvalidArgumentError(absl::StrCat(
          "not valid UTF-8 at byte ", bad, " of the line; skipped"));
    }
    document->input.Clear();
    document->input.set_json(std::move(line));
    document->origin = std::move(origin);
    document->sequence = next_sequence_++;
    return true;
  }
}

absl::StatusOr<bool> DocumentSource::ReadArticle(const InputFile& file,
                                                 SourceDocument* document) {
  error_origin_ = file.path;
  std::error_code ec;
  const uintmax_t size = fs::file_size(file.path, ec);
  if (ec) {
    return FilesystemError(ec, absl::StrCat("cannot read \"", file.path, "\""));
  }
  if (size > kMaxDocumentBytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("file of ", size, " bytes is over the ", kMaxDocumentBytes,
                     "-byte limit of one ingest request; skipped"));
  }
  errno = 0;
  std::ifstream in(file.path, std::ios::binary);
  if (!in) {
    return ErrnoError(errno != 0 ? errno : EIO,
                      absl::StrCat("cannot open \"", file.path, "\""));
  }
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat("cannot read \"", file.path, "\""));
  }
  if (absl::StartsWith(text, kUtf8Bom)) text.erase(0, kUtf8Bom.size());
  if (size_t bad = FindInvalidUtf8(text); bad != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("not valid UTF-8 at byte ", bad,
                     "; convert the file to UTF-8 (e.g. with iconv); skipped"));
  }
  if (FindInvalidUtf8(file.article_id) != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "the file name is not valid UTF-8, so it cannot be a document id; "
        "skipped");
  }
  document->input.Clear();
  v1::PlainTextArticle* article = document->input.mutable_article();
  article->set_id(file.article_id);
  article->set_text(std::move(text));
  document->origin = file.path;
  document->sequence = next_sequence_++;
  return true;
}

}  // namespace sift::siftctl
