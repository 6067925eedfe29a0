//! The defaults the README states are Parley's real defaults: each row of its
//! configuration table is read and checked against what `parley` with no flags has,
//! and the figures said in prose (the chat history) against the constants.

use clap::{CommandFactory, Parser};
use server::config::{Config, DEFAULT_LOG_FILTER};

const README: &str = include_str!("../../README.md");

/// The rows of the README's configuration table: (flags, default as written).
fn readme_rows() -> Vec<(Vec<String>, String)> {
    README
        .lines()
        .filter(|line| line.starts_with("| `--"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let flags = cells[0]
                .split(" / ")
                .map(|flag| flag.trim_matches('`').trim_start_matches("--").to_owned())
                .collect();
            (flags, cells[2].to_owned())
        })
        .collect()
}

/// The value a README default cell states: its first word, without backticks or a
/// trailing colon; "none" is no default and "off" a switch that is off.
fn stated(cell: &str) -> Option<String> {
    let word = cell.split_whitespace().next().unwrap_or_default();
    match word.trim_matches('`').trim_end_matches(':') {
        "none" | "none:" => None,
        "off" => Some("false".to_owned()),
        value => Some(value.to_owned()),
    }
}

/// What clap gives `--flag` when it is not set.
fn real_default(flag: &str) -> Option<String> {
    // Built, so that switches show the default clap gives them ("false").
    let mut command = Config::command();
    command.build();
    let arg = command
        .get_arguments()
        .find(|arg| arg.get_long() == Some(flag))
        .unwrap_or_else(|| panic!("the README names --{flag}, which parley does not have"));
    let values: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|value| value.to_string_lossy().into_owned())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

#[test]
fn every_default_in_the_readme_is_the_real_one() {
    let rows = readme_rows();
    assert!(
        rows.len() >= 25,
        "the configuration table was found ({} rows)",
        rows.len()
    );
    let mut checked = 0;
    for (flags, cell) in rows {
        let values: Vec<&str> = cell.split(" / ").collect();
        assert_eq!(
            values.len(),
            flags.len(),
            "one default per flag in {cell:?}"
        );
        for (flag, value) in flags.iter().zip(values) {
            let expected = stated(value);
            let actual = if flag == "log" {
                Some(DEFAULT_LOG_FILTER.to_owned())
            } else {
                real_default(flag)
            };
            assert_eq!(actual, expected, "--{flag}: the README says {value:?}");
            checked += 1;
        }
    }
    // Every flag parley has is in the table (help and version aside).
    let flags = Config::command()
        .get_arguments()
        .filter_map(|arg| arg.get_long())
        .filter(|long| !["help", "version"].contains(long))
        .count();
    assert_eq!(checked, flags, "every setting has a row in the README");
}

#[test]
fn the_defaults_are_the_ones_promised() {
    // The figures the README's prose gives, pinned where a change would otherwise
    // go unnoticed.
    let config = Config::try_parse_from(["parley"]).unwrap();
    assert_eq!(config.listen.port(), 3000);
    assert_eq!(config.signaling.video_upload_kbps, 2500, "2.5 Mbit/s");
    assert_eq!(config.max_new_meetings_per_hour, 20);
    assert_eq!(config.meeting_expiry.as_secs(), 30 * 24 * 3600);
    assert_eq!(config.chat_retention.as_secs(), 30 * 24 * 3600);
    assert_eq!(config.signaling.resume_grace.as_secs(), 20);
    assert_eq!(config.signaling.max_participants, None);
    assert_eq!(server::signaling::max_participants(None, true), 30);
    assert_eq!(server::signaling::max_participants(None, false), 8);
    assert_eq!(server::signaling::max_participants(Some(60), true), 60);
    assert_eq!(app::protocol::CHAT_HISTORY, 200);
    assert!(README.contains("sees the last 200"));
    assert_eq!(
        app::call::video_budget::DEFAULT_BUDGET_KBPS,
        config.signaling.video_upload_kbps,
        "the browser's budget when a server does not say is the server's default"
    );
}

#[test]
fn test_servers_run_with_the_real_defaults() {
    let tests = Config::for_tests("sqlite::memory:".into());
    let real = Config::try_parse_from(["parley"]).unwrap();
    // Only where they listen, their database, the site's folder and the media port
    // (off: tests run side by side, and those of the media port open their own)
    // differ.
    let mut real_signaling = real.signaling.clone();
    real_signaling.sfu_listen = server::config::SfuListen::Off;
    assert_eq!(
        format!("{:?}", tests.signaling),
        format!("{:?}", real_signaling)
    );
    assert_eq!(format!("{:?}", tests.http), format!("{:?}", real.http));
    assert_eq!(format!("{:?}", tests.ice), format!("{:?}", real.ice));
    assert_eq!(
        tests.max_new_meetings_per_hour,
        real.max_new_meetings_per_hour
    );
    assert_eq!(tests.meeting_expiry, real.meeting_expiry);
    assert_eq!(tests.chat_retention, real.chat_retention);
}
