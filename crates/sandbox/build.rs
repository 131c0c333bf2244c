//! Links LPeg and lua-cjson from Debian's static libraries (packages `lua-lpeg-dev` and
//! `lua-cjson-dev`, installed by `scripts/setup.sh`). Their C sources are not in this
//! repository; the Lua 5.1 they call into is the one mlua builds (`vendored`).

use std::path::{Path, PathBuf};

/// Where Debian puts the Lua 5.1 builds of the two libraries.
const LIB_DIRS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib",
];

/// (library name as the linker spells it, Debian package that ships it)
const LIBS: &[(&str, &str)] = &[
    ("lua5.1-lpeg", "lua-lpeg-dev"),
    ("lua5.1-cjson", "lua-cjson-dev"),
];

/// `re.lua`, the regex-like front end to LPeg that lua-lpeg ships (MIT licence, as LPeg).
const RE_LUA: &str = "/usr/share/lua/5.1/re.lua";

fn find(file: &str) -> Option<PathBuf> {
    let dirs = std::env::var("HEKA_LUA_LIB_DIR")
        .ok()
        .into_iter()
        .chain(LIB_DIRS.iter().map(|s| s.to_string()));
    dirs.map(|d| Path::new(&d).join(file)).find(|p| p.is_file())
}

fn main() {
    println!("cargo:rerun-if-env-changed=HEKA_LUA_LIB_DIR");
    let mut missing = Vec::new();
    for (lib, package) in LIBS {
        let file = format!("lib{lib}.a");
        match find(&file) {
            Some(path) => {
                let dir = path.parent().unwrap_or(Path::new("/"));
                println!("cargo:rerun-if-changed={}", path.display());
                println!("cargo:rustc-link-search=native={}", dir.display());
                println!("cargo:rustc-link-lib=static={lib}");
            }
            None => missing.push(format!("{file} (Debian package {package})")),
        }
    }
    if !Path::new(RE_LUA).is_file() {
        missing.push(format!("{RE_LUA} (Debian package lua-lpeg)"));
    }
    if !missing.is_empty() {
        panic!(
            "heka-sandbox needs {}: install them with scripts/setup.sh \
             (apt-get install lua-lpeg-dev lua-cjson-dev), or set HEKA_LUA_LIB_DIR to the \
             directory holding the .a files",
            missing.join(" and ")
        );
    }
    println!("cargo:rerun-if-changed={RE_LUA}");
}
