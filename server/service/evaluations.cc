#include "server/service/evaluations.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/domain/errors.h"
#include "server/service/paging.h"
#include "server/service/scope.h"

namespace gridline::service {
namespace {

constexpr size_t kMaxSnapshots = 16;

}  // namespace

int64_t EvaluationService::ratings() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ratings_;
}

std::shared_ptr<const EvaluationService::Snapshot> EvaluationService::Find(int64_t id,
                                                                           const EvaluationQuery& q,
                                                                           domain::Micros now) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& s : snapshots_) {
    if (s->id == id && s->year == q.year && s->month == q.month && s->source == q.source &&
        now - s->time <= ttl_) {
      return s;
    }
  }
  return nullptr;
}

absl::StatusOr<EvaluationPage> EvaluationService::List(const RequestContext& rc,
                                                       const EvaluationQuery& q) {
  // Operators: the grid asked for (empty: all units); supervisors: their own subtree.
  auto grid_code = FiguresSubtree(org_, rc.caller, q.grid_code);
  if (!grid_code.ok()) return grid_code.status();
  domain::FieldViolations v;
  std::string subtree;
  if (!grid_code->empty()) {
    auto g = org_->FindGrid(*grid_code);
    if (!g.ok()) return g.status();
    if (g->has_value()) {
      subtree = absl::StrCat("/", *grid_code, "/");
    } else {
      v.Add("grid_code", "unknown grid " + *grid_code);
    }
  }
  int64_t snapshot_id = 0;
  size_t offset = 0;
  if (!ParseEvaluationToken(q.page_token, &snapshot_id, &offset)) {
    v.Add("page_token", "is not a token from this RPC");
  }
  if (q.page_size < 0) v.Add("page_size", "must not be negative");
  if (!v.empty()) return v.ToStatus();

  std::shared_ptr<const Snapshot> snapshot =
      snapshot_id != 0 ? Find(snapshot_id, q, rc.now) : nullptr;
  if (snapshot == nullptr) {
    auto all = EvaluateMonth(org_, figures_, q.year, q.month, thresholds_, rc.now, rc.gone, extras_,
                             q.source);
    if (!all.ok()) return all.status();
    auto made = std::make_shared<Snapshot>();
    made->year = q.year;
    made->month = q.month;
    made->source = q.source;
    made->time = rc.now;
    made->all = *std::move(all);
    std::lock_guard<std::mutex> lock(mu_);
    made->id = next_id_++;
    ++ratings_;
    snapshots_.push_back(made);
    if (snapshots_.size() > kMaxSnapshots) snapshots_.pop_front();
    snapshot = std::move(made);
  }

  std::map<std::string, std::string> paths;
  if (!subtree.empty()) {
    auto grids = org_->ListGrids();
    if (!grids.ok()) return grids.status();
    for (const auto& g : *grids) paths[g.code] = g.path;
  }
  std::vector<const Evaluation*> kept;
  for (const auto& e : snapshot->all) {
    if (q.unit_kind != UnitKind::kUnspecified && e.unit_kind != q.unit_kind) continue;
    if (!subtree.empty() &&
        (e.unit_kind != UnitKind::kGrid || paths[e.unit_code].find(subtree) == std::string::npos)) {
      continue;
    }
    if (q.flag != Flag::kUnspecified && e.flag != q.flag) continue;
    kept.push_back(&e);
  }
  const size_t size = q.page_size == 0 ? 50 : std::min(q.page_size, 500);
  EvaluationPage page;
  page.compute_time = snapshot->time;
  for (size_t i = offset; i < kept.size() && i < offset + size; ++i) {
    page.evaluations.push_back(*kept[i]);
  }
  if (offset + size < kept.size()) {
    page.next_page_token = absl::StrCat("e", snapshot->id, ".", offset + size);
  }
  return page;
}

}  // namespace gridline::service
