#pragma once
// tsv_multilabel: one text (or text pair) and a SET of labels per row of a TSV/CSV file. Labels
// are names separated by `label_separator` ("anger,joy"), or integer ids into the label list
// (GoEmotions: "3,27" with the names in labels.txt). Files may lack a header (column_names).
#include "../common/table.h"

#include <graft/processor.h>
#include <graft/registrar.h>

#include <map>
#include <string>
#include <vector>

namespace graft::plugins::multilabel {

struct ProcessorOptions {
  DataFiles files;
  common::TableOptions table;
  std::string text_column = "text";
  std::string text_pair_column;
  std::string label_column = "label";
  std::string label_separator = ",";
  std::string label_format = "names";  ///< "names" | "ids"
  std::vector<std::string> labels;
  std::string labels_file;
  int64_t max_seq_len = 128;

  void visit(OptionVisitor& v);
  void check(Diagnostics& d) const;
};

class MultilabelProcessor : public Processor {
 public:
  MultilabelProcessor(const ProcessorOptions& options, const ProcessorContext& context);

  const DataFiles& files() const override { return options_.files; }
  std::vector<Basket> read(const std::string& path, std::vector<RecordProblem>& problems) const override;
  std::vector<Basket> from_dicts(const std::vector<Value>& dicts, std::vector<RecordProblem>& problems) const override;
  void featurize(Basket& basket, const Tokenizer& tokenizer) const override;
  Batch collate(const std::vector<const Sample*>& samples, const Tokenizer& tokenizer) const override;
  std::vector<std::string> labels() const override { return labels_; }
  void prepare(const std::vector<Basket>& train) override;
  std::string label_of(const Basket& basket) const override;
  int64_t max_seq_len() const override { return options_.max_seq_len; }

  std::string label_key() const { return task() + "/label_ids"; }

 private:
  void set_labels(std::vector<std::string> labels);
  /// Parses a label field into names; "" + problem text on failure.
  std::vector<std::string> parse_labels(const std::string& field, std::string& problem) const;

  ProcessorOptions options_;
  std::string base_dir_;
  std::vector<std::string> labels_;
  std::map<std::string, int64_t> label_index_;
};

}  // namespace graft::plugins::multilabel
