//! `accord admin`: spaces, users, grants, tokens and stored log reports.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use accord_server::auth;

/// Arguments of `accord admin`.
#[derive(Args)]
pub struct AdminArgs {
    /// The server database: a SQLite file or a postgres:// URL.
    #[arg(long, env = "ACCORD_DB", hide_env_values = true)]
    db: PathBuf,
    #[command(subcommand)]
    action: AdminAction,
}

#[derive(Subcommand)]
enum AdminAction {
    /// Creates a space.
    AddSpace { name: String },
    /// Creates a user; prints the new token as the last line (it is shown only once).
    AddUser { name: String },
    /// Makes another token for a user; prints it as the last line.
    AddToken { user: String },
    /// Revokes every token of a user.
    RevokeTokens { user: String },
    /// Lets a user read and write a space.
    Grant { user: String, space: String },
    /// Takes a grant away.
    Revoke { user: String, space: String },
    /// Lists spaces with their record counts and members (JSON).
    Spaces,
    /// Prints the log reports devices uploaded to a space, newest first (JSON).
    Logs {
        space: String,
        /// Most reports to print.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

/// Runs one admin action.
pub fn run(args: AdminArgs) -> anyhow::Result<ExitCode> {
    let storage = crate::serve_cmd::open_storage(&args.db)?;
    match args.action {
        AdminAction::AddSpace { name } => {
            storage.add_space(&name)?;
            println!("space '{name}' created");
        }
        AdminAction::AddUser { name } => {
            let token = auth::new_token().map_err(anyhow::Error::msg)?;
            storage.add_user(&name, &auth::token_hash(&token))?;
            println!("user '{name}' created; token (shown once, stored hashed):");
            println!("{token}");
        }
        AdminAction::AddToken { user } => {
            let token = auth::new_token().map_err(anyhow::Error::msg)?;
            storage.add_token(&user, &auth::token_hash(&token))?;
            println!("new token for '{user}' (shown once, stored hashed):");
            println!("{token}");
        }
        AdminAction::RevokeTokens { user } => {
            let n = storage.revoke_tokens(&user)?;
            println!("revoked {n} token(s) of '{user}'");
        }
        AdminAction::Grant { user, space } => {
            storage.grant(&user, &space)?;
            println!("'{user}' may now read and write '{space}'");
        }
        AdminAction::Revoke { user, space } => {
            if storage.revoke(&user, &space)? {
                println!("'{user}' no longer has access to '{space}'");
            } else {
                println!("'{user}' had no grant for '{space}'");
            }
        }
        AdminAction::Spaces => {
            println!("{}", serde_json::to_string_pretty(&storage.spaces()?)?);
        }
        AdminAction::Logs { space, limit } => {
            println!(
                "{}",
                serde_json::to_string_pretty(&storage.log_reports(&space, limit)?)?
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
