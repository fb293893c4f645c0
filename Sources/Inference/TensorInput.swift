// A tensor given as model input in a file (`features --input`): the tensor `input` fed as it
// is, or `vcoswin sample`'s `clip`, normalised as the model expects.
//
// Legend: N entries; T frames; H×W crop. Tensors are channels first, Float32.

import Compute
import Datasets
import Models
import SafeTensors
import VideoIO

/// Model input read from a safetensors file, checked against the model that will take it.
public struct TensorInput {
  /// `[N, 3, H, W]` for an image model, `[N, 3, T, H, W]` for a video model.
  public var shape: [Int]
  /// `N · 3 · (T ·) H · W` values, all finite.
  public var values: [Float]

  /// Entries `N`.
  public var count: Int { shape[0] }

  /// Entries `range` as a tensor `[range.count, 3, (T,) H, W]` (a copy).
  public func tensor(_ range: Range<Int>) -> Tensor {
    let per = values.count / count
    return Tensor(
      shape: [range.count] + shape.dropFirst(),
      values: Array(values[(range.lowerBound * per)..<(range.upperBound * per)]))
  }

  /// Reads the input `loaded` will take from `path`: tensor `input` unchanged; or `sample`'s
  /// `clip` `[N, 3, T, H, W]` (with `T = 1` taken as images `[N, 3, H, W]` for an image model),
  /// normalised with ImageNet mean and std when the recipe normalises and `sample` did not
  /// (`__metadata__` `normalized`), once its shape is checked. The memory of a forward of
  /// `min(batch, N)` entries is checked against this machine's (`processes` sharing it).
  /// - Throws: `InferenceError` naming the file when neither tensor is there, `clip` lacks
  ///   `normalized`, the rank is not the model's, or a value is NaN or infinite;
  ///   `SafeTensorsError`; `MemoryBudgetError`.
  public static func read(path: String, for loaded: LoadedModel, processes: Int = 1) throws
    -> TensorInput
  {
    let file = try SafeTensorsFile.read(path: path)
    let config = loaded.info.config
    let (shape, read, unnormalized) = try modelInput(file, dims: config.dims)
    var values = read
    guard shape.count == config.dims + 2, shape[0] >= 1 else {
      throw InferenceError(
        "\(path): tensor 'input' has shape \(shape); this \(loaded.info.kind) checkpoint needs \(config.dims == 2 ? "[B,3,H,W]" : "[B,3,T,H,W]")"
      )
    }
    if let bad = values.firstIndex(where: { !$0.isFinite }) {
      throw InferenceError(
        "\(path): the input tensor holds a NaN or infinite value at element \(bad)")
    }
    if unnormalized && loaded.recipe.normalize {
      // x ← (x − mean_c) / std_c, c the channel of each value of [N, 3, (T,) H, W]
      let plane = shape.dropFirst(2).reduce(1, *)
      for i in 0..<values.count {
        let c = (i / plane) % 3
        values[i] = (values[i] - ClipTransform.imageNetMean[c]) / ClipTransform.imageNetStd[c]
      }
    }
    let chunk = config.inferenceBytes(
      batch: Swift.min(loaded.batch, shape[0]), input: Array(shape.dropFirst(2)))
    try MemoryBudget.check(
      chunk, what: "\(path): tensor 'input' \(shape) at batch \(loaded.batch)",
      processes: processes)
    return TensorInput(shape: shape, values: values)
  }

  /// The tensor to feed from `file`: `input` as it is, or `clip` (see `read`), and whether it
  /// is a `clip` that `sample` did not normalise.
  private static func modelInput(_ file: SafeTensorsFile, dims: Int) throws -> (
    shape: [Int], values: [Float], unnormalized: Bool
  ) {
    if file.tensors["input"] != nil {
      let (shape, values) = try file.floats("input")
      return (shape, values, false)
    }
    guard file.tensors["clip"] != nil else {
      throw InferenceError(
        "\(file.path): holds neither tensor 'input' nor 'clip' (from vcoswin sample)")
    }
    var (shape, values) = try file.floats("clip")
    if shape.count == 5, shape[2] == 1, dims == 2 { shape.remove(at: 2) }
    guard let normalized = file.metadata["normalized"].flatMap(Bool.init) else {
      throw InferenceError(
        "\(file.path): tensor 'clip' without __metadata__ 'normalized' (true or false)")
    }
    return (shape, values, !normalized)
  }
}
