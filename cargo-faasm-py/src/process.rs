//! Running external programs (configure, make, zig, apt-get, curl) with
//! their command line, changed environment and output in a log file.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};

/// A stage's log file, plus the name of the step it is on (shown in progress).
pub struct Log {
    path: PathBuf,
    file: File,
    step: Arc<Mutex<String>>,
}

impl Log {
    pub fn create(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            fs_err::create_dir_all(dir)?;
        }
        let file = fs_err::File::create(path)?.into_parts().0;
        Ok(Self {
            path: path.to_owned(),
            file,
            step: Arc::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current step's name, shared with the progress reporter.
    pub fn step_handle(&self) -> Arc<Mutex<String>> {
        self.step.clone()
    }

    /// Starts a named step: written to the log and shown in progress.
    pub fn step(&mut self, name: &str) {
        if let Ok(mut step) = self.step.lock() {
            name.clone_into(&mut step);
        }
        self.note(&format!("==> {name}"));
    }

    pub fn note(&mut self, line: &str) {
        // A log that cannot be written must not fail the build it describes.
        let _ = writeln!(self.file, "{line}");
    }

    fn sink(&self) -> Result<File> {
        self.file
            .try_clone()
            .with_context(|| format!("cannot write to log {}", self.path.display()))
    }
}

/// A command to run; the environment changes are recorded so the log shows
/// exactly how to reproduce it.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    cwd: Option<PathBuf>,
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Self {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().to_owned(), None));
        self
    }

    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    fn name(&self) -> String {
        Path::new(&self.program)
            .file_name()
            .unwrap_or(&self.program)
            .to_string_lossy()
            .into_owned()
    }

    /// The command as a shell line, for logs and error messages.
    pub fn display(&self) -> String {
        let mut parts = Vec::new();
        if let Some(dir) = &self.cwd {
            parts.push(format!("cd {} &&", dir.display()));
        }
        for (key, value) in &self.env {
            match value {
                Some(v) => parts.push(format!(
                    "{}={}",
                    key.to_string_lossy(),
                    quote(&v.to_string_lossy())
                )),
                None => parts.push(format!("-u {}", key.to_string_lossy())),
            }
        }
        parts.push(quote(&self.program.to_string_lossy()));
        parts.extend(self.args.iter().map(|a| quote(&a.to_string_lossy())));
        parts.join(" ")
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args).stdin(Stdio::null());
        for (key, value) in &self.env {
            match value {
                Some(v) => cmd.env(key, v),
                None => cmd.env_remove(key),
            };
        }
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        cmd
    }

    fn spawn_error(&self, err: std::io::Error) -> anyhow::Error {
        if err.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!(
                "cannot run `{}`: program not found (is it installed and on PATH?)",
                self.name()
            )
        } else {
            anyhow::anyhow!("cannot run `{}`: {err}", self.name())
        }
    }

    /// Runs to completion with stdout and stderr appended to the log.
    pub fn run(&self, log: &mut Log) -> Result<()> {
        log.note(&format!("$ {}", self.display()));
        let out = log.sink()?;
        let err = log.sink()?;
        let status = self
            .command()
            .stdout(out)
            .stderr(err)
            .status()
            .map_err(|e| self.spawn_error(e))?;
        if !status.success() {
            bail!("`{}` failed ({status})", self.name());
        }
        Ok(())
    }

    /// Runs to completion without a log (for commands run side by side);
    /// returns the command line and its output, to be logged afterwards,
    /// and whether it succeeded.
    pub fn run_captured(&self) -> (Result<()>, String) {
        let mut text = format!("$ {}\n", self.display());
        let result = match self.command().output() {
            Ok(out) => {
                text.push_str(&String::from_utf8_lossy(&out.stdout));
                text.push_str(&String::from_utf8_lossy(&out.stderr));
                if out.status.success() {
                    Ok(())
                } else {
                    Err(anyhow::anyhow!("`{}` failed ({})", self.name(), out.status))
                }
            }
            Err(e) => Err(self.spawn_error(e)),
        };
        (result, text)
    }

    /// Runs `commands`, up to `jobs` at a time, logging each one's output
    /// as a block; fails with the first failure (after all have ended).
    pub fn run_all(commands: Vec<Cmd>, jobs: usize, log: &mut Log) -> Result<()> {
        let queue = Mutex::new(commands.into_iter().enumerate());
        let results = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..jobs.max(1) {
                scope.spawn(|| {
                    loop {
                        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                        let Some((index, cmd)) = next else { break };
                        let done = cmd.run_captured();
                        results
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push((index, done));
                    }
                });
            }
        });
        let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
        results.sort_by_key(|(index, _)| *index);
        let mut first_error = None;
        for (_, (result, text)) in results {
            log.note(text.trim_end());
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Runs to completion and returns its stdout; stderr goes to the log.
    pub fn output(&self, log: &mut Log) -> Result<String> {
        log.note(&format!("$ {}", self.display()));
        let out = self
            .command()
            .stderr(log.sink()?)
            .output()
            .map_err(|e| self.spawn_error(e))?;
        if !out.status.success() {
            bail!("`{}` failed ({})", self.name(), out.status);
        }
        String::from_utf8(out.stdout)
            .with_context(|| format!("`{}` printed non-UTF-8", self.name()))
    }
}

fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_what_needs_it() {
        let cmd = Cmd::new("/bin/cc")
            .arg("-O2")
            .arg("a b.c")
            .env("CFLAGS", "-O2 -g")
            .cwd("/src");
        assert_eq!(
            cmd.display(),
            "cd /src && CFLAGS='-O2 -g' /bin/cc -O2 'a b.c'"
        );
    }

    #[test]
    fn failure_and_missing_program_are_errors_and_logged() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::create(&dir.path().join("x.log")).unwrap();
        Cmd::new("sh")
            .args(["-c", "echo hi"])
            .run(&mut log)
            .unwrap();
        let err = Cmd::new("sh")
            .args(["-c", "exit 3"])
            .run(&mut log)
            .unwrap_err();
        assert!(err.to_string().contains("exit status: 3"), "{err}");
        let err = Cmd::new("no-such-program-xyz").run(&mut log).unwrap_err();
        assert!(err.to_string().contains("not found"), "{err}");
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert!(text.contains("$ sh -c 'echo hi'\nhi\n"), "{text}");
    }
}
