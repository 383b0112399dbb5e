// ReportService.UploadAttachment and DownloadAttachment: callback-API reactors, so a slow handset
// costs no thread. Authentication, the store and the disk run on the worker pool; reactions only
// move messages and check sizes.
#ifndef GRIDLINE_SERVER_API_ATTACHMENT_RPCS_H_
#define GRIDLINE_SERVER_API_ATTACHMENT_RPCS_H_

#include <grpcpp/grpcpp.h>

#include "gridline/v1/common.pb.h"
#include "gridline/v1/report_service.pb.h"
#include "server/api/context.h"
#include "server/domain/types.h"
#include "server/service/upload.h"

namespace gridline::api {

namespace v1 = ::gridline::v1;

// Chunks are at most this big, both ways.
inline constexpr size_t kMaxChunkBytes = service::kMaxChunkBytes;

// Authenticates on the pool, then reads the metadata and the chunks, rejecting as soon as the
// bytes received exceed the limit or the declared size, and stores the photo on the pool.
// `response` must stay alive until the reactor finishes (gRPC guarantees that for handlers).
grpc::ServerReadReactor<v1::UploadAttachmentRequest>* StartUpload(
    grpc::CallbackServerContext* context, const ServiceContext& deps, v1::Attachment* response);

// Authenticates and reads the photo on the pool, then writes the metadata and the chunks, one
// write in flight at a time.
grpc::ServerWriteReactor<v1::DownloadAttachmentResponse>* StartDownload(
    grpc::CallbackServerContext* context, const ServiceContext& deps,
    const v1::DownloadAttachmentRequest* request);

}  // namespace gridline::api

#endif  // GRIDLINE_SERVER_API_ATTACHMENT_RPCS_H_
