use super::*;

fn write_file(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

#[test]
fn durations_parse_with_units() {
    assert_eq!(parse_duration("k", "7d").unwrap().as_secs(), 7 * 86_400);
    assert_eq!(parse_duration("k", "36h").unwrap().as_secs(), 36 * 3_600);
    assert_eq!(parse_duration("k", "90s").unwrap().as_secs(), 90);
    assert_eq!(parse_duration("k", "2w").unwrap().as_secs(), 14 * 86_400);
    let error = parse_duration("tiering.hot_retention", "7")
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "invalid tiering.hot_retention: 7: a duration needs a unit, such as 7d or 7s"
    );
    let error = parse_duration("tiering.grace", "1 fortnight")
        .unwrap_err()
        .to_string();
    assert!(error.contains("tiering.grace"), "{error}");
    assert!(parse_duration("k", "d").is_err());
}

#[test]
fn defaults_apply_without_flags_or_file() {
    let config = Config::resolve(&ServeArgs::default()).unwrap();
    assert_eq!(config.data_dir, PathBuf::from("./data"));
    assert_eq!(config.listen.to_string(), "127.0.0.1:8181");
    assert_eq!(config.storage.backend, StorageBackend::Embedded);
}

#[test]
fn flags_override_the_file_and_the_file_overrides_defaults() {
    let file = write_file("version = 1\ndata_dir = \"/from/file\"\nlisten = \"127.0.0.1:9000\"\n");
    let args = ServeArgs {
        store: StorageArgs {
            config: Some(file.path().to_path_buf()),
            ..StorageArgs::default()
        },
        listen: Some("127.0.0.1:9999".parse().unwrap()),
        ..ServeArgs::default()
    };
    let config = Config::resolve(&args).unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:9999");
    assert_eq!(config.data_dir, PathBuf::from("/from/file"));
    assert_eq!(config.log_level, "info");
}

#[test]
fn unknown_keys_and_versions_are_rejected_with_the_file_named() {
    let file = write_file("listen_addr = \"127.0.0.1:1\"\n");
    let args = ServeArgs {
        store: StorageArgs {
            config: Some(file.path().to_path_buf()),
            ..StorageArgs::default()
        },
        ..ServeArgs::default()
    };
    let error = Config::resolve(&args).unwrap_err().to_string();
    assert!(error.contains("listen_addr"), "{error}");
    let file = write_file("version = 2\n");
    let args = ServeArgs {
        store: StorageArgs {
            config: Some(file.path().to_path_buf()),
            ..StorageArgs::default()
        },
        ..ServeArgs::default()
    };
    assert!(matches!(
        Config::resolve(&args),
        Err(ConfigError::Version { found: 2, .. })
    ));
}

#[test]
fn the_example_file_is_valid_and_tls_needs_both_files() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/tidemark.example.toml"
    );
    let args = ServeArgs {
        store: StorageArgs {
            config: Some(PathBuf::from(example)),
            ..StorageArgs::default()
        },
        ..ServeArgs::default()
    };
    let config = Config::resolve(&args).unwrap();
    assert_eq!(config.query_memory_bytes, 4 << 30);
    assert!(config.tls.is_none());
    let file = write_file("[tls]\ncert = \"/c.pem\"\n");
    let args = ServeArgs {
        store: StorageArgs {
            config: Some(file.path().to_path_buf()),
            ..StorageArgs::default()
        },
        ..ServeArgs::default()
    };
    assert!(matches!(
        Config::resolve(&args),
        Err(ConfigError::HalfTls("certificate"))
    ));
    let args = ServeArgs {
        store: StorageArgs {
            config: Some(file.path().to_path_buf()),
            ..StorageArgs::default()
        },
        tls_key: Some(PathBuf::from("/k.pem")),
        ..ServeArgs::default()
    };
    let tls = Config::resolve(&args).unwrap().tls.unwrap();
    assert_eq!(
        (tls.cert.to_str(), tls.key.to_str()),
        (Some("/c.pem"), Some("/k.pem"))
    );
}

#[test]
fn only_loopback_is_allowed_without_auth() {
    let mut config = Config::resolve(&ServeArgs::default()).unwrap();
    assert!(config.check_exposure(false).is_ok());
    config.listen = "[::1]:8181".parse().unwrap();
    assert!(config.check_exposure(false).is_ok());
    config.listen = "0.0.0.0:8181".parse().unwrap();
    assert!(matches!(
        config.check_exposure(false),
        Err(ConfigError::InsecureListen(_))
    ));
    assert!(config.check_exposure(true).is_ok(), "a token makes it safe");
}

#[test]
fn every_flag_is_documented() {
    let docs = include_str!("../../../../docs/configuration.md");
    let command = <ServeArgs as clap::Args>::augment_args(clap::Command::new("serve"));
    for argument in command.get_arguments() {
        if argument.is_hide_set() {
            continue;
        }
        if let Some(long) = argument.get_long() {
            assert!(
                docs.contains(&format!("--{long}`")),
                "--{long} is not in docs/configuration.md"
            );
        }
    }
}

