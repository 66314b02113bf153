// Optimizers (torch AdamW, HF AdamW, BERT AdamW, Adam, SGD, LAMB), HF no-decay groups, gradient
// clipping, layer depths and layer-wise decay, the fp16 loss scaler.
// The end-to-end check against PyTorch/transformers is trainer_golden_test.cpp.
#include <graft/core/optim.h>
#include <graft/error.h>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

using namespace graft;
using namespace graft::core;

namespace {

struct Toy : torch::nn::Module {
  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  Toy() {
    dense = register_module("dense", torch::nn::Linear(3, 2));
    norm = register_module("ln_custom_name", torch::nn::LayerNorm(torch::nn::LayerNormOptions({2})));
  }
};

OptimizerSection opts(const std::string& type, double lr, double wd) {
  OptimizerSection o;
  o.type = type;
  o.lr = lr;
  o.weight_decay = wd;
  return o;
}

/// Runs 3 steps of `type` on p (gradient g_t = p * t + 0.1 recomputed each step) and returns p.
std::vector<double> run(const std::string& type, const std::vector<double>& p0, double lr, double wd) {
  auto p = torch::tensor(p0, torch::kFloat64).requires_grad_(true);
  auto opt = make_optimizer({NamedParameter{"w", p, true}}, opts(type, lr, wd));
  for (int t = 1; t <= 3; ++t) {
    opt->zero_grad();
    (p * p * (0.5 * t) + p * 0.1).sum().backward();
    opt->step();
  }
  auto a = p.detach();
  return std::vector<double>(a.data_ptr<double>(), a.data_ptr<double>() + a.numel());
}

/// Reference formulas (training golden README, in double).
std::vector<double> reference(bool hf, std::vector<double> p, double lr, double wd) {
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  std::vector<double> m(p.size(), 0), v(p.size(), 0);
  for (int t = 1; t <= 3; ++t) {
    for (size_t i = 0; i < p.size(); ++i) {
      double g = p[i] * t + 0.1;
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
      if (hf) {
        p[i] -= lr * std::sqrt(bc2) / bc1 * m[i] / (std::sqrt(v[i]) + eps);
        p[i] -= lr * wd * p[i];
      } else {
        p[i] *= 1 - lr * wd;  // applied before the update, with the moments of this step's g
        p[i] -= lr / bc1 * m[i] / (std::sqrt(v[i]) / std::sqrt(bc2) + eps);
      }
    }
  }
  return p;
}

}  // namespace

TEST_CASE("HF no-decay rule: biases and LayerNorm parameters") {
  CHECK(no_decay_parameter("bert.encoder.layer.0.attention.self.key.bias"));
  CHECK(no_decay_parameter("bert.embeddings.LayerNorm.weight"));
  CHECK(no_decay_parameter("bert.encoder.layer.1.output.LayerNorm.weight"));
  CHECK_FALSE(no_decay_parameter("bert.embeddings.word_embeddings.weight"));
  CHECK_FALSE(no_decay_parameter("classifier.weight"));
  CHECK_FALSE(no_decay_parameter("bert.pooler.dense.weight"));
  CHECK(no_decay_parameter("x.weight", /*in_layer_norm=*/true));

  Toy toy;
  auto groups = decay_groups(toy);
  REQUIRE(groups.size() == 4);
  std::map<std::string, bool> decay;
  for (const auto& g : groups) decay[g.name] = g.decay;
  CHECK(decay.at("dense.weight"));
  CHECK_FALSE(decay.at("dense.bias"));
  CHECK_FALSE(decay.at("ln_custom_name.weight"));  // found by module type, not by name
  CHECK_FALSE(decay.at("ln_custom_name.bias"));
}

TEST_CASE("torch AdamW and HF AdamW follow their formulas") {
  std::vector<double> p0{0.5, -1.25, 2.0};
  for (bool hf : {false, true}) {
    CAPTURE(hf);
    auto got = run(hf ? "hf_adamw" : "adamw", p0, 1e-2, 0.1);
    auto want = reference(hf, p0, 1e-2, 0.1);
    for (size_t i = 0; i < p0.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-12));
  }
  // the two differ when weight decay is on
  CHECK(run("adamw", p0, 1e-2, 0.1)[2] != doctest::Approx(run("hf_adamw", p0, 1e-2, 0.1)[2]).epsilon(1e-9));
}

