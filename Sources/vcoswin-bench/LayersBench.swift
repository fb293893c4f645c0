// `vcoswin-bench layers`: the NN layers at Video Swin-T stage-1 shapes, beside raw sgemm and
// memcpy measured in the same run.
//
// Legend: B batch, T' H' W' token grid, R = B·T'·H'·W' token rows, C = 96 channels.
// GEMM figures are GFLOP/s (2·M·N·K per product); elementwise figures are GB/s of the bytes
// a kernel must read and write once (e.g. LayerNorm forward reads x and writes y: 8 bytes per
// element). Ratios: layer time against raw sgemm (`gemm`, a direct `cblas_sgemm`) of the same
// product, backward against forward, elementwise GB/s against memcpy GB/s.

import ArgumentParser
import Compute
import Dispatch
import Foundation
import NN

struct LayersBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "layers",
    abstract:
      "GEMM/Linear/Conv3d GFLOP/s and LayerNorm/GELU/softmax GB/s against raw sgemm and memcpy.")

  @Option(help: "Threads for BLAS and the parallel loops (default: every core).")
  var threads: Int?

  @Option(help: "Clips in the batch.")
  var batch = 2

  @Option(help: "Input frames (the token grid has half as many).")
  var frames = 16

  @Option(help: "Input height and width in pixels (the token grid is a quarter).")
  var size = 224

  @Option(help: "Timed rounds per group of measurements (medians are reported).")
  var repeats = 5

  @Option(help: BenchClock.help)
  var clock = BenchClock.wall

  func validate() throws {
    if batch < 1 || frames < 2 || size < 8 || repeats < 1 {
      throw ValidationError("batch ≥ 1, frames ≥ 2, size ≥ 8 and repeats ≥ 1 are needed.")
    }
    if let threads, threads < 1 { throw ValidationError("--threads must be at least 1.") }
  }

  func run() throws {
    ThreadBudget.configure(threads: threads)
    let tGrid = frames / 2, hGrid = size / 4
    let rows = batch * tGrid * hGrid * hGrid
    let c = 96
    print(
      "vcoswin-bench layers: \(ThreadBudget.threads) threads, batch \(batch), tokens \(batch)×\(tGrid)×\(hGrid)×\(hGrid) = \(rows), C = \(c), median of \(repeats) interleaved rounds, clock: \(clock)"
    )
    var rng = SeededRandom(seed: 1)
    let timer = MedianTimer(repeats: repeats, cpuClock: clock == .cpu)

    print("\n— Linear (GFLOP/s; ratio = raw sgemm time / layer time) —")
    for (name, i, o) in [
      ("qkv 96→288", c, 3 * c), ("proj 96→96", c, c), ("mlp.0 96→384", c, 4 * c),
      ("mlp.3 384→96", 4 * c, c),
    ] {
      benchLinear(name, rows: rows, i: i, o: o, timer: timer, rng: &rng)
    }

    print("\n— Conv3d (GFLOP/s; ratio = raw sgemm of the same [P,K]·[K,O] / layer) —")
    benchConv(
      "patch embed k(2,4,4) s(2,4,4) 3→96", input: [batch, frames, size, size, 3], o: c,
      kernel: (2, 4, 4), stride: (2, 4, 4), padding: (0, 0, 0), needsDx: false, timer: timer,
      rng: &rng)
    benchConv(
      "CoSwin merge k(3,3,3) s(1,2,2) 96→192", input: [batch, tGrid, hGrid, hGrid, c], o: 2 * c,
      kernel: (3, 3, 3), stride: (1, 2, 2), padding: (1, 1, 1), needsDx: true, timer: timer,
      rng: &rng)

    print("\n— Elementwise (GB/s of the bytes read and written once; ratio = GB/s / memcpy GB/s) —")
    // memcpy (read + write) of the GELU tensor's size, far larger than the caches.
    let big = rows * 4 * c
    let src = Tensor(shape: [big], repeating: 1), dst = Tensor(zeros: [big])
    let store = ParameterStore()
    let ln = LayerNorm(store: store, name: "norm", channels: c)
    let x = randomTensor([rows, c], &rng)
    let dy = randomTensor([rows, c], &rng)
    let gelu = GELU()
    let h = randomTensor([rows, 4 * c], &rng, scale: 3)
    let dh = randomTensor([rows, 4 * c], &rng)
    // Attention rows: 8×7×7 = 392 keys per row, 3 heads, every token a query.
    let n = 392
    let sRows = Swift.max(1, rows * 3 / 8)
    let logits = randomTensor([sRows, n], &rng, scale: 4)
    let probs = Tensor(zeros: [sRows, n]), dprobs = randomTensor([sRows, n], &rng)
    let dlogits = Tensor(zeros: [sRows, n])
    let t = timer.measure([
      { dst.pointer.update(from: src.pointer, count: big) },
      { _ = ln.forward(x, training: true) },
      { _ = ln.backward(dy) },
      { _ = gelu.forward(h, training: true) },
      { _ = gelu.backward(dh) },
      { softmaxForward(y: probs.pointer, x: logits.pointer, rows: sRows, cols: n) },
      {
        softmaxBackward(
          dx: dlogits.pointer, dy: dprobs.pointer, y: probs.pointer, rows: sRows, cols: n)
      },
    ])
    let memcpyGBs = Double(8 * big) / t[0] / 1e9
    print(
      String(
        format: "%-44@ %9.2f ms %8.2f GB/s", "memcpy \(big) floats" as NSString, t[0] * 1e3,
        memcpyGBs))
    let lnBytes = Double(rows * c * 4), geluBytes = Double(big * 4), sBytes = Double(sRows * n * 4)
    report("LayerNorm forward [R, 96]", t[1], bytes: 2 * lnBytes, memcpy: memcpyGBs)
    report("LayerNorm backward [R, 96]", t[2], bytes: 3 * lnBytes, memcpy: memcpyGBs)
    report("GELU forward [R, 384]", t[3], bytes: 2 * geluBytes, memcpy: memcpyGBs)
    report("GELU backward [R, 384]", t[4], bytes: 3 * geluBytes, memcpy: memcpyGBs)
    report("softmax forward [\(sRows), 392]", t[5], bytes: 2 * sBytes, memcpy: memcpyGBs)
    report("softmax backward [\(sRows), 392]", t[6], bytes: 3 * sBytes, memcpy: memcpyGBs)
  }

  private func benchLinear(
    _ name: String, rows: Int, i: Int, o: Int, timer: MedianTimer, rng: inout SeededRandom
  ) {
    let store = ParameterStore()
    let layer = Linear(store: store, name: "fc", inFeatures: i, outFeatures: o, rng: &rng)
    let x = randomTensor([rows, i], &rng)
    let dy = randomTensor([rows, o], &rng)
    let y = Tensor(zeros: [rows, o])
    let w = layer.weight.value
    let flops = 2 * Double(rows) * Double(i) * Double(o)
    // The backward pass's parts, raw: dX = dY·W, dW += dYᵀ·X (one multi-threaded GEMM; the
    // layer splits it over rows), db += Σ dY.
    let dx = Tensor(zeros: [rows, i]), dw = Tensor(zeros: [o, i]), db = Tensor(zeros: [o])
    let t = timer.measure([
      {
        gemm(
          .none, .transposed, m: rows, n: o, k: i, a: x.pointer, lda: i, b: w.pointer, ldb: i,
          c: y.pointer, ldc: o)
      },
      { _ = layer.forward(x, training: true) },
      { _ = layer.backward(dy) },
      {
        gemm(
          .none, .none, m: rows, n: i, k: o, a: dy.pointer, lda: o, b: w.pointer, ldb: i,
          c: dx.pointer, ldc: i)
      },
      {
        gemm(
          .transposed, .none, m: o, n: i, k: rows, a: dy.pointer, lda: o, b: x.pointer, ldb: i,
          beta: 1, c: dw.pointer, ldc: i)
      },
      { columnSumAccumulate(db.pointer, dy.pointer, rows: rows, cols: o) },
    ])
    let (raw, fwd, bwd) = (t[0], t[1], t[2])
    line("sgemm  \(name)", raw, gflops: flops / raw, ratio: nil)
    line("  sgemm dX = dY·W", t[3], gflops: flops / t[3], ratio: nil)
    line("  sgemm dW += dYᵀ·X", t[4], gflops: flops / t[4], ratio: nil)
    line("  db += Σ dY", t[5], gflops: 0, ratio: nil)
    line("Linear \(name) forward", fwd, gflops: flops / fwd, ratio: raw / fwd)
    line(
      "Linear \(name) backward (dX, dW, db)", bwd, gflops: 2 * flops / bwd, ratio: nil,
      note: String(format: "bwd/fwd %.2f×", bwd / fwd))
  }

  private func benchConv(
    _ name: String, input: [Int], o: Int, kernel: (t: Int, h: Int, w: Int),
    stride: (t: Int, h: Int, w: Int), padding: (t: Int, h: Int, w: Int), needsDx: Bool,
    timer: MedianTimer, rng: inout SeededRandom
  ) {
    let store = ParameterStore()
    let conv = Conv3d(
      store: store, name: "conv", inChannels: input[4], outChannels: o, kernel: kernel,
      stride: stride, padding: padding, temporalPadding: .replicate, rng: &rng)
    conv.needsInputGradient = needsDx
    let x = randomTensor(input, &rng)
    let y0 = conv.forward(x, training: true)
    let dy = randomTensor(y0.shape, &rng)
    let p = y0.count / o
    let k = input[4] * kernel.t * kernel.h * kernel.w
    // The same product on already-gathered patches.
    let a = randomTensor([p, k], &rng), wp = randomTensor([o, k], &rng), c = Tensor(zeros: [p, o])
    let flops = 2 * Double(p) * Double(k) * Double(o)
    let t = timer.measure([
      {
        gemm(
          .none, .transposed, m: p, n: o, k: k, a: a.pointer, lda: k, b: wp.pointer, ldb: k,
          c: c.pointer, ldc: o)
      },
      { _ = conv.forward(x, training: true) },
      { _ = conv.backward(dy) },
    ])
    let (raw, fwd, bwd) = (t[0], t[1], t[2])
    let products = needsDx ? 2.0 : 1.0
    line("sgemm  [\(p),\(k)]·[\(k),\(o)]", raw, gflops: flops / raw, ratio: nil)
    line("Conv3d \(name) forward", fwd, gflops: flops / fwd, ratio: raw / fwd)
    line(
      "Conv3d \(name) backward\(needsDx ? " (dX, dW, db)" : " (dW, db)")", bwd,
      gflops: products * flops / bwd, ratio: nil, note: String(format: "bwd/fwd %.2f×", bwd / fwd))
  }

  private func line(
    _ name: String, _ seconds: Double, gflops: Double, ratio: Double?, note: String = ""
  ) {
    let r = ratio.map { String(format: "%5.0f%%", 100 * $0) } ?? "      "
    print(
      String(
        format: "%-58@ %9.2f ms %8.1f GFLOP/s %@ %@", name as NSString, seconds * 1e3, gflops / 1e9,
        r as NSString, note as NSString))
  }

  private func report(_ name: String, _ seconds: Double, bytes: Double, memcpy: Double) {
    let gbs = bytes / seconds / 1e9
    print(
      String(
        format: "%-44@ %9.2f ms %8.2f GB/s %5.0f%% of memcpy", name as NSString, seconds * 1e3, gbs,
        100 * gbs / memcpy))
  }
}

/// Wall times of several bodies measured in interleaved rounds (one warm-up round, then
/// `repeats` rounds, each running every body once in order), so that a change in machine load
/// affects all of them alike; reports each body's median.
struct MedianTimer {
  let repeats: Int
  /// Time with process CPU time divided by the thread budget instead of elapsed time.
  let cpuClock: Bool

  /// Seconds: elapsed, or process CPU time divided by the thread budget.
  func now() -> Double {
    if !cpuClock { return Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return (Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9) / Double(ThreadBudget.threads)
  }

  func measure(_ bodies: [() -> Void]) -> [Double] {
    for body in bodies { body() }
    var times = [[Double]](repeating: [], count: bodies.count)
    for _ in 0..<repeats {
      for (j, body) in bodies.enumerated() {
        let start = now()
        body()
        times[j].append(now() - start)
      }
    }
    return times.map { t in t.sorted()[t.count / 2] }
  }
}

/// Uniform values in [-scale, scale).
private func randomTensor(_ shape: [Int], _ rng: inout SeededRandom, scale: Float = 1) -> Tensor {
  let t = Tensor(zeros: shape)
  for i in 0..<t.count { t.pointer[i] = (2 * rng.uniform() - 1) * scale }
  return t
}
