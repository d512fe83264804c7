//! The `[otlp]` and `[remote_write]` sections: how OpenTelemetry metrics are translated into
//! Prometheus series (named after Prometheus's own `otlp:` settings), and which names
//! remote_write may use. Bounds live in `[ingest]` (`limits.rs`); these are behaviour.

use clap::Args;
use serde::{Deserialize, Serialize};
use tidemark_ingest::otlp::{OtlpOptions, TranslationStrategy};
use tidemark_ingest::remote_write::NameValidation;

use super::{ConfigError, pick};

/// `[otlp]` and `[remote_write]` flags.
#[derive(Debug, Clone, Default, Args)]
pub struct ProtocolArgs {
    /// How OTLP metric and attribute names become Prometheus names: UnderscoreEscapingWithSuffixes,
    /// UnderscoreEscapingWithoutSuffixes, NoUTF8EscapingWithSuffixes or NoTranslation
    /// [default: UnderscoreEscapingWithSuffixes].
    #[arg(
        long = "otlp-translation-strategy",
        env = "TIDEMARK_OTLP_TRANSLATION_STRATEGY",
        value_name = "STRATEGY"
    )]
    pub otlp_translation_strategy: Option<String>,
    /// Resource attributes copied onto every series of their resource, comma-separated
    /// [default: none].
    #[arg(
        long = "otlp-promote-resource-attributes",
        env = "TIDEMARK_OTLP_PROMOTE_RESOURCE_ATTRIBUTES",
        value_name = "ATTRS",
        value_delimiter = ','
    )]
    pub otlp_promote_resource_attributes: Option<Vec<String>>,
    /// Copy every resource attribute but the ignored ones onto every series [default: false].
    #[arg(
        long = "otlp-promote-all-resource-attributes",
        env = "TIDEMARK_OTLP_PROMOTE_ALL_RESOURCE_ATTRIBUTES",
        value_name = "BOOL"
    )]
    pub otlp_promote_all_resource_attributes: Option<bool>,
    /// Resource attributes not promoted when all are, comma-separated [default: none].
    #[arg(
        long = "otlp-ignore-resource-attributes",
        env = "TIDEMARK_OTLP_IGNORE_RESOURCE_ATTRIBUTES",
        value_name = "ATTRS",
        value_delimiter = ','
    )]
    pub otlp_ignore_resource_attributes: Option<Vec<String>>,
    /// Also label `target_info` with service.name, service.namespace and service.instance.id
    /// [default: false].
    #[arg(
        long = "otlp-keep-identifying-resource-attributes",
        env = "TIDEMARK_OTLP_KEEP_IDENTIFYING_RESOURCE_ATTRIBUTES",
        value_name = "BOOL"
    )]
    pub otlp_keep_identifying_resource_attributes: Option<bool>,
    /// Label every series with its instrumentation scope (otel_scope_name, ...) [default: false].
    #[arg(
        long = "otlp-promote-scope-metadata",
        env = "TIDEMARK_OTLP_PROMOTE_SCOPE_METADATA",
        value_name = "BOOL"
    )]
    pub otlp_promote_scope_metadata: Option<bool>,
    /// Store delta sums and histograms as received; false refuses them per metric
    /// [default: true].
    #[arg(
        long = "otlp-accept-delta-temporality",
        env = "TIDEMARK_OTLP_ACCEPT_DELTA_TEMPORALITY",
        value_name = "BOOL"
    )]
    pub otlp_accept_delta_temporality: Option<bool>,
    /// Accept any UTF-8 metric and label name in remote_write (1.0 and 2.0), as Prometheus 3
    /// does; false keeps Prometheus 2's character sets [default: false].
    #[arg(
        long = "remote-write-utf8-names",
        env = "TIDEMARK_REMOTE_WRITE_UTF8_NAMES",
        value_name = "BOOL"
    )]
    pub remote_write_utf8_names: Option<bool>,
}

/// The `[otlp]` section of the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileOtlp {
    translation_strategy: Option<String>,
    promote_resource_attributes: Option<Vec<String>>,
    promote_all_resource_attributes: Option<bool>,
    ignore_resource_attributes: Option<Vec<String>>,
    keep_identifying_resource_attributes: Option<bool>,
    promote_scope_metadata: Option<bool>,
    accept_delta_temporality: Option<bool>,
}

