// `vcoswin-bench attention`: window attention forward/backward throughput at Swin-T stage-1
// shapes, beside raw cblas_sgemm on equivalent work, measured in the same run.
//
// Legend: B batch; T, H, W sizes; C channels; A heads; D = C/A; N tokens per window;
//         G windows in the batch.
//
// FLOPs counted (multiply-add = 2): qkv 2·G·N·C·3C, proj 2·G·N·C², attention core
// 2·(G·A·N²·D) for q·kᵀ and again for P·v. Backward is counted as twice the forward (every
// product has two gradient products).

import ArgumentParser
import Compute
import Dispatch
import Foundation
import NN

struct AttentionBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "attention",
    abstract: "Window attention GFLOP/s (forward, backward) against raw sgemm on the same work.")

  @Option(help: "Threads for BLAS and parallel loops (default: every core).")
  var threads: Int?

  @Option(
    help: "Timed repetitions per measurement (the fastest is reported: the machine may be shared).")
  var iterations = 10

  @Option(help: "Which cases to run: 2d, 3d or all.")
  var only = "all"

  @Option(help: BenchClock.help)
  var clock = BenchClock.wall

  func validate() throws {
    if iterations < 1 { throw ValidationError("--iterations must be at least 1") }
    if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    if !["2d", "3d", "all"].contains(only) {
      throw ValidationError("--only must be 2d, 3d or all")
    }
  }

  func run() {
    ThreadBudget.configure(threads: threads)
    print("threads: \(ThreadBudget.threads), fastest of \(iterations) runs, clock: \(clock)")
    let cases: [(String, [Int], [Int], [Int])] = [
      ("3D [1,8,56,56,96] window (8,7,7)", [1, 8, 56, 56, 96], [8, 7, 7], [0, 0, 0]),
      (
        "3D [1,8,56,56,96] window (8,7,7) shift (4,3,3)", [1, 8, 56, 56, 96], [8, 7, 7], [0, 3, 3]
      ),
      ("2D [8,56,56,96] window (7,7)", [8, 56, 56, 96], [7, 7], [0, 0]),
      ("2D [8,56,56,96] window (7,7) shift (3,3)", [8, 56, 56, 96], [7, 7], [3, 3]),
    ]
    for (label, shape, window, shift) in cases
    where only == "all" || label.lowercased().hasPrefix(only) {
      measure(label, shape: shape, window: window, shift: shift, heads: 3)
    }
  }

  /// Fastest wall time in seconds of `body` over `iterations` runs, after one warm-up run;
  /// `setup` runs untimed before each run.
  private func time(setup: () -> Void = {}, _ body: () -> Void) -> Double {
    setup()
    body()
    var best = Double.infinity
    for _ in 0..<iterations {
      setup()
      let start = now()
      body()
      best = Swift.min(best, now() - start)
    }
    return best
  }

  /// Seconds on the chosen clock (`MedianTimer`'s).
  private func now() -> Double { MedianTimer(repeats: 1, cpuClock: clock == .cpu).now() }

  private func measure(_ label: String, shape: [Int], window: [Int], shift: [Int], heads: Int) {
    var rng = SeededRandom(seed: 1)
    let store = ParameterStore()
    let c = shape[shape.count - 1]
    let layer = WindowAttention(
      store: store, name: "attn", dim: c, heads: heads, window: window, shift: shift, rng: &rng)
    let x = Tensor(zeros: shape)  // [B, (T,) H, W, C]
    for i in 0..<x.count { x.pointer[i] = rng.normal() }
    let dy = Tensor(zeros: shape)  // [B, (T,) H, W, C]
    for i in 0..<dy.count { dy.pointer[i] = rng.normal() }
    let g = layer.geometry(for: shape)
    let windows = shape[0] * g.windowsPerSample
    let n = g.tokensPerWindow
    let d = c / heads
    let rows = windows * n
    let linearFlops = 2.0 * Double(rows) * Double(c) * Double(4 * c)
    let coreFlops = 4.0 * Double(windows * heads) * Double(n * n) * Double(d)
    let forwardFlops = linearFlops + coreFlops

    let tEval = time { _ = layer.forward(x, training: false) }
    let tForward = time { _ = layer.forward(x, training: true) }
    let tBackward = time(setup: { _ = layer.forward(x, training: true) }) {
      _ = layer.backward(dy)
    }

    // Raw sgemm on the same work: the qkv and proj GEMMs, the per-window GEMMs alone, and one
    // large square GEMM of the forward's FLOP count.
    let a = Tensor(zeros: [rows, c])  // [G·N, C]
    let wqkv = Tensor(zeros: [3 * c, c])  // [3C, C]
    let out = Tensor(zeros: [rows, 3 * c])  // [G·N, 3C]
    let probs = Tensor(zeros: [windows * heads, n, n])  // [G·A, N, N]
    for t in [a, wqkv] { for i in 0..<t.count { t.pointer[i] = rng.normal() } }
    let tLinear = time {
      gemm(
        .none, .transposed, m: rows, n: 3 * c, k: c, a: a.pointer, lda: c, b: wqkv.pointer,
        ldb: c, c: out.pointer, ldc: 3 * c)
      gemm(
        .none, .transposed, m: rows, n: c, k: c, a: a.pointer, lda: c, b: wqkv.pointer,
        ldb: c, c: out.pointer, ldc: c)
    }
    let tWindowGemms = time {
      // q·kᵀ and P·v per (window, head), strided like the kernel.
      parallelFor(windows * heads) { item in
        let (w, h) = (item / heads, item % heads)
        let q = out.pointer + w * n * 3 * c + h * d
        let p = probs.pointer + item * n * n
        gemm(
          .none, .transposed, m: n, n: n, k: d, a: q, lda: 3 * c, b: q + c, ldb: 3 * c,
          c: p, ldc: n)
        gemm(
          .none, .none, m: n, n: d, k: n, a: p, lda: n, b: q + 2 * c, ldb: 3 * c,
          c: a.pointer + w * n * c + h * d, ldc: c)
      }
    }
    let big = Swift.max(64, Int(pow3(forwardFlops / 2) + 0.5))
    let ma = Tensor(zeros: [big, big])  // [S, S]
    let mb = Tensor(zeros: [big, big])  // [S, S]
    let mc = Tensor(zeros: [big, big])  // [S, S]
    for t in [ma, mb] { for i in 0..<t.count { t.pointer[i] = rng.normal() } }
    let bigFlops = 2.0 * Double(big) * Double(big) * Double(big)
    let tBig = time {
      gemm(
        .none, .none, m: big, n: big, k: big, a: ma.pointer, lda: big, b: mb.pointer,
        ldb: big, c: mc.pointer, ldc: big)
    }

    func gf(_ flops: Double, _ t: Double) -> String { fmt(flops / t * 1e-9) }
    let sgemm = bigFlops / tBig
    print("")
    print(
      "\(label): G=\(windows) windows × N=\(n) tokens, A=\(heads), D=\(d), "
        + "forward \(fmt(forwardFlops * 1e-9)) GFLOP")
    print(
      "  attention forward (eval)     \(fmt(tEval * 1e3)) ms  \(gf(forwardFlops, tEval)) GFLOP/s"
        + "  = \(fmt(forwardFlops / tEval / sgemm * 100))% of sgemm")
    print(
      "  attention forward (training) \(fmt(tForward * 1e3)) ms  \(gf(forwardFlops, tForward)) GFLOP/s"
        + "  = \(fmt(forwardFlops / tForward / sgemm * 100))% of sgemm")
    print(
      "  attention backward           \(fmt(tBackward * 1e3)) ms  \(gf(2 * forwardFlops, tBackward)) GFLOP/s"
        + "  = \(fmt(tBackward / tForward))× forward time")
    print(
      "  sgemm qkv+proj (\(rows)×\(c)·\(c)×4C)  \(fmt(tLinear * 1e3)) ms  \(gf(linearFlops, tLinear)) GFLOP/s"
    )
    print(
      "  sgemm window products only   \(fmt(tWindowGemms * 1e3)) ms  \(gf(coreFlops, tWindowGemms)) GFLOP/s"
    )
    print("  sgemm \(big)³ (same FLOPs)     \(fmt(tBig * 1e3)) ms  \(gf(bigFlops, tBig)) GFLOP/s")
  }
}

/// Cube root.
private func pow3(_ v: Double) -> Double { v <= 0 ? 0 : exp(log(v) / 3) }

/// A number rounded to one decimal.
private func fmt(_ v: Double) -> String {
  let s = (v * 10).rounded() / 10
  return String(s)
}
