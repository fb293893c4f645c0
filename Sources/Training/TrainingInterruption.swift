// SIGINT and SIGTERM during training: one line, `interrupted at epoch E step S; continue with
// --resume`, and exit status 128 + the signal (130 for SIGINT, 143 for SIGTERM).
//
// The signal handler only writes the signal's number to a pipe (`write` is async-signal-safe);
// a thread waiting on the pipe does the rest in ordinary code: it takes the lock the training
// loop holds while it writes the epoch's files, so a checkpoint being written is finished first
// (every write is atomic anyway: a kill mid-write leaves the earlier file and a temporary that
// the next run removes), prints the line (the owner only, in a distributed run), removes the
// run folder's lock file and ends the process at once (`_exit`: no cleanup that could meet the
// training threads half-way). E is the epoch in progress, S the optimizer steps done in the run
// (the numbering of the step warnings); `--resume` continues after the last epoch written.
//
// While no run is in progress the signals have their default action.

import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The write end of the signal pipe while a run is in progress, else -1. Set before the
/// handlers are installed and after they are removed; the handler only reads it.
nonisolated(unsafe) private var signalPipe: Int32 = -1

/// The signal handler: the signal's number, one byte, into the pipe.
private let forwardSignal: @convention(c) (Int32) -> Void = { signal in
  let saved = errno
  var byte = UInt8(truncatingIfNeeded: signal)
  _ = write(signalPipe, &byte, 1)
  errno = saved
}

/// What a training run does on SIGINT and SIGTERM (one at a time in a process).
final class TrainingInterruption: @unchecked Sendable {
  /// The signals handled.
  static let signals: [Int32] = [SIGINT, SIGTERM]

  private let lock = NSLock()
  private var epoch = 0
  private var step = 0
  /// Whether this process prints the line (the owner of the console).
  private let speaks: Bool
  /// The lock file to remove on the way out (the owner's), if any.
  private let lockFile: String?
  private let readEnd: Int32

  /// Installs the handlers; `remove()` restores the default actions.
  init(speaks: Bool, lockFile: String?) {
    self.speaks = speaks
    self.lockFile = lockFile
    var ends: [Int32] = [-1, -1]
    if pipe(&ends) != 0 {
      // No pipe (out of descriptors): the signals keep their default action.
      readEnd = -1
      return
    }
    readEnd = ends[0]
    _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
    _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
    signalPipe = ends[1]
    let watcher = Thread { [self] in watch() }
    watcher.name = "training interruption"
    watcher.start()
    for s in Self.signals { signal(s, forwardSignal) }
  }

  /// Restores the signals' default actions and ends the watching thread.
  func remove() {
    guard readEnd >= 0 else { return }
    for s in Self.signals { signal(s, SIG_DFL) }
    lock.lock()
    let writeEnd = signalPipe
    signalPipe = -1
    lock.unlock()
    close(writeEnd)  // the watcher reads end-of-file and returns
  }

  /// Records the position the line reports: the epoch in progress, the steps done.
  func at(epoch: Int, step: Int) {
    lock.lock()
    (self.epoch, self.step) = (epoch, step)
    lock.unlock()
  }

  /// Runs `body` (writing files) with the exit held back until it returns.
  func deferringExit<T>(_ body: () throws -> T) rethrows -> T {
    lock.lock()
    defer { lock.unlock() }
    return try body()
  }

  /// Waits for a signal's byte; then the line and the exit.
  private func watch() {
    var byte: UInt8 = 0
    while true {
      let n = read(readEnd, &byte, 1)
      if n < 0 && errno == EINTR { continue }
      break
    }
    // End-of-file: the run is over.
    guard byte != 0 else {
      close(readEnd)
      return
    }
    lock.lock()  // held for good: no file is written after this
    if speaks {
      FileHandle.standardError.write(
        Data("interrupted at epoch \(epoch) step \(step); continue with --resume\n".utf8))
    }
    if let lockFile { unlink(lockFile) }
    _exit(128 + Int32(byte))
  }
}
