// `vcoswin inflate`: a 2D (image) checkpoint becomes a 3D (video) checkpoint by the rules of
// Docs/INFLATION.md. Tensors pair up by position: a 2D config and its inflated 3D config list
// their parameters in the same order (ParameterNames.swift), under the names of each.

import Checksum
import Compute
import Foundation
import Models
import SafeTensors

/// How the token embedding's 2D weight fills the temporal kernel.
public enum EmbedInflation: String, Sendable, Equatable, Codable, CaseIterable {
  /// Every temporal slice `W / Kt` (I3D's inflation; the default).
  case inflated
  /// `W` at the centre slice `⌊Kt/2⌋`, zeros elsewhere (ViViT's central-frame init).
  case centre
}

/// What the relative-position-bias tables hold on temporal offsets `dt ≠ 0`.
public enum BiasTimeInflation: String, Sendable, Equatable, Codable, CaseIterable {
  /// The 2D table at every `dt` (the default; the static-clip invariant needs it).
  case replicated
  /// The 2D table at `dt = 0`, zeros at every other `dt`.
  case zero
}

/// How to inflate: the temporal extent of the 3D convolutions, the 3D windows, the head.
public struct InflationOptions: Sendable, Equatable, Codable {
  /// Temporal kernel `Kt` of the token embedding (default 2).
  public var temporalKernel = 2
  /// Temporal stride of the token embedding (nil: equal to the kernel).
  public var temporalStride: Int? = nil
  /// Temporal padding of the token embedding (replicate padding; default 0).
  public var temporalPadding = 0
  /// Temporal kernel, stride and padding of the CoSwin merge convolutions (default 3, 1, 1).
  public var mergeTemporalKernel = 3
  public var mergeTemporalStride = 1
  public var mergeTemporalPadding = 1
  /// 3D windows `[t, h, w]`: one for every stage, or one per stage; nil for the default
  /// (the 2D spatial window with `t` = 2, 4, 8, 8, … for CoSwin and 8 for Swin).
  public var windows: [[Int]]? = nil
  /// Keep the classifier head (and the label names); otherwise a fresh head is initialised.
  public var keepHead = false
  /// Classes of a fresh head (nil: the source's class count).
  public var classes: Int? = nil
  /// Seed of the fresh head.
  public var seed: UInt64 = 0
  /// The token embedding's rule (the merge convolutions are always `inflated`).
  public var embed = EmbedInflation.inflated
  /// The bias tables' temporal offsets.
  public var biasTime = BiasTimeInflation.replicated
  /// Temporal slope ε of the inflated token embedding (`inflateConvWeight(…slope:)`): 0 gives
  /// equal slices `W/Kt`.
  public var embedSlope = 0.0

  public init() {}

  enum CodingKeys: String, CodingKey {
    case temporalKernel = "temporal_kernel", temporalStride = "temporal_stride"
    case temporalPadding = "temporal_padding", mergeTemporalKernel = "merge_temporal_kernel"
    case mergeTemporalStride = "merge_temporal_stride", mergeTemporalPadding =
      "merge_temporal_padding"
    case windows, keepHead = "keep_head", classes, seed, embed, biasTime = "bias_time"
    case embedSlope = "embed_slope"
  }
}

/// A source or option that cannot be inflated, naming the file, key and shapes.
public struct InflationError: Error, CustomStringConvertible, Equatable, Sendable {
  public var path: String
  public var reason: String
  public init(path: String, _ reason: String) {
    self.path = path
    self.reason = reason
  }
  /// `PATH: reason`, the reason cut to `maxReasonLength` characters (one readable line).
  public var description: String { "\(path): \(brief(reason))" }
}

/// Error text is one line a person reads: a list of numbers longer than `limit` shows its
/// first entries and its length, `[1, 1, 1, 1, 1, 1, …] (200000 entries)`.
func brief<T>(_ list: [T], limit: Int = 6) -> String {
  if list.count <= limit { return "\(list)" }
  return "[" + list.prefix(limit).map { "\($0)" }.joined(separator: ", ")
    + ", …] (\(list.count) entries)"
}

