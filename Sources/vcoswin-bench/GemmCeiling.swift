// The honest ceiling of a model case: every GEMM the case runs, on its own shapes, timed alone
// with raw cblas_sgemm in the same process. The case's time over this sum is its distance
// from "nothing but sgemm".
//
// Legend: B batch; R tokens of a stage, P = G·N padded tokens (windows × tokens per window);
//         C stage channels, D = C/A head dimension, A heads, N tokens per window, G windows;
//         E embedding fan-in; K classes, F feature channels.
//
// Per block: qkv [P, C]·[3C, C]ᵀ, proj [P, C]·[C, C]ᵀ, MLP [R, C]·[4C, C]ᵀ and
// [R, 4C]·[C, 4C]ᵀ, and G·A small products per head (q·kᵀ [N, D]·[N, D]ᵀ and
// P·v [N, N]·[N, D]).
// Training adds, per linear [R, I]→[R, O], dX = dY·W ([R, O]·[O, I]) and dW = dYᵀ·X
// ([O, R]ᵀ·[R, I]); per head dv = Pᵀ·dO, dP = dO·vᵀ, dq = dS·k, dk = dSᵀ·q; for the
// embedding (on pixels) dW only. Large products run as one multi-threaded sgemm; the G·A small
// products run in parallel over the thread budget, each single-threaded (`batchedGemm`).

import Compute
import Dispatch
import Models

/// One GEMM shape of a case, `count` times (or `batch` small products per call).
struct GemmShape: Hashable {
  var transA: Bool
  var transB: Bool
  var m: Int
  var n: Int
  var k: Int
  /// Independent products of this shape run together (the per-head products of all windows).
  var batch: Int

  /// Multiply-adds × 2.
  var flops: Double { 2 * Double(m) * Double(n) * Double(k) * Double(batch) }
}

/// Every GEMM of one forward (and, when `training`, backward) pass of `model` on `shape`.
func modelGemms(_ model: VCoSwinModel, shape: [Int], training: Bool) throws -> [GemmShape] {
  let c = model.config
  let parts = model.parts
  let b = shape[0]
  let sizes = try model.stageSizes(input: Array(shape[2...]))
  var list: [GemmShape] = []
  /// A linear `[rows, i] → [rows, o]`: forward, and dX, dW in training.
  func linear(_ rows: Int, _ i: Int, _ o: Int) {
    list.append(GemmShape(transA: false, transB: true, m: rows, n: o, k: i, batch: 1))
    if training {
      list.append(GemmShape(transA: false, transB: false, m: rows, n: i, k: o, batch: 1))
      list.append(GemmShape(transA: true, transB: false, m: o, n: i, k: rows, batch: 1))
    }
  }
  let embedRows = b * sizes[0].reduce(1, *)
  let (fanIn, embed) = (parts.embedding.fanIn, parts.embedding.channels)
  list.append(GemmShape(transA: false, transB: true, m: embedRows, n: embed, k: fanIn, batch: 1))
  if training {
    list.append(GemmShape(transA: true, transB: false, m: embed, n: fanIn, k: embedRows, batch: 1))
  }
  for i in 0..<c.stages {
    let dim = c.channels(stage: i)
    let s = sizes[i]
    var window = c.windows[i]
    if parts.windows.clampsWindow(dims: c.dims) {
      window = zip(window, s).map { Swift.min($0, $1) }
    }
    let padded = zip(s, window).map { ($0 + $1 - 1) / $1 * $1 }
    let rows = b * s.reduce(1, *)
    let paddedRows = b * padded.reduce(1, *)
    let n = window.reduce(1, *)
    let heads = c.heads[i]
    let d = dim / heads
    let products = paddedRows / n * heads
    for _ in 0..<c.depths[i] {
      linear(paddedRows, dim, 3 * dim)
      list.append(GemmShape(transA: false, transB: true, m: n, n: n, k: d, batch: products))
      list.append(GemmShape(transA: false, transB: false, m: n, n: d, k: n, batch: products))
      if training {
        list.append(GemmShape(transA: true, transB: false, m: n, n: d, k: n, batch: products))
        list.append(GemmShape(transA: false, transB: true, m: n, n: n, k: d, batch: products))
        list.append(GemmShape(transA: false, transB: false, m: n, n: d, k: n, batch: products))
        list.append(GemmShape(transA: true, transB: false, m: n, n: d, k: n, batch: products))
      }
      linear(paddedRows, dim, dim)
      linear(rows, dim, c.hidden(stage: i))
      linear(rows, c.hidden(stage: i), dim)
    }
    if i < c.stages - 1 {
      let next = b * sizes[i + 1].reduce(1, *)
      linear(next, parts.merge.fanIn(channels: dim), parts.merge.outputChannels(dim))
    }
  }
  linear(b, c.featureDim, c.classes)
  return list
}

