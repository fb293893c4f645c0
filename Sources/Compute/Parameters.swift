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
  /// PyTorch-layout shape (a parameter of a shape-only store has this shape and no values).
  public let shape: [Int]

  public init(name: String, value: Tensor, decay: Bool) {
    self.name = name
    self.value = value
    self.grad = Tensor(zeros: value.shape)
    self.decay = decay
    self.lrScale = 1
    self.shape = value.shape
  }

  /// A parameter of a shape-only store: a name and a shape, with empty value and gradient.
  init(name: String, shape: [Int], decay: Bool) {
    self.name = name
    self.value = Tensor(zeros: [0])
    self.grad = Tensor(zeros: [0])
    self.decay = decay
    self.lrScale = 1
    self.shape = shape
  }

  /// Elements of the shape.
  public var count: Int { shape.reduce(1, *) }
}

/// All parameters of a model in one contiguous value buffer and one gradient buffer, with
/// named views; zeroing every gradient is one call.
///
/// Usage: layers `register` their parameters while the model is built; the model then calls
/// `finalize()` once, which packs values and gradients into two allocations.
///
/// A shape-only store (`ParameterStore(shapesOnly: true)`) records each parameter's name and
/// shape and allocates nothing: building a model's layers into one lists the model's
/// parameters (`ModelConfig.parameterSpecs`) at no memory cost, whatever its size. Layers fill
/// their parameters only when `holdsValues`.
public final class ParameterStore: @unchecked Sendable {
  public private(set) var parameters: [Parameter] = []
  private var index: [String: Parameter] = [:]
  /// Every value, concatenated in registration order: [P] with P = total parameter count.
  public private(set) var values = Tensor(zeros: [0])
  /// Every gradient, same layout as `values`: [P].
  public private(set) var grads = Tensor(zeros: [0])
  public private(set) var isFinalized = false
  /// False for a shape-only store: its parameters have shapes but no values.
  public let holdsValues: Bool

  /// A store for a model's values, or (`shapesOnly`) for its parameter list only.
  public init(shapesOnly: Bool = false) { holdsValues = !shapesOnly }

  /// Adds a parameter holding `value`. Preconditions: the name is new, the store holds values
  /// and is not finalized.
  @discardableResult
  public func register(_ name: String, _ value: Tensor, decay: Bool) -> Parameter {
    precondition(holdsValues, "a shape-only store takes shapes, not values: \(name)")
    return add(Parameter(name: name, value: value, decay: decay))
  }

  /// Adds a parameter of `shape`, zero-filled (the caller fills it when `holdsValues`), or only
  /// its name and shape in a shape-only store. Precondition: the name is new and the store is
  /// not finalized.
  @discardableResult
  public func register(_ name: String, shape: [Int], decay: Bool) -> Parameter {
    if holdsValues { return register(name, Tensor(zeros: shape), decay: decay) }
    return add(Parameter(name: name, shape: shape, decay: decay))
  }

  private func add(_ p: Parameter) -> Parameter {
    precondition(!isFinalized, "register after finalize: \(p.name)")
    precondition(index[p.name] == nil, "parameter registered twice: \(p.name)")
    parameters.append(p)
    index[p.name] = p
    return p
  }

  /// The parameter with this checkpoint key, if any.
  public subscript(name: String) -> Parameter? { index[name] }

  /// Total number of Float32 values.
  public var count: Int { parameters.reduce(0) { $0 + $1.count } }

  /// Packs every value and gradient into contiguous buffers and rebinds the parameters to views.
  public func finalize() {
    precondition(!isFinalized, "finalize called twice")
    precondition(holdsValues, "a shape-only store has no values to pack")
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
