// Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) for residents' apps, mounted under
// HttpConfig.open311.path_prefix of the HTTP endpoint. Like the Connect endpoint it owns no rule:
// each Open311 request becomes gRPC calls made through the server's in-process channel
// (grpc::GenericStub), with the app's `api_key` as the bearer token and the HTTP client's address
// and certificate forwarded (server/api/forwarded.h). Who may do what (Role PUBLIC_APP, its grid
// subtree, PUBLIC cases only), validation, rate limits, audit and publishing happen once, in the
// gRPC handlers and the services. Every resource answers in JSON (`.json`) and XML (`.xml`).
//
// Resources (PREFIX = path_prefix, e.g. /open311/v2/):
//   GET  PREFIX discovery.{json|xml}        the service discovery document (no gRPC call)
//   GET  PREFIX services.{json|xml}         ReportService.ListReportCategories
//   GET  PREFIX services/CODE.{json|xml}    the same; the definition of one (no attributes)
//   POST PREFIX requests.{json|xml}         DispatchService.RegisterCase, source PUBLIC
//   GET  PREFIX requests.{json|xml}         DispatchService.ListCases (or GetCase per id)
//   GET  PREFIX requests/ID.{json|xml}      ReportService.GetCase
//   GET  PREFIX tokens/ID.{json|xml}        ReportService.GetCase (a case is created at once,
//                                           so its token is its id)
// plus AdminService.ListDepartments and ListReportCategories for the names the answers show.
//
// Services: one per category of the organisation: service_code = category code, service_name =
// its name (as the organisation names it, Chinese or English), description = the name, group =
// the kind (component, event, service), type "realtime", metadata false, keywords "". A
// definition has no attributes (categories have none).
//
// POST requests (application/x-www-form-urlencoded; parameters in the query string count too):
//   api_key           required: a token of a PUBLIC_APP user (403 when missing or refused)
//   service_code      -> report.category_code (400 missing, 404 unknown)
//   lat, long         -> report.location.coordinates; the case's grid is the unit grid that covers
//                        the point (400 when it lies in none: the description names the nearest)
//   address_string    -> report.location.address; without lat/long the case goes to the app's
//                        own grid (its User.grid_code) for the acceptance center to place
//   address_id        not supported: 400 unless lat/long or address_string is given too
//   description       -> report.description (required here: a case needs one; 400 without)
//   email, device_id, account_id, first_name, last_name, phone: accepted, never stored or shown
//                        (the case has no place for personal data); they count in the retry key
//   media_url, attribute[...]: accepted and ignored (photos reach cases only through
//                        UploadAttachment; services have no attributes)
//   jurisdiction_id   must match HttpConfig.open311.jurisdiction_id when that is set (404)
// Retries: the gRPC request id is "o311-" + 40 hex digits of SHA-256(api_key, every parameter
// above but api_key), so the same POST sent again returns the same case and creates nothing. A
// client that sends `Idempotency-Key: K` gets SHA-256(api_key, K) instead: a retry with K and
// other content is 409. A new api_key (rotation) makes a new key. Answer: service_request_id,
// service_notice, account_id (null).
//
// GET requests: service_request_id (comma list, at most 100; overrides the other filters; ids
// not found or not visible are left out), service_code (comma list), status (open, closed or
// both), start_date and end_date (w3c date-times: the case's requested_datetime; end_date
// defaults to now, start_date to 90 days before end_date). Newest first, at most
// HttpConfig.open311.max_requests. What a caller sees is what its app may see: the PUBLIC cases
// (any app's, and the hotline's) in the app's subtree. Without an api_key, the reads use
// anonymous_api_key_file's app, or are 403 when it is not configured.
//
// A request as shown:
//   service_request_id  Case.case_id          requested_datetime  Case.create_time
//   status              open | closed         updated_datetime    Case.update_time
//   status_notes        see below             expected_datetime   Case.deadline_time (empty
//   service_code        Case.category_code                        before filing)
//   service_name        the category's name   address             Case.location.address
//   description         Case.description      lat, long           the coordinates (empty: none)
//   agency_responsible  the lead department's name (empty before dispatch)
//   service_notice      "case NUMBER" once filed, else empty
//   address_id, zipcode, media_url: always empty.
// Statuses: open = PENDING_TRIAGE ("received, waiting for triage"), DISPATCHED ("dispatched to
// AGENCY"), IN_PROGRESS ("in progress"), RETURNED ("being re-routed"), RESOLVED ("resolved,
// waiting for verification: NOTE"); closed = CLOSED (the resolution note, or "closed"), REJECTED
// ("rejected as invalid"), MERGED ("duplicate of ID"). Times are UTC ("Z").
//
// Errors are the spec's list, [{"code": HTTP status, "description": ...}] or
// <errors><error><code/><description/></error></errors>, one entry per bad field:
//   400 a missing or malformed parameter, a gRPC INVALID_ARGUMENT (its field violations, named
//       as Open311 names them), FAILED_PRECONDITION; 403 no api_key, UNAUTHENTICATED (unknown,
//       revoked, expired key), PERMISSION_DENIED; 404 unknown resource, service_code or request,
//       other jurisdiction; 405 wrong method; 409 ALREADY_EXISTS; 415 a POST body that is not
//       form-encoded; 429 RESOURCE_EXHAUSTED with Retry-After (seconds, from its RetryInfo);
//       503 UNAVAILABLE; 500 otherwise.
#ifndef GRIDLINE_SERVER_HTTP_OPEN311_H_
#define GRIDLINE_SERVER_HTTP_OPEN311_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/http/call_counter.h"
#include "server/http/listener.h"
#include "server/util/clock.h"

namespace gridline::http {

struct Open311Options {
  std::string path_prefix = "/open311/v2/";  // starts and ends with "/"
  std::string jurisdiction_id;               // empty: any
  std::string anonymous_api_key;             // empty: reads need an api_key
  std::string contact;
  std::string key_service;
  int max_requests = 200;
  bool tls = false;  // the endpoint's scheme, for discovery's url
  // Origins allowed to call from a browser (HttpConfig.cors_allowed_origins).
  std::vector<std::string> cors_allowed_origins;
  const util::Clock* clock = nullptr;  // required: the default window of GET requests
};

class Open311Endpoint {
 public:
  // `channel`: the gRPC server's in-process channel.
  Open311Endpoint(std::shared_ptr<grpc::Channel> channel, Open311Options options);
  ~Open311Endpoint();

  // Whether `target` (the request line's) is under the path prefix.
  bool Serves(const std::string& target) const;
  // The listener's handler for those requests.
  void Handle(std::shared_ptr<Exchange> exchange);
  // Waits until every call handed to gRPC has ended and answered (as ConnectEndpoint::WaitIdle).
  bool WaitIdle(std::chrono::milliseconds timeout);

  class Job;

 private:
  friend class Job;

  grpc::GenericStub stub_;
  const Open311Options options_;
  CallCounter calls_;
};

// application/x-www-form-urlencoded (also a query string): names and values with '+' as space
// and %XX escapes. Written by hand because Boost 1.74 has no Boost.URL; INVALID_ARGUMENT for a
// broken escape. A repeated name keeps its first value.
absl::StatusOr<std::map<std::string, std::string>> DecodeForm(const std::string& text);

}  // namespace gridline::http

#endif  // GRIDLINE_SERVER_HTTP_OPEN311_H_
