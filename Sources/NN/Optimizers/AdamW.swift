// AdamW (decoupled weight decay), as PyTorch's `torch.optim.AdamW`.
//
// Legend: P total parameter count. Buffers: values θ, grads g, first moment m, second
// moment v — all [P], aligned with `ParameterStore.values`.
//
// Step t (1-based), per parameter with lr' = lr · lrScale:
//   θ ← θ − lr'·λ·θ              (only parameters with `decay`)
//   m ← β₁ m + (1 − β₁) g,   v ← β₂ v + (1 − β₂) g²
//   θ ← θ − lr' · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)

import CKernels
import Compute
import Foundation

/// AdamW over every parameter of a finalized `ParameterStore`.
public final class AdamW {
  public var beta1: Float
  public var beta2: Float
  public var eps: Float
  /// λ: decoupled weight decay, applied to parameters whose `decay` is true.
  public var weightDecay: Float
  /// First moment `[P]`.
  public let m: Tensor
  /// Second moment `[P]`.
  public let v: Tensor
  /// Steps taken so far (t of the last step).
  public private(set) var step = 0
  private let store: ParameterStore

  /// Precondition: `store` is finalized (its parameters are fixed).
  public init(
    store: ParameterStore, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
    weightDecay: Float = 0.05
  ) {
    precondition(store.isFinalized, "optimizers need a finalized ParameterStore")
    self.store = store
    self.beta1 = beta1
    self.beta2 = beta2
    self.eps = eps
    self.weightDecay = weightDecay
    m = Tensor(zeros: [store.count])
    v = Tensor(zeros: [store.count])
  }

  /// One update of every parameter from its gradient with learning rate `lr` (times each
  /// parameter's `lrScale`). Gradients are left as they are, or set to 0 in the same pass when
  /// `zeroingGradients` (what `ParameterStore.zeroGrads` does, without a pass of its own).
  /// Runs the C kernel of `KernelSet.current.vector` (AVX-512 or AVX2) where the CPU has it,
  /// in parallel chunks.
  public func update(lr: Float, zeroingGradients: Bool = false) {
    let profiled = Profile.begin(.optimizer)
    defer { Profile.end(profiled) }
    step += 1
    let t = Double(step)
    let c1 = Float(1 - pow(Double(beta1), t))
    let c2 = Float(1 - pow(Double(beta2), t))
    let (b1, b2, e, wd) = (beta1, beta2, eps, weightDecay)
    let theta = store.values.pointer
    let grad = store.grads.pointer
    let mp = m.pointer
    let vp = v.pointer
    let invC1 = 1 / c1
    let invSqrtC2 = 1 / c2.squareRoot()
    // Each parameter's `lrScale` and `decay` are read now, so changes after `init` count.
    let isa = KernelSet.current.vector
    forEachSegmentChunk(store.optimizerSegments(), total: store.count) { seg, range in
      let lr = lr * seg.lrScale
      let shrink: Float = seg.decay ? 1 - lr * wd : 1
      if isa != .portable {
        var s = vcoswin_adamw_step(
          beta1: b1, beta2: b2, eps: e, lr: lr, shrink: shrink, inv_c1: invC1,
          inv_sqrt_c2: invSqrtC2, zero_grad: zeroingGradients ? 1 : 0)
        let (lo, n) = (range.lowerBound, range.count)
        if isa == .avx512 {
          vcoswin_adamw_avx512(theta + lo, mp + lo, vp + lo, grad + lo, n, &s)
        } else {
          vcoswin_adamw_avx2(theta + lo, mp + lo, vp + lo, grad + lo, n, &s)
        }
        return
      }
      for i in range {
        let g = grad[i]
        if zeroingGradients { grad[i] = 0 }
        let mi = b1 * mp[i] + (1 - b1) * g
        let vi = b2 * vp[i] + (1 - b2) * g * g
        mp[i] = mi
        vp[i] = vi
        let denom = vi.squareRoot() * invSqrtC2 + e
        theta[i] = theta[i] * shrink - lr * (mi * invC1) / denom
      }
    }
  }

  /// The state to checkpoint: `m` `[P]`, `v` `[P]`, `step` `[1]`.
  public func stateTensors() -> [String: Tensor] {
    ["m": m, "v": v, "step": Tensor(shape: [1], values: [Float(step)])]
  }

  /// Restores a state saved by `stateTensors()`. Throws, naming the tensor, when one is
  /// missing or mis-shaped (then nothing is changed).
  public func loadState(_ tensors: [String: Tensor]) throws {
    let newStep = try loadStep(tensors)
    let savedM = try stateTensor(tensors, "m", shape: m.shape)
    let savedV = try stateTensor(tensors, "v", shape: v.shape)
    m.copy(from: savedM)
    v.copy(from: savedV)
    step = newStep
  }
}
