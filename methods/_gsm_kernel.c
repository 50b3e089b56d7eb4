/* BLS-GSM's per-subband work (methods/_gsm_estimator.py) in one pass over the coefficients.
 *
 * For each neighbourhood y (3 × 3 coefficients and the parent): v = T y, the log-likelihood of each of
 * the K samples of z, L_k = Σ_n a[k, n] v_n² − c_k, and the estimate
 * Σ_k e^(L_k − max L) (b_k · v) / Σ_k e^(L_k − max L); or, for C_y, the mean of y yᵀ. numpy needs the
 * neighbourhoods copied into an N × positions matrix, a few matrix products and K × positions
 * temporaries; here the neighbourhoods are read in place (shifted views of the band) and every
 * intermediate stays in registers or the L1 cache, in float64 like numpy (results agree with it to
 * rounding). Positions go 4 at a time in GCC vector types: one AVX2 register or two SSE2 ones,
 * whichever clone the CPU picks at load (an 8-wide type made GCC assemble AVX2 vectors element by
 * element, 2× slower than numpy). The estimate takes two such vectors (8 positions) per step: each
 * matrix entry broadcast into a register then serves both, which halves the loads that limited the
 * FMAs (340 → 300 ms for bls_gsm's 48 subbands of a 512² image, one core). `positions` releases the
 * GIL, so Python threads run several subbands at once.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define API_VERSION 1 /* bumped whenever positions' arguments change */
#define W 4           /* positions per vector */
#define V 2           /* vectors per step of the estimate */

typedef double vd __attribute__((vector_size(8 * W)));
typedef double vd_unaligned __attribute__((vector_size(8 * W), aligned(8)));
typedef int64_t vl __attribute__((vector_size(8 * W)));

/* e^x for x ≤ 0, as 2^t with t = x·log2(e) = n + f, n an integer, |f| ≤ ½: 2^f by a degree-11
 * polynomial (Chebyshev fit of 2^f on [−½, ½], 2e-16 relative in float64), 2^n from the exponent bits.
 * f is one FMA, x·log2(e) − n, rounded once: an absolute error of ≈ 1e-16·|x|, i.e. ≈ 1e-15 relative
 * for the weights that matter (x > −40). x is clamped at −600 so that 2^n stays a normal number:
 * a weight of e^−600 ≈ 3e-261 next to the largest, 1, changes no sum, and the products stay clear
 * of denormal numbers, which cost a hundred cycles each. Four fewer operations than e^r by its
 * degree-13 Taylor polynomial with a two-part ln 2 (the estimate 300 → 255 ms, as above). */
static inline __attribute__((always_inline)) vd exp_nonpositive(vd x)
{
    const vd lowest = (vd){0} - 600.0;
    const vl kept = (vl)(x >= lowest);
    x = (vd)(((vl)x & kept) | ((vl)lowest & ~kept));
    const vd shifter = (vd){0} + 6755399441055744.0; /* 1.5·2^52: adding it rounds to an integer */
    const vd k = x * 1.4426950408889634 + shifter;
    const vd n = k - shifter;
    const vd f = x * 1.4426950408889634 - n;
    static const double coefficients[] = {
        4.4558179083360645e-10, 7.074194297288521e-09, 1.0178057087733941e-07, 1.3215432535912375e-06,
        1.5252733841556773e-05, 0.00015403530463724353, 0.001333355814640647,  0.009618129107587256,
        0.055504108664821625,   0.24022650695910158,    0.6931471805599453,    1.0};
    vd p = (vd){0} + coefficients[0];
    for (int i = 1; i < 12; i++)
        p = p * f + coefficients[i];
    vl bits;
    memcpy(&bits, &k, sizeof bits);
    const vl scale = (bits - 0x4338000000000000LL + 1023) << 52; /* the integer n, as 2^n's exponent */
    vd two_n;
    memcpy(&two_n, &scale, sizeof two_n);
    return p * two_n;
}

static inline __attribute__((always_inline)) vd vmax(vd a, vd b)
{
    return (vd)(((vl)a & (vl)(a >= b)) | ((vl)b & (vl)(a < b)));
}

