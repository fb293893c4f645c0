import ArgumentParser
import _Relaunch

/// `vcoswin-bench`: benchmark commands that print figures and ratios (Docs/BENCHMARKS.md).
struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "vcoswin-bench",
    abstract: "Benchmarks: figures and ratios measured side by side in one run.",
    subcommands: [
      DecodeBench.self, LayersBench.self, AttentionBench.self, ModelBench.self, GemmBench.self,
      TimelineCutBench.self, TimelineFramesBench.self,
      AllReduceBench.self, DataParallelStepBench.self,
    ]
  )
}

restartWithShortBLASSpin()
Bench.main()
