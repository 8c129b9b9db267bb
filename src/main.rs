fn main() -> std::process::ExitCode {
    nixperf::cli::main()
}
