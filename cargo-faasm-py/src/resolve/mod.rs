//! `cargo faasm-py lock`'s resolver: the configured packages and their
//! dependencies, for each CPython version the pins know, with environment
//! markers evaluated for the guest (`sys_platform == "wasi"`,
//! `platform_machine == "wasm32"`, the target's Python version), not for
//! the host; and the host wheels that build the packages that need
//! building, with markers evaluated for the host.
//!
//! The resolution is greedy: each name gets the newest version that fits
//! every requirement seen when it is first asked for; a later requirement
//! it does not fit is an error naming both sides. Guest packages come as
//! pure-Python wheels where the index has one, else as source
//! distributions to build; host tools only as wheels.

pub mod dist;
mod index;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, Result, bail};
use pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{
    ExtraName, MarkerEnvironment, MarkerEnvironmentBuilder, Requirement, VersionOrUrl,
};

use self::dist::{DistKind, Target, metadata_values, parse_filename, wheel_fit};
use self::index::{Index, IndexFile};
use crate::lock::{Lock, LockedBuild, LockedFile, LockedPackage, LockedSource, Resolution};
use crate::pins::{CPYTHON, Pins};
use crate::process::{Cmd, Log};
use crate::project::{ProjectConfig, normalize, parse_specifier};
use crate::pyproject::{Pyproject, parse_pyproject};

/// Host tools every build of a backend needs beyond what the package
/// asks for: our meson backend runs the package's own meson, which needs
/// ninja.
fn backend_tools(backend: &str) -> &'static [&'static str] {
    match backend {
        "mesonpy" => &["ninja"],
        _ => &[],
    }
}

/// The host tools a build runs: what the package asks for and what our
/// backend adds. A maturin package's build runs cargo, not maturin or
/// anything else from the index.
fn build_tools(pyproject: &Pyproject) -> Vec<String> {
    if pyproject.build_backend == "maturin" {
        return Vec::new();
    }
    let mut tools = pyproject.build_requires.clone();
    tools.extend(
        backend_tools(&pyproject.build_backend)
            .iter()
            .map(|t| t.to_string()),
    );
    tools
}

/// The crates a maturin package's build compiles: its `Cargo.lock`'s.
fn rust_crates(
    pyproject: &Pyproject,
    cargo_lock: Option<&str>,
    what: &str,
) -> Result<Vec<crate::lock::LockedCrate>> {
    if pyproject.build_backend != "maturin" {
        return Ok(Vec::new());
    }
    let Some(text) = cargo_lock else {
        bail!(
            "{what} builds with maturin but has no Cargo.lock beside {} or above it: its crates cannot be pinned",
            pyproject.maturin.manifest()
        );
    };
    crate::lock::cargo_lock_crates(text).with_context(|| format!("{what}: Cargo.lock"))
}

/// Where a maturin project's `Cargo.lock` may be, relative to the project,
/// nearest first: beside its manifest, then in each directory above.
fn cargo_lock_candidates(pyproject: &Pyproject) -> Vec<String> {
    let manifest = Path::new(pyproject.maturin.manifest());
    let mut dirs: Vec<&Path> = manifest.ancestors().skip(1).collect();
    if dirs.is_empty() {
        dirs.push(Path::new(""));
    }
    dirs.iter()
        .map(|d| d.join("Cargo.lock").to_string_lossy().into_owned())
        .collect()
}

/// A package whose build cannot make wasm32 modules (Rust, CMake) stops
/// the lock, naming it, its version and who asked for it.
fn refuse_unsupported(name: &str, version: &str, from: &str, pyproject: &Pyproject) -> Result<()> {
    match pyproject.unsupported() {
        Some(why) => bail!(
            "package `{name}` {version} (asked for by {from}) has no pure-Python wheel and builds with {why}, which cargo faasm-py cannot build for wasm32: leave it out of the configuration, or pin a version that ships a pure-Python wheel"
        ),
        None => Ok(()),
    }
}

