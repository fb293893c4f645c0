/// Chooses the frame numbers of the clips taken from a video, with the semantics of
/// mmaction2's `SampleFrames`.
///
/// With `T` = `clipLength`, `I` = `frameInterval`, `N` = `numClips`, `F` = frame count and
/// `L = T·I` (the span of one clip), clip `k` starts at offset `o_k` and holds frames
/// `o_k + j·I` for `j = 0..<T`. The offsets are:
///
/// - **test mode** (evenly spaced, deterministic):
///   - `T == 1` (image models): `o_k = floor(k·F/N + F/(2N))`;
///   - `T > 1`: `m = max(F − L, 0)`; `N == 1`: `o_0 = m / 2` (integer division);
///     `N > 1`: `o_k = round(k·m/(N−1))`, rounding half to even as `np.round`.
/// - **train mode** (random, from the seeded generator): `a = (F − L + 1) / N` (integer division);
///   - `a > 0`: `o_k = k·a + U{0..<a}` (one random offset inside each of `N` segments);
///   - else if `F > max(N, L)`: `N` draws of `U{0…F−L}`, sorted;
///   - else if `a == 0`: `o_k = round(k·(F − L + 1)/N)`;
///   - else `o_k = 0`.
///
/// Frame numbers past the end are then mapped by `outOfBound`: `.loop` takes them modulo `F`
/// (`out_of_bound_opt='loop'`, the default); `.repeatLast` replaces them with the clip's last
/// in-range frame (`'repeat_last'`).
public struct ClipSampler: Sendable, Equatable {
  /// How clip offsets are chosen: `test` evenly spaced, `train` random per segment.
  public enum Mode: String, Sendable, CaseIterable { case test, train }

  /// What a frame number past the end becomes.
  public enum OutOfBound: String, Sendable, CaseIterable {
    /// Modulo the frame count (wraps to the start).
    case loop
    /// The clip's last in-range frame.
    case repeatLast = "repeat-last"
  }

  /// Frames per clip, `T` ≥ 1.
  public var clipLength: Int
  /// Step between the frames of a clip, `I` ≥ 1.
  public var frameInterval: Int
  /// Clips per video, `N` ≥ 1.
  public var numClips: Int
  public var mode: Mode
  public var outOfBound: OutOfBound

  /// Precondition: `clipLength`, `frameInterval`, `numClips` ≥ 1.
  public init(
    clipLength: Int, frameInterval: Int = 1, numClips: Int = 1, mode: Mode = .test,
    outOfBound: OutOfBound = .loop
  ) {
    precondition(
      clipLength >= 1 && frameInterval >= 1 && numClips >= 1, "sampler sizes must be >= 1")
    self.clipLength = clipLength
    self.frameInterval = frameInterval
    self.numClips = numClips
    self.mode = mode
    self.outOfBound = outOfBound
  }

  /// Frame numbers `[numClips][clipLength]` for a video of `frameCount` frames, each in
  /// `0..<frameCount`. `random` is used in train mode only.
  /// Precondition: `frameCount ≥ 1`.
  public func sample(frameCount: Int, random: inout SplitMix64) -> [[Int]] {
    precondition(frameCount >= 1, "a video has at least one frame")
    let offsets = mode == .test ? testOffsets(frameCount) : trainOffsets(frameCount, &random)
    return offsets.map { offset in
      let raw = (0..<clipLength).map { offset + $0 * frameInterval }
      switch outOfBound {
      case .loop:
        return raw.map { $0 % frameCount }
      case .repeatLast:
        let last = raw.filter { $0 < frameCount }.max() ?? 0
        return raw.map { $0 < frameCount ? $0 : last }
      }
    }
  }

  /// `sample` with a generator seeded by `seed`.
  public func sample(frameCount: Int, seed: UInt64 = 0) -> [[Int]] {
    var random = SplitMix64(seed: seed)
    return sample(frameCount: frameCount, random: &random)
  }

  private var span: Int { clipLength * frameInterval }

  private func testOffsets(_ frames: Int) -> [Int] {
    if clipLength == 1 {
      let step = Double(frames) / Double(numClips)
      return (0..<numClips).map { Int((Double($0) * step + step / 2).rounded(.down)) }
    }
    let maxOffset = max(frames - span, 0)
    if numClips == 1 { return [maxOffset / 2] }
    let between = Double(maxOffset) / Double(numClips - 1)
    return (0..<numClips).map { Int((Double($0) * between).rounded(.toNearestOrEven)) }
  }

  private func trainOffsets(_ frames: Int, _ random: inout SplitMix64) -> [Int] {
    // Floor division, as Python's `//` (the sign of `average` picks the branch).
    let numerator = frames - span + 1
    let average = numerator >= 0 ? numerator / numClips : -((-numerator + numClips - 1) / numClips)
    if average > 0 {
      return (0..<numClips).map { $0 * average + random.below(average) }
    }
    if frames > max(numClips, span) {
      return (0..<numClips).map { _ in random.below(frames - span + 1) }.sorted()
    }
    if average == 0 {
      let ratio = Double(frames - span + 1) / Double(numClips)
      return (0..<numClips).map { Int((Double($0) * ratio).rounded(.toNearestOrEven)) }
    }
    return [Int](repeating: 0, count: numClips)
  }
}
