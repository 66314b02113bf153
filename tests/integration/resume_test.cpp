// Kill and resume through the CLI: `graft train` on a tiny BERT (deterministic CPU mode: one
// thread, fp32, fixed seed, dropout on) is killed with SIGKILL at several points — after a
// checkpoint, in the middle of an accumulation window, while a checkpoint is being written —
// and continued with --resume latest; the final model must equal an uninterrupted run's bit for
// bit. SIGTERM must finish the step, write a checkpoint and exit with status 5. --dry-run must
// train one step and write nothing.
#include "test_support.h"

#include <graft/core/checkpoint.h>
#include <graft/core/files.h>
#include <graft/core/json.h>
#include <graft/core/weights.h>
#include <graft/error.h>

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace graft;
using namespace graft::core;

namespace {

/// A graft process started with fork/exec (stdout/stderr to files).
struct Proc {
  pid_t pid = -1;
  std::string out, err;
  mutable int status = -1;  ///< set once reaped
};

Proc spawn(const std::vector<std::string>& args, const std::string& dir) {
  static int n = 0;
  Proc p;
  p.out = cat(dir, "/stdout-", n, ".txt");
  p.err = cat(dir, "/stderr-", n++, ".txt");
  std::vector<std::string> argv{GRAFT_EXE};
  argv.insert(argv.end(), args.begin(), args.end());
  p.pid = ::fork();
  REQUIRE(p.pid >= 0);
  if (p.pid == 0) {
    int o = ::open(p.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = ::open(p.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(e, 2);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  return p;
}

/// Waits for the process; returns its exit status (128 + signal when killed).
int wait_for(const Proc& p) {
  if (p.status < 0) ::waitpid(p.pid, &p.status, 0);
  return WIFEXITED(p.status) ? WEXITSTATUS(p.status) : 128 + WTERMSIG(p.status);
}

/// Polls `cond` every 0.5 ms until it holds (true) or the process exited (false).
bool wait_until(const Proc& p, const std::function<bool()>& cond, double timeout_s = 120) {
  auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < timeout_s) {
    if (cond()) return true;
    if (::waitpid(p.pid, &p.status, WNOHANG) == p.pid) return false;  // exited on its own
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  FAIL("timed out waiting for a condition");
  return false;
}

std::string slurp(const std::string& path) { return fs::exists(path) ? read_file(path) : std::string(); }

bool has_checkpoint(const std::string& root, int64_t step) { return fs::exists(root + "/" + checkpoint_name(step) + "/checkpoint.json"); }

bool writing_checkpoint(const std::string& root) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.path().filename().string().rfind(".step-", 0) == 0) return true;
  return false;
}

struct Run {
  std::string dir, out, ckpt;
  std::vector<std::string> args(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> a{"--threads", "1", "--log-level", "warn", "train", test::fixture("training/tiny/recipe.toml"),
                               "--set", cat("run.output_dir=\"", out, "\""),
                               "--set", cat("checkpoint.dir=\"", ckpt, "\""),
                               "--set", "checkpoint.every=2",
                               "--set", "checkpoint.keep=3",
                               "--set", "training.grad_accumulation=3",
                               "--set", "training.epochs=6",
                               "--set", "training.evaluate_every=4",
                               "--set", "training.early_stopping={metric=\"sentiment/loss\", mode=\"min\", patience=50}",
                               "--set", "training.precision=\"fp32\""};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
};

Run make_run(const std::string& name) {
  Run r;
  r.dir = test::temp_dir(name);
  r.out = r.dir + "/model";
  r.ckpt = r.dir + "/ckpt";
  return r;
}

void check_same_model(const std::string& a_dir, const std::string& b_dir) {
  StateDict a = read_safetensors(a_dir + "/model.safetensors");
  StateDict b = read_safetensors(b_dir + "/model.safetensors");
  REQUIRE(a.size() == b.size());
  REQUIRE(a.size() > 10);
  for (const auto& [k, t] : a) {
    CAPTURE(k);
    REQUIRE(b.find(k) != nullptr);
    CHECK(torch::equal(t, b.at(k)));
  }
  CHECK(read_file(a_dir + "/model.safetensors") == read_file(b_dir + "/model.safetensors"));
  // the whole loss curve and every evaluation match as well
  Value ma = read_json_file(a_dir + "/metrics.json"), mb = read_json_file(b_dir + "/metrics.json");
  CHECK(ma.at("history").dump_json() == mb.at("history").dump_json());
  CHECK(ma.at("evaluations").dump_json() == mb.at("evaluations").dump_json());
  CHECK(ma.at("test").dump_json() == mb.at("test").dump_json());
}

const Run& reference() {
  static Run ref = [] {
    Run r = make_run("resume-ref");
    Proc p = spawn(r.args(), r.dir);
    int rc = wait_for(p);
    if (rc != 0) FAIL("reference run failed (", rc, "): ", read_file(p.err));
    return r;
  }();
  return ref;
}

}  // namespace

TEST_CASE("SIGKILL after a checkpoint, mid-window and while writing a checkpoint; resume is bit-exact") {
  const Run& ref = reference();
  Value ms = read_json_file(ref.out + "/metrics.json");
  const int64_t total = ms.at("steps").as_int();
  REQUIRE(total == 16);  // 128 rows / 16 = 8 micro-batches x 6 epochs = 48, / 3 per step

  Run r = make_run("resume-kill");
  // 1. killed right after the first checkpoint appeared: the run is inside step 3's window
  Proc p = spawn(r.args(), r.dir);
  REQUIRE(wait_until(p, [&] { return has_checkpoint(r.ckpt, 2); }));
  ::kill(p.pid, SIGKILL);
  CHECK(wait_for(p) == 128 + SIGKILL);
  CHECK_FALSE(fs::exists(r.out + "/model.safetensors"));

  // 2. resumed, then killed while a checkpoint is being written (a hidden temp dir exists)
  p = spawn(r.args({"--resume", "latest"}), r.dir);
  bool killed_writing = wait_until(p, [&] { return writing_checkpoint(r.ckpt) && !has_checkpoint(r.ckpt, 8); });
  if (killed_writing) {
    ::kill(p.pid, SIGKILL);
    CHECK(wait_for(p) == 128 + SIGKILL);
  }
  // every committed checkpoint is complete; a leftover temp dir is not a checkpoint
  for (const auto& [step, dir] : list_checkpoints(r.ckpt)) CHECK_MESSAGE(verify_checkpoint(dir).empty(), dir);

  // 3. resumed, killed after the step-8 checkpoint (mid-epoch: 8 steps = 24 micro-batches = 3 epochs; step 9
  //    starts epoch 4), then resumed to the end
  if (!has_checkpoint(r.ckpt, 16)) {
    p = spawn(r.args({"--resume", "latest"}), r.dir);
    if (wait_until(p, [&] { return has_checkpoint(r.ckpt, 8); })) {
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
      ::kill(p.pid, SIGKILL);
      wait_for(p);
    }
  }
  p = spawn(r.args({"--resume", "latest"}), r.dir);
  int rc = wait_for(p);
  INFO(read_file(p.err));
  REQUIRE(rc == 0);
  Value out = parse_json(read_file(p.out).substr(0, read_file(p.out).find("\n}") + 2), p.out);
  CHECK(out.at("resumed_from_step").as_int() >= 2);
  check_same_model(ref.out, r.out);
  // keep = 3: the newest three remain, the last one is the end of the run
  auto all = list_checkpoints(r.ckpt);
  REQUIRE(all.size() == 3);
  CHECK(all.back().first == 16);
  CHECK(fs::exists(all.back().second + "/resolved_recipe.toml"));
  CHECK(fs::exists(all.back().second + "/config.json"));  // a checkpoint is a model directory too
  CHECK(fs::exists(all.back().second + "/best.safetensors"));
}

TEST_CASE("SIGTERM: the step is finished, a checkpoint written, exit status 5; resume completes identically") {
  const Run& ref = reference();
  Run r = make_run("resume-term");
  Proc p = spawn(r.args(), r.dir);
  REQUIRE(wait_until(p, [&] { return has_checkpoint(r.ckpt, 2); }));
  ::kill(p.pid, SIGTERM);
  int rc = wait_for(p);
  std::string err = read_file(p.err);
  INFO(err);
  if (rc == 0) {
    MESSAGE("the run finished before SIGTERM arrived; nothing to check");
    return;
  }
  REQUIRE(rc == kExitInterrupted);
  CHECK(err.find("stopped by SIGTERM") != std::string::npos);
  CHECK(err.find("--resume latest") != std::string::npos);
  auto all = list_checkpoints(r.ckpt);
  REQUIRE(all.size() >= 2);
  CHECK(verify_checkpoint(all.back().second).empty());
  Value st = read_json_file(all.back().second + "/trainer_state.json");
  CHECK(st.at("reason").as_string() == "signal SIGTERM");
  CHECK(st.at("accumulation_phase").as_int() == 0);
  CHECK_FALSE(fs::exists(r.out + "/model.safetensors"));

  p = spawn(r.args({"--resume", "latest"}), r.dir);
  rc = wait_for(p);
  INFO(read_file(p.err));
  REQUIRE(rc == 0);
  check_same_model(ref.out, r.out);
}

TEST_CASE("--resume errors: nothing to resume, a directory that is not a checkpoint") {
  Run r = make_run("resume-none");
  auto res = test::run_graft(cat("train '", test::fixture("training/tiny/recipe.toml"), "' --set 'run.output_dir=\"", r.out,
                                 "\"' --resume latest"));
  CHECK(res.exit_code == 2);
  CHECK(res.err.find("no complete checkpoint in") != std::string::npos);
  CHECK(res.err.find("model-checkpoints") != std::string::npos);  // the default: <output_dir>-checkpoints
  res = test::run_graft(cat("train '", test::fixture("training/tiny/recipe.toml"), "' --set 'run.output_dir=\"", r.out,
                            "\"' --resume '", r.dir, "'"));
  CHECK(res.exit_code == 2);
  CHECK(res.err.find("not a usable checkpoint: checkpoint.json is missing") != std::string::npos);
}

TEST_CASE("--dry-run: one step, time and peak memory, nothing written") {
  Run r = make_run("dry-run");
  auto res = test::run_graft(cat("--threads 1 train '", test::fixture("training/tiny/recipe.toml"), "' --set 'run.output_dir=\"",
                                 r.out, "\"' --set checkpoint.every=1 --dry-run"));
  INFO(res.err);
  REQUIRE(res.exit_code == 0);
  Value d = parse_json(res.out, "stdout");
  CHECK(d.at("dry_run").as_bool());
  CHECK(d.at("step_seconds").as_double() > 0.0);
  CHECK(d.at("peak_rss_mb").as_double() > 10.0);
  CHECK(d.at("samples").as_int() == 16);
  CHECK(d.at("tokens").as_int() > 16);
  CHECK(std::isfinite(d.at("loss").as_double()));
  CHECK(res.err.find("dry run: one optimizer step took") != std::string::npos);
  CHECK_FALSE(fs::exists(r.out));
  CHECK_FALSE(fs::exists(r.out + "-checkpoints"));
}