/// The `[remote_write]` section of the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileRemoteWrite {
    utf8_names: Option<bool>,
}

/// The effective `[otlp]` settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtlpSettings {
    /// Name translation (Prometheus's `otlp.translation_strategy`).
    pub translation_strategy: String,
    /// Resource attributes copied onto every series.
    pub promote_resource_attributes: Vec<String>,
    /// Every resource attribute but the ignored ones is copied.
    pub promote_all_resource_attributes: bool,
    /// Attributes left out when all are promoted.
    pub ignore_resource_attributes: Vec<String>,
    /// `target_info` keeps the `service.*` attributes.
    pub keep_identifying_resource_attributes: bool,
    /// Series carry `otel_scope_*` labels.
    pub promote_scope_metadata: bool,
    /// Delta temporality is stored as received (else refused).
    pub accept_delta_temporality: bool,
}

/// The effective `[remote_write]` settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteWriteSettings {
    /// Any UTF-8 metric and label name is accepted.
    pub utf8_names: bool,
}

impl OtlpSettings {
    pub(super) fn resolve(args: &ProtocolArgs, file: FileOtlp) -> Result<Self, ConfigError> {
        let settings = Self {
            translation_strategy: pick(
                args.otlp_translation_strategy.clone(),
                file.translation_strategy,
                || "UnderscoreEscapingWithSuffixes".into(),
            ),
            promote_resource_attributes: pick(
                args.otlp_promote_resource_attributes.clone(),
                file.promote_resource_attributes,
                Vec::new,
            ),
            promote_all_resource_attributes: pick(
                args.otlp_promote_all_resource_attributes,
                file.promote_all_resource_attributes,
                || false,
            ),
            ignore_resource_attributes: pick(
                args.otlp_ignore_resource_attributes.clone(),
                file.ignore_resource_attributes,
                Vec::new,
            ),
            keep_identifying_resource_attributes: pick(
                args.otlp_keep_identifying_resource_attributes,
                file.keep_identifying_resource_attributes,
                || false,
            ),
            promote_scope_metadata: pick(
                args.otlp_promote_scope_metadata,
                file.promote_scope_metadata,
                || false,
            ),
            accept_delta_temporality: pick(
                args.otlp_accept_delta_temporality,
                file.accept_delta_temporality,
                || true,
            ),
        };
        settings.options()?;
        Ok(settings)
    }

    /// The translation options as `tidemark_ingest::otlp` takes them.
    pub fn options(&self) -> Result<OtlpOptions, ConfigError> {
        let translation = self
            .translation_strategy
            .parse::<TranslationStrategy>()
            .map_err(|message| ConfigError::Invalid {
                key: "otlp.translation_strategy",
                message,
            })?;
        let trimmed = |list: &[String]| -> Vec<String> {
            list.iter()
                .map(|item| item.trim().to_owned())
                .filter(|item| !item.is_empty())
                .collect()
        };
        Ok(OtlpOptions {
            translation,
            promote_resource_attributes: trimmed(&self.promote_resource_attributes),
            promote_all_resource_attributes: self.promote_all_resource_attributes,
            ignore_resource_attributes: trimmed(&self.ignore_resource_attributes),
            keep_identifying_resource_attributes: self.keep_identifying_resource_attributes,
            promote_scope_metadata: self.promote_scope_metadata,
            allow_delta_temporality: self.accept_delta_temporality,
            ..OtlpOptions::default()
        })
    }
}

impl RemoteWriteSettings {
    pub(super) fn resolve(args: &ProtocolArgs, file: FileRemoteWrite) -> Self {
        Self {
            utf8_names: pick(args.remote_write_utf8_names, file.utf8_names, || false),
        }
    }

    /// The name rules remote_write applies.
    pub fn names(&self) -> NameValidation {
        if self.utf8_names {
            NameValidation::Utf8
        } else {
            NameValidation::Legacy
        }
    }
}
