import Foundation
import VideoIO

/// What moves in a clip: the action class of the synthetic dataset. A single frame cannot
/// tell these apart (position, angle and size are random at every frame); two frames can.
public enum MotionClass: Int, CaseIterable, Sendable {
  case moveLeft, moveRight, moveUp, moveDown, rotateClockwise, rotateAnticlockwise, grow, shrink

  /// The classes a horizontal mirror swaps, for `--flip-map`: a mirrored clip that moves
  /// left moves right, and one that turns clockwise turns anticlockwise.
  public static let mirrorPairs = "move_left=move_right,rotate_clockwise=rotate_anticlockwise"

  /// The label name written to `motion_labels.txt`.
  public var name: String {
    [
      "move_left", "move_right", "move_up", "move_down", "rotate_clockwise",
      "rotate_anticlockwise", "grow", "shrink",
    ][rawValue]
  }
}

/// The shape drawn: the image class of the synthetic dataset (visible in any single frame).
public enum ShapeClass: Int, CaseIterable, Sendable {
  case circle, square, triangle, star, cross, crescent

  /// The label name written to `shape_labels.txt`.
  public var name: String {
    ["circle", "square", "triangle", "star", "cross", "crescent"][rawValue]
  }

  /// Outline in shape units (radius 1), for the polygon shapes; nil for the circle and the
  /// crescent (the unit disc, less a disc of radius 0.75 centred at (0.45, 0)).
  var polygon: [(Double, Double)]? {
    func ring(_ n: Int, _ radius: (Int) -> Double, start: Double = -Double.pi / 2) -> [(
      Double, Double
    )] {
      (0..<n).map { k in
        let a = start + 2 * Double.pi * Double(k) / Double(n)
        return (radius(k) * cos(a), radius(k) * sin(a))
      }
    }
    switch self {
    case .circle, .crescent: return nil
    case .square: return ring(4, { _ in 0.95 }, start: Double.pi / 4)
    case .triangle: return ring(3, { _ in 1 })
    case .star: return ring(10, { $0 % 2 == 0 ? 1 : 0.45 })
    case .cross:
      let a = 0.32
      let b = 0.95
      return [
        (-a, -b), (a, -b), (a, -a), (b, -a), (b, a), (a, a), (a, b), (-a, b), (-a, a),
        (-b, a), (-b, -a), (-a, -a),
      ]
    }
  }
}

/// Fill pattern of a shape, drawn in the shape's own coordinates (so it turns with it).
public enum Texture: Int, CaseIterable, Sendable { case solid, stripes, checks }

/// One synthetic clip: a textured shape on a static background, moving in one way.
///
/// Every frame of every class is drawn from the same distribution of position, size and
/// angle, so a single frame says nothing about the motion class: a clip draws a speed along
/// x and y, a log-scale speed and a rotation speed whatever its class; its motion applies one
/// of them over time (frame offset `u` from the middle frame), and the others stay at a
/// random frame offset (`phase`) for the whole clip. The per-frame marginals therefore
/// match those of a clip that moves along every axis.
public struct Scene: Sendable {
  public var shape: ShapeClass
  public var motion: MotionClass
  public var texture: Texture
  /// Shape colour and second (texture) colour, RGB 0…1.
  public var colour: (Double, Double, Double)
  public var textureColour: (Double, Double, Double)
  /// Background: a gradient between two colours along `gradientAngle`, or smooth noise
  /// (a coarse random grid interpolated bilinearly) when `noise` is set.
  public var background: ((Double, Double, Double), (Double, Double, Double))
  public var gradientAngle: Double
  public var noise: [Double]?
  /// Centre (pixels), radius (pixels) and angle (radians) at frame offset 0.
  public var centre: (Double, Double)
  public var radius: Double
  public var angle: Double
  /// Speeds per frame: pixels along x and y, log-scale, radians (clockwise positive).
  public var velocity: (Double, Double)
  public var growth: Double
  public var spin: Double
  /// Frame offsets at which the axes the motion leaves alone are held: x, y, scale.
  public var phase: (Double, Double, Double)

