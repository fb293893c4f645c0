// pth-load: reads a PyTorch checkpoint with TorchCheckpointFile and converts every tensor to a
// Float32 array, as a model loader does, releasing each tensor once converted. Prints one JSON
// object (as Benchmarks/pth_load_torch.py does for torch.load) for Benchmarks/pth_load.sh.
//
// A separate, small executable (TorchCheckpoint and Foundation only) so that its peak resident
// set is the reader's and not that of libraries the benchmark commands link (OpenBLAS, FFmpeg).
//
//   pth-load FILE
// `read_s`: TorchCheckpointFile.read (zip, unpickling, one pread per storage); `convert_s`: every
// tensor to [Float]; `seconds`: their sum; `peak_rss_mb`: VmHWM; `base_rss_mb`: VmRSS before.
import Foundation
import SafeTensors
import TorchCheckpoint

/// A field of /proc/self/status (VmRSS, VmHWM), in MB.
func statusMegabytes(_ field: String) -> Double {
  guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else {
    return 0
  }
  for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
    return (line.split(separator: " ").compactMap { Double($0) }.first ?? 0) / 1024
  }
  return 0
}

let arguments = CommandLine.arguments
guard arguments.count == 2 else {
  FileHandle.standardError.write(Data("usage: pth-load FILE\n".utf8))
  exit(2)
}
let path = arguments[1]
do {
  let baseRSS = statusMegabytes("VmRSS")
  let start = Date()
  var checkpoint = try TorchCheckpointFile.read(path: path)
  let read = Date().timeIntervalSince(start)
  var checksum: Double = 0
  var values = 0
  for key in checkpoint.keys {
    let n = try checkpoint.entry(key).count
    let floats = try [Float](unsafeUninitializedCapacity: n) { buffer, initialised in
      if let base = buffer.baseAddress { try checkpoint.copyFloats(key, into: base) }
      initialised = n
    }
    values += floats.count
    checksum += Double(floats.first ?? 0)
    checkpoint.tensors[key] = nil  // a loader copies into its own buffer and lets go
  }
  let total = Date().timeIntervalSince(start)
  let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
  print(
    "{\"impl\":\"swift\",\"seconds\":\(total),\"read_s\":\(read),\"convert_s\":\(total - read),"
      + "\"peak_rss_mb\":\(statusMegabytes("VmHWM")),\"base_rss_mb\":\(baseRSS),"
      + "\"file_mb\":\(Double(size) / 1_048_576),\"values\":\(values),\"checksum\":\(checksum)}")
} catch {
  FileHandle.standardError.write(Data("error: \(error)\n".utf8))
  exit(1)
}
