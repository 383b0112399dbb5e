// Photos: type detection and the blob store as units, then UploadAttachment and
// DownloadAttachment end to end over real gRPC against a real gridline-server process, on SQLite
// and on the MariaDB started by the test command.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gridline/v1/report_service.grpc.pb.h"
#include "server/service/attachments.h"
#include "server/store/blob_store.h"
#include "server/util/clock.h"
#include "server/util/sha256.h"
#include "tests/e2e_fixture.h"
#include "tests/test_images.h"
#include "tests/test_support.h"

namespace gridline {
namespace {

namespace v1 = ::gridline::v1;
namespace fs = std::filesystem;
using testing::Backend;
using testing::DeletionWatch;
using testing::FieldsOf;
using testing::ServerProcess;

constexpr char kLeader1[] = "demo-leader-1-a5afbedb015471db";          // cell 410184001001001
constexpr char kLeader2[] = "demo-leader-2-fafc65828dd1790f";          // cell 410184001002001
constexpr char kLeader3[] = "demo-leader-3-28a208d63296ca03";          // cell 410184002001001
constexpr char kDispatcher1[] = "demo-dispatcher-1-1a9ab5fd58ee6af0";  // street 410184001
constexpr char kStaffCg[] = "demo-staff-cg-1-98f49d09d6b91fff";
constexpr char kSupervisor[] = "demo-supervisor-1-64529550376b9282";
constexpr char kOperator[] = "demo-operator-1-65fead962ef3e005";
constexpr char kCell1[] = "410184001001001";

constexpr size_t kMiB = 1 << 20;
// The photo limit the test servers run with.
constexpr int64_t kMaxBytes = 3 * kMiB;

std::string RandomBytes(size_t n) {
  static std::mt19937_64 rng(std::random_device{}());
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

// Real images of exactly n bytes, each different (see tests/test_images.h).
std::string Tag() { return "photo-" + RandomBytes(8); }
std::string Jpeg(size_t n) { return testing::TestJpeg(n, Tag()); }
std::string Png(size_t n) { return testing::TestPng(n, Tag()); }
std::string Webp(size_t n) { return testing::TestWebp(n, Tag()); }

// Every regular file under `dir`, as paths relative to it.
std::set<std::string> FilesUnder(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.insert(fs::relative(e.path(), dir).string());
  }
  return out;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void SetMtime(const std::string& path, time_t seconds_ago) {
  timeval times[2];
  gettimeofday(&times[0], nullptr);
  times[0].tv_sec -= seconds_ago;
  times[1] = times[0];
  ASSERT_EQ(utimes(path.c_str(), times), 0) << path;
}

// ---------------------------------------------------------------------------------------------
// Units.

TEST(IsSha256Hex, WantsSixtyFourLowercaseHexDigits) {
  EXPECT_TRUE(service::IsSha256Hex(util::Sha256Hex("x")));
  EXPECT_FALSE(service::IsSha256Hex(std::string(63, 'a')));
  EXPECT_FALSE(service::IsSha256Hex(std::string(65, 'a')));
  EXPECT_FALSE(service::IsSha256Hex(std::string(64, 'A')));
  EXPECT_FALSE(service::IsSha256Hex(std::string(63, 'a') + "g"));
}

TEST(BlobStore, PutsContentAddressedFilesAndReadsThemBack) {
  testing::TempDir tmp;
  const std::string dir = tmp.path() + "/a/b/photos";
  auto blobs = store::BlobStore::Open(dir);
  ASSERT_TRUE(blobs.ok()) << blobs.status();
  ASSERT_TRUE(fs::is_directory(dir)) << "Open creates the directory and its parents";

  const std::string bytes = Jpeg(5000);
  const std::string id = util::Sha256Hex(bytes);
  EXPECT_EQ((*blobs)->Exists(id).value(), false);
  EXPECT_TRUE(absl::IsNotFound((*blobs)->Get(id).status()));
  bool created = false;
  ASSERT_TRUE((*blobs)->Put(id, bytes, &created).ok());
  EXPECT_TRUE(created);
  EXPECT_EQ((*blobs)->PathOf(id), absl::StrCat(dir, "/", id.substr(0, 2), "/", id));
  EXPECT_EQ(ReadWholeFile((*blobs)->PathOf(id)), bytes);
  EXPECT_EQ(FilesUnder(dir), std::set<std::string>{id.substr(0, 2) + "/" + id})
      << "no temporary file is left behind";
  EXPECT_EQ((*blobs)->Get(id).value(), bytes);
  EXPECT_EQ((*blobs)->Exists(id).value(), true);

  ASSERT_TRUE((*blobs)->Put(id, bytes, &created).ok());
  EXPECT_FALSE(created) << "the same id again keeps the file";

  ASSERT_TRUE((*blobs)->Delete(id).ok());
  EXPECT_EQ((*blobs)->Exists(id).value(), false);
  EXPECT_TRUE((*blobs)->Delete(id).ok()) << "deleting a missing blob is not an error";
  EXPECT_TRUE(FilesUnder(dir).empty());
}

TEST(BlobStore, RejectsIdsThatAreNotLowercaseHex) {
  testing::TempDir tmp;
  auto blobs = store::BlobStore::Open(tmp.path() + "/photos");
  ASSERT_TRUE(blobs.ok());
  for (const std::string id : {"../../etc/passwd", "ABCDEF", "ab", "", "ab/cd", "abc def"}) {
    EXPECT_TRUE(absl::IsInvalidArgument((*blobs)->Put(id, "x"))) << id;
    EXPECT_TRUE(absl::IsInvalidArgument((*blobs)->Get(id).status())) << id;
    EXPECT_TRUE(absl::IsInvalidArgument((*blobs)->Delete(id))) << id;
  }
  EXPECT_TRUE(FilesUnder(tmp.path()).empty());
}

TEST(BlobStore, OpenFailsOnAPathThatIsAFile) {
  testing::TempDir tmp;
  std::ofstream(tmp.path() + "/file") << "x";
  EXPECT_FALSE(store::BlobStore::Open(tmp.path() + "/file").ok());
  EXPECT_FALSE(store::BlobStore::Open(tmp.path() + "/file/sub").ok());
}

TEST(BlobStore, ListsOldBlobsAndRemovesOnlyStaleTemporaries) {
  testing::TempDir tmp;
  auto blobs = store::BlobStore::Open(tmp.path());
  ASSERT_TRUE(blobs.ok());
  const std::string old_bytes = Png(100), new_bytes = Png(100);
  const std::string old_id = util::Sha256Hex(old_bytes), new_id = util::Sha256Hex(new_bytes);
  ASSERT_TRUE((*blobs)->Put(old_id, old_bytes).ok());
  ASSERT_TRUE((*blobs)->Put(new_id, new_bytes).ok());
  SetMtime((*blobs)->PathOf(old_id), 3600);
  const std::string shard = tmp.path() + "/" + old_id.substr(0, 2);
  std::ofstream(shard + "/.tmp-stale") << "half";
  std::ofstream(shard + "/.tmp-fresh") << "being written";
  SetMtime(shard + "/.tmp-stale", 3600);

  const domain::Micros ten_minutes_ago = util::WallClock().NowMicros() - 600LL * 1000000;
  auto listed = (*blobs)->ListWrittenBefore(ten_minutes_ago);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, std::vector<std::string>{old_id});
  auto removed = (*blobs)->RemoveStaleTemporaries(ten_minutes_ago);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1);
  EXPECT_FALSE(fs::exists(shard + "/.tmp-stale"));
  EXPECT_TRUE(fs::exists(shard + "/.tmp-fresh"));
  EXPECT_TRUE((*blobs)->Exists(old_id).value()) << "listing deletes nothing";
}

// ---------------------------------------------------------------------------------------------
// End to end.

struct UploadResult {
  grpc::Status status;
  v1::Attachment attachment;
  int writes_accepted = 0;
};

struct DownloadResult {
  grpc::Status status;
  std::vector<v1::DownloadAttachmentResponse> messages;
  std::string bytes;  // the chunks, joined
};

class AttachmentE2eTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kMariaDb) {
      auto opts = testing::MysqlForTest(GetParam());
      if (!opts) return;  // skipped or failed
      mysql_ = *opts;
      std::ofstream(dir_.path() + "/mysql.pw") << mysql_->password << "\n";
    }
    photos_ = dir_.path() + "/photos";
  }

  // Starts a server with the test's photo limit and `extra` config lines.
  std::unique_ptr<ServerProcess> StartServer(const std::string& extra = "") {
    const std::string config = absl::StrCat(dir_.path(), "/server-", ++started_, ".textproto");
    std::ofstream(config) << "health_check_interval_ms: 200\n"
                          << "worker_threads: 4\n"
                          << "attachments { directory: '" << photos_ << "' max_bytes: " << kMaxBytes
                          << " " << extra << " }\n";
    int port = testing::FreePort();
    std::vector<std::string> args = {"--config",       config,
                                     "--listen",       absl::StrCat("127.0.0.1:", port),
                                     "--organisation", testing::DemoOrganisationFile(),
                                     "--demo"};
    if (mysql_) {
      args.insert(args.end(),
                  {"--mysql_host", mysql_->host, "--mysql_port", std::to_string(mysql_->port),
                   "--mysql_user", mysql_->user, "--mysql_password_file", dir_.path() + "/mysql.pw",
                   "--mysql_database", mysql_->database, "--mysql_create_database"});
    } else {
      args.insert(args.end(), {"--sqlite", dir_.path() + "/gridline.db"});
    }
    auto server = std::make_unique<ServerProcess>(
        args, absl::StrCat(dir_.path(), "/server-", started_, ".log"));
    bool ok = server->Start(port);
    EXPECT_TRUE(ok) << server->Log();
    if (!ok) return nullptr;
    stub_ = v1::ReportService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
    return server;
  }

  static void Authorize(grpc::ClientContext* ctx, const std::string& token) {
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  }

  static v1::UploadAttachmentRequest Metadata(const std::string& sha256, int64_t size,
                                              const std::string& file_name = "photo.jpg") {
    v1::UploadAttachmentRequest m;
    m.mutable_metadata()->set_sha256(sha256);
    m.mutable_metadata()->set_size_bytes(size);
    m.mutable_metadata()->set_file_name(file_name);
    return m;
  }

  static std::vector<v1::UploadAttachmentRequest> Chunks(const std::string& bytes,
                                                         size_t chunk_size) {
    std::vector<v1::UploadAttachmentRequest> out;
    for (size_t at = 0; at < bytes.size(); at += chunk_size) {
      out.emplace_back().set_chunk(bytes.substr(at, chunk_size));
    }
    return out;
  }

  // Sends `messages` in order (stopping when the server has ended the call) and finishes.
  UploadResult UploadMessages(const std::vector<v1::UploadAttachmentRequest>& messages,
                              const std::string& token = kLeader1) {
    UploadResult r;
    grpc::ClientContext ctx;
    Authorize(&ctx, token);
    auto writer = stub_->UploadAttachment(&ctx, &r.attachment);
    bool open = true;
    for (const auto& m : messages) {
      if (!(open = writer->Write(m))) break;
      ++r.writes_accepted;
    }
    if (open) writer->WritesDone();
    r.status = writer->Finish();
    return r;
  }

  // An honest upload: metadata with the real SHA-256 and size, then the chunks.
  UploadResult Upload(const std::string& bytes, const std::string& token = kLeader1,
                      size_t chunk_size = 256 * 1024, const std::string& file_name = "photo.jpg") {
    std::vector<v1::UploadAttachmentRequest> messages = {
        Metadata(util::Sha256Hex(bytes), static_cast<int64_t>(bytes.size()), file_name)};
    for (auto& c : Chunks(bytes, chunk_size)) messages.push_back(std::move(c));
    return UploadMessages(messages, token);
  }

  DownloadResult Download(const std::string& id, const std::string& token = kLeader1) {
    DownloadResult r;
    grpc::ClientContext ctx;
    Authorize(&ctx, token);
    v1::DownloadAttachmentRequest req;
    req.set_attachment_id(id);
    auto reader = stub_->DownloadAttachment(&ctx, req);
    v1::DownloadAttachmentResponse m;
    while (reader->Read(&m)) {
      if (m.part_case() == v1::DownloadAttachmentResponse::kChunk) r.bytes += m.chunk();
      r.messages.push_back(m);
    }
    r.status = reader->Finish();
    return r;
  }

  grpc::Status SubmitReport(const std::vector<std::string>& attachment_ids,
                            v1::SubmitReportResponse* resp) {
    v1::SubmitReportRequest r;
    r.set_request_id("photo-" + util::RandomHex(8));
    r.set_category_code("C01_ROAD_DAMAGE");
    r.set_description("路面塌陷，见照片");
    r.mutable_location()->set_grid_code(kCell1);
    r.set_urgency(v1::NORMAL);
    for (const auto& id : attachment_ids) r.add_attachment_ids(id);
    grpc::ClientContext ctx;
    Authorize(&ctx, kLeader1);
    return stub_->SubmitReport(&ctx, r, resp);
  }

  std::string BlobPath(const std::string& id) const {
    return absl::StrCat(photos_, "/", id.substr(0, 2), "/", id);
  }

  testing::TempDir dir_;
  std::string photos_;
  std::optional<store::MysqlOptions> mysql_;
  int started_ = 0;
  std::unique_ptr<v1::ReportService::Stub> stub_;
};