/// Resolves `config` for every CPython version of `pins`.
pub fn lock(
    config: &ProjectConfig,
    project: &Path,
    pins: &Pins,
    downloads: &Path,
    log: &mut Log,
) -> Result<Lock> {
    let mut index = Index::new(log)?;
    let mut lock = Lock::new(config);
    let versions: Vec<String> = if pins.python.versions.is_empty() {
        vec![pins.guest_layout()?.short_version()]
    } else {
        pins.python.versions.keys().cloned().collect()
    };
    for version in versions {
        let selected = pins.clone().select_python(Some(&version))?;
        let full = selected.get(CPYTHON)?.version.clone();
        log.step(&format!("resolve for CPython {full}"));
        let resolution = Resolver::new(&full, &mut index, downloads, project)?
            .resolve(config, log)
            .with_context(|| format!("cannot resolve the packages for CPython {version}"))?;
        lock.python.insert(version, resolution);
    }
    Ok(lock)
}

/// A dependency as core metadata states it: name, versions, extras.
type Dep = (String, Option<VersionSpecifiers>, Vec<ExtraName>);
/// A package and the dependencies it brings.
type Found = (LockedPackage, Vec<Dep>);

/// A host tool asked for, and by whom.
type ToolWanted = (String, Option<VersionSpecifiers>, Vec<ExtraName>, String);

/// One requirement waiting to be resolved.
struct Wanted {
    name: String,
    specifiers: Option<VersionSpecifiers>,
    extras: Vec<ExtraName>,
    /// Who asked (for error messages).
    from: String,
    /// A local directory instead of the index.
    path: Option<String>,
    test: bool,
    /// Built from its sdist even where a pure-Python wheel exists.
    from_source: bool,
}

struct Resolver<'i> {
    python_minor: u32,
    python_full: Version,
    guest_env: MarkerEnvironment,
    host_env: MarkerEnvironment,
    index: &'i mut Index,
    downloads: &'i Path,
    project: &'i Path,
}

fn environment(python_full: &str, python_short: &str, host: bool) -> Result<MarkerEnvironment> {
    let env = if host {
        MarkerEnvironmentBuilder {
            implementation_name: "cpython",
            implementation_version: python_full,
            os_name: "posix",
            platform_machine: "x86_64",
            platform_python_implementation: "CPython",
            platform_release: "",
            platform_system: "Linux",
            platform_version: "",
            python_full_version: python_full,
            python_version: python_short,
            sys_platform: "linux",
        }
    } else {
        // What CPython reports inside python.wasm.
        MarkerEnvironmentBuilder {
            implementation_name: "cpython",
            implementation_version: python_full,
            os_name: "posix",
            platform_machine: "wasm32",
            platform_python_implementation: "CPython",
            platform_release: "0.0.0",
            platform_system: "wasi",
            platform_version: "0.0.0",
            python_full_version: python_full,
            python_version: python_short,
            sys_platform: "wasi",
        }
    };
    MarkerEnvironment::try_from(env).map_err(|e| anyhow::anyhow!("bad Python version: {e}"))
}

/// The dependencies that apply, from core-metadata `Requires-Dist` lines.
fn applicable(
    lines: &[String],
    env: &MarkerEnvironment,
    extras: &[ExtraName],
    from: &str,
) -> Result<Vec<Dep>> {
    let mut out = Vec::new();
    for line in lines {
        let req: Requirement = Requirement::from_str(line)
            .map_err(|e| anyhow::anyhow!("{from}: cannot read requirement `{line}`: {e}"))?;
        if !req.evaluate_markers(env, extras) {
            continue;
        }
        let specifiers = match req.version_or_url {
            Some(VersionOrUrl::VersionSpecifier(s)) => Some(s),
            Some(VersionOrUrl::Url(_)) => {
                bail!("{from}: `{line}` names a URL, which a lock cannot pin")
            }
            None => None,
        };
        out.push((normalize(req.name.as_ref()), specifiers, req.extras.clone()));
    }
    Ok(out)
}

