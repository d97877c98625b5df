/* vggsimd bench: per-layer, per-block and whole conv-base times for each
 * level and thread count, against the measured FMA peak, min over reps. */
#include "args.h"
#include "report.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "usage: vggsimd bench [--isa all|LEVEL] [--algo all|ALGO] [engine options] [--reps N] [--size N] [--arch vgg16]\n"
    "                     [--batch N] [--json] [--report DIR]\n"
    "  Times the conv base (random weights) at each usable level (or LEVEL), at 1 thread and\n"
    "  at all online cores (or N).  Each figure is the minimum over --reps runs (default 10; the\n"
    "  scalar level 3).  Per layer: ms, GFLOP/s, % of the FMA peak measured here for the same level and\n"
    "  thread count (a calibration loop between the runs, the best of them), and speedup over the scalar\n"
    "  level.  --algo all runs each algorithm choice in turn.\n"
    "  --batch N runs N images per forward pass (default 1, at most 64; blocks 3-5 take them in groups\n"
    "  of 8); times are then per image (the pass's time / N).  --json prints one JSON document instead.\n"
    "  --precision int8 times the int8 net (activation ranges calibrated first on the bench's input); %peak\n"
    "  is then against the int8 dot-product peak (vpdpbusd, usdot) measured the same way.  --precision bf16\n"
    "  times the bf16 net (%peak against the bf16 dot-product peak, vdpbf16ps).\n"
    "  --report DIR also writes DIR/index.html: the tables as a page with charts (ms per block for each\n"
    "  level and thread count, % of the FMA peak per layer, speedup over scalar).\n"
    "The engine options (--isa and --algo also take all):\n";

#define MAXL 64
#define MAXR 64

#define algo_names (vgg_algo_names())

typedef struct {
  int level, threads, reps, batch;
  vgg_algo choice;       /* the --algo this run was planned with */
  double peak;           /* GFLOP/s, same level and threads */
  double layer[MAXL];    /* min seconds per layer */
  double block[6];       /* min seconds per block */
  double total;          /* min seconds, conv base */
  const char *algo[MAXL]; /* per conv layer, as planned */
  double xform[MAXL];     /* Winograd layers: share of the thread time in the transforms (else -1) */
  double gemm_peak[MAXL]; /* Winograd layers: the GEMMs' rate, fraction of the per-thread FMA peak (else -1) */
} result;

static double sum_block(const vgg_model *m, const double *sec, int b) {
  double t = 0;
  for (int i = 0; i < vgg_model_num_layers(m); i++)
    if (vgg_model_layer(m, i)->block == b) t += sec[i];
  return t;
}

