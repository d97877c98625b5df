/* HTML reports: see report.h. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#include "args.h"

static const char style[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:72rem;margin:1.5rem auto;"
    "padding:0 1rem;color:#1b1b1f;background:#fff;line-height:1.45}"
    "h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}"
    "table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #c8c8d0;padding:.2rem .5rem;"
    "text-align:left;font-variant-numeric:tabular-nums}th{background:#eef0f4}td.num{text-align:right}"
    "figure{margin:1rem 0}figcaption{color:#44474f;font-size:.9rem}img{max-width:100%;height:auto}"
    "code,.shape{font-family:ui-monospace,'DejaVu Sans Mono',monospace}"
    ".blocks section{border-top:1px solid #dde;padding-top:.5rem}.blocks img{max-width:min(100%,40rem)}"
    ".cams{display:flex;flex-wrap:wrap;gap:0 1.5rem}.err{color:#a4141a}"
    ".thumbs td img{width:112px;height:112px;object-fit:cover}";

int html_open(html_doc *d, const char *title) {
  memset(d, 0, sizeof *d);
  if (!(d->f = open_memstream(&d->buf, &d->len))) return -1;
  fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
        d->f);
  html_esc(d->f, title);
  fprintf(d->f, "</title>\n<style>%s</style>\n</head>\n<body>\n", style);
  return 0;
}

void html_discard(html_doc *d) {
  if (d->f) fclose(d->f);
  free(d->buf);
  memset(d, 0, sizeof *d);
}

int html_commit(html_doc *d, const char *cmd, const char *path) {
  fputs("</body>\n</html>\n", d->f);
  const int bad = fclose(d->f) != 0;
  d->f = NULL;
  int rc = -1;
  vgg_outfile o;
  vgg_error err;
  if (bad) cli_error(cmd, "%s: out of memory", path);
  else if (vgg_outfile_open(&o, path, &err) || vgg_outfile_write(&o, d->buf, d->len, &err) ||
           vgg_outfile_commit(&o, &err))
    cli_error(cmd, "%s", err.msg);
  else rc = 0;
  free(d->buf);
  memset(d, 0, sizeof *d);
  return rc;
}

void html_esc(FILE *f, const char *s) {
  for (; *s; s++) switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    default: fputc(*s, f);
    }
}

/* Series colours: distinct, dark enough for white text on none of them to matter (labels sit outside). */
static const char *const palette[] = {"#3b528b", "#21918c", "#5ec962", "#fde725", "#440154", "#e76f51", "#8d99ae",
                                      "#2a9d8f"};

void svg_bars(FILE *f, const char *title, const char *desc, int nrows, const char *const *rows, int nseries,
              const char *const *series, const int *colors, const double *v, double vmax, const char *unit,
              int decimals) {
  double max = vmax;
  for (int i = 0; i < nrows * nseries; i++) max = v[i] > max ? v[i] : max;
  if (max <= 0) max = 1;
  const int label_w = 150, bar_w = 460, value_w = 110, bar_h = 14, gap = 10;
  const int legend_h = nseries > 1 ? 22 * ((nseries + 2) / 3) : 0;
  const int W = label_w + bar_w + value_w, H = 30 + legend_h + nrows * (nseries * bar_h + gap) + 4;
  static int chart; /* ids unique within a page */
  chart++;
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
             "aria-labelledby=\"chart%d-t chart%d-d\" font-family=\"sans-serif\" font-size=\"12\">\n"
             "<title id=\"chart%d-t\">",
          W, H, W, H, chart, chart, chart);
  html_esc(f, title);
  fprintf(f, "</title>\n<desc id=\"chart%d-d\">", chart);
  html_esc(f, desc);
  fputs("</desc>\n<text x=\"0\" y=\"16\" font-size=\"14\" font-weight=\"bold\">", f);
  html_esc(f, title);
  fputs("</text>\n", f);
  int y = 30;
  if (nseries > 1) {
    for (int s = 0; s < nseries; s++) {
      const int x = (s % 3) * 240, yy = y + (s / 3) * 22;
      fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"14\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">", x, yy,
              palette[(colors ? colors[s] : s) % 8], x + 20, yy + 12);
      html_esc(f, series[s]);
      fputs("</text>\n", f);
    }
    y += legend_h;
  }
  for (int r = 0; r < nrows; r++) {
    fprintf(f, "<text x=\"0\" y=\"%d\">", y + nseries * bar_h / 2 + 4);
    html_esc(f, rows[r]);
    fputs("</text>\n", f);
    for (int s = 0; s < nseries; s++) {
      const double x = v[r * nseries + s];
      if (x >= 0) {
        const double w = bar_w * x / max;
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>", label_w, y, w < 1 ? 1 : w,
                bar_h - 2, palette[(colors ? colors[s] : s) % 8]);
        html_esc(f, rows[r]);
        if (nseries > 1) fputs(", ", f), html_esc(f, series[s]);
        fprintf(f, ": %.*f %s</title></rect><text x=\"%.1f\" y=\"%d\">%.*f %s</text>\n", decimals, x, unit,
                label_w + (w < 1 ? 1 : w) + 4, y + bar_h - 3, decimals, x, unit);
      }
      y += bar_h;
    }
    y += gap;
  }
  fputs("</svg>\n", f);
}

