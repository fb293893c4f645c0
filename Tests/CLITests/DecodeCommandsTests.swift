import Foundation
import SafeTensors
import VideoIO
import XCTest
import _TestSupport

/// `probe`, `sample` and `synth` run as a user runs them: the built `vcoswin` binary.
final class DecodeCommandsTests: TemporaryFolderTestCase {
  /// The shipped synthetic clips, at the root of the package.
  let clips = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Clips")

  typealias Run = CLIRun

  /// Runs `vcoswin arguments…` from the build products folder.
  func vcoswin(_ arguments: [String]) throws -> Run {
    try runVCoSwin(arguments, bundleOf: Self.self)
  }

  /// One of each kind of unreadable file; returns their paths.
  func badFiles() throws -> [String] {
    let fm = FileManager.default
    _ = fm.createFile(atPath: path("empty.mp4"), contents: Data())
    var random = SplitMix64(seed: 1)
    _ = fm.createFile(
      atPath: path("noise.mp4"), contents: Data((0..<4000).map { _ in UInt8(random.below(256)) }))
    try "a text file\n".write(toFile: path("notes.txt"), atomically: true, encoding: .utf8)
    let writer = try VideoWriter(path: path("whole.mp4"), width: 64, height: 48, codec: .mpeg4)
    for i in 0..<20 {
      try writer.append(RGBImage(width: 64, height: 48, fill: (UInt8(i * 10), 90, 30)))
    }
    try writer.finish()
    let whole = try Data(contentsOf: URL(fileURLWithPath: path("whole.mp4")))
    try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: path("cut.mp4")))
    try silentWAV().write(to: URL(fileURLWithPath: path("sound.wav")))
    return ["missing.avi", "empty.mp4", "noise.mp4", "notes.txt", "cut.mp4", "sound.wav"].map(path)
  }

  /// 0.1 s of 8 kHz mono 16-bit PCM silence: a valid audio-only file.
  func silentWAV() -> Data {
    let samples = 800
    var d = Data()
    func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
    func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
    d.append(contentsOf: Array("RIFF".utf8)); u32(UInt32(36 + samples * 2))
    d.append(contentsOf: Array("WAVEfmt ".utf8)); u32(16); u16(1); u16(1); u32(8000); u32(16000)
    u16(2); u16(16)
    d.append(contentsOf: Array("data".utf8)); u32(UInt32(samples * 2))
    d.append(Data(count: samples * 2))
    return d
  }

  // MARK: probe

  func testProbeJSON() throws {
    let video = clips.appendingPathComponent("val/0003.mkv").path
    let image = clips.appendingPathComponent("images/val/0005.png").path
    let run = try vcoswin(["probe", video, image, "--json"])
    XCTAssertEqual(run.status, 0, run.stderr)
    let lines = run.stdout.split(separator: "\n")
    guard lines.count == 2 else {
      return XCTFail("expected 2 lines, got \(lines.count): \(run.stderr)")
    }
    let objects = try lines.map {
      try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
    }
    XCTAssertEqual(
      Set(objects[0].keys),
      ["path", "container", "codec", "width", "height", "fps", "frames", "duration", "rotation"])
    XCTAssertEqual(objects[0]["path"] as? String, video)
    XCTAssertEqual(objects[0]["codec"] as? String, "mpeg4")
    XCTAssertEqual(objects[0]["container"] as? String, "matroska,webm")
    XCTAssertEqual(objects[0]["frames"] as? Int, 16)
    XCTAssertEqual(objects[0]["width"] as? Int, 32)
    XCTAssertEqual(objects[0]["fps"] as? Double, 25)
    XCTAssertEqual(objects[0]["duration"] as? Double ?? 0, 0.64, accuracy: 1e-9)
    XCTAssertEqual(objects[1]["codec"] as? String, "png")
    XCTAssertEqual(objects[1]["frames"] as? Int, 1)
  }

  func testBadFilesReportAndTheOthersStillPrint() throws {
    let bad = try badFiles()
    let good = clips.appendingPathComponent("train/0000.mkv").path
    let run = try vcoswin(["probe"] + bad + [good, "--json"])
    XCTAssertFalse(run.crashed)
    XCTAssertEqual(run.status, 1)
    XCTAssertEqual(run.stdout.split(separator: "\n").count, 1)
    XCTAssertTrue(run.stdout.contains(good))
    let errors = run.stderr.split(separator: "\n").map(String.init)
    for file in bad {
      XCTAssertEqual(
        errors.filter { $0.hasPrefix("error: \(file): ") }.count, 1, "\(file): \(run.stderr)")
    }
    XCTAssertEqual(errors.count, bad.count + 1, run.stderr)  // one per file, then the summary
  }

  func testSampleOnBadFilesFailsCleanly() throws {
    for file in try badFiles() {
      let run = try vcoswin([
        "sample", file, "--clip-len", "4", "--interval", "2", "--output", path("x.safetensors"),
      ])
      XCTAssertFalse(run.crashed, file)
      XCTAssertNotEqual(run.status, 0, file)
      XCTAssertTrue(run.stderr.hasPrefix("error: \(file): "), run.stderr)
      XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr)
      XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.safetensors")))
    }
  }

  func testListWithBadEntriesSkipsThem() throws {
    _ = try badFiles()
    let good = clips.appendingPathComponent("val/0001.mkv").path
    try "# two good, two bad\n\(good) 1\nempty.mp4 0\n\(good) 1\nsound.wav 2\n"
      .write(toFile: path("list.txt"), atomically: true, encoding: .utf8)
    let run = try vcoswin(["probe", "--list", path("list.txt"), "--json"])
    XCTAssertEqual(run.status, 1)
    XCTAssertEqual(run.stdout.split(separator: "\n").count, 2)
    XCTAssertTrue(run.stderr.contains("error: \(path("empty.mp4")): "))
    XCTAssertTrue(run.stderr.contains("error: \(path("sound.wav")): no video stream"))

    try "a.avi 1\nb.avi\n".write(toFile: path("broken.txt"), atomically: true, encoding: .utf8)
    let broken = try vcoswin(["probe", "--list", path("broken.txt")])
    XCTAssertEqual(broken.status, 1)
    XCTAssertEqual(broken.stderr, "error: \(path("broken.txt")):2: expected `path label`\n")
  }

  // MARK: sample

  func testSampleWritesWhatTheLibraryReads() throws {
    let video = clips.appendingPathComponent("train/0005.mkv").path
    let output = path("clip.safetensors")
    let run = try vcoswin([
      "sample", video, "--clip-len", "4", "--interval", "3", "--clips", "2", "--size", "48",
      "--crop", "three", "--normalize", "--threads", "1", "--output", output, "--sheet",
      path("sheet.png"),
    ])
    XCTAssertEqual(run.status, 0, run.stderr)
    let file = try SafeTensorsFile.read(path: output)
    let clip = try file.floats("clip")
    let indices = try file.int64s("indices")
    XCTAssertEqual(clip.shape, [6, 3, 4, 48, 48])
    XCTAssertEqual(indices.shape, [6, 4])
    let expected = ClipSampler(clipLength: 4, frameInterval: 3, numClips: 2).sample(frameCount: 16)
    XCTAssertEqual(indices.values.map(Int.init), (expected + expected + expected).flatMap { $0 })
    let reader = try VideoReader(path: video)
    let batch = try reader.sampleClips(
      sampler: ClipSampler(clipLength: 4, frameInterval: 3, numClips: 2),
      transform: .test(size: 48, threeCrop: true, normalize: true))
    XCTAssertEqual(clip.values, batch.data)
    let sheet = try VideoReader(path: path("sheet.png"))
    // Row labels ("clip 0 centre": 13 characters of 6 pixels, then a gap) left of 4 frames;
    // under each frame its number (a 10-pixel text line and 1 pixel).
    XCTAssertEqual(sheet.info.width, (13 * 6 + 2) + 4 * 48 + 5 * 2)
    XCTAssertEqual(sheet.info.height, 6 * (48 + 11) + 7 * 2)
  }

  func testSampleArgumentErrors() throws {
    let video = clips.appendingPathComponent("train/0000.mkv").path
    let missing = try vcoswin(["sample", video, "--clip-len", "4", "--interval", "2"])
    XCTAssertEqual(missing.status, 64)
    XCTAssertTrue(missing.stderr.hasPrefix("error:"), missing.stderr)
    XCTAssertTrue(missing.stderr.contains("--output"), missing.stderr)
    let zero = try vcoswin([
      "sample", video, "--clip-len", "0", "--interval", "2", "--output", path("z.safetensors"),
    ])
    XCTAssertEqual(zero.status, 64)
    XCTAssertTrue(zero.stderr.contains("--clip-len must be at least 1"), zero.stderr)
  }

  func testUnwritableOutputsNameThePath() throws {
    _ = FileManager.default.createFile(atPath: path("plain"), contents: Data("x".utf8))
    let synth = try vcoswin(["synth", "--out", path("plain/sub"), "--train", "1", "--val", "0"])
    XCTAssertEqual(synth.status, 1)
    XCTAssertEqual(
      synth.stderr, "error: \(path("plain/sub/train")): cannot create folder: Not a directory\n")
    let video = clips.appendingPathComponent("val/0002.mkv").path
    let sample = try vcoswin([
      "sample", video, "--clip-len", "2", "--interval", "1", "--output", path("c.safetensors"),
      "--sheet", path("plain/sheet.png"),
    ])
    XCTAssertEqual(sample.status, 1)
    XCTAssertTrue(
      sample.stderr.hasPrefix("error: \(path("plain/sheet.png")): cannot write image: "),
      sample.stderr)
    XCTAssertEqual(sample.stderr.split(separator: "\n").count, 1)
  }

  // MARK: synth

  func testSynthIsDeterministicAndComplete() throws {
    for name in ["a", "b"] {
      let run = try vcoswin([
        "synth", "--out", path(name), "--seed", "3", "--train", "8", "--val", "4", "--frames", "4",
        "--size", "32",
      ])
      XCTAssertEqual(run.status, 0, run.stderr)
    }
    let a = URL(fileURLWithPath: path("a"))
    let b = URL(fileURLWithPath: path("b"))
    for file in [
      "train.txt", "val.txt", "images_train.txt", "motion_labels.txt", "shape_labels.txt",
      "train/0005.mkv", "images/val/0002.png",
    ] {
      XCTAssertEqual(
        try Data(contentsOf: a.appendingPathComponent(file)),
        try Data(contentsOf: b.appendingPathComponent(file)), file)
    }
    let names = try ClipList.labelNames(
      contentsOf: a.appendingPathComponent("motion_labels.txt").path)
    XCTAssertEqual(names.count, 8)
    let train = try ClipList(contentsOf: a.appendingPathComponent("train.txt").path, classCount: 8)
    XCTAssertEqual(train.entries.map(\.label), [0, 1, 2, 3, 4, 5, 6, 7])
    for entry in train.entries {
      let info = try VideoReader(path: entry.path).info
      XCTAssertEqual([info.width, info.height, info.frames], [32, 32, 4])
    }
    let images = try ClipList(
      contentsOf: a.appendingPathComponent("images_val.txt").path, classCount: 6)
    XCTAssertEqual(images.entries.count, 4)
    XCTAssertEqual(try VideoReader(path: images.entries[0].path).info.codec, "png")
    let other = try vcoswin([
      "synth", "--out", path("c"), "--seed", "4", "--train", "8", "--val", "0", "--frames", "4",
      "--size", "32",
    ])
    XCTAssertEqual(other.status, 0)
    XCTAssertNotEqual(
      try Data(contentsOf: a.appendingPathComponent("train/0005.mkv")),
      try Data(contentsOf: URL(fileURLWithPath: path("c/train/0005.mkv"))))
  }
}
