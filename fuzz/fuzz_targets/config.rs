//! seismo.toml and its SEISMO_… variables: settings or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seismo::config::Config;

fuzz_target!(|input: (&str, Vec<(String, String)>)| {
    let (text, env) = input;
    let _ = seismo::config::parse_toml::<Config>("fuzz.toml", text);
    let env = env
        .into_iter()
        .map(|(key, value)| (format!("SEISMO_{key}"), value));
    let _ = Config::load(None, env);
});
