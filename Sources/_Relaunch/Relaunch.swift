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
/// `blasThreadTimeout` and re-executes the program (OpenBLAS reads it only when it loads,
/// before `main`). Returns normally when it is already set or the re-execution fails.
public func restartWithShortBLASSpin() {
  guard getenv("OPENBLAS_THREAD_TIMEOUT") == nil else { return }
  setenv("OPENBLAS_THREAD_TIMEOUT", blasThreadTimeout, 1)
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
