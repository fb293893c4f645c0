// The one seam between the Swift code and the package's C kernels (`CKernels`): which
// instruction sets this CPU has (one CPUID read, `vcoswin_cpu_features`), and which kernel
// each family of kernels runs (`KernelSet.current`, chosen once from the CPU; tests and
// benchmarks set it to run every path the CPU has). The Swift targets compile for baseline
// x86-64; the C kernels carry their own target attributes and are only called when the CPU
// runs them.
//
// A new family (e.g. bf16 matrix products on AVX512_BF16 or AMX) adds its CPU feature bit
// (VCOSWIN_CPU_* in CKernels.h, read in cpu.c), an enum of its kernels with `requires` and
// `isAvailable` (as `GEMMKernel` and `VectorISA` have), and a field of `KernelSet` chosen in
// `init(cpu:)`; its tests loop over the kernels `isAvailable` accepts, setting that field.

import CKernels

/// The instruction sets of this CPU that the package's kernels can use.
public struct CPUFeatures: OptionSet, Sendable, Hashable {
  public let rawValue: UInt32
  public init(rawValue: UInt32) { self.rawValue = rawValue }

  /// AVX2 with FMA.
  public static let avx2 = CPUFeatures(rawValue: UInt32(VCOSWIN_CPU_AVX2_FMA))
  /// AVX-512 F and DQ (with AVX2 and FMA).
  public static let avx512 = CPUFeatures(rawValue: UInt32(VCOSWIN_CPU_AVX512))
  /// AVX512_BF16 (bf16 dot products; no kernel uses it yet).
  public static let avx512bf16 = CPUFeatures(rawValue: UInt32(VCOSWIN_CPU_AVX512_BF16))

  /// This CPU's, read once.
  public static let current = CPUFeatures(rawValue: vcoswin_cpu_features())
}

/// The vector instruction set of the row and element-wise C kernels (softmax, LayerNorm, GELU,
/// AdamW), or the portable Swift code that runs on any CPU.
public enum VectorISA: String, CaseIterable, Sendable {
  case avx512, avx2, portable

  /// What the CPU needs to run it.
  public var requires: CPUFeatures {
    switch self {
    case .avx512: return .avx512
    case .avx2: return .avx2
    case .portable: return []
    }
  }

  /// Whether this CPU runs it.
  public var isAvailable: Bool { CPUFeatures.current.contains(requires) }

  /// Every instruction set this CPU runs, widest first (tests run each against the references).
  public static var supported: [VectorISA] { allCases.filter(\.isAvailable) }

  /// The widest this CPU runs (`KernelSet.best.vector`).
  public static var best: VectorISA { KernelSet.best.vector }
}

/// The kernel of each family: one value, `current`, read by every kernel call.
public struct KernelSet: Sendable, Hashable {
  /// Matrix products of linear layers and convolutions (`gemm`).
  public var gemm: GEMMKernel
  /// Row and element-wise kernels (softmax, LayerNorm, GELU, AdamW); with `.avx512` also
  /// window attention's small products (otherwise those go through `gemm`).
  public var vector: VectorISA

  public init(gemm: GEMMKernel, vector: VectorISA) {
    self.gemm = gemm
    self.vector = vector
  }

  /// The widest kernel of each family that `cpu` runs.
  public init(cpu: CPUFeatures) {
    gemm = cpu.contains(.avx512) ? .avx512 : .openBLAS
    vector = VectorISA.allCases.first { cpu.contains($0.requires) } ?? .portable
  }

  /// The widest of each family on this CPU.
  public static let best = KernelSet(cpu: .current)

  /// What the kernels run with: `best` unless a test or benchmark sets another (only while
  /// no kernel runs).
  nonisolated(unsafe) public static var current = best

  /// Whether this CPU runs every kernel of the set.
  public var isAvailable: Bool { gemm.isAvailable && vector.isAvailable }
}
