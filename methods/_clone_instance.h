/* One clone of a kernel, included once per instruction set by _clones.h.
 *
 * _clones.h defines CLONE (the suffix of every name in the clone), VLEN (floats per vector) and, but for
 * the plain clone, CLONE_TARGET (the _Pragma that sets the instruction set); GCC's vector extensions then
 * compile the same source, CLONE_BODY, to SSE2, AVX2 + FMA or AVX-512 instructions. Here the body gets
 * NAME(x) (x suffixed with the clone), the types vec and ivec (VLEN floats and int32s), unaligned
 * load and store, and LANES (VLEN × VECS, the floats per block row); all are undefined after it.
 */
#ifdef CLONE_TARGET
#pragma GCC push_options
CLONE_TARGET
#endif

#define CONCAT_(name, clone) name##_##clone
#define CONCAT(name, clone) CONCAT_(name, clone)
#define NAME(name) CONCAT(name, CLONE)
#define LANES (VLEN * VECS)

typedef float NAME(vec) __attribute__((vector_size(4 * VLEN)));
typedef int32_t NAME(ivec) __attribute__((vector_size(4 * VLEN)));
#define vec NAME(vec)
#define ivec NAME(ivec)

static inline __attribute__((always_inline)) vec NAME(load)(const float *p)
{
    vec v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) void NAME(store)(float *p, vec v)
{
    memcpy(p, &v, sizeof v);
}

#include CLONE_BODY

#undef vec
#undef ivec
#undef LANES
#undef NAME
#undef CONCAT
#undef CONCAT_
#undef CLONE
#undef VLEN
#ifdef CLONE_TARGET
#pragma GCC pop_options
#undef CLONE_TARGET
#endif
