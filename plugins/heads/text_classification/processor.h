#pragma once
// tsv_classification: one text (or text pair) and one label per row of a TSV/CSV file with a
// header row; columns are found by name.
#include <graft/processor.h>
#include <graft/registrar.h>

#include <map>
#include <string>
#include <vector>

namespace graft::plugins::text_classification {

struct ProcessorOptions {
  DataFiles files;
  std::string delimiter;  ///< "" = tab, or "," for files ending in .csv
  std::string quote_char = "\"";
  std::string text_column = "text";
  std::string text_pair_column;
  std::string label_column = "label";
  std::vector<std::string> labels;
  int64_t max_seq_len = 128;

  void visit(OptionVisitor& v);
  void check(Diagnostics& d) const;
};

class TsvClassificationProcessor : public Processor {
 public:
  TsvClassificationProcessor(const ProcessorOptions& options, const ProcessorContext& context);

  const DataFiles& files() const override { return options_.files; }
  std::vector<Basket> read(const std::string& path, std::vector<RecordProblem>& problems) const override;
  std::vector<Basket> from_dicts(const std::vector<Value>& dicts, std::vector<RecordProblem>& problems) const override;
  void featurize(Basket& basket, const Tokenizer& tokenizer) const override;
  Batch collate(const std::vector<const Sample*>& samples, const Tokenizer& tokenizer) const override;
  std::vector<std::string> labels() const override { return labels_; }
  void prepare(const std::vector<Basket>& train) override;
  std::string label_of(const Basket& basket) const override;
  int64_t max_seq_len() const override { return options_.max_seq_len; }

  /// The file a data path refers to (relative paths resolve against the recipe directory).
  std::string resolve(const std::string& path) const;
  /// "<task>/label_ids".
  std::string label_key() const { return task() + "/label_ids"; }

 private:
  void set_labels(std::vector<std::string> labels);
  std::string known_labels() const;

  ProcessorOptions options_;
  std::string base_dir_;
  std::vector<std::string> labels_;
  std::map<std::string, int64_t> label_index_;
};

}  // namespace graft::plugins::text_classification
