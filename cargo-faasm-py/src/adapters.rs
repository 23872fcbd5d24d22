//! Direct calls whose callee returns something else than the caller
//! declared, or takes fewer arguments than the caller passes, made to work
//! as they do natively.
//!
//! C code often declares a function it calls with another result type than
//! the function has: numpy's `umath_linalg.cpp` declares every BLAS and
//! LAPACK routine returning `int` (the f2c convention), while OpenBLAS's
//! BLAS interface and LAPACK's C translation define them `void`. Natively
//! the caller reads a register nobody wrote and ignores it. In WebAssembly
//! the call's type is checked when the program is linked: wasm-ld binds such
//! a call to a stub that traps (`signature_mismatch:dcopy_`). So the link
//! looks, in each extension module, for undefined functions whose type
//! differs from their one definition only in the result (none against one,
//! either way), and routes each through an adapter of the caller's type: it
//! calls the definition with the same arguments and returns 0 where the
//! callee returns nothing, or drops the callee's result where the caller
//! expects none.
//!
//! Fortran callers pass hidden string lengths after the arguments
//! (gfortran's convention: SciPy's `trlib` declares `dlagtm_` with one
//! more `int`), which LAPACK's C translation does not take. Natively the
//! callee never reads them; here the adapter drops them. Calls whose
//! types differ otherwise (fewer arguments, other types, two different
//! results) are undefined natively too: they go through an adapter that
//! traps, which is what wasm-ld's own stub does, except that wasm-ld left
//! some such calls as they were, and python.wasm failed validation.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Context, Result};
use wasmparser::{
    CompositeInnerType, KnownCustom, Linking, Parser, Payload, SymbolFlags, SymbolInfo, TypeRef,
    ValType,
};

/// A function type in the terms C can spell: each value `i`, `I`, `f`, `d`
/// (`int`, `long long`, `float`, `double`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Signature {
    /// Parameter codes.
    pub params: String,
    /// Result codes (empty or one).
    pub results: String,
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}) -> ({})", self.params, self.results)
    }
}

/// The function symbols of one relocatable wasm object.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FunctionSymbols {
    /// Strong, global, defined functions: name and type.
    pub defined: Vec<(String, Signature)>,
    /// Undefined functions: function index, name and the type the object
    /// calls them with.
    pub undefined: Vec<(u32, String, Signature)>,
}

/// One adapter: calls to `callee` with the type `caller` go to `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adapter {
    /// The function called.
    pub callee: String,
    /// Its type.
    pub callee_type: Signature,
    /// The type the caller declared.
    pub caller_type: Signature,
    /// The adapter's symbol.
    pub name: String,
    /// The types differ otherwise: the adapter traps, as the stub wasm-ld
    /// should have made (it did not for some, and left a call that fails
    /// validation: SciPy's `chla_transtype_`, a Fortran CHARACTER function).
    pub trap: bool,
}

fn code(ty: ValType) -> Option<char> {
    match ty {
        ValType::I32 => Some('i'),
        ValType::I64 => Some('I'),
        ValType::F32 => Some('f'),
        ValType::F64 => Some('d'),
        _ => None,
    }
}

fn c_type(code: char) -> &'static str {
    match code {
        'i' => "int",
        'I' => "long long",
        'f' => "float",
        _ => "double",
    }
}

