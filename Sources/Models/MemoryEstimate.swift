// An up-front estimate of what inference (and a training step) will allocate, so a command can
// refuse an input that cannot fit (a huge --size or clip length, or a checkpoint's recorded size)
// with a clear error instead of aborting in the allocator.
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
  /// Bytes one process needs.
  public var needed: Int
  /// Physical memory of the machine, in bytes.
  public var available: Int
  /// Processes on this machine that each need `needed` (the ranks `mpirun` started on it; 1
  /// otherwise).
  public var processes: Int = 1

  public var description: String {
    let has = "this machine has \(MemoryBudget.gigabytes(available))"
    guard processes > 1 else {
      return "\(what) needs about \(MemoryBudget.gigabytes(needed)) of memory; \(has)"
    }
    let total = MemoryBudget.gigabytes(saturatingProduct(needed, processes))
    return
      "\(what) needs about \(MemoryBudget.gigabytes(needed)) of memory in each of the \(processes) processes sharing this machine, \(total) in all; \(has)"
  }
}

public enum MemoryBudget {
  /// Physical memory of this machine, in bytes.
  public static var physicalBytes: Int { Int(clamping: ProcessInfo.processInfo.physicalMemory) }

  /// Throws `MemoryBudgetError` when `processes · bytes` exceed `available`: `bytes` is what one
  /// process needs, `processes` how many such processes share this machine's memory (the ranks
  /// `mpirun` started on it). `what` says what needs it (for example "classify at 32×224²
  /// frames, batch 8").
  /// - Precondition: `processes ≥ 1`.
  public static func check(
    _ bytes: Int, what: String, processes: Int = 1, available: Int = physicalBytes
  ) throws {
    precondition(processes >= 1, "MemoryBudget.check: processes must be at least 1")
    guard saturatingProduct(bytes, processes) <= available else {
      throw MemoryBudgetError(
        what: what, needed: bytes, available: available, processes: processes)
    }
  }

  static func gigabytes(_ bytes: Int) -> String {
    bytes == Int.max ? "more than any machine has" : String(format: "%.1f GB", Double(bytes) / 1e9)
  }
}

extension ModelConfig {
  /// `N₀`, the tokens after the embedding of an input of sizes `sizes` (`[H, W]` or
  /// `[T, H, W]`, each ≥ 1): `∏ ⌈(size + 2p) / s⌉`, saturating at `Int.max`.
  public func embeddedTokens(input sizes: [Int]) -> Int {
    var tokens = 1
    for (d, s) in sizes.enumerated() where d < embedStride.count {
      tokens = saturatingProduct(
        tokens, (s + 2 * embedPadding[d] + embedStride[d] - 1) / embedStride[d])
    }
    return tokens
  }

  /// Estimated bytes of one inference forward of `batch` inputs of sizes `sizes` (`[H, W]` or
  /// `[T, H, W]`), saturating at `Int.max` (see the formula above). Sizes must be ≥ 1.
  public func inferenceBytes(batch: Int, input sizes: [Int]) -> Int {
    inferenceBytes(batch: batch, input: sizes, parameters: parameterCount)
  }

  /// `inferenceBytes(batch:input:)` with the model's `parameterCount` given (it builds the
  /// layer graph: `trainingBytes` counts once for both estimates).
  private func inferenceBytes(batch: Int, input sizes: [Int], parameters count: Int) -> Int {
    let pixels = sizes.reduce(1, saturatingProduct)
    let input = [batch, 3, pixels].reduce(1, saturatingProduct)
    let activations = [batch, embeddedTokens(input: sizes), embedDim, 24].reduce(
      1, saturatingProduct)
    let parameters = saturatingProduct(count, 2)
    return saturatingProduct(saturatingSum(saturatingSum(input, activations), parameters), 4)
  }

  /// Estimated bytes of one training step (the forward kept for backward) of `batch` inputs of
  /// sizes `sizes`, saturating at `Int.max`: every block keeps about 14 values per token and
  /// channel (x, two LayerNorms, qkv, the attention output, the MLP hidden before and after
  /// GELU), stage i holding `N₀/4^i` tokens of `2^i·C₀` channels; plus the inference estimate
  /// and AdamW's two moments. With `recompute` (activation recompute per block) every block
  /// keeps only its input (1 value per token and channel) and one block's 14 live at a time
  /// (the largest, of stage 0). A floor rather than a bound: it refuses only what cannot fit.
  public func trainingBytes(batch: Int, input sizes: [Int], recompute: Bool = false) -> Int {
    // Σ_i depth_i · v / 2^i values per stage-0 token and per C₀ (v = 14 kept per block, or 1
    // with recompute, plus 14 for the one block replayed), times 16 to stay integral.
    let perBlock = recompute ? 1 : 14
    let perToken16 =
      depths.enumerated().reduce(recompute ? 14 * 16 : 0) {
        $0 + ($1.element * perBlock * 16) >> $1.offset
      }
    let kept =
      [batch, embeddedTokens(input: sizes), embedDim, perToken16].reduce(1, saturatingProduct) / 16
    let count = parameterCount
    let moments = saturatingProduct(count, 2)
    return saturatingSum(
      inferenceBytes(batch: batch, input: sizes, parameters: count),
      saturatingProduct(saturatingSum(kept, moments), 4))
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
