#include "server/http/connect.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/status.pb.h"
#include "server/api/forwarded.h"
#include "server/http/ops.h"
#include "server/util/log.h"
#include "server/util/sha256.h"

namespace gridline::http {
namespace {

namespace pb = ::google::protobuf;
namespace bhttp = boost::beast::http;

// The flags of an envelope's first byte.
constexpr uint8_t kCompressedFlag = 0x01;
constexpr uint8_t kEndStreamFlag = 0x02;

enum class Codec { kJson, kProto };

using Headers = std::vector<std::pair<std::string, std::string>>;

std::string HeaderOf(const Request& request, absl::string_view name) {
  auto it = request.find(boost::beast::string_view(name.data(), name.size()));
  return it == request.end() ? "" : std::string(it->value());
}

std::string BytesOf(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

grpc::ByteBuffer BufferOf(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string Envelope(uint8_t flags, absl::string_view data) {
  std::string out(5, '\0');
  out[0] = static_cast<char>(flags);
  const uint32_t n = static_cast<uint32_t>(data.size());
  out[1] = static_cast<char>(n >> 24);
  out[2] = static_cast<char>(n >> 16);
  out[3] = static_cast<char>(n >> 8);
  out[4] = static_cast<char>(n);
  out.append(data.data(), data.size());
  return out;
}

// `body` in `codec` as the binary form of `type`: JSON through the protobuf JSON mapping (unknown
// fields ignored, as Connect's servers do), binary as it is (the gRPC handler parses it).
grpc::Status ToBinary(Codec codec, const pb::Descriptor* type, std::string body, std::string* out) {
  if (codec == Codec::kProto) {
    *out = std::move(body);
    return grpc::Status::OK;
  }
  std::unique_ptr<pb::Message> message(
      pb::MessageFactory::generated_factory()->GetPrototype(type)->New());
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto parsed = pb::util::JsonStringToMessage(body, message.get(), options);
  if (!parsed.ok()) {
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("the request is not a ", type->full_name(), " in JSON: ",
                     absl::string_view(parsed.message().data(), parsed.message().size())));
  }
  if (!message->SerializeToString(out)) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "the request could not be serialized");
  }
  return grpc::Status::OK;
}

grpc::Status FromBinary(Codec codec, const pb::Descriptor* type, std::string bytes,
                        std::string* out) {
  if (codec == Codec::kProto) {
    *out = std::move(bytes);
    return grpc::Status::OK;
  }
  std::unique_ptr<pb::Message> message(
      pb::MessageFactory::generated_factory()->GetPrototype(type)->New());
  if (!message->ParseFromString(bytes)) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "the answer could not be parsed");
  }
  out->clear();
  const auto printed = pb::util::MessageToJsonString(*message, out, pb::util::JsonPrintOptions());
  if (!printed.ok()) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "the answer could not be written as JSON");
  }
  return grpc::Status::OK;
}

// The messages of an enveloped request body, in binary.
grpc::Status ParseEnvelopes(const std::string& body, Codec codec, const pb::Descriptor* type,
                            std::vector<std::string>* out) {
  size_t at = 0;
  while (at < body.size()) {
    if (body.size() - at < 5) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "the request ends inside an envelope");
    }
    const auto byte = [&](size_t i) { return static_cast<uint8_t>(body[at + i]); };
    const uint8_t flags = byte(0);
    const uint32_t length = (uint32_t{byte(1)} << 24) | (uint32_t{byte(2)} << 16) |
                            (uint32_t{byte(3)} << 8) | uint32_t{byte(4)};
    at += 5;
    if (body.size() - at < length) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the request ends inside a message");
    }
    if ((flags & kCompressedFlag) != 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "a compressed message without Connect-Content-Encoding (this server "
                          "accepts identity only)");
    }
    if ((flags & kEndStreamFlag) != 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "an end-of-stream envelope in a request");
    }
    std::string binary;
    if (grpc::Status s = ToBinary(codec, type, body.substr(at, length), &binary); !s.ok()) {
      return s;
    }
    out->push_back(std::move(binary));
    at += length;
  }
  return grpc::Status::OK;
}

std::string EndStreamEnvelope(const grpc::Status& status) {
  return Envelope(kEndStreamFlag,
                  status.ok() ? "{}" : absl::StrCat("{\"error\":", ConnectErrorJson(status), "}"));
}

