//! `samlfed`, the operator CLI: argument parsing and printing only; every command is in
//! [`samlfed::cli`], so tests drive the same code people run.

// The SDK futures nest deeply; their layout needs more than the default depth.
#![recursion_limit = "256"]

use std::io::Write as _;
use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};
use samlfed::cli::{self, check, invoke, render, rollout, ColorChoice, Style, EXIT_CODES_HELP};

/// Check SAML IdP metadata, preview what a stack will create, drive the Lambda locally, follow a
/// StackSet rollout — with the same code the samlfed Lambda runs.
#[derive(Debug, Parser)]
#[command(name = "samlfed", version, after_help = EXIT_CODES_HELP, after_long_help = EXIT_CODES_HELP)]
struct Cli {
    /// When to colour the output (NO_COLOR is honoured with auto).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the Lambda's metadata checks on a file, an S3 object or an https:// URL.
    #[command(after_help = EXIT_CODES_HELP)]
    Check(check::CheckArgs),
    /// Print the trust policy and IAM Identity Center attribute a Custom::SAMLRole produces.
    #[command(after_help = EXIT_CODES_HELP)]
    Render(render::RenderArgs),
    /// Send one custom-resource event to a deployed function with lambda:Invoke, as CloudFormation does.
    #[command(after_help = EXIT_CODES_HELP)]
    Invoke(Box<invoke::InvokeArgs>),
    /// Follow a StackSet rollout.
    #[command(after_help = EXIT_CODES_HELP)]
    Rollout(rollout::RolloutArgs),
    /// Print a shell completion script (e.g. `samlfed completions bash > /etc/bash_completion.d/samlfed`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    // clap prints its own usage errors and exits with 2.
    let cli = Cli::parse();
    let style = Style::detect(cli.color);
    let result = match &cli.command {
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(*shell, &mut command, "samlfed", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
        Command::Render(args) => render::run(args, style),
        Command::Check(args) => block_on(check::run(args, style)),
        Command::Invoke(args) => block_on(invoke::run(args, style)),
        Command::Rollout(rollout::RolloutArgs { command: rollout::RolloutCommand::Status(args) }) => {
            block_on(rollout::run(args, style))
        }
    };
    match result {
        Ok(output) => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not worth a panic.
            let _ = stdout.write_all(output.text.as_bytes()).and_then(|()| stdout.flush());
            ExitCode::from(output.exit_code)
        }
        Err(error) => {
            eprintln!("{} {error}", style_stderr("error:"));
            eprintln!("  hint: {}", error.hint());
            ExitCode::from(error.exit_code())
        }
    }
}

/// Runs a command's future on a small runtime built here, so `render` and `completions` need none.
fn block_on<T>(future: impl std::future::Future<Output = Result<T, cli::CliError>>) -> Result<T, cli::CliError> {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(future),
        Err(e) => Err(cli::CliError::Invoke(anyhow::anyhow!(e).context("cannot start the async runtime").to_string())),
    }
}

/// Colours the error label when stderr is a terminal and NO_COLOR is unset.
fn style_stderr(label: &str) -> String {
    use std::io::IsTerminal as _;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if std::io::stderr().is_terminal() && !no_color {
        format!("\x1b[31;1m{label}\x1b[0m")
    } else {
        label.to_string()
    }
}
