// Swin's linear patch merging: 2×2 spatial neighbours concatenated, LayerNorm(4C),
// Linear(4C → 2C, no bias). Follows torchvision's `PatchMerging` / `_patch_merging_pad`.
//
// Legend: F frames in the batch (B for images, B·T for video: merging is per frame, time is
//         untouched, as in torchvision's swin3d), H, W input height and width,
//         H2 = ⌈H/2⌉, W2 = ⌈W/2⌉, C channels.
// Buffers: x, dx [F, H, W, C]; merged, dmerged [F, H2, W2, 4C]; y, dy [F, H2, W2, 2C].
//
//   H and W are zero-padded at the end to even sizes, then
//   merged[f, i, j, s·C + c] = x[f, 2i + dh(s), 2j + dw(s), c],
//   slots s = 0, 1, 2, 3 ↔ (dh, dw) = (0,0), (1,0), (0,1), (1,1)
//   (x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :], x[..., 0::2, 1::2, :], x[..., 1::2, 1::2, :]).

import Compute

/// Calls `body(merged, source)` for every slot of every merged token, in parallel over output
/// rows: `merged` is the slot's offset in `[F, H2, W2, 4C]`, `source` the offset of the pixel
/// it holds in `[F, H, W, C]`, or nil for a padding slot.
@inline(__always)
private func forEachMergeSlot(
  frames: Int, height h: Int, width w: Int, channels c: Int, _ body: (Int, Int?) -> Void
) {
  let h2 = (h + 1) / 2
  let w2 = (w + 1) / 2
  parallelChunks(frames * h2, grain: Swift.max(1, 8192 / Swift.max(w2 * 4 * c, 1))) { range in
    for row in range {
      let f = row / h2
      let i = row - f * h2
      for j in 0..<w2 {
        for s in 0..<4 {
          let hi = 2 * i + (s & 1)
          let wi = 2 * j + (s >> 1)
          let merged = ((row * w2 + j) * 4 + s) * c
          body(merged, hi < h && wi < w ? ((f * h + hi) * w + wi) * c : nil)
        }
      }
    }
  }
}

/// Gathers 2×2 neighbourhoods: `merged [F, H2, W2, 4C]` from `x [F, H, W, C]` (zero where the
/// padded row/column lies outside x). Parallel over output rows.
public func patchMergeGather(
  merged: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, frames: Int, height h: Int,
  width w: Int, channels c: Int
) {
  let profiled = Profile.begin(.merge)
  defer { Profile.end(profiled) }
  forEachMergeSlot(frames: frames, height: h, width: w, channels: c) { m, source in
    if let source {
      (merged + m).update(from: x + source, count: c)
    } else {
      (merged + m).initialize(repeating: 0, count: c)
    }
  }
}

/// Transpose of `patchMergeGather`: `dx [F, H, W, C]` (overwritten) from
/// `dmerged [F, H2, W2, 4C]`; gradients of padding slots are dropped.
public func patchMergeScatter(
  dx: UnsafeMutablePointer<Float>, dmerged: UnsafePointer<Float>, frames: Int, height h: Int,
  width w: Int, channels c: Int
) {
  let profiled = Profile.begin(.merge)
  defer { Profile.end(profiled) }
  forEachMergeSlot(frames: frames, height: h, width: w, channels: c) { m, source in
    if let source { (dx + source).update(from: dmerged + m, count: c) }
  }
}

/// Naive reference for `patchMergeGather`, written from the slice definitions.
public func naivePatchMergeGather(
  merged: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, frames: Int, height h: Int,
  width w: Int, channels c: Int
) {
  let h2 = (h + 1) / 2
  let w2 = (w + 1) / 2
  let offsets = [(0, 0), (1, 0), (0, 1), (1, 1)]  // (dh, dw) of x0, x1, x2, x3
  for f in 0..<frames {
    for i in 0..<h2 {
      for j in 0..<w2 {
        for (s, (dh, dw)) in offsets.enumerated() {
          for ch in 0..<c {
            let hi = 2 * i + dh
            let wi = 2 * j + dw
            let v: Float = (hi < h && wi < w) ? x[((f * h + hi) * w + wi) * c + ch] : 0
            merged[(((f * h2 + i) * w2 + j) * 4 + s) * c + ch] = v
          }
        }
      }
    }
  }
}

