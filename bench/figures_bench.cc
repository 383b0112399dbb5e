// figures_bench: how the figures (GetStatistics, ListEvaluations) and the case lists scale with
// the number of cases (issue 11). It fills a store with N cases spread over a year through the
// store's bulk path (Store::BulkLoadCases), with realistic histories, then times the same domain
// calls the RPCs make, and prints a table next to the goals.
//
//   figures_bench --sqlite /tmp/figures.db --cases 50000
//   figures_bench --mysql_host 127.0.0.1 --mysql_port 3306 --mysql_user u --mysql_password p \
//                 --mysql_database figures --cases 50000
//   (bench/run_figures_bench.sh runs both at the sizes of BENCHMARKS.md)
//
// A store that already holds the cases (same --cases and --seed) is reused: --reuse. A fill that
// was stopped (each batch of 2,000 is one transaction) goes on from where it was: --resume.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "server/domain/types.h"
#include "server/service/statistics.h"
#include "server/store/store.h"
#include "server/util/clock.h"

namespace gridline {
namespace {

using domain::Case;
using domain::CaseEvent;
using domain::CaseState;
using domain::EventType;
using domain::Micros;

constexpr Micros kHour = 3600LL * 1000000;
constexpr Micros kDay = 24 * kHour;
constexpr int kStreets = 10, kCommunities = 5, kCells = 4, kDepartments = 12, kCategories = 10;

struct Flags {
  std::string sqlite;
  store::MysqlOptions mysql;
  bool use_mysql = false;
  int64_t cases = 50000;
  uint64_t seed = 1;
  bool reuse = false;
  bool resume = false;
  int repeats = 5;
};

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr,
               "figures_bench: %s\nusage: figures_bench (--sqlite PATH | --mysql_host H "
               "--mysql_port P --mysql_user U --mysql_password W --mysql_database D) "
               "[--cases N] [--seed S] [--reuse] [--resume] [--repeats R]\n",
               why.c_str());
  std::exit(2);
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage(a + " needs a value");
      return argv[++i];
    };
    auto number = [&](int64_t* out) {
      if (!absl::SimpleAtoi(value(), out)) Usage(a + " needs a number");
    };
    int64_t n = 0;
    if (a == "--sqlite") {
      f.sqlite = value();
    } else if (a == "--mysql_host") {
      f.mysql.host = value();
      f.use_mysql = true;
    } else if (a == "--mysql_port") {
      number(&n);
      f.mysql.port = static_cast<int>(n);
    } else if (a == "--mysql_user") {
      f.mysql.user = value();
    } else if (a == "--mysql_password") {
      f.mysql.password = value();
    } else if (a == "--mysql_database") {
      f.mysql.database = value();
    } else if (a == "--cases") {
      number(&f.cases);
    } else if (a == "--seed") {
      number(&n);
      f.seed = static_cast<uint64_t>(n);
    } else if (a == "--repeats") {
      number(&n);
      f.repeats = static_cast<int>(std::max<int64_t>(1, n));
    } else if (a == "--reuse") {
      f.reuse = true;
    } else if (a == "--resume") {
      f.resume = true;
    } else {
      Usage("unknown flag " + a);
    }
  }
  if (f.sqlite.empty() == !f.use_mysql) Usage("name exactly one store");
  f.mysql.create_database = true;
  return f;
}

std::string Cell(int s, int c, int k) { return absl::StrFormat("410184%03d%03d%03d", s, c, k); }