/* ------------------------------------------------------------- one image -- */

static const char *const kind_names[] = {"InputLayer", "Conv2D", "MaxPooling2D", "Flatten", "Dense"};

static void summary_table(FILE *f, const vgg_model *m) {
  fputs("<table>\n<caption>Model summary (Keras' layer names; the batch dimension is None)</caption>\n"
        "<thead><tr><th scope=\"col\">Layer (type)</th><th scope=\"col\">Output shape</th>"
        "<th scope=\"col\">Param #</th></tr></thead>\n<tbody>\n",
        f);
  for (int i = 0; i < vgg_model_num_layers(m); i++) {
    const vgg_layer *l = vgg_model_layer(m, i);
    fprintf(f, "<tr><th scope=\"row\">%s (%s)</th><td class=\"shape\">", l->name, kind_names[l->kind]);
    if (l->kind == VGG_LAYER_FLATTEN || l->kind == VGG_LAYER_DENSE) fprintf(f, "(None, %d)", l->out_c);
    else fprintf(f, "(None, %d, %d, %d)", l->out_h, l->out_w, l->out_c);
    fprintf(f, "</td><td class=\"num\">%lld</td></tr>\n", (long long)(l->weights + l->biases));
  }
  fprintf(f, "</tbody>\n<tfoot><tr><th scope=\"row\">Total params</th><td></td><td class=\"num\">%lld</td></tr>"
             "</tfoot>\n</table>\n",
          (long long)vgg_model_total_params(m));
}

static void plan_table(FILE *f, const vgg_net *net) {
  vgg_step_info st[VGG_MAX_STEPS_INFO];
  const int n = vgg_net_steps(net, st, VGG_MAX_STEPS_INFO);
  fprintf(f, "<table>\n<caption>The plan: level %s, %d thread%s</caption>\n<thead><tr><th scope=\"col\">Step</th>"
             "<th scope=\"col\">Operation</th><th scope=\"col\">Algorithm</th><th scope=\"col\">Fused</th>"
             "<th scope=\"col\">Kernel</th><th scope=\"col\">ms</th></tr></thead>\n<tbody>\n",
          vgg_net_isa(net), vgg_net_threads(net), vgg_net_threads(net) > 1 ? "s" : "");
  for (int i = 0; i < n; i++)
    fprintf(f, "<tr><th scope=\"row\">%s</th><td>%s</td><td>%s</td><td>%s</td><td><code>%s</code></td>"
               "<td class=\"num\">%.2f</td></tr>\n",
            st[i].layer, st[i].op, st[i].algo[0] ? st[i].algo : "-", st[i].fused[0] ? st[i].fused : "-", st[i].kernel,
            st[i].seconds * 1e3);
  fputs("</tbody>\n</table>\n", f);
}

