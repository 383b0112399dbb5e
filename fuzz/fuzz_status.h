// What every harness checks about an error it gets from the server's code: the answer a client
// would receive (api::ToGrpcStatus) is well-formed. A failed check aborts, which libFuzzer reports
// as a crash with the input that caused it.
#ifndef GRIDLINE_FUZZ_FUZZ_STATUS_H_
#define GRIDLINE_FUZZ_FUZZ_STATUS_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "google/protobuf/stubs/logging.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/api/convert.h"
#include "server/domain/report_checks.h"

namespace gridline::fuzz {

// Aborts with `what` when `condition` is false (assert() is compiled out by -DNDEBUG builds; these
// checks must never be).
#define GRIDLINE_FUZZ_CHECK(condition, what)                                                 \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: check failed: %s (%s)\n", __FILE__, __LINE__, #condition, \
                   what);                                                                    \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

// protobuf logs every string that is not valid UTF-8 it parses or writes (ERROR level); the
// fuzzers make millions. Dropped, in every harness, before the first input.
inline void IgnoreProtobufLog(google::protobuf::LogLevel, const char*, int, const std::string&) {}
inline const bool kProtobufLogIgnored = (google::protobuf::SetLogHandler(IgnoreProtobufLog), true);

// Bounds from api/convert.cc: the message is cut to 400 bytes (+ " …"), and the details stay near
// 5 KiB so that the whole status fits gRPC's default 8 KiB of headers once encoded.
inline constexpr size_t kMaxMessageBytes = 400 + 4;
inline constexpr size_t kMaxDetailsBytes = 5 * 1024;

// `status` as the client would get it: the code is kept, the message is bounded, and the
// google.rpc.Status in the details parses back (which fails if any text in it is not valid
// UTF-8), says the same code and message, and is bounded too. An OK status stays OK.
inline void CheckAnswer(const absl::Status& status) {
  const grpc::Status answer = api::ToGrpcStatus(status);
  GRIDLINE_FUZZ_CHECK(static_cast<int>(answer.error_code()) == static_cast<int>(status.code()),
                      "the gRPC code differs from the status code");
  if (status.ok()) {
    GRIDLINE_FUZZ_CHECK(answer.error_details().empty(), "an OK answer carries details");
    return;
  }
  GRIDLINE_FUZZ_CHECK(answer.error_message().size() <= kMaxMessageBytes, "message too long");
  GRIDLINE_FUZZ_CHECK(domain::IsValidUtf8(answer.error_message(), nullptr) ||
                          !domain::IsValidUtf8(status.message(), nullptr),
                      "a valid UTF-8 message was cut into invalid UTF-8");
  GRIDLINE_FUZZ_CHECK(answer.error_details().size() <= kMaxDetailsBytes, "details too long");
  google::rpc::Status rich;
  GRIDLINE_FUZZ_CHECK(rich.ParseFromString(answer.error_details()),
                      "the details do not parse as google.rpc.Status");
  GRIDLINE_FUZZ_CHECK(rich.code() == static_cast<int>(status.code()), "rich code differs");
  GRIDLINE_FUZZ_CHECK(rich.message() == answer.error_message(), "rich message differs");
  for (const auto& any : rich.details()) {
    if (any.Is<google::rpc::BadRequest>()) {
      google::rpc::BadRequest bad;
      GRIDLINE_FUZZ_CHECK(any.UnpackTo(&bad), "BadRequest does not unpack");
      GRIDLINE_FUZZ_CHECK(bad.field_violations_size() <= 21, "too many field violations");
    }
  }
}

}  // namespace gridline::fuzz

#endif  // GRIDLINE_FUZZ_FUZZ_STATUS_H_