static int bench_one(const vgg_model *m, const vgg_weights *w, const vgg_tensor *in, const vgg_options *base,
                     int level, int threads, vgg_algo algo, int reps, int quiet, result *r) {
  vgg_options o = *base;
  o.isa = level, o.threads = threads, o.algo = algo;
  vgg_net *net;
  vgg_error err;
  if (vgg_net_create(m, w, &o, &net, &err)) {
    cli_error("bench", "%s", err.msg);
    return EXIT_FAIL;
  }
  const int nl = vgg_model_num_layers(m);
  r->level = level, r->threads = threads, r->reps = reps, r->total = 1e30, r->choice = algo, r->batch = in->n;
  r->peak = 0;
  for (int i = 0; i < MAXL; i++) r->layer[i] = 1e30;
  for (int b = 0; b < 6; b++) r->block[b] = 1e30;
  for (int i = 0; i < vgg_model_num_layers(m) && i < MAXL; i++) r->algo[i] = vgg_net_layer_algo(net, i);
  vgg_net_forward(net, in, NULL, NULL, NULL, NULL, &err); /* warm-up: page faults, caches */
  for (int k = 0; k < reps; k++) {
    if (!quiet) {
      fprintf(stderr, "\r  %-6s %d thread%s: run %d/%d ", vgg_level_name(level), threads, threads > 1 ? "s" : "", k + 1,
              reps);
      fflush(stderr);
    }
    if (vgg_net_forward(net, in, NULL, NULL, NULL, NULL, &err)) {
      cli_error("bench", "%s", err.msg);
      vgg_net_free(net);
      return EXIT_FAIL;
    }
    /* The peak is measured between the runs, the largest kept, so both see the same host. */
    const double pk = vgg_level_peak(level, threads, o.precision, 0.03);
    r->peak = pk > r->peak ? pk : r->peak;
    const double *pass = vgg_net_layer_seconds(net);
    double total = 0, sec[MAXL] = {0}; /* per image */
    for (int i = 1; i < nl && i < MAXL; i++) {
      sec[i] = pass[i] / in->n;
      r->layer[i] = sec[i] < r->layer[i] ? sec[i] : r->layer[i];
      total += sec[i];
    }
    for (int b = 1; b <= 5; b++) {
      const double t = sum_block(m, sec, b);
      r->block[b] = t < r->block[b] ? t : r->block[b];
    }
    r->total = total < r->total ? total : r->total;
  }
  if (!quiet) fprintf(stderr, "\r%60s\r", "");
  /* Up to three more passes with the Winograd stages timed (the clock reads cost a little, so not in the figures
   * above); each stage's minimum over them, as for the times (one pass alone swings with the host). */
  for (int i = 0; i < MAXL; i++) r->xform[i] = r->gemm_peak[i] = -1;
  /* The GEMMs' peak per core: float32 GEMMs against the FMA's, bf16 GEMMs against the bf16 dot product's (int8
   * has no Winograd layers). */
  const double peak1 = r->peak / threads;
  double stage[MAXL][3];
  for (int i = 0; i < MAXL; i++) stage[i][0] = stage[i][1] = stage[i][2] = 1e30;
  int profiled = 0;
  for (int k = 0; k < (reps < 3 ? reps : 3) && !vgg_net_set_profile(net, 1, &err); k++) {
    if (vgg_net_forward(net, in, NULL, NULL, NULL, NULL, &err)) break;
    profiled = 1;
    for (int i = 1; i < nl && i < MAXL; i++)
      for (int j = 0; j < 3; j++) {
        const double t = vgg_net_stage_seconds(net, i)[j];
        stage[i][j] = t < stage[i][j] ? t : stage[i][j];
      }
  }
  if (profiled)
    for (int i = 1; i < nl && i < MAXL; i++) {
      const double *st = stage[i];
      const double all = st[0] + st[1] + st[2];
      if (!r->algo[i] || strncmp(r->algo[i], "wino", 4) || all <= 0) continue;
      const vgg_layer *L = vgg_model_layer(m, i);
      const int wm = r->algo[i][4] - '0', a = wm + 2;
      const double tiles = (double)((L->out_h + wm - 1) / wm) * ((L->out_w + wm - 1) / wm) * in->n;
      r->xform[i] = (st[0] + st[2]) / all;
      if (peak1 > 0) r->gemm_peak[i] = 2.0 * a * a * tiles * L->in_c * L->out_c / st[1] / 1e9 / peak1;
    }
  vgg_net_free(net);
  return 0;
}

/* The scalar result with the same thread count, if measured (for speedups). */
static const result *scalar_of(const result *res, int nres, const result *r) {
  for (int q = 0; q < nres; q++)
    if (res[q].level == 0 && res[q].threads == r->threads && res[q].choice == r->choice) return &res[q];
  return NULL;
}

/* The operations layer i's time covers in r: its own and those of any layers just before it that run inside
 * it and show no time of their own (a first layer computed in bands inside the next); 0 for a layer with no
 * time (such a layer, or a pool fused into the conv before it). */
static double layer_flops(const vgg_model *m, const result *r, int i) {
  if (!(r->layer[i] > 0)) return 0;
  double f = (double)vgg_model_layer(m, i)->flops;
  for (int j = i - 1; j > 0 && !(r->layer[j] > 0); j--) f += (double)vgg_model_layer(m, j)->flops;
  return f;
}

