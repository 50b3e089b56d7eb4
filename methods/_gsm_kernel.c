/* BLS-GSM's per-subband work (methods/_gsm_estimator.py) in one pass over the coefficients.
 *
 * `estimate`: for each neighbourhood y (3 × 3 coefficients and the parent), v = T y, the
 * log-likelihood of each of the K samples of z, L_k = Σ_n a[k, n] v_n² − c_k, and the estimate
 * Σ_k e^(L_k − max L) (b_k · v) / Σ_k e^(L_k − max L). `covariance`: C_y, the mean of y yᵀ. numpy
 * needs the neighbourhoods copied into an N × positions matrix, a few matrix products and
 * K × positions temporaries; here the neighbourhoods are read in place (shifted views of the band)
 * and every intermediate stays in registers or the L1 cache. Both release the GIL, so Python
 * threads run several subbands at once.
 *
 * The estimate runs in float32, 8 positions per GCC vector (one AVX2 register, or two SSE2 ones,
 * whichever clone the CPU picks at load), two vectors per step so that each broadcast matrix entry
 * serves both: twice the positions per instruction of float64 (the estimate pass over bls_gsm's 48
 * subbands of a 512² image, one core: 286 → 149 ms), for estimates within ≈ 1e-7 of a band's
 * largest (denoised BSD68 images within 5.5e-4 grey levels of float64's; docs/bls_gsm.md).
 * C_y stays in float64: its eigenvectors set the whole estimator, and float32 sums over 10⁵
 * positions would lose digits that matter.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define API_VERSION 2 /* bumped whenever the functions' arguments change */
#define WF 8          /* float32 positions per vector (the estimate) */
#define V 2           /* vectors per step of the estimate */
#define WD 4          /* float64 positions per vector (the covariance) */
#define TI 2          /* C_y tile: rows i … */
#define TJ 4          /* … times columns j of accumulators kept in registers */

typedef float vf __attribute__((vector_size(4 * WF)));
typedef float vf_unaligned __attribute__((vector_size(4 * WF), aligned(4)));
typedef int32_t vi __attribute__((vector_size(4 * WF)));
typedef double vd __attribute__((vector_size(8 * WD)));
typedef double vd_unaligned __attribute__((vector_size(8 * WD), aligned(8)));

/* e^x for x ≤ 0 in float32, as 2^t with t = x·log2(e) = n + f, n an integer, |f| ≤ ½: 2^f by a
 * degree-6 polynomial (Chebyshev interpolant of 2^f on [−½, ½], 1e-7 relative: float32's rounding),
 * 2^n from the exponent bits. x is clamped at −60: a weight of e^−60 ≈ 1e-26 next to the largest, 1,
 * changes no float32 sum, and the products stay clear of denormal numbers. */
static inline __attribute__((always_inline)) vf exp_nonpositive(vf x)
{
    const vf lowest = (vf){0} - 60.0f;
    const vi kept = (vi)(x >= lowest);
    x = (vf)(((vi)x & kept) | ((vi)lowest & ~kept));
    const vf shifter = (vf){0} + 12582912.0f; /* 1.5·2^23: adding it rounds to an integer */
    const vf k = x * 1.44269504f + shifter;
    const vf n = k - shifter;
    const vf f = x * 1.44269504f - n;
    static const float coefficients[] = {1.5461445e-04f, 1.3400428e-03f, 9.618057e-03f, 5.550327e-02f,
                                         2.4022651e-01f, 6.9314718e-01f, 1.0f};
    vf p = (vf){0} + coefficients[0];
    for (int i = 1; i < 7; i++)
        p = p * f + coefficients[i];
    vi bits;
    memcpy(&bits, &k, sizeof bits);
    const vi scale = (bits - 0x4B400000 + 127) << 23; /* the integer n, as 2^n's exponent */
    vf two_n;
    memcpy(&two_n, &scale, sizeof two_n);
    return p * two_n;
}

static inline __attribute__((always_inline)) vf vmax(vf a, vf b)
{
    return (vf)(((vi)a & (vi)(a >= b)) | ((vi)b & (vi)(a < b)));
}

/* V·WF positions into out: component j of the neighbourhood of position h·WF + i is planes[j][h·WF + i].
 * The V vectors share every broadcast of a matrix entry. `scratch` holds V·(2n + k) vectors. */
