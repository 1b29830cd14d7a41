#ifndef LOADGEN_CZLIB_SHIM_H
#define LOADGEN_CZLIB_SHIM_H
#include <zlib.h>
// inflateInit2 is a function-like macro Swift cannot import; negative bits: raw deflate.
static inline int loadgen_inflate_init_raw(z_streamp stream, int windowBits) {
    return inflateInit2(stream, -windowBits);
}
#endif
