#include "bench/corpus_reader.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sift::bench {
namespace {

constexpr size_t kChunkBytes = size_t{1} << 20;

bool IsBlank(const std::string& line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CorpusReader>> CorpusReader::Open(
    const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int error = errno;
    const std::string message =
        absl::StrCat(path, ": cannot open: ", std::strerror(error));
    if (error == EACCES) return absl::PermissionDeniedError(message);
    return absl::NotFoundError(message);
  }
  gzbuffer(file, kChunkBytes);
  return std::unique_ptr<CorpusReader>(new CorpusReader(path, file));
}

CorpusReader::CorpusReader(std::string path, void* file)
    : path_(std::move(path)), file_(file) {}

CorpusReader::~CorpusReader() { gzclose(static_cast<gzFile>(file_)); }

absl::StatusOr<bool> CorpusReader::Fill() {
  if (eof_) return false;
  // Drop what has been consumed so that the buffer holds one chunk plus at
  // most one partial line.
  buffer_.erase(0, buffer_pos_);
  buffer_pos_ = 0;
  const size_t old_size = buffer_.size();
  buffer_.resize(old_size + kChunkBytes);
  const int n = gzread(static_cast<gzFile>(file_), buffer_.data() + old_size,
                       static_cast<unsigned>(kChunkBytes));
  if (n < 0) {
    int code = 0;
    const char* message = gzerror(static_cast<gzFile>(file_), &code);
    buffer_.resize(old_size);
    return absl::DataLossError(
        absl::StrCat(path_, ":", line_number_ + 1, ": cannot read: ", message));
  }
  buffer_.resize(old_size + static_cast<size_t>(n));
  bytes_read_ += static_cast<uint64_t>(n);
  if (n == 0) {
    eof_ = true;
    // gzread reports a stream cut short only through gzerror.
    int code = Z_OK;
    const char* message = gzerror(static_cast<gzFile>(file_), &code);
    if (code != Z_OK && code != Z_STREAM_END) {
      return absl::DataLossError(absl::StrCat(path_, ":", line_number_ + 1,
                                              ": cannot read: ", message));
    }
    return false;
  }
  return true;
}

absl::StatusOr<bool> CorpusReader::Next(std::string* line) {
  while (true) {
    const size_t newline = buffer_.find('\n', buffer_pos_);
    if (newline == std::string::npos) {
      absl::StatusOr<bool> more = Fill();
      if (!more.ok()) return more.status();
      if (*more) continue;
      if (buffer_pos_ >= buffer_.size()) return false;
      // The last line has no line end.
      line->assign(buffer_, buffer_pos_, std::string::npos);
      buffer_pos_ = buffer_.size();
    } else {
      line->assign(buffer_, buffer_pos_, newline - buffer_pos_);
      buffer_pos_ = newline + 1;
    }
    ++line_number_;
    if (!line->empty() && line->back() == '\r') line->pop_back();
    if (!IsBlank(*line)) return true;
  }
}

}  // namespace sift::bench