/// Operands big enough for every shape of a list: a `[batch, M, K]`, b `[batch, K, N]`,
/// c `[batch, M, N]` of the largest.
struct GemmOperands {
  let a: Tensor
  let b: Tensor
  let c: Tensor

  init(for shapes: some Collection<GemmShape>) {
    let aCount = shapes.map { $0.batch * $0.m * $0.k }.max() ?? 0
    let bCount = shapes.map { $0.batch * $0.k * $0.n }.max() ?? 0
    let cCount = shapes.map { $0.batch * $0.m * $0.n }.max() ?? 0
    a = Tensor(shape: [Swift.max(aCount, 1)], repeating: 0.5)
    b = Tensor(shape: [Swift.max(bCount, 1)], repeating: 0.25)
    c = Tensor(zeros: [Swift.max(cCount, 1)])
  }

  /// Seconds of one product of shape `g` (fastest of `repeats` after one warm-up call), on
  /// whatever kernel `gemm` uses now.
  func time(_ g: GemmShape, repeats: Int, clock: BenchClock) -> Double {
    let lda = g.transA ? g.m : g.k
    let ldb = g.transB ? g.k : g.n
    func run() {
      batchedGemm(
        g.transA ? .transposed : .none, g.transB ? .transposed : .none, batch: g.batch, m: g.m,
        n: g.n, k: g.k, a: a.pointer, lda: lda, strideA: g.m * g.k, b: b.pointer, ldb: ldb,
        strideB: g.k * g.n, c: c.pointer, ldc: g.n, strideC: g.m * g.n)
    }
    run()
    var best = Double.infinity
    for _ in 0..<repeats {
      let start = clock.seconds()
      run()
      best = Swift.min(best, clock.seconds() - start)
    }
    return best
  }
}

extension GemmShape {
  /// `NT m 392 n 1536 k 384 ×1`.
  var label: String {
    (transA ? "T" : "N") + (transB ? "T" : "N") + " m \(m) n \(n) k \(k) ×\(batch)"
  }
}

/// Seconds the GEMMs of `list` take, each distinct shape timed alone (fastest of `repeats`
/// after one warm-up call) and multiplied by how often it occurs. With `report`, prints each
/// shape's count, total milliseconds and GFLOP/s, slowest total first.
func timeGemms(
  _ list: [GemmShape], repeats: Int = 3, clock: BenchClock, report: Bool = false
) -> Double {
  var counts: [GemmShape: Int] = [:]
  for g in list { counts[g, default: 0] += 1 }
  let operands = GemmOperands(for: counts.keys)
  var total = 0.0
  var lines: [(seconds: Double, text: String)] = []
  for (g, count) in counts {
    let best = operands.time(g, repeats: repeats, clock: clock)
    total += best * Double(count)
    let text =
      "    \(g.label), \(count) per step: "
      + "\(String(format: "%.1f", best * Double(count) * 1000)) ms, "
      + "\(String(format: "%.1f", g.flops / best / 1e9)) GFLOP/s"
    lines.append((best * Double(count), text))
  }
  if report {
    print("  GEMM shapes timed alone, slowest total first:")
    for line in lines.sorted(by: { $0.seconds > $1.seconds }) { print(line.text) }
  }
  return total
}
