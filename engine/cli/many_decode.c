/* vggsimd run over many images: the decoder thread. */
#include "many.h"
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>


static void decode_into(decoder *d, batch *b, int *pos) {
  const int S = d->c->io.size;
  const size_t img = (size_t)S * S * 3;
  b->n = 0;
  b->first = *pos;
  while (*pos < d->items->n && b->n < d->cap) {
    item *it = &d->items->v[(*pos)++];
    if (it->skip) continue;
    vgg_tensor t;
    vgg_error err;
    if (vgg_image_load_info(it->path, &d->c->io, &t, &it->info, &err)) {
      item_fail(it, "%s", err.msg);
      continue;
    }
    if (t.h != S || t.w != S) {
      item_fail(it, "%s: .npy input is %dx%d; this run takes %dx%d (--size)", it->path, t.h, t.w, S, S);
    } else {
      memcpy(b->x.data + b->n * img, t.data, img * sizeof(float));
      b->idx[b->n++] = (int)(it - d->items->v);
    }
    vgg_tensor_free(&t);
  }
  b->last = *pos;
}

void *decoder_main(void *arg) {
  decoder *d = arg;
  int pos = 0;
  for (int k = 0; pos < d->items->n; k ^= 1) {
    batch *b = &d->b[k];
    pthread_mutex_lock(&d->mu);
    while (b->full && !d->stop) pthread_cond_wait(&d->cv, &d->mu);
    const int stop = d->stop;
    pthread_mutex_unlock(&d->mu);
    if (stop) break;
    decode_into(d, b, &pos);
    pthread_mutex_lock(&d->mu);
    b->full = 1;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
  }
  return NULL;
}