  /// Draws a random scene of the given classes for a `size`×`size` clip of `frames` frames.
  public static func random(
    shape: ShapeClass, motion: MotionClass, size: Int, frames: Int, random r: inout SplitMix64
  ) -> Scene {
    let s = Double(size)
    let span = Double(max(frames - 1, 1))
    let hue = r.unit()
    let colour = hsv(hue, r.uniform(0.55...1), r.uniform(0.75...1))
    let dark = hsv(r.unit(), r.uniform(0.2...0.8), r.uniform(0.08...0.4))
    let dark2 = hsv(r.unit(), r.uniform(0.2...0.8), r.uniform(0.08...0.4))
    var texture = Texture(rawValue: r.below(3)) ?? .solid
    if shape == .circle && texture == .solid { texture = .stripes }  // rotation must show
    // Class-independent draws: every clip has all four speeds and three phases.
    let radius = s * r.uniform(0.27...0.33)
    let growth = log(r.uniform(1.4...1.7)) / span
    let velocity = (s * r.uniform(0.2...0.32) / span, s * r.uniform(0.2...0.32) / span)
    let spin = r.uniform(0.08...0.16)
    let offset = { (r: inout SplitMix64) in Double(r.below(max(frames, 1))) - Double(frames - 1) / 2
    }
    let phase = (offset(&r), offset(&r), offset(&r))
    // The centre keeps the largest shape mostly in the frame along the whole path.
    let largest = radius * exp(growth * span / 2)
    let mx = min(0.7 * largest + velocity.0 * span / 2, s / 2 - 1)
    let my = min(0.7 * largest + velocity.1 * span / 2, s / 2 - 1)
    var noise: [Double]? = nil
    if r.unit() < 0.5 { noise = (0..<25).map { _ in r.unit() } }
    return Scene(
      shape: shape, motion: motion, texture: texture, colour: colour,
      textureColour: (colour.0 * 0.65, colour.1 * 0.65, colour.2 * 0.65),
      background: (dark, dark2), gradientAngle: r.uniform(0...(2 * Double.pi)), noise: noise,
      centre: (r.uniform(mx...(s - mx)), r.uniform(my...(s - my))),
      radius: radius, angle: r.uniform(0...(2 * Double.pi)), velocity: velocity, growth: growth,
      spin: spin, phase: phase)
  }

  /// Centre, radius and angle at frame offset `u` (frames from the middle frame).
  public func pose(at u: Double) -> (x: Double, y: Double, radius: Double, angle: Double) {
    var (ux, uy, us) = phase
    var a = angle
    switch motion {
    case .moveLeft: ux = -u
    case .moveRight: ux = u
    case .moveUp: uy = -u
    case .moveDown: uy = u
    case .rotateClockwise: a += spin * u  // y points down: positive angles turn clockwise
    case .rotateAnticlockwise: a -= spin * u
    case .grow: us = u
    case .shrink: us = -u
    }
    return (centre.0 + velocity.0 * ux, centre.1 + velocity.1 * uy, radius * exp(growth * us), a)
  }

  /// Renders frame `t` of `frames` at `size`×`size`, 2×2 supersampled at the shape's edge.
  public func render(frame t: Int, of frames: Int, size: Int) -> RGBImage {
    render(at: Double(t) - Double(frames - 1) / 2, size: size)
  }

