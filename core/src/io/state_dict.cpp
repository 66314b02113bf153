// StateDict, name-based loading into modules, legacy renames, weight-file discovery.
#include <graft/core/weights.h>
#include <graft/error.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace graft::core {

namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

std::string join(const std::vector<std::string>& v, size_t max_items = 20) {
  std::ostringstream os;
  for (size_t i = 0; i < v.size() && i < max_items; ++i) os << (i ? ", " : "") << v[i];
  if (v.size() > max_items) os << ", ... (" << v.size() - max_items << " more)";
  return os.str();
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

// --- StateDict ---------------------------------------------------------------------------

void StateDict::set(const std::string& name, torch::Tensor tensor) {
  auto it = index_.find(name);
  if (it != index_.end()) {
    items_[it->second].second = std::move(tensor);
    return;
  }
  index_.emplace(name, items_.size());
  items_.emplace_back(name, std::move(tensor));
}

const torch::Tensor* StateDict::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &items_[it->second].second;
}

const torch::Tensor& StateDict::at(const std::string& name) const {
  const torch::Tensor* t = find(name);
  if (!t)
    throw FormatError(cat(source_.empty() ? std::string("state dict") : source_, ": no tensor named '", name,
                          "' (", items_.size(), " tensors present)"));
  return *t;
}

bool StateDict::erase(const std::string& name) {
  auto it = index_.find(name);
  if (it == index_.end()) return false;
  size_t pos = it->second;
  items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(pos));
  index_.erase(it);
  for (auto& [k, i] : index_)
    if (i > pos) --i;
  return true;
}

std::vector<std::string> StateDict::keys() const {
  std::vector<std::string> k;
  k.reserve(items_.size());
  for (const auto& [name, t] : items_) k.push_back(name);
  return k;
}

// --- legacy names ------------------------------------------------------------------------

namespace {
std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
  return s;
}
}  // namespace

size_t rename_legacy_keys(StateDict& sd) {
  bool any = false;
  for (const auto& [k, t] : sd)
    if (k.find("gamma") != std::string::npos || k.find("beta") != std::string::npos) any = true;
  if (!any) return 0;
  StateDict out;
  out.set_source(sd.source());
  size_t renamed = 0;
  for (const auto& [k, t] : sd) {
    std::string nk = k;
    if (k.find("gamma") != std::string::npos) nk = replace_all(k, "gamma", "weight");
    if (k.find("beta") != std::string::npos) nk = replace_all(k, "beta", "bias");
    if (nk != k) ++renamed;
    out.set(nk, t);
  }
  sd = std::move(out);
  return renamed;
}

// --- discovery ---------------------------------------------------------------------------

