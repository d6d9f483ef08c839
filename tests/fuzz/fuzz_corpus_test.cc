// Replays each fuzz target's saved corpus, and a fixed number of deterministic
// mutations of it (bit flips, truncations, splices), as an ordinary test: what the
// fuzzers found once stays fixed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "tests/fuzz/fuzz_target.h"

namespace cg::fuzz {
namespace {

namespace fs = std::filesystem;
using Target = int (*)(const uint8_t*, size_t);

std::vector<std::string> Corpus(const std::string& name) {
  std::vector<std::string> inputs;
  const fs::path dir = fs::path(CG_SOURCE_DIR) / "tests/fuzz/corpus" / name;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    inputs.push_back(buffer.str());
  }
  return inputs;
}

void Run(Target target, const std::string& input) {
  target(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

void ReplayAndMutate(Target target, const std::string& name, int mutations) {
  const auto corpus = Corpus(name);
  ASSERT_FALSE(corpus.empty()) << "no corpus for " << name;
  std::mt19937_64 rng(0x5eed);
  for (const auto& input : corpus) Run(target, input);
  for (int i = 0; i < mutations; ++i) {
    std::string input = corpus[rng() % corpus.size()];
    switch (rng() % 4) {
      case 0:  // flip bits
        for (int k = 0; k < 1 + static_cast<int>(rng() % 4) && !input.empty(); ++k) {
          input[rng() % input.size()] ^= static_cast<char>(1u << (rng() % 8));
        }
        break;
      case 1:  // truncate
        input.resize(input.empty() ? 0 : rng() % input.size());
        break;
      case 2: {  // splice two inputs
        const std::string& other = corpus[rng() % corpus.size()];
        input = input.substr(0, input.empty() ? 0 : rng() % input.size()) +
                other.substr(other.empty() ? 0 : rng() % other.size());
        break;
      }
      default:  // insert a random byte run
        input.insert(input.empty() ? 0 : rng() % input.size(),
                     std::string(1 + rng() % 16, static_cast<char>(rng())));
    }
    Run(target, input);
  }
}

TEST(FuzzCorpusTest, Envelope) { ReplayAndMutate(FuzzEnvelope, "envelope", 20000); }
TEST(FuzzCorpusTest, NodeConfig) { ReplayAndMutate(FuzzNodeConfig, "node_config", 5000); }
TEST(FuzzCorpusTest, Feed) { ReplayAndMutate(FuzzFeed, "feed", 3000); }
TEST(FuzzCorpusTest, RolloverChain) { ReplayAndMutate(FuzzRolloverChain, "rollover_chain", 5000); }

}  // namespace
}  // namespace cg::fuzz
