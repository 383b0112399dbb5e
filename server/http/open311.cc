#include "server/http/open311.h"

#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gridline/v1/admin_service.pb.h"
#include "gridline/v1/dispatch_service.pb.h"
#include "gridline/v1/report_service.pb.h"
#include "server/api/forwarded.h"
#include "server/http/percent.h"
#include "server/util/sha256.h"

namespace gridline::http {

using Json = nlohmann::ordered_json;
namespace bhttp = boost::beast::http;

namespace {

constexpr char kSpecification[] = "http://wiki.open311.org/GeoReport_v2";
constexpr char kChangeset[] = "2026-01-01T00:00:00Z";  // when this facade's answers last changed
constexpr int kMaxIdsPerQuery = 100;
constexpr int64_t kDefaultWindowSeconds = 90 * 24 * 3600;

// One entry of the spec's error list.
struct O311Error {
  int code;
  std::string description;
};

std::string O311HeaderOf(const Request& request, absl::string_view name) {
  auto it = request.find(boost::beast::string_view(name.data(), name.size()));
  return it == request.end() ? "" : std::string(it->value());
}

absl::StatusOr<std::string> Unescape(absl::string_view in) {
  auto out = PercentDecode(in, Plus::kSpace);
  if (!out) return absl::InvalidArgumentError("a broken %-escape");
  return *std::move(out);
}

// XML 1.0 cannot carry most control characters, even escaped: they are dropped.
std::string XmlText(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 || c == '\t' || c == '\n' || c == '\r') out += c;
  }
  return out;
}

// "endpoints" -> "endpoint": the element of each item of a list named `plural`.
std::string Singular(const std::string& plural) {
  if (plural == "service_requests") return "request";
  if (!plural.empty() && plural.back() == 's') return plural.substr(0, plural.size() - 1);
  return plural;
}

void AppendXml(pugi::xml_node parent, const std::string& name, const Json& value) {
  pugi::xml_node node = parent.append_child(name.c_str());
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) AppendXml(node, key, item);
  } else if (value.is_array()) {
    for (const auto& item : value) AppendXml(node, Singular(name), item);
  } else if (value.is_string()) {
    node.text().set(XmlText(value.get<std::string>()).c_str());
  } else if (!value.is_null()) {
    node.text().set(value.dump().c_str());  // numbers, true, false
  }
}

// The same document in XML: `root` holds each item of a top-level list (or the object's
// fields); a list field K holds one element per item, named K's singular ("attributes" ->
// "attribute").
std::string ToXml(const std::string& root, const Json& value) {
  pugi::xml_document doc;
  pugi::xml_node decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  AppendXml(doc, root, value);
  std::ostringstream out;
  doc.save(out, "", pugi::format_raw, pugi::encoding_utf8);
  return out.str();
}

std::string Iso8601(int64_t seconds) {
  if (seconds <= 0) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(seconds),
                          absl::UTCTimeZone());
}

bool ParseW3cTime(const std::string& text, int64_t* seconds) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &err)) return false;
  *seconds = absl::ToUnixSeconds(t);
  return true;
}

bool IsOpen(v1::CaseState s) { return s != v1::CLOSED && s != v1::REJECTED && s != v1::MERGED; }

// An Open311 name for a gridline field violation.
std::string Open311Field(const std::string& field) {
  if (absl::EndsWith(field, "category_code")) return "service_code";
  if (absl::EndsWith(field, "location.coordinates")) return "lat/long";
  if (absl::EndsWith(field, "location.address")) return "address_string";
  if (absl::EndsWith(field, "location.grid_code")) return "lat/long";
  if (absl::EndsWith(field, "report.description") || field == "description") return "description";
  if (field == "category_codes") return "service_code";
  if (absl::StartsWith(field, "observe_")) return "start_date/end_date";
  return field;
}

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> DecodeForm(const std::string& text) {
  std::map<std::string, std::string> out;
  for (absl::string_view pair : absl::StrSplit(text, '&', absl::SkipEmpty())) {
    const size_t eq = pair.find('=');
    auto name = Unescape(pair.substr(0, eq));
    if (!name.ok()) return name.status();
    auto value = Unescape(eq == absl::string_view::npos ? "" : pair.substr(eq + 1));
    if (!value.ok()) return value.status();
    out.emplace(*std::move(name), *std::move(value));
  }
  return out;
}

