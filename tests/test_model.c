/* Shapes, parameter counts and FLOPs of all four configurations. */
#include "testutil.h"
#include "vggsimd.h"

static vgg_model *make(vgg_arch a, int top, int h, int w) {
  vgg_model *m = NULL;
  vgg_error err;
  assert_int_equal(vgg_model_create(a, top, h, w, &m, &err), VGG_OK);
  return m;
}

static void totals(void **s) {
  (void)s;
  /* Keras/torchvision totals: conv base, and with the 123,642,856-parameter classifier. */
  static const struct { vgg_arch a; int64_t base, full; int convs; } want[] = {
    {VGG11, 9220480, 132863336, 8}, {VGG13, 9404992, 133047848, 10},
    {VGG16, 14714688, 138357544, 13}, {VGG19, 20024384, 143667240, 16}};
  for (int i = 0; i < 4; i++) {
    vgg_model *m = make(want[i].a, 0, 224, 224);
    assert_int_equal(vgg_model_total_params(m), want[i].base);
    assert_int_equal(vgg_model_num_params(m), want[i].convs);
    vgg_model_free(m);
    m = make(want[i].a, 1, 224, 224);
    assert_int_equal(vgg_model_total_params(m), want[i].full);
    assert_int_equal(vgg_model_num_params(m), want[i].convs + 3);
    vgg_model_free(m);
  }
}

static void vgg16_layers(void **s) {
  (void)s;
  vgg_model *m = make(VGG16, 1, 224, 224);
  /* name, h, w, c, params */
  static const struct { const char *name; int h, w, c; int64_t params; } L[] = {
    {"input_1", 224, 224, 3, 0},          {"block1_conv1", 224, 224, 64, 1792},
    {"block1_conv2", 224, 224, 64, 36928}, {"block1_pool", 112, 112, 64, 0},
    {"block2_conv1", 112, 112, 128, 73856}, {"block2_conv2", 112, 112, 128, 147584},
    {"block2_pool", 56, 56, 128, 0},       {"block3_conv1", 56, 56, 256, 295168},
    {"block3_conv2", 56, 56, 256, 590080}, {"block3_conv3", 56, 56, 256, 590080},
    {"block3_pool", 28, 28, 256, 0},       {"block4_conv1", 28, 28, 512, 1180160},
    {"block4_conv2", 28, 28, 512, 2359808}, {"block4_conv3", 28, 28, 512, 2359808},
    {"block4_pool", 14, 14, 512, 0},       {"block5_conv1", 14, 14, 512, 2359808},
    {"block5_conv2", 14, 14, 512, 2359808}, {"block5_conv3", 14, 14, 512, 2359808},
    {"block5_pool", 7, 7, 512, 0},         {"flatten", 1, 1, 25088, 0},
    {"fc1", 1, 1, 4096, 102764544},        {"fc2", 1, 1, 4096, 16781312},
    {"predictions", 1, 1, 1000, 4097000}};
  assert_int_equal(vgg_model_num_layers(m), 23);
  for (int i = 0; i < 23; i++) {
    const vgg_layer *l = vgg_model_layer(m, i);
    assert_string_equal(l->name, L[i].name);
    assert_int_equal(l->out_h, L[i].h);
    assert_int_equal(l->out_w, L[i].w);
    assert_int_equal(l->out_c, L[i].c);
    assert_int_equal(l->weights + l->biases, L[i].params);
  }
  /* Conv base FLOPs: 30.69 G (multiply-add = 2). */
  int64_t conv = 0;
  for (int i = 0; i < 23; i++)
    if (vgg_model_layer(m, i)->kind == VGG_LAYER_CONV) conv += vgg_model_layer(m, i)->flops;
  assert_int_equal(conv, 30693261312LL);
  assert_int_equal(vgg_model_block_output(m, 5)->out_h, 7);
  assert_int_equal(vgg_model_layer(m, 23 - 1)->softmax, 1);
  vgg_model_free(m);
}

static void odd_sizes(void **s) {
  (void)s;
  /* floor((in + 2 - 3)/1) + 1 = in for convs; floor(in/2) for pools. */
  vgg_model *m = make(VGG19, 0, 33, 47);
  const int eh[6] = {33, 16, 8, 4, 2, 1}, ew[6] = {47, 23, 11, 5, 2, 1};
  for (int b = 1; b <= 5; b++) {
    assert_int_equal(vgg_model_block_output(m, b)->out_h, eh[b]);
    assert_int_equal(vgg_model_block_output(m, b)->out_w, ew[b]);
  }
  vgg_model_free(m);
  m = make(VGG16, 1, 255, 230); /* floor(255/32) = 7: the classifier still fits */
  assert_int_equal(vgg_model_block_output(m, 5)->out_h, 7);
  vgg_model_free(m);
}

static void bad_shapes(void **s) {
  (void)s;
  vgg_model *m = NULL;
  vgg_error err;
  assert_int_equal(vgg_model_create(VGG16, 0, 31, 224, &m, &err), VGG_ERR_SHAPE);
  assert_non_null(strstr(err.msg, ">= 32"));
  assert_int_equal(vgg_model_create(VGG16, 1, 256, 224, &m, &err), VGG_ERR_SHAPE);
  assert_non_null(strstr(err.msg, "7x7"));
  assert_int_equal(vgg_model_create(VGG16, 1, 200, 224, &m, &err), VGG_ERR_SHAPE);
  assert_int_equal(vgg_model_create((vgg_arch)7, 0, 224, 224, &m, &err), VGG_ERR_ARG);
  assert_null(m);
}

static void summary_text(void **s) {
  (void)s;
  vgg_model *m = make(VGG16, 1, 224, 224);
  char buf[16384];
  size_t n = vgg_model_summary(m, buf, sizeof buf);
  assert_true(n < sizeof buf);
  assert_non_null(strstr(buf, "Total params: 138,357,544"));
  assert_non_null(strstr(buf, "block1_conv1 (Conv2D)        (None, 224, 224, 64)       1,792"));
  assert_non_null(strstr(buf, "predictions (Dense)"));
  /* Truncation is safe and reports the full length. */
  char small[64];
  assert_int_equal(vgg_model_summary(m, small, sizeof small), n);
  assert_int_equal(strlen(small), sizeof small - 1);
  vgg_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(totals), cmocka_unit_test(vgg16_layers),
                                     cmocka_unit_test(odd_sizes), cmocka_unit_test(bad_shapes),
                                     cmocka_unit_test(summary_text)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
