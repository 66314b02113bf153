// bench_attention: attention and encoder speed for the bert-base shape, fp32 and bf16 autocast.
//
//   bench_attention [--iters N] [--threads N] [--batch B] [--seq T] [--layers L] [--skip-encoder]
//
// 1. The machine's matmul peak, measured now: 2048³ matmuls in fp32 and bf16 (GFLOP/s).
// 2. The attention core alone ([B, 12, T, 64], a padded key mask) for every implementation
//    LibTorch offers here — the explicit matmul + softmax, baddbmm + softmax, the 1.13
//    at::_scaled_dot_product_attention and _masked_softmax — forward and forward+backward, with
//    the largest difference to the explicit float64 result (so a fast but wrong path shows).
//    "sdk" is graft::nn::scaled_dot_product, the path the encoders use.
// 3. The bert-base encoder (12 layers, hidden 768, 12 heads, intermediate 3072; graft::nn blocks,
//    batch 8 × 128 tokens, rows padded to 128/112/96/.. keys): forward and forward+backward time
//    and the achieved GFLOP/s against the measured peak of the same precision.
#include <graft/nn/attention.h>
#include <graft/nn/encoder.h>

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <thread>
#include <string>
#include <vector>

using namespace graft;
using Clock = std::chrono::steady_clock;

namespace {

int64_t g_iters = 5;

/// Best (minimum) seconds of `iters` runs after one warm-up: on a shared machine the minimum is
/// the run least disturbed by other processes.
double time_it(const std::function<void()>& fn, int64_t iters = -1) {
  if (iters < 0) iters = g_iters;
  fn();
  std::vector<double> t;
  for (int64_t i = 0; i < iters; ++i) {
    auto t0 = Clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return *std::min_element(t.begin(), t.end());
}

double matmul_peak(torch::ScalarType dt) {
  const int64_t n = 2048;
  auto a = torch::randn({n, n}).to(dt), b = torch::randn({n, n}).to(dt);
  torch::Tensor c;
  double s = time_it([&] { c = torch::matmul(a, b); }, std::max<int64_t>(3, g_iters));
  return 2.0 * n * n * n / s / 1e9;
}

struct Precision {
  const char* name;
  bool bf16;
};

/// CPU autocast to bf16 while alive (as the trainer's precision = "bf16"); the bench links only
/// the SDK, so it sets autocast itself.
struct Scope {
  explicit Scope(bool bf16) : on(bf16) {
    if (!on) return;
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
    at::autocast::increment_nesting();
  }
  ~Scope() {
    if (!on) return;
    at::autocast::set_cpu_enabled(false);
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  }
  bool on;
};

using AttnFn = std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                                           const torch::Tensor& additive, const torch::Tensor& bool_mask)>;

}  // namespace