/* v with commas between groups of three digits (36,928), in buf (32 bytes). */
static const char *grouped(char *buf, long long v) {
  char t[32];
  const int n = snprintf(t, sizeof t, "%lld", v < 0 ? -v : v);
  int o = 0;
  if (v < 0) buf[o++] = '-';
  for (int i = 0; i < n; i++) {
    if (i && (n - i) % 3 == 0) buf[o++] = ',';
    buf[o++] = t[i];
  }
  buf[o] = 0;
  return buf;
}

/* Each layer's output size, parameters and operations, as the sums that give them, with this model's numbers. */
static void arithmetic_table(FILE *f, const vgg_model *m) {
  fputs("<h2>The arithmetic, layer by layer</h2>\n<p>A 3x3 convolution with padding 1 and stride 1 keeps the size: "
        "(in + 2*padding - kernel)/stride + 1. Its parameters are one 3x3 filter per input and output channel pair "
        "plus a bias per output channel; a multiply-add counts as 2 operations. A 2x2 max-pool with stride 2 halves "
        "the size and has no parameters; a dense layer has a weight per input and output pair and a bias per "
        "output.</p>\n<table>\n<caption>Output size, parameters and operations of every layer</caption>\n<thead><tr>"
        "<th scope=\"col\">Layer</th><th scope=\"col\">Output size</th><th scope=\"col\">Parameters</th>"
        "<th scope=\"col\">Operations</th></tr></thead>\n<tbody>\n", f);
  int64_t params = 0, flops = 0;
  char a[32], b[32];
  for (int i = 1; i < vgg_model_num_layers(m); i++) {
    const vgg_layer *l = vgg_model_layer(m, i);
    fprintf(f, "<tr><th scope=\"row\">%s</th><td>", l->name);
    switch (l->kind) {
    case VGG_LAYER_CONV:
      fprintf(f, "(%d + 2*1 - 3)/1 + 1 = %d</td><td>3*3*%d*%d + %d = %s</td><td>2*3*3*%d*%d*%d*%d = %s", l->in_h,
              l->out_h, l->in_c, l->out_c, l->out_c, grouped(a, l->weights + l->biases), l->in_c, l->out_c, l->out_h,
              l->out_w, grouped(b, l->flops));
      break;
    case VGG_LAYER_POOL:
      fprintf(f, "(%d - 2)/2 + 1 = %d</td><td>0</td><td>%s", l->in_h, l->out_h, grouped(b, l->flops));
      break;
    case VGG_LAYER_FLATTEN:
      fprintf(f, "%d*%d*%d = %d</td><td>0</td><td>0", l->in_h, l->in_w, l->in_c, l->out_c);
      break;
    default:
      fprintf(f, "%d</td><td>%d*%d + %d = %s</td><td>2*%d*%d = %s", l->out_c, l->in_c, l->out_c, l->out_c,
              grouped(a, l->weights + l->biases), l->in_c, l->out_c, grouped(b, l->flops));
    }
    fputs("</td></tr>\n", f);
    params += l->weights + l->biases, flops += l->flops;
  }
  fprintf(f, "<tr><th scope=\"row\">Total</th><td></td><td>%s</td><td>%s</td></tr>\n</tbody>\n</table>\n",
          grouped(a, params), grouped(b, flops));
}

