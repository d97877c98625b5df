/* libFuzzer harnesses: each file defines LLVMFuzzerTestOneInput.  Built with
 * clang -fsanitize=fuzzer for fuzzing (meson -Dfuzzing=true), and with
 * replay.c as a plain test that runs every committed corpus file through the
 * same function (any compiler). */
#ifndef VGG_FUZZ_H
#define VGG_FUZZ_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The loaders under test take paths: the input goes into an anonymous
 * in-memory file, named by /proc/self/fd/N.  Returns the fd, or -1. */
static inline int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t n) {
  int fd = memfd_create("fuzz", 0);
  if (fd < 0) return -1;
  size_t done = 0;
  while (done < size) {
    ssize_t w = write(fd, data + done, size - done);
    if (w <= 0) {
      close(fd);
      return -1;
    }
    done += (size_t)w;
  }
  snprintf(path, n, "/proc/self/fd/%d", fd);
  return fd;
}

#endif