TEST_P(AttachmentE2eTest, ChunkedUploadsAreStoredByHashWithTheTypeFromTheContent) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  struct Case {
    std::string bytes;
    const char* type;
    size_t chunk;
    const char* file_name;  // deliberately misleading: the type comes from the bytes
  };
  const std::vector<Case> cases = {{Jpeg(2 * kMiB + 12345), "image/jpeg", kMiB, "a.png"},
                                   {Png(300000), "image/png", 64 * 1024, "b.webp"},
                                   {Webp(70000), "image/webp", 7000, "c.jpg"}};
  const int64_t before = time(nullptr);
  for (const auto& c : cases) {
    UploadResult r = Upload(c.bytes, kLeader1, c.chunk, c.file_name);
    ASSERT_TRUE(r.status.ok()) << c.type << ": " << r.status.error_message();
    EXPECT_GT(r.writes_accepted, 2) << "metadata and several chunks";
    EXPECT_EQ(r.attachment.attachment_id(), util::Sha256Hex(c.bytes));
    EXPECT_EQ(r.attachment.content_type(), c.type);
    EXPECT_EQ(r.attachment.size_bytes(), static_cast<int64_t>(c.bytes.size()));
    EXPECT_GE(r.attachment.create_time().seconds(), before - 1);
    EXPECT_EQ(ReadWholeFile(BlobPath(r.attachment.attachment_id())), c.bytes)
        << "stored content-addressed under <dir>/<id[0:2]>/<id>";
  }
  EXPECT_EQ(FilesUnder(photos_).size(), cases.size());
}

