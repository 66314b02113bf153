#pragma once
// tsv_regression: one text (or text pair, e.g. STS-B) and one or more numeric targets per row of
// a TSV/CSV file.
#include "../common/table.h"

#include <graft/processor.h>
#include <graft/registrar.h>

#include <string>
#include <vector>

namespace graft::plugins::regression {

struct ProcessorOptions {
  DataFiles files;
  common::TableOptions table;
  std::string text_column = "text";
  std::string text_pair_column;
  std::string label_column = "label";
  std::vector<std::string> label_columns;
  std::vector<std::string> labels;  ///< output names (filled by the engine; = the target columns)
  int64_t max_seq_len = 128;

  void visit(OptionVisitor& v);
  void check(Diagnostics& d) const;
  std::vector<std::string> targets() const { return label_columns.empty() ? std::vector<std::string>{label_column} : label_columns; }
};

class RegressionProcessor : public Processor {
 public:
  RegressionProcessor(const ProcessorOptions& options, const ProcessorContext& context);

  const DataFiles& files() const override { return options_.files; }
  std::vector<Basket> read(const std::string& path, std::vector<RecordProblem>& problems) const override;
  std::vector<Basket> from_dicts(const std::vector<Value>& dicts, std::vector<RecordProblem>& problems) const override;
  void featurize(Basket& basket, const Tokenizer& tokenizer) const override;
  Batch collate(const std::vector<const Sample*>& samples, const Tokenizer& tokenizer) const override;
  /// The output names: the recipe's labels, else the target column names.
  std::vector<std::string> labels() const override { return outputs_; }
  int64_t max_seq_len() const override { return options_.max_seq_len; }

  std::string label_key() const { return task() + "/label_ids"; }

 private:
  ProcessorOptions options_;
  std::string base_dir_;
  std::vector<std::string> outputs_;
};

}  // namespace graft::plugins::regression
