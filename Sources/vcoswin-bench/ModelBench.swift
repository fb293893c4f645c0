// `vcoswin-bench model`: whole-model throughput and peak memory at torchvision shapes, beside
// raw cblas_sgemm measured in the same process. `Benchmarks/model.sh` runs it next to
// `Benchmarks/model_torch.py` (PyTorch, same threads, shapes and protocol) and prints ratios.
//
// Cases (one per process, so that peak RSS belongs to one case):
//   video16  swin3d_t inference, 1×3×16×224×224
//   video32  swin3d_t inference, 1×3×32×224×224
//   image8   swin_t inference, 8×3×224×224
//   train    swin3d_t training step (forward, backward, AdamW), 2×3×8×112×112
//   micro    Video CoSwin `micro` training step at the demo scale, 8×3×8×64×64 (Swift only)
//   train16  swin3d_t training step, 2×3×16×224×224 (peak memory at the recipe's size)
//   train16-recompute  the same with activation recompute per block (PyTorch:
//            `torch.utils.checkpoint` per block)
//
// FLOPs are counted analytically (multiply-add = 2) over the GEMM work of the padded token
// grids: embedding conv, qkv, q·kᵀ, P·v, proj, MLP, merges, head; a training step counts 3×.

import ArgumentParser
import Compute
import Dispatch
import Foundation
import Models
import NN