// One Open311 request: its parsed form, its answer format, and the gRPC calls it makes one after
// another (each continues in the previous one's callback, on gRPC's thread; nothing blocks).
class Open311Endpoint::Job : public std::enable_shared_from_this<Job> {
 public:
  Job(Open311Endpoint* endpoint, std::shared_ptr<Exchange> exchange)
      : endpoint_(endpoint), exchange_(std::move(exchange)) {}

  bool xml = false;
  std::map<std::string, std::string> params;
  std::string api_key;  // the caller's, or the anonymous one
  std::vector<std::pair<std::string, std::string>> headers;

  // Sends `request` to the gRPC method `method` ("/gridline.v1.X/Y") and calls `done` with the
  // status and the parsed answer.
  template <typename Answer>
  void Call(const std::string& method, const google::protobuf::Message& request,
            std::function<void(const grpc::Status&, Answer&)> done) {
    struct Pending {
      grpc::ClientContext context;
      grpc::ByteBuffer request;
      grpc::ByteBuffer response;
    };
    auto pending = std::make_shared<Pending>();
    std::string bytes;
    request.SerializeToString(&bytes);
    grpc::Slice slice(bytes);
    pending->request = grpc::ByteBuffer(&slice, 1);
    pending->context.AddMetadata("authorization", "Bearer " + api_key);
    pending->context.AddMetadata(api::kForwardedPeerMetadata, exchange_->peer());
    if (!exchange_->client_certificate_pem().empty()) {
      pending->context.AddMetadata(api::kForwardedCertificateMetadata,
                                   util::CertificateSha256(exchange_->client_certificate_pem()));
    }
    pending->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    endpoint_->calls_.Started();
    Open311Endpoint* endpoint = endpoint_;
    endpoint_->stub_.UnaryCall(
        &pending->context, method, grpc::StubOptions(), &pending->request, &pending->response,
        [pending, done = std::move(done), endpoint](grpc::Status status) {
          Answer answer;
          if (status.ok()) {
            std::vector<grpc::Slice> slices;
            std::string data;
            if (pending->response.Dump(&slices).ok()) {
              for (const auto& s : slices) {
                data.append(reinterpret_cast<const char*>(s.begin()), s.size());
              }
            }
            if (!answer.ParseFromString(data)) {
              status = grpc::Status(grpc::StatusCode::INTERNAL, "the answer could not be parsed");
            }
          }
          done(status, answer);
          endpoint->calls_.Ended();  // after `done`, which may have started the next call
        });
  }

  void Respond(int status, const std::string& root, const Json& body,
               std::vector<std::pair<std::string, std::string>> extra = {}) {
    Response r{static_cast<bhttp::status>(status), 11};
    for (const auto& [name, value] : headers) r.set(name, value);
    for (const auto& [name, value] : extra) r.set(name, value);
    r.set(bhttp::field::cache_control, "no-store");
    if (xml) {
      r.set(bhttp::field::content_type, "text/xml; charset=utf-8");
      r.body() = ToXml(root, body);
    } else {
      r.set(bhttp::field::content_type, "application/json; charset=utf-8");
      r.body() = body.dump(-1, ' ', false, Json::error_handler_t::replace);
    }
    if (exchange_->request().method() == bhttp::verb::head) r.body().clear();
    r.prepare_payload();
    exchange_->Respond(std::move(r));
  }

  void Fail(int status, std::vector<O311Error> errors,
            std::vector<std::pair<std::string, std::string>> extra = {}) {
    Json list = Json::array();
    for (auto& e : errors) {
      list.push_back(Json{{"code", e.code}, {"description", std::move(e.description)}});
    }
    Respond(status, "errors", list, std::move(extra));
  }
  void Fail(int status, std::string description) {
    Fail(status, {{status, std::move(description)}});
  }