TEST_P(AttachmentE2eTest, TheSameBytesAgainGiveTheSameAttachment) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  const std::string bytes = Png(50000);
  UploadResult first = Upload(bytes, kLeader1, 10000);
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  UploadResult again = Upload(bytes, kLeader1, 49999);
  ASSERT_TRUE(again.status.ok()) << again.status.error_message();
  EXPECT_EQ(again.attachment.SerializeAsString(), first.attachment.SerializeAsString());
  UploadResult other_user = Upload(bytes, kDispatcher1);
  ASSERT_TRUE(other_user.status.ok()) << other_user.status.error_message();
  EXPECT_EQ(other_user.attachment.SerializeAsString(), first.attachment.SerializeAsString());
  EXPECT_EQ(FilesUnder(photos_).size(), 1u);

  // Concurrent retries of a new photo, as a flaky network produces them: one attachment.
  const std::string burst = Webp(200000);
  std::vector<std::future<UploadResult>> uploads;
  for (int i = 0; i < 6; ++i) {
    uploads.push_back(std::async(std::launch::async, [&] { return Upload(burst); }));
  }
  std::set<std::string> answers;
  for (auto& f : uploads) {
    UploadResult r = f.get();
    EXPECT_TRUE(r.status.ok()) << r.status.error_message();
    answers.insert(r.attachment.SerializeAsString());
  }
  EXPECT_EQ(answers.size(), 1u);
  EXPECT_EQ(FilesUnder(photos_).size(), 2u);
}

