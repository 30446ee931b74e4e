//! moto's server (`moto_server`, installed from PyPI into the test tools' venv) for the tests of the AWS
//! service integrations: started on a free port per test, driven from Python with boto3, and a server
//! under test pointed at it.
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, Backend, TestServer};

/// A moto server on a free loopback port, killed when dropped.
pub struct Moto {
    child: Child,
    pub port: u16,
    python: PathBuf,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    pub fn start() -> Moto {
        Moto::start_with(&[])
    }

    /// With `env` for moto (`INITIAL_NO_AUTH_ACTION_COUNT` makes it check signatures).
    pub fn start_with(env: &[(&str, &str)]) -> Moto {
        let python = common::tools::python_with(&["moto[server]"]);
        let moto_server = python.with_file_name("moto_server");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(moto_server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            child,
            port,
            python,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server never listened");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs `script` with boto3 clients (`ddb`, `sqs`, `events`, `s3`, `sns`, `secrets`, `ssm`, `sfn`, `iam`)
    /// bound to this server; its stdout.
    pub fn boto(&self, script: &str) -> String {
        let prelude = "import boto3, json, os\n\
            kw = dict(endpoint_url=os.environ['MOTO_URL'], region_name='us-east-1', \
            aws_access_key_id='test', aws_secret_access_key='test')\n\
            ddb = boto3.client('dynamodb', **kw)\nsqs = boto3.client('sqs', **kw)\n\
            events = boto3.client('events', **kw)\ns3 = boto3.client('s3', **kw)\n\
            sns = boto3.client('sns', **kw)\nsecrets = boto3.client('secretsmanager', **kw)\n\
            ssm = boto3.client('ssm', **kw)\nsfn = boto3.client('stepfunctions', **kw)\n\
            iam = boto3.client('iam', **kw)\n";
        // The server runs on this runtime: give its worker back while Python runs.
        let output = tokio::task::block_in_place(|| {
            Command::new(&self.python)
                .args(["-c", &format!("{prelude}{script}")])
                .env("MOTO_URL", self.url())
                .output()
                .expect("run python")
        });
        assert!(
            output.status.success(),
            "boto script failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// A server that calls this moto for every AWS service, allowed and with credentials.
    pub async fn server(&self, backend: Backend) -> TestServer {
        let url = self.url();
        let port = self.port;
        TestServer::start_on(backend, move |args| {
            args.integrations.aws_endpoint_url = Some(url);
            args.integrations.http_allow = vec![format!("127.0.0.1:{port}")];
            args.integrations.aws_access_key_id = Some("test".into());
            args.integrations.aws_secret_access_key = Some("test".into());
        })
        .await
    }
}
