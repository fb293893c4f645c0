import Foundation
import SafeTensors
import XCTest

@testable import Models

/// A state dict saved in half precision as a whole (`{k: v.half() for k, v in sd.items()}`,
/// `Tools/make_half_pth_fixture.py`) imports: its `relative_position_index` buffers, float16
/// now, are derived data, checked for place and shape and otherwise ignored with a note.
final class HalfPrecisionIndexTests: XCTestCase {
  func testWholeHalfStateDictImportsWithANote() throws {
    let path = try foreignFixture("tv3d_all_half.pth")
    var notes: [String] = []
    let opened = try Checkpoint.open(path: path, note: { notes.append($0) })
    XCTAssertEqual(
      notes,
      [
        "\(path): 7 relative_position_index buffers are F16, not integers: ignored (the index is derived from the window)"
      ])
    XCTAssertEqual(opened.layout, .torchvision)
    let reference = try Checkpoint.open(path: try fixturePath("swin3d_weights"))
    XCTAssertEqual(opened.info.config, reference.info.config)
    // Every parameter is the float32 reference rounded to float16.
    for spec in opened.info.config.parameterSpecs {
      let half = try opened.file.floats(spec.name).values
      let full = try reference.file.floats(spec.name).values
      XCTAssertEqual(half, full.map { Float(Float16($0)) }, spec.name)
    }
    // A checkpoint of this package's own (integer buffers) opens without a note.
    var none: [String] = []
    _ = try Checkpoint.open(path: try fixturePath("swin3d_weights"), note: { none.append($0) })
    XCTAssertEqual(none, [])
  }

  /// A floating-point index is still checked for its place and shape.
  func testFloatingIndexOfTheWrongShapeIsRefused() throws {
    let opened = try Checkpoint.open(path: try foreignFixture("tv3d_all_half.pth"), note: { _ in })
    var file = opened.file
    let key = "features.0.0.attn.relative_position_index"
    var entry = try XCTUnwrap(file.tensors[key])
    entry.shape = [9, 36]
    file.tensors[key] = entry
    XCTAssertThrowsError(try Checkpoint.verify(file, config: opened.info.config)) {
      XCTAssertEqual(
        ($0 as? CheckpointError)?.kind,
        .shapeMismatch(key: key, expected: [18, 18], found: [9, 36]))
    }
    XCTAssertEqual(Checkpoint.floatingIndexBuffers(in: file).count, 7)
  }
}
