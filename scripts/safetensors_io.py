"""Minimal safetensors reader/writer on numpy (no safetensors package needed), and the one-line errors of the
scripts that use it."""
import json
import os
import stat
import struct
import sys
import tempfile

import numpy as np

_DT = {"F32": "<f4", "F16": "<f2", "F64": "<f8"}


def read(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype=_DT[t["dtype"]]).reshape(t["shape"])
    return out


def write(path, tensors, metadata=None):
    """tensors: ordered dict name -> array (written as F32)."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)

    def put(f):
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)

    write_atomic(path, put)


def write_atomic(path, put):
    """put(f) into path through a temporary file beside it and a rename, so that a reader never sees half of
    it; a link is followed (its file replaced, the link kept; a link to nothing is refused); a device or a pipe
    is written in place."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
        if os.path.islink(path):  # as cp does: neither replace the link nor create what it points to
            raise FileNotFoundError(2, "a symbolic link to a missing file; not writing through it", path)
    if mode is not None and stat.S_ISDIR(mode):
        raise IsADirectoryError(21, "is a directory, not a file", path)
    if mode is not None and not stat.S_ISREG(mode):
        with open(path, "wb") as f:
            put(f)
        return
    final = os.path.realpath(path) if mode is not None else path
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(final)), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            put(f)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, final)
    except BaseException:
        os.unlink(tmp)
        raise


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


def run_main(main, prog, what):
    """Runs a script's main(); an error that is not the script's own sys.exit becomes one line on stderr and
    exit status 1: a missing or unreadable file, an output that cannot be written, or an input that is not
    `what` (as the library reading it says, in short)."""
    try:
        if len(sys.argv) == 3:
            open(sys.argv[1], "rb").close()  # a missing or unreadable input said plainly, before any library
        main()
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as e:
        name = sys.argv[1] if len(sys.argv) > 1 else "input"
        if isinstance(e, OSError) and e.filename and e.strerror:
            sys.exit("%s: %s: %s" % (prog, e.filename, e.strerror))
        detail = " ".join(str(e).split()).split(". ")[0][:160] or type(e).__name__
        sys.exit("%s: %s: not %s (%s)" % (prog, name, what, detail))
