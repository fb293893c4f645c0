// Per-kind timing of a model step, for `vcoswin-bench model --profile`.
//
// Kernels open a scope: `let scope = Profile.begin(kind); defer { Profile.end(scope) }`.
// Only the outermost scope on the calling thread records (a kernel that calls another kernel
// is charged to the outer one), and only while `Profile.isEnabled` (set by the benchmark alone): when off, a scope costs one
// branch. A kernel that does several kinds of work inside one parallel region (window
// attention: row copies, linears, the attention core) opens a `split`: its workers lap a clock
// per kind, and the section's elapsed time is shared out in proportion to the workers' sums.
//
// Legend: K kinds (`ProfileKind.allCases`), P passes (`ProfilePass.allCases`).

import Dispatch
import Foundation

/// What a kernel's time is charged to.
public enum ProfileKind: Int, CaseIterable, Sendable {
  /// Convolutions: the patch embedding (and CoSwin's merges).
  case convolution
  /// LayerNorm forward and backward.
  case layerNorm
  /// Window attention's qkv and proj linears (GEMMs, bias, weight gradients).
  case attentionLinears
  /// Window attention's core: bias and mask, softmax, the per-head batched products.
  case attentionCore
  /// Window partition and reverse (shift, pad) row copies.
  case windowCopies
  /// Linears outside attention: the MLP, Swin's merge reduction, the head.
  case linear
  /// GELU.
  case gelu
  /// Swin's 2×2 patch-merge gather and scatter.
  case merge
  /// Residual adds and drop path.
  case residual
  /// Mean pooling and the loss.
  case headLoss
  /// The optimizer update.
  case optimizer
  /// Zero-filling of the gradient buffer.
  case zeroGrads

  /// The label the benchmark prints.
  public var label: String {
    switch self {
    case .convolution: return "conv (embed)"
    case .layerNorm: return "layernorm"
    case .attentionLinears: return "attn qkv/proj"
    case .attentionCore: return "attn core"
    case .windowCopies: return "partition copies"
    case .linear: return "MLP/head linears"
    case .gelu: return "GELU"
    case .merge: return "patch merge"
    case .residual: return "residual/droppath"
    case .headLoss: return "pool/loss"
    case .optimizer: return "optimizer"
    case .zeroGrads: return "zero grads"
    }
  }
}

/// Which part of a step is running (set by the benchmark around each part).
public enum ProfilePass: Int, CaseIterable, Sendable {
  case forward, backward, update
}

/// Process-wide accumulator of seconds per (pass, kind). Used from one thread at a time (the
/// benchmark's); workers inside a `split` report through their `ProfileSplit`.
public enum Profile {
  /// Whether scopes record. Off by default; only the benchmark turns it on.
  nonisolated(unsafe) public static var isEnabled = false
  /// The pass that scopes are charged to now.
  nonisolated(unsafe) public static var pass = ProfilePass.forward
  /// Seconds `[P, K]`.
  nonisolated(unsafe) private static var totals =
    [Double](repeating: 0, count: ProfilePass.allCases.count * ProfileKind.allCases.count)
  /// Whether a scope is open (nested scopes and scopes on worker threads do not record).
  nonisolated(unsafe) private static var open = false
  /// Seconds of the open scope already charged by its splits.
  nonisolated(unsafe) private static var splitSeconds = 0.0

  /// Monotonic seconds (workers' laps; only their proportions are used).
  @inline(__always)
  public static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

  /// The clock of scopes and splits: monotonic seconds by default; the benchmark may set
  /// process CPU time divided by the threads (the unloaded elapsed time on a shared machine).
  nonisolated(unsafe) public static var clock: () -> Double = now

  /// Opens a scope charged to `kind` in the current pass; close it with `end` (usually
  /// `defer { Profile.end(scope) }`). Records only when profiling is on, no other scope is open
  /// and the caller is outside parallel regions (otherwise the outer scope is charged).
  @inline(__always)
  public static func begin(_ kind: ProfileKind) -> ProfileScope {
    if !isEnabled || open || ThreadBudget.inParallelRegion { return ProfileScope(kind, nil) }
    open = true
    splitSeconds = 0
    return ProfileScope(kind, clock())
  }

  /// Closes `scope`: charges its elapsed time, less what its splits charged.
  @inline(__always)
  public static func end(_ scope: ProfileScope) {
    guard let start = scope.start else { return }
    charge(scope.kind, clock() - start - splitSeconds)
    open = false
  }

  /// Inside an open scope: runs `body` with a `ProfileSplit` whose kinds share out the
  /// section's elapsed time in proportion to the seconds reported to it. Otherwise (profiling
  /// off, or no scope open) `body(nil)`.
  public static func split(_ body: (ProfileSplit?) -> Void) {
    if !isEnabled || !open || ThreadBudget.inParallelRegion {
      body(nil)
      return
    }
    let parts = ProfileSplit()
    let start = clock()
    body(parts)
    let elapsed = clock() - start
    let sums = parts.seconds
    let total = sums.reduce(0, +)
    guard total > 0 else { return }
    for k in ProfileKind.allCases { charge(k, elapsed * sums[k.rawValue] / total) }
    splitSeconds += elapsed
  }

  private static func charge(_ kind: ProfileKind, _ seconds: Double) {
    totals[pass.rawValue * ProfileKind.allCases.count + kind.rawValue] += seconds
  }

  /// Seconds charged to `kind` in `pass` since the last `reset`.
  public static func seconds(_ kind: ProfileKind, _ pass: ProfilePass) -> Double {
    totals[pass.rawValue * ProfileKind.allCases.count + kind.rawValue]
  }

  /// Sets every total to zero.
  public static func reset() {
    for i in totals.indices { totals[i] = 0 }
  }
}

/// An open scope: its kind and start time (nil when it does not record).
public struct ProfileScope {
  let kind: ProfileKind
  let start: Double?

  @inline(__always)
  init(_ kind: ProfileKind, _ start: Double?) {
    self.kind = kind
    self.start = start
  }
}

/// Seconds per kind reported by the workers of one split section (thread-safe).
public final class ProfileSplit: @unchecked Sendable {
  private let lock = NSLock()
  /// `[K]`.
  private var sums = [Double](repeating: 0, count: ProfileKind.allCases.count)

  init() {}

  /// Adds `seconds` to `kind`.
  public func add(_ kind: ProfileKind, _ seconds: Double) {
    lock.lock()
    sums[kind.rawValue] += seconds
    lock.unlock()
  }

  var seconds: [Double] {
    lock.lock()
    defer { lock.unlock() }
    return sums
  }
}

/// A worker's stopwatch inside a split: `lap(kind)` charges the time since the previous lap
/// (or since `init`) to `kind`. Does nothing when the split is nil (profiling off).
public struct ProfileLap {
  private let split: ProfileSplit?
  private var last: Double

  @inline(__always)
  public init(_ split: ProfileSplit?) {
    self.split = split
    self.last = split == nil ? 0 : Profile.now()
  }

  @inline(__always)
  public mutating func lap(_ kind: ProfileKind) {
    guard let split else { return }
    let t = Profile.now()
    split.add(kind, t - last)
    last = t
  }
}
