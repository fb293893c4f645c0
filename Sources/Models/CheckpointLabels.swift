// Class names given for a checkpoint (`--labels FILE|kinetics400`), replacing the names it
// records: one rule for every command that takes a checkpoint.

/// Class names that cannot go with a model: the labels file, how many names it holds, the
/// checkpoint and its class count.
public struct LabelCountError: Error, CustomStringConvertible, Equatable, Sendable {
  public var file: String
  public var count: Int
  public var checkpoint: String
  public var classes: Int
  public init(file: String, count: Int, checkpoint: String, classes: Int) {
    self.file = file
    self.count = count
    self.checkpoint = checkpoint
    self.classes = classes
  }
  public var description: String {
    "\(file): \(count) labels, but \(checkpoint) has \(classes) classes; a labels file has one name per class"
  }
}

extension CheckpointInfo {
  /// Replaces the recorded class names with `names`, read from `file`, for the checkpoint at
  /// `checkpoint`.
  /// - Throws: `LabelCountError` naming `file`, both counts and the checkpoint when `names` is
  ///   not one name per class (`config.classes`).
  public mutating func replaceLabels(_ names: [String], from file: String, checkpoint: String)
    throws
  {
    guard names.count == config.classes else {
      throw LabelCountError(
        file: file, count: names.count, checkpoint: checkpoint, classes: config.classes)
    }
    labels = names
  }
}
