import CFFmpeg
import Foundation

/// A failure to read or write a video or image file.
///
/// Carries the file path, what was being done, and FFmpeg's own text for the error code
/// (`av_strerror`) when there is one. `description` is one readable line that names the file,
/// e.g. `clip.mp4: cannot open: Invalid data found when processing input`.
public struct VideoError: Error, CustomStringConvertible, Sendable, Equatable {
  /// The file the error is about.
  public var path: String
  /// What failed, in words (`"cannot open"`, `"no video stream"`, …).
  public var operation: String
  /// FFmpeg's error code (negative), or 0 when the error did not come from FFmpeg.
  public var code: Int32
  /// `av_strerror` text for `code`, or a detail sentence when `code` is 0.
  public var detail: String

  public init(path: String, _ operation: String, code: Int32 = 0, detail: String = "") {
    self.path = path
    self.operation = operation
    self.code = code
    self.detail = code != 0 && detail.isEmpty ? VideoError.message(for: code) : detail
  }

  public var description: String {
    detail.isEmpty ? "\(path): \(operation)" : "\(path): \(operation): \(detail)"
  }

  /// A file-system failure (creating, writing) as a `VideoError`, with the system's reason,
  /// e.g. `out/train: cannot create folder: No such file or directory`.
  public static func fileSystem(path: String, _ operation: String, _ error: Error) -> VideoError {
    let ns = error as NSError
    var reason = ns.localizedDescription
    if let inner = ns.userInfo[NSUnderlyingErrorKey] as? Error,
      (inner as NSError).domain == NSPOSIXErrorDomain
    {
      reason = String(cString: strerror(Int32((inner as NSError).code)))
    } else if ns.domain == NSPOSIXErrorDomain {
      reason = String(cString: strerror(Int32(ns.code)))
    }
    return VideoError(path: path, operation, detail: reason)
  }

  /// FFmpeg's message for an error code (`av_strerror`).
  public static func message(for code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    if av_strerror(code, &buffer, buffer.count) < 0 { return "FFmpeg error \(code)" }
    return String(cString: buffer)
  }
}

/// FFmpeg status codes that are normal flow rather than errors.
enum AVStatus {
  static let again = vc_averror_eagain()
  static let eof = vc_averror_eof()
}

/// Throws a `VideoError` when an FFmpeg call returned a negative status.
@discardableResult
func check(_ status: Int32, _ path: String, _ operation: @autoclosure () -> String) throws -> Int32
{
  if status < 0 { throw VideoError(path: path, operation(), code: status) }
  return status
}

/// FFmpeg's own log output, off by default so that bad input yields only the caller's one line.
public enum FFmpegLog {
  private static let quiet: Void = { av_log_set_level(AV_LOG_QUIET) }()

  /// Silences FFmpeg's log (idempotent). Every reader and writer calls this on creation.
  public static func silenceByDefault() { _ = quiet }

  /// Sets FFmpeg's log level (`AV_LOG_QUIET` … `AV_LOG_DEBUG`), e.g. for debugging a file.
  public static func setLevel(_ level: Int32) {
    silenceByDefault()
    av_log_set_level(level)
  }
}
