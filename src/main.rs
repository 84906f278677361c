use std::process::ExitCode;

fn main() -> ExitCode {
    // One TLS crypto provider for kube and reqwest, installed before either builds a client
    // (with two providers compiled in, rustls cannot pick one and panics at first use).
    let _ = rustls::crypto::ring::default_provider().install_default();
    ccop::cli::main()
}
