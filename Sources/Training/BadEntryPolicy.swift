// When entries that cannot be used stop the work: malformed lines of a list, and entries whose
// files cannot be read. One rule for every place that meets them — the training lists before a
// run, the training list during each epoch, validation, and `eval`.
//
// A list of N lines with n bad ones is refused when n > f · N (strictly more: with f = 0.2,
// 2 of 10 pass and 3 stop), or when nothing of it is usable. Until then each bad entry is
// reported (by the caller, once) and skipped.

import VideoIO

/// The rule of when bad entries of a list are too many to go on.
public struct BadEntryPolicy: Sendable, Equatable {
  /// The largest fraction `f` of a list that may be bad, in [0, 1].
  public var maxFraction: Double

  public init(maxFraction: Double) { self.maxFraction = maxFraction }

  /// f = 0.2: training's default (`TrainOptions.maxBadFraction`) and `eval`'s.
  public static let standard = BadEntryPolicy(maxFraction: 0.2)

  /// Whether `bad` of `total` is too many: `bad > f · total`.
  public func isTooMany(_ bad: Int, of total: Int) -> Bool {
    Double(bad) > maxFraction * Double(total)
  }

  /// The limit as messages state it: `more than 20%`.
  public var limitText: String { "more than \(Int(maxFraction * 100))%" }

  /// Checks the malformed lines of `list` (which the caller reports, one warning each).
  /// - Throws: `BadEntriesError` when the list has no entries at all (`LIST: no entries …`), or
  ///   when its malformed lines are too many or every line is malformed
  ///   (`LIST: 3 of 10 lines are malformed (more than 20%); first: LIST:4: …`).
  public func checkLines(of list: ClipList) throws(BadEntriesError) {
    let bad = list.badLines.count
    let total = bad + list.entries.count
    guard total > 0 else {
      throw BadEntriesError(
        "\(list.path): no entries (the list holds only blank lines and comments)")
    }
    let tooMany = isTooMany(bad, of: total)
    guard tooMany || list.entries.isEmpty else { return }
    let first = list.badLines.first.map { "\($0)" } ?? "none"
    throw BadEntriesError(
      "\(list.path): \(bad) of \(total) lines are malformed (\(tooMany ? limitText : "none is usable")); first: \(first)"
    )
  }

  /// Checks entries that could not be read: `skipped` of `total` entries of `list`, `first`
  /// the first one's message; `entries` names them in the message. `used`, when given, is how
  /// many entries were used: none used stops the work whatever the fraction.
  /// - Throws: `BadEntriesError`
  ///   `LIST: 3 of 10 validation entries could not be read (more than 20%); first: …` when
  ///   they are too many, or nothing was used.
  public func checkUnreadable(
    _ skipped: Int, of total: Int, list: String, entries: String = "entries", used: Int? = nil,
    first: String?
  ) throws(BadEntriesError) {
    let tooMany = isTooMany(skipped, of: total)
    guard tooMany || used == 0 else { return }
    throw BadEntriesError(
      "\(list): \(skipped) of \(total) \(entries) could not be read (\(tooMany ? limitText : "none was used")); first: \(first ?? "none")"
    )
  }
}

/// Too many bad entries in a list to go on: one line naming the list, the counts and the first.
public struct BadEntriesError: Error, CustomStringConvertible, Sendable {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
