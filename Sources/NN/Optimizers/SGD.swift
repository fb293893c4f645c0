// SGD with momentum, as PyTorch's `torch.optim.SGD(momentum=μ, weight_decay=λ)` (dampening 0,
// no Nesterov).
//
// Legend: P total parameter count. Buffers: values θ, grads g, momentum buffer u — all [P].
//
//   g' = g + λ θ (only parameters with `decay`);  u ← μ u + g' (u = g' on the first step);
//   θ ← θ − lr · lrScale · u

import Compute

/// SGD with momentum over every parameter of a finalized `ParameterStore`.
public final class SGD {
  public var momentum: Float
  /// λ: L2 weight decay added to the gradient of parameters whose `decay` is true.
  public var weightDecay: Float
  /// Momentum buffer `[P]`.
  public let buffer: Tensor
  /// Steps taken so far.
  public private(set) var step = 0
  private let store: ParameterStore

  /// Precondition: `store` is finalized.
  public init(store: ParameterStore, momentum: Float = 0.9, weightDecay: Float = 0) {
    precondition(store.isFinalized, "optimizers need a finalized ParameterStore")
    self.store = store
    self.momentum = momentum
    self.weightDecay = weightDecay
    buffer = Tensor(zeros: [store.count])
  }

  /// One update with learning rate `lr` (times each parameter's `lrScale`).
  public func update(lr: Float) {
    let profiled = Profile.begin(.optimizer)
    defer { Profile.end(profiled) }
    let first = step == 0
    step += 1
    let (mu, wd) = (momentum, weightDecay)
    let theta = store.values.pointer
    let grad = store.grads.pointer
    let u = buffer.pointer
    // Each parameter's `lrScale` and `decay` are read now, so changes after `init` count.
    forEachSegmentChunk(store.optimizerSegments(), total: store.count) { seg, range in
      let lr = lr * seg.lrScale
      let decay: Float = seg.decay ? wd : 0
      for i in range {
        let g = grad[i] + decay * theta[i]
        let ui = first ? g : mu * u[i] + g
        u[i] = ui
        theta[i] -= lr * ui
      }
    }
  }

  /// The state to checkpoint: `momentum` `[P]`, `step` `[1]`.
  public func stateTensors() -> [String: Tensor] {
    ["momentum": buffer, "step": Tensor(shape: [1], values: [Float(step)])]
  }

  /// Restores a state saved by `stateTensors()`; throws naming a missing or mis-shaped tensor.
  public func loadState(_ tensors: [String: Tensor]) throws {
    let newStep = try loadStep(tensors)
    buffer.copy(from: try stateTensor(tensors, "momentum", shape: buffer.shape))
    step = newStep
  }
}
