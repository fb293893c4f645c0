import CFFmpeg

#if canImport(Glibc)
  import Glibc
#endif

/// FFmpeg's capture devices (`v4l2`, `alsa`, `x11grab`, `lavfi`, …), input formats of
/// libavdevice that `av_find_input_format` knows only after `avdevice_register_all()`.
///
/// libavdevice is opened at run time (`dlopen` of `libavdevice.so.<major>`, the major version
/// of the header the package was built with), the first time a source names an input format,
/// not linked: linking it loads 76 more shared libraries (SDL2, X11, PulseAudio, JACK,
/// libavfilter, …) into every run of every command, measured at +17 MB resident and about
/// +0.1 s at start-up (`Docs/INSTALL.md`). Without the library, demuxers (`mpegts`, …) still
/// work and a device name is an error that says the library is missing.
public enum CaptureDevices {
  /// The library's file name: `libavdevice.so.59` for FFmpeg 5.1.
  public static let library = "libavdevice.so.\(LIBAVDEVICE_VERSION_MAJOR)"

  /// nil once the devices are registered; else why they are not (`dlerror`'s text).
  /// Evaluated once per process, on first use.
  private static let failure: String? = {
    guard let handle = dlopen(library, RTLD_NOW) else {
      return dlerror().map { String(cString: $0) } ?? "cannot load \(library)"
    }
    guard let symbol = dlsym(handle, "avdevice_register_all") else {
      return "\(library) has no avdevice_register_all"
    }
    // `void avdevice_register_all(void)` (libavdevice/avdevice.h); the handle stays open.
    typealias Register = @convention(c) () -> Void
    unsafeBitCast(symbol, to: Register.self)()
    return nil
  }()

  /// Registers the devices (once per process). Returns nil when they are available, else the
  /// reason they are not.
  @discardableResult
  public static func register() -> String? { failure }
}
