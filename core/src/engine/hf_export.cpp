// `graft export --hf`: model bundle → Hugging Face checkpoint directories.
#include <graft/core/files.h>
#include <graft/core/hf_export.h>
#include <graft/core/json.h>
#include <graft/core/tokenizers.h>
#include <graft/error.h>
#include <graft/log.h>

#include <filesystem>
#include <map>

namespace fs = std::filesystem;

namespace graft::core {

namespace {

torch::ScalarType export_dtype(const std::string& name) {
  if (name == "fp32" || name == "float32") return torch::kFloat32;
  if (name == "fp16" || name == "float16") return torch::kFloat16;
  if (name == "bf16" || name == "bfloat16") return torch::kBFloat16;
  throw ConfigError(cat("export dtype '", name, "' is not one of fp32, fp16, bf16"));
}

const char* torch_dtype_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat16: return "float16";
    case torch::kBFloat16: return "bfloat16";
    default: return "float32";
  }
}

/// Float tensors converted to `dtype` (others as they are), detached, on the CPU. Tensors that
/// share memory keep sharing it (converted once), so tied weights stay tied in the .bin file.
StateDict convert(const StateDict& sd, torch::ScalarType dtype) {
  StateDict out;
  std::map<std::pair<const void*, int64_t>, torch::Tensor> done;
  for (const auto& [k, t] : sd) {
    torch::Tensor x = t.detach();
    if (x.is_floating_point() && x.scalar_type() != dtype) {
      auto key = std::make_pair(static_cast<const void*>(x.data_ptr()), x.numel());
      auto it = done.find(key);
      if (it != done.end() && it->second.sizes() == x.sizes()) {
        x = it->second;
      } else {
        x = x.to(torch::kCPU).to(dtype);
        done[key] = x;
      }
    } else {
      x = x.to(torch::kCPU);
    }
    out.set(k, x);
  }
  return out;
}

void write_checkpoint(const std::string& dir, const ModelBundle& bundle, const TaskHead* task, const HfHeadExport* ex,
                      const HfExportOptions& options, torch::ScalarType dtype) {
  const LanguageModel& lm = *bundle.model->language_model_ptr();
  fs::create_directories(dir);
  Value config = lm.hf_config();
  GRAFT_CHECK(config.is_object(), Error, "hf_config() of ", lm.architecture_stem(), " is not an object");
  Value archs = Value::array();
  archs.push_back(lm.architecture_stem() + (ex ? ex->architecture_suffix : std::string("Model")));
  config.set("architectures", archs);
  if (ex && ex->config.is_object())
    for (const auto& [k, v] : ex->config.as_object()) config.set(k, v);
  config.set("torch_dtype", torch_dtype_name(dtype));

  // The encoder under its base_model_prefix when a head is present (as HF *For<Task> saves it).
  StateDict sd = state_dict_of(lm, task ? lm.base_model_prefix() : "");
  if (task) {
    for (const auto& [k, t] : state_dict_of(*task->head)) {
      GRAFT_CHECK(!sd.contains(k), Error, "export: head tensor '", k, "' of task '", task->task,
                  "' collides with a language model tensor");
      sd.set(k, t);
    }
  }
  sd = convert(sd, dtype);
  if (options.safetensors) write_safetensors((fs::path(dir) / "model.safetensors").string(), sd);
  if (options.pytorch_bin) write_pytorch_bin((fs::path(dir) / "pytorch_model.bin").string(), sd);
  write_json_file((fs::path(dir) / "config.json").string(), config);
  if (options.tokenizer && bundle.tokenizer) save_tokenizer(*bundle.tokenizer, dir);
}

bool same_path(const std::string& a, const std::string& b) {
  std::error_code ec1, ec2;
  auto ca = fs::weakly_canonical(a, ec1), cb = fs::weakly_canonical(b, ec2);
  return !ec1 && !ec2 && ca == cb;
}

}  // namespace

HfExportResult export_hf(const ModelBundle& bundle, const std::string& out, const HfExportOptions& options) {
  GRAFT_CHECK(bundle.model != nullptr, Error, "export_hf: no model");
  const torch::ScalarType dtype = export_dtype(options.dtype);
  GRAFT_CHECK(options.safetensors || options.pytorch_bin, ConfigError,
              "export: nothing to write (both model.safetensors and pytorch_model.bin are switched off)");
  GRAFT_CHECK(!out.empty(), ConfigError, "export: no output directory given");
  GRAFT_CHECK(bundle.dir.empty() || !same_path(bundle.dir, out), ConfigError, "export: the output directory ", out,
              " is the model's own directory; choose another one");
  std::error_code ec;
  if (fs::exists(out, ec)) {
    GRAFT_CHECK(fs::is_directory(out, ec), ConfigError, "export: ", out, " exists and is not a directory");
    GRAFT_CHECK(options.overwrite || fs::is_empty(out, ec), ConfigError, "export: ", out,
                " exists and is not empty (use --force to replace it)");
  }

  const auto& heads = bundle.model->heads();
  std::vector<std::pair<const TaskHead*, HfHeadExport>> exportable;
  HfExportResult result;
  for (const auto& h : heads) {
    HfHeadExport ex = h.head->hf_export();
    if (ex.architecture_suffix.empty()) {
      result.skipped.push_back(cat(h.task, ": its head has no Hugging Face equivalent"));
      continue;
    }
    exportable.emplace_back(&h, std::move(ex));
  }
  const std::string stem = bundle.model->language_model_ptr()->architecture_stem();

  const std::string tmp = make_temp_dir_for(out);
  try {
    if (heads.size() == 1 && exportable.size() == 1) {
      write_checkpoint(tmp, bundle, exportable[0].first, &exportable[0].second, options, dtype);
      result.dirs.push_back({out, stem + exportable[0].second.architecture_suffix, exportable[0].first->task});
    } else {
      write_checkpoint(tmp, bundle, nullptr, nullptr, options, dtype);
      result.dirs.push_back({out, stem + "Model", ""});
      for (const auto& [task, ex] : exportable) {
        GRAFT_CHECK(!task->task.empty() && task->task.find('/') == std::string::npos && task->task != "." &&
                        task->task != "..",
                    ConfigError, "export: task name '", task->task, "' cannot be used as a directory name");
        write_checkpoint((fs::path(tmp) / task->task).string(), bundle, task, &ex, options, dtype);
        result.dirs.push_back({(fs::path(out) / task->task).string(), stem + ex.architecture_suffix, task->task});
      }
    }
    commit_dir(tmp, out);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  for (const auto& s : result.skipped) log::warn("export: task ", s, "; not exported");
  return result;
}

}  // namespace graft::core
