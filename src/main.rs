use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // One binary: the Lambda function inside Lambda, the CLI everywhere else.
    if afureko::lambda::in_lambda() {
        afureko::lambda::main().await
    } else {
        afureko::cli::main().await
    }
}