TEST_P(AttachmentE2eTest, AnAbandonedUploadStoresNothing) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  const std::string bytes = Jpeg(300000);
  auto chunks = Chunks(bytes, 100000);
  {
    grpc::ClientContext ctx;
    Authorize(&ctx, kLeader1);
    v1::Attachment response;
    auto writer = stub_->UploadAttachment(&ctx, &response);
    ASSERT_TRUE(writer->Write(Metadata(util::Sha256Hex(bytes), bytes.size())));
    ASSERT_TRUE(writer->Write(chunks[0]));
    ctx.TryCancel();  // the handset loses its connection halfway
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  EXPECT_EQ(Download(util::Sha256Hex(bytes)).status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(FilesUnder(photos_).empty());
  // The server is still well, and the retry stores the whole photo.
  UploadResult whole = Upload(bytes);
  ASSERT_TRUE(whole.status.ok()) << whole.status.error_message();
  EXPECT_EQ(FilesUnder(photos_).size(), 1u);
  EXPECT_TRUE(Download(whole.attachment.attachment_id()).bytes == bytes);
}

TEST_P(AttachmentE2eTest, ShaMismatchIsRejectedAndNothingIsStored) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  const std::string bytes = Jpeg(40000);
  std::string corrupted = bytes;
  corrupted[20000] ^= 0x01;  // one bit flipped in transit
  std::vector<v1::UploadAttachmentRequest> messages = {
      Metadata(util::Sha256Hex(bytes), static_cast<int64_t>(bytes.size()))};
  for (auto& c : Chunks(corrupted, 8192)) messages.push_back(std::move(c));
  UploadResult r = UploadMessages(messages);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(r.status.error_message(), "SHA-256 mismatch"))
      << r.status.error_message();
  EXPECT_EQ(FieldsOf(r.status), std::vector<std::string>{"metadata.sha256"});
  EXPECT_TRUE(FilesUnder(photos_).empty()) << "no blob, not even a temporary file";
  EXPECT_EQ(Download(util::Sha256Hex(bytes)).status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Download(util::Sha256Hex(corrupted)).status.error_code(), grpc::StatusCode::NOT_FOUND);

  UploadResult not_hex = UploadMessages({Metadata("ABC", 10)});
  EXPECT_EQ(not_hex.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(FieldsOf(not_hex.status), std::vector<std::string>{"metadata.sha256"});
}

