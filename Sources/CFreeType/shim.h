// FreeType's C interface for Swift (text in PNG pictures), and the load flags that are macros
// (Swift cannot import them) as static inline functions.
#ifndef VCOSWIN_CFREETYPE_SHIM_H
#define VCOSWIN_CFREETYPE_SHIM_H

#include <ft2build.h>
#include FT_FREETYPE_H

/// `FT_LOAD_RENDER`: load a glyph hinted and render it as 8-bit coverage (anti-aliased).
static inline FT_Int32 vc_ft_load_render(void) { return FT_LOAD_RENDER; }
/// `FT_PIXEL_MODE_GRAY`: one byte of coverage per pixel, 0 … 255.
static inline int vc_ft_pixel_mode_gray(void) { return FT_PIXEL_MODE_GRAY; }

#endif