  // A gRPC failure as the spec's error list.
  void FailWith(const grpc::Status& status) {
    google::rpc::Status rich;
    const bool has_rich =
        !status.error_details().empty() && rich.ParseFromString(status.error_details());
    switch (status.error_code()) {
      case grpc::StatusCode::INVALID_ARGUMENT:
      case grpc::StatusCode::FAILED_PRECONDITION:
      case grpc::StatusCode::OUT_OF_RANGE: {
        std::vector<O311Error> errors;
        bool unknown_service = false;
        if (has_rich) {
          for (const auto& any : rich.details()) {
            google::rpc::BadRequest bad;
            if (!any.UnpackTo(&bad)) continue;
            for (const auto& v : bad.field_violations()) {
              const std::string field = Open311Field(v.field());
              if (field == "service_code" && absl::StrContains(v.description(), "unknown")) {
                unknown_service = true;
              }
              errors.push_back({0, absl::StrCat(field, ": ", v.description())});
            }
          }
        }
        // The spec: "404 - service_code ... provided were not found".
        const int code = unknown_service ? 404 : 400;
        if (errors.empty()) errors.push_back({0, status.error_message()});
        for (auto& e : errors) e.code = code;
        return Fail(code, std::move(errors));
      }
      case grpc::StatusCode::UNAUTHENTICATED:
        return Fail(403, absl::StrCat("api_key refused: ", status.error_message()));
      case grpc::StatusCode::PERMISSION_DENIED:
        return Fail(403, status.error_message());
      case grpc::StatusCode::NOT_FOUND:
        return Fail(404, status.error_message());
      case grpc::StatusCode::ALREADY_EXISTS:
      case grpc::StatusCode::ABORTED:
        return Fail(409, status.error_message());
      case grpc::StatusCode::RESOURCE_EXHAUSTED: {
        std::vector<std::pair<std::string, std::string>> extra;
        if (has_rich) {
          for (const auto& any : rich.details()) {
            google::rpc::RetryInfo retry;
            if (!any.UnpackTo(&retry)) continue;
            const int64_t seconds =
                retry.retry_delay().seconds() + (retry.retry_delay().nanos() > 0 ? 1 : 0);
            extra.emplace_back("Retry-After", absl::StrCat(std::max<int64_t>(1, seconds)));
          }
        }
        return Fail(429, {{429, status.error_message()}}, std::move(extra));
      }
      case grpc::StatusCode::UNAVAILABLE:
      case grpc::StatusCode::DEADLINE_EXCEEDED:
      case grpc::StatusCode::CANCELLED:
        return Fail(503, status.error_message());
      default:
        return Fail(500, status.error_message());
    }
  }

  // ---- the names behind codes ----

  std::map<std::string, v1::Category> categories;
  std::map<std::string, std::string> departments;  // code -> name

  void LoadCategories(std::string page_token, std::function<void()> then) {
    v1::ListReportCategoriesRequest req;
    req.set_page_size(500);
    req.set_page_token(page_token);
    auto self = shared_from_this();
    Call<v1::ListReportCategoriesResponse>(
        "/gridline.v1.ReportService/ListReportCategories", req,
        [self, then](const grpc::Status& s, v1::ListReportCategoriesResponse& r) {
          if (!s.ok()) return self->FailWith(s);
          for (auto& k : *r.mutable_categories()) self->categories[k.code()] = std::move(k);
          if (!r.next_page_token().empty()) return self->LoadCategories(r.next_page_token(), then);
          then();
        });
  }

  void LoadDepartments(std::string page_token, std::function<void()> then) {
    v1::ListDepartmentsRequest req;
    req.set_page_size(500);
    req.set_page_token(page_token);
    auto self = shared_from_this();
    Call<v1::ListDepartmentsResponse>(
        "/gridline.v1.AdminService/ListDepartments", req,
        [self, then](const grpc::Status& s, v1::ListDepartmentsResponse& r) {
          if (!s.ok()) return self->FailWith(s);
          for (const auto& d : r.departments()) self->departments[d.code()] = d.name();
          if (!r.next_page_token().empty()) return self->LoadDepartments(r.next_page_token(), then);
          then();
        });
  }