/// The longest reason an error prints.
let maxReasonLength = 400

/// `text` cut to `maxReasonLength` characters, marked with `…` when cut.
func brief(_ text: String) -> String {
  text.count <= maxReasonLength
    ? text : String(text.prefix(maxReasonLength)) + "… (\(text.count) characters)"
}

/// What happened to one tensor.
public struct InflationStep: Sendable, Equatable {
  public enum Action: String, Sendable, CaseIterable {
    case inflated, centred, resizedAndRepeated = "resized+repeated", repeated, copied, dropped
    case initialised
  }
  public var action: Action
  /// Name and shape in the source (empty for `initialised`).
  public var source: String
  public var sourceShape: [Int]
  /// Name and shape in the result (empty for `dropped`).
  public var target: String
  public var targetShape: [Int]
}

/// The result of an inflation: the 3D checkpoint's info and tensors, and what was done.
public struct Inflation {
  public var info: CheckpointInfo
  public var tensors: NamedTensors
  public var steps: [InflationStep]

  /// Counts per action, in `Action.allCases` order, for the printed report.
  public var summary: [(InflationStep.Action, Int)] {
    InflationStep.Action.allCases.map { a in (a, steps.filter { $0.action == a }.count) }.filter {
      $0.1 > 0
    }
  }
}

public enum Inflate {
  /// The 3D config an image config inflates to under `options`.
  ///
  /// Throws `InflationError` (naming `path`) for a 3D source, windows that are not `[t, h, w]`
  /// in 1…64 or whose count is neither 1 nor the number of stages, a Swin embedding that would
  /// overlap in time, or heads that do not divide the channels.
  public static func config3D(from c2: ModelConfig, options o: InflationOptions, path: String)
    throws -> ModelConfig
  {
    guard c2.dims == 2 else {
      throw InflationError(
        path: path, "is a video checkpoint (dims 3); inflate takes an image (2D) checkpoint")
    }
    let st = o.temporalStride ?? o.temporalKernel
    guard o.temporalKernel >= 1, st >= 1, o.temporalPadding >= 0,
      o.temporalPadding < o.temporalKernel
    else {
      throw InflationError(
        path: path,
        "temporal kernel \(o.temporalKernel), stride \(st), padding \(o.temporalPadding): need kernel ≥ 1, stride ≥ 1, 0 ≤ padding < kernel"
      )
    }
    if !c2.parts.embedding.allowsOverlap && (st != o.temporalKernel || o.temporalPadding != 0) {
      throw InflationError(
        path: path,
        "a Swin patch embedding does not overlap: the temporal stride must equal the temporal kernel (\(o.temporalKernel)) and the padding be 0"
      )
    }
    var windows: [[Int]]
    if let w = o.windows {
      guard w.count == 1 || w.count == c2.stages else {
        throw InflationError(
          path: path,
          "\(w.count) windows given for \(c2.stages) stages: give one for all stages or one per stage"
        )
      }
      windows = w.count == 1 ? Array(repeating: w[0], count: c2.stages) : w
    } else {
      windows = (0..<c2.stages).map { i in
        [c2.parts.windows.inflatedTemporalWindow(stage: i)] + c2.windows[i]
      }
    }
    for (i, w) in windows.enumerated() {
      guard w.count == 3, w.allSatisfy({ (1...64).contains($0) }) else {
        throw InflationError(
          path: path,
          "window \(w) for stage \(i) cannot be served: a window is t,h,w with each in 1…64")
      }
    }
    // A merge that mixes frames takes the temporal kernel; one that merges each frame alone
    // keeps a kernel and stride of 1 in time.
    let frames = c2.parts.merge.mixesFrames
    let merge = (
      k: [frames ? o.mergeTemporalKernel : 1] + c2.mergeKernel,
      s: [frames ? o.mergeTemporalStride : 1] + c2.mergeStride,
      p: [frames ? o.mergeTemporalPadding : 0] + c2.mergePadding
    )
    do {
      return try ModelConfig(
        variant: c2.variant, dims: 3, inChannels: c2.inChannels, embedDim: c2.embedDim,
        depths: c2.depths, heads: c2.heads, windows: windows,
        embedKernel: [o.temporalKernel] + c2.embedKernel, embedStride: [st] + c2.embedStride,
        embedPadding: [o.temporalPadding] + c2.embedPadding, mergeKernel: merge.k,
        mergeStride: merge.s, mergePadding: merge.p, mlpRatio: c2.mlpRatio, dropPath: c2.dropPath,
        classes: o.keepHead ? c2.classes : (o.classes ?? c2.classes), layerNormEps: c2.layerNormEps)
    } catch let e as ModelConfigError {
      throw InflationError(path: path, "the inflated config is invalid: \(e)")
    }
  }

