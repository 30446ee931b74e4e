//! The Helm chart deploy/helm/sfn: lint, render with the default values and with
//! deploy/helm/sfn/ci/multi-replica-values.yaml, validate against a current Kubernetes version, check the
//! "restricted" Pod Security level, install order (hooks), and that `sfn serve --check-config` accepts
//! the arguments and environment of every rendered sfn container. The checks are tests/deploy/check_chart.py,
//! run with Helm as a Python library and kubernetes-validate, installed on first use (`common::tools`).

mod common;

use std::process::Command;

/// Variables the chart already sets that `sfn serve` does not read yet: other changes add them. The
/// check accepts these names and fails once the binary reads one, so this list is emptied as they land.
const ENV_VARS_BEING_ADDED: &[&str] = &[];

#[test]
fn chart_renders_valid_restricted_manifests_that_sfn_accepts() {
    let python = common::tools::python_with(&["helm-python-sdk", "kubernetes-validate"]);
    let repo = env!("CARGO_MANIFEST_DIR");
    let output = Command::new(python)
        .arg(format!("{repo}/tests/deploy/check_chart.py"))
        .arg(format!("{repo}/deploy/helm/sfn"))
        .arg(env!("CARGO_BIN_EXE_sfn"))
        .args(ENV_VARS_BEING_ADDED)
        .output()
        .expect("run tests/deploy/check_chart.py");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("every chart check passed"), "{stdout}");
}

/// What the chart check relies on: `--check-config` exits 0 with the parsed settings (the database
/// password not among them) and 2 with clap's message on a value `sfn serve` would refuse at start.
#[test]
fn check_config_accepts_good_settings_and_rejects_bad_ones() {
    let check = |env: &[(&str, &str)]| {
        Command::new(env!("CARGO_BIN_EXE_sfn"))
            .args(["serve", "--role", "api", "--check-config"])
            .env_clear()
            .envs(env.iter().copied())
            .output()
            .expect("run sfn serve --check-config")
    };
    let good = check(&[
        ("DATABASE_URL", "postgres://sfn:hunter2@db:5432/sfn"),
        ("SFN_MAX_OPEN_EXECUTIONS", "1000000"),
        ("SFN_LEASE_DURATION", "45s"),
    ]);
    let stdout = String::from_utf8_lossy(&good.stdout);
    assert!(good.status.success(), "{good:?}");
    assert!(stdout.contains("max_open_executions: 1000000"), "{stdout}");
    assert!(stdout.contains("role: Api"), "{stdout}");
    assert!(
        !stdout.contains("hunter2"),
        "the password is printed: {stdout}"
    );

    let bad = check(&[("SFN_MAX_OPEN_EXECUTIONS", "1e+06")]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("--max-open-executions"),
        "{bad:?}"
    );
}
