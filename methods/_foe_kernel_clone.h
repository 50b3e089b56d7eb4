/* One clone of FoE's gradient kernel, compiled once per instruction set through _clones.h and
 * _clone_instance.h (which give it NAME, vec, ivec, load, store, VLEN and LANES); _foe_kernel.c defines
 * ROWS, VECS, MARGIN, MAX_CLIQUE, struct foe_job and ring_slot.
 *
 * Both halves of a gradient are the same block computation: ROWS × `vecs` vectors of accumulators in
 * registers, every tap broadcast once and multiplied into the whole block, the inputs read straight from
 * the L1 cache through one pointer per input row. The responses read the image with each filter J_i's
 * taps; the back-projection reads the N maps ψ_i with the mirrored taps 2α_i J_i (a "full" convolution),
 * summed over i in the same registers.
 */

/* acc[r][v] += Σ_(ky, kx) taps[ky·s + kx] · in[r + ky][offset + kx + VLEN·v]. Always inlined with constant
 * `vecs` and, for the specialised clique sizes, constant `s`, so every loop unrolls. */
static inline __attribute__((always_inline)) void NAME(accumulate)(
    vec acc[ROWS][VECS], const float *const *in, Py_ssize_t offset, const float *taps, const int s, const int vecs)
{
    for (int ky = 0; ky < s; ky++) {
        const float *rows[ROWS]; /* one base pointer per row: every load is base + constant */
        for (int r = 0; r < ROWS; r++)
            rows[r] = in[r + ky] + offset;
        for (int kx = 0; kx < s; kx++) {
            const float tap = taps[ky * s + kx];
#pragma GCC unroll 8
            for (int r = 0; r < ROWS; r++)
#pragma GCC unroll 8
                for (int v = 0; v < vecs; v++)
                    acc[r][v] += tap * NAME(load)(rows[r] + kx + VLEN * v);
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
 * end there) and in the rows not `inside`. */
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
            NAME(store)(out[r] + column + VLEN * v, inside[r] ? (vec)((ivec)psi & kept) : (vec){0});
        }
    }
}

/* ψ_i of every map for clique rows [top, top + ROWS) into their ring rows; zero for rows outside the
 * image's height − s + 1 rows of cliques (their inputs are read from clamped rows and dropped). */
static inline __attribute__((always_inline)) void NAME(response_rows)(const struct foe_job *job, float *ring,
                                                                    Py_ssize_t top, const int s)
{
    const Py_ssize_t h = job->height - s + 1, w = job->width - s + 1;
    const float *in[ROWS + MAX_CLIQUE - 1];
    float *out[ROWS];
    int inside[ROWS];
    for (int j = 0; j < ROWS + s - 1; j++)
        in[j] = job->x + (top + j < 0 ? 0 : top + j < job->height ? top + j : job->height - 1) * job->x_stride;
    for (int r = 0; r < ROWS; r++) {
        inside[r] = top + r >= 0 && top + r < h;
        out[r] = ring + ring_slot(top + r, s) * job->ring_row + MARGIN;
    }
    for (Py_ssize_t i = 0; i < job->maps; i++) {
        const float *taps = job->filters + i * s * s;
        float *maps[ROWS];
        for (int r = 0; r < ROWS; r++)
            maps[r] = out[r] + i * job->ring_map;
        vec acc[ROWS][VECS];
        Py_ssize_t x = 0;
        for (; x + LANES <= w; x += LANES) { /* whole blocks, then the rest one vector at a time */
            NAME(clear)(acc, VECS);
            NAME(accumulate)(acc, in, x, taps, s, VECS);
            NAME(store_psi)(acc, maps, x, w, inside, VECS);
        }
        for (; x < w; x += VLEN) {
            NAME(clear)(acc, 1);
            NAME(accumulate)(acc, in, x, taps, s, 1);
            NAME(store_psi)(acc, maps, x, w, inside, 1);
        }
    }
}

/* The first `count` rows of a block at (top, column) out: the gradient, or with a noisy image the
 * gradient step x + ω/σ²·η (y − x) − η ∇E + β (x − x_prev), x_prev read from out (as methods/foe.py's
 * torch steps round it). Vectors that pass
 * the image's width are stored through a copy of their lanes inside it. */
static inline __attribute__((always_inline)) void NAME(finish)(const struct foe_job *job, vec acc[ROWS][VECS],
                                                             Py_ssize_t top, Py_ssize_t count, Py_ssize_t column,
                                                             const int vecs)
{
    for (int r = 0; r < ROWS; r++) /* a constant bound, so that acc stays in registers */
        for (int v = 0; v < vecs && r < count; v++) {
            const Py_ssize_t row = top + r, col = column + VLEN * v;
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
    vec acc[ROWS][VECS];
    Py_ssize_t x = 0;
    for (; x + LANES <= job->width; x += LANES) {
        NAME(clear)(acc, VECS);
        for (Py_ssize_t i = 0; i < job->maps; i++)
            NAME(accumulate)(acc, in, i * job->ring_map + x, job->taps + i * s * s, s, VECS);
        NAME(finish)(job, acc, top, count, x, VECS);
    }
    for (; x < job->width; x += VLEN) {
        NAME(clear)(acc, 1);
        for (Py_ssize_t i = 0; i < job->maps; i++)
            NAME(accumulate)(acc, in, i * job->ring_map + x, job->taps + i * s * s, s, 1);
        NAME(finish)(job, acc, top, count, x, 1);
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
