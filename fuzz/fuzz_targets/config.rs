//! stevedore.yaml: arbitrary text through parse_file (errors are fine, panics are not), and
//! generated configs written out as YAML and parsed back. An accepted file must survive the
//! round trips `config apply` and the handlers make (YAML, and per-app JSON in the table).
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use stevedore_core::config::{parse_file, AppConfig, ConfigError, StevedoreFile};
use stevedore_core::routing::stages_for_push;
use stevedore_fuzz::{stevedore_file, text, to_yaml};

const FILE: &str = "stevedore.yaml";

fn check_error(error: &ConfigError) {
    assert_eq!(error.file, FILE);
    if let Some(line) = error.line {
        // 1-based; not bounded by `str::lines`, which counts line breaks unlike YAML (`\r`).
        assert!(line >= 1, "{error}");
    }
    let _ = error.to_string();
}

/// An accepted file re-validates, and round-trips through YAML and per-app JSON.
fn check_accepted(file: &StevedoreFile, tag: &str) {
    file.validate(FILE).expect("an accepted file re-validates");
    let yaml = to_yaml(file);
    let again = parse_file(FILE, &yaml)
        .unwrap_or_else(|error| panic!("re-parse of {yaml:?} failed: {error}"));
    assert_eq!(&again, file, "YAML round trip of {yaml:?}");
    for (name, app) in &file.apps {
        let json = serde_json::to_string(app).expect("serializes to JSON");
        let stored: AppConfig = serde_json::from_str(&json)
            .unwrap_or_else(|error| panic!("stored config {json:?} does not load: {error}"));
        assert_eq!(&stored, app);
        stored
            .validate(FILE, name)
            .expect("a stored config re-validates");
        // Tag routing over the accepted globs.
        for target in stages_for_push(&file.apps, &app.repository, tag) {
            let routed = &file.apps[&target.app];
            assert_eq!(routed.repository, app.repository);
            assert!(routed.stages.contains_key(&target.stage));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // Any text.
    let input = String::from_utf8_lossy(data);
    match parse_file(FILE, &input) {
        Ok(file) => check_accepted(&file, input.lines().last().unwrap_or_default()),
        Err(error) => check_error(&error),
    }

    // A generated config, written out as YAML: parse_file agrees with validate.
    let mut u = Unstructured::new(data);
    let Ok(generated) = stevedore_file(&mut u) else {
        return;
    };
    let yaml = to_yaml(&generated);
    match (generated.validate(FILE), parse_file(FILE, &yaml)) {
        (Ok(()), Ok(parsed)) => {
            assert_eq!(parsed, generated, "YAML round trip of {yaml:?}");
            check_accepted(
                &parsed,
                &text(&mut u, &["develop-1", "v1"]).unwrap_or_default(),
            );
        }
        (Err(expected), Err(error)) => {
            check_error(&error);
            assert_eq!(
                (&error.path, &error.message),
                (&expected.path, &expected.message)
            );
        }
        (expected, got) => {
            panic!("validate says {expected:?} but parse_file says {got:?} for {yaml:?}")
        }
    }
});
