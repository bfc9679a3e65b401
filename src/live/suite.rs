//! The live checks themselves: Python and Lua files embedded in the binary, written into each
//! run's directory and run with the operator's `python3`.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// `(file name, contents)` of every file of the suite (`src/live/suite/`).
pub const FILES: &[(&str, &str)] = &[
    ("common.py", include_str!("suite/common.py")),
    ("prep.py", include_str!("suite/prep.py")),
    ("run.py", include_str!("suite/run.py")),
    ("checks_server.py", include_str!("suite/checks_server.py")),
    ("checks_xmpp.py", include_str!("suite/checks_xmpp.py")),
    ("checks_http.py", include_str!("suite/checks_http.py")),
    ("checks_tls.py", include_str!("suite/checks_tls.py")),
    (
        "checks_exposure.py",
        include_str!("suite/checks_exposure.py"),
    ),
    ("echo_server.py", include_str!("suite/echo_server.py")),
    ("cfgdump.lua", include_str!("suite/cfgdump.lua")),
    ("nginx.conf.in", include_str!("suite/nginx.conf.in")),
];

/// The Python modules the suite imports beyond the standard library, with the versions it is
/// tested with (CI installs exactly these).
pub const PYTHON_PACKAGES: &[(&str, &str)] = &[("slixmpp", "1.17.0"), ("websockets", "17.4")];

/// Writes the suite into `dir` (created, readable by the servers' users, who run none of it).
pub fn write(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
    for (name, contents) in FILES {
        let path = dir.join(name);
        fs::write(&path, contents)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
    }
    Ok(())
}
