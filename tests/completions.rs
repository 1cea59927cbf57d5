//! `toongan completions <shell>` prints a completion script naming the subcommands.

#[test]
fn completion_scripts_name_the_subcommands() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef toongan"),
        ("fish", "complete -c toongan"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_toongan"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(marker), "{shell}: no '{marker}'");
        // fish names long options without dashes (`-l weights-url`).
        for sub in ["cartoonize", "weights", "fetch", "weights-url"] {
            assert!(text.contains(sub), "{shell}: no {sub}");
        }
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_toongan"))
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