  /// Inflates 2D tensors (checked against `source.config`) to the 3D config of `options`.
  public static func inflate(
    source: CheckpointInfo, tensors: NamedTensors,
    options o: InflationOptions, path: String, provenance: String
  ) throws -> Inflation {
    let c2 = source.config
    let c3 = try config3D(from: c2, options: o, path: path)
    let specs2 = c2.parameterSpecs
    let specs3 = c3.parameterSpecs
    precondition(specs2.count == specs3.count, "2D and 3D configs list different parameters")
    // Stage of each bias table, by its 3D name.
    var tableStage: [String: Int] = [:]
    for i in 0..<c3.stages {
      for j in 0..<c3.depths[i] {
        tableStage[c3.blockName(stage: i, block: j) + ".attn.relative_position_bias_table"] = i
      }
    }
    var out: NamedTensors = [:]
    var steps: [InflationStep] = []
    var rng = SeededRandom(seed: o.seed)
    for (s2, s3) in zip(specs2, specs3) {
      guard let t = tensors[s2.name] else {
        throw InflationError(path: path, "missing tensor '\(s2.name)' (expected shape \(s2.shape))")
      }
      guard t.shape == s2.shape else {
        throw InflationError(
          path: path, "tensor '\(s2.name)' has shape \(brief(t.shape)), expected \(brief(s2.shape))"
        )
      }
      // Checked here, on the source, so the error names the file and the 2D key it is about.
      if let bad = t.values.firstIndex(where: { !$0.isFinite }) {
        throw InflationError(
          path: path,
          "tensor '\(s2.name)' holds a NaN or infinite value (\(t.values[bad])) at element \(bad) of \(t.values.count)"
        )
      }
      func step(_ a: InflationStep.Action, _ shape: [Int]) {
        steps.append(
          InflationStep(
            action: a, source: s2.name, sourceShape: s2.shape, target: s3.name, targetShape: shape))
      }
      if s3.name.hasPrefix("head.") && !o.keepHead {
        let values =
          s3.name.hasSuffix(".weight")
          ? (0..<s3.shape.reduce(1, *)).map { _ in rng.truncatedNormal(std: 0.02) }
          : [Float](repeating: 0, count: s3.shape.reduce(1, *))
        out[s3.name] = (s3.shape, values)
        steps.append(
          InflationStep(
            action: .dropped, source: s2.name, sourceShape: s2.shape, target: "", targetShape: []))
        steps.append(
          InflationStep(
            action: .initialised, source: "", sourceShape: [], target: s3.name,
            targetShape: s3.shape))
      } else if s2.shape.count == 4 && s3.shape.count == 5 {
        let centre = o.embed == .centre && s3.name == c3.embedConvName + ".weight"
        let r =
          centre
          ? centreConvWeight(shape: t.shape, values: t.values, temporalKernel: s3.shape[2])
          : inflateConvWeight(
            shape: t.shape, values: t.values, temporalKernel: s3.shape[2],
            slope: s3.name == c3.embedConvName + ".weight" ? Float(o.embedSlope) : 0)
        out[s3.name] = r
        step(centre ? .centred : .inflated, r.shape)
      } else if let stage = tableStage[s3.name] {
        let w2 = c2.windows[stage]
        let w3 = c3.windows[stage]
        guard s2.shape[1] == s3.shape[1] else {
          throw InflationError(
            path: path,
            "tensor '\(s2.name)' has \(s2.shape[1]) heads but the 3D model needs \(s3.shape[1]) (shapes \(s2.shape) and \(s3.shape))"
          )
        }
        var r = inflateBiasTable(
          values: t.values, heads: s2.shape[1], window2D: (w2[0], w2[1]),
          window3D: (w3[0], w3[1], w3[2]))
        if o.biasTime == .zero {
          zeroTimeOffsets(
            &r.values, heads: s2.shape[1], windowT: w3[0],
            spatialRows: (2 * w3[1] - 1) * (2 * w3[2] - 1))
        }
        precondition(r.shape == s3.shape, "bias table shape \(r.shape) ≠ \(s3.shape)")
        out[s3.name] = r
        step(w2 == Array(w3.dropFirst()) ? .repeated : .resizedAndRepeated, r.shape)
      } else {
        guard s2.shape == s3.shape else {
          throw InflationError(
            path: path,
            "tensor '\(s2.name)' \(s2.shape) has no rule to become '\(s3.name)' \(s3.shape)")
        }
        out[s3.name] = t
        step(.copied, t.shape)
      }
    }
    let labels = o.keepHead ? source.labels : nil
    return Inflation(
      info: CheckpointInfo(config: c3, labels: labels, provenance: provenance), tensors: out,
      steps: steps)
  }

