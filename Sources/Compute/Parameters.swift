/// A named trainable tensor: its value, its gradient, and how the optimizer treats it.
///
/// Before `ParameterStore.finalize()` the value and gradient own their memory; after it they
/// are views into the store's contiguous buffers. Layers hold `Parameter`s (never the tensors
/// directly), so the rebinding is invisible to them.
public final class Parameter: @unchecked Sendable {
  /// The checkpoint key, PyTorch style (`features.1.0.attn.qkv.weight`).
  public let name: String
  /// Value, in PyTorch layout.
  public internal(set) var value: Tensor
  /// Gradient of the loss with respect to `value`; backward passes add into it.
  public internal(set) var grad: Tensor
  /// Whether AdamW applies weight decay (false for norms, biases and bias tables).
  public var decay: Bool
  /// Learning-rate multiplier (e.g. 0.1 for inflated backbone weights).
  public var lrScale: Float
  /// Offset of this parameter in the store's buffers (valid after `finalize`).
  public internal(set) var offset: Int = 0

  public init(name: String, value: Tensor, decay: Bool) {
    self.name = name
    self.value = value
    self.grad = Tensor(zeros: value.shape)
    self.decay = decay
    self.lrScale = 1
  }

  public var shape: [Int] { value.shape }
  public var count: Int { value.count }
}

/// All parameters of a model in one contiguous value buffer and one gradient buffer, with
/// named views; zeroing every gradient is one call.
///
/// Usage: layers `register` their parameters while the model is built; the model then calls
/// `finalize()` once, which packs values and gradients into two allocations.
public final class ParameterStore: @unchecked Sendable {
  public private(set) var parameters: [Parameter] = []
  private var index: [String: Parameter] = [:]
  /// Every value, concatenated in registration order: [P] with P = total parameter count.
  public private(set) var values = Tensor(zeros: [0])
  /// Every gradient, same layout as `values`: [P].
  public private(set) var grads = Tensor(zeros: [0])
  public private(set) var isFinalized = false

  public init() {}

  /// Adds a parameter. Precondition: the name is new and the store is not finalized.
  @discardableResult
  public func register(_ name: String, _ value: Tensor, decay: Bool) -> Parameter {
    precondition(!isFinalized, "register after finalize: \(name)")
    precondition(index[name] == nil, "parameter registered twice: \(name)")
    let p = Parameter(name: name, value: value, decay: decay)
    parameters.append(p)
    index[name] = p
    return p
  }

  /// The parameter with this checkpoint key, if any.
  public subscript(name: String) -> Parameter? { index[name] }

  /// Total number of Float32 values.
  public var count: Int { parameters.reduce(0) { $0 + $1.count } }

  /// Packs every value and gradient into contiguous buffers and rebinds the parameters to views.
  public func finalize() {
    precondition(!isFinalized, "finalize called twice")
    let total = count
    values = Tensor(zeros: [total])
    grads = Tensor(zeros: [total])
    var offset = 0
    for p in parameters {
      let v = Tensor(viewOf: values, offset: offset, shape: p.shape)
      v.copy(from: p.value)
      p.value = v
      p.grad = Tensor(viewOf: grads, offset: offset, shape: p.shape)
      p.offset = offset
      offset += p.count
    }
    isFinalized = true
  }

  /// Sets every gradient to zero.
  public func zeroGrads() {
    let profiled = Profile.begin(.zeroGrads)
    defer { Profile.end(profiled) }
    if isFinalized {
      // One contiguous buffer (112 MB for swin3d_t): zero-filled in parallel chunks, as one
      // core's stores do not saturate the memory bus.
      let g = grads.pointer
      parallelChunks(grads.count, grain: 1 << 20) { range in
        (g + range.lowerBound).update(repeating: 0, count: range.count)
      }
    } else {
      parameters.forEach { $0.grad.zero() }
    }
  }
}