/// Versions of a project's files, newest first, with the files of each.
fn by_version(files: &[IndexFile]) -> Vec<(Version, Vec<&IndexFile>)> {
    let mut versions: BTreeMap<Version, Vec<&IndexFile>> = BTreeMap::new();
    for file in files {
        let Some(parsed) = parse_filename(&file.filename) else {
            continue;
        };
        let Ok(version) = Version::from_str(&parsed.version) else {
            continue;
        };
        versions.entry(version).or_default().push(file);
    }
    versions.into_iter().rev().collect()
}

fn allows_prereleases(specifiers: &Option<VersionSpecifiers>) -> bool {
    specifiers
        .as_ref()
        .is_some_and(|s| s.iter().any(|s| s.version().any_prerelease()))
}

fn exact(specifiers: &Option<VersionSpecifiers>) -> bool {
    specifiers
        .as_ref()
        .is_some_and(|s| s.iter().any(|s| s.to_string().starts_with("==")))
}

impl<'i> Resolver<'i> {
    fn new(
        python_full: &str,
        index: &'i mut Index,
        downloads: &'i Path,
        project: &'i Path,
    ) -> Result<Self> {
        let guest = harness::GuestLayout::for_version(python_full)?;
        let short = guest.short_version();
        Ok(Self {
            python_minor: u32::from(guest.version().minor),
            python_full: Version::from_str(python_full)
                .map_err(|e| anyhow::anyhow!("CPython version `{python_full}`: {e}"))?,
            guest_env: environment(python_full, &short, false)?,
            host_env: environment(python_full, &short, true)?,
            index,
            downloads,
            project,
        })
    }

    fn python_ok(&self, file: &IndexFile) -> bool {
        match &file.requires_python {
            None => true,
            Some(spec) => VersionSpecifiers::from_str(spec)
                .map(|s| s.contains(&self.python_full))
                .unwrap_or(true),
        }
    }

    fn resolve(mut self, config: &ProjectConfig, log: &mut Log) -> Result<Resolution> {
        let mut queue: VecDeque<Wanted> = VecDeque::new();
        for p in config.all_packages() {
            queue.push_back(Wanted {
                name: normalize(&p.name),
                specifiers: p.version.as_deref().map(parse_specifier).transpose()?,
                extras: Vec::new(),
                from: "the configuration".into(),
                path: p.path.as_ref().map(|p| p.display().to_string()),
                test: config.test_packages.contains(p),
                from_source: p.from_source,
            });
        }
        let mut chosen: BTreeMap<String, LockedPackage> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut host_wanted: Vec<ToolWanted> = Vec::new();
        while let Some(want) = queue.pop_front() {
            if let Some(have) = chosen.get_mut(&want.name) {
                let version = Version::from_str(&have.version).ok();
                if let (Some(spec), Some(version)) = (&want.specifiers, version)
                    && !spec.contains(&version)
                {
                    bail!(
                        "{} needs {} {spec}, but {} {} was chosen first",
                        want.from,
                        want.name,
                        want.name,
                        have.version
                    );
                }
                // A runtime dependency of a non-test package is not a test package.
                have.test &= want.test;
                continue;
            }
            let (package, deps) = match &want.path {
                Some(path) => self.local(&want, path, log)?,
                None => self.on_index(&want, log)?,
            };
            for (name, spec, extras) in deps {
                queue.push_back(Wanted {
                    name,
                    specifiers: spec,
                    extras,
                    from: format!("{} {}", package.name, package.version),
                    path: None,
                    test: want.test,
                    from_source: false,
                });
            }
            order.push(package.name.clone());
            chosen.insert(package.name.clone(), package);
        }
        // Build requirements: guest packages (numpy's headers) or host tools,
        // the configuration's own for a package after its files'.
        let extra: BTreeMap<String, &Vec<String>> = config
            .all_packages()
            .map(|p| (normalize(&p.name), &p.build_requires))
            .collect();
        // A guest package the build compiles against (numpy's headers for
        // pandas) must be built for the guest; one the guest gets as a
        // pure-Python wheel is just a host tool to the build (`packaging`).
        let built_for_guest: BTreeSet<String> = chosen
            .values()
            .filter(|p| p.build().is_some())
            .map(|p| p.name.clone())
            .collect();
        for name in &order {
            let Some(build) = chosen.get_mut(name).expect("chosen").build_mut() else {
                continue;
            };
            let mut reqs: Vec<String> = std::mem::take(&mut build.tools);
            reqs.extend(extra.get(name).into_iter().flat_map(|r| r.iter().cloned()));
            let mut host = Vec::new();
            for line in reqs {
                for (dep, spec, extras) in applicable(&[line], &self.host_env, &[], name)? {
                    if built_for_guest.contains(&dep) {
                        build.guest_packages.push(dep);
                    } else {
                        host.push(dep.clone());
                        host_wanted.push((dep, spec, extras, format!("{name}'s build")));
                    }
                }
            }
            host.sort();
            host.dedup();
            build.tools = host;
        }
        let tools = self.host_tools(host_wanted, log)?;
        let tool_names: BTreeSet<&str> = tools.iter().map(|t| t.name.as_str()).collect();
        for build in chosen.values_mut().filter_map(LockedPackage::build_mut) {
            build.tools.retain(|t| tool_names.contains(t.as_str()));
        }
        Ok(Resolution {
            package: build_order(order, chosen)?,
            build_tool: tools,
        })
    }

