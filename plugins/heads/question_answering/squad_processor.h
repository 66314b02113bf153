#pragma once
// squad: SQuAD 1.1/2.0 JSON files and FARM's {"qas": [...], "context": ...} dicts → one basket
// per question whose samples are the (question, context window) pairs of the context.
#include <graft/processor.h>
#include <graft/registrar.h>

#include <string>
#include <vector>

namespace graft::plugins::question_answering {

struct SquadOptions;

struct SquadProcessorOptions {
  DataFiles files;
  int64_t max_seq_len = 384;
  int64_t doc_stride = 128;
  int64_t max_query_length = 64;

  void visit(OptionVisitor& v);
  void check(Diagnostics& d) const;
};

class SquadProcessor : public Processor {
 public:
  SquadProcessor(const SquadProcessorOptions& options, const ProcessorContext& context);

  const DataFiles& files() const override { return options_.files; }
  std::vector<Basket> read(const std::string& path, std::vector<RecordProblem>& problems) const override;
  std::vector<Basket> from_dicts(const std::vector<Value>& dicts, std::vector<RecordProblem>& problems) const override;
  void featurize(Basket& basket, const Tokenizer& tokenizer) const override;
  Batch collate(const std::vector<const Sample*>& samples, const Tokenizer& tokenizer) const override;
  int64_t max_seq_len() const override { return options_.max_seq_len; }
  /// "answerable" / "no_answer" (statistics).
  std::string label_of(const Basket& basket) const override;

  std::string resolve(const std::string& path) const;
  std::string start_key() const { return task() + "/start_positions"; }
  std::string end_key() const { return task() + "/end_positions"; }
  /// Parses SQuAD JSON text (exposed for tests); `file` names the source in locations.
  std::vector<Basket> parse(const std::string& text, const std::string& file, std::vector<RecordProblem>& problems) const;

 private:
  SquadProcessorOptions options_;
  std::string base_dir_;
};

/// Byte offset of every code point of `s` plus s.size() at the end.
std::vector<int64_t> code_point_bytes(const std::string& s);
/// Number of code points in s[0, byte).
int64_t chars_before(const std::string& s, int64_t byte);

}  // namespace graft::plugins::question_answering
