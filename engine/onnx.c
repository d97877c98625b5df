/* ONNX models, read with protobuf-c (the C code generated at build time from Debian's onnx.proto) into the
 * safetensors reader's form: an st_file of torchvision-named tensors in memory, so that the one loader checks
 * them and maps them onto the engine's layout.
 *
 * The graph must be a VGG as torchvision exports it (torch.onnx.export, opsets 11-17) or as the ONNX model zoo
 * lays it out: a chain from the one graph input to the one graph output of
 *   Conv 3x3 (pads 1, strides 1, group 1) + Relu, ..., MaxPool 2x2 stride 2, ...   the five blocks
 *   [AveragePool 1x1 stride 1]  (torchvision's adaptive pool at 224x224: an identity)
 *   Flatten or Reshape, then per dense layer Gemm (transA 0, alpha = beta = 1) or MatMul + Add, each but the
 *   last followed by Relu, with Dropout (an identity at inference), Identity and a final Softmax allowed.
 * Weights are initializers (raw_data or the typed lists; FLOAT, FLOAT16, BFLOAT16, DOUBLE), directly or through
 * Identity nodes (torch de-duplicates equal tensors that way); external data is refused.  Any other node, or one
 * off the chain, is refused with its name and why.  The names in the file do not matter: the k-th conv becomes
 * torchvision's features.N (N counting conv, ReLU and pool modules as torchvision does), the k-th dense layer
 * classifier.3k, with torchvision's layouts ([O][I][3][3]; [out][in] with fc1's inputs in C,H,W order), which
 * is what a Gemm with transB = 1 holds (transB = 0 and MatMul hold [in][out] and are transposed here). */
#include "safetensors.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int vgg_is_onnx(const char *path) {
  const size_t n = strlen(path);
  if (n >= 5 && !strcasecmp(path + n - 5, ".onnx")) return 1;
  /* Without the suffix: a ModelProto starts with ir_version (field 1, varint: 0x08) and is not a safetensors
   * file (whose 8-byte header length is followed by '{'). */
  unsigned char b[9];
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  const int got = (int)pread(fd, b, sizeof b, 0);
  close(fd);
  return got == (int)sizeof b && b[0] == 0x08 && b[1] > 0 && b[1] < 0x80 && b[8] != '{';
}

#ifdef VGG_HAVE_ONNX
#include "onnx.pb-c.h"

/* ----------------------------------------------------------- the wire -- */

/* Nesting depth of the message in p[0..n): protobuf-c unpacks recursively, so a hostile file nesting messages
 * thousands deep would exhaust the stack; it is refused before unpacking.  Walks the wire format with the
 * descriptors, entering every length-delimited field that is a message. */
#define PB_MAX_DEPTH 32
static int pb_varint(const uint8_t **p, const uint8_t *e, uint64_t *v) {
  *v = 0;
  for (int s = 0; s < 64 && *p < e; s += 7) {
    const uint8_t b = *(*p)++;
    *v |= (uint64_t)(b & 0x7f) << s;
    if (!(b & 0x80)) return 0;
  }
  return -1;
}

static int pb_depth_ok(const uint8_t *p, size_t n, const ProtobufCMessageDescriptor *d, int depth) {
  if (depth > PB_MAX_DEPTH) return 0;
  const uint8_t *e = p + n;
  while (p < e) {
    uint64_t key, len;
    if (pb_varint(&p, e, &key)) return 1; /* malformed: left to protobuf-c, which refuses it */
    switch (key & 7) {
      case 0:
        if (pb_varint(&p, e, &len)) return 1;
        break;
      case 1:
        p += (size_t)(e - p) < 8 ? (size_t)(e - p) : 8;
        break;
      case 5:
        p += (size_t)(e - p) < 4 ? (size_t)(e - p) : 4;
        break;
      case 2: {
        if (pb_varint(&p, e, &len) || len > (uint64_t)(e - p)) return 1;
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3));
        if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && !pb_depth_ok(p, (size_t)len, f->descriptor, depth + 1))
          return 0;
        p += len;
        break;
      }
      default:
        return 1;
    }
  }
  return 1;
}

