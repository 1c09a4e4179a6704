//! MQTT status with a real mosquitto started here on a free port: availability and its last will,
//! the state after uploads, Home Assistant discovery, a broker that is absent or restarts, and
//! credentials over TLS.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

/// A mosquitto of this test's own; killed on drop.
struct Mosquitto {
    port: u16,
    conf: PathBuf,
    child: Option<Child>,
}

impl Mosquitto {
    /// Anonymous, plain TCP.
    fn start(dir: &Path) -> Mosquitto {
        Mosquitto::with_conf(dir, free_port(), |port| format!("listener {port} 127.0.0.1\nallow_anonymous true\n"))
    }

    fn with_conf(dir: &Path, port: u16, conf: impl Fn(u16) -> String) -> Mosquitto {
        tool("mosquitto", "mosquitto");
        tool("mosquitto_sub", "mosquitto-clients");
        let path = dir.join(format!("mosquitto-{port}.conf"));
        // As root, mosquitto would switch to its own user and then fail to read our files.
        std::fs::write(&path, format!("{}persistence false\nuser root\n", conf(port))).unwrap();
        let mut broker = Mosquitto { port, conf: path, child: None };
        broker.run();
        broker
    }

    fn run(&mut self) {
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "mosquitto did not listen on {}", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Messages on `topic` (`topic payload` pairs): at most `count`, waiting at most `wait` seconds.
    fn read(&self, topic: &str, count: usize, wait: u32, extra: &[&str]) -> Vec<(String, String)> {
        let out = Command::new("mosquitto_sub")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-t", topic, "-v"])
            .args(["-C", &count.to_string(), "-W", &wait.to_string()])
            .args(extra)
            .output()
            .expect("run mosquitto_sub");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once(' ').map(|(t, p)| (t.to_string(), p.to_string())))
            .collect()
    }

