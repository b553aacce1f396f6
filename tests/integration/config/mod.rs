//! Configuration loading (both formats, the example files, the error messages users see),
//! the admin server and reload triggering.

mod admin;
mod app_admin;
mod files;
mod reload;
