// The distributed benchmarks (run under `mpirun -np N`; alone they run as one process).
//
// `vcoswin-bench allreduce`: the gradient all-reduce of a distributed run, alone. Run it under
// `mpirun -np N`: every rank sums a model's flat gradient buffer (one float per parameter of
// the preset, swin3d_t by default: 28.2 M floats), checks the sum, and rank 0 prints the time
// and bandwidths of two ways side by side:
//   flat     one all-reduce of the whole buffer;
//   buckets  buckets of --bucket-mb started one after another, then all waited for (what a
//            training step does, without the backward pass in between).
// Algorithm bandwidth = bytes / time; bus bandwidth = algorithm bandwidth · 2(N−1)/N, the
// bytes each rank sends and receives in a ring all-reduce (comparable across N).

// `vcoswin-bench dp-step`: a data-parallel training step (forward, backward with the gradient
// buckets all-reduced as they are finished, AdamW) of a preset at a per-process batch; rank 0
// prints the step time (the slowest rank's, median), the samples per second of all ranks
// together, and how long the step waited for the all-reduce after backward (the exposed
// communication). `Docs/DISTRIBUTED.md` compares 2 ranks × 1 thread with 1 rank × 2 threads.

import ArgumentParser
import Compute
import Distributed
import Foundation
import Models
import NN
import Training

struct AllReduceBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "allreduce",
    abstract: "All-reduce time and bandwidth of a model's gradient buffer (run under mpirun).")

  @Option(help: "Model preset whose parameter count sets the buffer size.")
  var preset = "swin3d_t"

  @Option(help: "Buffer size in floats instead of the preset's parameter count.")
  var floats: Int?

  @Option(help: "Timed repetitions after one warm-up (the fastest and the median are reported).")
  var iterations = 5

  @Option(help: "Bucket size in megabytes for the bucketed way.")
  var bucketMB = 25.0

  func validate() throws {
    guard iterations >= 1, iterations <= 1000 else {
      throw ValidationError("--iterations must be in 1…1000 (got \(iterations)).")
    }
    if let floats, !(1...(1 << 32)).contains(floats) {
      throw ValidationError("--floats must be in 1…2^32 (got \(floats)).")
    }
    guard bucketMB > 0 else { throw ValidationError("--bucket-mb must be positive.") }
  }

  func run() throws { runAsJob(measure) }

  private func measure(_ world: Communicator) throws {
    let count: Int
    if let floats {
      count = floats
    } else {
      let config = try ModelConfig.preset(preset)
      count = config.parameterSpecs.reduce(0) { $0 + $1.shape.reduce(1, *) }
    }
    let n = world.size
    // g [count]: rank r holds (r + 1) · (i mod 7); the sum is (i mod 7) · N(N+1)/2.
    let g = UnsafeMutablePointer<Float>.allocate(capacity: count)
    defer { g.deallocate() }
    func fill() {
      let scale = Float(world.rank + 1)
      for i in 0..<count { g[i] = scale * Float(i % 7) }
    }
    func check(_ way: String) throws {
      let total = Float(n * (n + 1) / 2)
      for i in stride(from: 0, to: count, by: 997) where g[i] != total * Float(i % 7) {
        throw ValidationError("\(way): entry \(i) is \(g[i]), not \(total * Float(i % 7))")
      }
    }
    let bucket = Swift.max(1, Int(bucketMB * 1_048_576 / 4))
    let ways: [(String, () throws -> Void)] = [
      ("flat", { try world.allReduceSum(g, count: count) }),
      (
        "buckets",
        {
          var requests: [AllReduceRequest] = []
          var end = count
          while end > 0 {
            let start = Swift.max(0, end - bucket)
            requests.append(try world.startAllReduceSum(g + start, count: end - start))
            end = start
          }
          for r in requests { try r.wait() }
        }
      ),
    ]
    if world.isRoot {
      print(
        "all-reduce of \(count) floats (\(String(format: "%.1f", Double(count) * 4 / 1e6)) MB) between \(n) processes\(world.usesMPI ? "" : " (not under mpirun: nothing is sent)")"
      )
    }
    var results: [(String, Double)] = []
    for (name, reduce) in ways {
      var times: [Double] = []
      for i in 0...iterations {
        fill()
        try world.barrier()
        let t0 = DispatchTime.now().uptimeNanoseconds
        try reduce()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        try check(name)
        if i > 0 { times.append(seconds) }
      }
      // The slowest rank's time is the collective's time.
      var worst = times
      try world.allReduceMax(&worst)
      worst.sort()
      let best = worst[0]
      let median = worst[worst.count / 2]
      results.append((name, median))
      guard world.isRoot else { continue }
      let bytes = Double(count) * 4
      let bus = n > 1 ? 2 * Double(n - 1) / Double(n) : 1
      print(
        "  " + name.padding(toLength: 8, withPad: " ", startingAt: 0)
          + String(
            format: " fastest %.3f s  median %.3f s  algorithm %.2f GB/s  bus %.2f GB/s",
            best, median, bytes / median / 1e9, bytes / median / 1e9 * bus))
    }
    if world.isRoot, results.count == 2 {
      print(String(format: "  buckets / flat time: %.2f×", results[1].1 / results[0].1))
    }
  }
}

