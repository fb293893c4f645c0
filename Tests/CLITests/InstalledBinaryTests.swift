import Foundation
import Inference
import XCTest

@testable import VCoSwinCLI

/// `vcoswin` installed like a tool (`make install`): started through `PATH` (and through a
/// symbolic link) from a folder that has no `Clips/`, it finds its shipped files in
/// `<prefix>/share/vcoswin` and classifies with the default model.
final class InstalledBinaryTests: XCTestCase {
  var folder = URL(fileURLWithPath: NSTemporaryDirectory())

  override func setUpWithError() throws {
    folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "vcoswin-install-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

  /// Runs `command arguments…` in `directory` with `PATH` set to `path` (the command looked up
  /// there, as a shell does, through `/usr/bin/env`).
  func run(_ command: String, _ arguments: [String], in directory: URL, path: String) throws
    -> (status: Int32, stdout: String, stderr: String)
  {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [command] + arguments
    process.currentDirectoryURL = directory
    var environment = ProcessInfo.processInfo.environment
    environment["PATH"] = path
    environment["VCOSWIN_MODEL"] = nil
    process.environment = environment
    let (out, err) = (folder.appendingPathComponent("out"), folder.appendingPathComponent("err"))
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try process.run()
    process.waitUntilExit()
    return (
      process.terminationStatus, try String(contentsOf: out, encoding: .utf8),
      try String(contentsOf: err, encoding: .utf8)
    )
  }

  func testInstalledBinaryFindsItsShippedFilesThroughPATH() throws {
    // The copying step of `make install`, with the binary the tests run (`make install` builds
    // its own, with the Swift standard library linked in, in a scratch folder of its own).
    let binary = try vcoswinBinary(near: Bundle(for: Self.self).bundleURL)
    let prefix = folder.appendingPathComponent("prefix")
    let systemPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    let make = try run(
      "make",
      [
        "--no-print-directory", "-C", packageRoot.path, "install-files", "PREFIX=" + prefix.path,
        "BINARY=" + binary.path,
      ], in: folder, path: systemPath)
    XCTAssertEqual(make.status, 0, make.stdout + make.stderr)
    let data = prefix.appendingPathComponent("share/vcoswin/Clips")
    for shipped in ["default-model.safetensors", "kinetics400_labels.txt", "train.txt"] {
      XCTAssertTrue(
        FileManager.default.fileExists(atPath: data.appendingPathComponent(shipped).path), shipped)
    }

    // Elsewhere: a folder with a clip and no Clips/; the binary on PATH, and a link to it.
    let elsewhere = folder.appendingPathComponent("elsewhere")
    let links = folder.appendingPathComponent("links")
    for f in [elsewhere, links] {
      try FileManager.default.createDirectory(at: f, withIntermediateDirectories: true)
    }
    try FileManager.default.copyItem(
      atPath: clips("val/0003.mkv"), toPath: elsewhere.appendingPathComponent("clip.mkv").path)
    try FileManager.default.createSymbolicLink(
      atPath: links.appendingPathComponent("vc").path,
      withDestinationPath: prefix.appendingPathComponent("bin/vcoswin").path)
    let installedModel = data.appendingPathComponent("default-model.safetensors").path
    for (command, path) in [
      ("vcoswin", prefix.appendingPathComponent("bin").path + ":" + systemPath),
      ("vc", links.path + ":" + systemPath),
    ] {
      let r = try run(command, ["classify", "clip.mkv", "--top", "1"], in: elsewhere, path: path)
      XCTAssertEqual(r.status, 0, "\(command): \(r.stderr)")
      XCTAssertTrue(r.stderr.hasPrefix("checkpoint: \(installedModel) "), "\(command): \(r.stderr)")
      // One line per clip, its best class among the shipped model's motion labels.
      let labels = try String(contentsOfFile: clips("motion_labels.txt"), encoding: .utf8)
        .split(separator: "\n").map(String.init)
      XCTAssertTrue(r.stdout.hasPrefix("clip.mkv"), r.stdout)
      XCTAssertTrue(labels.contains { r.stdout.contains($0) }, r.stdout)
    }
  }

  /// Every shared library the binary links, but the Swift runtime's (which `make install`
  /// links in statically), is named in Docs/INSTALL.md with its run-time package; Open MPI's
  /// among them: it is a load-time dependency even of a single process (the document says why).
  func testRunTimeLibrariesAreDocumented() throws {
    let binary = try vcoswinBinary(near: Bundle(for: Self.self).bundleURL)
    let systemPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    let r = try run("readelf", ["-d", binary.path], in: folder, path: systemPath)
    XCTAssertEqual(r.status, 0, r.stderr)
    // `0x… (NEEDED)  Shared library: [libmpi.so.40]`
    let needed = r.stdout.split(separator: "\n").filter { $0.contains("(NEEDED)") }.compactMap {
      $0.split(separator: "[").last?.split(separator: "]").first.map(String.init)
    }
    let swiftRuntime = needed.filter {
      $0.hasPrefix("libswift") || $0.hasPrefix("libFoundation") || $0.hasPrefix("lib_Foundation")
        || ["libdispatch.so", "libBlocksRuntime.so"].contains($0)
    }
    XCTAssertTrue(needed.contains("libmpi.so.40"), "\(needed)")
    XCTAssertTrue(needed.contains("libfreetype.so.6"), "\(needed)")
    let install = try String(
      contentsOf: packageRoot.appendingPathComponent("Docs/INSTALL.md"), encoding: .utf8)
    for library in needed where !swiftRuntime.contains(library) {
      XCTAssertTrue(install.contains("`\(library)`"), "\(library) is not in Docs/INSTALL.md")
    }
    XCTAssertTrue(install.contains("### Open MPI is a load-time dependency"))
  }

  /// The folders searched, for an installed binary and for one in a build folder: the current
  /// folder, `<prefix>/share/vcoswin`, then the folders above the binary.
  func testShippedFoldersOfAnInstalledBinary() {
    let folders = shippedFolders(
      executable: URL(fileURLWithPath: "/opt/tool/bin/vcoswin"), current: "/home/me")
    XCTAssertEqual(
      folders.prefix(4).map(\.path), ["/home/me", "/opt/tool/share/vcoswin", "/opt/tool", "/opt"])
  }
}