int main(int argc, char** argv) {
  int64_t threads = 0, B = 8, T = 128, layers = 12;
  bool skip_encoder = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> int64_t {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return std::stoll(argv[++i]);
    };
    if (a == "--iters") g_iters = next();
    else if (a == "--threads") threads = next();
    else if (a == "--batch") B = next();
    else if (a == "--seq") T = next();
    else if (a == "--layers") layers = next();
    else if (a == "--skip-encoder") skip_encoder = true;
    else {
      std::fprintf(stderr, "unknown option %s (see the comment at the top of attention_bench.cpp)\n", a.c_str());
      return 2;
    }
  }
  at::set_num_threads(threads > 0 ? static_cast<int>(threads)
                                  : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  torch::manual_seed(0);
  torch::NoGradGuard outer_ng;  // re-enabled where gradients are wanted
  const int64_t H = 768, heads = 12, D = H / heads, I = 3072;
  std::printf("bench_attention: LibTorch %s, %d threads, best of %lld iterations\n", TORCH_VERSION, at::get_num_threads(),
              (long long)g_iters);

  const double peak_fp32 = matmul_peak(torch::kFloat32), peak_bf16 = matmul_peak(torch::kBFloat16);
  std::printf("matmul 2048^3 peak: fp32 %.0f GFLOP/s, bf16 %.0f GFLOP/s\n\n", peak_fp32, peak_bf16);

  // Padded keys: row r has T - 16·r real tokens (at least 16).
  auto mask01 = torch::ones({B, T}, torch::kLong);
  for (int64_t r = 0; r < B; ++r) mask01[r].slice(0, std::max<int64_t>(16, T - 16 * r)).zero_();
  auto additive = nn::extended_attention_mask(mask01, torch::kFloat32);           // [B,1,1,T]
  auto bool_mask = (mask01 == 0).view({B, 1, 1, T}).expand({B, heads, T, T}).contiguous();  // true = masked key

  // --- 2. attention core -------------------------------------------------------------------
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  std::vector<std::pair<std::string, AttnFn>> impls;
  impls.emplace_back("sdk (graft::nn)", [](const auto& q, const auto& k, const auto& v, const auto& add, const auto&) {
    return nn::scaled_dot_product(q, k, v, add, 0.0, false, false).first;
  });
  impls.emplace_back("matmul+softmax", [&](const auto& q, const auto& k, const auto& v, const auto& add, const auto&) {
    auto s = torch::matmul(q, k.transpose(-1, -2)) * scale + add.to(q.scalar_type());
    return torch::matmul(torch::softmax(s, -1), v);
  });
  impls.emplace_back("baddbmm+softmax", [&](const auto& q, const auto& k, const auto& v, const auto& add, const auto&) {
    const int64_t b = q.size(0), h = q.size(1), t = q.size(2), d = q.size(3);
    auto m = add.to(q.scalar_type()).expand({b, h, t, t}).reshape({b * h, t, t});
    auto s = torch::baddbmm(m, q.reshape({b * h, t, d}), k.reshape({b * h, t, d}).transpose(1, 2), 1.0, scale);
    return torch::bmm(torch::softmax(s, -1), v.reshape({b * h, t, d})).view({b, h, t, d});
  });
  impls.emplace_back("baddbmm (mask [BH,1,T]) + softmax", [&](const auto& q, const auto& k, const auto& v, const auto& add, const auto&) {
    const int64_t b = q.size(0), h = q.size(1), t = q.size(2), d = q.size(3);
    auto m = add.to(q.scalar_type()).expand({b, h, 1, t}).reshape({b * h, 1, t});
    auto s = torch::baddbmm(m, q.reshape({b * h, t, d}), k.reshape({b * h, t, d}).transpose(1, 2), 1.0, scale);
    return torch::bmm(torch::softmax(s, -1), v.reshape({b * h, t, d})).view({b, h, t, d});
  });
  impls.emplace_back("_masked_softmax (key padding)", [&](const auto& q, const auto& k, const auto& v, const auto&, const auto& bm) {
    auto s = torch::matmul(q, k.transpose(-1, -2)) * scale;
    return torch::matmul(at::_masked_softmax(s, bm, 3, 1), v);
  });
#if TORCH_VERSION_MAJOR < 2
  impls.emplace_back("at::_scaled_dot_product_attention (1.13)",
                     [](const auto& q, const auto& k, const auto& v, const auto& add, const auto&) {
                       return std::get<0>(at::_scaled_dot_product_attention(q, k, v, add.to(q.scalar_type()), 0.0, false, false));
                     });
#else
  impls.emplace_back("at::scaled_dot_product_attention", [](const auto& q, const auto& k, const auto& v, const auto& add, const auto&) {
    return at::scaled_dot_product_attention(q, k, v, add.to(q.scalar_type()), 0.0, false);
  });
#endif

  auto q0 = torch::randn({B, heads, T, D}), k0 = torch::randn({B, heads, T, D}), v0 = torch::randn({B, heads, T, D});
  auto exact = torch::matmul(torch::softmax(torch::matmul(q0.to(torch::kDouble), k0.to(torch::kDouble).transpose(-1, -2)) * scale +
                                                additive.to(torch::kDouble),
                                            -1),
                             v0.to(torch::kDouble));
  const double core_flops = 4.0 * B * heads * T * T * D;
  std::printf("attention core [%lld, %lld, %lld, %lld], padded keys:\n", (long long)B, (long long)heads, (long long)T, (long long)D);
  std::printf("  %-42s %6s %10s %12s %10s\n", "implementation", "prec", "fwd ms", "fwd+bwd ms", "max|err|");
  // Rounds interleave the implementations so that load from other processes hits them alike;
  // each figure is the best round.
  for (const Precision p : {Precision{"fp32", false}, Precision{"bf16", true}}) {
    const size_t n = impls.size();
    std::vector<double> fwd(n, 1e30), both(n, 1e30), err(n, 0.0);
    std::vector<std::string> failed(n);
    auto q = p.bf16 ? q0.to(torch::kBFloat16) : q0, k = p.bf16 ? k0.to(torch::kBFloat16) : k0,
         v = p.bf16 ? v0.to(torch::kBFloat16) : v0;
    for (int64_t round = 0; round <= g_iters; ++round) {  // round 0 warms up
      for (size_t i = 0; i < n; ++i) {
        if (!failed[i].empty()) continue;
        try {
          Scope sc(p.bf16);
          auto t0 = Clock::now();
          torch::Tensor out = impls[i].second(q, k, v, additive, bool_mask);
          double tf = std::chrono::duration<double>(Clock::now() - t0).count();
          err[i] = (out.to(torch::kDouble) - exact).abs().max().item<double>();
          torch::AutoGradMode on(true);
          auto qg = q.detach().requires_grad_(), kg = k.detach().requires_grad_(), vg = v.detach().requires_grad_();
          t0 = Clock::now();
          impls[i].second(qg, kg, vg, additive, bool_mask).sum().backward();
          double tb = std::chrono::duration<double>(Clock::now() - t0).count();
          if (round > 0) {
            fwd[i] = std::min(fwd[i], tf);
            both[i] = std::min(both[i], tb);
          }
        } catch (const std::exception& e) {
          std::string what = e.what();
          failed[i] = what.substr(0, what.find('\n'));
        }
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (!failed[i].empty())
        std::printf("  %-42s %6s   unavailable: %.90s\n", impls[i].first.c_str(), p.name, failed[i].c_str());
      else
        std::printf("  %-42s %6s %10.2f %12.2f %10.1e  (fwd %.0f GFLOP/s)\n", impls[i].first.c_str(), p.name, fwd[i] * 1e3,
                    both[i] * 1e3, err[i], core_flops / fwd[i] / 1e9);
    }
  }
  std::printf("  fused attention kernel used by graft::nn on this build: %s\n\n",
              nn::fused_attention_available() ? "yes" : "no (explicit computation)");
  if (skip_encoder) return 0;

  // --- 3. bert-base encoder ----------------------------------------------------------------
  nn::EncoderLayerOptions lo;
  lo.attention.hidden_size = H;
  lo.attention.num_heads = heads;
  lo.attention.attention_dropout = 0.1;
  lo.attention.hidden_dropout = 0.1;
  lo.intermediate_size = I;
  lo.activation = nn::Activation::gelu;
  nn::Encoder enc(layers, lo);
  nn::init_bert_weights(*enc, 0.02);
  auto x0 = torch::randn({B, T, H});
  const double layer_flops = 2.0 * B * T * H * (4.0 * H + 2.0 * I) + 4.0 * B * T * T * H;
  const double fwd_flops = layers * layer_flops;
  std::printf("bert-base encoder: %lld layers, hidden %lld, %lld heads, intermediate %lld, batch %lld x %lld tokens, "
              "%.1f GFLOP forward (x3 for forward+backward)\n",
              (long long)layers, (long long)H, (long long)heads, (long long)I, (long long)B, (long long)T, fwd_flops / 1e9);
  std::printf("  %-6s %-14s %10s %10s %10s\n", "prec", "pass", "ms", "GFLOP/s", "% of peak");
  for (const Precision p : {Precision{"fp32", false}, Precision{"bf16", true}}) {
    const double peak = p.bf16 ? peak_bf16 : peak_fp32;
    enc->eval();
    double fwd = time_it([&] {
      Scope sc(p.bf16);
      enc->forward(x0, additive, false, false);
    });
    enc->train();
    torch::AutoGradMode on(true);
    auto x = x0.clone().requires_grad_();
    double both = time_it([&] {
      Scope sc(p.bf16);
      auto out = enc->forward(x, additive, false, false).last_hidden_state;
      out.to(torch::kFloat32).pow(2).mean().backward();
      enc->zero_grad();
    });
    std::printf("  %-6s %-14s %10.1f %10.0f %9.1f%%\n", p.name, "forward", fwd * 1e3, fwd_flops / fwd / 1e9,
                100.0 * fwd_flops / fwd / 1e9 / peak);
    std::printf("  %-6s %-14s %10.1f %10.0f %9.1f%%\n", p.name, "fwd+bwd", both * 1e3, 3 * fwd_flops / both / 1e9,
                100.0 * 3 * fwd_flops / both / 1e9 / peak);
  }
  return 0;
}
