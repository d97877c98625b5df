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
import itertools
import json
import logging
import os
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


def _model(cfg):
    key = tuple(sorted(cfg.items()))
    m = _models.get(key)
    if m is None:
        m = _models[key] = vggsimd.Model(cfg["arch"], weights=cfg["weights"], include_top=cfg["top"],
                                         input_shape=(cfg["size"], cfg["size"], 3), seed=cfg["seed"],
                                         threads=cfg["threads"], algo=cfg["algo"])
    return m


def _write_atomic(path, write):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-" + os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def process_partition(index, paths, out_dir, cfg):
    """Runs one partition on this worker's net; returns its index entries."""
    m = _model(cfg)
    pre = cfg["preprocess"] or m.preprocess
    entries, rows = [], []
    for p in paths:
        try:
            x = vggsimd.load_image(p, size=cfg["size"], resize=cfg["resize"], preprocess=pre)
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
    _write_atomic(os.path.join(out_dir, name + ".json"),
                  lambda f: f.write(json.dumps(entries, indent=0).encode()))
    return entries


def run(paths, out_dir, cfg, client, partition_size=8, progress=True):
    """Maps the images over the cluster; returns the index entries in input order."""
    from distributed import progress as show_progress

    os.makedirs(out_dir, exist_ok=True)
    parts = [paths[i:i + partition_size] for i in range(0, len(paths), partition_size)]
    futures = [client.submit(process_partition, i, part, out_dir, cfg, pure=False) for i, part in enumerate(parts)]
    if progress:
        show_progress(futures)
        print(file=sys.stderr)
    entries = [e for part in client.gather(futures) for e in part]
    _write_atomic(os.path.join(out_dir, "index.jsonl"),
                  lambda f: f.write("".join(json.dumps(e) + "\n" for e in entries).encode()))
    return entries


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m vggsimd.dask", description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", nargs="+", help="images, directories, @list files")
    ap.add_argument("--out", required=True, help="output directory (partitions and index.jsonl)")
    ap.add_argument("--scheduler", help="address of a running Dask scheduler (default: a LocalCluster here)")
    ap.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    ap.add_argument("--engine-threads", type=int, default=1, help="engine threads per worker (default 1)")
    ap.add_argument("--partition-size", type=int, default=8, help="images per task (default 8)")
    ap.add_argument("--arch", default="vgg16", choices=("vgg11", "vgg13", "vgg16", "vgg19"))
    ap.add_argument("--weights", help="safetensors file (default: random init, see --seed)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--top", action="store_true", help="include the classifier (implied when --weights holds it)")
    ap.add_argument("--layer", default="block5_pool", choices=LAYERS)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--resize", default="direct", choices=("direct", "crop"))
    ap.add_argument("--preprocess", choices=("caffe", "torch"), help="default: torch for torchvision weights")
    ap.add_argument("--algo", default="auto", choices=("auto", "direct", "wino2", "wino4", "wino6", "fast"))
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
            if not 1 <= value <= hi:
                raise ValueError("%s must be from 1 to %d%s, got %d" % (
                    flag, hi, " (4 per online core)" if flag == "--workers" else "", value))
        top = a.top
        if a.weights:
            top = top or vggsimd._vggsimd.probe_weights(a.weights)[1]
        if a.layer in ("fc1", "fc2", "predictions") and not top:
            raise ValueError("--layer %s is in the classifier: add --top or use weights that hold it" % a.layer)
        paths = expand_inputs(a.inputs)
        if not paths:
            raise ValueError("no images to run")
        # The client checks the configuration once, so a bad one fails here rather than on every worker.
        vggsimd.Model(a.arch, weights=a.weights, include_top=top, input_shape=(a.size, a.size, 3), seed=a.seed,
                      threads=min(a.engine_threads, 2), algo=a.algo)
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
               algo=a.algo)
    from distributed import Client, LocalCluster

    cluster = None
    try:
        if a.scheduler:
            client = Client(a.scheduler)
        else:
            cluster = LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=logging.ERROR)
            client = Client(cluster)
    except (OSError, ValueError, TypeError) as e:  # no scheduler there, a bad address, workers that cannot start
        if cluster is not None:
            cluster.close()
        print("%s: %s: %s" % (prog, "--scheduler " + a.scheduler if a.scheduler else "LocalCluster",
                              str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__),
              file=sys.stderr)
        return 1
    try:
        entries = run(paths, os.path.abspath(a.out), cfg, client, a.partition_size, progress=not a.quiet)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    failed = [e for e in entries if "error" in e]
    for e in failed:
        print("%s: %s" % (prog, e["error"]), file=sys.stderr)
    print("%d images: %d done, %d failed; index: %s" % (len(entries), len(entries) - len(failed), len(failed),
                                                        os.path.join(a.out, "index.jsonl")))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
