import CFFmpeg

/// Frame number ↔ timestamp for one video stream, built by demuxing every packet once.
///
/// Frame `n` is the `n`-th frame in presentation order: the packets' presentation timestamps
/// (pts) sorted ascending. Decoded frames are recognised by their timestamp, so a
/// variable-frame-rate file, or one whose decode order differs from presentation order
/// (B-frames), still maps frame numbers exactly. When timestamps are missing or repeat, span
/// more than Int64 holds, or
/// only decode timestamps exist while the codec reorders frames (AVI with B-frames: its
/// timestamps count packets in decode order, not frames in presentation order), the index is
/// `sequential`: frames are numbered in the order the decoder returns them, and the reader
/// only ever seeks back to the start.
struct FrameIndex {
  /// Presentation timestamps in stream time base, ascending; `pts[n]` is frame `n`'s.
  var pts: [Int64] = []
  /// Frame numbers of the keyframes (ascending), where decoding can start after a seek.
  var keyframes: [Int] = []
  /// Per keyframe (same order as `keyframes`): the timestamp to seek to (its dts when known).
  var keyframeSeekTimestamps: [Int64] = []
  /// Timestamp → frame number.
  var numberOfPts: [Int64: Int] = [:]
  /// True when frames are numbered by decode order (timestamps missing or repeated).
  var sequential = false
  /// Mean packet duration in stream time base (0 when unknown).
  var lastDuration: Int64 = 0

  var count: Int { pts.count }

  /// Demuxes every packet of stream `streamIndex` of `input`, leaving `input` at its end.
  /// `reorders`: the codec may output frames in another order than it reads packets.
  ///
  /// A read error in the middle (a truncated file) ends the scan: the frames read so far are
  /// the file's frames.
  init(scanning input: InputContext, streamIndex: Int, reorders: Bool) throws {
    let packet = try Packet(path: input.path)
    let noPts = vc_nopts_value()
    struct Entry {
      var pts: Int64
      var seek: Int64
      var key: Bool
    }
    var entries: [Entry] = []
    var missing = false
    var decodeOrderOnly = false
    while av_read_frame(input.pointer, packet.pointer) >= 0 {
      defer { av_packet_unref(packet.pointer) }
      let p = packet.pointer.pointee
      guard Int(p.stream_index) == streamIndex, p.size > 0 else { continue }
      if p.flags & AV_PKT_FLAG_DISCARD != 0 { continue }
      let ts = p.pts != noPts ? p.pts : p.dts
      if ts == noPts { missing = true }
      if p.pts == noPts { decodeOrderOnly = true }
      entries.append(
        Entry(
          pts: ts, seek: p.dts != noPts ? p.dts : ts, key: p.flags & AV_PKT_FLAG_KEY != 0))
      if p.duration > 0 { lastDuration = p.duration }
    }
    guard !entries.isEmpty else { return }
    if !entries[0].key { entries[0].key = true }  // decoding can always start at the start

    let sortedPts = entries.map(\.pts).sorted()
    var repeated = false
    for i in 1..<sortedPts.count where sortedPts[i] == sortedPts[i - 1] {
      repeated = true
      break
    }
    // Timestamps whose span does not fit in Int64 (a hostile or damaged file: FFmpeg's own
    // timestamp arithmetic wrapped) cannot be subtracted: such a file is numbered as decoded.
    let spanOverflows = sortedPts[sortedPts.count - 1].subtractingReportingOverflow(sortedPts[0])
      .overflow
    if missing || repeated || spanOverflows || (decodeOrderOnly && reorders) {
      sequential = true
      pts = (0..<Int64(entries.count)).map { $0 }
      keyframes = [0]
      keyframeSeekTimestamps = [entries[0].seek]
      return
    }
    pts = sortedPts
    numberOfPts.reserveCapacity(pts.count)
    for (n, t) in pts.enumerated() { numberOfPts[t] = n }
    var keys: [(Int, Int64)] = []
    for e in entries where e.key {
      if let n = numberOfPts[e.pts] { keys.append((n, e.seek)) }
    }
    keys.sort { $0.0 < $1.0 }
    if keys.first?.0 != 0 {
      // The first frame in presentation order can always be reached from the start.
      keys.insert((0, entries[0].seek), at: 0)
    }
    keyframes = keys.map(\.0)
    keyframeSeekTimestamps = keys.map(\.1)
  }

  /// The position in `keyframes` of the last keyframe at or before frame `n`.
  func keyframePosition(atOrBefore n: Int) -> Int {
    var lo = 0
    var hi = keyframes.count - 1
    while lo < hi {
      let mid = (lo + hi + 1) / 2
      if keyframes[mid] <= n { lo = mid } else { hi = mid - 1 }
    }
    return lo
  }
}
