"""Feature extraction for many images on a Dask cluster.

    python3 -m vggsimd.dask PHOTOS/ --out features/ [--scheduler tcp://host:8786] [--weights W] [--layer L]

The images (paths, directories, @lists) are cut into partitions of
--partition-size images.  Each worker process builds its net once (cached per
process and configuration) and writes, per partition, `part-NNNNN.npy` (the
chosen layer's outputs of the partition's images that decoded, stacked along
the first axis) and `part-NNNNN.json` (for each image: its path and row, or its
error).  At the end the client writes `index.jsonl` (one line per image, in
input order: path, partition file, row; or the error).  Every file is written
atomically.  Without --scheduler a LocalCluster of --workers processes with one
thread each runs on this machine.  Paths (images, weights, --out) must be the
same on every machine of the cluster: a shared file system.
"""
import argparse
import functools
import itertools
import json
import logging
import os
import socket
import stat
import sys
import tempfile

import numpy as np

import vggsimd

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".tga", ".pnm", ".ppm", ".pgm", ".pbm", ".gif", ".psd",
                    ".hdr", ".npy"}
LAYERS = vggsimd.BLOCKS + ("fc1", "fc2", "predictions")

_models = {}  # per worker process: configuration -> Model


def list_paths(path):
    """The paths of a list file: one a line, at most 4095 bytes; blank lines and # comments skipped.  A line
    that is longer or holds a NUL byte ends the reading with a ValueError (a list may be endless: /dev/zero)."""
    out = []
    try:
        f = open(path, "rb")
    except OSError as e:
        raise OSError("@%s: cannot open list: %s" % (path, e.strerror)) from None
    with f:
        for n in itertools.count(1):
            line = f.readline(4097)
            if not line:
                return out
            if b"\0" in line:
                raise ValueError("@%s:%d: not a list of paths (a NUL byte)" % (path, n))
            if len(line.rstrip(b"\n")) > 4095:
                raise ValueError("@%s:%d: line too long for a path" % (path, n))
            p = os.fsdecode(line.strip())
            if p and not p.startswith("#"):
                out.append(p)


def _listed(path):
    """Whether a directory entry named like a picture is taken: a regular file, or a name that cannot be examined
    (a link to nothing), which then fails as an image does; directories, pipes and devices are left out."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True


def expand_inputs(inputs):
    """Paths as given, the image files of directories (sorted, not recursive), the lines of @list files."""
    out = []
    for a in inputs:
        if a.startswith("@"):
            out += list_paths(a[1:])
        elif os.path.isdir(a):
            names = sorted(n for n in os.listdir(a) if not n.startswith(".")
                           and os.path.splitext(n)[1].lower() in IMAGE_EXTENSIONS
                           and _listed(os.path.join(a, n)))
            if not names:
                raise ValueError("%s: no image files in this directory" % a)
            out += [os.path.join(a, n) for n in names]
        else:
            out.append(a)
    return out


# The engine's options (vggsimd.h's VGG_OPTIONS) but the threads, which are --engine-threads here (per worker).
ENGINE_OPTIONS = tuple(o for o in vggsimd._vggsimd.OPTIONS if o[0] != "threads")


def _engine(d):
    """The engine options set in d (a configuration or the parsed flags), by name."""
    return {o[0]: d[o[0]] for o in ENGINE_OPTIONS if d.get(o[0]) is not None}


def _model(cfg):
    key = tuple(sorted(cfg.items()))
    m = _models.get(key)
    if m is None:
        m = _models[key] = vggsimd.Model(cfg["arch"], weights=cfg["weights"], include_top=cfg["top"],
                                         input_shape=(cfg["size"], cfg["size"], 3), seed=cfg["seed"],
                                         threads=cfg["threads"], ranges=cfg.get("ranges"), **_engine(cfg))
    return m


def _host():
    return socket.gethostname().replace(".", "_")


def _tmp_prefix(name):
    """Temporaries are ".tmp-<name>.<host>.<pid>.<random>": a later run on that host can tell a dead writer's."""
    return ".tmp-%s.%s.%d." % (name, _host(), os.getpid())


