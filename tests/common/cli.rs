//! The one way the tests run the `liftlab` binary: a [`Workdir`] (a temporary folder the command
//! runs in, so the paths it prints are the relative ones the test gave), the [`liftlab`] shortcut
//! for a run in any folder, and [`stdout`] / [`stderr`] as text. The snapshot tests
//! (tests/cli_snapshots.rs) add insta's filters from [`Workdir::filters`].

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Path of the binary cargo built for these tests.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_liftlab")
}

/// `liftlab` with `args`, run in `dir`, with an environment that cannot change what it prints
/// (no `RUST_LOG`, no `LIFTLAB_*` settings of the caller's shell).
pub fn command(args: &[&str], dir: &Path) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(args).current_dir(dir).env_remove("RUST_LOG").env_remove("RUST_BACKTRACE");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("LIFTLAB_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Runs `liftlab` with `args` in `dir` to the end.
pub fn liftlab(args: &[&str], dir: &Path) -> Output {
    command(args, dir).output().unwrap_or_else(|e| panic!("cannot run {}: {e}", bin()))
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A temporary folder to run commands in, deleted when dropped.
pub struct Workdir {
    dir: tempfile::TempDir,
}

impl Default for Workdir {
    fn default() -> Self {
        Self::new()
    }
}

impl Workdir {
    pub fn new() -> Self {
        Workdir { dir: tempfile::tempdir().unwrap() }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The full path of a file of the folder.
    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file of the folder (its parent folders too).
    pub fn write(&self, name: &str, text: impl AsRef<[u8]>) -> &Self {
        let p = self.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        self
    }

    /// Reads a file of the folder.
    pub fn read(&self, name: &str) -> String {
        let p = self.join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// `liftlab` with `args`, to run in this folder.
    pub fn command(&self, args: &[&str]) -> Command {
        command(args, self.path())
    }

    /// Runs `liftlab` with `args` in this folder.
    pub fn run(&self, args: &[&str]) -> Output {
        liftlab(args, self.path())
    }

    /// insta filters that make the output the same on every machine: this folder's path (as
    /// given and canonical) becomes `[TMP]`.
    pub fn filters(&self) -> Vec<(String, String)> {
        let mut paths = vec![self.path().to_path_buf()];
        if let Ok(c) = self.path().canonicalize() {
            paths.push(c);
        }
        paths.iter().map(|p| (regex_escape(&p.to_string_lossy()), "[TMP]".to_string())).collect()
    }
}

fn regex_escape(s: &str) -> String {
    s.chars().fold(String::new(), |mut out, c| {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
        out
    })
}
