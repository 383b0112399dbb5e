#include "server/api/convert.h"

#include <grpc/grpc_security_constants.h>

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/api/forwarded.h"
#include "server/domain/errors.h"
#include "server/util/sha256.h"
#include "server/util/text.h"

namespace gridline::api {

void SetTimestamp(domain::Micros t, google::protobuf::Timestamp* out) {
  int64_t secs = t / 1000000;
  int64_t micros = t % 1000000;
  if (micros < 0) {
    micros += 1000000;
    secs -= 1;
  }
  out->set_seconds(secs);
  out->set_nanos(static_cast<int32_t>(micros * 1000));
}

namespace {
// The ranges google.protobuf.Timestamp (0001-01-01 to 9999-12-31) and Duration (±10,000 years)
// define. Within them, seconds × 10⁶ cannot overflow int64 (the largest is about 3.2 × 10¹⁷).
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;
constexpr int64_t kMaxDurationSeconds = 315576000000;
}  // namespace

absl::StatusOr<domain::Micros> TimestampMicros(const google::protobuf::Timestamp& t,
                                               absl::string_view field) {
  if (t.seconds() < kMinTimestampSeconds || t.seconds() > kMaxTimestampSeconds || t.nanos() < 0 ||
      t.nanos() > 999999999) {
    return domain::InvalidField(std::string(field),
                                "is not a valid time (years 0001 to 9999, nanos in [0, 10^9))");
  }
  return t.seconds() * 1000000 + t.nanos() / 1000;
}

absl::StatusOr<domain::Micros> DurationMicros(const google::protobuf::Duration& d,
                                              absl::string_view field) {
  if (d.seconds() < -kMaxDurationSeconds || d.seconds() > kMaxDurationSeconds ||
      d.nanos() < -999999999 || d.nanos() > 999999999 || (d.seconds() > 0 && d.nanos() < 0) ||
      (d.seconds() < 0 && d.nanos() > 0)) {
    return domain::InvalidField(
        std::string(field),
        "is not a valid duration (at most 10,000 years; seconds and nanos of one sign)");
  }
  return d.seconds() * 1000000 + d.nanos() / 1000;
}

absl::Status ReadTime(bool present, const google::protobuf::Timestamp& t, absl::string_view field,
                      domain::Micros* out) {
  if (!present) return absl::OkStatus();
  auto micros = TimestampMicros(t, field);
  if (!micros.ok()) return micros.status();
  *out = *micros;
  return absl::OkStatus();
}

void SetDuration(domain::Micros d, google::protobuf::Duration* out) {
  out->set_seconds(d / 1000000);
  out->set_nanos(static_cast<int32_t>((d % 1000000) * 1000));
}

void ToProto(const domain::Case& in, v1::Case* out) {
  out->set_case_id(in.case_id);
  out->set_case_number(in.case_number);
  out->set_source(static_cast<v1::CaseSource>(in.source));
  out->set_patrol_id(in.patrol_id);
  out->set_state(static_cast<v1::CaseState>(in.state));
  out->set_category_code(in.category_code);
  out->set_description(in.description);
  auto* loc = out->mutable_location();
  loc->set_grid_code(in.grid_code);
  loc->mutable_coordinates()->set_latitude(in.latitude);
  loc->mutable_coordinates()->set_longitude(in.longitude);
  loc->set_address(in.address);
  SetTimestamp(in.observe_time, out->mutable_observe_time());
  out->set_urgency(static_cast<v1::Urgency>(in.urgency));
  out->set_reporter_user_id(in.reporter_user_id);
  for (const auto& id : in.before_photo_ids) out->add_before_photos()->set_attachment_id(id);
  for (const auto& id : in.after_photo_ids) out->add_after_photos()->set_attachment_id(id);
  out->set_lead_department_code(in.lead_department_code);
  for (const auto& d : in.assisting_department_codes) out->add_assisting_department_codes(d);
  if (in.deadline_time != 0) SetTimestamp(in.deadline_time, out->mutable_deadline_time());
  out->set_rework_count(in.rework_count);
  out->set_duplicate_of_case_id(in.duplicate_of_case_id);
  out->set_resolution_note(in.resolution_note);
  SetTimestamp(in.create_time, out->mutable_create_time());
  SetTimestamp(in.update_time, out->mutable_update_time());
  out->set_version(in.version);
}

void ToProto(const domain::SupervisionOrder& in, v1::SupervisionOrder* out) {
  out->set_order_id(in.order_id);
  out->set_case_id(in.case_id);
  out->set_issued_by_user_id(in.issued_by_user_id);
  out->set_issued_by_role(static_cast<v1::Role>(in.issued_by_role));
  out->set_reason(in.reason);
  SetTimestamp(in.issue_time, out->mutable_issue_time());
  SetTimestamp(in.respond_by_time, out->mutable_respond_by_time());
  out->set_lead_department_code(in.lead_department_code);
  out->set_holder_grid_code(in.holder_grid_code);
  out->set_state(static_cast<v1::SupervisionOrderState>(in.state));
  if (in.acknowledge_time != 0) SetTimestamp(in.acknowledge_time, out->mutable_acknowledge_time());
  out->set_acknowledged_by_user_id(in.acknowledged_by_user_id);
  if (in.answer_time != 0) SetTimestamp(in.answer_time, out->mutable_answer_time());
  out->set_answered_by_user_id(in.answered_by_user_id);
  out->set_answer(in.answer);
  out->set_escalation_count(in.escalation_count);
  if (in.next_escalation_time != 0) {
    SetTimestamp(in.next_escalation_time, out->mutable_next_escalation_time());
  }
  out->set_version(in.version);
}

void ToProto(const domain::CaseEvent& in, v1::CaseEvent* out) {
  out->set_cursor(EncodeCursor(in.seq));
  out->set_case_id(in.case_id);
  out->set_type(static_cast<v1::CaseEventType>(in.type));
  out->set_from_state(static_cast<v1::CaseState>(in.from_state));
  out->set_to_state(static_cast<v1::CaseState>(in.to_state));
  out->set_actor_user_id(in.actor_user_id);
  out->set_actor_role(static_cast<v1::Role>(in.actor_role));
  SetTimestamp(in.event_time, out->mutable_event_time());
  out->set_note(in.note);
  for (const auto& id : in.attachment_ids) out->add_attachment_ids(id);
  out->set_category_code(in.category_code);
  out->set_grid_code(in.grid_code);
  out->set_lead_department_code(in.lead_department_code);
  out->set_case_version(in.case_version);
  out->set_related_id(in.related_id);
}

void ToProto(const domain::ExtensionRequest& in, v1::ExtensionRequest* out) {
  out->set_extension_request_id(in.extension_request_id);
  out->set_case_id(in.case_id);
  out->set_department_code(in.department_code);
  out->set_requested_by_user_id(in.requested_by_user_id);
  if (in.current_deadline_time != 0) {
    SetTimestamp(in.current_deadline_time, out->mutable_current_deadline_time());
  }
  SetTimestamp(in.requested_deadline_time, out->mutable_requested_deadline_time());
  out->set_reason(in.reason);
  out->set_state(static_cast<v1::ExtensionState>(in.state));
  out->set_decided_by_user_id(in.decided_by_user_id);
  out->set_decision_note(in.decision_note);
  if (in.approved_deadline_time != 0) {
    SetTimestamp(in.approved_deadline_time, out->mutable_approved_deadline_time());
  }
  SetTimestamp(in.create_time, out->mutable_create_time());
  if (in.decide_time != 0) SetTimestamp(in.decide_time, out->mutable_decide_time());
}

void ToProto(const domain::Category& in, v1::Category* out) {
  out->set_code(in.code);
  out->set_name(in.name);
  out->set_kind(static_cast<v1::CategoryKind>(in.kind));
  out->set_normal_deadline_hours(in.normal_deadline_hours);
  out->set_urgent_deadline_hours(in.urgent_deadline_hours);
  out->set_emergency_deadline_hours(in.emergency_deadline_hours);
  out->set_auto_accept(in.auto_accept);
}

void ToProto(const domain::Attachment& in, v1::Attachment* out) {
  out->set_attachment_id(in.attachment_id);
  out->set_content_type(in.content_type);
  out->set_size_bytes(in.size_bytes);
  SetTimestamp(in.create_time, out->mutable_create_time());
}

absl::Status FillPhotos(store::AttachmentStore* store, const std::vector<v1::Case*>& cases) {
  std::vector<std::string> ids;
  for (const v1::Case* c : cases) {
    for (const auto& p : c->before_photos()) ids.push_back(p.attachment_id());
    for (const auto& p : c->after_photos()) ids.push_back(p.attachment_id());
  }
  if (ids.empty()) return absl::OkStatus();
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  auto found = store->FindAttachments(ids);
  if (!found.ok()) return found.status();
  std::map<std::string, const domain::Attachment*> by_id;
  for (const auto& a : *found) by_id[a.attachment_id] = &a;
  auto fill = [&](v1::Attachment* p) {
    auto it = by_id.find(p->attachment_id());
    if (it != by_id.end()) ToProto(*it->second, p);
  };
  for (v1::Case* c : cases) {
    for (auto& p : *c->mutable_before_photos()) fill(&p);
    for (auto& p : *c->mutable_after_photos()) fill(&p);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> FeedCursorBeforeRead(store::FeedStore* store) {
  auto last = store->LastEventSeq();
  if (!last.ok()) return last.status();
  return EncodeCursor(*last);
}

absl::Status CaseReply(absl::StatusOr<service::CaseChange> change, v1::Case* out,
                       store::AttachmentStore* store) {
  if (!change.ok()) return change.status();
  ToProto(change->c, out);
  if (!change->events.empty()) out->set_feed_cursor(EncodeCursor(change->events.back().seq));
  return FillPhotos(store, {out});
}

absl::Status SubmitOutcomeToProto(store::AttachmentStore* store,
                                  const service::SubmitOutcome& outcome,
                                  v1::SubmitReportResponse* out) {
  ToProto(outcome.stored, out->mutable_case_());
  if (auto s = FillPhotos(store, {out->mutable_case_()}); !s.ok()) return s;
  out->set_event_cursor(EncodeCursor(outcome.first_event.seq));
  return absl::OkStatus();
}

absl::StatusOr<service::ReportInput> FromProto(const v1::SubmitReportRequest& in) {
  service::ReportInput r;
  r.request_id = in.request_id();
  r.category_code = in.category_code();
  r.description = in.description();
  r.grid_code = in.location().grid_code();
  r.has_coordinates =
      in.location().has_coordinates() &&
      (in.location().coordinates().latitude() != 0 || in.location().coordinates().longitude() != 0);
  r.latitude = in.location().coordinates().latitude();
  r.longitude = in.location().coordinates().longitude();
  r.address = in.location().address();
  if (in.has_observe_time()) {
    auto t = TimestampMicros(in.observe_time(), "observe_time");
    if (!t.ok()) return t.status();
    r.observe_time = *t;
  }
  r.urgency = static_cast<int>(in.urgency());
  r.attachment_ids.assign(in.attachment_ids().begin(), in.attachment_ids().end());
  r.patrol_id = in.patrol_id();
  return r;
}

domain::Organisation FromProto(const v1::Organisation& in) {
  domain::Organisation org;
  for (const auto& g : in.grids()) {
    org.grids.push_back({g.code(), g.name(), static_cast<domain::GridLevel>(g.level()),
                         g.parent_code(), "", g.boundary_geojson()});
  }
  for (const auto& d : in.departments()) {
    org.departments.push_back(
        {d.code(), d.name(), d.parent_code(), d.grid_code(), d.leader_user_id()});
  }
  for (const auto& k : in.categories()) {
    domain::Category c;
    c.code = k.code();
    c.name = k.name();
    c.kind = static_cast<domain::CategoryKind>(k.kind());
    c.normal_deadline_hours = k.normal_deadline_hours();
    c.urgent_deadline_hours = k.urgent_deadline_hours();
    c.emergency_deadline_hours = k.emergency_deadline_hours();
    c.auto_accept = k.auto_accept();
    org.categories.push_back(c);
  }
  for (const auto& r : in.routing_rules()) {
    org.routing_rules.push_back(
        {r.rule_id(),
         r.category_code(),
         r.grid_code(),
         r.lead_department_code(),
         {r.assisting_department_codes().begin(), r.assisting_department_codes().end()}});
  }
  for (const auto& ou : in.users()) {
    const auto& u = ou.user();
    org.users.push_back({u.user_id(), u.display_name(), static_cast<domain::Role>(u.role()),
                         u.grid_code(), u.department_code(), u.disabled()});
    if (!ou.demo_token().empty()) org.demo_tokens.emplace_back(u.user_id(), ou.demo_token());
  }
  return org;
}

std::string EncodeCursor(int64_t seq) { return absl::StrCat("g1-", seq); }

std::optional<int64_t> DecodeCursor(const std::string& cursor) {
  if (!absl::StartsWith(cursor, "g1-")) return std::nullopt;
  int64_t seq = 0;
  if (!absl::SimpleAtoi(cursor.substr(3), &seq) || seq < 0) return std::nullopt;
  return seq;
}

namespace {

// Bounds on what an error answer carries. gRPC sends the status in headers that a default client
// accepts up to 8 KiB in all (GRPC_ARG_MAX_METADATA_SIZE): the message percent-encoded (up to
// 3 bytes per byte) and the details base64-encoded (4 bytes per 3). Texts that echo input (a
// cursor, a list of 200 codes) are cut, and the violations after the budget are summarised in
// one, so that the worst case stays near 5 KiB and every client can read the real status.
constexpr size_t kMaxMessageBytes = 400;
constexpr size_t kMaxDetailTextBytes = 200;
constexpr size_t kDetailsBudgetBytes = 2400;
constexpr int kMaxViolations = 20;

// Adds violations to a detail while the budget lasts; the rest become one summary entry.
class DetailBudget {
 public:
  // Whether one more entry of `bytes` fits; counts it if so.
  bool Take(size_t bytes) {
    if (entries_ >= kMaxViolations || used_ + bytes > kDetailsBudgetBytes) {
      ++omitted_;
      return false;
    }
    ++entries_;
    used_ += bytes;
    return true;
  }
  int omitted() const { return omitted_; }
  std::string OmittedText() const {
    return absl::StrCat(omitted_, " more violation", omitted_ == 1 ? "" : "s", " not shown");
  }

 private:
  int entries_ = 0;
  int omitted_ = 0;
  size_t used_ = 0;
};

std::string Cut(absl::string_view text) { return util::TruncateUtf8(text, kMaxDetailTextBytes); }

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status, const std::string& reason) {
  if (status.ok()) return grpc::Status::OK;
  const std::string message = util::TruncateUtf8(status.message(), kMaxMessageBytes);
  google::rpc::Status rich;
  rich.set_code(static_cast<int>(status.code()));
  rich.set_message(message);
  DetailBudget budget;
  auto violations = domain::GetFieldViolations(status);
  if (!violations.empty()) {
    google::rpc::BadRequest bad;
    for (const auto& v : violations) {
      std::string field = Cut(v.field), description = Cut(v.description);
      if (!budget.Take(field.size() + description.size())) continue;
      auto* fv = bad.add_field_violations();
      fv->set_field(std::move(field));
      fv->set_description(std::move(description));
    }
    if (budget.omitted() > 0) {
      auto* fv = bad.add_field_violations();
      fv->set_field("…");
      fv->set_description(budget.OmittedText());
    }
    rich.add_details()->PackFrom(bad);
  }
  if (domain::CaseState state = domain::GetWrongState(status);
      state != domain::CaseState::kUnspecified) {
    google::rpc::PreconditionFailure pf;
    auto* v = pf.add_violations();
    v->set_type("CASE_STATE");
    v->set_subject(domain::CaseStateName(state));
    v->set_description(message);
    rich.add_details()->PackFrom(pf);
  }
  if (auto preconditions = domain::GetPreconditionViolations(status); !preconditions.empty()) {
    google::rpc::PreconditionFailure pf;
    DetailBudget precondition_budget;
    for (const auto& p : preconditions) {
      std::string type = Cut(p.type), subject = Cut(p.subject), description = Cut(p.description);
      if (!precondition_budget.Take(type.size() + subject.size() + description.size())) continue;
      auto* v = pf.add_violations();
      v->set_type(std::move(type));
      v->set_subject(std::move(subject));
      v->set_description(std::move(description));
    }
    if (precondition_budget.omitted() > 0) {
      auto* v = pf.add_violations();
      v->set_type("…");
      v->set_description(precondition_budget.OmittedText());
    }
    rich.add_details()->PackFrom(pf);
  }
  if (domain::Micros delay = domain::GetRetryDelay(status); delay > 0) {
    google::rpc::RetryInfo retry;
    retry.mutable_retry_delay()->set_seconds(delay / 1000000);
    retry.mutable_retry_delay()->set_nanos(static_cast<int32_t>(delay % 1000000) * 1000);
    rich.add_details()->PackFrom(retry);
  }
  if (!reason.empty()) {
    google::rpc::ErrorInfo info;
    info.set_reason(Cut(reason));
    info.set_domain("gridline.v1");
    rich.add_details()->PackFrom(info);
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), message,
                      rich.SerializeAsString());
}

absl::Status Overloaded() {
  return domain::WithRetryDelay(
      absl::ResourceExhaustedError(
          "the server is busy: every worker is taken and the queue of waiting calls is full; "
          "retry in a second"),
      1000000);
}

service::CallCredentials CredentialsOf(const grpc::CallbackServerContext* context) {
  service::CallCredentials call;
  call.token = BearerToken(context);
  call.peer = PeerOf(context);
  if (InProcess(context)) {
    // Forwarded by the HTTP endpoint, which checked the certificate in its own TLS handshake.
    call.client_cert_sha256 = ForwardedCertificateSha256(context);
  } else if (auto auth = context->auth_context(); auth != nullptr) {
    // Present only on a TLS connection whose client sent a certificate the CA vouched for.
    for (const auto& pem : auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME)) {
      call.client_cert_sha256 = util::CertificateSha256(absl::string_view(pem.data(), pem.size()));
      break;
    }
  }
  return call;
}

std::string BearerToken(const grpc::CallbackServerContext* context) {
  const auto& md = context->client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) return "";
  std::string value(it->second.data(), it->second.size());
  constexpr absl::string_view kBearer = "Bearer ";
  if (value.size() > kBearer.size() && absl::StartsWithIgnoreCase(value, kBearer)) {
    return value.substr(kBearer.size());
  }
  return "";
}

}  // namespace gridline::api
