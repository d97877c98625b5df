/* Vector layer of one lane: lets the SIMD templates build the plain-C
 * reference of the same algorithm (e.g. the reference Winograd). */
#ifndef VGG_VEC_SCALAR_H
#define VGG_VEC_SCALAR_H

#define VEC float
#define VL 1
#define V_ZERO() 0.0f
#define V_SET1(x) (x)
#define V_LOADU(p) (*(p))
#define V_LOADN(p, n) (*(p))
#define V_STOREU(p, v) (*(p) = (v))
#define V_STOREN(p, v, n) (*(p) = (v))
#define V_FMA(a, b, c) ((a) * (b) + (c))
#define V_FNMA(a, b, c) ((c) - (a) * (b))
#define V_ADD(a, b) ((a) + (b))
#define V_SUB(a, b) ((a) - (b))
#define V_MUL(a, b) ((a) * (b))
#define V_MAX(a, b) ((a) > (b) ? (a) : (b))
#define V_RELU(v) ((v) > 0.0f ? (v) : 0.0f)
#define SUFFIX(name) VGG_CAT(name, __ref)

#endif