    /// A package from the index: its newest fitting version, as a pure
    /// wheel where there is one, else its sdist.
    fn on_index(&mut self, want: &Wanted, log: &mut Log) -> Result<Found> {
        let minor = self.python_minor;
        let files = self.index.files(&want.name, log)?.to_vec();
        let pre = allows_prereleases(&want.specifiers);
        let exact = exact(&want.specifiers);
        for (version, files) in by_version(&files) {
            if (version.any_prerelease() && !pre)
                || want
                    .specifiers
                    .as_ref()
                    .is_some_and(|s| !s.contains(&version))
            {
                continue;
            }
            let usable: Vec<&IndexFile> = files
                .into_iter()
                .filter(|f| (exact || !f.yanked) && self.python_ok(f))
                .collect();
            // A pure-Python wheel of a package with an optional compiled
            // part would leave that part out: built from source on request.
            let wheel = usable
                .iter()
                .filter(|_| !want.from_source)
                .filter_map(|f| {
                    let kind = parse_filename(&f.filename)?.kind;
                    wheel_fit(&kind, Target::Guest, minor).map(|fit| (fit, *f))
                })
                .max_by_key(|(fit, _)| *fit)
                .map(|(_, f)| f.clone());
            let sdist = usable
                .iter()
                .find(|f| parse_filename(&f.filename).is_some_and(|d| d.kind == DistKind::Sdist))
                .map(|f| (*f).clone());
            let native = self.host_wheel(&usable);
            if let Some(wheel) = wheel {
                let metadata = self.wheel_metadata(&wheel, log)?;
                let deps = applicable(
                    &metadata_values(&metadata, "Requires-Dist"),
                    &self.guest_env,
                    &want.extras,
                    &want.name,
                )?;
                let package = LockedPackage {
                    name: want.name.clone(),
                    version: version.to_string(),
                    source: LockedSource::Wheel {
                        file: wheel.filename.clone(),
                        sha256: wheel.sha256.clone(),
                    },
                    requires: deps.iter().map(|d| d.0.clone()).collect(),
                    native: None,
                    test: want.test,
                };
                return Ok((package, deps));
            }
            if let Some(sdist) = sdist {
                let (pkg_info, pyproject, cargo_lock) = self.sdist_metadata(&sdist, log)?;
                refuse_unsupported(&want.name, &version.to_string(), &want.from, &pyproject)?;
                let crates = rust_crates(&pyproject, cargo_lock.as_deref(), &sdist.filename)?;
                let mut requires = metadata_values(&pkg_info, "Requires-Dist");
                if requires.is_empty()
                    && let Some(deps) = &pyproject.dependencies
                {
                    requires = deps.clone();
                }
                let deps = applicable(&requires, &self.guest_env, &want.extras, &want.name)?;
                let build = build_tools(&pyproject);
                let package = LockedPackage {
                    name: want.name.clone(),
                    version: version.to_string(),
                    source: LockedSource::Sdist {
                        file: sdist.filename.clone(),
                        sha256: sdist.sha256.clone(),
                        build: LockedBuild {
                            backend: pyproject.build_backend.clone(),
                            tools: build,
                            guest_packages: vec![],
                            crates,
                        },
                    },
                    requires: deps.iter().map(|d| d.0.clone()).collect(),
                    native: native.map(|f| LockedFile {
                        name: want.name.clone(),
                        version: version.to_string(),
                        file: f.filename.clone(),
                        sha256: f.sha256.clone(),
                        requires: vec![],
                    }),
                    test: want.test,
                };
                return Ok((package, deps));
            }
        }
        bail!(
            "no version of `{}`{} on the package index has a pure-Python wheel or a source distribution for CPython {} (asked for by {})",
            want.name,
            want.specifiers
                .as_ref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default(),
            self.python_full,
            want.from
        )
    }

