use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // One binary: the Lambda function inside Lambda, the CLI everywhere else.
    if afureko::lambda::in_lambda() {
        return afureko::lambda::main().await;
    }
    #[cfg(feature = "cli")]
    return afureko::cli::main().await;
    #[cfg(not(feature = "cli"))]
    {
        eprintln!(
            "error: this afureko is a Lambda build (no `cli` feature): it runs only inside Lambda (AWS_LAMBDA_RUNTIME_API)"
        );
        ExitCode::FAILURE
    }
}
