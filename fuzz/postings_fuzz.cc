// libFuzzer target for segment postings and positions values: whatever the
// bytes, a cursor moves forward only, ends at kNoMoreDocs, never reads
// outside its input and fails only with DATA_LOSS; postings built from the
// input round-trip exactly.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "services/storage/segment/postings.h"

namespace {

using sift::storage::segment::kNoMoreDocs;
using sift::storage::segment::PositionsReader;
using sift::storage::segment::PostingCursor;
using sift::storage::segment::PostingsKind;
using sift::storage::segment::PostingsWriter;

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

// Walks arbitrary bytes as a postings value (and, for the positions, the
// same bytes shifted), mixing Next, SeekTo and ShallowSeek.
void WalkArbitrary(absl::string_view bytes) {
  // Each value sits in its own buffer of exactly its size, so that the
  // sanitizer catches any overrun.
  const std::string value(bytes);
  PostingCursor cursor;
  if (!cursor.Init(value).ok()) {
    Check(cursor.status().code() == absl::StatusCode::kDataLoss);
    return;
  }
  const std::string positions_value(bytes.substr(bytes.size() / 2));
  PositionsReader positions;
  const bool have_positions = positions.Init(positions_value).ok();
  std::vector<uint32_t> title, body;
  uint32_t previous = 0;
  bool first = true;
  for (int step = 0; step < 100000; ++step) {
    const uint32_t doc = cursor.doc();
    switch (step % 5) {
      case 3:
        cursor.SeekTo(doc == kNoMoreDocs ? doc : doc + 1 + step % 300);
        break;
      case 4:
        cursor.ShallowSeek(doc == kNoMoreDocs ? doc : doc + 1000);
        cursor.Next();
        break;
      default:
        cursor.Next();
    }
    if (cursor.doc() == kNoMoreDocs) break;
    Check(first || cursor.doc() > previous);
    first = false;
    previous = cursor.doc();
    if (cursor.header().kind == PostingsKind::kText) {
      cursor.tf_title();
      cursor.tf_body();
      if (have_positions) {
        positions
            .Read(cursor.block_index(), cursor.index_in_block(),
                  cursor.block_tf_title(), cursor.block_tf_body(), &title,
                  &body)
            .IgnoreError();
      }
    }
  }
  Check(cursor.status().ok() ||
        cursor.status().code() == absl::StatusCode::kDataLoss);
}

// Builds postings from the bytes and checks they decode to the same.
void RoundTrip(absl::string_view bytes) {
  struct Posting {
    uint32_t doc, tf_title, tf_body;
  };
  std::vector<Posting> postings;
  uint32_t doc = 0;
  for (size_t i = 0; i + 2 < bytes.size() && doc < (1u << 30); i += 3) {
    doc += 1 + static_cast<uint8_t>(bytes[i]) * 37;
    const uint32_t tf_title = static_cast<uint8_t>(bytes[i + 1]) % 4;
    uint32_t tf_body = static_cast<uint8_t>(bytes[i + 2]);
    if (tf_title + tf_body == 0) tf_body = 1;
    postings.push_back({doc, tf_title, tf_body});
  }
  if (postings.empty()) return;
  PostingsWriter writer(PostingsKind::kText);
  std::vector<uint32_t> title_positions, body_positions;
  for (const Posting& p : postings) {
    title_positions.clear();
    body_positions.clear();
    for (uint32_t k = 0; k < p.tf_title; ++k) title_positions.push_back(k * 2);
    for (uint32_t k = 0; k < p.tf_body; ++k) body_positions.push_back(k + 3);
    writer.Add(p.doc, p.tf_title, p.tf_body, p.tf_title + 5, p.tf_body + 9,
               title_positions, body_positions);
  }
  std::string value, positions_value;
  Check(writer.Finish(&value, &positions_value).ok());
  PostingCursor cursor;
  Check(cursor.Init(value).ok());
  PositionsReader positions;
  Check(positions.Init(positions_value).ok());
  std::vector<uint32_t> title, body;
  for (const Posting& p : postings) {
    cursor.Next();
    Check(cursor.doc() == p.doc);
    Check(cursor.tf_title() == p.tf_title && cursor.tf_body() == p.tf_body);
    Check(positions
              .Read(cursor.block_index(), cursor.index_in_block(),
                    cursor.block_tf_title(), cursor.block_tf_body(), &title,
                    &body)
              .ok());
    Check(title.size() == p.tf_title && body.size() == p.tf_body);
  }
  cursor.Next();
  Check(cursor.doc() == kNoMoreDocs && cursor.status().ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  WalkArbitrary(bytes);
  RoundTrip(bytes);
  return 0;
}
