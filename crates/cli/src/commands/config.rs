//! `portcullis config check|example|docs`.

use std::io::Write;

use crate::Failure;
use crate::cli::{Args, ConfigCommand};
use crate::config::{Overrides, example_toml, load, reference_markdown};

pub fn run(cmd: &ConfigCommand, args: &Args) -> Result<(), Failure> {
    let text = match cmd {
        ConfigCommand::Check { file } => {
            let env: Vec<(String, String)> = std::env::vars().collect();
            let overrides = Overrides { data_dir: args.data_dir.clone(), listen: args.listen.clone() };
            load(Some(file), &env, &overrides)
                .and_then(crate::config::RawConfig::validate)
                .map_err(|e| Failure::Usage(format!("{} is invalid:\n{e}", file.display())))?;
            format!("{} is valid\n", file.display())
        }
        ConfigCommand::Example => example_toml(),
        ConfigCommand::Docs => reference_markdown(),
    };
    std::io::stdout().write_all(text.as_bytes()).map_err(|e| Failure::Other(e.into()))
}
