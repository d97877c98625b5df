"""vggsimd.dask on a LocalCluster of 2 worker processes x 1 thread: every image's features equal the
single-process CLI's bit for bit; a bad image is reported and the others go on."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import IMG, PHOTO, cli

pytest.importorskip("distributed")
Image = pytest.importorskip("PIL.Image")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    d = tmp_path_factory.mktemp("photos")
    src = [Image.open(PHOTO).convert("RGB"), Image.open(os.path.join(IMG, "large_1200x800.jpg")).convert("RGB")]
    for i in range(24):
        im = src[i % 2].resize((200 + 13 * i, 150 + 7 * i))
        im = im.rotate(9 * i) if i % 3 == 1 else im
        im.save(d / ("p%02d.%s" % (i, "jpg" if i % 2 else "png")))
    (d / "p99_bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    return d


def test_dask_features_equal_the_cli(exe, photos, tmp_path):
    out = tmp_path / "dask"
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-m", "vggsimd.dask", str(photos), "--out", str(out), "--workers", "2",
                        "--partition-size", "5", "--size", "96", "--quiet"], env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 1, r.stderr  # the bad image
    assert "p99_bad.png" in r.stderr and "25 images: 24 done, 1 failed" in r.stdout, (r.stdout, r.stderr)
    subprocess.run([exe, "run", str(photos), "--size", "96", "--threads", "1", "--features", str(tmp_path / "cli")],
                   capture_output=True)
    index = [json.loads(l) for l in open(out / "index.jsonl")]
    assert [os.path.basename(e["path"]) for e in index] == sorted(os.listdir(photos))
    parts = {}
    for e in index:
        name = os.path.basename(e["path"])
        if "error" in e:
            assert name == "p99_bad.png" and "cannot decode" in e["error"]
            continue
        part = parts.setdefault(e["partition"], np.load(out / e["partition"]))
        ref = np.load(tmp_path / "cli" / (name + ".npy"))
        assert np.array_equal(part[e["row"]:e["row"] + 1], ref), name
    assert len(parts) == 5 and sorted(os.listdir(out)) == sorted(
        ["index.jsonl"] + ["part-%05d.%s" % (i, x) for i in range(5) for x in ("json", "npy")])  # no temporary files


def test_dask_rejects_a_bad_configuration(photos, tmp_path):
    r = subprocess.run([sys.executable, "-m", "vggsimd.dask", str(photos), "--out", str(tmp_path / "o"),
                        "--layer", "fc1"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "in the classifier" in r.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("args, code, needle", [
    (["--workers", "100000"], 2, "--workers must be from 1 to"),  # would have started 100000 processes
    (["--engine-threads", "2000"], 2, "--engine-threads must be from 1 to 1024"),
    (["--partition-size", "0"], 2, "--partition-size must be from 1 to 1024"),
    (["--seed", "-1"], 2, "seed must be a whole number"),
    (["--scheduler", ""], 2, "--scheduler needs an address"),
    (["--scheduler", "foo"], 1, "--scheduler foo: "),  # not an address
    (["--scheduler", "tcp://127.0.0.1:1"], 1, "--scheduler tcp://127.0.0.1:1: Timed out"),  # nobody listens
])
def test_dask_bad_flags_fail_in_one_line(photos, tmp_path, args, code, needle):
    env = dict(os.environ, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="2s")
    r = subprocess.run([sys.executable, "-m", "vggsimd.dask", str(photos), "--out", str(tmp_path / "o"), *args],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == code and needle in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert code == 1 or not (tmp_path / "o").exists()


@pytest.mark.parametrize("content, needle", [
    (b"a.png\n\0\n", ":2: not a list of paths (a NUL byte)"),
    (b"x" * 5000 + b"\n", ":1: line too long for a path"),
    (None, ":1: not a list of paths"),  # /dev/zero: endless, read no further than its first line
])
def test_dask_refuses_a_list_that_is_not_one(photos, tmp_path, content, needle):
    lst = "/dev/zero"
    if content is not None:
        lst = str(tmp_path / "l.txt")
        open(lst, "wb").write(content)
    r = subprocess.run([sys.executable, "-m", "vggsimd.dask", "@" + lst, "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and needle in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert not (tmp_path / "o").exists()


def test_dask_out_must_be_a_directory(photos, tmp_path):
    (tmp_path / "f").write_text("x")
    r = subprocess.run([sys.executable, "-m", "vggsimd.dask", str(photos), "--out", str(tmp_path / "f")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and r.stderr.strip() == "vggsimd.dask: --out %s: not a directory" % (tmp_path / "f")
    assert (tmp_path / "f").read_text() == "x"


def test_dask_folder_takes_what_the_cli_takes(tmp_path):
    from vggsimd.dask import expand_inputs
    d = tmp_path / "odd"
    (d / "sub.png").mkdir(parents=True)
    (d / "a.png").write_bytes(b"x")
    os.symlink(tmp_path / "nothere.jpg", d / "gone.jpg")
    os.mkfifo(d / "fifo.png")
    (d / "notes.txt").write_text("x")
    # the link to nothing is listed (it then fails as an image does); the pipe and the directory are not
    assert expand_inputs([str(d)]) == [str(d / "a.png"), str(d / "gone.jpg")]


def test_a_partition_whose_worker_keeps_dying_is_one_line_and_the_index_is_written(photos, tmp_path, capfd,
                                                                                    monkeypatch):
    """Each worker that runs partition 1 dies (os._exit, as a kill -9 would end it); the scheduler gives up on
    it (KilledWorker).  One stderr line names the partition, its images and why; the other partitions finish;
    index.jsonl lists every image (partition 1's as errors); --skip-existing then runs only partition 1, and a
    temporary a dead writer on this host left is swept."""
    import socket
    import vggsimd.dask as vd

    real = vd.process_partition

    def dies_on_partition_1(index, paths, out_dir, cfg):
        if index == 1:
            os._exit(9)
        return real(index, paths, out_dir, cfg)

    out = tmp_path / "o"
    args = [str(photos), "--out", str(out), "--workers", "2", "--partition-size", "10", "--size", "32",
            "--arch", "vgg11", "--quiet"]
    monkeypatch.setattr(vd, "process_partition", dies_on_partition_1)
    assert vd.main(args) == 1
    err = capfd.readouterr().err
    lines = [l for l in err.splitlines() if l.strip()]
    killed = [l for l in lines if "partition 1 " in l]
    assert len(killed) == 1 and "p10.png .. " in killed[0] and "p19.jpg, 10 images" in killed[0] and "KilledWorker" in killed[0], err
    assert "Traceback" not in err and len(lines) <= 3, err  # the partition's line and p99_bad.png's
    index = [json.loads(l) for l in open(out / "index.jsonl")]
    assert len(index) == 25
    assert [e.get("failed_partition") for e in index] == [None] * 10 + [1] * 10 + [None] * 5
    assert sum("row" in e for e in index) == 14  # partitions 0 and 2 but the bad image
    first = {p: os.stat(out / p).st_ino for p in ("part-00000.npy", "part-00002.npy")}

    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = out / (".tmp-part-00001.npy.%s.%d.abcdefgh" % (socket.gethostname().replace(".", "_"), dead.pid))
    stale.write_bytes(b"half")
    monkeypatch.setattr(vd, "process_partition", real)
    assert vd.main(args + ["--skip-existing"]) == 1  # p99_bad.png still fails
    capfd.readouterr()
    index = [json.loads(l) for l in open(out / "index.jsonl")]
    assert sum("row" in e for e in index) == 24 and not any("failed_partition" in e for e in index)
    assert all(os.stat(out / p).st_ino == ino for p, ino in first.items())  # not written again
    assert not stale.exists() and not [n for n in os.listdir(out) if n.startswith(".tmp-")]


def test_dask_as_the_cli_spells_it(photos, tmp_path, weights_top):
    """Outputs readable by others (0666 less the umask, as the CLI's), partitions sized so every worker gets
    work, the CLI's --preproc spelling, --precision, and the top-5 labels in the index for predictions."""
    out = tmp_path / "p"
    old = os.umask(0o022)
    try:
        r = subprocess.run([sys.executable, "-m", "vggsimd.dask", str(photos), "--out", str(out), "--workers", "2",
                            "--weights", weights_top, "--layer", "predictions", "--preproc", "torch",
                            "--precision", "bf16", "--quiet"], capture_output=True, text=True, timeout=600)
    finally:
        os.umask(old)
    assert r.returncode == 1 and "25 images: 24 done, 1 failed" in r.stdout, (r.stdout, r.stderr)
    names = sorted(os.listdir(out))
    assert names == ["index.jsonl"] + ["part-%05d.%s" % (i, x) for i in range(4) for x in ("json", "npy")], names  # 7 images each
    assert all(os.stat(out / n).st_mode & 0o777 == 0o644 for n in names)
    index = [json.loads(l) for l in open(out / "index.jsonl")]
    m = __import__("vggsimd").VGG16(weights=weights_top, include_top=True, precision="bf16")
    for e in index[:3]:
        probs = np.load(out / e["partition"])[e["row"]]
        assert [t["class"] for t in e["top5"]] == list(np.argsort(-probs, kind="stable")[:5])
        assert e["top5"][0]["label"] == __import__("vggsimd")._vggsimd.label(e["top5"][0]["class"])
        x = __import__("vggsimd").load_image(e["path"], resize=m.resize, preprocess="torch")
        assert np.array_equal(m.predict(x)[0], probs)
