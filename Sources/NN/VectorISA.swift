// Which vector instruction set the C element-wise kernels (`CAttention`) run with, chosen once
// from the CPU: AVX-512, AVX2/FMA, or the portable Swift code (any CPU, `Vec8`). The Swift
// targets compile for baseline x86-64 (4-lane SSE); the C kernels carry their own target.

import CAttention

/// An instruction set of the element-wise kernels.
enum VectorISA: CaseIterable, Sendable {
  case avx512, avx2, portable

  /// The widest this CPU runs.
  static let best: VectorISA =
    vcoswin_has_avx512() != 0 ? .avx512 : (vcoswin_attention_has_avx2() != 0 ? .avx2 : .portable)

  /// Every instruction set this CPU runs (tests compare them with each other).
  static var supported: [VectorISA] {
    switch best {
    case .avx512: return [.avx512, .avx2, .portable]
    case .avx2: return [.avx2, .portable]
    case .portable: return [.portable]
    }
  }
}

/// What GELU and the AdamW update run with: `VectorISA.best` unless a test picks another.
nonisolated(unsafe) var elementwiseISA = VectorISA.best