def sweep_temporaries(out_dir):
    """Removes from out_dir the temporaries that writers on this host left when they were killed (their process
    is gone).  Those of another host's processes are left: their liveness cannot be seen from here."""
    host = _host()
    try:
        names = os.listdir(out_dir)
    except OSError:
        return
    for n in names:
        parts = n.rsplit(".", 3)
        if not n.startswith(".tmp-") or len(parts) != 4 or parts[1] != host or not parts[2].isdigit():
            continue
        pid = int(parts[2])
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            continue  # alive
        except ProcessLookupError:
            pass
        except OSError:
            continue  # alive, another user's
        try:
            if stat.S_ISREG(os.lstat(os.path.join(out_dir, n)).st_mode):
                os.unlink(os.path.join(out_dir, n))
        except OSError:
            pass


@functools.lru_cache(maxsize=None)
def _file_mode():
    """0666 less this process's umask (read once per process), as open() would make a file (mkstemp makes 0600); read without setting it."""
    try:
        with open("/proc/self/status") as f:
            umask = next(int(l.split()[1], 8) for l in f if l.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


def _write_atomic(path, write):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=_tmp_prefix(os.path.basename(path)))
    try:
        os.fchmod(fd, _file_mode())
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def process_partition(index, paths, out_dir, cfg):
    """Runs one partition on this worker's net; returns its index entries."""
    m = _model(cfg)
    pre, resize = cfg["preprocess"] or m.preprocess, cfg["resize"] or m.resize
    entries, rows = [], []
    for p in paths:
        try:
            x = vggsimd.load_image(p, size=cfg["size"], resize=resize, preprocess=pre)
            if x.shape[1:3] != (cfg["size"], cfg["size"]):  # a .npy input of another size
                raise ValueError("%s: .npy input is %dx%d; this run takes %dx%d"
                                 % (p, x.shape[1], x.shape[2], cfg["size"], cfg["size"]))
            entries.append({"path": p, "row": len(rows)})
            rows.append(x)
        except (ValueError, OSError, MemoryError) as e:
            entries.append({"path": p, "error": str(e)})
    name = "part-%05d" % index
    if rows:
        out = np.concatenate([m.layer_output(np.concatenate(rows[i:i + 8]), cfg["layer"])
                              for i in range(0, len(rows), 8)])
        _write_atomic(os.path.join(out_dir, name + ".npy"), lambda f: np.save(f, out))
    for e in entries:
        if "row" in e:
            e["partition"] = name + ".npy"
            if cfg["layer"] == "predictions":  # the five most likely classes, as the CLI's JSONL has them
                e["top5"] = [{"class": c, "label": label, "prob": round(p, 6)}
                             for c, label, p in vggsimd.decode_predictions(out[e["row"]:e["row"] + 1])[0]]
    _write_atomic(os.path.join(out_dir, name + ".json"),
                  lambda f: f.write(json.dumps(entries, indent=0).encode()))
    return entries


def finished_partition(out_dir, index, paths):
    """The index entries of partition `index` when an earlier run finished it for these same paths (its .json
    lists them, and its .npy is there if any image ran), else None."""
    name = os.path.join(out_dir, "part-%05d" % index)
    try:
        with open(name + ".json", "rb") as f:
            entries = json.loads(f.read())
    except (OSError, ValueError):
        return None
    if not isinstance(entries, list) or [e.get("path") if isinstance(e, dict) else None for e in entries] != paths:
        return None
    if any("row" in e for e in entries) and not os.path.isfile(name + ".npy"):
        return None
    return entries


def _why(exc):
    """One line saying why a partition's task failed."""
    try:
        from distributed.scheduler import KilledWorker
    except ImportError:  # pragma: no cover - every distributed this runs with has it
        KilledWorker = ()
    if isinstance(exc, KilledWorker):
        import dask

        tries = int(dask.config.get("distributed.scheduler.allowed-failures", 3)) + 1
        return "its worker process died each time it ran it (%d tries; KilledWorker)" % tries
    text = str(exc).strip().splitlines()
    return "%s: %s" % (type(exc).__name__, text[0]) if text else type(exc).__name__


