//! One module per command group; `run` dispatches.

pub mod audit;
mod client;
mod config;
pub mod intel;
mod keys;
mod master_key;
mod serve;
mod sign;
mod token;
mod user;

use crate::Failure;
use crate::cli::{Args, Command};
use crate::config::{Config, Overrides};

/// Loads and validates configuration from the file, the process environment and the flags.
pub fn load_config(args: &Args) -> Result<Config, Failure> {
    let overrides = Overrides { data_dir: args.data_dir.clone(), listen: args.listen.clone() };
    load_config_from(args.config.as_deref(), &overrides)
}

fn load_config_from(file: Option<&std::path::Path>, overrides: &Overrides) -> Result<Config, Failure> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    crate::config::load(file, &env, overrides)
        .and_then(crate::config::RawConfig::validate)
        .map_err(|e| Failure::Usage(format!("invalid configuration:\n{e}")))
}

/// Runs the chosen command.
pub async fn run(args: Args) -> Result<(), Failure> {
    match &args.command {
        Command::Config(cmd) => config::run(cmd, &args),
        // Commands that print keys or tokens log to stderr, quietly.
        Command::Serve | Command::Gateway => {
            let config = load_config(&args)?;
            serve::init_logging(&config.log_level, config.log_json)?;
            let mode = if matches!(args.command, Command::Gateway) {
                serve::Mode::GatewayOnly
            } else {
                serve::Mode::Everything
            };
            let file = args.config.clone();
            let overrides = Overrides { data_dir: args.data_dir.clone(), listen: args.listen.clone() };
            let reload = move || load_config_from(file.as_deref(), &overrides);
            serve::run(config, mode, reload).await
        }
        Command::Migrate => {
            let config = load_config(&args)?;
            serve::init_logging("warn", false)?;
            crate::app::open_store(&config).await?;
            eprintln!("migrations applied to {}", portcullis_store::redact_url(&config.database_url));
            Ok(())
        }
        Command::Keys(cmd) => {
            serve::init_logging("warn", false)?;
            keys::run(cmd, &args).await
        }
        Command::Token(cmd) => {
            serve::init_logging("warn", false)?;
            token::run(cmd, &args).await
        }
        Command::Audit(cmd) => {
            serve::init_logging("warn", false)?;
            audit::run(cmd, &args).await
        }
        Command::Sign(sign) => sign::run(sign),
        Command::User(cmd) => {
            serve::init_logging("warn", false)?;
            user::run(cmd, &args).await
        }
        Command::Client(cmd) => {
            serve::init_logging("warn", false)?;
            client::run(cmd, &args).await
        }
        Command::Intel(cmd) => {
            serve::init_logging("warn", false)?;
            intel::run(cmd, &args).await
        }
        Command::MasterKey(cmd) => {
            serve::init_logging("warn", false)?;
            master_key::run(cmd, &args).await
        }
    }
}