// Connect-Timeout-Ms: a positive integer of at most 10 digits.
bool ParseTimeout(const std::string& text, std::optional<std::chrono::milliseconds>* out) {
  if (text.empty()) return true;
  int64_t ms = 0;
  if (text.size() > 10 || !absl::SimpleAtoi(text, &ms) || ms <= 0) return false;
  *out = std::chrono::milliseconds(ms);
  return true;
}

// Metadata values must be printable ASCII; a token that is not cannot be one of ours.
bool Printable(absl::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

const char* ConnectCode(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::CANCELLED:
      return "canceled";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "invalid_argument";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "deadline_exceeded";
    case grpc::StatusCode::NOT_FOUND:
      return "not_found";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "already_exists";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "permission_denied";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "resource_exhausted";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "failed_precondition";
    case grpc::StatusCode::ABORTED:
      return "aborted";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "out_of_range";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "unimplemented";
    case grpc::StatusCode::INTERNAL:
      return "internal";
    case grpc::StatusCode::UNAVAILABLE:
      return "unavailable";
    case grpc::StatusCode::DATA_LOSS:
      return "data_loss";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "unauthenticated";
    default:
      return "unknown";
  }
}

int ConnectHttpStatus(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    default:  // UNKNOWN, INTERNAL, DATA_LOSS
      return 500;
  }
}

std::string ConnectErrorJson(const grpc::Status& status) {
  std::string out = absl::StrCat("{\"code\":\"", ConnectCode(status.error_code()), "\"");
  if (!status.error_message().empty()) {
    absl::StrAppend(&out, ",\"message\":", util::JsonQuote(status.error_message()));
  }
  google::rpc::Status rich;
  if (!status.error_details().empty() && rich.ParseFromString(status.error_details()) &&
      rich.details_size() > 0) {
    out += ",\"details\":[";
    for (int i = 0; i < rich.details_size(); ++i) {
      const auto& any = rich.details(i);
      const std::string& url = any.type_url();
      std::string value = absl::Base64Escape(any.value());
      while (!value.empty() && value.back() == '=') value.pop_back();  // Connect: unpadded
      absl::StrAppend(&out, i > 0 ? "," : "",
                      "{\"type\":", util::JsonQuote(url.substr(url.rfind('/') + 1)),
                      ",\"value\":\"", value, "\"}");
    }
    out += "]";
  }
  out += "}";
  return out;
}

// One unary call: the gRPC answer becomes the HTTP response.
class ConnectEndpoint::UnaryCall {
 public:
  std::shared_ptr<Exchange> exchange;
  Codec codec = Codec::kJson;
  const pb::Descriptor* output = nullptr;
  Headers headers;
  std::string path;
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;

  void Answer(grpc::Status status) {
    std::string body;
    if (status.ok()) status = FromBinary(codec, output, BytesOf(response), &body);
    Response r;
    for (const auto& [name, value] : headers) r.set(name, value);
    if (status.ok()) {
      r.result(bhttp::status::ok);
      r.set(bhttp::field::content_type,
            codec == Codec::kJson ? "application/json" : "application/proto");
      r.body() = std::move(body);
    } else {
      r.result(static_cast<unsigned>(ConnectHttpStatus(status.error_code())));
      r.set(bhttp::field::content_type, "application/json");
      r.body() = ConnectErrorJson(status);
    }
    exchange->Respond(std::move(r));
  }
};

