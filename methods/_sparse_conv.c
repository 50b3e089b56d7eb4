/* The convnets' layers for inference on a CPU: out[o] = f(bias[o] + Σ_j w[o, j] ⊗ in[inputs[o, j]]) − shift,
 * f the logistic and ⊗ a "valid" 5 × 5 convolution.
 *
 * Each output map reads only its `fan` input maps, so the paper's sparse layers cost their real
 * 8-of-24 connections, not a dense 24 × 24 bank that multiplies by zeros. The kernel itself is in
 * _sparse_conv_clone.h, compiled here once per instruction set ("clone"): AVX-512 (16-float vectors),
 * AVX2 + FMA and plain x86-64 (8-float vectors; the only clone off x86-64 or without GCC ≥ 12).
 * ROWS × VECS = 2 × 4 vectors is the block of the AVX2 and plain clones (2 × 32 pixels; AVX-512's,
 * 8 × 32, is below): each loaded input vector serves both output rows, so the block needs 8 accumulators,
 * a tap column's 5 taps and 1 input vector, 14 of AVX2's 16 registers. On a 2-core AMD EPYC (Zen 3,
 * AVX2; one 24-map hidden layer, one thread, CPU time; rows then the outer loop, 2 taps held) it
 * ran at 69 GFLOP/s with its inputs in cache, against 54 for the former 3 × 4 block that loaded its
 * input for every FMA (sgemm: 87); 4 × 2 was as fast, 3 × 4 and 4 × 3 spilled registers and were
 * slower.
 *
 * The caller (methods/_sparse_inference.py) picks the clone (the best the CPU runs, unless told
 * otherwise) and owns the memory: maps are planar float32 with a common row stride and slack rows and
 * columns, so whole blocks may run past the valid region; what they compute there never reaches a
 * valid output. Work is split into jobs (row block, output map), the output map varying fastest;
 * `logistic_layer` runs a range of them with the GIL released, so Python threads run ranges in
 * parallel.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define API_VERSION 3 /* bumped whenever the module's functions change */
#define K 5           /* filter size */
#define CHUNK 8       /* connections per pass over a row (see convolve_jobs) */

/* ROWS × VECS vectors per block (see _sparse_conv_clone.h for the other parameters), but 8 × 2 for the
 * AVX-512 clone: its 32 registers hold 16 accumulators, a tap column's 5 taps and the input vector.
 * With 64-byte vectors 4 of a row's 5 column offsets split their loads across two cache lines, so
 * the loads, not the FMAs, set the pace; 8 rows load 12 × 5 × 2 = 120 vectors per connection for
 * 400 FMAs, where 2 × 4 loaded 120 for 200. Measured on a 2-core Intel Xeon (AVX-512; CN2 on 512²,
 * two threads, the median of 100–200 rounds paired with each other, as the host's speed moves by
 * ±30 %): 6 × 2 and 12 × 2 within 2 %, 10 × 2 7 % slower, 6 × 3 10 % slower, 4 × 4 17 % slower. */
#define ROWS 2
#define VECS 4
#define WIDE_ROWS 8
#define WIDE_VECS 2

typedef void (*convolve_fn)(const float *, float *, const float *, const float *, const int64_t *, float,
                            Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t,
                            Py_ssize_t, Py_ssize_t);
#define CLONE_BODY "_sparse_conv_clone.h"
#define CLONE_FN(clone) convolve_jobs_##clone
#define CLONE_FN_TYPE convolve_fn
#include "_clones.h"

static PyObject *logistic_layer(PyObject *Py_UNUSED(self), PyObject *args)
{
    Py_ssize_t clone, in, out, weights, bias, connections;
    float shift;
    Py_ssize_t fan, in_map_stride, out_map_stride, row_stride, out_maps, out_rows, out_cols, job_begin, job_end;
    if (!PyArg_ParseTuple(args, "nnnnnnfnnnnnnnnn", &clone, &in, &out, &weights, &bias, &connections, &shift, &fan,
                          &in_map_stride, &out_map_stride, &row_stride, &out_maps, &out_rows, &out_cols, &job_begin,
                          &job_end))
        return NULL;
    const convolve_fn convolve = runnable_clone(clone);
    if (convolve == NULL)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    convolve((const float *)in, (float *)out, (const float *)weights, (const float *)bias,
             (const int64_t *)connections, shift, fan, in_map_stride, out_map_stride, row_stride, out_maps, out_rows,
             out_cols, job_begin, job_end);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"clones", clone_list, METH_NOARGS,
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
    init_clones();
    if (PyModule_AddIntConstant(m, "API_VERSION", API_VERSION) < 0 || PyModule_AddIntConstant(m, "KERNEL", K) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