def run(paths, out_dir, cfg, client, partition_size=None, progress=True, skip_existing=False):
    """Maps the images over the cluster; returns the index entries in input order.  A partition whose task
    fails (its worker killed again and again, say) does not stop the others: its images get an entry with the
    error and "failed_partition": its number, and index.jsonl is written all the same.  skip_existing: the
    partitions an earlier run finished (for the same images) are taken from their files, not run again."""
    from distributed import progress as show_progress

    os.makedirs(out_dir, exist_ok=True)
    sweep_temporaries(out_dir)
    if partition_size is None:  # every worker thread gets work: about two partitions each, at most 64 images
        slots = max(1, sum(client.nthreads().values()))
        partition_size = max(1, min(64, -(-len(paths) // (2 * slots))))
    parts = [paths[i:i + partition_size] for i in range(0, len(paths), partition_size)]
    results = [finished_partition(out_dir, i, part) if skip_existing else None for i, part in enumerate(parts)]
    futures = {i: client.submit(process_partition, i, part, out_dir, cfg, pure=False)
               for i, part in enumerate(parts) if results[i] is None}
    if progress and futures:
        show_progress(list(futures.values()))
        print(file=sys.stderr)
    for i, f in futures.items():
        try:
            results[i] = f.result()
        except Exception as e:  # the task failed or was lost: its images are errors, the rest goes on
            why = "partition %d (%s%s, %d image%s): %s" % (
                i, parts[i][0], " .. " + parts[i][-1] if len(parts[i]) > 1 else "", len(parts[i]),
                "s" if len(parts[i]) > 1 else "", _why(e))
            results[i] = [{"path": p, "error": why, "failed_partition": i} for p in parts[i]]
    entries = [e for part in results for e in part]
    _write_atomic(os.path.join(out_dir, "index.jsonl"),
                  lambda f: f.write("".join(json.dumps(e) + "\n" for e in entries).encode()))
    return entries


class _ClusterLog:
    """While the cluster runs, what Dask and its worker processes print (log records, the tracebacks of workers
    that die or shut down badly) goes to a file in the output directory, and this process's own messages to the
    terminal as before: a failure is then said in one line, not a hundred.  The file is removed at the end, or
    kept under a name (keep()) when something failed."""

    def __init__(self, out_dir):
        self.out_dir, self.kept, self._to = out_dir, False, None

    def __enter__(self):
        sys.stderr.flush()
        fd, self.path = tempfile.mkstemp(dir=self.out_dir, prefix=_tmp_prefix("cluster.log"))
        self._saved = os.dup(2)
        self._stderr = sys.stderr
        sys.stderr = open(os.dup(self._saved), "w", buffering=1, encoding=getattr(self._stderr, "encoding", None),
                          errors="backslashreplace")
        os.dup2(fd, 2)
        os.close(fd)
        return self

    def keep(self, name):
        self._to = name

    def __exit__(self, *exc):
        sys.stderr.flush()
        sys.stderr.close()
        sys.stderr = self._stderr
        os.dup2(self._saved, 2)
        os.close(self._saved)
        try:
            if self._to:
                os.replace(self.path, self._to)
                self.kept = True
            else:
                os.unlink(self.path)
        except OSError:
            pass
        return False


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m vggsimd.dask", description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", nargs="+", help="images, directories, @list files")
    ap.add_argument("--out", required=True, help="output directory (partitions and index.jsonl)")
    ap.add_argument("--scheduler", help="address of a running Dask scheduler (default: a LocalCluster here)")
    ap.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    ap.add_argument("--engine-threads", type=int, default=1, help="engine threads per worker (default 1)")
    ap.add_argument("--partition-size", type=int, default=None,
                    help="images per task (default: images / (2 x worker threads), at most 64)")
    ap.add_argument("--arch", default="vgg16", choices=vggsimd._vggsimd.ARCHS)
    ap.add_argument("--weights", help="safetensors, Keras .h5 or ONNX file (default: random init, see --seed)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--top", action="store_true", help="include the classifier (implied when --weights holds it)")
    ap.add_argument("--layer", default="block5_pool", choices=LAYERS)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--resize", choices=vggsimd._vggsimd.RESIZE_MODES,
                    help="default: torchvision for torchvision weights, keras otherwise (as the CLI)")
    ap.add_argument("--preproc", "--preprocess", dest="preprocess", choices=("caffe", "torch"),
                    help="default: torch for torchvision weights")
    ap.add_argument("--ranges", help="int8 activation ranges (vggsimd calibrate)")
    for name, metavar, text, choices in ENGINE_OPTIONS:  # the engine's options, as `vggsimd run` takes them
        ap.add_argument("--" + name, metavar=metavar, help=text, choices=choices)
    ap.add_argument("--skip-existing", action="store_true",
                    help="resume: partitions an earlier run finished for the same images are not run again")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    a = ap.parse_args(argv)
    prog = "vggsimd.dask"
    try:
        # A LocalCluster's workers are processes on this machine, each with a net of its own: more than a few
        # per core only costs memory (and 100000 of them would never start).
        if a.scheduler is not None and not a.scheduler.strip():
            raise ValueError("--scheduler needs an address (tcp://HOST:PORT); leave it out for a LocalCluster")
        max_workers = 4 * (os.cpu_count() or 1)
        for flag, value, hi in (("--workers", a.workers, max_workers), ("--engine-threads", a.engine_threads, 1024),
                                ("--partition-size", a.partition_size, 1024)):
            if value is not None and not 1 <= value <= hi:
                raise ValueError("%s must be from 1 to %d%s, got %d" % (
                    flag, hi, " (4 per online core)" if flag == "--workers" else "", value))
        top = a.top  # as the CLI: a full weights file runs its classifier for a --layer in it
        if a.weights and a.layer in ("fc1", "fc2", "predictions"):
            top = top or vggsimd._vggsimd.probe_weights(a.weights)[1]
        if a.layer in ("fc1", "fc2", "predictions") and not top:
            raise ValueError("--layer %s is in the classifier: add --top or use weights that hold it" % a.layer)
        paths = expand_inputs(a.inputs)
        if not paths:
            raise ValueError("no images to run")
        # The client checks the configuration once, so a bad one fails here rather than on every worker.
        vggsimd.Model(a.arch, weights=a.weights, include_top=top, input_shape=(a.size, a.size, 3), seed=a.seed,
                      threads=min(a.engine_threads, 2), ranges=a.ranges, **_engine(vars(a)))
    except (ValueError, OSError) as e:
        print("%s: %s" % (prog, e), file=sys.stderr)
        return 2
    try:
        if os.path.exists(a.out) and not os.path.isdir(a.out):
            raise NotADirectoryError(20, "not a directory")
        os.makedirs(a.out, exist_ok=True)
    except OSError as e:
        print("%s: --out %s: %s" % (prog, a.out, e.strerror or e), file=sys.stderr)
        return 1
    cfg = dict(arch=a.arch, weights=os.path.abspath(a.weights) if a.weights else None, top=top, seed=a.seed,
               size=a.size, resize=a.resize, preprocess=a.preprocess, layer=a.layer, threads=a.engine_threads,
               ranges=os.path.abspath(a.ranges) if a.ranges else None, **_engine(vars(a)))
    from distributed import Client, LocalCluster

    out = os.path.abspath(a.out)
    with _ClusterLog(out) as log:
        cluster = None
        try:
            if a.scheduler:
                client = Client(a.scheduler)
            else:
                cluster = LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
                client = Client(cluster)
        except (OSError, ValueError, TypeError) as e:  # no scheduler there, a bad address, workers that cannot start
            if cluster is not None:
                cluster.close()
            print("%s: %s: %s" % (prog, "--scheduler " + a.scheduler if a.scheduler else "LocalCluster",
                                  str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__),
                  file=sys.stderr)
            return 1
        try:
            entries = run(paths, out, cfg, client, a.partition_size, progress=not a.quiet,
                          skip_existing=a.skip_existing)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        if any("failed_partition" in e for e in entries):
            log.keep(os.path.join(out, "cluster.log"))
    failed = [e for e in entries if "error" in e]
    said = set()
    for e in failed:  # one line per image, or per partition whose task failed
        if e.get("failed_partition") not in said:
            print("%s: %s" % (prog, e["error"]), file=sys.stderr)
        if "failed_partition" in e:
            said.add(e["failed_partition"])
    print("%d images: %d done, %d failed; index: %s%s" % (
        len(entries), len(entries) - len(failed), len(failed), os.path.join(a.out, "index.jsonl"),
        "; the cluster's own messages: " + os.path.join(a.out, "cluster.log") if log.kept else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
