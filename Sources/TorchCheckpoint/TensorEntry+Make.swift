// TensorEntry has public fields but no public initialiser (SafeTensors builds its entries
// itself), so entries are made by copying one parsed from a constant, empty safetensors file
// and setting its fields.
import Foundation
import SafeTensors

extension TensorEntry {
  /// An entry parsed once from a constant safetensors file with one empty U8 tensor.
  private static let template: TensorEntry? = {
    let header = Array(#"{"t":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}"#.utf8)
    var bytes = [UInt8](repeating: 0, count: 8)
    for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: header.count >> (8 * i)) }
    bytes += header
    return (try? SafeTensorsFile.parse(Data(bytes), path: "template"))?.tensors["t"]
  }()

  /// An entry with these fields; `path` names the checkpoint should the template fail to parse.
  static func make(name: String, dtype: DType, shape: [Int], data: Data, path: String) throws
    -> TensorEntry
  {
    guard var entry = template else {
      throw TorchCheckpointError(
        path: path, .unreadable(reason: "internal: no TensorEntry template"))
    }
    entry.name = name
    entry.dtype = dtype
    entry.shape = shape
    entry.data = data
    return entry
  }
}
