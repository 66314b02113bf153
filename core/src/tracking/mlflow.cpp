// MLflow file store writer (the layout of mlflow.store.tracking.file_store, read by `mlflow ui`).
#include <graft/core/files.h>
#include <graft/core/tracking.h>
#include <graft/error.h>
#include <graft/log.h>
#include <graft/version.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace fs = std::filesystem;

namespace graft::core {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

namespace {

/// YAML single-quoted scalar ('' escapes a quote).
std::string yq(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "''";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out + "'";
}

/// The value of `key: value` in a flat YAML file written by MLflow or by us ("" when absent).
std::string yaml_field(const std::string& text, const std::string& key) {
  std::istringstream is(text);
  std::string line;
  while (std::getline(is, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::string v = line.substr(key.size() + 1);
    v.erase(0, v.find_first_not_of(' '));
    while (!v.empty() && (v.back() == '\r' || v.back() == ' ')) v.pop_back();
    if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') {
      std::string u;
      for (size_t i = 1; i + 1 < v.size(); ++i) {
        u += v[i];
        if (v[i] == '\'' && v[i + 1] == '\'') ++i;
      }
      return u;
    }
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return v.substr(1, v.size() - 2);
    return v;
  }
  return {};
}

std::string file_uri(const std::string& path) { return "file://" + fs::absolute(path).lexically_normal().string(); }

std::string random_run_id() {
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(now_ms()) ^
                      static_cast<uint64_t>(::getpid()));
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

/// Python-like shortest repr of a double ("0.5", "1e-05", "nan", "inf").
std::string number(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[40];
  for (int p = 1; p <= 17; ++p) {
    std::snprintf(buf, sizeof buf, "%.*g", p, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  return buf;
}

std::string experiment_meta(const std::string& root, const std::string& id, const std::string& name, int64_t t) {
  return cat("artifact_location: ", file_uri(root + "/" + id), "\ncreation_time: ", t, "\nexperiment_id: ", yq(id),
             "\nlast_update_time: ", t, "\nlifecycle_stage: active\nname: ", yq(name), "\n");
}

}  // namespace

std::string MlflowRun::sanitize_key(const std::string& key) {
  std::string out;
  for (char c : key) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ' ' || c == '/';
    out += ok ? c : '_';
  }
  while (!out.empty() && out.front() == '/') out.erase(0, 1);
  for (size_t p; (p = out.find("..")) != std::string::npos;) out.replace(p, 2, "__");
  for (size_t p; (p = out.find("//")) != std::string::npos;) out.replace(p, 2, "/");
  if (out.empty()) out = "_";
  return out;
}

MlflowRun::MlflowRun(const std::string& root, const std::string& experiment, const std::string& run_name,
                     const std::string& resume_run_id) noexcept {
  try {
    root_ = fs::absolute(root).lexically_normal().string();
    run_name_ = run_name;
    const char* u = std::getenv("USER");
    user_ = u && *u ? u : "graft";
    fs::create_directories(root_);
    const int64_t t = now_ms();
    // the Default experiment, as MLflow creates it with a new store
    if (!fs::exists(root_ + "/0/meta.yaml")) {
      fs::create_directories(root_ + "/0");
      write_file_atomic(root_ + "/0/meta.yaml", experiment_meta(root_, "0", "Default", t));
    }
    int64_t max_id = 0;
    for (const auto& e : fs::directory_iterator(root_)) {
      if (!e.is_directory() || !fs::exists(e.path() / "meta.yaml")) continue;
      std::string meta = read_file((e.path() / "meta.yaml").string());
      std::string id = e.path().filename().string();
      if (yaml_field(meta, "name") == experiment && yaml_field(meta, "lifecycle_stage") != "deleted")
        experiment_id_ = id;
      if (!id.empty() && id.size() < 18 && std::all_of(id.begin(), id.end(), ::isdigit))
        max_id = std::max<int64_t>(max_id, std::stoll(id));
    }
    if (experiment_id_.empty()) {
      experiment_id_ = std::to_string(max_id + 1);
      fs::create_directories(root_ + "/" + experiment_id_);
      write_file_atomic(root_ + "/" + experiment_id_ + "/meta.yaml", experiment_meta(root_, experiment_id_, experiment, t));
    }
    if (!resume_run_id.empty() && fs::exists(root_ + "/" + experiment_id_ + "/" + resume_run_id + "/meta.yaml")) {
      run_id_ = resume_run_id;
      run_dir_ = root_ + "/" + experiment_id_ + "/" + run_id_;
      std::string meta = read_file(run_dir_ + "/meta.yaml");
      std::string st = yaml_field(meta, "start_time");
      start_time_ = st.empty() ? t : std::stoll(st);
      if (std::string rn = yaml_field(meta, "run_name"); !rn.empty()) run_name_ = rn;
      resumed_ = true;
    } else {
      run_id_ = resume_run_id.empty() ? random_run_id() : resume_run_id;
      run_dir_ = root_ + "/" + experiment_id_ + "/" + run_id_;
      start_time_ = t;
    }
    for (const char* d : {"params", "metrics", "tags", "artifacts"}) fs::create_directories(run_dir_ + "/" + d);
    ok_ = true;
    write_meta(1, -1);
    if (!ok_) return;
    if (!resumed_) {
      set_tag("mlflow.runName", run_name_);
      set_tag("mlflow.source.name", "graft");
      set_tag("mlflow.source.type", "LOCAL");
      set_tag("mlflow.user", user_);
      set_tag("graft.version", GRAFT_VERSION);
    }
  } catch (const std::exception& e) {
    fail(cat("cannot open the MLflow store ", root, ": ", e.what()));
  }
}

MlflowRun::~MlflowRun() {
  if (ok_ && !finished_) finish("FAILED");
}

void MlflowRun::fail(const std::string& what) noexcept {
  ok_ = false;
  if (warned_) return;
  warned_ = true;
  try {
    log::warn("tracking: ", what, "; MLflow tracking is off for the rest of this run (training goes on)");
  } catch (...) {
  }
}

void MlflowRun::write_meta(int status, int64_t end_time) noexcept {
  if (!ok_) return;
  try {
    std::string meta = cat("artifact_uri: ", file_uri(run_dir_ + "/artifacts"),
                           "\nend_time: ", end_time < 0 ? std::string("null") : std::to_string(end_time),
                           "\nentry_point_name: ''\nexperiment_id: ", yq(experiment_id_),
                           "\nlifecycle_stage: active\nrun_id: ", run_id_, "\nrun_name: ", yq(run_name_),
                           "\nrun_uuid: ", run_id_, "\nsource_name: ''\nsource_type: 4\nsource_version: ''\nstart_time: ",
                           start_time_, "\nstatus: ", status, "\ntags: []\nuser_id: ", yq(user_), "\n");
    write_file_atomic(run_dir_ + "/meta.yaml", meta);
  } catch (const std::exception& e) {
    fail(cat("cannot write ", run_dir_, "/meta.yaml: ", e.what()));
  }
}

void MlflowRun::log_param(const std::string& key, const std::string& value) noexcept {
  if (!ok_) return;
  try {
    fs::path p = fs::path(run_dir_) / "params" / sanitize_key(key);
    fs::create_directories(p.parent_path());
    // MLflow limits parameter values (500 characters in the file store of 1.x)
    write_file_atomic(p.string(), value.size() > 500 ? value.substr(0, 497) + "..." : value);
  } catch (const std::exception& e) {
    fail(cat("cannot log parameter '", key, "': ", e.what()));
  }
}

void MlflowRun::log_params(const Value& v, const std::string& prefix) noexcept {
  if (!ok_) return;
  try {
    if (v.is_object()) {
      for (const auto& [k, x] : v.as_object()) {
        std::string key = prefix.empty() ? k : prefix + "." + k;
        bool tables = x.is_array() && x.size() > 0 &&
                      std::all_of(x.as_array().begin(), x.as_array().end(), [](const Value& e) { return e.is_object(); });
        if ((x.is_object() && x.size() > 0) || tables) log_params(x, key);
        else log_param(key, x.is_string() ? x.as_string() : x.dump_json());
      }
    } else if (v.is_array()) {  // [[tasks]]: tasks.0.name ...
      size_t i = 0;
      for (const auto& x : v.as_array()) log_params(x, cat(prefix, ".", i++));
    } else if (!prefix.empty()) {
      log_param(prefix, v.is_string() ? v.as_string() : v.dump_json());
    }
  } catch (const std::exception& e) {
    fail(cat("cannot log parameters: ", e.what()));
  }
}

void MlflowRun::log_metric(const std::string& key, double value, int64_t step, int64_t timestamp_ms) noexcept {
  if (!ok_) return;
  try {
    fs::path p = fs::path(run_dir_) / "metrics" / sanitize_key(key);
    fs::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::app);
    out << (timestamp_ms > 0 ? timestamp_ms : now_ms()) << ' ' << number(value) << ' ' << step << '\n';
    out.flush();
    if (!out) throw Error(cat(p.string(), ": write failed"));
  } catch (const std::exception& e) {
    fail(cat("cannot log metric '", key, "': ", e.what()));
  }
}

void MlflowRun::set_tag(const std::string& key, const std::string& value) noexcept {
  if (!ok_) return;
  try {
    fs::path p = fs::path(run_dir_) / "tags" / sanitize_key(key);
    fs::create_directories(p.parent_path());
    write_file_atomic(p.string(), value);
  } catch (const std::exception& e) {
    fail(cat("cannot set tag '", key, "': ", e.what()));
  }
}

void MlflowRun::log_artifact(const std::string& file, const std::string& subdir) noexcept {
  if (!ok_) return;
  try {
    fs::path dir = fs::path(artifacts_dir());
    if (!subdir.empty()) dir /= subdir;
    fs::create_directories(dir);
    fs::path dst = dir / fs::path(file).filename();
    fs::path tmp = dst;
    tmp += cat(".tmp-", ::getpid());
    fs::copy_file(file, tmp, fs::copy_options::overwrite_existing);
    fs::rename(tmp, dst);
  } catch (const std::exception& e) {
    fail(cat("cannot store artifact ", file, ": ", e.what()));
  }
}

void MlflowRun::finish(const std::string& status) noexcept {
  if (!ok_ || finished_) return;
  int code = status == "FAILED" ? 4 : status == "KILLED" ? 5 : 3;
  write_meta(code, now_ms());
  finished_ = true;
}

}  // namespace graft::core
