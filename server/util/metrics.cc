#include "server/util/metrics.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace gridline::util {
namespace {

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrCat(static_cast<int64_t>(v));
  return absl::StrFormat("%.9g", v);
}

// {a="x",b="y"} with `extra` last; label values escaped as the format asks.
std::string LabelText(const MetricLabels& labels, const std::string& extra = "") {
  std::vector<std::string> parts;
  for (const auto& [k, v] : labels) {
    parts.push_back(absl::StrCat(
        k, "=\"", absl::StrReplaceAll(v, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}}), "\""));
  }
  if (!extra.empty()) parts.push_back(extra);
  if (parts.empty()) return "";
  return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
}

}  // namespace

void Metrics::DeclareCounter(const std::string& name, const std::string& help) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = families_[name];
  f.help = help;
  f.type = "counter";
}

void Metrics::DeclareHistogram(const std::string& name, const std::string& help,
                               std::vector<double> bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = families_[name];
  f.help = help;
  f.type = "histogram";
  f.bounds = std::move(bounds);
}

void Metrics::DeclareGauge(const std::string& name, const std::string& help,
                           std::function<std::vector<std::pair<MetricLabels, double>>()> read) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = families_[name];
  f.help = help;
  f.type = "gauge";
  f.read = std::move(read);
}

void Metrics::Add(const std::string& counter, const MetricLabels& labels, double delta) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(counter);
  if (it == families_.end()) return;
  it->second.series[labels].value += delta;
}

void Metrics::Observe(const std::string& histogram, const MetricLabels& labels, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(histogram);
  if (it == families_.end()) return;
  Family& f = it->second;
  Series& s = f.series[labels];
  if (s.buckets.empty()) s.buckets.assign(f.bounds.size(), 0);
  for (size_t i = 0; i < f.bounds.size(); ++i) {
    if (value <= f.bounds[i]) {
      ++s.buckets[i];
      break;
    }
  }
  ++s.count;
  s.sum += value;
}

std::string Metrics::Expose() const {
  // Gauges are read first, without the lock: their readers may take other locks.
  std::map<std::string, std::function<std::vector<std::pair<MetricLabels, double>>()>> readers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, f] : families_) {
      if (f.read) readers[name] = f.read;
    }
  }
  std::map<std::string, std::vector<std::pair<MetricLabels, double>>> gauges;
  for (const auto& [name, read] : readers) gauges[name] = read();

  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    absl::StrAppend(&out, "# HELP ", name, " ", f.help, "\n# TYPE ", name, " ", f.type, "\n");
    if (f.type == "gauge") {
      for (const auto& [labels, v] : gauges[name]) {
        absl::StrAppend(&out, name, LabelText(labels), " ", Number(v), "\n");
      }
    } else if (f.type == "counter") {
      for (const auto& [labels, s] : f.series) {
        absl::StrAppend(&out, name, LabelText(labels), " ", Number(s.value), "\n");
      }
    } else {
      for (const auto& [labels, s] : f.series) {
        uint64_t cumulative = 0;
        for (size_t i = 0; i < f.bounds.size(); ++i) {
          cumulative += s.buckets[i];
          absl::StrAppend(&out, name, "_bucket",
                          LabelText(labels, absl::StrCat("le=\"", Number(f.bounds[i]), "\"")), " ",
                          cumulative, "\n");
        }
        absl::StrAppend(&out, name, "_bucket", LabelText(labels, "le=\"+Inf\""), " ", s.count,
                        "\n");
        absl::StrAppend(&out, name, "_sum", LabelText(labels), " ", Number(s.sum), "\n");
        absl::StrAppend(&out, name, "_count", LabelText(labels), " ", s.count, "\n");
      }
    }
  }
  return out;
}

Metrics& DefaultMetrics() {
  static auto* metrics = new Metrics();
  return *metrics;
}

std::vector<double> LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

}  // namespace gridline::util
