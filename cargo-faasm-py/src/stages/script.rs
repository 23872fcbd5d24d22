//! Wrapper scripts (`exec PROGRAM ARGS… "$@"`), the one place stages write
//! shell: every word is quoted here, so a path with a space, a quote or a
//! `$` in it stays one argument.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use anyhow::{Result, bail};
use fs_err as fs;

use super::util::set_executable;

/// A script that sets some variables and hands its arguments to a program
/// after fixed ones.
#[derive(Debug, Clone)]
pub struct Wrapper {
    exports: Vec<Export>,
    program: OsString,
    args: Vec<OsString>,
}

#[derive(Debug, Clone)]
struct Export {
    name: &'static str,
    value: OsString,
    /// Appended to the caller's own value, `:`-separated, if it has one.
    after_callers: bool,
}

impl Wrapper {
    /// `exec PROGRAM "$@"`.
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Self {
            exports: Vec::new(),
            program: program.as_ref().to_owned(),
            args: Vec::new(),
        }
    }

    /// One more fixed argument, before the caller's.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// More fixed arguments, before the caller's.
    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// `export NAME=VALUE`, whatever the caller's environment says.
    pub fn export(mut self, name: &'static str, value: impl AsRef<OsStr>) -> Self {
        self.exports.push(Export {
            name,
            value: value.as_ref().to_owned(),
            after_callers: false,
        });
        self
    }

    /// `export NAME=$NAME:VALUE`, or `VALUE` when the caller has none: for
    /// search paths the caller may set too.
    pub fn export_after_callers(mut self, name: &'static str, value: impl AsRef<OsStr>) -> Self {
        self.exports.push(Export {
            name,
            value: value.as_ref().to_owned(),
            after_callers: true,
        });
        self
    }

    /// The script's text (bytes: a path need not be UTF-8).
    pub fn text(&self) -> Result<Vec<u8>> {
        let mut text = b"#!/bin/sh\n".to_vec();
        for export in &self.exports {
            let name = export.name;
            if name.is_empty()
                || name.starts_with(|c: char| c.is_ascii_digit())
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                bail!("`{name}` is not a shell variable name");
            }
            text.extend_from_slice(format!("export {name}=").as_bytes());
            if export.after_callers {
                text.extend_from_slice(format!("\"${{{name}:+${name}:}}\"").as_bytes());
            }
            text.extend(quote(&export.value));
            text.push(b'\n');
        }
        text.extend_from_slice(b"exec");
        for word in std::iter::once(&self.program).chain(&self.args) {
            text.push(b' ');
            text.extend(quote(word));
        }
        text.extend_from_slice(b" \"$@\"\n");
        Ok(text)
    }

    /// Writes the script to `path`, executable.
    pub fn write(&self, path: &Path) -> Result<()> {
        fs::write(path, self.text()?)?;
        set_executable(path)
    }
}

/// `NAME=VALUE` (or `--flag=VALUE`) as one argument, whatever bytes
/// `value` holds.
pub fn assign(name: &str, value: impl AsRef<OsStr>) -> OsString {
    let mut word = OsString::from(name);
    word.push("=");
    word.push(value);
    word
}

/// `word` as one POSIX shell word: as it is when every byte is one the
/// shell gives no meaning (so generated scripts stay readable), else in
/// single quotes, inside which only `'` itself needs care (`'\''`).
fn quote(word: &OsStr) -> Vec<u8> {
    let bytes = word.as_bytes();
    let plain = |b: &u8| b.is_ascii_alphanumeric() || b"_-+=/.,:@%".contains(b);
    if !bytes.is_empty() && bytes.iter().all(plain) {
        return bytes.to_vec();
    }
    let mut quoted = vec![b'\''];
    for &b in bytes {
        if b == b'\'' {
            quoted.extend_from_slice(b"'\\''");
        } else {
            quoted.push(b);
        }
    }
    quoted.push(b'\'');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hostile words: what the shell would split, expand or end a quote on.
    const HOSTILE: &[&str] = &[
        "with space",
        "it's",
        "'",
        "''",
        "$HOME",
        "${x:-y}",
        "`echo no`",
        "$(echo no)",
        "a\nnew line",
        "\\back\\slash",
        "\"double\"",
        "*",
        "~",
        "-e",
        "",
        "semi;colon&amp|pipe>",
        "#hash",
        "tab\there",
        "plain",
    ];

    /// Runs the script in `dir` that wraps a program printing its argv and
    /// two variables NUL-separated; returns those words.
    fn run(
        dir: &Path,
        wrapper: Wrapper,
        caller_args: &[&str],
        env: &[(&str, &str)],
    ) -> Vec<String> {
        let script = dir.join("wrapper script's $dir").join("w");
        std::fs::create_dir_all(script.parent().unwrap()).unwrap();
        wrapper.write(&script).unwrap();
        let mut cmd = std::process::Command::new(&script);
        cmd.args(caller_args)
            .env_remove("FAASM_A")
            .env_remove("FAASM_B");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        let mut words: Vec<String> = text.split('\0').map(str::to_owned).collect();
        assert_eq!(words.pop().as_deref(), Some(""));
        words
    }

    /// A program at a hostile path that prints `$FAASM_A`, `$FAASM_B` and
    /// its arguments, each followed by NUL.
    fn printer(dir: &Path) -> std::path::PathBuf {
        let program = dir.join("it's a `prog` $HOME \"x\"\nline");
        std::fs::write(
            &program,
            "#!/bin/sh\nprintf '%s\\0' \"$FAASM_A\" \"$FAASM_B\" \"$@\"\n",
        )
        .unwrap();
        set_executable(&program).unwrap();
        program
    }

    #[test]
    fn every_word_arrives_as_it_was_given() {
        let dir = tempfile::tempdir().unwrap();
        let program = printer(dir.path());
        let wrapper = Wrapper::new(&program)
            .args(HOSTILE)
            .export("FAASM_A", "a 'b' $c `d`\ne");
        let words = run(dir.path(), wrapper, &["caller arg", "$x"], &[]);
        let mut expected = vec!["a 'b' $c `d`\ne", ""];
        expected.extend(HOSTILE);
        expected.extend(["caller arg", "$x"]);
        assert_eq!(words, expected);
    }

    #[test]
    fn a_search_path_goes_after_the_callers() {
        let dir = tempfile::tempdir().unwrap();
        let program = printer(dir.path());
        let wrapper = Wrapper::new(&program)
            .export_after_callers("FAASM_A", "/x y/$z")
            .export_after_callers("FAASM_B", "/only 'one'");
        let words = run(dir.path(), wrapper, &[], &[("FAASM_A", "/mine")]);
        assert_eq!(words, ["/mine:/x y/$z", "/only 'one'"]);
    }

    #[test]
    fn plain_words_stay_unquoted() {
        let text = Wrapper::new("/opt/zig/zig")
            .args(["clang", "--target=wasm32-wasip1", "a b"])
            .text()
            .unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "#!/bin/sh\nexec /opt/zig/zig clang --target=wasm32-wasip1 'a b' \"$@\"\n"
        );
    }

    #[test]
    fn a_bad_variable_name_is_refused() {
        assert!(Wrapper::new("x").export("A B", "1").text().is_err());
    }
}