/* The weights without copies: protobuf-c copies every bytes field it unpacks (half a gigabyte for a VGG16).
 * The model is unpacked instead from a copy of its wire bytes without the initializers' raw_data (a few
 * kilobytes, re-encoded with the shorter lengths), and each initializer's raw_data then points into the file's
 * mapping, where its bytes are.  Three levels are rewritten: ModelProto.graph (7), GraphProto.initializer (5),
 * TensorProto.raw_data (9). */
typedef struct {
  uint64_t off, len; /* raw_data's bytes in the file */
  int has;
} raw_ref;

typedef struct {
  uint8_t *o;
  size_t n, cap;
  raw_ref *raw;
  size_t nraw, capraw;
  int bad;
} wire_out;

static void w_put(wire_out *w, const void *p, size_t n) {
  if (w->bad || !n) return; /* (an empty sub-message has no buffer at all) */
  if (w->n + n > w->cap) {
    size_t c = w->cap ? w->cap : 4096;
    while (c < w->n + n) c *= 2;
    uint8_t *o = realloc(w->o, c);
    if (!o) {
      w->bad = 1;
      return;
    }
    w->o = o, w->cap = c;
  }
  memcpy(w->o + w->n, p, n);
  w->n += n;
}

static void w_varint(wire_out *w, uint64_t v) {
  uint8_t b[10];
  int k = 0;
  do {
    b[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
  w_put(w, b, (size_t)k);
}

/* One field at *p: its key, and for wire type 2 the payload [*body, *body + *len); the whole field's bytes are
 * [start, *p) afterwards.  -1 when malformed. */
static int w_field(const uint8_t **p, const uint8_t *e, uint64_t *key, const uint8_t **body, uint64_t *len) {
  if (pb_varint(p, e, key)) return -1;
  uint64_t v;
  switch (*key & 7) {
    case 0: return pb_varint(p, e, &v);
    case 1: return (size_t)(e - *p) < 8 ? -1 : (*p += 8, 0);
    case 5: return (size_t)(e - *p) < 4 ? -1 : (*p += 4, 0);
    case 2:
      if (pb_varint(p, e, len) || *len > (uint64_t)(e - *p)) return -1;
      *body = *p, *p += *len;
      return 0;
    default: return -1;
  }
}

/* level 0: ModelProto, 1: GraphProto, 2: TensorProto; base: the file's first byte. */
static void w_message(wire_out *w, const uint8_t *p, size_t n, int level, const uint8_t *base) {
  const uint8_t *e = p + n;
  int graphs = 0;
  raw_ref *mine = NULL;
  if (level == 2) { /* this initializer's entry */
    if (w->nraw == w->capraw) {
      const size_t c = w->capraw ? 2 * w->capraw : 64;
      raw_ref *r = realloc(w->raw, c * sizeof *r);
      if (!r) {
        w->bad = 1;
        return;
      }
      w->raw = r, w->capraw = c;
    }
    mine = &w->raw[w->nraw++];
    memset(mine, 0, sizeof *mine);
  }
  while (p < e && !w->bad) {
    const uint8_t *start = p, *body = NULL;
    uint64_t key, len = 0;
    if (w_field(&p, e, &key, &body, &len)) {
      w->bad = 1;
      return;
    }
    const uint64_t field = key >> 3;
    const int wt = (int)(key & 7);
    if (wt == 2 && ((level == 0 && field == 7) || (level == 1 && field == 5))) { /* the graph, an initializer */
      if (level == 0 && ++graphs > 1) { /* a second graph would be merged into the first: no writer does that */
        w->bad = 1;
        return;
      }
      wire_out sub = {0};
      sub.raw = w->raw, sub.nraw = w->nraw, sub.capraw = w->capraw;
      w_message(&sub, body, (size_t)len, level + 1, base);
      w->raw = sub.raw, w->nraw = sub.nraw, w->capraw = sub.capraw;
      w->bad |= sub.bad;
      w_varint(w, key), w_varint(w, sub.n), w_put(w, sub.o, sub.n);
      free(sub.o);
    } else if (level == 2 && field == 9 && wt == 2) {
      mine = &w->raw[w->nraw - 1]; /* (the array may have moved) */
      if (mine->has) { /* twice: protobuf would keep the last; no writer does that */
        w->bad = 1;
        return;
      }
      mine->has = 1, mine->off = (uint64_t)(body - base), mine->len = len;
    } else {
      w_put(w, start, (size_t)(p - start));
    }
  }
}

/* ---------------------------------------------------------- the graph -- */

typedef struct {
  const char *path;
  const Onnx__GraphProto *g;
  unsigned char *used; /* per node: on the chain (or an alias / a Reshape's shape) */
  vgg_error *err;
} graph;

static const Onnx__TensorProto *initializer(const graph *x, const char *name, int depth) {
  if (!name || depth > 64) return NULL;
  for (size_t i = 0; i < x->g->n_initializer; i++)
    if (x->g->initializer[i]->name && !strcmp(x->g->initializer[i]->name, name)) return x->g->initializer[i];
  /* An Identity (or a Constant) that makes it from another initializer. */
  for (size_t i = 0; i < x->g->n_node; i++) {
    const Onnx__NodeProto *n = x->g->node[i];
    if (n->n_output >= 1 && n->output[0] && !strcmp(n->output[0], name)) {
      if (!strcmp(n->op_type, "Identity") && n->n_input == 1) {
        const Onnx__TensorProto *t = initializer(x, n->input[0], depth + 1);
        if (t) x->used[i] = 1;
        return t;
      }
      if (!strcmp(n->op_type, "Constant") && n->n_attribute == 1 && n->attribute[0]->t) {
        x->used[i] = 1;
        return n->attribute[0]->t;
      }
      return NULL;
    }
  }
  return NULL;
}

static const Onnx__AttributeProto *attr(const Onnx__NodeProto *n, const char *name) {
  for (size_t i = 0; i < n->n_attribute; i++)
    if (n->attribute[i]->name && !strcmp(n->attribute[i]->name, name)) return n->attribute[i];
  return NULL;
}

/* Attribute `name` as ints equals want[0..k) (or is absent and dflt says that is the same). */
static int ints_are(const Onnx__NodeProto *n, const char *name, const int64_t *want, size_t k, int dflt) {
  const Onnx__AttributeProto *a = attr(n, name);
  if (!a) return dflt;
  if (a->n_ints != k) return 0;
  for (size_t i = 0; i < k; i++)
    if (a->ints[i] != want[i]) return 0;
  return 1;
}

static int64_t int_attr(const Onnx__NodeProto *n, const char *name, int64_t dflt) {
  const Onnx__AttributeProto *a = attr(n, name);
  return a && a->has_i ? a->i : dflt;
}

static float float_attr(const Onnx__NodeProto *n, const char *name, float dflt) {
  const Onnx__AttributeProto *a = attr(n, name);
  return a && a->has_f ? a->f : dflt;
}

static const char *node_name(const Onnx__NodeProto *n, size_t i, char *buf, size_t cap) {
  if (n->name && n->name[0]) snprintf(buf, cap, "'%.100s' (%.40s)", n->name, n->op_type ? n->op_type : "?");
  else snprintf(buf, cap, "#%zu (%.40s)", i, n->op_type ? n->op_type : "?");
  return buf;
}

/* The one node with `value` as its first input (the chain's next step), or -1 (none); -2: several. */
static long consumer(const graph *x, const char *value) {
  long found = -1;
  for (size_t i = 0; i < x->g->n_node; i++) {
    const Onnx__NodeProto *n = x->g->node[i];
    for (size_t k = 0; k < n->n_input; k++)
      if (n->input[k] && !strcmp(n->input[k], value)) {
        if (k != 0 || found >= 0) return -2;
        found = (long)i;
      }
  }
  return found;
}

/* ---------------------------------------------------------- the output -- */

#define OX_MAX_TENSOR ((uint64_t)1 << 28)
#define OX_MAX_LAYERS 64

typedef struct {
  const Onnx__TensorProto *t; /* kernel or bias */
  int transpose;              /* a 2-D [in][out] kernel, to [out][in] */
  char name[64];
} out_tensor;

static int esize(int32_t type) {
  switch (type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: return 4;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: return 8;
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
    case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16: return 2;
    default: return 0;
  }
}

/* Elements of t, with its data checked present and of that size; 0 with *why set when not usable. */
static uint64_t tensor_count(const Onnx__TensorProto *t, const char **why) {
  uint64_t count = 1;
  if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
    *why = "keeps its values in an external file (save the model with them inside: onnx.save(model, path, "
           "save_as_external_data=False))";
    return 0;
  }
  if (!esize(t->data_type)) {
    *why = "is not FLOAT, FLOAT16, BFLOAT16 or DOUBLE";
    return 0;
  }
  if (t->n_dims < 1 || t->n_dims > 4) {
    *why = "has not 1 to 4 dimensions";
    return 0;
  }
  for (size_t i = 0; i < t->n_dims; i++) {
    if (t->dims[i] <= 0 || (uint64_t)t->dims[i] > OX_MAX_TENSOR || (count *= (uint64_t)t->dims[i]) > OX_MAX_TENSOR) {
      *why = "has dimensions no VGG tensor has";
      return 0;
    }
  }
  const uint64_t es = (uint64_t)esize(t->data_type);
  int ok;
  if (t->has_raw_data) ok = t->raw_data.len == count * es;
  else if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) ok = t->n_float_data == count;
  else if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) ok = t->n_double_data == count;
  else ok = t->n_int32_data == count; /* FLOAT16 and BFLOAT16 as 16-bit values in int32_data */
  if (!ok) {
    *why = "holds fewer or more values than its dimensions say";
    return 0;
  }
  return count;
}

