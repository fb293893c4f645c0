// Tolerance assertions shared by the test targets: one rule, with the worst element reported.

import XCTest

/// Asserts `|a − e| ≤ atol + rtol·max(|e|, floor)` for each of the `count` element pairs `a` of
/// `actual` and `e` of `expected`, and reports the element that exceeds it most.
///
/// `floor` bounds the relative part from below, for entries near zero (`atol: 0, rtol: r,
/// floor: f` is a relative error `|a − e| / max(|e|, f) ≤ r`). A NaN on either side fails.
///
/// - Precondition: `actual` and `expected` hold `count` readable elements each.
public func assertClose(
  _ actual: UnsafePointer<Float>, _ expected: UnsafePointer<Float>, count: Int,
  atol: Float, rtol: Float, floor: Float = 0, _ label: String,
  file: StaticString = #filePath, line: UInt = #line
) {
  var worst = -1
  var worstExcess: Float = 0
  for i in 0..<count {
    let a = actual[i]
    let e = expected[i]
    let bound = atol + rtol * max(abs(e), floor)
    if abs(a - e) <= bound { continue }
    let excess = abs(a - e) - bound
    if worst < 0 || excess > worstExcess || excess.isNaN {
      worst = i
      worstExcess = excess
    }
  }
  if worst >= 0 {
    XCTFail(
      "\(label): element \(worst) is \(actual[worst]), expected \(expected[worst]) "
        + "(atol \(atol), rtol \(rtol), floor \(floor))", file: file, line: line)
  }
}

/// Array form of `assertClose`: the counts must match (a mismatch is a failure, and the common
/// prefix is still compared).
public func assertClose(
  _ actual: [Float], _ expected: [Float], atol: Float, rtol: Float, floor: Float = 0,
  _ label: String, file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertEqual(actual.count, expected.count, "\(label): count", file: file, line: line)
  actual.withUnsafeBufferPointer { a in
    expected.withUnsafeBufferPointer { e in
      guard let ap = a.baseAddress, let ep = e.baseAddress else { return }
      assertClose(
        ap, ep, count: min(a.count, e.count), atol: atol, rtol: rtol, floor: floor, label,
        file: file, line: line)
    }
  }
}
