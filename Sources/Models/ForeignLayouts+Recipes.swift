// The evaluation recipe each foreign layout's release uses, recorded when its weights are
// imported (or converted in memory), so that `classify` and `eval` run them as they were
// measured. All use ImageNet mean/std ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]).
//
// | layout | frames × interval | short side → crop | full protocol | from |
// |---|---|---|---|---|
// | `torchvision` 3D | 32 × 2 | 256 → 224 | 12 clips × 1 crop | `Swin3D_T_Weights` (`VideoClassification(crop_size=(224, 224), resize_size=(256,))`, 32 frames at 15 fps, 12 clips per video) |
// | `torchvision` 2D | 1 | 232 / 246 / 238 → 224 (swin_t / s / b) | 1 × 1 | `Swin_T_Weights` … (`ImageClassification(crop_size=224, resize_size=232)`, bicubic) |
// | `swin` (2D) | 1 | 256 → 224 | 1 × 1 | the official Swin test (`TEST.CROP`: 256/224 × 224, bicubic) |
// | `video-swin`, `mmaction2` | 32 × 2 | 224 → 224 | 4 clips × 3 crops | the Video Swin / mmaction2 test pipeline (`Resize(scale=(-1, 224))`, `ThreeCrop(224)`) |
//
// torchvision resamples videos to 15 frames per second and takes 32 consecutive frames; an
// interval of 2 is that for the 30 fps videos of Kinetics. Frames are resized here by swscale
// (area when shrinking, bilinear when enlarging), not bicubic: a small difference for images.

/// One release's evaluation recipe: the fields of `DataOptions` (as its JSON) and the full
/// test protocol's views.
public struct ReleasedRecipe: Sendable, Equatable {
  /// A video model's recipe (else an image model's: one frame).
  public var video: Bool
  public var clipLength: Int
  public var frameInterval: Int
  /// Short side before the crop.
  public var resize: Int
  /// Crop size.
  public var size: Int
  public var clips: Int
  public var crops: Int
  /// Whose evaluation the recipe is, for people: `torchvision's Swin3D weights`.
  public var source: String

  /// The `data` metadata entry: `DataOptions`'s JSON fields.
  public var dataFields: [String: Any] {
    [
      "kind": video ? "video" : "image", "clip_length": clipLength,
      "frame_interval": frameInterval, "resize": resize, "size": size, "flip": false,
      "min_area": 0.08, "normalize": true,
    ]
  }
}

extension CheckpointLayout {
  /// The evaluation recipe of this layout's release for a model of `config` (table above).
  public func releasedRecipe(config: ModelConfig) -> ReleasedRecipe {
    let video = config.dims == 3
    switch (self, video) {
    case (.torchvision, true):
      return ReleasedRecipe(
        video: video, clipLength: 32, frameInterval: 2, resize: 256, size: 224, clips: 12, crops: 1,
        source: "torchvision's Swin3D weights")
    case (.torchvision, false):
      let resize: Int
      switch (config.embedDim, config.depths) {
      case (96, [2, 2, 6, 2]): resize = 232
      case (96, [2, 2, 18, 2]): resize = 246
      case (128, [2, 2, 18, 2]): resize = 238
      default: resize = 256
      }
      return ReleasedRecipe(
        video: video, clipLength: 1, frameInterval: 1, resize: resize, size: 224, clips: 1,
        crops: 1,
        source: "torchvision's Swin weights")
    case (.swin, _), (.videoSwin, false), (.mmaction2, false):
      return ReleasedRecipe(
        video: video, clipLength: 1, frameInterval: 1, resize: 256, size: 224, clips: 1, crops: 1,
        source: "the official Swin test")
    case (.videoSwin, true), (.mmaction2, true):
      return ReleasedRecipe(
        video: video, clipLength: 32, frameInterval: 2, resize: 224, size: 224, clips: 4, crops: 3,
        source: "the official Video Swin / mmaction2 test")
    }
  }
}