static inline __attribute__((always_inline)) void estimate_block(
    const float *const *planes, Py_ssize_t n, Py_ssize_t k, const float *to_v, const float *a, const float *b,
    const float *c, vf *scratch, vf *out)
{
    vf *v = scratch, *squares = scratch + V * n, *log_lik = scratch + 2 * V * n;
#pragma GCC unroll 16
    for (Py_ssize_t i = 0; i < n; i++) {
        vf sum[V] = {{0}};
#pragma GCC unroll 16
        for (Py_ssize_t j = 0; j < n; j++) {
            const float t = to_v[i * n + j];
            for (int h = 0; h < V; h++)
                sum[h] += t * *(const vf_unaligned *)(planes[j] + h * WF);
        }
        for (int h = 0; h < V; h++) {
            v[i * V + h] = sum[h];
            squares[i * V + h] = sum[h] * sum[h];
        }
    }
    vf largest[V];
    for (int h = 0; h < V; h++)
        largest[h] = (vf){0} - INFINITY;
    for (Py_ssize_t z = 0; z < k; z++) {
        vf sum[V];
        for (int h = 0; h < V; h++)
            sum[h] = (vf){0} - c[z];
#pragma GCC unroll 16
        for (Py_ssize_t i = 0; i < n; i++) {
            const float t = a[z * n + i];
            for (int h = 0; h < V; h++)
                sum[h] += t * squares[i * V + h];
        }
        for (int h = 0; h < V; h++) {
            log_lik[z * V + h] = sum[h];
            largest[h] = vmax(largest[h], sum[h]);
        }
    }
    vf numerator[V] = {{0}}, denominator[V] = {{0}};
    for (Py_ssize_t z = 0; z < k; z++) {
        vf wiener[V] = {{0}};
#pragma GCC unroll 16
        for (Py_ssize_t i = 0; i < n; i++) {
            const float t = b[z * n + i];
            for (int h = 0; h < V; h++)
                wiener[h] += t * v[i * V + h];
        }
        for (int h = 0; h < V; h++) {
            const vf weight = exp_nonpositive(log_lik[z * V + h] - largest[h]);
            numerator[h] += weight * wiener[h];
            denominator[h] += weight;
        }
    }
    for (int h = 0; h < V; h++)
        out[h] = numerator[h] / denominator[h];
}

/* The BLS estimate of a rows × cols grid of positions into the float32 `out` (row r at
 * out + r·out_stride): component j of position (r, x) is the float32 bases[j][r·stride + x]. A
 * band's 3 × 3 neighbourhoods are nine shifted views of the band itself (and one of its parent), so
 * nothing is copied. Each row runs V·WF positions at a time, its last ones through a zero-padded copy. */
static inline __attribute__((always_inline)) void estimate_grid(
    const float *const *bases, const Py_ssize_t n, Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t stride,
    const Py_ssize_t k, const float *to_v, const float *a, const float *b, const float *c, float *out,
    Py_ssize_t out_stride)
{
    vf scratch[V * (2 * n + k)], result[V];
    const float *planes[n];
    float tail[n * V * WF];
    const float *tail_planes[n];
    for (Py_ssize_t j = 0; j < n; j++)
        tail_planes[j] = tail + j * V * WF;
    for (Py_ssize_t r = 0; r < rows; r++) {
        float *row_out = out + r * out_stride;
        Py_ssize_t x = 0;
        for (; x + V * WF <= cols; x += V * WF) {
            for (Py_ssize_t j = 0; j < n; j++)
                planes[j] = bases[j] + r * stride + x;
            estimate_block(planes, n, k, to_v, a, b, c, scratch, result);
            for (int h = 0; h < V; h++)
                *(vf_unaligned *)(row_out + x + h * WF) = result[h];
        }
        if (x < cols) {
            memset(tail, 0, sizeof tail);
            for (Py_ssize_t j = 0; j < n; j++)
                memcpy(tail + j * V * WF, bases[j] + r * stride + x, (cols - x) * sizeof(float));
            estimate_block(tail_planes, n, k, to_v, a, b, c, scratch, result);
            for (Py_ssize_t i = x; i < cols; i++)
                row_out[i] = result[(i - x) / WF][(i - x) % WF];
        }
    }
}

