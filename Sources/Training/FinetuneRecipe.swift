// The fine-tuning recipe of Video Swin's official configs (Liu et al. 2022, Table 7 and the
// released `swin_tiny_patch244_window877_kinetics400_1k` config), the defaults of
// `vcoswin finetune` and the demo: AdamW; the head at the peak rate, the pretrained backbone at
// 0.1× it; linear warm-up of 2.5 epochs, then cosine decay; drop path 0.1; weight decay 0.02,
// none on norms, biases and relative-position-bias tables (`Parameter.decay`). Measured against
// the alternatives in Docs/INFLATION.md.

/// The published fine-tuning recipe, as defaults, and the text that states it.
public enum FinetuneRecipe {
  /// Peak learning rate of the head (AdamW).
  public static let lr = 1e-3
  /// Multiplier of the rate of every pretrained parameter (all but the head).
  public static let backboneLRScale = 0.1
  /// Linear warm-up, in epochs (fractions allowed: rounded to whole optimizer steps).
  public static let warmupEpochs = 2.5
  /// Stochastic depth of the last block (earlier blocks get less, `ModelConfig.dropPathRate`).
  public static let dropPath = 0.1
  /// AdamW's decoupled weight decay, on weights of linears and convolutions only.
  public static let weightDecay = 0.02

  /// `options` with the recipe's rate, backbone multiplier, warm-up and weight decay.
  public static func apply(to options: TrainOptions) -> TrainOptions {
    var o = options
    o.lr = lr
    o.backboneLRScale = backboneLRScale
    o.warmupEpochs = warmupEpochs
    o.weightDecay = weightDecay
    return o
  }

  /// One line stating a run's recipe, e.g. `AdamW lr 0.001 (backbone ×0.1), warm-up 2.5
  /// epochs then cosine to 1e-05, drop path 0.1, weight decay 0.02 (none on norms, biases, bias
  /// tables), label smoothing 0.1, batch 16`.
  public static func describe(_ o: TrainOptions, dropPath: Double) -> String {
    func number(_ x: Double) -> String {
      x == x.rounded() && abs(x) < 1e6 ? String(Int(x)) : "\(x)"
    }
    return "AdamW lr \(o.lr) (backbone ×\(number(o.backboneLRScale))), warm-up "
      + "\(number(o.warmupEpochs)) epochs then cosine to \(o.minLR), drop path \(number(dropPath)), "
      + "weight decay \(number(o.weightDecay)) (none on norms, biases, bias tables), "
      + "label smoothing \(number(o.labelSmoothing)), batch \(o.batchSize * o.accumulate)"
  }
}