    /// The retained value of `topic` once `ok` holds for it, or a failure after `wait`.
    fn wait_for(&self, topic: &str, wait: Duration, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + wait;
        loop {
            let seen = self.read(topic, 1, 2, &["--retained-only"]);
            if let Some((_, payload)) = seen.into_iter().next().filter(|(_, p)| ok(p)) {
                return payload;
            }
            assert!(Instant::now() < deadline, "{topic} never reached the expected value");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.stop();
    }
}

fn mqtt_config(broker: &str, extra: &str) -> String {
    format!("[mqtt]\nbroker = \"{broker}\"\n{extra}")
}

fn photos(state: &str) -> u64 {
    serde_json::from_str::<Value>(state).map(|v| v["library"]["photos"].as_u64().unwrap_or(0)).unwrap_or(0)
}

#[test]
fn availability_state_and_discovery() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path());
    let mut server = Server::with_config(&mqtt_config(&format!("mqtt://127.0.0.1:{}", broker.port), ""));
    let wait = Duration::from_secs(10);
    broker.wait_for("shoebox/+/availability", wait, |p| p == "online");

    let api = server.login("anna");
    api.store("a.jpg", &exif_jpeg("2023:07:14 18:30:00", None), &[]);
    api.store("b.jpg", &variant(&plain_jpeg(), "mqtt"), &[]);
    let state: Value = serde_json::from_str(&broker.wait_for("shoebox/+/state", wait, |p| photos(p) == 2)).unwrap();
    assert_eq!(state["version"], env!("CARGO_PKG_VERSION"));
    assert!(state["disk"]["total_bytes"].as_u64().unwrap() > 0 && state["disk"]["free_bytes"].as_u64().is_some());
    assert!(state["library"]["bytes"].as_u64().unwrap() > 0);
    assert_eq!(state["library"]["workspaces"][0]["slug"], "default");
    assert_eq!(state["library"]["workspaces"][0]["photos"], 2);
    assert!(state["library"]["last_upload_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(state["uploads_in_progress"], 0);
    assert_eq!(state["refused_uploads"], 0);
    assert!(state["uptime_secs"].as_u64().is_some());

    // Discovery configs: retained, valid JSON, one device, a unique id each.
    let configs = broker.read("homeassistant/#", 20, 3, &["--retained-only"]);
    assert!(configs.len() >= 6, "{configs:?}");
    let mut ids = std::collections::HashSet::new();
    for (topic, payload) in &configs {
        assert!(topic.starts_with("homeassistant/sensor/shoebox_") && topic.ends_with("/config"), "{topic}");
        let config: Value = serde_json::from_str(payload).unwrap();
        assert!(ids.insert(config["unique_id"].as_str().unwrap().to_string()), "duplicate unique_id");
        assert!(config["device"]["identifiers"][0].as_str().unwrap().starts_with("shoebox_"));
        assert_eq!(config["device"]["sw_version"], env!("CARGO_PKG_VERSION"));
        assert!(config["device"]["configuration_url"].as_str().unwrap().starts_with("http://"));
        assert!(config["state_topic"].as_str().unwrap().ends_with("/state"));
        assert!(config["availability_topic"].as_str().unwrap().ends_with("/availability"));
    }

    // Home Assistant restarting (its status `online`) gets the configs again.
    let (topic, _) = configs[0].clone();
    let publish = |topic: &str, payload: &str, retain: bool| {
        let mut cmd = Command::new("mosquitto_pub");
        cmd.args(["-h", "127.0.0.1", "-p", &broker.port.to_string(), "-t", topic, "-m", payload]);
        if retain {
            cmd.arg("-r");
        }
        assert!(cmd.status().unwrap().success());
    };
    publish(&topic, "", true); // clears the retained config
    assert!(broker.read(&topic, 1, 1, &["--retained-only"]).is_empty());
    publish("homeassistant/status", "online", false);
    broker.wait_for(&topic, wait, |p| p.contains("unique_id"));

    // A crash: the broker's copy of the last will says offline.
    server.kill9();
    broker.wait_for("shoebox/+/availability", wait, |p| p == "offline");
    // Back, then a clean shutdown that says offline itself.
    server.spawn();
    broker.wait_for("shoebox/+/availability", wait, |p| p == "online");
    server.stop();
    broker.wait_for("shoebox/+/availability", wait, |p| p == "offline");
}

#[test]
fn an_absent_broker_never_stops_the_box_and_is_caught_up_with() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = Server::with_config(&mqtt_config(&format!("mqtt://127.0.0.1:{port}"), ""));
    // Serving as usual while the broker is away.
    let api = server.login("anna");
    let started = Instant::now();
    api.store("a.jpg", &variant(&plain_jpeg(), "absent"), &[]);
    assert!(started.elapsed() < Duration::from_secs(5));
    let admin = server.login("admin");
    assert_ne!(admin.get_json("/api/v1/status")["mqtt"]["state"], "connected");

    // The broker appears: the box connects (back-off is at most a minute; it started low).
    let mut broker =
        Mosquitto::with_conf(dir.path(), port, |p| format!("listener {p} 127.0.0.1\nallow_anonymous true\n"));
    let wait = Duration::from_secs(40);
    broker.wait_for("shoebox/+/state", wait, |p| photos(p) == 1);
    assert_eq!(admin.get_json("/api/v1/status")["mqtt"]["state"], "connected");

    // The broker restarts with nothing retained: the box reconnects and publishes afresh.
    broker.stop();
    broker.run();
    broker.wait_for("shoebox/+/availability", wait, |p| p == "online");
    broker.wait_for("shoebox/+/state", wait, |p| photos(p) == 1);
}

/// A CA and a server certificate for localhost / 127.0.0.1, made with openssl.
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    tool("openssl", "openssl");
    let run = |args: &[&str]| {
        let out = Command::new("openssl").current_dir(dir).args(args).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.pem",
    ]);
    (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"))
}

