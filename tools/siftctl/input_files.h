#ifndef SIFT_TOOLS_SIFTCTL_INPUT_FILES_H_
#define SIFT_TOOLS_SIFTCTL_INPUT_FILES_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sift/v1/ingest.pb.h"

namespace sift::siftctl {

// A file is binary when its first kBinaryProbeBytes hold a NUL byte (the
// rule git and grep use); such files are skipped.
inline constexpr size_t kBinaryProbeBytes = 8 << 10;

// The most one document may take: the ingest service accepts requests of up
// to 64 MiB, so anything larger could never be sent.
inline constexpr size_t kMaxDocumentBytes = 64 << 20;

enum class InputKind {
  // One JSON object per line (.jsonl, .ndjson, .json, each optionally .gz),
  // sent as DocumentInput.json.
  kJsonLines,
  // Any other text file: one plain-text article, sent as
  // DocumentInput.article.
  kArticle,
};

struct InputFile {
  // The path to open and to name in messages: the argument itself, or the
  // argument joined with the path inside it.
  std::string path;
  InputKind kind = InputKind::kArticle;
  // kArticle only: the document id. The file name for a file given as an
  // argument; the path relative to the folder (with '/') for a file found
  // inside a folder argument.
  std::string article_id;
};

struct SkippedFile {
  std::string path;
  std::string reason;
};

struct Discovery {
  // In argument order; inside a folder sorted by relative path (byte order).
  std::vector<InputFile> files;
  std::vector<SkippedFile> skipped;
};

// Whether `name` is a JSON-lines file by its extension (case-insensitive):
// .jsonl, .ndjson, .json, and the same with .gz appended.
bool IsJsonLinesName(absl::string_view name);

// Whether `head` (the start of a file) holds a NUL byte.
bool LooksBinary(absl::string_view head);

// The byte offset of the first invalid UTF-8 sequence in `text` (overlong
// forms and surrogates included), or npos when it is all valid.
size_t FindInvalidUtf8(absl::string_view text);

// Finds the input files under `paths`: files are taken as given (even when
// hidden), folders are walked recursively skipping entries whose name starts
// with '.', binary files and compressed files other than JSON lines are
// skipped with a reason. Symbolic links to folders are not followed.
// NOT_FOUND for a path that does not exist; PERMISSION_DENIED or UNKNOWN
// when a folder cannot be listed.
absl::StatusOr<Discovery> DiscoverInputs(const std::vector<std::string>& paths);

// Reads a text file line by line, transparently decompressing gzip (zlib's
// gzread passes other files through). Not thread-safe.
class LineReader {
 public:
  // NOT_FOUND or PERMISSION_DENIED when the file cannot be opened.
  static absl::StatusOr<std::unique_ptr<LineReader>> Open(
      const std::string& path);
  ~LineReader();

  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Reads the next line into `line` without its "\n" or "\r\n"; returns
  // false at the end of the file. DATA_LOSS for a corrupt or truncated
  // gzip stream, naming the file and line.
  absl::StatusOr<bool> Next(std::string* line);

  // 1-based number of the line the last successful Next returned.
  int64_t line_number() const { return line_number_; }

 private:
  LineReader(std::string path, void* file);
  // Refills buffer_ from the file; false at end of file.
  absl::StatusOr<bool> Fill();

  std::string path_;
  void* file_;  // gzFile; kept opaque so callers need no zlib header.
  std::string buffer_;
  size_t buffer_pos_ = 0;
  bool eof_ = false;
  int64_t line_number_ = 0;
};

// One document read from the inputs, ready to send.
struct SourceDocument {
  v1::DocumentInput input;
  // Where it came from, for messages: "path:line" for JSON lines, "path"
  // for an article.
  std::string origin;
  // 0, 1, 2, ... in reading order, across all files.
  uint64_t sequence = 0;
};

// Turns input files into documents, in order: every non-blank line of a
// JSON-lines file (a UTF-8 byte order mark at the start of a file is
// dropped), every article file whole. Not thread-safe.
class DocumentSource {
 public:
  explicit DocumentSource(std::vector<InputFile> files);

  // Reads the next document into `document`; false when every file is done.
  // An error concerns one file or line, named by error_origin(). Errors
  // about one document skip only it: INVALID_ARGUMENT when it is not valid
  // UTF-8 (protobuf strings must be; the message gives the byte offset),
  // RESOURCE_EXHAUSTED when it is over kMaxDocumentBytes. Errors about a
  // file abandon the rest of it: NOT_FOUND / PERMISSION_DENIED (cannot
  // open), DATA_LOSS (corrupt gzip). The next call goes on after it.
  absl::StatusOr<bool> Next(SourceDocument* document);

  // The file the last error came from, with ":line" where there is one.
  const std::string& error_origin() const { return error_origin_; }

 private:
  absl::StatusOr<bool> NextFromLines(SourceDocument* document);
  absl::StatusOr<bool> ReadArticle(const InputFile& file,
                                   SourceDocument* document);

  std::vector<InputFile> files_;
  size_t next_file_ = 0;
  std::unique_ptr<LineReader> lines_;  // open JSON-lines file, if any
  std::string lines_path_;
  uint64_t next_sequence_ = 0;
  std::string error_origin_;
};

}  // namespace sift::siftctl

#endif  // SIFT_TOOLS_SIFTCTL_INPUT_FILES_H_
