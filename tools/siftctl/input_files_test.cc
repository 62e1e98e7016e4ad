#include "tools/siftctl/input_files.h"

#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::siftctl {
namespace {

namespace fs = std::filesystem;
using ::sift::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class InputFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (fs::temp_directory_path() / "siftctl_input_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& relative, const std::string& content) {
    const fs::path path = fs::path(dir_) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }

  std::string WriteGzip(const std::string& relative,
                        const std::string& content) {
    const fs::path path = fs::path(dir_) / relative;
    fs::create_directories(path.parent_path());
    gzFile file = gzopen(path.c_str(), "wb");
    EXPECT_NE(file, nullptr);
    EXPECT_EQ(
        gzwrite(file, content.data(), static_cast<unsigned>(content.size())),
        static_cast<int>(content.size()));
    EXPECT_EQ(gzclose(file), Z_OK);
    return path.string();
  }

  std::string dir_;
};

std::vector<std::string> Paths(const std::vector<InputFile>& files) {
  std::vector<std::string> out;
  for (const InputFile& f : files) out.push_back(f.path);
  return out;
}

TEST_F(InputFilesTest, WalksFoldersSortedSkippingHiddenAndBinaryFiles) {
  Write("corpus/b.jsonl", "{\"id\":\"b\"}\n");
  WriteGzip("corpus/a/c.jsonl.gz", "{\"id\":\"c\"}\n");
  Write("corpus/a/article.txt", "Title\n\nBody.\n");
  Write("corpus/notes.md", "# Notes\n");
  Write("corpus/.hidden.jsonl", "{\"id\":\"h\"}\n");
  Write("corpus/.git/config", "[core]\n");
  Write("corpus/image.png", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16));
  Write("corpus/empty.txt", "");

  SIFT_ASSERT_OK_AND_ASSIGN(Discovery d, DiscoverInputs({dir_ + "/corpus"}));
  const std::string root = dir_ + "/corpus/";
  EXPECT_THAT(Paths(d.files),
              ElementsAre(root + "a/article.txt", root + "a/c.jsonl.gz",
                          root + "b.jsonl", root + "notes.md"));
  EXPECT_EQ(d.files[0].kind, InputKind::kArticle);
  EXPECT_EQ(d.files[1].kind, InputKind::kJsonLines);
  EXPECT_EQ(d.files[2].kind, InputKind::kJsonLines);
  EXPECT_EQ(d.files[3].kind, InputKind::kArticle);
  // Inside a folder an article's id is its path relative to the folder.
  EXPECT_EQ(d.files[0].article_id, "a/article.txt");
  EXPECT_EQ(d.files[3].article_id, "notes.md");

  ASSERT_EQ(d.skipped.size(), 2u);
  EXPECT_EQ(d.skipped[0].path, root + "empty.txt");
  EXPECT_EQ(d.skipped[1].path, root + "image.png");
  EXPECT_THAT(d.skipped[1].reason, HasSubstr("binary"));
}

TEST_F(InputFilesTest, FileArgumentIsTakenAsGivenWithItsNameAsId) {
  const std::string path = Write("sub/.draft.txt", "Title\n");
  SIFT_ASSERT_OK_AND_ASSIGN(Discovery d, DiscoverInputs({path}));
  ASSERT_EQ(d.files.size(), 1u);
  EXPECT_EQ(d.files[0].path, path);
  EXPECT_EQ(d.files[0].article_id, ".draft.txt");
}

TEST_F(InputFilesTest, ArgumentsKeepTheirOrder) {
  const std::string z = Write("z.jsonl", "{}\n");
  const std::string a = Write("a.jsonl", "{}\n");
  SIFT_ASSERT_OK_AND_ASSIGN(Discovery d, DiscoverInputs({z, a}));
  EXPECT_THAT(Paths(d.files), ElementsAre(z, a));
}

TEST_F(InputFilesTest, CompressedFilesOtherThanJsonLinesAreSkipped) {
  const std::string path = WriteGzip("notes.txt.gz", "hello\n");
  SIFT_ASSERT_OK_AND_ASSIGN(Discovery d, DiscoverInputs({path}));
  EXPECT_TRUE(d.files.empty());
  ASSERT_EQ(d.skipped.size(), 1u);
  EXPECT_THAT(d.skipped[0].reason, HasSubstr("not JSON lines"));
}

