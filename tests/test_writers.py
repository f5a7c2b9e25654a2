"""Every file the project writes goes through ``_filewrite``: the targets a user can name
(FIFOs, devices, descriptors, links), its temporary files, exclusive creation, interrupts.

The writers are ``schema --output``, ``export-hf``, ``save_user_preset`` (``import-hf
--save``) and ``size --plot``; each class of target is tried on the command line, and the
shared writer is tried directly where a race or an interrupt must be staged.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from transformer_presets import save_user_preset
from transformer_presets.cli import main
from transformer_presets.common import filewrite as _filewrite
from transformer_presets.common.filewrite import replace_file, write_file
from transformer_presets.errors import PresetError
from transformer_presets.fields.schema import schema_text
from transformer_presets.hf.exporting import to_hf_config

from .conftest import REPO
from .test_cli import fails, ok, run

SRC = REPO / "src"
root_only = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="making device nodes needs root"
)


def _leftovers(folder: Path, *keep: str) -> list[str]:
    """What else is in ``folder``: a temporary file left behind would show here."""
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


@pytest.fixture
def reader() -> Iterator[Callable[[Path], subprocess.Popen[bytes]]]:
    """``cat FIFO`` in the background, killed at the end if nothing ever wrote to it."""
    started: list[subprocess.Popen[bytes]] = []

    def start(fifo: Path) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _read(proc: subprocess.Popen[bytes]) -> bytes:
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("the FIFO's reader got nothing: the writer never opened the FIFO")
    return out


# -- what is at the target: written into, refused, or replaced ------------------------------


def test_schema_into_a_fifo_reaches_its_reader_and_keeps_the_fifo(
    tmp_path: Path, reader: Callable[[Path], subprocess.Popen[bytes]]
) -> None:
    fifo = tmp_path / "schema.json"
    os.mkfifo(fifo)
    cat = reader(fifo)
    assert ok("schema", "--output", str(fifo)) == f"wrote {fifo}\n"
    assert _read(cat).decode("utf-8") == schema_text()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert _leftovers(tmp_path, "schema.json") == []


def test_export_hf_forced_into_a_fifo_reaches_its_reader(
    tmp_path: Path, reader: Callable[[Path], subprocess.Popen[bytes]]
) -> None:
    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    # Without --force a FIFO is something that exists, like any file.
    proc = fails("export-hf", "gpt2", str(tmp_path))
    assert f"{fifo}: exists; pass --force to overwrite it" in proc.stderr
    cat = reader(fifo)
    ok("export-hf", "gpt2", str(tmp_path), "--force")
    assert json.loads(_read(cat)) == to_hf_config("gpt2")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_fifo_no_one_reads_is_an_error_after_a_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_filewrite, "FIFO_WAIT_SECONDS", 0.2)
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    with pytest.raises(PresetError, match=r"no process opened for reading in 0\.2 s") as info:
        write_file(str(fifo), b"x")
    assert info.value.file == str(fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_reader_that_comes_late_still_gets_everything(tmp_path: Path) -> None:
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def late_reader() -> None:
        time.sleep(0.3)
        with open(fifo, "rb") as f:
            got.append(f.read())

    thread = threading.Thread(target=late_reader)
    thread.start()
    payload = b"0123456789" * 100_000  # more than a pipe holds: the writes block, then go on
    write_file(str(fifo), payload)
    thread.join(timeout=20)
    assert got == [payload]


def test_a_descriptor_is_written_into(tmp_path: Path) -> None:
    # /dev/fd/N, as a shell's process substitution >(...) names its pipe.
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "transformer_presets", "schema", "--output", f"/dev/fd/{write_end}"],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        pass_fds=(write_end,),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    os.close(write_end)
    with open(read_end, "rb") as f:
        received = f.read()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert received.decode("utf-8") == schema_text()
    assert out.decode() == f"wrote /dev/fd/{write_end}\n"


def test_standard_output_appended_to_keeps_appending(tmp_path: Path) -> None:
    # /dev/stdout with >>: what was there stays, the schema follows it (a new opening of the
    # file would start at its beginning, and truncating it would lose the log).
    log = tmp_path / "log"
    log.write_text("earlier line\n")
    with open(log, "a") as out:
        proc = subprocess.run(
            [sys.executable, "-m", "transformer_presets", "schema", "-o", "/dev/stdout"],
            env={**os.environ, "PYTHONPATH": str(SRC)},
            stdout=out,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr
    assert log.read_text() == "earlier line\n" + schema_text() + "wrote /dev/stdout\n"
    assert Path("/dev/stdout").is_symlink()


def test_a_link_to_standard_output_is_written_into_not_replaced(tmp_path: Path) -> None:
    link = tmp_path / "out.json"
    link.symlink_to("/proc/self/fd/1")  # what /dev/stdout is
    out = ok("schema", "--output", str(link))
    assert out == schema_text() + f"wrote {link}\n"
    assert os.readlink(link) == "/proc/self/fd/1"
    assert _leftovers(tmp_path, "out.json") == []


@root_only
@pytest.mark.parametrize(
    ("device", "outcome"),
    [((1, 3), "written"), ((1, 7), "full")],
    ids=["null", "full"],
)
def test_a_character_device_is_written_into_never_replaced(
    tmp_path: Path, device: tuple[int, int], outcome: str
) -> None:
    # A private copy of /dev/null or /dev/full, so that nothing on the machine is at stake.
    node = tmp_path / "device"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(*device))
    if outcome == "written":
        assert ok("schema", "--output", str(node)) == f"wrote {node}\n"
    else:
        proc = fails("schema", "--output", str(node))
        assert proc.stderr == (
            f"transformer-presets: error: {node}: cannot write: No space left on device\n"
        )
    assert stat.S_ISCHR(os.lstat(node).st_mode)
    assert _leftovers(tmp_path, "device") == []


@root_only
def test_a_block_device_is_refused_and_kept(tmp_path: Path) -> None:
    node = tmp_path / "disk"
    os.mknod(node, stat.S_IFBLK | 0o600, os.makedev(7, 0))
    proc = fails("schema", "--output", str(node))
    assert f"{node}: is a block device; only a regular file" in proc.stderr
    assert stat.S_ISBLK(os.lstat(node).st_mode)
    assert _leftovers(tmp_path, "disk") == []


def test_a_socket_is_refused(tmp_path: Path) -> None:
    import socket

    path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        with pytest.raises(PresetError, match="is a socket; only a regular file") as info:
            write_file(str(path), b"x")
    assert info.value.file == str(path)


def test_a_replaced_file_keeps_its_permissions(tmp_path: Path) -> None:
    target = tmp_path / "schema.json"
    target.write_text("old")
    target.chmod(0o600)
    ok("schema", "--output", str(target))
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text(encoding="utf-8") == schema_text()


def test_a_link_to_a_file_is_replaced_and_its_file_left_alone(tmp_path: Path) -> None:
    mine = tmp_path / "mine.json"
    mine.write_text("keep me")
    link = tmp_path / "schema.json"
    link.symlink_to(mine)
    ok("schema", "--output", str(link))
    assert not link.is_symlink() and link.read_text(encoding="utf-8") == schema_text()
    assert mine.read_text() == "keep me"


# -- temporary files: unique, exclusive, never through a link ------------------------------


@pytest.mark.parametrize("writer", ["schema", "export-hf", "save_user_preset"])
def test_a_link_planted_at_a_temporary_name_is_never_followed(
    writer: str, tmp_path: Path, user_presets: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The names the writers used to write through: .NAME.<pid>.tmp and .NAME.toml.tmp.
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's file")
    if writer == "save_user_preset":
        target = user_presets / "me__tiny.toml"
        planted = [user_presets / ".me__tiny.toml.tmp"]
    else:
        folder = tmp_path / "out"
        folder.mkdir()
        target = folder / ("s.json" if writer == "schema" else "config.json")
        planted = [folder / f".{target.name}.{os.getpid()}.tmp"]
    for link in planted:
        link.symlink_to(victim)
    if writer == "schema":
        assert main(["schema", "--output", str(target)]) == 0
    elif writer == "export-hf":
        assert main(["export-hf", "gpt2", str(target.parent)]) == 0
    else:
        save_user_preset("me/tiny", {"extends": "gpt2", "n_layers": 2})
    capsys.readouterr()
    assert victim.read_text() == "the user's file"
    assert not target.is_symlink() and target.stat().st_size > 0
    assert all(link.is_symlink() for link in planted)  # not ours to remove either


def test_a_taken_temporary_name_is_never_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's file")
    target = tmp_path / "out.json"
    names = iter([b"\x00" * 6, b"\x00" * 6, b"\x01" * 6])
    monkeypatch.setattr(_filewrite.os, "urandom", lambda n: next(names))
    (tmp_path / f".out.json.{'00' * 6}.tmp").symlink_to(victim)
    write_file(str(target), b"new")
    assert target.read_bytes() == b"new" and victim.read_text() == "the user's file"
    assert _leftovers(tmp_path, "out.json", "victim.txt") == [f".out.json.{'00' * 6}.tmp"]


def test_a_long_name_gets_a_temporary_name_that_fits(tmp_path: Path) -> None:
    target = tmp_path / ("x" * 250)
    write_file(str(target), b"data")
    assert target.read_bytes() == b"data" and _leftovers(tmp_path, target.name) == []


# -- failures and interrupts leave the old file and no temporary file ----------------------


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError, ValueError])
def test_a_failure_while_writing_keeps_the_old_file_and_leaves_nothing(
    tmp_path: Path, failure: type[BaseException]
) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"the previous plot")

    def torn(f: Any) -> None:
        f.write(b"half a pic")
        raise failure(28, "No space left on device") if failure is OSError else failure()

    with pytest.raises(PresetError if failure is OSError else failure):
        write_file(str(target), torn)
    assert target.read_bytes() == b"the previous plot"
    assert _leftovers(tmp_path, "out.png") == []


def test_an_interrupted_plot_keeps_the_previous_plot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    target = tmp_path / "plot.png"
    target.write_bytes(b"\x89PNG the previous plot")

    def interrupted(self: Any, fname: Any, **kwargs: Any) -> None:
        # matplotlib opens a path itself; either way, Ctrl-C lands halfway through.
        with open(fname, "wb") if isinstance(fname, str | os.PathLike) else fname as f:
            f.write(b"\x89PNG\r\n\x1a\n torn")
            raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", interrupted)
    assert main(["size", "gpt2-small", "--plot", str(target)]) == 130
    capsys.readouterr()
    assert target.read_bytes() == b"\x89PNG the previous plot"
    assert _leftovers(tmp_path, "plot.png") == []


def test_a_plot_into_a_full_device_names_the_file(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    proc = fails("size", "gpt2-small", "--plot", "/dev/full")
    assert "error: /dev/full: cannot write: No space left on device" in proc.stderr
    assert stat.S_ISCHR(os.lstat("/dev/full").st_mode)


def test_a_plot_into_a_fifo_reaches_its_reader(
    tmp_path: Path, reader: Callable[[Path], subprocess.Popen[bytes]]
) -> None:
    pytest.importorskip("matplotlib")
    fifo = tmp_path / "plot.png"
    os.mkfifo(fifo)
    cat = reader(fifo)
    proc = run("size", "gpt2-small", "--plot", str(fifo))
    assert proc.returncode == 0, proc.stderr
    assert _read(cat)[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_signal_mid_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    # A real Ctrl-C (SIGINT) to a process stuck writing a large file.
    target = tmp_path / "big.bin"
    code = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(SRC)!r})\n"
        "from transformer_presets.common.filewrite import write_file\n"
        "def slow(f):\n"
        "    print('writing', flush=True)\n"
        "    while True:\n"
        "        f.write(b'x' * 4096); time.sleep(0.001)\n"
        f"write_file({str(target)!r}, slow)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    assert proc.returncode != 0
    assert _leftovers(tmp_path) == []


# -- without --force: created exclusively, also against another process --------------------


def test_a_file_created_meanwhile_is_never_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "config.json"

    def racing(f: Any) -> None:
        f.write(b"mine")
        target.write_text("the other process's")  # it gets there while this one writes

    with pytest.raises(FileExistsError):
        write_file(str(target), racing, replace=False)
    assert target.read_text() == "the other process's"
    assert _leftovers(tmp_path, "config.json") == []


def test_export_hf_never_overwrites_a_config_json_written_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Another process writes config.json after this one found none: staged as the folder
    # is created, between the check and the write.
    folder = tmp_path / "new"
    target = folder / "config.json"
    real_mkdir = Path.mkdir

    def mkdir_then_another_process(self: Path, *args: Any, **kwargs: Any) -> None:
        real_mkdir(self, *args, **kwargs)
        if self == folder:
            target.write_text('{"written by": "the other process"}')

    monkeypatch.setattr(Path, "mkdir", mkdir_then_another_process)
    assert main(["export-hf", "gpt2", str(folder)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and f"{target}: exists; pass --force to overwrite it" in err
    assert json.loads(target.read_text()) == {"written by": "the other process"}
    assert _leftovers(folder, "config.json") == []


def test_save_user_preset_never_overwrites_a_file_saved_meanwhile(user_presets: Path) -> None:
    from transformer_presets import PresetRegistry

    target = user_presets / "me__tiny.toml"

    class SavedMeanwhile(PresetRegistry):
        # save_user_preset asks the registry after it found no file: another process
        # saves the same name just then.
        def info(self, name: str) -> Any:
            target.write_text("# saved by the other process\n")
            return super().info(name)

    with pytest.raises(PresetError, match="a preset file with this name exists"):
        save_user_preset("me/tiny", {"extends": "gpt2", "n_layers": 2}, registry=SavedMeanwhile())
    assert target.read_text() == "# saved by the other process\n"
    assert _leftovers(user_presets, "me__tiny.toml") == []


# Forked from one warm process and released together through a pipe, so that the four
# exports reach the file within microseconds of each other, many times over.
RACE = """
import contextlib, io, json, os, sys
sys.path.insert(0, {src!r})
from transformer_presets.cli import main
names = {names!r}
with contextlib.redirect_stdout(io.StringIO()):
    for name in names:
        main(["export-hf", name, "-"])  # warm: what is left to do is the export itself
