//! Home Assistant MQTT discovery: one retained config message per entity, under
//! `<discovery prefix>/<component>/<node id>/<object id>/config`, all reading the one state topic
//! and sharing one `device` block, so Home Assistant shows a single "Shoebox" device. The box's own
//! sensors are fixed; each cloud connection in the state adds a problem binary sensor, a queue
//! depth sensor (push) and, with commands on, a "sync now" button (pull).

use serde_json::{json, Value};

/// The box as Home Assistant lists it.
#[derive(Debug, Clone)]
pub struct Device {
    /// Stable across restarts (the catalogue's device id).
    pub id: String,
    pub name: String,
    pub version: String,
    /// The web app, for the "visit" link on the device page.
    pub configuration_url: Option<String>,
}

/// A sensor read from the state JSON.
struct Sensor {
    object_id: &'static str,
    name: &'static str,
    template: &'static str,
    unit: Option<&'static str>,
    device_class: Option<&'static str>,
    state_class: Option<&'static str>,
    icon: &'static str,
}

const SENSORS: &[Sensor] = &[
    Sensor {
        object_id: "disk_free",
        name: "Disk free",
        template: "{{ value_json.disk.free_bytes }}",
        unit: Some("B"),
        device_class: Some("data_size"),
        state_class: Some("measurement"),
        icon: "mdi:harddisk",
    },
    Sensor {
        object_id: "library_size",
        name: "Library size",
        template: "{{ value_json.library.bytes }}",
        unit: Some("B"),
        device_class: Some("data_size"),
        state_class: Some("measurement"),
        icon: "mdi:image-multiple",
    },
    Sensor {
        object_id: "photos",
        name: "Photos",
        template: "{{ value_json.library.photos }}",
        unit: None,
        device_class: None,
        state_class: Some("measurement"),
        icon: "mdi:image-multiple",
    },
    Sensor {
        object_id: "uploads_in_progress",
        name: "Uploads in progress",
        template: "{{ value_json.uploads_in_progress }}",
        unit: None,
        device_class: None,
        state_class: Some("measurement"),
        icon: "mdi:upload",
    },
    Sensor {
        object_id: "last_upload",
        name: "Last upload",
        template: "{{ value_json.library.last_upload_at }}",
        unit: None,
        device_class: Some("timestamp"),
        state_class: None,
        icon: "mdi:clock-outline",
    },
    Sensor {
        object_id: "refused_uploads",
        name: "Refused uploads",
        template: "{{ value_json.refused_uploads }}",
        unit: None,
        device_class: None,
        state_class: Some("total_increasing"),
        icon: "mdi:upload-off",
    },
    Sensor {
        object_id: "queue_depth",
        name: "Replications waiting",
        template: "{{ value_json.queue_depth }}",
        unit: None,
        device_class: None,
        state_class: Some("measurement"),
        icon: "mdi:cloud-upload",
    },
];

/// The node id in discovery topics and the prefix of every `unique_id`.
pub(crate) fn node_id(device: &Device) -> String {
    let clean: String =
        device.id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect();
    format!("shoebox_{clean}")
}

/// Where the entities read and what they share.
pub(crate) struct Topics<'a> {
    pub device: &'a Device,
    pub topic_prefix: &'a str,
    pub discovery_prefix: &'a str,
}