/* TI·TJ accumulators: components i0 … i0 + TI − 1 times j0 … j0 + TJ − 1 (indices past the last
 * component clamped to it: redundant products, never read), over WD positions at each `x` of a row
 * of `count` vectors. They stay in registers for the whole row, which is in the L1 cache. */
static inline __attribute__((always_inline)) void accumulate_tile(const double *const *planes, Py_ssize_t n,
                                                                  Py_ssize_t i0, Py_ssize_t j0,
                                                                  Py_ssize_t count, vd *sums)
{
    const double *yi[TI], *yj[TJ];
    for (int a = 0; a < TI; a++)
        yi[a] = planes[i0 + a < n ? i0 + a : n - 1];
    for (int c = 0; c < TJ; c++)
        yj[c] = planes[j0 + c < n ? j0 + c : n - 1];
    vd acc[TI][TJ];
    memcpy(acc, sums, sizeof acc);
    for (Py_ssize_t x = 0; x < count * WD; x += WD) {
        vd left[TI];
        for (int a = 0; a < TI; a++)
            left[a] = *(const vd_unaligned *)(yi[a] + x);
        for (int c = 0; c < TJ; c++) {
            const vd right = *(const vd_unaligned *)(yj[c] + x);
            for (int a = 0; a < TI; a++)
                acc[a][c] += left[a] * right;
        }
    }
    memcpy(sums, acc, sizeof acc);
}

/* C_y of a rows × cols grid of positions whose component j is the float64 bases[j][r·stride + x],
 * into out (n × n). The lower triangle is covered by TI × TJ tiles whose accumulators stay in
 * registers along a row (one accumulator per product and per lane overflows the 16 AVX2 registers,
 * so that every product would load and store its sum). Each lane adds its positions in the same
 * order as one pass over the rows would, a row's last (cols mod WD) positions from a zero-padded copy. */
static inline __attribute__((always_inline)) void covariance_grid(const double *const *bases, const Py_ssize_t n,
                                                                  Py_ssize_t rows, Py_ssize_t cols,
                                                                  Py_ssize_t stride, double *out)
{
    Py_ssize_t tiles = 0;
    for (Py_ssize_t i0 = 0; i0 < n; i0 += TI)
        for (Py_ssize_t j0 = 0; j0 < i0 + TI && j0 < n; j0 += TJ)
            tiles++;
    vd sums[tiles * TI * TJ];
    memset(sums, 0, sizeof sums);
    const double *planes[n], *tail_planes[n];
    double tail[n * WD];
    for (Py_ssize_t j = 0; j < n; j++)
        tail_planes[j] = tail + j * WD;
    const Py_ssize_t whole = cols / WD, left_over = cols - whole * WD;
    for (Py_ssize_t r = 0; r < rows; r++) {
        for (Py_ssize_t j = 0; j < n; j++)
            planes[j] = bases[j] + r * stride;
        if (left_over) {
            memset(tail, 0, sizeof tail); /* zeros add nothing to the sums */
            for (Py_ssize_t j = 0; j < n; j++)
                memcpy(tail + j * WD, planes[j] + whole * WD, left_over * sizeof(double));
        }
        vd *tile = sums;
        for (Py_ssize_t i0 = 0; i0 < n; i0 += TI)
            for (Py_ssize_t j0 = 0; j0 < i0 + TI && j0 < n; j0 += TJ, tile += TI * TJ) {
                accumulate_tile(planes, n, i0, j0, whole, tile);
                if (left_over)
                    accumulate_tile(tail_planes, n, i0, j0, 1, tile);
            }
    }
    const vd *tile = sums;
    for (Py_ssize_t i0 = 0; i0 < n; i0 += TI)
        for (Py_ssize_t j0 = 0; j0 < i0 + TI && j0 < n; j0 += TJ, tile += TI * TJ)
            for (Py_ssize_t i = i0; i < i0 + TI && i < n; i++)
                for (Py_ssize_t j = j0; j < j0 + TJ && j <= i; j++) {
                    double total = 0;
                    for (int lane = 0; lane < WD; lane++)
                        total += tile[(i - i0) * TJ + (j - j0)][lane];
                    out[i * n + j] = out[j * n + i] = total / (double)(rows * cols);
                }
}

