"""The configuration folder's history in git: every save a commit, any version back.

The folder is a git repository (initialised if it is not one; the command-line git).
When the folder lies inside another repository's work tree (the demo tree of a
blisstango checkout), that repository is never written: the history lives in a git
directory of its own (``git_dir``, by default in BeaconDB's run directory) whose work
tree is the configuration folder. Changes made outside the editor (vim, BeaconDB's own
writes from Tango clients) are committed as such the next time the editor looks.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import gevent
import gevent.monkey

OUTSIDE = "outside the editor"
_EXCLUDE = ".blisstango.lock\n.*.blisstango-tmp\n__pycache__/\n"
_SEP = "\x1f"


def spawn(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run cmd, its output read as text, in a worker thread: other greenlets go on.

    posix_spawn, not fork: gevent's subprocess forks, which copies the page tables of a
    process as big as BeaconDB (40 ms a git command under load, against 5 ms).
    """
    return gevent.get_hub().threadpool.apply(_spawn_blocking, (cmd, env))


def _spawn_blocking(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Plain blocking reads in a real thread (no event loop involved). stderr goes to a
    temp file (no pipe to fill up while stdout is read); the exit status comes through a
    pipe of its own (fd 3): gevent's SIGCHLD handling may reap a child it did not start
    before waitpid could see its status."""
    out_r, out_w = os.pipe()
    st_r, st_w = os.pipe()
    with tempfile.TemporaryFile() as err:
        actions = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
                   (os.POSIX_SPAWN_DUP2, st_w, 3)]
        # (ends numbered 3 or less were replaced by the dup2s above: not closed again)
        actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in (out_r, out_w, st_r, st_w) if fd > 3]
        wrapped = ["sh", "-c", '"$@"; echo $? >&3', "sh", *cmd]
        try:
            # not gevent's: it would put a child watcher on this thread's (non-default) loop
            pid = gevent.monkey.get_original("os", "posix_spawnp")(
                "sh", wrapped, env, file_actions=actions)
        finally:
            os.close(out_w)
            os.close(st_w)
        out, status = _read_all(out_r), _read_all(st_r)  # EOF: the shell has ended
        _reap(pid)
        err.seek(0)
        err_text = err.read().decode("utf-8", "replace")
    text = status.decode().strip()
    return subprocess.CompletedProcess(cmd, int(text) if text.isdigit() else 255,
                                       out.decode("utf-8", "replace"), err_text)


def _read_all(fd: int) -> bytes:
    chunks = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _reap(pid: int) -> None:
    """Collect the ended child (unless gevent's SIGCHLD handler already has)."""
    waitpid = gevent.monkey.get_original("os", "waitpid")
    try:
        waitpid(pid, 0)
    except ChildProcessError:
        pass


class HistoryError(RuntimeError):
    """git failed; the message holds git's own words."""


@dataclass
class Commit:
    id: str
    short: str
    author: str
    date: str
    message: str
    path: str | None = None  # for a file's history: its name in that commit

    def to_json(self) -> dict:
        return self.__dict__.copy()


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class ConfigHistory:
    """git history of one configuration folder (see the module docstring)."""

    def __init__(self, root: str | os.PathLike, git_dir: str | os.PathLike | None = None):
        self.root = Path(root).resolve()
        self.default_git_dir = Path(git_dir).resolve() if git_dir else None
        self.git_dir: Path | None = None
        self.mode = ""  # "own" (the folder's repository), "new", "separate"
        self._has_head = False
        self._stamps: dict[str, tuple] = {}

    # -- set-up --------------------------------------------------------------------
    def open(self) -> ConfigHistory:
        """Find or create the repository, and commit the tree as found."""
        top = self._run(["rev-parse", "--show-toplevel"], git_dir=False, check=False)
        if top.returncode == 0 and Path(top.stdout.strip()).resolve() == self.root:
            git_dir = self._run(["rev-parse", "--absolute-git-dir"], git_dir=False).stdout.strip()
            self.git_dir, self.mode = Path(git_dir), "own"
        elif top.returncode == 0:  # inside somebody else's work tree: never write it
            if self.default_git_dir is None:
                raise HistoryError(f"{self.root} lies inside the git repository "
                                   f"{top.stdout.strip()}: give the editor a git directory "
                                   "of its own for the configuration history")
            self.git_dir, self.mode = self.default_git_dir, "separate"
            if not (self.git_dir / "HEAD").exists():
                self.git_dir.parent.mkdir(parents=True, exist_ok=True)
                self._run(["init", "-q", "--bare", str(self.git_dir)], git_dir=False)
                self._run(["config", "core.bare", "false"])
        else:
            self._run(["init", "-q", str(self.root)], git_dir=False)
            self.git_dir, self.mode = self.root / ".git", "new"
        exclude = self.git_dir / "info" / "exclude"
        exclude.parent.mkdir(parents=True, exist_ok=True)
        if _EXCLUDE not in (exclude.read_text() if exclude.exists() else ""):
            with exclude.open("a") as fh:
                fh.write(_EXCLUDE)
        self._has_head = self._run(["rev-parse", "-q", "--verify", "HEAD"], check=False).returncode == 0
        self.snapshot()
        return self

    # -- writing -------------------------------------------------------------------
    def snapshot(self) -> Commit | None:
        """Commit what changed since the last commit as made outside the editor."""
        if self._has_head and self._stamps == self._scan():
            return None  # nothing touched since our last commit: no git process at all
        return self.commit("changes made outside the editor", OUTSIDE)

    def commit(self, message: str, who: str | None = None,
               paths: list[str] | None = None) -> Commit | None:
        """Commit the changes of paths (default: of the whole tree); None if none.

        add, commit and reading the new commit back run in one shell: a process as big
        as BeaconDB pays for each fork, a small shell does not.
        """
        who = who or os_user()
        email = f"{''.join(c for c in who if c.isalnum() or c in '._-') or 'user'}@{socket.gethostname()}"
        env = {"GIT_AUTHOR_NAME": who, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": who,
               "GIT_COMMITTER_EMAIL": email, "BLISSTANGO_MESSAGE": message}
        script = ('git add -A -- "$@" || exit 3; '
                  'out=$(git commit -q --no-verify -m "$BLISSTANGO_MESSAGE" 2>&1) || '
                  '{ git diff --cached --quiet && exit 4; echo "$out" >&2; exit 5; }; '
                  f'git log -1 --format="%H{_SEP}%h{_SEP}%an{_SEP}%aI{_SEP}%s"')
        res = self._run(paths or ["."], env=env, check=False, shell=script)
        self._stamps = self._scan()
        if res.returncode == 4:
            return None  # nothing to commit
        if res.returncode != 0:
            raise HistoryError(f"git commit failed: {(res.stderr or res.stdout).strip()}")
        self._has_head = True
        return Commit(*res.stdout.strip().split(_SEP, 4))

    def _scan(self) -> dict[str, tuple]:
        """(inode, size, mtime) of every visible file: what a change outside would touch."""
        stamps = {}
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
            for name in files:
                if not name.startswith("."):
                    try:
                        st = os.stat(os.path.join(folder, name))
                    except FileNotFoundError:
                        continue
                    stamps[os.path.join(folder, name)] = (st.st_ino, st.st_size, st.st_mtime_ns)
        return stamps

    # -- reading -------------------------------------------------------------------
    def log(self, path: str | None = None, limit: int = 100) -> list[Commit]:
        """Newest first; for a file, its versions through renames."""
        args = ["log", f"-n{limit}", f"--format=%x1e%H{_SEP}%h{_SEP}%an{_SEP}%aI{_SEP}%s"]
        if path:
            args += ["--follow", "--name-only", "--", path]
        out = self._run(args, check=False)
        if out.returncode != 0:
            return []
        commits = []
        for record in out.stdout.split("\x1e")[1:]:
            lines = [ln for ln in record.splitlines() if ln]
            commit = Commit(*lines[0].split(_SEP, 4))
            commit.path = lines[1] if path and len(lines) > 1 else path
            commits.append(commit)
        return commits

    def show(self, commit: str, path: str) -> str | None:
        """Text of path at commit (None if it did not exist there)."""
        self._check_rev(commit)
        out = self._run(["show", f"{commit}:{path}"], check=False)
        return out.stdout if out.returncode == 0 else None

    def diff(self, old: str, new: str | None, path: str | None = None) -> str:
        """Unified diff from commit old to commit new (None: the folder as it is now)."""
        self._check_rev(old)
        args = ["diff", "--no-color", "-M", old]
        if new:
            self._check_rev(new)
            args.append(new)
        if path:
            args += ["--", path]
        return self._run(args).stdout

    # -- git -----------------------------------------------------------------------
    def _check_rev(self, rev: str) -> None:
        if not rev or not all(c in "0123456789abcdefABCDEF" for c in rev) or len(rev) > 64:
            raise HistoryError(f"{rev!r} is not a commit id")
        if self._run(["cat-file", "-e", f"{rev}^{{commit}}"], check=False).returncode:
            raise HistoryError(f"no commit {rev} in the configuration history")

    def _run(self, args: list[str], git_dir: bool = True, check: bool = True,
             env: dict | None = None, shell: str | None = None) -> subprocess.CompletedProcess:
        """git with args; or the sh script shell with args as "$@" (git's options are in
        its environment: GIT_DIR, GIT_WORK_TREE, GIT_CONFIG_*)."""
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        full_env.update({"LC_ALL": "C", "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"})
        config = {"core.quotepath": "off", "commit.gpgsign": "false",
                  "safe.directory": str(self.root)}
        full_env["GIT_CONFIG_COUNT"] = str(len(config))
        for i, (key, value) in enumerate(config.items()):
            full_env[f"GIT_CONFIG_KEY_{i}"], full_env[f"GIT_CONFIG_VALUE_{i}"] = key, value
        if git_dir and self.git_dir is not None:
            full_env["GIT_DIR"], full_env["GIT_WORK_TREE"] = str(self.git_dir), str(self.root)
        full_env.update(env or {})
        full_env["BLISSTANGO_CWD"] = str(self.root)
        cmd = ["sh", "-c", 'cd "$BLISSTANGO_CWD" || exit 6; ' + (shell or 'exec git "$@"'),
               "sh", *args]
        res = spawn(cmd, full_env)
        if check and res.returncode != 0:
            raise HistoryError(f"git {' '.join(args[:2])} failed: {res.stderr.strip()}")
        return res
