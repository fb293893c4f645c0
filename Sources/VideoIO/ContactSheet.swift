/// A contact sheet: frames laid out in a grid on a dark background, for looking at what a
/// model sees (`vcoswin sample --sheet`).
public enum ContactSheet {
  /// Lays out `rows` of frames (row `r`, column `c` = `rows[r][c]`) with `gap` pixels between
  /// cells. Cells are as large as the largest frame; smaller frames sit at their cell's
  /// top-left. `captions[r][c]` (for example the frame number) is written under its frame, and
  /// `rowLabels[r]` (for example which clip and crop the row shows) left of its row
  /// (`RGBImage.draw(text:)`). Text missing from a frame (`textFailure`) is missing from the
  /// sheet too. Precondition: at least one frame.
  public static func render(
    rows: [[RGBImage]], gap: Int = 2, captions: [[String]]? = nil, rowLabels: [String]? = nil
  ) -> RGBImage {
    let all = rows.flatMap { $0 }
    precondition(!all.isEmpty, "a contact sheet needs at least one frame")
    let cellW = max(
      all.map(\.width).max() ?? 1,
      (captions?.flatMap { $0 }.map { RGBImage.textWidth($0, scale: 1) }.max() ?? 0))
    let captionH = captions == nil ? 0 : RGBImage.textLineHeight(scale: 1) + 1
    let cellH = (all.map(\.height).max() ?? 1) + captionH
    let labelW =
      rowLabels.map { labels in (labels.map { RGBImage.textWidth($0, scale: 1) }.max() ?? 0) + gap }
      ?? 0
    let columns = rows.map(\.count).max() ?? 1
    let width = labelW + columns * cellW + (columns + 1) * gap
    let height = rows.count * cellH + (rows.count + 1) * gap
    var sheet = RGBImage(width: width, height: height, fill: (24, 24, 24))
    sheet.textFailure = all.lazy.compactMap(\.textFailure).first
    for (r, row) in rows.enumerated() {
      let y0 = gap + r * (cellH + gap)
      if let label = rowLabels?[safe: r] {
        sheet.draw(text: label, x: gap, y: y0 + (cellH - captionH) / 2 - 4, colour: (220, 220, 220))
      }
      for (c, image) in row.enumerated() {
        let x0 = labelW + gap + c * (cellW + gap)
        for y in 0..<image.height {
          let src = y * image.width * 3
          let dst = ((y0 + y) * width + x0) * 3
          sheet.pixels.replaceSubrange(
            dst..<(dst + image.width * 3), with: image.pixels[src..<(src + image.width * 3)])
        }
        if let caption = captions?[safe: r]?[safe: c] {
          sheet.draw(text: caption, x: x0, y: y0 + cellH - captionH + 1, colour: (200, 200, 200))
        }
      }
    }
    return sheet
  }

  /// The frames of a clip batch as images: `[view][t]`, undoing the normalisation
  /// (`v = (x · std + mean) · 255`, clamped to 0…255).
  public static func frames(
    of batch: ClipBatch, mean: [Float] = [0, 0, 0], std: [Float] = [1, 1, 1]
  )
    -> [[RGBImage]]
  {
    let (T, H, W) = (batch.frames, batch.height, batch.width)
    let plane = T * H * W
    return (0..<batch.count).map { v in
      (0..<T).map { t in
        var image = RGBImage(width: W, height: H)
        for c in 0..<3 {
          let base = v * 3 * plane + c * plane + t * H * W
          for i in 0..<(H * W) {
            let x = (batch.data[base + i] * std[c] + mean[c]) * 255
            image.pixels[i * 3 + c] = UInt8(max(0, min(255, x.rounded())))
          }
        }
        return image
      }
    }
  }
}

extension Array {
  /// The element at `i`, or nil outside the array.
  subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}