// One streaming call: every message read from gRPC is written as an envelope, then the
// end-of-stream envelope with the status. One HTTP write at a time; the next message is read from
// gRPC only once the last one is written, so a client that reads slowly slows the stream down as a
// gRPC client would (and the watch's slow-consumer rule applies). A hold keeps gRPC from ending
// the reactor while this class may still start a read.
class ConnectEndpoint::StreamCall final
    : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
      public std::enable_shared_from_this<StreamCall> {
 public:
  StreamCall(ConnectEndpoint* endpoint, std::shared_ptr<Exchange> exchange, Codec codec,
             const pb::Descriptor* output, std::vector<std::string> requests)
      : endpoint_(endpoint), exchange_(std::move(exchange)), codec_(codec), output_(output) {
    for (const auto& r : requests) requests_.push_back(BufferOf(r));
  }

  grpc::ClientContext context;

  void Start(grpc::GenericStub* stub, const std::string& path, Response header) {
    self_ = shared_from_this();
    std::weak_ptr<StreamCall> weak = self_;
    stub->PrepareBidiStreamingCall(&context, path, grpc::StubOptions(), this);
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = true;  // the header goes first
      reading_ = true;
    }
    AddHold();
    StartRead(&response_);
    WriteNext();
    StartCall();
    exchange_->OnGone([weak] {
      if (auto call = weak.lock()) call->context.TryCancel();
    });
    exchange_->StartStream(std::move(header),
                           [self = self_](bool ok) { self->Written(ok, /*last=*/false); });
  }

  void OnWriteDone(bool ok) override {
    if (ok) WriteNext();  // not ok: the call has ended; its status says why
  }

  void OnReadDone(bool ok) override {
    std::string message;
    grpc::Status converted = grpc::Status::OK;
    if (ok) converted = FromBinary(codec_, output_, BytesOf(response_), &message);
    std::unique_lock<std::mutex> lock(mu_);
    reading_ = false;
    if (!ok || !converted.ok()) {
      if (!ok) read_ended_ = true;
      if (!converted.ok()) {
        if (!failure_) failure_ = converted;
        broken_ = true;
      }
      const bool release = TakeHoldLocked();
      lock.unlock();
      if (release) RemoveHold();
      if (!converted.ok()) context.TryCancel();
      return;
    }
    queued_ = Envelope(0, message);
    Pump(lock);
  }

  void OnDone(const grpc::Status& status) override {
    std::unique_lock<std::mutex> lock(mu_);
    end_ = EndStreamEnvelope(failure_ ? *failure_ : status);
    done_ = true;
    Pump(lock);
  }

 private:
  // The requests, one after the other; the last half-closes.
  void WriteNext() {
    const size_t i = next_request_++;
    if (requests_.empty() && i == 0) return StartWritesDone();
    if (i >= requests_.size()) return;
    if (i + 1 == requests_.size()) {
      StartWriteLast(&requests_[i], grpc::WriteOptions());
    } else {
      StartWrite(&requests_[i]);
    }
  }

  // True once: the caller then removes the hold, without the lock (RemoveHold may end the call).
  bool TakeHoldLocked() {
    if (hold_released_) return false;
    hold_released_ = true;
    return true;
  }

  // Starts the next HTTP write, or the next gRPC read, if none is in flight.
  void Pump(std::unique_lock<std::mutex>& lock) {
    if (writing_) return;
    std::string next;
    bool last = false;
    if (queued_) {
      next = std::move(*queued_);
      queued_.reset();
    } else if (end_) {
      next = std::move(*end_);
      end_.reset();
      last = true;
    } else {
      if (!reading_ && !read_ended_ && !broken_ && !done_) {
        reading_ = true;
        lock.unlock();
        StartRead(&response_);
      }
      return;
    }
    writing_ = true;
    lock.unlock();
    exchange_->WriteChunk(std::move(next),
                          [self = shared_from_this(), last](bool ok) { self->Written(ok, last); });
  }

  void Written(bool ok, bool last) {
    if (last) {
      exchange_->EndStream();
      std::shared_ptr<StreamCall> keep = std::move(self_);
      endpoint_->calls_.Ended();
      return;
    }
    std::unique_lock<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok && !broken_) {  // the client is gone: end the call
      broken_ = true;
      queued_.reset();
      const bool release = TakeHoldLocked();
      lock.unlock();
      if (release) RemoveHold();
      context.TryCancel();
      lock.lock();
    }
    Pump(lock);
  }

  ConnectEndpoint* const endpoint_;
  const std::shared_ptr<Exchange> exchange_;
  const Codec codec_;
  const pb::Descriptor* const output_;
  std::vector<grpc::ByteBuffer> requests_;
  size_t next_request_ = 0;
  grpc::ByteBuffer response_;
  std::shared_ptr<StreamCall> self_;  // until the end-of-stream envelope is written

  std::mutex mu_;
  bool writing_ = false;
  bool reading_ = false;
  bool read_ended_ = false;
  bool broken_ = false;
  bool done_ = false;
  bool hold_released_ = false;
  std::optional<std::string> queued_;
  std::optional<std::string> end_;
  std::optional<grpc::Status> failure_;
};

ConnectEndpoint::ConnectEndpoint(std::shared_ptr<grpc::Channel> channel, ConnectOptions options)
    : stub_(std::move(channel)), options_(std::move(options)) {}

ConnectEndpoint::~ConnectEndpoint() { WaitIdle(std::chrono::seconds(10)); }

bool ConnectEndpoint::WaitIdle(std::chrono::milliseconds timeout) {
  return calls_.WaitIdle(timeout);
}

