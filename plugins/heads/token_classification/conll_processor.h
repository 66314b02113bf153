#pragma once
// conll: CoNLL-style column files (one token per line, blank lines between sentences,
// -DOCSTART- lines, '#' comments) and GermEval 2014 TSV, encoded as pre-split words with a
// label on the first sub-token of every word; long sentences become several windows.
#include <graft/processor.h>
#include <graft/registrar.h>

#include <map>
#include <string>
#include <vector>

namespace graft::plugins::token_classification {

struct ConllOptions {
  DataFiles files;
  std::string format = "conll";  ///< "conll" | "germeval14"
  std::string delimiter;         ///< "" = any run of spaces/tabs; "\t" = tab only; or one character
  int64_t token_column = 0;
  int64_t tag_column = -1;       ///< -1 = last column
  int64_t columns = 0;           ///< 0 = any count >= needed (must be equal on every line of a file)
  bool convert_iob1 = false;
  std::vector<std::string> labels;
  std::string subtoken_label = "ignore";  ///< "ignore" | "X"
  int64_t max_seq_len = 128;
  int64_t stride = 32;

  void visit(OptionVisitor& v);
  void check(Diagnostics& d) const;
};

class ConllProcessor : public Processor {
 public:
  ConllProcessor(const ConllOptions& options, const ProcessorContext& context);

  const DataFiles& files() const override { return options_.files; }
  std::vector<Basket> read(const std::string& path, std::vector<RecordProblem>& problems) const override;
  std::vector<Basket> from_dicts(const std::vector<Value>& dicts, std::vector<RecordProblem>& problems) const override;
  void featurize(Basket& basket, const Tokenizer& tokenizer) const override;
  Batch collate(const std::vector<const Sample*>& samples, const Tokenizer& tokenizer) const override;
  std::vector<std::string> labels() const override { return labels_; }
  void prepare(const std::vector<Basket>& train) override;
  int64_t max_seq_len() const override { return options_.max_seq_len; }

  std::string resolve(const std::string& path) const;
  std::string label_key() const { return task() + "/label_ids"; }
  /// Parses CoNLL text (exposed for tests); `file` names the source in locations.
  std::vector<Basket> parse(const std::string& text, const std::string& file, std::vector<RecordProblem>& problems) const;

 private:
  void set_labels(std::vector<std::string> labels);
  Basket make_basket(std::vector<std::string> words, std::vector<std::string> tags, const SourceLocation& loc,
                     const std::string& id) const;

  ConllOptions options_;
  std::string base_dir_;
  std::vector<std::string> labels_;
  std::map<std::string, int64_t> label_index_;
};

/// Splits text at Unicode-agnostic ASCII whitespace into words with their byte ranges.
std::vector<std::pair<int64_t, int64_t>> whitespace_words(const std::string& text);
/// Code points in text[0, byte) (character offsets for predictions).
int64_t char_offset(const std::string& text, int64_t byte);

}  // namespace graft::plugins::token_classification
