// An up-front estimate of what inference will allocate, so a command can refuse an input that
// cannot fit (a huge --size or clip length, or a checkpoint's recorded size) with a clear error
// instead of aborting in the allocator.
//
// Legend: B batch, T H W input sizes, s embedding stride, p padding, C₀ = embed_dim,
// N₀ = ∏ ⌈(size + 2p) / s⌉ tokens after the embedding, P parameters.
//
//   bytes ≈ 4 · ( B·3·T·H·W            input chunk
//               + 24 · B·N₀·C₀          activations of stage 0 (later stages hold N₀/4 tokens of 2C₀)
//               + 2·P )                 parameters and the (lazily zeroed) gradient store
//
// The factor 24 covers the in-place block path (x, LN(x), qkv 3C, attention output, MLP 4C) with
// room to spare; stage 0 dominates because each merge quarters the tokens and doubles channels.

import Foundation

/// An input too large for this machine: what it needs and what there is.
public struct MemoryBudgetError: Error, CustomStringConvertible, Equatable, Sendable {
  public var what: String
  public var needed: Int
  public var available: Int
  public var description: String {
    "\(what) needs about \(MemoryBudget.gigabytes(needed)) of memory; this machine has \(MemoryBudget.gigabytes(available))"
  }
}

public enum MemoryBudget {
  /// Physical memory of this machine, in bytes.
  public static var physicalBytes: Int { Int(clamping: ProcessInfo.processInfo.physicalMemory) }

  /// Throws `MemoryBudgetError` when `bytes` exceed physical memory. `what` says what needs it
  /// (for example "classify at 32×224² frames, batch 8").
  public static func check(_ bytes: Int, what: String, available: Int = physicalBytes) throws {
    guard bytes <= available else { throw MemoryBudgetError(what: what, needed: bytes, available: available) }
  }

  static func gigabytes(_ bytes: Int) -> String {
    bytes == Int.max ? "more than any machine has" : String(format: "%.1f GB", Double(bytes) / 1e9)
  }
}

extension ModelConfig {
  /// Estimated bytes of one inference forward of `batch` inputs of sizes `sizes` (`[H, W]` or
  /// `[T, H, W]`), saturating at `Int.max` (see the formula above). Sizes must be ≥ 1.
  public func inferenceBytes(batch: Int, input sizes: [Int]) -> Int {
    var pixels = 1
    var tokens = 1
    for (d, s) in sizes.enumerated() where d < embedStride.count {
      pixels = saturatingProduct(pixels, s)
      tokens = saturatingProduct(tokens, (s + 2 * embedPadding[d] + embedStride[d] - 1) / embedStride[d])
    }
    let input = saturatingProduct(saturatingProduct(batch, 3), pixels)
    let activations = saturatingProduct(saturatingProduct(saturatingProduct(batch, tokens), embedDim), 24)
    let parameters = saturatingProduct(parameterCount, 2)
    return saturatingProduct(saturatingSum(saturatingSum(input, activations), parameters), 4)
  }
}

/// `a · b`, or `Int.max` when it overflows (a, b ≥ 0).
public func saturatingProduct(_ a: Int, _ b: Int) -> Int {
  let (p, o) = a.multipliedReportingOverflow(by: b)
  return o ? Int.max : p
}

/// `a + b`, or `Int.max` when it overflows (a, b ≥ 0).
public func saturatingSum(_ a: Int, _ b: Int) -> Int {
  let (p, o) = a.addingReportingOverflow(b)
  return o ? Int.max : p
}
