fn main() {
    std::process::exit(liftlab::cli::main());
}