TEST_CASE("Adam (L2 decay) and SGD with momentum") {
  auto p = torch::tensor(std::vector<double>{1.0}, torch::kFloat64).requires_grad_(true);
  auto o = opts("sgd", 0.1, 0.0);
  o.momentum = 0.9;
  auto sgd = make_optimizer({NamedParameter{"w", p, true}}, o);
  for (int t = 0; t < 2; ++t) {
    sgd->zero_grad();
    (p * 2.0).sum().backward();  // g = 2
    sgd->step();
  }
  // buf1 = 2, p = 0.8; buf2 = 0.9*2 + 2 = 3.8, p = 0.8 - 0.38
  CHECK(p.item<double>() == doctest::Approx(0.42));

  auto q = torch::tensor(std::vector<double>{1.0}, torch::kFloat64).requires_grad_(true);
  auto adam = make_optimizer({NamedParameter{"w", q, true}}, opts("adam", 0.1, 0.5));
  adam->zero_grad();
  (q * 0.0).sum().backward();  // g = 0, L2 adds wd*p = 0.5
  adam->step();
  // first Adam step moves by lr * sign(g) (up to eps)
  CHECK(q.item<double>() == doctest::Approx(0.9).epsilon(1e-6));
}

TEST_CASE("parameters without a gradient and lr changes") {
  auto a = torch::ones({2}, torch::kFloat32).requires_grad_(true);
  auto b = torch::ones({2}, torch::kFloat32).requires_grad_(true);
  auto opt = make_optimizer({NamedParameter{"a", a, true}, NamedParameter{"b", b, true}}, opts("adamw", 0.1, 0.0));
  (a * 3).sum().backward();
  opt->set_lr(0.0);
  opt->step();
  CHECK(torch::equal(a.detach(), torch::ones({2})));  // lr 0: nothing moves
  CHECK(opt->steps() == 1);
  opt->set_lr(0.1);
  opt->step();
  CHECK(a.detach()[0].item<float>() == doctest::Approx(0.9f));
  CHECK(torch::equal(b.detach(), torch::ones({2})));  // no gradient: untouched
  auto st = opt->state();
  CHECK(st.count("a.exp_avg") == 1);
  CHECK(st.count("b.exp_avg") == 0);
  CHECK(st.at("__step").item<int64_t>() == 2);
}

TEST_CASE("optimizer state round trip continues identically") {
  auto make = [](torch::Tensor p) { return make_optimizer({NamedParameter{"w", p, true}}, opts("hf_adamw", 0.05, 0.01)); };
  auto p1 = torch::tensor(std::vector<float>{1.0f, -2.0f}).requires_grad_(true);
  auto o1 = make(p1);
  for (int i = 0; i < 2; ++i) {
    o1->zero_grad();
    (p1 * p1).sum().backward();
    o1->step();
  }
  auto p2 = p1.detach().clone().requires_grad_(true);
  auto o2 = make(p2);
  o2->load_state(o1->state());
  for (auto* pr : {&p1, &p2}) {
    (*pr).mutable_grad() = torch::Tensor();
    ((*pr) * (*pr)).sum().backward();
  }
  o1->step();
  o2->step();
  CHECK(torch::equal(p1.detach(), p2.detach()));
}

TEST_CASE("gradient clipping: total L2 norm, coef max/(total+1e-6) when < 1") {
  auto a = torch::zeros({2}).requires_grad_(true);
  auto b = torch::zeros({1}).requires_grad_(true);
  a.mutable_grad() = torch::tensor(std::vector<float>{3.0f, 0.0f});
  b.mutable_grad() = torch::tensor(std::vector<float>{4.0f});
  std::vector<NamedParameter> ps{{"a", a, true}, {"b", b, true}};
  CHECK(clip_grad_norm(ps, 0.0) == doctest::Approx(5.0));  // disabled: norm only
  CHECK(a.grad()[0].item<float>() == 3.0f);
  CHECK(clip_grad_norm(ps, 10.0) == doctest::Approx(5.0));  // coef > 1: unchanged
  CHECK(a.grad()[0].item<float>() == 3.0f);
  CHECK(clip_grad_norm(ps, 1.0) == doctest::Approx(5.0));
  CHECK(a.grad()[0].item<float>() == doctest::Approx(3.0 / (5.0 + 1e-6)));
  CHECK(b.grad()[0].item<float>() == doctest::Approx(4.0 / (5.0 + 1e-6)));
}

