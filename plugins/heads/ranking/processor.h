#pragma once
// tsv_ranking: (query, passage, relevance) rows of a TSV/CSV file for cross-encoder passage
// ranking. Rows are grouped by query (a query id column, else the query text) for the ranking
// metrics.
#include "../common/table.h"

#include <graft/processor.h>
#include <graft/registrar.h>

#include <string>
#include <vector>

namespace graft::plugins::ranking {

struct ProcessorOptions {
  DataFiles files;
  common::TableOptions table;
  std::string query_column = "query";
  std::string passage_column = "passage";
  std::string label_column = "label";
  std::string query_id_column;
  int64_t max_seq_len = 256;

  void visit(OptionVisitor& v);
  void check(Diagnostics& d) const;
};

class RankingProcessor : public Processor {
 public:
  RankingProcessor(const ProcessorOptions& options, const ProcessorContext& context);

  const DataFiles& files() const override { return options_.files; }
  std::vector<Basket> read(const std::string& path, std::vector<RecordProblem>& problems) const override;
  std::vector<Basket> from_dicts(const std::vector<Value>& dicts, std::vector<RecordProblem>& problems) const override;
  void featurize(Basket& basket, const Tokenizer& tokenizer) const override;
  Batch collate(const std::vector<const Sample*>& samples, const Tokenizer& tokenizer) const override;
  std::string label_of(const Basket& basket) const override;
  int64_t max_seq_len() const override { return options_.max_seq_len; }

  std::string label_key() const { return task() + "/label_ids"; }

 private:
  ProcessorOptions options_;
  std::string base_dir_;
};

}  // namespace graft::plugins::ranking
