#pragma once
// Typed errors. Every class has an out-of-line destructor in libgraft_sdk.so so that its
// typeinfo exists once and `catch` works across the plugin boundary.
#include <graft/export.h>

#include <sstream>
#include <stdexcept>
#include <string>

namespace graft {

/// Concatenates anything streamable: cat("has ", n, " rows").
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

/// Base of every graft error. what() is the complete, user-facing message.
class GRAFT_SDK_API Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg);
  ~Error() override;
};

/// A recipe, option or config problem (user-fixable input). Exit code 2.
class GRAFT_SDK_API ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& msg);
  ~ConfigError() override;
};

/// A data/format problem in an input file (names file and line/field). Exit code 3.
class GRAFT_SDK_API DataError : public Error {
 public:
  explicit DataError(const std::string& msg);
  ~DataError() override;
};

/// A model file problem (config.json, weights, vocab). Exit code 3.
class GRAFT_SDK_API FormatError : public Error {
 public:
  explicit FormatError(const std::string& msg);
  ~FormatError() override;
};

/// A plugin loading/registration problem. Exit code 4.
class GRAFT_SDK_API PluginError : public Error {
 public:
  explicit PluginError(const std::string& msg);
  ~PluginError() override;
};

}  // namespace graft

/// Throws `graft::Error`-derived TYPE with the concatenated message when COND is false.
#define GRAFT_CHECK(COND, TYPE, ...) \
  do {                               \
    if (!(COND)) throw TYPE(::graft::cat(__VA_ARGS__)); \
  } while (0)
