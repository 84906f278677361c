use std::process::ExitCode;

fn main() -> ExitCode {
    // One TLS crypto provider for kube and reqwest, installed before either builds a client
    // (../shared/notes/crd-patterns.md §6: two providers compiled in make rustls panic at first use).
    let _ = rustls::crypto::ring::default_provider().install_default();
    ccop::cli::main()
}