TEST_CASE("unknown optimizer type is a ConfigError") {
  auto p = torch::zeros({1}).requires_grad_(true);
  CHECK_THROWS_AS(make_optimizer({NamedParameter{"w", p, true}}, opts("adamax", 0.1, 0.0)), ConfigError);
  CHECK_THROWS_AS(make_optimizer({NamedParameter{"w", p, true}}, opts("adamw", -1.0, 0.0)), ConfigError);
}

// ---------------------------------------------------------------------------------------------
// BERT AdamW (no bias correction), LAMB, SGD Nesterov, lr multipliers, layer depths, loss scaler

TEST_CASE("bert_adamw: transformers AdamW with correct_bias=False") {
  std::vector<double> p0{0.5, -1.25, 2.0};
  const double lr = 1e-2, wd = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  auto got = run("bert_adamw", p0, lr, wd);
  std::vector<double> p = p0, m(3, 0), v(3, 0);
  for (int t = 1; t <= 3; ++t)
    for (size_t i = 0; i < 3; ++i) {
      double g = p[i] * t + 0.1;
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      p[i] -= lr * m[i] / (std::sqrt(v[i]) + eps);
      p[i] -= lr * wd * p[i];
    }
  for (size_t i = 0; i < 3; ++i) CHECK(got[i] == doctest::Approx(p[i]).epsilon(1e-12));
  // step 1 by hand: m = 0.1 g, sqrt(v) = 0.0316 |g| → the update is lr * 3.1623 * sign(g), not lr
  auto q = torch::tensor(std::vector<double>{1.0}, torch::kFloat64).requires_grad_(true);
  auto opt = make_optimizer({NamedParameter{"w", q, true}}, opts("bert_adamw", 0.01, 0.0));
  (q * 2.0).sum().backward();
  opt->step();
  CHECK(q.item<double>() == doctest::Approx(1.0 - 0.01 * 0.2 / (std::sqrt(0.004) + 1e-8)).epsilon(1e-12));
  CHECK(q.item<double>() == doctest::Approx(1.0 - 0.01 * 0.1 / std::sqrt(0.001)).epsilon(1e-7));
}

TEST_CASE("LAMB: trust ratio ||p|| / ||update||, by hand and against the formula") {
  // one step, p = [3, 4] (norm 5), g = [1, 1]: m̂ = g, v̂ = g², u ≈ [1, 1] (norm √2)
  auto p = torch::tensor(std::vector<double>{3.0, 4.0}, torch::kFloat64).requires_grad_(true);
  auto opt = make_optimizer({NamedParameter{"w", p, true}}, opts("lamb", 0.1, 0.0));
  p.mutable_grad() = torch::tensor(std::vector<double>{1.0, 1.0}, torch::kFloat64);
  opt->step();
  const double delta = 0.1 * 5.0 / std::sqrt(2.0);  // 0.353553...
  CHECK(p[0].item<double>() == doctest::Approx(3.0 - delta).epsilon(1e-7));
  CHECK(p[1].item<double>() == doctest::Approx(4.0 - delta).epsilon(1e-7));

  // three steps with weight decay vs the algorithm in double
  std::vector<double> p0{0.5, -1.25, 2.0};
  const double lr = 1e-2, wd = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  auto got = run("lamb", p0, lr, wd);
  std::vector<double> w = p0, m(3, 0), v(3, 0);
  for (int t = 1; t <= 3; ++t) {
    std::vector<double> u(3);
    double wn = 0, un = 0;
    for (size_t i = 0; i < 3; ++i) {
      double g = w[i] * t + 0.1;
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      u[i] = (m[i] / (1 - std::pow(b1, t))) / (std::sqrt(v[i] / (1 - std::pow(b2, t))) + eps) + wd * w[i];
      wn += w[i] * w[i];
      un += u[i] * u[i];
    }
    double trust = std::sqrt(wn) / std::sqrt(un);
    for (size_t i = 0; i < 3; ++i) w[i] -= lr * trust * u[i];
  }
  for (size_t i = 0; i < 3; ++i) CHECK(got[i] == doctest::Approx(w[i]).epsilon(1e-12));

  // a zero parameter: ratio 1 (plain Adam-like step of size lr)
  auto z = torch::zeros({2}, torch::kFloat64).requires_grad_(true);
  auto oz = make_optimizer({NamedParameter{"z", z, true}}, opts("lamb", 0.1, 0.0));
  z.mutable_grad() = torch::tensor(std::vector<double>{2.0, -2.0}, torch::kFloat64);
  oz->step();
  CHECK(z[0].item<double>() == doctest::Approx(-0.1).epsilon(1e-6));
  CHECK(z[1].item<double>() == doctest::Approx(0.1).epsilon(1e-6));
}