#[test]
fn limits_come_from_flags_files_and_defaults() {
    let file = write_file("[query]\nmax_samples = 10\n[ingest]\nmax_tag_value_bytes = 100\n");
    let args = ServeArgs {
        store: StorageArgs {
            config: Some(file.path().to_path_buf()),
            ..StorageArgs::default()
        },
        query: QueryArgs {
            query_max_series: Some(5),
            ..QueryArgs::default()
        },
        ..ServeArgs::default()
    };
    let config = Config::resolve(&args).unwrap();
    let limits = config.query_limits().unwrap();
    assert_eq!((limits.max_samples, limits.max_series), (10, 5));
    assert_eq!(
        config.writer_config().unwrap().limits.max_tag_value_bytes,
        100
    );
    let bad = write_file("[ingest]\nmax_tag_value_bytes = 20000\n");
    let args = ServeArgs {
        store: StorageArgs {
            config: Some(bad.path().to_path_buf()),
            ..StorageArgs::default()
        },
        ..ServeArgs::default()
    };
    let error = Config::resolve(&args).unwrap_err().to_string();
    assert!(error.contains("max_tag_value_bytes"), "{error}");
}

#[test]
fn storage_root_names_the_layout_and_is_checked() {
    let default = Config::resolve(&ServeArgs::default()).unwrap();
    assert_eq!(default.storage.root, "tm");
    assert_eq!(
        default.layout().tenant("x"),
        tidemark_storage::tsdb::Layout::default().tenant("x"),
        "the default root is the layout every existing deployment has"
    );
    let file = write_file("version = 1\n[storage]\nroot = \"blue\"\n");
    let args = |root: Option<&str>| ServeArgs {
        store: StorageArgs {
            config: Some(file.path().to_path_buf()),
            storage_root: root.map(str::to_owned),
            ..StorageArgs::default()
        },
        ..ServeArgs::default()
    };
    assert_eq!(Config::resolve(&args(None)).unwrap().storage.root, "blue");
    let green = Config::resolve(&args(Some("green"))).unwrap();
    assert_eq!(green.storage.root, "green");
    assert_ne!(green.layout().tenant("x"), default.layout().tenant("x"));
    for bad in ["", "a\nb"] {
        let error = Config::resolve(&args(Some(bad))).unwrap_err();
        assert!(error.to_string().contains("storage.root"), "{error}");
    }
}

#[test]
fn otlp_and_remote_write_settings_come_from_flags_files_and_defaults() {
    let defaults = Config::resolve(&ServeArgs::default()).unwrap();
    let push = defaults.push_options().unwrap();
    assert!(push.otlp.allow_delta_temporality);
    assert_eq!(
        push.names,
        tidemark_ingest::remote_write::NameValidation::Legacy
    );
    assert_eq!(push.max_decoded_bytes, defaults.ingest.max_queue_bytes);
    let file = write_file(
        "[otlp]\npromote_resource_attributes = [\"host.name\"]\naccept_delta_temporality = false\n\
         [remote_write]\nutf8_names = true\n",
    );
    let args = ServeArgs {
        store: StorageArgs {
            config: Some(file.path().to_path_buf()),
            ..StorageArgs::default()
        },
        protocols: ProtocolArgs {
            otlp_translation_strategy: Some("NoTranslation".into()),
            ..ProtocolArgs::default()
        },
        ..ServeArgs::default()
    };
    let push = Config::resolve(&args).unwrap().push_options().unwrap();
    assert_eq!(push.otlp.promote_resource_attributes, vec!["host.name"]);
    assert!(!push.otlp.allow_delta_temporality);
    assert_eq!(
        push.otlp.translation,
        tidemark_ingest::otlp::TranslationStrategy::NoTranslation
    );
    assert_eq!(
        push.names,
        tidemark_ingest::remote_write::NameValidation::Utf8
    );
    let args = ServeArgs {
        protocols: ProtocolArgs {
            otlp_translation_strategy: Some("Dots".into()),
            ..ProtocolArgs::default()
        },
        ..ServeArgs::default()
    };
    let error = Config::resolve(&args).unwrap_err().to_string();
    assert!(error.contains("otlp.translation_strategy"), "{error}");
}

#[test]
fn client_urls_reach_the_listener_from_this_machine() {
    let url = |listen: &str, tls: bool| {
        let mut config = Config::resolve(&ServeArgs::default()).unwrap();
        config.listen = listen.parse().unwrap();
        if tls {
            config.tls = Some(TlsConfig {
                cert: "c.pem".into(),
                key: "k.pem".into(),
            });
        }
        config.client_url()
    };
    assert_eq!(url("127.0.0.1:8181", false), "http://127.0.0.1:8181");
    assert_eq!(url("0.0.0.0:9000", false), "http://127.0.0.1:9000");
    assert_eq!(url("[::]:9000", true), "https://[::1]:9000");
    assert_eq!(url("192.0.2.7:443", true), "https://192.0.2.7:443");
    assert_eq!(server_url(None).unwrap(), "http://127.0.0.1:8181");
}
