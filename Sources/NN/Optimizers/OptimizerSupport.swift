// What the optimizers share: the parameter segments of a finalized store, state errors, and a
// parallel walk over the flat value/gradient/state buffers.
//
// Legend: P total parameter count (all values of a `ParameterStore`, concatenated).

import Compute

/// An optimizer state that cannot be loaded: the message names the tensor and both shapes.
public struct OptimizerStateError: Error, CustomStringConvertible, Equatable {
  public let description: String
  public init(_ description: String) { self.description = description }
}

/// One parameter's slice of the flat buffers and how the optimizer treats it.
struct ParameterSegment {
  let range: Range<Int>
  let decay: Bool
  let lrScale: Float
}

extension ParameterStore {
  /// The segments in buffer order. Precondition: the store is finalized.
  func optimizerSegments() -> [ParameterSegment] {
    precondition(isFinalized, "optimizers need a finalized ParameterStore")
    return parameters.map {
      ParameterSegment(
        range: $0.offset..<($0.offset + $0.count), decay: $0.decay, lrScale: $0.lrScale)
    }.sorted { $0.range.lowerBound < $1.range.lowerBound }
  }
}

/// Calls `body(segment, subrange)` for every piece of every segment, split over the thread
/// budget in contiguous ranges of the flat buffers.
func forEachSegmentChunk(
  _ segments: [ParameterSegment], total: Int, _ body: (ParameterSegment, Range<Int>) -> Void
) {
  parallelChunks(total, grain: 65536) { chunk in
    for s in segments {
      let lo = Swift.max(s.range.lowerBound, chunk.lowerBound)
      let hi = Swift.min(s.range.upperBound, chunk.upperBound)
      if lo < hi { body(s, lo..<hi) }
    }
  }
}

/// The saved state tensor `key`, checked to have `shape`; throws naming the key otherwise.
func stateTensor(_ tensors: [String: Tensor], _ key: String, shape: [Int]) throws -> Tensor {
  guard let t = tensors[key] else {
    throw OptimizerStateError("optimizer state: missing tensor '\(key)'")
  }
  guard t.shape == shape else {
    throw OptimizerStateError(
      "optimizer state: tensor '\(key)' has shape \(t.shape), expected \(shape)")
  }
  return t
}

/// Reads the scalar step count saved as tensor `step` `[1]`.
func loadStep(_ tensors: [String: Tensor]) throws -> Int {
  guard let t = tensors["step"] else {
    throw OptimizerStateError("optimizer state: missing tensor 'step'")
  }
  guard t.count == 1, t[flat: 0] >= 0, t[flat: 0] == t[flat: 0].rounded() else {
    throw OptimizerStateError(
      "optimizer state: tensor 'step' must be one non-negative integer, got \(t.shape)")
  }
  return Int(t[flat: 0])
}
