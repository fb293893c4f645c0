import Compute
import Foundation
import NN
import SafeTensors
import TorchCheckpoint
import XCTest
import _TestSupport

@testable import Models

/// Path of a committed foreign-checkpoint fixture (`Tools/make_foreign_fixtures.py`); a missing
/// fixture fails the test.
func foreignFixture(_ name: String) throws -> String {
  try TestFixture.path("foreign/" + name, in: .module, writtenBy: "Tools/make_foreign_fixtures.py")
}

/// `.pth` files in every supported layout and wrapper, against the same weights from safetensors.
final class ForeignCheckpointTests: XCTestCase {
  /// Logits of the model `path` holds on the parity fixture's input of the same dimensionality.
  func logits(_ path: String, dims: Int) throws -> [Float] {
    let opened = try Checkpoint.open(path: path)
    let model = try VCoSwinModel.loaded(opened)
    let io = try SafeTensorsFile.read(path: try fixturePath(dims == 2 ? "swin2d_io" : "swin3d_io"))
    let input = try io.floats("input")
    let out = try model.forward(Tensor(shape: input.shape, values: input.values), training: false)
      .logits
    return Array(out.buffer)
  }

  /// Each `.pth` gives bit-identical logits to the same values loaded from safetensors, with the
  /// layout it was written in detected.
  func testEveryLayoutMatchesSafetensors() throws {
    let cases: [(pth: String, reference: String, dims: Int, layout: CheckpointLayout)] = [
      ("tv3d.pth", try fixturePath("swin3d_weights"), 3, .torchvision),
      ("tv2d_ddp.pth", try fixturePath("swin2d_weights"), 2, .torchvision),
      ("swin2d_fp16.pth", try foreignFixture("swin2d_fp16.safetensors"), 2, .swin),
      ("videoswin_bf16.pth", try foreignFixture("swin3d_bf16.safetensors"), 3, .videoSwin),
      ("mmaction2.pth", try fixturePath("swin3d_weights"), 3, .mmaction2),
    ]
    for c in cases {
      let path = try foreignFixture(c.pth)
      let opened = try Checkpoint.open(path: path)
      XCTAssertEqual(opened.layout, c.layout, c.pth)
      XCTAssertEqual(opened.info.config, try Checkpoint.open(path: c.reference).info.config, c.pth)
      XCTAssertEqual(try logits(path, dims: c.dims), try logits(c.reference, dims: c.dims), c.pth)
    }
  }

  /// Float32 files also match PyTorch's own logits (the parity fixture, float64 reference).
  func testFloat32FilesMatchPyTorch() throws {
    for (name, dims) in [("tv3d.pth", 3), ("tv2d_ddp.pth", 2), ("mmaction2.pth", 3)] {
      let io = try SafeTensorsFile.read(
        path: try fixturePath(dims == 2 ? "swin2d_io" : "swin3d_io"))
      let ours = try logits(try foreignFixture(name), dims: dims)
      XCTAssertLessThan(relativeError(ours, try io.floats("logits").values), 2e-5, name)
    }
  }

  /// An imported foreign file records the released weights' recipe and test views.
  func testOpenedForeignFileRecordsRecipe() throws {
    let opened = try Checkpoint.open(path: try foreignFixture("videoswin_bf16.pth"))
    let recipe = try XCTUnwrap(opened.file.metadata[Checkpoint.recipeKey])
    XCTAssertTrue(recipe.contains("\"clip_length\":32"), recipe)
    XCTAssertTrue(recipe.contains("\"size\":224"), recipe)
    XCTAssertEqual(opened.file.metadata[Checkpoint.viewsKey], "{\"clips\":4,\"crops\":3}")
    XCTAssertTrue(
      opened.info.provenance.contains("\"layout\":\"video-swin\""), opened.info.provenance)
    XCTAssertFalse(opened.info.provenance.contains("/"), "provenance names the file, not its path")
    XCTAssertTrue(recipe.contains("\"resize\":224"), recipe)
    // torchvision evaluates its Swin3D weights at short side 256, crop 224, 12 clips.
    let tv = try Checkpoint.open(path: try foreignFixture("tv3d.pth"))
    let tvRecipe = try XCTUnwrap(tv.file.metadata[Checkpoint.recipeKey])
    XCTAssertTrue(tvRecipe.contains("\"resize\":256"), tvRecipe)
    XCTAssertTrue(tvRecipe.contains("\"size\":224"), tvRecipe)
    XCTAssertTrue(tvRecipe.contains("\"clip_length\":32"), tvRecipe)
    XCTAssertEqual(tv.file.metadata[Checkpoint.viewsKey], "{\"clips\":12,\"crops\":1}")
  }

