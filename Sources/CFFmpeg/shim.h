// FFmpeg headers for Swift, and the macros Swift cannot import as static inline functions.
#ifndef VCOSWIN_CFFMPEG_SHIM_H
#define VCOSWIN_CFFMPEG_SHIM_H

#include <libavformat/avformat.h>
// Only for LIBAVDEVICE_VERSION_MAJOR: libavdevice is opened at run time, not linked
// (VideoIO's CaptureDevices).
#include <libavdevice/avdevice.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libavutil/avutil.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libavutil/log.h>
#include <libavutil/display.h>
#include <libavutil/mem.h>
#include <libavutil/sha.h>

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

/// The display matrix of a stream (9 values, 16.16 fixed point: how a player turns and
/// flips the stored picture), or NULL when it has none. FFmpeg 6.1 moved stream side data
/// into `codecpar->coded_side_data`; older versions keep it on the stream.
static inline const int32_t *vc_stream_display_matrix(const AVStream *st) {
#if LIBAVCODEC_VERSION_INT >= AV_VERSION_INT(60, 30, 100)
  const AVPacketSideData *sd = av_packet_side_data_get(
      st->codecpar->coded_side_data, st->codecpar->nb_coded_side_data,
      AV_PKT_DATA_DISPLAYMATRIX);
  return sd && sd->size >= 9 * sizeof(int32_t) ? (const int32_t *)sd->data : NULL;
#else
  size_t size = 0;
  const uint8_t *data = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
  return data && size >= 9 * sizeof(int32_t) ? (const int32_t *)data : NULL;
#endif
}

/// Gives a stream (of a muxer, before its header is written) a display matrix that turns the
/// picture `clockwise_degrees` clockwise (`av_display_rotation_set`; note that
/// `av_display_rotation_get` then returns the negated, counterclockwise angle), then mirrors
/// it horizontally when `hflip` is nonzero. Returns 0, or a negative AVERROR.
static inline int vc_stream_set_display_matrix(AVStream *st, double clockwise_degrees, int hflip) {
  int32_t *matrix = (int32_t *)av_malloc(9 * sizeof(int32_t));
  if (!matrix) return AVERROR(ENOMEM);
  av_display_rotation_set(matrix, clockwise_degrees);
  av_display_matrix_flip(matrix, hflip, 0);
#if LIBAVCODEC_VERSION_INT >= AV_VERSION_INT(60, 30, 100)
  if (!av_packet_side_data_add(
          &st->codecpar->coded_side_data, &st->codecpar->nb_coded_side_data,
          AV_PKT_DATA_DISPLAYMATRIX, matrix, 9 * sizeof(int32_t), 0)) {
    av_free(matrix);
    return AVERROR(ENOMEM);
  }
  return 0;
#else
  int status = av_stream_add_side_data(
      st, AV_PKT_DATA_DISPLAYMATRIX, (uint8_t *)matrix, 9 * sizeof(int32_t));
  if (status < 0) av_free(matrix);
  return status;
#endif
}

#endif
