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

  func validate() throws {
    let cases = ["video16", "video32", "image8", "train", "micro", "train16", "train16-recompute"]
    guard cases.contains(only) else {
      throw ValidationError("--only must be one of \(cases.joined(separator: ", ")) (got \(only)).")
    }
    guard threads >= 1, iterations >= 1 else { throw ValidationError("--threads and --iterations must be ≥ 1.") }
  }

  func run() throws {
    ThreadBudget.configure(threads: threads)
    let (presetName, shape, training): (String, [Int], Bool) = {
      switch only {
      case "video32": return ("swin3d_t", [1, 3, 32, 224, 224], false)
      case "image8": return ("swin_t", [8, 3, 224, 224], false)
      case "train": return ("swin3d_t", [2, 3, 8, 112, 112], true)
      case "micro": return ("micro", [8, 3, 8, 64, 64], true)
      case "train16", "train16-recompute": return ("swin3d_t", [2, 3, 16, 224, 224], true)
      default: return ("swin3d_t", [1, 3, 16, 224, 224], false)
      }
    }()
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
      step = {
        model.store.zeroGrads()
        let out = try model.forward(x, training: true)
        _ = loss.forward(out.logits, labels: labels)
        model.backward(loss.backward())
        optimizer.update(lr: 1e-4)
      }
    } else {
      step = { _ = try model.forward(x, training: false) }
    }
    try step()  // warm-up: sizes every buffer
    var times: [Double] = []
    for _ in 0..<iterations {
      let start = DispatchTime.now().uptimeNanoseconds
      try step()
      times.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }
    times.sort()
    let best = times[0]
    let median = times[times.count / 2]
    let rss = peakRSSMegabytes()
    let sgemm = sgemmGFlops()
    let gflops = flops / best * 1e-9
    let samplesPerSecond = Double(shape[0]) / best
    if json {
      print(
        "{\"impl\":\"swift\",\"case\":\"\(only)\",\"threads\":\(threads),\"seconds\":\(best),\"median_seconds\":\(median),"
          + "\"samples_per_second\":\(samplesPerSecond),\"peak_rss_mb\":\(rss),\"gflop\":\(flops * 1e-9),"
          + "\"gflops\":\(gflops),\"sgemm_gflops\":\(sgemm)}")
    } else {
      print("\(only): \(presetName) \(training ? "training step" : "inference") on \(shape), \(threads) threads")
      print(String(format: "  %.3f s (median %.3f s), %.2f samples/s, peak RSS %.0f MB", best, median, samplesPerSecond, rss))
      print(String(format: "  %.1f GFLOP → %.1f GFLOP/s = %.0f%% of raw sgemm (%.1f GFLOP/s)", flops * 1e-9, gflops, gflops / sgemm * 100, sgemm))
    }
  }

  /// Analytic forward FLOPs of the GEMM work for an input of `shape`.
  func modelFlops(_ model: VCoSwinModel, shape: [Int]) throws -> Double {
    let c = model.config
    let b = Double(shape[0])
    let sizes = try model.stageSizes(input: Array(shape[2...]))
    var total = 0.0
    let embedTokens = Double(sizes[0].reduce(1, *))
    total += 2 * b * embedTokens * Double(c.embedDim) * Double(c.inChannels * c.embedKernel.reduce(1, *))
    for i in 0..<c.stages {
      let dim = Double(c.channels(stage: i))
      let s = sizes[i]
      // Window rule per rank (2D pads up to the window; 3D clamps the window to the input).
      var window = c.windows[i]
      if c.dims == 3 || c.variant == .coswin { window = zip(window, s).map { Swift.min($0, $1) } }
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
        let fanIn = c.variant == .swin ? 4 * dim : dim * Double(c.mergeKernel.reduce(1, *))
        total += 2 * b * next * fanIn * 2 * dim
      }
    }
    total += 2 * b * Double(c.featureDim * c.classes)
    return total
  }

  /// Raw cblas_sgemm GFLOP/s on a large square product (fastest of 3), same thread budget.
  func sgemmGFlops() -> Double {
    let n = 1536
    let a = Tensor(shape: [n, n], repeating: 0.5)
    let bm = Tensor(shape: [n, n], repeating: 0.25)
    let cm = Tensor(zeros: [n, n])
    var best = Double.infinity
    for _ in 0..<4 {
      let start = DispatchTime.now().uptimeNanoseconds
      gemm(.none, .none, m: n, n: n, k: n, a: a.pointer, lda: n, b: bm.pointer, ldb: n, c: cm.pointer, ldc: n)
      best = Swift.min(best, Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }
    return 2 * Double(n * n * n) / best * 1e-9
  }
}

/// Peak resident set size of this process (VmHWM), in MB.
func peakRSSMegabytes() -> Double {
  guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
  for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
    let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
    return kb / 1024
  }
  return 0
}