TEST_CASE("SGD with Nesterov momentum (torch.optim.SGD)") {
  auto p = torch::tensor(std::vector<double>{1.0}, torch::kFloat64).requires_grad_(true);
  auto o = opts("sgd", 0.1, 0.0);
  o.momentum = 0.9;
  o.nesterov = true;
  auto sgd = make_optimizer({NamedParameter{"w", p, true}}, o);
  std::vector<double> seen;
  for (int t = 0; t < 2; ++t) {
    sgd->zero_grad();
    (p * 2.0).sum().backward();  // g = 2
    sgd->step();
    seen.push_back(p.item<double>());
  }
  // buf1 = 2, d = 2 + 0.9*2 = 3.8 → 0.62; buf2 = 3.8, d = 2 + 0.9*3.8 = 5.42 → 0.078
  CHECK(seen[0] == doctest::Approx(0.62));
  CHECK(seen[1] == doctest::Approx(0.078));
  CHECK(sgd->state().count("w.momentum_buffer") == 1);
  o.momentum = 0.0;
  CHECK_THROWS_AS(make_optimizer({NamedParameter{"w", p, true}}, o), ConfigError);
}

TEST_CASE("every optimizer: state round trip continues bit for bit") {
  for (const char* type : {"adamw", "hf_adamw", "bert_adamw", "adam", "sgd", "lamb"}) {
    CAPTURE(type);
    auto o = opts(type, 0.05, 0.01);
    o.momentum = 0.5;
    auto p1 = torch::tensor(std::vector<float>{1.0f, -2.0f, 0.25f}).requires_grad_(true);
    auto o1 = make_optimizer({NamedParameter{"w", p1, true}}, o);
    for (int i = 0; i < 3; ++i) {
      o1->zero_grad();
      (p1 * p1 * p1).sum().backward();
      o1->step();
    }
    auto p2 = p1.detach().clone().requires_grad_(true);
    auto o2 = make_optimizer({NamedParameter{"w", p2, true}}, o);
    o2->load_state(o1->state());
    CHECK(o2->steps() == 3);
    for (auto* pr : {&p1, &p2}) {
      (*pr).mutable_grad() = torch::Tensor();
      ((*pr) * (*pr) * (*pr)).sum().backward();
    }
    o1->step();
    o2->step();
    CHECK(torch::equal(p1.detach(), p2.detach()));
  }
  // a state with a missing slot or a wrong shape is refused
  auto p = torch::ones({2}).requires_grad_(true);
  auto o = make_optimizer({NamedParameter{"w", p, true}}, opts("adamw", 0.1, 0.0));
  std::map<std::string, torch::Tensor> bad{{"w.exp_avg", torch::zeros({2})}, {"__step", torch::tensor(int64_t{1})}};
  CHECK_THROWS_AS(o->load_state(bad), FormatError);
  bad["w.exp_avg_sq"] = torch::zeros({3});
  CHECK_THROWS_AS(o->load_state(bad), FormatError);
}

