// A line department's console (条): take every case dispatched to the department, accept it and
// report the result, with an optional after-photo.
//
//   export GRIDLINE_TOKEN=demo-staff-sz-1-7df0788b89946940
//   ./department_console --endpoint 127.0.0.1:50051 --insecure [--cases 1] [--timeout 300]
//
// Flags: --endpoint HOST:PORT (default: $GRIDLINE_ENDPOINT), --insecure (plain text, local
// servers only), --cases N (stop after N resolved cases; default 0: run until killed),
// --timeout SECONDS (give up after that long; default 0: never), --result TEXT,
// --after-photo FILE. Exit status 0 after N cases, 1 on an error or timeout.
//
// It first handles the cases already waiting, then the live feed from the moment that list was
// read (ListAndWatchAssignments: ListAssignedCases, then WatchAssignments from the list's
// feed_cursor, so no dispatch falls between the two): a ROUTED event announces a case
// dispatched to the department.
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gridline/client/department_client.h"
#include "gridline/client/photo.h"
#include "gridline/client/status.h"
#include "gridline/client/watch.h"

namespace gc = ::gridline::client;
namespace v1 = ::gridline::v1;

namespace {

void PrintError(const std::string& what, const gc::Status& status) {
  std::cerr << what << ": " << status << "\n";
  for (const auto& v : gc::GetErrorDetails(status).precondition_violations) {
    std::cerr << "  " << v.type << " is " << v.subject << ": " << v.description << "\n";
  }
}

// Cancels `watch` when `timeout` has passed (never when it is zero), unless destroyed first.
// Watch::Cancel works from any thread: the blocked Next() (or Run()) returns CANCELLED.
class CancelAfter {
 public:
  CancelAfter(gc::Watch& watch, std::chrono::seconds timeout)
      : thread_([this, &watch, timeout] {
          std::unique_lock<std::mutex> lock(mu_);
          auto done = [this] { return done_; };
          if (timeout.count() == 0) {
            cv_.wait(lock, done);
          } else if (!cv_.wait_for(lock, timeout, done)) {
            expired_ = true;
            watch.Cancel();
          }
        }) {}
  ~CancelAfter() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  bool expired() {
    std::lock_guard<std::mutex> lock(mu_);
    return expired_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool expired_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

}  // namespace

int main(int argc, char** argv) {
  const char* env_endpoint = std::getenv("GRIDLINE_ENDPOINT");
  const char* env_token = std::getenv("GRIDLINE_TOKEN");  // never on the command line
  std::string endpoint = env_endpoint ? env_endpoint : "";
  std::string result = "已修复 repaired and tested on site";
  std::string after_photo_file;
  bool insecure = false;
  int cases = 0;
  int timeout_seconds = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--endpoint" && has_value) {
      endpoint = argv[++i];
    } else if (arg == "--cases" && has_value) {
      cases = std::atoi(argv[++i]);
    } else if (arg == "--timeout" && has_value) {
      timeout_seconds = std::atoi(argv[++i]);
    } else if (arg == "--result" && has_value) {
      result = argv[++i];
    } else if (arg == "--after-photo" && has_value) {
      after_photo_file = argv[++i];
    } else if (arg == "--insecure") {
      insecure = true;
    } else {
      std::cerr << "usage: " << argv[0]
                << " [--endpoint HOST:PORT] [--insecure] [--cases N] [--timeout SECONDS]"
                   " [--result TEXT] [--after-photo FILE]\n";
      return 2;
    }
  }
  if (endpoint.empty() || env_token == nullptr) {
    std::cerr << "set --endpoint (or GRIDLINE_ENDPOINT) and GRIDLINE_TOKEN\n";
    return 2;
  }
  std::vector<gc::Photo> after_photos;
  if (!after_photo_file.empty()) {
    auto photo = gc::Photo::FromFile(after_photo_file);
    if (!photo.ok()) {
      PrintError("reading " + after_photo_file, photo.status());
      return 1;
    }
    after_photos.push_back(*std::move(photo));
  }

