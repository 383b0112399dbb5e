// Fuzzes chunked-upload assembly (ReportService.UploadAttachment): service::ChunkedUpload, which
// the upload reactor feeds each message of the client stream, and service::CheckUploadContent,
// which AttachmentService::Upload runs on the assembled bytes before storing anything.
//
// Input: one byte choosing the server's photo limit (4 KiB, 64 KiB or the default 10 MiB), then
// the client's messages, each a 16-bit little-endian length and that many bytes parsed as a
// gridline.v1.UploadAttachmentRequest (a message that does not parse ends the call, as in gRPC).
// Beyond "no crash, no leak, no sanitizer report": the bytes assembled are exactly the chunks
// accepted, in order, and never more than the declared size or the limit; every refusal is a
// well-formed answer (CheckAnswer); an upload that passes every check has the size it declared,
// the SHA-256 it claimed, and an image type.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_status.h"
#include "gridline/v1/report_service.pb.h"
#include "server/service/upload.h"
#include "server/util/sha256.h"

namespace gridline::fuzz {
namespace {

constexpr int64_t kLimits[] = {4096, 65536, 10485760};

// The call ends with `status` (an error): the reactor answers it.
void Ends(const absl::Status& status) {
  GRIDLINE_FUZZ_CHECK(!status.ok(), "an upload ended without an error");
  CheckAnswer(status);
}

void Run(const uint8_t* data, size_t size) {
  if (size < 1) return;
  const int64_t max_bytes = kLimits[data[0] % 3];
  ++data;
  --size;
  service::ChunkedUpload upload(max_bytes);
  std::string accepted;  // the chunks accepted so far, in order
  bool have_metadata = false;
  while (size >= 2) {
    const size_t n = data[0] | (static_cast<size_t>(data[1]) << 8);
    data += 2;
    size -= 2;
    if (n > size) return;  // a truncated message: the transport fails the call
    v1::UploadAttachmentRequest message;
    const bool parsed = message.ParseFromArray(data, static_cast<int>(n));
    data += n;
    size -= n;
    if (!parsed) return;
    absl::Status status;
    switch (message.part_case()) {
      case v1::UploadAttachmentRequest::kMetadata:
        status = upload.AddMetadata(message.metadata().sha256(), message.metadata().size_bytes());
        if (status.ok()) {
          GRIDLINE_FUZZ_CHECK(!have_metadata, "metadata accepted twice");
          have_metadata = true;
          GRIDLINE_FUZZ_CHECK(service::IsSha256Hex(upload.sha256()), "bad SHA-256 accepted");
          GRIDLINE_FUZZ_CHECK(upload.declared_size() >= 0 && upload.declared_size() <= max_bytes,
                              "declared size out of range accepted");
        }
        break;
      case v1::UploadAttachmentRequest::kChunk:
        status = upload.AddChunk(message.chunk());
        if (status.ok()) {
          GRIDLINE_FUZZ_CHECK(have_metadata, "a chunk accepted before the metadata");
          GRIDLINE_FUZZ_CHECK(message.chunk().size() <= service::kMaxChunkBytes,
                              "an oversized chunk accepted");
          accepted += message.chunk();
        }
        break;
      case v1::UploadAttachmentRequest::PART_NOT_SET:
        status = service::ChunkedUpload::EmptyMessage();
        break;
    }
    if (!status.ok()) return Ends(status);
    GRIDLINE_FUZZ_CHECK(upload.data() == accepted, "the assembled bytes are not the chunks");
    GRIDLINE_FUZZ_CHECK(static_cast<int64_t>(upload.data().size()) <= upload.declared_size() &&
                            upload.declared_size() <= max_bytes,
                        "more bytes than declared or allowed");
  }
  // The client half-closes.
  if (absl::Status s = upload.End(); !s.ok()) {
    GRIDLINE_FUZZ_CHECK(!have_metadata, "End refused an upload with metadata");
    return Ends(s);
  }
  GRIDLINE_FUZZ_CHECK(have_metadata, "End accepted an upload without metadata");
  const std::string sha256 = upload.sha256();
  const int64_t declared = upload.declared_size();
  const std::string bytes = upload.TakeData();
  auto image = service::CheckUploadContent(sha256, declared, bytes, max_bytes);
  CheckAnswer(image.status());
  if (image.ok()) {
    GRIDLINE_FUZZ_CHECK(static_cast<int64_t>(bytes.size()) == declared, "size not as declared");
    GRIDLINE_FUZZ_CHECK(util::Sha256Hex(bytes) == sha256, "SHA-256 not as claimed");
    GRIDLINE_FUZZ_CHECK(!image->content_type.empty(), "no content type");
  }
}

}  // namespace
}  // namespace gridline::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gridline::fuzz::Run(data, size);
  return 0;
}