/* V·W positions into out: component j of the neighbourhood of position h·W + i is planes[j][h·W + i].
 * The V vectors share every broadcast of a matrix entry. `scratch` holds V·(2n + k) vectors. */
static inline __attribute__((always_inline)) void estimate_block(
    const double *const *planes, Py_ssize_t n, Py_ssize_t k, const double *to_v, const double *a, const double *b,
    const double *c, vd *scratch, double *out)
{
    vd *v = scratch, *squares = scratch + V * n, *log_lik = scratch + 2 * V * n;
#pragma GCC unroll 16
    for (Py_ssize_t i = 0; i < n; i++) {
        vd sum[V] = {{0}};
#pragma GCC unroll 16
        for (Py_ssize_t j = 0; j < n; j++) {
            const double t = to_v[i * n + j];
            for (int h = 0; h < V; h++)
                sum[h] += t * *(const vd_unaligned *)(planes[j] + h * W);
        }
        for (int h = 0; h < V; h++) {
            v[i * V + h] = sum[h];
            squares[i * V + h] = sum[h] * sum[h];
        }
    }
    vd largest[V];
    for (int h = 0; h < V; h++)
        largest[h] = (vd){0} - INFINITY;
    for (Py_ssize_t z = 0; z < k; z++) {
        vd sum[V];
        for (int h = 0; h < V; h++)
            sum[h] = (vd){0} - c[z];
#pragma GCC unroll 16
        for (Py_ssize_t i = 0; i < n; i++) {
            const double t = a[z * n + i];
            for (int h = 0; h < V; h++)
                sum[h] += t * squares[i * V + h];
        }
        for (int h = 0; h < V; h++) {
            log_lik[z * V + h] = sum[h];
            largest[h] = vmax(largest[h], sum[h]);
        }
    }
    vd numerator[V] = {{0}}, denominator[V] = {{0}};
    for (Py_ssize_t z = 0; z < k; z++) {
        vd wiener[V] = {{0}};
#pragma GCC unroll 16
        for (Py_ssize_t i = 0; i < n; i++) {
            const double t = b[z * n + i];
            for (int h = 0; h < V; h++)
                wiener[h] += t * v[i * V + h];
        }
        for (int h = 0; h < V; h++) {
            const vd weight = exp_nonpositive(log_lik[z * V + h] - largest[h]);
            numerator[h] += weight * wiener[h];
            denominator[h] += weight;
        }
    }
    for (int h = 0; h < V; h++)
        *(vd_unaligned *)(out + h * W) = numerator[h] / denominator[h];
}

/* Σ over W positions of the outer product of their neighbourhoods, added to the n × n `sums`. */
static inline __attribute__((always_inline)) void accumulate_block(const double *const *planes, Py_ssize_t n,
                                                                   vd *sums)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        const vd yi = *(const vd_unaligned *)planes[i];
        for (Py_ssize_t j = 0; j <= i; j++)
            sums[i * n + j] += yi * *(const vd_unaligned *)planes[j];
    }
}

/* The neighbourhoods of a rows × cols grid of positions: component j of position (r, x) is
 * bases[j][r·stride + x]. A band's 3 × 3 neighbourhoods are nine shifted views of the band itself
 * (and one of its parent), so nothing is copied. Each row runs V·W positions (the estimate) or W
 * (the covariance) at a time, its last ones through a zero-padded copy. With `k` > 0 the BLS estimate of each position goes to out
 * (rows × cols); with k = 0 the mean outer product of the neighbourhoods goes to out (n × n). */
