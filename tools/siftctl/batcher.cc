#include "tools/siftctl/batcher.h"

#include <utility>

#include "google/protobuf/io/coded_stream.h"

namespace sift::siftctl {

Batcher::Batcher(size_t max_documents, size_t max_bytes)
    : max_documents_(max_documents), max_bytes_(max_bytes) {}

size_t Batcher::EncodedSize(const v1::DocumentInput& input) {
  const size_t size = input.ByteSizeLong();
  // One byte of tag (field 1, length-delimited) plus the varint length.
  return 1 +
         google::protobuf::io::CodedOutputStream::VarintSize64(
             static_cast<uint64_t>(size)) +
         size;
}

std::optional<Batch> Batcher::Add(SourceDocument document) {
  const size_t size = EncodedSize(document.input);
  std::optional<Batch> closed;
  if (current_.size() > 0 && (current_.size() + 1 > max_documents_ ||
                              current_.bytes + size > max_bytes_)) {
    closed = std::move(current_);
    current_ = Batch();
  }
  *current_.request.add_documents() = std::move(document.input);
  current_.origins.push_back(std::move(document.origin));
  current_.sequences.push_back(document.sequence);
  current_.bytes += size;
  return closed;
}

std::optional<Batch> Batcher::Finish() {
  if (current_.size() == 0) return std::nullopt;
  Batch closed = std::move(current_);
  current_ = Batch();
  return closed;
}

}  // namespace sift::siftctl
