//! `cargo faasm-py`: a thin shell over the `cargo_faasm_py` library.

fn main() -> std::process::ExitCode {
    cargo_faasm_py::commands::main()
}