  /// Each layout's release recipe (ForeignLayouts+Recipes.swift), by architecture.
  func testReleasedRecipes() throws {
    let swin3dT = try ModelConfig.preset("swin3d_t", dims: 3, classes: 400)
    let tv3d = CheckpointLayout.torchvision.releasedRecipe(config: swin3dT)
    XCTAssertEqual(
      [tv3d.clipLength, tv3d.frameInterval, tv3d.resize, tv3d.size, tv3d.clips, tv3d.crops],
      [32, 2, 256, 224, 12, 1])
    for layout in [CheckpointLayout.videoSwin, .mmaction2] {
      let r = layout.releasedRecipe(config: swin3dT)
      XCTAssertEqual(
        [r.clipLength, r.frameInterval, r.resize, r.size, r.clips, r.crops],
        [32, 2, 224, 224, 4, 3])
    }
    for (preset, resize) in [("swin_t", 232), ("swin_s", 246), ("swin_b", 238)] {
      let config = try ModelConfig.preset(preset, dims: 2, classes: 1000)
      XCTAssertEqual(CheckpointLayout.torchvision.releasedRecipe(config: config).resize, resize)
      XCTAssertEqual(CheckpointLayout.swin.releasedRecipe(config: config).resize, 256)
    }
  }

  /// A state dict in no known layout, or with keys no rule places, is an error listing them.
  func testUnknownLayoutListsKeys() throws {
    let base = try SafeTensorsFile.read(path: try fixturePath("swin3d_weights"))
    var odd = base
    odd.tensors = Dictionary(
      uniqueKeysWithValues: base.tensors.map { ("encoder." + $0.key, $0.value) })
    XCTAssertThrowsError(try ForeignLayouts.normalise(odd)) { error in
      let text = "\(error)"
      XCTAssertTrue(text.contains("no known state-dict layout") && text.contains("'encoder."), text)
    }
    var extra = try TorchCheckpointFile.read(path: try foreignFixture("videoswin_bf16.pth"))
    let table = try XCTUnwrap(extra.tensors["cls_head.fc_cls.bias"])
    extra.tensors["cls_head.fc_extra.bias"] = table
    XCTAssertThrowsError(try ForeignLayouts.normalise(extra)) { error in
      XCTAssertTrue(
        "\(error)".contains("fit no rule") && "\(error)".contains("'cls_head.fc_extra.bias'"),
        "\(error)")
    }
  }

  /// A model built to receive a checkpoint skips random initialisation, and ends with exactly
  /// the file's values in every parameter.
  func testLoadedModelHoldsTheFileValues() throws {
    let opened = try Checkpoint.open(path: try fixturePath("swin3d_weights"))
    let model = try VCoSwinModel.loaded(opened)
    for p in model.store.parameters {
      XCTAssertEqual(p.value.array, try opened.file.floats(p.name).values, p.name)
    }
    let skipped = WeightInit.$skipped.withValue(true) { VCoSwinModel(config: opened.info.config) }
    XCTAssertTrue(
      skipped.store.values.array.allSatisfy { $0 == 0 || $0 == 1 }, "only LayerNorm ones and zeros")
    XCTAssertTrue(
      VCoSwinModel(config: opened.info.config).store.values.array.contains { $0 != 0 && $0 != 1 })
  }

  /// The rename table, key by key.
  func testRenameTable() {
    typealias R = ForeignLayouts.Rename
    XCTAssertEqual(
      ForeignLayouts.rename("patch_embed.proj.weight", layout: .swin, dims: 2),
      R.name("features.0.0.weight"))
    XCTAssertEqual(
      ForeignLayouts.rename("layers.2.blocks.1.mlp.fc2.bias", layout: .swin, dims: 2),
      R.name("features.5.1.mlp.3.bias"))
    XCTAssertEqual(
      ForeignLayouts.rename("layers.0.downsample.reduction.weight", layout: .swin, dims: 2),
      R.name("features.2.reduction.weight"))
    XCTAssertEqual(
      ForeignLayouts.rename("layers.0.blocks.1.attn_mask", layout: .swin, dims: 2), R.drop)
    XCTAssertEqual(
      ForeignLayouts.rename(
        "backbone.layers.1.blocks.0.mlp.fc1.weight", layout: .videoSwin, dims: 3),
      R.name("features.2.0.mlp.0.weight"))
    XCTAssertEqual(
      ForeignLayouts.rename("backbone.layers.2.downsample.norm.bias", layout: .videoSwin, dims: 3),
      R.name("features.5.norm.bias"))
    XCTAssertEqual(
      ForeignLayouts.rename("cls_head.fc_cls.weight", layout: .mmaction2, dims: 3),
      R.name("head.weight"))
    XCTAssertEqual(
      ForeignLayouts.rename("backbone.norm3.bias", layout: .mmaction2, dims: 3, finalNorm: "norm3"),
      R.name("norm.bias"))
    XCTAssertEqual(
      ForeignLayouts.rename("backbone.norm.bias", layout: .mmaction2, dims: 3, finalNorm: "norm3"),
      R.unplaced)
    XCTAssertEqual(
      ForeignLayouts.rename("cls_head.fc_other.weight", layout: .videoSwin, dims: 3), R.unplaced)
    XCTAssertEqual(
      ForeignLayouts.rename("layers.0.blocks.0.mlp.fc3.weight", layout: .swin, dims: 2), R.unplaced)
  }
}

/// `relativeError` over two arrays.
func relativeError(_ a: [Float], _ b: [Float]) -> Float {
  a.withUnsafeBufferPointer { p in p.baseAddress.map { relativeError($0, b) } ?? 0 }
}
