// The layer contract every layer of the model follows, the buffer pool layers take their
// reused buffers from, a sequence of layers, and an optional per-layer timer.
//
// Legend: x input, y output, dy output gradient, dx input gradient (each shaped as documented
//         by the layer; activations channels last `[B, (T,) H, W, C]`).
//
//   training forward:  y = f(x; θ), keeping what backward needs (references, statistics)
//   backward:          dx = (∂f/∂x)ᵀ dy,  θ.grad += (∂f/∂θ)ᵀ dy
//   inference:         y = f(x; θ), keeping nothing; a layer may update x in place and return it

import Compute
import Dispatch
import Foundation

/// A layer with a forward pass (training or inference), a backward pass, the parameters it
/// registered and the buffers it reuses between calls.
///
/// Contract (see `Sources/NN/README.md`):
/// - `forward(_:training:)` returns a tensor the layer owns (one of its bound buffers, or for
///   identity layers `x` itself), valid until the layer's next `forward`; `x` is not modified.
///   With `training: true` it keeps what `backward` needs.
/// - `backward(_:)` returns `dx` (a bound buffer, or `dy` itself for identity layers) and adds
///   into the gradients of `parameters`. Precondition: the last `forward` ran with
///   `training: true`.
/// - `infer(_:)` is inference; it may overwrite `x` and return it (the default calls
///   `forward(x, training: false)`).
/// - `bind(_:)` takes every reused buffer from `buffers` (by a fixed name under the scope).
///   A layer starts with private buffers; binding two layers to the same scope makes them share
///   buffers, which is only valid if no one needs the first's outputs once the second runs.
///   Bind between steps, never between a forward and its backward.
public protocol Layer: AnyObject {
  /// `x → y`; keeps what `backward` needs when `training`.
  func forward(_ x: Tensor, training: Bool) -> Tensor
  /// `dy → dx`; adds into the parameter gradients.
  func backward(_ dy: Tensor) -> Tensor
  /// Inference `x → y` (may update `x` in place and return it).
  func infer(_ x: Tensor) -> Tensor
  /// The parameters this layer (and the layers it composes) registered, in registration order.
  var parameters: [Parameter] { get }
  /// Takes every buffer the layer reuses from `buffers`.
  func bind(_ buffers: Buffers)
  /// The name the timer accumulates this layer's time under, or nil for a composite whose
  /// children are timed instead.
  var timingKind: String? { get }
}

/// A layer that can skip its input gradient (`backward` then returns an empty tensor), e.g.
/// the first layer of a network, whose input is pixels.
public protocol InputGradientOptional: Layer {
  var needsInputGradient: Bool { get set }
}

extension Layer {
  public func infer(_ x: Tensor) -> Tensor { forward(x, training: false) }

  /// `forward`, timed when a `LayerTimer` is active. Composites call their children this way.
  @inline(__always)
  public func run(_ x: Tensor, training: Bool) -> Tensor {
    guard let timer = LayerTimer.active, let kind = timingKind else {
      return forward(x, training: training)
    }
    return timer.measure(kind, training ? .forward : .inference) { forward(x, training: training) }
  }

  /// `infer`, timed when a `LayerTimer` is active.
  @inline(__always)
  public func runInference(_ x: Tensor) -> Tensor {
    guard let timer = LayerTimer.active, let kind = timingKind else { return infer(x) }
    return timer.measure(kind, .inference) { infer(x) }
  }

  /// `backward`, timed when a `LayerTimer` is active.
  @inline(__always)
  public func runBackward(_ dy: Tensor) -> Tensor {
    guard let timer = LayerTimer.active, let kind = timingKind else { return backward(dy) }
    return timer.measure(kind, .backward) { backward(dy) }
  }
}

// MARK: - Buffer pool

/// Named activation buffers, owned by a model (or a test) and handed to layers by `Buffers`.
///
/// A buffer is an empty `Tensor` until a layer reshapes it; a buffer shared by several layers
/// grows to its largest user. Buffers no layer references any more are freed by `removeAll()`.
public final class BufferPool {
  private var tensors: [String: Tensor] = [:]