struct ModelBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "model",
    abstract: "Whole-model throughput, peak RSS and fraction of raw sgemm (one case per run).")

  @Option(help: "Case: video16, video32, image8, train, micro, train16 or train16-recompute.")
  var only = "video16"

  @Option(help: "Threads for BLAS and parallel loops.")
  var threads = 2

  @Option(help: "Timed repetitions after one warm-up (the fastest and the median are reported).")
  var iterations = 3

  @Flag(help: "Recompute activations per block (training cases; train16-recompute implies it).")
  var recompute = false

  @Flag(help: "Print one JSON object instead of text.")
  var json = false

  @Flag(help: "Also print seconds per step by kind of layer (forward, backward, update).")
  var profile = false

  @Option(help: BenchClock.help)
  var clock = BenchClock.wall

  @Option(
    name: .customLong("gemm"),
    help: ArgumentHelp(
      "GEMM kernel of the model: avx512 (the package's own) or openblas.",
      discussion: "Default: avx512 where the CPU has it. Raw sgemm is OpenBLAS's either way."))
  var gemmKernel: String = KernelSet.current.gemm.rawValue

  /// The cases `--only` names.
  static let cases = [
    "video16", "video32", "image8", "train", "micro", "train16", "train16-recompute",
  ]

  /// Preset, input shape and whether the case is a training step.
  static func setup(of name: String) -> (preset: String, shape: [Int], training: Bool) {
    switch name {
    case "video32": return ("swin3d_t", [1, 3, 32, 224, 224], false)
    case "image8": return ("swin_t", [8, 3, 224, 224], false)
    case "train": return ("swin3d_t", [2, 3, 8, 112, 112], true)
    case "micro": return ("micro", [8, 3, 8, 64, 64], true)
    case "train16", "train16-recompute": return ("swin3d_t", [2, 3, 16, 224, 224], true)
    default: return ("swin3d_t", [1, 3, 16, 224, 224], false)
    }
  }

  func validate() throws {
    guard let kernel = GEMMKernel(rawValue: gemmKernel), kernel.isAvailable else {
      let usable = GEMMKernel.allCases.filter(\.isAvailable).map(\.rawValue)
      throw ValidationError(
        "--gemm must be one of \(usable.joined(separator: ", ")) on this CPU (got \(gemmKernel)).")
    }
    let cases = Self.cases
    guard cases.contains(only) else {
      throw ValidationError("--only must be one of \(cases.joined(separator: ", ")) (got \(only)).")
    }
    guard threads >= 1, iterations >= 1 else {
      throw ValidationError("--threads and --iterations must be ≥ 1.")
    }
  }

  func run() throws {
    ThreadBudget.configure(threads: threads)
    KernelSet.current.gemm = GEMMKernel(rawValue: gemmKernel) ?? KernelSet.current.gemm
    let (presetName, shape, training) = Self.setup(of: only)
    let config = try ModelConfig.preset(presetName, dims: 3)
    let model = VCoSwinModel(config: config, seed: 1)
    model.recomputeActivations = recompute || only.hasSuffix("-recompute")
    var rng = SeededRandom(seed: 2)
    let x = Tensor(zeros: shape)  // [B, 3, (T,) H, W]
    for i in 0..<x.count { x.pointer[i] = rng.normal() }
    let flops = try modelFlops(model, shape: shape) * (training ? 3 : 1)

    var step: () throws -> Void
    if training {
      let optimizer = AdamW(store: model.store, weightDecay: 0.05)
      let loss = CrossEntropyLoss()
      let labels = (0..<shape[0]).map { $0 % config.classes }
      // As the trainer steps: the update zeroes the gradients for the next step as it reads
      // them (they start at 0).
      step = {
        Profile.pass = .forward
        let out = try model.forward(x, training: true)
        _ = loss.forward(out.logits, labels: labels)
        Profile.pass = .backward
        model.backward(loss.backward())
        Profile.pass = .update
        optimizer.update(lr: 1e-4, zeroingGradients: true)
      }
    } else {
      step = {
        Profile.pass = .forward
        _ = try model.forward(x, training: false)
      }
    }
    try step()  // warm-up: sizes every buffer
    var times: [Double] = []
    Profile.clock = { clock.seconds() }
    Profile.isEnabled = profile
    for _ in 0..<iterations {
      let start = clock.seconds()
      try step()
      times.append(clock.seconds() - start)
    }
    Profile.isEnabled = false
    times.sort()
    let best = times[0]
    let median = times[times.count / 2]
    let rss = peakRSSMegabytes()
    let sgemm = sgemmGFlops()
    // The case's own GEMMs timed alone: the time a step would take if it were nothing else.
    let gemms = try modelGemms(model, shape: shape, training: training)
    let gemmSeconds = timeGemms(gemms, clock: clock, report: profile && !json)
    let gflops = flops / best * 1e-9
    let samplesPerSecond = Double(shape[0]) / best
    if profile && !json { printProfile(stepSeconds: times.reduce(0, +) / Double(times.count)) }
    if json {
      print(
        "{\"impl\":\"swift\",\"case\":\"\(only)\",\"gemm\":\"\(gemmKernel)\",\"threads\":\(threads),\"clock\":\"\(clock)\",\"seconds\":\(best),\"median_seconds\":\(median),"
          + "\"samples_per_second\":\(samplesPerSecond),\"peak_rss_mb\":\(rss),\"gflop\":\(flops * 1e-9),"
          + "\"gflops\":\(gflops),\"sgemm_gflops\":\(sgemm),\"gemm_seconds\":\(gemmSeconds)}")
    } else {
      print(
        "\(only): \(presetName) \(training ? "training step" : "inference") on \(shape), \(threads) threads, clock \(clock), GEMM \(gemmKernel)"
      )
      print(
        String(
          format: "  %.3f s (median %.3f s), %.2f samples/s, peak RSS %.0f MB", best, median,
          samplesPerSecond, rss))
      print(
        String(
          format: "  %.1f GFLOP → %.1f GFLOP/s = %.0f%% of raw sgemm (%.1f GFLOP/s)", flops * 1e-9,
          gflops, gflops / sgemm * 100, sgemm))
      print(
        String(
          format: "  its own GEMM shapes timed alone: %.3f s = %.0f%% of the step", gemmSeconds,
          gemmSeconds / best * 100))
    }
  }

  /// Seconds per step by kind and pass (means over the timed iterations), what is left
  /// (`other`: input layout, buffer reshapes, the parallel loops' own overhead) and the total.
  func printProfile(stepSeconds: Double) {
    let steps = Double(iterations)
    let passes = ProfilePass.allCases
    print("  profile, ms per step (clock \(clock) per kernel call, mean of \(iterations) steps):")
    print(
      "    " + "kind".padding(toLength: 20, withPad: " ", startingAt: 0)
        + passes.map { "\($0)".leftPadded(10) }.joined() + "total".leftPadded(10)
        + "share".leftPadded(8))
    var accounted = 0.0
    for kind in ProfileKind.allCases {
      let per = passes.map { Profile.seconds(kind, $0) / steps }
      let total = per.reduce(0, +)
      accounted += total
      if total == 0 { continue }
      print(
        "    " + kind.label.padding(toLength: 20, withPad: " ", startingAt: 0)
          + per.map { String(format: "%10.1f", $0 * 1e3) }.joined()
          + String(format: "%10.1f%7.1f%%", total * 1e3, total / stepSeconds * 100))
    }
    let other = stepSeconds - accounted
    print(
      "    " + "other".padding(toLength: 20, withPad: " ", startingAt: 0)
        + String(repeating: " ", count: 10 * passes.count)
        + String(format: "%10.1f%7.1f%%", other * 1e3, other / stepSeconds * 100))
    print(
      "    " + "step".padding(toLength: 20, withPad: " ", startingAt: 0)
        + String(repeating: " ", count: 10 * passes.count)
        + String(format: "%10.1f", stepSeconds * 1e3))
  }

  /// Analytic forward FLOPs of the GEMM work for an input of `shape`.
  func modelFlops(_ model: VCoSwinModel, shape: [Int]) throws -> Double {
    let c = model.config
    let parts = model.parts
    let b = Double(shape[0])
    let sizes = try model.stageSizes(input: Array(shape[2...]))
    var total = 0.0
    let embedTokens = Double(sizes[0].reduce(1, *))
    total +=
      2 * b * embedTokens * Double(parts.embedding.channels) * Double(parts.embedding.fanIn)
    for i in 0..<c.stages {
      let dim = Double(c.channels(stage: i))
      let s = sizes[i]
      // Window rule per rank (2D pads up to the window; 3D clamps the window to the input).
      var window = c.windows[i]
      if parts.windows.clampsWindow(dims: c.dims) {
        window = zip(window, s).map { Swift.min($0, $1) }
      }
      let padded = zip(s, window).map { ($0 + $1 - 1) / $1 * $1 }
      let tokens = Double(s.reduce(1, *))
      let paddedTokens = Double(padded.reduce(1, *))
      let n = Double(window.reduce(1, *))
      let perBlock =
        2 * paddedTokens * dim * 3 * dim  // qkv
        + 2 * 2 * paddedTokens * n * dim  // q·kᵀ and P·v
        + 2 * paddedTokens * dim * dim  // proj
        + 2 * 2 * tokens * dim * Double(c.hidden(stage: i))  // MLP
      total += b * Double(c.depths[i]) * perBlock
      if i < c.stages - 1 {
        let next = Double(sizes[i + 1].reduce(1, *))
        let fanIn = Double(parts.merge.fanIn(channels: c.channels(stage: i)))
        total += 2 * b * next * fanIn * Double(parts.merge.outputChannels(c.channels(stage: i)))
      }
    }
    total += 2 * b * Double(c.featureDim * c.classes)
    return total
  }

  /// Raw cblas_sgemm GFLOP/s on a large square product (fastest of 4), same threads and clock.
  /// OpenBLAS's sgemm on 1536³ (the reference ceiling, whatever kernel the model uses).
  func sgemmGFlops() -> Double {
    let kernel = KernelSet.current.gemm
    KernelSet.current.gemm = .openBLAS
    defer { KernelSet.current.gemm = kernel }
    let n = 1536
    let a = Tensor(shape: [n, n], repeating: 0.5)
    let bm = Tensor(shape: [n, n], repeating: 0.25)
    let cm = Tensor(zeros: [n, n])
    var best = Double.infinity
    for _ in 0..<4 {
      let start = clock.seconds()
      gemm(
        .none, .none, m: n, n: n, k: n, a: a.pointer, lda: n, b: bm.pointer, ldb: n, c: cm.pointer,
        ldc: n)
      best = Swift.min(best, clock.seconds() - start)
    }
    return 2 * Double(n * n * n) / best * 1e-9
  }
}

/// Peak resident set size of this process (VmHWM), in MB.
func peakRSSMegabytes() -> Double {
  guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else {
    return 0
  }
  for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
    let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
    return kb / 1024
  }
  return 0
}

extension String {
  /// The string right-aligned in `width` columns.
  func leftPadded(_ width: Int) -> String {
    count >= width ? self : String(repeating: " ", count: width - count) + self
  }
}
