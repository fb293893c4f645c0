// The executables' first step: run with a short OpenBLAS spin. Kept out of the libraries,
// because replacing the process image is a program's decision, not a library's.

import Foundation

/// The `OPENBLAS_THREAD_TIMEOUT` programs run with: idle OpenBLAS workers spin for
/// 2^4 cycles before sleeping instead of OpenBLAS's 2^28 (≈ 0.1 s). Between two GEMMs the
/// long spin (in `sched_yield`) takes the cores the package's own loops want; on 2 cores
/// inference runs 5–25 % faster with the short one (Docs/BENCHMARKS.md, Models). `make test`
/// sets the same value for the test process, which cannot re-execute itself.
public let blasThreadTimeout = "4"

/// Call first thing in `main`: when `OPENBLAS_THREAD_TIMEOUT` is unset, sets it to
/// `blasThreadTimeout`; when OpenBLAS picked kernels narrower than the CPU runs (see
/// `blasCoreType`), sets `OPENBLAS_CORETYPE`; then re-executes the program once (OpenBLAS reads
/// both only when it loads, before `main`). Returns normally when nothing is to change or the
/// re-execution fails.
public func restartWithShortBLASSpin() {
  var changed = false
  if getenv("OPENBLAS_THREAD_TIMEOUT") == nil {
    setenv("OPENBLAS_THREAD_TIMEOUT", blasThreadTimeout, 1)
    changed = true
  }
  if getenv("OPENBLAS_CORETYPE") == nil, let core = blasCoreType() {
    setenv("OPENBLAS_CORETYPE", core, 1)
    changed = true
  }
  guard changed else { return }
  #if os(Linux)
    // Exec the binary by its real path, not `/proc/self/exe`: the kernel names the process after
    // the file executed, so `ps`, `top` and `pgrep -x vcoswin` keep seeing `vcoswin`.
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let path =
      n > 0
      ? String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
      : "/proc/self/exe"
    execv(path, CommandLine.unsafeArgv)
  #endif
}

/// The OpenBLAS core to ask for when the one it detected is narrower than the CPU, else nil.
///
/// OpenBLAS (0.3.21, built for every architecture) picks its kernels from the CPU model number;
/// a model newer than the library (family 6 model 207, a Xeon with AVX-512, on this project's
/// machines) gets the generic SSE3 kernels (`Prescott`), a tenth of the sgemm rate. When the
/// CPU has AVX-512 (F, BW, VL, DQ, CD) but the core is not an AVX-512 one, this asks for
/// `SkylakeX`; with AVX2 and FMA but a pre-AVX2 core, for `Haswell`.
func blasCoreType() -> String? {
  guard let symbol = dlsym(nil, "openblas_get_corename")
  else { return nil }  // not linked with OpenBLAS (a null handle is RTLD_DEFAULT)
  typealias CoreName = @convention(c) () -> UnsafePointer<CChar>?
  guard let name = unsafeBitCast(symbol, to: CoreName.self)() else { return nil }
  let core = String(cString: name).lowercased()
  guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
    let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
  else { return nil }
  let flags = Set(line.split(separator: " ").map(String.init))
  let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]
  let avx2Cores = avx512Cores.union(["haswell", "zen"])
  if ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy(flags.contains) {
    return avx512Cores.contains(core) ? nil : "SkylakeX"
  }
  if flags.contains("avx2") && flags.contains("fma") {
    return avx2Cores.contains(core) ? nil : "Haswell"
  }
  return nil
}