    /// A package from a directory of the project.
    fn local(&mut self, want: &Wanted, path: &str, _log: &mut Log) -> Result<Found> {
        let dir = self.project.join(path);
        let text = fs_err::read_to_string(dir.join("pyproject.toml")).ok();
        let pyproject = parse_pyproject(text.as_deref())
            .with_context(|| format!("package `{}` at {}", want.name, dir.display()))?;
        refuse_unsupported(&want.name, "from a path", &want.from, &pyproject)?;
        let cargo_lock = cargo_lock_candidates(&pyproject)
            .iter()
            .find_map(|rel| fs_err::read_to_string(dir.join(rel)).ok());
        let crates = rust_crates(
            &pyproject,
            cargo_lock.as_deref(),
            &format!("package `{}` at {}", want.name, dir.display()),
        )?;
        let deps = applicable(
            pyproject.dependencies.as_deref().unwrap_or_default(),
            &self.guest_env,
            &want.extras,
            &want.name,
        )?;
        let build = build_tools(&pyproject);
        Ok((
            LockedPackage {
                name: want.name.clone(),
                version: pyproject.version.clone().unwrap_or_else(|| "0".into()),
                source: LockedSource::Path {
                    path: path.to_owned(),
                    build: LockedBuild {
                        backend: pyproject.build_backend.clone(),
                        tools: build,
                        guest_packages: vec![],
                        crates,
                    },
                },
                requires: deps.iter().map(|d| d.0.clone()).collect(),
                native: None,
                test: want.test,
            },
            deps,
        ))
    }

    /// The best host wheel among `files`.
    fn host_wheel(&self, files: &[&IndexFile]) -> Option<IndexFile> {
        files
            .iter()
            .filter_map(|f| {
                let kind = parse_filename(&f.filename)?.kind;
                wheel_fit(&kind, Target::Host, self.python_minor).map(|fit| (fit, *f))
            })
            .max_by_key(|(fit, _)| *fit)
            .map(|(_, f)| f.clone())
    }

