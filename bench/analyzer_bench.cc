// Throughput of the text analyzer, and the costs behind its design choices:
// a break iterator kept per thread instead of one per call, and ICU reading
// UTF-8 directly instead of a UTF-16 copy.

#include <benchmark/benchmark.h>
#include <unicode/brkiter.h>
#include <unicode/locid.h>
#include <unicode/unistr.h>
#include <unicode/utext.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/analysis/analyzer.h"

namespace {

const std::string& Article() {
  static const std::string* text = [] {
    const std::string path =
        std::string(SIFT_SHARED_DIR) + "/samples/news-article.txt";
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return new std::string(buffer.str());
  }();
  return *text;
}

void BM_AnalyzeArticle(benchmark::State& state) {
  const std::string& text = Article();
  if (text.empty()) {
    state.SkipWithError("samples/news-article.txt not found");
    return;
  }
  const sift::analysis::Analyzer analyzer;
  size_t tokens = 0;
  for (auto _ : state) {
    auto result = analyzer.Analyze(text);
    if (!result.ok()) {
      state.SkipWithError(std::string(result.status().message()).c_str());
      return;
    }
    tokens = result->size();
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
  state.counters["tokens"] = benchmark::Counter(
      static_cast<double>(tokens), benchmark::Counter::kAvgThreads);
}
BENCHMARK(BM_AnalyzeArticle)->Threads(1)->Threads(2)->UseRealTime();

// Many distinct news articles (BBC News, 2,225 documents), so that per-word
// caches see a realistic vocabulary rather than one article over and over.
const std::vector<std::string>& BbcArticles() {
  static const std::vector<std::string>* docs = [] {
    auto* out = new std::vector<std::string>;
    std::ifstream in(std::string(SIFT_SHARED_DIR) +
                     "/corpora/bbc-news/docs.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      // The body is all we need, and only newlines and quotes are escaped
      // in practice; a rough unescape keeps the bench free of a JSON parser.
      const size_t at = line.find("\"body\": \"");
      if (at == std::string::npos) continue;
      std::string body;
      for (size_t i = at + 10; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] == '\\' && i + 1 < line.size()) {
          ++i;
          body.push_back(line[i] == 'n' ? '\n' : line[i]);
        } else {
          body.push_back(line[i]);
        }
      }
      out->push_back(std::move(body));
    }
    return out;
  }();
  return *docs;
}

void BM_AnalyzeBbcCorpus(benchmark::State& state) {
  const std::vector<std::string>& docs = BbcArticles();
  if (docs.empty()) {
    state.SkipWithError("corpora/bbc-news/docs.jsonl not found");
    return;
  }
  int64_t bytes = 0;
  for (const std::string& doc : docs) bytes += doc.size();
  const sift::analysis::Analyzer analyzer;
  for (auto _ : state) {
    for (const std::string& doc : docs) {
      auto result = analyzer.Analyze(doc);
      if (!result.ok()) {
        state.SkipWithError(std::string(result.status().message()).c_str());
        return;
      }
      benchmark::DoNotOptimize(result);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * bytes);
}
BENCHMARK(BM_AnalyzeBbcCorpus)->Unit(benchmark::kMillisecond);

void BM_AnalyzeChinese(benchmark::State& state) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "我们的人权事业取得了巨大成就。";
  const sift::analysis::Analyzer analyzer;
  for (auto _ : state) {
    auto result = analyzer.Analyze(text);
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_AnalyzeChinese);

// A typical query: what per-call overhead costs at query time.
void BM_AnalyzeQuery(benchmark::State& state) {
  const sift::analysis::Analyzer analyzer;
  for (auto _ : state) {
    auto result = analyzer.Analyze("human rights in China’s COVID-19 response");
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_AnalyzeQuery);

// What creating a break iterator per call would add to every Analyze.
void BM_CreateWordBreakIterator(benchmark::State& state) {
  for (auto _ : state) {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::BreakIterator> words(
        icu::BreakIterator::createWordInstance(icu::Locale::getRoot(), status));
    benchmark::DoNotOptimize(words);
  }
}
BENCHMARK(BM_CreateWordBreakIterator);

void BM_CloneWordBreakIterator(benchmark::State& state) {
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::BreakIterator> prototype(
      icu::BreakIterator::createWordInstance(icu::Locale::getRoot(), status));
  for (auto _ : state) {
    std::unique_ptr<icu::BreakIterator> words(prototype->clone());
    benchmark::DoNotOptimize(words);
  }
}
BENCHMARK(BM_CloneWordBreakIterator);

// Word segmentation alone, over UTF-8 read in place (what Analyze does)...
void BM_SegmentUtf8(benchmark::State& state) {
  const std::string& text = Article();
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::BreakIterator> words(
      icu::BreakIterator::createWordInstance(icu::Locale::getRoot(), status));
  for (auto _ : state) {
    UText utext = UTEXT_INITIALIZER;
    utext_openUTF8(&utext, text.data(), static_cast<int64_t>(text.size()),
                   &status);
    words->setText(&utext, status);
    utext_close(&utext);
    int32_t count = 0;
    for (int32_t end = words->next(); end != icu::BreakIterator::DONE;
         end = words->next()) {
      count += words->getRuleStatus() >= UBRK_WORD_NONE_LIMIT;
    }
    benchmark::DoNotOptimize(count);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_SegmentUtf8);

// ...and over a UTF-16 copy, which would also need its indexes mapped back.
void BM_SegmentUtf16Copy(benchmark::State& state) {
  const std::string& text = Article();
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::BreakIterator> words(
      icu::BreakIterator::createWordInstance(icu::Locale::getRoot(), status));
  for (auto _ : state) {
    const icu::UnicodeString utf16 = icu::UnicodeString::fromUTF8(text);
    words->setText(utf16);
    int32_t count = 0;
    for (int32_t end = words->next(); end != icu::BreakIterator::DONE;
         end = words->next()) {
      count += words->getRuleStatus() >= UBRK_WORD_NONE_LIMIT;
    }
    benchmark::DoNotOptimize(count);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_SegmentUtf16Copy);

}  // namespace
