// CoSwin (2D) and Video CoSwin (3D), and torchvision's Swin / Video Swin, as one model type.
//
// References: Florence (arXiv 2111.11432 §2.3 CoSwin, §2.6 Video CoSwin adapter);
// torchvision `models/swin_transformer.py` (`SwinTransformer`) and
// `models/video/swin_transformer.py` (`SwinTransformer3d`), whose state-dict names and
// numerics the swin variant reproduces.
//
// Legend: B batch; I input channels; T, H, W input sizes; C stage channels; F feature channels
//         (last stage); K classes.
//
// input [B, I, (T,) H, W]  (PyTorch layout, channels first; fed unchanged)
//   → channels last [B, (T,) H, W, I] (swin 3D: zero-padded at the end to the patch)
//   → token embedding conv → LayerNorm                  [B, (T',) H', W', C₀]
//   → stage 0 blocks → merge → stage 1 blocks → … → last stage blocks   [B, …, F]
//   → LayerNorm → mean over tokens = features [B, F] → Linear head = logits [B, K]

import Compute
import Foundation
import NN
import SafeTensors

/// An input the model cannot take, with its shape and why.
public struct ModelInputError: Error, CustomStringConvertible, Equatable, Sendable {
  public var shape: [Int]
  public var reason: String
  public var description: String { "model input of shape \(shape): \(reason)" }
}

/// The result of a forward pass; both tensors belong to the model and stay valid until its next
/// `forward`.
public struct ModelOutput {
  /// Pooled features after the final LayerNorm `[B, F]`.
  public let features: Tensor
  /// Head outputs `[B, K]`.
  public let logits: Tensor
}

/// CoSwin / Video CoSwin (or Swin / Video Swin), forward and backward, on a CPU.
///
/// The network is one sequence of `Layer`s (input layout, token embedding, each stage's blocks
/// and merge, final norm, pool, head), run in order forward and in reverse backward. Every
/// layer takes its reused buffers from the model's `buffers` pool.
public final class VCoSwinModel {
  public let config: ModelConfig
  /// Every parameter, under its checkpoint name, in one contiguous allocation.
  public let store: ParameterStore
  /// Every buffer the layers reuse between steps, under the layer's checkpoint name (e.g.
  /// `features.1.0/attn/probs`); `inference/…` is shared by every block in inference and
  /// `recompute/…` by every block in recompute mode.
  public let buffers = BufferPool()

  /// Recompute activations (activation checkpointing) per Swin block: a training forward keeps
  /// only each block's input; backward runs the block's forward again (the same drop-path
  /// draws) before its backward. Every block's intermediates then live in one shared
  /// workspace and consecutive blocks' input gradients in two alternating buffers, so training
  /// memory no longer grows with depth, for about one more forward pass of the blocks.
  /// Gradients are bitwise those without recompute. Set between steps (not between a forward
  /// and its backward).
  public var recomputeActivations = false {
    didSet { if recomputeActivations != oldValue { bindBuffers() } }
  }

  /// Called after each layer's backward with the parameter-store offset from which every
  /// gradient is final for this backward pass (no later layer adds to it): parameters are
  /// registered in forward order, so `[from, store.count)` can be reduced while the backward
  /// of earlier layers runs. Once per layer with parameters, Swin blocks included.
  public var onGradientsFinal: ((_ from: Int) -> Void)?

  /// The token embedding, merge and window rule the model is built from.
  public let parts: ModelParts
  private let layout: InputLayout
  /// The Swin blocks per stage (also in `layers`).
  let blocks: [[SwinBlock]]
  private let pool: MeanPool
  /// The network in order, with the buffer scope of each (its checkpoint name).
  private let layers: [(name: String, layer: any Layer)]
  /// Per layer, the store offset from which gradients are final after its backward.
  private var finalFrom: [Int] = []
  private var trainedForward = false

  /// A freshly initialised model of `config`, built from the parts its variant names.
  public convenience init(config: ModelConfig, seed: UInt64 = 0) {
    self.init(config: config, parts: config.parts, seed: seed)
  }

