/* The convnets' layers for inference on a CPU: out[o] = f(bias[o] + Σ_j w[o, j] ⊗ in[inputs[o, j]]) − shift,
 * f the logistic and ⊗ a "valid" 5 × 5 convolution.
 *
 * Each output map reads only its `fan` input maps, so the paper's sparse layers cost their real
 * 8-of-24 connections, not a dense 24 × 24 bank that multiplies by zeros. The kernel itself is in
 * _sparse_conv_clone.h, compiled here once per instruction set ("clone"): AVX-512 (16-float vectors),
 * AVX2 + FMA and plain x86-64 (8-float vectors; the only clone off x86-64 or without GCC ≥ 12).
 * ROWS × VECS = 3 × 4 8-float vectors was the fastest block on a 2-core AMD EPYC (AVX2); GCC keeps it
 * in registers. The AVX-512 clone keeps 3 × 4 vectors, now of 16 floats: 12 of its 32 registers, the
 * same count of accumulators per broadcast tap, twice the work per instruction.
 *
 * The caller (methods/_sparse_inference.py) picks the clone (the best the CPU runs, unless told
 * otherwise) and owns the memory: maps are planar float32 with a common row stride and slack rows and
 * columns, so whole blocks may run past the valid region; what they compute there never reaches a
 * valid output. Work is split into jobs (output map, row block); `logistic_layer` runs a range of
 * them with the GIL released, so Python threads run ranges in parallel.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define API_VERSION 2 /* bumped whenever the module's functions change */
#define K 5           /* filter size */

#if defined(__x86_64__) && !defined(__clang__) && __GNUC__ >= 12
#define X86_CLONES 1
#else
#define X86_CLONES 0
#endif

/* Every clone: ROWS × VECS vectors per block (see _sparse_conv_clone.h for the other parameters). */
#define ROWS 3
#define VECS 4

#define CLONE plain
#define VLEN 8
#include "_sparse_conv_clone.h"

#if X86_CLONES
#define CLONE avx2
#define VLEN 8
#define CLONE_TARGET _Pragma("GCC target(\"arch=x86-64-v3\")")
#include "_sparse_conv_clone.h"

#define CLONE avx512
#define VLEN 16
#ifdef SPARSE_CONV_TEST_WIDE /* tests only: the AVX-512 clone's source for AVX2, to check it without AVX-512 */
#define CLONE_TARGET _Pragma("GCC target(\"arch=x86-64-v3\")")
#else
#define CLONE_TARGET _Pragma("GCC target(\"arch=x86-64-v4\")")
#endif
#include "_sparse_conv_clone.h"
#endif

typedef void (*convolve_fn)(const float *, float *, const float *, const float *, const int64_t *, float,
                            Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t,
                            Py_ssize_t);

static int always(void) { return 1; }

#if X86_CLONES
static int runs_avx2_clone(void) { return __builtin_cpu_supports("x86-64-v3"); }
#ifdef SPARSE_CONV_TEST_WIDE
static int runs_avx512_clone(void) { return runs_avx2_clone(); }
#else
static int runs_avx512_clone(void) { return __builtin_cpu_supports("x86-64-v4"); }
#endif
#endif

/* Best first: `clones()` lists them in this order, and the caller takes the first the CPU runs. */
static const struct {
    const char *name;
    int rows, vlen, lanes; /* block rows, floats per vector, floats per block row */
    convolve_fn convolve;
    int (*cpu_runs)(void);
} CLONES[] = {
#if X86_CLONES
    {"avx512", ROWS, 16, 16 * VECS, convolve_jobs_avx512, runs_avx512_clone},
    {"avx2", ROWS, 8, 8 * VECS, convolve_jobs_avx2, runs_avx2_clone},
#endif
    {"plain", ROWS, 8, 8 * VECS, convolve_jobs_plain, always},
};
#define CLONE_COUNT ((Py_ssize_t)(sizeof CLONES / sizeof CLONES[0]))

static PyObject *clones(PyObject *Py_UNUSED(self), PyObject *Py_UNUSED(args))
{
    PyObject *list = PyList_New(CLONE_COUNT);
    if (list == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < CLONE_COUNT; i++) {
        PyObject *item = Py_BuildValue("(siiiO)", CLONES[i].name, CLONES[i].rows, CLONES[i].vlen, CLONES[i].lanes,
                                       CLONES[i].cpu_runs() ? Py_True : Py_False);
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

static PyObject *logistic_layer(PyObject *Py_UNUSED(self), PyObject *args)
{
    Py_ssize_t clone, in, out, weights, bias, connections;
    float shift;
    Py_ssize_t fan, in_map_stride, out_map_stride, row_stride, out_rows, out_cols, job_begin, job_end;
    if (!PyArg_ParseTuple(args, "nnnnnnfnnnnnnnn", &clone, &in, &out, &weights, &bias, &connections, &shift, &fan,
                          &in_map_stride, &out_map_stride, &row_stride, &out_rows, &out_cols, &job_begin, &job_end))
        return NULL;
    if (clone < 0 || clone >= CLONE_COUNT || !CLONES[clone].cpu_runs()) {
        PyErr_Format(PyExc_ValueError, "no clone %zd that this CPU runs", clone);
        return NULL;
    }
    const convolve_fn convolve = CLONES[clone].convolve;
    Py_BEGIN_ALLOW_THREADS
    convolve((const float *)in, (float *)out, (const float *)weights, (const float *)bias,
             (const int64_t *)connections, shift, fan, in_map_stride, out_map_stride, row_stride, out_rows, out_cols,
             job_begin, job_end);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"clones", clones, METH_NOARGS,
     "clones(): [(name, block rows, floats per vector, floats per block row, whether this CPU runs it)] for "
     "every compiled clone of the kernel, best first."},
    {"logistic_layer", logistic_layer, METH_VARARGS,
     "logistic_layer(clone, in, out, weights, bias, connections, shift, fan, in_map_stride, out_map_stride, "
     "row_stride, out_rows, out_cols, job_begin, job_end): jobs [job_begin, job_end) of "
     "out = logistic(bias + sparse 5x5 valid convolution of in) - shift by clone number `clone` (an index "
     "into clones()), on raw float32/int64 addresses; the caller guarantees the buffers' geometry."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, .m_name = "_sparse_conv", .m_size = -1, .m_methods = methods};

PyMODINIT_FUNC PyInit__sparse_conv(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
#if X86_CLONES
    __builtin_cpu_init(); /* clones() and logistic_layer ask the CPU what it runs */
#endif
    if (PyModule_AddIntConstant(m, "API_VERSION", API_VERSION) < 0 || PyModule_AddIntConstant(m, "KERNEL", K) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
