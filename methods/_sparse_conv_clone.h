/* One clone of the sparse kernel, compiled once per instruction set through _clones.h and
 * _clone_instance.h (which give it NAME, vec, ivec, load, store, VLEN and LANES); _sparse_conv.c
 * defines ROWS (output rows per block), VECS (vectors per block row) and CHUNK. A block of ROWS output
 * rows × VECS vectors stays in registers over every tap of a pass's connections; each input vector is
 * loaded once per tap column and multiplied by the broadcast taps of every output row it feeds.
 */

/* e^x for x in [−87, 87]: x = n·ln2 + r with |r| ≤ ln2/2, e^r by its degree-6 Taylor polynomial
 * (relative error < 3e-7, below float32's own rounding of the sums it follows), 2^n by building the
 * float's exponent bits. Rounding x/ln2 to the nearest integer adds 1.5·2^23 and takes it away. */
static inline __attribute__((always_inline)) vec NAME(exp)(vec x)
{
    const vec shifter = (vec){0} + 12582912.0f;
    const vec k = x * 1.44269504f + shifter;
    const vec n = k - shifter;
    const vec r = (x - n * 0.693145752f) - n * 1.42860677e-6f; /* ln2 split in two for exactness */
    vec p = (vec){0} + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
#ifdef __AVX512F__
    return _mm512_scalef_ps(p, n); /* p · 2^n in one instruction */
#else
    ivec bits;
    memcpy(&bits, &k, sizeof bits);
    const ivec scale = (bits - 0x4B400000 + 127) << 23; /* the integer n, as 2^n's exponent bits */
    vec two_n;
    memcpy(&two_n, &scale, sizeof two_n);
    return p * two_n;
#endif
}

/* x clamped to [−bound, bound]; a NaN stays NaN. */
static inline __attribute__((always_inline)) vec NAME(clamp)(vec x, float bound)
{
    const vec lo = (vec){0} - bound, hi = (vec){0} + bound;
#ifdef __AVX512F__
    return _mm512_max_ps(lo, _mm512_min_ps(hi, x)); /* each returns its second operand where one is NaN */
#else
    const ivec below = x < lo, above = x > hi; /* lane masks: all ones where true */
    return (vec)(((ivec)lo & below) | ((ivec)hi & above) | ((ivec)x & ~(below | above)));
#endif
}

/* 1 / d for d ≥ 1. AVX-512's division issues once per 8–10 cycles on one port, against 12.5 cycles of
 * FMAs per output vector of the first layer (one connection); its 14-bit reciprocal estimate plus
 * one Newton step, r(2 − d·r), is accurate to float32 rounding (relative error < 2^−23). With it,
 * scalef and min/max, CN2's first layer on 512² took 2.34 ms instead of 2.62 on an Intel Xeon (two
 * threads, best of 50), its hidden layers ~4 % less with their inputs in cache. */
static inline __attribute__((always_inline)) vec NAME(reciprocal)(vec d)
{
#ifdef __AVX512F__
    const vec r = _mm512_rcp14_ps(d);
    return r * (2.0f - d * r);
#else
    return 1.0f / d;
#endif
}

/* The logistic 1 / (1 + e^−x) minus `shift`; clamping x to ±87 keeps e^−x finite and moves no result
 * by more than 2e-38. */
static inline __attribute__((always_inline)) vec NAME(logistic)(vec x, float shift)
{
    return NAME(reciprocal)(1.0f + NAME(exp)(-NAME(clamp)(x, 87.0f))) - shift;
}

/* x, kept in a register: without this GCC folds each load into every FMA that uses it (a memory
 * operand per FMA, the load repeated), undoing the reuse the block is built on. Only where a vec is
 * one register (not SSE's two halves, nor the tests' 16-float vectors on AVX2); SSE cannot fold
 * unaligned loads anyway. */
#undef IN_REGISTER /* one definition per clone: the __AVX__ macros follow the clone's target */
#if defined(__AVX512F__) || (defined(__AVX__) && VLEN == 8)
#define IN_REGISTER(x) __asm__("" : "+v"(x))
#else
#define IN_REGISTER(x) (void)0
#endif

#define LINE_FLOATS 16 /* floats per 64-byte cache line */

/* Ask for the cache lines that a connection's ROWS + K − 1 rows, from `row` on, will give the block
 * after next (1.5 to 2.5 blocks ahead, one block's advance). The fan's 8 maps × 6 rows are 48
 * streams at once, more than the hardware prefetchers follow: without this a hidden layer of CN2
 * ran at 51 GFLOP/s on the Zen 3 (one thread), with it at 60; the whole 512² forward pass on two
 * threads took 77 ms instead of 95 (distances of 1 and 3 blocks were slower). On an Intel Xeon's
 * AVX-512 clone, without it the pass was 7 % slower, 3 blocks ahead 7 % slower, 1 block ahead no
 * faster. */
static inline __attribute__((always_inline)) void NAME(prefetch_next_blocks)(const float *row, Py_ssize_t row_stride)
{
#pragma GCC unroll 16
    for (int i = 0; i < ROWS + K - 1; i++, row += row_stride)
        for (int ahead = 3 * LANES / 2; ahead < 5 * LANES / 2; ahead += LINE_FLOATS)
            __builtin_prefetch(row + ahead);
}

