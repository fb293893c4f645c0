import COpenBLAS
import Dispatch
import Foundation

/// One thread budget for the process, shared by OpenBLAS and the package's parallel loops.
///
/// Policy (no oversubscription): a big GEMM called from the main flow uses `threads` BLAS
/// threads; inside `parallelFor` every worker calls BLAS single-threaded, because
/// `parallelFor` drops the BLAS thread count to 1 for its duration and restores it after.
/// Nested `parallelFor` calls run serially on the calling worker.
public enum ThreadBudget {
  nonisolated(unsafe) private static var _threads: Int = ProcessInfo.processInfo.activeProcessorCount
  nonisolated(unsafe) private static var depth = 0
  private static let lock = NSLock()

  /// Threads the process may use (default: every core). Set once at start (`--threads N`).
  public static var threads: Int {
    get { _threads }
    set {
      _threads = Swift.max(1, newValue)
      openblas_set_num_threads(Int32(_threads))
    }
  }

  /// Applies the budget to OpenBLAS. Call once at start; `threads`'s setter also does it.
  public static func configure(threads: Int? = nil) {
    self.threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
  }

  /// True while a `parallelFor` is running (its workers must not start another parallel region).
  static func enter() -> Bool {
    lock.lock()
    defer { lock.unlock() }
    depth += 1
    if depth == 1 { openblas_set_num_threads(1) }
    return depth == 1
  }

  static func leave() {
    lock.lock()
    defer { lock.unlock() }
    depth -= 1
    if depth == 0 { openblas_set_num_threads(Int32(_threads)) }
  }

  /// Whether a parallel region is running now.
  public static var inParallelRegion: Bool {
    lock.lock()
    defer { lock.unlock() }
    return depth > 0
  }
}

/// Runs `body(i)` for every `i` in `0..<n`, spread over the thread budget in contiguous chunks.
///
/// BLAS calls inside `body` run single-threaded. Called inside another `parallelFor`, it runs
/// serially. `body` must be safe to call concurrently for distinct `i`.
public func parallelFor(_ n: Int, _ body: (Int) -> Void) {
  if n <= 0 { return }
  let workers = Swift.min(ThreadBudget.threads, n)
  if workers <= 1 || ThreadBudget.inParallelRegion {
    for i in 0..<n { body(i) }
    return
  }
  _ = ThreadBudget.enter()
  defer { ThreadBudget.leave() }
  withoutActuallyEscaping(body) { body in
    nonisolated(unsafe) let body = body  // called for disjoint `i` (the caller's contract)
    DispatchQueue.concurrentPerform(iterations: workers) { w in
      let lo = n * w / workers
      let hi = n * (w + 1) / workers
      for i in lo..<hi { body(i) }
    }
  }
}

/// Runs `body(lo, hi)` over `workers` contiguous ranges covering `0..<n` (for kernels that
/// want a whole range per worker, e.g. to reuse a scratch buffer).
public func parallelChunks(_ n: Int, _ body: (Range<Int>) -> Void) {
  if n <= 0 { return }
  let workers = Swift.min(ThreadBudget.threads, n)
  if workers <= 1 || ThreadBudget.inParallelRegion {
    body(0..<n)
    return
  }
  _ = ThreadBudget.enter()
  defer { ThreadBudget.leave() }
  withoutActuallyEscaping(body) { body in
    nonisolated(unsafe) let body = body  // called for disjoint ranges (the caller's contract)
    DispatchQueue.concurrentPerform(iterations: workers) { w in
      body((n * w / workers)..<(n * (w + 1) / workers))
    }
  }
}

extension ThreadBudget {
  /// The `OPENBLAS_THREAD_TIMEOUT` programs run with: idle OpenBLAS workers spin for
  /// 2^4 cycles before sleeping instead of OpenBLAS's 2^28 (≈ 0.1 s). Between two GEMMs the
  /// long spin (in `sched_yield`) takes the cores the package's own loops want; on 2 cores
  /// inference runs 5–25 % faster with the short one (Docs/BENCHMARKS.md, Models). `make test`
  /// sets the same value for the test process, which cannot re-execute itself.
  public static let blasThreadTimeout = "4"

  /// Call first thing in `main`: when `OPENBLAS_THREAD_TIMEOUT` is unset, sets it to
  /// `blasThreadTimeout` and re-executes the program (OpenBLAS reads it only when it loads,
  /// before `main`). Returns normally when it is already set or the re-execution fails.
  public static func restartWithShortBLASSpin() {
    guard getenv("OPENBLAS_THREAD_TIMEOUT") == nil else { return }
    setenv("OPENBLAS_THREAD_TIMEOUT", blasThreadTimeout, 1)
    #if os(Linux)
    // Exec the binary by its real path, not `/proc/self/exe`: the kernel names the process after
    // the file executed, so `ps`, `top` and `pgrep -x vcoswin` keep seeing `vcoswin`.
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let path = n > 0 ? String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "/proc/self/exe"
    execv(path, CommandLine.unsafeArgv)
    #endif
  }
}