// A district of 10 streets, 50 communities and 200 cells; 12 departments; 10 categories.
domain::Organisation MakeOrganisation() {
  domain::Organisation org;
  org.grids.push_back({"410184", "新郑市", domain::GridLevel::kDistrict, "", ""});
  for (int s = 1; s <= kStreets; ++s) {
    const std::string street = absl::StrFormat("410184%03d", s);
    org.grids.push_back({street, "街道 " + street, domain::GridLevel::kStreet, "410184", ""});
    for (int c = 1; c <= kCommunities; ++c) {
      const std::string community = absl::StrFormat("%s%03d", street, c);
      org.grids.push_back(
          {community, "社区 " + community, domain::GridLevel::kCommunity, street, ""});
      for (int k = 1; k <= kCells; ++k) {
        org.grids.push_back({Cell(s, c, k), "网格", domain::GridLevel::kCell, community, ""});
      }
    }
  }
  for (int d = 1; d <= kDepartments; ++d) {
    org.departments.push_back({absl::StrFormat("D%02d", d), "部门", "", "410184"});
  }
  for (int k = 1; k <= kCategories; ++k) {
    domain::Category c;
    c.code = absl::StrFormat("K%02d", k);
    c.name = "类别";
    c.kind = domain::CategoryKind::kComponent;
    c.normal_deadline_hours = 72;
    org.categories.push_back(c);
  }
  org.users.push_back({"u-leader", "网格长", domain::Role::kGridLeader, Cell(1, 1, 1), "", false});
  return org;
}

// One case and its history, drawn at random: filed and routed, most closed (8% after a failed
// verification, 5% with an extension); the recent ones in triage or open as below.
store::BulkCase MakeCase(int64_t i, Micros year_start, Micros now, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> street(1, kStreets), community(1, kCommunities),
      cell(1, kCells), dept(1, kDepartments), category(1, kCategories), percent(0, 99);
  std::uniform_int_distribution<Micros> in_year(0, 365 * kDay - 1), hours(1, 100);
  const int s = street(rng), c = community(rng), k = cell(rng);
  store::BulkCase b;
  Case& x = b.c;
  x.case_id = absl::StrFormat("b%015d", i);
  x.category_code = absl::StrFormat("K%02d", category(rng));
  x.description = "路面破损";
  x.grid_code = Cell(s, c, k);
  x.grid_path = absl::StrFormat("/410184/410184%03d/410184%03d%03d/%s/", s, s, c, x.grid_code);
  x.reporter_user_id = "u-leader";
  x.create_time = std::min(now - kHour, year_start + in_year(rng));
  x.observe_time = x.create_time;
  x.request_id = absl::StrCat("bulk-", i);
  x.request_digest = std::string(64, '0');
  Micros t = x.create_time;
  auto event = [&](EventType type, CaseState from, CaseState to) {
    CaseEvent e;
    e.case_id = x.case_id;
    e.type = type;
    e.from_state = from;
    e.to_state = to;
    e.actor_user_id = "u-leader";
    e.actor_role = domain::Role::kGridLeader;
    e.event_time = t;
    e.category_code = x.category_code;
    e.grid_code = x.grid_code;
    e.grid_path = x.grid_path;
    e.reporter_user_id = x.reporter_user_id;
    e.lead_department_code = x.lead_department_code;
    e.case_version = ++x.version;
    b.events.push_back(std::move(e));
    x.state = to;
    x.state_time = t;
  };
  event(EventType::kReported, CaseState::kUnspecified, CaseState::kPendingTriage);
  // Cases of the last two weeks: 3% still in triage, 15% open. Older ones are closed, but for
  // 0.3% stuck open past their deadline (a city whose old cases stay open is not working).
  int fate = percent(rng);
  if (now - x.create_time >= 14 * kDay) {
    fate = std::uniform_int_distribution<int>(0, 999)(rng) < 3 ? 10 : 99;
  }
  if (fate >= 3) {
    t += kHour;
    x.filed_time = t;
    x.case_number = absl::StrFormat("410184-%d-%06d", 2026, i);
    x.first_deadline_time = x.deadline_time = t + 72 * kHour;
    x.lead_department_code = absl::StrFormat("D%02d", dept(rng));
    event(EventType::kAcceptedForFiling, CaseState::kPendingTriage, CaseState::kDispatched);
    --x.version;  // filing and routing are one write: one version
    event(EventType::kRouted, CaseState::kPendingTriage, CaseState::kDispatched);
    if (fate >= 18 && t + 200 * kHour < now) {  // closed
      t += kHour;
      event(EventType::kAssignmentAccepted, CaseState::kDispatched, CaseState::kInProgress);
      t += hours(rng) * kHour;
      event(EventType::kCaseResolved, CaseState::kInProgress, CaseState::kResolved);
      if (percent(rng) < 8) {
        t += 2 * kHour;
        x.rework_count = 1;
        event(EventType::kVerificationFailed, CaseState::kResolved, CaseState::kInProgress);
        t += hours(rng) * kHour / 4;
        event(EventType::kCaseResolved, CaseState::kInProgress, CaseState::kResolved);
      }
      if (percent(rng) < 5) {  // an extension of two days, granted before the work ended
        x.deadline_time += 48 * kHour;
        event(EventType::kExtensionDecided, CaseState::kResolved, CaseState::kResolved);
      }
      t += 2 * kHour;
      x.closed_time = t;
      event(EventType::kVerificationPassed, CaseState::kResolved, CaseState::kClosed);
    } else if (fate >= 10) {
      t += kHour;
      event(EventType::kAssignmentAccepted, CaseState::kDispatched, CaseState::kInProgress);
    }
  }
  x.update_time = t;
  return b;
}