/* acc += connections [0, count) of one block: `in` points at the block's top-left input pixel of map
 * 0, `filters` at the first connection's K × K weights. Input row i feeds output row r through filter
 * row i − r, so each input vector is loaded once per tap column and serves up to ROWS output rows
 * (per connection, 2 × 4 blocks load 120 input vectors for 200 FMAs, where the former 3 × 4 blocks
 * loaded 300 vectors for 300: the loads, not the FMAs, were the limit). The tap column is the outer
 * loop: its K taps are broadcast once per connection and held in K registers while the block's
 * rows pass. With the rows outermost, a tap served rows far apart: GCC kept all 25 live and
 * spilled AVX-512's accumulators, or, made to broadcast them afresh per row, loaded 4× as many; on
 * an Intel Xeon this order made CN2's forward pass 12–17 % faster with AVX-512 (with the 8 × 2 block
 * it allows; median of 100–200 paired rounds), and left the AVX2 clone within ±5 % (three paired
 * runs; the Zen 3 on which its block was chosen was not at hand). Always inlined with a constant
 * `vecs`: every loop unrolls and acc lives in registers. */
static inline __attribute__((always_inline)) void NAME(accumulate)(
    vec acc[ROWS][VECS], const float *in, Py_ssize_t map_stride, Py_ssize_t row_stride, const float *filters,
    const int64_t *inputs, Py_ssize_t count, const int vecs)
{
    for (Py_ssize_t j = 0; j < count; j++) {
        const float *map = in + inputs[j] * map_stride, *w = filters + j * K * K;
        NAME(prefetch_next_blocks)(map, row_stride);
#pragma GCC unroll 5
        for (int kx = 0; kx < K; kx++) {
            vec taps[K];
#pragma GCC unroll 5
            for (int fy = 0; fy < K; fy++)
                taps[fy] = w[fy * K + kx] - (vec){0}; /* broadcast (x − 0 is x exactly) */
            const float *row = map + kx;
#pragma GCC unroll 16
            for (int i = 0; i < ROWS + K - 1; i++, row += row_stride) {
#pragma GCC unroll 8
                for (int v = 0; v < vecs; v++) {
                    vec x = NAME(load)(row + VLEN * v);
                    IN_REGISTER(x);
#pragma GCC unroll 16
                    for (int r = 0; r < ROWS; r++)
                        if (i - r >= 0 && i - r < K)
                            acc[r][v] += taps[i - r] * x;
                }
            }
        }
    }
}

/* One block of ROWS × `vecs` vectors of one output map over connections [0, count) of its fan:
 * starting from the bias on the first pass, else from the partial sums the previous pass left in
 * `out`; ending in the logistic on the last pass, else storing the partial sums. Each connection is
 * still added in the same order, so splitting the fan changes no result. */
static inline __attribute__((always_inline)) void NAME(convolve_block)(
    const float *in, Py_ssize_t map_stride, Py_ssize_t row_stride, const float *filters,
    const int64_t *inputs, Py_ssize_t count, int first, int last, float bias, float shift, float *out,
    const int vecs)
{
    vec acc[ROWS][VECS];
    for (int r = 0; r < ROWS; r++)
        for (int v = 0; v < vecs; v++)
            acc[r][v] = first ? (vec){0} + bias : NAME(load)(out + r * row_stride + VLEN * v);
    NAME(accumulate)(acc, in, map_stride, row_stride, filters, inputs, count, vecs);
    for (int r = 0; r < ROWS; r++)
        for (int v = 0; v < vecs; v++)
            NAME(store)(out + r * row_stride + VLEN * v, last ? NAME(logistic)(acc[r][v], shift) : acc[r][v]);
}

/* Jobs [job_begin, job_end) of the layer; job = (row block, output map), the output map varying
 * fastest, so that the 24 output maps of a row block, which together read every input map, run
 * while its input rows are in the L2 cache. (With the output map slowest, each output map streamed
 * its 8 input maps from memory again: one hidden layer of 528² ran at 28 GFLOP/s instead of 47 on
 * the Zen 3, former block.) A fan larger than CHUNK (the output layer reads 24 maps) runs in passes
 * of CHUNK connections over the whole row: one block's rows of 24 maps overflow the 32 KiB L1 cache,
 * those of 8 do not (CN2's output layer at 512²: 12–24 ms in one pass, 8–10 ms in three). */
static void NAME(convolve_jobs)(
    const float *in, float *out, const float *weights, const float *bias, const int64_t *connections,
    float shift, Py_ssize_t fan, Py_ssize_t in_map_stride, Py_ssize_t out_map_stride, Py_ssize_t row_stride,
    Py_ssize_t out_maps, Py_ssize_t out_rows, Py_ssize_t out_cols, Py_ssize_t job_begin, Py_ssize_t job_end)
{
    for (Py_ssize_t job = job_begin; job < job_end; job++) {
        const Py_ssize_t o = job % out_maps, y = job / out_maps * ROWS;
        const float *source = in + y * row_stride;
        float *target = out + o * out_map_stride + y * row_stride;
        for (Py_ssize_t j = 0; j < fan; j += CHUNK) {
            const Py_ssize_t count = fan - j < CHUNK ? fan - j : CHUNK;
            const float *filters = weights + (o * fan + j) * K * K;
            const int64_t *inputs = connections + o * fan + j;
            const int first = j == 0, last = j + count == fan;
            Py_ssize_t x = 0;
            for (; x + LANES <= out_cols; x += LANES) /* whole blocks, then the rest one vector at a time */
                NAME(convolve_block)(source + x, in_map_stride, row_stride, filters, inputs, count, first, last,
                                     bias[o], shift, target + x, VECS);
            for (; x < out_cols; x += VLEN)
                NAME(convolve_block)(source + x, in_map_stride, row_stride, filters, inputs, count, first, last,
                                     bias[o], shift, target + x, 1);
        }
    }
}
