//! Home Assistant MQTT discovery: one retained config message per entity, under
//! `<discovery prefix>/<component>/<node id>/<object id>/config`, all pointing at the one state topic
//! and sharing one `device` block, so Home Assistant shows a single "Shoebox" device.

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
];

/// The node id in discovery topics and the prefix of every `unique_id`.
pub(crate) fn node_id(device: &Device) -> String {
    let clean: String =
        device.id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect();
    format!("shoebox_{clean}")
}

/// Every discovery config as (topic, retained payload).
pub(crate) fn configs(device: &Device, topic_prefix: &str, discovery_prefix: &str) -> Vec<(String, Value)> {
    let node = node_id(device);
    let mut device_block = json!({
        "identifiers": [node],
        "name": device.name,
        "manufacturer": "Shoebox",
        "model": "Shoebox photo box",
        "sw_version": device.version,
    });
    if let Some(url) = &device.configuration_url {
        device_block["configuration_url"] = json!(url);
    }
    SENSORS
        .iter()
        .map(|sensor| {
            let mut config = json!({
                "name": sensor.name,
                "unique_id": format!("{node}_{}", sensor.object_id),
                "object_id": format!("{node}_{}", sensor.object_id),
                "state_topic": format!("{topic_prefix}/state"),
                "value_template": sensor.template,
                "availability_topic": format!("{topic_prefix}/availability"),
                "payload_available": "online",
                "payload_not_available": "offline",
                "icon": sensor.icon,
                "device": device_block,
            });
            for (key, value) in [
                ("unit_of_measurement", sensor.unit),
                ("device_class", sensor.device_class),
                ("state_class", sensor.state_class),
            ] {
                if let Some(value) = value {
                    config[key] = json!(value);
                }
            }
            (format!("{discovery_prefix}/sensor/{node}/{}/config", sensor.object_id), config)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entity_has_a_unique_id_and_the_device() {
        let device = Device {
            id: "a1b2.c3".into(),
            name: "Family Photos".into(),
            version: "0.1.0".into(),
            configuration_url: Some("http://nas.local:8080/".into()),
        };
        let configs = configs(&device, "shoebox/a1b2.c3", "homeassistant");
        assert_eq!(configs.len(), SENSORS.len());
        let mut ids: Vec<&str> = configs.iter().map(|(_, c)| c["unique_id"].as_str().unwrap()).collect();
        ids.dedup();
        assert_eq!(ids.len(), SENSORS.len());
        for (topic, config) in &configs {
            assert!(topic.starts_with("homeassistant/sensor/shoebox_a1b2_c3/"), "{topic}");
            assert_eq!(config["device"]["identifiers"][0], "shoebox_a1b2_c3");
            assert_eq!(config["device"]["configuration_url"], "http://nas.local:8080/");
            assert_eq!(config["state_topic"], "shoebox/a1b2.c3/state");
        }
    }
}
