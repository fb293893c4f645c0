// Tensor: Float32 values in one contiguous row-major buffer.
//
// Dimension letters used across the numeric targets:
//   B batch, N tokens, C channels, T time (frames), H height, W width, K classes or kernel,
//   O output channels, I input channels, M/N/K GEMM sizes (C[M,N] = A[M,K]·B[K,N]).
// Activations are channels-last: [B, T, H, W, C] (3D) or [B, H, W, C] (2D).
// Parameters use PyTorch layouts: Linear [O, I], Conv2d [O, I, kh, kw], Conv3d [O, I, kt, kh, kw].

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A Float32 tensor with a shape and contiguous row-major storage.
///
/// `Tensor` is a reference type so that layers can keep and reuse their buffers between steps
/// (no allocation in a steady-state training step) and parameters can be views into one
/// contiguous allocation (`ParameterStore`). A tensor either owns its memory or is a view into
/// another tensor's memory, which it keeps alive.
public final class Tensor: @unchecked Sendable {
  /// The extent of each dimension, outermost first.
  public private(set) var shape: [Int]
  /// Number of elements, the product of `shape`.
  public private(set) var count: Int
  /// First element. Valid for `capacity` elements.
  public private(set) var pointer: UnsafeMutablePointer<Float>
  /// Elements the storage can hold; `reshape(to:)` may grow into it without reallocating.
  public private(set) var capacity: Int
  /// The tensor whose memory this view points into (nil when this tensor owns its memory).
  private var base: Tensor?
  private var owns: Bool
  /// Bytes of an anonymous mapping holding the storage (0: a heap allocation).
  private var mappedBytes = 0

  /// Zero-filled storage of at least this many bytes is an anonymous `mmap`: the kernel
  /// supplies zero pages on first touch, so memory that is never written — a model's gradient
  /// buffer during inference — is never resident.
  public static let lazyZeroBytes = 1 << 20

  /// A zero-filled tensor of the given shape.
  public init(zeros shape: [Int]) {
    precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
    self.shape = shape
    self.count = shape.reduce(1, *)
    self.capacity = Swift.max(count, 1)
    self.owns = true
    self.base = nil
    let bytes = capacity * MemoryLayout<Float>.stride
    if bytes >= Tensor.lazyZeroBytes, let mapped = Tensor.mapZeros(bytes) {
      self.pointer = mapped
      self.mappedBytes = bytes
    } else {
      self.pointer = Tensor.allocate(capacity)
      self.pointer.initialize(repeating: 0, count: capacity)
    }
  }

  /// Whether the storage is an anonymous mapping (zero pages until written).
  var isLazilyZeroed: Bool { mappedBytes > 0 }

  /// `bytes` of zero pages, page-aligned, or nil when the mapping fails.
  private static func mapZeros(_ bytes: Int) -> UnsafeMutablePointer<Float>? {
    let raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    guard let raw, raw != MAP_FAILED else { return nil }
    return raw.bindMemory(to: Float.self, capacity: bytes / MemoryLayout<Float>.stride)
  }

  /// Frees owned storage, mapped or allocated.
  private func release() {
    if mappedBytes > 0 {
      munmap(UnsafeMutableRawPointer(pointer), mappedBytes)
      mappedBytes = 0
    } else {
      pointer.deallocate()
    }
  }

  /// A tensor holding a copy of `values`. Precondition: `values.count` is the product of `shape`.
  public convenience init(shape: [Int], values: [Float]) {
    self.init(zeros: shape)
    precondition(values.count == count, "\(values.count) values for shape \(shape)")
    values.withUnsafeBufferPointer { src in
      if let b = src.baseAddress { pointer.update(from: b, count: count) }
    }
  }

  /// A tensor filled with `value`.
  public convenience init(shape: [Int], repeating value: Float) {
    self.init(zeros: shape)
    pointer.update(repeating: value, count: count)
  }

  /// A view of `count(shape)` elements of `base`'s memory starting at `offset`.
  /// Precondition: the view lies inside `base`'s storage.
  public init(viewOf base: Tensor, offset: Int, shape: [Int]) {
    let n = shape.reduce(1, *)
    precondition(offset >= 0 && offset + n <= base.capacity, "view out of range")
    self.shape = shape
    self.count = n
    self.capacity = n
    self.pointer = base.pointer + offset
    self.base = base
    self.owns = false
  }

  deinit {
    if owns { release() }
  }

  private static func allocate(_ n: Int) -> UnsafeMutablePointer<Float> {
    let raw = UnsafeMutableRawPointer.allocate(
      byteCount: n * MemoryLayout<Float>.stride, alignment: 64)
    return raw.bindMemory(to: Float.self, capacity: n)
  }

  /// Number of dimensions.
  public var rank: Int { shape.count }

  /// The buffer as a Swift buffer pointer of `count` elements.
  public var buffer: UnsafeMutableBufferPointer<Float> {
    UnsafeMutableBufferPointer(start: pointer, count: count)
  }

  /// A copy of the values as an array.
  public var array: [Float] { Array(buffer) }

  /// Gives the tensor a new shape, reusing the storage when it is large enough and allocating
  /// (contents undefined) otherwise. Views cannot grow past their storage.
  ///
  /// This is how layers keep their output buffers between steps: `out.reshape(to: s)` costs
  /// nothing once the first step has sized every buffer.
  public func reshape(to newShape: [Int]) {
    let n = newShape.reduce(1, *)
    if n > capacity {
      precondition(owns, "a view cannot grow: \(shape) → \(newShape)")
      release()
      pointer = Tensor.allocate(n)
      capacity = n
    }
    shape = newShape
    count = n
  }

  /// Sets every element to zero.
  public func zero() { pointer.update(repeating: 0, count: count) }

  /// Sets every element to `value`.
  public func fill(_ value: Float) { pointer.update(repeating: value, count: count) }

  /// Copies `other`'s values into this tensor. Precondition: equal counts.
  public func copy(from other: Tensor) {
    precondition(other.count == count, "copy of \(other.shape) into \(shape)")
    pointer.update(from: other.pointer, count: count)
  }

  /// A new tensor that owns a copy of this one's values.
  public func clone() -> Tensor {
    let t = Tensor(zeros: shape)
    t.copy(from: self)
    return t
  }

  /// Element access by flat index (for tests and small code paths; not for hot loops).
  public subscript(flat i: Int) -> Float {
    get { pointer[i] }
    set { pointer[i] = newValue }
  }

  /// Row-major strides of `shape`, in elements.
  public var strides: [Int] {
    var s = [Int](repeating: 1, count: shape.count)
    var acc = 1
    for d in stride(from: shape.count - 1, through: 0, by: -1) {
      s[d] = acc
      acc *= shape[d]
    }
    return s
  }
}

extension Tensor: CustomStringConvertible {
  public var description: String {
    let head = buffer.prefix(6).map { String(format: "%.4g", $0) }.joined(separator: ", ")
    return "Tensor\(shape)[\(head)\(count > 6 ? ", …" : "")]"
  }
}

import Foundation
