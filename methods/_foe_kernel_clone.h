/* One clone of FoE's gradient kernel, compiled once per instruction set through _clones.h and
 * _clone_instance.h (which give it NAME, vec, ivec, load, store, VLEN and LANES); _foe_kernel.c defines
 * ROWS, VECS, MARGIN, MAX_CLIQUE, struct foe_job and ring_slot.
 *
 * Both halves of a gradient are the same block computation: ROWS × `vecs` vectors of accumulators in
 * registers, each input vector loaded once for all the block's rows and multiplied by one broadcast tap
 * per row, the inputs read straight from the L1 cache through one pointer per input row. The responses read the image with each filter J_i's
 * taps; the back-projection reads the N maps ψ_i with the mirrored taps 2α_i J_i (a "full" convolution),
 * summed over i in the same registers.
 */

/* Vectors per block row: VECS, but PLAIN_VECS = 1 in the plain clone, whose 8-float vectors take two of
 * SSE2's 16 registers each (its 4 × 3 blocks spilled and ran 2.5× slower than 4 × 1 blocks). */
#ifdef CLONE_TARGET
#define BLOCK_VECS VECS
#else
#define BLOCK_VECS PLAIN_VECS
#endif
#define BLOCK_LANES (VLEN * BLOCK_VECS)

/* acc[r][v] += Σ_(ky, kx) taps[ky·s + kx] · in[r + ky][offset + kx + VLEN·v]. Always inlined with constant
 * `vecs` and, for the specialised clique sizes, constant `s`, so every loop unrolls. The loops run over
 * input rows j = r + ky: each input vector is loaded once for all the block's rows that use it (up to
 * ROWS taps), ≈ 0.7 loads per multiply-add instead of 1.1 when every row loaded its own (which left the
 * kernel bound by loads, at half the FMA rate); each accumulator still sums its terms in (ky, kx) order.
 * The empty asm hides from GCC that `t` is the same pointer for every j: otherwise it keeps all s²
 * broadcast taps in registers across the unrolled rows and spills the accumulators. */
static inline __attribute__((always_inline)) void NAME(accumulate)(
    vec acc[ROWS][VECS], const float *const *in, Py_ssize_t offset, const float *taps, const int s, const int vecs)
{
#pragma GCC unroll 8
    for (int j = 0; j < ROWS + s - 1; j++) {
        const float *row = in[j] + offset, *t = taps;
        __asm__ volatile("" : "+r"(t));
#pragma GCC unroll 8
        for (int kx = 0; kx < s; kx++) {
            vec input[VECS];
#pragma GCC unroll 8
            for (int v = 0; v < vecs; v++)
                input[v] = NAME(load)(row + kx + VLEN * v);
#pragma GCC unroll 8
            for (int r = 0; r < ROWS; r++) {
                if (j - r < 0 || j - r >= s)
                    continue;
                const float tap = t[(j - r) * s + kx];
#pragma GCC unroll 8
                for (int v = 0; v < vecs; v++)
                    acc[r][v] += tap * input[v];
            }
        }
    }
}

static inline __attribute__((always_inline)) void NAME(clear)(vec acc[ROWS][VECS], const int vecs)
{
    for (int r = 0; r < ROWS; r++)
        for (int v = 0; v < vecs; v++)
            acc[r][v] = (vec){0};
}

/* ψ = r / (2 + r²), that is φ(r) / 2 (the 2 and α_i are in the back-projection's taps), one division
 * per vector (exactly rounded, as torch's); zero in the lanes at or past column `width` (the cliques
 * end there) and in the rows not `inside` (a mask: 0 or all ones). Masked, not branched on: with a branch
 * GCC sinks the accumulation into it and computes each accumulator as one serial chain. */