int report_page_write(const char *dir, const report_page *p) {
  html_doc d;
  char path[4200];
  if (html_open(&d, p->image)) {
    cli_error("run", "out of memory");
    return -1;
  }
  FILE *f = d.f;
  if (p->index_href) fprintf(f, "<p><a href=\"%s\">All images</a></p>\n", p->index_href);
  fputs("<h1>vggsimd: ", f);
  html_esc(f, p->image);
  fputs("</h1>\n<p>", f);
  html_esc(f, p->about);
  fprintf(f, "</p>\n<p>Forward pass: %.2f ms.</p>\n", p->ms);
  const vgg_layer *in = vgg_model_layer(p->m, 0);
  fprintf(f, "<figure><img src=\"input.png\" width=\"%d\" height=\"%d\" alt=\"The input as the network sees it: ",
          in->out_w, in->out_h);
  html_esc(f, p->image);
  fprintf(f, " resized to %dx%d, shown in RGB\"><figcaption>Input as the network sees it: %dx%d, preprocessing "
             "undone, shown in RGB.</figcaption></figure>\n",
          in->out_w, in->out_h, in->out_w, in->out_h);
  if (p->probs) {
    int idx[5];
    vgg_top_k(p->probs, 1000, 5, idx);
    const char *labels[5];
    double v[5];
    for (int k = 0; k < 5; k++) labels[k] = vgg_imagenet_label(idx[k]), v[k] = 100.0 * p->probs[idx[k]];
    fputs("<h2>Top-5 classes</h2>\n", f);
    svg_bars(f, "Top-5 ImageNet classes", "The five most likely classes with their probability in percent", 5, labels,
             1, NULL, NULL, v, 100, "%", 2);
    fputs("<table>\n<caption>Top-5 classes</caption>\n<thead><tr><th scope=\"col\">#</th><th scope=\"col\">Class"
          "</th><th scope=\"col\">Index</th><th scope=\"col\">Probability</th></tr></thead>\n<tbody>\n",
          f);
    for (int k = 0; k < 5; k++) {
      fprintf(f, "<tr><td>%d</td><th scope=\"row\">", k + 1);
      html_esc(f, labels[k]);
      fprintf(f, "</th><td class=\"num\">%d</td><td class=\"num\">%.5f</td></tr>\n", idx[k], p->probs[idx[k]]);
    }
    fputs("</tbody>\n</table>\n", f);
  }
  if (p->ncam) {
    fprintf(f, "<h2>Where the network looked: Grad-CAM</h2>\n<p>For each class, the gradient of its score (the logit, "
               "before the softmax) with respect to the output of <code>%s</code> is averaged over the map, one weight "
               "per channel; the heat map is the ReLU of the channels' weighted sum, scaled to its maximum and resized "
               "to the input (Selvaraju et al., 2017). Red: where the evidence for the class is strongest.</p>\n"
               "<div class=\"cams\">\n", p->cam_layer);
    for (int k = 0; k < p->ncam; k++) {
      const int c = p->cam_class[k];
      fprintf(f, "<figure><img src=\"gradcam-%d.png\" width=\"%d\" height=\"%d\" alt=\"Grad-CAM of class %d (", c,
              in->out_w, in->out_h, c);
      html_esc(f, vgg_imagenet_label(c));
      fprintf(f, ") over the input\"><figcaption>#%d ", k + 1);
      html_esc(f, vgg_imagenet_label(c));
      fprintf(f, " (class %d), probability %.4f</figcaption></figure>\n", c, p->probs ? p->probs[c] : 0.0);
    }
    fputs("</div>\n", f);
  }
  fprintf(f, "<h2>Feature maps %s</h2>\n", p->layer_maps ? "of every layer, block by block" : "after each block");
  const double *lsec = p->layer_sec ? p->layer_sec : vgg_net_layer_seconds(p->net);
  for (int b = 1; b <= 5; b++) {
    const int *s = p->shapes[b];
    fprintf(f, "<h3>Block %d</h3>\n<div class=\"blocks\">\n", b);
    for (int i = 1; p->layer_maps && i < vgg_model_num_layers(p->m); i++) {
      const vgg_layer *l = vgg_model_layer(p->m, i);
      if (l->kind != VGG_LAYER_CONV || l->block != b) continue;
      const int nch = l->out_c < 64 ? l->out_c : 64;
      fprintf(f, "<section><h4>%s</h4>\n<p><span class=\"shape\">TensorShape([1, %d, %d, %d])</span>, %.2f ms; "
                 "3x3 conv of %d channels to %d, + bias, ReLU</p>\n<figure><img src=\"%s.png\" alt=\"The first %d of "
                 "%d channels of %s's output (%dx%d each), each min-max normalised, viridis colours, 8 to a row\">"
                 "<figcaption>First %d channels after the ReLU.</figcaption></figure></section>\n",
              l->name, l->out_h, l->out_w, l->out_c, lsec[i] * 1e3, l->in_c, l->out_c, l->name, nch, l->out_c, l->name,
              l->out_h, l->out_w, nch);
    }
    fprintf(f, "<section><h4>block%d_pool</h4>\n<p><span class=\"shape\">TensorShape([%d, %d, %d, %d])</span>, "
               "%.2f ms%s</p>\n",
            b, s[0], s[1], s[2], s[3], p->block_ms[b], p->layer_maps ? " (the block); 2x2 max-pool, stride 2" : "");
    const int nch = s[3] < 64 ? s[3] : 64;
    fprintf(f, "<figure><img src=\"block%d.png\" alt=\"The first %d of %d channels of block %d's output (%dx%d each), "
               "each min-max normalised, viridis colours, 8 to a row\"><figcaption>First %d channels, each "
               "normalised on its own (viridis: dark low, yellow high).</figcaption></figure></section>\n</div>\n",
            b, nch, s[3], b, s[1], s[2], nch);
  }
  fputs("<h2>Plan</h2>\n", f);
  plan_table(f, p->net);
  fputs("<h2>Model</h2>\n", f);
  summary_table(f, p->m);
  arithmetic_table(f, p->m);
  if (snprintf(path, sizeof path, "%s/index.html", dir) >= (int)sizeof path) {
    html_discard(&d);
    cli_error("run", "--report %s: path too long", dir);
    return -1;
  }
  return html_commit(&d, "run", path);
}

