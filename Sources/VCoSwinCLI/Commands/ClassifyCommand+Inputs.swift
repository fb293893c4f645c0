import Foundation
import SafeTensors
import VideoIO

/// One input of `classify`: a file (or `-`), and the class its list line gives, if any.
struct ClassifyInput: Equatable {
  var path: String
  /// The label of a `--list` line (`path label`); nil for arguments and bare list lines.
  var label: Int?
}

/// The files of a folder that `classify` takes: regular files directly in it (not in
/// subfolders), not hidden (`.name`), whose first bytes are a video (an image, for an image
/// model) by `FileKind`, or whose extension is a video's (an image's), so that a damaged
/// `.mp4` is reported rather than passed over; sorted by name (byte order).
enum FolderInputs {
  /// Extensions taken even when the first bytes name no known format.
  static let videoExtensions: Set<String> = [
    "mp4", "m4v", "mkv", "webm", "avi", "mov", "mpg", "mpeg", "m2ts", "mts", "flv", "wmv", "asf",
    "ogv", "3gp", "3g2", "y4m", "h264", "hevc", "ivf",
  ]
  static let imageExtensions: Set<String> = [
    "jpg", "jpeg", "png", "bmp", "gif", "webp", "tif", "tiff",
  ]

  /// Whether `path` names a folder (symbolic links followed).
  static func isFolder(_ path: String) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
      && isDirectory.boolValue
  }

  /// The inputs of `folder`, by the rules above, for a video model (`images` false) or an
  /// image model.
  /// - Throws: `CommandFailure` naming the folder when it cannot be listed or holds no input.
  static func files(in folder: String, images: Bool) throws -> [String] {
    let names: [String]
    do {
      names = try FileManager.default.contentsOfDirectory(atPath: folder)
    } catch {
      throw CommandFailure("\(folder): cannot list the folder: \(error.localizedDescription)")
    }
    let wanted: FileKind.Category = images ? .image : .video
    let extensions = images ? imageExtensions : videoExtensions
    let prefix = folder.hasSuffix("/") ? folder : folder + "/"
    let files = names.filter { !$0.hasPrefix(".") }.sorted {
      $0.utf8.lexicographicallyPrecedes($1.utf8)
    }
    .map { prefix + $0 }
    .filter { path in
      // Regular files only (symbolic links followed): a FIFO, socket or device would block.
      let attributes = try? FileManager.default.attributesOfItem(
        atPath: URL(fileURLWithPath: path).resolvingSymlinksInPath().path)
      guard attributes?[.type] as? FileAttributeType == .typeRegular else { return false }
      return FileKind.recognise(path: path)?.category == wanted
        || extensions.contains(URL(fileURLWithPath: path).pathExtension.lowercased())
    }
    guard !files.isEmpty else {
      throw CommandFailure(
        "\(folder): no \(images ? "images" : "videos") in this folder (files are taken by their first bytes or extension; subfolders are not searched)"
      )
    }
    return files
  }
}

extension ClassifyCommand {
  /// The inputs in the order given: each argument (a folder: its files by `FolderInputs`),
  /// then the entries of `--list` with their labels (`InputList`, checked against `labels`).
  /// - Throws: `CommandFailure` naming the folder, or the list file (and line).
  func inputs(labels: [String], images: Bool) throws -> [ClassifyInput] {
    var inputs: [ClassifyInput] = []
    for video in videos {
      if video != "-", FolderInputs.isFolder(video) {
        inputs += try FolderInputs.files(in: video, images: images).map { ClassifyInput(path: $0) }
      } else {
        inputs.append(ClassifyInput(path: video))
      }
    }
    if let list {
      let parsed: InputList
      do {
        parsed = try InputList(contentsOf: list, labelNames: labels)
      } catch let error as ListError {
        throw CommandFailure(error.description)
      }
      guard !parsed.entries.isEmpty else {
        throw CommandFailure("\(list): no entries (the list holds only blank lines and comments)")
      }
      inputs += parsed.entries.map { ClassifyInput(path: $0.path, label: $0.label) }
    }
    return inputs
  }
}