for round_ in range({rounds}):
    folder = os.path.join({root!r}, str(round_), "new")
    gate_r, gate_w = os.pipe()
    children = []
    for name in names:
        out_r, out_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(gate_w)
            os.read(gate_r, 1)
            os.dup2(out_w, 1)
            os.dup2(out_w, 2)
            code = main(["export-hf", name, folder])
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        os.close(out_w)
        children.append((name, pid, out_r))
    os.write(gate_w, b"go" * len(names))
    results = []
    for name, pid, out_r in children:
        status = os.waitpid(pid, 0)[1]
        with open(out_r, encoding="utf-8") as f:
            results.append([name, os.waitstatus_to_exitcode(status), f.read()])
    print(json.dumps(results), flush=True)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_four_processes_exporting_into_one_new_folder_write_once(tmp_path: Path) -> None:
    names = ["gpt2", "pythia-70m", "opt-125m", "gpt-neo-125M"]
    rounds = 30  # each process used to check, then write: some rounds had two winners
    code = RACE.format(src=str(SRC), names=names, rounds=rounds, root=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == rounds
    for round_, line in enumerate(lines):
        results = json.loads(line)
        target = tmp_path / str(round_) / "new" / "config.json"
        winners = [name for name, status, _ in results if status == 0]
        wrote = [out for _, _, out in results if "wrote" in out]
        assert len(winners) == 1 and len(wrote) == 1, (round_, results)
        for _, status, out in results:
            if status != 0:
                assert f"{target}: exists; pass --force to overwrite it" in out, out
        assert json.loads(target.read_text()) == to_hf_config(winners[0])
        assert _leftovers(target.parent, "config.json") == []


# -- the cache's files go through the same temporary files ---------------------------------


def test_replace_file_replaces_whatever_is_there_privately(tmp_path: Path) -> None:
    fifo = tmp_path / "manifest.bin"
    os.mkfifo(fifo)  # in a folder the library owns, a FIFO is damage: replaced, not opened
    replace_file(str(fifo), b"data", mode=0o600)
    assert fifo.read_bytes() == b"data"
    assert stat.S_IMODE(fifo.stat().st_mode) == 0o600
    assert _leftovers(tmp_path, "manifest.bin") == []


def test_a_path_no_file_can_have_is_a_preset_error(tmp_path: Path) -> None:
    with pytest.raises(PresetError, match="not a usable path"):
        write_file(f"{tmp_path}/a\0b", b"x")
    (tmp_path / "file").touch()
    with pytest.raises(PresetError, match="cannot write: Not a directory") as info:
        write_file(f"{tmp_path / 'file'}/x", b"x")
    assert info.value.file == f"{tmp_path / 'file'}/x"


def test_a_refused_target_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    # A plot is drawn only to be written: a target that cannot take it is refused first.
    (tmp_path / "folder").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "folder")
    made: list[str] = []
    for target in ("folder", "link"):
        with pytest.raises(PresetError, match="is a folder, not a file"):
            write_file(str(tmp_path / target), lambda f: made.append("made"))
    assert made == []
