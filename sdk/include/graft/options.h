#pragma once
// Options: plain structs with defaults and one `visit()` list. The same list drives recipe
// parsing and validation (core's reader), `graft plugins info`, the generated recipe reference
// and `graft recipe show` (core's writer) — there is never a second, hand-written copy.
//
//   struct MyHeadOptions {
//     double dropout = 0.1;                       // doc lives in visit()
//     std::vector<std::string> labels;
//     void visit(graft::OptionVisitor& v) {
//       v.optional("dropout", dropout, "dropout before the classifier", graft::in_range(0.0, 1.0));
//       v.optional("labels", labels, "label names in index order; empty = collect from train");
//     }
//     void check(graft::Diagnostics& d) const { ... }   // optional: cross-field rules
//   };
#include <graft/export.h>
#include <graft/value.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace graft {

/// One problem found while reading configuration.
struct Diagnostic {
  SourceLocation loc;
  std::string path;     ///< dotted key, e.g. "tasks[0].head.dropout"
  std::string message;  ///< what is wrong, expected vs actual, suggestion
};

/// Collects every problem (never stops at the first). A child shares the store and prefixes paths.
class GRAFT_SDK_API Diagnostics {
 public:
  Diagnostics();
  ~Diagnostics();
  /// Reports a problem at `key` (relative to this scope). `loc` defaults to the scope's location.
  void error(const std::string& key, const std::string& message, const SourceLocation& loc = {});
  /// A scope for a sub-table: paths become "<prefix>.<key>".
  Diagnostics child(const std::string& key, const SourceLocation& loc) const;
  bool ok() const;
  size_t count() const;
  const std::vector<Diagnostic>& items() const;
  const std::string& prefix() const { return prefix_; }
  /// "file:line:col  path: message" lines, one per problem.
  std::string format() const;

 private:
  std::shared_ptr<std::vector<Diagnostic>> store_;
  std::string prefix_;
  SourceLocation loc_;
};

/// Constraints attached to a field; shown in docs and enforced by the reader.
struct Check {
  std::vector<std::string> choices;  ///< allowed strings (empty = any)
  std::optional<double> min, max;    ///< inclusive bounds for numbers (and list lengths: no)
};
inline Check one_of(std::vector<std::string> c) { return Check{std::move(c), {}, {}}; }
inline Check in_range(double lo, double hi) { return Check{{}, lo, hi}; }
inline Check at_least(double lo) { return Check{{}, lo, {}}; }

struct FieldMeta {
  std::string key;
  std::string doc;
  bool required = false;
  Check check;
};

/// Implemented by core (reader, writer, schema collector). Plugins only call it from visit().
class GRAFT_SDK_API OptionVisitor {
 public:
  virtual ~OptionVisitor();
  virtual void field(const FieldMeta& m, bool& v) = 0;
  virtual void field(const FieldMeta& m, int64_t& v) = 0;
  virtual void field(const FieldMeta& m, double& v) = 0;
  virtual void field(const FieldMeta& m, std::string& v) = 0;
  virtual void field(const FieldMeta& m, std::vector<std::string>& v) = 0;
  virtual void field(const FieldMeta& m, std::vector<int64_t>& v) = 0;
  virtual void field(const FieldMeta& m, std::vector<double>& v) = 0;
  /// Free-form value (a table, or a key accepting several types). Null when absent.
  virtual void field(const FieldMeta& m, Value& v) = 0;

  template <class T>
  void required(std::string key, T& ref, std::string doc, Check c = {}) {
    field(FieldMeta{std::move(key), std::move(doc), true, std::move(c)}, ref);
  }
  template <class T>
  void optional(std::string key, T& ref, std::string doc, Check c = {}) {
    field(FieldMeta{std::move(key), std::move(doc), false, std::move(c)}, ref);
  }
};

/// Type-erased options of one component instance.
class GRAFT_SDK_API OptionsBase {
 public:
  virtual ~OptionsBase();
  virtual void visit(OptionVisitor& v) = 0;
  virtual void check(Diagnostics& d) const = 0;
};

template <class O>
class OptionsHolder final : public OptionsBase {
 public:
  O value{};
  void visit(OptionVisitor& v) override { value.visit(v); }
  void check(Diagnostics& d) const override {
    if constexpr (requires(const O& o, Diagnostics& dd) { o.check(dd); }) value.check(d);
  }
};

/// For components without options.
struct NoOptions {
  void visit(OptionVisitor&) {}
};

}  // namespace graft
