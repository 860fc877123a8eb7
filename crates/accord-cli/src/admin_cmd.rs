//! `accord admin`: spaces, users, grants, tokens and stored log reports.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Subcommand};
use serde_json::{json, Value};

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
    /// Lists spaces with their record counts, members and last change (JSON).
    Spaces,
    /// Lists users with their spaces and how many live and revoked tokens they hold (JSON).
    Users,
    /// Lists tokens by public id (a prefix of the stored hash; never the secret), with
    /// their user, creation time and whether they are revoked (JSON).
    Tokens {
        /// Only this user's tokens.
        #[arg(long)]
        user: Option<String>,
    },
    /// Lists grants: which user may read and write which space (JSON).
    Grants {
        /// Only grants of this space.
        #[arg(long)]
        space: Option<String>,
    },
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
        AdminAction::Users => {
            let users: Vec<Value> = storage
                .users()?
                .into_iter()
                .map(|u| {
                    let live = u.tokens.iter().filter(|t| !t.revoked).count();
                    json!({
                        "name": u.name,
                        "created_ms": u.created_ms,
                        "spaces": u.spaces,
                        "live_tokens": live,
                        "revoked_tokens": u.tokens.len() - live,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&users)?);
        }
        AdminAction::Tokens { user } => {
            let users = storage.users()?;
            if let Some(name) = &user {
                if !users.iter().any(|u| &u.name == name) {
                    bail!("no user named '{name}'");
                }
            }
            let tokens: Vec<Value> = users
                .into_iter()
                .filter(|u| user.as_ref().is_none_or(|name| &u.name == name))
                .flat_map(|u| {
                    u.tokens.into_iter().map(move |t| {
                        json!({"id": t.id, "user": u.name, "created_ms": t.created_ms, "revoked": t.revoked})
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&tokens)?);
        }
        AdminAction::Grants { space } => {
            if let Some(name) = &space {
                if !storage.spaces()?.iter().any(|s| &s.name == name) {
                    bail!("no space named '{name}'");
                }
            }
            let grants: Vec<Value> = storage
                .users()?
                .into_iter()
                .flat_map(|u| {
                    u.spaces
                        .into_iter()
                        .map(move |s| json!({"user": u.name, "space": s}))
                })
                .filter(|g| {
                    space
                        .as_ref()
                        .is_none_or(|name| g["space"] == name.as_str())
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&grants)?);
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