  /// A freshly initialised model (torchvision's scheme: linears and bias tables truncated
  /// normal with std 0.02 and zero biases, convolutions PyTorch's default, LayerNorms 1 and 0),
  /// deterministic for `seed`, built from `parts` (as torchvision's `SwinTransformer` takes
  /// `patch_embed=` and `downsample_layer=`). The sizes, depths, heads and windows are
  /// `config`'s; checkpoints record `config`, so `parts` should be `config.parts` for a model
  /// that is saved.
  public init(config: ModelConfig, parts: ModelParts, seed: UInt64 = 0) {
    self.config = config
    self.parts = parts
    let store = ParameterStore()
    self.store = store
    var rng = SeededRandom(seed: seed)
    let graph = LayerGraph(config: config, parts: parts, store: store, rng: &rng)
    layout = graph.layout
    pool = graph.pool
    blocks = graph.blocks
    layers = graph.layers
    store.finalize()
    var from = store.count
    finalFrom = Array(
      layers.reversed().map { entry in
        from = entry.layer.parameters.first?.offset ?? from
        return from
      }.reversed())
    bindBuffers()
  }

  /// Points every layer at its buffers in `buffers`: its own scope, or (recompute) the shared
  /// workspace for every block's intermediates, each block keeping its own output.
  private func bindBuffers() {
    buffers.removeAll()
    let root = Buffers(pool: buffers)
    for (name, layer) in layers { layer.bind(root.scope(name)) }
    let inference = root.scope("inference")
    let shared = root.scope("recompute")
    var j = 0
    for (name, layer) in layers {
      guard let block = layer as? SwinBlock else { continue }
      block.bindInference(inference)
      block.recompute = recomputeActivations
      if recomputeActivations {
        block.bind(
          workspace: shared, output: root.scope(name)["y"], inputGradient: shared["dx\(j % 2)"])
      }
      j += 1
    }
  }

  /// Token-grid sizes `[(T,) H, W]` after the embedding and after each merge, for an input of
  /// spatial sizes `sizes` (`[(T,) H, W]`), or an error if some layer would have no output.
  public func stageSizes(input sizes: [Int]) throws -> [[Int]] {
    let shape = [1, config.inChannels] + sizes
    guard sizes.count == config.dims, sizes.allSatisfy({ $0 >= 1 }) else {
      throw ModelInputError(
        shape: shape,
        reason:
          "expected \(config.dims == 2 ? "[B, \(config.inChannels), H, W]" : "[B, \(config.inChannels), T, H, W]")"
      )
    }
    do {
      return try parts.stageGrids(input: layout.padded(sizes), stages: config.stages)
    } catch {
      throw ModelInputError(shape: shape, reason: error.reason)
    }
  }

  /// Forward pass of `input [B, I, H, W]` (2D) or `[B, I, T, H, W]` (3D), fed unchanged.
  ///
  /// With `training: true` every layer keeps what `backward` needs (in recompute mode, blocks
  /// keep only their inputs) and drop path is active; with `false` no layer keeps activations
  /// beyond its own output buffer, and blocks update their input in place.
  public func forward(_ input: Tensor, training: Bool) throws -> ModelOutput {
    guard input.rank == config.dims + 2, input.shape[1] == config.inChannels, input.shape[0] >= 1
    else {
      throw ModelInputError(
        shape: input.shape,
        reason:
          "expected \(config.dims == 2 ? "[B, \(config.inChannels), H, W]" : "[B, \(config.inChannels), T, H, W]") for this \(config.kind) model"
      )
    }
    _ = try stageSizes(input: Array(input.shape[2...]))
    var x = input
    var features = input
    for (_, layer) in layers {
      x = training ? layer.run(x, training: true) : layer.runInference(x)
      if layer === pool { features = x }
    }
    let logits = x
    // The last block's intermediates are still in the shared workspace: no need to replay it.
    if training && recomputeActivations { blocks.last?.last?.keepLastForward() }
    trainedForward = training
    if !training, let bad = (0..<logits.count).first(where: { !logits.pointer[$0].isFinite }) {
      throw ModelInputError(
        shape: input.shape,
        reason:
          "the model produced a non-finite logit (entry \(bad / config.classes), class \(bad % config.classes)): its weights or the input are out of range"
      )
    }
    return ModelOutput(features: features, logits: logits)
  }

