// Committed fixtures: found in a test target's bundle, and a failure (never a skip) when absent.

import Foundation

/// A committed fixture, or something a fixture test needs, is absent: the test fails (it is
/// never skipped).
public struct MissingFixture: Error, CustomStringConvertible {
  public var description: String
  public init(description: String) { self.description = description }
}

/// The committed fixtures of a test target (the `Fixtures` folder it copies as a resource).
public enum TestFixture {
  /// The path of `Fixtures/<name>` in `bundle`, `name` with its extension (`"views.pth"`,
  /// `"foreign/plain.pth"`).
  ///
  /// `bundle` is the calling target's `Bundle.module` (only that target can name it).
  /// - Throws: `MissingFixture` naming the fixture and `tool`, what writes it (a script in
  ///   `Tools/`).
  public static func path(_ name: String, in bundle: Bundle, writtenBy tool: String) throws
    -> String
  {
    guard let url = bundle.url(forResource: "Fixtures/" + name, withExtension: nil) else {
      throw MissingFixture(
        description: "fixture \(name) missing from the test bundle (written by \(tool))")
    }
    return url.path
  }
}