struct DataParallelStepBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dp-step",
    abstract: "Data-parallel training step time and throughput (run under mpirun).")

  @Option(help: "Model preset (video presets take --frames).")
  var preset = "swin3d_t"

  @Option(help: "Samples per process.")
  var batch = 1

  @Option(help: "Frames per sample.")
  var frames = 8

  @Option(help: "Frame height and width.")
  var size = 112

  @Option(help: "Threads per process.")
  var threads = 1

  @Option(help: "Timed steps after one warm-up (the fastest and the median are reported).")
  var iterations = 3

  @Option(help: "All-reduce bucket size in megabytes.")
  var bucketMB = 25.0

  func validate() throws {
    for (name, v, limit) in [
      ("--batch", batch, 256), ("--frames", frames, 256), ("--size", size, 1024),
      ("--threads", threads, 256), ("--iterations", iterations, 1000),
    ] where !(1...limit).contains(v) {
      throw ValidationError("\(name) must be in 1…\(limit) (got \(v)).")
    }
    guard bucketMB > 0 else { throw ValidationError("--bucket-mb must be positive.") }
  }

  func run() throws { runAsJob(measure) }

  private func measure(_ world: Communicator) throws {
    ThreadBudget.configure(threads: threads)
    let config = try ModelConfig.preset(preset, dims: 3)
    let model = VCoSwinModel(config: config, seed: 1)
    let shape = config.dims == 3 ? [batch, 3, frames, size, size] : [batch, 3, size, size]
    var rng = SeededRandom(seed: 2 &+ UInt64(world.rank))
    let x = Tensor(zeros: shape)  // [B, 3, (T,) H, W]
    for i in 0..<x.count { x.pointer[i] = rng.normal() }
    let labels = (0..<batch).map { ($0 + world.rank) % config.classes }
    let optimizer = AdamW(store: model.store, weightDecay: 0.05)
    let loss = CrossEntropyLoss()
    let buckets = GradientBuckets(
      communicator: world, store: model.store,
      bucketFloats: Swift.max(1, Int(bucketMB * 1_048_576 / 4)))
    model.onGradientsFinal = { buckets.gradientsFinal(from: $0) }
    // times [iterations]: whole step; waits [iterations]: after backward, until the sums are in.
    var times: [Double] = []
    var waits: [Double] = []
    for i in 0...iterations {
      try world.barrier()
      let t0 = DispatchTime.now().uptimeNanoseconds
      model.store.zeroGrads()
      let out = try model.forward(x, training: true)
      _ = loss.forward(out.logits, labels: labels)
      buckets.arm()
      model.backward(loss.backward())
      let t1 = DispatchTime.now().uptimeNanoseconds
      try buckets.finish()
      let t2 = DispatchTime.now().uptimeNanoseconds
      optimizer.update(lr: 1e-4)
      let t3 = DispatchTime.now().uptimeNanoseconds
      if i > 0 {
        times.append(Double(t3 - t0) * 1e-9)
        waits.append(Double(t2 - t1) * 1e-9)
      }
    }
    try world.allReduceMax(&times)
    try world.allReduceMax(&waits)
    guard world.isRoot else { return }
    let median = times.sorted()[times.count / 2]
    let best = times.min() ?? 0
    let wait = waits.sorted()[waits.count / 2]
    print(
      "dp-step: \(preset) training step, \(world.size) process\(world.size == 1 ? "" : "es") × batch \(batch) × \(threads) thread\(threads == 1 ? "" : "s"), input \(shape), \(buckets.ranges.count) buckets"
    )
    print(
      String(
        format:
          "  step %.3f s (median %.3f s), %.2f samples/s over all processes; all-reduce wait after backward %.3f s (median)",
        best, median, Double(batch * world.size) / median, wait))
  }
}

/// Runs `body` as this process's part of the job: MPI is finalized after it; an error is
/// printed and stops every process of the job (`Communicator.abort`).
private func runAsJob(_ body: (Communicator) throws -> Void) {
  let world = Communicator.world
  do {
    try body(world)
    world.finalize()
  } catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    world.abort(code: 1)
  }
}