static inline __attribute__((always_inline)) void run_grid(
    const double *const *bases, const Py_ssize_t n, Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t stride,
    const Py_ssize_t k, const double *to_v, const double *a, const double *b, const double *c, double *out)
{
    const Py_ssize_t step = k > 0 ? V * W : W; /* positions per block */
    vd scratch[V * (2 * n + k)], sums[n * n];
    const double *planes[n];
    double tail[n * V * W], tail_out[V * W];
    const double *tail_planes[n];
    for (Py_ssize_t j = 0; j < n; j++)
        tail_planes[j] = tail + j * V * W;
    memset(sums, 0, sizeof sums);
    for (Py_ssize_t r = 0; r < rows; r++) {
        Py_ssize_t x = 0;
        for (; x + step <= cols; x += step) {
            for (Py_ssize_t j = 0; j < n; j++)
                planes[j] = bases[j] + r * stride + x;
            if (k > 0)
                estimate_block(planes, n, k, to_v, a, b, c, scratch, out + r * cols + x);
            else
                accumulate_block(planes, n, sums);
        }
        if (x < cols) {
            memset(tail, 0, sizeof tail); /* zeros add nothing to the sums */
            for (Py_ssize_t j = 0; j < n; j++)
                memcpy(tail + j * V * W, bases[j] + r * stride + x, (cols - x) * sizeof(double));
            if (k > 0) {
                estimate_block(tail_planes, n, k, to_v, a, b, c, scratch, tail_out);
                memcpy(out + r * cols + x, tail_out, (cols - x) * sizeof(double));
            } else
                accumulate_block(tail_planes, n, sums);
        }
    }
    if (k == 0)
        for (Py_ssize_t i = 0; i < n; i++)
            for (Py_ssize_t j = 0; j <= i; j++) {
                double total = 0;
                for (int lane = 0; lane < W; lane++)
                    total += sums[i * n + j][lane];
                out[i * n + j] = out[j * n + i] = total / (double)(rows * cols);
            }
}

/* run_grid with the common sizes as constants (3 × 3 neighbourhoods with and without the parent, the
 * 13 samples of z of both settings, or the covariance), so that GCC unrolls every loop over them and
 * keeps the vectors in registers; the same operations in the same order, so the same results. */
#if defined(__x86_64__) && !defined(__clang__) && __GNUC__ >= 12
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
static void run_positions(const double *const *bases, Py_ssize_t n, Py_ssize_t rows, Py_ssize_t cols,
                          Py_ssize_t stride, Py_ssize_t k, const double *to_v, const double *a, const double *b,
                          const double *c, double *out)
{
#define RUN(N, Z) run_grid(bases, N, rows, cols, stride, Z, to_v, a, b, c, out)
    if (n == 10 && k == 13)
        RUN(10, 13);
    else if (n == 9 && k == 13)
        RUN(9, 13);
    else if (n == 10 && k == 0)
        RUN(10, 0);
    else if (n == 9 && k == 0)
        RUN(9, 0);
    else
        RUN(n, k);
#undef RUN
}

/* Raw addresses as Python ints (the caller, methods/_gsm_estimator.py, guarantees shapes and types). */
static int read_bases(PyObject *sequence, Py_ssize_t n, const double **bases)
{
    for (Py_ssize_t j = 0; j < n; j++) {
        PyObject *item = PySequence_GetItem(sequence, j);
        if (item == NULL)
            return -1;
        bases[j] = (const double *)PyLong_AsVoidPtr(item);
        Py_DECREF(item);
        if (PyErr_Occurred())
            return -1;
    }
    return 0;
}

static PyObject *positions(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *base_list;
    Py_ssize_t rows, cols, stride, k, to_v, a, b, c, out;
    if (!PyArg_ParseTuple(args, "Onnnnnnnnn", &base_list, &rows, &cols, &stride, &k, &to_v, &a, &b, &c, &out))
        return NULL;
    const Py_ssize_t n = PySequence_Size(base_list);
    if (n < 1 || n > 64) {
        PyErr_SetString(PyExc_ValueError, "between 1 and 64 neighbourhood components");
        return NULL;
    }
    const double *bases[n];
    if (read_bases(base_list, n, bases) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    run_positions(bases, n, rows, cols, stride, k, (const double *)to_v, (const double *)a, (const double *)b,
                  (const double *)c, (double *)out);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"positions", positions, METH_VARARGS,
     "positions(bases, rows, cols, stride, k, to_v, a, b, c, out): over a rows × cols grid of positions whose "
     "neighbourhood component j is float64 bases[j][r * stride + x] (addresses), the BLS-GSM estimate of each "
     "(k > 0: T = to_v (n × n), a and b (k × n), c (k); out rows × cols) or, with k = 0, the mean outer product "
     "of the neighbourhoods (out n × n; the matrices are ignored)."},
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
