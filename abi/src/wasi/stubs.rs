//! Every remaining preview1 function, with its exact signature, answering an errno.
//!
//! Filters have no filesystem or sockets. Envoy answers `path_open` with `ENOENT`, fd calls with
//! `EBADF` and the rest with `ENOSYS`; a well-behaved libc turns those into ordinary I/O errors.
//! The table is data (name, parameter types, errno) rather than code, so adding a function is one
//! line and the signatures can be checked against the spec at a glance.

use wasmtime::{FuncType, Linker, Val, ValType};

use super::errno::{BADF, NOENT, NOSYS};

/// (name, parameters: `i` = i32, `I` = i64, errno). Every function returns an i32 errno.
const STUBS: &[(&str, &str, u32)] = &[
    ("fd_advise", "iIIi", BADF),
    ("fd_allocate", "iII", BADF),
    ("fd_close", "i", BADF),
    ("fd_datasync", "i", BADF),
    ("fd_fdstat_set_flags", "ii", BADF),
    ("fd_fdstat_set_rights", "iII", BADF),
    ("fd_filestat_get", "ii", BADF),
    ("fd_filestat_set_size", "iI", BADF),
    ("fd_filestat_set_times", "iIIi", BADF),
    ("fd_pread", "iiiIi", BADF),
    ("fd_prestat_dir_name", "iii", NOSYS),
    ("fd_pwrite", "iiiIi", BADF),
    ("fd_read", "iiii", NOSYS),
    ("fd_readdir", "iiiIi", BADF),
    ("fd_renumber", "ii", BADF),
    ("fd_seek", "iIii", BADF),
    ("fd_sync", "i", BADF),
    ("fd_tell", "ii", BADF),
    ("path_create_directory", "iii", NOSYS),
    ("path_filestat_get", "iiiii", NOSYS),
    ("path_filestat_set_times", "iiiiIIi", NOSYS),
    ("path_link", "iiiiiii", NOSYS),
    ("path_open", "iiiiiIIii", NOENT),
    ("path_readlink", "iiiiii", NOSYS),
    ("path_remove_directory", "iii", NOSYS),
    ("path_rename", "iiiiii", NOSYS),
    ("path_symlink", "iiiii", NOSYS),
    ("path_unlink_file", "iii", NOSYS),
    ("proc_raise", "i", NOSYS),
    ("sock_accept", "iii", NOSYS),
    ("sock_recv", "iiiiii", NOSYS),
    ("sock_send", "iiiii", NOSYS),
    ("sock_shutdown", "ii", NOSYS),
];

pub(super) fn add<T: 'static>(linker: &mut Linker<T>, module: &str) -> wasmtime::Result<()> {
    for &(name, params, errno) in STUBS {
        let params = params.chars().map(|c| match c {
            'I' => ValType::I64,
            _ => ValType::I32,
        });
        let ty = FuncType::new(linker.engine(), params, [ValType::I32]);
        linker.func_new(module, name, ty, move |_, _, results| {
            results[0] = Val::I32(errno as i32);
            Ok(())
        })?;
    }
    Ok(())
}

#[cfg(test)]
pub(super) fn names() -> impl Iterator<Item = &'static str> {
    STUBS.iter().map(|(name, _, _)| *name)
}
