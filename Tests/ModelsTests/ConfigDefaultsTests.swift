import Foundation
import XCTest

@testable import Models

/// One drop-path default, and errors that name the field at fault.
final class ConfigDefaultsTests: XCTestCase {
  func config(mergePadding: [Int] = [1, 1]) throws -> ModelConfig {
    try ModelConfig(
      variant: .coswin, dims: 2, embedDim: 8, depths: [1, 1], heads: [1, 2],
      windows: [[2, 2], [2, 2]],
      embedKernel: [3, 3], embedStride: [2, 2], embedPadding: [1, 1], mergeKernel: [3, 3],
      mergeStride: [2, 2],
      mergePadding: mergePadding, classes: 3)
  }

  /// A config without a drop-path rate gets the same one from the initializer and from JSON.
  func testDropPathDefaultIsTheSameInCodeAndJSON() throws {
    let c = try config()
    var object = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(try c.jsonString().utf8)) as? [String: Any])
    XCTAssertNotNil(object.removeValue(forKey: "drop_path"))
    let text = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    let decoded = try ModelConfig.fromJSON(text)
    XCTAssertEqual(decoded.dropPath, c.dropPath)
    XCTAssertEqual(decoded, c)
    XCTAssertEqual(c.dropPath, ModelConfig.defaultDropPath)
  }

  /// A merge padding as large as the merge kernel is reported as `merge_padding`.
  func testMergePaddingErrorNamesMergePadding() {
    XCTAssertThrowsError(try config(mergePadding: [3, 3])) { error in
      XCTAssertEqual((error as? ModelConfigError)?.field, "merge_padding", "\(error)")
    }
  }

  /// A missing fixture fails the test that needs it (it is not skipped).
  func testMissingFixtureIsAFailureNotASkip() {
    XCTAssertThrowsError(try fixturePath("no-such-fixture")) { error in
      XCTAssertFalse(error is XCTSkip, "\(error)")
    }
  }
}
