import Foundation

/// A small, fast, seedable generator (xoshiro256**), seeded through SplitMix64.
///
/// Deterministic for a given seed on every platform; its state can be saved and restored
/// (`state`) so that a resumed training run draws the same numbers as an uninterrupted one.
public struct SeededRandom: RandomNumberGenerator, Sendable, Codable, Equatable {
  public var state: [UInt64]

  public init(seed: UInt64) {
    var z = seed
    var s = [UInt64]()
    for _ in 0..<4 {
      z &+= 0x9E37_79B9_7F4A_7C15
      var x = z
      x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
      x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
      s.append(x ^ (x >> 31))
    }
    state = s
  }

  public mutating func next() -> UInt64 {
    let result = rotl(state[1] &* 5, 7) &* 9
    let t = state[1] << 17
    state[2] ^= state[0]
    state[3] ^= state[1]
    state[1] ^= state[2]
    state[0] ^= state[3]
    state[2] ^= t
    state[3] = rotl(state[3], 45)
    return result
  }

  private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

  /// Uniform in [0, 1).
  public mutating func uniform() -> Float { Float(next() >> 40) * (1.0 / Float(1 << 24)) }

  /// Standard normal (Box–Muller).
  public mutating func normal() -> Float {
    var u1 = Double(next() >> 11) * (1.0 / Double(1 << 53))
    if u1 < 1e-300 { u1 = 1e-300 }
    let u2 = Double(next() >> 11) * (1.0 / Double(1 << 53))
    return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
  }

  /// Normal with standard deviation `std`, redrawn until inside `[-2·std, 2·std]`
  /// (the truncated normal that Swin uses to initialise linears and bias tables).
  public mutating func truncatedNormal(std: Float) -> Float {
    while true {
      let v = normal()
      if abs(v) <= 2 { return v * std }
    }
  }
}
