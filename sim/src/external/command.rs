//! The command that starts one server: a template with `{name}`, `{port}`,
//! `{config}` and `{places}` in it, run by `sh -c` so that it may be any
//! shell command line (`cd herd && python3 server.py {name}`). Each value
//! is quoted for the shell, so a path with spaces stays one word.

use std::path::Path;

/// What a template's placeholders stand for, for one server.
pub struct Values<'a> {
    pub name: &'a str,
    pub port: u16,
    pub config: &'a Path,
    pub places: &'a str,
}

/// The placeholders a template may use.
const PLACEHOLDERS: [&str; 4] = ["{name}", "{port}", "{config}", "{places}"];

/// Checks a template once, before any server starts: it must not be
/// empty, and every `{...}` in it must be a placeholder.
pub fn check(template: &str) -> Result<(), String> {
    if template.trim().is_empty() {
        return Err("--external needs a command, e.g. 'python3 server.py {name}'".into());
    }
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(len) = rest[open..].find('}') else {
            break;
        };
        let word = &rest[open..open + len + 1];
        if !PLACEHOLDERS.contains(&word) && !word[1..word.len() - 1].contains(char::is_whitespace) {
            return Err(format!(
                "--external: unknown placeholder {word} (known: {})",
                PLACEHOLDERS.join(" ")
            ));
        }
        rest = &rest[open + len + 1..];
    }
    Ok(())
}

/// The shell command line for one server.
pub fn fill(template: &str, values: &Values) -> String {
    template
        .replace("{name}", &quote(values.name))
        .replace("{port}", &values.port.to_string())
        .replace("{config}", &quote(&values.config.display().to_string()))
        .replace("{places}", &quote(values.places))
}

/// One shell word: plain when it is safe as it is, else in single quotes.
fn quote(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_quoted() {
        let values = Values {
            name: "Goloman",
            port: 12000,
            config: Path::new("/tmp/a run/Goloman.toml"),
            places: "http://127.0.0.1:4000",
        };
        assert_eq!(
            fill("python3 server.py {name} {port} {config} {places}", &values),
            "python3 server.py Goloman 12000 '/tmp/a run/Goloman.toml' http://127.0.0.1:4000"
        );
        assert_eq!(quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn unknown_placeholders_are_refused() {
        assert!(check("herd serve {name} --config {config}").is_ok());
        // Braces that are no placeholder (a shell `{ a; }` group) pass.
        assert!(check("{ exec ./server {name}; }").is_ok());
        let err = check("server {nmae}").unwrap_err();
        assert!(err.contains("{nmae}"), "{err}");
        assert!(check("  ").is_err());
    }
}