/* x's seconds over the layers layer i's time covers in r (x: r, or the scalar result beside it). */
static double layer_span(const result *x, const result *r, int i) {
  double t = x->layer[i];
  for (int j = i - 1; j > 0 && !(r->layer[j] > 0); j--) t += x->layer[j];
  return t;
}

static double block_flops(const vgg_model *m, int b) {
  double f = 0;
  for (int i = 0; i < vgg_model_num_layers(m); i++)
    if (vgg_model_layer(m, i)->block == b) f += (double)vgg_model_layer(m, i)->flops;
  return f;
}

/* The results as a page: charts of ms per block, % of peak per conv layer and speedup over scalar, then the
 * per-layer table. */
static int write_report(const char *dir, const vgg_model *m, vgg_arch arch, long size, const char *algo,
                        const result *res, int nres) {
  char series_buf[MAXR][64], path[4200], title[160];
  const char *series[MAXR];
  for (int k = 0; k < nres; k++) {
    snprintf(series_buf[k], sizeof series_buf[k], "%s, %s, %d thread%s", vgg_level_name(res[k].level),
             algo_names[res[k].choice], res[k].threads, res[k].threads > 1 ? "s" : "");
    series[k] = series_buf[k];
  }
  html_doc d;
  snprintf(title, sizeof title, "vggsimd bench: %s conv base %ldx%ld, --algo %s", vgg_arch_name(arch), size, size,
           algo);
  if (html_open(&d, title)) {
    cli_error("bench", "out of memory");
    return EXIT_FAIL;
  }
  FILE *f = d.f;
  const int nl = vgg_model_num_layers(m);
  const double conv_flops = (double)vgg_model_total_flops(m);
  fprintf(f, "<h1>");
  html_esc(f, title);
  fprintf(f, "</h1>\n<p>Batch %d%s, random weights, the minimum over the runs of each configuration; %.2f GFLOP per "
             "image (a multiply-add counts 2). GFLOP/s and %% of peak count the direct convolution's operations: "
             "Winograd layers do fewer, so they can pass 100%%.</p>\n",
          res[0].batch, res[0].batch > 1 ? " (times per image)" : "", conv_flops / 1e9);
  fputs("<table>\n<caption>Conv base</caption>\n<thead><tr><th scope=\"col\">Level, algorithm, threads</th><th scope=\"col\">ms"
        "</th><th scope=\"col\">images/s</th><th scope=\"col\">GFLOP/s</th><th scope=\"col\">FMA peak GFLOP/s</th>"
        "<th scope=\"col\">% of peak</th></tr></thead>\n<tbody>\n",
        f);
  for (int k = 0; k < nres; k++) {
    const double gf = conv_flops / res[k].total / 1e9;
    fprintf(f, "<tr><th scope=\"row\">%s</th><td class=\"num\">%.2f</td><td class=\"num\">%.1f</td>"
               "<td class=\"num\">%.1f</td>",
            series[k], res[k].total * 1e3, 1.0 / res[k].total, gf);
    if (res[k].peak > 0) fprintf(f, "<td class=\"num\">%.1f</td><td class=\"num\">%.1f</td></tr>\n", res[k].peak, 100 * gf / res[k].peak);
    else fputs("<td>-</td><td>-</td></tr>\n", f);
  }
  fputs("</tbody>\n</table>\n", f);
  const char *blocks[6] = {"block1", "block2", "block3", "block4", "block5", "conv base"};
  double v[64 * MAXR];
  for (int b = 1; b <= 6; b++)
    for (int k = 0; k < nres; k++) v[(b - 1) * nres + k] = (b <= 5 ? res[k].block[b] : res[k].total) * 1e3;
  fputs("<h2>Time per block</h2>\n", f);
  svg_bars(f, "Milliseconds per block", "Time of each VGG block and of the whole conv base, for each level and "
           "thread count (shorter is faster)", 6, blocks, nres, series, NULL, v, 0, "ms", 2);
  /* % of peak per conv layer, for the configurations with a measured peak. */
  const char *convs[32];
  int nc = 0, ns = 0, sidx[MAXR];
  const char *pseries[MAXR];
  for (int k = 0; k < nres; k++)
    if (res[k].peak > 0) sidx[ns] = k, pseries[ns++] = series[k];
  for (int i = 1; i < nl && nc < 32; i++) {
    const vgg_layer *L = vgg_model_layer(m, i);
    if (L->kind != VGG_LAYER_CONV) continue;
    for (int s2 = 0; s2 < ns; s2++) {
      const result *r = &res[sidx[s2]];
      v[nc * ns + s2] = r->layer[i] > 0 ? 100.0 * layer_flops(m, r, i) / r->layer[i] / 1e9 / r->peak : -1;
    }
    convs[nc++] = L->name;
  }
  if (ns) {
    fputs("<h2>Share of the FMA peak per layer</h2>\n", f);
    svg_bars(f, "% of the measured FMA peak per conv layer", "Direct-convolution GFLOP/s of each conv layer as a "
             "percentage of the FMA peak measured for the same level and thread count", nc, convs, ns, pseries, sidx,
             v, 0, "%", 1);
  }
  /* Speedup over the scalar level at the same thread count. */
  int nsp = 0;
  const char *spseries[MAXR];
  int spidx[MAXR];
  for (int k = 0; k < nres; k++)
    if (res[k].level != 0 && scalar_of(res, nres, &res[k])) spidx[nsp] = k, spseries[nsp++] = series[k];
  if (nsp) {
    for (int b = 1; b <= 6; b++)
      for (int s2 = 0; s2 < nsp; s2++) {
        const result *r = &res[spidx[s2]], *sc = scalar_of(res, nres, r);
        v[(b - 1) * nsp + s2] = b <= 5 ? sc->block[b] / r->block[b] : sc->total / r->total;
      }
    fputs("<h2>Speedup over the scalar level</h2>\n", f);
    svg_bars(f, "Speedup over scalar", "Scalar-level time divided by this level's time, same thread count", 6,
             blocks, nsp, spseries, spidx, v, 0, "x", 1);
  }
  fputs("<h2>Every layer</h2>\n<table>\n<caption>Per layer and configuration</caption>\n<thead><tr>"
        "<th scope=\"col\">Layer</th><th scope=\"col\">Algorithm</th><th scope=\"col\">Configuration</th>"
        "<th scope=\"col\">ms</th><th scope=\"col\">GFLOP/s</th><th scope=\"col\">% of peak</th></tr></thead>\n"
        "<tbody>\n",
        f);
  for (int i = 1; i < nl; i++) {
    const vgg_layer *L = vgg_model_layer(m, i);
    for (int k = 0; k < nres; k++) {
      const result *r = &res[k];
      fprintf(f, "<tr><th scope=\"row\">%s</th><td>%s</td><td>%s</td><td class=\"num\">%.3f</td>", L->name,
              r->algo[i] ? r->algo[i] : "-", series[k], r->layer[i] * 1e3);
      if (layer_flops(m, r, i) > 0) {
        const double gf = layer_flops(m, r, i) / r->layer[i] / 1e9;
        fprintf(f, "<td class=\"num\">%.1f</td>", gf);
        if (r->peak > 0) fprintf(f, "<td class=\"num\">%.1f</td></tr>\n", 100 * gf / r->peak);
        else fputs("<td>-</td></tr>\n", f);
      } else fputs("<td>-</td><td>-</td></tr>\n", f);
    }
  }
  fputs("</tbody>\n</table>\n", f);
  if (snprintf(path, sizeof path, "%s/index.html", dir) >= (int)sizeof path) {
    html_discard(&d);
    cli_error("bench", "--report %s: path too long", dir);
    return EXIT_FAIL;
  }
  if (html_commit(&d, "bench", path)) return EXIT_FAIL;
  fprintf(stderr, "wrote %s\n", path);
  return 0;
}