#[test]
fn credentials_over_tls_and_a_refused_login() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(dir.path());
    let passwd = dir.path().join("passwd");
    let made = Command::new("mosquitto_passwd").args(["-c", "-b"]).arg(&passwd).args(["shoebox", "s3cret"]).output();
    assert!(made.map(|o| o.status.success()).unwrap_or(false), "mosquitto_passwd failed");
    let plain_port = free_port();
    let broker = Mosquitto::with_conf(dir.path(), free_port(), |tls_port| {
        format!(
            "per_listener_settings false\nallow_anonymous false\npassword_file {}\n\
             listener {plain_port} 127.0.0.1\nlistener {tls_port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\n",
            passwd.display(),
            ca.display(),
            cert.display(),
            key.display()
        )
    });
    let right = dir.path().join("right");
    std::fs::write(&right, "s3cret\n").unwrap();
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "guess\n").unwrap();
    let config = |password: &Path| {
        mqtt_config(
            &format!("mqtts://localhost:{}", broker.port),
            &format!(
                "username = \"shoebox\"\npassword_file = \"{}\"\nca_file = \"{}\"\n",
                password.display(),
                ca.display()
            ),
        )
    };

    let good = Server::with_config(&config(&right));
    // Read back over the plain listener with the same credentials.
    let reader = Mosquitto { port: plain_port, conf: PathBuf::new(), child: None };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let seen = reader.read("shoebox/+/availability", 1, 2, &["-u", "shoebox", "-P", "s3cret", "--retained-only"]);
        if seen.iter().any(|(_, p)| p == "online") {
            break;
        }
        assert!(Instant::now() < deadline, "no online over TLS with credentials: {}", good.log());
        std::thread::sleep(Duration::from_millis(200));
    }

    let bad = Server::with_config(&config(&wrong));
    let admin = bad.login("admin");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mqtt = admin.get_json("/api/v1/status")["mqtt"].clone();
        if mqtt["state"] == "refused" {
            assert!(mqtt["error"].as_str().unwrap().contains("refused"), "{mqtt}");
            break;
        }
        assert!(Instant::now() < deadline, "a wrong password never showed: {mqtt}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(bad.log().contains("MQTT"), "the log says why");
    // ... and the box carries on.
    bad.login("anna").store("a.jpg", &variant(&plain_jpeg(), "refused"), &[]);
}

/// A pull connection on s3s-fs's `album/` (synced once on creation) and a push connection that is
/// off, so what it has to do waits in its queue.
fn two_connections(admin: &Api, s3: &shoebox_fakes::s3_server::S3Server) -> (i64, i64) {
    let mut push = crate::sync::s3_connection(s3, "pushed");
    push["enabled"] = serde_json::json!(false);
    let (push_id, _) = crate::sync::connect(admin, "default", push);
    let mut pull = crate::sync::s3_connection(s3, "album");
    pull["direction"] = serde_json::json!("pull");
    pull["auto_sync"] = serde_json::json!(false);
    let (pull_id, _) = crate::sync::connect(admin, "default", pull);
    (push_id, pull_id)
}

fn imported(admin: &Api, id: i64) -> u64 {
    crate::sync::connection(admin, id)["pulled"]["imported"].as_u64().unwrap()
}

fn put_photo(s3: &shoebox_fakes::s3_server::S3Server, rel: &str, salt: &str) {
    let file = s3.object_file(rel);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, variant(&plain_jpeg(), salt)).unwrap();
}