std::string find_weights_file(const std::string& model_dir) {
  std::error_code ec;
  if (!fs::is_directory(model_dir, ec))
    throw FormatError(cat(model_dir, ": not a directory (expected an HF model directory with config.json and weights)"));
  for (const char* name : {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                           "pytorch_model.bin.index.json"}) {
    fs::path p = fs::path(model_dir) / name;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  throw FormatError(cat(model_dir,
                        ": no model weights found (expected model.safetensors, model.safetensors.index.json, "
                        "pytorch_model.bin or pytorch_model.bin.index.json)"));
}

StateDict read_weights(const std::string& path, const ReadOptions& options) {
  if (ends_with(path, ".index.json")) return read_sharded(path, options);
  if (ends_with(path, ".safetensors")) return read_safetensors(path, options);
  return read_pytorch_bin(path, options);
}

// --- loading into modules ----------------------------------------------------------------

std::string LoadReport::summary() const {
  std::ostringstream os;
  os << loaded.size() << " tensors loaded";
  if (!missing.empty()) os << "; missing: " << join(missing);
  if (!unexpected.empty()) os << "; unexpected: " << join(unexpected);
  if (!ignored.empty()) os << "; ignored: " << join(ignored);
  for (const auto& m : mismatched)
    os << "; shape mismatch: " << m.parameter << " expects " << shape_str(m.expected) << " but " << m.checkpoint
       << " has " << shape_str(m.actual);
  return os.str();
}

StateDict state_dict_of(const torch::nn::Module& module, const std::string& prefix) {
  StateDict sd;
  std::string p = prefix.empty() ? "" : prefix + ".";
  for (const auto& item : module.named_parameters(true)) sd.set(p + item.key(), item.value());
  for (const auto& item : module.named_buffers(true)) sd.set(p + item.key(), item.value());
  return sd;
}

LoadReport load_into(torch::nn::Module& module, const StateDict& sd, const LoadOptions& options) {
  LoadReport report;
  const std::string source = sd.source().empty() ? std::string("state dict") : sd.source();

  // Module targets by name.
  std::vector<std::pair<std::string, torch::Tensor>> targets;
  for (const auto& item : module.named_parameters(true)) targets.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers(true)) targets.emplace_back(item.key(), item.value());
  std::unordered_map<std::string, size_t> target_index;
  for (size_t i = 0; i < targets.size(); ++i) target_index.emplace(targets[i].first, i);

  std::set<std::string> ignored(options.ignored_keys.begin(), options.ignored_keys.end());
  // For each target: the checkpoint key it gets, preferring prefixed keys over bare ones.
  std::vector<std::string> chosen(targets.size());
  std::vector<int> chosen_rank(targets.size(), 1 << 30);
  std::set<std::string> consumed;

  for (const auto& [key, tensor] : sd) {
    // Strip the first matching prefix; rank 0.. for prefixes, prefixes.size() for a bare key.
    std::string stripped = key;
    int rank = static_cast<int>(options.prefixes.size());
    for (size_t i = 0; i < options.prefixes.size(); ++i) {
      const std::string p = options.prefixes[i] + ".";
      if (!options.prefixes[i].empty() && key.rfind(p, 0) == 0) {
        stripped = key.substr(p.size());
        rank = static_cast<int>(i);
        break;
      }
    }
    if (ignored.count(stripped)) {
      report.ignored.push_back(key);
      consumed.insert(key);
      continue;
    }
    std::string name = options.map_key ? options.map_key(stripped) : stripped;
    if (name.empty()) {
      report.ignored.push_back(key);
      consumed.insert(key);
      continue;
    }
    auto it = target_index.find(name);
    if (it == target_index.end()) continue;
    if (rank < chosen_rank[it->second]) {
      chosen_rank[it->second] = rank;
      chosen[it->second] = key;
    }
  }

  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < targets.size(); ++i) {
    const auto& [name, target] = targets[i];
    if (chosen[i].empty()) {
      report.missing.push_back(name);
      continue;
    }
    const torch::Tensor& src = sd.at(chosen[i]);
    consumed.insert(chosen[i]);
    if (src.sizes() != target.sizes()) {
      report.mismatched.push_back(ShapeMismatch{name, chosen[i], target.sizes().vec(), src.sizes().vec()});
      continue;
    }
    target.copy_(src);
    report.loaded.push_back(name);
  }
  for (const auto& [key, t] : sd)
    if (!consumed.count(key)) report.unexpected.push_back(key);

  if (options.strict) {
    std::vector<std::string> required_missing;
    for (const auto& m : report.missing) {
      bool optional = false;
      for (const auto& p : options.optional_prefixes)
        if (m.rfind(p, 0) == 0) optional = true;
      if (!optional) required_missing.push_back(m);
    }
    if (!report.mismatched.empty() || !required_missing.empty()) {
      // One message with everything that does not fit: every shape mismatch, every missing
      // tensor, and (as a hint: a wrong prefix or another family's checkpoint) the unused ones.
      std::string msg = cat(source, ": the checkpoint does not fit the model");
      if (!report.mismatched.empty()) {
        msg += cat("; ", report.mismatched.size(), " shape mismatch", report.mismatched.size() > 1 ? "es" : "", ": ");
        for (size_t i = 0; i < report.mismatched.size(); ++i) {
          const auto& m = report.mismatched[i];
          msg += cat(i ? ", " : "", "tensor '", m.checkpoint, "' has shape ", shape_str(m.actual), " but the model's '",
                     m.parameter, "' expects ", shape_str(m.expected));
        }
      }
      if (!required_missing.empty()) {
        std::string tried;
        for (const auto& p : options.prefixes) tried += "'" + p + ".' ";
        msg += cat("; ", required_missing.size(), " required tensors missing: ", join(required_missing),
                   tried.empty() ? std::string() : cat(" (looked for them with prefixes ", tried, "and without)"));
      }
      if (!report.unexpected.empty()) {
        constexpr size_t kShown = 20;
        std::vector<std::string> shown(report.unexpected.begin(),
                                       report.unexpected.begin() + std::min(kShown, report.unexpected.size()));
        msg += cat("; ", report.unexpected.size(), " checkpoint tensors unused: ", join(shown),
                   report.unexpected.size() > kShown ? cat(" (and ", report.unexpected.size() - kShown, " more)") : std::string());
      }
      throw FormatError(msg);
    }
  }
  return report;
}

}  // namespace graft::core
