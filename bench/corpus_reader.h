#ifndef SIFT_BENCH_CORPUS_READER_H_
#define SIFT_BENCH_CORPUS_READER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace sift::bench {

// Reads a JSON-lines corpus (one document per line), plain or
// gzip-compressed, line by line. zlib reads files that are not gzip as they
// are, so the extension does not matter. Not thread-safe.
class CorpusReader {
 public:
  // NOT_FOUND or PERMISSION_DENIED when the file cannot be opened.
  static absl::StatusOr<std::unique_ptr<CorpusReader>> Open(
      const std::string& path);
  ~CorpusReader();

  CorpusReader(const CorpusReader&) = delete;
  CorpusReader& operator=(const CorpusReader&) = delete;

  // Reads the next line that holds anything but white space into `line`,
  // without its "\n" or "\r\n"; false at the end of the file. DATA_LOSS
  // for a corrupt or truncated gzip stream, naming the file and line.
  absl::StatusOr<bool> Next(std::string* line);

  // Uncompressed bytes read so far, line ends and blank lines included:
  // after the last line, the size of the uncompressed corpus.
  uint64_t bytes_read() const { return bytes_read_; }

  // 1-based number of the line the last successful Next returned.
  int64_t line_number() const { return line_number_; }

 private:
  CorpusReader(std::string path, void* file);
  // Appends the next chunk of the file to buffer_; false at end of file.
  absl::StatusOr<bool> Fill();

  std::string path_;
  void* file_;  // gzFile; opaque so that callers need no zlib header.
  std::string buffer_;
  size_t buffer_pos_ = 0;
  bool eof_ = false;
  uint64_t bytes_read_ = 0;
  int64_t line_number_ = 0;
};

}  // namespace sift::bench

#endif  // SIFT_BENCH_CORPUS_READER_H_