TEST_F(InputFilesTest, MissingPathIsNotFound) {
  EXPECT_THAT(DiscoverInputs({dir_ + "/nope"}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope")));
}

TEST(InputNamesTest, JsonLinesExtensionsAreRecognised) {
  EXPECT_TRUE(IsJsonLinesName("a.jsonl"));
  EXPECT_TRUE(IsJsonLinesName("a.ndjson"));
  EXPECT_TRUE(IsJsonLinesName("a.json"));
  EXPECT_TRUE(IsJsonLinesName("dir/A.JSONL.GZ"));
  EXPECT_FALSE(IsJsonLinesName("a.txt"));
  EXPECT_FALSE(IsJsonLinesName("a.jsonl.bak"));
  EXPECT_FALSE(IsJsonLinesName("a.gz"));
}

TEST(InputNamesTest, NulByteInTheFirstEightKibMeansBinary) {
  EXPECT_FALSE(LooksBinary("plain text, caf\xC3\xA9"));
  EXPECT_TRUE(LooksBinary(std::string("ab\0cd", 5)));
  std::string late(kBinaryProbeBytes + 10, 'x');
  late[kBinaryProbeBytes + 1] = '\0';
  EXPECT_FALSE(LooksBinary(late));
}

std::vector<std::pair<int64_t, std::string>> ReadAllLines(
    const std::string& path) {
  std::vector<std::pair<int64_t, std::string>> lines;
  absl::StatusOr<std::unique_ptr<LineReader>> reader = LineReader::Open(path);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return lines;
  std::string line;
  while (true) {
    absl::StatusOr<bool> got = (*reader)->Next(&line);
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok() || !*got) break;
    lines.emplace_back((*reader)->line_number(), line);
  }
  return lines;
}

TEST_F(InputFilesTest, LineReaderReadsPlainAndGzipFilesAlike) {
  const std::string content = "first\r\nsecond\n\nfourth without newline";
  using Line = std::pair<int64_t, std::string>;
  const std::vector<Line> expected = {
      {1, "first"}, {2, "second"}, {3, ""}, {4, "fourth without newline"}};
  EXPECT_EQ(ReadAllLines(Write("plain.jsonl", content)), expected);
  EXPECT_EQ(ReadAllLines(WriteGzip("packed.jsonl.gz", content)), expected);
}

TEST_F(InputFilesTest, LineReaderHandlesLinesLongerThanItsBuffer) {
  const std::string big(600 << 10, 'x');
  const std::vector<std::pair<int64_t, std::string>> lines =
      ReadAllLines(WriteGzip("big.jsonl.gz", big + "\nshort\n" + big + "\n"));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].second, big);
  EXPECT_EQ(lines[1], std::make_pair(int64_t{2}, std::string("short")));
  EXPECT_EQ(lines[2].second, big);
}

TEST_F(InputFilesTest, TruncatedGzipIsDataLoss) {
  std::string content;
  for (int i = 0; i < 5000; ++i) {
    content += "{\"id\":\"" + std::to_string(i) + "\",\"body\":\"words\"}\n";
  }
  const std::string path = WriteGzip("cut.jsonl.gz", content);
  fs::resize_file(path, fs::file_size(path) / 2);
  SIFT_ASSERT_OK_AND_ASSIGN(std::unique_ptr<LineReader> reader,
                            LineReader::Open(path));
  std::string line;
  absl::StatusOr<bool> got = true;
  while (got.ok() && *got) got = reader->Next(&line);
  EXPECT_THAT(got,
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("cut.jsonl.gz")));
}

