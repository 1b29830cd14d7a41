#ifndef CZLIB_SHIM_H
#define CZLIB_SHIM_H
#include <zlib.h>
// deflateInit2 / inflateInit2 are function-like macros (they pass the library version and
// sizeof(z_stream)), which Swift cannot import. A negative windowBits selects raw deflate
// (no zlib header or checksum), as RFC 7692 requires.
static inline int czlib_deflate_init_raw(z_streamp stream, int level, int windowBits, int memLevel) {
    return deflateInit2(stream, level, Z_DEFLATED, -windowBits, memLevel, Z_DEFAULT_STRATEGY);
}
static inline int czlib_inflate_init_raw(z_streamp stream, int windowBits) {
    return inflateInit2(stream, -windowBits);
}
#endif
