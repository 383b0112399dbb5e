// Metrics in the Prometheus text exposition format (version 0.0.4), for the scrape endpoint
// (ServerConfig.metrics_listen_address). No well-kept Prometheus C++ client is packaged for
// Debian 12, so the few metric kinds the server needs are written here: counters and histograms
// with labels, and gauges read when scraped.
#ifndef GRIDLINE_SERVER_UTIL_METRICS_H_
#define GRIDLINE_SERVER_UTIL_METRICS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace gridline::util {

// label name -> value, in the order given.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  // Declares a metric family once (name, help); the methods below add to declared families.
  void DeclareCounter(const std::string& name, const std::string& help);
  void DeclareHistogram(const std::string& name, const std::string& help,
                        std::vector<double> bounds);
  // A gauge whose samples `read` produces at each scrape (value per label set).
  void DeclareGauge(const std::string& name, const std::string& help,
                    std::function<std::vector<std::pair<MetricLabels, double>>()> read);

  void Add(const std::string& counter, const MetricLabels& labels, double delta = 1);
  void Observe(const std::string& histogram, const MetricLabels& labels, double value);

  // The whole exposition, families in name order.
  std::string Expose() const;

 private:
  struct Series {
    double value = 0;               // counters
    std::vector<uint64_t> buckets;  // histograms: counts per upper bound (not cumulative)
    uint64_t count = 0;
    double sum = 0;
  };
  struct Family {
    std::string help;
    std::string type;  // counter, histogram, gauge
    std::vector<double> bounds;
    std::map<MetricLabels, Series> series;
    std::function<std::vector<std::pair<MetricLabels, double>>()> read;
  };
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

// The process's metrics (the store and the handlers add to them).
Metrics& DefaultMetrics();

// Latency buckets in seconds, from 1 ms to 10 s.
std::vector<double> LatencyBuckets();

}  // namespace gridline::util

#endif  // GRIDLINE_SERVER_UTIL_METRICS_H_
