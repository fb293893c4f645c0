import COpenBLAS
import Dispatch
import Foundation

/// One thread budget for the process, shared by OpenBLAS and the package's parallel loops.
///
/// Policy (no oversubscription): a big GEMM called from the main flow uses `threads` BLAS
/// threads; inside `parallelFor` every worker calls BLAS single-threaded, because
/// `parallelFor` drops the BLAS thread count to 1 for its duration and restores it after.
/// Nested `parallelFor` calls run serially on the calling worker.
///
/// The nesting depth is kept per thread: a thread is "in a parallel region" while it runs a
/// `parallelFor` or is one of its workers. Another thread (a data loader, say) may start its
/// own region meanwhile. OpenBLAS's thread count is one setting for the process, so it stays
/// at 1 while any thread is in a region.
public enum ThreadBudget {
  nonisolated(unsafe) private static var _threads: Int = ProcessInfo.processInfo
    .activeProcessorCount
  /// Regions running now, in every thread (guarded by `lock`).
  nonisolated(unsafe) private static var regions = 0
  private static let lock = NSLock()

  /// The key of this thread's nesting depth (stored in the pointer value itself).
  private static let depthKey: pthread_key_t = {
    var key = pthread_key_t()
    let status = pthread_key_create(&key, nil)
    precondition(status == 0, "pthread_key_create failed (\(status))")
    return key
  }()

  /// Parallel regions the calling thread is inside (0 outside any).
  static var depth: Int {
    get { Int(bitPattern: pthread_getspecific(depthKey)) }
    set { pthread_setspecific(depthKey, UnsafeRawPointer(bitPattern: newValue)) }
  }

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

  /// Starts a parallel region on the calling thread (BLAS single-threaded until the last
  /// region of the process ends).
  static func enter() {
    depth += 1
    lock.lock()
    defer { lock.unlock() }
    regions += 1
    if regions == 1 { openblas_set_num_threads(1) }
  }

  static func leave() {
    depth -= 1
    lock.lock()
    defer { lock.unlock() }
    regions -= 1
    if regions == 0 { openblas_set_num_threads(Int32(_threads)) }
  }

  /// Runs `body` on the calling worker thread marked as inside a parallel region, so that a
  /// `parallelFor` it calls runs serially.
  @inline(__always)
  static func asWorker(_ body: () -> Void) {
    depth += 1
    defer { depth -= 1 }
    body()
  }

  /// Whether the calling thread is inside a parallel region now.
  public static var inParallelRegion: Bool { depth > 0 }
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
  ThreadBudget.enter()
  defer { ThreadBudget.leave() }
  withoutActuallyEscaping(body) { body in
    nonisolated(unsafe) let body = body  // called for disjoint `i` (the caller's contract)
    DispatchQueue.concurrentPerform(iterations: workers) { w in
      let lo = n * w / workers
      let hi = n * (w + 1) / workers
      ThreadBudget.asWorker { for i in lo..<hi { body(i) } }
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
  ThreadBudget.enter()
  defer { ThreadBudget.leave() }
  withoutActuallyEscaping(body) { body in
    nonisolated(unsafe) let body = body  // called for disjoint ranges (the caller's contract)
    DispatchQueue.concurrentPerform(iterations: workers) { w in
      ThreadBudget.asWorker { body((n * w / workers)..<(n * (w + 1) / workers)) }
    }
  }
}
