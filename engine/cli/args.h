/* Small option parser shared by the subcommands: --name VALUE, --name=VALUE,
 * boolean --flag, and positional arguments.  Errors are one line on stderr and
 * exit code 2 (usage), runtime failures exit code 1. */
#ifndef VGG_CLI_ARGS_H
#define VGG_CLI_ARGS_H

#include "vggsimd.h"

#define EXIT_USAGE 2
#define EXIT_FAIL 1

typedef enum { OPT_FLAG, OPT_VALUE } opt_kind;

typedef struct {
  const char *name; /* without the leading dashes */
  opt_kind kind;
  const char *value; /* parsed value (OPT_VALUE) or "1" when a flag is set */
} opt;

/* Every engine option (VGG_OPTIONS) as entries of a command's opts[]: a command that makes a net from them
 * takes them all, so an option added to the list reaches it with no change here. */
#define VGG_X_CLI_OPT(name, metavar, help) {#name, OPT_VALUE, NULL},
#define CLI_ENGINE_OPTS VGG_OPTIONS(VGG_X_CLI_OPT)

/* Parses argv[first..argc) into opts (NULL-name terminated) and up to
 * max_pos positionals.  Returns 0, or prints the error and returns EXIT_USAGE. */
int args_parse(const char *cmd, int argc, char **argv, int first, opt *opts, const char **pos, int max_pos,
               int *npos);
const char *opt_get(const opt *opts, const char *name);
/* Forgets the value of option `name` (a value the command handles itself, such as bench's --isa all). */
void opt_unset(opt *opts, const char *name);

/* Value checkers: print "vggsimd CMD: ..." and return EXIT_USAGE on a bad value. */
int opt_int(const char *cmd, const opt *opts, const char *name, long lo, long hi, long *out);
int opt_u64(const char *cmd, const opt *opts, const char *name, uint64_t *out);
int opt_choice(const char *cmd, const opt *opts, const char *name, const char *const *choices, int *out);
int opt_arch(const char *cmd, const opt *opts, vgg_arch *out);
/* --isa and VGGSIMD_ISA ("auto" -> -1), --threads and VGGSIMD_THREADS (0 -> online cores),
 * and --algo and --precision when the command has them. */
int opt_engine(const char *cmd, const opt *opts, vgg_options *out);
/* The help lines of the engine options (VGG_OPTIONS) that opts holds, in the list's order. */
void cli_print_options(const opt *opts);

/* Creates dir if missing (*created = 1); it must end up a writable directory.  Prints the error
 * ("vggsimd CMD: --FLAG DIR: ...") and returns EXIT_FAIL otherwise. */
int cli_prepare_dir(const char *cmd, const char *flag, const char *dir, int *created);

/* Monotonic seconds. */
double cli_now(void);

void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int cmd_summary(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_cpu(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);

#endif
