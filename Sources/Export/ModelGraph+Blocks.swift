// A Swin block as ONNX operators: (shifted) window attention with relative position bias and
// the shift mask, then the MLP; both pre-norm with residuals (torchvision's
// `shifted_window_attention_3d`, and the package's SwinBlock / WindowAttention).
//
// Legend: B batch; T', H', W' token grid; Tp, Hp, Wp padded grid (multiples of the window);
//         Wt, Wh, Ww window; St, Sh, Sw shift; n = Wt·Wh·Ww tokens per window; nW windows per
//         sample; G = B·nW windows; C channels; A heads; D = C/A; R bias-table rows; F MLP width.
//
//   h = LN₁(x)                                         [B, T', H', W', C]
//   pad at the end with zeros to [Tp, Hp, Wp]; roll by −shift (Slice + Concat per dimension)
//   windows: Reshape [B, Tp/Wt, Wt, Hp/Wh, Wh, Wp/Ww, Ww, C] → Transpose → [G, n, C]
//   q, k, v = windows · W{q,k,v}ᵀ + b{q,k,v} (the rows of qkv.weight) → heads [G, A, n, D]
//   S = (q · D^−½) · kᵀ + bias [A, n, n] (+ mask [nW, 1, n, n])      [G, A, n, n]
//   O = softmax(S) · v → [G, n, C] → · W_projᵀ + b_proj
//   reverse the windows, roll by +shift, crop to [T', H', W'];  x = x + O
//   x = x + W₂ · GELU(W₁ · LN₂(x) + b₁) + b₂
//
// bias[a, i, j] = table[index[i, j], a] is a Gather of the block's table by a constant index
// (one per stage); the mask is −100 where a query and key of a window lie in different shift
// regions: Where(Equal(region_i, region_j), 0, −100) of a constant region label per window
// position (one per stage). Both depend on constants only, so runtimes fold them once when
// they load the model, and the file keeps the tables (R·A floats) and labels (nW·n), not the
// gathered bias (A·n² per block) and mask (nW·n² per stage).

import NN

/// The constants a stage's blocks share.
struct StageConstants {
  /// `[n, n]` Int64 rows of the bias table per (query, key) pair.
  var index: String
  /// `[nW, 1, n, n]` shift mask (0 or −100) of the shifted blocks; nil when nothing is shifted.
  var mask: String?
}

extension ModelGraph {
  /// The relative position index and shift mask of stage `i` (the mask only when the stage has
  /// a shifted block, one of at least two, and something is shifted).
  func stageConstants(_ stage: StagePlan, stage i: Int) -> StageConstants {
    g.scope = "stage\(i)"
    let geo = stage.plain
    precondition(
      geo.window == stage.shifted.window && geo.padded == stage.shifted.padded,
      "a stage's plain and shifted blocks share their windows")
    let n = geo.tokensPerWindow
    let index = relativePositionIndex(
      configured: geo.configuredWindow, used: geo.window, positions: stage.positions)  // [n·n]
    let indexName = g.constant(
      "stage\(i).relative_position_index", shape: [n, n], int64s: index.map(Int64.init))
    guard config.depths[i] > 1, stage.shifted.isShifted else {
      return StageConstants(index: indexName, mask: nil)
    }
    let nW = stage.shifted.windowsPerSample
    let labels = ShiftMask(geometry: stage.shifted).labels  // [nW·n] region of each position
    let rows = g.constant("stage\(i).shift_regions", shape: [nW, 1, n, 1], floats: labels)
    let columns = g.reshape(rows, [nW, 1, 1, n])
    let same = g.op("Equal", [rows, columns])  // [nW, 1, n, n]
    let mask = g.op("Where", [same, g.scalar(0), g.scalar(-100)], label: "shift_mask")
    return StageConstants(index: indexName, mask: mask)
  }

  /// One block on tokens `x [B, T', H', W', C]`; returns the block's output, same shape.
  func block(
    _ x: String, stage: StagePlan, constants: StageConstants, name: String, shifted: Bool
  ) throws -> String {
    g.scope = name
    let geo = shifted ? stage.shifted : stage.plain
    let (c, a) = (stage.channels, stage.heads)
    var h = try layerNorm(x, name + ".norm1", channels: c)
    h = try attention(
      h, geo: geo, mask: geo.isShifted ? constants.mask : nil, index: constants.index,
      name: name + ".attn", channels: c, heads: a)
    let x1 = g.op("Add", [x, h], label: "residual1")
    let hidden = stage.hidden
    var m = try layerNorm(x1, name + ".norm2", channels: c)
    m = try linear(m, name + ".mlp.0", in: c, out: hidden)
    m = g.gelu(m)
    m = try linear(m, name + ".mlp.3", in: hidden, out: c)
    return g.op("Add", [x1, m], label: "residual2")
  }