  gc::DepartmentClient client(gc::MakeDepartmentConnection(
      gc::Options{}
          .set<gc::EndpointOption>(endpoint)
          .set<gc::AuthTokenOption>(env_token)
          .set<gc::InsecureChannelOption>(insecure)
          .set<gc::UserAgentPrefixOption>("department-console-example/1.0")));

  // Accepts a dispatched case and resolves it. A case is taken once even if both the list and
  // the feed bring it.
  std::set<std::string> taken;
  int resolved_count = 0;
  auto handle = [&](const std::string& case_id) {
    if (taken.count(case_id) != 0) return;
    v1::AcceptAssignmentRequest accept;
    accept.set_case_id(case_id);
    accept.set_note("on our way");
    auto accepted = client.AcceptAssignment(accept);
    if (!accepted.ok()) {
      // NOT_FOUND: re-routed to another department; FAILED_PRECONDITION: a colleague was faster.
      PrintError("skipping case " + case_id, accepted.status());
      return;
    }
    taken.insert(case_id);
    std::cout << "accepted case " << case_id << " (" << accepted->category_code() << ", "
              << accepted->case_number() << ")" << std::endl;
    v1::ResolveCaseRequest resolve;
    resolve.set_case_id(case_id);
    resolve.set_result(result);
    resolve.set_expected_version(accepted->version());          // a retry cannot apply twice
    auto resolved = client.ResolveCase(resolve, after_photos);  // uploads the photos first
    if (!resolved.ok()) {
      PrintError("resolving case " + case_id, resolved.status());
      return;
    }
    std::cout << "resolved case " << case_id << ": " << v1::CaseState_Name(resolved->state())
              << std::endl;
    ++resolved_count;
  };
  auto enough = [&] { return cases > 0 && resolved_count >= cases; };
  v1::ListAssignedCasesRequest waiting;
  waiting.add_states(v1::DISPATCHED);
  // Every page of the waiting cases, for a re-sync.
  auto handle_waiting = [&]() -> gc::Status {
    v1::ListAssignedCasesRequest list = waiting;
    do {
      auto page = client.ListAssignedCases(list);
      if (!page.ok()) return page.status();
      for (const v1::Case& c : page->cases()) handle(c.case_id());
      list.set_page_token(page->next_page_token());
    } while (!list.page_token().empty());
    return gc::Status();
  };

  // 1. What is already waiting (every page), 2. everything after that list: the watch starts
  // where the list's first page was read, and drops the events the list already shows.
  auto listed = client.ListAndWatchAssignments(waiting);
  if (!listed.ok()) {
    PrintError("ListAssignedCases", listed.status());
    return 1;
  }
  for (const v1::Case& c : listed->items) handle(c.case_id());
  if (enough()) {
    std::cout << "done: " << resolved_count << " case(s)\n";
    return 0;
  }
  std::unique_ptr<gc::Watch> watch = std::move(listed->watch);
  std::cout << "watching assignments" << std::endl;
  CancelAfter deadline(*watch, std::chrono::seconds(timeout_seconds));
  gc::Status watched = watch->Run([&](const gc::WatchUpdate& update) {
    if (update.kind == gc::WatchUpdate::Kind::kResyncRequired) {
      // Events were lost (the cursor expired): look at the list again, then keep watching (the
      // watch goes on from before this list; `taken` keeps a case from being handled twice).
      if (gc::Status s = handle_waiting(); !s.ok()) PrintError("ListAssignedCases", s);
    } else if (update.event.type() == v1::ROUTED && update.event.to_state() == v1::DISPATCHED) {
      handle(update.event.case_id());
    }
    return !enough();
  });
  if (enough()) {
    std::cout << "done: " << resolved_count << " case(s)\n";
    return 0;
  }
  if (deadline.expired()) {
    std::cerr << "timed out after " << timeout_seconds << " s with " << resolved_count << " of "
              << cases << " case(s)\n";
  } else {
    PrintError("WatchAssignments", watched);
  }
  return 1;
}
