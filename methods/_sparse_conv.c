/* The convnets' layers for inference on a CPU: out[o] = f(bias[o] + Σ_j w[o, j] ⊗ in[inputs[o, j]]) − shift,
 * f the logistic and ⊗ a "valid" 5 × 5 convolution.
 *
 * Each output map reads only its `fan` input maps, so the paper's sparse layers cost their real
 * 8-of-24 connections, not a dense 24 × 24 bank that multiplies by zeros. A block of ROWS output
 * rows × VECS 8-float vectors stays in registers over every tap of every connection; each tap is
 * broadcast once and feeds the whole block, whose inputs are read straight from the L1 cache.
 * ROWS × VECS = 3 × 4 was the fastest block on a 2-core AMD EPYC (AVX2); GCC keeps it in registers.
 *
 * The caller (methods/_sparse_inference.py) owns the memory: maps are planar float32 with a common
 * row stride and slack rows and columns, so whole blocks may run past the valid region; what they
 * compute there never reaches a valid output. Work is split into jobs (output map, row block);
 * `logistic_layer` runs a range of them with the GIL released, so Python threads run ranges in
 * parallel.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define API_VERSION 1 /* bumped whenever logistic_layer's arguments change */
#define K 5           /* filter size */
#define ROWS 3        /* output rows per block */
#define VECS 4        /* 8-float vectors per block row */
#define LANES (8 * VECS)

typedef float v8 __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

static inline __attribute__((always_inline)) v8 load8(const float *p)
{
    v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) void store8(float *p, v8 v)
{
    memcpy(p, &v, sizeof v);
}

/* e^x for x in [−87, 87]: x = n·ln2 + r with |r| ≤ ln2/2, e^r by its degree-6 Taylor polynomial
 * (relative error < 3e-7, below float32's own rounding of the sums it follows), 2^n by building the
 * float's exponent bits. Rounding x/ln2 to the nearest integer adds 1.5·2^23 and takes it away. */
static inline __attribute__((always_inline)) v8 exp8(v8 x)
{
    const v8 shifter = (v8){0} + 12582912.0f;
    const v8 k = x * 1.44269504f + shifter;
    const v8 n = k - shifter;
    const v8 r = (x - n * 0.693145752f) - n * 1.42860677e-6f; /* ln2 split in two for exactness */
    v8 p = (v8){0} + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    v8i bits;
    memcpy(&bits, &k, sizeof bits);
    const v8i scale = (bits - 0x4B400000 + 127) << 23; /* the integer n, as 2^n's exponent bits */
    v8 two_n;
    memcpy(&two_n, &scale, sizeof two_n);
    return p * two_n;
}

static inline __attribute__((always_inline)) v8 clamp8(v8 x, float bound)
{
    const v8 lo = (v8){0} - bound, hi = (v8){0} + bound;
    const v8i below = x < lo, above = x > hi; /* lane masks: all ones where true */
    return (v8)(((v8i)lo & below) | ((v8i)hi & above) | ((v8i)x & ~(below | above)));
}

/* The logistic 1 / (1 + e^−x) minus `shift`; clamping x to ±87 keeps e^−x finite and moves no result
 * by more than 2e-38. */
static inline __attribute__((always_inline)) v8 logistic8(v8 x, float shift)
{
    return 1.0f / (1.0f + exp8(-clamp8(x, 87.0f))) - shift;
}

/* One block of ROWS × `vecs` 8-pixel vectors of one output map; `in` points at the block's top-left
 * input pixel of map 0, `filters` at this output's fan × K × K weights. Always inlined with a
 * constant `vecs`, so every loop below unrolls and the accumulators live in registers. */
static inline __attribute__((always_inline)) void convolve_block(
    const float *in, Py_ssize_t map_stride, Py_ssize_t row_stride, const float *filters,
    const int64_t *inputs, Py_ssize_t fan, float bias, float shift, float *out, const int vecs)
{
    v8 acc[ROWS][VECS];
    for (int r = 0; r < ROWS; r++)
        for (int v = 0; v < vecs; v++)
            acc[r][v] = (v8){0} + bias;
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
                        acc[r][v] += tap * load8(rows[r] + kx + 8 * v);
            }
        }
    }
    for (int r = 0; r < ROWS; r++)
        for (int v = 0; v < vecs; v++)
            store8(out + r * row_stride + 8 * v, logistic8(acc[r][v], shift));
}

#if defined(__x86_64__) && !defined(__clang__) && __GNUC__ >= 11
/* Built once for AVX2 + FMA and once for any x86-64; the loader picks what the CPU has. */
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
static void convolve_jobs(
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
        for (; x + LANES <= out_cols; x += LANES) /* whole blocks, then the rest 8 pixels at a time */
            convolve_block(source + x, in_map_stride, row_stride, filters, inputs, fan, bias[o], shift, target + x, VECS);
        for (; x < out_cols; x += 8)
            convolve_block(source + x, in_map_stride, row_stride, filters, inputs, fan, bias[o], shift, target + x, 1);
    }
}

static PyObject *logistic_layer(PyObject *Py_UNUSED(self), PyObject *args)
{
    Py_ssize_t in, out, weights, bias, connections;
    float shift;
    Py_ssize_t fan, in_map_stride, out_map_stride, row_stride, out_rows, out_cols, job_begin, job_end;
    if (!PyArg_ParseTuple(args, "nnnnnfnnnnnnnn", &in, &out, &weights, &bias, &connections, &shift, &fan,
                          &in_map_stride, &out_map_stride, &row_stride, &out_rows, &out_cols,
                          &job_begin, &job_end))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    convolve_jobs((const float *)in, (float *)out, (const float *)weights, (const float *)bias,
                  (const int64_t *)connections, shift, fan, in_map_stride, out_map_stride, row_stride, out_rows,
                  out_cols, job_begin, job_end);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"logistic_layer", logistic_layer, METH_VARARGS,
     "logistic_layer(in, out, weights, bias, connections, shift, fan, in_map_stride, out_map_stride, "
     "row_stride, out_rows, out_cols, job_begin, job_end): jobs [job_begin, job_end) of "
     "out = logistic(bias + sparse 5x5 valid convolution of in) - shift, on raw float32/int64 "
     "addresses; the caller guarantees the buffers' geometry."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, .m_name = "_sparse_conv", .m_size = -1, .m_methods = methods};

PyMODINIT_FUNC PyInit__sparse_conv(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddIntConstant(m, "API_VERSION", API_VERSION) < 0 || PyModule_AddIntConstant(m, "ROWS", ROWS) < 0 ||
        PyModule_AddIntConstant(m, "LANES", LANES) < 0 || PyModule_AddIntConstant(m, "KERNEL", K) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