static inline __attribute__((always_inline)) void NAME(store_psi)(
    vec acc[ROWS][VECS], float *const *out, Py_ssize_t column, Py_ssize_t width, const int *inside, const int vecs)
{
    ivec lane;
    for (int k = 0; k < VLEN; k++)
        lane[k] = k;
    for (int v = 0; v < vecs; v++) {
        const ivec kept = lane + (int)(column + VLEN * v - width) < 0;
        for (int r = 0; r < ROWS; r++) {
            const vec psi = acc[r][v] / (2.0f + acc[r][v] * acc[r][v]);
            NAME(store)(out[r] + column + VLEN * v, (vec)((ivec)psi & kept & inside[r]));
        }
    }
}

/* Columns [0, width) rounded up to whole vectors: the blocks cover these, lanes past width discarded. */
static inline __attribute__((always_inline)) Py_ssize_t NAME(vectors_over)(Py_ssize_t width)
{
    return (width + VLEN - 1) / VLEN * VLEN;
}

/* The block after the one at column x, of blocks covering [0, wide) (wide ≥ BLOCK_LANES): the last is moved
 * left to end at wide, recomputing a few columns of the one before, rather than run a vector at a time
 * with ROWS accumulators, too few to hide the multiply-add latency (that tail cost 15 % of 512²'s
 * responses). A recomputed column is the same sum in the same order, so it gets the same value. */
static inline __attribute__((always_inline)) Py_ssize_t NAME(next_block)(Py_ssize_t x, Py_ssize_t wide)
{
    x += BLOCK_LANES;
    return x < wide && x + BLOCK_LANES > wide ? wide - BLOCK_LANES : x;
}

/* ψ_i of every map for clique rows [top, top + ROWS) into their ring rows; zero for rows outside the
 * image's height − s + 1 rows of cliques (their inputs are read from clamped rows and dropped). */
static inline __attribute__((always_inline)) void NAME(response_rows)(const struct foe_job *job, float *ring,
                                                                    Py_ssize_t top, const int s)
{
    const Py_ssize_t h = job->height - s + 1, w = job->width - s + 1, wide = NAME(vectors_over)(w);
    const float *in[ROWS + MAX_CLIQUE - 1];
    float *out[ROWS];
    int inside[ROWS];
    for (int j = 0; j < ROWS + s - 1; j++)
        in[j] = job->x + (top + j < 0 ? 0 : top + j < job->height ? top + j : job->height - 1) * job->x_stride;
    for (int r = 0; r < ROWS; r++) {
        inside[r] = -(top + r >= 0 && top + r < h);
        out[r] = ring + ring_slot(top + r, s) * job->ring_row + MARGIN;
    }
    for (Py_ssize_t i = 0; i < job->maps; i++) {
        const float *taps = job->filters + i * s * s;
        float *maps[ROWS];
        for (int r = 0; r < ROWS; r++)
            maps[r] = out[r] + i * job->ring_map;
        vec acc[ROWS][VECS];
        if (wide < BLOCK_LANES) { /* a narrow image: one vector at a time */
            for (Py_ssize_t x = 0; x < w; x += VLEN) {
                NAME(clear)(acc, 1);
                NAME(accumulate)(acc, in, x, taps, s, 1);
                NAME(store_psi)(acc, maps, x, w, inside, 1);
            }
            continue;
        }
        for (Py_ssize_t x = 0; x < wide; x = NAME(next_block)(x, wide)) {
            NAME(clear)(acc, BLOCK_VECS);
            NAME(accumulate)(acc, in, x, taps, s, BLOCK_VECS);
            NAME(store_psi)(acc, maps, x, w, inside, BLOCK_VECS);
        }
    }
}

/* The first `count` rows of a block at (top, column) out: the gradient, or with a noisy image the
 * gradient step x + ω/σ²·η (y − x) − η ∇E + β (x − x_prev), x_prev read from out (as methods/foe.py's
 * torch steps round it). Vectors left of column `done` (finished by the block before, which this one
 * overlaps) are skipped: out there already holds x_next, not x_prev. Vectors that pass the image's
 * width are stored through a copy of their lanes inside it. */