/// Swin patch merging: `[B, H, W, C] → [B, ⌈H/2⌉, ⌈W/2⌉, 2C]` or, per frame,
/// `[B, T, H, W, C] → [B, T, ⌈H/2⌉, ⌈W/2⌉, 2C]`.
///
/// Parameters (torchvision names): `name.reduction.weight` `[2C, 4C]`, `name.norm.weight`,
/// `name.norm.bias` `[4C]`.
public final class PatchMerging: Layer {
  public let channels: Int
  public let norm: LayerNorm
  public let reduction: Linear
  /// Merged neighbourhoods `[…, H2, W2, 4C]`.
  private var merged = Tensor(zeros: [0])
  /// Input gradient, shape of the input.
  private var dx = Tensor(zeros: [0])
  private var inputShape: [Int] = []

  /// Registers `name.reduction.weight` (`initializer`, Swin's truncated normal by default)
  /// and `name.norm.{weight,bias}`.
  public init(
    store: ParameterStore, name: String, channels: Int,
    initializer: WeightInit = .truncatedNormal(std: 0.02), rng: inout SeededRandom
  ) {
    self.channels = channels
    reduction = Linear(
      store: store, name: name + ".reduction", inFeatures: 4 * channels,
      outFeatures: 2 * channels, bias: false, initializer: initializer, rng: &rng)
    norm = LayerNorm(store: store, name: name + ".norm", channels: 4 * channels)
  }

  /// `x [B, (T,) H, W, C] → y [B, (T,) ⌈H/2⌉, ⌈W/2⌉, 2C]`.
  public func forward(_ x: Tensor, training: Bool) -> Tensor {
    precondition(
      (x.rank == 4 || x.rank == 5) && x.shape.last == channels,
      "PatchMerging expects [B, (T,) H, W, \(channels)], got \(x.shape)")
    let h = x.shape[x.rank - 3]
    let w = x.shape[x.rank - 2]
    let frames = x.count / (h * w * channels)
    var shape = x.shape
    shape[x.rank - 3] = (h + 1) / 2
    shape[x.rank - 2] = (w + 1) / 2
    shape[x.rank - 1] = 4 * channels
    merged.reshape(to: shape)
    patchMergeGather(
      merged: merged.pointer, x: x.pointer, frames: frames, height: h, width: w, channels: channels)
    inputShape = x.shape
    return reduction.run(norm.run(merged, training: training), training: training)
  }

  /// `dy [B, (T,) H2, W2, 2C] → dx [B, (T,) H, W, C]`; adds into the parameter gradients.
  public func backward(_ dy: Tensor) -> Tensor {
    precondition(!inputShape.isEmpty, "PatchMerging.backward without a forward")
    let dmerged = norm.runBackward(reduction.runBackward(dy))
    let h = inputShape[inputShape.count - 3]
    let w = inputShape[inputShape.count - 2]
    dx.reshape(to: inputShape)
    patchMergeScatter(
      dx: dx.pointer, dmerged: dmerged.pointer, frames: dx.count / (h * w * channels), height: h,
      width: w, channels: channels)
    return dx
  }
}

extension PatchMerging {
  /// Registration order: `reduction`, then `norm`.
  public var parameters: [Parameter] { reduction.parameters + norm.parameters }

  /// Buffers `merged`, `dx`, and the scopes `norm`, `reduction`.
  public func bind(_ buffers: Buffers) {
    merged = buffers["merged"]
    dx = buffers["dx"]
    norm.bind(buffers.scope("norm"))
    reduction.bind(buffers.scope("reduction"))
  }

  /// A composite: its norm and reduction are timed (the gather and scatter copies are not).
  public var timingKind: String? { nil }
}

/// The 2D merge between CoSwin/Swin image stages: `[B, H, W, C] → [B, H/2, W/2, 2C]`.
public typealias PatchMerging2D = PatchMerging
/// The 3D merge between Video Swin stages: per frame, `[B, T, H, W, C] → [B, T, H/2, W/2, 2C]`
/// (torchvision's swin3d merges only in space).
public typealias PatchMerging3D = PatchMerging
