// report.html: a self-contained page (inline SVG + a few lines of inline script, no network)
// with the loss / learning-rate curves, dev metrics over steps, per-class tables, confusion
// matrices, cross-validation folds and the resolved recipe.
#include <graft/core/files.h>
#include <graft/core/trainer.h>
#include <graft/core/tracking.h>
#include <graft/error.h>
#include <graft/version.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <set>
#include <sstream>

namespace graft::core {

namespace {

std::string esc(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

/// An id fragment: [A-Za-z0-9_-], everything else '_'.
std::string idpart(const std::string& s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') ? c : '_';
  return out.empty() ? "_" : out;
}

std::string fmt(double v, int prec = 4) {
  if (!std::isfinite(v)) return "–";
  char buf[48];
  if (v != 0.0 && (std::fabs(v) < 1e-3 || std::fabs(v) >= 1e6)) std::snprintf(buf, sizeof buf, "%.3e", v);
  else std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

std::string coord(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

/// Round tick values covering [lo, hi].
std::vector<double> ticks(double lo, double hi, int want = 5) {
  std::vector<double> out;
  double span = hi - lo;
  if (!(span > 0)) return {lo};
  double raw = span / want, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  return out;
}

struct Series {
  std::string id;    ///< polyline id
  std::string name;  ///< legend
  std::vector<std::pair<double, double>> pts;
};

std::string line_chart(const std::string& chart_id, const std::string& title, const std::string& xlabel,
                       const std::vector<Series>& series) {
  const double W = 680, H = 280, L = 64, R = 150, T = 30, B = 42;
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  size_t n = 0;
  for (const auto& s : series)
    for (const auto& [x, y] : s.pts) {
      if (!std::isfinite(y)) continue;
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
      ++n;
    }
  std::ostringstream o;
  o << "<svg class=\"chart\" id=\"" << chart_id << "\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\""
    << H << "\" viewBox=\"0 0 " << W << " " << H << "\" role=\"img\" aria-label=\"" << esc(title) << "\">\n";
  o << "<text x=\"" << L << "\" y=\"18\" class=\"ct\">" << esc(title) << "</text>\n";
  if (n == 0) {
    o << "<text x=\"" << L << "\" y=\"" << H / 2 << "\" class=\"empty\">no data</text>\n</svg>\n";
    return o.str();
  }
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) {
    double pad = std::fabs(y0) > 0 ? std::fabs(y0) * 0.1 : 1.0;
    y0 -= pad, y1 += pad;
  } else {
    double pad = (y1 - y0) * 0.05;
    y0 -= pad, y1 += pad;
  }
  auto X = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto Y = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
  o << "<rect x=\"" << L << "\" y=\"" << T << "\" width=\"" << W - L - R << "\" height=\"" << H - T - B
    << "\" class=\"plot\"/>\n";
  for (double t : ticks(y0, y1)) {
    o << "<line x1=\"" << L << "\" x2=\"" << W - R << "\" y1=\"" << coord(Y(t)) << "\" y2=\"" << coord(Y(t))
      << "\" class=\"grid\"/><text x=\"" << L - 6 << "\" y=\"" << coord(Y(t) + 4) << "\" class=\"yt\">" << fmt(t, 4)
      << "</text>\n";
  }
  for (double t : ticks(x0, x1, 6)) {
    if (std::fabs(t - std::round(t)) > 1e-9) continue;  // steps are integers
    o << "<text x=\"" << coord(X(t)) << "\" y=\"" << H - B + 16 << "\" class=\"xt\">" << static_cast<int64_t>(std::llround(t))
      << "</text>\n";
  }
  o << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 6 << "\" class=\"xl\">" << esc(xlabel) << "</text>\n";
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    const char* color = kPalette[i % (sizeof kPalette / sizeof *kPalette)];
    o << "<polyline id=\"" << s.id << "\" data-n=\"" << s.pts.size() << "\" fill=\"none\" stroke=\"" << color
      << "\" stroke-width=\"1.6\" points=\"";
    bool first = true;
    for (const auto& [x, y] : s.pts) {
      if (!std::isfinite(y)) continue;
      o << (first ? "" : " ") << coord(X(x)) << "," << coord(Y(y));
      first = false;
    }
    o << "\"/>\n";
    if (s.pts.size() <= 60)
      for (const auto& [x, y] : s.pts)
        if (std::isfinite(y))
          o << "<circle cx=\"" << coord(X(x)) << "\" cy=\"" << coord(Y(y)) << "\" r=\"2.5\" fill=\"" << color
            << "\"><title>" << esc(s.name) << " @ " << static_cast<int64_t>(x) << ": " << fmt(y, 5) << "</title></circle>\n";
    double ly = T + 14 + 18.0 * static_cast<double>(i);
    o << "<line x1=\"" << W - R + 10 << "\" x2=\"" << W - R + 28 << "\" y1=\"" << ly - 4 << "\" y2=\"" << ly - 4
      << "\" stroke=\"" << color << "\" stroke-width=\"2\"/><text x=\"" << W - R + 32 << "\" y=\"" << ly
      << "\" class=\"lg\">" << esc(s.name) << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

std::string metrics_table(const std::string& id, const Value& dev, const Value& test) {
  std::set<std::string> keys;
  for (const Value* v : {&dev, &test})
    if (v->is_object())
      for (const auto& [k, x] : v->as_object())
        if (x.is_number()) keys.insert(k);
  if (keys.empty()) return {};
  std::ostringstream o;
  o << "<table id=\"" << id << "\" class=\"num\"><tr><th>metric</th><th>dev</th><th>test</th></tr>\n";
  for (const auto& k : keys) {
    auto cell = [&](const Value& v) {
      const Value* x = v.is_object() ? v.find(k) : nullptr;
      return x && x->is_number() ? fmt(x->as_double()) : std::string();
    };
    o << "<tr><td>" << esc(k) << "</td><td>" << cell(dev) << "</td><td>" << cell(test) << "</td></tr>\n";
  }
  o << "</table>\n";
  return o.str();
}

const char* kStyle = R"(body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#666}table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px}
table.num td{text-align:right;font-variant-numeric:tabular-nums}table.num td:first-child{text-align:left}
th{background:#f4f4f4}td.cm{text-align:center;min-width:42px}td.diag{font-weight:600}
pre{background:#f7f7f7;border:1px solid #e2e2e2;padding:10px;overflow:auto;font-size:12.5px}
svg.chart{display:block;margin:10px 0}svg .plot{fill:#fcfcfc;stroke:#ccc}svg .grid{stroke:#eee}
svg text{font-size:11px;fill:#444}svg .ct{font-size:13px;font-weight:600;fill:#222}svg .yt{text-anchor:end}
svg .xt,svg .xl{text-anchor:middle}svg .empty{fill:#999})";

const char* kScript = R"(<script>
(function(){
  var charts=document.querySelectorAll('svg.chart'),ok=0;
  for(var i=0;i<charts.length;i++){var b=charts[i].getBBox();var r=(b.width>0&&b.height>0)?'1':'0';charts[i].setAttribute('data-rendered',r);if(r==='1')ok++;}
  var lines=document.querySelectorAll('polyline');
  for(var j=0;j<lines.length;j++){lines[j].setAttribute('data-drawn',String(lines[j].points.numberOfItems));}
  var cells=document.querySelectorAll('td.cm');
  for(var k=0;k<cells.length;k++){var v=+cells[k].getAttribute('data-share');cells[k].style.background='rgba(31,119,180,'+(0.08+0.8*v).toFixed(3)+')';}
  document.body.setAttribute('data-charts-rendered',String(ok));
})();
</script>
)";

}  // namespace

ClassTable ClassTable::from(const MetricInput& in) {
  ClassTable t;
  if (in.gold.empty() || in.gold.size() != in.pred.size()) return t;
  bool single = true, multi = true;
  for (size_t i = 0; i < in.gold.size(); ++i) {
    single = single && in.gold[i].is_string() && in.pred[i].is_string();
    multi = multi && in.gold[i].is_array() && in.pred[i].is_array();
  }
  if (!single && !multi) return t;
  t.labels = in.labels;
  auto index_of = [&](const std::string& l) -> size_t {
    auto it = std::find(t.labels.begin(), t.labels.end(), l);
    if (it != t.labels.end()) return static_cast<size_t>(it - t.labels.begin());
    t.labels.push_back(l);
    return t.labels.size() - 1;
  };
  const auto collect = [&](const Value& v) {
    std::vector<size_t> out;
    if (v.is_string()) out.push_back(index_of(v.as_string()));
    else
      for (const auto& x : v.as_array())
        if (x.is_string()) out.push_back(index_of(x.as_string()));
    return out;
  };
  std::vector<std::vector<size_t>> gold, pred;
  for (size_t i = 0; i < in.gold.size(); ++i) {
    gold.push_back(collect(in.gold[i]));
    pred.push_back(collect(in.pred[i]));
  }
  const size_t n = t.labels.size();
  std::vector<int64_t> tp(n, 0), fp(n, 0), fn(n, 0);
  if (single) {
    t.confusion.assign(n, std::vector<int64_t>(n, 0));
    for (size_t i = 0; i < gold.size(); ++i) {
      size_t g = gold[i][0], p = pred[i][0];
      ++t.confusion[g][p];
      if (g == p) ++tp[g];
      else ++fp[p], ++fn[g];
    }
  } else {
    for (size_t i = 0; i < gold.size(); ++i) {
      std::set<size_t> g(gold[i].begin(), gold[i].end()), p(pred[i].begin(), pred[i].end());
      for (size_t c = 0; c < n; ++c) {
        bool ig = g.count(c) > 0, ip = p.count(c) > 0;
        if (ig && ip) ++tp[c];
        else if (ip) ++fp[c];
        else if (ig) ++fn[c];
      }
    }
  }
  for (size_t c = 0; c < n; ++c) {
    Row r;
    r.label = t.labels[c];
    r.support = tp[c] + fn[c];
    r.precision = tp[c] + fp[c] > 0 ? static_cast<double>(tp[c]) / static_cast<double>(tp[c] + fp[c]) : 0.0;
    r.recall = r.support > 0 ? static_cast<double>(tp[c]) / static_cast<double>(r.support) : 0.0;
    r.f1 = r.precision + r.recall > 0 ? 2 * r.precision * r.recall / (r.precision + r.recall) : 0.0;
    t.rows.push_back(r);
  }
  return t;
}

std::map<std::string, ClassTable> class_tables(const std::map<std::string, MetricInput>& inputs) {
  std::map<std::string, ClassTable> out;
  for (const auto& [task, in] : inputs) {
    ClassTable t = ClassTable::from(in);
    if (!t.labels.empty()) out[task] = std::move(t);
  }
  return out;
}

void fold_statistics(const std::vector<Value>& folds, Value& mean, Value& stdev) {
  mean = Value::object();
  stdev = Value::object();
  std::map<std::string, std::vector<double>> vals;
  std::vector<std::string> order;
  for (const auto& f : folds)
    if (f.is_object())
      for (const auto& [k, v] : f.as_object())
        if (v.is_number()) {
          if (!vals.count(k)) order.push_back(k);
          vals[k].push_back(v.as_double());
        }
  for (const auto& k : order) {
    const auto& xs = vals[k];
    double m = 0;
    for (double x : xs) m += x;
    m /= static_cast<double>(xs.size());
    double var = 0;
    for (double x : xs) var += (x - m) * (x - m);
    var /= static_cast<double>(xs.size());
    mean.set(k, m);
    stdev.set(k, std::sqrt(var));
  }
}

std::string render_report_html(const ReportData& d) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << esc(d.title)
    << " — graft report</title>\n<style>" << kStyle << "</style></head>\n<body>\n";
  o << "<h1 id=\"title\">" << esc(d.title) << "</h1>\n<p class=\"meta\">graft " << GRAFT_VERSION;
  {
    std::time_t t = std::time(nullptr);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&t));
    o << " · " << buf;
  }
  if (!d.run_id.empty()) o << " · MLflow run <code>" << esc(d.run_id) << "</code>";
  if (!d.steps.empty()) o << " · " << d.steps.size() << " optimizer steps";
  if (d.seconds > 0) o << " · " << fmt(d.seconds, 1) << " s";
  o << "</p>\n";

  // summary
  std::string summary = metrics_table("summary", d.dev_metrics, d.test_metrics);
  if (!summary.empty()) o << "<h2>Final metrics</h2>\n" << summary;

  // cross-validation
  if (!d.folds.empty()) {
    std::vector<std::string> keys;
    for (const auto& f : d.folds)
      if (f.is_object())
        for (const auto& [k, v] : f.as_object())
          if (v.is_number() && std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    o << "<h2>Cross-validation (" << d.folds.size() << " folds)</h2>\n<table id=\"folds\" class=\"num\"><tr><th>fold</th>";
    for (const auto& k : keys) o << "<th>" << esc(k) << "</th>";
    o << "</tr>\n";
    for (size_t i = 0; i < d.folds.size(); ++i) {
      o << "<tr class=\"fold\"><td>" << i + 1 << "</td>";
      for (const auto& k : keys) {
        const Value* v = d.folds[i].find(k);
        o << "<td>" << (v && v->is_number() ? fmt(v->as_double()) : "") << "</td>";
      }
      o << "</tr>\n";
    }
    for (const auto& [name, obj] : {std::pair<const char*, const Value*>{"mean", &d.fold_mean}, {"std", &d.fold_std}}) {
      o << "<tr class=\"" << name << "\"><th>" << name << "</th>";
      for (const auto& k : keys) {
        const Value* v = obj->find(k);
        o << "<td>" << (v && v->is_number() ? fmt(v->as_double()) : "") << "</td>";
      }
      o << "</tr>\n";
    }
    o << "</table>\n";
  }

  // training curves
  if (!d.steps.empty()) {
    o << "<h2>Training</h2>\n";
    Series loss{"line-loss", "loss", {}}, lr{"line-lr", "learning rate", {}}, gn{"line-grad-norm", "grad norm", {}};
    for (const auto& s : d.steps) {
      loss.pts.emplace_back(static_cast<double>(s.step), s.loss);
      lr.pts.emplace_back(static_cast<double>(s.step), s.lr);
      gn.pts.emplace_back(static_cast<double>(s.step), s.grad_norm);
    }
    o << line_chart("chart-loss", "training loss", "optimizer step", {loss});
    o << line_chart("chart-lr", "learning rate", "optimizer step", {lr});
    o << line_chart("chart-grad-norm", "gradient norm (before clipping)", "optimizer step", {gn});
  }

  // dev metrics per task
  if (!d.evaluations.empty()) {
    std::vector<std::string> tasks;
    std::map<std::string, std::vector<std::string>> metrics;  // task → metric names, first-seen order
    for (const auto& e : d.evaluations)
      if (e.metrics.is_object())
        for (const auto& [k, v] : e.metrics.as_object()) {
          if (!v.is_number()) continue;
          auto slash = k.find('/');
          std::string task = slash == std::string::npos ? "all" : k.substr(0, slash);
          std::string m = slash == std::string::npos ? k : k.substr(slash + 1);
          if (!metrics.count(task)) tasks.push_back(task);
          auto& ms = metrics[task];
          if (std::find(ms.begin(), ms.end(), m) == ms.end()) ms.push_back(m);
        }
    o << "<h2>Dev evaluations</h2>\n";
    for (const auto& task : tasks) {
      std::vector<Series> series;
      for (const auto& m : metrics[task]) {
        Series s{cat("line-dev-", idpart(task), "-", idpart(m)), m, {}};
        std::string key = task == "all" ? m : task + "/" + m;
        for (const auto& e : d.evaluations)
          if (const Value* v = e.metrics.find(key); v && v->is_number())
            s.pts.emplace_back(static_cast<double>(e.step), v->as_double());
        series.push_back(std::move(s));
      }
      o << line_chart(cat("chart-dev-", idpart(task)), cat("dev metrics: ", task), "optimizer step", series);
    }
  }

  // per-class tables and confusion matrices
  for (const auto& [task, t] : d.classes) {
    auto src = d.class_source.find(task);
    std::string where = src == d.class_source.end() ? "test" : src->second;
    o << "<h2>" << esc(task) << ": per class (" << esc(where) << ")</h2>\n";
    o << "<table id=\"classes-" << idpart(task) << "\" class=\"num\"><tr><th>label</th><th>precision</th><th>recall</th>"
      << "<th>f1</th><th>support</th></tr>\n";
    for (const auto& r : t.rows)
      o << "<tr><td>" << esc(r.label) << "</td><td>" << fmt(r.precision) << "</td><td>" << fmt(r.recall) << "</td><td>"
        << fmt(r.f1) << "</td><td>" << r.support << "</td></tr>\n";
    o << "</table>\n";
    if (!t.confusion.empty()) {
      int64_t mx = 1;
      for (const auto& row : t.confusion)
        for (auto c : row) mx = std::max(mx, c);
      o << "<p>Confusion matrix (rows: true label, columns: predicted label)</p>\n<table id=\"confusion-" << idpart(task)
        << "\" class=\"confusion\"><tr><th></th>";
      for (const auto& l : t.labels) o << "<th>" << esc(l) << "</th>";
      o << "</tr>\n";
      for (size_t g = 0; g < t.labels.size(); ++g) {
        o << "<tr><th>" << esc(t.labels[g]) << "</th>";
        for (size_t p = 0; p < t.labels.size(); ++p) {
          int64_t c = t.confusion[g][p];
          o << "<td class=\"cm" << (g == p ? " diag" : "") << "\" data-gold=\"" << esc(t.labels[g]) << "\" data-pred=\""
            << esc(t.labels[p]) << "\" data-share=\"" << fmt(static_cast<double>(c) / static_cast<double>(mx), 4) << "\">"
            << c << "</td>";
        }
        o << "</tr>\n";
      }
      o << "</table>\n";
    }
  }
  for (const auto& [task, rep] : d.reports)
    if (!rep.empty()) o << "<h2>" << esc(task) << ": metric report</h2>\n<pre class=\"report\">" << esc(rep) << "</pre>\n";

  if (!d.recipe_toml.empty()) o << "<h2>Resolved recipe</h2>\n<pre id=\"recipe\">" << esc(d.recipe_toml) << "</pre>\n";
  o << kScript << "</body></html>\n";
  return o.str();
}

void write_report_html(const std::string& path, const ReportData& data) { write_file_atomic(path, render_report_html(data)); }

ReportData report_data(const Recipe& recipe, const Value& resolved, const TrainResult& r,
                       const std::map<std::string, MetricInput>& inputs, const std::string& run_id) {
  ReportData d;
  d.title = recipe.run.name;
  d.run_id = run_id;
  d.steps = r.steps;
  d.evaluations = r.evaluations;
  d.dev_metrics = r.dev_metrics;
  d.test_metrics = r.test_metrics;
  d.classes = class_tables(inputs);
  for (const auto& [task, _] : d.classes) d.class_source[task] = r.test_metrics.size() > 0 ? "test" : "dev";
  d.reports = r.test_reports;
  if (resolved.is_object()) d.recipe_toml = to_toml(resolved);
  d.seconds = r.seconds;
  return d;
}

}  // namespace graft::core
