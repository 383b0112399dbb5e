// Shared by the benchmark programs: command-line parsing ("--name value" and "--name=value") and
// number formatting for their tables.
#ifndef GRIDLINE_BENCH_BENCH_UTIL_H_
#define GRIDLINE_BENCH_BENCH_UTIL_H_

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace gridline::bench {

// One flag at argv[*i]: its name, and Value() for its value, which is either after '=' or the
// next argument (then *i moves past it). A missing value calls `usage` (which does not return).
class FlagArg {
 public:
  FlagArg(int argc, char** argv, int* i, std::function<void(const std::string&)> usage)
      : argc_(argc), argv_(argv), i_(i), usage_(std::move(usage)) {
    std::string arg = argv[*i];
    name_ = arg;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      name_ = arg.substr(0, eq);
      value_ = arg.substr(eq + 1);
      has_value_ = true;
    }
  }
  const std::string& name() const { return name_; }
  std::string Value() {
    if (has_value_) return value_;
    if (*i_ + 1 >= argc_) usage_(name_ + " needs a value");
    return argv_[++*i_];
  }

 private:
  int argc_;
  char** argv_;
  int* i_;
  std::function<void(const std::string&)> usage_;
  std::string name_, value_;
  bool has_value_ = false;
};

// "a,b,,c" -> {"a", "b", "c"}.
inline std::vector<std::string> SplitList(const std::string& v) {
  std::vector<std::string> out;
  for (absl::string_view p : absl::StrSplit(v, ',', absl::SkipEmpty())) out.emplace_back(p);
  return out;
}

// Flag `name`'s value `v` as a number; anything else calls `usage` (which does not return).
template <typename Number>
Number ParseNumber(const std::string& name, const std::string& v,
                   const std::function<void(const std::string&)>& usage) {
  Number n = 0;
  bool ok;
  if constexpr (std::is_floating_point_v<Number>) {
    ok = absl::SimpleAtod(v, &n);
  } else {
    ok = absl::SimpleAtoi(v, &n);
  }
  if (!ok) usage(absl::StrCat(name, ": '", v, "' is not a number"));
  return n;
}

// "0.84", "12.3", "456", "-1.20": about three significant digits.
inline std::string ThreeDigits(double v) {
  char buf[32];
  double a = std::fabs(v);
  std::snprintf(buf, sizeof buf, a < 10 ? "%.2f" : (a < 100 ? "%.1f" : "%.0f"), v);
  return buf;
}

}  // namespace gridline::bench

#endif  // GRIDLINE_BENCH_BENCH_UTIL_H_