TEST_CASE("layer depths from parameter names and layer-wise lr decay") {
  CHECK(encoder_layer_index("bert.encoder.layer.11.attention.self.query.weight") == 11);
  CHECK(encoder_layer_index("distilbert.transformer.layer.5.ffn.lin1.weight") == 5);
  CHECK(encoder_layer_index("albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight") == 0);
  CHECK_FALSE(encoder_layer_index("bert.embeddings.word_embeddings.weight").has_value());
  CHECK_FALSE(encoder_layer_index("bert.encoder.layer.x.weight").has_value());
  CHECK(is_embedding_parameter("bert.embeddings.LayerNorm.weight"));
  CHECK_FALSE(is_embedding_parameter("bert.pooler.dense.weight"));
  CHECK_FALSE(is_embedding_parameter("heads.t.embeddings.weight"));

  std::vector<NamedParameter> ps;
  for (const char* n : {"bert.embeddings.word_embeddings.weight", "bert.encoder.layer.0.attention.self.query.weight",
                        "bert.encoder.layer.1.output.dense.bias", "bert.pooler.dense.weight", "heads.sent.classifier.weight"})
    ps.push_back(NamedParameter{n, torch::zeros({1}), true});
  CHECK(count_encoder_layers(ps) == 2);
  CHECK(parameter_depth(ps[0].name, 2) == 0);
  CHECK(parameter_depth(ps[1].name, 2) == 1);
  CHECK(parameter_depth(ps[2].name, 2) == 2);
  CHECK(parameter_depth(ps[3].name, 2) == 3);
  CHECK(parameter_depth(ps[4].name, 2) == 3);
  apply_layer_decay(ps, 0.5);
  std::vector<double> scales;
  for (const auto& p : ps) scales.push_back(p.lr_scale);
  CHECK(scales == std::vector<double>{0.125, 0.25, 0.5, 1.0, 1.0});
  CHECK_THROWS_AS(apply_layer_decay(ps, 0.0), ConfigError);

  // the optimizer applies the multiplier: SGD, g = 1, lr 0.1
  auto a = torch::zeros({1}, torch::kFloat64).requires_grad_(true);
  auto b = torch::zeros({1}, torch::kFloat64).requires_grad_(true);
  auto sgd = make_optimizer({NamedParameter{"a", a, true, 0.25}, NamedParameter{"b", b, true, 1.0}}, opts("sgd", 0.1, 0.0));
  (a + b).sum().backward();
  sgd->step();
  CHECK(a.item<double>() == doctest::Approx(-0.025));
  CHECK(b.item<double>() == doctest::Approx(-0.1));
}

TEST_CASE("loss scaler: scale, unscale, skip on inf/nan, backoff and growth") {
  LossScaler s(LossScalerOptions{8.0, 2.0, 0.5, 2});
  CHECK(s.scale(torch::tensor(3.0)).item<double>() == 24.0);
  auto a = torch::zeros({2}).requires_grad_(true);
  auto b = torch::zeros({2}).requires_grad_(true);
  std::vector<NamedParameter> ps{{"a", a, true}, {"b", b, true}};
  a.mutable_grad() = torch::tensor(std::vector<float>{8.0f, 16.0f});
  CHECK_FALSE(s.unscale(ps));  // b has no gradient: ignored
  CHECK(torch::equal(a.grad(), torch::tensor(std::vector<float>{1.0f, 2.0f})));
  s.update(false);
  CHECK(s.current_scale() == 8.0);
  CHECK(s.growth_tracker() == 1);
  s.update(false);  // growth_interval clean steps → ×2
  CHECK(s.current_scale() == 16.0);
  CHECK(s.growth_tracker() == 0);

  b.mutable_grad() = torch::tensor(std::vector<float>{std::numeric_limits<float>::infinity(), 1.0f});
  a.mutable_grad() = torch::tensor(std::vector<float>{16.0f, 16.0f});
  CHECK(s.unscale(ps));
  CHECK(a.grad()[0].item<float>() == 1.0f);  // still unscaled
  s.update(true);
  CHECK(s.current_scale() == 8.0);
  CHECK(s.skipped_steps() == 1);
  s.update(false);
  b.mutable_grad() = torch::tensor(std::vector<float>{std::nanf(""), 1.0f});
  CHECK(s.unscale(ps));
  s.update(true);  // the tracker restarts after an overflow
  CHECK(s.current_scale() == 4.0);
  CHECK(s.growth_tracker() == 0);
  CHECK(s.skipped_steps() == 2);
  CHECK_THROWS_AS(LossScaler(LossScalerOptions{0.0, 2.0, 0.5, 1}), ConfigError);
  CHECK_THROWS_AS(s.set_state(-1.0, 0, 0), FormatError);
}