    /// Host tools (wheels only) and their dependencies. A tool several
    /// builds ask for directly gets the newest version that fits all of
    /// them (SciPy's Cython `<3.3` and numpy's `>=3.0.6`), not the newest
    /// that fits whichever asked first.
    fn host_tools(&mut self, wanted: Vec<ToolWanted>, log: &mut Log) -> Result<Vec<LockedFile>> {
        let mut asked: BTreeMap<String, Vec<(VersionSpecifiers, String)>> = BTreeMap::new();
        for (name, specifiers, _, from) in &wanted {
            if let Some(spec) = specifiers {
                asked
                    .entry(name.clone())
                    .or_default()
                    .push((spec.clone(), from.clone()));
            }
        }
        let fits_all = |name: &str, version: &Version| {
            asked
                .get(name)
                .is_none_or(|all| all.iter().all(|(spec, _)| spec.contains(version)))
        };
        let mut queue: VecDeque<_> = wanted.into();
        let mut chosen: BTreeMap<String, LockedFile> = BTreeMap::new();
        // Each chosen tool's metadata and the extras asked of it so far: a
        // later request for more extras (`versioneer[toml]` after
        // `versioneer`) brings their dependencies too.
        let mut metadata_of: BTreeMap<String, String> = BTreeMap::new();
        let mut extras_of: BTreeMap<String, BTreeSet<ExtraName>> = BTreeMap::new();
        while let Some((name, specifiers, extras, from)) = queue.pop_front() {
            if let Some(have) = chosen.get_mut(&name) {
                if let (Some(spec), Ok(version)) = (&specifiers, Version::from_str(&have.version))
                    && !spec.contains(&version)
                {
                    bail!(
                        "{from} needs {name} {spec}, but {name} {} was chosen first",
                        have.version
                    );
                }
                let seen = extras_of.entry(name.clone()).or_default();
                let new: Vec<ExtraName> = extras
                    .into_iter()
                    .filter(|e| seen.insert(e.clone()))
                    .collect();
                if !new.is_empty() {
                    let lines = metadata_values(&metadata_of[&name], "Requires-Dist");
                    let base = applicable(&lines, &self.host_env, &[], &name)?;
                    for (dep, spec, dep_extras) in applicable(&lines, &self.host_env, &new, &name)?
                    {
                        if base.iter().any(|b| b.0 == dep) {
                            continue;
                        }
                        have.requires.push(dep.clone());
                        queue.push_back((dep, spec, dep_extras, format!("{name}[extras]")));
                    }
                    have.requires.sort();
                    have.requires.dedup();
                }
                continue;
            }
            let files = self.index.files(&name, log)?.to_vec();
            let pre = allows_prereleases(&specifiers);
            let mut found = None;
            for (version, files) in by_version(&files) {
                if (version.any_prerelease() && !pre)
                    || specifiers.as_ref().is_some_and(|s| !s.contains(&version))
                    || !fits_all(&name, &version)
                {
                    continue;
                }
                let usable: Vec<&IndexFile> = files
                    .into_iter()
                    .filter(|f| !f.yanked && self.python_ok(f))
                    .collect();
                if let Some(wheel) = self.host_wheel(&usable) {
                    found = Some((version, wheel));
                    break;
                }
            }
            let Some((version, wheel)) = found else {
                let all = asked.get(&name).map(Vec::as_slice).unwrap_or_default();
                if all.len() > 1 {
                    let each: Vec<String> = all
                        .iter()
                        .map(|(spec, from)| format!("{from} needs {spec}"))
                        .collect();
                    bail!(
                        "no version of `{name}` with a wheel for the host's CPython {} fits every build that asks for it: {}",
                        self.python_full,
                        each.join(", ")
                    );
                }
                bail!(
                    "no version of `{name}`{} has a wheel for the host's CPython {} (asked for by {from})",
                    specifiers
                        .as_ref()
                        .map(|s| format!(" ({s})"))
                        .unwrap_or_default(),
                    self.python_full
                );
            };
            let metadata = self.wheel_metadata(&wheel, log)?;
            let mut requires = Vec::new();
            for (dep, spec, extras) in applicable(
                &metadata_values(&metadata, "Requires-Dist"),
                &self.host_env,
                &extras,
                &name,
            )? {
                requires.push(dep.clone());
                queue.push_back((dep, spec, extras, format!("{name} {version}")));
            }
            requires.sort();
            requires.dedup();
            metadata_of.insert(name.clone(), metadata);
            extras_of.insert(name.clone(), extras.into_iter().collect());
            chosen.insert(
                name.clone(),
                LockedFile {
                    name,
                    version: version.to_string(),
                    file: wheel.filename.clone(),
                    sha256: wheel.sha256.clone(),
                    requires,
                },
            );
        }
        Ok(chosen.into_values().collect())
    }

    /// A wheel's core metadata: alone where the index serves it (PEP 658),
    /// else from the wheel itself.
    fn wheel_metadata(&mut self, wheel: &IndexFile, log: &mut Log) -> Result<String> {
        if wheel.core_metadata
            && let Ok(text) =
                crate::fetch::url::get_text(&format!("{}.metadata", wheel.url), "*/*", log)
        {
            return Ok(text);
        }
        let dir = tempfile::tempdir()?;
        let path = dir.path().join(&wheel.filename);
        crate::fetch::url::download(&wheel.url, &path, log)?;
        Cmd::new("unzip")
            .args(["-p"])
            .arg(&path)
            .arg("*.dist-info/METADATA")
            .output(log)
            .with_context(|| format!("{} has no METADATA", wheel.filename))
    }