fn publish(broker: &Mosquitto, topic: &str, payload: &str) {
    let status = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &broker.port.to_string(), "-t", topic, "-m", payload])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn connections_in_the_state_their_entities_and_sync_now_by_command() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path());
    let s3 = shoebox_fakes::s3_server::S3Server::start().unwrap_or_else(|e| panic!("{e}"));
    put_photo(&s3, "album/one.jpg", "one");
    let config =
        mqtt_config(&format!("mqtt://127.0.0.1:{}", broker.port), "commands = true\n[sync]\nsync_now_min_secs = 1\n");
    let server = Server::with_config(&config);
    let admin = server.login("admin");
    let (push_id, pull_id) = two_connections(&admin, &s3);
    // Waiting for the push: this photo, and the one the pull brought in.
    admin.store("a.jpg", &variant(&plain_jpeg(), "queued"), &[]);
    let wait = Duration::from_secs(20);

    let state = broker.wait_for("shoebox/+/state", wait, |p| {
        serde_json::from_str::<Value>(p)
            .is_ok_and(|s| s["queue_depth"] == 2 && s["connections"].as_array().is_some_and(|c| c.len() == 2))
    });
    let state: Value = serde_json::from_str(&state).unwrap();
    let push = state["connections"].as_array().unwrap().iter().find(|c| c["id"] == push_id).unwrap().clone();
    assert_eq!(
        (push["direction"].as_str(), push["queue_depth"].as_u64(), push["problem"].as_bool()),
        (Some("push"), Some(2), Some(false)),
        "{push}"
    );
    assert_eq!(push["workspace"], "default");

    // Discovery: a problem sensor per connection, the push's queue, the pull's button.
    let configs = broker.read("homeassistant/#", 30, 3, &["--retained-only"]);
    let topic_of = |kind: &str, object: &str| {
        configs.iter().find(|(t, _)| {
            t.starts_with(&format!("homeassistant/{kind}/")) && t.ends_with(&format!("/{object}/config"))
        })
    };
    for id in [push_id, pull_id] {
        let (_, problem) =
            topic_of("binary_sensor", &format!("connection_{id}_problem")).unwrap_or_else(|| panic!("{configs:?}"));
        let problem: Value = serde_json::from_str(problem).unwrap();
        assert_eq!(problem["device_class"], "problem");
        assert!(problem["unique_id"].as_str().unwrap().ends_with(&format!("connection_{id}_problem")));
    }
    assert!(topic_of("sensor", &format!("connection_{push_id}_queue")).is_some(), "{configs:?}");
    let (_, button) =
        topic_of("button", &format!("connection_{pull_id}_sync")).unwrap_or_else(|| panic!("{configs:?}"));
    let button: Value = serde_json::from_str(button).unwrap();

    // Pressing it in Home Assistant: the pull runs and finds the new photo.
    let deadline = Instant::now() + wait;
    while imported(&admin, pull_id) < 1 {
        assert!(Instant::now() < deadline, "the first pull did not run");
        std::thread::sleep(Duration::from_millis(100));
    }
    put_photo(&s3, "album/two.jpg", "two");
    publish(&broker, button["command_topic"].as_str().unwrap(), button["payload_press"].as_str().unwrap());
    let deadline = Instant::now() + wait;
    while imported(&admin, pull_id) < 2 {
        assert!(Instant::now() < deadline, "the sync now command was not honoured");
        std::thread::sleep(Duration::from_millis(100));
    }

    // The cloud goes away under a push: its problem sensor turns on.
    drop(s3);
    let on = admin.send_json(
        reqwest::Method::PATCH,
        &format!("/api/v1/connections/{push_id}"),
        serde_json::json!({"enabled": true}),
    );
    assert_eq!(on.status(), 200);
    broker.wait_for("shoebox/+/state", Duration::from_secs(60), |p| {
        serde_json::from_str::<Value>(p).is_ok_and(|s| {
            s["connections"].as_array().into_iter().flatten().any(|c| c["id"] == push_id && c["problem"] == true)
        })
    });
}

#[test]
fn commands_are_ignored_unless_turned_on() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start(dir.path());
    let s3 = shoebox_fakes::s3_server::S3Server::start().unwrap_or_else(|e| panic!("{e}"));
    put_photo(&s3, "album/one.jpg", "one");
    let server = Server::with_config(&mqtt_config(
        &format!("mqtt://127.0.0.1:{}", broker.port),
        "[sync]\nsync_now_min_secs = 1\n",
    ));
    let admin = server.login("admin");
    let (_, pull_id) = two_connections(&admin, &s3);
    let deadline = Instant::now() + Duration::from_secs(20);
    while imported(&admin, pull_id) < 1 {
        assert!(Instant::now() < deadline, "the first pull did not run");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (topic, _) = broker.read("shoebox/+/availability", 1, 5, &["--retained-only"]).into_iter().next().unwrap();
    let prefix = topic.trim_end_matches("/availability");
    put_photo(&s3, "album/two.jpg", "two");
    publish(&broker, &format!("{prefix}/command/sync/{pull_id}"), "PRESS");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(imported(&admin, pull_id), 1, "a command was honoured with commands off");
    let buttons = broker.read("homeassistant/button/#", 5, 2, &["--retained-only"]);
    assert!(buttons.is_empty(), "{buttons:?}");
}