  Json ServiceOf(const v1::Category& k) const {
    std::string group;
    switch (k.kind()) {
      case v1::COMPONENT:
        group = "component";
        break;
      case v1::EVENT:
        group = "event";
        break;
      case v1::SERVICE:
        group = "service";
        break;
      default:
        break;
    }
    return Json{{"service_code", k.code()},
                {"service_name", k.name()},
                {"description", k.name()},
                {"metadata", false},
                {"type", "realtime"},
                {"keywords", ""},
                {"group", group}};
  }

  Json RequestOf(const v1::Case& c) const {
    std::string agency;
    if (auto it = departments.find(c.lead_department_code()); it != departments.end()) {
      agency = it->second;
    }
    std::string notes;
    switch (c.state()) {
      case v1::PENDING_TRIAGE:
        notes = "received, waiting for triage";
        break;
      case v1::DISPATCHED:
        notes = absl::StrCat("dispatched to ", agency.empty() ? c.lead_department_code() : agency);
        break;
      case v1::IN_PROGRESS:
        notes = "in progress";
        break;
      case v1::RETURNED:
        notes = "being re-routed";
        break;
      case v1::RESOLVED:
        notes = absl::StrCat("resolved, waiting for verification",
                             c.resolution_note().empty() ? "" : ": ", c.resolution_note());
        break;
      case v1::CLOSED:
        notes = c.resolution_note().empty() ? "closed" : c.resolution_note();
        break;
      case v1::REJECTED:
        notes = "rejected as invalid";
        break;
      case v1::MERGED:
        notes = absl::StrCat("duplicate of ", c.duplicate_of_case_id());
        break;
      default:
        break;
    }
    std::string service_name;
    if (auto it = categories.find(c.category_code()); it != categories.end()) {
      service_name = it->second.name();
    }
    const auto& point = c.location().coordinates();
    const bool has_point = point.latitude() != 0 || point.longitude() != 0;
    return Json{{"service_request_id", c.case_id()},
                {"status", IsOpen(c.state()) ? "open" : "closed"},
                {"status_notes", notes},
                {"service_name", service_name},
                {"service_code", c.category_code()},
                {"description", c.description()},
                {"agency_responsible", agency},
                {"service_notice", c.case_number().empty() ? "" : "case " + c.case_number()},
                {"requested_datetime", Iso8601(c.create_time().seconds())},
                {"updated_datetime", Iso8601(c.update_time().seconds())},
                {"expected_datetime", Iso8601(c.deadline_time().seconds())},
                {"address", c.location().address()},
                {"address_id", ""},
                {"zipcode", ""},
                {"lat", has_point ? Json(point.latitude()) : Json("")},
                {"long", has_point ? Json(point.longitude()) : Json("")},
                {"media_url", ""}};
  }

  // ---- the resources ----

  void Services() {
    auto self = shared_from_this();
    LoadCategories("", [self] {
      Json list = Json::array();
      for (const auto& [code, k] : self->categories) list.push_back(self->ServiceOf(k));
      self->Respond(200, "services", list);
    });
  }

  void ServiceDefinition(const std::string& code) {
    auto self = shared_from_this();
    LoadCategories("", [self, code] {
      if (self->categories.count(code) == 0) {
        return self->Fail(404, absl::StrCat("service_code ", code, " not found"));
      }
      self->Respond(200, "service_definition",
                    Json{{"service_code", code}, {"attributes", Json::array()}});
    });
  }

