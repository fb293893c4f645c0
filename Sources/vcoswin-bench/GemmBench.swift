// `vcoswin-bench gemm`: every GEMM shape of a model case on the package's kernel and on
// OpenBLAS, side by side in one process (rounds alternate the kernels, fastest kept).

import ArgumentParser
import Compute
import Foundation
import Models
import NN

struct GemmBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gemm",
    abstract: "A model case's GEMM shapes on the package's AVX-512 kernel and on OpenBLAS.",
    discussion: """
      Each distinct shape is timed on both kernels in alternating rounds (the fastest of each
      kept), through `gemm` as the model calls it outside parallel regions, and weighted by how
      often the case runs it. Example: vcoswin-bench gemm --only train --rounds 5
      """)

  @Option(help: "Case, as for `model`: video16, video32, image8, train, micro, train16.")
  var only = "train"

  @Option(help: "Threads for the products.")
  var threads = 2

  @Option(help: "Rounds per kernel (alternating; the fastest is kept).")
  var rounds = 3

  @Option(help: BenchClock.help)
  var clock = BenchClock.wall

  func validate() throws {
    guard ModelBench.cases.contains(only) else {
      throw ValidationError(
        "--only must be one of \(ModelBench.cases.joined(separator: ", ")) (got \(only)).")
    }
    guard threads >= 1, rounds >= 1 else {
      throw ValidationError("--threads and --rounds must be ≥ 1.")
    }
    guard GEMMKernel.avx512.isAvailable else {
      throw ValidationError("this CPU has no AVX-512: the package's kernel cannot run here.")
    }
  }

  func run() throws {
    ThreadBudget.configure(threads: threads)
    let (preset, shape, training) = ModelBench.setup(of: only)
    let model = try WeightInit.$skipped.withValue(true) {
      VCoSwinModel(config: try ModelConfig.preset(preset, dims: 3), seed: 1)
    }
    var counts: [GemmShape: Int] = [:]
    for g in try modelGemms(model, shape: shape, training: training) {
      counts[g, default: 0] += 1
    }
    let operands = GemmOperands(for: counts.keys)
    let kernels: [GEMMKernel] = [.openBLAS, .avx512]
    // Fastest seconds per shape, one entry per kernel in `kernels`' order.
    var best = counts.mapValues { _ in [Double.infinity, .infinity] }
    for round in 0..<rounds {
      for index in round % 2 == 0 ? [0, 1] : [1, 0] {
        KernelSet.current.gemm = kernels[index]
        for g in counts.keys {
          let seconds = operands.time(g, repeats: 1, clock: clock)
          let fastest = best[g]?[index] ?? .infinity
          best[g]?[index] = Swift.min(fastest, seconds)
        }
      }
    }
    print(
      "\(only): \(preset) on \(shape), \(training ? "training" : "inference") GEMMs, "
        + "\(threads) threads, clock \(clock), \(rounds) rounds")
    print(
      "  shape                          per step   openblas ms  avx512 ms   ratio  avx512 GFLOP/s")
    var totals = [0.0, 0.0]
    let rows = counts.sorted {
      (best[$0.key]?[0] ?? 0) * Double($0.value) > (best[$1.key]?[0] ?? 0) * Double($1.value)
    }
    for (g, count) in rows {
      let t = best[g] ?? [0, 0]
      totals[0] += t[0] * Double(count)
      totals[1] += t[1] * Double(count)
      print(
        "  \(g.label.padding(toLength: 30, withPad: " ", startingAt: 0)) \(String(format: "%8d", count))"
          + String(
            format: "   %10.2f %10.2f   %5.2fx   %8.1f", t[0] * Double(count) * 1000,
            t[1] * Double(count) * 1000, t[0] / t[1], g.flops / t[1] / 1e9))
    }
    print(
      String(
        format: "  all shapes, per step:                  %10.1f %10.1f   %5.2fx",
        totals[0] * 1000, totals[1] * 1000, totals[0] / totals[1]))
  }
}