/* Element i of t's values as its own bytes (es bytes) into dst. */
static void element(const Onnx__TensorProto *t, uint64_t i, int es, unsigned char *dst) {
  if (t->has_raw_data) memcpy(dst, t->raw_data.data + i * (uint64_t)es, (size_t)es);
  else if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) memcpy(dst, &t->float_data[i], 4);
  else if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) memcpy(dst, &t->double_data[i], 8);
  else {
    const uint16_t v = (uint16_t)t->int32_data[i];
    memcpy(dst, &v, 2);
  }
}

/* ------------------------------------------------------------ the walk -- */

static vgg_status refuse(graph *x, size_t i, const char *why) {
  char nb[160];
  return vgg_fail(x->err, VGG_ERR_FORMAT, "%s: node %s %s", x->path, node_name(x->g->node[i], i, nb, sizeof nb), why);
}

static vgg_status walk(graph *x, out_tensor *out, int *nout) {
  const Onnx__GraphProto *g = x->g;
  /* The graph input: the one input that is not an initializer (older exports list initializers as inputs). */
  const char *cur = NULL;
  for (size_t i = 0; i < g->n_input; i++)
    if (g->input[i]->name && !initializer(x, g->input[i]->name, 0)) {
      if (cur) return vgg_fail(x->err, VGG_ERR_FORMAT, "%s: the graph has more than one input: not a VGG", x->path);
      cur = g->input[i]->name;
    }
  if (!cur) return vgg_fail(x->err, VGG_ERR_FORMAT, "%s: the graph has no input", x->path);
  if (g->n_output != 1 || !g->output[0]->name)
    return vgg_fail(x->err, VGG_ERR_FORMAT, "%s: the graph has %zu outputs: a VGG has one", x->path, g->n_output);
  /* need: what the previous step requires next (a conv's Relu, a MatMul's Add); dense_relu: whether the last
   * dense layer so far has had its Relu (every one but the last must; the last must not). */
  enum { ANY, RELU, ADD } need = ANY;
  int feat = 0, dense = 0, blocks = 0, convs_in_block = 0, flat = 0, softmax = 0, dense_relu = 0;
  int64_t channels = 3;
  *nout = 0;
  for (size_t steps = 0; strcmp(cur, g->output[0]->name); steps++) {
    const long c = consumer(x, cur);
    if (c == -1)
      return vgg_fail(x->err, VGG_ERR_FORMAT, "%s: the value '%.100s' leads nowhere: the graph does not reach its output",
                      x->path, cur);
    if (c == -2)
      return vgg_fail(x->err, VGG_ERR_FORMAT,
                      "%s: the value '%.100s' feeds several nodes (or a weight input): a VGG is one chain", x->path, cur);
    const size_t i = (size_t)c;
    const Onnx__NodeProto *n = g->node[i];
    if (x->used[i] || steps > g->n_node) return refuse(x, i, "is reached twice: the graph has a cycle");
    x->used[i] = 1;
    const char *op = n->op_type ? n->op_type : "";
    if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx"))
      return refuse(x, i, "is from another operator domain than ONNX's");
    if (n->n_output < 1 || !n->output[0]) return refuse(x, i, "has no output");
    if (softmax) return refuse(x, i, "follows the Softmax: a VGG ends there");
    if (need == RELU && strcmp(op, "Relu")) return refuse(x, i, "follows a convolution: a VGG convolution is followed by Relu");
    if (need == ADD && strcmp(op, "Add")) return refuse(x, i, "follows a MatMul: a dense layer is MatMul + Add (its bias)");
    static const int64_t k3[] = {3, 3}, k2[] = {2, 2}, k1[] = {1, 1}, p1[] = {1, 1, 1, 1}, p0[] = {0, 0, 0, 0};
    if (!strcmp(op, "Conv")) {
      if (flat) return refuse(x, i, "is a convolution after the flatten");
      if (!ints_are(n, "kernel_shape", k3, 2, 1) || !ints_are(n, "pads", p1, 4, 0) || !ints_are(n, "strides", k1, 2, 1) ||
          !ints_are(n, "dilations", k1, 2, 1) || int_attr(n, "group", 1) != 1 || attr(n, "auto_pad"))
        return refuse(x, i, "is not a 3x3 convolution with pads 1, strides 1, dilations 1, group 1");
      const Onnx__TensorProto *w = n->n_input >= 2 ? initializer(x, n->input[1], 0) : NULL;
      const Onnx__TensorProto *b = n->n_input >= 3 ? initializer(x, n->input[2], 0) : NULL;
      if (!w || !b) return refuse(x, i, "takes its kernel or bias from no initializer");
      if (w->n_dims != 4 || w->dims[1] != channels || w->dims[2] != 3 || w->dims[3] != 3)
        return refuse(x, i, "has a kernel of another shape than [O][channels in][3][3]");
      if (*nout + 2 > 2 * OX_MAX_LAYERS) return refuse(x, i, "is one layer too many for a VGG");
      channels = w->dims[0];
      out[*nout].t = w, snprintf(out[*nout].name, sizeof out->name, "features.%d.weight", feat);
      out[*nout + 1].t = b, snprintf(out[*nout + 1].name, sizeof out->name, "features.%d.bias", feat);
      *nout += 2, feat += 2, convs_in_block++, need = RELU;
    } else if (!strcmp(op, "Relu")) {
      if (need != RELU && !(dense && !dense_relu)) return refuse(x, i, "is a Relu after neither a convolution nor a dense layer");
      if (need != RELU) dense_relu = 1;
      need = ANY;
    } else if (!strcmp(op, "MaxPool")) {
      if (flat || !convs_in_block) return refuse(x, i, "is a pool after no convolution");
      if (!ints_are(n, "kernel_shape", k2, 2, 0) || !ints_are(n, "strides", k2, 2, 0) || !ints_are(n, "pads", p0, 4, 1) ||
          !ints_are(n, "dilations", k1, 2, 1) || int_attr(n, "ceil_mode", 0) || int_attr(n, "storage_order", 0) ||
          attr(n, "auto_pad") || n->n_output > 1)
        return refuse(x, i, "is not a 2x2 max-pool with strides 2 and no padding");
      feat++, blocks++, convs_in_block = 0;
    } else if (!strcmp(op, "AveragePool")) {
      if (blocks != 5 || flat || !ints_are(n, "kernel_shape", k1, 2, 0) || !ints_are(n, "strides", k1, 2, 1) ||
          !ints_are(n, "pads", p0, 4, 1))
        return refuse(x, i, "averages: only torchvision's 1x1 identity pool after the fifth block is a VGG's "
                            "(export at 224x224)");
    } else if (!strcmp(op, "Flatten") || !strcmp(op, "Reshape")) {
      if (flat || blocks != 5) return refuse(x, i, "flattens anywhere but after the fifth block");
      if (!strcmp(op, "Flatten") && int_attr(n, "axis", 1) != 1) return refuse(x, i, "flattens on another axis than 1");
      if (!strcmp(op, "Reshape")) {
        const Onnx__TensorProto *s = n->n_input == 2 ? initializer(x, n->input[1], 0) : NULL;
        const int ok = s && s->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 && s->n_dims == 1 && s->dims[0] == 2 &&
                       (s->has_raw_data ? s->raw_data.len == 16 : s->n_int64_data == 2);
        int64_t v[2] = {0, 0};
        if (ok && s->has_raw_data) memcpy(v, s->raw_data.data, 16);
        else if (ok) v[0] = s->int64_data[0], v[1] = s->int64_data[1];
        if (!ok || v[0] < -1 || v[0] > 1 || (v[1] != -1 && v[1] != channels * 49))
          return refuse(x, i, "reshapes to another shape than [N, -1] or [N, C*7*7]");
      }
      flat = 1;
    } else if (!strcmp(op, "Gemm") || !strcmp(op, "MatMul")) {
      if (!flat) return refuse(x, i, "is a dense layer before the flatten");
      if (dense && !dense_relu) return refuse(x, i, "follows a dense layer without a Relu between them");
      const int gemm = !strcmp(op, "Gemm");
      if (gemm && (int_attr(n, "transA", 0) || float_attr(n, "alpha", 1) != 1 || float_attr(n, "beta", 1) != 1))
        return refuse(x, i, "is not a Gemm with transA 0, alpha 1, beta 1");
      const int transb = gemm ? (int)int_attr(n, "transB", 0) : 0;
      const Onnx__TensorProto *w = n->n_input >= 2 ? initializer(x, n->input[1], 0) : NULL;
      const Onnx__TensorProto *b = gemm && n->n_input >= 3 ? initializer(x, n->input[2], 0) : NULL;
      if (!w || (gemm && !b)) return refuse(x, i, "takes its weights or bias from no initializer");
      const int64_t in = w->n_dims == 2 ? w->dims[transb ? 1 : 0] : -1, outc = w->n_dims == 2 ? w->dims[transb ? 0 : 1] : -1;
      if (in != (dense ? channels : channels * 49))
        return refuse(x, i, dense ? "has weights whose inputs are not the previous layer's outputs"
                                  : "has weights whose inputs are not the 7x7 map of the last block");
      if (*nout + 2 > 2 * OX_MAX_LAYERS) return refuse(x, i, "is one layer too many for a VGG");
      out[*nout].t = w, out[*nout].transpose = !transb;
      snprintf(out[*nout].name, sizeof out->name, "classifier.%d.weight", 3 * dense);
      out[*nout + 1].t = b; /* a MatMul's bias comes with its Add */
      snprintf(out[*nout + 1].name, sizeof out->name, "classifier.%d.bias", 3 * dense);
      *nout += 2, dense++, channels = outc, dense_relu = 0, need = gemm ? ANY : ADD;
    } else if (!strcmp(op, "Add")) {
      if (need != ADD) return refuse(x, i, "adds anywhere but after a MatMul (its bias)");
      const Onnx__TensorProto *b = n->n_input == 2 ? initializer(x, n->input[1], 0) : NULL;
      if (!b) return refuse(x, i, "adds no initializer (a MatMul's bias)");
      out[*nout - 1].t = b;
      need = ANY;
    } else if (!strcmp(op, "Dropout") || !strcmp(op, "Identity")) {
      if (n->n_output > 1 && n->output[1] && n->output[1][0] && consumer(x, n->output[1]) != -1)
        return refuse(x, i, "has its mask used");
    } else if (!strcmp(op, "Softmax")) {
      if (!dense) return refuse(x, i, "is a Softmax before the classifier");
      const int64_t axis = int_attr(n, "axis", -1);
      if (axis != 1 && axis != -1) return refuse(x, i, "is a Softmax on another axis than the classes'");
      softmax = 1;
    } else {
      return refuse(x, i, "is not an operation of a VGG (Conv, Relu, MaxPool, Flatten, Reshape, Gemm, MatMul, Add, "
                          "Dropout, Softmax, Identity)");
    }
    cur = n->output[0];
  }
  for (size_t i = 0; i < g->n_node; i++)
    if (!x->used[i]) return refuse(x, i, "is not on the chain from the graph's input to its output");
  if (blocks != 5 || convs_in_block)
    return vgg_fail(x->err, VGG_ERR_FORMAT, "%s: the graph has %d max-pools%s: a VGG has five blocks, each ending in one",
                    x->path, blocks, convs_in_block ? " and convolutions after the last" : "");
  if (flat && !dense) return vgg_fail(x->err, VGG_ERR_FORMAT, "%s: the graph flattens and has no dense layer", x->path);
  if (need != ANY) return vgg_fail(x->err, VGG_ERR_FORMAT, "%s: the graph ends inside a layer", x->path);
  if (dense && dense_relu)
    return vgg_fail(x->err, VGG_ERR_FORMAT, "%s: the last dense layer is followed by Relu: a VGG's logits are not",
                    x->path);
  return VGG_OK;
}

