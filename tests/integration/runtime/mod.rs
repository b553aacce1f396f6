//! Runtime tests: the conformance fixtures (both wasm targets), WAT fixtures and hostile
//! fixtures driven through the public stream API with a fake embedder.

mod harness;

mod abi_wat;
mod cache;
mod callouts;
mod cli;
mod conformance;
mod hostile;
mod hostile_isolation;
mod lifecycle;
mod profiling;
mod run_replay;
mod state;