  /// Renders the scene at frame offset `u` (frames from the middle frame, any value). With
  /// `wrap` the frame is a torus: a shape leaving one side comes back at the other, so a
  /// translation can go on for longer than one clip (long videos).
  public func render(at u: Double, size: Int, wrap: Bool = false) -> RGBImage {
    let (cx, cy, r, a) = pose(at: u)
    let s = Double(size)
    let (ca, sa) = (cos(a), sin(a))
    let outline = shape.polygon
    var image = RGBImage(width: size, height: size)
    let offsets = [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)]
    for y in 0..<size {
      for x in 0..<size {
        let bg = backgroundColour(Double(x) + 0.5, Double(y) + 0.5, size: Double(size))
        var acc = (0.0, 0.0, 0.0)
        for (ox, oy) in offsets {
          var dx = Double(x) + ox - cx
          var dy = Double(y) + oy - cy
          if wrap {
            dx -= s * (dx / s).rounded()
            dy -= s * (dy / s).rounded()
          }
          // Shape coordinates: undo the rotation and scale.
          let qx = (ca * dx + sa * dy) / r
          let qy = (-sa * dx + ca * dy) / r
          var c = bg
          if Scene.inside(qx, qy, outline, crescent: shape == .crescent) { c = fill(qx, qy) }
          acc = (acc.0 + c.0 / 4, acc.1 + c.1 / 4, acc.2 + c.2 / 4)
        }
        image[x, y] = (byte(acc.0), byte(acc.1), byte(acc.2))
      }
    }
    return image
  }

  private func fill(_ qx: Double, _ qy: Double) -> (Double, Double, Double) {
    switch texture {
    case .solid: return colour
    case .stripes: return sin(qx * 9) > 0 ? colour : textureColour
    case .checks:
      let k = Int((qx + 2) * 2.5) + Int((qy + 2) * 2.5)
      return k % 2 == 0 ? colour : textureColour
    }
  }

  private func backgroundColour(_ x: Double, _ y: Double, size: Double) -> (Double, Double, Double)
  {
    var w: Double
    if let grid = noise {
      let gx = x / size * 4
      let gy = y / size * 4
      let ix = min(Int(gx), 3)
      let iy = min(Int(gy), 3)
      let fx = gx - Double(ix)
      let fy = gy - Double(iy)
      let v = { (i: Int, j: Int) in grid[j * 5 + i] }
      w =
        (v(ix, iy) * (1 - fx) + v(ix + 1, iy) * fx) * (1 - fy)
        + (v(ix, iy + 1) * (1 - fx) + v(ix + 1, iy + 1) * fx) * fy
    } else {
      w = ((x / size - 0.5) * cos(gradientAngle) + (y / size - 0.5) * sin(gradientAngle)) + 0.5
      w = min(max(w, 0), 1)
    }
    let (a, b) = background
    return (a.0 * (1 - w) + b.0 * w, a.1 * (1 - w) + b.1 * w, a.2 * (1 - w) + b.2 * w)
  }

  /// Inside the unit circle, the crescent, or the polygon (crossing-number test).
  private static func inside(
    _ x: Double, _ y: Double, _ polygon: [(Double, Double)]?, crescent: Bool
  ) -> Bool {
    if x * x + y * y > 1.01 { return false }
    if crescent { return (x - 0.45) * (x - 0.45) + y * y > 0.5625 }
    guard let p = polygon else { return true }
    var crossings = false
    var j = p.count - 1
    for i in 0..<p.count {
      let (xi, yi) = p[i]
      let (xj, yj) = p[j]
      if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi { crossings.toggle() }
      j = i
    }
    return crossings
  }
}

private func byte(_ v: Double) -> UInt8 { UInt8(max(0, min(255, (v * 255).rounded()))) }

/// HSV (all 0…1) to RGB 0…1.
func hsv(_ h: Double, _ s: Double, _ v: Double) -> (Double, Double, Double) {
  let i = Int(h * 6) % 6
  let f = h * 6 - Double(Int(h * 6))
  let p = v * (1 - s)
  let q = v * (1 - f * s)
  let t = v * (1 - (1 - f) * s)
  switch i {
  case 0: return (v, t, p)
  case 1: return (q, v, p)
  case 2: return (p, v, t)
  case 3: return (p, q, v)
  case 4: return (t, p, v)
  default: return (v, p, q)
  }
}
