// Freezing (embeddings, first N layers, the whole LM for N steps) and layer-wise lr decay on the
// training golden's tiny BERT.
#include "test_support.h"

#include <graft/core/model_dir.h>
#include <graft/core/registry.h>
#include <graft/core/trainer.h>
#include <graft/core/weights.h>
#include <graft/error.h>

#include <doctest/doctest.h>

using namespace graft;
using namespace graft::core;

namespace {

struct Golden {
  ModelBundle bundle;
  StateDict batches;
  std::string task;
  Golden() {
    Registry& reg = Registry::global({test::plugin_dir()});
    bundle = load_model_dir(test::fixture("training/initial"), reg);
    batches = read_safetensors(test::fixture("training/batches.safetensors"));
    task = bundle.tasks[0].name;
  }
  Batch batch(int64_t s) const {
    Batch b;
    for (const char* k : {"input_ids", "attention_mask", "token_type_ids"}) b.tensors[k] = batches.at(k)[s].to(torch::kLong);
    b.tensors[task + "/label_ids"] = batches.at("labels")[s].to(torch::kLong);
    return b;
  }
};

TrainerOptions base() {
  TrainerOptions o;
  o.optimizer.lr = 1e-2;
  o.schedule.type = "constant";
  o.schedule.warmup = 0;
  return o;
}

bool moved(const std::map<std::string, torch::Tensor>& a, const std::map<std::string, torch::Tensor>& b,
           const std::string& key) {
  return !torch::equal(a.at(key), b.at(key));
}

}  // namespace

TEST_CASE("freeze embeddings and the first layer; the rest trains") {
  Golden g;
  auto& m = *g.bundle.model;
  auto before = m.snapshot();
  auto o = base();
  o.training.freeze_embeddings = true;
  o.training.freeze_layers = 1;
  Trainer t(m, o);
  t.set_total_steps(2);
  for (const auto& p : t.optimizer().parameters()) {
    CHECK(p.name.find("embeddings") == std::string::npos);
    CHECK(p.name.find("encoder.layer.0.") == std::string::npos);
  }
  t.train_step({TaskBatch{g.task, g.batch(0)}});
  t.train_step({TaskBatch{g.task, g.batch(1)}});
  auto after = m.snapshot();
  for (const auto& [k, v] : before) {
    CAPTURE(k);
    bool frozen = k.find("embeddings") != std::string::npos || k.find("encoder.layer.0.") != std::string::npos;
    if (frozen) CHECK(torch::equal(v, after.at(k)));
  }
  CHECK(moved(before, after, "bert.encoder.layer.1.attention.self.query.weight"));
  CHECK(moved(before, after, "heads." + g.task + ".classifier.weight"));

  auto bad = base();
  bad.training.freeze_layers = 99;
  Golden g2;
  CHECK_THROWS_AS(Trainer(*g2.bundle.model, bad), ConfigError);
}

TEST_CASE("the whole language model frozen for the first N steps, then unfrozen") {
  Golden g;
  auto& m = *g.bundle.model;
  auto o = base();
  o.training.freeze_language_model_steps = 2;
  Trainer t(m, o);
  t.set_total_steps(3);
  auto s0 = m.snapshot();
  t.train_step({TaskBatch{g.task, g.batch(0)}});
  t.train_step({TaskBatch{g.task, g.batch(1)}});
  auto s2 = m.snapshot();
  CHECK_FALSE(moved(s0, s2, "bert.encoder.layer.0.attention.self.query.weight"));
  CHECK_FALSE(moved(s0, s2, "bert.embeddings.word_embeddings.weight"));
  CHECK(moved(s0, s2, "heads." + g.task + ".classifier.weight"));
  t.train_step({TaskBatch{g.task, g.batch(2)}});
  auto s3 = m.snapshot();
  CHECK(moved(s2, s3, "bert.encoder.layer.0.attention.self.query.weight"));
  CHECK(moved(s2, s3, "bert.embeddings.word_embeddings.weight"));
}

TEST_CASE("layer-wise lr decay sets each parameter's multiplier from its depth") {
  Golden g;
  auto o = base();
  o.optimizer.layer_decay = 0.5;
  Trainer t(*g.bundle.model, o);
  const int64_t layers = count_encoder_layers(t.optimizer().parameters());
  REQUIRE(layers >= 2);
  for (const auto& p : t.optimizer().parameters()) {
    CAPTURE(p.name);
    if (p.name.rfind("heads.", 0) == 0 || p.name.find("pooler") != std::string::npos) CHECK(p.lr_scale == 1.0);
    else if (p.name.find("embeddings") != std::string::npos) CHECK(p.lr_scale == std::pow(0.5, layers + 1));
    else if (p.name.find("encoder.layer.0.") != std::string::npos) CHECK(p.lr_scale == std::pow(0.5, layers));
  }
}