  /// Backward pass from `dlogits [B, K]` of the last (training) forward: adds into every
  /// parameter's gradient and, when `inputGradient`, returns the gradient of the input
  /// `[B, I, (T,) H, W]` (otherwise nil). Reports progress to `onGradientsFinal`.
  ///
  /// Precondition: the last `forward` ran with `training: true`; `dlogits` has the logits' shape.
  @discardableResult
  public func backward(_ dlogits: Tensor, inputGradient: Bool = false) -> Tensor? {
    precondition(trainedForward, "VCoSwinModel.backward without a training forward")
    trainedForward = false
    // The first layer after the input layout (the embedding's convolution) sees the pixels.
    (layers[1].layer as? any InputGradientOptional)?.needsInputGradient = inputGradient
    var d = dlogits
    var reported = Int.max
    // The input layout (layer 0) has no parameters: only run for the input gradient.
    for i in stride(from: layers.count - 1, through: inputGradient ? 0 : 1, by: -1) {
      d = layers[i].layer.runBackward(d)
      // Layers without parameters (the pool, the layout) move no boundary: not reported again.
      if finalFrom[i] < reported {
        reported = finalFrom[i]
        onGradientsFinal?(reported)
      }
    }
    return inputGradient ? d : nil
  }
}

extension VCoSwinModel {
  /// Loads a checkpoint file: metadata, strict verification, then the weights.
  /// Any format `Checkpoint.open` takes; the header is verified before the model is built.
  public static func load(path: String) throws -> (model: VCoSwinModel, info: CheckpointInfo) {
    let opened = try Checkpoint.open(path: path)
    return (try VCoSwinModel.loaded(opened), opened.info)
  }

  /// A model with the weights of an opened checkpoint (already verified by `Checkpoint.open`).
  /// Random initialisation is skipped: `copy` overwrites every parameter.
  public static func loaded(_ opened: OpenedCheckpoint) throws -> VCoSwinModel {
    let model = WeightInit.$skipped.withValue(true) { VCoSwinModel(config: opened.info.config) }
    try Checkpoint.copy(opened.file, into: model.store)
    return model
  }

  /// Copies the weights of `file` into this model after verifying them strictly against its
  /// config (missing, unexpected, mis-shaped or non-finite tensors are errors).
  public func load(_ file: SafeTensorsFile) throws {
    try Checkpoint.verify(file, config: config)
    try Checkpoint.copy(file, into: store)
  }

  /// Writes the model as a checkpoint (atomic).
  public func save(to path: String, labels: [String]? = nil, provenance: String) throws {
    try Checkpoint.write(
      to: path, info: CheckpointInfo(config: config, labels: labels, provenance: provenance),
      store: store)
  }
}

extension VCoSwinModel {
  /// Reseeds every drop-path generator from `seed`, block by block.
  ///
  /// Training reseeds before every step from (run seed, epoch, step), so that a run resumed
  /// from a checkpoint draws exactly what an uninterrupted run would.
  ///
  /// Each generator draws one number per sample of a batch, in order. `skippingSamples: s`
  /// discards the draws of the first `s` samples: a rank of a distributed run whose samples
  /// start at position `s` of the global batch draws what one process running the whole batch
  /// draws for them.
  public func reseedStochasticDepth(_ seed: UInt64, skippingSamples: Int = 0) {
    var rng = SeededRandom(seed: seed)
    for stage in blocks {
      for block in stage {
        block.drop1.rng = SeededRandom(seed: rng.next())
        block.drop2.rng = SeededRandom(seed: rng.next())
        for _ in 0..<skippingSamples {
          _ = block.drop1.rng.next()
          _ = block.drop2.rng.next()
        }
      }
    }
  }
}
