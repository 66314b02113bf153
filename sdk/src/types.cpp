#include <graft/error.h>
#include <graft/types.h>

namespace graft {

const torch::Tensor& Batch::at(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) {
    std::string keys;
    for (const auto& [k, _] : tensors) keys += (keys.empty() ? "" : ", ") + k;
    throw Error(cat("batch has no tensor '", name, "' (present: ", keys, ")"));
  }
  return it->second;
}

int64_t Batch::size() const {
  auto it = tensors.find("input_ids");
  if (it != tensors.end()) return it->second.size(0);
  if (!tensors.empty()) return tensors.begin()->second.size(0);
  return static_cast<int64_t>(samples.size());
}

Batch Batch::to(const torch::Device& device) const {
  Batch b;
  b.samples = samples;
  b.baskets = baskets;
  for (const auto& [k, t] : tensors) b.tensors[k] = t.to(device, /*non_blocking=*/true);
  return b;
}

torch::Tensor pad_stack(const std::vector<torch::Tensor>& rows, double pad_value) {
  GRAFT_CHECK(!rows.empty(), Error, "pad_stack: no rows");
  int64_t max_len = 0;
  for (const auto& r : rows) max_len = std::max<int64_t>(max_len, r.size(0));
  std::vector<int64_t> shape{static_cast<int64_t>(rows.size()), max_len};
  for (int64_t d = 1; d < rows[0].dim(); ++d) shape.push_back(rows[0].size(d));
  auto out = torch::full(shape, pad_value, rows[0].options());
  for (size_t i = 0; i < rows.size(); ++i)
    if (rows[i].size(0) > 0) out[static_cast<int64_t>(i)].narrow(0, 0, rows[i].size(0)).copy_(rows[i]);
  return out;
}

void set_input_features(Sample& sample, const Encoding& enc) {
  auto n = static_cast<int64_t>(enc.ids.size());
  auto opts = torch::TensorOptions().dtype(torch::kInt64);
  sample.features["input_ids"] = torch::tensor(enc.ids, opts).reshape({n});
  std::vector<int64_t> types = enc.type_ids;
  if (types.size() != enc.ids.size()) types.assign(enc.ids.size(), 0);
  sample.features["token_type_ids"] = torch::tensor(types, opts).reshape({n});
  sample.features["attention_mask"] = torch::ones({n}, opts);
}

void collate_inputs(const std::vector<const Sample*>& samples, int64_t pad_id, Batch& batch) {
  std::vector<torch::Tensor> ids, mask, types;
  for (const Sample* s : samples) {
    ids.push_back(s->features.at("input_ids"));
    mask.push_back(s->features.at("attention_mask"));
    auto it = s->features.find("token_type_ids");
    types.push_back(it != s->features.end() ? it->second : torch::zeros_like(ids.back()));
  }
  batch.tensors["input_ids"] = pad_stack(ids, static_cast<double>(pad_id));
  batch.tensors["attention_mask"] = pad_stack(mask, 0);
  batch.tensors["token_type_ids"] = pad_stack(types, 0);
  batch.samples = samples;
}

}  // namespace graft
