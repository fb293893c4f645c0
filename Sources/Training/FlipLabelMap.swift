// The label permutation of a horizontal flip, from pairs of class names.

import Foundation

/// Parses `a=b,c=d` (class names or numbers) into the label of a flipped sample, indexed by
/// its label: `map[a] = b`, `map[b] = a`, every other class maps to itself.
///
/// - Throws: `TrainingError` naming `--flip-map` and the pair that is malformed, unknown, or
///   uses a class twice; or the whole map when it holds no pair (empty, only commas or blanks)
///   or an empty item between commas.
public func flipLabelMap(_ text: String, labels: [String]) throws -> [Int] {
  var map = Array(0..<labels.count)
  var used = Set<Int>()
  func index(_ name: Substring, in pair: Substring) throws -> Int {
    let key = name.trimmingCharacters(in: .whitespaces)
    if let i = labels.firstIndex(of: key) { return i }
    if let i = Int(key), labels.indices.contains(i) { return i }
    throw TrainingError(
      "--flip-map: '\(pair)': '\(key)' is not a class name or number below \(labels.count)")
  }
  let pairs = text.split(separator: ",", omittingEmptySubsequences: false)
  guard pairs.contains(where: { !$0.allSatisfy(\.isWhitespace) }) else {
    throw TrainingError(
      "--flip-map: '\(text)' holds no pair a=b (a map must name at least one pair; leave the option out, or use --flip, to flip without one)"
    )
  }
  for pair in pairs {
    guard !pair.allSatisfy(\.isWhitespace) else {
      throw TrainingError("--flip-map: '\(text)' has an empty item between commas")
    }
    let sides = pair.split(separator: "=", omittingEmptySubsequences: false)
    guard sides.count == 2 else {
      throw TrainingError("--flip-map: '\(pair)' is not of the form a=b")
    }
    let (a, b) = (try index(sides[0], in: pair), try index(sides[1], in: pair))
    guard a != b, used.insert(a).inserted, used.insert(b).inserted else {
      throw TrainingError("--flip-map: '\(pair)' pairs a class with itself or uses a class twice")
    }
    map[a] = b
    map[b] = a
  }
  return map
}
