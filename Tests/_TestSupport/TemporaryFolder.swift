// Scratch folders for tests: created empty, removed afterwards.

import Foundation
import XCTest

/// A new empty folder under the system's temporary directory (`vcoswin-<prefix>-<UUID>`), which
/// `remove()` deletes with everything in it.
public struct TemporaryFolder: Sendable {
  public let url: URL
  public var path: String { url.path }

  /// Creates the folder.
  public init(_ prefix: String = "tests") throws {
    url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "vcoswin-\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  /// The path of `name` inside the folder.
  public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

  /// Deletes the folder and its contents (a folder already gone is no error).
  public func remove() { try? FileManager.default.removeItem(at: url) }
}

/// A test case with a fresh `TemporaryFolder` per test: made before each test, removed after.
open class TemporaryFolderTestCase: XCTestCase {
  /// This test's folder (the system temporary directory outside a test).
  public var folder = FileManager.default.temporaryDirectory
  private var scratch: TemporaryFolder?

  override open func setUpWithError() throws {
    try super.setUpWithError()
    let made = try TemporaryFolder()
    scratch = made
    folder = made.url
  }

  override open func tearDownWithError() throws {
    scratch?.remove()
    scratch = nil
    try super.tearDownWithError()
  }

  /// The path of `name` inside this test's folder.
  public func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
}