/* --------------------------------------------------------------- index -- */

/* NAME as a relative URL's path segment: every byte but the unreserved ones percent-encoded, so that a '#',
 * '?', '%', ':' or space in a file name stays part of the name (and nothing in it needs HTML escaping). */
static void url_segment(FILE *f, const char *name) {
  for (const unsigned char *c = (const unsigned char *)name; *c; c++)
    if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("-._~", *c))
      fputc(*c, f);
    else fprintf(f, "%%%02X", *c);
}

/* <a href="NAME/index.html"> */
static void index_link(FILE *f, const char *name) {
  fputs("<a href=\"", f);
  url_segment(f, name);
  fputs("/index.html\">", f);
}

int report_index_write(const char *dir, const char *about, const report_entry *e, int n) {
  html_doc d;
  char path[4200];
  if (html_open(&d, "vggsimd run")) {
    cli_error("run", "out of memory");
    return -1;
  }
  FILE *f = d.f;
  int failed = 0;
  for (int i = 0; i < n; i++) failed += e[i].error != NULL;
  fprintf(f, "<h1>vggsimd run: %d image%s</h1>\n<p>", n, n == 1 ? "" : "s");
  html_esc(f, about);
  fprintf(f, "</p>\n<p>%d done, %d failed.</p>\n", n - failed, failed);
  fputs("<table class=\"thumbs\">\n<caption>Images, in input order</caption>\n<thead><tr><th scope=\"col\">Input"
        "</th><th scope=\"col\">Image</th><th scope=\"col\">Result</th><th scope=\"col\">ms</th></tr></thead>\n"
        "<tbody>\n",
        f);
  for (int i = 0; i < n; i++) {
    fputs("<tr><td>", f);
    if (!e[i].error) {
      index_link(f, e[i].name);
      fputs("<img src=\"", f);
      url_segment(f, e[i].name);
      fputs("/input.png\" alt=\"Input ", f);
      html_esc(f, e[i].image);
      fputs("\"></a>", f);
    }
    fputs("</td><th scope=\"row\">", f);
    if (!e[i].error) index_link(f, e[i].name);
    html_esc(f, e[i].image);
    if (!e[i].error) fputs("</a>", f);
    fputs("</th><td", f);
    if (e[i].error) fputs(" class=\"err\">", f), html_esc(f, e[i].error);
    else fputs(">", f), html_esc(f, e[i].result ? e[i].result : "(page from an earlier run)");
    if (e[i].error || !e[i].result) fputs("</td><td></td></tr>\n", f);
    else fprintf(f, "</td><td class=\"num\">%.2f</td></tr>\n", e[i].ms);
  }
  fputs("</tbody>\n</table>\n", f);
  if (snprintf(path, sizeof path, "%s/index.html", dir) >= (int)sizeof path) {
    html_discard(&d);
    cli_error("run", "--report %s: path too long", dir);
    return -1;
  }
  return html_commit(&d, "run", path);
}
