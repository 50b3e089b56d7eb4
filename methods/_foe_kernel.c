/* Field of Experts' gradient ∇E(x) = Σ_i J_i⁻ ∗ α_i φ(J_i ∗ x), φ(u) = u / (1 + u²/2), on a CPU, or a
 * whole gradient step x + ω/σ²·η (y − x) − η ∇E(x) + β (x − x_prev), in one pass over the image
 * (methods/foe.py; β = 0 is the papers' plain step, β > 0 heavy-ball momentum, x_prev read from out).
 *
 * PyTorch computes the N response maps of the whole image, then φ, then the back-projection, each a pass
 * through memory. Here a job takes a range of output rows and works down it ROWS rows at a time: the
 * responses of the next ROWS rows of cliques for every filter, φ applied as they leave the registers,
 * into a ring of the last ROWS + s − 1 rows of all N maps (24 × 8 rows × 528 floats ≈ 405 kB for a 512²
 * image: it stays in the L2 cache), then the ROWS output rows that need no later responses. A job
 * recomputes the s − 1 rows of responses above its range, so jobs write disjoint rows and every output
 * pixel is the same sum, in the same order, however the rows are split: results do not depend on the
 * thread count. Each thread keeps its ring between calls (allocated once, cleared each call).
 *
 * The caller (methods/_foe_inference.py) picks the clone and owns the images: x (and y) float32 with
 * a row stride of at least round_up(width, 16) + 16 floats, so that a vector may run past the last
 * column; their slack must hold finite values. Out gets exactly rows [begin, end) × width.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define API_VERSION 2 /* bumped whenever the module's functions change */
#define ROWS 4        /* output rows per block */
#define VECS 3        /* vectors per block row: 4 × 3 accumulators, + 3 inputs + 1 tap = AVX2's 16 registers
                         (3 × 4 spills and 2 × 4, 3 × 3, 5 × 2 were slower, measured on Zen 3) */
#define PLAIN_VECS 1  /* the plain clone's 8-float vectors take two SSE2 registers each: 4 × 1 blocks */
#define MARGIN 16     /* zero floats left of each ring row: the back-projection reads s − 1 of them */
#define MAX_CLIQUE (MARGIN + 1)

struct foe_job {
    const float *x, *y; /* y NULL: out is the gradient */
    float *out;
    Py_ssize_t x_stride, y_stride, out_stride, height, width, maps;
    int clique;
    const float *filters; /* maps × s × s: J_i, correlated with x */
    const float *taps;    /* maps × s × s: 2 α_i J_i mirrored, correlated with the zero-padded ψ_i */
    float pull, step;     /* ω/σ²·η and η */
    float momentum;       /* β: out holds the previous iterate on entry (read only where β ≠ 0) */
    Py_ssize_t ring_map;  /* floats per row of one map in the ring */
    Py_ssize_t ring_row;  /* floats per ring row: all maps */
};

/* The ring row that holds row `row` of the responses (any integer) for cliques of side s. */
static inline __attribute__((always_inline)) Py_ssize_t ring_slot(Py_ssize_t row, const int s)
{
    const Py_ssize_t rows = ROWS + s - 1;
    return ((row % rows) + rows) % rows;
}

typedef void (*rows_fn)(const struct foe_job *, float *, Py_ssize_t, Py_ssize_t);
#define CLONE_BODY "_foe_kernel_clone.h"
#define CLONE_FN(clone) foe_rows_##clone
#define CLONE_FN_TYPE rows_fn
#include "_clones.h"

/* This thread's ring of at least `floats` floats, zeroed; NULL when out of memory. */
static float *thread_ring(size_t floats)
{
    static _Thread_local float *ring;
    static _Thread_local size_t held;
    if (floats > held) {
        free(ring);
        held = 0;
        ring = aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64);
        if (ring == NULL)
            return NULL;
        held = floats;
    }
    memset(ring, 0, floats * sizeof(float));
    return ring;
}

static PyObject *gradient_rows(PyObject *Py_UNUSED(self), PyObject *args)
{
    Py_ssize_t clone, x, y, out, filters, taps, begin, end;
    struct foe_job job;
    if (!PyArg_ParseTuple(args, "nnnnnnnnnninnfffnn", &clone, &x, &y, &out, &job.x_stride, &job.y_stride,
                          &job.out_stride, &job.height, &job.width, &job.maps, &job.clique, &filters, &taps,
                          &job.pull, &job.step, &job.momentum, &begin, &end))
        return NULL;
    const rows_fn run = runnable_clone(clone);
    if (run == NULL)
        return NULL;
    if (job.clique < 2 || job.clique > MAX_CLIQUE || job.height < job.clique || job.width < job.clique ||
        job.maps < 1 || begin < 0 || end > job.height || begin > end) {
        PyErr_SetString(PyExc_ValueError, "FoE kernel: clique, image or row range out of bounds");
        return NULL;
    }
    job.x = (const float *)x, job.y = (const float *)y, job.out = (float *)out;
    job.filters = (const float *)filters, job.taps = (const float *)taps;
    job.ring_map = (MARGIN + (job.width + 15) / 16 * 16 + 15) / 16 * 16;
    job.ring_row = job.maps * job.ring_map;
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    float *ring = thread_ring((size_t)((ROWS + job.clique - 1) * job.ring_row));
    if (ring == NULL)
        failed = 1;
    else
        run(&job, ring, begin, end);
    Py_END_ALLOW_THREADS
    if (failed)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"clones", clone_list, METH_NOARGS,
     "clones(): [(name, block rows, floats per vector, floats per block row, whether this CPU runs it)] for "
     "every compiled clone of the kernel, best first."},
    {"gradient_rows", gradient_rows, METH_VARARGS,
     "gradient_rows(clone, x, y, out, x_stride, y_stride, out_stride, height, width, maps, clique, filters, "
     "taps, pull, step, momentum, begin, end): rows [begin, end) of FoE's gradient (y = 0) or gradient "
     "step x + pull (y - x) - step grad + momentum (x - out) into out (out holding the previous iterate), "
     "by clone number `clone` (an index into clones()), on raw float32 addresses; the caller guarantees "
     "the buffers' geometry."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, .m_name = "_foe_kernel", .m_size = -1, .m_methods = methods};

PyMODINIT_FUNC PyInit__foe_kernel(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    init_clones();
    if (PyModule_AddIntConstant(m, "API_VERSION", API_VERSION) < 0 ||
        PyModule_AddIntConstant(m, "MAX_CLIQUE", MAX_CLIQUE) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
