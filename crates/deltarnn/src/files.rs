//! Writing files so that a crash or a full disk never leaves a half-written result behind.

use crate::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` through a temporary file in the same folder, flushed to disk, then
/// renamed over `path`. On any error the previous file at `path` is untouched and the temporary
/// file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temporary_name(path);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, source)
    })
}

/// `dir/.name.tmp-<pid>`: hidden, unique per process, in the target's own folder so the final
/// rename stays on one file system.
fn temporary_name(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// An exclusive claim on a folder for one process: the file `.lock` in it holds the owner's pid.
/// Two processes writing the same run or cache folder would interleave their files; the second
/// gets an "in use" error instead. A lock left by a process that no longer runs (killed) is
/// taken over. Released when dropped.
#[derive(Debug)]
pub struct DirLock {
    path: PathBuf,
}

/// Name of the lock file inside a locked folder.
pub const LOCK_FILE: &str = ".lock";

impl DirLock {
    /// Creates `dir` if needed and locks it.
    pub fn acquire(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let lock = dir.join(LOCK_FILE);
        loop {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&lock) {
                Ok(mut file) => {
                    file.write_all(std::process::id().to_string().as_bytes()).map_err(|e| Error::io(&lock, e))?;
                    return Ok(DirLock { path: lock });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&lock).unwrap_or_default();
                    let pid: Option<u32> = holder.trim().parse().ok();
                    let alive = pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists());
                    if alive && pid != Some(std::process::id()) {
                        return Err(Error::InUse { path: dir.to_path_buf(), pid: holder.trim().to_string(), lock });
                    }
                    // An empty file is a lock being written right now by a process that has not
                    // written its pid yet: wait for it rather than steal it.
                    if holder.is_empty() && Self::is_fresh(&lock) {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        continue;
                    }
                    // Stale lock from a process that no longer runs: remove it and try again.
                    match std::fs::remove_file(&lock) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(Error::io(&lock, e)),
                    }
                }
                Err(e) => return Err(Error::io(&lock, e)),
            }
        }
    }

    /// True when `lock` was modified within the last second.
    fn is_fresh(lock: &Path) -> bool {
        std::fs::metadata(lock)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age < std::time::Duration::from_secs(1))
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("deltarnn-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.bin");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        let err = write_atomic(&dir.join("missing/b.bin"), b"x").unwrap_err();
        assert!(err.to_string().contains("missing/b.bin"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_live_holder_blocks_and_a_dead_one_is_taken_over() {
        let dir = std::env::temp_dir().join(format!("deltarnn-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(LOCK_FILE), "1").unwrap(); // pid 1 is alive
        let err = DirLock::acquire(&dir).unwrap_err().to_string();
        assert!(err.contains("is in use by process 1"), "{err}");
        std::fs::write(dir.join(LOCK_FILE), "4294967295").unwrap(); // no such process
        let lock = DirLock::acquire(&dir).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join(LOCK_FILE)).unwrap(), std::process::id().to_string());
        drop(lock);
        assert!(!dir.join(LOCK_FILE).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
