/* One clone of the sparse kernel, compiled once per instruction set through _clones.h and
 * _clone_instance.h (which give it NAME, vec, ivec, load, store, VLEN and LANES); _sparse_conv.c
 * defines ROWS (output rows per block) and VECS (vectors per block row). A block of ROWS output rows ×
 * VECS vectors stays in registers over every tap of every connection; each tap is broadcast once and
 * feeds the whole block, whose inputs are read straight from the L1 cache.
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
    ivec bits;
    memcpy(&bits, &k, sizeof bits);
    const ivec scale = (bits - 0x4B400000 + 127) << 23; /* the integer n, as 2^n's exponent bits */
    vec two_n;
    memcpy(&two_n, &scale, sizeof two_n);
    return p * two_n;
}

static inline __attribute__((always_inline)) vec NAME(clamp)(vec x, float bound)
{
    const vec lo = (vec){0} - bound, hi = (vec){0} + bound;
    const ivec below = x < lo, above = x > hi; /* lane masks: all ones where true */
    return (vec)(((ivec)lo & below) | ((ivec)hi & above) | ((ivec)x & ~(below | above)));
}

/* The logistic 1 / (1 + e^−x) minus `shift`; clamping x to ±87 keeps e^−x finite and moves no result
 * by more than 2e-38. */
static inline __attribute__((always_inline)) vec NAME(logistic)(vec x, float shift)
{
    return 1.0f / (1.0f + NAME(exp)(-NAME(clamp)(x, 87.0f))) - shift;
}

/* One block of ROWS × `vecs` vectors of one output map; `in` points at the block's top-left input
 * pixel of map 0, `filters` at this output's fan × K × K weights. Always inlined with a constant
 * `vecs`, so every loop below unrolls and the accumulators live in registers. */
static inline __attribute__((always_inline)) void NAME(convolve_block)(
    const float *in, Py_ssize_t map_stride, Py_ssize_t row_stride, const float *filters,
    const int64_t *inputs, Py_ssize_t fan, float bias, float shift, float *out, const int vecs)
{
    vec acc[ROWS][VECS];
    for (int r = 0; r < ROWS; r++)
        for (int v = 0; v < vecs; v++)
            acc[r][v] = (vec){0} + bias;
    for (Py_ssize_t j = 0; j < fan; j++) {
        const float *map = in + inputs[j] * map_stride;
        const float *w = filters + j * K * K;
        for (int ky = 0; ky < K; ky++, map += row_stride, w += K) {
            const float *rows[ROWS]; /* one base pointer per row: every load is base + constant */
            for (int r = 0; r < ROWS; r++)
                rows[r] = map + r * row_stride;
#pragma GCC unroll 5
            for (int kx = 0; kx < K; kx++) {
                const float tap = w[kx];
#pragma GCC unroll 8
                for (int r = 0; r < ROWS; r++)
#pragma GCC unroll 8
                    for (int v = 0; v < vecs; v++)
                        acc[r][v] += tap * NAME(load)(rows[r] + kx + VLEN * v);
            }
        }
    }
    for (int r = 0; r < ROWS; r++)
        for (int v = 0; v < vecs; v++)
            NAME(store)(out + r * row_stride + VLEN * v, NAME(logistic)(acc[r][v], shift));
}

static void NAME(convolve_jobs)(
    const float *in, float *out, const float *weights, const float *bias, const int64_t *connections,
    float shift, Py_ssize_t fan, Py_ssize_t in_map_stride, Py_ssize_t out_map_stride, Py_ssize_t row_stride,
    Py_ssize_t out_rows, Py_ssize_t out_cols, Py_ssize_t job_begin, Py_ssize_t job_end)
{
    const Py_ssize_t row_blocks = (out_rows + ROWS - 1) / ROWS;
    for (Py_ssize_t job = job_begin; job < job_end; job++) {
        const Py_ssize_t o = job / row_blocks;
        const Py_ssize_t y = (job % row_blocks) * ROWS;
        const float *source = in + y * row_stride, *filters = weights + o * fan * K * K;
        const int64_t *inputs = connections + o * fan;
        float *target = out + o * out_map_stride + y * row_stride;
        Py_ssize_t x = 0;
        for (; x + LANES <= out_cols; x += LANES) /* whole blocks, then the rest one vector at a time */
            NAME(convolve_block)(source + x, in_map_stride, row_stride, filters, inputs, fan, bias[o], shift,
                                 target + x, VECS);
        for (; x < out_cols; x += VLEN)
            NAME(convolve_block)(source + x, in_map_stride, row_stride, filters, inputs, fan, bias[o], shift,
                                 target + x, 1);
    }
}