  public init() {}

  /// The buffer under `key` (created empty on first use).
  public func tensor(_ key: String) -> Tensor {
    if let t = tensors[key] { return t }
    let t = Tensor(zeros: [0])
    tensors[key] = t
    return t
  }

  /// Forgets every buffer (layers still bound to one keep it alive until they rebind).
  public func removeAll() { tensors.removeAll() }

  /// Floats held by the pool's buffers (their capacities).
  public var floats: Int { tensors.values.reduce(0) { $0 + ($1.count == 0 ? 0 : $1.capacity) } }
}

/// A scope in a `BufferPool`: buffer names are prefixed with the scope's path.
public struct Buffers {
  public let pool: BufferPool
  public let path: String

  public init(pool: BufferPool, path: String = "") {
    self.pool = pool
    self.path = path
  }

  /// A scope in a fresh pool of its own: buffers nobody else sees.
  public static func own() -> Buffers { Buffers(pool: BufferPool()) }

  /// The buffer `name` in this scope.
  public subscript(_ name: String) -> Tensor {
    pool.tensor(path.isEmpty ? name : path + "/" + name)
  }

  /// The scope `name` inside this one.
  public func scope(_ name: String) -> Buffers {
    Buffers(pool: pool, path: path.isEmpty ? name : path + "/" + name)
  }
}

// MARK: - Sequence

/// Layers applied in order: `y = fₙ(…f₂(f₁(x)))`; backward runs them in reverse.
public final class Sequential: Layer {
  public let layers: [any Layer]

  public init(_ layers: [any Layer]) {
    precondition(!layers.isEmpty, "Sequential needs at least one layer")
    self.layers = layers
  }

  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    var y = x
    for layer in layers { y = layer.run(y, training: training) }
    return y
  }

  public func backward(_ dy: Tensor) -> Tensor {
    var d = dy
    for layer in layers.reversed() { d = layer.runBackward(d) }
    return d
  }

  public func infer(_ x: Tensor) -> Tensor {
    var y = x
    for layer in layers { y = layer.runInference(y) }
    return y
  }

  public var parameters: [Parameter] { layers.flatMap(\.parameters) }

  /// Binds child `i` to the scope `"i"`.
  public func bind(_ buffers: Buffers) {
    for (i, layer) in layers.enumerated() { layer.bind(buffers.scope(String(i))) }
  }

  public var timingKind: String? { nil }
}

// MARK: - Timing

/// Seconds spent per layer kind and phase, accumulated while the timer is active
/// (`LayerTimer.$active.withValue(timer) { … }`). Composite layers are not timed themselves;
/// their children are, so the kinds add up to (nearly) the whole step.
public final class LayerTimer: @unchecked Sendable {
  public enum Phase: String, Sendable, CaseIterable {
    case forward, backward, inference
  }

  /// The timer `Layer.run`/`runBackward`/`runInference` report to (nil: no timing).
  @TaskLocal public static var active: LayerTimer?

  private let lock = NSLock()
  private var totals: [String: Double] = [:]
  private var depth = 0

  public init() {}

  /// Seconds under `"kind phase"` keys, e.g. `"Linear backward"`.
  public var seconds: [String: Double] {
    lock.lock()
    defer { lock.unlock() }
    return totals
  }

  /// Forgets every total.
  public func reset() {
    lock.lock()
    totals.removeAll()
    lock.unlock()
  }

  /// Runs `body`, adding its wall time to `kind`/`phase` (nested measurements count only in
  /// the outermost one, so time is never counted twice).
  @inline(__always)
  public func measure<R>(_ kind: String, _ phase: Phase, _ body: () -> R) -> R {
    depth += 1
    let start = DispatchTime.now().uptimeNanoseconds
    let result = body()
    depth -= 1
    if depth == 0 {
      let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
      lock.lock()
      totals[kind + " " + phase.rawValue, default: 0] += elapsed
      lock.unlock()
    }
    return result
  }
}