  void PostRequest() {
    const auto p = [&](const char* name) {
      auto it = params.find(name);
      return it == params.end() ? std::string()
                                : std::string(absl::StripAsciiWhitespace(it->second));
    };
    std::vector<O311Error> missing;
    if (p("service_code").empty()) missing.push_back({400, "service_code was not provided"});
    const std::string lat = p("lat"), lng = p("long");
    double latitude = 0, longitude = 0;
    const bool has_point = !lat.empty() || !lng.empty();
    if (has_point && (!absl::SimpleAtod(lat, &latitude) || !absl::SimpleAtod(lng, &longitude) ||
                      !std::isfinite(latitude) || !std::isfinite(longitude))) {
      missing.push_back({400, "lat and long must both be given, as decimal degrees (WGS 84)"});
    }
    if (!has_point && p("address_string").empty()) {
      missing.push_back(
          {400, p("address_id").empty()
                    ? "a location was not provided: lat and long, or address_string"
                    : "address_id is not supported: send lat and long, or address_string"});
    }
    if (p("description").empty()) missing.push_back({400, "description was not provided"});
    if (!missing.empty()) return Fail(400, std::move(missing));

    v1::RegisterCaseRequest req;
    req.set_source(v1::PUBLIC);
    v1::SubmitReportRequest* report = req.mutable_report();
    report->set_category_code(p("service_code"));
    report->set_description(p("description"));
    if (has_point) {
      report->mutable_location()->mutable_coordinates()->set_latitude(latitude);
      report->mutable_location()->mutable_coordinates()->set_longitude(longitude);
    }
    report->mutable_location()->set_address(p("address_string"));
    // The retry key: the app's key and the request (or the client's Idempotency-Key).
    std::string material = absl::StrCat(api_key, "\x1f");
    const std::string idempotency = O311HeaderOf(exchange_->request(), "idempotency-key");
    if (!idempotency.empty()) {
      absl::StrAppend(&material, "key\x1f", idempotency);
    } else {
      for (const auto& [name, value] : params) {
        if (name != "api_key") absl::StrAppend(&material, name, "=", value, "\x1f");
      }
    }
    report->set_request_id(absl::StrCat("o311-", util::Sha256Hex(material).substr(0, 40)));
    auto self = shared_from_this();
    Call<v1::SubmitReportResponse>(
        "/gridline.v1.DispatchService/RegisterCase", req,
        [self](const grpc::Status& s, v1::SubmitReportResponse& r) {
          if (!s.ok()) return self->FailWith(s);
          const v1::Case& c = r.case_();
          Json item{{"service_request_id", c.case_id()},
                    {"service_notice", c.case_number().empty() ? "" : "case " + c.case_number()},
                    {"account_id", nullptr}};
          self->Respond(200, "service_requests", Json::array({item}));
        });
  }

  // GET requests/ID, tokens/ID and GET requests?service_request_id=...: one GetCase per id.
  void GetByIds(std::vector<std::string> ids, bool token, bool all_must_exist) {
    auto self = shared_from_this();
    LoadCategories("", [self, ids, token, all_must_exist] {
      self->LoadDepartments("", [self, ids, token, all_must_exist] {
        self->NextId(std::make_shared<std::vector<std::string>>(ids), 0, token, all_must_exist,
                     std::make_shared<Json>(Json::array()));
      });
    });
  }

  void NextId(std::shared_ptr<std::vector<std::string>> ids, size_t at, bool token,
              bool all_must_exist, std::shared_ptr<Json> out) {
    if (at == ids->size()) return Respond(200, "service_requests", *out);
    v1::GetCaseRequest req;
    req.set_case_id((*ids)[at]);
    auto self = shared_from_this();
    Call<v1::Case>(
        "/gridline.v1.ReportService/GetCase", req,
        [self, ids, at, token, all_must_exist, out](const grpc::Status& s, v1::Case& c) {
          if (s.error_code() == grpc::StatusCode::NOT_FOUND && !all_must_exist) {
            return self->NextId(ids, at + 1, token, all_must_exist, out);
          }
          if (s.error_code() == grpc::StatusCode::NOT_FOUND ||
              s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
            return self->Fail(404, absl::StrCat(token ? "token " : "service_request_id ",
                                                (*ids)[at], " not found"));
          }
          if (!s.ok()) return self->FailWith(s);
          out->push_back(token ? Json{{"service_request_id", c.case_id()}, {"token", c.case_id()}}
                               : self->RequestOf(c));
          self->NextId(ids, at + 1, token, all_must_exist, out);
        });
  }