typedef struct {
  Onnx__ModelProto *model;
  void *file;
  size_t size;
} onnx_owner;

/* The model unpacked without its raw_data, which is set afterwards to point into the file: unset again before
 * protobuf-c frees the model. */
static void free_owner(void *p) {
  onnx_owner *o = p;
  if (o->model && o->model->graph)
    for (size_t i = 0; i < o->model->graph->n_initializer; i++) {
      o->model->graph->initializer[i]->raw_data.data = NULL;
      o->model->graph->initializer[i]->raw_data.len = 0;
      o->model->graph->initializer[i]->has_raw_data = 0;
    }
  if (o->model) onnx__model_proto__free_unpacked(o->model, NULL);
  if (o->file) munmap(o->file, o->size);
  free(o);
}

vgg_status vgg_onnx_open(const char *path, int with_data, st_file *sf, vgg_error *err) {
  memset(sf, 0, sizeof *sf);
  snprintf(sf->path, sizeof sf->path, "%s", path);
  struct stat sb;
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return vgg_fail(err, VGG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return vgg_fail(err, VGG_ERR_IO, "%s: not a regular file", path);
  }
  if (sb.st_size < 2) {
    close(fd);
    return vgg_fail(err, VGG_ERR_FORMAT, "%s: not an ONNX model (%lld bytes)", path, (long long)sb.st_size);
  }
  void *file = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (file == MAP_FAILED) return vgg_fail(err, VGG_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
  vgg_status s = VGG_OK;
  onnx_owner *own = calloc(1, sizeof *own);
  Onnx__ModelProto *model = NULL;
  wire_out w = {0};
  if (!own) {
    munmap(file, (size_t)sb.st_size);
    return vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
  }
  own->file = file, own->size = (size_t)sb.st_size;
  w_message(&w, file, (size_t)sb.st_size, 0, file);
  if (w.bad)
    s = vgg_fail(err, VGG_ERR_FORMAT, "%s: not an ONNX model (the protobuf does not parse: damaged or truncated)", path);
  else if (!pb_depth_ok(w.o, w.n, &onnx__model_proto__descriptor, 0))
    s = vgg_fail(err, VGG_ERR_FORMAT, "%s: not an ONNX model of a VGG (messages nested more than %d deep)", path,
                 PB_MAX_DEPTH);
  else if (!(model = own->model = onnx__model_proto__unpack(NULL, w.n, w.o)))
    s = vgg_fail(err, VGG_ERR_FORMAT, "%s: not an ONNX model (the protobuf does not parse: damaged or truncated)", path);
  else if (!model->graph || !model->graph->n_node)
    s = vgg_fail(err, VGG_ERR_FORMAT, "%s: an ONNX model without a graph", path);
  else if (model->graph->n_initializer != w.nraw)
    s = vgg_fail(err, VGG_ERR_FORMAT, "%s: not an ONNX model (the initializers do not parse)", path);
  for (size_t i = 0; !s && i < w.nraw; i++)
    if (w.raw[i].has) {
      Onnx__TensorProto *t = model->graph->initializer[i];
      t->has_raw_data = 1, t->raw_data.data = (uint8_t *)file + w.raw[i].off, t->raw_data.len = (size_t)w.raw[i].len;
    }
  free(w.o);
  free(w.raw);
  out_tensor out[2 * OX_MAX_LAYERS] = {{0}};
  int nout = 0;
  graph x = {path, model ? model->graph : NULL, NULL, err};
  if (!s && !(x.used = calloc(x.g->n_node, 1))) s = vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
  if (!s) s = walk(&x, out, &nout);
  /* Every tensor's values: used where protobuf-c put them (raw_data in torchvision's layout), or written into
   * one buffer (transposed dense kernels, values from the typed lists). */
  uint64_t total = 0, count[2 * OX_MAX_LAYERS];
  for (int k = 0; k < nout && !s; k++) {
    const char *why = NULL;
    if (!(count[k] = tensor_count(out[k].t, &why)))
      s = vgg_fail(err, VGG_ERR_FORMAT, "%s: the initializer '%.100s' (%s) %s", path,
                   out[k].t->name ? out[k].t->name : "?", out[k].name, why);
    else if (out[k].transpose || !out[k].t->has_raw_data)
      total += (count[k] * (uint64_t)esize(out[k].t->data_type) + 63) & ~(uint64_t)63;
  }
  unsigned char *buf = NULL;
  if (!s && !(sf->t = calloc((size_t)nout, sizeof *sf->t))) s = vgg_fail(err, VGG_ERR_NOMEM, "out of memory");
  if (!with_data) total = 0; /* names, types and shapes only */
  if (!s && total) {
    buf = mmap(NULL, (size_t)total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf != MAP_FAILED) madvise(buf, (size_t)total, MADV_HUGEPAGE); /* fewer faults and TLB misses */
    if (buf == MAP_FAILED) {
      buf = NULL;
      s = vgg_fail(err, VGG_ERR_NOMEM, "%s: out of memory for the weights (%llu bytes)", path,
                   (unsigned long long)total);
    }
  }
  uint64_t at = 0;
  for (int k = 0; k < nout && !s; k++) {
    const Onnx__TensorProto *t = out[k].t;
    st_tensor *st = &sf->t[k];
    const int es = esize(t->data_type);
    snprintf(st->name, sizeof st->name, "%s", out[k].name);
    st->dtype = es == 8 ? ST_F64 : es == 4 ? ST_F32 : t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 ? ST_F16 : ST_BF16;
    snprintf(st->dtype_name, sizeof st->dtype_name, "%s", es == 8 ? "F64" : es == 4 ? "F32" : st->dtype == ST_F16 ? "F16" : "BF16");
    st->ndim = (int)t->n_dims;
    for (size_t d = 0; d < t->n_dims; d++) st->shape[d] = t->dims[d];
    if (!out[k].transpose && t->has_raw_data) {
      st->data = t->raw_data.data, st->begin = 0, st->end = t->raw_data.len;
      continue;
    }
    if (out[k].transpose) st->shape[0] = t->dims[1], st->shape[1] = t->dims[0];
    st->begin = at, st->end = at + count[k] * (uint64_t)es;
    if (!with_data) continue;
    unsigned char *dst = buf + at;
    at += (count[k] * (uint64_t)es + 63) & ~(uint64_t)63;
    if (!out[k].transpose) {
      for (uint64_t e = 0; e < count[k]; e++) element(t, e, es, dst + e * (uint64_t)es);
      continue;
    }
    /* [in][out] -> [out][in], in tiles of 32 x 32 (float32 from raw_data directly, the rest through element) */
    const uint64_t rows = (uint64_t)t->dims[0], cols = (uint64_t)t->dims[1];
    if (es == 4 && t->has_raw_data) {
      const unsigned char *src = t->raw_data.data;
#pragma omp parallel for schedule(static)
      for (uint64_t c0 = 0; c0 < cols; c0 += 32)
        for (uint64_t r0 = 0; r0 < rows; r0 += 32)
          for (uint64_t c = c0; c < cols && c < c0 + 32; c++)
            for (uint64_t r = r0; r < rows && r < r0 + 32; r++) memcpy(dst + (c * rows + r) * 4, src + (r * cols + c) * 4, 4);
      continue;
    }
    for (uint64_t r0 = 0; r0 < rows; r0 += 32)
      for (uint64_t c0 = 0; c0 < cols; c0 += 32)
        for (uint64_t r = r0; r < rows && r < r0 + 32; r++)
          for (uint64_t c = c0; c < cols && c < c0 + 32; c++)
            element(t, r * cols + c, es, dst + (c * rows + r) * (uint64_t)es);
  }
  free(x.used);
  if (s) {
    if (buf) munmap(buf, (size_t)total);
    free_owner(own);
    free(sf->t);
    memset(sf, 0, sizeof *sf);
    return s;
  }
  sf->n = nout;
  sf->map = buf;
  sf->file_size = total;
  sf->data_start = 0;
  sf->owner = own, sf->drop = free_owner;
  return VGG_OK;
}

#else

vgg_status vgg_onnx_open(const char *path, int with_data, st_file *sf, vgg_error *err) {
  (void)with_data;
  memset(sf, 0, sizeof *sf);
  return vgg_fail(err, VGG_ERR_FORMAT,
                  "%s: an ONNX model, and this build reads none (built without protobuf-c and onnx.proto: "
                  "libprotobuf-c-dev, protobuf-c-compiler, python3-onnx)",
                  path);
}

#endif