/// The function symbols of `object` (types it cannot spell in C, such as
/// SIMD vectors or references, leave a function out).
pub fn function_symbols(object: &[u8]) -> Result<FunctionSymbols> {
    let mut types: Vec<Option<Signature>> = Vec::new();
    // Function index -> (type index, import field name for imports).
    let mut functions: Vec<(u32, Option<String>)> = Vec::new();
    let mut out = FunctionSymbols::default();
    let mut symbols = Vec::new();
    for payload in Parser::new(0).parse_all(object) {
        match payload.context("malformed wasm object")? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group?.into_types() {
                        let signature = match &sub.composite_type.inner {
                            CompositeInnerType::Func(f) => {
                                let spell = |tys: &[ValType]| -> Option<String> {
                                    tys.iter().map(|t| code(*t)).collect()
                                };
                                match (spell(f.params()), spell(f.results())) {
                                    (Some(params), Some(results)) => {
                                        Some(Signature { params, results })
                                    }
                                    _ => None,
                                }
                            }
                            _ => None,
                        };
                        types.push(signature);
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    if let TypeRef::Func(ty) = import.ty {
                        functions.push((ty, Some(import.name.to_owned())));
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    functions.push((ty?, None));
                }
            }
            Payload::CustomSection(section) => {
                if let KnownCustom::Linking(linking) = section.as_known() {
                    for subsection in linking.subsections() {
                        if let Linking::SymbolTable(table) = subsection? {
                            for symbol in table {
                                if let SymbolInfo::Func { flags, index, name } = symbol? {
                                    symbols.push((flags, index, name.map(str::to_owned)));
                                }
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for (flags, index, name) in symbols {
        let Some((ty, import)) = functions.get(index as usize) else {
            continue;
        };
        let Some(Some(signature)) = types.get(*ty as usize) else {
            continue;
        };
        if flags.contains(SymbolFlags::UNDEFINED) {
            if let Some(name) = name.or_else(|| import.clone()) {
                out.undefined.push((index, name, signature.clone()));
            }
        } else if !flags.intersects(SymbolFlags::BINDING_LOCAL | SymbolFlags::BINDING_WEAK)
            && let Some(name) = name
        {
            out.defined.push((name, signature.clone()));
        }
    }
    Ok(out)
}

/// The adapter a call to `callee` (defined as `callee_type`) declared as
/// `caller_type` needs, if the two differ only in the result, in trailing
/// arguments the caller passes and the callee does not take, or in both.
pub fn adapter_for(
    callee: &str,
    callee_type: &Signature,
    caller_type: &Signature,
) -> Option<Adapter> {
    let results_fit = caller_type.results == callee_type.results
        || ((caller_type.results.is_empty() || callee_type.results.is_empty())
            && caller_type.results.len() <= 1
            && callee_type.results.len() <= 1);
    let params_fit = caller_type.params.starts_with(&callee_type.params);
    // The adapter names the callee in C.
    let c_name = callee
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_');
    let trap = !(params_fit && results_fit);
    // A trap in C has one result at most.
    let expressible = caller_type.results.len() <= 1;
    (c_name && caller_type != callee_type && expressible).then(|| Adapter {
        callee: callee.to_owned(),
        callee_type: callee_type.clone(),
        caller_type: caller_type.clone(),
        name: format!(
            "faasm_py_{}__{callee}__{}_{}",
            if trap { "trap" } else { "adapt" },
            caller_type.params,
            caller_type.results
        ),
        trap,
    })
}

/// For each object's undefined functions, the adapters its calls need
/// against `definitions` (a name defined with two types is left alone):
/// by function index, the adapter to call instead.
pub fn adapters(
    undefined: &[(u32, String, Signature)],
    definitions: &BTreeMap<String, Signature>,
) -> BTreeMap<u32, Adapter> {
    undefined
        .iter()
        .filter_map(|(index, name, caller)| {
            let callee = definitions.get(name)?;
            Some((*index, adapter_for(name, callee, caller)?))
        })
        .collect()
}

/// C source defining `adapters` (each once).
pub fn c_source(adapters: &[&Adapter]) -> String {
    let mut text = String::from(
        "/* Generated by cargo faasm-py: calls whose declared result or trailing\n   arguments differ from the callee's (cargo-faasm-py/src/adapters.rs). */\n",
    );
    let mut seen = std::collections::BTreeSet::new();
    for a in adapters {
        if !seen.insert(&a.name) {
            continue;
        }
        let params: Vec<String> = a
            .caller_type
            .params
            .chars()
            .enumerate()
            .map(|(i, c)| format!("{} a{i}", c_type(c)))
            .collect();
        // The callee's own arguments: trailing ones it does not take are
        // dropped.
        let args: Vec<String> = (0..a.callee_type.params.len())
            .map(|i| format!("a{i}"))
            .collect();
        let param_types: Vec<&str> = a.callee_type.params.chars().map(c_type).collect();
        let result = |sig: &Signature| sig.results.chars().next().map_or("void", c_type);
        let call = format!("{}({})", a.callee, args.join(", "));
        let body = match (
            a.trap,
            a.caller_type.results.is_empty(),
            a.callee_type.results.is_empty(),
        ) {
            (true, ..) => "__builtin_trap();".to_owned(),
            (false, false, true) => format!("{call}; return 0;"),
            (false, false, false) => format!("return {call};"),
            _ => format!("{call};"),
        };
        let declaration = if a.trap {
            String::new()
        } else {
            format!(
                "extern {} {}({});\n",
                result(&a.callee_type),
                a.callee,
                if param_types.is_empty() {
                    "void".to_owned()
                } else {
                    param_types.join(", ")
                }
            )
        };
        text.push_str(&format!(
            "{declaration}{} {}({}) {{ {body} }}\n",
            result(&a.caller_type),
            a.name,
            if params.is_empty() {
                "void".to_owned()
            } else {
                params.join(", ")
            },
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(params: &str, results: &str) -> Signature {
        Signature {
            params: params.into(),
            results: results.into(),
        }
    }

    #[test]
    fn trailing_arguments_the_callee_does_not_take_are_dropped() {
        let dlagtm = sig("iiiiiiiiiiii", "");
        let hidden_length = sig("iiiiiiiiiiiii", "");
        let a = adapter_for("dlagtm_", &dlagtm, &hidden_length).unwrap();
        let text = c_source(&[&a]);
        assert!(
            text.contains(
                "a11, int a12) { dlagtm_(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11); }"
            ),
            "{text}"
        );
        let with_result = adapter_for("f", &sig("i", "d"), &sig("ii", "d")).unwrap();
        assert!(
            c_source(&[&with_result]).contains("{ return f(a0); }"),
            "the result passes through"
        );
        assert!(
            adapter_for("x", &sig("ii", ""), &sig("i", ""))
                .unwrap()
                .trap,
            "an argument the caller does not pass"
        );
        assert!(
            adapter_for("x", &sig("di", ""), &sig("ii", ""))
                .unwrap()
                .trap,
            "other parameter types"
        );
    }

    #[test]
    fn a_call_that_cannot_be_adapted_traps() {
        let character = adapter_for("chla_transtype_", &sig("iii", ""), &sig("i", "i")).unwrap();
        assert!(
            c_source(&[&character])
                .contains("int faasm_py_trap__chla_transtype___i_i(int a0) { __builtin_trap(); }"),
            "{}",
            c_source(&[&character])
        );
    }

    #[test]
    fn a_missing_or_extra_result_is_adapted() {
        let void5 = sig("iiiii", "");
        let int5 = sig("iiiii", "i");
        let a = adapter_for("dcopy_", &void5, &int5).unwrap();
        assert_eq!(a.name, "faasm_py_adapt__dcopy___iiiii_i");
        assert!(
            adapter_for("x", &int5, &void5).is_some(),
            "a result dropped"
        );
        assert!(adapter_for("x", &int5, &int5).is_none(), "the same type");
        assert!(
            adapter_for("x", &sig("iiiid", ""), &int5).unwrap().trap,
            "other parameters"
        );
        assert!(
            adapter_for("x", &sig("", "f"), &sig("", "d")).unwrap().trap,
            "two results"
        );
        assert!(adapter_for("a.b", &void5, &int5).is_none(), "not a C name");
    }

    #[test]
    fn the_c_source_calls_the_callee_with_its_own_type() {
        let a = adapter_for("dcopy_", &sig("iiiii", ""), &sig("iiiii", "i")).unwrap();
        let b = adapter_for("sdot_", &sig("id", "f"), &sig("id", "")).unwrap();
        let text = c_source(&[&a, &b, &a]);
        assert!(text.contains(
            "extern void dcopy_(int, int, int, int, int);\nint faasm_py_adapt__dcopy___iiiii_i(int a0, int a1, int a2, int a3, int a4) { dcopy_(a0, a1, a2, a3, a4); return 0; }"
        ), "{text}");
        assert!(text.contains(
            "extern float sdot_(int, double);\nvoid faasm_py_adapt__sdot___id_(int a0, double a1) { sdot_(a0, a1); }"
        ), "{text}");
        assert_eq!(text.matches("dcopy___iiiii_i(int").count(), 1, "each once");
    }

    #[test]
    fn adapters_are_found_by_function_index() {
        let defs = BTreeMap::from([
            ("dcopy_".to_owned(), sig("iiiii", "")),
            ("PyLong_FromLong".to_owned(), sig("i", "i")),
        ]);
        let undefined = vec![
            (0, "dcopy_".to_owned(), sig("iiiii", "i")),
            (1, "PyLong_FromLong".to_owned(), sig("i", "i")),
            (2, "not_defined".to_owned(), sig("", "i")),
        ];
        let found = adapters(&undefined, &defs);
        assert_eq!(found.keys().copied().collect::<Vec<_>>(), [0]);
    }

    #[test]
    fn a_malformed_object_is_an_error() {
        assert!(function_symbols(b"\0asm\x01\0\0\0\x01\x05").is_err());
    }
}