TEST_P(AttachmentE2eTest, ContentThatIsNotJpegPngOrWebpIsRejected) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  for (const std::string& bytes :
       {"GIF89a" + RandomBytes(5000), std::string("这不是图片，只是文字 photo.jpg"),
        std::string("RIFF\x10\0\0\0WAVE", 12) + RandomBytes(100), std::string()}) {
    UploadResult r = Upload(bytes, kLeader1, 4096, "photo.jpg");
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bytes.size();
    EXPECT_TRUE(absl::StrContains(r.status.error_message(), "not a JPEG, PNG or WebP image"))
        << r.status.error_message();
  }
  EXPECT_TRUE(FilesUnder(photos_).empty());
}

// Issue 10, defect 8: any bytes after a JPEG, PNG or WebP magic number used to be stored as an
// image. Photos are decoded in full now: fakes, truncated and corrupt images are refused, and
// nothing of them is stored.
TEST_P(AttachmentE2eTest, FakeTruncatedAndCorruptImagesAreRejected) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  std::vector<std::pair<std::string, std::string>> bad = {
      {"JPEG magic and noise", std::string("\xFF\xD8\xFF\xE0", 4) + RandomBytes(20000)},
      {"PNG magic and noise", std::string("\x89PNG\r\n\x1A\n", 8) + RandomBytes(20000)},
      {"WebP header and noise", std::string("RIFF\x3C\x4E\0\0WEBPVP8 ", 16) + RandomBytes(20000)},
  };
  for (const auto& [type, whole] : std::vector<std::pair<std::string, std::string>>{
           {"JPEG", Jpeg(20000)}, {"PNG", Png(20000)}, {"WebP", Webp(20000)}}) {
    std::string truncated = whole;
    // The padding sits before the image data in a JPEG and a PNG, and after it in a WebP.
    truncated.resize(type == "WebP" ? 40 : whole.size() - 30);
    bad.emplace_back("truncated " + type, truncated);
  }
  std::string corrupt = Png(20000);
  corrupt[46] ^= 0x40;  // in the IDAT chunk (after the signature and IHDR): its CRC fails
  bad.emplace_back("corrupt PNG", corrupt);
  for (const auto& [what, bytes] : bad) {
    UploadResult r = Upload(bytes, kLeader1, 4096, "photo.jpg");
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << what;
    EXPECT_EQ(FieldsOf(r.status), std::vector<std::string>{"chunk"}) << what;
  }
  EXPECT_TRUE(FilesUnder(photos_).empty());
  // The same images whole are accepted.
  for (const std::string& whole : {Jpeg(20000), Png(20000), Webp(20000)}) {
    EXPECT_TRUE(Upload(whole).status.ok());
  }
}

