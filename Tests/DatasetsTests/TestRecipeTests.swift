import Datasets
import Foundation
import Models
import SafeTensors
import VideoIO
import XCTest

/// The evaluation recipe's short side (`resize`): read from a checkpoint, bounded, kept in
/// ratio when the crop changes, and turned into the test transform.
final class TestRecipeTests: XCTestCase {
  func file(_ data: String) -> SafeTensorsFile {
    SafeTensorsFile(path: "m.safetensors", metadata: [Checkpoint.recipeKey: data], tensors: [:])
  }

  func testResizeIsReadBoundedAndBecomesTheTransform() throws {
    let recorded = try XCTUnwrap(
      try DataOptions.recorded(
        in: file(
          #"{"kind":"video","clip_length":32,"frame_interval":2,"resize":256,"size":224,"flip":false,"min_area":0.08,"normalize":true}"#
        )))
    XCTAssertEqual(recorded.resize, 256)
    XCTAssertEqual(
      recorded.testTransform(),
      ClipTransform(
        shortSide: 256, crop: .center(224), mean: ClipTransform.imageNetMean,
        std: ClipTransform.imageNetStd))
    XCTAssertEqual(recorded.testTransform(crops: 3).crop, .three(224))
    XCTAssertEqual(
      recorded.summary, "32 frames at interval 2, short side 256, crop 224, ImageNet mean/std")
    // Without `resize`, the short side is the crop (checkpoints written before it existed).
    let old = try XCTUnwrap(
      try DataOptions.recorded(
        in: file(
          #"{"kind":"video","clip_length":8,"frame_interval":2,"size":64,"flip":false,"min_area":0.5,"normalize":true}"#
        )))
    XCTAssertNil(old.resize)
    XCTAssertEqual(old.testTransform().shortSide, 64)
    // A short side below the crop is refused, naming the file, key and value.
    XCTAssertThrowsError(
      try DataOptions.recorded(
        in: file(
          #"{"kind":"video","clip_length":8,"frame_interval":2,"resize":100,"size":224,"flip":false,"min_area":0.5,"normalize":true}"#
        ))
    ) { error in
      XCTAssertEqual(
        "\(error)",
        "m.safetensors: __metadata__ 'data': resize 100 is outside 224…4096 (the crop size up)")
    }
  }

  /// `--size` keeps the recipe's ratio of short side to crop: 256 → 224 becomes 128 → 112.
  func testSetCropKeepsTheRatio() {
    var o = DataOptions(kind: .video, size: 224, resize: 256)
    o.setCrop(112)
    XCTAssertEqual(o.size, 112)
    XCTAssertEqual(o.resize, 128)
    o.setCrop(30)
    XCTAssertEqual(o.resize, 34)  // 128 · 30 / 112 = 34.3
    var plain = DataOptions(kind: .video, size: 64)
    plain.setCrop(32)
    XCTAssertNil(plain.resize)
    XCTAssertEqual(plain.size, 32)
  }

  /// A crop size that takes the kept ratio past the bound is refused by `validate` (which
  /// `LoadedModel.load` and `export` run after the options): 16 → 4096 at crop 224 is 57344.
  func testSetCropPastTheBoundIsRefused() throws {
    var o = DataOptions(kind: .video, size: 16, resize: 4096)
    XCTAssertNoThrow(try o.validate(source: "m.safetensors"))
    o.setCrop(224)
    XCTAssertEqual(o.resize, 57344)
    XCTAssertThrowsError(try o.validate(source: "m.safetensors with the options given")) {
      XCTAssertEqual(
        "\($0)",
        "m.safetensors with the options given: resize 57344 is outside 224…4096 (the crop size up)")
    }
  }
}
