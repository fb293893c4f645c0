// The most probable classes of a probability row, and their JSON form (`classify --json`,
// `timeline --json`).
//
// Legend: K classes.

/// The `k` most probable classes of `probs` `[K]`, most probable first (the lower index first
/// among equals): `(index, prob)`.
public func topK(_ probs: [Float], _ k: Int) -> [(index: Int, prob: Float)] {
  Array(
    probs.enumerated().sorted {
      $0.element != $1.element ? $0.element > $1.element : $0.offset < $1.offset
    }
    .prefix(k).map { ($0.offset, $0.element) })
}

/// `[{"label", "index", "prob"}]` of the `k` most probable classes of `probs` `[K]`, most
/// probable first, as `JSONSerialization` writes it: the `top` list of `classify --json` and
/// of each window of `timeline --json`. Precondition: `labels` names every class of `probs`.
public func topList(_ probs: [Float], _ k: Int, labels: [String]) -> [[String: Any]] {
  topK(probs, k).map { ["label": labels[$0.index], "index": $0.index, "prob": Double($0.prob)] }
}