impl Topics<'_> {
    fn device_block(&self, node: &str) -> Value {
        let mut block = json!({
            "identifiers": [node],
            "name": self.device.name,
            "manufacturer": "Shoebox",
            "model": "Shoebox photo box",
            "sw_version": self.device.version,
        });
        if let Some(url) = &self.device.configuration_url {
            block["configuration_url"] = json!(url);
        }
        block
    }

    /// One entity's config with what every entity has.
    fn entity(&self, component: &str, object_id: &str, name: &str, icon: &str) -> (String, Value) {
        let node = node_id(self.device);
        let config = json!({
            "name": name,
            "unique_id": format!("{node}_{object_id}"),
            "object_id": format!("{node}_{object_id}"),
            "state_topic": format!("{}/state", self.topic_prefix),
            "availability_topic": format!("{}/availability", self.topic_prefix),
            "payload_available": "online",
            "payload_not_available": "offline",
            "icon": icon,
            "device": self.device_block(&node),
        });
        (format!("{}/{component}/{node}/{object_id}/config", self.discovery_prefix), config)
    }

    /// Every discovery config for this state, as (topic, retained payload).
    pub(crate) fn configs(&self, state: Option<&Value>, commands: bool) -> Vec<(String, Value)> {
        let mut out: Vec<(String, Value)> = SENSORS
            .iter()
            .map(|sensor| {
                let (topic, mut config) = self.entity("sensor", sensor.object_id, sensor.name, sensor.icon);
                config["value_template"] = json!(sensor.template);
                for (key, value) in [
                    ("unit_of_measurement", sensor.unit),
                    ("device_class", sensor.device_class),
                    ("state_class", sensor.state_class),
                ] {
                    if let Some(value) = value {
                        config[key] = json!(value);
                    }
                }
                (topic, config)
            })
            .collect();
        let connections = state.and_then(|s| s["connections"].as_array()).into_iter().flatten();
        for c in connections {
            let Some(id) = c["id"].as_i64() else { continue };
            let label = format!(
                "{} {}",
                c["provider"].as_str().unwrap_or("cloud").replace('_', " "),
                c["remote_folder"].as_str().filter(|f| !f.is_empty()).unwrap_or("(root)")
            );
            // The connection's entry in the state's list, by id.
            let this = format!("(value_json.connections | selectattr('id', 'equalto', {id}) | list | first)");
            let (topic, mut problem) = self.entity(
                "binary_sensor",
                &format!("connection_{id}_problem"),
                &format!("{label} problem"),
                "mdi:cloud-alert",
            );
            problem["device_class"] = json!("problem");
            problem["value_template"] =
                json!(format!("{{% set c = {this} %}}{{{{ 'ON' if c is defined and c.problem else 'OFF' }}}}"));
            problem["json_attributes_topic"] = problem["state_topic"].clone();
            problem["json_attributes_template"] = json!(format!("{{{{ {this} | tojson }}}}"));
            out.push((topic, problem));
            match c["direction"].as_str() {
                Some("push") => {
                    let (topic, mut queue) = self.entity(
                        "sensor",
                        &format!("connection_{id}_queue"),
                        &format!("{label} waiting"),
                        "mdi:cloud-upload",
                    );
                    queue["value_template"] =
                        json!(format!("{{% set c = {this} %}}{{{{ c.queue_depth if c is defined else 0 }}}}"));
                    queue["state_class"] = json!("measurement");
                    out.push((topic, queue));
                }
                Some("pull") if commands => {
                    let (topic, mut button) = self.entity(
                        "button",
                        &format!("connection_{id}_sync"),
                        &format!("{label} sync now"),
                        "mdi:cloud-sync",
                    );
                    if let Some(obj) = button.as_object_mut() {
                        obj.remove("state_topic");
                    }
                    button["command_topic"] = json!(format!("{}/command/sync/{id}", self.topic_prefix));
                    button["payload_press"] = json!("PRESS");
                    out.push((topic, button));
                }
                _ => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> Device {
        Device {
            id: "a1b2.c3".into(),
            name: "Family Photos".into(),
            version: "0.1.0".into(),
            configuration_url: Some("http://nas.local:8080/".into()),
        }
    }

    #[test]
    fn every_entity_has_a_unique_id_and_the_device() {
        let device = device();
        let topics = Topics { device: &device, topic_prefix: "shoebox/a1b2.c3", discovery_prefix: "homeassistant" };
        let state = json!({"connections": [
            {"id": 1, "direction": "push", "provider": "google_drive", "remote_folder": "Shoebox", "problem": false},
            {"id": 2, "direction": "pull", "provider": "s3", "remote_folder": "album", "problem": true},
        ]});
        let configs = topics.configs(Some(&state), true);
        // The box's sensors; a problem sensor each; the push's queue; the pull's button.
        assert_eq!(configs.len(), SENSORS.len() + 4);
        let mut ids: Vec<&str> = configs.iter().map(|(_, c)| c["unique_id"].as_str().unwrap()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), configs.len());
        for (topic, config) in &configs {
            assert!(topic.starts_with("homeassistant/"), "{topic}");
            assert!(topic.contains("/shoebox_a1b2_c3/"), "{topic}");
            assert_eq!(config["device"]["identifiers"][0], "shoebox_a1b2_c3");
            assert_eq!(config["device"]["configuration_url"], "http://nas.local:8080/");
        }
        let button = configs.iter().find(|(t, _)| t.starts_with("homeassistant/button/")).unwrap();
        assert_eq!(button.1["command_topic"], "shoebox/a1b2.c3/command/sync/2");
        // Without commands, no button.
        assert_eq!(topics.configs(Some(&state), false).len(), SENSORS.len() + 3);
        assert_eq!(topics.configs(None, true).len(), SENSORS.len());
    }
}
