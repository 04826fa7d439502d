//! The `samlfed` command-line tool, as a library so tests drive exactly what people run.
//!
//! The binary (`src/bin/samlfed.rs`) only parses arguments and prints; every command lives here,
//! one file each, and each one calls the same library code the Lambda runs:
//!
//! - [`check`] — fetch a metadata document (file, `s3://`, `https://`) and run the Lambda's
//!   validator and pins on it, so a bad upload is caught before a thousand stacks fail.
//! - [`render`] — the trust policy and IAM Identity Center attribute a `Custom::SAMLRole` will
//!   produce, from the very functions the resource type uses.
//! - [`invoke`] — send a deployed function one custom-resource event with `lambda:Invoke` and
//!   read back the response CloudFormation would have received.
//! - [`rollout`] — follow a StackSet operation across thousands of accounts.
//!
//! Output is for people by default ([`Style`]: colour only on a terminal, `NO_COLOR` honoured)
//! and JSON with `--json`. Every failure is a [`CliError`]: one line, a hint, and an exit code
//! from [`exit`].

pub mod check;
pub mod invoke;
pub mod render;
pub mod rollout;

use std::io::IsTerminal as _;
use std::path::PathBuf;

use thiserror::Error;

/// Exit codes, the same for every command, so scripts can branch on them.
pub mod exit {
    /// Success: the document would be accepted, the event was answered SUCCESS, the rollout
    /// succeeded everywhere.
    pub const OK: u8 = 0;
    /// A negative verdict: the Lambda would refuse the document, answered FAILED (or refused the
    /// event), or the rollout failed or stopped somewhere.
    pub const NEGATIVE: u8 = 1;
    /// Usage: bad arguments, an unreadable local file, a malformed pin or setting.
    pub const USAGE: u8 = 2;
    /// The answer could not be found out: AWS, network or function trouble.
    pub const ERROR: u8 = 3;
    /// The StackSet operation is still running (a snapshot, or `--watch` ran out of time).
    pub const RUNNING: u8 = 4;
}

/// The exit-code table as `--help` shows it.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success: document accepted / event answered SUCCESS / rollout succeeded
  1  negative verdict: document refused / answered FAILED or event refused / rollout failed
  2  usage error: bad arguments, unreadable file, malformed pin or setting
  3  could not find out: AWS, network or function error
  4  rollout still running";

/// When to colour human output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Always colour (e.g. piping into `less -R`).
    Always,
    /// Never colour.
    Never,
}

/// ANSI styling that is switched off, rather than stripped, when output is not for a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    color: bool,
}

impl Style {
    /// No colour at all: for `--json`, files and tests.
    pub const PLAIN: Style = Style { color: false };

    /// Decides from the user's choice, whether stdout is a terminal and `NO_COLOR`
    /// (<https://no-color.org>: any non-empty value turns colour off).
    pub fn detect(choice: ColorChoice) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style { color: color_enabled(choice, std::io::stdout().is_terminal(), no_color) }
    }

    /// True when this style emits escape codes.
    pub fn is_colored(&self) -> bool {
        self.color
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Headings and the final verdict.
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    /// Good news: accepted, SUCCESS, succeeded.
    pub fn good(&self, text: &str) -> String {
        self.paint("32", text)
    }

    /// Bad news: refused, FAILED, failed accounts.
    pub fn bad(&self, text: &str) -> String {
        self.paint("31;1", text)
    }

    /// Worth a look, not fatal: warnings, running.
    pub fn warn(&self, text: &str) -> String {
        self.paint("33", text)
    }

    /// Secondary details.
    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
}

/// The colour decision on its own, so it can be tested without a terminal.
pub fn color_enabled(choice: ColorChoice, stdout_is_terminal: bool, no_color: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stdout_is_terminal && !no_color,
    }
}

/// What a command printed and how the process should end.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// Everything for stdout (human text or JSON), ending in a newline.
    pub text: String,
    /// One of [`exit`]'s codes.
    pub exit_code: u8,
}

/// Why a command could not produce its answer. Each variant prints as one line; [`CliError::hint`]
/// says what to do about it and [`CliError::exit_code`] how the process ends.
#[derive(Debug, Error)]
pub enum CliError {
    /// A value the user typed is unusable; the message names the option.
    #[error("{0}")]
    Usage(String),
    /// A local file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        /// The path as given.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A `SAMLFED_*` or `AWS_ENDPOINT_URL` variable is malformed (the Lambda would refuse it too).
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    /// The `MetadataUrl` could not be read: the Lambda's own fetch error, with the CLI's
    /// credentials and network.
    #[error(transparent)]
    Fetch(crate::metadata::LoadError),
    /// An AWS API call failed after the SDK's retries.
    #[error("{operation} failed: {message}")]
    Aws {
        /// The API operation, e.g. `ListStackInstances`.
        operation: &'static str,
        /// The service's error code and message.
        message: String,
    },
    /// The StackSet does not exist where we looked.
    #[error("StackSet {0:?} not found")]
    StackSetNotFound(String),
    /// The StackSet operation does not exist.
    #[error("operation {operation_id} not found in StackSet {stack_set:?}")]
    OperationNotFound {
        /// The StackSet.
        stack_set: String,
        /// The operation id given.
        operation_id: String,
    },
    /// The invocation or its answer went wrong.
    #[error("{0}")]
    Invoke(String),
    /// No HTTP client could be built (TLS set-up failed).
    #[error("cannot build an HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

impl CliError {
    /// The exit code this error ends the process with.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) | CliError::ReadFile { .. } | CliError::Settings(_) => exit::USAGE,
            _ => exit::ERROR,
        }
    }

    /// One line telling the user what to try next.
    pub fn hint(&self) -> String {
        match self {
            CliError::Usage(_) => "see `samlfed help` and the command's --help".into(),
            CliError::ReadFile { .. } => {
                "check the path; remote documents are given as s3://BUCKET/KEY or https://…".into()
            }
            CliError::Settings(_) => "correct or unset that environment variable".into(),
            CliError::Fetch(_) => "this used your own AWS credentials and network; the Lambda fetches with its execution role and from its own network, which may differ".into(),
            CliError::Aws { .. } => "check your AWS credentials and Region (AWS_PROFILE, AWS_REGION); for a local emulator set AWS_ENDPOINT_URL".into(),
            CliError::StackSetNotFound(_) => "check --stack-set and the Region; in a delegated administrator account add --call-as delegated-admin".into(),
            CliError::OperationNotFound { .. } => "omit --operation-id to follow the latest operation".into(),
            CliError::Http(_) => "the system's TLS set-up (root certificates) could not be loaded".into(),
            CliError::Invoke(_) => "read the function's log (locally: the emulator's stderr) and check AWS_ENDPOINT_URL and --function-name".into(),
        }
    }
}

/// Formats `n` with thousands separators (`10,000`), as people read counts.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color_unless_forced() {
        assert!(color_enabled(ColorChoice::Auto, true, false));
        assert!(!color_enabled(ColorChoice::Auto, false, false));
        assert!(!color_enabled(ColorChoice::Auto, true, true));
        assert!(color_enabled(ColorChoice::Always, false, true));
        assert!(!color_enabled(ColorChoice::Never, true, false));
        assert_eq!(Style::PLAIN.bad("x"), "x");
        assert_eq!(Style { color: true }.bad("x"), "\x1b[31;1mx\x1b[0m");
    }

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
