// Writes the seed corpora of the harnesses, one directory per harness, from the data the tests
// use: the test images of tests/test_images.h, the demo organisation and server configs of
// deploy/, and valid requests like those of the end-to-end tests. Not a fuzzer.
//
//   build-fuzz/fuzz/write_seeds REPO_ROOT OUT_DIR      (OUT_DIR/<harness>/<seed>)
#include <google/protobuf/text_format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "gridline/v1/admin_service.pb.h"
#include "gridline/v1/department_service.pb.h"
#include "gridline/v1/dispatch_service.pb.h"
#include "gridline/v1/organisation.pb.h"
#include "gridline/v1/patrol_service.pb.h"
#include "gridline/v1/report_service.pb.h"
#include "server/app/config.h"
#include "server/util/sha256.h"
#include "tests/test_images.h"

namespace gridline::fuzz {
namespace {

namespace v1 = ::gridline::v1;
namespace fs = std::filesystem;

constexpr int64_t kNowSeconds = 1780272000;  // the harnesses' clock: 2026-06-01T00:00:00Z

fs::path out_dir;

void Write(const std::string& harness, const std::string& name, const std::string& bytes) {
  fs::create_directories(out_dir / harness);
  std::ofstream(out_dir / harness / name, std::ios::binary) << bytes;
}

// fuzz_requests: the selector byte, then the message.
void Request(int kind, const std::string& name, const google::protobuf::Message& m) {
  Write("fuzz_requests", name, std::string(1, static_cast<char>(kind)) + m.SerializeAsString());
}

void SetTime(int64_t seconds, google::protobuf::Timestamp* t) { t->set_seconds(seconds); }

v1::SubmitReportRequest Report() {
  v1::SubmitReportRequest r;
  r.set_request_id("req-0001");
  r.set_category_code("K1");
  r.set_description("井盖缺失 (manhole cover missing) near the school gate");
  r.mutable_location()->set_grid_code("S");
  r.mutable_location()->mutable_coordinates()->set_latitude(31.2304);
  r.mutable_location()->mutable_coordinates()->set_longitude(121.4737);
  r.mutable_location()->set_address("上海市黄浦区 1 号");
  SetTime(kNowSeconds - 600, r.mutable_observe_time());
  r.set_urgency(v1::URGENT);
  r.add_attachment_ids(util::Sha256Hex("photo-1"));
  return r;
}

void Requests() {
  Request(0, "submit_report", Report());
  v1::RegisterCaseRequest reg;
  *reg.mutable_report() = Report();
  reg.set_source(v1::PUBLIC);
  Request(1, "register_case", reg);
  v1::StartPatrolRequest start;
  start.set_patrol_id("patrol-1");
  start.set_grid_code("S");
  SetTime(kNowSeconds - 7200, start.mutable_start_time());
  Request(2, "start_patrol", start);
  v1::AppendTrackRequest track;
  track.set_patrol_id("P-1");
  track.set_batch_id("batch-1");
  for (int i = 0; i < 3; ++i) {
    auto* p = track.add_points();
    SetTime(kNowSeconds - 3000 + 60 * i, p->mutable_time());
    p->mutable_position()->set_latitude(31.2304 + 0.0005 * i);
    p->mutable_position()->set_longitude(121.4737);
  }
  Request(3, "append_track", track);
  v1::RecordVisitRequest visit;
  visit.set_visit_id("visit-1");
  visit.set_patrol_id("P-1");
  visit.set_kind(v1::VISIT_SHOP);
  visit.set_subject("面馆");
  visit.set_note("fire extinguisher checked");
  visit.mutable_position()->set_latitude(31.2305);
  visit.mutable_position()->set_longitude(121.4738);
  SetTime(kNowSeconds - 600, visit.mutable_visit_time());
  Request(4, "record_visit", visit);
  v1::EndPatrolRequest end;
  end.set_patrol_id("P-1");
  SetTime(kNowSeconds - 60, end.mutable_end_time());
  Request(5, "end_patrol", end);
  v1::IssueSupervisionOrderRequest order;
  order.set_case_id("D");
  order.set_request_id("order-1");
  order.set_reason("overdue for three days");
  SetTime(kNowSeconds + 86400, order.mutable_respond_by_time());
  Request(6, "issue_supervision", order);
  v1::RequestExtensionRequest ext;
  ext.set_case_id("c-1");
  ext.set_reason("waiting for parts");
  SetTime(kNowSeconds + 3 * 86400, ext.mutable_requested_deadline_time());
  Request(7, "request_extension", ext);
  v1::ListAuditLogRequest audit;
  audit.set_page_size(20);
  audit.set_page_token("a1.1780271000000000.audit-17");
  SetTime(kNowSeconds - 86400, audit.mutable_start_time());
  Request(8, "list_audit_log", audit);
  v1::ListPatrolsRequest patrols;
  patrols.set_page_token("1780265000000000.patrol-1");
  SetTime(kNowSeconds - 86400, patrols.mutable_start_time());
  SetTime(kNowSeconds, patrols.mutable_end_time());
  Request(9, "list_patrols", patrols);
  v1::GetStatisticsRequest stats;
  SetTime(kNowSeconds - 30 * 86400, stats.mutable_start_time());
  SetTime(kNowSeconds, stats.mutable_end_time());
  Request(10, "get_statistics", stats);
}

void Tokens() {
  Write("fuzz_tokens", "feed_cursor", "g1-1234");
  Write("fuzz_tokens", "keyset", "1780265000000000.C20260601-0001");
  Write("fuzz_tokens", "evaluation", "e3.100");
  Write("fuzz_tokens", "evaluation_old", "o50");
  Write("fuzz_tokens", "audit", "a1.1780271000000000.audit-17");
  Write("fuzz_tokens", "track_points", "1000");
}

void Images() {
  Write("fuzz_image", "png", testing::TestPng(300, "seed"));
  Write("fuzz_image", "jpeg", testing::TestJpeg(400, "seed"));
  Write("fuzz_image", "webp", testing::TestWebp(120, "seed"));
}

// fuzz_upload: the limit byte, then length-prefixed UploadAttachmentRequest messages.
void Upload(const std::string& name, int limit, const std::string& image, size_t chunk) {
  std::string out(1, static_cast<char>(limit));
  auto add = [&](const v1::UploadAttachmentRequest& m) {
    const std::string bytes = m.SerializeAsString();
    out.push_back(static_cast<char>(bytes.size() & 0xff));
    out.push_back(static_cast<char>(bytes.size() >> 8));
    out += bytes;
  };
  v1::UploadAttachmentRequest meta;
  meta.mutable_metadata()->set_sha256(util::Sha256Hex(image));
  meta.mutable_metadata()->set_size_bytes(static_cast<int64_t>(image.size()));
  meta.mutable_metadata()->set_file_name("IMG_0001.jpg");
  add(meta);
  for (size_t at = 0; at < image.size(); at += chunk) {
    v1::UploadAttachmentRequest c;
    c.set_chunk(image.substr(at, chunk));
    add(c);
  }
  Write("fuzz_upload", name, out);
}

void Uploads() {
  Upload("jpeg_3_chunks", 0, testing::TestJpeg(600, "up"), 256);
  Upload("png_1_chunk", 1, testing::TestPng(300, "up"), 4096);
  Upload("webp_2_chunks", 2, testing::TestWebp(200, "up"), 128);
}

bool Organisations(const fs::path& root) {
  auto text = app::ReadWholeFile((root / "deploy/demo/organisation.textproto").string());
  if (!text.ok()) return false;
  v1::Organisation demo;
  if (!app::ParseTextMessage(*text, &demo, "demo organisation").ok()) return false;
  // The demo organisation is about 10 KB serialized; seeds stay small, so a slice of it: the
  // first grids, departments, categories, rules and users.
  v1::Organisation slice;
  for (int i = 0; i < demo.grids_size() && i < 6; ++i) *slice.add_grids() = demo.grids(i);
  for (int i = 0; i < demo.departments_size() && i < 3; ++i) {
    *slice.add_departments() = demo.departments(i);
  }
  for (int i = 0; i < demo.categories_size() && i < 3; ++i) {
    *slice.add_categories() = demo.categories(i);
  }
  for (int i = 0; i < demo.routing_rules_size() && i < 3; ++i) {
    *slice.add_routing_rules() = demo.routing_rules(i);
  }
  for (int i = 0; i < demo.users_size() && i < 4; ++i) *slice.add_users() = demo.users(i);
  Write("fuzz_organisation", "demo_slice_empty_store",
        std::string(1, '\0') + slice.SerializeAsString());
  // An import onto the harness's small stored organisation: a new street under its district, a
  // renamed category, a grid leader there.
  v1::Organisation onto;
  const bool parsed = google::protobuf::TextFormat::ParseFromString(
      R"pb(
        grids { code: "S2" name: "Second street" level: STREET parent_code: "D" }
        categories {
          code: "K1"
          name: "Litter and waste"
          kind: EVENT
          normal_deadline_hours: 48
          urgent_deadline_hours: 24
          emergency_deadline_hours: 4
        }
        routing_rules {
          rule_id: "R2"
          category_code: "K1"
          grid_code: "S2"
          lead_department_code: "DEPT"
        }
        users {
          user: { user_id: "u-leader-2" display_name: "Leader 2" role: GRID_LEADER grid_code: "S2" }
        }
      )pb",
      &onto);
  if (!parsed) return false;
  Write("fuzz_organisation", "onto_small_store", std::string(1, '\1') + onto.SerializeAsString());
  return true;
}

bool Configs(const fs::path& root) {
  for (const char* file : {"deploy/server.example.textproto", "deploy/demo/server.textproto"}) {
    auto text = app::ReadWholeFile((root / file).string());
    if (!text.ok()) return false;
    Write(
        "fuzz_config",
        fs::path(file).parent_path().filename().string() + "_" + fs::path(file).filename().string(),
        *text);
  }
  Write("fuzz_config", "mysql", R"pb(
    store { mysql { host: "127.0.0.1" port: 3306 user: "gridline" database: "gridline" } }
    worker_threads: 4
    watch { poll_interval_ms: 200 }
    evaluation { red_rework_rate: 0.2 utc_offset_minutes: 480 }
  )pb");
  return true;
}

}  // namespace
}  // namespace gridline::fuzz

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: write_seeds REPO_ROOT OUT_DIR\n";
    return 2;
  }
  gridline::fuzz::out_dir = argv[2];
  const std::filesystem::path root = argv[1];
  gridline::fuzz::Requests();
  gridline::fuzz::Tokens();
  gridline::fuzz::Images();
  gridline::fuzz::Uploads();
  if (!gridline::fuzz::Organisations(root) || !gridline::fuzz::Configs(root)) {
    std::cerr << "write_seeds: cannot read the demo files under " << root << "\n";
    return 1;
  }
  return 0;
}