  /// Window attention of normalised tokens `h [B, T', H', W', C]` (see the file's legend).
  func attention(
    _ h: String, geo: WindowGeometry, mask: String?, index: String, name: String, channels c: Int,
    heads a: Int
  ) throws -> String {
    let (d, n, nW) = (c / a, geo.tokensPerWindow, geo.windowsPerSample)
    let (win, padded, grid) = (geo.window, geo.padded, geo.windowGrid)
    var y = h
    if padded != geo.size {
      y = g.padEnd(y, after: [0] + zip(padded, geo.size).map { $0 - $1 } + [0])
    }
    for axis in 0..<3 where geo.shift[axis] > 0 {
      y = roll(y, axis: axis + 1, by: -geo.shift[axis], size: padded[axis])
    }
    // Windows [G, n, C], window-major then (t, h, w) inside a window.
    let onlyOne = grid == [1, 1, 1]
    if !onlyOne {
      y = g.reshape(y, [-1, grid[0], win[0], grid[1], win[1], grid[2], win[2], c])
      y = g.transpose(y, [0, 1, 3, 5, 2, 4, 6, 7])
    }
    let windows = g.reshape(y, [-1, n, c])
    let qkvW = try weights.values(name + ".qkv.weight", [3 * c, c])
    let qkvB = try weights.values(name + ".qkv.bias", [3 * c])
    func project(_ part: Int, _ label: String, _ perm: [Int]) -> String {
      let rows = (part * c)..<((part + 1) * c)
      let p = g.linear(
        windows, name: name + ".qkv." + label,
        weight: Array(qkvW[(rows.lowerBound * c)..<(rows.upperBound * c)]),
        bias: Array(qkvB[rows]), inFeatures: c, outFeatures: c)  // [G, n, C]
      return g.transpose(g.reshape(p, [-1, n, a, d]), perm)
    }
    let q = g.op("Mul", [project(0, "q", [0, 2, 1, 3]), g.scalar(1 / Float(d).squareRoot())])
    let kT = project(1, "k", [0, 2, 3, 1])  // [G, A, D, n]
    let v = project(2, "v", [0, 2, 1, 3])  // [G, A, n, D]
    let rows = relativePositionTableRows(window: geo.configuredWindow)
    let table = g.constant(
      name + ".relative_position_bias_table", shape: [rows, a],
      floats: try weights.values(name + ".relative_position_bias_table", [rows, a]))
    let bias = g.transpose(
      g.op("Gather", [table, index], [ONNXAttribute("axis", .int(0))]), [2, 0, 1])  // [A, n, n]
    var s = g.op("Add", [g.op("MatMul", [q, kT], label: "scores"), bias])  // [G, A, n, n]
    if let mask {
      s = g.reshape(g.op("Add", [g.reshape(s, [-1, nW, a, n, n]), mask]), [-1, a, n, n])
    }
    let p = g.op("Softmax", [s], [ONNXAttribute("axis", .int(-1))])
    var o = g.op("MatMul", [p, v])  // [G, A, n, D]
    o = g.reshape(g.transpose(o, [0, 2, 1, 3]), [-1, n, c])
    o = try linear(o, name + ".proj", in: c, out: c)
    // Back to tokens [B, Tp, Hp, Wp, C].
    if !onlyOne {
      o = g.reshape(o, [-1, grid[0], grid[1], grid[2], win[0], win[1], win[2], c])
      o = g.transpose(o, [0, 1, 4, 2, 5, 3, 6, 7])
    }
    o = g.reshape(o, [-1] + padded + [c])
    for axis in 0..<3 where geo.shift[axis] > 0 {
      o = roll(o, axis: axis + 1, by: geo.shift[axis], size: padded[axis])
    }
    if padded != geo.size { o = g.crop(o, axes: [1, 2, 3], ends: geo.size) }
    return o
  }

  /// A cyclic roll of `x` along `axis` (of extent `size`) by `shift` (torch.roll:
  /// `y[p] = x[(p − shift) mod size]`), as two Slices and a Concat.
  func roll(_ x: String, axis: Int, by shift: Int, size: Int) -> String {
    let s = ((shift % size) + size) % size
    guard s != 0 else { return x }
    let tail = g.slice(x, axis: axis, from: size - s, to: size)
    let head = g.slice(x, axis: axis, from: 0, to: size - s)
    return g.concat([tail, head], axis: axis)
  }
}
