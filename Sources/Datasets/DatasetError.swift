// Errors of lists and inputs, and the one rule by which an error message names its file.

/// A list that cannot be used as a whole (labels that are not classes), with the sentence
/// saying why; it names the list file.
public struct DatasetError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// The text of `error` naming `path`: the text as it is when it already names the file (errors
/// of `VideoReader`, `SafeTensorsFile` and checkpoints do), else `path: text`.
public func errorText(_ error: any Error, naming path: String) -> String {
  let text = String(describing: error)
  return text.contains(path) ? text : "\(path): \(text)"
}
