#include <graft/options.h>

namespace graft {

Diagnostics::Diagnostics() : store_(std::make_shared<std::vector<Diagnostic>>()) {}
Diagnostics::~Diagnostics() = default;

void Diagnostics::error(const std::string& key, const std::string& message, const SourceLocation& loc) {
  std::string path = prefix_;
  if (!key.empty()) {
    if (!path.empty() && key.front() != '[') path += '.';
    path += key;
  }
  store_->push_back(Diagnostic{loc.file.empty() ? loc_ : loc, path, message});
}

Diagnostics Diagnostics::child(const std::string& key, const SourceLocation& loc) const {
  Diagnostics d(*this);
  if (!key.empty()) {
    if (!d.prefix_.empty() && key.front() != '[') d.prefix_ += '.';
    d.prefix_ += key;
  }
  if (!loc.file.empty()) d.loc_ = loc;
  return d;
}

bool Diagnostics::ok() const { return store_->empty(); }
size_t Diagnostics::count() const { return store_->size(); }
const std::vector<Diagnostic>& Diagnostics::items() const { return *store_; }

std::string Diagnostics::format() const {
  std::string out;
  for (const auto& d : *store_) {
    out += "  ";
    std::string where = d.loc.str();
    if (!where.empty()) out += where + "  ";
    if (!d.path.empty()) out += d.path + ": ";
    out += d.message;
    out += '\n';
  }
  return out;
}

}  // namespace graft
