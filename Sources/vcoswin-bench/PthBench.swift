import ArgumentParser
import Foundation
import SafeTensors
import TorchCheckpoint

/// `vcoswin-bench pth FILE`: reads a PyTorch checkpoint with `TorchCheckpointFile` and converts
/// every tensor to a Float32 array, as a model loader does, releasing each tensor once it is
/// converted. Prints one JSON object (as `Benchmarks/pth_load_torch.py` does for torch.load) so
/// that `Benchmarks/pth_load.sh` can put them side by side.
struct PthBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pth",
    abstract: "Load time and peak memory of reading a PyTorch .pth checkpoint.",
    discussion: """
      `read_s` is TorchCheckpointFile.read (zip, unpickling, one pread per storage); \
      `convert_s` converts every tensor to [Float] (each tensor released after its conversion); \
      `seconds` is their sum; `peak_rss_mb` is VmHWM of this process, `base_rss_mb` its resident \
      set before reading.

      Example:
        vcoswin-bench pth /tmp/swin3d_t.pth
      """)

  @Argument(help: "The checkpoint to read.")
  var file: String

  func run() throws {
    let baseRSS = residentMegabytes()
    let start = Date()
    var checkpoint = try TorchCheckpointFile.read(path: file)
    let read = Date().timeIntervalSince(start)
    var checksum: Double = 0
    var values = 0
    for key in checkpoint.keys {
      let floats = try checkpoint.floats(key).values
      values += floats.count
      checksum += Double(floats.first ?? 0)
      checkpoint.tensors[key] = nil  // a loader copies into its own buffer and lets go
    }
    let total = Date().timeIntervalSince(start)
    let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
    print(
      "{\"impl\":\"swift\",\"seconds\":\(total),\"read_s\":\(read),\"convert_s\":\(total - read),"
        + "\"peak_rss_mb\":\(peakRSSMegabytes()),\"base_rss_mb\":\(baseRSS),"
        + "\"file_mb\":\(Double(size) / 1_048_576),\"values\":\(values),\"checksum\":\(checksum)}")
  }

  /// The resident set size of this process now (VmRSS), in MB.
  private func residentMegabytes() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
      return (line.split(separator: " ").compactMap { Double($0) }.first ?? 0) / 1024
    }
    return 0
  }
}
