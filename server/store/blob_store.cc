#include "server/store/blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/util/sha256.h"

namespace gridline::store {
namespace {

constexpr char kTempPrefix[] = ".tmp-";

// An I/O error of the photo store. The message names the operation and the blob, not the
// server's paths: it reaches clients. A full disk (or a quota, or a file size limit) is
// UNAVAILABLE, so that clients keep the photo and retry once space is freed.
absl::Status IoError(absl::string_view what, absl::string_view id, int err) {
  if (err == ENOSPC || err == EDQUOT || err == EFBIG) {
    return absl::UnavailableError(absl::StrCat("photo store: the disk is full: cannot ", what, " ",
                                               id, " (", std::strerror(err),
                                               "); retry once space is freed"));
  }
  return absl::InternalError(
      absl::StrCat("photo store: cannot ", what, " ", id, ": ", std::strerror(err)));
}

domain::Micros MtimeMicros(const struct stat& st) {
  return static_cast<domain::Micros>(st.st_mtim.tv_sec) * 1000000 + st.st_mtim.tv_nsec / 1000;
}

bool IsHex(absl::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Makes the directory's entries (a created, renamed or deleted file) durable.
absl::Status SyncDirectory(const std::string& dir, absl::string_view id) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("open the directory of", id, errno);
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc != 0) return IoError("sync the directory of", id, err);
  return absl::OkStatus();
}

absl::Status WriteAll(int fd, absl::string_view bytes, absl::string_view id) {
  while (!bytes.empty()) {
    ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("write", id, errno);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// Calls `visit(shard_dir, name)` for every file in every shard directory (<dir>/<2 hex>/).
template <typename Visit>
absl::Status ForEachFile(const std::string& directory, Visit visit) {
  DIR* top = opendir(directory.c_str());
  if (top == nullptr) return IoError("list", "the photo directory", errno);
  std::vector<std::string> shards;
  while (dirent* e = readdir(top)) {
    absl::string_view name = e->d_name;
    if (name.size() == 2 && IsHex(name)) shards.emplace_back(name);
  }
  closedir(top);
  for (const auto& shard : shards) {
    std::string shard_dir = absl::StrCat(directory, "/", shard);
    DIR* d = opendir(shard_dir.c_str());
    if (d == nullptr) {
      if (errno == ENOENT) continue;
      return IoError("list", shard_dir.substr(directory.size() + 1), errno);
    }
    while (dirent* e = readdir(d)) {
      absl::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      visit(shard_dir, shard, name);
    }
    closedir(d);
  }
  return absl::OkStatus();
}

}  // namespace

bool IsValidBlobId(absl::string_view id) { return id.size() >= 3 && id.size() <= 128 && IsHex(id); }

absl::StatusOr<std::unique_ptr<BlobStore>> BlobStore::Open(const std::string& directory) {
  if (directory.empty()) return absl::FailedPreconditionError("photo directory is empty");
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create the photo directory ", directory, ": ", ec.message()));
  }
  if (!std::filesystem::is_directory(directory, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the photo directory ", directory, " is not a directory"));
  }
  if (access(directory.c_str(), W_OK | X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the photo directory ", directory, " is not writable: ", strerror(errno)));
  }
  return std::unique_ptr<BlobStore>(new BlobStore(directory));
}

std::string BlobStore::PathOf(const std::string& id) const {
  return absl::StrCat(directory_, "/", id.substr(0, 2), "/", id);
}

absl::Status BlobStore::Put(const std::string& id, absl::string_view bytes, bool* created) {
  if (created != nullptr) *created = false;
  if (!IsValidBlobId(id)) return absl::InvalidArgumentError("blob id is not lowercase hex");
  const std::string shard = absl::StrCat(directory_, "/", id.substr(0, 2));
  if (mkdir(shard.c_str(), 0755) == 0) {
    if (absl::Status s = SyncDirectory(directory_, id); !s.ok()) return s;
  } else if (errno != EEXIST) {
    return IoError("create the directory of", id, errno);
  }
  const std::string path = PathOf(id);
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<size_t>(st.st_size) == bytes.size()) {
    return absl::OkStatus();  // the same id names the same bytes
  }

  const std::string temp = absl::StrCat(shard, "/", kTempPrefix, id, "-", util::RandomHex(8));
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return IoError("create", id, errno);
  absl::Status s = WriteAll(fd, bytes, id);
  if (s.ok() && fsync(fd) != 0) s = IoError("sync", id, errno);
  if (close(fd) != 0 && s.ok()) s = IoError("close", id, errno);
  if (s.ok() && rename(temp.c_str(), path.c_str()) != 0) s = IoError("rename", id, errno);
  if (!s.ok()) {
    unlink(temp.c_str());
    return s;
  }
  if (absl::Status d = SyncDirectory(shard, id); !d.ok()) return d;
  if (created != nullptr) *created = true;
  return absl::OkStatus();
}

absl::StatusOr<std::string> BlobStore::Get(const std::string& id) const {
  if (!IsValidBlobId(id)) return absl::InvalidArgumentError("blob id is not lowercase hex");
  int fd = open(PathOf(id).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no blob ", id));
    return IoError("open", id, errno);
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return IoError("stat", id, err);
  }
  std::string out;
  out.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;  // shorter than its size: changed under us
      close(fd);
      return IoError("read", id, err);
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  return out;
}

absl::Status BlobStore::Delete(const std::string& id) {
  if (!IsValidBlobId(id)) return absl::InvalidArgumentError("blob id is not lowercase hex");
  if (unlink(PathOf(id).c_str()) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return IoError("delete", id, errno);
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> BlobStore::Exists(const std::string& id) const {
  if (!IsValidBlobId(id)) return absl::InvalidArgumentError("blob id is not lowercase hex");
  struct stat st;
  if (stat(PathOf(id).c_str(), &st) == 0) return S_ISREG(st.st_mode);
  if (errno == ENOENT) return false;
  return IoError("stat", id, errno);
}

absl::StatusOr<std::vector<std::string>> BlobStore::ListWrittenBefore(domain::Micros before) const {
  std::vector<std::string> ids;
  absl::Status s = ForEachFile(
      directory_, [&](const std::string& dir, const std::string& shard, absl::string_view name) {
        if (!IsValidBlobId(name) || !absl::StartsWith(name, shard)) return;
        struct stat st;
        std::string path = absl::StrCat(dir, "/", name);
        if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && MtimeMicros(st) < before) {
          ids.emplace_back(name);
        }
      });
  if (!s.ok()) return s;
  return ids;
}

absl::StatusOr<int> BlobStore::RemoveStaleTemporaries(domain::Micros before) {
  int removed = 0;
  absl::Status s = ForEachFile(
      directory_, [&](const std::string& dir, const std::string&, absl::string_view name) {
        if (!absl::StartsWith(name, kTempPrefix)) return;
        struct stat st;
        std::string path = absl::StrCat(dir, "/", name);
        if (stat(path.c_str(), &st) == 0 && MtimeMicros(st) < before && unlink(path.c_str()) == 0) {
          ++removed;
        }
      });
  if (!s.ok()) return s;
  return removed;
}

}  // namespace gridline::store