TEST_P(AttachmentE2eTest, PhotosOverTheLimitAreRejectedEarly) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  // Declared honestly: refused on the metadata, before any chunk.
  const std::string big = Jpeg(kMaxBytes + 1);
  UploadResult honest = Upload(big, kLeader1, kMiB);
  EXPECT_EQ(honest.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << honest.status.error_message();

  // Declared small, then far more sent: refused while the client is still sending, instead of
  // after 64 MiB (more than any flow-control window lets through unread).
  const std::string small = Jpeg(1000);
  v1::UploadAttachmentRequest chunk;
  chunk.set_chunk(Jpeg(kMiB));
  std::vector<v1::UploadAttachmentRequest> messages = {
      Metadata(util::Sha256Hex(small), static_cast<int64_t>(small.size()))};
  for (int i = 0; i < 64; ++i) messages.push_back(chunk);
  UploadResult liar = UploadMessages(messages);
  EXPECT_EQ(liar.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << liar.status.error_message();
  EXPECT_LT(liar.writes_accepted, 65) << "the server ended the call before reading everything";

  // Exactly at the limit is fine.
  const std::string at_limit = Png(kMaxBytes);
  UploadResult ok = Upload(at_limit, kLeader1, kMiB);
  EXPECT_TRUE(ok.status.ok()) << ok.status.error_message();
  EXPECT_EQ(FilesUnder(photos_).size(), 1u) << "only the photo within the limit";
}

TEST_P(AttachmentE2eTest, MalformedStreamsAreInvalidArgument) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  const std::string bytes = Jpeg(20000);
  const auto meta = Metadata(util::Sha256Hex(bytes), static_cast<int64_t>(bytes.size()));
  auto chunks = Chunks(bytes, 5000);

  std::vector<v1::UploadAttachmentRequest> chunk_first = {chunks[0], meta};
  UploadResult r = UploadMessages(chunk_first);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(FieldsOf(r.status), std::vector<std::string>{"metadata"});

  std::vector<v1::UploadAttachmentRequest> twice = {meta, chunks[0], meta};
  r = UploadMessages(twice);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(FieldsOf(r.status), std::vector<std::string>{"metadata"});

  r = UploadMessages({});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << "no metadata at all";

  std::vector<v1::UploadAttachmentRequest> short_of_declared = {meta, chunks[0], chunks[1]};
  r = UploadMessages(short_of_declared);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(FieldsOf(r.status), std::vector<std::string>{"metadata.size_bytes"});

  v1::UploadAttachmentRequest too_big_chunk;
  too_big_chunk.set_chunk(std::string(kMiB + 1, 'x'));
  r = UploadMessages({Metadata(std::string(64, 'a'), kMiB + 1), too_big_chunk});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(FieldsOf(r.status), std::vector<std::string>{"chunk"});

  r = UploadMessages({meta, v1::UploadAttachmentRequest()});
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << "an empty message";
  EXPECT_TRUE(FilesUnder(photos_).empty());
}