  /// Reads a 2D checkpoint made by this package or a foreign Swin state dict (`Checkpoint.open`:
  /// `.pth` or safetensors, torchvision or official layout), inflates it (a 3D source is refused
  /// by `config3D`), and writes the 3D checkpoint to `to` (atomically). The provenance records
  /// the source's file name (not its folder), its SHA-256 and the options. `labels` (names and
  /// the file they come from) replace the class names, one per class of the 3D model.
  /// - Throws: `LabelCountError` when `labels` are not one per class, before anything is written.
  public static func run(
    from: String, to: String, options: InflationOptions,
    labels: (names: [String], file: String)? = nil
  ) throws -> Inflation {
    let opened = try Checkpoint.open(path: from)
    let info = opened.info
    let tensors = try opened.floatTensors()
    let sourceKind = opened.layout?.rawValue ?? "vcoswin"
    let provenance = try provenanceJSON(source: from, sourceKind: sourceKind, options: options)
    var result = try inflate(
      source: info, tensors: tensors, options: options, path: from, provenance: provenance)
    if let labels {
      try result.info.replaceLabels(labels.names, from: labels.file, checkpoint: to)
    }
    try Checkpoint.write(to: to, info: result.info, tensors: result.tensors)
    return result
  }

  /// `{"inflated_from": …, "source_sha256": …, "source_kind": …, "options": {…}}`.
  static func provenanceJSON(source: String, sourceKind: String, options: InflationOptions) throws
    -> String
  {
    struct Provenance: Encodable {
      var inflatedFrom: String
      var sourceSha256: String
      var sourceKind: String
      var options: InflationOptions
      enum CodingKeys: String, CodingKey {
        case inflatedFrom = "inflated_from", sourceSha256 = "source_sha256", sourceKind =
          "source_kind", options
      }
    }
    let p = Provenance(
      inflatedFrom: URL(fileURLWithPath: source).lastPathComponent,
      sourceSha256: try SHA256.hex(contentsOf: source), sourceKind: sourceKind, options: options)
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try enc.encode(p), as: UTF8.self)
  }
}