  void ListRequests(int max_requests, int64_t now_seconds) {
    const auto p = [&](const char* name) {
      auto it = params.find(name);
      return it == params.end() ? std::string() : it->second;
    };
    if (const std::string ids = p("service_request_id"); !ids.empty()) {
      std::vector<std::string> list = absl::StrSplit(ids, ',', absl::SkipWhitespace());
      if (list.size() > kMaxIdsPerQuery) {
        return Fail(400,
                    absl::StrCat("service_request_id lists more than ", kMaxIdsPerQuery, " ids"));
      }
      return GetByIds(std::move(list), /*token=*/false, /*all_must_exist=*/false);
    }
    auto filter = std::make_shared<v1::ListCasesRequest>();
    for (absl::string_view code : absl::StrSplit(p("service_code"), ',', absl::SkipWhitespace())) {
      filter->add_category_codes(std::string(code));
    }
    bool open = false, closed = false;
    for (absl::string_view s : absl::StrSplit(p("status"), ',', absl::SkipWhitespace())) {
      if (s == "open") {
        open = true;
      } else if (s == "closed") {
        closed = true;
      } else {
        return Fail(400, absl::StrCat("status must be open, closed or both, not '", s, "'"));
      }
    }
    if (open != closed) {
      for (int s = v1::PENDING_TRIAGE; s <= v1::MERGED; ++s) {
        if (IsOpen(static_cast<v1::CaseState>(s)) == open) {
          filter->add_states(static_cast<v1::CaseState>(s));
        }
      }
    }
    // end_date defaults to now: left open, so that a case made this second is in.
    int64_t end = now_seconds, start = 0;
    const bool has_end = !p("end_date").empty();
    if (has_end && !ParseW3cTime(p("end_date"), &end)) {
      return Fail(400, "end_date must be a w3c date-time such as 2010-01-01T00:00:00Z");
    }
    if (!p("start_date").empty()) {
      if (!ParseW3cTime(p("start_date"), &start)) {
        return Fail(400, "start_date must be a w3c date-time such as 2010-01-01T00:00:00Z");
      }
    } else {
      start = end - kDefaultWindowSeconds;
    }
    if (start > end) return Fail(400, "start_date is after end_date");
    filter->mutable_observe_start_time()->set_seconds(std::max<int64_t>(start, 1));
    if (has_end) filter->mutable_observe_end_time()->set_seconds(end);
    auto self = shared_from_this();
    LoadCategories("", [self, filter, max_requests] {
      self->LoadDepartments("", [self, filter, max_requests] {
        self->NextPage(filter, max_requests, std::make_shared<Json>(Json::array()));
      });
    });
  }

  void NextPage(std::shared_ptr<v1::ListCasesRequest> filter, int left, std::shared_ptr<Json> out) {
    filter->set_page_size(std::min(left, 500));
    auto self = shared_from_this();
    Call<v1::ListCasesResponse>(
        "/gridline.v1.DispatchService/ListCases", *filter,
        [self, filter, left, out](const grpc::Status& s, v1::ListCasesResponse& r) {
          if (!s.ok()) return self->FailWith(s);
          for (const auto& c : r.cases()) out->push_back(self->RequestOf(c));
          const int now_left = left - r.cases_size();
          if (now_left > 0 && !r.next_page_token().empty()) {
            filter->set_page_token(r.next_page_token());
            return self->NextPage(filter, now_left, out);
          }
          self->Respond(200, "service_requests", *out);
        });
  }

 private:
  Open311Endpoint* endpoint_;
  std::shared_ptr<Exchange> exchange_;
};

Open311Endpoint::Open311Endpoint(std::shared_ptr<grpc::Channel> channel, Open311Options options)
    : stub_(std::move(channel)), options_(std::move(options)) {}

Open311Endpoint::~Open311Endpoint() { WaitIdle(std::chrono::seconds(10)); }

bool Open311Endpoint::WaitIdle(std::chrono::milliseconds timeout) {
  return calls_.WaitIdle(timeout);
}

bool Open311Endpoint::Serves(const std::string& target) const {
  return absl::StartsWith(target, options_.path_prefix) || target + "/" == options_.path_prefix;
}