TEST_P(AttachmentE2eTest, UploadNeedsATokenAndARoleThatTakesPhotos) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  const std::string bytes = Webp(3000);
  EXPECT_EQ(Upload(bytes, "").status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Upload(bytes, "not-a-token").status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Upload(bytes, kSupervisor).status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Upload(bytes, kOperator).status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(FilesUnder(photos_).empty());
  for (const char* token : {kLeader1, kDispatcher1, kStaffCg}) {
    UploadResult r = Upload(bytes, token);
    EXPECT_TRUE(r.status.ok()) << token << ": " << r.status.error_message();
  }
  EXPECT_EQ(Download(util::Sha256Hex(bytes), "").status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_P(AttachmentE2eTest, TheUploaderDownloadsTheSameBytesInChunks) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  const std::string bytes = Jpeg(2 * kMiB + 777);
  UploadResult up = Upload(bytes, kLeader1, 100000);
  ASSERT_TRUE(up.status.ok()) << up.status.error_message();

  DownloadResult down = Download(up.attachment.attachment_id());
  ASSERT_TRUE(down.status.ok()) << down.status.error_message();
  ASSERT_GE(down.messages.size(), 4u) << "metadata, then three chunks of at most 1 MiB";
  EXPECT_TRUE(down.messages[0].has_attachment());
  EXPECT_EQ(down.messages[0].attachment().SerializeAsString(), up.attachment.SerializeAsString());
  for (size_t i = 1; i < down.messages.size(); ++i) {
    EXPECT_FALSE(down.messages[i].has_attachment()) << i;
    EXPECT_LE(down.messages[i].chunk().size(), kMiB) << i;
  }
  EXPECT_TRUE(down.bytes == bytes) << "byte for byte";
}

// Issue 10, defect 1: the upload reactor called Finish while holding its own mutex, and gRPC ran
// OnDone (which deletes the reactor) on another thread, so unlocking wrote to freed memory; the
// download reactor followed the same pattern. Many clients upload and download at once while
// some cancel mid-stream or run out of deadline: every call ends with a status, the server
// stays up, and (under AddressSanitizer, see deploy/sanitize.sh) nothing touches freed memory.
TEST_P(AttachmentE2eTest, ConcurrentUploadsAndDownloadsWithCancellationsAllEnd) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  constexpr int kClients = 12;
  constexpr int kRounds = 6;
  std::vector<std::string> photos;
  for (int i = 0; i < kClients; ++i) photos.push_back(Jpeg(150000 + 1000 * i));
  std::atomic<int> completed{0}, cancelled{0}, failed{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      for (int round = 0; round < kRounds; ++round) {
        const std::string& bytes = photos[i];
        const int mode = (i + round) % 4;  // 0, 1: complete; 2: cancel; 3: tiny deadline
        grpc::ClientContext ctx;
        ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kLeader1));
        ctx.set_deadline(
            std::chrono::system_clock::now() +
            (mode == 3 ? std::chrono::milliseconds(5 + round) : std::chrono::milliseconds(30000)));
        v1::Attachment out;
        auto writer = stub_->UploadAttachment(&ctx, &out);
        bool open = writer->Write(Metadata(util::Sha256Hex(bytes), bytes.size()));
        auto chunks = Chunks(bytes, 32 * 1024);
        for (size_t c = 0; open && c < chunks.size(); ++c) {
          if (mode == 2 && c == static_cast<size_t>(round % 3)) {
            ctx.TryCancel();
            break;
          }
          open = writer->Write(chunks[c]);
        }
        if (open && mode != 2) writer->WritesDone();
        grpc::Status s = writer->Finish();
        if (s.ok()) {
          ++completed;
          // Download it at once; cancel some downloads after the first message.
          grpc::ClientContext dctx;
          dctx.AddMetadata("authorization", absl::StrCat("Bearer ", kLeader1));
          dctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
          v1::DownloadAttachmentRequest req;
          req.set_attachment_id(out.attachment_id());
          auto reader = stub_->DownloadAttachment(&dctx, req);
          v1::DownloadAttachmentResponse m;
          while (reader->Read(&m)) {
            if (round % 2 == 1) dctx.TryCancel();
          }
          grpc::Status ds = reader->Finish();
          if (!ds.ok() && ds.error_code() != grpc::StatusCode::CANCELLED) ++failed;
        } else if (s.error_code() == grpc::StatusCode::CANCELLED ||
                   s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
          ++cancelled;
        } else {
          ++failed;
        }
        if ((mode == 0 || mode == 1) && !s.ok()) ++failed;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(completed.load(), 0);
  EXPECT_GT(cancelled.load(), 0);
  // Still serving: one more upload and download, byte for byte.
  const std::string last = Png(20000);
  UploadResult up = Upload(last);
  ASSERT_TRUE(up.status.ok()) << up.status.error_message() << server->Log();
  EXPECT_TRUE(Download(up.attachment.attachment_id()).bytes == last);
}