TEST_F(InputFilesTest, DocumentSourceReadsLinesAndArticlesWithOrigins) {
  const std::string jsonl = Write(
      "docs/a.jsonl", "\xEF\xBB\xBF{\"id\":\"1\"}\n   \n{\"id\":\"2\"}\r\n");
  const std::string gz = WriteGzip("docs/b.jsonl.gz", "\n{\"id\":\"3\"}\n");
  const std::string article =
      Write("docs/c/story.txt", "A title\nJune 1, 2021\n\nThe body.\n");
  SIFT_ASSERT_OK_AND_ASSIGN(Discovery d, DiscoverInputs({dir_ + "/docs"}));
  DocumentSource source(std::move(d.files));

  std::vector<SourceDocument> docs;
  SourceDocument doc;
  while (true) {
    SIFT_ASSERT_OK_AND_ASSIGN(bool more, source.Next(&doc));
    if (!more) break;
    docs.push_back(doc);
  }
  ASSERT_EQ(docs.size(), 4u);
  EXPECT_EQ(docs[0].input.json(), "{\"id\":\"1\"}");  // byte order mark gone
  EXPECT_EQ(docs[0].origin, jsonl + ":1");
  EXPECT_EQ(docs[1].input.json(), "{\"id\":\"2\"}");
  EXPECT_EQ(docs[1].origin, jsonl + ":3");
  EXPECT_EQ(docs[2].input.json(), "{\"id\":\"3\"}");
  EXPECT_EQ(docs[2].origin, gz + ":2");
  ASSERT_TRUE(docs[3].input.has_article());
  EXPECT_EQ(docs[3].input.article().id(), "c/story.txt");
  EXPECT_EQ(docs[3].input.article().text(),
            "A title\nJune 1, 2021\n\nThe body.\n");
  EXPECT_EQ(docs[3].origin, article);
  for (size_t i = 0; i < docs.size(); ++i) EXPECT_EQ(docs[i].sequence, i);
}

TEST_F(InputFilesTest, DocumentSourceGoesOnAfterAFileItCannotRead) {
  const std::string good = Write("good.jsonl", "{\"id\":\"ok\"}\n");
  std::vector<InputFile> files = {
      {dir_ + "/vanished.jsonl", InputKind::kJsonLines, ""},
      {good, InputKind::kJsonLines, ""}};
  DocumentSource source(std::move(files));
  SourceDocument doc;
  EXPECT_THAT(source.Next(&doc), StatusIs(absl::StatusCode::kNotFound,
                                          HasSubstr("vanished.jsonl")));
  EXPECT_EQ(source.error_origin(), dir_ + "/vanished.jsonl");
  SIFT_ASSERT_OK_AND_ASSIGN(bool more, source.Next(&doc));
  ASSERT_TRUE(more);
  EXPECT_EQ(doc.input.json(), "{\"id\":\"ok\"}");
  SIFT_ASSERT_OK_AND_ASSIGN(more, source.Next(&doc));
  EXPECT_FALSE(more);
}

TEST(Utf8Test, FindsTheFirstInvalidByte) {
  EXPECT_EQ(FindInvalidUtf8("plain ascii"), absl::string_view::npos);
  EXPECT_EQ(FindInvalidUtf8("caf\xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x98\x80"),
            absl::string_view::npos);
  EXPECT_EQ(FindInvalidUtf8("caf\xE9 latin-1"), 3u);
  EXPECT_EQ(FindInvalidUtf8("ab\xC0\xAF"), 2u);     // overlong '/'
  EXPECT_EQ(FindInvalidUtf8("x\xED\xA0\x80"), 1u);  // surrogate
  EXPECT_EQ(FindInvalidUtf8("cut \xE6\x97"), 4u);   // truncated
}

TEST_F(InputFilesTest, DocumentSourceSkipsInvalidUtf8DocumentsAlone) {
  const std::string jsonl = Write(
      "a.jsonl", "{\"id\":\"1\"}\n{\"id\":\"caf\xE9\"}\n{\"id\":\"3\"}\n");
  const std::string latin1 = Write("latin1.txt", "Caf\xE9 society\n");
  DocumentSource source({{jsonl, InputKind::kJsonLines, ""},
                         {latin1, InputKind::kArticle, "latin1.txt"}});
  SourceDocument doc;
  SIFT_ASSERT_OK_AND_ASSIGN(bool more, source.Next(&doc));
  ASSERT_TRUE(more);
  EXPECT_EQ(doc.origin, jsonl + ":1");
  EXPECT_THAT(source.Next(&doc),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not valid UTF-8 at byte 10")));
  EXPECT_EQ(source.error_origin(), jsonl + ":2");
  SIFT_ASSERT_OK_AND_ASSIGN(more, source.Next(&doc));
  ASSERT_TRUE(more);
  EXPECT_EQ(doc.origin, jsonl + ":3");
  EXPECT_THAT(source.Next(&doc),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("convert the file to UTF-8")));
  EXPECT_EQ(source.error_origin(), latin1);
  SIFT_ASSERT_OK_AND_ASSIGN(more, source.Next(&doc));
  EXPECT_FALSE(more);
}

}  // namespace
}  // namespace sift::siftctl
