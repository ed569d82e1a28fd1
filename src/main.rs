use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    afureko::cli::main().await
}