TEST_P(AttachmentE2eTest, OthersCannotDownloadAPhotoNoVisibleCaseUses) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  const std::string bytes = Png(9000);
  UploadResult up = Upload(bytes, kLeader1);
  ASSERT_TRUE(up.status.ok()) << up.status.error_message();
  const std::string id = up.attachment.attachment_id();
  for (const char* token : {kLeader3, kDispatcher1, kStaffCg}) {
    DownloadResult d = Download(id, token);
    EXPECT_EQ(d.status.error_code(), grpc::StatusCode::NOT_FOUND) << token;
    EXPECT_TRUE(d.bytes.empty()) << token;
  }
  EXPECT_EQ(Download(util::Sha256Hex("never uploaded")).status.error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Download("../../etc/passwd").status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_P(AttachmentE2eTest, AReportsPhotoIsVisibleToThoseWhoSeeTheCase) {
  auto server = StartServer();
  ASSERT_TRUE(server);
  const std::string bytes = Jpeg(30000);
  UploadResult up = Upload(bytes, kLeader1);
  ASSERT_TRUE(up.status.ok()) << up.status.error_message();
  const std::string id = up.attachment.attachment_id();
  v1::SubmitReportResponse report;
  grpc::Status s = SubmitReport({id}, &report);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(report.case_().before_photos_size(), 1);
  EXPECT_EQ(report.case_().before_photos(0).attachment_id(), id);

  DownloadResult by_dispatcher = Download(id, kDispatcher1);
  ASSERT_TRUE(by_dispatcher.status.ok()) << "the dispatcher of the case's street sees the case";
  EXPECT_TRUE(by_dispatcher.bytes == bytes);
  EXPECT_TRUE(Download(id, kOperator).status.ok());
  EXPECT_EQ(Download(id, kLeader2).status.error_code(), grpc::StatusCode::NOT_FOUND)
      << "a grid leader of another cell does not see the case";
  EXPECT_EQ(Download(id, kLeader3).status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_P(AttachmentE2eTest, UnusedPhotosAreCleanedUpAfterTheGracePeriod) {
  // Left behind by earlier failures: bytes without metadata, and a crashed write's temporary.
  const std::string stray = Jpeg(500);
  const std::string stray_path = BlobPath(util::Sha256Hex(stray));
  const std::string temp_path = fs::path(stray_path).parent_path().string() + "/.tmp-crashed";
  fs::create_directories(fs::path(stray_path).parent_path());
  std::ofstream(stray_path, std::ios::binary) << stray;
  std::ofstream(temp_path) << "half a photo";
  SetMtime(stray_path, 3600);
  SetMtime(temp_path, 3600);

  auto server = StartServer("orphan_grace_seconds: 2 cleanup_interval_seconds: 1");
  ASSERT_TRUE(server);
  const std::string unused = Png(20000), used = Jpeg(20000);
  UploadResult unused_up = Upload(unused);
  UploadResult used_up = Upload(used);
  ASSERT_TRUE(unused_up.status.ok() && used_up.status.ok());
  v1::SubmitReportResponse report;
  grpc::Status s = SubmitReport({used_up.attachment.attachment_id()}, &report);
  ASSERT_TRUE(s.ok()) << s.error_message();

  DeletionWatch watch;
  watch.Add(BlobPath(unused_up.attachment.attachment_id()));
  watch.Add(stray_path);
  watch.Add(temp_path);
  ASSERT_TRUE(watch.WaitAllGone(std::chrono::seconds(20))) << server->Log();

  // The metadata went first: the uploader now gets NOT_FOUND (not DATA_LOSS).
  EXPECT_EQ(Download(unused_up.attachment.attachment_id()).status.error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Older than the grace period as well, but a case uses it.
  EXPECT_TRUE(fs::exists(BlobPath(used_up.attachment.attachment_id())));
  DownloadResult kept = Download(used_up.attachment.attachment_id(), kDispatcher1);
  ASSERT_TRUE(kept.status.ok()) << kept.status.error_message();
  EXPECT_TRUE(kept.bytes == used);
  // And the unused photo can be uploaded again.
  UploadResult again = Upload(unused);
  ASSERT_TRUE(again.status.ok()) << again.status.error_message();
  EXPECT_TRUE(Download(again.attachment.attachment_id()).status.ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, AttachmentE2eTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace gridline