void Open311Endpoint::Handle(std::shared_ptr<Exchange> exchange) {
  auto job = std::make_shared<Job>(this, exchange);
  const Request& request = exchange->request();
  std::string target(request.target());
  const size_t question = target.find('?');
  const std::string query = question == std::string::npos ? "" : target.substr(question + 1);
  std::string path = target.substr(0, question);
  path = path.size() >= options_.path_prefix.size() ? path.substr(options_.path_prefix.size()) : "";

  // The format: the resource's extension (errors before it is known are JSON).
  if (absl::EndsWith(path, ".xml")) {
    job->xml = true;
    path.resize(path.size() - 4);
  } else if (absl::EndsWith(path, ".json")) {
    path.resize(path.size() - 5);
  } else {
    return job->Fail(404, "no such resource: ask for NAME.json or NAME.xml");
  }

  // Browsers: the same origins as the Connect endpoint.
  if (const std::string origin = O311HeaderOf(request, "origin"); !origin.empty()) {
    bool allowed = false;
    for (const auto& o : options_.cors_allowed_origins) allowed |= o == "*" || o == origin;
    if (!allowed) {
      return job->Fail(403, absl::StrCat("the origin ", origin, " may not call this server"));
    }
    job->headers.emplace_back("Access-Control-Allow-Origin", origin);
    job->headers.emplace_back("Vary", "Origin");
  }

  auto form = DecodeForm(query);
  if (!form.ok()) return job->Fail(400, "the query string is not URL-encoded");
  job->params = *std::move(form);
  const bool post = request.method() == bhttp::verb::post;
  const bool get = request.method() == bhttp::verb::get || request.method() == bhttp::verb::head;
  if (post && !request.body().empty()) {
    const std::string type = absl::AsciiStrToLower(O311HeaderOf(request, "content-type"));
    if (!absl::StartsWith(type, "application/x-www-form-urlencoded")) {
      return job->Fail(415, "POST requests takes application/x-www-form-urlencoded");
    }
    auto body = DecodeForm(request.body());
    if (!body.ok()) return job->Fail(400, "the body is not URL-encoded");
    for (auto& [name, value] : *body) job->params[name] = std::move(value);  // the body wins
  }
  if (auto it = job->params.find("jurisdiction_id"); it != job->params.end() &&
                                                     !options_.jurisdiction_id.empty() &&
                                                     it->second != options_.jurisdiction_id) {
    return job->Fail(404, absl::StrCat("jurisdiction_id ", it->second, " not found"));
  }

  const std::vector<std::string> parts = absl::StrSplit(path, '/');
  const bool requests = path == "requests";
  const auto method_not_allowed = [&](const char* allow) {
    job->Fail(405, {{405, absl::StrCat("use ", allow)}}, {{"Allow", allow}});
  };
  if (path == "discovery") {
    if (!get) return method_not_allowed("GET");
    const std::string host = O311HeaderOf(request, "host");
    const std::string url =
        absl::StrCat(options_.tls ? "https://" : "http://", host, options_.path_prefix);
    return job->Respond(
        200, "discovery",
        Json{{"changeset", kChangeset},
             {"contact", options_.contact},
             {"key_service", options_.key_service},
             {"endpoints",
              Json::array({Json{{"specification", kSpecification},
                                {"url", url},
                                {"changeset", kChangeset},
                                {"type", "production"},
                                {"formats", Json::array({"text/xml", "application/json"})}}})}});
  }
  const bool known = path == "services" || requests ||
                     (parts.size() == 2 && !parts[1].empty() &&
                      (parts[0] == "services" || parts[0] == "requests" || parts[0] == "tokens"));
  if (!known) return job->Fail(404, absl::StrCat("no such resource: ", path));
  if (requests ? !(get || post) : !get) return method_not_allowed(requests ? "GET, POST" : "GET");

  // The app: its api_key, else (reads only) the anonymous one.
  if (auto it = job->params.find("api_key"); it != job->params.end() && !it->second.empty()) {
    job->api_key = it->second;
    for (char c : job->api_key) {
      if (c < 0x21 || c > 0x7e) return job->Fail(403, "api_key refused: not a gridline token");
    }
  } else if (!post && !options_.anonymous_api_key.empty()) {
    job->api_key = options_.anonymous_api_key;
  } else {
    return job->Fail(403, "api_key was not provided");
  }

  if (path == "services") return job->Services();
  if (parts[0] == "services") return job->ServiceDefinition(parts[1]);
  if (requests && post) return job->PostRequest();
  if (requests) {
    return job->ListRequests(options_.max_requests, options_.clock->NowMicros() / 1000000);
  }
  return job->GetByIds({parts[1]}, /*token=*/parts[0] == "tokens", /*all_must_exist=*/true);
}

}  // namespace gridline::http
