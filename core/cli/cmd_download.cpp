// graft download REPO_ID [--revision R] [--include GLOB]...
// Fills the Hugging Face cache with a hub model and prints its snapshot directory.
#include "cli.h"

#include <graft/core/hub.h>
#include <graft/error.h>

#include <boost/program_options.hpp>

#include <iostream>

namespace graft::cli {
namespace {

namespace po = boost::program_options;

int run_download(CliContext&, const std::vector<std::string>& args) {
  std::string repo, revision;
  core::hub::SnapshotOptions so;
  po::options_description visible(
      "usage: graft download REPO_ID[@REVISION] [--revision R] [--include GLOB]...\n\n"
      "Downloads a model from the Hugging Face hub into the local HF cache (HF_HUB_CACHE, else\n"
      "HF_HOME/hub, else ~/.cache/huggingface/hub; shared with transformers) and prints the snapshot\n"
      "directory, which every graft command accepts as MODEL. By default only the files graft uses\n"
      "are fetched: config.json, graft.toml, tokenizer files and one weights format (model.safetensors\n"
      "or its shards, else pytorch_model.bin or its shards). Interrupted downloads resume.\n"
      "Environment: HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE=1 (cache only),\n"
      "HF_HUB_DISABLE_PROGRESS_BARS=1.\n\noptions");
  visible.add_options()
      ("help,h", "this text")
      ("revision", po::value(&revision)->value_name("R"), "branch, tag or commit (default main)")
      ("include", po::value(&so.include)->value_name("GLOB")->composing(),
       "only files matching GLOB (repeatable; '*' for every file of the repo)");
  po::options_description hidden;
  hidden.add_options()("repo", po::value(&repo), "repo id");
  po::options_description all;
  all.add(visible).add(hidden);
  po::positional_options_description positional;
  positional.add("repo", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw ConfigError(cat("graft download: ", e.what(), " (see graft download --help)"));
  }
  if (vm.count("help")) {
    std::cout << visible << "\n";
    return 0;
  }
  if (repo.empty()) throw ConfigError("graft download: REPO_ID is required (see graft download --help)");
  auto ref = core::hub::parse_repo_id(repo);
  if (!ref) throw ConfigError(cat("graft download: '", repo, "' is not a hub repo id (expected org/name or org/name@revision)"));
  if (!revision.empty()) {
    if (repo.find('@') != std::string::npos && ref->revision != revision)
      throw ConfigError(cat("graft download: two revisions given ('", ref->revision, "' in the id, '", revision,
                            "' with --revision)"));
    ref->revision = revision;
  }
  auto cfg = core::hub::HubConfig::from_env();
  auto r = core::hub::download_snapshot(*ref, so, cfg);
  std::cout << r.dir << "\n";
  return 0;
}

GRAFT_CLI_COMMAND("download", "fetch a Hugging Face hub model into the local HF cache", run_download);

}  // namespace
}  // namespace graft::cli