static inline __attribute__((always_inline)) void NAME(finish)(const struct foe_job *job, vec acc[ROWS][VECS],
                                                             Py_ssize_t top, Py_ssize_t count, Py_ssize_t column,
                                                             Py_ssize_t done, const int vecs)
{
    for (int r = 0; r < ROWS; r++) /* a constant bound, so that acc stays in registers */
        for (int v = 0; v < vecs && r < count; v++) {
            const Py_ssize_t row = top + r, col = column + VLEN * v;
            if (col < done)
                continue;
            vec value = acc[r][v];
            if (job->y != NULL) {
                const vec x = NAME(load)(job->x + row * job->x_stride + col);
                value = (x + (NAME(load)(job->y + row * job->y_stride + col) - x) * job->pull) - job->step * value;
                if (job->momentum != 0.0f)
                    value += job->momentum * (x - NAME(load)(job->out + row * job->out_stride + col));
            }
            float *target = job->out + row * job->out_stride + col;
            if (col + VLEN <= job->width) {
                NAME(store)(target, value);
            } else {
                float lanes[VLEN];
                NAME(store)(lanes, value);
                memcpy(target, lanes, (size_t)(job->width - col) * sizeof(float));
            }
        }
}

/* Output rows [top, top + count), count ≤ ROWS: Σ_i of the mirrored taps over ψ_i's rows
 * [top − s + 1, top + ROWS), which the ring holds. */
static inline __attribute__((always_inline)) void NAME(gradient_rows)(const struct foe_job *job, const float *ring,
                                                                    Py_ssize_t top, Py_ssize_t count, const int s)
{
    const float *in[ROWS + MAX_CLIQUE - 1];
    for (int j = 0; j < ROWS + s - 1; j++)
        in[j] = ring + ring_slot(top - (s - 1) + j, s) * job->ring_row + MARGIN - (s - 1);
    const Py_ssize_t wide = NAME(vectors_over)(job->width);
    vec acc[ROWS][VECS];
    if (wide < BLOCK_LANES) { /* a narrow image: one vector at a time */
        for (Py_ssize_t x = 0; x < job->width; x += VLEN) {
            NAME(clear)(acc, 1);
            for (Py_ssize_t i = 0; i < job->maps; i++)
                NAME(accumulate)(acc, in, i * job->ring_map + x, job->taps + i * s * s, s, 1);
            NAME(finish)(job, acc, top, count, x, x, 1);
        }
        return;
    }
    for (Py_ssize_t x = 0, done = 0; x < wide; done = x + BLOCK_LANES, x = NAME(next_block)(x, wide)) {
        NAME(clear)(acc, BLOCK_VECS);
        for (Py_ssize_t i = 0; i < job->maps; i++)
            NAME(accumulate)(acc, in, i * job->ring_map + x, job->taps + i * s * s, s, BLOCK_VECS);
        NAME(finish)(job, acc, top, count, x, done, BLOCK_VECS);
    }
}

/* Output rows [begin, end): the responses of the s − 1 rows of cliques above begin first, then, a block
 * of ROWS rows at a time, those of the next rows and the block's output, so the N maps' ring of
 * ROWS + s − 1 rows stays in the L2 cache. */
static inline __attribute__((always_inline)) void NAME(rows_of)(const struct foe_job *job, float *ring,
                                                              Py_ssize_t begin, Py_ssize_t end, const int s)
{
    for (Py_ssize_t top = begin - (s - 1); top < begin; top += ROWS)
        NAME(response_rows)(job, ring, top, s);
    for (Py_ssize_t top = begin; top < end; top += ROWS) {
        NAME(response_rows)(job, ring, top, s);
        NAME(gradient_rows)(job, ring, top, end - top < ROWS ? end - top : ROWS, s);
    }
}

/* Specialised for Roth & Black's 3×3 and 5×5 cliques, any other size through the generic loops. */
static void NAME(foe_rows)(const struct foe_job *job, float *ring, Py_ssize_t begin, Py_ssize_t end)
{
    switch (job->clique) {
    case 3:
        NAME(rows_of)(job, ring, begin, end, 3);
        break;
    case 5:
        NAME(rows_of)(job, ring, begin, end, 5);
        break;
    default:
        NAME(rows_of)(job, ring, begin, end, job->clique);
    }
}

#undef BLOCK_LANES
#undef BLOCK_VECS
