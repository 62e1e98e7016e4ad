#include "services/storage/segment/postings.h"

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/codec/block_codec.h"
#include "common/codec/varint.h"
#include "gtest/gtest.h"
#include "services/storage/segment/values.h"

namespace sift::storage::segment {
namespace {

struct Posting {
  uint32_t doc;
  uint32_t tf_title;
  uint32_t tf_body;
  uint32_t title_length;
  uint32_t body_length;
  std::vector<uint32_t> title_positions;
  std::vector<uint32_t> body_positions;
};

std::vector<Posting> RandomPostings(size_t n, uint32_t seed,
                                    uint32_t max_gap = 50) {
  std::mt19937 rng(seed);
  std::vector<Posting> out;
  uint32_t doc = rng() % 10;
  for (size_t i = 0; i < n; ++i) {
    Posting p;
    p.doc = doc;
    doc += 1 + rng() % max_gap;
    p.tf_title = rng() % 3 == 0 ? 1 + rng() % 2 : 0;
    p.tf_body = p.tf_title == 0 || rng() % 2 ? 1 + rng() % 40 : 0;
    if (rng() % 50 == 0) p.tf_body = 1000 + rng() % 5000;  // an outlier
    p.title_length = p.tf_title + rng() % 10;
    p.body_length = p.tf_body + rng() % 500;
    uint32_t pos = 0;
    for (uint32_t k = 0; k < p.tf_title; ++k) {
      pos += 1 + rng() % 3;
      p.title_positions.push_back(pos);
    }
    pos = rng() % 4;
    for (uint32_t k = 0; k < p.tf_body; ++k) {
      p.body_positions.push_back(pos);
      pos += 1 + rng() % 20;
    }
    out.push_back(std::move(p));
  }
  return out;
}

// The key rest a test term's positions go under (chunk 0).
constexpr char kTerm[] = "t";

// `positions` receives the chunks of positions, keyed kTerm (+ suffix).
void Encode(const std::vector<Posting>& postings, PostingsKind kind,
            std::string* value, SegmentValues* positions) {
  PostingsWriter writer(kind);
  writer.SetPositionsOut(positions, "", kTerm);
  for (const Posting& p : postings) {
    writer.Add(p.doc, p.tf_title, p.tf_body, p.title_length, p.body_length,
               p.title_positions, p.body_positions);
  }
  ASSERT_TRUE(writer.Finish(value).ok());
}

// Readies `reader` on chunks Encode wrote, which must outlive it.
absl::Status OpenPositions(const SegmentValues& chunks,
                           PositionsReader* reader) {
  std::optional<absl::string_view> first = chunks.Find(kTerm);
  if (!first) return absl::NotFoundError("no chunk 0");
  return reader->Init(
      *first, [&chunks](uint32_t chunk) -> absl::StatusOr<absl::string_view> {
        std::optional<absl::string_view> value =
            chunks.Find(absl::StrCat(kTerm, PositionsChunkSuffix(chunk)));
        if (!value) return absl::NotFoundError("no such chunk");
        return *value;
      });
}

class PostingsRoundTripTest : public ::testing::TestWithParam<size_t> {};

// Every partial-block size and several blocks: what goes in comes out,
// positions included, and the header counts the fields.
TEST_P(PostingsRoundTripTest, TextPostingsDecodeToWhatWasWritten) {
  const std::vector<Posting> postings = RandomPostings(GetParam(), 17);
  std::string value;
  SegmentValues positions_value;
  Encode(postings, PostingsKind::kText, &value, &positions_value);

  PostingCursor cursor;
  ASSERT_TRUE(cursor.Init(value).ok());
  EXPECT_EQ(cursor.header().df, postings.size());
  EXPECT_EQ(cursor.header().df_title,
            std::count_if(postings.begin(), postings.end(),
                          [](const Posting& p) { return p.tf_title > 0; }));
  EXPECT_EQ(cursor.header().df_body,
            std::count_if(postings.begin(), postings.end(),
                          [](const Posting& p) { return p.tf_body > 0; }));
  PositionsReader positions;
  ASSERT_TRUE(OpenPositions(positions_value, &positions).ok());
  std::vector<uint32_t> title, body;
  for (const Posting& p : postings) {
    cursor.Next();
    ASSERT_EQ(cursor.doc(), p.doc);
    EXPECT_EQ(cursor.tf_title(), p.tf_title);
    EXPECT_EQ(cursor.tf_body(), p.tf_body);
    ASSERT_TRUE(positions
                    .Read(cursor.block_index(), cursor.index_in_block(),
                          cursor.block_tf_title(), cursor.block_tf_body(),
                          &title, &body)
                    .ok());
    EXPECT_EQ(title, p.title_positions);
    EXPECT_EQ(body, p.body_positions);
  }
  cursor.Next();
  EXPECT_EQ(cursor.doc(), kNoMoreDocs);
  EXPECT_TRUE(cursor.status().ok());
}

// Reading a few postings of a block skips the positions of the others
// (phrases and the proximity bonus read positions that way): positions of
// one to three varint bytes, read for every fifth posting only, come out
// as written.
TEST_P(PostingsRoundTripTest, SparseReadsSkipOtherPostingsPositions) {
  std::vector<Posting> postings = RandomPostings(GetParam(), 29);
  std::mt19937 rng(31);
  for (Posting& p : postings) {
    uint32_t pos = rng() % 4;
    for (uint32_t& position : p.body_positions) {
      position = pos;
      // Gaps from 1 to 20,000: one-, two- and three-byte varints.
      pos += 1 + (rng() % 3 == 0 ? rng() % 20000 : rng() % 100);
    }
  }
  std::string value;
  SegmentValues positions_value;
  Encode(postings, PostingsKind::kText, &value, &positions_value);
  PostingCursor cursor;
  ASSERT_TRUE(cursor.Init(value).ok());
  PositionsReader positions;
  ASSERT_TRUE(OpenPositions(positions_value, &positions).ok());
  std::vector<uint32_t> title, body;
  for (size_t i = 3; i < postings.size(); i += 5) {
    cursor.SeekTo(postings[i].doc);
    ASSERT_EQ(cursor.doc(), postings[i].doc);
    ASSERT_TRUE(positions
                    .Read(cursor.block_index(), cursor.index_in_block(),
                          cursor.block_tf_title(), cursor.block_tf_body(),
                          &title, &body)
                    .ok());
    EXPECT_EQ(title, postings[i].title_positions) << i;
    EXPECT_EQ(body, postings[i].body_positions) << i;
  }
  EXPECT_TRUE(cursor.status().ok());
}

TEST_P(PostingsRoundTripTest, KeywordPostingsKeepDocsOnly) {
  const std::vector<Posting> postings = RandomPostings(GetParam(), 5, 3);
  std::string value;
  SegmentValues positions_value;
  Encode(postings, PostingsKind::kKeyword, &value, &positions_value);
  EXPECT_TRUE(positions_value.empty());
  PostingCursor cursor;
  ASSERT_TRUE(cursor.Init(value).ok());
  EXPECT_EQ(cursor.header().kind, PostingsKind::kKeyword);
  for (const Posting& p : postings) {
    cursor.Next();
    ASSERT_EQ(cursor.doc(), p.doc);
  }
  cursor.Next();
  EXPECT_EQ(cursor.doc(), kNoMoreDocs);
}

INSTANTIATE_TEST_SUITE_P(Sizes, PostingsRoundTripTest,
                         ::testing::Values(1, 2, 127, 128, 129, 256, 1000, 5000,
                                           8192, 8193, 20000));

// SeekTo lands on the first posting at or after the target, from any
// position, skipping whole blocks.
TEST(PostingCursorTest, SeekToFindsTheFirstPostingAtOrAfterTheTarget) {
  const std::vector<Posting> postings = RandomPostings(3000, 3);
  std::string value;
  SegmentValues positions;
  Encode(postings, PostingsKind::kText, &value, &positions);
  std::vector<uint32_t> docs;
  for (const Posting& p : postings) docs.push_back(p.doc);
  std::mt19937 rng(99);
  for (int trial = 0; trial < 50; ++trial) {
    PostingCursor cursor;
    ASSERT_TRUE(cursor.Init(value).ok());
    uint32_t target = 0;
    while (true) {
      target += rng() % (trial % 2 ? 3000 : 80);
      cursor.SeekTo(target);
      auto it = std::lower_bound(docs.begin(), docs.end(), target);
      if (it == docs.end()) {
        EXPECT_EQ(cursor.doc(), kNoMoreDocs);
        break;
      }
      ASSERT_EQ(cursor.doc(), *it) << "target " << target;
      const size_t i = it - docs.begin();
      EXPECT_EQ(cursor.tf_body(), postings[i].tf_body);
      target = cursor.doc();
    }
  }
}

// Whether one of `impacts` bounds posting `p`.
bool SomeImpactBounds(const Impacts& impacts, const Posting& p) {
  Impact posting;
  posting.Add(p.tf_title, p.tf_body, p.title_length, p.body_length);
  return std::any_of(impacts.begin(), impacts.end(),
                     [&](const Impact& i) { return i.Dominates(posting); });
}

// A block's impacts bound every posting in it, and the term's impacts
// every posting of the term: that is what makes skipping a block safe.
TEST(PostingCursorTest, BlockImpactsBoundEveryPostingOfTheirBlock) {
  const std::vector<Posting> postings = RandomPostings(2000, 8);
  std::string value;
  SegmentValues positions;
  Encode(postings, PostingsKind::kText, &value, &positions);
  PostingCursor shallow;
  ASSERT_TRUE(shallow.Init(value).ok());
  const Impacts total = shallow.header().impacts;
  EXPECT_GE(total.count, 1u);
  EXPECT_LE(total.count, kTermImpacts);
  for (const Posting& p : postings) {
    ASSERT_TRUE(shallow.ShallowSeek(p.doc));
    EXPECT_GE(shallow.shallow_last_doc(), p.doc);
    const Impacts& impacts = shallow.shallow_impacts();
    EXPECT_GE(impacts.count, 1u);
    EXPECT_LE(impacts.count, kBlockImpacts);
    EXPECT_TRUE(SomeImpactBounds(impacts, p)) << "doc " << p.doc;
    EXPECT_TRUE(SomeImpactBounds(total, p)) << "doc " << p.doc;
  }
  EXPECT_FALSE(shallow.ShallowSeek(postings.back().doc + 1));
  EXPECT_TRUE(shallow.status().ok());
}

// The point of several impacts: a posting with a high frequency in a long
// body and one with a single occurrence in a short body are not bounded by
// one impact pairing the high frequency with the short length.
TEST(ImpactFrontierTest, KeepsAHighFrequencyApartFromAShortField) {
  ImpactFrontier frontier;
  Impact frequent, short_field, dominated;
  frequent.Add(0, 40, 0, 2000);
  short_field.Add(0, 1, 0, 20);
  dominated.Add(0, 1, 0, 900);  // fewer occurrences, longer than `frequent`
  frontier.Add(frequent);
  frontier.Add(short_field);
  frontier.Add(dominated);
  const Impacts impacts = frontier.Reduce(4, 10.0, 300.0);
  ASSERT_EQ(impacts.count, 2u);
  for (const Impact& impact : impacts) {
    EXPECT_FALSE(impact.max_tf_body == 40 && impact.min_body_length == 20);
  }
  // Reduced to one, it is the single impact over all of them.
  const Impacts one = frontier.Reduce(1, 10.0, 300.0);
  ASSERT_EQ(one.count, 1u);
  EXPECT_EQ(one.entries[0].max_tf_body, 40u);
  EXPECT_EQ(one.entries[0].min_body_length, 20u);
}

// However many distinct postings a frontier holds, a reduction keeps at
// most the limit and still bounds each of them.
TEST(ImpactFrontierTest, AReductionBoundsEveryPostingWithinTheLimit) {
  std::mt19937 rng(5);
  for (int round = 0; round < 20; ++round) {
    ImpactFrontier frontier;
    std::vector<Posting> added;
    // Frequencies rising with length make every posting a frontier point.
    const int n = 1 + static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) {
      Posting p{};
      p.tf_title = rng() % 3;
      p.tf_body = p.tf_title == 0 ? 1 + i : static_cast<uint32_t>(rng() % 4);
      p.title_length = p.tf_title + rng() % 12;
      p.body_length = p.tf_body + 10 * i + rng() % 10;
      Impact impact;
      impact.Add(p.tf_title, p.tf_body, p.title_length, p.body_length);
      frontier.Add(impact);
      added.push_back(p);
    }
    for (uint32_t limit : {1u, 2u, 4u, 8u}) {
      const Impacts impacts = frontier.Reduce(limit, 8.0, 300.0);
      EXPECT_GE(impacts.count, 1u);
      EXPECT_LE(impacts.count, limit);
      for (const Posting& p : added) {
        EXPECT_TRUE(SomeImpactBounds(impacts, p))
            << "round " << round << " limit " << limit;
      }
    }
  }
}

// Text postings of the earlier format, one impact per block inline (kind
// byte 1), as segments written before impact lists hold them: encoded here
// by hand, byte for byte as that version did.
void EncodeSingleImpactFormat(const std::vector<Posting>& postings,
                              std::string* value) {
  auto put_impact = [](std::string* out, const Impact& impact) {
    codec::PutVarint32(out, impact.max_tf_title);
    if (impact.max_tf_title > 0) {
      codec::PutVarint32(out, impact.min_title_length);
    }
    codec::PutVarint32(out, impact.max_tf_body);
    if (impact.max_tf_body > 0) codec::PutVarint32(out, impact.min_body_length);
  };
  std::string skips, blocks;
  Impact total;
  uint32_t df_title = 0, df_body = 0, num_blocks = 0, base = 0;
  for (size_t start = 0; start < postings.size(); start += codec::kBlockSize) {
    const size_t end = std::min(postings.size(), start + codec::kBlockSize);
    std::vector<uint32_t> docs, tf_title, tf_body;
    Impact impact;
    for (size_t i = start; i < end; ++i) {
      const Posting& p = postings[i];
      docs.push_back(p.doc);
      tf_title.push_back(p.tf_title + 1);
      tf_body.push_back(p.tf_body + 1);
      df_title += p.tf_title > 0;
      df_body += p.tf_body > 0;
      impact.Add(p.tf_title, p.tf_body, p.title_length, p.body_length);
    }
    const size_t before = blocks.size();
    ASSERT_TRUE(codec::EncodeDocBlock(base, docs, &blocks).ok());
    ASSERT_TRUE(codec::EncodeFreqBlock(tf_body, &blocks).ok());
    ASSERT_TRUE(codec::EncodeFreqBlock(tf_title, &blocks).ok());
    codec::PutVarint32(&skips, docs.back() - base);
    codec::PutVarint32(&skips, static_cast<uint32_t>(blocks.size() - before));
    put_impact(&skips, impact);
    total.Merge(impact);
    base = docs.back() + 1;
    ++num_blocks;
  }
  value->assign(1, static_cast<char>(PostingsKind::kText));
  codec::PutVarint32(value, static_cast<uint32_t>(postings.size()));
  codec::PutVarint32(value, df_title);
  codec::PutVarint32(value, df_body);
  put_impact(value, total);
  codec::PutVarint32(value, num_blocks);
  codec::PutVarint32(value, static_cast<uint32_t>(skips.size()));
  value->append(skips);
  value->append(blocks);
}

// A shard upgraded in place keeps answering from the segments it has.
TEST(PostingCursorTest, ReadsPostingsOfTheSingleImpactFormat) {
  const std::vector<Posting> postings = RandomPostings(700, 12);
  std::string value;
  EncodeSingleImpactFormat(postings, &value);
  PostingCursor cursor;
  ASSERT_TRUE(cursor.Init(value).ok());
  EXPECT_EQ(cursor.header().df, postings.size());
  EXPECT_EQ(cursor.header().impacts.count, 1u);
  PostingCursor shallow;
  ASSERT_TRUE(shallow.Init(value).ok());
  for (const Posting& p : postings) {
    cursor.Next();
    ASSERT_EQ(cursor.doc(), p.doc);
    EXPECT_EQ(cursor.tf_title(), p.tf_title);
    EXPECT_EQ(cursor.tf_body(), p.tf_body);
    ASSERT_TRUE(shallow.ShallowSeek(p.doc));
    EXPECT_EQ(shallow.shallow_impacts().count, 1u);
    EXPECT_TRUE(SomeImpactBounds(shallow.shallow_impacts(), p));
    EXPECT_TRUE(SomeImpactBounds(cursor.header().impacts, p));
  }
  cursor.Next();
  EXPECT_EQ(cursor.doc(), kNoMoreDocs);
  EXPECT_TRUE(cursor.status().ok());
}

// An impact list cut short fails the cursor with DATA_LOSS when read.
TEST(PostingCursorTest, CorruptBlockImpactsFailTheCursor) {
  const std::vector<Posting> postings = RandomPostings(300, 3);
  std::string value;
  SegmentValues positions;
  Encode(postings, PostingsKind::kText, &value, &positions);
  PostingCursor cursor;
  ASSERT_TRUE(cursor.Init(value).ok());
  ASSERT_TRUE(cursor.ShallowSeek(0));
  ASSERT_GE(cursor.shallow_impacts().count, 1u);
  // Byte 3 (kind 3) values put the first skip entry right after the
  // header; find it by decoding the header's pieces.
  absl::string_view in(value);
  in.remove_prefix(1);
  uint32_t v = 0, length = 0;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(codec::GetVarint32(&in, &v));
  ASSERT_TRUE(codec::GetVarint32(&in, &length));  // term impacts' bytes
  in.remove_prefix(length);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(codec::GetVarint32(&in, &v));
  // The first skip entry: last_doc delta, block bytes, impact bytes.
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(codec::GetVarint32(&in, &v));
  ASSERT_TRUE(codec::GetVarint32(&in, &length));
  ASSERT_GE(length, 1u);
  // Varints that never end inside the list.
  std::string corrupt = value;
  const size_t first = in.data() - value.data();
  for (size_t i = 0; i < length; ++i) corrupt[first + i] = '\x80';
  PostingCursor bad;
  ASSERT_TRUE(bad.Init(corrupt).ok());
  ASSERT_TRUE(bad.ShallowSeek(0));
  EXPECT_EQ(bad.shallow_impacts().count, 0u);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(bad.doc(), kNoMoreDocs);
}

// A merge copies each posting's positions as bytes; the result must be
// exactly what encoding the positions again would give.
TEST(PostingsWriterTest, CopyingEncodedPositionsEqualsReencoding) {
  const std::vector<Posting> postings = RandomPostings(10000, 21);
  std::string value;
  SegmentValues positions_value;
  Encode(postings, PostingsKind::kText, &value, &positions_value);
  PostingCursor cursor;
  ASSERT_TRUE(cursor.Init(value).ok());
  PositionsReader positions;
  ASSERT_TRUE(OpenPositions(positions_value, &positions).ok());
  PostingsWriter copy(PostingsKind::kText);
  SegmentValues copied_positions;
  copy.SetPositionsOut(&copied_positions, "", kTerm);
  for (const Posting& p : postings) {
    cursor.Next();
    absl::string_view encoded;
    ASSERT_TRUE(positions
                    .ReadRaw(cursor.block_index(), cursor.index_in_block(),
                             cursor.block_tf_title(), cursor.block_tf_body(),
                             &encoded)
                    .ok());
    copy.AddEncoded(p.doc, p.tf_title, p.tf_body, p.title_length, p.body_length,
                    encoded);
  }
  std::string copied_value;
  ASSERT_TRUE(copy.Finish(&copied_value).ok());
  EXPECT_EQ(copied_value, value);
  std::string copied_bytes, original_bytes;
  copied_positions.SerializeTo(&copied_bytes);
  positions_value.SerializeTo(&original_bytes);
  EXPECT_EQ(copied_bytes, original_bytes);
}

// A term's positions go out in chunks of kPositionBlocksPerChunk blocks,
// each under its own key in key order, so that neither a merge nor a
// query ever holds a common word's positions whole; a reader crosses from
// chunk to chunk, also past chunks it has no posting to read in.
TEST(PostingsWriterTest, PositionsGoOutInChunksOfBoundedBlocks) {
  const uint32_t per_chunk = kPositionBlocksPerChunk * codec::kBlockSize;
  const std::vector<Posting> postings = RandomPostings(2 * per_chunk + 5, 8);
  std::string value;
  SegmentValues chunks;
  Encode(postings, PostingsKind::kText, &value, &chunks);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_TRUE(chunks.Sorted());
  EXPECT_EQ(chunks.key(0), kTerm);
  EXPECT_EQ(chunks.key(1), absl::StrCat(kTerm, PositionsChunkSuffix(1)));
  EXPECT_EQ(chunks.key(2), absl::StrCat(kTerm, PositionsChunkSuffix(2)));
  // A longer term sorts after every chunk of this one.
  EXPECT_LT(chunks.key(2), absl::StrCat(kTerm, "a"));
  for (size_t c = 0; c < chunks.size(); ++c) {
    absl::string_view chunk = chunks.value(c);
    uint32_t blocks = 0;
    ASSERT_TRUE(codec::GetVarint32(&chunk, &blocks));
    EXPECT_EQ(blocks, c < 2 ? kPositionBlocksPerChunk : 1u) << c;
  }

  // Postings of the first and the last chunk only.
  PostingCursor cursor;
  ASSERT_TRUE(cursor.Init(value).ok());
  PositionsReader positions;
  ASSERT_TRUE(OpenPositions(chunks, &positions).ok());
  std::vector<uint32_t> title, body;
  for (size_t i :
       {size_t{3}, size_t{per_chunk - 1}, size_t{2 * per_chunk + 4}}) {
    cursor.SeekTo(postings[i].doc);
    ASSERT_EQ(cursor.doc(), postings[i].doc);
    ASSERT_TRUE(positions
                    .Read(cursor.block_index(), cursor.index_in_block(),
                          cursor.block_tf_title(), cursor.block_tf_body(),
                          &title, &body)
                    .ok())
        << i;
    EXPECT_EQ(title, postings[i].title_positions) << i;
    EXPECT_EQ(body, postings[i].body_positions) << i;
  }
}

// Segments of earlier versions hold a term's positions in one value; a
// reader given one with more blocks than a chunk reads every block from
// it, without a loader.
TEST(PositionsReaderTest, ReadsTheWholeValueOfEarlierVersions) {
  const std::vector<Posting> postings = RandomPostings(3 * 8192 + 100, 9);
  std::string value;
  SegmentValues chunks;
  Encode(postings, PostingsKind::kText, &value, &chunks);
  // The value as earlier versions wrote it: every chunk's block table,
  // then every chunk's blocks.
  uint32_t all_blocks = 0;
  std::string table, blocks;
  for (size_t c = 0; c < chunks.size(); ++c) {
    absl::string_view chunk = chunks.value(c);
    uint32_t n = 0, table_bytes = 0;
    ASSERT_TRUE(codec::GetVarint32(&chunk, &n));
    ASSERT_TRUE(codec::GetVarint32(&chunk, &table_bytes));
    all_blocks += n;
    absl::StrAppend(&table, chunk.substr(0, table_bytes));
    absl::StrAppend(&blocks, chunk.substr(table_bytes));
  }
  std::string whole;
  codec::PutVarint32(&whole, all_blocks);
  codec::PutVarint32(&whole, static_cast<uint32_t>(table.size()));
  whole += table;
  whole += blocks;

  PostingCursor cursor;
  ASSERT_TRUE(cursor.Init(value).ok());
  PositionsReader positions;
  ASSERT_TRUE(positions.Init(whole).ok());
  std::vector<uint32_t> title, body;
  for (size_t i = 0; i < postings.size(); i += 97) {
    cursor.SeekTo(postings[i].doc);
    ASSERT_TRUE(positions
                    .Read(cursor.block_index(), cursor.index_in_block(),
                          cursor.block_tf_title(), cursor.block_tf_body(),
                          &title, &body)
                    .ok())
        << i;
    EXPECT_EQ(body, postings[i].body_positions) << i;
  }
}

// A chunk that is missing is corruption, not an empty list.
TEST(PositionsReaderTest, AMissingChunkIsDataLoss) {
  const std::vector<Posting> postings = RandomPostings(9000, 10);
  std::string value;
  SegmentValues chunks;
  Encode(postings, PostingsKind::kText, &value, &chunks);
  ASSERT_EQ(chunks.size(), 2u);
  PositionsReader positions;
  ASSERT_TRUE(positions.Init(chunks.value(0)).ok());  // no loader
  PostingCursor cursor;
  ASSERT_TRUE(cursor.Init(value).ok());
  cursor.SeekTo(postings.back().doc);
  std::vector<uint32_t> title, body;
  EXPECT_EQ(
      positions
          .Read(cursor.block_index(), cursor.index_in_block(),
                cursor.block_tf_title(), cursor.block_tf_body(), &title, &body)
          .code(),
      absl::StatusCode::kDataLoss);
}

// The positions sink's errors come back from Finish.
TEST(PostingsWriterTest, APositionsSinkErrorFailsFinish) {
  class FailingSink final : public ValueSink {
   public:
    absl::Status Add(absl::string_view, absl::string_view,
                     absl::string_view) override {
      return absl::ResourceExhaustedError("disk full");
    }
  };
  FailingSink sink;
  PostingsWriter writer(PostingsKind::kText);
  writer.SetPositionsOut(&sink, "", kTerm);
  for (const Posting& p : RandomPostings(300, 11)) {
    writer.Add(p.doc, p.tf_title, p.tf_body, p.title_length, p.body_length,
               p.title_positions, p.body_positions);
  }
  std::string value;
  EXPECT_EQ(writer.Finish(&value).code(), absl::StatusCode::kResourceExhausted);
}

// Compression matters for index size: frequent small gaps cost about a
// byte per posting, frequencies included.
TEST(PostingsWriterTest, DensePostingsTakeAboutABytePerPosting) {
  std::vector<Posting> postings = RandomPostings(12800, 4, 4);
  for (Posting& p : postings) {
    p.tf_title = 0;
    p.tf_body = 1;
    p.title_positions.clear();
    p.body_positions = {3};
  }
  std::string value;
  SegmentValues positions;
  Encode(postings, PostingsKind::kText, &value, &positions);
  EXPECT_LT(value.size(), 12800u * 1.2);
}

// Whatever the bytes, a cursor ends (with DATA_LOSS when they are
// corrupt) and never returns decreasing documents.
TEST(PostingCursorTest, CorruptBytesEndTheCursorWithDataLoss) {
  const std::vector<Posting> postings = RandomPostings(700, 12);
  std::string value;
  SegmentValues positions_value;
  Encode(postings, PostingsKind::kText, &value, &positions_value);
  std::mt19937 rng(1);
  int data_loss = 0;
  for (int trial = 0; trial < 600; ++trial) {
    std::string bad = value;
    if (trial % 3 == 0) {
      bad.resize(rng() % bad.size());
    } else {
      for (int flips = 1 + trial % 4; flips > 0; --flips) {
        bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
      }
    }
    PostingCursor cursor;
    if (!cursor.Init(bad).ok()) {
      ++data_loss;
      continue;
    }
    PositionsReader positions;
    ASSERT_TRUE(OpenPositions(positions_value, &positions).ok());
    std::vector<uint32_t> title, body;
    uint32_t previous = 0;
    bool first = true;
    for (int steps = 0; steps < 5000; ++steps) {
      if (steps % 7 == 3) {
        cursor.SeekTo(cursor.doc() + 100);
      } else {
        cursor.Next();
      }
      if (cursor.doc() == kNoMoreDocs) break;
      ASSERT_TRUE(first || cursor.doc() > previous);
      first = false;
      previous = cursor.doc();
      cursor.tf_title();
      positions
          .Read(cursor.block_index(), cursor.index_in_block(),
                cursor.block_tf_title(), cursor.block_tf_body(), &title, &body)
          .IgnoreError();
    }
    EXPECT_EQ(cursor.doc(), kNoMoreDocs);
    if (!cursor.status().ok()) {
      EXPECT_EQ(cursor.status().code(), absl::StatusCode::kDataLoss);
      ++data_loss;
    }
  }
  EXPECT_GT(data_loss, 30);
}

}  // namespace
}  // namespace sift::storage::segment
