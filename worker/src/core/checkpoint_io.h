// checkpoint_io.h — the on-disk layout of checkpoints and crash-safe file writes.
//
// Layout (see worker/CHECKPOINTS.md):
//   <dir>/checkpoint_<step, 8 digits>/        a complete checkpoint (has COMPLETE)
//   <dir>/checkpoint_<step>.tmp/               a save in progress or interrupted: never loaded
// A checkpoint becomes visible only by the rename of its .tmp folder, after every file in it
// and the folder itself were fsynced, so a crash at any point leaves the previous one intact.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace accel {

struct CheckpointEntry {
  int64_t step = 0;
  std::string path;
};

// Complete checkpoints under `dir`, oldest first. Missing dir → empty.
std::vector<CheckpointEntry> list_checkpoints(const std::string& dir);
std::optional<CheckpointEntry> latest_checkpoint(const std::string& dir);

std::string checkpoint_path(const std::string& dir, int64_t step);
std::string checkpoint_tmp_path(const std::string& dir, int64_t step);

// Writes `data` to `path` atomically: path.part, fsync, rename, fsync of the folder.
void write_file_atomic(const std::string& path, const std::string& data);
std::string read_file(const std::string& path);
// fsync a file or folder by path (throws on failure).
void fsync_path(const std::string& path);
// mkdir -p; rm -rf.
void make_dirs(const std::string& path);
void remove_all(const std::string& path);
// Renames the tmp folder into place (fsyncing both folders): the commit point of a save.
void commit_checkpoint(const std::string& tmp, const std::string& final_path);
// Deletes the oldest complete checkpoints beyond `keep`, and stale .tmp folders.
void prune_checkpoints(const std::string& dir, int keep);

}  // namespace accel