int cmd_bench(int argc, char **argv) {
  opt opts[] = {CLI_ENGINE_OPTS {"reps", OPT_VALUE}, {"size", OPT_VALUE}, {"arch", OPT_VALUE}, {"json", OPT_FLAG},
                {"report", OPT_VALUE}, {"batch", OPT_VALUE}, {0}};
  for (int i = 2; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(help, stdout);
      cli_print_options(opts);
      return 0;
    }
  const char *pos[1];
  int npos, rc;
  if ((rc = args_parse("bench", argc, argv, 2, opts, pos, 0, &npos))) return rc;
  long reps = 10, size = 224, batch = 1;
  vgg_arch arch;
  if ((rc = opt_int("bench", opts, "reps", 1, 100000, &reps)) || (rc = opt_int("bench", opts, "size", 32, 4096, &size)) ||
      (rc = opt_int("bench", opts, "batch", 1, VGG_MAX_BATCH, &batch)) ||
      (rc = opt_arch("bench", opts, &arch)))
    return rc;
  const int reps_given = opt_get(opts, "reps") != NULL, json = opt_get(opts, "json") != NULL;
  const char *report = opt_get(opts, "report");
  const char *isa = opt_get(opts, "isa");
  vgg_options eo;
  if (isa && !strcmp(isa, "all")) opt_unset(opts, "isa"); /* "all": every usable level */
  const char *algo_arg = opt_get(opts, "algo");
  const int all_algos = algo_arg && !strcmp(algo_arg, "all");
  if (all_algos) opt_unset(opts, "algo"); /* "all": each of them */
  if ((rc = opt_engine("bench", opts, &eo))) return rc;
  const int nalgo = all_algos ? VGG_ALGO_COUNT : 1;
  const int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
  int thread_list[2], nthreads = 0;
  if (eo.threads > 0) thread_list[nthreads++] = eo.threads;
  else {
    thread_list[nthreads++] = 1;
    if (cores > 1) thread_list[nthreads++] = cores;
  }
  vgg_model *m;
  vgg_weights *w;
  vgg_error err;
  vgg_tensor in;
  if (vgg_model_create(arch, 0, (int)size, (int)size, &m, &err)) {
    cli_error("bench", "%s", err.msg);
    return EXIT_USAGE;
  }
  if (vgg_weights_init(m, 0, eo.threads, &w, &err) || vgg_tensor_alloc(&in, (int)batch, (int)size, (int)size, 3, &err)) {
    cli_error("bench", "%s", err.msg);
    vgg_model_free(m);
    return EXIT_FAIL;
  }
  for (size_t i = 0; i < (size_t)batch * size * size * 3; i++) in.data[i] = (float)((i * 7919) % 255) - 120.0f;
  float ranges[MAXL] = {0}, *channels = NULL;
  if (eo.precision == VGG_PRECISION_INT8) { /* the activation ranges of this input, from a float32 net */
    vgg_options fo = eo;
    fo.precision = VGG_PRECISION_F32;
    vgg_net *net = NULL;
    channels = calloc((size_t)vgg_model_num_channels(m), sizeof(float));
    if (!channels) snprintf(err.msg, sizeof err.msg, "out of memory");
    if (!channels || vgg_net_create(m, w, &fo, &net, &err) || vgg_net_calibrate(net, &in, ranges, channels, &err)) {
      cli_error("bench", "%s", err.msg);
      vgg_net_free(net);
      free(channels);
      vgg_tensor_free(&in);
      vgg_weights_free(w);
      vgg_model_free(m);
      return EXIT_FAIL;
    }
    vgg_net_free(net);
    eo.ranges = ranges, eo.channel_ranges = channels;
  }

  result res[MAXR];
  int nres = 0, made_report = 0;
  rc = report ? cli_prepare_dir("bench", "report", report, &made_report) : 0;
  for (int a = 0; a < nalgo && !rc; a++)
    for (int l = 0; l < VGG_LEVEL_COUNT && !rc; l++) {
      if (!vgg_level_usable(l) || (eo.isa >= 0 && l != eo.isa)) continue;
      for (int t = 0; t < nthreads && !rc && nres < MAXR; t++) {
        result *r = &res[nres];
        const int n = reps_given ? (int)reps : l == 0 ? 3 : (int)reps;
        rc = bench_one(m, w, &in, &eo, l, thread_list[t], all_algos ? (vgg_algo)a : eo.algo, n, json, r);
        nres++;
      }
    }
  if (rc) goto done;
  if (report && (rc = write_report(report, m, arch, size, all_algos ? "all" : algo_names[eo.algo], res, nres)))
    goto done;
  const int nl = vgg_model_num_layers(m);
  const double conv_flops = (double)vgg_model_total_flops(m);
  if (json) {
    printf("{\"arch\":\"%s\",\"size\":%ld,\"batch\":%ld,\"precision\":\"%s\",\"conv_base_flops\":%.0f,\"runs\":[",
           vgg_arch_name(arch), size, batch, vgg_precision_names()[eo.precision], conv_flops);
    for (int k = 0; k < nres; k++) {
      const result *r = &res[k];
      printf("%s{\"level\":\"%s\",\"algo\":\"%s\",\"threads\":%d,\"reps\":%d,\"fma_peak_gflops\":%.2f,\"conv_base_ms\":%.4f,"
             "\"conv_base_gflops\":%.2f,\"layers\":[",
             k ? "," : "", vgg_level_name(r->level), algo_names[r->choice], r->threads, r->reps, r->peak, r->total * 1e3,
             conv_flops / r->total / 1e9);
      for (int i = 1, first = 1; i < nl; i++) {
        const vgg_layer *L = vgg_model_layer(m, i);
        printf("%s{\"name\":\"%s\",", first ? "" : ",", L->name);
        if (r->algo[i]) printf("\"algo\":\"%s\",", r->algo[i]);
        if (r->xform[i] >= 0) printf("\"transform_share\":%.4f,", r->xform[i]);
        if (r->gemm_peak[i] >= 0) printf("\"gemm_peak_fraction\":%.4f,", r->gemm_peak[i]);
        printf("\"ms\":%.4f,\"gflops\":", r->layer[i] * 1e3);
        if (layer_flops(m, r, i) > 0) printf("%.2f}", layer_flops(m, r, i) / r->layer[i] / 1e9);
        else printf("null}"); /* a pool fused into the conv before it, or a layer run in bands inside the next */
        first = 0;
      }
      printf("],\"blocks\":[");
      for (int b = 1; b <= 5; b++)
        printf("%s{\"block\":%d,\"ms\":%.4f,\"gflops\":%.2f}", b > 1 ? "," : "", b, r->block[b] * 1e3,
               block_flops(m, b) / r->block[b] / 1e9);
      printf("]}");
    }
    printf("]}\n");
    goto done;
  }
  printf("vggsimd bench: %s conv base, %ldx%ld, batch %ld%s, %s, min of the runs shown; %.2f GFLOP per image\n",
         vgg_arch_name(arch), size, size, batch, batch > 1 ? " (times per image)" : "",
         eo.precision == VGG_PRECISION_INT8   ? "int8 (conv layers after the first; ranges calibrated on the input)"
         : eo.precision == VGG_PRECISION_BF16 ? "bf16 (Winograd GEMMs of the conv layers after the first)"
                                              : "float32",
         conv_flops / 1e9);
  printf(eo.precision == VGG_PRECISION_INT8   ? "int8 dot-product peak measured here (GOP/s, a multiply-add = 2):"
         : eo.precision == VGG_PRECISION_BF16 ? "bf16 dot-product peak measured here (GFLOP/s):"
                                              : "FMA peak measured here (GFLOP/s):");
  for (int k = 0; k < nres; k++)
    if (res[k].peak > 0) printf("  %s/%dt %.1f", vgg_level_name(res[k].level), res[k].threads, res[k].peak);
  printf("\nGFLOP/s and %%peak count the direct convolution's operations: Winograd layers do fewer, so they can\n"
         "pass 100%% (that is their point); a pool fused into the Winograd conv before it shows 0, and so does a\n"
         "first layer computed in bands inside the next conv (its time and operations count in that row).\n");
  printf("Winograd layers: xform = share of the time in the input and output transforms, GEMM%%pk = the GEMMs' own\n"
         "operations against the FMA peak (both from one more pass with the stages timed).\n");
  printf("\n%-14s %-11s %-7s %3s %10s %9s %7s %9s %6s %8s\n", "layer", "algo", "level", "thr", "ms", "GFLOP/s", "%peak",
         "x scalar", "xform", "GEMM%pk");
  for (int i = 1; i < nl; i++) {
    const vgg_layer *L = vgg_model_layer(m, i);
    for (int k = 0; k < nres; k++) {
      const result *r = &res[k], *s = scalar_of(res, nres, r);
      const double f = layer_flops(m, r, i), gf = f / r->layer[i] / 1e9;
      printf("%-14s %-11s %-7s %3d %10.3f ", L->name, r->algo[i] ? r->algo[i] : "-", vgg_level_name(r->level),
             r->threads, r->layer[i] * 1e3);
      if (f > 0) printf("%9.1f ", gf);
      else printf("%9s ", "-");
      if (f > 0 && r->peak > 0) printf("%6.1f%% ", 100 * gf / r->peak);
      else printf("%7s ", "-");
      if (s && s != r && r->layer[i] > 0) printf("%8.1fx ", layer_span(s, r, i) / r->layer[i]);
      else printf("%9s ", "-");
      if (r->xform[i] >= 0) printf("%5.0f%% ", 100 * r->xform[i]);
      else printf("%6s ", "-");
      if (r->gemm_peak[i] >= 0) printf("%7.0f%%\n", 100 * r->gemm_peak[i]);
      else printf("%8s\n", "-");
    }
  }
  printf("\n%-14s %-7s %-6s %3s %10s %9s %7s %9s %9s\n", "block", "level", "--algo", "thr", "ms", "GFLOP/s", "%peak",
         "x scalar", "images/s");
  for (int b = 1; b <= 6; b++)
    for (int k = 0; k < nres; k++) {
      const result *r = &res[k], *s = scalar_of(res, nres, r);
      const double t = b <= 5 ? r->block[b] : r->total, f = b <= 5 ? block_flops(m, b) : conv_flops;
      char name[16];
      snprintf(name, sizeof name, b <= 5 ? "block%d" : "conv base", b);
      printf("%-14s %-7s %-6s %3d %10.3f %9.1f ", name, vgg_level_name(r->level), algo_names[r->choice], r->threads,
             t * 1e3, f / t / 1e9);
      if (r->peak > 0) printf("%6.1f%% ", 100 * f / t / 1e9 / r->peak);
      else printf("%7s ", "-");
      if (s && s != r) printf("%8.1fx ", (b <= 5 ? s->block[b] : s->total) / t);
      else printf("%9s ", "-");
      printf("%9.1f\n", 1.0 / t);
    }
  printf("\nthread scaling (conv base, min of runs):");
  for (int k = 0; k < nres; k++)
    for (int q = 0; q < nres; q++)
      if (res[q].level == res[k].level && res[q].choice == res[k].choice && res[k].threads == 1 && res[q].threads > 1)
        printf("  %s%s%s %dt/1t %.2fx", vgg_level_name(res[k].level), nalgo > 1 ? "/" : "",
               nalgo > 1 ? algo_names[res[k].choice] : "", res[q].threads, res[k].total / res[q].total);
  printf("\n");
done:
  if (rc && made_report) rmdir(report);
  free(channels);
  vgg_tensor_free(&in);
  vgg_weights_free(w);
  vgg_model_free(m);
  return rc;
}
