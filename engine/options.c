/* The options a user sets by name: one list (VGG_OPTIONS in vggsimd.h), read from text here for the command
 * line, the Python package and the Dask driver alike. */
#include "internal.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {
#define VGG_X_NAME(name, metavar, help) #name,
    VGG_OPTIONS(VGG_X_NAME)
#undef VGG_X_NAME
        NULL};
static const char *const metavars[] = {
#define VGG_X_META(name, metavar, help) metavar,
    VGG_OPTIONS(VGG_X_META)
#undef VGG_X_META
};
static const char *const helps[] = {
#define VGG_X_HELP(name, metavar, help) help,
    VGG_OPTIONS(VGG_X_HELP)
#undef VGG_X_HELP
};

static int find(const char *name) {
  for (int i = 0; names[i]; i++)
    if (!strcmp(names[i], name)) return i;
  return -1;
}

const char *const *vgg_option_names(void) { return names; }
const char *vgg_option_metavar(const char *name) {
  const int i = find(name);
  return i < 0 ? NULL : metavars[i];
}
const char *vgg_option_help(const char *name) {
  const int i = find(name);
  return i < 0 ? NULL : helps[i];
}

/* "auto" and every level, built in or not (a level this CPU lacks is refused by name, not as unknown). */
static const char *const isa_choices[] = {"auto",
#define VGG_X_LEVEL_NAME(id, name, needs) #name,
                                          VGG_LEVELS(VGG_X_LEVEL_NAME)
#undef VGG_X_LEVEL_NAME
                                              NULL};

const char *const *vgg_option_choices(const char *name) {
  if (!strcmp(name, "isa")) return isa_choices;
  if (!strcmp(name, "algo")) return vgg_algo_names();
  if (!strcmp(name, "precision")) return vgg_precision_names();
  return NULL;
}

void vgg_options_init(vgg_options *o) {
  memset(o, 0, sizeof *o);
  o->isa = -1;
  o->algo = VGG_ALGO_AUTO;
  o->precision = VGG_PRECISION_F32;
}

static vgg_status not_one_of(const char *value, const char *const *choices, vgg_error *err) {
  char list[256] = "";
  for (int i = 0; choices[i]; i++) snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", choices[i]);
  return vgg_fail(err, VGG_ERR_ARG, "'%.200s' is not one of: %s", value, list);
}

vgg_status vgg_options_set(vgg_options *o, const char *name, const char *value, vgg_error *err) {
  const char *const *choices = find(name) < 0 ? NULL : vgg_option_choices(name);
  int k = -1;
  for (int i = 0; choices && choices[i]; i++)
    if (!strcmp(value, choices[i])) k = i;
  if (choices && k < 0) return not_one_of(value, choices, err);
  if (!strcmp(name, "isa")) {
    if (k > 0 && !vgg_level_usable(k - 1))
      return vgg_fail(err, VGG_ERR_ARG, "'%s' is not available %s (best here: %s)", value,
                      vgg_level_compiled(k - 1) ? "on this CPU" : "in this build", vgg_level_name(vgg_level_best()));
    o->isa = k - 1; /* auto: -1 */
  } else if (!strcmp(name, "threads")) {
    char *end;
    errno = 0;
    const long n = strtol(value, &end, 10);
    if (errno || end == value || *end || n < 1 || n > 1024)
      return vgg_fail(err, VGG_ERR_ARG, "'%.200s' is not a whole number from 1 to 1024", value);
    o->threads = (int)n;
  } else if (!strcmp(name, "algo")) o->algo = (vgg_algo)k;
  else if (!strcmp(name, "precision")) o->precision = (vgg_precision)k;
  else return vgg_fail(err, VGG_ERR_ARG, "'%.200s' is not an option (%s ...)", name, names[0]);
  return VGG_OK;
}