struct Timing {
  double p50_ms = 0, max_ms = 0;
};

Timing Time(int repeats, const std::function<void()>& call) {
  std::vector<double> ms;
  for (int r = 0; r < repeats; ++r) {
    auto start = std::chrono::steady_clock::now();
    call();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.back()};
}

template <typename T>
T Must(absl::StatusOr<T> v, const char* what) {
  if (!v.ok()) {
    std::fprintf(stderr, "figures_bench: %s: %s\n", what,
                 std::string(v.status().message()).c_str());
    std::exit(1);
  }
  return *std::move(v);
}

// `q` positioned `depth` items in (keyset pagination, as the RPCs page), for a page of 50;
// `walked` says how far it got (less when there are fewer items).
store::CaseQuery AtDepth(store::Store* s, store::CaseQuery q, int64_t depth, int64_t* walked) {
  *walked = 0;
  while (*walked < depth) {
    q.limit = static_cast<int>(std::min<int64_t>(1000, depth - *walked));
    auto page = Must(s->ListCases(q), "ListCases");
    if (page.empty()) break;
    *walked += static_cast<int64_t>(page.size());
    q.has_after = true;
    q.after_key = store::SortKey(page.back(), q.order);
    q.after_case_id = page.back().case_id;
  }
  q.limit = 50;
  return q;
}

}  // namespace
}  // namespace gridline