    /// An sdist's `PKG-INFO` and `pyproject.toml`; the sdist is kept in the
    /// download cache, verified, for the build to use.
    /// An sdist's `PKG-INFO`, `pyproject.toml` and, for a maturin
    /// package, its `Cargo.lock`.
    fn sdist_metadata(
        &mut self,
        sdist: &IndexFile,
        log: &mut Log,
    ) -> Result<(String, Pyproject, Option<String>)> {
        let dest = self.downloads.join(&sdist.filename);
        if !dest.is_file() || crate::digest::sha256_file(&dest)? != sdist.sha256 {
            fs_err::create_dir_all(self.downloads)?;
            let partial = self.downloads.join(format!(".{}.partial", sdist.filename));
            crate::fetch::url::download(&sdist.url, &partial, log)?;
            crate::digest::verify_sha256(
                &partial,
                &sdist.sha256,
                format_args!("{} (the index's sha256)", sdist.filename),
            )?;
            fs_err::rename(&partial, &dest)?;
        }
        let dir = tempfile::tempdir()?;
        // Only the top directory's files: PKG-INFO and pyproject.toml.
        let listing = Cmd::new("tar").arg("-tf").arg(&dest).output(log)?;
        let top: Vec<&str> = listing
            .lines()
            .filter(|l| {
                let parts: Vec<&str> = l.trim_end_matches('/').split('/').collect();
                parts.len() == 2 && (parts[1] == "PKG-INFO" || parts[1] == "pyproject.toml")
            })
            .collect();
        if !top.is_empty() {
            Cmd::new("tar")
                .arg("-xf")
                .arg(&dest)
                .arg("-C")
                .arg(dir.path())
                .args(&top)
                .run(log)?;
        }
        let read = |name: &str| {
            top.iter()
                .find(|l| l.ends_with(name))
                .and_then(|l| std::fs::read_to_string(dir.path().join(l)).ok())
        };
        let pkg_info = read("PKG-INFO").unwrap_or_default();
        let pyproject = parse_pyproject(read("pyproject.toml").as_deref())
            .with_context(|| sdist.filename.clone())?;
        let mut cargo_lock = None;
        if pyproject.build_backend == "maturin" {
            let root = listing
                .lines()
                .next()
                .and_then(|l| l.split('/').next())
                .unwrap_or_default();
            let wanted: Vec<String> = cargo_lock_candidates(&pyproject)
                .iter()
                .map(|rel| format!("{root}/{rel}"))
                .collect();
            if let Some(found) = wanted.iter().find(|w| listing.lines().any(|l| l == *w)) {
                Cmd::new("tar")
                    .arg("-xf")
                    .arg(&dest)
                    .arg("-C")
                    .arg(dir.path())
                    .arg(found)
                    .run(log)?;
                cargo_lock = Some(fs_err::read_to_string(dir.path().join(found))?);
            }
        }
        Ok((pkg_info, pyproject, cargo_lock))
    }
}

/// The packages in an order where each comes after the guest packages its
/// build needs.
fn build_order(
    order: Vec<String>,
    mut chosen: BTreeMap<String, LockedPackage>,
) -> Result<Vec<LockedPackage>> {
    let mut out: Vec<LockedPackage> = Vec::new();
    let mut pending: Vec<String> = order;
    while !pending.is_empty() {
        let before = pending.len();
        let placed: BTreeSet<String> = out.iter().map(|p| p.name.clone()).collect();
        pending.retain(|name| {
            let ready = chosen[name]
                .guest_build_deps()
                .iter()
                .all(|dep| placed.contains(dep));
            if ready {
                out.push(chosen.remove(name).expect("chosen"));
            }
            !ready
        });
        if pending.len() == before {
            bail!("the builds of {} need each other", pending.join(", "));
        }
    }
    Ok(out)
}
