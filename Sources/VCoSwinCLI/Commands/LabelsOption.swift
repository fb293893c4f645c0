import Foundation
import Inference

/// Help of `--labels` on the commands that take a checkpoint.
let labelsOptionHelp =
  "Class names replacing the ones the checkpoint records: a labels file (one name per line, one per class), or 'kinetics400' for the shipped Kinetics-400 names."

/// The shipped sets of class names `--labels` takes by name, and their files.
let shippedLabelSets = ["kinetics400": "Clips/kinetics400_labels.txt"]

/// Class names from `--labels`: a shipped set by name (`kinetics400`, torchvision's order), or
/// a labels file (one name per line).
func readLabels(_ value: String) throws -> [String] {
  try readLabelsNamingFile(value).names
}

/// `readLabels`, with the file the names were read from (the shipped file for a set's name), to
/// name it in errors.
func readLabelsNamingFile(_ value: String) throws -> (names: [String], file: String) {
  if let relative = shippedLabelSets[value.lowercased()],
    !FileManager.default.fileExists(atPath: value)
  {
    guard let url = shippedFile(relative) else {
      throw CommandFailure("--labels \(value): the shipped labels file \(relative) was not found")
    }
    return (try readLabelsFile(url.path), url.path)
  }
  return (try readLabelsFile(value), value)
}
