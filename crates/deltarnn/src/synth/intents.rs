//! The 31 intents of Fluent Speech Commands (action, object, location exactly as in the real
//! set's CSVs) with phrasings written for this project.

/// One intent and the sentences that express it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// FSC `action` column.
    pub action: &'static str,
    /// FSC `object` column.
    pub object: &'static str,
    /// FSC `location` column.
    pub location: &'static str,
    /// Sentences for this intent.
    pub phrasings: Vec<String>,
}

impl Intent {
    /// The class name used by the loader: `action|object|location`.
    pub fn class_name(&self) -> String {
        format!("{}|{}|{}", self.action, self.object, self.location)
    }
}

const ROOMS: [&str; 3] = ["kitchen", "bedroom", "washroom"];
const LANGUAGES: [&str; 4] = ["Chinese", "Korean", "English", "German"];

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

fn fill(templates: &[&str], key: &str, value: &str) -> Vec<String> {
    templates
        .iter()
        .map(|t| {
            t.replace(&format!("{{{key}}}"), value).replace(&format!("{{{}}}", capitalize(key)), &capitalize(value))
        })
        .collect()
}

fn plain(action: &'static str, object: &'static str, location: &'static str, phrasings: &[&str]) -> Intent {
    Intent { action, object, location, phrasings: phrasings.iter().map(|p| p.to_string()).collect() }
}

/// All 31 intents, in a fixed order.
pub fn intents() -> Vec<Intent> {
    let mut all = vec![
        plain(
            "change language",
            "none",
            "none",
            &[
                "Change the language",
                "Switch languages",
                "Change language",
                "Use a different language",
                "Set another language",
            ],
        ),
        plain(
            "activate",
            "music",
            "none",
            &["Play the music", "Put on some music", "Start the music", "Music on, please", "Turn the music on"],
        ),
        plain(
            "activate",
            "lights",
            "none",
            &[
                "Turn on the lights",
                "Switch the lights on",
                "Lights on",
                "Switch on the lights, please",
                "I need some light",
            ],
        ),
        plain(
            "deactivate",
            "lights",
            "none",
            &[
                "Turn off the lights",
                "Switch the lights off",
                "Lights off",
                "Kill the lights",
                "Switch off the lights, please",
            ],
        ),
        plain(
            "increase",
            "volume",
            "none",
            &[
                "Turn up the volume",
                "Make it louder",
                "Increase the volume",
                "Volume up",
                "I can't hear that, louder please",
            ],
        ),
        plain(
            "decrease",
            "volume",
            "none",
            &["Turn down the volume", "Make it quieter", "Decrease the volume", "Volume down", "That is too loud"],
        ),
        plain(
            "increase",
            "heat",
            "none",
            &[
                "Turn up the heat",
                "Make it warmer",
                "Increase the temperature",
                "Turn the heating up",
                "It is too cold in here",
            ],
        ),
        plain(
            "decrease",
            "heat",
            "none",
            &[
                "Turn down the heat",
                "Make it cooler",
                "Lower the temperature",
                "Turn the heating down",
                "It is too hot in here",
            ],
        ),
        plain(
            "deactivate",
            "music",
            "none",
            &["Stop the music", "Turn the music off", "Pause the music", "Music off", "No more music, please"],
        ),
        plain("activate", "lamp", "none", &["Turn on the lamp", "Switch the lamp on", "Lamp on", "Put the lamp on"]),
        plain(
            "deactivate",
            "lamp",
            "none",
            &["Turn off the lamp", "Switch the lamp off", "Lamp off", "Put the lamp out"],
        ),
    ];
    let room_templates: [(&str, &str, &[&str]); 4] = [
        (
            "activate",
            "lights",
            &[
                "Turn on the lights in the {room}",
                "Switch on the {room} lights",
                "{Room} lights on",
                "Lights on in the {room}",
            ],
        ),
        (
            "deactivate",
            "lights",
            &[
                "Turn off the lights in the {room}",
                "Switch off the {room} lights",
                "{Room} lights off",
                "Lights off in the {room}",
            ],
        ),
        (
            "increase",
            "heat",
            &[
                "Turn up the heat in the {room}",
                "Make the {room} warmer",
                "Increase the temperature in the {room}",
                "Heat up the {room}",
            ],
        ),
        (
            "decrease",
            "heat",
            &[
                "Turn down the heat in the {room}",
                "Make the {room} cooler",
                "Lower the temperature in the {room}",
                "Cool down the {room}",
            ],
        ),
    ];
    for (action, object, templates) in room_templates {
        for room in ROOMS {
            all.push(Intent { action, object, location: room, phrasings: fill(templates, "room", room) });
        }
    }
    all.extend([
        plain(
            "bring",
            "newspaper",
            "none",
            &["Bring me the newspaper", "Get me the paper", "Fetch the newspaper", "I need the newspaper"],
        ),
        plain(
            "bring",
            "juice",
            "none",
            &["Bring me some juice", "Get me a juice", "Fetch me some juice", "I would like some juice"],
        ),
        plain("bring", "socks", "none", &["Bring me my socks", "Get my socks", "Fetch my socks", "I need my socks"]),
    ]);
    let language_templates: [&str; 4] = [
        "Change the language to {language}",
        "Switch to {language}",
        "Set the language to {language}",
        "I want to use {language}",
    ];
    for language in LANGUAGES {
        all.push(Intent {
            action: "change language",
            object: language,
            location: "none",
            phrasings: fill(&language_templates, "language", language),
        });
    }
    all.push(plain(
        "bring",
        "shoes",
        "none",
        &["Bring me my shoes", "Get my shoes", "Fetch my shoes", "I need my shoes"],
    ));
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn thirty_one_distinct_intents_with_several_phrasings() {
        let all = intents();
        assert_eq!(all.len(), 31);
        let names: BTreeSet<String> = all.iter().map(Intent::class_name).collect();
        assert_eq!(names.len(), 31);
        assert!(names.contains("change language|Chinese|none"));
        assert!(names.contains("decrease|heat|washroom"));
        assert!(names.contains("change language|none|none"));
        for intent in &all {
            assert!(intent.phrasings.len() >= 4, "{}", intent.class_name());
            assert!(intent.phrasings.iter().all(|p| !p.contains('{')), "{:?}", intent.phrasings);
        }
        let phrasings: BTreeSet<&String> = all.iter().flat_map(|i| &i.phrasings).collect();
        assert_eq!(phrasings.len(), all.iter().map(|i| i.phrasings.len()).sum::<usize>());
        assert!(phrasings.contains(&"Kitchen lights on".to_string()));
    }
}
