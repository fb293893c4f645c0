// FFmpeg headers for Swift, and the macros Swift cannot import as static inline functions.
#ifndef VCOSWIN_CFFMPEG_SHIM_H
#define VCOSWIN_CFFMPEG_SHIM_H

#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libavutil/avutil.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libavutil/log.h>

/// `AVERROR(e)`: FFmpeg's negative error code for a POSIX errno value.
static inline int vc_averror(int e) { return AVERROR(e); }
/// `AVERROR_EOF`: end of stream.
static inline int vc_averror_eof(void) { return AVERROR_EOF; }
/// `AVERROR(EAGAIN)`: the codec needs more input, or has output to drain first.
static inline int vc_averror_eagain(void) { return AVERROR(EAGAIN); }
/// `AV_NOPTS_VALUE`: a timestamp that is not set.
static inline int64_t vc_nopts_value(void) { return AV_NOPTS_VALUE; }
/// `AV_TIME_BASE`: microseconds, the unit of `AVFormatContext.duration`.
static inline int vc_time_base(void) { return AV_TIME_BASE; }

#endif
