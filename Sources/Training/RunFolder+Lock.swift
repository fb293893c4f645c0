// The lock of a run folder: one run at a time in an `--out` folder.
//
// The lock is `flock(LOCK_EX | LOCK_NB)` on `run.lock` in the folder, which holds the owning
// process id as text for the refusal. The operating system releases a `flock` when its process
// ends, however it ends, so a `run.lock` left by a killed run is stale: the file is there but
// nobody holds its lock, and the next run takes it over (and says so). A run that ends — normally,
// with an error, or interrupted (`TrainingInterruption`) — removes the file while it still holds
// the lock. A run that took the lock of a file which another process removed meanwhile (it
// opened the file just before the removal) sees that the path no longer names the locked file,
// and tries again.
//
// `run.lock` is not a run file (`RunFolder.fileNames`): it never makes a folder "hold an earlier
// run", and `--overwrite` leaves it. In a distributed run only the owner (rank 0) locks.

import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension RunFolder {
  /// The name of the lock file in a run folder.
  public static let lockFileName = "run.lock"

  /// `OUT/run.lock`.
  public var lockURL: URL { url.appendingPathComponent(Self.lockFileName) }

  /// Whether this object holds the folder's lock.
  public var isLocked: Bool { lockDescriptor >= 0 }

  /// Creates the folder if needed and takes its lock (owner only; nothing when held already).
  /// Returns a note for people when a stale lock (of a process that has ended) was taken over.
  /// - Throws: `TrainingError` naming the folder and the process that holds the lock, or why
  ///   the folder or its lock file cannot be written.
  @discardableResult
  public func lock() throws -> String? {
    guard owner, !isLocked else { return nil }
    try createFolder()
    let path = lockURL.path
    for _ in 0..<100 {
      let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
      guard fd >= 0 else {
        throw TrainingError(
          "--out \(self.path): cannot write in the folder (creating \(Self.lockFileName): \(String(cString: strerror(errno))))"
        )
      }
      guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
        let code = errno
        let holder = Self.recordedProcess(fd)
        close(fd)
        if code == EWOULDBLOCK {
          throw TrainingError(
            "--out \(self.path): another run is using it (process \(holder.map(String.init) ?? "unknown"), \(path)); wait for it to end, or give another --out"
          )
        }
        throw TrainingError(
          "\(path): cannot lock it: \(String(cString: strerror(code))) (a file system without locks?)"
        )
      }
      // The previous holder may have removed the file between our open and our lock.
      var held = stat()
      var named = stat()
      guard fstat(fd, &held) == 0, stat(path, &named) == 0, held.st_ino == named.st_ino,
        held.st_dev == named.st_dev
      else {
        close(fd)
        continue
      }
      let stale = Self.recordedProcess(fd)
      let text = Array("\(getpid())\n".utf8)
      guard ftruncate(fd, 0) == 0, pwrite(fd, text, text.count, 0) == text.count else {
        let reason = String(cString: strerror(errno))
        close(fd)
        throw TrainingError("--out \(self.path): cannot write \(path): \(reason)")
      }
      lockDescriptor = fd
      return stale.map {
        "\(path): taking over the lock of process \($0), which has ended (an interrupted run)"
      }
    }
    throw TrainingError("\(path): the lock file keeps being replaced; is another run starting?")
  }

  /// Removes `run.lock` and releases the lock (nothing when not held).
  public func unlock() {
    guard isLocked else { return }
    unlink(lockURL.path)
    close(lockDescriptor)
    lockDescriptor = -1
  }

  /// Creates the folder (and its parents).
  /// - Throws: `TrainingError` naming the folder.
  func createFolder() throws {
    do {
      try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    } catch {
      throw TrainingError(
        "\(url.path): cannot create the output folder: \((error as NSError).localizedDescription)"
      )
    }
  }

  /// Checks that files can be created and replaced in the folder before the first step: creates
  /// and removes a probe file (a read-only folder was otherwise found after an epoch's training).
  /// - Throws: `TrainingError` naming the folder and the reason.
  func checkWritable() throws {
    guard owner else { return }
    let probe = url.appendingPathComponent(".write-probe-\(getpid())").path
    let fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      throw TrainingError(
        "--out \(path): cannot write in the folder: \(String(cString: strerror(errno)))")
    }
    close(fd)
    guard unlink(probe) == 0 else {
      throw TrainingError(
        "--out \(path): cannot remove a file in the folder: \(String(cString: strerror(errno)))")
    }
  }

  /// The process id a lock file holds, if it holds one.
  private static func recordedProcess(_ fd: Int32) -> Int32? {
    var buffer = [UInt8](repeating: 0, count: 32)
    let n = pread(fd, &buffer, buffer.count, 0)
    guard n > 0 else { return nil }
    let text = String(decoding: buffer[0..<n], as: UTF8.self)
    return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
  }
}
