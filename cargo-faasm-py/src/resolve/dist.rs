//! What a distribution file says about itself: its name, version and tags
//! (from the file name) and its dependencies (core metadata: a wheel's
//! `METADATA`, an sdist's `PKG-INFO`; `pyproject.toml` is
//! [`crate::pyproject`]'s).
/// What a file of the index is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DistKind {
    /// A wheel with its compatibility tags (`py3`, `none`, `any` …).
    Wheel {
        /// Python tags (`cp313`, `py3`).
        python: Vec<String>,
        /// ABI tags (`cp313`, `abi3`, `none`).
        abi: Vec<String>,
        /// Platform tags (`any`, `manylinux_2_17_x86_64`).
        platform: Vec<String>,
    },
    /// A source distribution.
    Sdist,
}

/// A file name, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistFile {
    /// The version it holds.
    pub version: String,
    /// Wheel or sdist.
    pub kind: DistKind,
}

/// Parses `numpy-2.5.5.tar.gz` or
/// `numpy-2.5.5-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl`;
/// `None` for other kinds of files (eggs, `.exe`, `.tar.bz2` …).
pub fn parse_filename(filename: &str) -> Option<DistFile> {
    if let Some(stem) = filename.strip_suffix(".whl") {
        let parts: Vec<&str> = stem.split('-').collect();
        let (version, tags) = match parts[..] {
            [_, version, python, abi, platform] => (version, [python, abi, platform]),
            [_, version, _build, python, abi, platform] => (version, [python, abi, platform]),
            _ => return None,
        };
        let split = |t: &str| t.split('.').map(String::from).collect::<Vec<_>>();
        return Some(DistFile {
            version: version.to_owned(),
            kind: DistKind::Wheel {
                python: split(tags[0]),
                abi: split(tags[1]),
                platform: split(tags[2]),
            },
        });
    }
    let stem = filename
        .strip_suffix(".tar.gz")
        .or_else(|| filename.strip_suffix(".zip"))?;
    // The name may hold dashes (old sdists); the version never does.
    let (_, version) = stem.rsplit_once('-')?;
    Some(DistFile {
        version: version.to_owned(),
        kind: DistKind::Sdist,
    })
}

/// Where a wheel can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// python.wasm: pure-Python wheels only.
    Guest,
    /// The host python: pure wheels, and wheels for CPython on x86_64
    /// glibc Linux.
    Host,
}

/// The newest glibc the host's manylinux wheels may ask for (Debian
/// bookworm's 2.36).
const HOST_GLIBC_MINOR: u32 = 36;

/// How well a wheel fits `target` with CPython `major.minor` (`None`: not
/// at all; higher: a more specific fit).
pub fn wheel_fit(kind: &DistKind, target: Target, minor: u32) -> Option<u32> {
    let DistKind::Wheel {
        python,
        abi,
        platform,
    } = kind
    else {
        return None;
    };
    let cp = format!("cp3{minor}");
    let py_ok = python
        .iter()
        .any(|t| t == "py3" || t == &format!("py3{minor}") || *t == cp || t == "py2.py3")
        || python.iter().any(|t| t == "py2") && python.iter().any(|t| t == "py3");
    let abi3 = abi.iter().any(|a| a == "abi3")
        && python
            .iter()
            .filter_map(|t| t.strip_prefix("cp3"))
            .filter_map(|m| m.parse::<u32>().ok())
            .any(|m| m <= minor);
    if platform.iter().any(|p| p == "any") {
        return (py_ok && abi.iter().any(|a| a == "none")).then_some(1);
    }
    if target == Target::Guest {
        return None;
    }
    let platform_ok = platform.iter().any(|p| host_platform_ok(p));
    if !platform_ok {
        return None;
    }
    if abi.contains(&cp) && python.contains(&cp) {
        Some(4)
    } else if abi3 {
        Some(3)
    } else if abi.iter().any(|a| a == "none") && py_ok {
        Some(2)
    } else {
        None
    }
}

fn host_platform_ok(tag: &str) -> bool {
    if !tag.ends_with("_x86_64") {
        return false;
    }
    if let Some(rest) = tag.strip_prefix("manylinux_2_") {
        return rest
            .split('_')
            .next()
            .and_then(|m| m.parse::<u32>().ok())
            .is_some_and(|m| m <= HOST_GLIBC_MINOR);
    }
    matches!(
        tag,
        "manylinux1_x86_64" | "manylinux2010_x86_64" | "manylinux2014_x86_64"
    )
}

/// Core metadata (RFC 822 headers): the values of every `field` line,
/// continuation lines joined.
pub fn metadata_values(text: &str, field: &str) -> Vec<String> {
    let mut values = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.is_empty() {
            // The body (description) follows the headers.
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(value) = current.as_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some(value) = current.take() {
            values.push(value);
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case(field)
        {
            current = Some(value.trim().to_owned());
        }
    }
    values.extend(current);
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_say_version_and_tags() {
        let sdist = parse_filename("numpy-2.5.5.tar.gz").unwrap();
        assert_eq!(sdist.version, "2.5.5");
        assert_eq!(sdist.kind, DistKind::Sdist);
        let old = parse_filename("python-dateutil-2.9.0.post0.tar.gz").unwrap();
        assert_eq!(old.version, "2.9.0.post0");
        let wheel = parse_filename(
            "numpy-2.5.5-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
        )
        .unwrap();
        assert_eq!(wheel.version, "2.5.5");
        assert_eq!(wheel_fit(&wheel.kind, Target::Host, 13), Some(4));
        assert_eq!(wheel_fit(&wheel.kind, Target::Host, 14), None);
        assert_eq!(wheel_fit(&wheel.kind, Target::Guest, 13), None);
        let pure = parse_filename("six-1.17.0-py2.py3-none-any.whl").unwrap();
        assert_eq!(wheel_fit(&pure.kind, Target::Guest, 13), Some(1));
        let ninja =
            parse_filename("ninja-1.13.0-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl")
                .unwrap();
        assert_eq!(wheel_fit(&ninja.kind, Target::Host, 14), Some(2));
        let abi3 = parse_filename("x-1-cp39-abi3-manylinux_2_17_x86_64.whl").unwrap();
        assert_eq!(wheel_fit(&abi3.kind, Target::Host, 13), Some(3));
        let musl = parse_filename("x-1-cp313-cp313-musllinux_1_2_x86_64.whl").unwrap();
        assert_eq!(wheel_fit(&musl.kind, Target::Host, 13), None);
        let newer_glibc = parse_filename("x-1-cp313-cp313-manylinux_2_39_x86_64.whl").unwrap();
        assert_eq!(wheel_fit(&newer_glibc.kind, Target::Host, 13), None);
        assert!(parse_filename("x-1.egg").is_none());
    }

    #[test]
    fn metadata_fields_with_continuations() {
        let text = "Metadata-Version: 2.4\nName: pandas\nRequires-Dist: numpy>=2.0.2; python_version < \"3.14\"\nRequires-Dist: python-dateutil>=2.9\n  ; extra == 'x'\nSummary: s\n\nRequires-Dist: not-a-header\n";
        assert_eq!(
            metadata_values(text, "requires-dist"),
            [
                "numpy>=2.0.2; python_version < \"3.14\"",
                "python-dateutil>=2.9 ; extra == 'x'"
            ]
        );
        assert_eq!(metadata_values(text, "Name"), ["pandas"]);
    }
}