int main(int argc, char** argv) {
  using namespace gridline;
  const Flags f = ParseFlags(argc, argv);
  std::unique_ptr<store::Store> s =
      f.use_mysql ? Must(store::OpenMysqlStore(f.mysql), "open MySQL")
                  : Must(store::OpenSqliteStore({f.sqlite, 4}), "open SQLite");
  const Micros now = util::WallClock().NowMicros();
  // The year before the start of this month (UTC+8), so that every month of it has ended.
  const absl::TimeZone zone = absl::FixedTimeZone(8 * 3600);
  const absl::CivilMonth this_month = absl::ToCivilMonth(absl::FromUnixMicros(now), zone);
  const Micros year_end = absl::ToUnixMicros(absl::FromCivil(this_month, zone));
  const Micros year_start = year_end - 365 * kDay;

  auto existing = Must(s->CountCases(), "count cases");
  const bool resuming = f.resume && existing > 0 && existing < f.cases;
  if (!(f.reuse && existing == f.cases)) {
    if (existing != 0 && !resuming) {
      std::fprintf(stderr,
                   "figures_bench: the store already holds %lld cases; use a fresh one "
                   "(or --reuse with the same --cases)\n",
                   static_cast<long long>(existing));
      return 1;
    }
    if (auto st = s->ApplyOrganisation(MakeOrganisation()); !st.ok()) {
      std::fprintf(stderr, "figures_bench: organisation: %s\n", std::string(st.message()).c_str());
      return 1;
    }
    const auto fill_start = std::chrono::steady_clock::now();
    constexpr int64_t kBatch = 2000;
    int64_t events = 0;
    const int64_t first = resuming ? existing : 0;
    for (int64_t i = first; i < f.cases; i += kBatch) {
      std::mt19937_64 rng(f.seed * 1000003 + i / kBatch);  // one stream per batch: resumable
      std::vector<store::BulkCase> batch;
      for (int64_t j = i; j < std::min(f.cases, i + kBatch); ++j) {
        batch.push_back(MakeCase(j, year_start, year_end, rng));
        events += static_cast<int64_t>(batch.back().events.size());
      }
      if (auto st = s->BulkLoadCases(batch); !st.ok()) {
        std::fprintf(stderr, "figures_bench: bulk load: %s\n", std::string(st.message()).c_str());
        return 1;
      }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - fill_start).count();
    std::printf("filled %lld cases with %lld events in %.1f s (%.0f cases/s)\n",
                static_cast<long long>(f.cases - first), static_cast<long long>(events), secs,
                (f.cases - first) / secs);
  }

  struct Row {
    std::string call;
    std::string goal;
    gridline::Timing t;
  };
  std::vector<Row> rows;
  service::StatisticsQuery city;
  city.start_time = year_start;
  city.end_time = year_end;
  rows.push_back({"GetStatistics, city, one year", "<= 200 ms", Time(f.repeats, [&] {
                    Must(service::ComputeStatistics(s.get(), s.get(), city, now), "statistics");
                  })});
  service::StatisticsQuery street;
  street.grid_code = "410184001";
  street.start_time = year_end - 30 * kDay;
  street.end_time = year_end;
  rows.push_back({"GetStatistics, one street, one month", "<= 50 ms", Time(f.repeats, [&] {
                    Must(service::ComputeStatistics(s.get(), s.get(), street, now), "statistics");
                  })});
  // The default range of a dashboard: from a day start to now (its end is not on a day: the
  // cases of today so far are recounted).
  service::StatisticsQuery until_now;
  until_now.start_time = year_end - 30 * kDay;
  rows.push_back({"GetStatistics, city, 30 days until now", "-", Time(f.repeats, [&] {
                    Must(service::ComputeStatistics(s.get(), s.get(), until_now, now),
                         "statistics");
                  })});
  const absl::CivilMonth last = this_month - 1;
  service::FlagThresholds thresholds;
  rows.push_back(
      {"ListEvaluations, one month, all units", "<= 1 s", Time(std::min(f.repeats, 3), [&] {
         Must(service::EvaluateMonth(s.get(), s.get(), static_cast<int>(last.year()), last.month(),
                                     thresholds, now),
              "evaluations");
       })});
  store::CaseQuery all;
  all.subtree_grid_code = "410184";
  all.order = store::CaseQuery::Order::kNewestFirst;
  all.limit = 50;
  rows.push_back({"ListCases, page of 50, first page", "<= 20 ms",
                  Time(f.repeats, [&] { Must(s->ListCases(all), "ListCases"); })});
  // The 10,000-deep page: the walk to it is not timed, only the page there.
  int64_t walked = 0;
  const store::CaseQuery deep = AtDepth(s.get(), all, 10000, &walked);
  rows.push_back({absl::StrCat("ListCases, page of 50, ", walked, " items deep"), "<= 20 ms",
                  Time(f.repeats, [&] { Must(s->ListCases(deep), "ListCases"); })});
  // A grid leader's cell: the smallest subtree, where walking the newest-first index reads
  // the most entries per page (SQLite).
  store::CaseQuery cell = all;
  cell.subtree_grid_code = Cell(1, 1, 1);
  rows.push_back({"ListCases, one cell, first page", "-",
                  Time(f.repeats, [&] { Must(s->ListCases(cell), "ListCases"); })});
  store::CaseQuery queue;
  queue.subtree_grid_code = "410184";
  queue.states = {CaseState::kPendingTriage, CaseState::kReturned};
  queue.order = store::CaseQuery::Order::kQueueOldest;
  queue.limit = 50;
  rows.push_back({"ListTriageQueue, page of 50, first page", "<= 20 ms",
                  Time(f.repeats, [&] { Must(s->ListCases(queue), "ListCases"); })});

  std::printf("\n%s, %lld cases over one year\n\n", f.use_mysql ? "MariaDB" : "SQLite",
              static_cast<long long>(f.cases));
  std::printf("| call | p50 | max | goal at 5M |\n|---|---:|---:|---|\n");
  for (const auto& r : rows) {
    std::printf("| %s | %.1f ms | %.1f ms | %s |\n", r.call.c_str(), r.t.p50_ms, r.t.max_ms,
                r.goal.c_str());
  }
  return 0;
}