void ConnectEndpoint::Handle(std::shared_ptr<Exchange> exchange) {
  const Request& request = exchange->request();
  std::string path(request.target());
  path = path.substr(0, path.find('?'));

  // CORS: the allowed origins see the answers; calls from other origins are refused.
  Headers headers;
  const std::string origin = HeaderOf(request, "origin");
  // A browser sends Origin with every POST, also to its own origin: the console's page, served
  // by this endpoint (HttpConfig.console_dir), is same-origin and needs no CORS entry.
  const size_t scheme_end = origin.find("://");
  const bool same_origin =
      scheme_end != std::string::npos && origin.substr(scheme_end + 3) == HeaderOf(request, "host");
  bool origin_allowed = origin.empty() || same_origin;
  if (!origin.empty() && !same_origin) {
    for (const auto& allowed : options_.cors_allowed_origins) {
      if (allowed == "*" || allowed == origin) origin_allowed = true;
    }
    if (origin_allowed) {
      headers.emplace_back("Access-Control-Allow-Origin", origin);
      headers.emplace_back("Vary", "Origin");
      headers.emplace_back("Access-Control-Expose-Headers",
                           "Connect-Content-Encoding, Connect-Accept-Encoding, Content-Encoding");
    }
  }
  auto respond = [&](Response r) {
    for (const auto& [name, value] : headers) r.set(name, value);
    exchange->Respond(std::move(r));
  };
  auto plain = [&](bhttp::status status, const std::string& text) {
    Response r{status, 11};
    r.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    r.body() = text + "\n";
    return r;
  };
  if (!origin_allowed) {
    return respond(plain(bhttp::status::forbidden, absl::StrCat("the origin ", origin,
                                                                " may not call this server "
                                                                "(http.cors_allowed_origins)")));
  }
  if (request.method() == bhttp::verb::options) {  // a browser's preflight
    Response r{bhttp::status::no_content, 11};
    if (!origin.empty()) {
      r.set("Access-Control-Allow-Methods", "POST, GET, OPTIONS");
      std::string asked = HeaderOf(request, "access-control-request-headers");
      r.set("Access-Control-Allow-Headers",
            asked.empty() ? "Content-Type, Connect-Protocol-Version, Connect-Timeout-Ms, "
                            "Authorization, X-User-Agent"
                          : asked);
      r.set("Access-Control-Max-Age", "7200");
    }
    return respond(std::move(r));
  }
  if (auto answer = AnswerOps(request, options_.serve_metrics, options_.serving)) {
    return respond(*std::move(answer));
  }

  // The route: /package.Service/Method of a served service.
  const pb::MethodDescriptor* method = nullptr;
  if (const size_t slash = path.find('/', 1); path.size() > 1 && slash != std::string::npos) {
    const std::string service = path.substr(1, slash - 1);
    if (options_.services.count(service) > 0) {
      method = pb::DescriptorPool::generated_pool()->FindMethodByName(
          absl::StrCat(service, ".", path.substr(slash + 1)));
    }
  }
  auto connect_error = [&](bhttp::status http_status, grpc::StatusCode code,
                           const std::string& message) {
    Response r{http_status, 11};
    r.set(bhttp::field::content_type, "application/json");
    r.body() = ConnectErrorJson(grpc::Status(code, message));
    return r;
  };
  if (method == nullptr) {
    return respond(connect_error(bhttp::status::not_found, grpc::StatusCode::UNIMPLEMENTED,
                                 absl::StrCat("no procedure ", path)));
  }
  if (request.method() != bhttp::verb::post) {
    Response r = connect_error(bhttp::status::method_not_allowed, grpc::StatusCode::UNIMPLEMENTED,
                               "Connect calls are POST requests");
    r.set(bhttp::field::allow, "POST");
    return respond(std::move(r));
  }
  const bool streaming = method->client_streaming() || method->server_streaming();
  const std::string content_type = HeaderOf(request, "content-type");
  const std::string media = absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(content_type.substr(0, content_type.find(';'))));
  std::optional<Codec> codec;
  if (media == (streaming ? "application/connect+json" : "application/json")) codec = Codec::kJson;
  if (media == (streaming ? "application/connect+proto" : "application/proto")) {
    codec = Codec::kProto;
  }
  if (!codec) {
    Response r = plain(bhttp::status::unsupported_media_type,
                       absl::StrCat(method->full_name(), " takes ",
                                    streaming ? "application/connect+json or "
                                                "application/connect+proto (a streaming method)"
                                              : "application/json or application/proto"));
    r.set("Accept-Post", streaming ? "application/connect+json, application/connect+proto"
                                   : "application/json, application/proto");
    return respond(std::move(r));
  }
  const std::string reply_type =
      streaming
          ? (*codec == Codec::kJson ? "application/connect+json" : "application/connect+proto")
          : (*codec == Codec::kJson ? "application/json" : "application/proto");
  // Errors found before the call: unary as an error response, streams as an end-of-stream.
  auto refuse = [&](grpc::StatusCode code, const std::string& message, Headers extra = {}) {
    const grpc::Status status(code, message);
    Response r;
    for (const auto& [name, value] : extra) r.set(name, value);
    if (streaming) {
      r.result(bhttp::status::ok);
      r.set(bhttp::field::content_type, reply_type);
      r.body() = EndStreamEnvelope(status);
    } else {
      r.result(static_cast<unsigned>(ConnectHttpStatus(code)));
      r.set(bhttp::field::content_type, "application/json");
      r.body() = ConnectErrorJson(status);
    }
    respond(std::move(r));
  };
  if (const std::string version = HeaderOf(request, "connect-protocol-version");
      !version.empty() && version != "1") {
    return refuse(grpc::StatusCode::INVALID_ARGUMENT,
                  absl::StrCat("Connect-Protocol-Version ", version, " is not supported (1 is)"));
  }
  const char* encoding_header = streaming ? "connect-content-encoding" : "content-encoding";
  if (const std::string encoding = HeaderOf(request, encoding_header);
      !encoding.empty() && !absl::EqualsIgnoreCase(encoding, "identity")) {
    return refuse(grpc::StatusCode::UNIMPLEMENTED,
                  absl::StrCat("compression ", encoding, " is not supported (identity is)"),
                  {{streaming ? "Connect-Accept-Encoding" : "Accept-Encoding", "identity"}});
  }
  std::optional<std::chrono::milliseconds> timeout;
  if (!ParseTimeout(HeaderOf(request, "connect-timeout-ms"), &timeout)) {
    return refuse(grpc::StatusCode::INVALID_ARGUMENT,
                  "Connect-Timeout-Ms must be a positive integer of at most 10 digits");
  }
  const std::string grpc_path =
      absl::StrCat("/", method->service()->full_name(), "/", method->name());
  auto prepare = [&](grpc::ClientContext* context) {
    if (std::string authorization = HeaderOf(request, "authorization");
        !authorization.empty() && Printable(authorization)) {
      context->AddMetadata("authorization", authorization);
    }
    context->AddMetadata(api::kForwardedPeerMetadata, exchange->peer());
    if (!exchange->client_certificate_pem().empty()) {
      context->AddMetadata(api::kForwardedCertificateMetadata,
                           util::CertificateSha256(exchange->client_certificate_pem()));
    }
    if (timeout) context->set_deadline(std::chrono::system_clock::now() + *timeout);
  };

  if (!streaming) {
    std::string binary;
    if (grpc::Status s = ToBinary(*codec, method->input_type(), request.body(), &binary); !s.ok()) {
      return refuse(s.error_code(), s.error_message());
    }
    auto call = std::make_shared<UnaryCall>();
    call->exchange = exchange;
    call->codec = *codec;
    call->output = method->output_type();
    call->headers = headers;
    call->path = grpc_path;
    call->request = BufferOf(binary);
    prepare(&call->context);
    calls_.Started();
    stub_.UnaryCall(&call->context, call->path, grpc::StubOptions(), &call->request,
                    &call->response, [this, call](grpc::Status status) {
                      call->Answer(std::move(status));
                      calls_.Ended();
                    });
    return;
  }

  std::vector<std::string> messages;
  if (grpc::Status s = ParseEnvelopes(request.body(), *codec, method->input_type(), &messages);
      !s.ok()) {
    return refuse(s.error_code(), s.error_message());
  }
  if (!method->client_streaming() && messages.size() != 1) {
    return refuse(grpc::StatusCode::INVALID_ARGUMENT,
                  absl::StrCat(method->full_name(), " takes exactly one request message, not ",
                               messages.size()));
  }
  auto call = std::make_shared<StreamCall>(this, exchange, *codec, method->output_type(),
                                           std::move(messages));
  prepare(&call->context);
  Response header{bhttp::status::ok, 11};
  for (const auto& [name, value] : headers) header.set(name, value);
  header.set(bhttp::field::content_type, reply_type);
  // Proxies must not hold the stream back (nginx buffers by default).
  header.set("X-Accel-Buffering", "no");
  header.set(bhttp::field::cache_control, "no-store");
  calls_.Started();
  call->Start(&stub_, grpc_path, std::move(header));
}

}  // namespace gridline::http
