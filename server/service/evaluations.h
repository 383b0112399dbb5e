// The monthly 三色旗 ratings as a paged list (AdminService.ListEvaluations). A month is rated once,
// on the first page; the later pages of the same listing read that snapshot, so the pages agree
// with each other and paging does not recompute the month (the rating of every unit is one pass
// over the figures: see statistics.h).
#ifndef GRIDLINE_SERVER_SERVICE_EVALUATIONS_H_
#define GRIDLINE_SERVER_SERVICE_EVALUATIONS_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/service/request_context.h"
#include "server/service/statistics.h"
#include "server/store/store.h"

namespace gridline::service {

struct EvaluationQuery {
  int year = 0;
  int month = 0;
  UnitKind unit_kind = UnitKind::kUnspecified;  // unspecified: both
  std::string grid_code;                        // only grid units in this subtree
  Flag flag = Flag::kUnspecified;               // unspecified: any
  // Rate on the cases from this source only (unspecified: all cases).
  domain::CaseSource source = domain::CaseSource::kUnspecified;
  int page_size = 0;  // 0: 50; at most 500
  std::string page_token;
};

struct EvaluationPage {
  std::vector<Evaluation> evaluations;
  domain::Micros compute_time = 0;  // when the month was rated (the snapshot's time)
  std::string next_page_token;
};

class EvaluationService {
 public:
  // Snapshots are kept for `snapshot_ttl` (a page token older than that starts a new rating).
  EvaluationService(store::OrganisationStore* org, store::FigureStore* figures,
                    FlagThresholds thresholds, domain::Micros snapshot_ttl = 600LL * 1000000,
                    EvaluationExtras extras = {})
      : org_(org),
        figures_(figures),
        thresholds_(thresholds),
        ttl_(snapshot_ttl),
        extras_(std::move(extras)) {}

  // INVALID_ARGUMENT for a month out of 1..12 or not ended, an unknown grid, a malformed page
  // token or a negative page size; a supervisor gets only their subtree (FiguresSubtree), other
  // roles but operators PERMISSION_DENIED.
  absl::StatusOr<EvaluationPage> List(const RequestContext& rc, const EvaluationQuery& q);

  // How many times a month was rated (for tests: later pages must not rate again).
  int64_t ratings() const;

 private:
  struct Snapshot {
    int64_t id = 0;
    int year = 0;
    int month = 0;
    domain::CaseSource source = domain::CaseSource::kUnspecified;
    domain::Micros time = 0;
    std::vector<Evaluation> all;
  };
  std::shared_ptr<const Snapshot> Find(int64_t id, const EvaluationQuery& q, domain::Micros now);

  store::OrganisationStore* org_;
  store::FigureStore* figures_;
  EvaluationExtras extras_;
  const FlagThresholds thresholds_;
  const domain::Micros ttl_;
  mutable std::mutex mu_;
  std::deque<std::shared_ptr<const Snapshot>> snapshots_;  // newest last, at most 16
  int64_t next_id_ = 1;
  int64_t ratings_ = 0;
};

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_EVALUATIONS_H_