/* The grids with the common sizes as constants (3 × 3 neighbourhoods with and without the parent,
 * the 13 samples of z of both settings), so that GCC unrolls every loop over them and keeps the
 * vectors in registers; the same operations in the same order, so the same results. */
#if defined(__x86_64__) && !defined(__clang__) && __GNUC__ >= 12
#define CLONED __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONED
#endif

CLONED static void run_estimate(const float *const *bases, Py_ssize_t n, Py_ssize_t rows, Py_ssize_t cols,
                                Py_ssize_t stride, Py_ssize_t k, const float *to_v, const float *a,
                                const float *b, const float *c, float *out, Py_ssize_t out_stride)
{
#define RUN(N, Z) estimate_grid(bases, N, rows, cols, stride, Z, to_v, a, b, c, out, out_stride)
    if (n == 10 && k == 13)
        RUN(10, 13);
    else if (n == 9 && k == 13)
        RUN(9, 13);
    else
        RUN(n, k);
#undef RUN
}

CLONED static void run_covariance(const double *const *bases, Py_ssize_t n, Py_ssize_t rows, Py_ssize_t cols,
                                  Py_ssize_t stride, double *out)
{
    if (n == 10)
        covariance_grid(bases, 10, rows, cols, stride, out);
    else if (n == 9)
        covariance_grid(bases, 9, rows, cols, stride, out);
    else
        covariance_grid(bases, n, rows, cols, stride, out);
}

/* Raw addresses as Python ints (the caller, methods/_gsm_estimator.py, guarantees shapes and types). */
static int read_bases(PyObject *sequence, Py_ssize_t *n, const void **bases)
{
    *n = PySequence_Size(sequence);
    if (*n < 1 || *n > 64) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "between 1 and 64 neighbourhood components");
        return -1;
    }
    for (Py_ssize_t j = 0; j < *n; j++) {
        PyObject *item = PySequence_GetItem(sequence, j);
        if (item == NULL)
            return -1;
        bases[j] = PyLong_AsVoidPtr(item);
        Py_DECREF(item);
        if (PyErr_Occurred())
            return -1;
    }
    return 0;
}

static PyObject *estimate(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *base_list;
    Py_ssize_t n, rows, cols, stride, k, to_v, a, b, c, out, out_stride;
    if (!PyArg_ParseTuple(args, "Onnnnnnnnnn", &base_list, &rows, &cols, &stride, &k, &to_v, &a, &b, &c, &out,
                          &out_stride))
        return NULL;
    const void *bases[64];
    if (read_bases(base_list, &n, bases) < 0)
        return NULL;
    if (k < 1) {
        PyErr_SetString(PyExc_ValueError, "at least one sample of z");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    run_estimate((const float *const *)bases, n, rows, cols, stride, k, (const float *)to_v, (const float *)a,
                 (const float *)b, (const float *)c, (float *)out, out_stride);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *covariance(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *base_list;
    Py_ssize_t n, rows, cols, stride, out;
    if (!PyArg_ParseTuple(args, "Onnnn", &base_list, &rows, &cols, &stride, &out))
        return NULL;
    const void *bases[64];
    if (read_bases(base_list, &n, bases) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    run_covariance((const double *const *)bases, n, rows, cols, stride, (double *)out);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"estimate", estimate, METH_VARARGS,
     "estimate(bases, rows, cols, stride, k, to_v, a, b, c, out, out_stride): the BLS-GSM estimate of each "
     "position of a rows × cols grid whose neighbourhood component j is float32 bases[j][r * stride + x] "
     "(addresses), with T = to_v (n × n), a and b (k × n), c (k), all float32, into float32 "
     "out[r * out_stride + x]."},
    {"covariance", covariance, METH_VARARGS,
     "covariance(bases, rows, cols, stride, out): the mean outer product of the neighbourhoods of a rows × cols "
     "grid whose component j is float64 bases[j][r * stride + x] (addresses), into float64 out (n × n)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, .m_name = "_gsm_kernel", .m_size = -1, .m_methods = methods};

PyMODINIT_FUNC PyInit__gsm_kernel(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddIntConstant(m, "API_VERSION", API_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
